"""Generated questions: one test per defect class found when rating them (each failed on the generator
they replace), right answers spelled other ways accepted, stop questions checked on a real frame."""
import itertools
import json
import random
import re
import sys
import textwrap

import pytest
import torch

from conftest import MLP_DIR, PPO_DIR, walkthrough
from tracer.quiz import answers, questions
from tracer.spec import Question

PPO_LOSS = textwrap.dedent('''
    import numpy as np
    import torch

    def update(mb_advantages, ratio, newvalue, b_returns, args, iteration, n):
        frac = 1.0 - (iteration - 1.0) / n
        mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)
        pg_loss1 = -mb_advantages * ratio
        pg_loss2 = -mb_advantages * torch.clamp(ratio, 1 - args.clip_coef, 1 + args.clip_coef)
        pg_loss = torch.max(pg_loss1, pg_loss2).mean()
        v_loss = 0.5 * ((newvalue - b_returns) ** 2).mean()
        return pg_loss + v_loss * frac
''')


def index_of(source):
    return questions.SourceIndex(textwrap.dedent(source))


def generated(source, kinds, seeds=range(6)):
    index = index_of(source)
    return [q for seed in seeds for q in questions.generate_static(index, seed=seed, kinds=kinds)]


def _tree(code):
    import ast
    try:
        return ast.dump(ast.parse(code))
    except SyntaxError:
        return None


# ----- blanks ------------------------------------------------------------------------------------------
def test_a_blank_is_rendered_from_the_tree_and_keeps_every_parenthesis():
    blanks = generated(PPO_LOSS, ("blank",))
    assert blanks
    for q in blanks:
        filled = q.expr.replace("____", q.answer, 1)
        statement = next(line.strip() for line in PPO_LOSS.splitlines()
                         if _tree(line.strip()) is not None and _tree(line.strip()) == _tree(filled))  # the real line
        assert questions.check_blank(q.answer, q, statement)


@pytest.mark.parametrize("reply", ["-", " - ", "`-`"])
def test_an_operator_typed_into_a_blank_is_accepted(reply):
    index = index_of(PPO_LOSS)
    stmt = next(s for s in index.statements if s.code.startswith("v_loss ="))
    masked = next(c for c in questions.blank_candidates(stmt, index) if c[1] == "-")[0]
    assert masked == "v_loss = 0.5 * ((newvalue ____ b_returns) ** 2).mean()"
    q = Question(id="x", kind="blank", prompt="", expr=masked, answer="-")
    assert questions.check_blank(reply, q, stmt.code)
    assert not questions.check_blank("+", q, stmt.code)
    assert not questions.check_blank("__import__('os').system('true')", q, stmt.code)


def test_one_masked_line_never_has_two_answers_in_a_file():
    source = "import torch\n\ndef f(x):\n    a = torch.exp(x)\n    b = torch.max(x)\n    c = torch.sqrt(x)\n"
    for q in generated(source, ("blank",)):
        others = [o for o in generated(source, ("blank",)) if o.expr == q.expr]
        assert {o.answer for o in others} == {q.answer}


# ----- mutants -------------------------------------------------------------------------------------------
def _equal_values(a, b, trials=20):
    """Do two statements compute the same on random floats? Our own test strings, evaluated directly."""
    import numpy as np
    rng = np.random.default_rng(0)
    for _ in range(trials):
        env = {n: rng.uniform(0.5, 2.0, (3, 3)) * rng.choice([-1, 1], (3, 3)) for n in "abcdfgkxy"}
        env.update(dt=rng.uniform(0.5, 2.0), torch=torch, var=np.var, clamp=np.clip)
        env_a, env_b = dict(env), dict(env)
        exec(a, env_a)
        exec(b, env_b)
        if not np.allclose(env_a["y"], env_b["y"]):
            return False
    return True


@pytest.mark.parametrize("code", [
    "y = (a - b) ** 2", "y = ((a - b[0]) ** 2).mean()", "y = var(a - b)", "y = -clamp(x, -k, k)",
    "y = f * (1 / dt)", "y = torch.max(a, b) - torch.min(a, b)",
])
def test_no_two_options_compute_the_same(code):
    import numpy as np
    for q in generated(f"import torch\nfrom numpy import var, clip as clamp\n{code}\n", ("mutant",)):
        for one, other in itertools.combinations(q.choices, 2):
            try:
                assert not _equal_values(one, other), (one, other)
            except (TypeError, ValueError, IndexError):
                pass                                  # an option that cannot run on floats differs anyway


def _levenshtein(a, b):
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def test_the_answer_is_not_the_option_closest_to_all_others():
    singled = total = 0
    for path in (PPO_DIR / "train.py", MLP_DIR / "model.py", PPO_DIR / "agent.py"):
        for q in questions.generate_static(questions.SourceIndex.from_file(path), kinds=("mutant",)):
            total += 1
            distance = {c: sum(_levenshtein(c, o) for o in q.choices if o is not c) for c in q.choices}
            closest = min(distance.values())
            singled += distance[q.answer] == closest and list(distance.values()).count(closest) == 1
            lengths = [len(c) for c in q.choices]
            assert not (len(q.answer) == max(lengths) and lengths.count(max(lengths)) == 1)
    assert total >= 8 and singled == 0


def test_mutants_carry_the_fault_librarys_misconceptions():
    index = questions.SourceIndex.from_file(PPO_DIR / "train.py")
    qs = [q for q in questions.generate_static(index, kinds=("mutant",)) if "torch.max(pg_loss1" in q.answer]
    assert qs and all(q.misconceptions[c] for q in qs for c in q.choices if c != q.answer)
    assert any("larger of the two surrogate terms" in m for q in qs for m in q.misconceptions.values())


# ----- names -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("code, reads, writes", [
    ("advantages[t] = lastgaelam = delta + g * lastgaelam", {"t", "delta", "g", "lastgaelam"},
     {"advantages", "lastgaelam"}),
    ("obs[step] = next_obs", {"step", "next_obs"}, {"obs"}),
    ("self.actor = nn.Linear(n, m)", {"n", "m"}, {"self.actor"}),
    ("np.random.shuffle(b_inds)", {"b_inds"}, {"b_inds"}),
    ("y = torch.relu(helper(x)) + self.w", {"x", "self.w"}, {"y"}),
    ("clipfracs.append(float(r))", {"clipfracs", "r"}, {"clipfracs"}),
])
def test_reads_and_changes_follow_the_stated_convention(code, reads, writes):
    source = f"import numpy as np\nimport torch\nfrom torch import nn\n\ndef helper(v):\n    return v\n\n" \
             f"class A:\n    def f(self, delta, g, t, n, m, step, next_obs, b_inds, x, clipfracs, r):\n        {code}\n"
    index = questions.SourceIndex(source)
    stmt = index.at(10)
    assert set(n for n in stmt.reads if not n.startswith("<")) == reads
    assert set(n for n in stmt.writes if not n.startswith("<")) == writes


def test_names_prompt_states_the_convention_and_any_order_is_right():
    index = index_of("def f(a, b):\n    c = a * b\n    return c\n")
    q = questions.names_question(index.statements[1], index, random.Random(1), questions.Stats())
    assert "self" in q.prompt and "obs[step]" in q.prompt
    assert questions.check_names(", ".join(reversed(q.answer)), q.answer)
    assert questions.check_names(" and ".join(q.answer), q.answer)
    assert not questions.check_names("a", ["a", "b"])


# ----- Parsons ---------------------------------------------------------------------------------------
def _orders(q):
    n = len(q.choices)
    return {order for order in itertools.permutations(range(n))
            if questions.check_parsons(" ".join(chr(ord("a") + i) for i in order), q)}


def test_parsons_needs_a_dependency_and_never_forces_independent_lines():
    seeding = "import random\nimport numpy as np\nimport torch\n\ndef f(s):\n    random.seed(s)\n" \
              "    np.random.seed(s)\n    torch.manual_seed(s)\n    torch.set_num_threads(1)\n"
    assert not generated(seeding, ("parsons",))
    attributes = "class A:\n    def __init__(self, a, b, c):\n        self.a = a\n        self.b = b\n        self.c = c\n"
    assert not generated(attributes, ("parsons",))


def test_parsons_treats_return_as_the_last_line():
    source = "def mul(self, other):\n    out = self * other\n    out._backward = other\n    out.label = 'x'\n" \
             "    return out\n"
    for q in generated(source, ("parsons",)):
        ret = q.choices.index("return out")
        assert all(order[-1] == ret for order in _orders(q))


def test_parsons_windows_never_skip_a_compound_statement():
    source = textwrap.dedent('''
        import torch

        def f(rewards, values, g):
            advantages = torch.zeros_like(rewards)
            last = values * 0
            for t in range(3):
                advantages[t] = rewards[t] + g * last
            returns = advantages + values
            scale = returns.std()
            out = returns / scale
            return out
    ''')
    for q in generated(source, ("parsons",)):
        assert "returns = advantages + values" not in q.choices or "advantages = torch.zeros_like(rewards)" not in q.choices


def test_parsons_key_accepts_exactly_the_orders_that_compute_the_same():
    source = textwrap.dedent('''
        import torch

        def store(obs, dones, i, a, d):
            obs[i] = a
            dones[i] = d
            total = obs.sum()
            return total
    ''')
    qs = generated(source, ("parsons",))
    assert qs
    for q in qs:
        code = {c: i for i, c in enumerate(q.choices)}
        accepted = {tuple(q.choices[i] for i in order) for order in _orders(q)}
        for order in accepted:                   # obs[i] = a must come before total = obs.sum()
            assert order.index("obs[i] = a") < order.index("total = obs.sum()")
        assert ("dones[i] = d", "obs[i] = a", "total = obs.sum()", "return total") in accepted or len(code) < 4


def _really_same_orders(q, inputs):
    """The orders of a Parsons question's lines that leave the same values as the real order, run for real
    with torch on random inputs (our own test code, executed directly)."""
    def run(lines):
        torch.manual_seed(0)
        env = {"torch": torch, "math": __import__("math"), **{k: v.clone() for k, v in inputs.items()}}
        try:
            exec("\n".join(lines), env)
        except NameError:                       # a line before the one that computes what it reads
            return None
        return {k: v for k, v in env.items() if isinstance(v, torch.Tensor)}
    reference = run(q.answer)
    same = set()
    for order in itertools.permutations(range(len(q.choices))):
        result = run([q.choices[i] for i in order])
        if result is not None and result.keys() == reference.keys() and all(torch.equal(result[k], reference[k]) for k in reference):
            same.add(order)
    return same


@pytest.mark.parametrize("body, asked", [
    # disjoint slices of one tensor commute, overlapping ones do not: running on random inputs cannot tell
    ("pe[:, 0::2] = torch.sin(position * div)\npe[:, 1::2] = torch.cos(position * div)\npe = pe.unsqueeze(0)", False),
    ("pe[:, 0:2] = torch.sin(position * div)\npe[:, 1:3] = torch.cos(position * div)\npe = pe.unsqueeze(0)", False),
    # in-place adds commute, in-place add and multiply do not
    ("pe.add_(position)\npe.add_(div)\ntotal = pe.sum()", False),
    ("pe.add_(position)\npe.mul_(div)\ntotal = pe.sum()", False),
    # two draws from one generator: swapped, each takes the other's numbers
    ("a = torch.randn(4, 4) + position\nb = torch.randn(4, 4) * div\nc = a - b", False),
    # a read before an overwrite; writes into two different tensors before their sum
    ("total = pe.sum()\npe = pe * 2\nc = pe + total\nd = c.mean()", True),
    ("pe[0] = position[0]\ndiv[1] = position[1]\ntotal = pe.sum() + div.sum()", True),
])
def test_parsons_key_is_what_really_running_every_order_says(body, asked):
    source = "import math\nimport torch\n\ndef f(pe, position, div):\n" + textwrap.indent(body, "    ") + "\n"
    inputs = {"pe": torch.rand(4, 4), "position": torch.rand(4, 4), "div": torch.rand(4, 4)}
    found = generated(source, ("parsons",))
    assert bool(found) is asked
    for q in found:
        assert _orders(q) == _really_same_orders(q, inputs), q.prompt


def test_parsons_is_not_asked_on_a_chain_of_assignments():
    source = "import torch\n\ndef f(data, real, device):\n    x = data[0].to(device)\n    n = x.size(0)\n" \
             "    label = torch.full((n,), real, device=device)\n"
    assert not generated(source, ("parsons",))
    losses = "import torch.nn.functional as F\n\ndef f(q1, q2, y):\n    l1 = F.mse_loss(q1, y)\n" \
             "    l2 = F.mse_loss(q2, y)\n    loss = l1 + l2\n"
    assert not generated(losses, ("parsons",))


def test_parsons_accepts_any_spelling_of_a_right_order():
    q = questions.GeneratedQuestion(id="x", kind="parsons", prompt="", choices=["c = a + b", "a = 1", "b = 2"],
                                    answer=["a = 1", "b = 2", "c = a + b"], dependencies=[(0, 2), (1, 2)])
    for reply in ("b c a", "c,b,a", "cba", "C B A"):
        assert questions.check_parsons(reply, q)
    assert not questions.check_parsons("a b c", q) and not questions.check_parsons("b b a", q)


# ----- checking answers: right answers spelled other ways ---------------------------------------------
@pytest.mark.parametrize("reply, real, right", [
    ("(64, 4)", (64, 4), True), ("[64, 4]", (64, 4), True), ("torch.Size([64, 4])", (64, 4), True),
    ("64, 4", (64, 4), True), ("64 x 4", (64, 4), True), ("64×4", (64, 4), True), ("64 by 4", (64, 4), True),
    ("(4, 64)", (64, 4), False), ("4 x 64", (64, 4), False), ("(64,)", (64,), True), ("64", (64,), True),
    ("()", (), True), ("0.5001", 0.5, True), ("0.6", 0.5, False), ("torch.float32", "float32", True),
])
def test_equivalent_spellings_of_values(reply, real, right):
    assert answers.check_value(reply, real) is right


def test_purpose_is_gone(tmp_path, state_dir):
    path = tmp_path / "m.py"
    path.write_text(PPO_LOSS)
    proc = walkthrough("quiz", path, "--kinds", "purpose", state_dir=state_dir)
    assert proc.returncode == 2 and "purpose was removed" in proc.stdout
    data = json.loads(walkthrough("quiz", path, "--json", "--all", state_dir=state_dir).stdout)
    assert data and "purpose" not in {q["kind"] for q in data}


# ----- the quiz command -------------------------------------------------------------------------------
def test_quiz_json_has_kinds_misconceptions_and_verification(tmp_path, state_dir):
    proc = walkthrough("quiz", PPO_DIR / "train.py", "--json", state_dir=state_dir)
    assert proc.returncode == 0, proc.stdout
    data = json.loads(proc.stdout)
    assert {"idiom", "mutant"} <= {q["kind"] for q in data}
    for q in data:
        assert {"kind", "line", "prompt", "answer", "score", "verified"} <= set(q)
        if "choices" in q and q["kind"] != "parsons":
            assert q["answer"] in q["choices"]
            assert set(q["misconceptions"]) == set(q["choices"]) - {q["answer"]}
            assert all(q["misconceptions"].values())
        if q["kind"] == "idiom":
            assert q["idiom"]
    scores = [q["score"] for q in data]
    assert min(scores) >= questions.MIN_SCORE


def test_quiz_text_keeps_brackets_and_one_line_per_option(tmp_path, state_dir):
    source = tmp_path / "brackets.py"
    source.write_text(textwrap.dedent('''
        import torch

        def head(x, b, i, w):
            y = x[i] + x[b] * 2
            z = torch.softmax(y[:, [-1], :] @ w, dim=-1)
            logits = z[b] - y.detach()
            return logits
    '''))
    proc = walkthrough("quiz", source, "--print", "--all", state_dir=state_dir)
    assert proc.returncode == 0, proc.stdout
    assert "x[i] + x[b]" in proc.stdout and "y[:, [-1], :]" in proc.stdout
    parsons = proc.stdout.split("order the lines")[1] if "order the lines" in proc.stdout else ""
    for option in re.findall(r"^  [a-d]\) .*$", parsons.split("answer:")[0], re.M):
        assert option.count(") ") == 1 or "(" in option        # never two options joined on one line


def test_quiz_on_a_deeply_nested_expression_is_a_clear_error_or_works(tmp_path, state_dir):
    path = tmp_path / "deep.py"
    path.write_text("x = " + " + ".join(f"a{i}" for i in range(300)) + "\n")
    proc = walkthrough("quiz", path, "--print", state_dir=state_dir)
    assert proc.returncode in (0, 2) and "Traceback" not in proc.stdout + proc.stderr
    if proc.returncode == 2:
        assert "deep.py" in proc.stdout


def test_quiz_on_unparsable_file_names_file_and_line(tmp_path, state_dir):
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\ny = (2,\n")
    proc = walkthrough("quiz", bad, state_dir=state_dir)
    assert proc.returncode == 2 and "bad.py:" in proc.stdout and "cannot parse" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_generation_is_deterministic_under_seed():
    path = MLP_DIR / "model.py"
    one = [questions.to_json(q) for q in questions.for_file(questions.SourceIndex.from_file(path), seed=3)]
    two = [questions.to_json(q) for q in questions.for_file(questions.SourceIndex.from_file(path), seed=3)]
    assert one and one == two


# ----- at a stop: a real frame --------------------------------------------------------------------------
def _stop_here():
    """Questions for the statement after the call, asked on this test's own paused frame."""
    frame = sys._getframe(1)
    index = questions.SourceIndex.from_file(__file__)
    return index, frame, frame.f_lineno + 1


def test_stop_questions_are_about_ml_and_never_on_screen():
    torch.manual_seed(0)
    mb_advantages = torch.randn(64)
    ratio = torch.rand(64) + 0.5
    index, frame, line = _stop_here()
    pg_loss1 = -mb_advantages * ratio
    found = questions.for_stop(index, line, frame, 0, "s", count=5, shown=["mb_advantages", "ratio"])
    kinds = {q.source for q in found}
    assert kinds <= set(questions.LIVE_KINDS) | {"idiom"} and "whatif" in kinds and "shape" in kinds
    shape = next(q for q in found if q.source == "shape")
    assert "e.g. (64" not in shape.prompt and shape.expr == "pg_loss1.shape"
    assert answers.check_value("(64,)", eval(shape.expr))
    del pg_loss1


def test_a_whatif_question_is_answered_by_running_the_changed_line_on_copies():
    torch.manual_seed(0)
    newvalue = torch.randn(8, requires_grad=True)
    b_returns = torch.randn(8)
    before = torch.get_rng_state().clone()
    index, frame, line = _stop_here()
    v_loss = 0.5 * ((newvalue - b_returns) ** 2).mean()
    found = [q for q in questions.for_stop(index, line, frame, 3, "w", count=5) if q.source == "whatif"]
    assert found
    q = found[0]
    assert q.answer in q.choices and "Ran on copies" in q.explain and "v_loss" in q.explain
    assert all(q.misconceptions[c] for c in q.choices if c != q.answer)
    assert torch.equal(torch.get_rng_state(), before) and newvalue.grad is None     # nothing of ours changed
    del v_loss


def test_a_prediction_is_not_asked_when_an_authored_question_covers_it():
    x = torch.zeros(4, 3)
    index, frame, line = _stop_here()
    y = x.reshape(-1)
    authored = [Question(id="a.1", kind="value", prompt="How many values does `y` hold?", expr="len(y)")]
    found = questions.for_stop(index, line, frame, 0, "a", count=5, authored=authored, shown=["x"])
    assert not any(q.source == "shape" for q in found)
    del y


def test_a_random_sample_or_an_object_is_never_a_value_prediction():
    logits = torch.randn(5, 2)
    dist = torch.distributions.Categorical(logits=logits)
    index, frame, line = _stop_here()
    action = dist.sample()
    found = questions.for_stop(index, line, frame, 0, "r", count=5, shown=["dist", "logits"])
    assert not any(q.source == "value" for q in found)
    del action


def test_an_idiom_asked_at_an_earlier_stop_is_not_asked_again():
    ratio = torch.rand(4)
    index, frame, line = _stop_here()
    clipped = torch.clamp(ratio, 1 - 0.2, 1 + 0.2)
    first = questions.for_stop(index, line, frame, 0, "c", count=5)
    assert any(q.idiom == "clip-ratio" for q in first)
    again = questions.for_stop(index, line, frame, 0, "c", count=5, asked_idioms={"clip-ratio"})
    assert not any(q.idiom == "clip-ratio" for q in again)
    del clipped


# ----- the walkthrough's stops, in a real run ------------------------------------------------------------
def test_walkthrough_stops_ask_the_new_questions_checked_against_the_run(tmp_path, state_dir):
    import tomllib
    steps = [s["id"] for s in tomllib.loads((PPO_DIR.parent.parent / "walkthroughs" / "ppo.toml").read_text())["step"]]
    answers_file = tmp_path / "answers.toml"
    answers_file.write_text("".join(f'"{step}.g{n}" = "(8,)"\n' for step in steps for n in (1, 2)))
    proc = walkthrough("start", "ppo", "--answers", answers_file, "--", "--total-timesteps", "256",
                       "--eval-every", "0", state_dir=state_dir)
    assert proc.returncode == 0, proc.stdout[-3000:]
    out = proc.stdout
    for kind in ("generated: why is it there", "generated: what if", "generated: predict the shape"):
        assert kind in out
    for answer_on_screen in ("which is the real line", "fill the blank", "order the lines", "at its first iteration"):
        assert answer_on_screen not in out
    assert "e.g. (64, 4)" not in out and "Ran on copies of this frame's values" in out
    state = json.loads((state_dir / "progress.json").read_text())["tours"]["ppo"]
    assert state["answers"]["done.g1"] is True          # next_done really had shape (8,): one flag per env
    assert "next_done.shape = torch.Size([8])" in " ".join(out.split())
    assert sum(1 for k in state["answers"] if ".g" in k) >= 10


# ----- the interactive quiz, in a pseudo-terminal ----------------------------------------------------------
def test_quiz_asks_checks_and_scores_in_a_terminal(tmp_path, state_dir):
    import os
    import pexpect
    from conftest import WALKTHROUGH

    data = json.loads(walkthrough("quiz", PPO_DIR / "train.py", "--json", "--count", "3", state_dir=state_dir).stdout)
    env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(state_dir), "NO_COLOR": "1", "TERM": "xterm"}
    child = pexpect.spawn(str(WALKTHROUGH), ["quiz", str(PPO_DIR / "train.py"), "--count", "3"], env=env,
                          encoding="utf-8", dimensions=(50, 140), timeout=60)

    def right_reply(q):
        if q.get("choices") and q["kind"] != "parsons":
            return chr(ord("a") + q["choices"].index(q["answer"]))
        return q["answer"] if isinstance(q["answer"], str) else ""

    child.expect("3 questions about")
    child.expect("Question 1/3")
    child.expect("answer> ")
    child.sendline(right_reply(data[0]))
    child.expect("right")
    child.expect("Question 2/3")
    child.expect("answer> ")
    if data[1].get("choices") and data[1]["kind"] != "parsons":
        child.sendline("zzz")                               # names no option: asked again, not graded
        child.expect("not one of the options")
        child.expect("answer> ")
        wrong = next(c for c in data[1]["choices"] if c != data[1]["answer"])
        child.sendline(chr(ord("a") + data[1]["choices"].index(wrong)))
    else:
        child.sendline("zzz")                               # wrong
    child.expect("not quite")
    child.expect("Question 3/3")
    child.expect("answer> ")
    child.sendline("")                                      # skipped
    child.expect("skipped")
    child.expect("Score: 1/2 right")
    child.expect(pexpect.EOF)


# ----- no generator or checker raises, whatever the code ---------------------------------------------------
def _property_settings():
    from hypothesis import HealthCheck, settings
    return settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


def test_no_generator_or_checker_raises_on_arbitrary_python():
    import hypothesmith
    from hypothesis import given, strategies as st

    @_property_settings()
    @given(hypothesmith.from_node(), st.text(max_size=40))
    def check(source, reply):
        try:
            index = questions.SourceIndex(source)
        except (SyntaxError, RecursionError):
            return
        for q in questions.generate_static(index, kinds=questions.STATIC_KINDS):
            questions.check_reply(q, reply)
            questions.to_json(q)
    check()


def test_no_checker_raises_on_arbitrary_replies():
    from hypothesis import given, settings, strategies as st

    index = questions.SourceIndex.from_file(PPO_DIR / "train.py")
    asked = questions.generate_static(index, kinds=questions.STATIC_KINDS)
    assert {q.source for q in asked} >= {"idiom", "mutant", "blank", "names"}

    @settings(max_examples=150, deadline=None)
    @given(st.text(max_size=200))
    def check(reply):
        for q in asked:
            questions.check_reply(q, reply)
        answers.check_value(reply, (64, 4))
    check()


# ----- the rated sample -------------------------------------------------------------------------------
RATED = PPO_DIR.parent.parent / "tests" / "data" / "questions" / "rated.json"


def test_the_rated_sample_is_complete_and_still_what_quiz_asks():
    rated = json.loads(RATED.read_text())
    assert len(rated) >= 60 and len({q["file"] for q in rated}) >= 6
    for q in rated:
        verdict = q["verdict"]
        assert isinstance(verdict["valid"], bool) and verdict["value"] in (1, 2, 3, 4, 5) and verdict["note"]
        assert q["kind"] in questions.STATIC_KINDS
        if q["kind"] in ("idiom", "mutant"):
            assert q["answer"] in q["choices"] and set(q["misconceptions"]) == set(q["choices"]) - {q["answer"]}
    corpus = RATED.parent / "corpus"
    present = [q for q in rated if (corpus / q["file"]).is_file()]
    by_file, scored = {}, []
    for q in present:          # the corpus is not committed (see README): checked where it is present
        if q["file"] not in by_file:
            index = questions.SourceIndex.from_file(corpus / q["file"])
            by_file[q["file"]] = {(g.line, g.source, json.dumps(g.answer)): g.score for g in questions.for_file(index)}
        key = (q["line"], q["kind"], json.dumps(q["answer"]))
        assert key in by_file[q["file"]], (q["file"], q["line"])
        scored.append((by_file[q["file"]][key], q["verdict"]["value"]))
    if len(scored) >= 30:      # the teaching score follows the value a reader gave (Pearson r)
        import statistics
        assert statistics.correlation(*zip(*scored)) >= 0.5


@pytest.mark.parametrize("reply", ["b", "B", "b)", "(b)", "b.", "2", "2)", "one-step TD error: delta_t",
                                   "One-step TD error: delta_t, with lambda = 0"])
def test_a_choice_is_accepted_by_letter_number_text_or_its_start(reply):
    choices = ["the Monte-Carlo return", "one-step TD error: delta_t, with lambda = 0", "0"]
    assert answers.check_choice(reply, choices, choices[1])[0]
    assert not answers.check_choice("the", choices, choices[1])[0]     # too short to name one choice


def test_an_idiom_the_steps_text_already_explains_is_not_asked():
    ratio = torch.rand(4)
    index, frame, line = _stop_here()
    clipped = torch.clamp(ratio, 1 - 0.2, 1 + 0.2)
    screen = "Clipping the probability ratio keeps the new policy close to the old one."
    found = questions.for_stop(index, line, frame, 0, "t", count=5, screen=screen)
    assert not any(q.idiom == "clip-ratio" for q in found)
    del clipped


# ----- noise: nothing but the questions reaches the learner's terminal -------------------------------------
def test_the_probe_never_warns_about_overflow():
    import warnings
    from tracer.quiz import probe
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # numpy's RuntimeWarning would raise here
        states = probe.states(["y = x ** 400", "y = x ** 401"], {})
    assert states[0] is not None and states[0] != states[1]


def test_quiz_prints_no_warning_and_no_traceback_when_the_reader_goes_away(tmp_path, state_dir):
    import os
    import subprocess
    from conftest import WALKTHROUGH
    path = tmp_path / "big.py"
    path.write_text("import numpy as np\n\ndef f(x, y):\n    z = np.exp(x) ** 400 - y\n    return z * 2.0\n")
    proc = walkthrough("quiz", path, "--all", "--print", state_dir=state_dir)
    assert proc.returncode == 0 and proc.stderr == ""
    env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(state_dir)}
    reader_gone = subprocess.Popen([str(WALKTHROUGH), "quiz", str(PPO_DIR / "train.py"), "--all", "--json"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    reader_gone.stdout.close()                    # `| head` that has already exited
    stderr = reader_gone.communicate(timeout=120)[1].decode()
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
    assert reader_gone.returncode == 141


# ----- typed blanks: what the code around the blank already shows may be typed again ------------------------
@pytest.mark.parametrize("masked, real, reply, right", [
    ("q = torch.____(q1, q2)", "q = torch.min(q1, q2)", "torch.min", True),
    ("q = torch.____(q1, q2)", "q = torch.min(q1, q2)", "min()", True),
    ("q = torch.____(q1, q2)", "q = torch.min(q1, q2)", "torch.min()", True),
    ("q = torch.____(q1, q2)", "q = torch.min(q1, q2)", "np.min", False),
    ("q = torch.____(q1, q2)", "q = torch.min(q1, q2)", "torch.max", False),
    ("src = emb(src) * math.____(self.ninp)", "src = emb(src) * math.sqrt(self.ninp)", "math.sqrt", True),
    ("logp.append(m.____(action))", "logp.append(m.log_prob(action))", "m.log_prob", True),
    ("logp.append(m.____(action))", "logp.append(m.log_prob(action))", "m.log_prob()", True),
    ("logp.append(m.____(action))", "logp.append(m.log_prob(action))", "dist.log_prob", False),
])
def test_a_typed_fill_may_repeat_the_shown_prefix_and_end_with_parentheses(masked, real, reply, right):
    answer = re.search(r"\.(\w+)\(", real[masked.index("____") - 1:]).group(1)     # min, sqrt, log_prob
    q = questions.GeneratedQuestion(id="x", kind="blank", prompt="", expr=masked, answer=answer, code=real)
    assert questions.check_blank(reply, q, real) is right


# ----- blanks: never without their context, never with room for another method, never spelled nearby ------------
GAN_STEP = textwrap.dedent('''
    import torch

    def train(netD, netG, optimizerD, optimizerG, criterion, real, noise, fake_label, real_label, epochs):
        for epoch in range(epochs):
            output = netD(real)
            errD_real = criterion(output, real_label)
            errD_real.backward()
            fake = netG(noise)
            output = netD(fake.detach())
            errD_fake = criterion(output, fake_label)
            errD_fake.backward()
            optimizerD.step()

            ############################
            # (2) Update G network: maximize log(D(G(z)))
            ###########################
            netG.zero_grad()
            output = netD(fake)
            errG = criterion(output, real_label)
            errG.backward()
            optimizerG.step()
            print(errD_real.item(), errG.item(), torch.sqrt(errG).item())
            loss = torch.sqrt(errG + errD_fake)
''')


def test_a_blank_shows_the_statements_above_it_past_comment_banners_at_their_real_indentation():
    index = index_of(GAN_STEP)
    stmt = next(s for s in index.statements if s.code == "output = netD(fake)")
    context = questions._context(index, stmt)
    assert "netG.zero_grad()" in context and "optimizerD.step()" in context and "#" not in context
    first = next(s for s in index.statements if s.code == "output = netD(real)")
    shown = questions._context(index, first) + "\n" + questions._the_line(index, first, first.code)
    loop, line = re.search(r"\n( *)for epoch in range\(epochs\):\n( *)output = netD\(real\)", shown).groups()
    assert len(line) == len(loop) + 4                                                  # shown inside its loop
    for q in generated(GAN_STEP, ("blank",)):
        assert "It comes after:" in q.prompt, q.prompt


def test_a_method_blank_with_room_for_other_methods_or_only_api_recall_is_not_asked():
    source = GAN_STEP + "    h = dist.entropy()\n    y = torch.exp(errG - errD_fake)\n"
    asked = {questions.SourceIndex(source).lines[q.line - 1].strip(): q.answer for q in generated(source, ("blank",))}
    assert "netG.zero_grad()" not in asked                 # train(), eval(), cuda() fit as well
    assert "h = dist.entropy()" not in asked               # sample(), mode() too
    assert not {"errG.backward()", "optimizerG.step()"} & set(asked)     # API recall: the card asks why instead
    assert asked.get("y = torch.exp(errG - errD_fake)") == "exp"


def test_a_blank_whose_answer_the_shown_code_spells_is_not_asked():
    source = textwrap.dedent('''
        import torch

        def target(qf1_next, qf2_next, rewards, m, action, policy):
            rewards = rewards * 2
            min_qf_next_target = torch.min(qf1_next, qf2_next)
            policy.saved_log_probs.append(m.log_prob(action))
            value = torch.max(qf1_next, qf2_next)
    ''')
    asked = {q.code: q.answer for q in generated(source, ("blank",))}
    assert "min_qf_next_target = torch.min(qf1_next, qf2_next)" not in asked
    assert "policy.saved_log_probs.append(m.log_prob(action))" not in asked
    assert asked.get("value = torch.max(qf1_next, qf2_next)") == "max"
    assert not any("item" == a for a in asked.values())
    print_line = [q for q in generated(GAN_STEP, ("blank",)) if q.code.startswith("print(")]
    assert not any(q.answer == "item" for q in print_line)   # errD_real.item(), errG.____()


# ----- distractors: wrong, but something a person could have written ----------------------------------------
def test_no_option_is_a_line_that_cannot_run():
    source = "import torch\n\ndef mlp(obs_dim, hidden_sizes, act_dim, x):\n" \
             "    sizes = [obs_dim] + list(hidden_sizes) + [act_dim]\n    y = x * 2\n"
    for q in generated(source, ("mutant",)):
        for option in q.choices:
            env = {"obs_dim": 3, "hidden_sizes": (64, 64), "act_dim": 2, "x": 1.0}
            exec(option, env)                     # a TypeError (list minus list) would fail the test


@pytest.mark.parametrize("code, absurd", [
    ("target.data.copy_(args.tau * param.data + (1 - args.tau) * target.data)", ("/ param", "/ target")),
    ("running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward", ("/ ep_reward", "/ running_reward")),
    ("p = torch.clamp(p, min=1e-5, max=1 - 1e-5)", ("1e-5 - 1", "1 + 1e-5")),
])
def test_no_option_divides_by_data_or_rewrites_a_constant(code, absurd):
    source = f"import torch\n\ndef f(target, param, args, ep_reward, running_reward, p):\n    {code}\n"
    for q in generated(source, ("mutant",)):
        for option in q.choices:
            assert not any(a in option for a in absurd), option


def test_a_mistake_from_the_fault_library_is_offered_even_when_it_rewrites_the_whole_expression():
    source = "import torch\n\ndef update(target, param, args):\n    x = 1\n" \
             "    target.data.copy_(args.tau * param.data + (1 - args.tau) * target.data)\n"
    qs = generated(source, ("mutant",))
    assert qs
    for q in qs:
        swapped = [c for c in q.choices if c.startswith("target.data.copy_((1 - args.tau) * param.data")]
        assert swapped and all("tau weighs the target network" in q.misconceptions[c] for c in swapped)


# ----- idiom excerpts show what makes the idiom true -------------------------------------------------------
def test_an_idiom_excerpt_shows_the_decorator_and_keeps_indentation():
    source = textwrap.dedent('''
        import torch

        class Model:
            @torch.no_grad()
            def generate(self, idx, steps):
                """
                Sample `steps` tokens.
                """
                for _ in range(steps):
                    logits = self(idx)
                    probs = logits.softmax(dim=-1)
                    idx = torch.cat((idx, probs.argmax(dim=-1)), dim=1)
                return idx
    ''')
    q = next(q for q in generated(source, ("idiom",), seeds=[0]) if q.idiom == "no-grad")
    shown = q.prompt.split("\n\n", 1)[1]
    assert shown.splitlines()[0] == "    @torch.no_grad()"
    assert "    def generate(self, idx, steps):" in shown and "Sample" not in shown
    assert shown.splitlines()[-1] == "        return idx"          # inside the function, as in the file
    ellipsis = next(line for line in shown.splitlines() if line.strip() == "…")
    assert ellipsis.startswith("            ")                     # at the loop body's indentation


# ----- choosing: one question per line and per card, none on logging, scores that follow the line's role -------
LOGGED = textwrap.dedent('''
    import torch

    def update(q, target, rewards, dones, gamma, optimizer, writer, step, returns, eps):
        returns = (returns - returns.mean()) / (returns.std() + eps)
        td_target = rewards + gamma * target.max(dim=1)[0] * (1 - dones)
        loss = ((q - td_target) ** 2).mean()
        seen = q.mean().item()
        writer.add_scalar("losses/q", seen, step)
        print("loss", loss.item() / 2.0, "SPS", int(step / (step - 1.0)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss
''')


def test_all_asks_one_question_per_line_and_one_per_card(tmp_path, state_dir):
    path = tmp_path / "logged.py"
    path.write_text(LOGGED + "\n\ndef again(x, eps):\n    x = (x - x.mean()) / (x.std() + eps)\n    return x\n")
    data = json.loads(walkthrough("quiz", path, "--all", "--json", state_dir=state_dir).stdout)
    assert data
    lines = [q["line"] for q in data]
    assert len(lines) == len(set(lines))
    cards = [q["idiom"] for q in data if q.get("idiom")]
    assert len(cards) == len(set(cards))


def test_lines_only_for_printing_or_logging_get_no_question():
    index = index_of(LOGGED)
    lines = LOGGED.splitlines()
    logged = {lines[n - 1].strip().split(" ")[0] for n in questions.logging_only(index)}
    assert logged == {"seen", "writer.add_scalar(\"losses/q\",", "print(\"loss\","}
    for q in questions.for_file(index, every=True):
        assert q.line not in questions.logging_only(index), q.prompt


def test_a_formula_of_the_method_scores_above_setup_and_api_recall():
    source = textwrap.dedent('''
        import random
        import torch

        def run(rewards, gamma, seed, sizes, x):
            random.seed(seed)
            width = sizes[0] * 2 + sizes[1]
            R = 0.0
            for r in rewards[::-1]:
                R = r + gamma * R
            return R
    ''')
    asked = questions.for_file(index_of(source), every=True)
    score = {index_of(source).lines[q.line - 1].strip(): q.score for q in asked}
    assert score["R = r + gamma * R"] >= 4.0              # the discounted return: the idea itself
    assert score["random.seed(seed)"] < questions.MIN_SCORE
    assert score.get("width = sizes[0] * 2 + sizes[1]", 0) < questions.MIN_SCORE


@pytest.mark.parametrize("source, card, not_claimed", [
    # a squeezed output that goes to a loss checking shapes: nothing broadcasts silently there
    ("import torch.nn as nn\n\ndef d(net, x, label):\n    out = net(x).view(-1, 1).squeeze(1)\n"
     "    return nn.BCELoss()(out, label)\n", "squeeze-broadcast", "silently"),
    # .item() that feeds the environment, not a log
    ("def act(env, dist):\n    action = dist.sample()\n    obs, r, done, info = env.step(action.item())\n"
     "    return obs\n", "item-scalar", "logging"),
])
def test_a_card_claims_nothing_the_code_it_attaches_to_contradicts(source, card, not_claimed):
    found = [q for q in generated(source, ("idiom",), seeds=[0]) if q.idiom == card]
    assert found and not_claimed not in found[0].answer.lower()


@pytest.mark.parametrize("code, card", [
    ("netG.zero_grad()\nlabel.fill_(real_label)\noutput = netD(fake)\nerrG = criterion(output, label)",
     "gan-generator-real-labels"),
    ("opt = optim.Adam(gen.parameters(), lr=2e-4, betas=(0.5, 0.999))", "adam-beta1-half"),
    ("pi_loss = -critic(states, policy(states)).mean()", "deterministic-actor-loss"),
    ("ret = discount_cumsum(rewards, gamma)", "reward-to-go"),
    ("q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)", "multihead-split"),
    ("out = out.transpose(1, 2).contiguous().view(B, T, C)", "multihead-merge"),
    ("hidden = repackage_hidden(hidden)", "detach-hidden"),
    ("y = torch.min(q1_targ, q2_targ)", "clipped-double-q"),
    ("tp.data.mul_(polyak)\ntp.data.add_((1 - polyak) * p.data)", "polyak-average"),
    ("tq.data.copy_(tau * q.data + (1 - tau) * tq.data)", "soft-update"),
    ("loss = -(logp * adv).mean()", "policy-gradient-loss"),
    ("target = critic_target(s2, actor_target(s2) + (torch.randn_like(a) * policy_noise).clamp(-c, c))",
     "target-policy-smoothing"),
    ("nxt = target_net(next_obs).max(dim=1)[0]", "q-learning-max-target"),
    ("v = torch.min(q1, q2) - alpha * log_pi", "sac-entropy-term"),
])
def test_new_cards_are_found_in_code_written_another_way(code, card):
    source = "import torch\nimport torch.optim as optim\n\ndef f(*a):\n" + textwrap.indent(code, "    ") + "\n"
    assert card in {q.idiom for q in generated(source, ("idiom",), seeds=[0])}


def test_pythons_min_and_max_are_not_swapped_in_a_mutant():
    source = "def schedule(start_e, end_e, duration, t):\n    slope = (end_e - start_e) / duration\n" \
             "    return max(slope * t + start_e, end_e)\n"
    for q in generated(source, ("mutant",)):          # decaying or rising: the function does not say
        assert not any("min(" in c for c in q.choices)


@pytest.mark.parametrize("code", [
    "total_steps = steps_per_epoch * epochs",                      # bookkeeping, not a formula
    "per_gpu = int(args.batch_size / ngpus_per_node)",             # `//` would do the same
    "self.layers = self.layers + [Layer(d, d + 1)]",               # a list: the probe cannot compare operators
])
def test_no_operator_blank_outside_a_formula_or_with_a_second_right_answer(code):
    source = f"import torch\n\nclass Net:\n    def f(self, steps_per_epoch, epochs, args, ngpus_per_node, d):\n" \
             f"        x = 1\n        {code}\n"
    assert not [q for q in generated(source, ("blank",)) if q.answer in ("+", "-", "*", "/")]


def test_an_operator_blank_accepts_only_fills_that_compute_the_same():
    source = "import torch\n\ndef f(self, layer, returns, values):\n    x = 1\n" \
             "    loss = ((returns - values) ** 2).mean() + layer.weight.sum()\n"
    qs = [q for q in generated(source, ("blank",)) if q.answer in ("+", "-", "*", "/", "**")]
    assert qs
    for q in qs:
        assert len(q.accepted) <= 1 and not ({"+", "-"} <= set(q.accepted) | {q.answer})


def test_an_idiom_inside_a_long_statement_is_shown_whole():
    source = textwrap.dedent('''
        import torch

        def main(args, kwargs, datasets, transforms, loss, batch_idx):
            train_loader = torch.utils.data.DataLoader(
                datasets.MNIST('../data', train=True, download=True,
                               transform=transforms.Compose([
                                   transforms.ToTensor(),
                                   transforms.Normalize((0.1307,), (0.3081,))
                               ])),
                batch_size=args.batch_size, shuffle=True, **kwargs)
            print('Train: [{}]\tLoss: {:.6f}'.format(
                batch_idx, loss.item()))
    ''')
    for q in generated(source, ("idiom",), seeds=[0]):
        shown = q.prompt.split("\n\n", 1)[1]
        assert shown.strip(), q.prompt                          # never an empty excerpt
        compile(textwrap.dedent(shown), "<excerpt>", "exec")    # whole statements: it parses


# ----- round 2 of independent rating: defect classes ------------------------------------------------------
@pytest.mark.parametrize("code", [
    "y = 0.5 * np.linalg.norm(a - b) ** 2 / d",
    "y = torch.norm(a - b) / d",
    "y = (a - b).norm() / d",
    "y = torch.linalg.norm(a - b, dim=-1).sum() / d",
    "y = torch.nn.functional.cosine_similarity(a - x, b).sum() / d",
    "y = np.abs(a - b) / d",
])
def test_no_option_equals_the_answer_under_an_even_or_symmetric_function(code):
    """‖a − b‖ = ‖b − a‖: a mutant that swaps the operands inside a norm (or a symmetric loss) is the same line."""
    import numpy as np
    source = f"import numpy as np\nimport torch\n\ndef f(a, b, x, d):\n    {code}\n    return y\n"
    def value(line, seed):
        rng = np.random.default_rng(seed)
        env = {n: torch.tensor(rng.uniform(0.5, 2.0, (3, 3)) * rng.choice([-1, 1], (3, 3))) for n in "abx"}
        env.update(d=1.5, np=np, torch=torch)
        if "np." in line:
            env.update({n: env[n].numpy() for n in "abx"})
        exec(line.replace("return y", "").strip(), env)
        return np.asarray(env["y"], dtype=float)
    found = generated(source, ("mutant",))
    assert found
    for q in found:
        for one, other in itertools.combinations(q.choices, 2):
            assert not all(np.allclose(value(one, s), value(other, s)) for s in range(3)), (one, other)


def test_parsons_key_never_orders_lines_that_touch_different_keys_of_a_dict():
    """`state['step'] += 1` neither reads nor writes `state['exp_avg']`: the three lines commute, so no key may
    reject an order (the window is asked only if its key is exactly what running every order says)."""
    source = textwrap.dedent('''
        import torch

        def step(state, group, grad):
            exp_avg, exp_avg_sq = state['exp_avg'], state['exp_avg_sq']
            beta1, beta2 = group['betas']
            state['step'] += 1

            exp_avg_sq.mul_(beta2).addcmul_(1 - beta2, grad, grad)
    ''')

    def run(lines):
        env = {"torch": torch, "state": {"exp_avg": torch.ones(2), "exp_avg_sq": torch.ones(2), "step": 3},
               "group": {"betas": (0.9, 0.99)}, "grad": torch.ones(2)}
        try:
            exec("\n".join(lines), env)
        except NameError:
            return None
        return {k: repr(v) for k, v in env.items() if k not in ("__builtins__", "torch")}
    for q in generated(source, ("parsons",)):
        reference = run(q.answer)
        really = {order for order in itertools.permutations(range(len(q.choices)))
                  if run([q.choices[i] for i in order]) == reference}
        assert _orders(q) == really, q.prompt


def test_mutant_feedback_says_what_each_wrong_option_would_compute():
    """Not a list of fault labels ("sign flipped: − instead of +; …"): every wrong option is named with what it
    computes differently, in words, and a mistake from the fault library with the belief behind it."""
    source = textwrap.dedent('''
        import torch

        def td_target(r, gamma, q_next, done_mask, tau, p, t):
            target = r + gamma * q_next * done_mask
            soft = t * (1.0 - tau) + p * tau
            return target, soft
    ''')
    found = generated(source, ("mutant",))
    assert found
    for q in found:
        assert "hide a mistake" not in q.explain and "sign flipped" not in q.explain
        wrong = [c for c in q.choices if c != q.answer]
        for option in wrong:
            assert f"`{option}`:" in q.explain, (option, q.explain)
            assert q.misconceptions[option] and not re.match(r"(sign flipped|operands swapped|÷|×)",
                                                             q.misconceptions[option]), q.misconceptions[option]
        if "gamma * q_next" in q.answer and any("gamma" not in c for c in wrong):
            assert "belief behind it" in q.explain


@pytest.mark.parametrize("code, card", [
    ("self.scale = self.head_dim ** -0.5", "attention-scale-factor"),
    ("attn = (q @ k.transpose(-2, -1)) * self.scale", "attention-scale"),
    ("q = rearrange(q, 'b n (h d) -> b h n d', h=heads)", "multihead-rearrange-split"),
    ("y = rearrange(y, 'b h n d -> b n (h d)')", "multihead-rearrange-merge"),
    ("h = self.mlp(self.norm(h)) + h", "residual"),
    ("y = tokens[:, j + 1:j + 1 + block]", "next-token-targets"),
    ("w = (1 - lr * (lam / n_train)) * w - lr * grad_w", "l2-weight-decay-factor"),
    ("m.mul_(b1).add_(g, alpha=1 - b1)", "adam-first-moment"),
    ("v = b2 * v + (1 - b2) * g ** 2", "adam-second-moment"),
    ("corr = 1 - b1 ** t", "adam-bias-correction"),
    ("p.mul_(1 - lr * weight_decay)", "decoupled-weight-decay"),
    ("mixed = eps * real_imgs + (1 - eps) * fake_imgs", "gradient-penalty-interpolates"),
    ("g = torch.autograd.grad(out.sum(), x_hat, create_graph=True)[0]", "create-graph"),
    ("h = detach(h)", "detach-hidden"),
    ("tq.data.copy_(tq.data * (1 - tau) + q.data * tau)", "soft-update"),
    ("c = (-t * torch.log(p) - (1 - t) * torch.log(1 - p)).mean()", "binary-cross-entropy"),
])
def test_central_ideas_of_attention_optimisers_and_gans_get_a_card(code, card):
    """Ideas an independent reviewer found asked nowhere (attention's scale kept in `self.scale`, einops heads,
    `x = f(x) + x`, next-token targets, hand-written L2 decay, Adam's moments and bias correction, AdamW's decay,
    WGAN-GP's interpolation and create_graph, truncated BPTT), in code written unlike the cards' examples."""
    source = "import math\nimport torch\nfrom einops import rearrange\n\ndef f(*a):\n" + textwrap.indent(code, "    ") + "\n"
    assert card in {q.idiom for q in generated(source, ("idiom",), seeds=[0])}


def test_values_computed_only_for_a_progress_bar_get_no_question():
    source = textwrap.dedent('''
        import torch

        def train(net, loader, criterion, optimizer):
            train_loss = correct = total = 0
            for batch_idx, (inputs, targets) in enumerate(loader):
                outputs = net(inputs)
                loss = criterion(outputs, targets)
                loss.backward()
                train_loss += loss.item()
                _, predicted = outputs.max(1)
                total += targets.size(0)
                correct += predicted.eq(targets).sum().item()
                progress_bar(batch_idx, len(loader), 'Loss: %.3f | Acc: %.3f%%' % (train_loss / (batch_idx + 1),
                                                                                  100. * correct / total))
    ''')
    index = index_of(source)
    logged = {n for n in questions.logging_only(index)}
    for text in ("train_loss += loss.item()", "_, predicted = outputs.max(1)", "correct += predicted"):
        assert any(text in index.lines[n - 1] for n in logged), text
    for q in questions.for_file(index, every=True):
        assert q.line not in logged, q.prompt


@pytest.mark.parametrize("source, family", [
    ("def fit(net, data, test):\n    net.train()\n    for x in data:\n        net(x)\n    net.eval()\n"
     "    return net(test)\n", {"train-mode", "eval-mode"}),
    ("import torch\n\nclass A:\n    def __init__(self, dim_head):\n        self.scale = dim_head ** -0.5\n\n"
     "    def forward(self, q, k):\n        return torch.matmul(q, k.transpose(-1, -2)) * self.scale\n",
     {"attention-scale", "attention-scale-factor"}),
])
def test_a_file_is_asked_one_card_of_a_family_not_its_mirror(tmp_path, state_dir, source, family):
    """`net.train()` and `net.eval()` asked in one file have mirror answers; the attention scale and its use
    ask one idea twice."""
    index = index_of(source)
    assert family <= {h.idiom.id for h in index.hits}
    for every in (False, True):
        asked = [q.idiom for q in questions.for_file(index, every=every) if q.idiom in family]
        assert len(asked) == 1, asked


def test_names_states_lambda_parameters_and_never_says_an_unknown_call_changes_nothing():
    source = textwrap.dedent('''
        import torch
        from einops import rearrange

        def f(optimizer_G, parser, qkv, heads):
            optimizer_G.zero_grad()
            parser.add_argument('--lr', default=0.1)
            q, k, v = map(lambda t: rearrange(t, 'b n (h d) -> b h n d', h=heads), qkv)
    ''')
    found = {q.line: q for q in generated(source, ("names",))}
    assert {6, 7, 8} <= set(found)
    for line in (6, 7):                               # zero_grad and add_argument change their objects
        assert "changes: none" not in found[line].explain
    assert "`t`" in found[8].prompt and "lambda" in found[8].prompt


def test_a_long_code_line_wraps_under_itself_never_at_column_zero():
    import io
    from rich.console import Console
    from tracer import show
    source = "import numpy as np\n\nclass Noise:\n    def __call__(self):\n" \
             "        x = self.x_prev + self.theta * (self.mu - self.x_prev) * self.dt + \\\n" \
             "                self.sigma * np.sqrt(self.dt) * np.random.normal(size=self.mu.shape)\n" \
             "        return x\n"
    qs = [q for q in generated(source, ("blank",), seeds=[0]) if q.line == 5]
    assert qs
    for width in (50, 80):
        out = io.StringIO()
        Console(file=out, width=width, color_system=None).print(show.question_view(1, 1, qs[0]))
        indent = None
        for line in out.getvalue().splitlines():
            if line.lstrip().startswith("x = "):
                indent = len(line) - len(line.lstrip())
            elif indent is not None and line.strip():
                assert len(line) - len(line.lstrip()) > indent, (width, line)   # a continuation stays inside the code
        assert indent is not None


def test_a_fault_labels_only_the_kind_of_line_it_is_about():
    """'Weights initialised far too small' fits `randn(...) * sqrt(2 / n_in)`, not an optimiser's step size that
    happens to be `lr * sqrt(a / b)` (the label would tell a learner about initialisation on an Adam line)."""
    source = "import math\nimport torch\n\ndef step(group, beta2_t, n_sma, n_max, beta1, t, n_in, n_out):\n" \
             "    step_size = group['lr'] * math.sqrt((1 - beta2_t) * (n_sma - 4) / (n_max - 2)) / (1 - beta1 ** t)\n" \
             "    w = torch.randn(n_in, n_out) * math.sqrt(2 / n_in)\n    return step_size, w\n"
    index = index_of(source)
    labels = {line: {fault.id for fault, _ in found} for line, found in index.faults.items()}
    assert "init-too-small" not in labels.get(5, set())
    assert "init-too-small" in labels.get(6, set())


def test_a_blank_is_not_asked_on_an_idea_its_card_already_asks():
    """Adam's bias correction asked by its card at one line, then `1 - beta1 ____ step` at the next: a drill."""
    source = textwrap.dedent('''
        import math

        def plain_step(group, beta1, state, exp_avg, denom, p):
            step_size = group['lr'] / (1 - beta1 ** state['step'])
            p.addcdiv_(-step_size, exp_avg, denom)

        def adamw_step(group, beta1, beta2, state, exp_avg, exp_avg_sq, p):
            denom = exp_avg_sq.sqrt().add_(group['eps'])
            bias_correction1 = 1 - beta1 ** state['step']
            step_size = group['lr'] * math.sqrt(1 - beta2 ** state['step']) / bias_correction1
            p.addcdiv_(-step_size, exp_avg, denom)
    ''')
    index = index_of(source)
    card_lines = {h.line for h in index.hits if h.idiom.id == "adam-bias-correction"}
    assert len(card_lines) == 2
    asked = questions.for_file(index)
    assert [q.idiom for q in asked].count("adam-bias-correction") == 1
    assert not [q for q in asked if q.source == "blank" and q.line in card_lines]


def test_min_and_max_are_not_swapped_inside_an_enclosing_max_or_min():
    """`max(a.max(), b.min())` equals `max(a.max(), b.max())` whenever a holds the largest value: on real data
    (labels of a train and a test split) nearly always, so it is no wrong option."""
    source = "def classes(y_train, y_test):\n    n_classes = int(max(y_train.max(), y_test.max())) + 1\n" \
             "    return n_classes\n"
    for q in generated(source, ("mutant",)):
        assert not any(".min()" in c for c in q.choices), q.choices


def test_context_above_a_line_in_an_else_branch_shows_the_else():
    source = textwrap.dedent('''
        import torch

        def gae(t, num_steps, next_done, dones, values, next_value):
            for t in reversed(range(num_steps)):
                if t == num_steps - 1:
                    nextnonterminal = 1.0 - next_done
                    nextvalues = next_value
                else:
                    nextnonterminal = 1.0 - dones[t + 1]
                    nextvalues = values[t + 1]
    ''')
    index = questions.SourceIndex(source)
    stmt = next(s for s in index.statements if s.code.startswith("nextnonterminal = 1.0 - dones"))
    context = questions._context(index, stmt)
    assert context.rstrip().endswith("else:"), context
