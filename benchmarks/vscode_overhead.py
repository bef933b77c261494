"""How much slower is the PPO tour with VS Code attached? Side by side, same tour, same seed.

Configurations (each a fresh process, wall time from launch to exit, repeated and interleaved; medians):
  terminal     walkthrough start ppo --auto                 (no debugger)
  vscode       walkthrough start ppo --vscode --auto, with the Debug Adapter Protocol client of tests/dap.py
               attaching as VS Code does and continuing at every stop (attach time included)
  vscode+bp    the same, with one client breakpoint (setBreakpoints) in train.py on a line the tour never
               runs: what having breakpoints of one's own costs (the program is traced between steps)
  always       walkthrough start ppo --vscode --always-trace --auto: debugpy traces the program all along,
               as before the tracing switch
(vscode+bp and always only with --trade-off)

Every vscode run must stop at all 28 steps and exit 0, or the benchmark fails.
Last line: vscode_over_terminal=R attach_s=T   (R = median vscode time over median terminal time;
T = median seconds from launch until the client's attach request was answered)
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
sys.path.insert(0, str(ROOT / "tests"))
from dap import attach, connect, free_port, next_stop  # noqa: E402  (the tests' real DAP client)

WALKTHROUGH = Path(sys.executable).parent / "walkthrough"
TRAIN = ROOT / "minimal_impls" / "ppo" / "train.py"
NEVER_REACHED = "p.error(f\"--total-timesteps"   # a line of train.py the tour never runs


def terminal(env):
    start = time.perf_counter()
    subprocess.run([str(WALKTHROUGH), "start", "ppo", "--auto", "--restart"], env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start, None


def vscode(env, breakpoints=None, *extra):
    port = free_port()
    start = time.perf_counter()
    proc = subprocess.Popen([str(WALKTHROUGH), "start", "ppo", "--vscode", "--auto", "--restart", "--port", str(port),
                             "--wait", "60", *extra], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = connect(port, proc)
    try:
        attach(client, breakpoints)
        attached = time.perf_counter() - start
        stops = 0
        while (stopped := next_stop(client)) is not None:
            stops += 1
            client.send("continue", threadId=stopped["body"]["threadId"])
    finally:
        client.close()
        proc.wait(timeout=600)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0 or stops != 28:
        raise RuntimeError(f"vscode run: exit {proc.returncode}, {stops} stops (expected 0 and 28)")
    return elapsed, attached


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--trade-off", action="store_true", help="also time vscode+bp and always")
    args = p.parse_args()

    lines = TRAIN.read_text().splitlines()
    bp_line = next(n for n, text in enumerate(lines, start=1) if NEVER_REACHED in text)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(Path(tmp) / "state"), "NO_COLOR": "1"}
        configs = {"terminal": lambda: terminal(env), "vscode": lambda: vscode(env)}
        if args.trade_off:
            configs["vscode+bp"] = lambda: vscode(env, {TRAIN: [bp_line]})
            configs["always"] = lambda: vscode(env, None, "--always-trace")
        results = {name: [] for name in configs}
        attach_times = {name: [] for name in configs}
        for r in range(args.repeats):
            for name, run in configs.items():
                seconds, attached = run()
                results[name].append(seconds)
                if attached is not None:
                    attach_times[name].append(attached)
                print(f"repeat {r + 1}: {name:9s} {seconds:6.2f} s"
                      + (f"  (attached after {attached:.2f} s)" if attached is not None else ""), flush=True)

    median = {name: statistics.median(times) for name, times in results.items()}
    fastest = {name: min(times) for name, times in results.items()}
    print(f"\nPPO tour (28 stops, --auto), median of {args.repeats} (wall seconds, attach included):")
    for name in results:
        print(f"  {name:9s} {median[name]:6.2f} s  x{median[name] / median['terminal']:.3f}   "
              f"min-based x{fastest[name] / fastest['terminal']:.3f}  (runs: "
              + ", ".join(f"{t:.2f}" for t in results[name]) + ")")
    print(f"  load average at the end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(f"vscode_over_terminal={median['vscode'] / median['terminal']:.3f} "
          f"attach_s={statistics.median(attach_times['vscode']):.2f}")


if __name__ == "__main__":
    main()
