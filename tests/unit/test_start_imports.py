"""What a start imports: the engine loads the CEL library's compiled module alone (its package's command line, typer,
rich, prompt_toolkit, would add a fifth of a second to every command's and every worker's start), and a command
imports the modules of the commands it does not run only as far as their arguments."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support import ROOT
from wayfinder.cli import main

CHILD = textwrap.dedent("""
    import sys
    from wayfinder.expressions import Expr
    assert Expr('employee.country == "IN"').test({"employee": {"country": "IN"}}) == (True, None)
    print(sorted(name for name in ("typer", "rich", "prompt_toolkit", "pygments", "cel") if name in sys.modules))
    import cel  # the package, imported later by someone else, uses the module already loaded
    from wayfinder import expressions
    print(cel.compile is expressions.cel.compile, cel.evaluate("1 + 1", {}) == 2)
""")


def test_expressions_load_without_the_cel_command_line() -> None:
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, cwd=ROOT,
                          timeout=60)
    assert done.stdout.splitlines() == ["[]", "True True"]


VALIDATE = textwrap.dedent("""
    import sys
    from wayfinder.cli import main
    assert main(["validate"]) == 0
    heavy = ("kafka", "aiokafka", "faust", "httpx", "starlette", "uvicorn", "rich", "prompt_toolkit", "typer")
    print(sorted(name for name in heavy if name in sys.modules))
""")


def test_validate_imports_no_kafka_web_or_delivery_module() -> None:
    done = subprocess.run([sys.executable, "-c", VALIDATE], capture_output=True, text=True, check=True, cwd=ROOT,
                          timeout=60)
    assert done.stdout.splitlines()[-1] == "[]"


def test_a_command_imported_later_still_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """``deliver`` imports its module when it runs: its own refusal shows it got there."""
    assert main(["deliver", "--messages", str(tmp_path / "none")]) != 0
    assert "none" in capsys.readouterr().err
