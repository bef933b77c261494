"""How much slower is PPO training under walkthrough? Side by side, same seed, same budget.

Configurations (each a fresh process, wall time, repeated and interleaved; medians reported):
  plain   python train.py
  auto    walkthrough start ppo --auto: every one of the 28 steps armed and shown
  armed   one step at a line that runs every iteration, firing only in the last iteration
  idle    the same line, firing in the first iteration: the rest runs with no step ahead
  pdb     python -m pdb with a never-true conditional breakpoint at that line
  first   seconds from launching `walkthrough start ppo` to the first step on screen

Last line: armed=R1 idle=R2 pdb=R3 first_stop_s=T   (R = wall time over plain's)
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRAIN = ROOT / "minimal_impls" / "ppo" / "train.py"
WALKTHROUGH = Path(sys.executable).parent / "walkthrough"
LINE_CODE = "frac = 1.0 - (iteration - 1.0) / args.num_iterations"

ONE_STEP = """title = "overhead"
repo = "{repo}"
[[run]]
script = "train.py"
args = []
[[step]]
id = "frac"
title = "learning-rate fraction"
file = "train.py"
at = "{at}"
{when}
"""


def timed(cmd, env, stdin=None):
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, input=stdin, text=True,
                   check=True)
    return time.perf_counter() - start


def first_stop_seconds(env, train_args):
    start = time.perf_counter()
    proc = subprocess.Popen([str(WALKTHROUGH), "start", "ppo", "--auto", "--restart", "--", *train_args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in proc.stdout:
            if "Step 1/" in line:
                return time.perf_counter() - start
        raise RuntimeError("walkthrough start ppo never showed step 1")
    finally:
        proc.kill()
        proc.wait()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--timesteps", type=int, default=20480)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(tmp / "state")}
        train_args = ["--total-timesteps", str(args.timesteps), "--seed", "1", "--eval-every", "0",
                      "--out-dir", str(tmp / "run")]
        files = {}
        for name, when in [("armed", 'when = "iteration == args.num_iterations"'), ("idle", "hit = 1")]:
            files[name] = tmp / f"{name}.toml"
            files[name].write_text(ONE_STEP.format(repo=TRAIN.parent, at=LINE_CODE, when=when))
        line = TRAIN.read_text().splitlines().index("        " + LINE_CODE) + 1
        configs = {
            "plain": lambda: timed([sys.executable, str(TRAIN), *train_args], env),
            "auto": lambda: timed([str(WALKTHROUGH), "start", "ppo", "--auto", "--restart", "--",
                                   *train_args[:-2]], env),   # eval.py reads the walkthrough's own out-dir
            "armed": lambda: timed([str(WALKTHROUGH), "start", str(files["armed"]), "--auto", "--restart", "--",
                                    *train_args], env),
            "idle": lambda: timed([str(WALKTHROUGH), "start", str(files["idle"]), "--auto", "--restart", "--",
                                   *train_args], env),
            "pdb": lambda: timed([sys.executable, "-m", "pdb", "-c", f"break {TRAIN}:{line}, iteration < 0", "-c",
                                  "continue", str(TRAIN), *train_args], env, stdin="quit\n"),
            "first": lambda: first_stop_seconds(env, train_args),
        }
        results = {name: [] for name in configs}
        for r in range(args.repeats):
            for name, run in configs.items():
                results[name].append(run())
                print(f"repeat {r + 1}: {name:6s} {results[name][-1]:6.2f} s", flush=True)

    median = {name: statistics.median(times) for name, times in results.items()}
    plain = median["plain"]
    print(f"\nPPO, {args.timesteps} env steps, median of {args.repeats} (wall seconds):")
    fastest = {name: min(times) for name, times in results.items()}
    for name in ("plain", "auto", "armed", "idle", "pdb"):
        print(f"  {name:6s} {median[name]:6.2f} s  x{median[name] / plain:.3f}   min-based x{fastest[name] / fastest['plain']:.3f}"
              "  (runs: " + ", ".join(f"{t:.2f}" for t in results[name]) + ")")
    print("  (noise from the host only adds time: when runs spread widely, the min-based ratios are the steadier)")
    print(f"  first stop on screen after {median['first']:.2f} s")
    print(f"armed={median['armed'] / plain:.3f} idle={median['idle'] / plain:.3f} pdb={median['pdb'] / plain:.3f} "
          f"first_stop_s={median['first']:.2f}")


if __name__ == "__main__":
    main()
