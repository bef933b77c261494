"""Edits never break the tour: stale steps are skipped, `check` names what vanished, `check --fix` re-anchors;
and two walkthroughs at once keep each other's progress and checkpoints."""
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import MLP_DIR, ROOT, WALKTHROUGH
from tracer import drift, spec


@pytest.fixture
def edited_ppo(tmp_path):
    """A copy of the PPO repo where the learner renamed `logratio` and `recent_returns`, and its walkthrough."""
    repo = tmp_path / "ppo"
    shutil.copytree(ROOT / "minimal_impls" / "ppo", repo)
    train = repo / "train.py"
    train.write_text(train.read_text().replace("logratio", "log_ratio").replace("recent_returns", "last_returns"))
    path = tmp_path / "ppo.toml"
    path.write_text((ROOT / "walkthroughs" / "ppo.toml").read_text().replace('repo = "ppo"', f'repo = "{repo}"'))
    return path


def run(*args, state_dir, input="", cwd=ROOT):
    env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(state_dir), "COLUMNS": "300", "NO_COLOR": "1"}
    return subprocess.run([str(WALKTHROUGH), *map(str, args)], capture_output=True, text=True, input=input, env=env,
                          timeout=120, cwd=cwd)


def test_a_renamed_variable_costs_only_its_own_step(edited_ppo):
    walkthrough = spec.load(edited_ppo, lenient=True)
    stale = {s.id: s.stale for s in walkthrough.steps if s.stale}
    assert set(stale) == {"ratio", "logging"}
    assert "nearest: line" in stale["ratio"] and "ratio = log_ratio.exp()" in stale["ratio"]
    assert all(s.line for s in walkthrough.steps if not s.stale)          # the 26 others resolve


def test_check_reports_and_fix_reanchors_only_what_is_confirmed(edited_ppo, state_dir):
    original = edited_ppo.read_text()
    proc = run("check", edited_ppo, state_dir=state_dir)
    out = " ".join(proc.stdout.split())
    assert proc.returncode == 2
    assert re.search(r"ppo\.toml:\d+: step 'ratio': no statement in train\.py, function main matches "
                     r"'ratio = logratio\.exp\(\)'; nearest: line \d+: ratio = log_ratio\.exp\(\)", out)

    partly = run("check", edited_ppo, "--fix", state_dir=state_dir, input="y\nn\n")   # yes to one, no to the other
    text = edited_ppo.read_text()
    assert 'at = "ratio = log_ratio.exp()"' in text and "float(np.mean(recent_returns))" in text
    changed = [line for line in text.splitlines() if line not in original.splitlines()]
    assert changed == ['at = "ratio = log_ratio.exp()"'], changed            # every other byte as it was
    assert "re-anchored 1 step(s): ratio" in partly.stdout

    fixed = run("check", edited_ppo, "--fix", "--yes", state_dir=state_dir)
    out = " ".join(fixed.stdout.split())
    assert "re-anchored 1 step(s): logging" in out
    # the watched names the learner renamed are reported, not silently dropped
    assert "step 'ratio': watch 'logratio': no name 'logratio' in train.py main() (did you mean 'log_ratio'?)" in out
    assert "step 'logging': watch 'recent_returns': no name 'recent_returns' in train.py main()" in out
    assert fixed.returncode == 2
    assert all(not s.stale for s in spec.load(edited_ppo, lenient=True).steps)


def test_nearest_unique_refuses_when_two_statements_match_equally(tmp_path):
    (tmp_path / "a.py").write_text("x = f(1)\ny = f(1)\n")
    path = tmp_path / "w.toml"
    path.write_text(f'title = "T"\nrepo = "{tmp_path}"\n[[run]]\nscript = "a.py"\n[[step]]\nid = "s"\n'
                    'title = "S"\nfile = "a.py"\nat = "z = f(1)"\n')
    step = spec.load(path, lenient=True).steps[0]
    fix, why = drift.nearest_unique(step, 0)
    assert fix is None and "match it equally well" in why


def test_rewriting_an_anchor_keeps_multiline_values_and_comments(tmp_path):
    path = tmp_path / "w.toml"
    path.write_text('# my notes\n[[step]]\nid = "s"\nat = """old\ncode"""  # keep?\ntext = "t"\n')
    step = spec.Step(id="s", title="", file="", at="")
    drift.rewrite_anchors(path, [drift.Reanchor(step, 0, None, 'new "quoted" \\ code')])
    assert path.read_text() == '# my notes\n[[step]]\nid = "s"\nat = "new \\"quoted\\" \\\\ code"\ntext = "t"\n'


def test_names_in_scope_see_params_locals_globals_and_builtins():
    names = drift.names_in_scope(MLP_DIR / "model.py", "MLP.backward")
    assert {"self", "dlogits", "cache", "grad", "layer", "torch", "relu_backward", "len"} <= names
    assert "fan_in" not in names                      # another method's local
    assert drift.free_names("[x for x in range(n)] and iteration == 10") == ["range", "n", "iteration"]


def _toy(tmp_path, name):
    repo = tmp_path / f"repo-{name}"
    repo.mkdir()
    (repo / "train.py").write_text("import sys, time\ntotal = 0\nfor i in range(3):\n    total += i\n"
                                   "    time.sleep(0.4)\nopen(sys.argv[1], 'w').write(str(total))\n")
    path = tmp_path / f"{name}.toml"
    path.write_text(f'title = "{name}"\nrepo = "{repo}"\n[[run]]\nscript = "train.py"\nargs = ["{{run_dir}}/out.txt"]\n'
                    '[[step]]\nid = "add"\ntitle = "Add"\nfile = "train.py"\nat = "total += i"\nevery = 1\n'
                    '[[step.question]]\nkind = "value"\nprompt = "i?"\nexpr = "i"\nafter = false\n')
    return path


def test_two_walkthroughs_at_once_keep_each_others_progress(tmp_path, state_dir):
    paths = [_toy(tmp_path, "first"), _toy(tmp_path, "second")]
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"add.1": "0"}))
    env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(state_dir), "NO_COLOR": "1"}
    procs = [subprocess.Popen([str(WALKTHROUGH), "start", p, "--answers", answers, "--generated", "0"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for p in paths + paths[:1]]                       # and the first one twice, at the same time
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    tours = json.loads((state_dir / "progress.json").read_text())["tours"]
    assert set(tours) == {"first", "second"}
    assert all(t["finished"] and t["answers"] == {"add.1": True} for t in tours.values())
    written = sorted(p.parent.name for p in (state_dir / "runs").glob("*/out.txt"))
    assert written == ["first", "first-2", "second"]           # the two runs of `first` wrote apart


def test_a_working_copy_with_a_rewritten_exercise_region_starts_without_those_steps(tmp_path, state_dir):
    from tracer.practice import workcopy

    copy = workcopy.create(MLP_DIR, tmp_path / "work" / "mlp", "exercise")
    model = copy.path / "model.py"
    model.write_text(model.read_text().replace("    dW = x.T @ dz ", "    grad_W = torch.einsum('ni,nj->ij', x, dz)\n"
                                                                 "    dW = grad_W "))
    proc = run("start", "mlp", "--repo", copy.path, "--auto", "--generated", "0", "--", "--epochs", "1",
               state_dir=state_dir)
    assert proc.returncode == 0, proc.stdout
    warnings = [line for line in proc.stdout.splitlines() if line.startswith("skipping step")]
    assert len(warnings) == 1
    assert re.match(r"skipping step \d+ \(dW\): no statement in model\.py, function linear_backward matches "
                    r"'dW = x\.T @ dz'; nearest: line \d+: .*\(your copy changed here; the tour goes on without "
                    r"this step\)", warnings[0])
    assert "The weight gradient" not in proc.stdout                 # the step's heading never shows
    assert re.search(r"skipped \(their code changed: `walkthrough check` names the nearest code\): dW",
                     " ".join(proc.stdout.split()))
    assert (ROOT / "walkthroughs" / "mlp.toml").read_text().count('at = "dW = x.T @ dz"') == 1   # not rewritten


def test_a_working_copy_with_an_edited_anchored_statement_stops_at_the_edited_statement(tmp_path, state_dir):
    from tracer.practice import workcopy

    copy = workcopy.create(MLP_DIR, tmp_path / "work" / "mlp", "exercise")
    model = copy.path / "model.py"
    model.write_text(model.read_text().replace("    dW = x.T @ dz ", "    dW = torch.einsum('ni,nj->ij', x, dz) "))
    proc = run("start", "mlp", "--repo", copy.path, "--auto", "--generated", "0", "--", "--epochs", "1",
               state_dir=state_dir)
    assert proc.returncode == 0, proc.stdout
    assert "skipping step" not in proc.stdout
    assert "The weight gradient" in proc.stdout and "torch.einsum('ni,nj->ij', x, dz)" in proc.stdout
