"""Tables that the docs mark as generated match what their command prints today.

A table sits between `<!-- table: COMMAND -->` and `<!-- end of table -->`;
COMMAND runs a repository script over committed result files, so a result
rerun without regenerating the table (or a table edited by hand) fails here.
"""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MARKED = re.compile(r"<!-- table: (?P<command>.+?) -->\n(?P<table>.*?)<!-- end of table -->",
                    re.DOTALL)


def marked_tables() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")]):
        for match in MARKED.finditer(path.read_text()):
            found.append((path.name, match["command"], match["table"]))
    return found


def test_the_docs_have_generated_tables() -> None:
    assert marked_tables(), "no `<!-- table: ... -->` block left: drop this test with them"


@pytest.mark.parametrize(("doc", "command", "table"), marked_tables(),
                         ids=[f"{doc}:{command}" for doc, command, _ in marked_tables()])
def test_a_generated_table_matches_its_command(doc: str, command: str, table: str) -> None:
    argv = shlex.split(command)
    assert argv[0] == ".venv/bin/python", f"{doc}: a table command runs a repository script"
    printed = subprocess.run([sys.executable, *argv[1:]], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout
    assert printed.strip() == table.strip(), f"{doc}: regenerate the table with `{command}`"
