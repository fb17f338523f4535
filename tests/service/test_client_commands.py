"""`certify submit`, `status`, `cancel`, `jobs`: the real console script against a real service.

They must stay light: no torch, under 1 s of CPU and 150 MB of memory for
`certify status` on these machines (measured from the finished process's own
resource usage, so other load on the machine does not count).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from certify_testkit.processes import REPO, poll_job
from tests.service.conftest import SAMPLE
from tests.terminal import run_with_terminal_stderr

pytestmark = pytest.mark.integration
CERTIFY = Path(sys.executable).parent / "certify"
HEAVY = ("torch", "numpy", "scipy", "certify_core", "certify_media", "certify_jobs", "app",
         "worker", "fastapi", "starlette", "rq", "redis", "PIL", "av")


def certify(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CERTIFY), *args, "--url", url], capture_output=True, text=True,
                          timeout=120, check=False, cwd=REPO)


def submitted(url: str, *options: str) -> str:
    done = certify(url, "submit", str(SAMPLE), "--json", "--n", "200", "--n0", "20", *options)
    assert done.returncode == 0, done.stderr
    job_id: str = json.loads(done.stdout)["job_id"]
    return job_id


def test_submit_status_jobs_and_cancel_print_summaries_or_json(
    service: dict[str, object], client: object
) -> None:
    url = str(service["url"])
    job_id = submitted(url)
    poll_job(client, job_id)  # type: ignore[arg-type]
    readable = certify(url, "status", job_id)
    assert readable.returncode == 0, readable.stderr
    assert readable.stdout.startswith(f"{job_id}: ")
    assert "radius=" in readable.stdout or "abstain" in readable.stdout
    assert "model=test-cnn" in readable.stdout and readable.stdout.count("\n") == 1
    exact = json.loads(certify(url, "status", job_id, "--json").stdout)
    assert exact["status"] == "succeeded" and exact["result"]["n"] == 200
    # "The API's JSON": every field it sent (the options too), with the values it sent.
    assert exact == client.get(f"/jobs/{job_id}").json()  # type: ignore[attr-defined]
    assert exact["options"]["n"] == 200

    table = certify(url, "jobs", "--limit", "200").stdout.splitlines()
    assert table[0].split() == ["JOB", "STATUS", "MODEL", "CREATED", "RESULT"]
    assert any(line.startswith(job_id) and "succeeded" in line for line in table)
    listed = json.loads(certify(url, "jobs", "--json", "--status", "succeeded").stdout)
    assert all(view["status"] == "succeeded" for view in listed["jobs"])

    long_job = submitted(url, "--n", "1000000", "--batch-size", "100")
    poll_job(client, long_job, until=("running",))  # type: ignore[arg-type]
    canceled = certify(url, "cancel", long_job)
    assert canceled.returncode == 0, canceled.stderr
    assert canceled.stdout.startswith(f"{long_job}: cancel accepted; the worker stops it after")
    assert poll_job(client, long_job, timeout=30)["status"] == "canceled"  # type: ignore[arg-type]


def test_a_reader_that_leaves_early_ends_the_listing_quietly(service: dict[str, object]) -> None:
    """`certify jobs | head`: status 141 as for SIGPIPE, and no traceback."""
    process = subprocess.Popen([str(CERTIFY), "jobs", "--url", str(service["url"])],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    assert process.stdout is not None
    process.stdout.close()  # the reader is gone before the table is written
    _, err = process.communicate(timeout=120)
    assert process.returncode == 141 and err == b""


def test_errors_are_one_line_with_the_code(service: dict[str, object]) -> None:
    missing = certify(str(service["url"]), "status", "0" * 32)
    assert missing.returncode == 2
    assert missing.stderr.startswith("certify: error: 404 job_not_found: ")
    assert missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr
    bad = certify(str(service["url"]), "submit", str(SAMPLE), "--n", "0")
    assert bad.returncode == 2 and "`n` to be an integer >= 1" in bad.stderr


def test_client_commands_stay_light(service: dict[str, object], client: object) -> None:
    url = str(service["url"])
    job_id = submitted(url)
    poll_job(client, job_id)  # type: ignore[arg-type]
    cpu_s, peak_mb = measured([str(CERTIFY), "status", job_id, "--url", url])
    assert cpu_s < 1.0, f"certify status used {cpu_s:.2f} s of CPU"
    assert peak_mb < 150, f"certify status peaked at {peak_mb:.0f} MB"

    code = ("import sys; from certify_cli.main import main; "
            f"rc = main(['status', '{job_id}', '--url', '{url}']); "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True, cwd=REPO)
    assert loaded.stdout.splitlines()[-1] == "[]"


def measured(argv: list[str]) -> tuple[float, float]:
    """(CPU seconds, peak MB) of a command, taken by a small Python parent.

    Not from this test process: a child forked from it starts its life with
    pytest's memory (torch included) counted in its peak, until it execs.
    """
    code = ("import json, os, subprocess, sys; "
            "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL); "
            "_, status, use = os.wait4(p.pid, 0); "
            "print(json.dumps([os.waitstatus_to_exitcode(status), use.ru_utime + use.ru_stime, "
            "use.ru_maxrss / 1024]))")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                          timeout=120, check=True, cwd=REPO)
    status, cpu_s, peak_mb = json.loads(done.stdout)
    assert status == 0, done.stderr
    return cpu_s, peak_mb


def test_submit_wait_shows_progress_on_a_terminal_only(service: dict[str, object]) -> None:
    url = str(service["url"])
    argv = [str(CERTIFY), "submit", str(SAMPLE), "--wait", "--n", "6000", "--batch-size", "200",
            "--url", url]
    code, stdout, terminal = run_with_terminal_stderr(argv)
    assert code == 0, terminal
    job_id = stdout.split(":")[0]
    assert "sample/s" in terminal and "6.10k/6.10k" in terminal, terminal  # rate, count
    assert terminal.lstrip("\r").startswith(job_id[:8]) and "<00:" in terminal  # time left
    piped = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, cwd=REPO)
    assert piped.returncode == 0 and piped.stderr == ""
    assert "radius=" in piped.stdout or "abstain" in piped.stdout
