"""Implement it yourself: stubbed working copies, checks against the recorded run, named mistakes, hints, --watch.

The reference runs are recorded once for the module (a few seconds) and their cache is copied into each
test's own state directory, so every test has its own progress but nothing is recorded twice.
"""
import json
import os
import shutil
import time
from pathlib import Path

import pexpect
import pytest

from conftest import ROOT, WALKTHROUGH, walkthrough
from tracer.engine import recorder
from tracer.practice import exercises, grading, implement

DATA = ROOT / "tests" / "data" / "exercises"


def attempt(exercise_id: str, name: str) -> tuple[str, str]:
    code, _, helpers = (DATA / exercise_id / name).read_text().partition("# --- module ---\n")
    return code, helpers


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A state directory holding the recordings of both repos (and their mutants' outputs)."""
    state = tmp_path_factory.mktemp("recorded-state")
    saved = os.environ.get("WALKTHROUGH_STATE_DIR")
    os.environ["WALKTHROUGH_STATE_DIR"] = str(state)
    try:
        for catalogue in exercises.catalogues():
            grading.recording_file(catalogue)
            for exercise in catalogue.exercises:          # and the mutants' outputs the named-mistake tests use
                if exercise.id in ("gae", "ppo-loss", "linear-backward", "cross-entropy-backward"):
                    checker = grading.Checker(catalogue, exercise)
                    checker.mutant_results(checker.moments())
    finally:
        if saved is None:
            del os.environ["WALKTHROUGH_STATE_DIR"]
        else:
            os.environ["WALKTHROUGH_STATE_DIR"] = saved
    return state


@pytest.fixture
def state(recorded, tmp_path, monkeypatch):
    """This test's own state directory, with the recordings already there."""
    mine = tmp_path / "state"
    shutil.copytree(recorded / "cache", mine / "cache")
    monkeypatch.setenv("WALKTHROUGH_STATE_DIR", str(mine))
    return mine


_checkers: dict = {}      # one Checker per exercise for the module: it depends only on the recording


def copy_with(exercise_id: str, repo: str, work: Path, code: str | None = None, helpers: str = ""):
    """A working copy with the exercise stubbed, then (if given) the learner's code in place of the stub."""
    if (repo, exercise_id) not in _checkers:
        catalogue, exercise = exercises.find(repo, exercise_id)
        for other in catalogue.exercises:
            if other.region is None:
                exercises.locate(other)
        checker = grading.Checker(catalogue, exercise)
        _checkers[repo, exercise_id] = checker, recorder.load(checker.recording, exercise.repo_dir)[exercise.id][0]
    checker, first = _checkers[repo, exercise_id]
    catalogue, exercise = checker.catalogue, checker.exercise
    implement.prepare_copy(catalogue, exercise, work / repo, first, force=True)
    if code is not None:
        implement.write_attempt(work / repo, exercise, code, helpers)
    return checker, work / repo


ALL = [(c.repo, e.id) for c in exercises.catalogues(locate_regions=False) for e in c.exercises]


def test_ten_exercises_ship_with_staged_hints_and_the_required_ones():
    assert len(ALL) >= 10
    assert {("ppo", "gae"), ("ppo", "ppo-loss"), ("mlp", "linear-backward"), ("mlp", "cross-entropy-backward")} <= set(ALL)
    for catalogue in exercises.catalogues(locate_regions=False):
        for exercise in catalogue.exercises:
            assert exercise.hints.idea.strip() and exercise.hints.term.strip(), exercise.key
            assert "____" in implement.faded(exercise) or exercise.hints.faded, exercise.key


@pytest.mark.parametrize("repo,exercise_id", ALL)
def test_stub_fails_and_the_reference_passes(state, tmp_path, repo, exercise_id):
    checker, copy = copy_with(exercise_id, repo, tmp_path)
    stub = grading.check(checker, copy)
    assert not stub.passed and stub.stage == "ran" and "stub is still there" in stub.problem
    implement.write_attempt(copy, checker.exercise, implement.solution(checker.exercise, signature=False))
    report = grading.check(checker, copy)
    assert report.passed, (report.stage, report.problem, report.difference)
    assert len(report.moments) >= 2


@pytest.mark.parametrize("exercise_id,repo,name,fault", [
    ("gae", "ppo", "wrong_done_index.py", "gae-done-index"),
    ("ppo-loss", "ppo", "wrong_min_instead_of_max.py", "pg-min-max"),
    ("ppo-loss", "ppo", "wrong_policy_detached.py", "policy-detached"),
    ("linear-backward", "mlp", "wrong_dx_not_transposed.py", "linear-backward-w-not-transposed"),
    ("cross-entropy-backward", "mlp", "wrong_no_clone.py", "probs-not-cloned"),
])
def test_a_wrong_version_fails_with_the_right_named_mistake(state, tmp_path, exercise_id, repo, name, fault):
    checker, copy = copy_with(exercise_id, repo, tmp_path, *attempt(exercise_id, name))
    report = grading.check(checker, copy)
    assert not report.passed
    assert [m.fault_id for m in report.mistakes] == [fault]


def test_an_unknown_mistake_is_rejected_but_never_named(state, tmp_path):
    checker, copy = copy_with("gae", "ppo", tmp_path, *attempt("gae", "wrong_mask_both_wrong.py"))
    report = grading.check(checker, copy)
    assert not report.passed and report.stage == "values" and report.mistakes == []
    assert report.mistakes_checked > 10


def test_restructured_correct_file_passes(state, tmp_path):
    checker, copy = copy_with("gae", "ppo", tmp_path, *attempt("gae", "right_helper_function.py"))
    train = copy / "train.py"
    text = train.read_text()    # the learner also reorganises the file around the block
    text = text.replace("def parse_args(argv=None):", "SEED_NOTE = 'mine'\n\n\ndef parse_args(argv=None):")
    text = text.replace("    # seeding: the same seed gives the same run, number for number\n", "\n    # my notes\n\n")
    train.write_text(text)
    report = grading.check(checker, copy)
    assert report.passed, (report.stage, report.problem, report.difference)


def test_the_learners_exception_is_shown_with_their_line(state, tmp_path):
    code = "advantages = torch.zeros_like(rewards)\nfor t in range(args.num_steps):\n    advantages[t] = rewards[t + 1]\nreturns = advantages + values\n"
    checker, copy = copy_with("gae", "ppo", tmp_path, code)
    report = grading.check(checker, copy)
    line = next(n for n, text in enumerate((copy / "train.py").read_text().splitlines(), 1) if "rewards[t + 1]" in text)
    assert report.stage == "ran"
    assert f'train.py", line {line}, in main' in report.error
    assert "advantages[t] = rewards[t + 1]" in report.error and "IndexError" in report.error
    assert "tracer" not in report.error                     # only the learner's frames


def test_an_endless_loop_is_stopped_and_a_return_in_a_block_explained(state, tmp_path, monkeypatch):
    monkeypatch.setattr(grading, "RUN_SECONDS", 0.2)
    checker, copy = copy_with("lr-annealing", "ppo", tmp_path, "while True:\n    pass\n")
    report = grading.check(checker, copy)
    assert report.stage == "ran" and "still running after" in report.problem
    checker, copy = copy_with("lr-annealing", "ppo", tmp_path, "return 0.1\n")
    report = grading.check(checker, copy)
    assert report.stage == "ran" and "cannot return or yield" in report.problem


def test_in_place_updates_are_required_where_the_model_holds_the_tensors(state, tmp_path):
    checker, copy = copy_with("sgd-momentum", "mlp", tmp_path,
                              *attempt("sgd-momentum", "wrong_rebinds_instead_of_in_place.py"))
    report = grading.check(checker, copy)
    assert not report.passed and "in place" in report.difference.message
    checker, copy = copy_with("sgd-momentum", "mlp", tmp_path, *attempt("sgd-momentum", "right_copy_in_place.py"))
    assert grading.check(checker, copy).passed


def test_derived_case_catches_an_unstable_softmax(state, tmp_path):
    checker, copy = copy_with("softmax-cross-entropy", "mlp", tmp_path,
                              *attempt("softmax-cross-entropy", "wrong_unstable.py"))
    report = grading.check(checker, copy)
    assert not report.passed and report.moment.startswith("huge logits")


def run_cli(state, work, *args):
    """The `walkthrough` console script in a new process, as a learner runs it."""
    return walkthrough(*args, state_dir=state, cwd=work, timeout=120)


class InProcess:
    """`walkthrough ARGS` run through tracer.cli.main in this process (no new interpreter, no torch import)."""

    def __init__(self, capsys, monkeypatch, work):
        self.capsys = capsys
        monkeypatch.chdir(work)
        monkeypatch.setenv("COLUMNS", "200")
        monkeypatch.setenv("NO_COLOR", "1")

    def __call__(self, *args):
        from types import SimpleNamespace

        from tracer import cli

        self.capsys.readouterr()
        code = cli.main(list(args))
        return SimpleNamespace(returncode=code, stdout=self.capsys.readouterr().out)


def test_the_learners_loop_from_the_command_line(state, tmp_path, capsys, monkeypatch):
    made = run_cli(state, tmp_path, "implement", "ppo", "gae")
    assert made.returncode == 0, made.stdout + made.stderr
    train = tmp_path / "walkthrough-work" / "ppo" / "train.py"
    stub = train.read_text()
    assert 'raise NotImplementedError("exercise gae' in stub and "Tensor [32, 8] float32" in stub
    assert "edit walkthrough-work/ppo/train.py, lines" in made.stdout and "Â_t = δ_t + γλ" in made.stdout

    cli = InProcess(capsys, monkeypatch, tmp_path)
    listing = cli("exercises")
    assert listing.returncode == 0 and "ppo/gae" in listing.stdout and "new" in listing.stdout
    failing = cli("implement", "ppo", "gae", "--check")
    assert failing.returncode == 1 and "the stub is still there" in failing.stdout

    catalogue, exercise = exercises.find("ppo", "gae")
    implement.write_attempt(tmp_path / "walkthrough-work" / "ppo", exercise, attempt("gae", "wrong_done_index.py")[0])
    wrong = run_cli(state, tmp_path, "implement", "ppo", "gae", "--check")
    assert wrong.returncode == 1
    assert "advantages differs at iteration 1, t=" in wrong.stdout and "inputs there: r_t = " in wrong.stdout
    assert "GAE masks with dones[t] instead of the next step's done flag" in wrong.stdout

    again = cli("implement", "ppo", "gae")                            # never overwrites the learner's edits
    assert again.returncode == 0 and "already has this exercise" in again.stdout
    assert "dones[t]" in train.read_text()

    hints = [cli("implement", "ppo", "gae", "--hint").stdout for _ in range(4)]
    assert "hint 1/4: the idea" in hints[0] and "hint 2/4: where your code differs" in hints[1]
    assert "t=" in hints[1] and "hint 3/4: which term" in hints[2] and "known mistake" in hints[2]
    assert "hint 4/4: the code, faded" in hints[3] and "____" in hints[3]

    monkeypatch.setattr("sys.stdin", open(os.devnull))
    refused = cli("implement", "ppo", "gae", "--solution")                    # no terminal, no --yes
    assert refused.returncode == 2 and "--yes" in refused.stdout
    shown = cli("implement", "ppo", "gae", "--solution", "--yes")
    assert "lastgaelam = delta + args.gamma * args.gae_lambda * nextnonterminal * lastgaelam" in shown.stdout

    text = train.read_text().replace("nextnonterminal = 1.0 - dones[t]", "nextnonterminal = 1.0 - dones[t + 1]")
    train.write_text(text)
    right = cli("implement", "ppo", "gae", "--check")
    assert right.returncode == 0 and "passed" in right.stdout, right.stdout

    other = cli("implement", "ppo", "ppo-loss", "--check")                     # not blanked yet: refuses
    assert other.returncode == 2 and "does not have the ppo-loss exercise yet" in other.stdout
    added = cli("implement", "ppo", "ppo-loss")                                # added to the same copy
    assert added.returncode == 0 and "dones[t + 1]" in train.read_text() and "exercise ppo-loss" in train.read_text()

    progress = json.loads((state / "progress.json").read_text())["exercises"]
    assert progress["ppo/gae"]["passed"] is True and progress["ppo/gae"]["hints"] == 4
    assert progress["ppo/gae"]["attempts"] == 3 and progress["ppo/gae"]["solution_seen"] is True
    listing = cli("exercises", "ppo")
    row = next(line for line in listing.stdout.splitlines() if "ppo/gae" in line)
    assert "passed" in row and "3 checks, 4 hints" in row


def test_watch_rechecks_on_save_in_a_terminal(state, tmp_path):
    catalogue, exercise = exercises.find("ppo", "gae")
    copy_with("gae", "ppo", tmp_path / "walkthrough-work")
    env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(state), "NO_COLOR": "1", "TERM": "xterm"}
    child = pexpect.spawn(str(WALKTHROUGH), ["implement", "ppo", "gae", "--watch"], cwd=str(tmp_path), env=env,
                          encoding="utf-8", dimensions=(50, 120), timeout=60)
    child.expect("watching")
    child.expect("the stub is still there")
    child.expect("not yet")
    time.sleep(0.5)
    implement.write_attempt(tmp_path / "walkthrough-work" / "ppo", exercise,
                            implement.solution(exercise, signature=False))
    child.expect("checking again")
    child.expect("on all 4 inputs")
    child.sendintr()
    child.expect("stopped watching")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130


def test_walkthrough_check_validates_exercise_files(state, tmp_path, capsys, monkeypatch):
    cli = InProcess(capsys, monkeypatch, tmp_path)
    good = cli("check")
    assert good.returncode == 0 and "exercises/ppo.toml: 4 exercises" in good.stdout
    bad = tmp_path / "bad.toml"
    text = (ROOT / "walkthroughs" / "exercises" / "ppo.toml").read_text()
    bad.write_text(text.replace('end = "returns = advantages + values"', 'end = "returns = advantages * values"'))
    broken = cli("check", str(bad))
    assert broken.returncode == 2
    line = next(n for n, t in enumerate(bad.read_text().splitlines(), 1) if t.startswith("start = \"advantages"))
    assert f"bad.toml:{line}" in broken.stdout and "end anchor 'returns = advantages * values' matches no" in broken.stdout


def test_train_runs_the_copy_beside_the_reference(state, tmp_path, capsys, monkeypatch):
    checker, copy = copy_with("relu-backward", "mlp", tmp_path / "walkthrough-work",
                              implement.solution(exercises.find("mlp", "relu-backward")[1], signature=False))
    cli = InProcess(capsys, monkeypatch, tmp_path)
    done = cli("implement", "mlp", "relu-backward", "--train", "--", "--epochs", "3", "--samples", "300")
    assert done.returncode == 0, done.stdout
    assert "your code" in done.stdout and "reference" in done.stdout and "final test_accuracy" in done.stdout
    assert (tmp_path / "walkthrough-work" / "runs" / "mlp-relu-backward.png").is_file()
    assert "One run per side" in done.stdout


def test_the_tour_runs_on_a_copy_whose_block_the_learner_rewrote(state, tmp_path):
    from tracer import spec

    checker, copy = copy_with("gae", "ppo", tmp_path, *attempt("gae", "right_helper_function.py"))
    walkthrough = spec.load(spec.find("ppo"), repo=copy)
    assert walkthrough.skipped == ["td-error", "gae", "returns"]      # their lines are the learner's now
    assert all(step.path.is_relative_to(copy.resolve()) for step in walkthrough.steps)
    strict = spec.load(spec.find("ppo"), resolve_anchors=False)
    strict.repo_dir = copy
    with pytest.raises(spec.SpecError, match="step 'td-error'"):      # elsewhere a lost anchor is an error, as before
        spec.resolve(strict)
