"""`walkthrough start SCRIPT` with no --break: generate the tour (or reuse the one generated for the same code and
arguments), say what was found, and keep it as a walkthrough file when asked."""
from __future__ import annotations

import threading
import time
from pathlib import Path

from rich.panel import Panel
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from .. import spec
from ..engine import launch
from . import generate


def _cache_path(key: str) -> Path:
    from ..progress import state_dir
    return state_dir() / "autotour" / f"{key}.toml"


def generated_tour(script: Path, program_args: list[str], args, console) -> spec.Walkthrough:
    """The tour of `script`; raises generate.GenerateError with a message ready to show."""
    from ..commands import UsageError       # a mistake on the command line: exit 2, not "the program failed"

    script = Path(script)
    if not script.is_file():
        raise UsageError(f"{script}: no such script" + (" (it is a folder)" if script.is_dir() else ""))
    repo = Path(args.repo).resolve() if args.repo else launch.repo_root(script)
    if not repo.is_dir():
        raise UsageError(f"--repo {args.repo}: no such directory")
    seconds = args.probe_seconds
    key = generate.cache_key(script, program_args, repo, seconds)
    cached = _cache_path(key)
    name = f"auto-{script.stem}-{key[:10]}"
    if cached.is_file() and not args.regenerate:
        try:
            walkthrough = spec.load(cached)
        except spec.SpecError:
            pass                                    # a stale or damaged copy: generate again
        else:
            walkthrough.name = name
            console.print(Text.assemble(
                ("Using the tour generated before", "bold"), f" for this code and these arguments "
                f"({len(walkthrough.steps)} steps; --regenerate makes it again)."))
            return walkthrough
    result = _generate_with_progress(script, program_args, repo, seconds, console)
    walkthrough = result.walkthrough
    walkthrough.name = name
    console.print(_summary(result, script))
    try:
        generate.save(walkthrough, cached)
    except OSError:
        pass                                        # only a cache
    return walkthrough


def _generate_with_progress(script, program_args, repo, seconds, console) -> generate.Generated:
    shown = " ".join(["python", script.name, *program_args])
    if not console.is_terminal:
        console.print(Text(f"Generating a tour: a short run of `{shown}` (at most {seconds:.0f} s) shows which lines "
                           "run and what they compute …", style="dim"))
        return generate.generate(script, program_args, repo, seconds)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console,
                        transient=True)
    task = progress.add_task(Text(f"short run of {shown}").markup, total=seconds)
    done = threading.Event()

    def tick():
        started = time.monotonic()
        while not done.wait(0.25):
            progress.update(task, completed=min(seconds, time.monotonic() - started))

    with progress:
        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        try:
            return generate.generate(script, program_args, repo, seconds)
        finally:
            done.set()


def _summary(result: generate.Generated, script: Path) -> Panel:
    analysis = result.analysis
    ran = [s for s in analysis.statements.values() if s.hits]
    files = sorted({s.path.name for s in ran})
    lines = [Text.assemble((f"{len(result.walkthrough.steps)} steps", "bold"),
                           f" chosen from {len(ran)} statements that ran in {len(files)} file"
                           f"{'s' if len(files) != 1 else ''} ({', '.join(files[:6])}"
                           f"{', …' if len(files) > 6 else ''}), in {result.seconds:.0f} s "
                           f"(the short run: {result.run_seconds:.0f} s).")]
    backward = next((s for s in sorted(analysis.sinks, key=lambda s: s.first) if "backward" in s.roles), None)
    if analysis.training_loop is not None:
        loop = analysis.training_loop
        lines.append(Text(f"Training loop: {loop.path.name}:{loop.line}  {loop.code.splitlines()[0]}"))
    if backward is not None:
        lines.append(Text(f"Backward: {backward.path.name}:{backward.line}  {backward.code.splitlines()[0]}"))
    lines.append(Text("The steps, their titles and explanations are generated from the code and that run: no person "
                      "wrote them. Every step was reached in the run. Keep and edit them with --save-walkthrough FILE.",
                      style="dim"))
    for note in result.notes:
        lines.append(Text.assemble(("note: ", "yellow"), note))
    for dropped in result.dropped:
        lines.append(Text.assemble(("left out: ", "yellow"), dropped))
    body = Text("\n").join(lines)
    return Panel(body, title=Text(f"A generated tour of {script.name}"), title_align="left", border_style="magenta")


def save_tour(walkthrough: spec.Walkthrough, path: Path, console) -> None:
    from ..commands import UsageError, os_error_message

    path = Path(path)
    if path.suffix != ".toml":
        raise UsageError(f"--save-walkthrough {path}: give a file name ending in .toml")
    try:
        generate.save(walkthrough, path)
    except OSError as exc:
        raise UsageError(f"--save-walkthrough {os_error_message(exc, path)}") from None
    console.print(Text.assemble(("Saved the tour to ", "bold"), (str(path), "bold cyan"), ": edit it, check it with ",
                                (f"walkthrough check {path}", "bold"), ", run it with ",
                                (f"walkthrough start {path}", "bold"), "."))
