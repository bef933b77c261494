"""`walkthrough start NAME|SCRIPT`: run the program for real and pause at each step."""
from __future__ import annotations

import argparse
import hashlib
import math
import shlex
from pathlib import Path

from rich.text import Text

from . import (EPILOG, EXIT_INTERRUPTED, EXIT_OK, EXIT_PROGRAM_FAILED, EXIT_USAGE, UsageError, report_crash, store,
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
    again = start.add_mutually_exclusive_group()
    again.add_argument("--restart", action="store_true",
                       help="begin a new attempt at step 1 (the last one's score stays in `walkthrough progress`)")
    again.add_argument("--review", action="store_true",
                       help="stop only at the steps whose questions you missed, and ask those again")
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
    start.add_argument("--probe-seconds", type=seconds, default=40.0, metavar="S",
                       help="with a script and no --break: the longest the short run that chooses the steps may "
                            "take (default 40)")
    start.add_argument("--regenerate", action="store_true",
                       help="with a script: generate the steps again even if this code and these arguments were "
                            "toured before")
    start.add_argument("--seed", type=int, default=0, help="seed of generated questions")
    start.add_argument("--vscode", action="store_true",
                       help="stop in VS Code (attached through debugpy) at every step; explanations and questions "
                            "stay in this terminal; Continue (F5) in the editor moves on")
    start.add_argument("--port", type=port_number, default=None, help="with --vscode: debugpy's port (1-65535)")
    start.add_argument("--host", default=None, help="with --vscode: address to listen on (default 127.0.0.1; "
                                                     "anything else exposes a debugger to the network)")
    start.add_argument("--wait", type=seconds, default=None, metavar="S",
                       help="with --vscode: seconds to wait for the editor to attach")
    start.add_argument("--always-trace", action="store_true",
                       help="with --vscode: keep the debugger tracing the program between steps, as a plain debug "
                            "session does, so that a breakpoint you add while it runs is hit at once (slower). "
                            "By default it runs at full speed between steps and is traced only while you have "
                            "breakpoints set, step or pause; a breakpoint added while it runs then takes effect "
                            "the next time the program passes a step's line")
    start.add_argument("--generated", type=bounded_int(0, 10), default=2, metavar="N",
                       help="at most N questions generated from the code at each stop, chosen by teaching value: "
                            "why an ML idiom is there, shape and value predictions, what-if questions answered by "
                            "running a changed line (0-10; 0: none)")


def port_number(text: str) -> int:
    """argparse type: a TCP port an editor can connect to."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a port number (1-65535)") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number: choose one from 1 to 65535, e.g. 5678")
    return port


def seconds(text: str) -> float:
    """argparse type: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number of seconds") from None
    if not (0 < value < math.inf):
        raise argparse.ArgumentTypeError(f"{text[:40]} is not a positive, finite number of seconds, e.g. 120")
    return min(value, 7 * 24 * 3600.0)


def bounded_int(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range: {low} to {high}")
        return value
    return parse


MAX_ANSWERS_BYTES = 1024 * 1024


def _read_answers(path: str) -> dict:
    """The answers file as {step id or question id: answer string or list of them}; any problem is a UsageError
    naming the file and, where there is one, the line or key."""
    from .. import datafile

    file = Path(path)
    kind = "JSON" if file.suffix == ".json" else "TOML"
    try:
        data = datafile.loads(datafile.read_text(file, "answers file", MAX_ANSWERS_BYTES), file, kind, "answers file")
    except datafile.DataFileError as exc:
        raise UsageError(str(exc)) from None
    if not isinstance(data, dict):
        raise UsageError(f"{file}: expected a table of step ids to answers, e.g. {{\"ratio\": [\"a\", \"(64,)\"]}}")
    answers = {}
    for key, value in data.items():
        where = f"{file}: answer for {key[:60]!r}"
        _check_text(key, f"{file}: key {key[:60]!r}")
        items = value if isinstance(value, list) else [value]
        if isinstance(value, list) and not all(isinstance(v, (str, int, float, bool)) for v in value):
            raise UsageError(f"{where}: a list holds one answer per question: strings or numbers, not nested "
                             "lists or tables")
        if not isinstance(value, (str, int, float, bool, list)):
            raise UsageError(f"{where}: write the answer as a string, e.g. \"(64,)\"")
        texts = []
        for item in items:
            text = _answer_text(item, where)
            _check_text(text, where)
            texts.append(text)
        answers[key] = texts if isinstance(value, list) else texts[0]
    return answers


def _answer_text(item, where: str) -> str:
    if isinstance(item, bool):
        return "True" if item else "False"
    if isinstance(item, int) and abs(item) >= 10 ** 60:
        raise UsageError(f"{where}: a {len(str(abs(item)))}-digit number is not an answer")
    return str(item)


def _check_text(text: str, where: str) -> None:
    if len(text) > 2000:
        raise UsageError(f"{where}: {len(text)} characters; an answer is at most 2000")
    bad = next((c for c in text if 0xD800 <= ord(c) <= 0xDFFF), None)
    if bad is not None:
        raise UsageError(f"{where}: holds a lone surrogate (U+{ord(bad):04X}), which is not text; "
                         "save the file as UTF-8 with real characters")


def _unknown_answer_keys(answers: dict, walkthrough) -> list[str]:
    """Keys that are neither a step id nor a question id (`step.N`, `step.gN`) of this walkthrough."""
    steps = {s.id for s in walkthrough.steps}
    return [key for key in answers if key not in steps and key.rpartition(".")[0] not in steps]


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
    import hashlib          # a tour of its own per script and set of breaks: two train.py files never share one
    key = hashlib.sha1("\0".join([str(script.resolve()), *breaks]).encode()).hexdigest()[:6]
    walkthrough = spec.Walkthrough(f"adhoc-{script.stem}-{key}", f"{script.name}", script.parent.resolve(),
                                   [spec.RunEntry(script.name, program_args)], steps, source=script)
    spec.resolve(walkthrough, lambda step: f"--break {breaks[steps.index(step)]!r}")
    return walkthrough


def run(args, program_args, console) -> int:
    from .. import spec
    from ..engine.anchors import ResolvedCache
    from ..engine.stops import InternalError, WhenError
    from ..progress import copy_tour_name, state_dir
    from ..session import AUTO, INTERACTIVE, SCRIPTED, EndOfInput, ProgramFailed, QuitTour, SaveFailed, Session

    if args.review and (args.auto or args.vscode):
        raise UsageError("--review asks your missed questions again: use it without --auto" +
                         (" and --vscode" if args.vscode else ""))
    if not args.vscode and (args.host or args.port is not None or args.wait is not None):
        raise UsageError("--host, --port and --wait go with --vscode")
    args.port, args.wait = args.port or 5678, args.wait or 120.0
    if args.always_trace and not args.vscode:
        raise UsageError("--always-trace goes with --vscode")
    scripted = _read_answers(args.answers) if args.answers else None     # cheap checks first
    progress = store(console)
    progress.check_writable()         # before anything runs: a read-only state folder is said now, not mid-run
    outputs: list[tuple[Path, str]] = []
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
        walkthrough = spec.load(spec.find(args.name), cache=cache, repo=args.repo, lenient=True)
        cache.save()
        if all(step.stale for step in walkthrough.steps):
            raise UsageError(f"{walkthrough.source}: no step of {walkthrough.name!r} finds its code any more "
                             f"(first: {walkthrough.steps[0].stale}); run `walkthrough check {walkthrough.source}`")
        from ..drift import mark_unrunnable
        for note in mark_unrunnable(walkthrough):
            console.print(Text.assemble(("warning: ", "yellow"), note))
        run_name = walkthrough.name
        if args.repo:     # progress on a copy is its own: the copy may differ from the reference
            walkthrough.name = copy_tour_name(walkthrough.name, walkthrough.repo_dir)
            run_name += "-" + hashlib.sha1(str(walkthrough.repo_dir).encode()).hexdigest()[:10]
        run_dir = _claim_run_dir(state_dir() / "runs", run_name)
        for entry in walkthrough.runs:
            entry.args = [a.replace("{run_dir}", str(run_dir)) for a in entry.args]
        walkthrough.runs[0].args += program_args      # `-- ARGS` go to the first script (train.py)
        outputs = _outputs(walkthrough, run_dir)
    mode = AUTO if args.auto else SCRIPTED if args.answers else INTERACTIVE
    if scripted:
        unknown = _unknown_answer_keys(scripted, walkthrough)
        if unknown:
            shown = ", ".join(repr(k[:40]) for k in unknown[:5]) + (" …" if len(unknown) > 5 else "")
            console.print(Text.assemble(("warning: ", "yellow"), f"{args.answers}: no step of this walkthrough is "
                                        f"called {shown}; those answers are not used (step ids: "
                                        f"{', '.join(s.id for s in walkthrough.steps)[:300]})"))
    editor = None
    if args.vscode:
        editor = _listen_for_editor(args, console)
    name_shown = str(Path(args.name).resolve()) if args.name.endswith(".py") else args.name
    base = " ".join(["walkthrough start", shlex.quote(name_shown),
                     *(["--repo", shlex.quote(str(args.repo))] if args.repo else []),
                     *(f"--break {shlex.quote(b)}" for b in args.breaks)])
    session = Session(walkthrough, progress, console, mode=mode, scripted_answers=scripted, restart=args.restart,
                      seed=args.seed, generated=args.generated, editor=editor, review=args.review, outputs=outputs,
                      command=base, program_args=program_args)
    again = " ".join([base, *(["--", *map(shlex.quote, program_args)] if program_args else [])])
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
        return report_crash(console, str(exc))
    except SaveFailed as exc:
        console.print(Text.assemble(("error: ", "bold red"), f"progress could not be saved: {exc}"))
        return EXIT_USAGE
    except QuitTour:
        console.print(Text.assemble("\nProgress saved. ", resume))
        return EXIT_OK
    except (KeyboardInterrupt, EndOfInput):
        console.print(Text.assemble("\nInterrupted. Progress saved. ", resume))
        return EXIT_INTERRUPTED
    finally:
        if editor is not None:
            editor.close()


def _listen_for_editor(args, console):
    from ..vscode import LOOPBACK, Editor, VSCodeError, check_port_free

    host = args.host or "127.0.0.1"
    try:
        check_port_free(host, args.port)
    except VSCodeError as exc:
        raise UsageError(str(exc)) from None
    if args.host and args.host not in LOOPBACK:
        console.print(Text.assemble(("warning: ", "yellow"), f"listening on {host}: anyone who can reach this "
                                    "address can run code in this process through the debugger"))
    editor = Editor(host, args.port, console)
    editor.always_trace = args.always_trace
    try:
        editor.listen(args.wait)
    except VSCodeError as exc:
        editor.close()
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt:
        editor.close()
        console.print(Text("\nInterrupted while waiting for VS Code; nothing ran and no progress changed."))
        raise SystemExit(EXIT_INTERRUPTED) from None
    return editor


def _claim_run_dir(runs: Path, run_name: str) -> Path:
    """runs/<name>, or runs/<name>-2, -3, ... when another walkthrough of the same name is running right now
    (two terminals must not write the same checkpoint). Held until this process exits."""
    from filelock import FileLock, Timeout

    for n in range(1, 100):
        run_dir = runs / (run_name if n == 1 else f"{run_name}-{n}")
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(run_dir / ".in-use.lock"), timeout=0)
            lock.acquire()
        except Timeout:
            continue
        except OSError as exc:
            raise UsageError(f"cannot use the run folder {run_dir} ({exc.strerror}); set WALKTHROUGH_STATE_DIR to "
                             "a writable folder") from None
        _HELD_LOCKS.append(lock)
        return run_dir
    raise UsageError(f"99 walkthroughs named {run_name!r} seem to be running at once in {runs}")


_HELD_LOCKS: list = []


def _outputs(walkthrough, run_dir: Path) -> list[tuple[Path, str]]:
    """The files one entry point writes into the run folder and a later one reads (agent.pt, model.pt), with the
    command that reads them: the final panel says where the trained model is and how to run it again."""
    out = []
    for entry in walkthrough.runs[1:]:
        for arg in entry.args:
            if arg.startswith(str(run_dir) + "/"):
                command = " ".join(["python", str(walkthrough.repo_dir / entry.script), *entry.args])
                out.append((Path(arg), command))
    return out
