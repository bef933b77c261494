"""Generated tours against experts' stop lists (issue 14).

For each repository in tests/data/autotour/experts/*.toml (our two reference repos and three public ones), in a
scratch folder:
  1. generate the tour of its script (the short run included in the time);
  2. recall: the share of the expert's lines that fall inside a generated step (its statements, `at` to `until`);
  3. reached: save the tour as a walkthrough file and run it with `walkthrough start FILE --auto` as a learner
     would; count the steps the real run stopped at;
  4. for ppo and mlp: how many of the hand-written walkthrough's steps the generated tour covers.

    python benchmarks/auto_tour.py [NAME ...] [--seconds 30]

Last line: repos=R reached=A/B recall=C seconds_max=T
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracer import spec  # noqa: E402
from tracer.autotour import generate  # noqa: E402
from tracer.engine import anchors  # noqa: E402

EXPERTS = ROOT / "tests" / "data" / "autotour" / "experts"
WALKTHROUGH = Path(sys.executable).parent / "walkthrough"


def expert_lines(expert: dict, repo: Path) -> list[tuple[Path, int, str]]:
    """Where each expert stop is today; a stop whose code changed is line 0 (counted as missed, and said)."""
    out = []
    for stop in expert["stop"]:
        path = (repo / stop["file"]).resolve()
        try:
            if "nth" in stop:
                wanted = anchors.normalize(stop["at"])
                matches = [s for s in anchors.parse_file(path).statements if f" {wanted} " in f" {s.tokens} "]
                line = matches[stop["nth"] - 1].line
            else:
                line = anchors.resolve(path, stop["at"], stop.get("function")).line
        except (anchors.AnchorError, IndexError) as exc:
            print(f"  stale expert stop (the code changed; update the list): {stop['file']}: {exc}")
            line = 0
        out.append((path, line, stop["at"]))
    return out


def covered(steps, path: Path, line: int) -> bool:
    return any(Path(s.path) == path and s.line <= line <= s.end_line for s in steps)


def run_tour(toml: Path, cwd: Path, state: Path) -> tuple[int, int, str]:
    env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(state), "NO_COLOR": "1", "COLUMNS": "120"}
    proc = subprocess.run([str(WALKTHROUGH), "start", str(toml), "--auto"], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=900)
    match = re.search(r"steps seen: (\d+)/(\d+)", proc.stdout)
    if not match:
        return 0, -1, (proc.stdout + proc.stderr)[-1500:]
    return int(match.group(1)), int(match.group(2)), ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="expert files to use (default: all)")
    parser.add_argument("--seconds", type=float, default=generate.DEFAULT_SECONDS, help="budget of the short run")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the generated steps and misses")
    options = parser.parse_args()
    files = sorted(EXPERTS.glob("*.toml"))
    if options.names:
        files = [f for f in files if f.stem in options.names]
    total_found = total_lines = total_reached = total_steps = 0
    seconds_max = 0.0
    for file in files:
        expert = tomllib.loads(file.read_text(encoding="utf-8"))
        repo = (file.parent / expert["repo"]).resolve()
        with tempfile.TemporaryDirectory(prefix=f"autotour-{file.stem}-") as tmp:
            tmp = Path(tmp)
            args = [a.replace("{out}", str(tmp / "out")) for a in expert["args"]]
            started = time.monotonic()
            result = generate.generate(repo / expert["script"], args, repo, options.seconds, cwd=tmp)
            seconds = time.monotonic() - started
            seconds_max = max(seconds_max, seconds)
            steps = result.walkthrough.steps
            lines = expert_lines(expert, repo)
            found = [ln for ln in lines if covered(steps, *ln[:2])]
            toml = generate.save(result.walkthrough, tmp / "tour.toml")
            reached, count, error = run_tour(toml, tmp, tmp / "state")
            total_found += len(found)
            total_lines += len(lines)
            total_reached += reached
            total_steps += len(steps)
            extra = ""
            if file.stem in ("ppo", "mlp"):
                hand = spec.load(spec.find(file.stem))
                hand_covered = [s for s in hand.steps if covered(steps, Path(s.path), s.line)]
                extra = f"  hand-written steps covered {len(hand_covered)}/{len(hand.steps)}"
            print(f"{file.stem:14} steps {len(steps):2}  reached {reached}/{len(steps)}  "
                  f"recall {len(found)}/{len(lines)} = {len(found) / len(lines):.2f}  "
                  f"generation {seconds:.1f} s (short run {result.run_seconds:.1f} s){extra}", flush=True)
            if error:
                print("  tour run failed:\n" + error)
            for note in result.notes:
                print(f"  note: {note}")
            if options.verbose:
                for n, step in enumerate(steps, 1):
                    print(f"    {n:2} {step.file}:{step.line}-{step.end_line}  {step.title}")
                for path, line, at in lines:
                    if (path, line, at) not in found:
                        print(f"    missed {path.name}:{line}  {at}")
    load = os.getloadavg()[0]
    print(f"load average {load:.2f}")
    recall = total_found / total_lines if total_lines else 0.0
    print(f"repos={len(files)} reached={total_reached}/{total_steps} recall={recall:.2f} seconds_max={seconds_max:.1f}")


if __name__ == "__main__":
    main()
