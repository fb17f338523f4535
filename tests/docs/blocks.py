"""The command blocks of the README and docs/*.md: where they are, how they are marked, what they call.

A command block is a fenced block in `sh`, `bash`, `shell` or `console`, or
an indented code block (all run with bash), or a fenced `python` block (run
with `.venv/bin/python`). Its first line may carry a visible marker, a
comment `# doc-test: KIND (why)`; the README's section "The documentation is
tested" lists the kinds.
"""

import contextlib
import io
import re
import shlex
import string
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

from certify_cli.main import build_parser

REPO = Path(__file__).resolve().parents[2]
SHELLS = frozenset({"sh", "bash", "shell", "console"})
MARKER = re.compile(r"^#\s*doc-test:\s*(\w+)\s*(.*)$")
KINDS = frozenset({"service", "long", "needs", "skip"})
# Markers under which a block runs on a fresh clone here (the others never run).
RUNS_HERE = frozenset({None, "service", "long"})
ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
SEPARATORS = frozenset({"|", "||", "&&", ";", "&", "(", "then", "do"})
OPERATORS = SEPARATORS | {">", ">>", "<", "2>&1", "2>", ")"}


@dataclass(frozen=True)
class Block:
    document: str
    line: int
    language: str  # "sh" or "python"
    text: str
    marker: str | None
    reason: str

    @property
    def where(self) -> str:
        return f"{self.document}:{self.line}"


def documents() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def read_blocks(path: Path) -> list[Block]:
    name = str(path.relative_to(REPO))
    found = []
    for token in MarkdownIt("commonmark").parse(path.read_text()):
        if token.type not in ("fence", "code_block"):
            continue
        info = token.info.split()[0].lower() if token.info.strip() else ""
        language = "sh" if token.type == "code_block" or info in SHELLS else info
        if language not in ("sh", "python"):
            continue
        first = token.content.lstrip().splitlines()[0] if token.content.strip() else ""
        marker = MARKER.match(first)
        line = (token.map[0] + 1) if token.map else 0
        found.append(Block(name, line, language, token.content,
                           marker.group(1) if marker else None,
                           marker.group(2).strip() if marker else ""))
    return found


def logical_lines(text: str) -> list[str]:
    """Lines with backslash continuations joined."""
    return text.replace("\\\n", " ").splitlines()


def certify_invocations(block: Block) -> list[tuple[str, list[str]]]:
    """(the program as written, its arguments) of each `certify` call in a shell block.

    Variables that the block assigns plainly (`R=docs/results/s025`) are
    expanded; a line that shell quoting makes unreadable to `shlex` is passed over.
    """
    if block.language != "sh":
        return []
    variables: dict[str, str] = {}
    calls = []
    for line in logical_lines(block.text):
        expanded = string.Template(line).safe_substitute(variables)
        try:
            words = shlex.split(expanded, comments=True)
        except ValueError:
            continue
        assigned = ASSIGNMENT.match(words[0]) if len(words) == 1 else None
        if assigned and "$(" not in assigned.group(2):
            variables[assigned.group(1)] = assigned.group(2)
        calls += _calls_in(words)
    return calls


def _in_command_position(words: list[str], index: int) -> bool:
    """The word is a program: first in its command, or first after `VAR=...` words."""
    if "$(" in words[index]:
        return True
    for earlier in reversed(words[:index]):
        if earlier in SEPARATORS:
            return True
        if not ASSIGNMENT.match(earlier):
            return False
    return True


def _calls_in(words: list[str]) -> list[tuple[str, list[str]]]:
    calls = []
    for index, word in enumerate(words):
        program = word.rsplit("$(", 1)[-1]
        if program.rsplit("/", 1)[-1] != "certify" or not _in_command_position(words, index):
            continue
        arguments = []
        for argument in words[index + 1:]:
            if argument in OPERATORS:
                break
            arguments.append(argument)
        calls.append((program, arguments))
    return calls


def parse_error(arguments: list[str]) -> str | None:
    """What `certify`'s own parser says about these arguments; None when they parse."""
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(arguments)
    except SystemExit as exc:  # `--help` exits 0
        return None if exc.code == 0 else (errors.getvalue().strip() or f"exit {exc.code}")
    return None
