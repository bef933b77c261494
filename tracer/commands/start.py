"""`walkthrough start NAME|SCRIPT`: run the program for real and pause at each step."""
from __future__ import annotations

import hashlib
import json
import shlex
import tomllib
from pathlib import Path

from rich.text import Text

from . import (EPILOG, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_PROGRAM_FAILED, EXIT_USAGE, UsageError, store,
               subparser)

TAKES_PROGRAM_ARGS = True


def add_parser(sub, name: str) -> None:
    start = subparser(
        sub, name, help="run a walkthrough (or any script) and pause at its steps",
        description="Run the walkthrough's program for real and pause at each step.\n\n"
                    "  walkthrough start ppo\n"
                    "  walkthrough start ppo --auto                 # show every step, never wait\n"
                    "  walkthrough start ppo -- --total-timesteps 20000   # extra arguments for train.py\n"
                    "  walkthrough start path/to/train.py -- --epochs 1   # any script: the steps are generated\n"
                    "  walkthrough start path/to/train.py --save-walkthrough my.toml -- --epochs 1\n"
                    "  walkthrough start my.toml                    # a walkthrough file, pointing at any repo\n"
                    "  walkthrough start path/to/script.py --break script.py:'loss = ' -- --epochs 3\n\n"
                    "At a stop: Enter continue · s step into · n next line · p EXPR print · w stack · h hint · q quit",
        epilog=EPILOG)
    start.add_argument("name", help="a walkthrough name (see `walkthrough list`) or a path to a Python script")
    start.add_argument("--restart", action="store_true", help="begin at step 1 instead of resuming")
    start.add_argument("--repo", metavar="DIR",
                       help="run the walkthrough on this copy of its repo (e.g. walkthrough-work/ppo, your edited "
                            "copy) instead of minimal_impls/NAME; progress is kept apart from the original's. With a "
                            "script: the repository's root folder (default: found from the script's folder, its "
                            "packages and imports)")
    mode = start.add_mutually_exclusive_group()
    mode.add_argument("--auto", action="store_true", help="answer nothing, show each step and continue")
    mode.add_argument("--answers", metavar="FILE",
                      help='answer questions from a TOML or JSON file: {"step_id": ["answer 1", ...]} '
                           'or {"step_id.N": "answer"}; continue at every stop')
    start.add_argument("--break", dest="breaks", action="append", default=[], metavar="FILE:PATTERN",
                       help="with a script: stop at the statement of FILE (relative to the script's folder) "
                            "whose code contains PATTERN; repeatable")
    start.add_argument("--save-walkthrough", metavar="FILE",
                       help="with a script: also write the tour as a walkthrough file, to edit and run again with "
                            "`walkthrough start FILE`")
    start.add_argument("--probe-seconds", type=float, default=40.0, metavar="S",
                       help="with a script and no --break: the longest the short run that chooses the steps may "
                            "take (default 40)")
    start.add_argument("--regenerate", action="store_true",
                       help="with a script: generate the steps again even if this code and these arguments were "
                            "toured before")
    start.add_argument("--seed", type=int, default=0, help="seed of generated questions")
    start.add_argument("--vscode", action="store_true",
                       help="stop in VS Code (attached through debugpy) at every step; explanations and questions "
                            "stay in this terminal; Continue (F5) in the editor moves on")
    start.add_argument("--port", type=int, default=5678, help="with --vscode: debugpy's port")
    start.add_argument("--host", default=None, help="with --vscode: address to listen on (default 127.0.0.1; "
                                                     "anything else exposes a debugger to the network)")
    start.add_argument("--wait", type=float, default=120.0, metavar="S",
                       help="with --vscode: seconds to wait for the editor to attach")
    start.add_argument("--generated", type=int, default=2, metavar="N",
                       help="at most N questions generated from the code at each stop, chosen by teaching value: "
                            "why an ML idiom is there, shape and value predictions, what-if questions answered by "
                            "running a changed line (0: none)")


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


def _adhoc(script: Path, breaks: list[str], program_args: list[str]):
    """A walkthrough made from the command line: one step per --break FILE:PATTERN."""
    from .. import spec

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


def run(args, program_args, console) -> int:
    from .. import spec
    from ..engine.anchors import ResolvedCache
    from ..engine.stops import InternalError, WhenError
    from ..progress import state_dir
    from ..session import AUTO, INTERACTIVE, SCRIPTED, EndOfInput, ProgramFailed, QuitTour, Session

    target = Path(args.name)
    if target.suffix == ".py":
        if args.breaks and args.repo:
            raise UsageError("--repo goes with a generated tour or a walkthrough name; --break FILE is relative to "
                             "the script's folder")
        from ..autotour import generate, tour
        try:
            walkthrough = (_adhoc(target, args.breaks, program_args) if args.breaks
                           else tour.generated_tour(target, program_args, args, console))
            if args.save_walkthrough:
                tour.save_tour(walkthrough, Path(args.save_walkthrough), console)
        except generate.GenerateError as exc:
            console.print(Text.assemble(("Could not generate a tour: ", "bold red"), str(exc)))
            return EXIT_PROGRAM_FAILED
        except KeyboardInterrupt:
            console.print("\nInterrupted while generating the tour; nothing was saved.")
            return EXIT_INTERRUPTED
    else:
        if args.breaks:
            raise UsageError("--break goes with a script path; a walkthrough's steps come from its file")
        if args.save_walkthrough:
            raise UsageError("--save-walkthrough goes with a script path: a walkthrough file is already one")
        cache = ResolvedCache(state_dir() / "cache" / "anchors.json")
        walkthrough = spec.load(spec.find(args.name), cache=cache, repo=args.repo)
        cache.save()
        if walkthrough.skipped:
            console.print(Text.assemble(("note: ", "yellow"), f"{len(walkthrough.skipped)} steps are skipped: your copy "
                                        f"no longer has their code ({', '.join(walkthrough.skipped)})"))
        run_name = walkthrough.name
        if args.repo:     # progress on a copy is its own: the copy may differ from the reference
            walkthrough.name = f"{walkthrough.name}@{walkthrough.repo_dir}"
            run_name += "-" + hashlib.sha1(str(walkthrough.repo_dir).encode()).hexdigest()[:10]
        run_dir = state_dir() / "runs" / run_name
        for entry in walkthrough.runs:
            entry.args = [a.replace("{run_dir}", str(run_dir)) for a in entry.args]
        walkthrough.runs[0].args += program_args      # `-- ARGS` go to the first script (train.py)
    progress = store(console)
    mode = AUTO if args.auto else SCRIPTED if args.answers else INTERACTIVE
    scripted = _read_answers(args.answers) if args.answers else None
    editor = None
    if args.vscode:
        from ..vscode import LOOPBACK, Editor, VSCodeError
        host = args.host or "127.0.0.1"
        if args.host and args.host not in LOOPBACK:
            console.print(Text.assemble(("warning: ", "yellow"), f"listening on {host}: anyone who can reach this "
                                        "address can run code in this process through the debugger"))
        editor = Editor(host, args.port, console)
        try:
            editor.listen(args.wait)
        except VSCodeError as exc:
            raise UsageError(str(exc)) from None
    elif args.host or args.port != 5678:
        raise UsageError("--host and --port go with --vscode")
    session = Session(walkthrough, progress, console, mode=mode, scripted_answers=scripted, restart=args.restart,
                      seed=args.seed, generated=args.generated, editor=editor)
    again = " ".join(["walkthrough start", args.name, *(["--repo", shlex.quote(str(args.repo))] if args.repo else []),
                      *(["--", *map(shlex.quote, program_args)] if program_args else [])])
    resume = Text.assemble("Resume with: ", (again, "bold"))
    try:
        return session.run()
    except ProgramFailed as exc:
        console.print(Text.assemble(("The program failed.", "bold red"), " Progress is saved.\n", str(exc)))
        return EXIT_PROGRAM_FAILED
    except WhenError as exc:
        console.print(Text.assemble(("error in the walkthrough: ", "bold red"), str(exc)))
        return EXIT_USAGE
    except InternalError as exc:
        console.print(Text.assemble(("walkthrough hit a bug of its own", "bold red"),
                                    " (progress is saved; please report it):\n", str(exc)))
        return EXIT_INTERNAL
    except QuitTour:
        console.print(Text.assemble("\nProgress saved. ", resume))
        return EXIT_OK
    except (KeyboardInterrupt, EndOfInput):
        console.print(Text.assemble("\nInterrupted. Progress saved. ", resume))
        return EXIT_INTERRUPTED
