"""A private PostgreSQL server (Debian's binaries) that a test may stop and start at will.

The shared server on 5432 serves every test; stopping the database mid-run needs one
of its own. initdb refuses to run as root, so as root the cluster belongs to the
`postgres` user (Debian's package makes it).
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from certify_cli.embedded import free_port

BIN = Path("/usr/lib/postgresql")


def pg_bin(name: str) -> str:
    found = sorted(BIN.glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise FileNotFoundError(f"{name}: Debian's postgresql package is not installed")
    return str(found[-1])


class PrivatePostgres:
    def __init__(self) -> None:
        # Its own folder under the system's temporary directory: the server's user must reach
        # it, and pytest's folders are private to the user running the tests.
        self.root = Path(tempfile.mkdtemp(prefix="certify-pg-"))
        self.data, self.port = self.root / "data", free_port()
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.root, "postgres")
        self._run(pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        subprocess.run([*self._as, *argv], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                  str(self.root / "server.log"), "-w", "start")

    def stop(self) -> None:
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
