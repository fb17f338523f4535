"""The decoder sandbox beyond rlimits: from inside a real decoder child, the worker's environment
is unreadable, no socket opens, and no_new_privs and the seccomp filter are set."""

import json
import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from certify_media.confinement import ARCHES, network_filter
from certify_testkit.model_fixture import write_test_model
from certify_testkit.processes import service_env

REPO = Path(__file__).resolve().parents[2]
PROBE = "tests.media.sandbox_targets:confinement"
SECRET_URL = "redis://:hunter2@127.0.0.1:6379/0"

# A worker: its real start-up (models loaded, decoder server started), then one decode of the
# probe target through a sandbox started the same way (the worker's own allows decoders only).
WORKER = textwrap.dedent(f"""
    import ctypes, json, os
    from redis import Redis
    from certify_media.sandbox import Sandbox
    from certify_settings import load_settings
    from worker.runtime import WorkerRuntime
    runtime = WorkerRuntime.start(load_settings(), Redis())  # Redis is not contacted
    runtime.sandbox.close()
    with Sandbox(allowed={{{PROBE!r}}}) as sandbox:
        meta, _ = sandbox.run({PROBE!r}, b"", {{"worker_pid": os.getpid()}})
    meta["worker_dumpable"] = ctypes.CDLL(None).prctl(3, 0, 0, 0, 0)  # PR_GET_DUMPABLE
    print(json.dumps(meta))
""")

# Without root, a process of the same uid reads an environment only while it is dumpable. The
# reader is forked (as `nobody`, exec'ing Python may be refused: its files may be root's only).
SAME_UID = textwrap.dedent("""
    import json, os
    from certify_media.confinement import PR_SET_DUMPABLE, _prctl, drop_root, hide_environment

    def read_by_a_child() -> int:
        pid = os.fork()
        if pid == 0:
            try:
                open(f"/proc/{os.getppid()}/environ", "rb").read()
            except OSError:
                os._exit(1)
            os._exit(0)
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

    drop_root()  # as root: become nobody, whom root's rights do not cover
    _prctl(PR_SET_DUMPABLE, 1)  # changing uid reset it; the control needs it set
    before = read_by_a_child()
    hide_environment()
    after = read_by_a_child()
    print(json.dumps({"before": before, "after": after, "uid": os.getuid()}))
""")

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="Linux prctl and seccomp")


def _run(script: str, model_dir: Path | None = None) -> dict[str, object]:
    env = service_env(SECRET_URL, model_dir) if model_dir else \
        {**os.environ, "CERTIFY_REDIS_URL": SECRET_URL, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


@linux_only
@pytest.mark.skipif(platform.machine() not in ARCHES, reason="no seccomp filter for this machine")
def test_a_decoder_child_cannot_read_the_worker_environment_nor_open_sockets(
    tmp_path: Path
) -> None:
    seen = _run(WORKER, write_test_model(tmp_path))
    assert seen["worker_dumpable"] == 0, seen
    assert seen["read_worker_environ"] in ("EACCES", "EPERM"), seen
    for attempt in ("socket_inet", "socket_inet6", "socket_unix", "socket_udp", "socketpair"):
        assert seen[attempt] == "EACCES", (attempt, seen)
    assert seen["no_new_privs"] == "1" and seen["seccomp"] == "2", seen
    assert seen["uid"] != 0, "a decoder started by root must not stay root"


@linux_only
def test_an_undumpable_process_hides_its_environment_from_its_own_uid() -> None:
    seen = _run(SAME_UID)
    assert seen["uid"] != 0
    assert seen["before"] == 0, "control: the same uid reads a dumpable process's environment"
    assert seen["after"] != 0, seen


def test_the_filter_denies_exactly_the_three_calls_and_foreign_abis() -> None:
    program = network_filter("x86_64")
    assert program is not None and len(program) % 8 == 0
    assert len(program) // 8 == 10  # arch check (3), load nr, x32 check, 3 calls, allow, deny
    assert network_filter("sparc") is None
