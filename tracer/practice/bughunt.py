"""Bug hunts: one realistic, verified-live bug planted in a copy of a reference repo.

A hunt picks a fault from the fault library that applies to the repo (seeded), plants it in a
staging copy, runs the training script short on fixed seeds beside the healthy reference (through
the run cache) and keeps the bug only if the run really changes: a crash, NaN, or different logged
values. It then records both runs at every tour step (the recorder) to find the first step whose
live values differ, copies the buggy repo to walkthrough-work/bughunt-<repo>, and keeps the answer
in the learner's progress, not in the copy.

The learner sees the symptom first (the buggy learning curve beside the healthy one), hunts with
the tour, `p EXPR` and `check`, guesses a FILE:LINE, asks for staged hints, and may reveal the bug.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import math
import random
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

from .. import datafile
from ..datafile import DataFileError, cached_json_object

if TYPE_CHECKING:           # the fault library imports libcst (~1 s): only where bugs are chosen
    from . import faults as faultlib

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
CONFIG = PROJECT_ROOT / "walkthroughs" / "catalogue" / "bughunts.toml"
IMPLS_DIR = PROJECT_ROOT / "minimal_impls"
RECORD_HITS = (1, 2, 3, 4, 8, 16)    # executions of each tour step compared (a loop's later turns too)
HISTORY_KEPT = 50           # past hunts kept per folder in progress
VERDICT_FORMAT = 3          # bump when compare() changes: cached verdicts are then reached again


class HuntError(DataFileError):
    """Bad input or an unusable configuration; the message says what to do."""


# ----- configuration ---------------------------------------------------------------------------
@dataclass
class Stage:
    name: str
    about: str
    steps: list[str]
    files: list[str] = field(default_factory=list)   # files without tour steps whose code belongs here


@dataclass
class HuntConfig:
    repo: str
    walkthrough: str
    script: str
    files: list[str]
    args: list[str]
    record_args: list[str]
    seeds: list[int]
    x: str
    y: str
    ignore: list[str]
    stages: list[Stage] = field(default_factory=list)

    @property
    def origin(self) -> Path:
        return IMPLS_DIR / self.repo


_HUNT_KEYS = {"repo": str, "walkthrough": str, "script": str, "files": list, "args": list, "record_args": list,
              "seeds": list, "x": str, "y": str, "ignore": list, "stage": list}
_STAGE_KEYS = {"name": str, "about": str, "steps": list, "files": list}


def load_config(path: Path | None = None) -> dict[str, HuntConfig]:
    """The hunts of bughunts.toml by repo name, validated; errors name the file and line."""
    path = Path(path) if path else CONFIG
    try:
        text, data = datafile.read_toml(path, "bug-hunt file")
    except DataFileError as exc:
        raise HuntError(str(exc)) from None
    lines = text.splitlines()
    starts = [i + 1 for i, line in enumerate(lines) if re.match(r"\s*\[\[\s*hunt\s*\]\]", line)]

    def where(n: int, key: str | None = None) -> str:
        start = starts[n] if n < len(starts) else 1
        end = starts[n + 1] if n + 1 < len(starts) else len(lines) + 1
        if key:
            for i in range(start, end):
                if re.match(rf"\s*{re.escape(key)}\s*=", lines[i - 1]):
                    return f"{path}:{i}"
        return f"{path}:{start}"

    if set(data) - {"hunt"}:
        raise HuntError(f"{path}: unknown top-level key(s) {', '.join(sorted(set(data) - {'hunt'}))}")
    hunts = {}
    for n, raw in enumerate(data.get("hunt", [])):
        for key, value in raw.items():
            if key not in _HUNT_KEYS:
                raise HuntError(f"{where(n, key)}: unknown key {key!r}; a hunt has {', '.join(_HUNT_KEYS)}")
            if not isinstance(value, _HUNT_KEYS[key]):
                raise HuntError(f"{where(n, key)}: {key!r} must be a {_HUNT_KEYS[key].__name__}")
        missing = [k for k in _HUNT_KEYS if k != "stage" and k not in raw]
        if missing:
            raise HuntError(f"{where(n)}: hunt {n + 1} has no {', '.join(missing)}")
        stages = []
        for raw_stage in raw.get("stage", []):
            bad = set(raw_stage) - set(_STAGE_KEYS)
            if bad or {"name", "about", "steps"} - set(raw_stage):
                raise HuntError(f"{where(n)}: each [[hunt.stage]] has name, about, steps and optionally files")
            stages.append(Stage(raw_stage["name"], raw_stage["about"], list(raw_stage["steps"]),
                                list(raw_stage.get("files", []))))
        cfg = HuntConfig(**{k: v for k, v in raw.items() if k != "stage"}, stages=stages)
        if not cfg.origin.is_dir():
            raise HuntError(f"{where(n, 'repo')}: no repo {cfg.repo!r} in {IMPLS_DIR}")
        for name in [cfg.script, *cfg.files]:
            if not (cfg.origin / name).is_file():
                raise HuntError(f"{where(n, 'files')}: no file {name!r} in {cfg.origin}")
        if not cfg.seeds or not all(isinstance(s, int) for s in cfg.seeds):
            raise HuntError(f"{where(n, 'seeds')}: 'seeds' must be a list of integers")
        hunts[cfg.repo] = cfg
    return hunts


def check_config(path: Path | None = None) -> list[str]:
    """Problems of the configuration beyond its schema: stage steps that the walkthrough does not have."""
    from .. import spec

    problems = []
    for cfg in load_config(path).values():
        walkthrough = spec.load(spec.find(cfg.walkthrough), resolve_anchors=False)
        ids = [s.id for s in walkthrough.steps]
        for stage in cfg.stages:
            for step in stage.steps:
                if step not in ids:
                    problems.append(f"{path or CONFIG}: hunt {cfg.repo!r}, stage {stage.name!r}: the walkthrough "
                                    f"{cfg.walkthrough!r} has no step {step!r}")
            if len(stage.steps) < 2 and not stage.files:
                problems.append(f"{path or CONFIG}: hunt {cfg.repo!r}, stage {stage.name!r} has only "
                                f"{len(stage.steps)} tour step: hint 2 (the stage) would name the step hint 3 names; "
                                "merge it with a neighbouring stage")
    return problems


def summary(path: Path | None = None) -> str:
    """A line for `walkthrough check`: the hunts load and their stages name real tour steps."""
    problems = check_config(path)
    if problems:
        raise HuntError("; ".join(problems))
    hunts = load_config(path)
    return f"{len(hunts)} bug hunts ({', '.join(hunts)}), every stage names steps of its walkthrough"


# ----- candidates -------------------------------------------------------------------------------
def candidates(cfg: HuntConfig, faults=None) -> list[faultlib.Mutation]:
    """Every place a fault applies in the hunt's files of the reference repo, in file order."""
    from . import faults as faultlib

    found = []
    for name in cfg.files:
        found += faultlib.mutations((cfg.origin / name).read_text(encoding="utf-8"), name, faults=faults)
    return found


def shuffled(mutations: list[faultlib.Mutation], seed: int) -> list[faultlib.Mutation]:
    """A seeded order in which every kind of fault is equally likely to come first (not every site)."""
    rng = random.Random(seed)
    by_kind: dict[str, list] = {}
    for m in mutations:
        by_kind.setdefault(m.fault.id, []).append(m)
    kinds = sorted(by_kind)
    rng.shuffle(kinds)
    for sites in by_kind.values():
        rng.shuffle(sites)
    order = []
    for depth in range(max((len(v) for v in by_kind.values()), default=0)):
        order += [by_kind[k][depth] for k in kinds if depth < len(by_kind[k])]
    return order


# ----- verification: does the bug change the run? ------------------------------------------------
@dataclass
class Verdict:
    live: bool
    kind: str                         # crash | nan | metric | values | equivalent
    summary: str                      # one sentence for the learner
    evidence: list[str] = field(default_factory=list)    # one line per seed or column
    crash: str = ""                   # the error the buggy run ended with
    crashed_rows: dict = field(default_factory=dict)     # seed -> metrics rows before a crash (for the curve)
    first_column: str = ""            # the logged column that differs first (first seed)
    first_x: object = None            # ... at this value of the x column
    first_index: int = 0              # ... in this row (0: the first)
    ratios: dict = field(default_factory=dict)   # column -> mean |value| with the bug / healthy (first seed)
    traceback: bool = False           # every crashed run died with a Python traceback (not the program's own exit)

    @property
    def plantable(self) -> bool:
        """Whether a hunt plants it unasked: it changes the run, and not by dying with a traceback.
        A traceback already shows where the program broke; the hunts are for the bugs that do not announce
        themselves: they let the program run, or it stops with its own diagnosis ("training diverged")."""
        return self.live and not self.traceback

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Verdict":
        return cls(**data)


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _last_finite(rows: list[dict], column: str):
    values = [r.get(column) for r in rows if _finite(r.get(column))]
    return values[-1] if values else None


def _error_line(log_tail: str) -> str:
    lines = [line.strip() for line in log_tail.splitlines() if line.strip()]
    for line in reversed(lines):
        if re.match(r"[A-Za-z_.]*(Error|Exception|Interrupt)\b", line):
            return line
    return lines[-1] if lines else "it exited with an error"


def _died_with_traceback(log_tail: str) -> bool:
    """True when the output ends in Python's report of an uncaught exception (its frames or its header)."""
    return "Traceback (most recent call last)" in log_tail or bool(re.search(r'^\s*File ".*", line \d+', log_tail, re.M))


def _fmt(value) -> str:
    if value is None:
        return "none"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _ratio(healthy: list, buggy: list) -> float | None:
    """Mean |value| of a logged column with the bug over its healthy mean (None if not comparable)."""
    h = [abs(v) for v in healthy if _finite(v)]
    b = [abs(v) for v in buggy if _finite(v)]
    if not h or not b or sum(h) == 0:
        return None
    return (sum(b) / len(b)) / (sum(h) / len(h))


def compare(healthy: list, buggy: list, cfg: HuntConfig) -> Verdict:
    """Compare the buggy runs with the healthy runs of the same seeds (RunResults, in seed order)."""
    evidence, kinds, crash, crashed_rows, firsts, ratios, tracebacks = [], set(), "", {}, [], {}, []
    for h, b in zip(healthy, buggy):
        seed = h.spec.seed
        if not h.ok:
            raise HuntError(f"the healthy reference run (seed {seed}) failed; the reference repo is broken:\n"
                            f"{h.log_tail}")
        if not b.ok:
            kinds.add("crash")
            crash = _error_line(b.log_tail)
            tracebacks.append(_died_with_traceback(b.log_tail))
            last = b.metrics[-1].get(cfg.x) if b.metrics else None
            where = f" after {cfg.x} {last}" if last is not None else " before logging anything"
            evidence.append(f"seed {seed}: the run crashed{where}: {crash}")
            crashed_rows[str(seed)] = b.metrics
            continue
        columns = [c for c in (h.metrics[0] if h.metrics else {}) if c not in cfg.ignore]
        differing, first = [], None
        for c in columns:
            for i, (hr, br) in enumerate(zip(h.metrics, b.metrics)):
                if not _same(hr.get(c), br.get(c)):
                    differing.append(c)
                    if first is None or i < first[0]:
                        first = (i, c, hr.get(cfg.x))
                    break
        # the end-of-run report (summary.json) counts too
        differing += [f"summary.{key}" for key, _, _ in summary_changes(h.summary, b.summary, cfg)]
        if first is not None:
            firsts.append(first)
            if not ratios:
                ratios = {c: _ratio(h.column(c), b.column(c)) for c in differing if c != "rows"}
        if len(h.metrics) != len(b.metrics):
            differing.append("rows")
            evidence.append(f"seed {seed}: {len(b.metrics)} rows logged instead of {len(h.metrics)}")
        nan_columns = [c for c in columns if any(_finite(hr.get(c)) and not _finite(br.get(c))
                                                 for hr, br in zip(h.metrics, b.metrics))]
        if nan_columns:
            kinds.add("nan")
            evidence.append(f"seed {seed}: NaN or inf where the healthy run has numbers: {', '.join(nan_columns)}")
        h_final, b_final = _last_finite(h.metrics, cfg.y), _last_finite(b.metrics, cfg.y)
        if cfg.y in differing:
            kinds.add("metric")
        elif differing:
            kinds.add("values")
        if differing:
            evidence.append(f"seed {seed}: final {cfg.y} {_fmt(b_final)} with the bug, {_fmt(h_final)} healthy; "
                            f"first difference: {first[1]} at {cfg.x} {first[2]}" if first else
                            f"seed {seed}: final {cfg.y} {_fmt(b_final)} with the bug, {_fmt(h_final)} healthy")
            others = [c for c in differing if c not in (cfg.y, "rows")]
            if others:
                evidence.append(f"seed {seed}: other logged values that differ: {', '.join(others)}")
        else:
            evidence.append(f"seed {seed}: every logged value equals the healthy run's")
    for kind in ("crash", "nan", "metric", "values"):
        if kind in kinds:
            break
    else:
        kind = "equivalent"
    seeds = ", ".join(str(r.spec.seed) for r in healthy)
    summary = {
        "crash": f"the program crashes ({crash})",
        "nan": "the run produces NaN or inf where the healthy run has numbers",
        "metric": f"the learning curve ({cfg.y}) differs from the healthy run's",
        "values": f"the logged values differ from the healthy run's, though {cfg.y} does not",
        "equivalent": f"nothing the program logs differs from the healthy run (seeds {seeds}): an equivalent mutant",
    }[kind]
    first = firsts[0] if firsts else (0, "", None)
    return Verdict(kind != "equivalent", kind, summary, evidence, crash, crashed_rows, first[1], first[2], first[0],
                   ratios, traceback=kind == "crash" and all(tracebacks))


def _verdict_key(cfg: HuntConfig, mutation: faultlib.Mutation, args: list[str]) -> str:
    from ..lab.runs import _environment, code_hash
    parts = [VERDICT_FORMAT, cfg.repo, cfg.script, mutation.path, mutation.source, code_hash(cfg.origin), list(args),
             list(cfg.seeds), sorted(cfg.ignore), cfg.y, _environment()]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:24]


class VerdictCache:
    """Verdicts already reached (a crashed run is not kept by the run cache: its verdict is kept here)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.data = cached_json_object(self.path)

    def get(self, key: str) -> Verdict | None:
        try:
            return Verdict.from_json(self.data[key])
        except (KeyError, TypeError):
            return None

    def put(self, key: str, verdict: Verdict) -> None:
        self.data[key] = verdict.to_json()

    def save(self) -> None:
        from .workcopy import _write_atomic
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(self.path, json.dumps(self.data))
        except OSError:
            pass      # a cache: losing it costs only time


def _state() -> Path:
    from ..progress import state_dir
    return state_dir()


def runs_root() -> Path:
    return _state() / "cache" / "runs"


def stage_copy(cfg: HuntConfig, files: dict[str, str], parent: Path) -> Path:
    """A copy of the reference repo's code under `parent` with `files` (name -> text) replaced."""
    from .workcopy import source_files

    dest = Path(tempfile.mkdtemp(prefix=f"{cfg.repo}-", dir=parent))
    for rel in source_files(cfg.origin):
        if rel.suffix != ".py":
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if str(rel) in files:
            target.write_text(files[str(rel)], encoding="utf-8")
        else:
            shutil.copyfile(cfg.origin / rel, target)
    return dest


def verify(cfg: HuntConfig, mutations: list[faultlib.Mutation], args: list[str], *, console=None,
           jobs: int | None = None, description: str = "", anonymous: bool = False) -> list[Verdict]:
    """The verdict of each mutation: its short runs (cfg.seeds) against the healthy runs, all in parallel."""
    from ..lab.runs import RunSpec, run_all

    cache = VerdictCache(_state() / "cache" / "bughunt-verdicts.json")
    keys = [_verdict_key(cfg, m, args) for m in mutations]
    todo = [i for i, key in enumerate(keys) if cache.get(key) is None]
    if todo:
        parent = _state() / "cache" / "bughunt-stage"
        parent.mkdir(parents=True, exist_ok=True)
        stages = {i: stage_copy(cfg, {mutations[i].path: mutations[i].source}, parent) for i in todo}
        try:
            healthy = [RunSpec(cfg.origin.resolve(), cfg.script, tuple(args), seed, label=f"healthy, seed {seed}")
                       for seed in cfg.seeds]
            buggy = {i: [RunSpec(stages[i], cfg.script, tuple(args), seed,
                                 label=f"{'a planted bug' if anonymous else mutations[i].fault.id}, seed {seed}",
                                 crash_measured=True)
                         for seed in cfg.seeds] for i in todo}
            specs = healthy + [s for i in todo for s in buggy[i]]
            results = run_all(specs, runs_root(), jobs=jobs, console=console,
                              description=description or f"verifying {len(todo)} planted bug(s)")
            healthy_results = results[:len(healthy)]
            offset = len(healthy)
            for i in todo:
                mine = results[offset:offset + len(cfg.seeds)]
                offset += len(cfg.seeds)
                cache.put(keys[i], compare(healthy_results, mine, cfg))
        finally:
            for path in stages.values():
                shutil.rmtree(path, ignore_errors=True)
            cache.save()
    return [cache.get(key) for key in keys]


def symptom_runs(cfg: HuntConfig, planted: dict[str, str], args: list[str], verdict: Verdict, console=None):
    """(healthy, buggy) RunResults for the symptom curves, from the run cache (a crashed buggy run is rebuilt
    from the rows its verdict kept: the run cache keeps only runs that finished)."""
    from ..lab.runs import RunResult, RunSpec, finished, run_all

    healthy = run_all([RunSpec(cfg.origin.resolve(), cfg.script, tuple(args), seed, label=f"healthy, seed {seed}")
                       for seed in cfg.seeds], runs_root(), console=console, description="healthy runs")
    parent = _state() / "cache" / "bughunt-stage"
    parent.mkdir(parents=True, exist_ok=True)
    stage = stage_copy(cfg, planted, parent)
    try:
        specs = [RunSpec(stage, cfg.script, tuple(args), seed, label=f"bug, seed {seed}", crash_measured=True)
                 for seed in cfg.seeds]
        buggy = []
        for spec in specs:
            rows = verdict.crashed_rows.get(str(spec.seed))
            if rows is not None:
                buggy.append(RunResult(spec, Path(), 1, 0.0, True, rows, None, verdict.crash))
            else:
                buggy.append(finished(spec, runs_root()) or run_all([spec], runs_root(), console=console,
                                                                    description="the run with the bug")[0])
        return healthy, buggy
    finally:
        shutil.rmtree(stage, ignore_errors=True)


# ----- where the values first differ -------------------------------------------------------------
@dataclass
class Divergence:
    step: int                         # 1-based number in the tour
    step_id: str
    title: str
    file: str
    line: int                         # in the buggy copy
    hit: int                          # which execution of the step first differs
    names: list[str]                  # the values that differ there
    crashed: str = ""                 # the buggy run crashed while recorded (its last line); step 0: before any
                                      # recorded value differed
    crash_at: str = ""                # FILE:LINE of the traceback's last frame in the repo ("" if it left none)
    crash_function: str = ""          # ... the function it is in
    crash_break: str = ""             # FILE:PATTERN for `walkthrough start SCRIPT --break` that stops on that line
    crash_step: int = 0               # the tour step whose statement that line is (0: none)
    crash_step_id: str = ""
    crash_title: str = ""
    after: bool = False               # the values first differ only once the step's statement has run

    def to_json(self) -> dict:
        return asdict(self)


def _chain(node) -> str | None:
    import ast
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _chain(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _statement_names(code: str) -> tuple[list[str], list[str]]:
    """(reads, writes) of one statement as names and attribute chains: for a method call, the object it is
    called on (`agent.get_value(x)` reads `agent` and `x`); for `x[i] = ...` or `x.a = ...`, x is written."""
    import ast

    tree = None
    for candidate in (code, code.rstrip().rstrip(":") + ":\n    pass"):
        try:
            tree = ast.parse(candidate)
            break
        except SyntaxError:
            continue
    if tree is None:
        return [], []
    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    reads, writes, inner = [], [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            inner.add(id(node.value))               # `args` in `args.gamma`: the chain stands for it
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Name, ast.Attribute)) or id(node) in inner and isinstance(node, ast.Name) \
                and not isinstance(node.ctx, ast.Store):
            continue
        chain = _chain(node)
        if chain is None:
            continue
        if id(node) in calls:
            chain = chain.rpartition(".")[0]
            if not chain:
                continue
        if isinstance(node.ctx, ast.Store):
            writes.append(chain)
        elif chain not in reads:
            reads.append(chain)
    for node in ast.walk(tree):                     # x[i] = ..., x[i] -= ...: x changes (and x[i] -= reads it)
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            chain = _chain(node.value)
            if chain:
                writes.append(chain)
                reads.append(chain)
    reads = [r for r in dict.fromkeys(reads) if not any(o.startswith(r + ".") for o in reads)]
    return reads, list(dict.fromkeys([*writes, *reads]))


def _plain(name: str) -> str:
    """An expression that records `name` as plain data: a module's state_dict, a repo object's attributes
    (objects of the repo's own classes cannot be unpickled outside the run)."""
    return (f"(lambda v: v.state_dict() if callable(getattr(v, 'state_dict', None)) and not isinstance(v, type) "
            f"else (dict(vars(v)) if hasattr(v, '__dict__') and type(v).__module__ in {{'__main__', 'agent', 'model', "
            f"'data', 'train'}} else v))({name})")


def _how_differs(a, b) -> str:
    """ (requires_grad differs, same numbers)  for tensors whose numbers agree: `p` shows the same value in both
    programs, and the learner must know to look at the gradient bookkeeping instead; "" otherwise."""
    import torch
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape \
            and a.requires_grad != b.requires_grad and torch.equal(a.detach(), b.detach()):
        return " (requires_grad differs, same numbers)"
    return ""


def equal_values(a, b, depth: int = 0) -> bool:
    """Do two recorded values hold the same numbers (tensors element for element, with requires_grad)?"""
    import numpy as np
    import torch

    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            return False
        if a.shape != b.shape or a.dtype != b.dtype or a.requires_grad != b.requires_grad:
            return False
        return bool(torch.equal(a.detach(), b.detach())) or bool(
            a.is_floating_point() and torch.equal(torch.isnan(a.detach()), torch.isnan(b.detach()))
            and torch.equal(torch.nan_to_num(a.detach()), torch.nan_to_num(b.detach())))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and \
            bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(equal_values(x, y, depth + 1) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(equal_values(a[k], b[k], depth + 1) for k in a)
    if isinstance(a, torch.Generator):
        return bool(torch.equal(a.get_state(), b.get_state()))
    if hasattr(a, "state_dict") and callable(a.state_dict):
        return equal_values(dict(a.state_dict()), dict(b.state_dict()), depth + 1)
    if depth < 3 and hasattr(a, "__dict__") and not isinstance(a, type):
        return equal_values(vars(a), vars(b), depth + 1)
    if type(a).__eq__ is object.__eq__:
        return True            # an object with no notion of equality and no attributes to compare: unknown, not different
    try:
        return bool(a == b)
    except Exception:
        return repr(a) == repr(b)


# Read first at every recorded execution: a counter shared by all probes of the run, so that samples of
# different steps can be put in the order the program took them (a loop's later iterations, nested loops).
SEQUENCE = "__import__('builtins').__dict__.setdefault('_walkthrough_sequence', __import__('itertools').count()).__next__()"


def first_divergence(cfg: HuntConfig, buggy_dir: Path, *, record_args: list[str] | None = None,
                     timeout: float = 300) -> Divergence | None:
    """The first place, in the order the program runs, where a tour step's recorded values differ between the
    healthy reference and `buggy_dir` (same seed): the step and which of its first executions. None if no
    recorded value differs."""
    from .. import spec
    from ..engine.recorder import Probe, RecorderError, record

    argv = [*(record_args if record_args is not None else cfg.record_args), "--seed", str(cfg.seeds[0])]
    tours, shown = {}, {}
    for label, repo in (("healthy", cfg.origin.resolve()), ("buggy", Path(buggy_dir).resolve())):
        walkthrough = spec.load(spec.find(cfg.walkthrough), repo=repo)
        steps = [s for s in walkthrough.steps if s.file in {cfg.script, *cfg.files} and not s.stale]
        probes = []
        for step in steps:
            reads, writes = _statement_names(step.code)
            reads = list(dict.fromkeys([*step.watch, *reads]))
            writes = list(dict.fromkeys([*writes, *step.watch]))
            probes.append(Probe(step.id, str(step.path), step.line, step.end_line,
                                (SEQUENCE, *map(_plain, reads)), tuple(map(_plain, writes)), RECORD_HITS))
            shown.update({_plain(n): n for n in [*reads, *writes]})
        tours[label] = (walkthrough, steps, probes, repo)
    from concurrent.futures import ThreadPoolExecutor

    def run(label):
        walkthrough, steps, probes, repo = tours[label]
        try:
            return record(repo / cfg.script, argv, repo, probes, timeout=timeout)
        except RecorderError as exc:
            return exc

    with ThreadPoolExecutor(2) as pool:           # two subprocesses: one per program
        recordings = dict(zip(tours, pool.map(run, tours)))
    if isinstance(recordings["healthy"], RecorderError):
        raise HuntError(f"recording the healthy reference failed: {recordings['healthy']}")
    walkthrough, steps, _, repo = tours["buggy"]
    numbers = {s.id: n for n, s in enumerate(walkthrough.steps, start=1)}
    crash = {}
    if isinstance(recordings["buggy"], RecorderError):    # compare what was recorded before the crash
        error = recordings["buggy"]
        message = str(error).strip()
        crash = {"crashed": message.splitlines()[-1] if message else "it failed",
                 **_crash_site(message, repo, steps, numbers)}
        recordings["buggy"] = error.samples or {}
    healthy, buggy = recordings["healthy"], recordings["buggy"]
    found = []                                    # (when, step, hit, names)
    for step in steps:
        h, b = healthy.get(step.id, []), buggy.get(step.id, [])
        for i in range(max(len(h), len(b))):
            if i >= len(b) and crash:              # the crash ended the run before this execution: not a value
                break
            if i >= len(h) or i >= len(b):         # one program ran the step fewer times
                when = (h[i] if i < len(h) else b[i]).before.get(SEQUENCE, 0)
                found.append((when, step, RECORD_HITS[i], [], False))
                break
            hs, bs = h[i], b[i]
            # only names both programs have at the stop: a name the buggy statement reads and the healthy one does
            # not (`g` for `v`) has the same value in both frames, and naming it would send the learner astray
            differ = {n: (hs.before[n], bs.before[n]) for n in hs.before if n != SEQUENCE and n in bs.before
                      and not equal_values(hs.before[n], bs.before[n])}
            after = not differ
            differ.update({n: (hs.after[n], bs.after[n]) for n in hs.after if n not in differ and n in bs.after
                           and not equal_values(hs.after[n], bs.after[n])})
            if differ:
                found.append((min(hs.before.get(SEQUENCE, 0), bs.before.get(SEQUENCE, 0)), step, hs.hit,
                              list(dict.fromkeys(shown.get(n, n) + _how_differs(*pair) for n, pair in differ.items())),
                              after))
                break
    if not found:
        return Divergence(0, "", "", "", 0, 0, [], **crash) if crash else None
    _, step, hit, names, after = min(found, key=lambda f: (f[0], numbers[f[1].id]))
    return Divergence(numbers[step.id], step.id, step.title, step.file, step.line, hit, names, **crash, after=after)


def _crash_site(traceback: str, repo: Path, steps: list, numbers: dict[str, int]) -> dict:
    """Where a recorded crash surfaced: the traceback's last frame in the repo, the statement there (and a
    `--break` pattern that stops on it), and the tour step whose statement it is, if any. {} if no frame of the
    traceback is in the repo."""
    from ..engine.anchors import AnchorError, parse_file, resolve

    frames = []
    for path, line, function in re.findall(r'File "(.+?)", line (\d+), in (\S+)', traceback):
        path = Path(path)
        if path.is_absolute() and path.resolve().is_relative_to(repo):
            frames.append((str(path.resolve().relative_to(repo)), int(line), function))
    if not frames:
        return {}
    file, line, function = frames[-1]
    site = {"crash_at": f"{file}:{line}", "crash_function": function}
    step = next((s for s in steps if s.file == file and s.line <= line <= s.end_line), None)
    if step is not None:
        site.update(crash_step=numbers[step.id], crash_step_id=step.id, crash_title=step.title)
    try:
        statement = next(st for st in parse_file(repo / file).statements if st.line <= line <= st.end_line)
        pattern = statement.code.splitlines()[0].split("  #")[0].strip()
        if resolve(repo / file, pattern).line == statement.line:
            site["crash_break"] = f"{file}:{pattern}"
    except (StopIteration, AnchorError, OSError, SyntaxError, IndexError):
        pass                    # no pattern that stops on exactly that statement: the hint gives the line only
    return site


def stage_of(cfg: HuntConfig, step_id: str) -> Stage | None:
    for stage in cfg.stages:
        if step_id in stage.steps:
            return stage
    return None


def stage_near(cfg: HuntConfig, mutation_file: str, line: int) -> Stage | None:
    """The stage the bug's code belongs to: that of the nearest tour step in the same function, else the stage that
    lists the file. None when no step stops in the bug's function and no stage lists its file: a step elsewhere in
    the file would be a guess (MLP.parameters is not the initialisation next to it), and hint 2 must be true."""
    from .. import spec
    from ..engine.anchors import parse_file

    walkthrough = spec.load(spec.find(cfg.walkthrough), repo=cfg.origin.resolve())
    function = next((st.function for st in parse_file(cfg.origin / mutation_file).statements
                     if st.line <= line <= st.end_line), None)
    same = [s for s in walkthrough.steps if s.file == mutation_file and s.qualname == function]
    if not same:
        return next((stage for stage in cfg.stages if mutation_file in stage.files), None)
    step = min(same, key=lambda s: (abs(s.line - line), s.line > line))
    return stage_of(cfg, step.id)


# ----- a learner's hunt ----------------------------------------------------------------------------
HINT_LEVELS = 4
SECTION = "hunts"


def default_dir(repo: str) -> Path:
    return Path("walkthrough-work") / f"bughunt-{repo}"


def hunt_name(repo: str, dest: Path) -> str:
    """The progress entry's name: the repo for the default folder, repo@folder for any other."""
    if Path(dest).resolve() == default_dir(repo).resolve():
        return repo
    return f"{repo}@{Path(dest).resolve()}"


def _secrets(name: str) -> Path:
    """Where the planted and original files are kept: in the state directory, not in the learner's copy."""
    return _state() / "bughunt" / hashlib.sha1(name.encode()).hexdigest()[:12]


def check_destination(dest: Path, force: bool) -> None:
    """Refuse before any work if the copy cannot be written without --force."""
    from .workcopy import open_copy

    dest = Path(dest)
    if force or not dest.exists():
        return
    if not dest.is_dir():
        raise HuntError(f"{dest} is a file; choose another --dir")
    existing = open_copy(dest)
    if existing is None and any(dest.iterdir()):
        raise HuntError(f"{dest} exists and is not a walkthrough copy; choose another --dir, or --force to replace it")
    if existing is not None and existing.edited():
        raise HuntError(f"{dest} holds your edits ({', '.join(existing.edited())}); nothing was overwritten. "
                        "Use --dir for another folder, or --force to replace it")


def choose(cfg: HuntConfig, seed: int, args: list[str], *, kind: str | None = None, console=None,
           jobs: int | None = None) -> tuple[faultlib.Mutation, Verdict, list]:
    """The first candidate, in the seed's order, whose short runs differ from the healthy ones -- and, unless
    `kind` asks for one fault, do not die with a Python traceback (Verdict.plantable).
    Returns (mutation, verdict, rejected [(mutation, verdict)])."""
    from ..lab.runs import available_cores

    found = candidates(cfg)
    if kind is not None:
        kinds = sorted({m.fault.id for m in found})
        found = [m for m in found if m.fault.id == kind]
        if not found:
            raise HuntError(f"fault {kind!r} does not apply to {cfg.repo}; the faults that do: {', '.join(kinds)}")
    order = shuffled(found, seed)
    jobs = jobs or available_cores()
    batch = max(1, jobs // max(1, len(cfg.seeds)))
    rejected = []
    for start in range(0, len(order), batch):
        group = order[start:start + batch]
        verdicts = verify(cfg, group, args, console=console, jobs=jobs, anonymous=True,
                          description="checking that the planted bug changes the run")
        for mutation, verdict in zip(group, verdicts):
            if verdict.plantable or (kind is not None and verdict.live):
                return mutation, verdict, rejected
            rejected.append((mutation, verdict))
    if kind is not None:
        why = rejected[0][1].summary if rejected else "it changes nothing"
        raise HuntError(f"fault {kind!r} does not change what {cfg.repo}'s short runs log (seeds {cfg.seeds}, flags "
                        f"{' '.join(args)}): {why}. Nothing was planted; a hunt under way is unchanged. With other "
                        "flags (after `--`) it may: a fault in a term that is off by default (a weight decay of 0) "
                        "changes nothing until that flag is set")
    raise HuntError(f"no fault of the catalogue changes what {cfg.repo}'s short runs log (seeds {cfg.seeds}): "
                    "there is no live bug to plant; nothing was planted")


def plant(cfg: HuntConfig, dest: Path, store, *, seed: int, args: list[str], kind: str | None = None,
          force: bool = False, console=None, jobs: int | None = None) -> dict:
    """Choose a live bug, write the copy, find where its values first differ, start the hunt's record."""
    from . import workcopy

    started = time.time()
    dest = Path(dest)
    check_destination(dest, force)
    mutation, verdict, rejected = choose(cfg, seed, args, kind=kind, console=console, jobs=jobs)
    try:
        workcopy.create(cfg.origin, dest, "bughunt", replace={mutation.path: mutation.source},
                        meta={"repo": cfg.repo, "seed": seed}, force=True)
    except workcopy.WorkCopyError as exc:
        raise HuntError(str(exc)) from None
    from contextlib import nullcontext
    from rich.text import Text
    status = (console.status(Text("recording both programs at every tour step, to know where their values first differ …"))
              if console is not None else nullcontext())
    compare_error = ""
    try:
        with status:
            divergence = first_divergence(cfg, dest)
    except HuntError:
        raise
    except Exception as exc:       # the hunt works without it; the hint says so
        divergence, compare_error = None, f"{exc.__class__.__name__}: {exc}"
        if console is not None:
            console.print(Text.assemble(("warning: ", "yellow"), f"could not compare the tour's values "
                                        f"({exc.__class__.__name__}: {exc})"))
    name = hunt_name(cfg.repo, dest)
    secrets = _secrets(name)
    secrets.mkdir(parents=True, exist_ok=True)
    (secrets / "planted.py").write_text(mutation.source, encoding="utf-8")
    (secrets / "original.py").write_text((cfg.origin / mutation.path).read_text(encoding="utf-8"), encoding="utf-8")
    stage = stage_of(cfg, divergence.step_id) if divergence and divergence.step_id else None
    near = stage_near(cfg, mutation.path, mutation.line)
    history = past_hunts(store.peek(SECTION, name))
    store.forget(SECTION, name)
    entry = store.entry(SECTION, name)
    entry.update({"history": history})
    entry.update({
        "repo": cfg.repo, "dir": str(dest.resolve()), "seed": seed, "args": list(args), "seeds": list(cfg.seeds),
        "fault": mutation.fault.id, "file": mutation.path, "line": mutation.line, "end_line": mutation.end_line,
        "mutated_end_line": mutation.mutated_end_line, "original": mutation.original, "mutated": mutation.mutated,
        "verdict": verdict.to_json(), "divergence": divergence.to_json() if divergence else None,
        "divergence_error": compare_error,
        "stage": (near or stage).name if (near or stage) else "", "discarded": len(rejected),
        "discarded_crashing": sum(v.live and v.traceback for _, v in rejected),   # the rest changed nothing
        "stage_is_effect": near is None and stage is not None,    # the stage where its values first differ
        "started": time.time(), "plant_seconds": round(time.time() - started, 1),
        "guesses": [], "hints": 0, "found": False, "revealed": False, "finished": None,
    })
    restarted = restart_tour_on_copy(store, cfg, dest)
    store.save()
    if restarted and console is not None:
        console.print(Text("The tour on this copy starts again at step 1 for the new bug (the last attempt's score "
                           "stays in `walkthrough progress`).", style="dim"))
    return entry


def restart_tour_on_copy(store, cfg: HuntConfig, dest: Path) -> bool:
    """A new bug in the copy: the tour on it (`start NAME --repo DEST`) begins again at step 1, as with --restart
    (the attempt on the old bug is archived, its score kept). True if there was an attempt to archive."""
    from ..progress import TOURS, copy_tour_name

    name = copy_tour_name(cfg.walkthrough, dest)
    if store.peek(TOURS, name) is None:
        return False
    tour = store.tour(name)
    started = tour.started or tour.next_step > 0
    tour.archive()
    return started


def planted_files(entry: dict) -> dict[str, str]:
    name = hunt_name(entry["repo"], Path(entry["dir"]))
    return {entry["file"]: (_secrets(name) / "planted.py").read_text(encoding="utf-8")}


def original_text(entry: dict) -> str:
    name = hunt_name(entry["repo"], Path(entry["dir"]))
    return (_secrets(name) / "original.py").read_text(encoding="utf-8")


def accepted(entry: dict) -> list[tuple[int, int]]:
    """Line ranges of the planted file that count as finding the bug: the changed statement, or for a
    removed statement the statements on both sides of the gap."""
    if entry["mutated"]:
        return [(entry["line"], entry["mutated_end_line"])]
    from ..engine.anchors import parse_file

    name = hunt_name(entry["repo"], Path(entry["dir"]))
    statements = parse_file(_secrets(name) / "planted.py").statements
    gap = entry["line"]
    before = [s for s in statements if s.end_line < gap]
    after = [s for s in statements if s.line >= gap]
    first = max(before, key=lambda s: (s.end_line, -s.line)).line if before else gap
    last = min(after, key=lambda s: (s.line, s.end_line)).end_line if after else gap
    return [(first, last)]


def parse_guess(text: str, copy_dir: Path) -> tuple[str, int]:
    file, sep, line = text.rpartition(":")
    if not sep or not file or not line.strip().isdigit():
        raise HuntError(f"--guess {text!r}: write FILE:LINE, e.g. train.py:140")
    path = Path(file)
    if path.is_absolute() or (Path.cwd() / path).resolve().is_relative_to(Path(copy_dir).resolve()):
        try:
            path = (Path.cwd() / path).resolve().relative_to(Path(copy_dir).resolve())
        except ValueError:
            raise HuntError(f"--guess {text!r}: {file} is not in the hunt's copy {copy_dir}") from None
    if not (Path(copy_dir) / path).is_file():
        raise HuntError(f"--guess {text!r}: no file {str(path)!r} in {copy_dir}")
    try:
        length = len((Path(copy_dir) / path).read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError):
        length = None
    if int(line) < 1 or (length is not None and int(line) > length):
        raise HuntError(f"--guess {text!r}: {path} has lines 1-{length}; give a line of the statement you suspect")
    return str(path), int(line)


def guess(entry: dict, text: str) -> bool:
    """Record a guess; True if FILE:LINE falls on the bug's statement."""
    file, line = parse_guess(text, Path(entry["dir"]))
    right = file == entry["file"] and any(a <= line <= b for a, b in accepted(entry))
    if not (entry["found"] or entry["revealed"]):
        entry["guesses"].append({"at": f"{file}:{line}", "right": right, "time": round(time.time(), 1)})
        if right:
            entry["found"] = True
            entry["finished"] = time.time()
    return right


def hint_text(entry: dict, level: int, cfg: HuntConfig) -> str:
    """Hint `level` (1..HINT_LEVELS): the symptom, the stage, the tour step, the lines."""
    verdict = Verdict.from_json(entry["verdict"])
    div = entry.get("divergence") or {}
    copy = Path(entry["dir"])
    try:
        shown_copy = copy.relative_to(Path.cwd())
    except ValueError:
        shown_copy = copy
    if level == 1:
        if verdict.kind == "crash":
            return (f"The program crashes: {verdict.crash}. Run `python {shown_copy / cfg.script}` and read the "
                    "traceback: its last frame in the repo shows where the damage surfaces, which is often, but not "
                    "always, where the bug is.")
        first = ""
        if verdict.first_column and verdict.first_index == 0:
            first = f" The logged values differ from the very first row of metrics.csv ({cfg.x} {verdict.first_x}) on."
        elif verdict.first_column:
            first = (f" Every logged value is the same until {cfg.x} {verdict.first_x}, where `{verdict.first_column}` "
                     "changes first: the bug acts only from then on.")
        moved = moved_most(verdict)
        most = ("" if not moved else " Averaged over the run (seed " + str(entry["seeds"][0]) + "), the logged values "
                "that moved most from the healthy run's: " + moved + ". Which quantity would the bug change first?")
        return f"What the verification runs showed: {verdict.summary}.{first}{most}"
    if level == 2:
        stage = next((s for s in cfg.stages if s.name == entry.get("stage")), None)
        if stage is None:
            return f"The bug is in {entry['file']}."
        from .. import spec
        walkthrough = spec.load(spec.find(cfg.walkthrough), resolve_anchors=False)
        numbers = [n for n, s in enumerate(walkthrough.steps, start=1) if s.id in stage.steps]
        span = f" (tour steps {numbers[0]}-{numbers[-1]})" if len(numbers) > 1 else \
            (f" (tour step {numbers[0]})" if numbers else "")
        if entry.get("stage_is_effect"):
            return (f"The bug is in {entry['file']}, in code that no tour step stops at; its effect first shows in the "
                    f"{stage.name} stage: {stage.about}{span}. Which code that runs before it could cause that?")
        return f"The bug is in the {stage.name} stage: {stage.about}{span}."
    if level == 3:
        if entry.get("divergence_error"):
            crash = (f" Run `python {shown_copy / cfg.script}`: the last line of its traceback in the repo is where the "
                     "damage surfaces." if verdict.kind == "crash" else "")
            return (f"When the bug was planted, the tour's values could not be compared stop by stop "
                    f"({entry['divergence_error']}), so no tour step can be named here.{crash} Go through the stage "
                    f"of hint 2 with `walkthrough start {cfg.walkthrough} --repo {shown_copy}` and compare `p NAME` "
                    f"with the same stops of `walkthrough start {cfg.walkthrough}`.")
        if div.get("crashed") and not div.get("step_id"):
            return _crash_hint(div, cfg, shown_copy)
        if not div.get("step_id"):
            return ("No tour stop shows a different value in its first executions: the bug acts later in training, or "
                    "between the stops. Step through the stage with `n` and `s` and print what changes with `p`.")
        names = ", ".join(f"`{name}`" + (f" ({note}" if note else "")       # `v_loss` (requires_grad differs, ...)
                          for name, _, note in (n.partition(" (") for n in div["names"][:6])) or "what it reads"
        when = ("at the tour's stop" if div["hit"] == 1 else
                f"at its execution number {div['hit']} (of the executions compared, "
                f"{', '.join(map(str, RECORD_HITS))}; the tour stops at the first, where they still agree: type "
                f"`a {div['hit']}` there to run on to execution {div['hit']})")
        if div.get("after"):       # only the values recorded there: other state (a .grad) may differ earlier
            when += ", once the stop's statement has run (press `n`, then `p` them)"
        return (f"The first tour step whose values (the names its statement reads and writes) differ between the "
                f"buggy and the healthy run (seed {entry['seeds'][0]}, in the order the program runs) is step "
                f"{div['step']} ({div['title']}, {div['file']}:{div['line']}), {when}: {names}. Compare them: `walkthrough start {cfg.walkthrough}` (healthy) and `walkthrough start "
                f"{cfg.walkthrough} --repo {shown_copy}` (buggy), `p NAME` "
                "there. The bug is in that step or in code that ran before it." +
                (f" (Later the buggy program crashes{_crash_place(div)}: {div['crashed']})" if div.get("crashed") else ""))
    low, high = accepted(entry)[0]
    try:
        last = len(planted_files(entry)[entry["file"]].splitlines())
    except (OSError, KeyError):
        last = high + 3
    return f"The bug is in {entry['file']}, within lines {max(1, low - 3)}-{min(last, high + 3)}."


def moved_most(verdict: Verdict, count: int = 4) -> str:
    """`valid_loss x8.9, train_loss x7.14, ...`: the logged columns whose mean |value| changed most with the bug."""
    moved = sorted(((c, r) for c, r in verdict.ratios.items() if r and abs(math.log(r)) >= 0.005),   # not "x1"
                   key=lambda cr: -abs(math.log(cr[1])))
    return ", ".join(f"{c} x{r:.3g}" for c, r in moved[:count])


def symptom_column(cfg: HuntConfig, verdict: Verdict) -> str:
    """The logged column the symptom plots: the learning curve, unless it is the same with the bug and another
    logged value is not (then the first one that differs)."""
    if verdict.kind == "values" and verdict.first_column and verdict.first_column != "rows":
        return verdict.first_column
    return cfg.y


def summary_changes(healthy: dict | None, buggy: dict | None, cfg: HuntConfig) -> list[tuple[str, str, str]]:
    """(key, healthy value, buggy value) of the numbers in the end-of-run summaries that differ, as compare() counts
    them (not wall-clock time, not ignored columns)."""
    changes = []
    for key, value in (healthy or {}).items():
        other = (buggy or {}).get(key)
        if key in cfg.ignore or key == "seconds" or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not _same(value, other):
            changes.append((key, _fmt(value), _fmt(other) if isinstance(other, (int, float)) else "missing"))
    return changes


def higher_is_better(column: str) -> bool:
    return not re.search(r"loss|error|regret", column, re.I)


def finals(cfg: HuntConfig, healthy: list, buggy: list, column: str | None = None) -> list[tuple]:
    """(seed, final healthy value, final value with the bug, the buggy run crashed) of a logged column per seed;
    a value is the last finite one logged (None if none)."""
    column = column or cfg.y
    return [(h.spec.seed, _last_finite(h.metrics, column), _last_finite(b.metrics, column), not b.ok)
            for h, b in zip(healthy, buggy)]


def _shortfall(cfg: HuntConfig, h: float, b: float) -> float:
    """How far the bug's final value of the learning curve falls short of the healthy one (negative: beyond it)."""
    return (h - b) if higher_is_better(cfg.y) else (b - h)


def clearly_worse(cfg: HuntConfig, healthy: list, buggy: list, margin: float = 0.1) -> bool:
    """Every seed's buggy run ended more than `margin` (relative) worse on the learning curve, or crashed: the harm
    needs no caveat about seed noise (0.53 against 0.98)."""
    return all(crashed or (bool(h) and b is not None and _shortfall(cfg, h, b) / abs(h) > margin)
               for _, h, b, crashed in finals(cfg, healthy, buggy))


def not_worse(cfg: HuntConfig, healthy: list, buggy: list) -> list[tuple]:
    """The seeds on which the bug's run ended at least as well as the healthy run on the learning curve (cfg.y):
    (seed, healthy, buggy). An explanation of why a bug hurts must not stand unqualified beside these."""
    return [(seed, h, b) for seed, h, b, crashed in finals(cfg, healthy, buggy)
            if not crashed and h is not None and b is not None and _shortfall(cfg, h, b) <= 0]


def _crash_place(div: dict) -> str:
    """ at FILE:LINE (in `f`) -- where a recorded crash surfaced; "" if its traceback named no line of the repo."""
    return f" at {div['crash_at']} (in `{div['crash_function']}`)" if div.get("crash_at") else ""


def _crash_hint(div: dict, cfg: HuntConfig, shown_copy: Path) -> str:
    """Hint 3 for a bug whose recorded run crashed before any recorded value differed: where the crash leads."""
    import shlex

    healthy = f"`walkthrough start {cfg.walkthrough}`"
    before = (f"Recorded stop by stop (executions {', '.join(map(str, RECORD_HITS))} of every tour step, in a "
              f"shorter run with {' '.join(cfg.record_args)}), each value "
              "the buggy program has at the stops it reaches equals the healthy program's, and then it crashes: "
              f"{div['crashed']}.")
    if not div.get("crash_at"):
        return (f"{before} The program ends itself with that message and leaves no traceback, so the crash names no "
                "tour step. Search the copy for the words of that message: the check that prints it names the quantity "
                f"that went wrong, and the tour steps that compute that quantity are where to compare values "
                f"(`walkthrough start {cfg.walkthrough} --repo {shown_copy}` and {healthy}, `p NAME`).")
    suspects = ("`p` the shapes and values it reads (that is its first execution: if the crash comes at a later one, "
                "step on with `n` to it): one of them is wrong, and the bug is where that value was made, in that "
                f"statement or in code that ran before it (follow the traceback up, and compare with {healthy}).")
    if div.get("crash_step"):
        stop = (f"It is the statement of tour step {div['crash_step']} ({div['crash_title']}): stop there "
                f"(`walkthrough start {cfg.walkthrough} --repo {shown_copy}`) and")
    elif div.get("crash_break"):
        stop = ("No tour step stops on that line; this stops there: `walkthrough start "
                f"{shown_copy / cfg.script} --break {shlex.quote(div['crash_break'])}`. Then")
    else:
        stop = "No tour step stops on that line: read it, and"
    return (f"{before} The traceback's last line in the repo is {div['crash_at']} (in `{div['crash_function']}`): "
            f"that is where the damage surfaces, not necessarily where the bug is. {stop} {suspects}")


def take_hint(entry: dict, cfg: HuntConfig) -> tuple[int, str] | None:
    """The next hint (level, text), counted; None once every hint has been given."""
    if entry["hints"] >= HINT_LEVELS:
        return None
    entry["hints"] += 1
    return entry["hints"], hint_text(entry, entry["hints"], cfg)


def reveal(entry: dict) -> None:
    if not entry["found"] and not entry["revealed"]:
        entry["finished"] = time.time()
    entry["revealed"] = True


def diff_text(entry: dict) -> str:
    planted = planted_files(entry)[entry["file"]]
    return "".join(difflib.unified_diff(original_text(entry).splitlines(keepends=True), planted.splitlines(keepends=True),
                                        f"minimal_impls/{entry['repo']}/{entry['file']}",
                                        f"{Path(entry['dir']).name}/{entry['file']}"))


def copy_state(entry: dict) -> str:
    """The planted file in the learner's copy now: "planted" (as it was), "fixed" (the bug's statement is back
    as in the reference), "edited" (changed otherwise) or "missing"."""
    path = Path(entry["dir"]) / entry["file"]
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return "missing"
    if text == planted_files(entry)[entry["file"]]:
        return "planted"
    original = original_text(entry).splitlines()
    now = text.splitlines()
    low, high = entry["line"], entry["end_line"]
    region = [line.strip() for line in original[low - 1:high]]
    if any([line.strip() for line in now[i:i + len(region)]] == region for i in range(len(now))):
        return "fixed"
    return "edited"


def past_hunts(entry: dict | None) -> list[dict]:
    """The scores of the hunts before this one in the same folder, the one being replaced last (kept when a new bug
    is planted, for `walkthrough progress`); a hunt left unfinished for a new one counts as abandoned."""
    if not entry or "started" not in entry:
        return []
    history = [h for h in entry.get("history", []) if isinstance(h, dict)]
    state = "found" if entry.get("found") else "revealed" if entry.get("revealed") else "abandoned"
    try:
        last = {**score(entry), "state": state, "fault": entry.get("fault", "")}
    except (KeyError, TypeError):         # a damaged entry: keep what was kept before it
        return history[-HISTORY_KEPT:]
    return [*history, last][-HISTORY_KEPT:]


def score(entry: dict) -> dict:
    end = entry.get("finished") or time.time()
    return {"guesses": len(entry["guesses"]), "hints": entry["hints"], "seconds": round(end - entry["started"]),
            "found": entry["found"], "revealed": entry["revealed"]}
