"""Steps and seconds for PPO to solve CartPole-v1: greedy return over 10 episodes >= 475.

Trains 5 seeds, two at a time (one per core), each up to 100k env steps with a greedy
evaluation every 2 iterations. Seconds are wall time of the whole `python train.py`
process, imports included. Last line: solved=K/5 median_steps=N median_seconds=S
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TRAIN = Path(__file__).resolve().parent.parent / "minimal_impls" / "ppo" / "train.py"


def solve(seed, out_root, max_steps, target):
    out_dir = Path(out_root) / f"seed{seed}"
    start = time.perf_counter()
    subprocess.run([sys.executable, str(TRAIN), "--seed", str(seed), "--total-timesteps", str(max_steps),
                    "--eval-every", "2", "--eval-episodes", "10", "--stop-at-return", str(target),
                    "--log-every", "1000000", "--out-dir", str(out_dir)], check=True, capture_output=True)
    seconds = time.perf_counter() - start
    summary = json.loads((out_dir / "summary.json").read_text())
    return seed, summary["eval_return"] >= target, summary["global_step"], seconds


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    p.add_argument("--max-steps", type=int, default=100_000)
    p.add_argument("--target", type=float, default=475.0)
    p.add_argument("--parallel", type=int, default=2)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as out_root, ThreadPoolExecutor(args.parallel) as pool:
        results = list(pool.map(lambda s: solve(s, out_root, args.max_steps, args.target), args.seeds))
    for seed, solved, steps, seconds in results:
        print(f"seed {seed}: {'solved' if solved else 'NOT solved'} at {steps} steps in {seconds:.1f} s")
    solved = [r for r in results if r[1]]
    # an unsolved seed counts at the budget, so it can only raise the medians
    median_steps = statistics.median(r[2] if r[1] else args.max_steps for r in results)
    median_seconds = statistics.median(r[3] for r in results)
    print(f"solved={len(solved)}/{len(results)} median_steps={int(median_steps)} median_seconds={median_seconds:.1f}")


if __name__ == "__main__":
    main()
