"""`.env`, where the compose instructions put the Redis password, is never committed nor built in."""

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_git_ignores_the_env_file() -> None:
    checked = subprocess.run(["git", "check-ignore", "--no-index", "-q", ".env"], cwd=REPO)
    assert checked.returncode == 0, ".env is not in .gitignore"


def test_the_build_context_leaves_out_the_env_file() -> None:
    patterns = (REPO / ".dockerignore").read_text().splitlines()
    assert ".env" in patterns
