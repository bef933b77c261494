"""`walkthrough experiment`: flags checked against the script, the run cache, results, verdicts that never overclaim."""
import csv
import shlex

import pytest
from rich.console import Console

from conftest import PPO_DIR, read_metrics, walkthrough
from tracer import show, spec
from tracer.lab import experiments, flags
from tracer.lab.runs import RunResult, RunSpec, run_all


@pytest.fixture(scope="module")
def shared_state(tmp_path_factory):
    """One state folder for the module: the flags of a script are read once (cached by code hash)."""
    return tmp_path_factory.mktemp("state")


def flat(proc):
    return " ".join((proc.stdout + proc.stderr).split())


@pytest.mark.parametrize("args, message", [
    (["--set", "gae-lamda=0.0,0.8"], "train.py has no flag --gae-lamda; did you mean 'gae-lambda'? its flags: seed, "
                                     "env-id, total-timesteps"),
    (["--set", "gae-lambda=0.0,abc"], "--set gae-lambda=abc: train.py rejects it: argument --gae-lambda: invalid float "
                                      "value: 'abc'. --gae-lambda: float; default 0.8"),
    (["--set", "no-norm-adv=maybe"], "--no-norm-adv is a switch: write --set no-norm-adv (without it vs with it)"),
    (["--set", "seed=1,2"], "--seed is set by walkthrough; choose how many seeds with --seeds N"),
    (["--set", "clip-coef"], "--clip-coef takes a value; give the values to try, e.g. --set clip-coef=0.2,..."),
])
def test_bad_flag_or_value_is_refused_before_anything_runs(tmp_path, shared_state, args, message):
    proc = walkthrough("experiment", "ppo", *args, "--out", tmp_path / "exp", state_dir=shared_state)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in flat(proc)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (tmp_path / "exp").exists()


def test_choices_of_the_mlp_script_are_checked(tmp_path, shared_state):
    proc = walkthrough("experiment", "mlp", "--set", "dataset=spirals,moons", "--dry-run", state_dir=shared_state)
    assert proc.returncode == 2
    assert ("invalid choice: 'moons' (choose from 'spirals', 'xor', 'checkerboard', 'circles', 'lines', 'parity', "
            "'extrapolation')") in flat(proc)


def test_dry_run_previews_the_grid_and_runs_nothing(tmp_path, shared_state):
    proc = walkthrough("experiment", "mlp", "--set", "hidden=16 16,64 64", "--set", "lr=0.01,0.1", "--seeds", "2",
                       "--out", tmp_path / "exp", "--dry-run", state_dir=shared_state)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = flat(proc)
    assert "4 variants × 2 seeds" in out and "hidden=64 64 · lr=0.1 (default)" in out
    assert "--hidden 16 16 --lr 0.01" in out and "8 runs at --epochs 30: 8 to run; about" in out
    assert not (tmp_path / "exp").exists()


def test_the_learners_loop_on_the_mlp_runs_caches_and_adds_seeds(tmp_path, shared_state):
    out = tmp_path / "exp"
    args = ["experiment", "mlp", "--set", "lr=0.01,0.1", "--steps", "2", "--out", out]
    first = walkthrough(*args, "--seeds", "1", state_dir=shared_state)
    assert first.returncode == 0, first.stdout + first.stderr
    text = flat(first)
    assert "2 to run" in text and "final test accuracy" in text and "one seed per variant" in text
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"
    logs = {p: p.stat().st_mtime_ns for p in (out / "runs").glob("*/log.txt")}

    more = walkthrough(*args, "--seeds", "2", state_dir=shared_state)
    assert more.returncode == 0, more.stdout + more.stderr
    assert "4 runs at --epochs 2: 2 to run, 2 finished already" in flat(more)
    assert "two seeds per variant" in flat(more) and " is lower " not in flat(more)
    assert {p: p.stat().st_mtime_ns for p in logs} == logs             # the first two did not run again
    assert len(list((out / "runs").glob("*/log.txt"))) == 4
    rows = list(csv.DictReader(open(out / "runs.csv")))
    assert [(r["lr"], r["seed"], r["cached"]) for r in rows] == [("0.01", "1", "1"), ("0.01", "2", "0"),
                                                                 ("0.1", "1", "1"), ("0.1", "2", "0")]
    for row in rows:
        metrics = read_metrics(f"{row['run_dir']}/metrics.csv")
        assert float(row["final_test_accuracy"]) == float(metrics[-1]["test_accuracy"])

    again = walkthrough(*args, "--seeds", "2", state_dir=shared_state)
    assert "0 to run, 4 finished already" in flat(again)
    assert "✓" not in again.stdout                                      # no run line: nothing started
    assert len(list((out / "runs").glob("*/log.txt"))) == 4


def test_one_seed_comparison_warns_and_claims_nothing_with_steps_to_target(tmp_path, shared_state):
    proc = walkthrough("experiment", "ppo", "--set", "no-norm-adv", "--seeds", "1", "--steps", "512",
                       "--out", tmp_path / "exp", state_dir=shared_state)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = flat(proc)
    assert "one seed per variant: the runs can be looked at, not compared" in text          # in the preview
    assert "one seed per variant: no comparison can be made" in text                         # in the verdict
    assert " is lower " not in text and " is slower " not in text and "1 run: no CI" in text
    assert "steps to return 475" in text and "0/1" in text
    rows = list(csv.DictReader(open(tmp_path / "exp" / "runs.csv")))
    assert [r["no-norm-adv"] for r in rows] == ["off", "on"] and [r["reached"] for r in rows] == ["0", "0"]
    assert rows[0]["global_step_to_475"] == "512"


def test_same_seed_gives_the_same_numbers_bit_for_bit(tmp_path):
    def ppo(seed):
        return RunSpec(PPO_DIR, "train.py", ("--total-timesteps", "512"), seed)

    first, other = run_all([ppo(4), ppo(5)], tmp_path / "a", console=Console(quiet=True))
    [again] = run_all([ppo(4)], tmp_path / "b", console=Console(quiet=True))
    assert not again.cached and again.out_dir != first.out_dir

    def numbers(result):    # every column but the wall-clock seconds, as the script wrote them
        return [line.rsplit(",", 1)[0] for line in (result.out_dir / "metrics.csv").read_text().splitlines()]

    assert len(numbers(first)) == 3 and numbers(first) == numbers(again)
    assert numbers(other) != numbers(first)


# ----- the verdict, on hand-made results: it must never claim more than the intervals show --------
def fake_plan(names, target=None):
    setup = experiments.Setup("toy", PPO_DIR, "train.py", "--steps", 10, "step", "score", "step", "score", target,
                              f"steps to {target}", (), None)
    variants = [experiments.Variant(n, (("x", n),), (), (), PPO_DIR, "reference", False) for n in names]
    return experiments.Plan(setup, "toy", PPO_DIR, variants, [1, 2, 3], 10, [], [], {}, 0, 1, None, "")


def fake_runs(finals, reach_at=None):
    results = []
    for i, final in enumerate(finals):
        rows = [{"step": s, "score": final if s == 10 else 0.0} for s in range(1, 11)]
        if reach_at is not None:
            rows = [{"step": s, "score": 500.0 if s >= reach_at[i] else 0.0} for s in range(1, 11)]
        results.append(RunResult(RunSpec(PPO_DIR, "train.py", (), i + 1), PPO_DIR, 0, 1.0, False, rows, None, ""))
    return results


def judge(groups, target=None):
    plan = fake_plan(list(groups), target)
    grouped = dict(zip(plan.variants, groups.values()))
    lines = experiments.verdict(plan, experiments.analyse(plan, grouped))
    return [(line.kind, line.text) for line in lines]


def test_verdict_says_cannot_be_told_apart_when_intervals_overlap():
    lines = judge({"a": fake_runs([0.90, 0.95, 0.80]), "b": fake_runs([0.85, 0.93, 0.99])})
    assert [kind for kind, _ in lines] == ["open"]
    assert "with 3 seeds, a and b cannot be told apart" in lines[0][1]


def test_verdict_claims_a_difference_only_when_intervals_do_not_overlap():
    lines = judge({"low": fake_runs([0.50, 0.55, 0.52]), "high": fake_runs([0.90, 0.95, 0.93])})
    # exact bootstrap of 3 values: 2.5 % lies 0.65 of the way from the minimum to the mean of (min, min, middle)
    assert lines == [("claim", "final score: low is lower than high: its 95 % CI [0.504, 0.543] does not overlap "
                               "[0.907, 0.946] (3 seeds each)")]


def test_verdict_on_steps_to_target_says_slower_and_counts_unreached_as_lower_bound():
    lines = judge({"λ=0": fake_runs([1, 1, 1], reach_at=[8, 9, 99]), "λ=0.8": fake_runs([1, 1, 1], reach_at=[2, 3, 2])},
                  target=475)
    texts = " | ".join(text for _, text in lines)
    assert "steps to 475: λ=0 is slower than λ=0.8" in texts
    assert "runs of λ=0 never reached 475" in texts and "lower bound" in texts


@pytest.mark.parametrize("seeds, warning", [(1, "one seed per variant"), (2, "two seeds per variant")])
def test_verdict_with_too_few_seeds_only_warns(seeds, warning):
    lines = judge({"a": fake_runs([0.1, 0.2][:seeds]), "b": fake_runs([0.9, 0.95][:seeds])})
    assert [kind for kind, _ in lines] == ["warning"] and warning in lines[0][1]


def test_iqm_replaces_the_mean_from_five_seeds():
    plan = fake_plan(["a"])
    [outcome] = experiments.analyse(plan, {plan.variants[0]: fake_runs([0.1, 0.5, 0.6, 0.7, 100.0])})
    assert outcome.final.statistic == "IQM" and outcome.final.point == pytest.approx(0.6)


# ----- the walkthroughs link to it -------------------------------------------------------------
def test_steps_suggest_experiments_whose_flags_the_script_accepts(shared_state, monkeypatch):
    monkeypatch.setenv("WALKTHROUGH_STATE_DIR", str(shared_state))
    from tracer.cli import build_parser

    for name, expected in (("ppo", {"gae", "clip", "adv-norm", "lr-anneal", "networks"}), ("mlp", {"init", "update"})):
        walk = spec.load(spec.find(name), resolve_anchors=False)
        suggesting = {s.id: s.experiment for s in walk.steps if s.experiment}
        assert set(suggesting) == expected
        candidates = []
        for command in suggesting.values():
            args = build_parser().parse_args(shlex.split(command)[1:])
            plan = experiments.plan(walk, args.sets, args.seeds, args.steps, check=False)
            assert len(plan.variants) >= 2
            candidates += [list(v.words) for v in plan.variants]
        _, problems = flags.probe(walk.repo_dir / "train.py", candidates)
        assert problems == [None] * len(candidates)


def test_step_view_shows_the_suggested_command():
    walk = spec.load(spec.find("mlp"))
    step = next(s for s in walk.steps if s.id == "update")
    console = Console(record=True, width=160)
    console.print(show.step_view(3, 13, step, walk.repo_dir, []))
    assert "try it: walkthrough experiment mlp --set lr=0.01,0.1,0.5 --seeds 3" in console.export_text()


@pytest.mark.parametrize("table, step_line, message", [
    ('[experiment]\nbudget = "--epochs"\ny = "test_accuracy"\n', "", "[experiment] has no 'x'"),
    ('[experiment]\nbudget = "--epochs"\nx = "epoch"\ny = "test_accuracy"\ncolour = 1\n', "",
     "unknown key 'colour'"),
    ("", 'experiment = "walkthrough experiment custom --set lr=0.1,0.5"\n', "the file has no [experiment] table"),
    ('[experiment]\nbudget = "--epochs"\nx = "epoch"\ny = "test_accuracy"\n', 'experiment = "python train.py"\n',
     "'experiment' must be a command `walkthrough experiment custom"),
])
def test_check_rejects_a_broken_experiment_table_or_suggestion(tmp_path, table, step_line, message):
    from conftest import MLP_DIR
    path = tmp_path / "custom.toml"
    path.write_text(f'title = "T"\nrepo = "{MLP_DIR}"\n[[run]]\nscript = "train.py"\nargs = ["--epochs", "3"]\n\n'
                    f'{table}\n[[step]]\nid = "a"\ntitle = "A"\nfile = "train.py"\nat = "args = parse_args(argv)"\n'
                    + step_line)
    with pytest.raises(spec.SpecError) as error:
        spec.load(path, resolve_anchors=False)
    assert message in str(error.value) and "custom.toml:" in str(error.value)
