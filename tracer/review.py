"""Asking missed questions again (`walkthrough start NAME --review`) and naming them to a learner.

A question is missed when answered wrong; it stays in the tour's `missed` list, across attempts,
until answered right (in a later attempt or in a review). A review runs the program as usual
but stops only at the steps that hold missed questions, and asks only those.
"""
from __future__ import annotations

from .progress import TourProgress
from .spec import Question, Step


def step_of(question_id: str) -> str:
    """The step id of a question id: `ratio.2` and `ratio.g1` belong to step `ratio`."""
    return question_id.rsplit(".", 1)[0]


def gone(steps: list[Step], tour: TourProgress) -> list[str]:
    """Missed questions whose step is no longer in the walkthrough (the tour was edited): they can never be asked
    again. A step that is only stale (its code moved) is still in the tour and keeps its questions."""
    ids = {step.id for step in steps}
    return [q for q in tour.missed if step_of(q) not in ids]


def steps_to_review(steps: list[Step], tour: TourProgress) -> list[Step]:
    missed_steps = {step_of(q) for q in tour.missed}
    return [step for step in steps if step.id in missed_steps]


def to_ask(asked: list[Question], tour: TourProgress) -> list[Question]:
    """The questions of a stop that were missed. A generated question is asked again only if it is the same
    question (same prompt) as the one missed: a different seed or edited code may generate another."""
    chosen = []
    for question in asked:
        if question.id not in tour.missed:
            continue
        known = tour.question_text.get(question.id, "")
        if question.source != "authored" and known and first_line(question.prompt) not in known:
            continue
        chosen.append(question)
    return chosen


def first_line(prompt: str, limit: int = 110) -> str:
    """The prompt's first line; when that line goes on into code (`What if line 140 were changed to`), the
    code's first line too, so the learner can tell the question from others at the same step."""
    lines = [l.strip() for l in prompt.strip().splitlines() if l.strip()]
    line = lines[0] if lines else ""
    if len(lines) > 1 and line.endswith((" to", ":")):
        line += " " + lines[1]
    return line if len(line) <= limit else line[:limit - 1].rstrip() + "…"


def words(number: int, step: Step, question: Question) -> str:
    """How a learner knows a question: `step 20 “The probability ratio”: Predict ratio.mean() after this line.`"""
    return f"step {number} “{step.title}”: {first_line(question.prompt)}"
