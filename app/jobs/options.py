"""`GET /options`: the certification options as the form of `POST /certify` takes them.

Built from the one definition (`certify_contract.OPTION_SPECS`) and the bounds
the form really enforces (the options' own and the service's caps), so a
client such as the dashboard can draw the form, with each option's default
and one-line help, without restating any of it.
"""

from annotated_types import Ge, Gt, Le, Lt
from fastapi import APIRouter

from app.jobs.form import CertifyForm
from certify_contract import OPTION_SPECS, OptionInfo, OptionList, OptionSpec
from certify_contract.catalog import OptionCondition, OptionKind

router = APIRouter()


def _kind(spec: OptionSpec) -> OptionKind:
    if spec.choices:
        return "choice"
    if spec.kind is int:
        return "integer"
    return "number" if spec.kind is float else "text"


def _enforced_bounds(name: str) -> dict[str, float]:
    """The bounds the form field checks, read from its constraints (caps included)."""
    names = {Ge: ("minimum", "ge"), Gt: ("exclusive_minimum", "gt"),
             Le: ("maximum", "le"), Lt: ("exclusive_maximum", "lt")}
    bounds: dict[str, float] = {}
    for constraint in CertifyForm.model_fields[name].metadata:
        for kind, (key, attribute) in names.items():
            if isinstance(constraint, kind):
                bounds[key] = getattr(constraint, attribute)
    return bounds


def _json_default(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def option_info(spec: OptionSpec) -> OptionInfo:
    when = spec.meta.when
    return OptionInfo(
        name=spec.name, flag=spec.flag, kind=_kind(spec), choices=list(spec.choices),
        default=_json_default(spec.default), default_text=spec.default_text, help=spec.meta.help,
        optional=spec.optional, **_enforced_bounds(spec.name),
        applies_when=OptionCondition(option=when[0], value=when[1]) if when else None,
        media=spec.meta.media,
    )


OPTION_LIST = OptionList(options=[option_info(spec) for spec in OPTION_SPECS])


@router.get("/options", response_model=OptionList, tags=["models"])
def list_options() -> OptionList:
    """The form fields of POST /certify besides `file` and `model`: defaults, bounds and help."""
    return OPTION_LIST
