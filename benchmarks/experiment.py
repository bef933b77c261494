"""`walkthrough experiment` against the same runs by hand: overhead, parallel speedup, cached re-run.

Runs a PPO comparison (default: 2 variants × 3 seeds at the walkthrough's budget, 50k steps):
  1. `walkthrough experiment ppo --set gae-lambda=0.0,0.8 --seeds 3` with 2 runs at a time;
  2. the very same commands (read from its runs.csv) by hand, 2 at a time, into fresh folders;
  3. the experiment again into a fresh folder with --jobs 1 (one run at a time);
  4. the experiment of step 1 again: every run is cached, nothing may train.
Wall times are whole processes, imports and the flag check of a cold cache included.
Run it alone on the machine (flock /work/coord/bench.lock ...): other load changes every figure.
Last line: runs=R parallel_speedup=X overhead=Y cached_rerun_s=Z
  overhead = (1) / (2); parallel_speedup = (3) / (1); cached_rerun_s = (4); comparison_s = (1).
"""
import argparse
import csv
import os
import shlex
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

WALKTHROUGH = Path(sys.executable).parent / "walkthrough"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def experiment(out: Path, env: dict, args, jobs: int) -> tuple[float, str]:
    command = [str(WALKTHROUGH), "experiment", "ppo", "--set", args.set, "--seeds", str(args.seeds),
               "--jobs", str(jobs), "--out", str(out)] + (["--steps", str(args.steps)] if args.steps else [])
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"walkthrough experiment failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return seconds, proc.stdout


def numbers(metrics_csv: Path) -> list[str]:
    """Every column but the last (wall-clock seconds), as the script wrote it."""
    return [line.rsplit(",", 1)[0] for line in metrics_csv.read_text().splitlines()]


def by_hand(runs_csv: Path, out: Path, jobs: int) -> tuple[float, int, int]:
    """Run the experiment's commands by hand; also count the runs whose numbers equal the experiment's."""
    commands, theirs = [], []
    for n, row in enumerate(csv.DictReader(open(runs_csv))):
        words = shlex.split(row["command"])
        words[words.index("--out-dir") + 1] = str(out / f"run{n}")
        commands.append([sys.executable, *words])
        theirs.append(Path(row["run_dir"]) / "metrics.csv")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(lambda c: subprocess.run(c, check=True, capture_output=True, env=env), commands))
    seconds = time.perf_counter() - start
    same = sum(numbers(t) == numbers(out / f"run{n}" / "metrics.csv") for n, t in enumerate(theirs))
    return seconds, len(commands), same


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--set", default="gae-lambda=0.0,0.8", help="the variants (a --set of walkthrough experiment)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=None, help="budget; default: the walkthrough's (50000 env steps)")
    p.add_argument("--jobs", type=int, default=2)
    args = p.parse_args()
    print(f"load average at start: {load()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(tmp / "state"), "COLUMNS": "120", "NO_COLOR": "1"}
        t_parallel, _ = experiment(tmp / "exp", env, args, args.jobs)
        print(f"1. walkthrough experiment, {args.jobs} at a time: {t_parallel:.1f} s")
        t_hand, runs, same = by_hand(tmp / "exp" / "runs.csv", tmp / "hand", args.jobs)
        print(f"2. the same {runs} runs by hand, {args.jobs} at a time: {t_hand:.1f} s; "
              f"bit-for-bit the same metrics as the experiment's runs: {same}/{runs}")
        t_serial, _ = experiment(tmp / "exp-serial", env, args, 1)
        print(f"3. walkthrough experiment, one at a time: {t_serial:.1f} s")
        logs = sorted((tmp / "exp" / "runs").glob("*/log.txt"))
        stamps = [f.stat().st_mtime_ns for f in logs]
        t_cached, out = experiment(tmp / "exp", env, args, args.jobs)
        trained = [f for f, s in zip(logs, stamps) if f.stat().st_mtime_ns != s]
        if trained or f"0 to run, {runs} finished already" not in " ".join(out.split()):
            sys.exit(f"the re-run trained again: {trained}\n{out}")
        print(f"4. the same experiment again (all cached, nothing trained): {t_cached:.2f} s")
        print(f"comparison_s={t_parallel:.1f} (target <= 360 for 2 variants x 3 seeds at 50k steps on 2 cores)")
    print(f"load average at end: {load()}")
    print(f"runs={runs} parallel_speedup={t_serial / t_parallel:.2f} overhead={t_parallel / t_hand:.3f} "
          f"cached_rerun_s={t_cached:.2f}")


if __name__ == "__main__":
    main()
