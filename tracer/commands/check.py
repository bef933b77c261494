"""`walkthrough check [FILE ...]`: validate walkthrough files (schema, anchors, questions) and exercise files."""
from __future__ import annotations

from pathlib import Path

from rich.text import Text

from . import EXIT_OK, EXIT_USAGE, subparser


def add_parser(sub, name: str) -> None:
    check = subparser(sub, name, help="validate walkthrough files: schema, anchors, questions")
    check.add_argument("files", nargs="*", help="walkthrough or exercise .toml files (default: every shipped one)")


def run(args, program_args, console) -> int:
    from .. import spec
    from ..practice import exercises

    paths = [Path(f) for f in args.files] or [spec.find(name) for name in spec.available()] + exercises.files()
    failures = 0
    for path in paths:
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
