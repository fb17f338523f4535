"""`make test-fast`, the README's quick suite: the library's and the contract's tests only."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FAST_DIRS = ("tests/core/", "tests/contract/", "tests/client/", "tests/test_import_rules.py")


def fast_command() -> list[str]:
    """The pytest arguments of the Makefile's `test-fast` recipe, variables expanded."""
    makefile = (REPO / "Makefile").read_text()
    paths = re.search(r"^FAST_TESTS := (.+)$", makefile, re.M)
    recipe = re.search(r"^test-fast:.*\n\t\$\(BIN\)/pytest (.+)$", makefile, re.M)
    assert paths and recipe, "the Makefile has no test-fast target"
    return shlex.split(recipe[1].replace("$(FAST_TESTS)", paths[1]))


def test_the_readme_says_when_to_use_it() -> None:
    readme = (REPO / "README.md").read_text()
    assert "make test-fast" in readme and "make test\n" in readme


def test_it_collects_no_service_browser_or_slow_test() -> None:
    """Only the fast folders, less `slow` and `integration` (services, browsers, data sets)."""
    argv = [sys.executable, "-m", "pytest", "--collect-only", *fast_command()]  # its -q: ids
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300, check=True)
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    assert len(ids) > 100, done.stdout[-2000:]
    assert all(test_id.startswith(FAST_DIRS) for test_id in ids), ids
    assert any("not slow" in arg and "not integration" in arg for arg in argv)
