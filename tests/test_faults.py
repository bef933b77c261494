"""The fault library: every fault plants a one-statement, parsable, real change wherever its pattern occurs."""
import ast
from collections import Counter
from pathlib import Path

import pytest

from tracer.practice import faults
from tracer.practice.faults import CATEGORIES, FaultError, Mutation, catalogue, mutations, statement_mutations

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_FILES = {
    "ppo": ["train.py", "agent.py"],
    "mlp": ["model.py", "train.py", "data.py"],
}


def reference_mutations(repo):
    found = []
    for name in REFERENCE_FILES[repo]:
        path = ROOT / "minimal_impls" / repo / name
        found += mutations(path.read_text(), str(path))
    return found


@pytest.fixture(scope="module")
def planted():
    return {repo: reference_mutations(repo) for repo in REFERENCE_FILES}


def assert_one_statement_changed(m: Mutation, original_source: str):
    old, new = original_source.splitlines(), m.source.splitlines()
    tail = len(old) - m.end_line
    assert old[:m.line - 1] == new[:m.line - 1], "lines before the statement changed"
    assert old[len(old) - tail:] == new[len(new) - tail:] if tail else True, "lines after the statement changed"
    assert "\n".join(new[m.line - 1:len(new) - tail]).strip() != "" or m.mutated == ""
    assert ast.dump(ast.parse(m.source)) != ast.dump(ast.parse(original_source)), "a spelling-only change"


def test_catalogue_is_valid_and_covers_every_category():
    faults_ = catalogue()
    assert len({f.id for f in faults_}) == len(faults_)
    assert set(Counter(f.category for f in faults_)) == set(CATEGORIES)
    for fault in faults_:
        assert fault.title and fault.misconception and len(fault.explanation) > 80 and fault.rules


@pytest.mark.parametrize("repo", sorted(REFERENCE_FILES))
def test_each_reference_gets_at_least_15_kinds_in_5_categories(planted, repo):
    kinds = {m.fault.id for m in planted[repo]}
    assert len(kinds) >= 15, sorted(kinds)
    assert len({m.fault.category for m in planted[repo]}) >= 5


def test_every_fault_applies_to_a_reference_or_its_example(planted):
    applied = {m.fault.id for ms in planted.values() for m in ms}
    for fault in catalogue():
        if fault.id not in applied:
            assert fault.example, f"{fault.id} applies to no reference file and has no example"
            assert mutations(fault.example + "\n", faults=[fault]), fault.id


@pytest.mark.parametrize("repo", sorted(REFERENCE_FILES))
def test_every_mutation_parses_and_changes_exactly_one_statement(planted, repo):
    for m in planted[repo]:
        original = Path(m.path).read_text()
        assert_one_statement_changed(m, original)
        region = original.splitlines()[m.line - 1:m.end_line]
        assert "\n".join(region).strip().startswith(m.original.splitlines()[0].strip())
        if m.mutated:
            new_region = m.source.splitlines()[m.line - 1:m.mutated_end_line]
            assert [line.strip() for line in new_region] == [line.strip() for line in m.mutated.splitlines()]


def test_known_ppo_bugs_are_planted_where_people_write_them(planted):
    by_kind = {(m.fault.id, m.original): m.mutated for m in planted["ppo"]}
    assert by_kind[("gae-done-index", "nextnonterminal = 1.0 - dones[t + 1]")] == "nextnonterminal = 1.0 - dones[t]"
    assert by_kind[("ratio-no-exp", "ratio = logratio.exp()")] == "ratio = logratio"
    assert by_kind[("no-zero-grad", "optimizer.zero_grad()")] == ""
    assert by_kind[("pg-min-max", "pg_loss = torch.max(pg_loss1, pg_loss2).mean()")] == \
        "pg_loss = torch.min(pg_loss1, pg_loss2).mean()"
    # parentheses are kept where precedence needs them and not added where it does not
    assert by_kind[("lr-anneal-inverted", "frac = 1.0 - (iteration - 1.0) / args.num_iterations")] == \
        "frac = (iteration - 1.0) / args.num_iterations"
    lam = [m for m in planted["ppo"] if m.fault.id == "gae-lambda-dropped"]
    assert [m.mutated for m in lam] == ["lastgaelam = delta + args.gamma * nextnonterminal * lastgaelam"]


def test_removing_the_only_statement_of_an_if_removes_the_if(planted):
    (m,) = [m for m in planted["ppo"] if m.fault.id == "adv-not-normalised"]
    assert m.original.startswith("if args.norm_adv:") and m.mutated == ""
    assert "args.norm_adv" not in m.source


def test_faults_apply_to_code_that_is_not_ours():
    source = (
        "import torch\n"
        "def update(policy, optim, batch, old_logp, adv, eps=0.2):\n"
        "    logp = policy(batch)\n"
        "    log_ratio = logp - old_logp\n"
        "    r = torch.exp(log_ratio)\n"
        "    surr = torch.min(r * adv, r.clamp(1.0 - eps, 1.0 + eps) * adv)\n"
        "    loss = -torch.min(r * adv, r.clamp(1.0 - eps, 1.0 + eps) * adv).mean()\n"
        "    optim.zero_grad(set_to_none=True)\n"
        "    loss.backward()\n"
        "    optim.step()\n"
    )
    kinds = {m.fault.id: m for m in mutations(source, "other.py")}
    assert kinds["ratio-no-exp"].mutated == "r = log_ratio"
    assert kinds["clip-bounds-swapped"].mutated.count("r.clamp(1.0 + eps, 1.0 - eps)") == 1
    assert kinds["no-zero-grad"].mutated == "" and kinds["no-optimizer-step"].mutated == ""
    assert kinds["pg-sign"].mutated.startswith("loss = torch.min(")
    assert kinds["loss-under-no-grad"].mutated.startswith("with torch.no_grad():\n    loss = ")
    for m in kinds.values():
        assert_one_statement_changed(m, source)


def test_an_in_place_update_becomes_a_rebinding_only_where_it_is_a_statement():
    """update-not-in-place replaces the expression statement `p.sub_(...)` by an assignment; the same call
    used inside an expression (`q = p.sub_(d)`) cannot become an assignment there and is left alone."""
    source = (
        "def sgd(params, grads, lr):\n"
        "    for p, g in zip(params, grads):\n"
        "        p.sub_(lr * g)\n"
        "    q = params[0].sub_(lr)\n"
        "    return q\n"
    )
    found = [m for m in mutations(source, "sgd.py") if m.fault.id == "update-not-in-place"]
    assert [(m.line, m.mutated) for m in found] == [(3, "p = p - lr * g")]
    assert_one_statement_changed(found[0], source)


def test_lines_keeps_only_statements_inside_the_range():
    path = ROOT / "minimal_impls" / "ppo" / "train.py"
    text = path.read_text()
    start = text.splitlines().index("        with torch.no_grad():", 120) + 1
    inside = mutations(text, str(path), lines=(start, start + 17))
    assert inside and all(start <= m.line and m.end_line <= start + 17 for m in inside)
    assert {"gae-done-index", "returns-minus-values"} <= {m.fault.id for m in inside}
    assert "no-zero-grad" not in {m.fault.id for m in inside}


def test_statement_mutations_give_what_if_variants():
    variants = statement_mutations("ratio = logratio.exp()")
    assert ("ratio-no-exp", "ratio = logratio") in {(f.id, code) for f, code in variants}
    assert [(f.id, code) for f, code in statement_mutations("optimizer.zero_grad()")] == [("no-zero-grad", "")]
    header = {(f.id, code) for f, code in statement_mutations("for t in reversed(range(args.num_steps)):")}
    assert ("gae-loop-forward", "for t in range(args.num_steps):") in header
    assert statement_mutations("x = 1") == []


def one_rule(tmp_path, find, replace):
    """A catalogue with one rewrite fault, loaded."""
    cat = tmp_path / "faults.toml"
    cat.write_text(f'''[[fault]]
id = "one"
title = "t"
category = "loss/maths"
misconception = "m"
explanation = "e"
[[fault.rule]]
transform = "rewrite"
find = "{find}"
replace = "{replace}"
''')
    return catalogue(cat)


def test_a_rewrite_keeps_the_meaning_of_its_surroundings(tmp_path):
    drop_exp = one_rule(tmp_path, "$A.exp()", "$A")
    (m,) = mutations("y = c * (a + b).exp()\n", faults=drop_exp)
    assert m.mutated == "y = c * (a + b)"
    (m,) = mutations("y = (a + b).exp()\n", faults=drop_exp)
    assert m.mutated == "y = a + b"


def test_a_spelling_only_change_is_never_a_mutation(tmp_path):
    assert mutations("y = a+b\n", faults=one_rule(tmp_path, "$A+$B", "$A + $B")) == []


@pytest.mark.parametrize("body, message", [
    ('id = "x"\ntitle = "t"\ncategory = "maths"\nmisconception = "m"\nexplanation = "e"\n'
     '[[fault.rule]]\ntransform = "rewrite"\nfind = "$A"\nreplace = "$A"\n', ":5: category 'maths' is not one of"),
    ('id = "x"\ntitle = "t"\ncategory = "loss/maths"\nmisconception = "m"\nexplanation = "e"\ncolour = 1\n'
     '[[fault.rule]]\ntransform = "rewrite"\nfind = "$A"\nreplace = "$A"\n', ":8: unknown key 'colour'"),
    ('id = "x"\ntitle = "t"\ncategory = "loss/maths"\nmisconception = "m"\nexplanation = "e"\n'
     '[[fault.rule]]\ntransform = "shuffle_lines"\n', ":9: fault 'x': transform 'shuffle_lines' is not one of"),
    ('id = "x"\ntitle = "t"\ncategory = "loss/maths"\nmisconception = "m"\nexplanation = "e"\n'
     '[[fault.rule]]\ntransform = "rewrite"\nfind = "$A +"\nreplace = "$A"\n', ":8: fault 'x': '$A +' is neither"),
    ('id = "x"\ntitle = "t"\ncategory = "loss/maths"\nmisconception = "m"\nexplanation = "e"\n'
     '[[fault.rule]]\ntransform = "rewrite"\nfind = "$A + 1"\nreplace = "$B"\n', "'replace' uses $B"),
    ('id = "x"\ntitle = "t"\ncategory = "loss/maths"\nmisconception = "m"\nexplanation = "e"\nexample = "y = 2"\n'
     '[[fault.rule]]\ntransform = "rewrite"\nfind = "$A + 1"\nreplace = "$A"\n', ":8: fault 'x': no rule applies"),
])
def test_catalogue_errors_name_the_file_and_line(tmp_path, body, message):
    cat = tmp_path / "faults.toml"
    cat.write_text("# a catalogue\n[[fault]]\n" + body)
    with pytest.raises(FaultError) as info:
        faults.load_catalogue(cat)
    assert str(cat) in str(info.value) and message in str(info.value)


def test_duplicate_ids_are_rejected(tmp_path):
    one = ('[[fault]]\nid = "x"\ntitle = "t"\ncategory = "loss/maths"\nmisconception = "m"\nexplanation = "e"\n'
           '[[fault.rule]]\ntransform = "remove_call"\ncall = "step"\n')
    cat = tmp_path / "faults.toml"
    cat.write_text(one + one)
    with pytest.raises(FaultError, match=r":11: fault id 'x' is used twice \(first at line 2\)"):
        faults.load_catalogue(cat)


@pytest.mark.parametrize("repo", sorted(REFERENCE_FILES))
def test_no_two_faults_plant_the_same_mutant(planted, repo):
    """An exercise names a learner's mistake by the mutant it equals: each mutant must have one name."""
    by_source = {}
    for m in planted[repo]:
        assert by_source.setdefault(m.source, m.fault.id) == m.fault.id, (m.fault.id, by_source[m.source], m.mutated)


@pytest.mark.parametrize("content, message", [(b"\xff\xfe\x00binary", "faults.toml:1: not UTF-8 text"),
                                              (b"a = " + b"[" * 5000 + b"]" * 5000, "nested too deeply"),
                                              (b"[[fault]\n", "not valid TOML")])
def test_an_unreadable_catalogue_is_a_clear_error(tmp_path, content, message):
    cat = tmp_path / "faults.toml"
    cat.write_bytes(content)
    with pytest.raises(FaultError, match=message):
        faults.load_catalogue(cat)


# ----- a planted statement reads as if written that way: nothing in its layout gives it away ------------------
def planted_line(planted, repo, fault_id, original_start):
    (m,) = [m for m in planted[repo] if m.fault.id == fault_id and m.original.startswith(original_start)]
    return m, m.source.splitlines()[m.line - 1:m.mutated_end_line]


@pytest.mark.parametrize("fault_id", ["bias-grad-mean", "bias-grad-sum-all", "bias-grad-keepdim"])
def test_a_trailing_comment_stays_in_the_column_it_shares_with_its_neighbours(planted, fault_id):
    """model.py's linear_backward aligns its three comments at one column; a shorter or longer planted line
    must not pull its comment out of that column."""
    original = (ROOT / "minimal_impls" / "mlp" / "model.py").read_text().splitlines()
    m, (line,) = planted_line(planted, "mlp", fault_id, "db = dz.sum(dim=0)")
    column = original[m.line - 1].index("# dz/db")
    assert original[m.line - 2].index("# dz/dW") == column            # the neighbour it lines up with
    assert line.index("# dz/db") == column, line


def test_a_comment_after_a_narrow_gap_keeps_its_gap(planted):
    """`dz = grad if ... else relu_backward(grad, z)   # through the nonlinearity` lines up with nothing:
    the author's three spaces stay three spaces, not a jump to the old column."""
    _, (line,) = planted_line(planted, "mlp", "relu-backward-skipped", "dz = grad if")
    assert line.strip() == "dz = grad   # through the nonlinearity"


def test_a_continuation_line_stays_aligned_under_the_first_argument(planted):
    m, lines = planted_line(planted, "mlp", "validation-in-training", "x_train, y_train, x_valid")
    assert lines[0].strip().startswith("_, _, x_valid, y_valid = train_test_split(")
    assert lines[1].index("stratify") == lines[0].index("(") + 1, "\n".join(lines)
    assert len(m.original.splitlines()) == len(lines)


def test_alignment_is_kept_in_code_that_is_not_ours(tmp_path):
    swap = one_rule(tmp_path, "$A.sum(dim=0)", "$A.mean(dim=0)")
    lines = [("total = compute_the_total(values.sum(dim=0), weights,", "# the sum"),
             ("                          scale=2)", "# and its scale"), ("other = 1", "# lined up with it")]
    source = "".join(code.ljust(60) + comment + "\n" for code, comment in lines)
    (m,) = mutations(source, faults=swap)
    first, second, third = m.source.splitlines()
    assert first.index("# the sum") == second.index("# and its scale") == third.index("# lined up")
    assert second.index("scale=2") == first.index("(") + 1
    ast.parse(m.source)


def test_numbers_and_parentheses_are_written_as_people_write_them(planted):
    _, (line,) = planted_line(planted, "ppo", "lr-too-low", 'p.add_argument("--learning-rate"')
    assert "default=2.5e-5," in line                                  # not Python's repr 2.5e-05
    _, (line,) = planted_line(planted, "ppo", "mse-square-of-mean", "v_loss = 0.5 *")
    assert line.strip() == "v_loss = 0.5 * (newvalue - b_returns[mb_inds]).mean() ** 2"
