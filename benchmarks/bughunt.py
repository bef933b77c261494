"""Bug hunts: how many kinds of bug the fault library plants in each reference repo, and how well they hunt.

For each repo of walkthroughs/catalogue/bughunts.toml, every place a fault applies is planted and
verified exactly as `walkthrough bughunt` does (short runs on the hunt's seeds beside the healthy
runs, through the run cache); every live one is then run with the value checks watching every tour
step at its executions 1, 2, 4, 8, ... (`walkthrough bughunt --watch`; the same checks as `check` at
a stop), and so are the healthy references on both seeds (a flag there is a false flag). Finally a
hunt is planted end to end with `walkthrough bughunt ppo`, timed cold (empty caches) and warm.

Counts are per kind of fault (a fault may apply at several places); every fraction in the last
line is over all kinds K, and the line above it gives nocrash and flagged over the live kinds L (the
bugs a hunt can actually plant):
  kinds       faults that apply to the repo and that a hunt plants unasked if they are live: a kind whose
              every live place dies with a Python traceback is only planted on request (--kind), since the
              traceback names the line; those kinds are listed, and left out of every count
  categories  their categories
  live        kinds with at least one place whose short runs differ (crash, NaN or a logged value) and do
              not die with a traceback
  nocrash     kinds with a live place whose runs go to the end (a run the program stops itself, such as
              train.py's "training diverged", does not)
  flagged     kinds with a live place where the checks raise a flag (crashing places count only if a
              flag comes before the crash)
  false_flags flags raised on the healthy reference runs
Last line: kinds=K categories=C live=L/K nocrash=N/K flagged=F/K false_flags=X (kinds summed over the repos,
categories the distinct ones)

Usage: python benchmarks/bughunt.py [--repo ppo] [--no-plant | --plant-only] [--jobs N]
Time the planting on a quiet machine: flock /work/coord/bench.lock python benchmarks/bughunt.py --plant-only
Caches live in $WALKTHROUGH_STATE_DIR (default: a folder under /tmp kept between runs).
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("WALKTHROUGH_STATE_DIR", str(Path(tempfile.gettempdir()) / "walkthrough-bench-bughunt"))

from rich.console import Console  # noqa: E402

from tracer.lab.runs import available_cores, code_hash  # noqa: E402
from tracer.practice import bughunt, checks  # noqa: E402


def _check_key(cfg, mutation, argv) -> str:
    """What a watched run's flags depend on: the checks, the engine, the tour, the code and the flags."""
    parts = [(ROOT / "tracer" / "practice" / "checks.py").read_text(), (ROOT / "tracer" / "engine" / "stops.py").read_text(),
             (ROOT / "walkthroughs" / f"{cfg.walkthrough}.toml").read_text(), code_hash(cfg.origin),
             mutation.path if mutation else "", mutation.source if mutation else "", list(argv)]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:24]


def check_runs(cfg, planted, argv, jobs):
    """{index: flags result} for each (index, mutation-or-None) in planted; None = the healthy reference.
    Results are cached in the state directory by _check_key: a re-run of the benchmark only runs what changed."""
    parent = bughunt._state() / "cache" / "bughunt-stage"
    parent.mkdir(parents=True, exist_ok=True)
    cache_dir = bughunt._state() / "cache" / "bughunt-checks"
    cache_dir.mkdir(parents=True, exist_ok=True)

    def one(item):
        index, mutation = item
        cached = cache_dir / f"{_check_key(cfg, mutation, argv)}.json"
        if cached.is_file():
            return index, json.loads(cached.read_text())
        repo = None
        if mutation is not None:
            repo = bughunt.stage_copy(cfg, {mutation.path: mutation.source}, parent)
        try:
            result = checks.run_checked_subprocess(cfg.walkthrough, repo, argv, watch=True)
        finally:
            if repo is not None:
                shutil.rmtree(repo, ignore_errors=True)
        if not str(result.get("error") or "").startswith("timed out"):
            cached.write_text(json.dumps(result))
        return index, result

    with ThreadPoolExecutor(jobs) as pool:
        return dict(pool.map(one, planted))


def bench_repo(cfg, jobs, console):
    found = bughunt.candidates(cfg)
    started = time.monotonic()
    verdicts = bughunt.verify(cfg, found, cfg.args, console=console, jobs=jobs,
                              description=f"{cfg.repo}: verifying {len(found)} planted bugs")
    verify_s = time.monotonic() - started
    live = [(i, m) for i, (m, v) in enumerate(zip(found, verdicts)) if v.plantable]
    argv = [*cfg.args, "--seed", str(cfg.seeds[0])]      # the verification run's flags: the tour reaches every stop
    started = time.monotonic()
    flagged_runs = check_runs(cfg, live, argv, jobs)
    healthy_runs = {}
    for seed in cfg.seeds:
        healthy_runs.update(check_runs(cfg, [(f"healthy, seed {seed}", None)], [*cfg.args, "--seed", str(seed)], 1))
    checks_s = time.monotonic() - started

    kinds: dict[str, dict] = {}
    print(f"\n{cfg.repo}: {len(found)} places, {len(live)} live; verification {verify_s:.0f} s, checks {checks_s:.0f} s")
    print(f"{'fault':34} {'file:line':14} {'verdict':10} {'flags (first step#execution)'}")
    for i, (m, v) in enumerate(zip(found, verdicts)):
        k = kinds.setdefault(m.fault.id, {"category": m.fault.category, "live": False, "nocrash": False,
                                          "flagged": False, "traceback": False})
        k["traceback"] |= v.live and v.traceback
        flags = "(dies with a traceback: planted only with --kind)" if v.live and v.traceback else ""
        if v.plantable:
            k["live"] = True
            k["nocrash"] |= v.kind != "crash"
            result = flagged_runs[i]
            names = sorted({f["check"] for stop in result["stops"].values() for f in stop})
            k["flagged"] |= bool(names)
            first = next(iter(result["stops"]), "")
            flags = (", ".join(names) + f"  (first at {first})") if names else "-"
            if result.get("error") and v.kind != "crash":      # the watched run itself failed: say so
                flags += f"  [checked run failed: {result['error'][:80]}]"
        print(f"{m.fault.id:34} {m.path + ':' + str(m.line):14} {v.kind:10} {flags}")
    on_request = sorted(kid for kid, k in kinds.items() if k["traceback"] and not k["live"])
    if on_request:
        print(f"{len(on_request)} kinds only die with a traceback (planted only with --kind; not counted below): "
              f"{', '.join(on_request)}")
    kinds = {kid: k for kid, k in kinds.items() if kid not in on_request}
    false_flags = 0
    for name, result in healthy_runs.items():
        for step, flags in result["stops"].items():
            for f in flags:
                false_flags += 1
                print(f"FALSE FLAG on the healthy reference ({name}) at {step}: {f['check']} {f['name']}: {f['message']}")
        if result["error"]:
            print(f"the healthy reference's check run failed ({name}): {result['error']}")
    counts = {"kinds": len(kinds), "categories": len({k["category"] for k in kinds.values()}),
              "category_names": {k["category"] for k in kinds.values()},
              "live": sum(k["live"] for k in kinds.values()), "nocrash": sum(k["nocrash"] for k in kinds.values()),
              "flagged": sum(k["flagged"] for k in kinds.values()), "false_flags": false_flags,
              "sites": len(found), "live_sites": len(live), "on_request": len(on_request)}
    return counts


def line(c, prefix=""):
    k = c["kinds"]
    return (f"{prefix}kinds={k} categories={c['categories']} live={c['live']}/{k} nocrash={c['nocrash']}/{k} "
            f"flagged={c['flagged']}/{k} false_flags={c['false_flags']}")


def of_live(c) -> str:
    live = c["live"] or 1
    return (f"of the {c['live']} live kinds (the bugs a hunt can plant): {c['nocrash']} run to the end "
            f"({c['nocrash'] / live:.0%}), {c['flagged']} are flagged by the checks ({c['flagged'] / live:.0%})")


def plant_timing(repo: str, seed: int, state: Path) -> float:
    """Seconds of `walkthrough bughunt REPO --seed N` in a fresh folder with the state directory `state`."""
    with tempfile.TemporaryDirectory(prefix="bughunt-bench-") as cwd:
        env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(state), "COLUMNS": "100"}
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "tracer.cli", "bughunt", repo, "--seed", str(seed)],
                              cwd=cwd, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
        seconds = time.monotonic() - started
        if proc.returncode != 0:
            print(proc.stdout[-2000:], proc.stderr[-2000:])
            raise SystemExit(f"planting failed (exit {proc.returncode})")
        return seconds


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repo", action="append", help="only this repo (repeatable)")
    p.add_argument("--no-plant", action="store_true", help="skip timing `walkthrough bughunt ppo`")
    p.add_argument("--plant-only", action="store_true", help="only time `walkthrough bughunt ppo` (cold and warm)")
    p.add_argument("--jobs", type=int, default=available_cores())
    args = p.parse_args()
    console = Console(stderr=True)
    hunts = bughunt.load_config()
    repos = args.repo or sorted(hunts)
    print(f"cores: {available_cores()}  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not args.no_plant:
        cold = Path(tempfile.mkdtemp(prefix="bughunt-cold-"))
        try:
            cold_s = plant_timing("ppo", 11, cold)
            warm_s = plant_timing("ppo", 12, cold)     # the healthy runs and recording are cached now
        finally:
            shutil.rmtree(cold, ignore_errors=True)
        print(f"plant ppo: cold {cold_s:.1f} s (empty caches), warm {warm_s:.1f} s (healthy runs cached)")
    if args.plant_only:
        return
    results = {repo: bench_repo(hunts[repo], args.jobs, console) for repo in repos}
    print()
    for repo, c in results.items():
        print(line(c, f"{repo}: ") + f"  ({c['live_sites']}/{c['sites']} places live; {c['on_request']} kinds that "
              "only die with a traceback left out)")
        print(f"{repo}: {of_live(c)}")
    total = {key: sum(c[key] for c in results.values()) for key in next(iter(results.values()))
             if key != "category_names"}
    total["categories"] = len(set().union(*(c["category_names"] for c in results.values())))   # distinct ones
    print(line(total))


if __name__ == "__main__":
    main()
