"""walkthrough bughunt: a bug is planted only when it changes the run; the learner's guesses, hints and reveal."""
import json
from pathlib import Path

import pytest

from conftest import MLP_DIR, walkthrough
from tracer.practice import bughunt, faults

SHORT = ["--", "--epochs", "2"]


@pytest.fixture(scope="module")
def hunt_state(tmp_path_factory):
    return tmp_path_factory.mktemp("hunt-state")


@pytest.fixture(scope="module")
def planted(hunt_state, tmp_path_factory):
    """A hunt for the averaged bias gradient in the MLP, planted through the command line as a learner would."""
    cwd = tmp_path_factory.mktemp("learner")
    proc = walkthrough("bughunt", "mlp", "--kind", "bias-grad-mean", "--seed", "5", *SHORT, state_dir=hunt_state, cwd=cwd)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return cwd, proc.stdout


def entry_of(state_dir, name="mlp"):
    return json.loads((state_dir / "progress.json").read_text())["hunts"][name]


def test_planting_shows_the_symptom_and_hides_the_answer_from_the_copy(planted, hunt_state):
    cwd, out = planted
    assert "A bug is planted" in out and "with the bug" in out and "healthy" in out
    assert "walkthrough start mlp --repo walkthrough-work/bughunt-mlp" in out
    copy = cwd / "walkthrough-work" / "bughunt-mlp"
    changed = [line for line in (copy / "model.py").read_text().splitlines()
               if line not in (MLP_DIR / "model.py").read_text().splitlines()]
    assert [line.split("#")[0].strip() for line in changed] == ["db = dz.mean(dim=0)"]
    assert "bias-grad" not in (copy / ".walkthrough-copy.json").read_text()
    entry = entry_of(hunt_state)
    assert entry["fault"] == "bias-grad-mean" and entry["verdict"]["live"]
    assert (copy / "symptom.png").stat().st_size > 1000


def test_the_first_diverging_tour_step_is_found_for_a_known_bug(planted, hunt_state):
    """The bias gradient is only used by the SGD step: the step's 4th execution (the first bias; weights come
    first in the parameter list) is where the values first differ."""
    divergence = entry_of(hunt_state)["divergence"]
    assert (divergence["step_id"], divergence["hit"]) == ("update", 4)
    assert "v" in divergence["names"]


def test_the_divergence_names_only_values_that_differ_and_says_when(hunt_state, monkeypatch, tmp_path):
    """velocity-unused steps by `g` instead of `v`: `g` has the same value in both programs (only the buggy line reads
    it), and at the first optimiser step v == g, so nothing differs until the second step; there `p` differs once
    the statement has run. The hint must say exactly that, not name `g`."""
    monkeypatch.setenv("WALKTHROUGH_STATE_DIR", str(hunt_state))
    cfg = bughunt.load_config()["mlp"]
    (mutation,) = [m for m in bughunt.candidates(cfg) if m.fault.id == "velocity-unused"]
    copy = bughunt.stage_copy(cfg, {mutation.path: mutation.source}, tmp_path)
    divergence = bughunt.first_divergence(cfg, copy)
    assert (divergence.step_id, divergence.hit, divergence.names, divergence.after) == ("update", 8, ["p"], True)
    hint = bughunt.hint_text({"verdict": bughunt.Verdict(True, "metric", "").to_json(), "divergence":
                              divergence.to_json(), "dir": str(copy), "seeds": cfg.seeds}, 3, cfg)
    assert "execution number 8" in hint and "once the stop's statement has run" in hint and "`g`" not in hint


def test_running_it_again_resumes_the_hunt(planted, hunt_state):
    cwd, _ = planted
    proc = walkthrough("bughunt", "mlp", "--seed", "99", state_dir=hunt_state, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert "Bug hunt resumed" in proc.stdout and "resuming it" in proc.stdout
    assert entry_of(hunt_state)["fault"] == "bias-grad-mean"


@pytest.mark.parametrize("guess, message", [("model.py:x", "write FILE:LINE"), ("nosuch.py:3", "no file 'nosuch.py'"),
                                            ("model.py:99999", "model.py has lines 1-")])
def test_a_malformed_guess_is_a_usage_error(planted, hunt_state, guess, message):
    proc = walkthrough("bughunt", "mlp", "--guess", guess, state_dir=hunt_state, cwd=planted[0])
    assert proc.returncode == 2 and message in proc.stdout


def test_guess_hint_and_reveal_as_a_learner_does(planted, hunt_state):
    cwd, _ = planted
    lines = (cwd / "walkthrough-work" / "bughunt-mlp" / "model.py").read_text().splitlines()
    line = next(n for n, text in enumerate(lines, start=1) if text.strip().startswith("db = dz.mean(dim=0)"))
    wrong = walkthrough("bughunt", "mlp", "--guess", f"model.py:{line + 1}", state_dir=hunt_state, cwd=cwd)
    assert wrong.returncode == 1 and "not there" in wrong.stdout and "hint 1/4" in wrong.stdout
    hint = walkthrough("bughunt", "mlp", "--hint", state_dir=hunt_state, cwd=cwd)
    assert hint.returncode == 0 and "hint 2/4" in hint.stdout and "backward pass" in hint.stdout
    right = walkthrough("bughunt", "mlp", "--guess", f"walkthrough-work/bughunt-mlp/model.py:{line}",
                        state_dir=hunt_state, cwd=cwd)
    assert right.returncode == 0 and "yes" in right.stdout
    assert "2 guess(es), 2 hint(s)" in right.stdout
    entry = entry_of(hunt_state)
    assert entry["found"] and [g["right"] for g in entry["guesses"]] == [False, True]
    reveal = walkthrough("bughunt", "mlp", "--reveal", state_dir=hunt_state, cwd=cwd)
    assert reveal.returncode == 0
    assert "+    db = dz.mean(dim=0)" in reveal.stdout
    assert faults.by_id("bias-grad-mean").title in reveal.stdout
    assert "where the values first differ, in the order the program runs: step 13" in reveal.stdout
    progress = walkthrough("progress", state_dir=hunt_state, cwd=cwd)
    assert progress.returncode == 0
    assert "bug hunts" in progress.stdout
    row = next(line for line in progress.stdout.splitlines() if line.strip("│ ").startswith("mlp "))
    assert [cell.strip() for cell in row.split("│")][1:5] == ["mlp", "found", "2", "2"]     # hunt, now, guesses, hints


def test_the_live_check_rejects_an_equivalent_mutant(planted, hunt_state, monkeypatch):
    """weight_decay is 0 by default, so dropping the weight-decay term changes nothing the program computes."""
    monkeypatch.setenv("WALKTHROUGH_STATE_DIR", str(hunt_state))
    cfg = bughunt.load_config()["mlp"]
    (equivalent,) = [m for m in bughunt.candidates(cfg) if m.fault.id == "weight-decay-ignored"]
    (live,) = [m for m in bughunt.candidates(cfg) if m.fault.id == "bias-grad-mean"]
    verdicts = bughunt.verify(cfg, [equivalent, live], SHORT[1:])
    assert verdicts[0].kind == "equivalent" and not verdicts[0].live
    assert verdicts[1].live and verdicts[1].kind == "metric"
    proc = walkthrough("bughunt", "mlp", "--kind", "weight-decay-ignored", "--dir", "other", *SHORT,
                       state_dir=hunt_state, cwd=planted[0])
    shown = " ".join(proc.stdout.split())
    assert proc.returncode == 2 and "does not change what mlp's short runs log" in shown
    assert "Nothing was planted; a hunt under way is unchanged" in shown
    assert not (planted[0] / "other").exists()


def test_a_bug_that_dies_with_a_traceback_is_planted_only_when_asked_for(planted, hunt_state, monkeypatch):
    """A shape error in the hand-written backward pass dies with a traceback naming the line: not a hunt unless
    the learner asks for it. A bug that makes training diverge stops with train.py's own message and is planted."""
    monkeypatch.setenv("WALKTHROUGH_STATE_DIR", str(hunt_state))
    cfg = bughunt.load_config()["mlp"]
    (shape,) = [m for m in bughunt.candidates(cfg) if m.fault.id == "linear-backward-w-not-transposed"]
    (diverges,) = [m for m in bughunt.candidates(cfg) if m.fault.id == "ce-grad-times-n"]
    shape_verdict, diverges_verdict = bughunt.verify(cfg, [shape, diverges], SHORT[1:])
    assert shape_verdict.kind == "crash" and shape_verdict.traceback and not shape_verdict.plantable
    assert diverges_verdict.kind == "crash" and "training diverged" in diverges_verdict.crash
    assert not diverges_verdict.traceback and diverges_verdict.plantable

    monkeypatch.setattr(bughunt, "candidates", lambda cfg: [shape, diverges])
    for seed in range(4):            # whichever comes first in the seed's order, the shape error is passed over
        mutation, verdict, rejected = bughunt.choose(cfg, seed, SHORT[1:])
        assert mutation.fault.id == "ce-grad-times-n"
    mutation, verdict, _ = bughunt.choose(cfg, 0, SHORT[1:], kind="linear-backward-w-not-transposed")
    assert mutation.fault.id == "linear-backward-w-not-transposed" and verdict.traceback


def test_a_copy_with_the_learners_edits_is_not_replaced_without_force(planted, hunt_state, tmp_path):
    copy = tmp_path / "mine"
    copy.mkdir()
    (copy / "notes.txt").write_text("mine")
    proc = walkthrough("bughunt", "mlp", "--dir", str(copy), *SHORT, state_dir=hunt_state, cwd=planted[0])
    assert proc.returncode == 2 and "not a walkthrough copy" in " ".join(proc.stdout.split())   # long paths wrap
    assert (copy / "notes.txt").read_text() == "mine"


def test_a_removed_statement_is_found_on_either_side_of_the_gap(monkeypatch, tmp_path):
    monkeypatch.setenv("WALKTHROUGH_STATE_DIR", str(tmp_path))
    source = (MLP_DIR / "train.py").read_text()
    (m,) = [m for m in faults.mutations(source, "train.py") if m.fault.id == "no-optimizer-step"]
    entry = {"repo": "mlp", "dir": str(tmp_path / "copy"), "file": "train.py", "line": m.line,
             "mutated": "", "mutated_end_line": m.mutated_end_line}
    secrets = bughunt._secrets(bughunt.hunt_name("mlp", tmp_path / "copy"))
    secrets.mkdir(parents=True)
    (secrets / "planted.py").write_text(m.source)
    ((low, high),) = bughunt.accepted(entry)
    lines = m.source.splitlines()
    assert "dWs, dbs, _ = model.backward" in lines[low - 1] and "epoch_loss +=" in lines[high - 1]


def test_a_removed_tour_statement_is_skipped_by_the_watchdog_and_the_divergence(monkeypatch, tmp_path):
    """Removing `x_train, x_test = (x_train - mean) / std, ...` takes away the anchor of the tour's standardisation
    step: that step cannot stop on the copy, and the rest of the run is still checked and compared."""
    from tracer.practice.checks import run_checked_subprocess

    monkeypatch.setenv("WALKTHROUGH_STATE_DIR", str(tmp_path / "state"))
    cfg = bughunt.load_config()["mlp"]
    (m,) = [m for m in bughunt.candidates(cfg) if m.fault.id == "inputs-not-standardised"]
    assert m.mutated == ""
    copy = bughunt.stage_copy(cfg, {m.path: m.source}, tmp_path)
    result = run_checked_subprocess("mlp", copy, ["--epochs", "1"], watch=True)
    assert result["error"] is None and result["stops"] is not None
    divergence = bughunt.first_divergence(cfg, copy)
    assert divergence is not None and not divergence.crashed and divergence.step_id not in ("", "standardize")


def test_on_a_hunt_copy_a_removed_tour_statement_is_followed_not_skipped(tmp_path):
    """Skipping the step whose statement a bug removed ('skipping step 23 (optim-step) ... your copy changed
    here') would name the bug: on a bug-hunt copy the step stops at the statement after the gap instead."""
    from tracer import spec
    from tracer.practice import workcopy

    cfg = bughunt.load_config()["ppo"]
    (m,) = [m for m in bughunt.candidates(cfg) if m.fault.id == "no-optimizer-step"]
    for kind in ("bughunt", "exercise"):
        workcopy.create(cfg.origin, tmp_path / kind, kind, replace={m.path: m.source}, force=True)
    hunt = {s.id: s for s in spec.load(spec.find("ppo"), repo=tmp_path / "bughunt").steps}
    assert not hunt["optim-step"].stale and hunt["optim-step"].line >= m.line
    assert "optimizer.step()" not in hunt["optim-step"].code
    exercise = {s.id: s for s in spec.load(spec.find("ppo"), repo=tmp_path / "exercise").steps}
    assert exercise["optim-step"].stale           # a learner's own rewrite is still skipped, with a warning


@pytest.mark.parametrize("repo", ["ppo", "mlp"])
def test_no_removed_statement_of_a_hunt_is_announced_by_a_skipped_step(repo, tmp_path):
    """Every planted removal of a tour step's statement (a line deleted in the middle of a block, as
    `clip_grad_norm_` or the standardisation, not only the last of a block) is followed to the statement after
    the gap: a 'skipping step N ... your copy changed here' before step 1 would name the bug."""
    from tracer import spec
    from tracer.practice import workcopy

    cfg = bughunt.load_config()[repo]
    reference = {(s.file, s.line): s.id for s in spec.load(spec.find(cfg.walkthrough)).steps}
    removals = [m for m in bughunt.candidates(cfg) if m.mutated == "" and (m.path, m.line) in reference]
    assert removals                   # ppo: clip_grad_norm_, optimizer.step() ...; mlp: the standardisation
    for n, m in enumerate(removals):
        copy = workcopy.create(cfg.origin, tmp_path / f"c{n}", "bughunt", replace={m.path: m.source}, force=True)
        steps = {s.id: s for s in spec.load(spec.find(cfg.walkthrough), repo=tmp_path / f"c{n}").steps}
        step = steps[reference[(m.path, m.line)]]
        assert not step.stale, (m.fault.id, step.stale)
        assert step.line >= m.line, m.fault.id


def test_a_stage_of_one_tour_step_is_refused_by_check(tmp_path):
    """Hint 2 names the stage and hint 3 the step: a one-step stage would make hint 2 give hint 3 away."""
    text = bughunt.CONFIG.read_text()
    assert bughunt.check_config(bughunt.CONFIG) == []
    one_step = text + '\n[[hunt.stage]]\nname = "solo"\nabout = "one step"\nsteps = ["update"]\n'
    (tmp_path / "bughunts.toml").write_text(one_step)
    (problem,) = bughunt.check_config(tmp_path / "bughunts.toml")
    assert "stage 'solo' has only 1 tour step" in problem


def test_hint_2_never_names_a_stage_the_bug_is_not_in():
    """MLP.parameters() has no tour step: the initialisation just above it is another stage, so the hint names the
    file and the stage where the bug's effect first shows, and says which is which."""
    cfg = bughunt.load_config()["mlp"]
    assert bughunt.stage_near(cfg, "model.py", 78) is None                      # def parameters(): ...
    assert bughunt.stage_near(cfg, "model.py", 120).name == "backward pass and update"
    entry = {"verdict": bughunt.Verdict(True, "metric", "").to_json(), "dir": ".", "seeds": [0], "file": "model.py",
             "stage": "backward pass and update", "stage_is_effect": True}
    hint = bughunt.hint_text(entry, 2, cfg)
    assert hint.startswith("The bug is in model.py, in code that no tour step stops at; its effect first shows in "
                           "the backward pass and update stage")


def test_the_tour_on_a_hunt_copy_asks_no_question(planted, hunt_state):
    """Questions were written for the healthy code: on the buggy copy a premise or an answer can be false (the GAE
    loop run forwards, 't is the last step') and point at the bug. The tour is the instrument: stops, no quiz."""
    import os

    import pexpect
    from conftest import WALKTHROUGH
    cwd, _ = planted
    env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(hunt_state), "COLUMNS": "150"}
    child = pexpect.spawn(str(WALKTHROUGH), ["start", "mlp", "--repo", "walkthrough-work/bughunt-mlp", "--", "--epochs",
                                             "1"], cwd=str(cwd), env=env, encoding="utf-8", timeout=90)
    child.expect("no questions on this tour")
    index = child.expect(["walkthrough> ", "answer> "])
    assert index == 0
    child.sendline("q")
    child.expect(pexpect.EOF)
