"""Exercise checks against hand-written learner attempts: are wrong versions rejected and named, right ones accepted?

For every exercise with attempts in tests/data/exercises/<id>/:
  wrong_*.py  must be rejected, and named as the mistake its header gives (`# mistake: <fault id>`;
              `none` when no single known mistake produces it: it then counts as not named)
  right_*.py  must pass (written differently from the reference: vectorised, reordered, helpers)
Each attempt is written into a fresh working copy (as `walkthrough implement` makes it) and checked
in-process; then `walkthrough implement REPO ID --check` is timed end to end (a new process, the
recording cached) for one attempt of every exercise.

    python benchmarks/exercise_check.py [--only gae ppo-loss] [--verbose]

Last line: exercises=N wrong_rejected=R/W named=M/W right_accepted=A/C max_check_s=T
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "exercises"
COMMAND_CPU: list[float] = []     # CPU seconds of each timed command (a figure the machine's load does not inflate)
sys.path.insert(0, str(ROOT))


def read_attempt(path: Path) -> tuple[str, str, str]:
    """(block code, module-level helpers, expected mistake id or "") of an attempt file."""
    text = path.read_text(encoding="utf-8")
    code, _, helpers = text.partition("# --- module ---\n")
    match = re.search(r"^# mistake: (\S+)", text, re.M)
    return code, helpers, match.group(1) if match else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="exercise ids to run (default: every one with attempts)")
    parser.add_argument("--verbose", action="store_true", help="print every attempt's verdict")
    parser.add_argument("--no-command", action="store_true", help="skip the end-to-end command timing")
    args = parser.parse_args()
    state = tempfile.mkdtemp(prefix="exercise-bench-state-")
    os.environ.setdefault("WALKTHROUGH_STATE_DIR", state)

    from tracer.practice import exercises, grading, implement
    from tracer.engine import recorder

    catalogues = exercises.catalogues()
    shipped = sum(len(c.exercises) for c in catalogues)
    wrong = rejected = named = misnamed = right = accepted = 0
    slowest_in_process = 0.0
    command_times: list[float] = []
    work = Path(tempfile.mkdtemp(prefix="exercise-bench-work-"))
    for catalogue in catalogues:
        for exercise in catalogue.exercises:
            folder = DATA / exercise.id
            if not folder.is_dir() or (args.only and exercise.id not in args.only):
                continue
            checker = grading.Checker(catalogue, exercise)
            first = recorder.load(checker.recording, exercise.repo_dir)[exercise.id][0]
            copy_dir = work / exercise.repo
            attempts = sorted(folder.glob("wrong_*.py")) + sorted(folder.glob("right_*.py"))
            stats = {"wrong": 0, "rejected": 0, "named": 0, "right": 0, "accepted": 0}
            for attempt in attempts:
                code, helpers, expected = read_attempt(attempt)
                implement.prepare_copy(catalogue, exercise, copy_dir, first, force=True)
                implement.write_attempt(copy_dir, exercise, code, helpers)
                report = grading.check(checker, copy_dir)
                slowest_in_process = max(slowest_in_process, report.seconds)
                matched = [m.fault_id for m in report.mistakes]
                if attempt.name.startswith("wrong_"):
                    stats["wrong"] += 1
                    stats["rejected"] += not report.passed
                    good_name = expected in matched
                    stats["named"] += good_name
                    if matched and not good_name:
                        misnamed += 1
                    verdict = ("REJECTED" if not report.passed else "PASSED (wrong!)") + \
                        f" at {report.stage or '-'}; named {matched or 'nothing'}; expected {expected}"
                else:
                    stats["right"] += 1
                    stats["accepted"] += report.passed
                    verdict = "accepted" if report.passed else \
                        f"REJECTED (right!) at {report.stage}: {report.problem or report.difference}"
                if args.verbose or (attempt.name.startswith("right_") and not report.passed) or \
                        (attempt.name.startswith("wrong_") and (report.passed or (matched and expected not in matched))):
                    print(f"  {exercise.key:<30} {attempt.name:<36} {verdict}  ({report.seconds:.2f} s)")
            invisible = _invisible_mutants(checker)
            if invisible:
                print(f"  {exercise.key}: mutants no recorded input tells from the reference: {', '.join(invisible)}")
            if not args.no_command and attempts:
                command_times.append(_time_command(catalogue, exercise, copy_dir, first, attempts[0]))
            print(f"{exercise.key}: wrong rejected {stats['rejected']}/{stats['wrong']}, named {stats['named']}/"
                  f"{stats['wrong']}, right accepted {stats['accepted']}/{stats['right']}"
                  + (f", command {command_times[-1]:.2f} s" if command_times and not args.no_command else ""))
            wrong += stats["wrong"]
            rejected += stats["rejected"]
            named += stats["named"]
            right += stats["right"]
            accepted += stats["accepted"]
    print(f"in-process check: slowest {slowest_in_process:.2f} s; attempts named as another mistake: {misnamed}")
    if COMMAND_CPU:
        print(f"`walkthrough implement … --check` end to end: wall {', '.join(f'{t:.2f}' for t in command_times)} s; "
              f"CPU {', '.join(f'{t:.2f}' for t in COMMAND_CPU)} s (wall ≈ CPU on an idle machine)")
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    max_check = max(command_times) if command_times else slowest_in_process
    print(f"exercises={shipped} wrong_rejected={rejected}/{wrong} named={named}/{wrong} "
          f"right_accepted={accepted}/{right} max_check_s={max_check:.2f}")
    return 0


def _invisible_mutants(checker) -> list[str]:
    """Mutants of the reference block whose outputs equal the reference's on every moment (an exercise author wants
    this list short: each entry is a mistake a learner could make and still pass)."""
    from tracer.practice import grading

    exercise = checker.exercise
    moments = checker.moments()
    found = []

    def same(moment, run) -> bool:
        if run is None or "outputs" not in run:
            return False
        if grading._first([grading.compare(moment.expected[label], run["outputs"].get(label), label,
                                           exercise.tolerance) for label in moment.expected]) is not None:
            return False
        original = grading.tensor_paths(moment.inputs)
        return all(grading.compare(original[path], after, path, {}) is None for path, after in run["inputs_after"].items()
                   if grading._under(path, exercise.keep))

    for mistake, runs in checker.mutant_results(moments):
        if runs and all(same(m, r) for m, r in zip(moments, runs)):
            found.append(f"{mistake.fault_id}@{mistake.line}")
    return found


def _time_command(catalogue, exercise, copy_dir: Path, first, attempt: Path) -> float:
    """Wall time of `walkthrough implement REPO ID --check` in a new process, on one attempt."""
    from tracer.practice import implement

    code, helpers, _ = read_attempt(attempt)
    implement.prepare_copy(catalogue, exercise, copy_dir, first, force=True)
    implement.write_attempt(copy_dir, exercise, code, helpers)
    command = [str(Path(sys.executable).parent / "walkthrough"), "implement", exercise.repo, exercise.id, "--check",
               "--dir", str(copy_dir.parent)]
    import resource

    subprocess.run(command, capture_output=True, text=True, timeout=120)        # warm the mutant cache
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, text=True, timeout=120)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    COMMAND_CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return seconds


if __name__ == "__main__":
    sys.exit(main())
