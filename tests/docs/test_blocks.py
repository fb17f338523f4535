"""The block reader itself: it finds certify calls where a shell would, and their parser errors."""

from tests.docs.blocks import Block, certify_invocations, parse_error


def block(text: str) -> Block:
    return Block("X.md", 1, "sh", text, None, "")


def test_calls_are_found_in_substitutions_pipes_and_after_variables() -> None:
    text = ("R=runs\nJOB=$(.venv/bin/certify submit a.png --json | python3 -c 'x')\n"
            "curl -fsS http://127.0.0.1:8000/certify\n"
            "CERTIFY_LOG_FORMAT=text certify plot $R/a \\\n    --out $R/c.png  # a comment\n")
    assert certify_invocations(block(text)) == [
        (".venv/bin/certify", ["submit", "a.png", "--json"]),
        ("certify", ["plot", "runs/a", "--out", "runs/c.png"]),
    ]


def test_the_commands_own_parser_judges_the_arguments() -> None:
    assert parse_error(["local", "a.png", "--n", "5"]) is None
    assert parse_error(["local", "--help"]) is None
    assert "unrecognized arguments: --nn" in (parse_error(["local", "a.png", "--nn", "5"]) or "")
    assert "invalid choice" in (parse_error(["local", "a.png", "--method", "gauss"]) or "")
