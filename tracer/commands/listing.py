"""`walkthrough list`: the walkthroughs, their step counts and the learner's progress."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text

from . import EXIT_OK, store, subparser


def add_parser(sub, name: str) -> None:
    subparser(sub, name, help="the walkthroughs, their step counts and your progress")


def run(args, program_args, console) -> int:
    from .. import spec

    progress = store(console)
    table = Table(title="walkthroughs", title_justify="left")
    for column in ("name", "title", "steps", "progress", "score"):
        table.add_column(column)
    for name in spec.available():
        try:
            walkthrough = spec.load(spec.find(name), resolve_anchors=False)
        except spec.SpecError as exc:
            table.add_row(Text(name), Text(f"invalid: {exc}", style="red"), "", "", "")
            continue
        tour = progress.tours.get(name)
        total = len(walkthrough.steps)
        done = "finished" if tour and tour.finished else f"{len(tour.steps_seen) if tour else 0}/{total} seen"
        right, asked = tour.score if tour else (0, 0)
        best = tour.best() if tour else None
        score = f"{right}/{asked}" if asked else "-"
        if tour and tour.attempts and best:
            score += f" (best {best[0]}/{best[1]})"
        table.add_row(Text(name), Text(walkthrough.title), str(total), done, score)
    console.print(table)
    console.print("start one with: [bold]walkthrough start NAME[/] · scores and missed questions: "
                  "[bold]walkthrough progress[/]")
    return EXIT_OK
