"""`contract.js`: the words of `certify_contract` the dashboard's scripts need, as a module.

Written when the API starts, from the Python definitions themselves, so the
page never keeps its own copy of the job statuses (which ones have ended,
which may still be canceled) or of the reasons adaptive sampling stops.
"""

import json

from certify_contract import ACTIVE_STATUSES, ENDED_STATUSES, JOB_STATUSES, STOP_REASONS

CONTRACT_JS = "contract.js"


def _value(value: object) -> str:
    return json.dumps(value, ensure_ascii=True, sort_keys=True)


def contract_js() -> str:
    ordered = list(JOB_STATUSES)
    exports = {
        "JOB_STATUSES": _value(ordered),
        "ENDED_STATUSES": f"new Set({_value([s for s in ordered if s in ENDED_STATUSES])})",
        "ACTIVE_STATUSES": f"new Set({_value([s for s in ordered if s in ACTIVE_STATUSES])})",
        "STOP_REASONS": _value(STOP_REASONS),
    }
    lines = ["// Written by the API from certify_contract when it starts: do not copy these values."]
    lines += [f"export const {name} = {value};" for name, value in exports.items()]
    return "\n".join(lines) + "\n"
