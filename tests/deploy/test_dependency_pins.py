"""pyproject.toml states ranges; constraints.txt pins the tested versions, inside those ranges."""

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]


def _requirements() -> dict[str, Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    listed = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        listed += extra
    return {canonicalize_name(r.name): r for r in map(Requirement, listed)}


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = re.fullmatch(r"([A-Za-z0-9._-]+)==([^\s]+)", line).groups()  # type: ignore[union-attr]
            pins[canonicalize_name(name)] = version
    return pins


def test_torch_and_torchvision_are_ranges_not_pins() -> None:
    requirements = _requirements()
    for name in ("torch", "torchvision"):
        specifiers = {spec.operator for spec in requirements[name].specifier}
        assert "==" not in specifiers and {">=", "<"} <= specifiers, requirements[name]


def test_every_pin_is_a_dependency_and_inside_its_range() -> None:
    requirements, pins = _requirements(), _pins()
    assert {"torch", "torchvision"} <= set(pins)
    for name, version in pins.items():
        assert name in requirements, f"constraints.txt pins {name}, which pyproject.toml never names"
        assert requirements[name].specifier.contains(version, prereleases=True), (name, version)


def test_every_dependency_has_its_tested_version_pinned() -> None:
    missing = sorted(set(_requirements()) - set(_pins()))
    assert not missing, f"pin the tested versions of {missing} in constraints.txt (pip freeze shows them)"


def test_the_installed_torch_is_the_pinned_one() -> None:
    pins = _pins()
    for name in ("torch", "torchvision"):
        installed = metadata.version(name).split("+", 1)[0]
        assert installed == pins[name], f"{name} {installed} is installed, constraints.txt pins {pins[name]}"


def test_make_install_uses_the_constraints() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert "-c constraints.txt" in makefile
    assert re.search(r"^\$\(STAMP\):.*constraints\.txt", makefile, flags=re.MULTILINE)
