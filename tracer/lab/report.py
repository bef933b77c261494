"""What `walkthrough experiment` shows, as rich renderables: the preview, the results table, the verdict.

Data in (a Plan, Outcomes, Verdicts), renderables out. Labels, flags and logs are not our markup:
they always go in as Text.
"""
from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .experiments import Outcome, Plan, Verdict, _fmt
from .runs import finished


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def preview(p: Plan) -> Group:
    setup = p.setup
    table = Table(title=Text.assemble(("trials", "bold"), f"  ({_count(len(p.variants), 'variant')} × "
                                                          f"{_count(len(p.seeds), 'seed')})"),
                  title_justify="left", box=None, padding=(0, 2))
    table.add_column("variant", style="bold")
    table.add_column("its flags")
    table.add_column("seeds")
    table.add_column("to run", justify="right")
    for variant in p.variants:
        todo = sum(finished(spec, p.root) is None for spec in p.specs[variant])
        label = Text(variant.label)
        if variant.default:
            label.append("  (default)", style="dim")
        table.add_row(label, Text(" ".join(variant.own) or "(none)"),
                      Text(f"1–{len(p.seeds)}" if len(p.seeds) > 1 else "1"), Text(str(todo)))
    todo = p.total - p.finished
    command = f"python {setup.script} {' '.join(p.common)} --seed S --out-dir RUN".replace("  ", " ")
    lines = [table, Text.assemble("each run: ", (command, "dim"))]
    if p.fixed:
        lines.append(Text("every run: " + ", ".join(f"{n}={v}" for n, v in p.fixed), style="dim"))
    budget = f"{setup.budget_flag} {p.steps}" if p.steps else "the script's default budget"
    summary = Text.assemble(f"{p.total} runs at {budget}: ", (f"{todo} to run", "bold"),
                            f", {p.finished} finished already" if p.finished else "")
    if todo:
        summary.append(f"; about {duration(p.estimate_s)}" if p.estimate_s is not None else "")
        summary.append(f" ({p.estimate_basis})", style="dim")
    lines.append(summary)
    lines.append(Text.assemble("results in ", (str(p.out_dir), "cyan")))
    for note in p.notes:
        lines.append(Text.assemble(("warning: ", "yellow"), note))
    return Group(*lines)


def _cell(estimate) -> Text:
    if estimate is None:
        return Text("—", style="dim")
    if estimate.n == 1:
        return Text.assemble(_fmt(estimate.point), ("  (1 run: no CI)", "dim"))
    return Text.assemble((_fmt(estimate.point), "bold"), (f"  [{_fmt(estimate.low)}, {_fmt(estimate.high)}]", ""))


def results_table(p: Plan, outcomes: list[Outcome]) -> Group:
    setup = p.setup
    statistic = "IQM" if any(o.final and o.final.statistic == "IQM" for o in outcomes) else "mean"
    title = Text.assemble(("results", "bold"), f": {statistic} over seeds and [95 % bootstrap CI]")
    table = Table(padding=(0, 1))
    table.add_column("variant", style="bold")
    table.add_column("runs", justify="right")
    table.add_column(f"final {setup.y_label}")
    if setup.target is not None:
        table.add_column(setup.target_label)
        table.add_column("reached", justify="right")
    for o in outcomes:
        label = Text(o.variant.label)
        if o.variant.default:
            label.append("  (default)", style="dim")
        runs = Text(f"{len(o.ok)}" + (f" (+{len(o.failed)} failed)" if o.failed else ""),
                    style="red" if o.failed else "")
        row = [label, runs, _cell(o.final)]
        if setup.target is not None:
            row += [_cell(o.target), Text(f"{sum(o.reached)}/{len(o.reached)}")]
        table.add_row(*row)
    return Group(title, table)


_STYLE = {"warning": ("⚠ ", "bold yellow"), "claim": ("● ", "bold green"), "open": ("○ ", "bold"),
          "note": ("· ", "dim")}


def verdict_view(lines: list[Verdict]) -> Panel:
    body = Text()
    for i, line in enumerate(lines):
        mark, style = _STYLE[line.kind]
        body.append(("\n" if i else "") + mark, style=style)
        body.append(line.text)
    return Panel(body, title="verdict", title_align="left", border_style="magenta")


def failures(outcomes: list[Outcome]) -> list[Text]:
    shown = []
    for o in outcomes:
        for result in o.failed:
            why = "it wrote no metrics" if result.ok else f"exit {result.returncode}"
            shown.append(Text.assemble((f"✗ {result.spec.describe()} failed ({why}); ", "bold red"),
                                       f"log: {result.out_dir / 'log.txt'}\n", (result.log_tail.strip()[-1500:], "dim")))
    return shown
