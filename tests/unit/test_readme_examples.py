"""The README's examples a reader would copy still work: every ``wayfinder`` command and flag it shows exists in
the command's parser, every benchmark it runs exists and takes the flags it shows, and its YAML documents and
journey steps validate."""

from __future__ import annotations

import argparse
import importlib
import re
import textwrap
from pathlib import Path

import pytest

from wayfinder import examples_dir
from wayfinder.cli import build_parser, main

README = Path(__file__).resolve().parents[2] / "README.md"
BENCHMARKS = README.parent / "benchmarks"
SHELL_SPLIT = re.compile(r"\s*(?:\|\||&&|[|;]|\$\(|\))\s*")
"""Between two shell commands of one line."""
FLAG = re.compile(r"(?<![\w$-])(--?[a-zA-Z][\w-]*)")
"""A flag given to a command (not ``$-x`` or a hyphen inside a word)."""


def code_blocks(text: str) -> list[tuple[int, str]]:
    """Each code block (fenced, or indented after a blank line, in a list item too) with its first line number,
    dedented."""
    blocks: list[tuple[int, list[str]]] = []
    fence: list[str] | None = None
    current: list[str] | None = None
    previous_blank = True
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            if fence is None:
                fence = []
                blocks.append((number + 1, fence))
            else:
                fence = None
            current = None
        elif fence is not None:
            fence.append(line)
        elif line.startswith("    ") and (previous_blank or current is not None):
            if current is None:
                current = []
                blocks.append((number, current))
            current.append(line)
        elif line.strip():
            current = None
        elif current is not None:
            current.append(line)
        previous_blank = not line.strip()
    return [(number, textwrap.dedent("\n".join(lines)).strip("\n") + "\n") for number, lines in blocks]


def prose(text: str) -> str:
    """The README without its code blocks (their lines and fences blanked, so inline code spans do not pair across
    them)."""
    lines = ["" if line.startswith("```") else line for line in text.splitlines()]
    for number, block in code_blocks(text):
        for i in range(number - 1, number - 1 + block.count("\n")):
            lines[i] = ""
    return "\n".join(lines)


def command_lines(text: str) -> list[tuple[int, str]]:
    """Shell lines of the code blocks (a trailing backslash joins the next line; comments dropped) and inline code
    spans, each with its line number."""
    found: list[tuple[int, str]] = []
    for number, block in code_blocks(text):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            first, line = i, lines[i]
            while line.endswith("\\") and i + 1 < len(lines):
                i += 1
                line = line[:-1] + " " + lines[i].strip()
            if not line.startswith("#"):
                found.append((number + first, line.split(" #")[0]))
            i += 1
    rest = prose(text)
    found += [(rest.count("\n", 0, m.start()) + 1, " ".join(m.group(1).split()))
              for m in re.finditer(r"`([^`]+)`", rest)]
    return found


def options() -> dict[tuple[str, ...], set[str]]:
    """Each command and subcommand (``("import", "snapshot")``) with the options its parser takes, the program's
    own included."""
    found: dict[tuple[str, ...], set[str]] = {}

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        found[path] = {option for action in parser._actions for option in action.option_strings}
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, (*path, name))

    walk(build_parser(), ())
    return found


def mentions(text: str) -> list[tuple[int, tuple[str, ...], str]]:
    """Every ``wayfinder COMMAND [SUBCOMMAND] ... --flag`` of the README (and ``COMMAND --flag`` in an inline span,
    as prose writes ``deliver --kafka``; ``wayfinder --flag`` has the command ``()``): line, command, flag; a
    command it does not know has the flag ``?``."""
    known = options()
    commands = {path[0] for path in known if path}
    found: list[tuple[int, tuple[str, ...], str]] = []
    for number, line in command_lines(text):
        for part in SHELL_SPLIT.split(line):  # one shell command each
            named = re.search(r"(?:^|[\s/])wayfinder\s+([a-z][a-z-]*)(.*)", part)
            m = named or re.match(r"([a-z][a-z-]*)(\s+--?[a-z].*)", part)
            if m is None:
                continue
            command, rest = m.group(1), m.group(2)
            if command == "wayfinder":  # the program's own options, as in `wayfinder --version`
                found += [(number, (), flag) for flag in FLAG.findall(rest)]
                continue
            if command not in commands:
                if named is not None:  # not `curl -s http://wayfinder-worker-0...`: another program
                    found.append((number, (command,), "?"))
                continue
            path: tuple[str, ...] = (command,)
            sub = re.match(r"\s+([a-z][a-z-]*)", rest)
            if sub and (command, sub.group(1)) in known:
                path, rest = (command, sub.group(1)), rest[sub.end():]
            found += [(number, path, flag) for flag in FLAG.findall(rest)]
    return found


def test_every_flag_the_readme_shows_is_one_the_command_takes() -> None:
    known = options()
    seen = mentions(README.read_text(encoding="utf-8"))
    wrong = [f"README.md:{number}: wayfinder {' '.join(path)} {flag}" for number, path, flag in seen
             if flag == "?" or flag not in known[path] | known[()]]
    assert wrong == []
    assert len(seen) > 60  # the check reads the README's commands, not nothing
    assert {("import", "snapshot"), ("report", "fairness"), ("deliver",), ("simulate",)} <= {p for _, p, _ in seen}


def test_the_flag_check_finds_a_renamed_flag_and_an_unknown_command() -> None:
    text = textwrap.dedent("""\
        Run it:

            wayfinder simulate --events e.jsonl --output out/   # renamed: --out

        then `wayfinder import snapshot --current a.csv --mapping m.yaml --as-off 2026-01-01`,
        `deliver --kafka --retry-faild` and `wayfinder simluate --out x`.

        ```yaml
        kind: Policy
        ```

        After a fenced block, inline code still: `wayfinder deliver --kafak`, `wayfinder --verison`.
        Another program's flags are not ours: `curl -s http://wayfinder-worker-0.wayfinder-worker:9108/readyz`.
        """)
    known = options()
    wrong = [(number, path, flag) for number, path, flag in mentions(text)
             if flag == "?" or flag not in known[path] | known[()]]
    assert wrong == [(3, ("simulate",), "--output"), (5, ("import", "snapshot"), "--as-off"),
                     (6, ("deliver",), "--retry-faild"), (6, ("simluate",), "?"), (12, ("deliver",), "--kafak"),
                     (12, (), "--verison")]


def benchmark_mentions(text: str) -> list[tuple[int, str, tuple[str, ...]]]:
    """Every benchmark the README runs or names (``-m benchmarks.NAME``, ``benchmarks/NAME.py``, and in an inline
    span ``NAME --flag`` as prose writes ``org_load --busy-share 1.0``): line, name (``pauses/sitecustomize`` for
    a file in a folder), the flags shown after it."""
    names = {p.stem for p in BENCHMARKS.glob("*.py")}
    found: list[tuple[int, str, tuple[str, ...]]] = []
    for number, line in command_lines(text):
        for part in SHELL_SPLIT.split(line):
            marks = list(re.finditer(r"(?<![\w.-])benchmarks[./]([a-z_]+(?:/[a-z_]+)*)(?:\.py)?", part))
            for i, mark in enumerate(marks):  # each benchmark's flags, up to the next one named
                end = marks[i + 1].start() if i + 1 < len(marks) else len(part)
                found.append((number, mark.group(1), tuple(FLAG.findall(part[mark.end():end]))))
            short = re.match(r"([a-z][a-z_]*)(\s+--?[a-z].*)", part)
            if not marks and short and short.group(1) in names:
                found.append((number, short.group(1), tuple(FLAG.findall(short.group(2)))))
    return found


def benchmark_options(name: str) -> set[str]:
    """The options of the benchmark's ``build_parser()`` (none without one). Importing a benchmark module runs
    nothing; a file in a folder of ``benchmarks/`` (``pauses/sitecustomize.py``, loaded into a worker) is not a
    command and is not imported."""
    if "/" in name:
        return set()
    build = getattr(importlib.import_module(f"benchmarks.{name}"), "build_parser", None)
    parser: argparse.ArgumentParser | None = build() if build is not None else None
    return {option for action in parser._actions for option in action.option_strings} if parser else set()


def wrong_benchmarks(text: str) -> list[tuple[int, str, str]]:
    """Each mention of a benchmark with no such file (flag ``?``) and each flag its parser does not take."""
    wrong: list[tuple[int, str, str]] = []
    for number, name, flags in benchmark_mentions(text):
        if not (BENCHMARKS / f"{name}.py").is_file():
            wrong.append((number, name, "?"))
        elif flags:
            known = benchmark_options(name)
            wrong += [(number, name, flag) for flag in flags if flag not in known]
    return wrong


def test_every_benchmark_the_readme_runs_exists_and_takes_the_flags_it_shows() -> None:
    text = README.read_text(encoding="utf-8")
    assert [f"README.md:{number}: benchmarks.{name} {flag}" for number, name, flag in wrong_benchmarks(text)] == []
    seen = benchmark_mentions(text)
    assert sum(len(flags) for _, _, flags in seen) > 80  # the check reads the README's commands, not nothing
    assert {"org_load", "org_scale", "core_ratio", "core_instructions", "worker_scale", "hold_retry",
            "mailbox_load", "mailbox_stage", "pauses/sitecustomize"} <= {name for _, name, _ in seen}


def test_the_benchmark_check_finds_a_misspelt_flag_and_an_unknown_benchmark() -> None:
    text = textwrap.dedent("""\
        Run it:

            .venv/bin/python -m benchmarks.org_load --employes 50 --out org.jsonl   # misspelt: --employees
            PYTHONPATH=../base:. .venv/bin/python benchmarks/hold_retry.py --rounds 5 --repeats 2

        then `benchmarks.org_scal --breakdown`, `org_scale --breakdown --sampel 8`, `benchmarks.learning_paths --fast`,
        `.venv/bin/python -m benchmarks.mailbox_lod` and `benchmarks/pauses/sitecustomize.py` (which is there).
        """)
    assert wrong_benchmarks(text) == [(3, "org_load", "--employes"), (4, "hold_retry", "--repeats"),
                                      (6, "org_scal", "?"), (6, "org_scale", "--sampel"),
                                      (6, "learning_paths", "--fast"), (7, "mailbox_lod", "?")]


def documents(text: str) -> list[tuple[int, str]]:
    """The README's whole YAML documents (a block that starts with ``apiVersion:`` or ``kind:``)."""
    return [(number, block) for number, block in code_blocks(text) if block.startswith(("apiVersion:", "kind:"))]


def test_the_readme_yaml_documents_validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    found = documents(README.read_text(encoding="utf-8"))
    kinds = {re.search(r"^kind: (\w+)", block, re.MULTILINE).group(1) for _, block in found}  # type: ignore[union-attr]
    assert {"Mapping", "EventType", "Policy"} <= kinds
    for number, block in found:
        path = tmp_path / f"readme-{number}.yaml"
        path.write_text(block, encoding="utf-8")
        assert main(["validate", str(path)]) == 0, (f"README.md:{number}", capsys.readouterr().err)


def test_the_readme_journey_steps_validate_in_a_journey(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A block of steps (it starts with ``- id:``) in place of the steps of the bundled first-time-manager journey
    (a promotion, whose data the bundled learning-path template reads)."""
    monkeypatch.chdir(tmp_path)
    bundled = (examples_dir() / "journeys" / "first-time-manager.yaml").read_text(encoding="utf-8")
    head = bundled[:bundled.index("\nsteps:\n") + len("\nsteps:\n")]
    steps = [(number, block) for number, block in code_blocks(README.read_text(encoding="utf-8"))
             if block.startswith("- id:")]
    assert steps
    for number, block in steps:
        folder = tmp_path / str(number)
        (folder / "journeys").mkdir(parents=True)
        (folder / "journeys" / "first-time-manager.yaml").write_text(head + textwrap.indent(block, "  "),
                                                                        encoding="utf-8")
        args = ["validate", str(folder / "journeys"), "--catalog", str(examples_dir() / "catalog"),
                "--templates", str(examples_dir() / "templates"), "--policy", str(examples_dir() / "policy.yaml")]
        assert main(args) == 0, (f"README.md:{number}", capsys.readouterr().err)


def test_a_readme_document_that_does_not_validate_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """The check above would see a slip: the README's mapping with a misspelt field does not validate."""
    monkeypatch.chdir(tmp_path)
    mapping = next(b for _, b in documents(README.read_text(encoding="utf-8")) if "kind: Mapping" in b)
    path = tmp_path / "mapping.yaml"
    path.write_text(mapping.replace("given_name:", "givn_name:"), encoding="utf-8")
    assert main(["validate", str(path)]) == 1
    assert "did you mean 'given_name'?" in capsys.readouterr().err


def benchmark_index(text: str) -> dict[str, str]:
    """The rows of the README's table "The benchmarks, one line each": each script's name and its command cell."""
    lines = text.splitlines()
    start = lines.index("### The benchmarks, one line each")
    rows: dict[str, str] = {}
    for line in lines[start + 1:]:
        if line.startswith("#"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")] if line.startswith("| `") else []
        if len(cells) == 3:
            rows[cells[0].strip("`")] = cells[2]
    return rows


def test_the_readme_indexes_every_benchmark_with_its_command() -> None:
    """Every script in ``benchmarks/`` (and the diagnostic in its folder) has a row, and a row names no script that
    is gone; a benchmark's command runs that benchmark (the two helpers, started by others, have none)."""
    rows = benchmark_index(README.read_text(encoding="utf-8"))
    scripts = {p.stem for p in BENCHMARKS.glob("*.py") if p.stem != "__init__"}
    scripts |= {f"{p.parent.name}/{p.stem}" for p in BENCHMARKS.glob("*/*.py")}
    assert set(rows) == scripts
    helpers = {"faust_noop", "pauses/sitecustomize"}
    assert {name for name, command in rows.items() if not command} == helpers
    assert [name for name in scripts - helpers if f"-m benchmarks.{name}" not in rows[name]] == []
