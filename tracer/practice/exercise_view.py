"""What the learner sees of exercises, rendered with rich: data in, renderables out.

Every text that is not our own markup (code, paths, exception messages, the learner's output) goes in
as rich.text.Text, never inside markup.
"""
from __future__ import annotations

from pathlib import Path

from rich.console import Group
from rich.markdown import Markdown
from rich.panel import Panel
from rich.rule import Rule
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from .grading import STAGES, Report, name_index

_STAGE_TITLES = {"ran": "ran", "types": "types", "shapes": "shape, dtype, device", "gradients": "gradients",
                 "values": "values"}


def _rows(rows: list[tuple[str, str]], title: str) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, box=None, padding=(0, 1))
    table.add_column("name", style="bold green", no_wrap=True)
    table.add_column("what", overflow="fold")
    for name, text in rows:
        table.add_row(name, Text(text))
    return table


def shown_path(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def instructions(exercise, path: Path, lines: tuple[int, int], inputs, outputs, steps, created: bool) -> Group:
    """The exercise as `implement` prints it: where to write, what the block gets and gives, the idea, the math."""
    header = Text.assemble(("Exercise ", "bold magenta"), (exercise.key, "bold magenta"), "  ", (exercise.title, "bold"))
    where = Text.assemble("edit ", (shown_path(path), "bold cyan"))
    if lines[0]:
        where.append(f", lines {lines[0]}-{lines[1]}")
    where.append(f"  (in {exercise.function}()" + (")" if exercise.is_function else "; keep the lines around "
                                                   "the stub: they tell where your block is)"))
    parts = [Rule(header, align="left"), where]
    if not created:
        parts.append(Text("(your working copy already has this exercise: nothing was overwritten)", style="dim"))
    parts.append(Panel(Text(" ".join(exercise.task.split())), title="what to compute", title_align="left",
                       border_style="magenta"))
    parts.append(_rows(inputs, "it receives (as seen in the real run)"))
    parts.append(_rows(outputs, "it must produce" + (" (returned in this order)" if exercise.is_function else "")))
    for step in steps:
        if step.text.strip():
            parts.append(Panel(Markdown(step.text.strip()), title=Text(f"idea: {step.title}"), title_align="left",
                               border_style="blue"))
        if step.math.strip():
            parts.append(Panel(Text(step.math.strip()), title="math", title_align="left", border_style="yellow"))
    parts.append(Text.assemble("next: ", (f"walkthrough implement {exercise.repo} {exercise.id} --check", "bold"),
                               "   (--watch re-checks on every save · --hint for a hint)"))
    return Group(*parts)


def report_view(report: Report, entry: dict | None = None) -> Group:
    """The check's report, stage by stage; then the mistake it matches, what their code printed, what to do."""
    exercise = report.exercise
    title = Text.assemble(("check ", "bold"), (exercise.key, "bold"), "  ", shown_path(report.path))
    if report.lines[0]:
        title.append(f" lines {report.lines[0]}-{report.lines[1]}")
    parts: list = [Rule(title, align="left")]
    failed_at = STAGES.index(report.stage) if report.stage else len(STAGES)
    for k, stage in enumerate(STAGES):
        label = f"{_STAGE_TITLES[stage]:<22}"
        if k < failed_at:
            line = Text.assemble(("✓ ", "green"), label)
            if stage == "ran" and report.moments:
                line.append(f"on {len(report.moments)} inputs: " + "; ".join(report.moments), style="dim")
            parts.append(line)
        elif k == failed_at:
            parts.append(Text.assemble(("✗ ", "bold red"), (label, "bold")))
            parts.extend(_failure(report))
        else:
            parts.append(Text.assemble(("· ", "dim"), (label, "dim"), ("not checked yet", "dim")))
    if report.mistakes:
        parts.append(_mistakes(report))
    if report.printed.strip():
        printed = report.printed.strip().splitlines()
        shown = "\n".join(printed[:20]) + (f"\n… {len(printed) - 20} more lines" if len(printed) > 20 else "")
        parts.append(Panel(Text(shown), title="your code printed", title_align="left", border_style="dim"))
    parts.append(_verdict(report, entry))
    return Group(*parts)


def _failure(report: Report) -> list:
    out = []
    where = f"at {report.moment}" if report.moment else ""
    if report.stage == "ran" and where:
        out.append(Text(f"    {where}: " + (report.problem or "your code raised")))
    elif report.problem:
        out.append(Text("    " + report.problem))
    if report.error:
        out.append(Panel(Text(report.error), border_style="red", title="traceback", title_align="left"))
    diff = report.difference
    if diff is not None:
        position = name_index(report.exercise, diff, diff.index)
        if diff.stage == "values" and diff.count:
            head = Text(f"    {diff.message} {where}" + (f", {position}" if position else ""))
        else:
            head = Text(f"    {where}: {diff.message}" if where else f"    {diff.message}")
        out.append(head)
        if diff.stage == "values" and diff.count:
            table = Table(show_header=False, box=None, padding=(0, 1))
            table.add_column(style="bold", no_wrap=True)
            table.add_column()
            table.add_row("      yours", Text(_number(diff.yours)))
            table.add_row("      expected", Text(_number(diff.expected)))
            out.append(table)
            if report.inputs_there:
                out.append(Text("      inputs there: " + ",  ".join(f"{n} = {_number(v)}" for n, v in report.inputs_there)))
            if diff.total > 1:
                largest = name_index(report.exercise, diff, diff.largest_index)
                out.append(Text(f"      {diff.count} of {diff.total} elements differ; the largest difference is "
                                f"{diff.largest:.4g}" + (f" at {largest}" if largest else "")))
            if diff.tolerance:
                out.append(Text(f"      tolerance: |yours − expected| ≤ {diff.tolerance[1]:g} + "
                                f"{diff.tolerance[0]:g} · |expected|", style="dim"))
    if report.also:
        out.append(Text(f"    also on: {'; '.join(report.also)}", style="dim"))
    if report.right_on:
        out.append(Text(f"    right on: {'; '.join(report.right_on)} (what is different there?)"))
    return out


def _number(value) -> str:
    if isinstance(value, float):
        text = f"{value:.6g}"
        return text + ".0" if text.lstrip("-").isdigit() else text
    return repr(value) if isinstance(value, str) else str(value)


def _mistakes(report: Report) -> Panel:
    lines = []
    for mistake in report.mistakes[:2]:
        lines.append(Text.assemble(("This is a known mistake: ", "bold"), (mistake.title, "bold yellow"),
                                   (f"  ({mistake.category})", "dim")))
        lines.append(Text.assemble("  the belief behind it: ", (mistake.misconception, "italic")))
        if mistake.mutated:
            lines.append(Text.assemble("  your code computes what the reference would if one of its lines were "
                                       "changed to: ", (_code_only(mistake.mutated), "bold")))
        else:
            lines.append(Text("  your code computes what the reference would with one of its statements left out"))
    if len(report.mistakes) > 2:
        lines.append(Text(f"  ({len(report.mistakes) - 2} more mistakes give the same outputs)", style="dim"))
    return Panel(Group(*lines), title="the mistake it matches", title_align="left", border_style="yellow")


def _code_only(code: str) -> str:
    """The statement without its comments (they describe the reference, not the mistake), on one line if short."""
    import io
    import tokenize

    lines = code.strip().splitlines()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO("\n".join(lines)).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return lines[0] if lines else ""
    for token in reversed([t for t in tokens if t.type == tokenize.COMMENT]):
        row, col = token.start
        lines[row - 1] = lines[row - 1][:col].rstrip()
    return "\n".join(line for line in lines if line.strip())


def _verdict(report: Report, entry: dict | None) -> Text:
    exercise = report.exercise
    counts = ""
    if entry:
        counts = f"  ({entry.get('attempts', 0)} checks, {entry.get('hints', 0)} hints)"
    if report.passed:
        text = Text.assemble(("✓ passed", "bold green"), f" on all {len(report.moments)} inputs", counts, "\n")
        text.append("Next: ")
        text.append(f"walkthrough implement {exercise.repo} {exercise.id} --train", style="bold")
        text.append(" (your learning curve beside the reference's), or ")
        text.append(f"walkthrough start {exercise.repo} --repo {shown_path(report.path.parent)}", style="bold")
        return text
    text = Text.assemble(("✗ not yet", "bold red"), counts, f"  · checked in {report.seconds:.2f} s\n")
    text.append("A hint: ")
    text.append(f"walkthrough implement {exercise.repo} {exercise.id} --hint", style="bold")
    return text


def hint_view(exercise, number: int, total: int, stage: str, body) -> Panel:
    titles = {"idea": "the idea", "where": "where your code differs", "term": "which term",
              "faded": "the code, faded"}
    more = " · --hint again for the next" if number < total else " · the last hint; --solution shows the reference"
    return Panel(body, title=Text(f"hint {number}/{total}: {titles[stage]}"), subtitle=more.strip(" ·"),
                 title_align="left", subtitle_align="left", border_style="cyan")


def where_body(report: Report):
    if report.passed:
        return Text("Your code passes on every recorded input: nothing differs.")
    parts = [Text.assemble(("at: ", "bold"), _STAGE_TITLES[report.stage]), *_failure(report)]
    if report.around:
        table = Table(title=f"{report.difference.output} near the first difference", title_justify="left",
                      box=None, padding=(0, 2))
        for column in ("where", "yours", "expected", ""):
            table.add_column(column, justify="right" if column in ("yours", "expected") else "left")
        for position, yours, expected in report.around:
            wrong = _number(yours) != _number(expected)
            table.add_row(position, Text(_number(yours)), Text(_number(expected)),
                          Text("✗" if wrong else "✓", style="red" if wrong else "green"))
        parts.append(table)
    return Group(*parts)


def code_body(code: str) -> Syntax:
    return Syntax(code, "python", background_color="default", word_wrap=True)


def listing(rows: list[tuple[str, str, str, str]]) -> Table:
    table = Table(title="exercises", title_justify="left")
    table.add_column("exercise", no_wrap=True, style="bold")
    table.add_column("title", ratio=1)
    table.add_column("status", no_wrap=True)
    table.add_column("so far", no_wrap=True)
    styles = {"passed": "green", "attempted": "yellow", "new": "dim"}
    for key, title, status, counts in rows:
        table.add_row(key, Text(title), Text(status, style=styles.get(status.split(" ")[0], "")), counts)
    return table
