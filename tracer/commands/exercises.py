"""`walkthrough exercises`: every implement-it-yourself exercise, with your status (new / attempted / passed)."""
from __future__ import annotations

from rich.text import Text

from . import EXIT_OK, store, subparser


def add_parser(sub, name: str) -> None:
    p = subparser(sub, name, help="the implement-it-yourself exercises and your status",
                  description="Every exercise of every reference repo, with your status: new, attempted, passed.\n\n"
                              "  walkthrough exercises\n"
                              "  walkthrough implement ppo gae      # start one")
    p.add_argument("repo", nargs="?", help="only this repo's exercises (ppo, mlp)")


def run(args, program_args, console) -> int:
    from ..practice import exercise_view, exercises, implement

    progress = store(console)
    rows = []
    for catalogue in exercises.catalogues(locate_regions=False):
        if args.repo and catalogue.repo != args.repo:
            continue
        for exercise in catalogue.exercises:
            entry = progress.peek("exercises", exercise.key)
            status = implement.status_of(entry)
            if entry and entry.get("solution_seen") and status != "passed":
                status += " (solution seen)"
            counts = f"{entry.get('attempts', 0)} checks, {entry.get('hints', 0)} hints" if entry else ""
            rows.append((exercise.key, exercise.title, status, counts))
    if args.repo and not rows:
        known = ", ".join(c.repo for c in exercises.catalogues(locate_regions=False))
        console.print(Text.assemble(("error: ", "bold red"), f"no exercises for {args.repo!r}; repos: {known}"))
        return 2
    console.print(exercise_view.listing(rows))
    console.print(Text.assemble("start one with: ", ("walkthrough implement REPO ID", "bold"),
                                "  (e.g. walkthrough implement ppo gae)"))
    return EXIT_OK
