"""`certify verify --recompute`: run the certification again from its signed record.

The model is loaded by its recorded name and must hash to the recorded sha256;
the upload is decoded as the service decoded it (same frame policy); the
recorded options and seed then give the same counts, label and radius on the
same kind of device. Each mismatch is named.
"""

from typing import Any

from certify_contract.options import CertifyOptions
from certify_settings import Settings

# What a re-run must reproduce exactly (elapsed time and the like may differ).
COMPARED = ("label", "abstained", "radius", "p_lower", "n_a", "n", "n0", "selection_counts",
            "estimation_counts", "lift_norm", "looks_taken", "stop_reason")


def recompute_problems(payload: dict[str, Any], data: bytes, settings: Settings) -> list[str]:
    from certify_cli.runtime import choose_device, decode_for_model
    from certify_core import certify
    from certify_core.models import load_model
    from certify_media import MediaLimits, Sandbox

    recorded_model = payload["model"]
    model = load_model(recorded_model["name"], choose_device(None, settings), settings.model_dirs)
    if model.sha256 != recorded_model["sha256"]:
        return [f"model.sha256: the installed {model.name} hashes to {model.sha256}, the record "
                f"names {recorded_model['sha256']}"]
    options = CertifyOptions.from_dict(payload["options"])
    recorded = payload["certificate"]
    described = recorded.get("input") or {}
    limits = MediaLimits.from_settings(settings)
    sandbox = Sandbox(limits.sandbox)
    try:
        tensor, described_input = decode_for_model(
            data, model, options, limits, sandbox, described.get("frame_policy", "uniform"),
            described.get("policy_fps"))
    finally:
        sandbox.close()
    again = certify(model, tensor, options, seed=payload["seed"],
                    described_input=described_input).to_dict()
    return [f"certificate.{name}: the re-run gives {again.get(name)!r}, the record "
            f"{recorded.get(name)!r}" for name in COMPARED if again.get(name) != recorded.get(name)]
