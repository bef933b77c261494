"""Everything the learner sees, rendered with rich. Data in, renderables out; no program state here."""
from __future__ import annotations

from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel
from rich.rule import Rule
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

CONTEXT_LINES = 6


def make_console() -> Console:
    return Console(highlight=False, soft_wrap=False)


def say(template: str, style: str = "", **values) -> Text:
    """Our own markup with values filled in as plain text: `say("[bold]{name}[/] saved", name=path)`.
    A value is never read as markup (a `[/x]` in a path, a title or an answer is shown as typed)."""
    text = Text.from_markup(template.format(**{k: escape(str(v)) for k, v in values.items()}))
    if style:
        text.stylize(style)
    return text


def plain(value, style: str = "") -> Text:
    """Any string shown exactly as it is (rich would read `[...]` in a str as markup)."""
    return value if isinstance(value, Text) else Text(str(value), style=style)


class Status:
    """The one-line "running to step k/N" status. A spinner in a terminal, one printed line otherwise;
    starting it again replaces the old one (never two spinners), and a repeated line is not printed twice."""

    def __init__(self, console: Console):
        self.console = console
        self._live: Live | None = None
        self._last_printed: str | None = None

    def start(self, message: str) -> None:
        self.stop()
        if self.console.is_terminal and not self.console.is_dumb_terminal:
            from rich.spinner import Spinner

            # a console of its own that never reads markup: program output passes through it while it spins
            quiet = Console(file=self.console.file, highlight=False, markup=False, soft_wrap=False,
                            color_system=self.console.color_system or None, force_terminal=True,
                            no_color=self.console.no_color, width=self.console.width)
            self._live = Live(Spinner("dots", Text(message, style="dim")), console=quiet, transient=True,
                              refresh_per_second=8)
            self._live.start()
        elif message != self._last_printed:
            self.console.print(Text(message, style="dim"))
            self._last_printed = message

    def stop(self) -> None:
        if self._live is not None:
            live, self._live = self._live, None
            live.stop()

    @property
    def running(self) -> bool:
        return self._live is not None


def code_view(path: Path, line: int, end_line: int | None = None, source: str | None = None) -> Syntax:
    if source is None:
        from .engine.anchors import read_source
        source = read_source(path)
    text = source
    end_line = end_line or line
    return Syntax(text, "python", line_numbers=True, highlight_lines=set(range(line, end_line + 1)),
                  line_range=(max(1, line - CONTEXT_LINES), end_line + CONTEXT_LINES),
                  background_color="default", word_wrap=True)


def location(path: Path, line: int, function: str, repo_dir: Path) -> Text:
    try:
        shown = Path(path).relative_to(repo_dir.parent.parent) if repo_dir else Path(path)
    except ValueError:
        shown = Path(path)
    return Text.assemble((f"{shown}:{line}", "bold cyan"), "  in ", (f"{function}()", "bold"))


def values_table(rows: list[tuple[str, str]], title: str = "live values") -> Table | Text:
    if not rows:
        return Text("")
    table = Table(title=title, title_justify="left", show_header=False, box=None, padding=(0, 1))
    table.add_column("name", style="bold green", no_wrap=True)
    table.add_column("value", overflow="fold")
    for name, description in rows:
        table.add_row(plain(name), plain(description))
    return table


def step_view(number: int, total: int, step, repo_dir: Path, rows: list[tuple[str, str]]) -> Group:
    header = Text.assemble((f"Step {number}/{total}", "bold magenta"), "  ", (step.title, "bold"))
    parts = [Rule(header, align="left"), location(step.path, step.line, step.qualname, repo_dir),
             code_view(step.path, step.line, step.end_line)]
    if step.text:
        parts.append(Panel(Markdown(step.text.strip()), title="idea", title_align="left", border_style="blue"))
    if step.math:
        parts.append(Panel(Text(step.math.strip()), title="math", title_align="left", border_style="yellow"))
    if step.how:
        parts.append(Panel(Markdown(step.how.strip()), title="in the code", title_align="left", border_style="green"))
    if getattr(step, "experiment", ""):
        parts.append(Text.assemble(("try it: ", "bold cyan"), step.experiment.strip(),
                                   ("   (change the idea, run the variants over seeds, compare the curves)", "dim")))
    parts.append(values_table(rows))
    return Group(*parts)


def line_view(path: Path, line: int, function: str, repo_dir: Path, rows: list[tuple[str, str]]) -> Group:
    return Group(Rule(Text("step", style="bold magenta"), align="left"),
                 location(path, line, function, repo_dir), code_view(path, line), values_table(rows))


_KINDS = {"choice": "choose one", "value": "predict the value", "text": "short answer", "blank": "fill the blank",
          "names": "reads and changes", "parsons": "order the lines"}
_SOURCES = {"idiom": "why is it there", "mutant": "which is the real line", "whatif": "what if",
            "shape": "predict the shape", "value": "predict the value", "loop_count": "count", "blank": "fill the blank",
            "parsons": "order the lines", "names": "reads and changes"}


def question_view(number: int, count: int, question) -> Group:
    if question.source != "authored":
        kind = f"generated: {_SOURCES.get(question.source, question.source)}"
    else:
        kind = _KINDS.get(question.kind, question.kind)
    parts = [Text.assemble((f"Question {number}/{count}", "bold yellow"), f"  ({kind})")]
    if question.line:
        parts.append(Text(f"about line {question.line}", style="dim"))
    # generated prompts hold code, printed exactly as it is (Markdown would join lines); authored ones are Markdown
    parts.append(Text(question.prompt.strip()) if question.source != "authored" else Markdown(question.prompt.strip()))
    for i, choice in enumerate(question.choices if question.kind == "choice" else []):
        parts.append(Text(f"  {chr(ord('a') + i)}) {choice}"))
    return Group(*parts)


def feedback(right: bool, expected: str, explain: str = "", misconception: str = "") -> Text:
    if right:
        text = Text.assemble(("✓ right", "bold green"), f"  {expected}" if expected else "")
    else:
        text = Text.assemble(("✗ not quite", "bold red"), f"  the answer: {expected}")
        if misconception:
            text.append(f"\n  that choice stands for a common mistake: {misconception}", style="italic")
    if explain:
        text.append(f"\n  {explain.strip()}", style="dim")
    return text


PROMPT_HELP = ("[bold]Enter[/] or [bold]c[/] continue to the next step · [bold]s[/] step one line (into calls) · "
               "[bold]n[/] next line · [bold]p EXPR[/] print · [bold]w[/] stack · [bold]h[/] hint · [bold]q[/] quit")


def stack_view(frames: list[tuple[str, int, str]]) -> Table:
    table = Table(title="stack (reference-repo frames, innermost last)", title_justify="left", box=None)
    table.add_column("file:line", style="cyan")
    table.add_column("function")
    for path, line, function in frames:
        table.add_row(plain(f"{Path(path).name}:{line}"), plain(function))
    return table


def summary_view(title: str, seen: int, total: int, score: tuple[int, int], unreached: list[str], *,
                 name: str = "", best: tuple[int, int] | None = None, attempts: int = 1, missed: int = 0,
                 saved: list[tuple[str, str]] = (), paused_s: float = 0.0, skipped: list[str] = ()) -> Panel:
    """The last panel: what was seen and scored, what to do next, where the results are."""
    right, asked = score
    lines = [Text(f"steps seen: {seen}/{total}"),
             Text(f"questions: {right}/{asked} right" if asked else "questions: none answered")]
    if best is not None and attempts > 1:
        lines[-1].append(f"  (best of {attempts} attempts: {best[0]}/{best[1]})")
    if skipped:
        lines.append(Text("skipped (their code changed: `walkthrough check` names the nearest code): " + ", ".join(skipped)))
    if unreached:
        lines.append(Text("never reached (their code did not run at the hit asked for): " + ", ".join(unreached)))
    if missed:
        lines.append(say("{n} question{s} to ask again: [bold]walkthrough progress[/] lists them, "
                         "[bold]walkthrough start {name} --review[/] asks them again",
                         n=missed, s="" if missed == 1 else "s", name=name))
    elif name:
        lines.append(say("[bold]walkthrough progress[/] shows your score and history"))
    for what, command in saved:
        lines.append(say("saved: [bold]{what}[/]", what=what))
        if command:
            lines.append(say("  run it again: {command}", style="dim", command=command))
    if paused_s >= 1:
        lines.append(Text(f"timings the program printed (steps/s, the seconds in metrics.csv) include the "
                          f"{paused_s:.0f} s it was paused at steps", style="dim"))
    return Panel(Text("\n").join(lines), title=Text(f"{title}: done"), title_align="left", border_style="magenta")
