"""Every command block of README.md and docs/*.md runs as written on a fresh clone.

Blocks run in document order in a fresh copy of the repository (one per
document), in a new user's shell environment; the service they talk to is the
README's `make run`, on a free port. Blocks marked `long` run only with
`CERTIFY_DOCS_LONG=1`; `needs` and `skip` blocks never run. Every `certify`
call, run or not, must parse with the command's own parser, and blocks that
run here must call `.venv/bin/certify` (a fresh shell has no `certify` on its
PATH).
"""

import os
from pathlib import Path

import pytest

from tests.docs.blocks import (
    KINDS,
    REPO,
    RUNS_HERE,
    Block,
    certify_invocations,
    documents,
    parse_error,
    read_blocks,
)
from tests.docs.fresh_clone import RunningService, fresh_copy, run_block, shell_environment

DOCUMENTS = [str(path.relative_to(REPO)) for path in documents()]
RUN_LONG = os.environ.get("CERTIFY_DOCS_LONG") == "1"
CLIENT_WORDS = ("127.0.0.1:8000", "localhost:8000", "certify_client", "certify submit",
                "certify status", "certify cancel", "certify jobs")


def test_the_readme_and_docs_have_command_blocks() -> None:
    readme = read_blocks(REPO / "README.md")
    assert sum(1 for b in readme if b.marker is None) >= 5
    assert [b.marker for b in readme].count("service") == 1


@pytest.mark.parametrize("document", DOCUMENTS)
def test_markers_are_known_and_certify_calls_parse(document: str) -> None:
    for block in read_blocks(REPO / document):
        assert block.marker is None or block.marker in KINDS, \
            f"{block.where}: unknown marker `{block.marker}`; known: {sorted(KINDS)}"
        assert block.marker not in ("needs", "skip") or block.reason, \
            f"{block.where}: say what the block needs, or why it is skipped"
        for program, arguments in certify_invocations(block):
            if block.marker in RUNS_HERE:
                assert program == ".venv/bin/certify", \
                    f"{block.where}: call `.venv/bin/certify`, not `{program}` (not on a new PATH)"
            error = parse_error(arguments)
            assert error is None, f"{block.where}: certify {' '.join(arguments)}\n{error}"


def needs_service(block: Block) -> bool:
    return any(word in block.text for word in CLIENT_WORDS)


def runs_now(block: Block) -> bool:
    return block.marker is None or (block.marker == "long" and RUN_LONG)


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("document", DOCUMENTS)
def test_documented_commands_run_as_written(
    document: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    blocks = [block for block in read_blocks(REPO / document) if runs_now(block)]
    if not blocks:
        pytest.skip(f"{document} has no block that runs here")
    copy = fresh_copy(tmp_path)
    service: RunningService | None = None
    if any(needs_service(block) for block in blocks):
        service = request.getfixturevalue("docs_service")
    env = shell_environment(copy, service.url if service else None)
    for block in blocks:
        run_block(block, copy, env, service.port if service else None)
