"""Everything the learner sees, rendered with rich. Data in, renderables out; no program state here."""
from __future__ import annotations

from pathlib import Path

from rich.console import Console, Group
from rich.markdown import Markdown
from rich.panel import Panel
from rich.rule import Rule
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

CONTEXT_LINES = 6


def make_console() -> Console:
    return Console(highlight=False, soft_wrap=False)


def code_view(path: Path, line: int, end_line: int | None = None, source: str | None = None) -> Syntax:
    text = source if source is not None else Path(path).read_text(encoding="utf-8")
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
        table.add_row(name, description)
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
        parts.append(_Hanging(f"  {chr(ord('a') + i)}) ", choice))
    return Group(*parts)


class _Hanging:
    """`label text`, a long text wrapped under itself rather than under the label (plain text, never markup)."""

    def __init__(self, label: str, text: str):
        self.label, self.text = label, text

    def __rich_console__(self, console, options):
        import textwrap
        lines = textwrap.wrap(self.text, max(20, options.max_width - len(self.label))) or [""]
        for n, line in enumerate(lines):
            yield Text((self.label if n == 0 else " " * len(self.label)) + line)


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
        table.add_row(f"{Path(path).name}:{line}", function)
    return table


def summary_view(title: str, seen: int, total: int, score: tuple[int, int], unreached: list[str]) -> Panel:
    right, asked = score
    lines = [f"steps seen: {seen}/{total}", f"questions: {right}/{asked} right" if asked else "questions: none answered"]
    if unreached:
        lines.append("never reached (their code did not run at the hit asked for): " + ", ".join(unreached))
    return Panel("\n".join(lines), title=f"{title}: done", title_align="left", border_style="magenta")
