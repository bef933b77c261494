"""`walkthrough progress` (scores, history, the questions to ask again) and `walkthrough reset NAME`."""
from __future__ import annotations

import shlex

from rich.table import Table
from rich.text import Text

from . import EXIT_OK, store, subparser

MISSED_SHOWN = 12


def add_parser(sub, name: str) -> None:
    if name == "progress":
        subparser(sub, name, help="your progress, scores and the questions you missed, in each walkthrough")
    else:
        reset = subparser(sub, name, help="forget your progress in a walkthrough (its history too)")
        reset.add_argument("name")


def run(args, program_args, console) -> int:
    progress = store(console)
    if args.command == "reset":
        existed = progress.reset(args.name)
        console.print(Text(f"progress of {args.name!r} " + ("forgotten" if existed else "was already empty")))
        return EXIT_OK
    hunts = _hunts(progress)
    if not progress.tours and not hunts:
        console.print(Text(f"no progress yet (kept in {progress.path}); start with: walkthrough start ppo"))
        return EXIT_OK
    if not progress.tours:
        console.print(hunts)
        return EXIT_OK
    table = Table(title=Text(f"progress ({progress.path})"), title_justify="left")
    for column in ("walkthrough", "next step", "seen", "score", "best", "attempts", "to ask again"):
        table.add_column(column)
    for name, tour in sorted(progress.tours.items()):
        right, asked = tour.score
        best = tour.best()
        cells = ["finished" if tour.finished else str(tour.next_step + 1), str(len(tour.steps_seen)),
                 f"{right}/{asked}", f"{best[0]}/{best[1]}" if best else "-", str(len(tour.attempts) + 1),
                 str(len(tour.missed)) if tour.missed else "-"]
        table.add_row(Text(name), *map(Text, cells))
    console.print(table)
    for name, tour in sorted(progress.tours.items()):
        if not tour.missed:
            continue
        console.print(Text.assemble("\n", (name, "bold"), f": {len(tour.missed)} question"
                                    f"{'' if len(tour.missed) == 1 else 's'} to ask again"))
        known = _questions_of(name.split("@")[0])
        for question_id in tour.missed[:MISSED_SHOWN]:
            text = tour.question_text.get(question_id) or known.get(question_id) or f"question {question_id}"
            console.print(Text(f"  • {text}"))
        if len(tour.missed) > MISSED_SHOWN:
            console.print(Text(f"  … and {len(tour.missed) - MISSED_SHOWN} more"))
        if tour.command:       # recorded when the tour ran: a generated tour's script, --repo, the program's args
            command = " ".join([tour.command, "--review",
                                *(["--", *map(shlex.quote, tour.program_args)] if tour.program_args else [])])
        else:
            base = name.split("@")[0]
            command = f"walkthrough start {base} --review" + (f" --repo {name.split('@', 1)[1]}" if "@" in name else "")
        console.print(Text.assemble("  ask them again: ", (command, "bold"),
                                    " (stops only where you missed a question)"))
    for name, tour in sorted(progress.tours.items()):
        if tour.attempts:
            history = ", ".join(f"{a['right']}/{a['asked']}" + ("" if a["finished"] else " (unfinished)")
                                for a in tour.attempts[-5:])
            console.print(Text(f"{name}: earlier attempts {history}", style="dim"))
    if hunts is not None:
        console.print()
        console.print(hunts)
    return EXIT_OK


def _hunts(progress):
    """The bug hunts' table, or None when there are none (or none readable)."""
    from .. import show
    from ..practice import bughunt

    entries, scores = {}, {}
    for name, entry in progress.sections.get(bughunt.SECTION, {}).items():
        try:
            scores[name] = bughunt.score(entry)
        except (KeyError, TypeError):           # an entry of another version: nothing to show for it
            continue
        entries[name] = entry
    return show.hunts_table(entries, scores) if entries else None


def _questions_of(name: str) -> dict[str, str]:
    """Question id -> how a learner knows it, from the walkthrough file (for progress saved before questions
    were named in it); {} if there is no such walkthrough any more."""
    from .. import review, spec

    try:
        steps = spec.load(spec.find(name), resolve_anchors=False).steps
    except spec.SpecError:
        return {}
    named = {}
    for number, step in enumerate(steps, start=1):
        for question in step.questions:
            named[question.id] = review.words(number, step, question)
        for n in range(1, 6):
            named[f"{step.id}.g{n}"] = f"step {number} “{step.title}”: a question generated from its code"
    return named
