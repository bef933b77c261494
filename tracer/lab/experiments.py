"""`walkthrough experiment`: change an idea, run every variant over several seeds, compare honestly.

plan()     --set items and --code dirs -> variants × seeds, every argument list checked by the
           script's own parser before anything runs (flags.py), and an estimate of the time.
execute()  the runs, through the run cache (runs.py): finished runs are never run again.
analyse()  per variant: the final metric and the steps to a target, their mean (IQM from 5 seeds)
           and 95 % bootstrap CI (stats.py), and a verdict that claims only what the CIs show.
write_csv(), write_png()   runs.csv (one row per run) and curves.png (plots.py).

What an experiment runs is set by the walkthrough's `[experiment]` table (which script, which
flag is the budget, which metrics columns to plot, the target). Rendering is in report.py.
"""
from __future__ import annotations

import csv
import io
import itertools
import json
import math
import shlex
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from . import flags as flagmod
from .runs import RunResult, RunSpec, code_hash, run_all, write_atomic
from .stats import bootstrap_ci

SEED_FLAG, OUT_FLAG = "--seed", "--out-dir"
RESERVED = {SEED_FLAG: "choose how many seeds with --seeds N (seeds 1..N)",
            OUT_FLAG: "each run writes in its own folder; choose the experiment's folder with --out DIR"}
IQM_FROM = 5             # seeds per variant from which the table reports the interquartile mean
STARTUP_S = 2.0          # a run's fixed cost (importing torch) in the time estimate
TIMINGS = "timings.json"


class ExperimentError(Exception):
    """An experiment that cannot run as asked; the message says what to change."""


# ----- the walkthrough's [experiment] table --------------------------------------------------
@dataclass(frozen=True)
class Setup:
    name: str                    # the walkthrough: "ppo"
    repo_dir: Path
    script: str
    budget_flag: str             # the flag --steps sets ("--total-timesteps")
    steps: int | None            # the default budget: the tour's own (None: the script's default)
    x: str
    y: str
    x_label: str
    y_label: str
    target: float | None         # report the x at which y first reaches it ("steps to 475")
    target_label: str
    args: tuple[str, ...]        # flags every run gets
    seconds: float | None        # a first guess of one run's time at the default budget


def setup_of(walkthrough) -> Setup:
    table = walkthrough.experiment
    if not table:
        raise ExperimentError(f"walkthrough {walkthrough.name!r} has no [experiment] table, so it does not say "
                              "what to run and plot; see README, 'Experiments'")
    script = table.get("script", walkthrough.runs[0].script)
    budget = table["budget"]
    steps = table.get("steps")
    for entry in walkthrough.runs:      # the tour's own budget, e.g. ["--total-timesteps", "50000"]
        if steps is None and entry.script == script and budget in entry.args[:-1]:
            steps = int(entry.args[entry.args.index(budget) + 1])
    target = table.get("target")
    return Setup(walkthrough.name, walkthrough.repo_dir, script, budget, steps, table["x"], table["y"],
                 table.get("x_label", table["x"]), table.get("y_label", table["y"]),
                 float(target) if target is not None else None,
                 table.get("target_label", f"{table.get('x_label', table['x'])} to {target:g}" if target else ""),
                 tuple(table.get("args", [])), table.get("seconds"))


# ----- the plan: variants × seeds, checked before anything runs ------------------------------
@dataclass(frozen=True)
class Variant:
    label: str                                  # "gae-lambda=0.0", "walkthrough-work/ppo · lr=0.1"
    settings: tuple[tuple[str, str], ...]       # (flag name, value as written) of the varied settings
    words: tuple[str, ...]                      # every argument word of its runs (but seed and output folder)
    own: tuple[str, ...]                        # the words of its varied settings only
    code_dir: Path
    code_label: str                             # "reference" or the --code folder as given
    default: bool                               # every varied setting at the script's default


@dataclass
class Plan:
    setup: Setup
    name: str                                   # "ppo-gae-lambda": the default folder name
    out_dir: Path
    variants: list[Variant]
    seeds: list[int]
    steps: int | None
    fixed: list[tuple[str, str]]                # settings with one value: shared by every run
    common: list[str]                           # the argument words every run gets
    specs: dict[Variant, list[RunSpec]]
    finished: int                               # runs already on disk
    jobs: int
    estimate_s: float | None
    estimate_basis: str
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(len(s) for s in self.specs.values())

    @property
    def root(self) -> Path:
        return self.out_dir / "runs"


def _is_default(setting: flagmod.Setting, value: str) -> bool:
    flag = setting.flag
    if flag.switch:
        return value == flagmod.OFF
    default = flag.default
    words = value.split() if flag.many else [value]
    wanted = default if isinstance(default, list) else [default]
    if len(words) != len(wanted):
        return False
    for word, expected in zip(words, wanted):
        try:
            if float(word) != float(expected):
                return False
        except (TypeError, ValueError):
            if word != str(expected):
                return False
    return True


class _Probes:
    """One ScriptProbe per repo, opened when first needed and closed together; errors become ExperimentErrors."""

    def __init__(self, script: str):
        self.script = script
        self.open: dict[Path, flagmod.ScriptProbe] = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        for session in self.open.values():
            session.close()

    def ask(self, code_dir: Path, code_label: str, question):
        try:
            if code_dir not in self.open:
                self.open[code_dir] = flagmod.ScriptProbe(code_dir / self.script)
            return question(self.open[code_dir])
        except flagmod.FlagError as exc:
            raise ExperimentError(f"{code_label}: {exc}") from None


def _settings(sets: list[str], parser: flagmod.Parser) -> list[flagmod.Setting]:
    settings: list[flagmod.Setting] = []
    for text in sets:
        try:
            setting = flagmod.parse_setting(text, parser, RESERVED)
        except flagmod.FlagError as exc:
            raise ExperimentError(str(exc)) from None
        if any(s.flag == setting.flag for s in settings):
            raise ExperimentError(f"--set {setting.name} is given twice; list all its values in one: "
                                  f"--set {setting.name}=V1,V2")
        settings.append(setting)
    return settings


def _codes(setup: Setup, code_dirs: list[str]) -> list[tuple[Path, str]]:
    codes = [(setup.repo_dir, "reference")]
    for given in code_dirs:
        path = Path(given)
        if not (path / setup.script).is_file():
            raise ExperimentError(f"--code {given}: no {setup.script} there; give a copy of the {setup.name} repo "
                                  f"(e.g. one made by a walkthrough mode in walkthrough-work/)")
        if path.resolve() in [c.resolve() for c, _ in codes]:
            raise ExperimentError(f"--code {given}: that folder is already in the comparison")
        codes.append((path.resolve(), given))
    return codes


def _variants(codes, varied: list[flagmod.Setting], common: list[str], fixed: bool) -> list[Variant]:
    """The grid: every code folder × every combination of the varied settings' values."""
    variants = []
    for (code_dir, code_label), combo in itertools.product(codes, itertools.product(
            *[list(zip(s.values, s.words)) for s in varied])):
        parts = [f"{s.name}={value}" for s, (value, _) in zip(varied, combo)]
        label = " · ".join(([code_label] if len(codes) > 1 else []) + parts) or ("as given" if fixed else "defaults")
        own = tuple(w for _, ws in combo for w in ws)
        default = bool(varied) and all(_is_default(s, value) for s, (value, _) in zip(varied, combo))
        variants.append(Variant(label, tuple((s.name, value) for s, (value, _) in zip(varied, combo)),
                                tuple(common) + own, own, code_dir, code_label, default))
    return variants


def _check_all(probes: _Probes, setup: Setup, codes, settings, common_without_fixed, variants) -> None:
    """Every argument list through each repo's own parser: each value alone (clear messages), then the grid."""
    for code_dir, code_label in codes:
        singles = [(s, value, common_without_fixed + list(ws)) for s in settings for value, ws in zip(s.values, s.words)]
        mine = [v for v in variants if v.code_dir == code_dir]
        candidates = [c for *_, c in singles] + [list(v.words) + [SEED_FLAG, "1", OUT_FLAG, "out"] for v in mine]
        checks = probes.ask(code_dir, code_label, lambda session: session.check(candidates))
        where = "" if code_label == "reference" else f" ({code_label})"
        for (setting, value, _), problem in zip(singles, checks):
            if problem:
                flag = probes.ask(code_dir, code_label, lambda session: session.parser()).find(setting.name)
                raise ExperimentError(f"--set {setting.name}={value}: {setup.script}{where} rejects it: {problem}.\n"
                                      f"  {(flag or setting.flag).describe()}")
        for variant, problem in zip(mine, checks[len(singles):]):
            if problem:
                raise ExperimentError(f"{variant.label}: {setup.script}{where} rejects "
                                      f"`{' '.join(variant.words)}`: {problem}")


def plan(walkthrough, sets: list[str], seeds: int, steps: int | None = None, code_dirs: list[str] = (),
         out: str | None = None, jobs: int | None = None, check: bool = True) -> Plan:
    """The trials of an experiment; with check, every argument list is first accepted by the script's parser.

    The script's flags and the checks come from one subprocess per repo (none when cached)."""
    from .runs import available_cores, finished

    setup = setup_of(walkthrough)
    if seeds < 1:
        raise ExperimentError(f"--seeds {seeds}: give at least 1 (3 or more to compare anything)")
    if steps is not None and steps < 1:
        raise ExperimentError(f"--steps {steps}: the budget must be positive")
    with _Probes(setup.script) as probes:
        parser = probes.ask(setup.repo_dir, "reference", lambda session: session.parser())
        for option in (SEED_FLAG, OUT_FLAG):
            if parser.find(option) is None:
                raise ExperimentError(f"{setup.repo_dir / setup.script} has no {option} flag; "
                                      "walkthrough experiment needs it")
        settings = _settings(sets, parser)
        varies_budget = any(setup.budget_flag in s.flag.options for s in settings)
        if varies_budget and steps is not None:
            raise ExperimentError(f"--steps sets {setup.budget_flag}, which --set varies too; use one of them")
        codes = _codes(setup, code_dirs)
        budget_steps = None if varies_budget else (steps or setup.steps)
        varied = [s for s in settings if len(s.values) > 1]
        fixed = [s for s in settings if len(s.values) == 1]
        base = _without(setup.args, {o for s in settings for o in s.flag.options})
        if budget_steps is not None:
            base += [setup.budget_flag, str(budget_steps)]
        common = base + [w for s in fixed for w in s.words[0]]
        variants = _variants(codes, varied, common, bool(fixed))
        if check:
            _check_all(probes, setup, codes, settings, base, variants)

    specs = {v: [RunSpec(v.code_dir, setup.script, v.words, seed, SEED_FLAG, OUT_FLAG, label=f"{v.label} · seed {seed}")
                 for seed in range(1, seeds + 1)] for v in variants}
    name = "-".join([setup.name] + (["code"] if len(codes) > 1 else []) + [s.name for s in settings]) \
        if settings or len(codes) > 1 else f"{setup.name}-defaults"
    if steps and budget_steps is not None and budget_steps != setup.steps:
        name += f"-{budget_steps}steps"      # another budget: other runs, its own folder (never replaces the first)
    out_dir = Path(out) if out else Path("walkthrough-work") / "experiments" / name
    jobs = max(1, jobs or available_cores())
    done = sum(finished(spec, out_dir / "runs") is not None for group in specs.values() for spec in group)
    result = Plan(setup, name, out_dir, variants, list(range(1, seeds + 1)), budget_steps,
                  [(s.name, s.values[0]) for s in fixed], common, specs, done, jobs, None, "")
    result.estimate_s, result.estimate_basis = _estimate(result)
    if len(codes) > 1 and len({code_hash(c) for c, _ in codes}) < len(codes):
        result.notes.append("a --code folder holds the same code as another: their runs are the same runs")
    if seeds == 1:
        result.notes.append("one seed per variant: the runs can be looked at, not compared; use --seeds 3 or more")
    return result


def _without(args, options) -> list[str]:
    """args minus each flag in options and the value that follows it."""
    out, skip = [], False
    for word in args:
        if skip:
            skip = False
        elif word in options:
            skip = True
        else:
            out.append(word)
    return out


# ----- the time estimate ---------------------------------------------------------------------
def _timings_file() -> Path:
    from ..progress import state_dir
    return state_dir() / "lab" / TIMINGS


def _estimate(p: Plan) -> tuple[float | None, str]:
    """Wall time of the runs still to do: ceil(runs / jobs) rounds of one run's time."""
    todo = p.total - p.finished
    if todo == 0:
        return 0.0, "every run is finished already"
    try:
        known = json.loads(_timings_file().read_text(encoding="utf-8")).get(p.setup.name)
    except (OSError, ValueError, AttributeError):
        known = None
    steps = p.steps or p.setup.steps
    if known and steps:
        per_run = STARTUP_S + known["seconds_per_step"] * steps
        basis = f"~{per_run:.0f} s a run, from {known['runs']} earlier runs on this machine"
    elif p.setup.seconds and steps and p.setup.steps:
        per_run = STARTUP_S + (p.setup.seconds - STARTUP_S) * steps / p.setup.steps
        basis = f"~{per_run:.0f} s a run: a first guess; no run timed on this machine yet"
    else:
        return None, "no estimate: no run timed yet"
    rounds = math.ceil(todo / p.jobs)
    return rounds * per_run, basis + f", {min(p.jobs, todo)} at a time"


def record_timings(p: Plan, results: list[RunResult]) -> None:
    """Remember seconds per budget step of the runs that really ran (not cached), for the next estimate."""
    steps = p.steps or p.setup.steps
    fresh = [r.seconds for r in results if r.ok and not r.cached]
    if not fresh or not steps:
        return
    path = _timings_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(data, dict)
    except (OSError, ValueError, AssertionError):
        data = {}
    rate = max(statistics.median(fresh) - STARTUP_S, 0.1) / steps
    data[p.setup.name] = {"seconds_per_step": rate, "runs": len(fresh)}
    write_atomic(path, json.dumps(data, indent=1))


# ----- running -------------------------------------------------------------------------------
def execute(p: Plan, console, timeout: float | None = None) -> dict[Variant, list[RunResult]]:
    """Run (or find) every run; RunsInterrupted passes through with the finished ones kept on disk."""
    ordered = [p.specs[v][i] for i in range(len(p.seeds)) for v in p.variants]    # seed 1 of all first
    results = run_all(ordered, p.root, jobs=p.jobs, timeout=timeout, console=console,
                      description=f"{p.name}: {p.total} runs")
    by_spec = dict(zip(ordered, results))
    grouped = {v: [by_spec[s] for s in p.specs[v]] for v in p.variants}
    record_timings(p, results)
    return grouped


# ----- analysis ------------------------------------------------------------------------------
@dataclass
class Estimate:
    statistic: str               # "mean" or "IQM"
    point: float
    low: float
    high: float
    n: int

    def overlaps(self, other: "Estimate") -> bool:
        return self.low <= other.high and other.low <= self.high


@dataclass
class Outcome:
    variant: Variant
    ok: list[RunResult]
    failed: list[RunResult]
    finals: list[float]          # per ok run: the last value of y
    to_target: list[float]       # per ok run: x where y first reached the target (else the last x: a lower bound)
    reached: list[bool]
    final: Estimate | None
    target: Estimate | None


def final_value(result: RunResult, y: str) -> float | None:
    values = [v for v in result.column(y) if isinstance(v, (int, float)) and math.isfinite(v)]
    return float(values[-1]) if values else None


def x_at_target(result: RunResult, x: str, y: str, target: float) -> tuple[int | float | None, bool]:
    """(x where y first reaches target, True), or (the last x, False) if it never does."""
    last = None
    for row in result.metrics:
        xv, yv = row.get(x), row.get(y)
        if isinstance(xv, (int, float)):
            last = xv
            if isinstance(yv, (int, float)) and math.isfinite(yv) and yv >= target:
                return last, True
    return last, False


def _estimate_of(values: list[float]) -> Estimate | None:
    if not values:
        return None
    statistic = "iqm" if len(values) >= IQM_FROM else "mean"
    point, low, high = bootstrap_ci(values, statistic=statistic)
    return Estimate("IQM" if statistic == "iqm" else "mean", point, low, high, len(values))


def analyse(p: Plan, grouped: dict[Variant, list[RunResult]]) -> list[Outcome]:
    setup = p.setup
    outcomes = []
    for variant, results in grouped.items():
        ok = [r for r in results if r.ok and final_value(r, setup.y) is not None]
        failed = [r for r in results if r not in ok]
        finals = [final_value(r, setup.y) for r in ok]
        hits = [x_at_target(r, setup.x, setup.y, setup.target) for r in ok] if setup.target is not None else []
        to_target = [h[0] for h in hits if h[0] is not None]
        outcomes.append(Outcome(variant, ok, failed, finals, to_target, [h[1] for h in hits if h[0] is not None],
                                _estimate_of(finals), _estimate_of(to_target) if hits else None))
    return outcomes


# ----- the verdict: claim only what the intervals show ---------------------------------------
@dataclass
class Verdict:
    kind: str                    # "warning", "claim" (intervals apart), "open" (cannot be told apart), "note"
    text: str


def verdict(p: Plan, outcomes: list[Outcome]) -> list[Verdict]:
    setup = p.setup
    lines: list[Verdict] = []
    failed = sum(len(o.failed) for o in outcomes)
    if failed:
        lines.append(Verdict("warning", f"{failed} run(s) failed and are left out; their logs are shown above"))
    counted = [o for o in outcomes if o.final is not None]
    if len(outcomes) < 2:
        lines.append(Verdict("note", "one variant: nothing to compare. Add --set NAME=V1,V2 or --code DIR."))
        return lines
    if len(counted) < 2:
        lines.append(Verdict("warning", "fewer than two variants have a finished run: nothing to compare"))
        return lines
    fewest = min(o.final.n for o in counted)
    if fewest == 1:
        lines.append(Verdict("warning", "one seed per variant: no comparison can be made. Two seeds of the same "
                             "setting can differ as much as two settings (Henderson et al. 2018). "
                             "Run again with --seeds 5: finished runs are kept."))
        return lines
    if fewest == 2:
        lines.append(Verdict("warning", "two seeds per variant: an interval from two runs is just their range, "
                             "too little to claim anything. Run again with --seeds 5: finished runs are kept."))
        return lines
    lines += _compare(counted, lambda o: o.final, f"final {setup.y_label}", higher_is_better=True,
                      better="higher", worse="lower")
    if setup.target is not None:
        timed = [o for o in counted if o.target is not None]
        if timed and not any(any(o.reached) for o in timed):
            lines.append(Verdict("note", f"no run reached {setup.target:g} within the budget: "
                                 f"{setup.target_label} cannot be compared; try a larger --steps"))
        elif len(timed) >= 2:
            lines += _compare(timed, lambda o: o.target, setup.target_label, higher_is_better=False,
                              better="faster", worse="slower")
            censored = [o.variant.label for o in timed if not all(o.reached)]
            if censored:
                lines.append(Verdict("note", f"runs of {', '.join(censored)} never reached {setup.target:g}: "
                                     "they count as the whole budget, so their figure is a lower bound"))
    return lines


def _span(e: Estimate) -> str:
    return f"[{_fmt(e.low)}, {_fmt(e.high)}]"


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"


def _compare(outcomes: list[Outcome], estimate, what: str, higher_is_better: bool, better: str,
             worse: str) -> list[Verdict]:
    """Each variant against the best one: a claim only where the 95 % intervals do not overlap."""
    best = max(outcomes, key=lambda o: estimate(o).point if higher_is_better else -estimate(o).point)
    b = estimate(best)
    seeds = sorted({estimate(o).n for o in outcomes})
    n = f"{seeds[0]} seeds" if len(seeds) == 1 else f"{seeds[0]}–{seeds[-1]} seeds"
    lines = []
    apart = [o for o in outcomes if o is not best and not estimate(o).overlaps(b)]
    close = [o for o in outcomes if o is not best and estimate(o).overlaps(b)]
    for o in apart:
        e = estimate(o)
        lines.append(Verdict("claim", f"{what}: {o.variant.label} is {worse} than {best.variant.label}: its 95 % CI "
                             f"{_span(e)} does not overlap {_span(b)} ({n} each)"))
    if close:
        names = ", ".join(o.variant.label for o in close)
        lines.append(Verdict("open", f"{what}: with {n}, {names} and {best.variant.label} cannot be told apart: "
                             "their 95 % CIs overlap. More seeds may separate them, or there is no real difference."))
    return lines


# ----- outputs -------------------------------------------------------------------------------
def write_csv(p: Plan, outcomes: list[Outcome], grouped: dict[Variant, list[RunResult]]) -> Path:
    setup = p.setup
    names = list(dict.fromkeys(name for v in p.variants for name, _ in v.settings))
    columns = ["variant", "code", *names, "seed", "ok", "cached", f"final_{setup.y}"]
    if setup.target is not None:
        columns += [f"{setup.x}_to_{setup.target:g}", "reached"]
    columns += ["seconds", "run_dir", "command"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for variant in p.variants:
        values = dict(variant.settings)
        for result in grouped[variant]:
            final = final_value(result, setup.y) if result.ok else None
            row = [variant.label, variant.code_label, *[values.get(n, "") for n in names], result.spec.seed,
                   int(result.ok), int(result.cached), "" if final is None else final]
            if setup.target is not None:
                at, reached = x_at_target(result, setup.x, setup.y, setup.target) if result.ok else (None, False)
                row += ["" if at is None else at, int(reached)]
            row += [round(result.seconds, 2), str(result.out_dir), shlex.join(result.spec.command(result.out_dir)[1:])]
            writer.writerow(row)
    path = p.out_dir / "runs.csv"
    write_atomic(path, buffer.getvalue())
    return path


def groups_for_plots(grouped: dict[Variant, list[RunResult]]) -> dict[str, list[RunResult]]:
    return {v.label + (" (default)" if v.default else ""): results for v, results in grouped.items()}


def write_png(p: Plan, grouped: dict[Variant, list[RunResult]]) -> Path:
    """curves.png; not drawn again when it already shows exactly these runs (a re-run answers at once)."""
    from .plots import curves_png
    setup = p.setup
    path = p.out_dir / "curves.png"
    budget = f", {setup.budget_flag} {p.steps}" if p.steps else ""
    title = (f"{p.name}: mean over {len(p.seeds)} seed{'s' * (len(p.seeds) > 1)} with 95 % bootstrap band, "
             f"seeds faint{budget}")
    drawn = {"title": title, "x": setup.x, "y": setup.y, "target": setup.target,
             "groups": {label: [str(r.out_dir) for r in results if r.ok]
                        for label, results in groups_for_plots(grouped).items()}}
    stamp = p.out_dir / ".curves.json"
    try:
        if path.is_file() and json.loads(stamp.read_text(encoding="utf-8")) == drawn:
            return path
    except (OSError, ValueError):
        pass
    curves_png(groups_for_plots(grouped), setup.x, setup.y, path, title=title, hline=setup.target,
               hline_label=f"target {setup.target:g}" if setup.target else "", xlabel=setup.x_label,
               ylabel=setup.y_label)
    write_atomic(stamp, json.dumps(drawn))
    return path
