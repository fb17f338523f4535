"""Layering rules that keep the library pure and the API light."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT, timeout=120)
    return set(result.stdout.split())


def test_certify_core_imports_no_web_queue_or_media_code() -> None:
    modules = imported_after("import certify_core, certify_core.certifier")
    forbidden = {"fastapi", "starlette", "rq", "redis", "PIL", "av", "app", "worker",
                 "certify_media", "certify_cli"}
    assert not forbidden & {name.split(".")[0] for name in modules}


def test_media_decoding_never_imports_torch() -> None:
    assert "torch" not in imported_after("import certify_media")


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint)], capture_output=True, text=True, cwd=ROOT, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_command_line_parses_without_torch() -> None:
    """`certify api` and `certify submit` should not pay for loading torch."""
    assert "torch" not in imported_after("from certify_cli.main import build_parser; build_parser()")


def test_scripts_and_benchmarks_import_nothing_from_the_tests() -> None:
    """What they share with the tests lives in `certify_testkit`, a package of its own."""
    offenders = []
    for path in [*ROOT.glob("scripts/*.py"), *ROOT.glob("benchmarks/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {name}" for name in names if name.split(".")[0] == "tests"]
    assert not offenders
