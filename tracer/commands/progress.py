"""`walkthrough progress` (score and missed questions) and `walkthrough reset NAME`."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text

from . import EXIT_OK, store, subparser


def add_parser(sub, name: str) -> None:
    if name == "progress":
        subparser(sub, name, help="your progress and score in each walkthrough")
    else:
        reset = subparser(sub, name, help="forget your progress in a walkthrough")
        reset.add_argument("name")


def run(args, program_args, console) -> int:
    progress = store(console)
    if args.command == "reset":
        existed = progress.reset(args.name)
        console.print(Text(f"progress of {args.name!r} " + ("forgotten" if existed else "was already empty")))
        return EXIT_OK
    if not progress.tours:
        console.print(Text(f"no progress yet (kept in {progress.path}); start with: walkthrough start ppo"))
        return EXIT_OK
    table = Table(title=Text(f"progress ({progress.path})"), title_justify="left")
    for column in ("walkthrough", "next step", "seen", "score", "to ask again"):
        table.add_column(column)
    for name, tour in sorted(progress.tours.items()):
        right, asked = tour.score
        table.add_row(Text(name), "finished" if tour.finished else str(tour.next_step + 1), str(len(tour.steps_seen)),
                      f"{right}/{asked}", Text(", ".join(tour.missed) or "-"))
    console.print(table)
    return EXIT_OK
