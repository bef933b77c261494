"""`walkthrough implement REPO ID`: blank out a piece of a reference repo, write it yourself, get checked."""
from __future__ import annotations

import sys
from pathlib import Path

from rich.text import Text

from . import EXIT_INTERRUPTED, EXIT_OK, EXIT_PROGRAM_FAILED, EXIT_USAGE, UsageError, store, subparser
from .start import bounded_int

TAKES_PROGRAM_ARGS = True     # `--train -- ARGS` passes ARGS to train.py

DESCRIPTION = """\
Implement a piece of a reference repo yourself, checked against the real run.

  walkthrough implement ppo gae              # a working copy with GAE blanked out; shows what to write
  walkthrough implement ppo gae --check      # exit 0 when right, 1 when not, with a report
  walkthrough implement ppo gae --watch      # re-check on every save (Ctrl-C stops)
  walkthrough implement ppo gae --hint       # the next hint: idea -> where it differs -> which term -> faded code
  walkthrough implement ppo gae --solution   # the reference code (after a warning)
  walkthrough implement ppo gae --train      # train with your code: your learning curve beside the reference's

The working copy is walkthrough-work/REPO/ (--dir DIR: DIR/REPO/); it holds the whole repo, so it runs as
the original does, and `walkthrough start REPO --repo walkthrough-work/REPO` tours it. Your edits are never
overwritten (--force makes a fresh copy). `walkthrough exercises` lists every exercise with your status.
The check runs your block on inputs recorded from a real run of the reference (recorded once, then cached):
did it run; types; shape, dtype and device; gradients; values; and the known mistake it matches."""


def add_parser(sub, name: str) -> None:
    p = subparser(sub, name, help="write a piece of a reference repo yourself and get it checked", description=DESCRIPTION)
    p.add_argument("repo", help="the reference repo: ppo, mlp (see `walkthrough exercises`)")
    p.add_argument("exercise", help="the exercise id, e.g. gae, ppo-loss, linear-backward")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="check your code against the recorded run (exit 0 = right)")
    mode.add_argument("--watch", action="store_true", help="check now and again on every save of the copy's files")
    mode.add_argument("--hint", action="store_true", help="show the next hint (each call one stage further)")
    mode.add_argument("--solution", action="store_true", help="show the reference code, after a warning")
    mode.add_argument("--train", action="store_true",
                      help="run the copy's train.py with your code and the reference's, same seed; show both curves")
    p.add_argument("--dir", metavar="DIR", help="working folder (default: walkthrough-work in the current directory); "
                                                "the copy is DIR/REPO")
    p.add_argument("--force", action="store_true", help="make a fresh copy even if yours holds edits (they are lost)")
    p.add_argument("--yes", action="store_true", help="with --solution: skip the question (for scripts)")
    p.add_argument("--seeds", type=bounded_int(1, 100), default=1, metavar="N",
                   help="with --train: seeds per side (default 1)")


def run(args, program_args, console) -> int:
    try:
        return _run(args, program_args, console)
    except KeyboardInterrupt:
        console.print(Text("\ninterrupted; your code and progress are kept"))
        return EXIT_INTERRUPTED


def _run(args, program_args, console) -> int:
    from ..engine.recorder import RecorderError
    from ..practice import exercises, grading, implement

    if program_args and not args.train:
        raise UsageError("`-- ARGS` goes with --train: arguments for train.py")
    catalogue, exercise = exercises.find(args.repo, args.exercise)
    for other in catalogue.exercises:            # the recording covers every exercise of the repo
        if other.region is None:
            exercises.locate(other)
    copy_dir = implement.default_copy_dir(exercise, Path(args.dir) if args.dir else None)
    progress = store(console)
    try:
        _ensure_recording(catalogue, console)
    except RecorderError as exc:
        console.print(Text.assemble(("error: ", "bold red"), "recording the reference run failed: ", str(exc)))
        return EXIT_PROGRAM_FAILED
    if args.solution:
        return _solution(exercise, progress, console, args.yes)
    if not (args.check or args.watch or args.hint or args.train):
        return _start(catalogue, exercise, copy_dir, progress, console, args.force)
    _require_exercise_in_copy(exercise, copy_dir)
    if args.train:
        from ..practice import training
        entry = progress.peek("exercises", exercise.key)
        return training.run(catalogue, exercise, copy_dir, program_args, args.seeds, console, entry)
    checker = grading.Checker(catalogue, exercise)
    if args.hint:
        return _hint(checker, copy_dir, progress, console)
    if args.watch:
        return _watch(checker, copy_dir, progress, console)
    return _check(checker, copy_dir, progress, console)


def _ensure_recording(catalogue, console) -> None:
    from ..practice import grading

    if grading.is_recorded(catalogue):
        return
    message = (f"recording the reference run once: python {catalogue.script} {' '.join(catalogue.args)} "
               "(cached afterwards) …")
    if console.is_terminal:
        with console.status(message):
            grading.recording_file(catalogue)
    else:
        console.print(Text(message, style="dim"))
        grading.recording_file(catalogue)


def _require_exercise_in_copy(exercise, copy_dir: Path) -> None:
    from ..practice import workcopy

    copy = workcopy.open_copy(copy_dir)
    start = f"walkthrough implement {exercise.repo} {exercise.id}"
    if copy is None:
        raise UsageError(f"no working copy at {copy_dir}; make it first with `{start}`")
    if exercise.id not in copy.meta.get("exercises", []):
        raise UsageError(f"the working copy {copy_dir} does not have the {exercise.id} exercise yet (its code there is "
                         f"the reference's, so a check would prove nothing); blank it out first with `{start}`")


def _start(catalogue, exercise, copy_dir: Path, progress, console, force: bool) -> int:
    from ..engine import recorder
    from ..practice import exercise_view, grading, implement, workcopy

    samples = recorder.load(grading.recording_file(catalogue), exercise.repo_dir)[exercise.id]
    if not samples:
        console.print(Text.assemble(("error: ", "bold red"), f"the recorded run never ran the {exercise.id} block; "
                                    f"check 'hits' in {exercise.source}"))
        return EXIT_USAGE
    try:
        prepared = implement.prepare_copy(catalogue, exercise, copy_dir, samples[0], force=force)
    except workcopy.WorkCopyError as exc:
        raise UsageError(str(exc)) from None
    entry = implement.progress_entry(progress, exercise)
    entry.setdefault("copy", str(Path(copy_dir).resolve()))
    progress.save()
    first = samples[0]
    inputs = implement.described(exercise, first.before, list(exercise.region.inputs))
    outputs = implement.described(exercise, grading.flatten(exercise, first.after), implement.output_names(exercise))
    console.print(exercise_view.instructions(exercise, prepared.path, prepared.lines, inputs, outputs,
                                             _steps(exercise), prepared.created))
    checker = grading.Checker(catalogue, exercise)      # the mutants' outputs now, so that every check is quick
    checker.mutant_results(checker.moments())
    return EXIT_OK


def _steps(exercise) -> list:
    from .. import spec

    try:
        walkthrough = spec.load(spec.find(exercise.repo), resolve_anchors=False)
    except spec.SpecError:
        return []
    by_id = {step.id: step for step in walkthrough.steps}
    return [by_id[s] for s in exercise.steps if s in by_id]


def _check(checker, copy_dir: Path, progress, console) -> int:
    from ..practice import exercise_view, grading, implement

    report = grading.check(checker, copy_dir)
    entry = implement.record_attempt(progress, checker.exercise, report.passed)
    console.print(exercise_view.report_view(report, entry))
    return EXIT_OK if report.passed else EXIT_PROGRAM_FAILED


def _watch(checker, copy_dir: Path, progress, console) -> int:
    from watchfiles import PythonFilter, watch

    console.print(Text.assemble(("watching ", "bold"), str(copy_dir),
                                " — every save re-checks; Ctrl-C stops", style=""))
    _check(checker, copy_dir, progress, console)
    try:
        for _changes in watch(copy_dir, watch_filter=PythonFilter(), debounce=300, raise_interrupt=True):
            console.print(Text("\nchange saved: checking again …", style="dim"))
            _check(checker, copy_dir, progress, console)
    except KeyboardInterrupt:
        console.print(Text("\nstopped watching; your progress is saved"))
        return EXIT_INTERRUPTED
    return EXIT_OK


def _hint(checker, copy_dir: Path, progress, console) -> int:
    from ..practice import exercise_view, grading, implement
    from ..practice.exercises import HINT_STAGES

    exercise = checker.exercise
    entry = implement.progress_entry(progress, exercise)
    number = min(entry["hints"] + 1, len(HINT_STAGES))
    stage = HINT_STAGES[number - 1]
    if stage == "idea":
        body = Text(" ".join(exercise.hints.idea.split()))
    elif stage == "where":
        body = exercise_view.where_body(grading.check(checker, copy_dir))
    elif stage == "term":
        report = grading.check(checker, copy_dir)
        parts = [Text(" ".join(exercise.hints.term.split()))]
        if report.mistakes:
            mistake = report.mistakes[0]
            parts.append(Text.assemble("\nAnd your code matches a known mistake: ", (mistake.title, "bold"), "\n  ",
                                       (mistake.misconception, "italic")))
        from rich.console import Group
        body = Group(*parts)
    else:
        body = exercise_view.code_body(implement.faded(exercise))
    entry["hints"] = max(entry["hints"], number)
    progress.save()
    console.print(exercise_view.hint_view(exercise, number, len(HINT_STAGES), stage, body))
    return EXIT_OK


def _solution(exercise, progress, console, yes: bool) -> int:
    from ..practice import exercise_view, implement

    warning = Text.assemble(("The reference solution of ", "bold yellow"), (exercise.key, "bold yellow"),
                            (". ", "bold yellow"),
                            "Reading it before your own version works takes away most of what the exercise teaches; "
                            "the hints (--hint) go one step at a time.")
    console.print(warning)
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("--solution asks before it shows the code; add --yes to confirm without a terminal")
        try:
            answer = input("Show the solution? [y/N] ")
        except (EOFError, KeyboardInterrupt):
            console.print()
            return EXIT_INTERRUPTED
        if answer.strip().lower() not in ("y", "yes"):
            console.print("Not shown. Good luck!")
            return EXIT_OK
    entry = implement.progress_entry(progress, exercise)
    entry["solution_seen"] = True
    progress.save()
    console.print(exercise_view.code_body(implement.solution(exercise)))
    return EXIT_OK
