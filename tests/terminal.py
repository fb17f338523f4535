"""Running a command as from a shell: stderr on a pseudo-terminal, stdout on a pipe."""

import fcntl
import os
import pty
import struct
import subprocess
import termios
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_with_terminal_stderr(
    argv: list[str], cwd: Path = REPO, env: dict[str, str] | None = None,
) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal (as in a shell) and stdout on a pipe."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=terminal,
                               stdin=subprocess.DEVNULL)
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # EIO: the process closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    stdout, _ = process.communicate(timeout=120)
    return process.returncode, stdout.decode(), b"".join(chunks).decode(errors="replace")
