"""Generated questions: equivalent mutants filtered, each kind's right answer accepted and a wrong one
rejected, deterministic under a seed, safe on arbitrary input, and checked against a real run."""
import json
import random
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import PPO_DIR, ROOT, walkthrough
from tracer.quiz import answers, questions
from tracer.spec import Question

SOURCE = textwrap.dedent('''
    import torch

    def gae(rewards, values, gamma, lam):
        advantages = torch.zeros_like(rewards)
        last = 0
        for t in reversed(range(len(rewards))):
            delta = rewards[t] + gamma * values[t + 1] - values[t]
            last = delta + gamma * lam * last
            advantages[t] = last
        returns = advantages + values[:-1]
        probs = torch.softmax(returns, dim=-1)
        clipped = torch.clamp(probs, min=0.1, max=0.9)
        return clipped.detach()
''')


@pytest.fixture(scope="module")
def index():
    return questions.SourceIndex(SOURCE)


def stmt_at(index, text):
    return next(s for s in index.statements if s.code.startswith(text))


@pytest.mark.parametrize("code", ["y = a - 0", "z = max(a, a) * b", "w = a * 1", "v = x - x", "u = (a + b) - (b + a)"])
def test_known_equivalent_mutants_are_never_offered(code):
    index = questions.SourceIndex(code + "\n")
    stats = questions.Stats()
    q = questions.mutant_question(index.statements[0], random.Random(0), stats)
    offered = [c for c in (q.choices if q else []) if c != code]
    for choice in offered:
        assert not questions.equivalent_by_probing(choice, code), choice
    assert stats.dropped_equivalent >= 1


def test_mutants_stand_for_misconceptions(index):
    q = questions.mutant_question(stmt_at(index, "delta ="), random.Random(1), questions.Stats())
    assert q.answer in q.choices and len(q.choices) == 4 and len(set(q.choices)) == 4
    for wrong in (c for c in q.choices if c != q.answer):
        assert q.misconceptions[wrong]
    right, _ = answers.check_choice(chr(ord("a") + q.choices.index(q.answer)), q.choices, q.answer)
    wrong, _ = answers.check_choice(chr(ord("a") + (q.choices.index(q.answer) + 1) % 4), q.choices, q.answer)
    assert right and not wrong


def test_mutants_cover_minmax_dim_detach_and_range(index):
    labels = set()
    for text in ("clipped =", "probs =", "return clipped", "for t in"):
        labels |= {label for _, label in questions._mutants(stmt_at(index, text).node)}
    assert {"clamp bounds swapped", "the wrong dimension", "off by one in range"} <= labels
    assert any("detach" in label for label in labels)


def test_fill_the_blank_compares_trees_not_text(index):
    stmt = stmt_at(index, "delta =")
    q = Question(id="x", kind="blank", prompt="", expr="delta = rewards[t] + gamma * values[t + 1] ____ values[t]",
                 answer="-")
    assert questions.check_blank(" - ", q, stmt.code)
    assert not questions.check_blank("+", q, stmt.code)
    assert not questions.check_blank("__import__('os').system('echo hi')", q, stmt.code)
    for seed in range(5):
        generated = questions.blank_question(stmt, random.Random(seed), questions.Stats())
        assert questions.check_blank(generated.answer, generated, stmt.code)
        assert not questions.check_blank("xyz", generated, stmt.code)


def test_reads_and_writes_use_scope_metadata():
    index = questions.SourceIndex("total = sum(s * k for s in scores if s)\nh = h.norm(dim=1)\n")
    first, second = index.statements
    assert first.writes == ["total"] and first.reads == ["k", "scores"]     # `s` belongs to the generator
    assert second.reads == ["h"] and second.writes == ["h"]                 # `dim` is a keyword, not a read
    q = questions.names_question(first, random.Random(0), questions.Stats())
    assert questions.check_names(", ".join(reversed(q.answer)), q.answer)
    assert not questions.check_names("total, s", q.answer)


def test_purpose_question_offers_distinct_descriptions(index):
    stmt = stmt_at(index, "returns =")
    q = questions.purpose_question(stmt, index.statements, random.Random(0), questions.Stats())
    assert q.answer == "computes returns from advantages, values"
    assert len(set(q.choices)) == len(q.choices) >= 3


def test_parsons_accepts_any_dependency_respecting_order():
    index = questions.SourceIndex("a = x + 1\nb = y + 2\nc = a + b\nd = 0\n")
    q = questions.parsons_question(index.statements[0], index, random.Random(3), questions.Stats())
    letter = {code: chr(ord("a") + q.choices.index(code)) for code in q.choices}
    original = ["a = x + 1", "b = y + 2", "c = a + b", "d = 0"]
    assert q.answer == original
    for order in (original, ["b = y + 2", "a = x + 1", "d = 0", "c = a + b"]):
        assert questions.check_parsons(" ".join(letter[c] for c in order), q)
    assert not questions.check_parsons(" ".join(letter[c] for c in ["c = a + b", "a = x + 1", "b = y + 2", "d = 0"]), q)
    assert not questions.check_parsons("a a b", q)


def test_generation_is_deterministic_under_seed():
    path = PPO_DIR / "train.py"
    one = [questions.to_json(q) for q in questions.generate_static(questions.SourceIndex.from_file(path), seed=3)]
    two = [questions.to_json(q) for q in questions.generate_static(questions.SourceIndex.from_file(path), seed=3)]
    other = [questions.to_json(q) for q in questions.generate_static(questions.SourceIndex.from_file(path), seed=4)]
    assert one == two and one != other


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_answer_parser_never_crashes_on_arbitrary_input(text):
    answers.parse(text)
    answers.check_value(text, (64, 4))
    answers.check_value(text, 0.5)
    answers.check_text(text, ["diagonal"])
    answers.check_choice(text, ["a", "b"], "a")
    q = Question(id="x", kind="blank", prompt="", expr="y = a ____ b", answer="-")
    questions.check_blank(text, q, "y = a - b")
    questions.check_names(text, ["y"])


@pytest.mark.parametrize("reply, real, right", [
    ("(128, 4)", (128, 4), True), ("[128, 4]", (128, 4), True), ("torch.Size([128, 4])", (128, 4), True),
    ("(4, 128)", (128, 4), False), ("0.5001", 0.5, True), ("0.6", 0.5, False), ("float32", "float32", True),
    ("torch.float32", "float32", True), ("True", True, True), ("1", True, False),
])
def test_equivalent_spellings_of_values(reply, real, right):
    assert answers.check_value(reply, real) is right


def test_quiz_on_outside_code_prints_json(tmp_path, state_dir):
    source = tmp_path / "model.py"
    source.write_text(textwrap.dedent('''
        from dataclasses import dataclass
        import torch

        @dataclass
        class Config:
            lr: float = 1e-3

        class Net(torch.nn.Module):
            @torch.no_grad()
            def forward(self, x):
                h = torch.relu(x @ self.w - self.b)
                scores = [row.max(dim=-1).values for row in h]
                return h.softmax(dim=-1), scores

        if __name__ == "__main__":
            print(Net()(torch.randn(3, 4)))
    '''))
    proc = walkthrough("quiz", source, "--json", state_dir=state_dir)
    assert proc.returncode == 0, proc.stdout
    data = json.loads(proc.stdout)
    assert {"mutant", "blank", "names", "purpose"} <= {q["kind"] for q in data}
    for q in data:
        assert {"kind", "line", "prompt", "answer"} <= set(q)
        if q["kind"] in ("mutant", "purpose"):
            assert q["answer"] in q["choices"]
    only = json.loads(walkthrough("quiz", source, "--json", "--function", "Net.forward", "--kinds", "mutant",
                                  state_dir=state_dir).stdout)
    assert only and all(q["kind"] == "mutant" and 11 <= q["line"] <= 14 for q in only)


def test_quiz_on_unparsable_file_names_file_and_line(tmp_path, state_dir):
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\ny = (2,\n")
    proc = walkthrough("quiz", bad, state_dir=state_dir)
    assert proc.returncode == 2 and "bad.py:" in proc.stdout and "cannot parse" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_generated_prediction_checked_against_a_real_run(tmp_path, state_dir):
    answers_file = tmp_path / "answers.toml"
    answers_file.write_text('"ratio.g1" = "(64,)"\n"flatten.g1" = "(256, 5)"\n')
    proc = walkthrough("start", "ppo", "--answers", answers_file, "--", "--total-timesteps", "512",
                       "--eval-every", "0", state_dir=state_dir)
    assert proc.returncode == 0, proc.stdout[-3000:]
    state = json.loads((state_dir / "progress.json").read_text())["tours"]["ppo"]
    assert state["answers"]["ratio.g1"] is True            # ratio.shape really was (64,)
    assert state["answers"]["flatten.g1"] is False         # b_obs.shape was (256, 4)
    out = " ".join(proc.stdout.split())
    assert "ratio.shape = (64,)" in out and "b_obs.shape = (256, 4)" in out
