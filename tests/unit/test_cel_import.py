"""The engine loads the CEL library's compiled module alone: its package's command line (typer, rich,
prompt_toolkit) would add about 0.17 s to every command's and every worker's start."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.support import ROOT

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
