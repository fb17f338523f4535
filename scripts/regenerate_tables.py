"""Rewrite every generated table of a Markdown file from its command.

    .venv/bin/python scripts/regenerate_tables.py docs/RESULTS.md [README.md ...]

A generated table sits between `<!-- table: COMMAND -->` and `<!-- end of table -->`;
tests/docs/test_generated_tables.py fails when the text differs from what COMMAND prints,
and this rewrites the text so that it does not (after a rerun of the results).
"""

import re
import shlex
import subprocess
import sys
from pathlib import Path

MARKED = re.compile(r"(<!-- table: (?P<command>.+?) -->\n)(?P<table>.*?)(<!-- end of table -->)",
                    re.DOTALL)


def regenerate(match: re.Match[str]) -> str:
    argv = shlex.split(match["command"])
    printed = subprocess.run([sys.executable, *argv[1:]], capture_output=True, text=True,
                             check=True).stdout
    return match.group(1) + printed.strip() + "\n" + match.group(4)


def main() -> None:
    for name in sys.argv[1:]:
        path = Path(name)
        path.write_text(MARKED.sub(regenerate, path.read_text()))


if __name__ == "__main__":
    main()
