"""The options, defined once: precise checks, derived specs, flags and rules."""

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Literal

import pytest

from certify_cli.main import build_parser
from certify_contract import OPTION_NAMES, OPTION_SPECS, CertifyOptions, InvalidOptionError
from certify_contract.option_spec import option, option_specs

ROOT = Path(__file__).resolve().parents[2]


def test_sigma_comes_from_the_options_else_the_model_else_is_refused() -> None:
    assert CertifyOptions(sigma=0.5).resolve_sigma(0.25, "m") == 0.5
    assert CertifyOptions().resolve_sigma(0.25, "m") == 0.25
    with pytest.raises(InvalidOptionError) as caught:
        CertifyOptions().resolve_sigma(None, "m")
    assert caught.value.field == "sigma"
    assert caught.value.detail == "Model 'm' records no training sigma; give `sigma` explicitly."


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"alpha": 1.5}, "Expected `alpha` in [1e-12, 1), got 1.5."),
        ({"alpha": 0}, "Expected `alpha` in [1e-12, 1), got 0."),
        ({"alpha": 1e-300}, "Expected `alpha` in [1e-12, 1), got 1e-300."),
        ({"sigma": 0}, "Expected `sigma` in [0.001, 10], got 0."),
        ({"sigma": 1e-320}, "Expected `sigma` in [0.001, 10], got 1e-320."),
        ({"sigma": float("nan")}, "Expected `sigma` in [0.001, 10], got nan."),
        ({"n0": 0}, "Expected `n0` to be an integer >= 1, got 0."),
        ({"n": True}, "Expected `n` to be an integer >= 1, got True."),
        ({"n": 2.5}, "Expected `n` to be an integer >= 1, got 2.5."),
        ({"patch_seed": -1}, "Expected `patch_seed` to be an integer >= 0, got -1."),
        ({"method": "smooth"}, "Expected `method` in ['cohen', 'smooth-reduce'], got 'smooth'."),
        ({"stride": 2}, "Options ['stride'] apply to method 'smooth-reduce' only, not 'cohen'."),
        ({"method": "smooth-reduce", "patches": 3, "stride": 2},
         "Give either `patches` (random offsets) or `stride` (grid), not both."),
    ],
)
def test_an_invalid_options_object_cannot_be_built(values: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        CertifyOptions(**values)  # type: ignore[arg-type]
    assert caught.value.detail == message and caught.value.code == "invalid_option"


def test_nor_made_invalid_later() -> None:
    options = CertifyOptions(n=10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.n = 0  # type: ignore[misc]
    with pytest.raises(InvalidOptionError):
        dataclasses.replace(options, n=0)


def test_unknown_names_are_refused_and_media_rules_apply() -> None:
    with pytest.raises(InvalidOptionError, match=r"Unknown options \['sigam'\]"):
        CertifyOptions.from_dict({"sigam": 0.5})
    assert CertifyOptions.from_dict({"n": 10}) == CertifyOptions(n=10)
    with pytest.raises(InvalidOptionError, match="`frames` applies to video models only"):
        CertifyOptions(frames=4).check_media("image")
    with pytest.raises(InvalidOptionError, match="`resize` applies to image models only"):
        CertifyOptions(method="smooth-reduce", resize=32).check_media("video")
    CertifyOptions(frames=4).check_media("video")


def test_the_specs_read_type_choices_and_defaults_from_the_fields() -> None:
    specs = {spec.name: spec for spec in OPTION_SPECS}
    assert tuple(specs) == OPTION_NAMES == tuple(f.name for f in dataclasses.fields(CertifyOptions))
    assert specs["method"].choices == ("cohen", "smooth-reduce") and specs["method"].kind is str
    assert specs["sigma"].kind is float and specs["sigma"].optional
    assert specs["n"].kind is int and not specs["n"].optional and specs["n"].default == 100_000
    assert specs["batch_size"].flag == "--batch-size"
    assert specs["n"].help_line.endswith("(default: 100000)")
    assert CertifyOptions() == CertifyOptions(**{s.name: s.default for s in OPTION_SPECS})


def test_a_new_option_is_one_field() -> None:
    """What issue-style additions look like: a field, and the spec and rules follow."""

    @dataclasses.dataclass(frozen=True)
    class Sampling:
        sampling: Literal["fixed", "adaptive"] = option("fixed", "how n is chosen")
        tolerance: float | None = option(None, "radius tolerance", above=0,
                                         when=("sampling", "adaptive"))

    tolerance = option_specs(Sampling)[1]
    assert tolerance.kind is float and tolerance.meta.when == ("sampling", "adaptive")
    with pytest.raises(InvalidOptionError, match="Expected `tolerance` > 0, got -1"):
        tolerance.check(-1)


def test_every_command_that_certifies_has_every_option_with_its_default() -> None:
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in ("local", "evaluate", "submit"):
        text = commands[name].format_help()
        for spec in OPTION_SPECS:
            assert spec.flag in text, (name, spec.flag)
        assert "(default: 100000)" in " ".join(text.split())


def test_the_contract_needs_only_the_standard_library() -> None:
    code = ("import sys, certify_contract; "
            "print('\\n'.join(m for m in sys.modules if m.split('.')[0] not in "
            "sys.stdlib_module_names))")
    loaded = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                            cwd=ROOT, check=True).stdout.split()
    assert {name.split(".")[0] for name in loaded} <= {"certify_contract", "__main__"}
