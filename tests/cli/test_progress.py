"""Progress bars are for people: drawn on a terminal, never into a piped log."""

import subprocess
import sys

from tests.terminal import run_with_terminal_stderr

# What `certify train` and `certify evaluate` draw, run in a child whose stderr we choose.
DRAW = ("from certify_cli.progress import terminal_bar\n"
        "with terminal_bar(desc='train', unit='step', total=3) as bar:\n"
        "    for _ in range(3):\n"
        "        bar.update(1)\n")


def test_no_bar_when_stderr_is_piped() -> None:
    done = subprocess.run([sys.executable, "-c", DRAW], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stderr == ""


def test_a_bar_on_a_terminal() -> None:
    status, _, terminal = run_with_terminal_stderr([sys.executable, "-c", DRAW])
    assert status == 0 and "train: 100%" in terminal and "3/3" in terminal
