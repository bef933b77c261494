"""`walkthrough check [FILE ...] [--fix [--yes]]`: validate walkthrough files (schema, anchors, names, questions),
exercise files and the idiom catalogue."""
from __future__ import annotations

from pathlib import Path

from rich.text import Text

from . import EXIT_OK, EXIT_USAGE, UsageError, subparser


def add_parser(sub, name: str) -> None:
    check = subparser(
        sub, name, help="validate walkthrough files (schema, anchors, watched names, `when`, questions), exercise "
                        "files and the idiom catalogue",
        description="Validate walkthrough files: the schema (file and line of each mistake), that every anchor "
                    "finds exactly one statement, that watched names and the variables of `when` still exist "
                    "where the step stops, and the questions; exercise files; the idiom catalogue (idioms.toml).\n\n"
                    "  walkthrough check                         # every shipped walkthrough and the idiom catalogue\n"
                    "  walkthrough check walkthroughs/ppo.toml --fix   # re-anchor stale steps, asking first\n"
                    "  walkthrough check ppo --repo walkthrough-work/ppo   # against your edited copy")
    check.add_argument("files", nargs="*", help="walkthrough names or .toml files, exercise .toml files, or an idiom "
                                               "catalogue (idioms.toml) (default: every shipped one)")
    check.add_argument("--fix", action="store_true",
                       help="offer to re-anchor each stale step to its nearest unique statement; writes the file "
                            "only for the changes you confirm")
    check.add_argument("--yes", action="store_true", help="with --fix: apply every re-anchoring without asking")
    check.add_argument("--repo", metavar="DIR", help="check against this copy of the repo (e.g. walkthrough-work/ppo)")


def run(args, program_args, console) -> int:
    from .. import drift, spec
    from ..practice import exercises
    from ..quiz import idioms

    if args.yes and not args.fix:
        raise UsageError("--yes goes with --fix")
    if args.fix and args.repo:
        raise UsageError("--fix rewrites the walkthrough file, which serves the original repo too; with --repo, "
                         "`walkthrough start` already skips the steps your edits moved (re-anchor a copy of the "
                         "file instead: its `repo` key pointing at your folder)")
    paths = [spec.find(f) if not f.endswith(".toml") else Path(f) for f in args.files] or \
        [*(spec.find(name) for name in spec.available()), idioms.CATALOGUE, *exercises.files()]
    failures = 0
    catalogues = [p for p in paths if p.name in ("faults.toml", "bughunts.toml")]
    paths = [p for p in paths if p not in catalogues]
    if not args.files:
        from ..practice import bughunt, faults
        catalogues = [faults.CATALOGUE, bughunt.CONFIG]
    for path in catalogues:
        failures += _check_practice_catalogue(path, console)
    for path in paths:
        if path.name == "idioms.toml":
            failures += not _check_idioms(path, console)
            continue
        try:
            if exercises.is_exercise_file(path):
                console.print(Text.assemble(("✓ ", "green"), exercises.validate(path)))
                continue
            walkthrough = spec.load(path, repo=args.repo, lenient=True)
        except spec.SpecError as exc:
            failures += 1
            console.print(Text.assemble(("✗ ", "bold red"), str(exc)))
            continue
        stale = [(i, step) for i, step in enumerate(walkthrough.steps) if step.stale]
        if stale and args.fix and _fix(path, stale, args.yes, console):
            walkthrough = spec.load(path, lenient=True)       # the file as re-anchored
            stale = [(i, step) for i, step in enumerate(walkthrough.steps) if step.stale]
        problems = drift.name_problems(walkthrough)
        for _, step in stale:
            console.print(Text.assemble(("✗ ", "bold red"), f"{step.where}: step {step.id!r}: {step.stale}"))
        for problem in problems:
            console.print(Text.assemble(("✗ ", "bold red"),
                                        f"{problem.step.where}: step {problem.step.id!r}: {problem.message}"))
        if stale or problems:
            failures += 1
            continue
        questions = sum(len(s.questions) for s in walkthrough.steps)
        console.print(Text.assemble(("✓ ", "green"), f"{path}: {len(walkthrough.steps)} steps, {questions} questions, "
                                    "every anchor resolves to one statement"))
    return EXIT_USAGE if failures else EXIT_OK


def _fix(path: Path, stale, yes: bool, console) -> bool:
    """Offer each stale step's nearest unique statement; write the confirmed ones. Returns whether it wrote."""
    from .. import drift, spec

    confirmed, left = [], []
    for i, step in stale:
        fix, why = drift.nearest_unique(step, i)
        if fix is None:
            console.print(Text.assemble(("  cannot re-anchor ", "yellow"), f"step {i + 1} ({step.id}): {why}"))
            left.append((i, step))
            continue
        console.print(Text.assemble(f"step {i + 1} ({step.id}) in {step.file}: ", ("at = ", "dim"), (repr(step.at), "red"),
                                    "\n  nearest unique statement, line ", str(fix.statement.line), ": ",
                                    (fix.statement.code.splitlines()[0], "green"), "\n  new anchor: ",
                                    (repr(fix.at), "green")))
        if yes or _confirm(console, "  re-anchor this step? [y/N] "):
            confirmed.append(fix)
        else:
            left.append((i, step))
    if confirmed:
        original = path.read_bytes()
        drift.rewrite_anchors(path, confirmed)
        try:
            spec.load(path, lenient=True)
        except spec.SpecError as exc:     # never leave a file we broke
            path.write_bytes(original)
            console.print(Text.assemble(("✗ ", "bold red"), f"{path}: re-anchoring made the file invalid ({exc}); "
                                        "it was left as it was"))
            return False
        console.print(Text.assemble(("✓ ", "green"), f"{path}: re-anchored {len(confirmed)} step(s): "
                                    + ", ".join(f.step.id for f in confirmed)))
        return True
    if not yes and left:
        console.print(Text("  nothing written (re-anchor without asking: --fix --yes)", style="dim"))
    return False


def _confirm(console, prompt: str) -> bool:
    try:
        return input(prompt).strip().lower() in ("y", "yes")
    except EOFError:
        console.print(Text("\n  no answer (end of input): not changed", style="dim"))
        return False


def _check_practice_catalogue(path: Path, console) -> int:
    """The fault catalogue or the bug-hunt configuration; returns 1 if it has a problem."""
    from ..practice import bughunt, faults

    try:
        summary = faults.summary(path) if path.name == "faults.toml" else bughunt.summary(path)
    except (faults.FaultError, bughunt.HuntError, SyntaxError) as exc:
        console.print(Text.assemble(("✗ ", "bold red"), str(exc)))
        return 1
    console.print(Text.assemble(("✓ ", "green"), f"{path}: {summary}"))
    return 0


def _check_idioms(path: Path, console) -> bool:
    """The idiom catalogue: schema, patterns, and every example matched by its own idiom."""
    from ..quiz import idioms

    try:
        count = len(idioms.load(path))
        problems = idioms.check_examples(path)
    except idioms.CatalogueError as exc:
        problems, count = [str(exc)], 0
    for problem in problems:
        console.print(Text.assemble(("✗ ", "bold red"), problem))
    if not problems:
        console.print(Text.assemble(("✓ ", "green"), f"{path}: {count} idioms, every example matched by its patterns"))
    return not problems
