"""What the budgets on templates and expressions cost on the normal path (issue 11).

    .venv/bin/python -m benchmarks.budget_overhead               # 20 rounds
    .venv/bin/python -m benchmarks.budget_overhead --rounds 50

Templates: every render of the bundled events (`simulate` of the examples) is recorded with its context, then
replayed, in alternating rounds, through Wayfinder's guarded sandbox (step and time budget, size of every value,
no code turned into text) and through Jinja's plain immutable sandbox with the same filters, undefined and
finalize: the ratio of their times is the templates' overhead. Expressions: every condition of the bundled
journeys and catalog (and three with comprehensions, which the bundled ones lack), evaluated on the recorded
contexts with the cost check and with it skipped (the result cache is off for both). Both sides run in the same
process, interleaved, so the machine's load falls on both alike.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from wayfinder import examples_dir
from wayfinder.expressions import Expr, _Shape
from wayfinder.journeys import templates as tpl
from wayfinder.journeys.i18n import FILTERS
from wayfinder.streams.embedded import EmbeddedRunner, read_events


def record_renders() -> list[tuple[str, dict[str, Any]]]:
    """(template id, context) of every render in a simulate of the bundled examples."""
    from wayfinder.journeys.loader import Sources, load_or_raise

    ex = examples_dir()
    defs = load_or_raise(Sources(paths=[ex / "journeys", ex / "catalog"], templates=[ex / "templates"],
                                 policy=ex / "policy.yaml"))
    seen: list[tuple[str, dict[str, Any]]] = []
    original = tpl.MessageTemplate.render

    def spy(self: tpl.MessageTemplate, context: Mapping[str, Any], locale: str | None, *,
            footer: tuple[str, str], nothing_listed: bool = False) -> tpl.Rendered:
        seen.append((self.id, dict(context)))
        return original(self, context, locale, footer=footer, nothing_listed=nothing_listed)

    tpl.MessageTemplate.render = spy  # type: ignore[method-assign]
    try:
        lines = (ex / "events.jsonl").read_text(encoding="utf-8").splitlines()
        EmbeddedRunner(defs).run(read_events(lines).events)
    finally:
        tpl.MessageTemplate.render = original  # type: ignore[method-assign]
    return seen


def sources() -> dict[str, list[str]]:
    """Each bundled template's subject and text sources (default locale), by template id."""
    root = examples_dir() / "templates"
    out: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        out[str(path.relative_to(root).with_suffix(""))] = [doc["subject"], doc["text"]]
    return out


def plain_environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(undefined=tpl._Strict, finalize=tpl._finalize)
    env.filters.update(FILTERS)
    return env


def timed(work: Callable[[], None]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def expressions() -> list[Expr]:
    found: list[Expr] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("when", "if", "audience", "eligibility", "until") and isinstance(value, str):
                    try:
                        found.append(Expr(value, frozenset({"employee", "event", "trigger", "now", "resource"})))
                    except ValueError:
                        pass
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in sorted(Path(examples_dir()).rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            walk(doc)
    # The bundled conditions use no comprehension; these are what an author would write with one.
    found += [Expr(s) for s in ('has(employee.interests) && employee.interests.exists(i, i == "cycling")',
                                'has(employee.skills) && employee.skills.all(s, s != "")',
                                'has(event.data) && event.data.all(k, k != "x")')]
    return found


def build_parser() -> argparse.ArgumentParser:
    """The command line (the README's commands of this benchmark are checked against it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    return parser


def main() -> None:
    args = build_parser().parse_args()

    renders = [(tid, ctx) for tid, ctx in record_renders() if tid in sources()]
    by_id = sources()
    guarded = {tid: [tpl.TEXT_ENV.from_string(s) for s in srcs] for tid, srcs in by_id.items()}
    plain_env = plain_environment()
    plain = {tid: [plain_env.from_string(s) for s in srcs] for tid, srcs in by_id.items()}

    def render_guarded() -> None:
        for tid, ctx in renders:
            token = tpl._budget.set(tpl._Budget(tpl.STEP_BUDGET, tpl.RENDER_SECONDS))
            try:
                for t in guarded[tid]:
                    "".join(t.generate(ctx))
            finally:
                tpl._budget.reset(token)

    def render_plain() -> None:
        for tid, ctx in renders:
            for t in plain[tid]:
                "".join(t.generate(ctx))

    exprs = expressions()
    contexts: list[dict[str, Any]] = [
        {"employee": ctx.get("employee"), "event": ctx.get("event"), "trigger": ctx.get("trigger"), "resource": {},
         "now": None} for _, ctx in renders[:200]]

    def evaluate(check: bool) -> Callable[[], None]:
        """Without the check, the expressions' shapes are emptied, so the cost check returns at once."""
        empty = _Shape(paths=[], literal_items=0, reads=[], joins=[], joins_items=True)

        def work() -> None:
            for e in exprs:
                kept = e._shape
                if not check:
                    e._shape = empty
                for c in contexts:
                    e._cache.clear()
                    e.evaluate(c)
                e._shape = kept
        return work

    times = {"guarded": 0.0, "plain": 0.0, "checked": 0.0, "bare": 0.0}
    for _ in range(args.rounds):
        times["guarded"] += timed(render_guarded)
        times["plain"] += timed(render_plain)
        times["checked"] += timed(evaluate(True))
        times["bare"] += timed(evaluate(False))
    n = len(renders) * args.rounds
    print(f"templates: {len(renders)} recorded renders x {args.rounds} rounds")
    print(f"  guarded sandbox  {times['guarded'] / n * 1e6:8.1f} us per render")
    print(f"  plain sandbox    {times['plain'] / n * 1e6:8.1f} us per render")
    print(f"  ratio            {times['guarded'] / times['plain']:8.2f}x")
    m = len(exprs) * len(contexts) * args.rounds
    print(f"expressions: {len(exprs)} bundled conditions x {len(contexts)} contexts x {args.rounds} rounds")
    estimated = sum(1 for e in exprs if e._shape.paths or e._shape.joins)
    print(f"  {estimated} of them with comprehensions or + (the others skip the check)")
    print(f"  with the check   {times['checked'] / m * 1e6:8.1f} us per evaluation")
    print(f"  without          {times['bare'] / m * 1e6:8.1f} us per evaluation")
    print(f"  ratio            {times['checked'] / times['bare']:8.2f}x")


if __name__ == "__main__":
    main()
