"""The idiom catalogue: teacher-written data, compiled patterns that match through imports, metavariables
that must agree, and errors that name the catalogue's file and line."""
import textwrap
import time

import pytest

from conftest import MLP_DIR, PPO_DIR
from tracer.quiz import idioms


def ids(source):
    return [(hit.idiom.id, hit.line) for hit in idioms.find_idioms(textwrap.dedent(source))]


def test_catalogue_has_at_least_30_idioms_whose_examples_match():
    catalogue = idioms.catalogue()
    assert len(catalogue) >= 30
    assert idioms.check_examples() == []
    for idiom in catalogue:
        assert idiom.examples and idiom.question.strip() and idiom.answer.strip()
        assert 2 <= len(idiom.wrong) <= 3
        assert all(w.misconception.strip() for w in idiom.wrong)
        assert len({idiom.answer, *(w.option for w in idiom.wrong)}) == len(idiom.wrong) + 1


@pytest.mark.parametrize("source", [
    "import torch.nn.functional as F\np = F.softmax(x, dim=-1)",
    "from torch.nn import functional as G\np = G.softmax(x, dim=-1)",
    "import torch\np = torch.nn.functional.softmax(x, dim=-1)",
    "from torch.nn.functional import softmax\np = softmax(x, dim=-1)",
    "p = x.softmax(dim=-1)",
])
def test_library_names_match_through_the_files_imports(source):
    assert ("softmax-dim", 2 if "\n" in source else 1) in ids(source)


def test_a_builtin_or_local_name_is_not_the_library_function():
    assert not any(i == "softmax-dim" for i, _ in ids("def softmax(x, dim):\n    return x\np = softmax(x, dim=-1)\n"))
    assert not any(i == "pessimistic-bound" for i, _ in ids("m = max(-a * r, -a * torch.clamp(r, 0, 1))\n"))
    assert ("pessimistic-bound", 1) in ids("m = torch.max(-a * r, -a * torch.clamp(r, 0, 1))\n")


def test_the_same_metavariable_must_match_the_same_code():
    assert ("standardise", 1) in ids("y = (a - a.mean()) / (a.std() + 1e-8)\n")
    assert not any(i == "standardise" for i, _ in ids("y = (a - b.mean()) / (a.std() + 1e-8)\n"))
    assert ("clip-ratio", 1) in ids("c = ratio.clamp(1 - eps, 1 + eps)\n")
    assert not any(i == "clip-ratio" for i, _ in ids("c = ratio.clamp(1 - eps, 1 + delta)\n"))


def test_keyword_arguments_match_in_any_order_and_extra_ones_are_allowed():
    assert ("clip-ratio", 1) in ids("c = torch.clamp(r, max=1 + e, min=1 - e)\n")
    assert ("softmax-dim", 1) in ids("p = F.softmax(x, dtype=torch.float32, dim=-1)\n")
    assert not any(i == "softmax-dim" for i, _ in ids("p = F.softmax(x, -1)\n"))   # the pattern names dim=


def test_where_constraints_restrict_metavariables():
    assert ("epsilon-denominator", 1) in ids("y = x / (n + 1e-8)\n")
    assert ("epsilon-denominator", 1) in ids("y = x / (n + self.eps)\n")
    assert not any(i == "epsilon-denominator" for i, _ in ids("y = x / (n + 1.0)\n"))
    assert not any(i == "done-mask" for i, _ in ids("p = 1 - probs\n"))


def test_a_pattern_of_several_statements_allows_a_gap_and_spans_its_lines():
    source = """
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 0.5)
        log(loss)
        optimizer.step()
    """
    hit = next(h for h in idioms.find_idioms(textwrap.dedent(source)) if h.idiom.id == "zero-backward-step")
    assert (hit.line, hit.end_line) == (2, 6)
    assert hit.text(hit.idiom.question) == ("Why is `optimizer.zero_grad()` called before `loss.backward()`, "
                                            "and `optimizer.step()` after it?")
    assert not any(i == "zero-backward-step" for i, _ in ids("opt.zero_grad()\nloss.backward()\nother.step()\n"))


def test_block_patterns_report_the_statement_line_not_the_comment_above():
    hit = next(h for h in idioms.find_idioms("x = 1\n# collect data\nwith torch.no_grad():\n    y = f(x)\n"))
    assert (hit.idiom.id, hit.line, hit.end_line, hit.code) == ("no-grad", 3, 4, "with torch.no_grad():")


def test_reference_code_idioms_are_found_where_they_are():
    source = (PPO_DIR / "train.py").read_text()
    found = {}
    for hit in idioms.find_idioms(source):
        found.setdefault(hit.idiom.id, hit)
    lines = source.splitlines()
    for idiom, text in [("pessimistic-bound", "pg_loss1 = -mb_advantages * ratio"),
                        ("clip-ratio", "torch.clamp(ratio"), ("grad-norm-clip", "clip_grad_norm_"),
                        ("td-error", "delta = rewards[t]"), ("done-mask", "1.0 - next_done"),
                        ("zero-backward-step", "optimizer.zero_grad()")]:
        assert text in lines[found[idiom].line - 1], idiom
    model = {hit.idiom.id for hit in idioms.find_idioms((MLP_DIR / "model.py").read_text())}
    assert {"subtract-max", "arange-index", "he-init", "relu-backward"} <= model


@pytest.mark.parametrize("entry, message", [
    ('id = "x"\ntitle = "t"\n', "lacks"),
    ('id = "x"\ntitle = "t"\ncolour = "red"\n', "unknown key 'colour'"),
    ('id = "x"\ntitle = "t"\nexplanation = "e"\nquestion = "q"\nanswer = "a"\nexamples = ["f()"]\n'
     'patterns = ["f("]\nwrong = [{ option = "b", misconception = "m" }, { option = "c", misconception = "n" }]\n',
     "is not Python code"),
    ('id = "x"\ntitle = "t"\nexplanation = "e"\nquestion = "q"\nanswer = "a"\nexamples = ["f()"]\n'
     'patterns = ["f()"]\nwrong = [{ option = "b", misconception = "m" }]\n', "give 2 or 3 wrong options"),
    ('id = "x"\ntitle = "t"\nexplanation = "e"\nquestion = "q"\nanswer = "a"\nexamples = ["f()"]\n'
     'patterns = ["f($A)"]\nwhere = { A = "tiny" }\n'
     'wrong = [{ option = "b", misconception = "m" }, { option = "c", misconception = "n" }]\n', "where.A"),
])
def test_a_broken_catalogue_entry_is_reported_with_file_and_line(tmp_path, entry, message):
    path = tmp_path / "idioms.toml"
    path.write_text("# a comment\n\n[[idiom]]\n" + entry)
    with pytest.raises(idioms.CatalogueError) as error:
        idioms.load(path)
    assert f"{path}:3" in str(error.value) and message in str(error.value)


def test_an_example_that_does_not_match_is_reported(tmp_path):
    path = tmp_path / "idioms.toml"
    path.write_text('[[idiom]]\nid = "x"\ntitle = "t"\nexplanation = "e"\nquestion = "q"\nanswer = "a"\n'
                    'examples = ["g()"]\npatterns = ["f()"]\n'
                    'wrong = [{ option = "b", misconception = "m" }, { option = "c", misconception = "n" }]\n')
    problems = idioms.check_examples(path)
    assert len(problems) == 1 and f"{path}:1" in problems[0] and "not matched" in problems[0]


def test_finding_idioms_in_a_300_line_file_is_fast():
    source = (PPO_DIR / "train.py").read_text()
    source = source + "\n" + source[source.index("def main"):].replace("def main", "def main2")
    idioms.find_idioms(source)      # compile the catalogue
    start = time.perf_counter()
    hits = idioms.find_idioms(source)
    assert time.perf_counter() - start < 2.0 and len(hits) > 20    # budget: 2 s per 300 lines, all questions


def test_walkthrough_check_validates_the_catalogue(tmp_path, state_dir):
    from conftest import walkthrough
    ok = walkthrough("check", idioms.CATALOGUE, state_dir=state_dir)
    assert ok.returncode == 0 and "every example matched" in ok.stdout
    broken = tmp_path / "idioms.toml"
    broken.write_text(idioms.CATALOGUE.read_text().replace("examples = ['''self.grad += out.grad''']",
                                                           "examples = ['''self.grad = out.grad''']"))
    bad = walkthrough("check", broken, state_dir=state_dir)
    out = " ".join(bad.stdout.split())
    assert bad.returncode == 2 and "grad-accumulate" in out and "not matched" in out
