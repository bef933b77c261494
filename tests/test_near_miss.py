"""A free-text answer that nearly names the right thing (`the returns` for `b_returns`, `advantage` for
`advantages`) is told it is close and what the exact answer is: not counted right, not reviewed as a
mistake. A genuinely different answer (`values` for `returns`) is plainly wrong."""
import json

import pytest

from conftest import walkthrough
from tracer import show
from tracer.quiz import questions
from tracer.spec import Question


def text_question(accepted):
    return Question(id="s.1", kind="text", prompt="Which variable?", answer=accepted)


@pytest.mark.parametrize("reply, accepted, named", [
    ("the returns", ["b_returns"], "b_returns"),
    ("returns", ["b_returns"], "b_returns"),
    ("advantage", ["advantages"], "advantages"),
    ("`advantage`", ["advantages"], "advantages"),
    ("optimiser", ["optimizer"], "optimizer"),
    ("diagonals", ["diagonal", "the diagonal"], "diagonal"),
    ("b returns", ["b_returns"], "b_returns"),
])
def test_a_near_miss_is_close_and_names_the_exact_answer(reply, accepted, named):
    verdict = questions.check_reply(text_question(accepted), reply)
    assert not verdict.right
    assert f"`{named}`" in verdict.close


@pytest.mark.parametrize("reply, accepted", [
    ("values", ["returns"]), ("the values", ["b_returns", "returns"]), ("b_values", ["b_returns"]),
    ("newvalue", ["values"]), ("q1", ["q2"]), ("qf1_loss", ["qf2_loss"]), ("layer1", ["layer2"]),
    ("mb_advantages", ["b_advantages"]), ("loss", ["losses"]), ("tree", ["three"]), ("std", ["mean"]),
])
def test_a_different_answer_is_never_close(reply, accepted):
    verdict = questions.check_reply(text_question(accepted), reply)
    assert not verdict.right and verdict.close == ""


@pytest.mark.parametrize("reply, accepted", [
    ("the returns", ["b_returns", "returns"]),          # PPO's value-loss question accepts `returns`
    ("b_returns[ mb_inds ]", ["b_returns", "returns", "b_returns[mb_inds]"]),
    ("the optimizer", ["optimizer"]),
    ("B_Returns", ["b_returns"]),
])
def test_the_same_answer_spelled_otherwise_is_right(reply, accepted):
    assert questions.check_reply(text_question(accepted), reply).right


def test_a_blank_filled_with_a_near_miss_is_close():
    index = questions.SourceIndex("import torch\n\ndef f(logits, x):\n    y = logits - 1\n"
                                  "    return torch.clamp(x, -1.0, 1.0).exp()\n")
    blank = questions.GeneratedQuestion(id="b", kind="blank", prompt="", answer="clamp", expr="torch.____(x, -1.0, 1.0)",
                                        code="torch.clamp(x, -1.0, 1.0)", source="blank", accepted=["clip"])
    assert index.statements
    assert questions.check_reply(blank, "clamp").right
    assert "`clamp`" in questions.check_reply(blank, "clamps").close
    assert questions.check_reply(blank, "max").close == ""


def test_feedback_says_close_not_wrong():
    shown = show.feedback(False, "advantages", close="singular and plural differ: the exact name is `advantages`")
    assert "≈ close" in shown.plain and "not quite" not in shown.plain and "not counted as right" in shown.plain


def test_a_tour_counts_a_near_miss_apart_from_a_mistake(tmp_path, state_dir):
    answers = tmp_path / "answers.toml"
    answers.write_text('"loss.1" = "tree"\n"confusion.1" = "the diagonals"\n')
    proc = walkthrough("start", "mlp", "--answers", answers, "--generated", "0", "--", "--epochs", "1",
                       state_dir=state_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = " ".join(proc.stdout.split())
    assert "≈ close" in out and "the exact name is `diagonal`" in out
    assert "✗ not quite the answer: 3" in out                       # `tree` is not `three`
    state = json.loads((state_dir / "progress.json").read_text())["tours"]["mlp"]
    assert state["answers"]["confusion.1"] is False and state["answers"]["loss.1"] is False
    assert "loss.1" in state["missed"] and "confusion.1" not in state["missed"]
