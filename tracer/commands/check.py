"""`walkthrough check [FILE ...]`: validate walkthrough files (schema, anchors, questions) and exercise files."""
from __future__ import annotations

from pathlib import Path

from rich.text import Text

from . import EXIT_OK, EXIT_USAGE, subparser


def add_parser(sub, name: str) -> None:
    check = subparser(sub, name, help="validate walkthrough files: schema, anchors, questions")
    check.add_argument("files", nargs="*", help="walkthrough or exercise .toml files, or an idiom catalogue "
                                               "(idioms.toml) (default: every shipped one)")


def run(args, program_args, console) -> int:
    from .. import spec
    from ..practice import exercises
    from ..quiz import idioms

    paths = [Path(f) for f in args.files] or [*(spec.find(name) for name in spec.available()), idioms.CATALOGUE,
                                              *exercises.files()]
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
            walkthrough = spec.load(path)
        except spec.SpecError as exc:
            failures += 1
            console.print(Text.assemble(("✗ ", "bold red"), str(exc)))
            continue
        questions = sum(len(s.questions) for s in walkthrough.steps)
        console.print(Text.assemble(("✓ ", "green"), f"{path}: {len(walkthrough.steps)} steps, {questions} questions, "
                                    "every anchor resolves to one statement"))
    return EXIT_USAGE if failures else EXIT_OK


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
