"""A fresh copy of the repository to run documented commands in, and the environment of a new shell.

The copy holds the tracked files and the new, not ignored ones (what a clone
of the work in progress holds), with `.venv` linked to this checkout's
installed environment. `pyproject.toml` and `constraints.txt` are dated back so that `make` sees the
installed environment as current and never reinstalls it.
"""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.docs.blocks import REPO, Block

DOC_PORT = "8000"  # what the documents say; the service runs on a free port instead
BLOCK_TIMEOUT_S = 600


def fresh_copy(destination: Path) -> Path:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (destination / ".venv").symlink_to((REPO / ".venv").resolve())
    for stamp_source in ("pyproject.toml", "constraints.txt"):
        os.utime(destination / stamp_source, (0, 0))
    return destination


def shell_environment(copy: Path, api_url: str | None) -> dict[str, str]:
    """A new user's shell: no virtualenv on PATH, no CERTIFY_ settings (except the service URL)."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("CERTIFY_") and key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(part for part in env.get("PATH", "").split(os.pathsep)
                                  if "/.venv/" not in part + "/" and part)
    env["PYTHONPATH"] = str(copy)  # this checkout's code, even where the venv was installed elsewhere
    # A new user's data folder is empty: a database another checkout migrated must not leak in.
    env["XDG_DATA_HOME"] = str(copy.parent / "xdg-data")
    if api_url is not None:
        env["CERTIFY_API_URL"] = api_url
    return env


def with_port(text: str, port: int) -> str:
    for host in ("127.0.0.1", "localhost"):
        text = text.replace(f"{host}:{DOC_PORT}", f"{host}:{port}")
    return text


def run_block(block: Block, copy: Path, env: dict[str, str], port: int | None) -> None:
    text = with_port(block.text, port) if port is not None else block.text
    argv = ["bash", "-euo", "pipefail", "-c", text] if block.language == "sh" \
        else [str(copy / ".venv" / "bin" / "python"), "-c", text]
    done = subprocess.run(argv, cwd=copy, env=env, capture_output=True, text=True,
                          timeout=BLOCK_TIMEOUT_S, check=False)
    assert done.returncode == 0, (
        f"{block.where} exited with {done.returncode}:\n{block.text}\n--- stdout:\n"
        f"{done.stdout[-3000:]}\n--- stderr:\n{done.stderr[-3000:]}")


class RunningService:
    """The README's service block, started as a user would, in the background."""

    def __init__(self, block: Block, copy: Path, port: int, log: Path) -> None:
        self.port, self.log = port, log
        env = {**shell_environment(copy, None), "PORT": str(port)}
        with log.open("wb") as handle:
            self.process = subprocess.Popen(["bash", "-c", block.text], cwd=copy, env=env,
                                            stdout=handle, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout_s: float = 180.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the service exited:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"the service was not ready in {timeout_s:g} s")

    def stop(self) -> str:
        """Ctrl-C, as a terminal sends it; returns the service's log."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.log.read_text()
