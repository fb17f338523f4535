"""`certify serve`, `api` and the workers fail at start in one clear line, never a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from certify_cli.exposure import exposure_error, is_loopback
from certify_settings import Settings
from certify_testkit.processes import REPO, free_port

CERTIFY = Path(sys.executable).parent / "certify"


def _env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CERTIFY_")}
    return {**env, "PYTHONPATH": str(REPO), **extra}


def _one_line_error(argv: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False,
                          env=env, cwd=REPO)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr


@pytest.mark.parametrize("command", ["serve", "api"])
def test_no_open_port_without_api_keys(command: str) -> None:
    err = _one_line_error([str(CERTIFY), command, "--host", "0.0.0.0", "--port", "1"], _env())
    assert err.startswith("certify: error: refusing to listen on 0.0.0.0 with no API key")
    assert "CERTIFY_API_KEYS" in err and "--allow-no-api-key" in err


def test_the_exposure_rule() -> None:
    open_settings, keyed = Settings(), Settings(api_keys="k1")
    assert all(is_loopback(host) for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(host) for host in ("0.0.0.0", "::", "10.0.0.5", "example.org"))
    assert exposure_error("127.0.0.1", open_settings, allowed=False) is None
    assert exposure_error("0.0.0.0", keyed, allowed=False) is None
    assert exposure_error("0.0.0.0", open_settings, allowed=True) is None
    assert exposure_error("0.0.0.0", Settings(allow_no_api_key=True), allowed=False) is None
    assert exposure_error("::", open_settings, allowed=False) is not None


@pytest.mark.parametrize(("argv", "prefix"), [
    ([str(CERTIFY), "worker", "--burst"], "certify: error: "),
    ([sys.executable, "-m", "worker", "--burst"], "worker: error: "),
    ([sys.executable, "-m", "app.webhooks.worker", "--burst"], "webhook worker: error: "),
])
def test_a_worker_without_redis_says_so_in_one_line(argv: list[str], prefix: str) -> None:
    port = free_port()  # nothing listens there
    err = _one_line_error(argv, _env(CERTIFY_REDIS_URL=f"redis://:secret@127.0.0.1:{port}/0"))
    assert err.startswith(f"{prefix}cannot reach Redis: ")
    assert f"127.0.0.1:{port}" in err and "CERTIFY_REDIS_URL" in err
    assert "secret" not in err  # the URL's password stays out of the message
