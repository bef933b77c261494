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


def code_view(path: Path, line: int, end_line: int | None = None, source: str | None = None,
              context: int | None = None) -> Syntax:
    if source is None:
        from .engine.anchors import read_source
        source = read_source(path)
    text = source
    end_line = end_line or line
    return Syntax(text, "python", line_numbers=True, highlight_lines=set(range(line, end_line + 1)),
                  line_range=(max(1, line - (context if context is not None else CONTEXT_LINES)),
                              end_line + (context if context is not None else CONTEXT_LINES)),
                  background_color="default", word_wrap=True)


def location(path: Path, line: int, function: str, repo_dir: Path) -> Text:
    shown = Path(path)
    try:                               # relative to where the learner is, else the whole path (never ambiguous)
        shown = Path(path).resolve().relative_to(Path.cwd().resolve())
    except (ValueError, OSError):
        shown = Path(path).resolve()
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


def line_view(path: Path, line: int, function: str, repo_dir: Path, rows: list[tuple[str, str]],
              context: int | None = None) -> Group:
    return Group(Rule(Text("step", style="bold magenta"), align="left"),
                 location(path, line, function, repo_dir), code_view(path, line, context=context), values_table(rows))


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
    if question.source != "authored":        # an indented (code) line too long for the width wraps under itself
        parts.extend(_Hanging(line[:len(line) - len(line.lstrip())], line.lstrip(), indent_more=4)
                     for line in question.prompt.strip().splitlines())
    else:
        parts.append(Markdown(question.prompt.strip()))
    for i, choice in enumerate(question.choices if question.kind == "choice" else []):
        parts.append(_Hanging(f"  {chr(ord('a') + i)}) ", choice))
    return Group(*parts)


class _Hanging:
    """`label text`, a long text wrapped under itself rather than under the label (plain text, never markup)."""

    def __init__(self, label: str, text: str, indent_more: int = 0):
        self.label, self.text, self.indent_more = label, text, indent_more

    def __rich_console__(self, console, options):
        import textwrap
        hang = " " * (len(self.label) + (self.indent_more if self.label.strip() == "" and self.label else 0))
        lines = textwrap.wrap(self.text, max(20, options.max_width), initial_indent=self.label,
                              subsequent_indent=hang, replace_whitespace=False, drop_whitespace=True) or [self.label]
        for line in lines:
            yield Text(line)


def feedback(right: bool, expected: str, explain: str = "", misconception: str = "", close: str = "") -> Text:
    if right:
        text = Text.assemble(("✓ right", "bold green"), f"  {expected}" if expected else "")
    elif close:                  # a near miss: not counted right, not a mistake in the idea either
        text = Text.assemble(("≈ close", "bold yellow"), f"  {close} (not counted as right)")
    else:
        text = Text.assemble(("✗ not quite", "bold red"), f"  the answer: {expected}")
        if misconception:
            text.append(f"\n  that choice stands for a common mistake: {misconception}", style="italic")
    if explain:
        text.append(f"\n  {explain.strip()}", style="dim")
    return text


PROMPT_HELP = ("[bold]Enter[/] or [bold]c[/] continue to the next step · [bold]s[/] step one line (into calls) · "
               "[bold]n[/] next line · [bold]a [N][/] this step again, at its next (or Nth) execution · "
               "[bold]p EXPR[/] print · [bold]check[/] value checks · [bold]w[/] stack · [bold]h[/] hint · "
               "[bold]q[/] quit")


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


# ----- bug hunts and value checks ------------------------------------------------------------------
def _minutes(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def hunt_score_line(score: dict) -> Text:
    state = "found" if score["found"] else "revealed" if score["revealed"] else "hunting"
    return Text.assemble(("score: ", "bold"), f"{score['guesses']} guess(es), {score['hints']} hint(s), "
                         f"{_minutes(score['seconds'])}", (f"  ({state})", "dim"))


def hunts_table(entries: dict[str, dict], scores: dict[str, dict]) -> Table:
    """`walkthrough progress`: one row per bug-hunt folder: the hunt now (its score) and the earlier ones there.
    The fault of a hunt still under way is never shown."""
    table = Table(title=Text("bug hunts"), title_justify="left")
    for column in ("hunt", "now", "guesses", "hints", "time", "earlier hunts"):
        table.add_column(column)
    for name, entry in sorted(entries.items()):
        score = scores[name]
        state = "found" if score["found"] else "revealed" if score["revealed"] else "hunting"
        history = [h for h in entry.get("history", []) if isinstance(h, dict)]
        counts = {s: sum(h.get("state") == s for h in history) for s in ("found", "revealed", "abandoned")}
        earlier = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "-"
        if history and counts["found"]:
            found = [h for h in history if h.get("state") == "found"]
            earlier += (f" (found ones: {sum(h.get('guesses', 0) for h in found) / len(found):.1f} guesses, "
                        f"{sum(h.get('hints', 0) for h in found) / len(found):.1f} hints on average)")
        table.add_row(Text(name), Text(state), Text(str(score["guesses"])), Text(str(score["hints"])),
                      Text(_minutes(score["seconds"])), Text(earlier))
    return table


def fault_table(rows) -> Table:
    """rows: (Fault, number of places it applies)."""
    table = Table(box=None, padding=(0, 1), show_header=True, header_style="bold")
    table.add_column("fault", style="cyan", no_wrap=True)
    table.add_column("category")
    table.add_column("places", justify="right")
    table.add_column("the mistake", overflow="fold")
    for fault, count in sorted(rows, key=lambda r: (r[0].category, r[0].id)):
        table.add_row(Text(fault.id), Text(fault.category), Text(str(count)), Text(fault.title))
    return table


def hunt_view(cfg, entry, verdict, plot: str, png, healthy, buggy, copy_dir, command: str, score: dict,
              resumed: bool) -> Group:
    head = "Bug hunt resumed" if resumed else "A bug is planted"
    parts = [Rule(Text.assemble((head, "bold magenta"), f"  in {copy_dir}  ", (f"({cfg.repo}, seed {entry['seed']})",
                                                                             "dim")), align="left")]
    parts.append(Text.assemble(("The symptom. ", "bold"), f"The copy's {cfg.script} and the healthy reference ran "
                               f"{' '.join(entry['args'])} on seeds {', '.join(map(str, entry['seeds']))}: ",
                               verdict.summary, "."))
    from .practice import bughunt
    column = bughunt.symptom_column(cfg, verdict)
    if column != cfg.y:
        parts.append(Text(f"The learning curve ({cfg.y}) is the same with the bug; plotted instead: {column}, the "
                          "first logged value that differs.", style="italic"))
    parts.append(Text.from_ansi(plot))
    table = Table(box=None, padding=(0, 2), show_header=True, header_style="bold")
    table.add_column("seed", justify="right")
    for name in dict.fromkeys([cfg.y, column]):
        table.add_column(Text(f"final {name}, healthy"), justify="right")
        table.add_column("with the bug", justify="right")
    rows = zip(*(bughunt.finals(cfg, healthy, buggy, name) for name in dict.fromkeys([cfg.y, column])))
    for per_column in rows:
        cells = [Text(str(per_column[0][0]))]
        for _, final_h, final_b, crashed in per_column:
            cells += [Text(f"{final_h:.4g}" if final_h is not None else "—"),
                      Text((f"{final_b:.4g}" if final_b is not None else "—") + (" (crashed)" if crashed else ""))]
        table.add_row(*cells)
    parts.append(table)
    for line in verdict.evidence:
        if "final" not in line:
            parts.append(Text("  " + line, style="dim"))
    for h, b in zip(healthy, buggy):        # the end-of-run report (summary.json): the numbers, not only the names
        changed = bughunt.summary_changes(h.summary, b.summary, cfg)
        if changed:
            parts.append(Text(f"  seed {h.spec.seed}, end-of-run summary (summary.json, what the program reports "
                              "at the end, e.g. for the epoch it kept): " + "; ".join(
                f"{key} {hv} healthy, {bv} with the bug" for key, hv, bv in changed[:4]), style="dim"))
    if verdict.kind == "values" and column == cfg.y:
        parts.append(Text("The two curves lie on top of each other: what differs is listed above.", style="italic"))
    moved = bughunt.moved_most(verdict)
    if moved:
        parts.append(Text(f"  averaged over the run (seed {entry['seeds'][0]}), the logged values that moved most, "
                          f"with the bug / healthy: {moved}", style="dim"))
    if verdict.kind != "crash" and not bughunt.clearly_worse(cfg, healthy, buggy):
        parts.append(Text(f"Short runs on {len(entry['seeds'])} seeds show that the bug changes what the program "
                          "computes, not how much it hurts learning in the long run: curves vary from seed to seed, "
                          "and a buggy run can even end higher.", style="italic dim"))
    if png is not None:
        parts.append(Text.assemble(("the same curves as a picture: ", "dim"), str(png)))
    tools = [(f"walkthrough start {cfg.walkthrough} --repo {copy_dir}",
              "the tour on the buggy copy: at any stop `p EXPR`, `check` (value checks), `s`/`n` to step"),
             (f"walkthrough start {cfg.walkthrough}", "the same tour on the healthy reference, to compare"),
             (f"{command} --guess FILE:LINE", "say where the bug is (any line of its statement)"),
             (f"{command} --hint", "a hint: the symptom, then the stage, then the tour step, then the lines"),
             (f"{command} --reveal", "show the bug, what it does and why it hurts")]
    tools = Group(Text("your tools", style="bold"), *[Text.assemble(("  " + cmd, "bold cyan"), "\n      ", (what, "dim"))
                                                      for cmd, what in tools])
    parts += [tools, hunt_score_line(score)]
    if score["found"] or score["revealed"]:
        parts.append(Text(f"This hunt is over. A new bug: {command}", style="italic"))
    return Group(*parts)


def guess_view(right: bool, text: str, hint, levels: int, score: dict, was_over: bool, command: str) -> Group:
    parts = []
    if right:
        parts.append(Text.assemble(("✓ yes: ", "bold green"), text, " is the bug's statement."))
        if not was_over:
            parts.append(hunt_score_line(score))
        parts.append(Text.assemble("See what it does and why it hurts: ", (f"{command} --reveal", "bold")))
    else:
        parts.append(Text.assemble(("✗ not there: ", "bold red"), text, " is not on the bug's statement."))
        if hint is not None:
            level, hint_body = hint
            parts.append(Panel(Text(hint_body), title=Text(f"hint {level}/{levels}"), title_align="left",
                               border_style="yellow"))
        elif not was_over:
            parts.append(Text.assemble("No hints left; ", (f"{command} --reveal", "bold"), " shows the bug."))
        if not was_over:
            parts.append(hunt_score_line(score))
        else:
            parts.append(Text.assemble("This hunt is over (the bug was found or revealed), so the guess does not "
                                       "count; a new bug: ", (command, "bold")))
    return Group(*parts)


def hints_view(hints, levels: int, reveal_command: str) -> Group:
    parts = [Panel(Text(body), title=Text(f"hint {level}/{levels}"), title_align="left", border_style="yellow")
             for level, body in hints]
    if len(hints) == levels or (hints and hints[-1][0] == levels):
        parts.append(Text.assemble("That was the last hint; ", (reveal_command, "bold"), " shows the bug."))
    return Group(*parts)


def reveal_view(entry, fault, diff: str, verdict, score: dict, new_command: str, y: str = "",
                not_worse=(), record_args: str = "") -> Group:
    """The bug, its misconception and explanation, what the runs measured; `not_worse`: (seed, healthy, buggy) of
    the seeds whose final `y` the bug did not lower -- said beside the explanation, which describes the mechanism."""
    title = fault.title if fault else entry["fault"]
    parts = [Rule(Text.assemble(("The bug: ", "bold magenta"), title), align="left")]
    if fault is not None:
        parts.append(Text.assemble(("category: ", "dim"), fault.category, ("   fault id: ", "dim"), fault.id))
    parts.append(Syntax(diff, "diff", background_color="default", word_wrap=True))
    if fault is not None:
        parts.append(Panel(Text(fault.misconception), title="the misconception", title_align="left",
                           border_style="red"))
        parts.append(Panel(Text(fault.explanation), title="what it does and why it hurts", title_align="left",
                           border_style="blue"))
    if not_worse:
        seeds = "; ".join(f"seed {seed}: {b:.4g} with the bug, {h:.4g} healthy" for seed, h, b in not_worse)
        n = len(entry.get("seeds", ())) or len(not_worse)
        which = f"any of the {n} seeds" if len(not_worse) >= n else f"{len(not_worse)} of the {n} seeds"
        parts.append(Text(f"Note: in the short verification runs the bug did not lower the final {y} on "
                          f"{which} ({seeds}). The explanation says what the bug "
                          "does to the computation; whether that costs learning shows only over longer runs and "
                          "more seeds -- two short runs cannot settle it.", style="italic yellow"))
    measured = [Text(verdict.summary[0].upper() + verdict.summary[1:] + ".")] + [Text("  " + e) for e in verdict.evidence]
    div = entry.get("divergence") or {}
    if div.get("step_id"):
        nth = "" if div["hit"] == 1 else f" (from its execution number {div['hit']})"
        if div.get("after"):
            nth += " once its statement has run"
        measured.append(Text(f"  where the values first differ, in the order the program runs: step {div['step']} "
                             f"({div['title']}){nth}: " + ", ".join(div["names"][:6])))
    elif div.get("crashed"):
        at = f" at {div['crash_at']} (in {div['crash_function']})" if div.get("crash_at") else ""
        flags = f" with {record_args}" if record_args else ""
        measured.append(Text(f"  recorded stop by stop (a shorter run{flags}), no value differs before the program "
                             f"crashes{at}"))
    parts.append(Panel(Group(*measured), title="what the verification runs measured (same seeds, same flags)",
                       title_align="left", border_style="green"))
    parts.append(hunt_score_line(score))
    parts.append(Text.assemble("Another bug: ", (new_command, "bold")))
    return Group(*parts)


def check_view(flags, tensors: int | None = None) -> Table | Text:
    """The flags of `check` at a stop; `tensors`: how many tensors were looked at (0: nothing to check here)."""
    if not flags and tensors == 0:
        return Text.assemble(("nothing to check here", "bold"), ": no tensor in this frame yet. `check` looks at the "
                             "tensors of the frame you are stopped in (and the model and optimiser it can see); "
                             "try it at a stop where the model computes.")
    if not flags:
        looked = "" if tensors is None else f" in {tensors} tensor{'' if tensors == 1 else 's'}"
        return Text.assemble(("✓ no flags", "bold green"), looked, " — no NaN/inf, no loss without gradient, no "
                             "unexpected gradient, no [N,1]+[N] broadcast, probabilities sum to 1, gradient norms in "
                             "range, no dead ReLU layer")
    table = Table(title=Text(f"{len(flags)} flag(s)"), title_justify="left", title_style="bold red", box=None,
                  padding=(0, 1), show_header=False)
    table.add_column(style="bold red", no_wrap=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    shown = flags[:12]
    for flag in shown:
        table.add_row(Text(flag.check), Text(flag.name), Text(flag.message))
    if len(flags) > len(shown):
        table.add_row(Text("…"), Text(f"{len(flags) - len(shown)} more"), Text(""))
    return table


def watch_view(result: dict, steps: dict) -> Group:
    """The flags of a watched run ({"stops": {"step#hit": [flag dicts]}, "error": ...}), each distinct flag once,
    where it was first raised and how often; steps: id -> (number, title)."""
    parts = []
    first: dict[tuple[str, str], tuple[str, dict]] = {}
    count: dict[tuple[str, str], int] = {}
    for key, flags in result.get("stops", {}).items():
        for flag in flags:
            ident = (flag["check"], flag["name"])
            first.setdefault(ident, (key, flag))
            count[ident] = count.get(ident, 0) + 1
    if not first:
        parts.append(Text.assemble(("✓ no flags", "bold green"), " at any watched execution: nothing numerically "
                                   "wrong (no NaN, no missing gradient, no [N,1]+[N] broadcast, ...). The bug changes "
                                   "values without breaking them: compare them with the healthy run's."))
    else:
        from .practice.checks import RUN_CHECKS
        shown = 10
        # at one execution: in the order the program raised them; judged over the whole run: after them
        ordered = sorted(first.items(), key=lambda item: item[0][0] in RUN_CHECKS)
        table = Table(title=Text(f"{len(first)} distinct flag(s), in the order they were first raised"
                                 + (f"; the first {shown}" if len(first) > shown else "")), title_justify="left",
                      title_style="bold red", box=None, padding=(0, 1), show_header=False)
        table.add_column(style="bold red", no_wrap=True)
        table.add_column(style="bold", max_width=24, overflow="fold")     # a name; the message gets the room
        table.add_column(overflow="fold", ratio=1)
        for ident, (key, flag) in ordered[:shown]:
            step_id, _, hit = key.partition("#")
            number, title = steps.get(step_id, (0, step_id))
            where = (f"judged over the whole run, from the values step {number} ({title}) saw"
                     if flag["check"] in RUN_CHECKS else
                     f"first at step {number} ({title}), execution {hit or 1}; raised at {count[ident]} watched "
                     "execution(s)")
            table.add_row(Text(flag["check"]), Text(flag["name"]), Text.assemble((where + "\n", "cyan"),
                                                                                 flag["message"]))
        parts.append(table)
        if len(ordered) > shown:
            rest = {}
            for (check, _), _ in ordered[shown:]:
                rest[check] = rest.get(check, 0) + 1
            parts.append(Text(f"… and {len(ordered) - shown} more: " + ", ".join(
                f"{check}" + (f" ×{n}" if n > 1 else "") for check, n in rest.items()), style="red"))
    if result.get("error"):
        parts.append(Text.assemble(("the run stopped: ", "bold red"), str(result["error"])))
    return Group(*parts)
