"""Write the hostile-media corpus to a folder, and optionally run it through a private service.

    PYTHONPATH=. .venv/bin/python scripts/make_hostile_media.py /tmp/hostile
    PYTHONPATH=. .venv/bin/python scripts/make_hostile_media.py /tmp/hostile --check

The files come from `certify_testkit/hostile_media.py` (real encoders, then damaged), so
nothing binary is committed. `--check` starts its own Redis, API and worker
(test models), submits every file as `tests/service/test_hostile_media.py`
does, and prints each outcome and time, then the counts by outcome.
"""

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import httpx

from certify_testkit.hostile_media import CORPUS, outcome
from certify_testkit.model_fixture import write_test_model, write_test_video_model
from certify_testkit.processes import (
    free_port,
    service_env,
    start_api,
    start_redis,
    start_worker,
    stop,
    wait_for,
)


def check(scratch: Path) -> int:
    port = free_port()
    processes = [start_redis(port, scratch)]
    models = write_test_video_model(write_test_model(scratch / "models"))
    env = service_env(f"redis://127.0.0.1:{port}/0", models,
                      CERTIFY_WORKER_MODELS="test-cnn,test-video",
                      CERTIFY_DEFAULT_VIDEO_MODEL="test-video")
    try:
        processes.append(start_worker(env, scratch / "worker.log"))
        api_port = free_port()
        processes.append(start_api(env, api_port, scratch / "api.log"))
        with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=60) as client:
            wait_for(lambda: client.get("/readyz").status_code == 200, 90, "worker ready")
            counts: Counter[str] = Counter()
            unexpected = 0
            for item in CORPUS:
                got, seconds = outcome(client, item)
                counts[got] += 1
                mark = "" if got in item.expected else "   UNEXPECTED"
                unexpected += bool(mark)
                print(f"{item.name:<30} {got:<36} {seconds:6.2f} s{mark}")
        print()
        for got, count in sorted(counts.items()):
            print(f"{count:4d}  {got}")
        return 1 if unexpected else 0
    finally:
        for process in reversed(processes):
            stop(process)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--check", action="store_true", help="run every file through a service")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    for item in CORPUS:
        (args.folder / item.name).write_bytes(item.build())
    print(f"wrote {len(CORPUS)} files to {args.folder}")
    if not args.check:
        return 0
    with tempfile.TemporaryDirectory(prefix="certify-hostile-") as scratch:
        return check(Path(scratch))


if __name__ == "__main__":
    sys.exit(main())
