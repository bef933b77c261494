"""Wrong options a learner eliminates at sight because they cannot run for the shapes the code shows
(`torch.stack([a, b], dim=2)` of two vectors, `argmax(dim=2)` of [N, C] logits) are never offered."""
import re
import textwrap

import pytest

from conftest import MLP_DIR
from tracer.quiz import questions, shapes

QUESTIONS_DIR = MLP_DIR.parent.parent / "tests" / "data" / "questions" / "corpus"

SPIRALS = textwrap.dedent('''
    import math
    import torch

    def make_spirals(n_per_class=400, n_classes=3, noise=0.1, seed=0):
        g = torch.Generator().manual_seed(seed)
        xs, ys = [], []
        for k in range(n_classes):
            t = torch.rand(n_per_class, generator=g)
            radius = t
            angle = 4.0 * t + 2 * math.pi * k / n_classes + noise * torch.randn(n_per_class, generator=g)
            points = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
            xs.append(points)
        return torch.cat(xs)

    def make_parity(n_samples=3000, bits=8, seed=0):
        g = torch.Generator().manual_seed(seed)
        x = torch.randint(0, 2, (n_samples, bits), generator=g)
        y = x.sum(dim=1) % 2
        return x.float(), y
''')


def _dims(option):
    return [int(d) for d in re.findall(r"dim=(-?\d+)", option)]


def _mutant_options(source_or_path, line_text, seeds=range(8)):
    index = questions.SourceIndex.from_file(source_or_path) if not isinstance(source_or_path, str) \
        else questions.SourceIndex(source_or_path)
    found = []
    for seed in seeds:
        for q in questions.generate_static(index, seed=seed, kinds=("mutant",)):
            if line_text in q.answer:
                found.append(q)
    return found


@pytest.mark.parametrize("line_text, rank", [("points = torch.stack", 2), ("y = x.sum(", 2)])
def test_no_option_uses_a_dim_the_tensor_does_not_have(line_text, rank):
    index = questions.SourceIndex(SPIRALS)
    stats = questions.Stats()
    stmt = next(s for s in index.statements if s.code.startswith(line_text))
    q = questions.mutant_question(stmt, index, __import__("random").Random(0), stats)
    offered = [o for o in (q.choices if q else [])]
    assert all(-rank <= d < rank for o in offered for d in _dims(o)), offered
    assert any("shapes the code shows" in reason for reason in stats.dropped), stats.dropped


def test_argmax_over_a_third_axis_of_2d_logits_is_not_offered():
    # MLP.predict: `self.forward(x)[0].argmax(dim=1)`; forward returns the last linear layer's output, whose
    # comment says [N, D_out]: dim=2 does not exist, a learner rules it out at sight
    found = _mutant_options(MLP_DIR / "model.py", ".argmax(dim=1)")
    assert found, "the predict line should still get a mutant question"
    for q in found:
        assert all(d in (-2, -1, 0, 1) for o in q.choices for d in _dims(o)), q.choices


def test_cat_along_a_missing_axis_of_a_documented_2d_tensor_is_not_offered():
    # nanoGPT's generate: "idx (LongTensor of shape (b,t))"; `torch.cat((idx, idx_next), dim=2)` cannot run
    for q in _mutant_options(QUESTIONS_DIR / "nanogpt_model.py", "torch.cat((idx, idx_next)"):
        assert all(d in (-2, -1, 0, 1) for o in q.choices for d in _dims(o)), q.choices


def test_where_the_code_does_not_show_a_rank_options_are_left_alone():
    source = "import torch\n\ndef f(x):\n    return x.sum(dim=1)\n"
    index = questions.SourceIndex(source)
    assert shapes.impossible("return x.sum(dim=2)", 4, index) == ""
    assert shapes.impossible("return x.sum(dim=7)", 4, index) == ""


@pytest.mark.parametrize("code, impossible", [
    ("y = x.sum(dim=2)", True), ("y = x.sum(dim=-3)", True), ("y = x.sum(dim=-2)", False),
    ("y = x[:, :, 0]", True), ("y = x[:, 0]", False), ("y = x.shape[2]", True), ("y = x.unsqueeze(2)", False),
    ("y = x.unsqueeze(3)", True), ("y = torch.stack([x, x], dim=2)", False), ("y = torch.stack([x, x], dim=3)", True),
    ("y = x.view(-1).sum(dim=1)", True), ("y = x.mean().sum(dim=1)", True), ("y = x.mean().sum(dim=0)", False), ("y = (x @ w).sum(dim=1)", False),
])
def test_ranks_the_code_shows(code, impossible):
    source = textwrap.dedent('''
        import torch

        def f(n=3):
            x = torch.zeros(n, 4)
            w = torch.randn(4, 5)
            y = x
            return y
    ''')
    index = questions.SourceIndex(source)
    assert bool(shapes.impossible(code, 7, index)) == impossible


def test_a_loop_that_changes_a_rank_makes_it_unknown():
    source = textwrap.dedent('''
        import torch

        def f(n=3):
            x = torch.zeros(n, 4)
            for _ in range(3):
                y = x.sum(dim=1)
                x = x.unsqueeze(0)
            return y
    ''')
    index = questions.SourceIndex(source)
    assert shapes.impossible("y = x.sum(dim=2)", 7, index) == ""      # x is [n, 4] only at the first iteration
