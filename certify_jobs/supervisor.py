"""The one supervisor of the service's child processes (`certify serve`, the per-GPU launcher).

It waits until a child exits (an error: every other child is stopped and it
returns 1) or until it is told to stop by SIGINT or SIGTERM (returns 0).
Children stop in reverse start order, each with SIGTERM (a warm stop: a worker
finishes or abandons its job) and a grace period before SIGKILL; either one
after the other, so that what started first (Redis) stops last, or all at once
when they do not depend on each other (one worker per GPU).
"""

import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

Child = subprocess.Popen[bytes]


def stop_children(children: Sequence[Child], grace_s: float, *, one_by_one: bool = True) -> None:
    """SIGTERM in reverse start order, then SIGKILL whatever outlives `grace_s`."""
    ordered = list(reversed(children))
    if not one_by_one:
        for child in ordered:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
    for child in ordered:
        if one_by_one and child.poll() is None:
            child.send_signal(signal.SIGTERM)
        try:
            child.wait(grace_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def supervise(children: Sequence[Child], name: str, grace_s: float, *, one_by_one: bool = True,
              poll_s: float = 0.2) -> int:
    """Wait until a child dies (exit 1) or the supervisor is told to stop (exit 0)."""
    # Both signals stop everything, even where SIGINT was inherited as ignored
    # (a process started in the background of a non-interactive shell).
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(poll_s)
        dead = next(child for child in children if child.poll() is not None)
        print(f"{name}: child process {dead.pid} exited with status {dead.returncode}; "
              "stopping.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{name}: stopping.", file=sys.stderr)
        return 0
    finally:
        stop_children(children, grace_s, one_by_one=one_by_one)
