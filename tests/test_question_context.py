"""A question's prompt shows the code that settles its answer: the `if` an else branch belongs to, the line
that uses what a mutant line computes; and no blank is asked where nothing in the code settles it."""
import random
import textwrap

from conftest import PPO_DIR
from tracer.quiz import questions

GAE = textwrap.dedent('''
    import torch

    def gae(rewards, values, dones, next_value, next_done, num_steps, gamma, lam):
        advantages = torch.zeros_like(rewards)
        lastgaelam = 0
        for t in reversed(range(num_steps)):
            if t == num_steps - 1:
                nextnonterminal = 1.0 - next_done
                nextvalues = next_value
            else:
                nextnonterminal = 1.0 - dones[t + 1]
                nextvalues = values[t + 1]
            delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
            advantages[t] = lastgaelam = delta + gamma * lam * nextnonterminal * lastgaelam
        return advantages
''')


def _mutant_at(source_or_index, text):
    index = source_or_index if isinstance(source_or_index, questions.SourceIndex) else questions.SourceIndex(source_or_index)
    stmt = next(s for s in index.statements if s.code.startswith(text))
    return questions.mutant_question(stmt, index, random.Random(0), questions.Stats())


def test_a_line_in_an_else_branch_is_shown_with_the_if_it_belongs_to():
    q = _mutant_at(GAE, "nextnonterminal = 1.0 - dones[t + 1]")
    assert q is not None
    context = q.prompt.split("It comes after:")[1]
    assert "if t == num_steps - 1:" in context and "else:" in context
    assert context.index("if t == num_steps - 1:") < context.index("else:")


def test_a_mutant_shows_where_its_result_is_used():
    # frac = 1 - (iteration - 1) / n or (iteration - 1) / n: only its use, lr = frac * lr0, says which one
    index = questions.SourceIndex.from_file(PPO_DIR / "train.py")
    q = _mutant_at(index, "frac = 1.0 - (iteration - 1.0)")
    assert q is not None
    assert "Its result is used in:" in q.prompt
    assert 'optimizer.param_groups[0]["lr"] = frac * args.learning_rate' in q.prompt.split("used in:")[1]


def test_the_use_is_not_shown_when_it_repeats_a_piece_of_the_line():
    source = textwrap.dedent('''
        import torch

        def loss(adv, ratio, clip):
            pg_loss1 = -adv * ratio
            pg_loss2 = -adv * torch.clamp(ratio, 1 - clip, 1 + clip)
            return torch.max(pg_loss1, pg_loss2).mean()
    ''')
    q = _mutant_at(source, "pg_loss1 = -adv * ratio")
    assert q is None or "used in:" not in q.prompt


def test_no_operator_blank_in_a_seed():
    index = questions.SourceIndex.from_file(PPO_DIR / "train.py")
    blanks = [q for seed in range(4) for q in questions.generate_static(index, seed=seed, kinds=("blank",))]
    assert not [q.expr for q in blanks if "seed" in q.expr and q.answer in "+-*/"]
