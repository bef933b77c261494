"""The `walkthrough` command."""
from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path

from rich.table import Table

from . import show, spec
from .anchors import ResolvedCache
from .progress import ProgressStore, state_dir

EXIT_OK, EXIT_PROGRAM_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

EPILOG = """\
exit codes:
  0    the walkthrough (or command) finished
  1    the program being walked through raised an exception or exited non-zero
  2    bad command line, walkthrough file or answers file (the message says which and where);
       with --vscode: port in use, or no editor attached in time
  3    a bug in walkthrough itself (the message has its traceback; progress is saved)
  130  interrupted: Ctrl-C or end of input at a prompt (progress is saved)

progress is kept in $WALKTHROUGH_STATE_DIR (default ~/.local/state/walkthrough).
"""


class UsageError(Exception):
    """Bad input from the command line; the message says what to do."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="walkthrough", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Step through small, real ML codebases while they run: see each line, its math and its "
                    "live values, and answer questions about what it does.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("list", help="the walkthroughs, their step counts and your progress")

    start = sub.add_parser(
        "start", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        help="run a walkthrough (or any script) and pause at its steps",
        description="Run the walkthrough's program for real and pause at each step.\n\n"
                    "  walkthrough start ppo\n"
                    "  walkthrough start ppo --auto                 # show every step, never wait\n"
                    "  walkthrough start ppo -- --total-timesteps 20000   # extra arguments for train.py\n"
                    "  walkthrough start path/to/script.py --break script.py:'loss = ' -- --epochs 3\n\n"
                    "At a stop: Enter continue · s step into · n next line · p EXPR print · w stack · h hint · q quit")
    start.add_argument("name", help="a walkthrough name (see `walkthrough list`) or a path to a Python script")
    start.add_argument("--restart", action="store_true", help="begin at step 1 instead of resuming")
    mode = start.add_mutually_exclusive_group()
    mode.add_argument("--auto", action="store_true", help="answer nothing, show each step and continue")
    mode.add_argument("--answers", metavar="FILE",
                      help='answer questions from a TOML or JSON file: {"step_id": ["answer 1", ...]} '
                           'or {"step_id.N": "answer"}; continue at every stop')
    start.add_argument("--break", dest="breaks", action="append", default=[], metavar="FILE:PATTERN",
                       help="with a script: stop at the statement of FILE (relative to the script's folder) "
                            "whose code contains PATTERN; repeatable")
    start.add_argument("--seed", type=int, default=0, help="seed of generated questions")
    start.add_argument("--vscode", action="store_true",
                       help="stop in VS Code (attached through debugpy) at every step; explanations and questions "
                            "stay in this terminal; Continue (F5) in the editor moves on")
    start.add_argument("--port", type=int, default=5678, help="with --vscode: debugpy's port")
    start.add_argument("--host", default=None, help="with --vscode: address to listen on (default 127.0.0.1; "
                                                     "anything else exposes a debugger to the network)")
    start.add_argument("--wait", type=float, default=120.0, metavar="S",
                       help="with --vscode: seconds to wait for the editor to attach")
    start.add_argument("--generated", type=int, default=1, metavar="N",
                       help="questions generated from the code at each stop, besides a prediction (0: none)")

    quiz = sub.add_parser(
        "quiz", help="generate questions about any Python file, without running it",
        description="Generate questions from a Python file's code with libcst: which is the real line (mutants), "
                    "fill the blank, reads and writes, what a line does, order the lines (Parsons). "
                    "The file is parsed, never run.")
    quiz.add_argument("file", help="a Python source file")
    quiz.add_argument("--function", help="only statements inside this function (qualified: Class.method)")
    quiz.add_argument("--json", action="store_true", help="print one JSON array of question objects (see README)")
    quiz.add_argument("--seed", type=int, default=0, help="seed: the same seed gives the same questions")
    quiz.add_argument("--kinds", nargs="+", metavar="KIND", help="only these kinds: mutant blank names purpose parsons")

    code = sub.add_parser("vscode", help="write .vscode/launch.json to attach VS Code to `walkthrough start --vscode`",
                          description="Merge two configurations into .vscode/launch.json (others are kept): "
                                      "'walkthrough: attach' (attach to a running `walkthrough start NAME --vscode`) and "
                                      "'walkthrough: start NAME' (launch it from VS Code).")
    code.add_argument("name", nargs="?", default="ppo", help="walkthrough for the launch configuration")
    code.add_argument("--port", type=int, default=5678)
    code.add_argument("--host", default="127.0.0.1")
    code.add_argument("--dir", default=".", help="the folder VS Code opens (default: here)")

    sub.add_parser("progress", help="your progress and score in each walkthrough")
    reset = sub.add_parser("reset", help="forget your progress in a walkthrough")
    reset.add_argument("name")
    check = sub.add_parser("check", help="validate walkthrough files: schema, anchors, questions")
    check.add_argument("files", nargs="*", help="walkthrough .toml files (default: every shipped walkthrough)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    program_args: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, program_args = argv[:cut], argv[cut + 1:]
    parser = build_parser()
    args = parser.parse_args(argv)
    console = show.make_console()
    try:
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        if args.command == "start":
            return _start(args, program_args, console)
        if program_args:
            raise UsageError("`--` passes arguments to the program; only `walkthrough start` runs one")
        if args.command == "list":
            return _list(console)
        if args.command == "progress":
            return _progress(console)
        if args.command == "reset":
            store = _store(console)
            existed = store.reset(args.name)
            console.print(f"progress of {args.name!r} " + ("forgotten" if existed else "was already empty"))
            return EXIT_OK
        if args.command == "check":
            return _check(args.files, console)
        if args.command == "quiz":
            return _quiz(args, console)
        if args.command == "vscode":
            from .vscode import VSCodeError, write_launch_json
            try:
                path, notes = write_launch_json(Path(args.dir), args.name, args.host, args.port)
            except VSCodeError as exc:
                raise UsageError(str(exc)) from None
            console.print(f"wrote {path}: 'walkthrough: attach' (port {args.port}) and "
                          f"'walkthrough: start {args.name}'")
            for note in notes:
                console.print(f"[yellow]note:[/] {note}")
            return EXIT_OK
    except (spec.SpecError, UsageError) as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        return EXIT_USAGE
    return EXIT_USAGE


def _store(console) -> ProgressStore:
    store = ProgressStore()
    for warning in store.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    return store


def _list(console) -> int:
    store = _store(console)
    table = Table(title="walkthroughs", title_justify="left")
    for column in ("name", "title", "steps", "progress", "score"):
        table.add_column(column)
    for name in spec.available():
        try:
            walkthrough = spec.load(spec.find(name), resolve_anchors=False)
        except spec.SpecError as exc:
            table.add_row(name, f"[red]invalid: {exc}[/]", "", "", "")
            continue
        tour = store.tours.get(name)
        total = len(walkthrough.steps)
        done = "finished" if tour and tour.finished else f"{len(tour.steps_seen) if tour else 0}/{total} seen"
        right, asked = tour.score if tour else (0, 0)
        table.add_row(name, walkthrough.title, str(total), done, f"{right}/{asked}" if asked else "-")
    console.print(table)
    console.print("start one with: [bold]walkthrough start NAME[/]")
    return EXIT_OK


def _progress(console) -> int:
    store = _store(console)
    if not store.tours:
        console.print(f"no progress yet (kept in {store.path}); start with: walkthrough start ppo")
        return EXIT_OK
    table = Table(title=f"progress ({store.path})", title_justify="left")
    for column in ("walkthrough", "next step", "seen", "score", "to ask again"):
        table.add_column(column)
    for name, tour in sorted(store.tours.items()):
        right, asked = tour.score
        table.add_row(name, "finished" if tour.finished else str(tour.next_step + 1), str(len(tour.steps_seen)),
                      f"{right}/{asked}", ", ".join(tour.missed) or "-")
    console.print(table)
    return EXIT_OK


def _check(files: list[str], console) -> int:
    paths = [Path(f) for f in files] or [spec.find(name) for name in spec.available()]
    failures = 0
    for path in paths:
        try:
            walkthrough = spec.load(path)
        except spec.SpecError as exc:
            failures += 1
            console.print(f"[bold red]✗[/] {exc}", highlight=False)
            continue
        questions = sum(len(s.questions) for s in walkthrough.steps)
        console.print(f"[green]✓[/] {path}: {len(walkthrough.steps)} steps, {questions} questions, every anchor "
                      "resolves to one statement")
    return EXIT_USAGE if failures else EXIT_OK


def _quiz(args, console) -> int:
    from . import questions

    kinds = tuple(args.kinds or questions.STATIC_KINDS)
    unknown = [k for k in kinds if k not in questions.STATIC_KINDS]
    if unknown:
        raise UsageError(f"unknown kind(s) {', '.join(unknown)}; static kinds: {', '.join(questions.STATIC_KINDS)} "
                         "(predict and loop_count need a running program: walkthrough start)")
    path = Path(args.file)
    try:
        index = questions.SourceIndex.from_file(path)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise UsageError(f"{path}: not a readable Python source file ({exc.__class__.__name__})") from None
    except SyntaxError as exc:
        raise UsageError(str(exc)) from None
    if args.function and not any(s.function == args.function or s.function.startswith(args.function + ".")
                                 for s in index.statements):
        functions = sorted({s.function for s in index.statements if s.function != "<module>"})
        raise UsageError(f"{path}: no function {args.function!r}; functions: {', '.join(functions) or 'none'}")
    generated = questions.generate_static(index, seed=args.seed, function=args.function, kinds=kinds)
    if args.json:
        print(json.dumps([questions.to_json(q) for q in generated], ensure_ascii=False, indent=1))
        return EXIT_OK
    for n, question in enumerate(generated, start=1):
        console.print(show.question_view(n, len(generated), question))
        answer = question.answer if isinstance(question.answer, str) else "\n".join(question.answer)
        console.print(f"[dim]answer:[/] {answer}\n", highlight=False)
    console.print(f"{len(generated)} questions from {path}")
    return EXIT_OK


def _read_answers(path: str) -> dict:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{file}: cannot read the answers file ({exc.__class__.__name__})") from None
    try:
        data = json.loads(text) if file.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{file}: not valid {'JSON' if file.suffix == '.json' else 'TOML'}: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{file}: expected a table of step ids to answers")
    return data


def _adhoc(script: Path, breaks: list[str], program_args: list[str]) -> spec.Walkthrough:
    """A walkthrough made from the command line: one step per --break FILE:PATTERN."""
    if not script.is_file():
        raise UsageError(f"{script}: no such script")
    if not breaks:
        raise UsageError(f"give at least one --break FILE:PATTERN to stop in {script.name}")
    steps = []
    for n, text in enumerate(breaks, start=1):
        file, sep, pattern = text.partition(":")
        if not sep or not pattern.strip():
            raise UsageError(f"--break {text!r}: write FILE:PATTERN, e.g. {script.name}:'loss = '")
        steps.append(spec.Step(id=f"break{n}", title=f"{file}: {pattern.strip()}", file=file, at=pattern))
        if not (script.parent / file).is_file():
            raise UsageError(f"--break {text!r}: no file {file!r} next to {script}")
    walkthrough = spec.Walkthrough(f"adhoc-{script.stem}", f"{script.name}", script.parent.resolve(),
                                   [spec.RunEntry(script.name, program_args)], steps, source=script)
    spec.resolve(walkthrough, lambda step: f"--break {breaks[steps.index(step)]!r}")
    return walkthrough


def _start(args, program_args: list[str], console) -> int:
    from .session import AUTO, INTERACTIVE, SCRIPTED, EndOfInput, ProgramFailed, QuitTour, Session
    from .engine import InternalError, WhenError

    target = Path(args.name)
    if target.suffix == ".py":
        walkthrough = _adhoc(target, args.breaks, program_args)
    else:
        if args.breaks:
            raise UsageError("--break goes with a script path; a walkthrough's steps come from its file")
        cache = ResolvedCache(state_dir() / "cache" / "anchors.json")
        walkthrough = spec.load(spec.find(args.name), cache=cache)
        cache.save()
        run_dir = state_dir() / "runs" / walkthrough.name
        for entry in walkthrough.runs:
            entry.args = [a.replace("{run_dir}", str(run_dir)) for a in entry.args]
        walkthrough.runs[0].args += program_args      # `-- ARGS` go to the first script (train.py)
    store = _store(console)
    mode = AUTO if args.auto else SCRIPTED if args.answers else INTERACTIVE
    scripted = _read_answers(args.answers) if args.answers else None
    editor = None
    if args.vscode:
        from .vscode import LOOPBACK, Editor, VSCodeError
        host = args.host or "127.0.0.1"
        if args.host and args.host not in LOOPBACK:
            console.print(f"[yellow]warning:[/] listening on {host}: anyone who can reach this address can run code "
                          "in this process through the debugger")
        editor = Editor(host, args.port, console)
        try:
            editor.listen(args.wait)
        except VSCodeError as exc:
            raise UsageError(str(exc)) from None
    elif args.host or args.port != 5678:
        raise UsageError("--host and --port go with --vscode")
    session = Session(walkthrough, store, console, mode=mode, scripted_answers=scripted, restart=args.restart,
                      seed=args.seed, generated=args.generated, editor=editor)
    try:
        return session.run()
    except ProgramFailed as exc:
        console.print(f"[bold red]The program failed.[/] Progress is saved.\n{exc}", highlight=False)
        return EXIT_PROGRAM_FAILED
    except WhenError as exc:
        console.print(f"[bold red]error in the walkthrough:[/] {exc}", highlight=False)
        return EXIT_USAGE
    except InternalError as exc:
        console.print(f"[bold red]walkthrough hit a bug of its own[/] (progress is saved; please report it):\n{exc}",
                      highlight=False)
        return EXIT_INTERNAL
    except QuitTour:
        console.print(f"\nProgress saved. Resume with: [bold]walkthrough start {args.name}[/]")
        return EXIT_OK
    except (KeyboardInterrupt, EndOfInput):
        console.print(f"\nInterrupted. Progress saved. Resume with: [bold]walkthrough start {args.name}[/]")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
