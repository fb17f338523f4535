"""The Dockerfiles: hadolint finds nothing, and BuildKit's parse shows what the images promise."""

import importlib.metadata as metadata
import re
import subprocess
import sys
import tomllib

from tests.deploy.tools import REPO, hadolint, instructions, last

API_PACKAGES = {"app", "certify_contract", "certify_jobs", "certify_settings", "certify_media",
                "certify_store"}


def test_hadolint_finds_nothing() -> None:
    linted = hadolint(REPO / "docker" / "api.Dockerfile", REPO / "docker" / "worker.Dockerfile")
    assert linted.returncode == 0, linted.stdout + linted.stderr


def _copied(commands: list) -> set[str]:
    return {c.value[0] for c in commands if c.cmd.upper() == "COPY"}


def test_both_images_run_as_a_non_root_user_with_a_health_check() -> None:
    for name in ("api.Dockerfile", "worker.Dockerfile"):
        commands = instructions(name)
        user = last(commands, "USER").value[0]
        assert user.split(":")[0] not in ("root", "0"), name
        # The USER line comes after every RUN: nothing later runs as root.
        order = [c.cmd.upper() for c in commands]
        assert max(i for i, c in enumerate(order) if c == "RUN") < order.index("USER"), name
        check = last(commands, "HEALTHCHECK")
        assert check.value[0] == "CMD" and any(f.startswith("--interval") for f in check.flags)


def _arg_defaults(commands: list) -> dict[str, str]:
    pairs = (c.value[0].split("=", 1) for c in commands if c.cmd.upper() == "ARG")
    return {pair[0]: pair[1].strip('"') for pair in pairs if len(pair) == 2}


def test_api_image_is_slim_python_without_torch() -> None:
    commands = instructions("api.Dockerfile")
    # The base is an argument (hosts without a registry pass a local one), slim Python by default.
    assert last(commands, "FROM").value[0] == "${PYTHON_BASE}"
    assert re.fullmatch(r"python:3\.1[1-9]-slim.*", _arg_defaults(commands)["PYTHON_BASE"])
    runs = " ".join(c.value[0] for c in commands if c.cmd.upper() == "RUN")
    # The project's own dependencies, no extra: torch, numpy, Pillow stay out.
    assert "torch" not in runs and "pip install --no-cache-dir -c constraints.txt . " in runs
    assert {path for path in _copied(commands) if "/" not in path} - {
        "pyproject.toml", "README.md", "constraints.txt"} == API_PACKAGES
    assert last(commands, "CMD").value == ("python", "-m", "app", "--host", "0.0.0.0",
                                           "--port", "8000")


def test_worker_image_is_cuda_with_the_projects_torch_build() -> None:
    commands = instructions("worker.Dockerfile")
    defaults = _arg_defaults(commands)
    assert re.fullmatch(r"nvidia/cuda:[\d.]+-runtime-ubuntu[\d.]+", defaults["CUDA_BASE"])
    constraints = (REPO / "constraints.txt").read_text()
    pins = re.findall(r"^torch(?:vision)?==[\d.]+$", constraints, flags=re.MULTILINE)
    # The default TORCH argument is the tested build; the CPU image passes another.
    assert len(pins) == 2 and defaults["TORCH"].split() == pins
    runs = " ".join(c.value[0] for c in commands if c.cmd.upper() == "RUN")
    assert "$TORCH" in runs and "'.[worker]'" in runs
    assert last(commands, "CMD").value == ("python", "-m", "worker.per_gpu")


def _distribution(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _closure(names: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requirements = metadata.requires(name) or []
        except metadata.PackageNotFoundError:  # a dependency for other Pythons or platforms
            continue
        for requirement in requirements:
            if "extra ==" not in requirement:
                todo.append(_distribution(requirement))
    return seen


def _core_requirements() -> list[str]:
    return list(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"])


def test_api_requirements_cover_everything_the_api_imports() -> None:
    code = ("import sys, app.main, app.__main__; app.main.create_app(); "
            "print('\\n'.join({m.split('.')[0] for m in sys.modules}))")
    modules = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=REPO, check=True, timeout=120).stdout.split()
    assert not {"torch", "numpy", "PIL", "scipy", "av"} & set(modules)
    # Every package of ours that the API imports is copied into its image.
    assert {m for m in modules if m == "app" or m.startswith("certify_")} <= API_PACKAGES
    # The image installs the project's own dependencies (no extra): they cover every import.
    listed = {_distribution(line) for line in _core_requirements()}
    owners = metadata.packages_distributions()
    imported = {_distribution(d) for module in modules for d in owners.get(module, [])}
    # Not needed in the image: our own package, setuptools' import hook, and what the
    # API's dependencies import only when it is installed: OpenTelemetry (FastAPI's),
    # sniffio (anyio's; the dev extra's selenium brings it) and hiredis (redis-py's parser).
    optional = {"certify-service", "setuptools", "opentelemetry-api", "sniffio", "hiredis"}
    assert imported - optional <= _closure(listed)
    assert not {"torch", "torchvision", "numpy", "pillow", "scipy", "av"} & _closure(listed)
