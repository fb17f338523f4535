"""The real tools behind the deployment checks: docker-compose's `config`, hadolint, BuildKit's parser.

No Docker engine runs on CI machines, so the compose file is validated and
resolved by docker-compose itself (`config` needs no daemon; `.ci/run`
installs it) and the Dockerfiles by hadolint and BuildKit's own parser (dev
extras). Outside CI a missing docker-compose skips its tests; in CI it fails.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import dockerfile
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TEST_PASSWORD = "compose-test-password-7f3a"


def docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        message = "docker-compose is not installed (`apt-get install docker-compose`; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def compose_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTIFY_")}
    env.update({"CERTIFY_REDIS_PASSWORD": TEST_PASSWORD, **extra})
    return env


def compose_config(*files: str, **env: str) -> dict[str, Any]:
    """The project as docker-compose resolves it: merged, interpolated, validated."""
    argv = [docker_compose()]
    for name in files:
        argv += ["-f", str(REPO / name)]
    done = subprocess.run([*argv, "config"], capture_output=True, text=True, cwd=REPO,
                          env=compose_env(**env), timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = yaml.safe_load(done.stdout)
    return config


def compose_error(*files: str, env: dict[str, str]) -> str:
    argv = [docker_compose()]
    for name in files:
        argv += ["-f", str(REPO / name)]
    done = subprocess.run([*argv, "config"], capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=60, check=False)
    assert done.returncode != 0, done.stdout
    return done.stderr


def instructions(name: str) -> list[Any]:
    """BuildKit's parse of docker/<name>: a list of (cmd, flags, value) commands."""
    return list(dockerfile.parse_file(str(REPO / "docker" / name)))


def last(commands: list[Any], cmd: str) -> Any:
    matching = [c for c in commands if c.cmd.upper() == cmd]
    assert matching, f"no {cmd} instruction"
    return matching[-1]


def hadolint(*paths: Path) -> subprocess.CompletedProcess[str]:
    binary = Path(sys.executable).parent / "hadolint"
    return subprocess.run([str(binary), "--no-color", *map(str, paths)], capture_output=True,
                          text=True, timeout=60, check=False)
