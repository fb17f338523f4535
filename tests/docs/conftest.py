"""One service for every document's examples: the README's `# doc-test: service` block."""

import subprocess
from collections.abc import Iterator

import pytest

from certify_cli.embedded import free_port
from tests.docs.blocks import REPO, read_blocks
from tests.docs.fresh_clone import RunningService, fresh_copy


@pytest.fixture(scope="session")
def docs_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    (block,) = [b for b in read_blocks(REPO / "README.md") if b.marker == "service"]
    copy = fresh_copy(tmp_path_factory.mktemp("service-clone"))
    # `make run` installs first when `.venv/.installed` is missing or older than pyproject.toml:
    # never let it reinstall (and repoint) the environment the tests run in.
    current = subprocess.run(["make", "-q", ".venv/.installed"], cwd=copy, check=False)
    if current.returncode != 0:
        pytest.fail("`make run` would reinstall .venv: run `make install` (or `make test`) first.")
    service = RunningService(block, copy, free_port(), copy / "service.log")
    try:
        service.wait_ready()
        yield service
    finally:
        log = service.stop()
        assert "Traceback" not in log, log[-3000:]
        assert "certify serve: stopping." in log, log[-3000:]
