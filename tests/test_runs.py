"""The run cache (tracer/lab/runs.py), its statistics and its plots, on a tiny script that trains nothing."""
import os
import sys
import textwrap
import time

import pexpect
import pytest
from rich.console import Console

from conftest import ROOT
from tracer.lab import runs
from tracer.lab.plots import curves_png, curves_terminal
from tracer.lab.runs import RunSpec, run_all
from tracer.lab.stats import bootstrap_ci, iqm

# A stand-in for train.py: logs every start to --counter, writes metrics.csv, can sleep or fail.
TOY = textwrap.dedent('''
    import argparse, csv, json, os, sys, time
    p = argparse.ArgumentParser()
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out-dir", default="out")
    p.add_argument("--counter", required=True)
    p.add_argument("--sleep", type=float, default=0.0)
    p.add_argument("--sleep-seed", type=int, default=-1)
    p.add_argument("--fail", action="store_true")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--rendezvous", default=None)
    args = p.parse_args()
    if args.rendezvous:                 # wait (up to 60 s) until two runs are alive at once
        open(os.path.join(args.rendezvous, str(args.seed)), "w").close()
        deadline = time.time() + 60
        while len(os.listdir(args.rendezvous)) < 2:
            if time.time() > deadline:
                sys.exit("error: ran alone")
            time.sleep(0.05)
    with open(args.counter, "a") as f:
        f.write(f"{args.seed} {os.getpid()}\\n")
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "metrics.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "score", "threads"])
        for step in range(1, 6):
            w.writerow([step * 10, args.scale * step + args.seed, os.environ.get("OMP_NUM_THREADS")])
    print(f"step 5/5 seed {args.seed}", flush=True)
    if args.fail:
        sys.exit("error: told to fail")
    if args.sleep and args.sleep_seed in (-1, args.seed):
        time.sleep(args.sleep)
    with open(os.path.join(args.out_dir, "summary.json"), "w") as f:
        json.dump({"seed": args.seed}, f)
''')


@pytest.fixture
def toy(tmp_path):
    repo = tmp_path / "toy"
    repo.mkdir()
    (repo / "train.py").write_text(TOY)
    return repo


def specs(repo, counter, seeds=(1, 2, 3), *extra):
    return [RunSpec(repo, "train.py", ("--counter", str(counter), *extra), seed) for seed in seeds]


def starts(counter):
    return counter.read_text().splitlines() if counter.exists() else []


def quiet():
    return Console(file=open(os.devnull, "w"))


def test_runs_write_metrics_summary_and_marker_with_one_thread(toy, tmp_path):
    counter = tmp_path / "starts.txt"
    results = run_all(specs(toy, counter), tmp_path / "runs", console=quiet())
    assert [r.ok for r in results] == [True] * 3 and not any(r.cached for r in results)
    assert [r.metrics[-1]["score"] for r in results] == [6.0, 7.0, 8.0]
    assert results[0].column("step") == [10, 20, 30, 40, 50]
    assert {r.metrics[0]["threads"] for r in results} == {1}
    assert results[1].summary == {"seed": 2}
    assert all((r.out_dir / runs.MARKER).is_file() and r.out_dir.parent == tmp_path / "runs" for r in results)
    assert "step 5/5" in results[0].log_tail


def test_second_call_starts_no_process(toy, tmp_path):
    counter = tmp_path / "starts.txt"
    first = run_all(specs(toy, counter), tmp_path / "runs", console=quiet())
    assert len(starts(counter)) == 3
    again = run_all(specs(toy, counter), tmp_path / "runs", console=quiet())
    assert len(starts(counter)) == 3                      # nothing ran
    assert all(r.cached for r in again)
    assert [r.metrics for r in again] == [r.metrics for r in first]
    assert [r.seconds for r in again] == pytest.approx([r.seconds for r in first], abs=1e-3)


def test_more_seeds_run_only_the_new_ones(toy, tmp_path):
    counter = tmp_path / "starts.txt"
    run_all(specs(toy, counter, (1, 2, 3)), tmp_path / "runs", console=quiet())
    results = run_all(specs(toy, counter, (1, 2, 3, 4, 5)), tmp_path / "runs", console=quiet())
    assert sorted(line.split()[0] for line in starts(counter)[3:]) == ["4", "5"]
    assert [r.cached for r in results] == [True, True, True, False, False]


def test_identical_specs_run_once(toy, tmp_path):
    counter = tmp_path / "starts.txt"
    results = run_all(specs(toy, counter, (1, 1, 1)), tmp_path / "runs", console=quiet())
    assert len(starts(counter)) == 1 and len(results) == 3 and results[0] is results[2]


def test_key_follows_code_flags_and_seed_but_not_other_files(toy, tmp_path):
    spec = RunSpec(toy, "train.py", ("--scale", "2"), 1)
    key = spec.key()
    assert RunSpec(toy, "train.py", ("--scale", "3"), 1).key() != key
    assert RunSpec(toy, "train.py", ("--scale", "2"), 2).key() != key
    assert RunSpec(toy, "train.py", ("--scale", "2"), 1, label="a name").key() == key
    (toy / "notes.txt").write_text("not code")
    (toy / "runs").mkdir()
    (toy / "runs" / "generated.py").write_text("x = 1")
    assert spec.key() == key
    (toy / "helper.py").write_text("x = 1\n")
    assert spec.key() != key


def test_half_finished_folder_is_run_again(toy, tmp_path):
    counter = tmp_path / "starts.txt"
    spec = specs(toy, counter, (1,))[0]
    stale = tmp_path / "runs" / spec.key()
    stale.mkdir(parents=True)
    (stale / "metrics.csv").write_text("step,score\n10,999\n")       # a run killed half-way, no marker
    [result] = run_all([spec], tmp_path / "runs", console=quiet())
    assert not result.cached and len(starts(counter)) == 1
    assert result.metrics[-1]["score"] == 6.0


def test_failed_run_shows_its_log_and_is_not_cached(toy, tmp_path):
    counter = tmp_path / "starts.txt"
    spec = specs(toy, counter, (1,), "--fail")[0]
    [result] = run_all([spec], tmp_path / "runs", console=quiet())
    assert not result.ok and result.returncode == 1
    assert "told to fail" in result.log_tail
    assert not (result.out_dir / runs.MARKER).exists()
    run_all([spec], tmp_path / "runs", console=quiet())
    assert len(starts(counter)) == 2


def test_timeout_stops_the_run_and_says_so(toy, tmp_path):
    counter = tmp_path / "starts.txt"
    [result] = run_all(specs(toy, counter, (1,), "--sleep", "30"), tmp_path / "runs", timeout=1.0, console=quiet())
    assert not result.ok and "timed out after 1 s" in result.log_tail and result.seconds < 10


def test_runs_go_in_parallel(toy, tmp_path):
    counter, meeting = tmp_path / "starts.txt", tmp_path / "meeting"
    meeting.mkdir()
    results = run_all(specs(toy, counter, (1, 2), "--rendezvous", str(meeting)), tmp_path / "runs", jobs=2,
                      console=quiet())
    assert all(r.ok for r in results), [r.log_tail for r in results]   # each saw the other alive


def test_ctrl_c_stops_running_runs_and_keeps_finished_ones(toy, tmp_path):
    counter = tmp_path / "starts.txt"
    code = textwrap.dedent(f'''
        import sys
        from pathlib import Path
        from tracer.lab.runs import RunSpec, run_all, RunsInterrupted
        specs = [RunSpec(Path({str(toy)!r}), "train.py", ("--counter", {str(counter)!r}, "--sleep", "60",
                                                             "--sleep-seed", "2"), seed) for seed in (1, 2)]
        try:
            run_all(specs, Path({str(tmp_path / "runs")!r}), jobs=2, description="toy")
        except RunsInterrupted as exc:
            print("kept", len(exc.results), "finished runs")
            sys.exit(130)
    ''')
    child = pexpect.spawn(sys.executable, ["-c", code], cwd=str(ROOT), encoding="utf-8", timeout=30,
                          env={**os.environ, "COLUMNS": "100"})
    deadline = time.monotonic() + 20
    while not (list((tmp_path / "runs").glob(f"*/{runs.MARKER}")) and len(starts(counter)) == 2):
        assert time.monotonic() < deadline, child.before
        time.sleep(0.05)
    child.sendintr()                            # Ctrl-C, as the terminal sends it
    child.expect("kept 1 finished runs")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    [sleeper_pid] = [int(line.split()[1]) for line in starts(counter) if line.startswith("2 ")]
    with pytest.raises(ProcessLookupError):
        os.kill(sleeper_pid, 0)                  # the interrupted run was stopped, not left behind
    finished = [d for d in (tmp_path / "runs").iterdir() if (d / runs.MARKER).exists()]
    assert len(finished) == 1
    assert [d.name for d in (tmp_path / "runs").iterdir() if not d.name.startswith(".")] == [finished[0].name]


def test_bootstrap_ci_matches_the_hand_computed_exact_bootstrap():
    # Resamples of [0, 1]: (0,0) (0,1) (1,0) (1,1), means 0, .5, .5, 1. Percentiles with linear
    # interpolation over the 4 sorted means: 2.5 % at position 0.075 -> 0.0375, 97.5 % at 2.925 -> 0.9625.
    assert bootstrap_ci([0.0, 1.0]) == pytest.approx((0.5, 0.0375, 0.9625))
    # Resamples of [1, 2, 6]: 27 means; the lowest (1, then 4/3 three times) set the 2.5 % point at
    # position 0.65 between 1 and 4/3: 1 + 0.65/3.
    point, low, high = bootstrap_ci([1, 2, 6])
    assert point == 3 and low == pytest.approx(1 + 0.65 / 3) and high == pytest.approx(6 - 0.65 * 4 / 3)


def test_bootstrap_ci_of_many_values_is_near_the_normal_interval():
    values = [3.1, 4.7, 5.0, 2.2, 6.8, 4.4, 5.9, 3.3, 4.0, 5.6, 4.9, 3.8]
    mean, low, high = bootstrap_ci(values, n_boot=20_000)
    import numpy as np
    half = 1.96 * np.std(values, ddof=0) / np.sqrt(len(values))
    assert low == pytest.approx(mean - half, abs=0.15) and high == pytest.approx(mean + half, abs=0.15)
    assert bootstrap_ci(values, n_boot=20_000) == (mean, low, high)       # seeded: the same every call


def test_iqm_trims_a_quarter_at_each_end():
    assert iqm([1, 2, 3, 4, 100]) == 3                # drops 1 and 100
    assert iqm([1, 2, 3, 4, 5, 6, 7, 1000]) == 4.5    # drops two at each end
    assert iqm([1, 2, 9]) == 4                        # fewer than 4 values: nothing to trim
    assert bootstrap_ci([5.0]) == (5.0, 5.0, 5.0)
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_ci([1.0, float("nan")])


def test_curves_png_is_a_valid_image_and_terminal_plot_names_the_groups(toy, tmp_path):
    from PIL import Image

    counter = tmp_path / "starts.txt"
    groups = {"scale 1": run_all(specs(toy, counter, (1, 2, 3)), tmp_path / "runs", console=quiet()),
              "scale 3": run_all(specs(toy, counter, (1, 2, 3), "--scale", "3"), tmp_path / "runs", console=quiet())}
    path = curves_png(groups, "step", "score", tmp_path / "out" / "curves.png", hline=10, hline_label="target")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.size[0] > 500 and len(image.convert("RGB").getcolors(1 << 20)) > 50   # drawn, not blank
    text = curves_terminal(groups, "step", "score", width=70, height=15, color=False)
    assert "\x1b[" not in text
    legend = text.splitlines()[-1]                        # under the plot, where no curve runs through it
    assert "••• scale 1 (3 seeds)" in legend and "xxx scale 3 (3 seeds)" in legend
    body = "\n".join(text.splitlines()[:-1])
    assert "•" in body and "x" in body                    # each curve its own marker, readable without colour
    coloured = curves_terminal(groups, "step", "score", width=70, height=15, color=True)
    assert "\x1b[38;5;4m" in coloured and "\x1b[38;5;1m" in coloured


def test_terminal_plot_ticks_are_round_whole_numbers():
    """A learner reads steps off the x axis: 2000 4000 6000 8000, not 256 1844 3432 5020 6608."""
    from tracer.lab.plots import _round_ticks
    assert _round_ticks(256, 8192) == [256, 2000, 4000, 6000, 8000]
    assert _round_ticks(1, 12) == [2, 4, 6, 8, 10, 12]
    assert _round_ticks(0, 50_000) == [0, 10_000, 20_000, 30_000, 40_000, 50_000]
    assert _round_ticks(3, 3) == [3]
