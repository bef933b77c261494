"""Check a learner's block against the real run, and name their mistake when it is one we know.

The block runs on inputs recorded from the reference (every recorded moment and every derived case),
in the learner's own module (their helpers are there), with fresh copies of the inputs each time. The
report goes stage by stage, and stops at the first stage that fails:

    ran        did the block run on every moment (their traceback, trimmed to their own lines)?
    types      is each output of the right type (a Tensor, a tuple of three, ...)?
    shapes     shape, dtype and device of every tensor, strictly
    gradients  does what must carry a gradient carry one, and nothing else?
    values     the first differing element in the problem's terms (t=31, env=3), the inputs there, how
               many differ, the largest difference and the tolerance; then the gradients' values, and
               inputs changed in place that the reference leaves alone

When it fails, the fault library's mutants of the reference block run on the same inputs; a mistake is
named only if the learner's outputs equal a mutant's on every moment (and that mutant is wrong).
"""
from __future__ import annotations

import ast
import contextlib
import io
import math
import random
import signal
import sys
import time
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path

from ..engine import recorder
from .exercises import RETURN, Catalogue, Exercise, LayoutError, learner_block

STAGES = ("ran", "types", "shapes", "gradients", "values")
RUN_SECONDS = 10.0            # a learner's block that runs longer on one moment is stopped (an endless loop?)
MUTANT_SECONDS = 2.0
IMPORT_SECONDS = 30.0         # importing the learner's file (its top level: imports and definitions)
MUTANT_CACHE_FORMAT = "3"     # bump when what is cached of a mutant's run changes
_DEFAULT_TOLERANCE = {"float64": (1e-7, 1e-7), "float32": (1.3e-6, 1e-5), "float16": (1e-3, 1e-5),
                      "bfloat16": (1.6e-2, 1e-5)}


# ----- what the recording gives ----------------------------------------------------------------------
@dataclass
class Moment:
    """One set of inputs the block is checked on, and what the reference produced from them."""
    label: str
    inputs: dict[str, object]       # pristine: every run gets its own deep copy
    expected: dict[str, object]     # output label -> value
    context: dict[str, object]


def probe(exercise: Exercise) -> recorder.Probe:
    outputs = list(exercise.produce.values())
    if exercise.is_function and exercise.returns:
        outputs.insert(0, RETURN)
    region = exercise.region
    return recorder.Probe(exercise.id, str(exercise.path), region.start_line, region.end_line,
                          tuple(region.inputs), tuple(outputs), hits=tuple(exercise.hits))


def probes(catalogue: Catalogue) -> list[recorder.Probe]:
    return [probe(e) for e in catalogue.exercises if e.region is not None]


def recording_file(catalogue: Catalogue) -> Path:
    """The cached recording of every exercise of the catalogue (made once: one run of the record script)."""
    repo_dir = catalogue.exercises[0].repo_dir
    return recorder.recording_file(repo_dir / catalogue.script, catalogue.args, repo_dir, probes(catalogue),
                                   timeout=catalogue.timeout)


def is_recorded(catalogue: Catalogue) -> bool:
    repo_dir = catalogue.exercises[0].repo_dir
    return recorder.is_cached(repo_dir / catalogue.script, catalogue.args, repo_dir, probes(catalogue))


def flatten(exercise: Exercise, values: dict[str, object]) -> dict[str, object]:
    """Recorded or produced values keyed by the names the learner knows: a function's returned tuple split
    into `returns`, each `produce` expression under its label."""
    out = {}
    if exercise.is_function and exercise.returns and RETURN in values:
        returned = values[RETURN]
        if len(exercise.returns) == 1:
            out[exercise.returns[0]] = returned
        else:
            for name, value in zip(exercise.returns, returned):
                out[name] = value
    for label, expr in exercise.produce.items():
        if expr in values:
            out[label] = values[expr]
    return out


# ----- running a block -----------------------------------------------------------------------------------
class _TimedOut(BaseException):
    pass


@dataclass
class Run:
    outputs: dict[str, object] = field(default_factory=dict)
    error: BaseException | None = None
    missing: list[str] = field(default_factory=list)     # outputs the block did not set
    printed: str = ""
    inputs_after: dict[str, object] = field(default_factory=dict)   # path -> each tensor of the inputs, after the run
    inputs_given: dict[str, object] = field(default_factory=dict)
    shape_error: str = ""            # a function that returned the wrong number of values


class Block:
    """Code that computes the exercise's outputs from its inputs: the learner's, the reference's or a mutant's."""

    def __init__(self, exercise: Exercise, namespace: dict, code: types.CodeType | None = None,
                 function=None):
        self.exercise = exercise
        self.namespace = namespace           # the module's globals: imports and helpers
        self.code = code                     # a block's statements, compiled with their file and lines
        self.function = function             # or the function to call

    def run(self, moment: Moment, seconds: float | None = None) -> Run:
        import torch

        seconds = seconds or RUN_SECONDS

        run = Run()
        inputs = recorder.snapshot(moment.inputs)
        run.inputs_given = inputs
        run.inputs_after = tensor_paths(inputs)      # the very tensors handed in: seen after the run
        ns = dict(self.namespace)
        ns.update(inputs)
        printed = io.StringIO()
        _seed()
        try:
            with time_limit(seconds), torch.set_grad_enabled(bool(moment.context.get("grad_enabled", True))), \
                    contextlib.redirect_stdout(printed):
                if self.function is not None:
                    ns[RETURN] = self.function(*[inputs[name] for name in self.exercise.region.inputs])
                else:
                    exec(self.code, ns)
        except _TimedOut:
            run.error = TimeoutError(f"still running after {seconds:.0f} s (an endless loop?)")
        except Exception as exc:
            run.error = exc
        run.printed = printed.getvalue()
        if run.error is not None:
            return run
        values = {}
        for expr in self.exercise.outputs().values():
            try:
                values[expr] = ns[RETURN] if expr == RETURN else eval(expr, ns)
            except Exception:
                run.missing.append(expr)
        if RETURN in values and len(self.exercise.returns) > 1:
            returned = values[RETURN]
            if not isinstance(returned, (tuple, list)) or len(returned) != len(self.exercise.returns):
                got = "None (is its `return` missing?)" if returned is None else \
                    f"a {type(returned).__name__}" if not isinstance(returned, (tuple, list)) else \
                    f"{len(returned)} values"
                run.shape_error = (f"{self.exercise.function} returned {got}; it must return "
                                   f"{len(self.exercise.returns)} values: {', '.join(self.exercise.returns)}")
                return run
        run.outputs = flatten(self.exercise, values)
        run.missing = [_label(self.exercise, expr) for expr in run.missing]
        return run


def _label(exercise: Exercise, expr: str) -> str:
    if expr == RETURN:
        return f"the value {exercise.function} returns"
    return next((label for label, e in exercise.produce.items() if e == expr), expr)


def _alarm(signum, frame):
    raise _TimedOut


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise _TimedOut in the code inside after `seconds` (main thread only: SIGALRM)."""
    import threading
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _seed() -> None:
    import torch
    random.seed(0)
    torch.manual_seed(0)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(0)


def block_from_source(exercise: Exercise, source: str, path: str, namespace: dict,
                      statements: list[ast.stmt] | None = None) -> Block:
    """A block compiled from `source` (statements of the exercise's region, or its function)."""
    tree = ast.parse(source, filename=path)
    if exercise.is_function:
        function = _function_node(tree, exercise.function)
        if function is None:
            raise LayoutError(f"no function {exercise.function} in {path}")
        ns = dict(namespace)
        exec(compile(ast.Module([function], []), path, "exec", dont_inherit=True), ns)
        return Block(exercise, namespace, function=ns[function.name])
    if statements is None:
        statements = statements_within(tree, exercise.region.start_line, exercise.region.end_line)
    return Block(exercise, namespace, code=compile(ast.Module(statements, []), path, "exec", dont_inherit=True))


def _function_node(tree: ast.Module, qualname: str):
    node, parts = tree, qualname.split(".")
    for part in parts:
        node = next((n for n in getattr(node, "body", []) if isinstance(n, (ast.FunctionDef, ast.ClassDef,
                                                                            ast.AsyncFunctionDef))
                     and n.name == part), None)
        if node is None:
            return None
    return node


def statements_within(tree: ast.Module, first: int, last: int) -> list[ast.stmt]:
    """The statements of the outermost block that lie within lines [first, last]."""
    todo = [tree]
    while todo:
        node = todo.pop(0)
        for name in ("body", "orelse", "finalbody", "handlers"):
            block = getattr(node, name, None)
            if not isinstance(block, list):
                continue
            inside = [s for s in block if isinstance(s, ast.stmt) and first <= s.lineno and s.end_lineno <= last]
            if inside:
                return inside
            todo.extend(s for s in block if isinstance(s, (ast.stmt, ast.excepthandler)))
    return []


# ----- comparing ---------------------------------------------------------------------------------------
@dataclass
class Difference:
    stage: str                      # one of STAGES
    output: str                     # the output's label, with a path into it (`dWs[1]`, `grads['critic.0.weight']`)
    message: str                    # one line
    index: tuple | None = None      # first differing element
    yours: object = None
    expected: object = None
    count: int = 0                  # elements that differ
    total: int = 0
    largest: float = 0.0
    largest_index: tuple | None = None
    tolerance: tuple[float, float] | None = None


def tolerance_for(dtype: str, exercise_tolerance: dict) -> tuple[float, float]:
    rtol, atol = _DEFAULT_TOLERANCE.get(dtype, (1e-6, 1e-8))
    return exercise_tolerance.get("rtol", rtol), exercise_tolerance.get("atol", atol)


def compare(expected, actual, label: str, tolerance: dict, backward: bool = False) -> Difference | None:
    """The first difference between `actual` and `expected` (None if they agree), at the earliest stage."""
    torch = sys.modules.get("torch")
    numpy = sys.modules.get("numpy")
    if isinstance(expected, recorder.Placeholder):
        return None
    if actual is None and expected is not None:
        return Difference("types", label, f"{label} is None: nothing was produced (a missing `return`?)")
    if torch is not None and isinstance(expected, torch.Tensor):
        if not isinstance(actual, torch.Tensor):
            return Difference("types", label, f"{label} is {_a(actual)}; it must be a Tensor")
        return _compare_tensors(expected, actual, label, tolerance, torch, backward)
    if numpy is not None and isinstance(expected, numpy.ndarray):
        if not isinstance(actual, numpy.ndarray):
            return Difference("types", label, f"{label} is {_a(actual)}; it must be a numpy array")
        return _compare_tensors(torch.from_numpy(expected), torch.from_numpy(actual), label, tolerance, torch,
                                backward)
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        if actual != expected or type(actual) is not type(expected):
            return Difference("values", label, f"{label} is {actual!r}; expected {expected!r}", yours=actual,
                              expected=expected)
        return None
    if isinstance(expected, (int, float)) or (numpy is not None and isinstance(expected, numpy.number)):
        if isinstance(actual, bool) or not isinstance(actual, (int, float)) and not (
                numpy is not None and isinstance(actual, numpy.number)):
            return Difference("types", label, f"{label} is {_a(actual)}; it must be a number")
        rtol, atol = tolerance_for("python", tolerance)
        if not (math.isclose(float(actual), float(expected), rel_tol=rtol, abs_tol=atol)
                or (math.isnan(float(actual)) and math.isnan(float(expected)))):
            return Difference("values", label, f"{label} differs", yours=actual, expected=expected, count=1, total=1,
                              largest=abs(float(actual) - float(expected)), tolerance=(rtol, atol))
        return None
    if isinstance(expected, (list, tuple)):
        if not isinstance(actual, (list, tuple)):
            return Difference("types", label, f"{label} is {_a(actual)}; it must be a {type(expected).__name__} "
                                              f"of {len(expected)}")
        if len(actual) != len(expected):
            return Difference("shapes", label, f"{label} has {len(actual)} items; it must have {len(expected)}")
        return _first([compare(e, a, f"{label}[{i}]", tolerance, backward)
                       for i, (e, a) in enumerate(zip(expected, actual))])
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return Difference("types", label, f"{label} is {_a(actual)}; it must be a dict")
        if set(actual) != set(expected):
            missing = [k for k in expected if k not in actual]
            return Difference("shapes", label, f"{label} has the keys {sorted(map(str, actual))}; expected "
                                               f"{sorted(map(str, expected))}" + (f" (missing {missing})" if missing else ""))
        return _first([compare(expected[k], actual[k], f"{label}[{k!r}]", tolerance, backward) for k in expected])
    if type(actual) is not type(expected):
        return Difference("types", label, f"{label} is {_a(actual)}; it must be {_a(expected)}")
    return None


def _first(diffs: list[Difference | None]) -> Difference | None:
    found = [d for d in diffs if d is not None]
    return min(found, key=lambda d: STAGES.index(d.stage)) if found else None


def _a(value) -> str:
    name = type(value).__name__
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def _compare_tensors(expected, actual, label: str, tolerance: dict, torch, backward: bool) -> Difference | None:
    if tuple(actual.shape) != tuple(expected.shape):
        return Difference("shapes", label, f"{label} has shape {list(actual.shape)}; it must be "
                                           f"{list(expected.shape)}")
    if actual.dtype != expected.dtype:
        return Difference("shapes", label, f"{label} is {_dtype(actual)}; it must be {_dtype(expected)}")
    if actual.device != expected.device:
        return Difference("shapes", label, f"{label} is on {actual.device}; it must be on {expected.device}")
    if actual.requires_grad != expected.requires_grad:
        if expected.requires_grad:
            why = (f"{label} does not carry a gradient, but it must: the loss is backpropagated through it "
                   "(a .detach(), .item(), .data or torch.no_grad() cuts the graph)")
        else:
            why = (f"{label} carries a gradient (requires_grad), but the reference's does not: detach what "
                   "should stay out of backpropagation")
        return Difference("gradients", label, why)
    e, a = expected.detach(), actual.detach()
    if e.dtype.is_floating_point or e.dtype.is_complex:
        rtol, atol = tolerance_for(_dtype(e), tolerance)
        close = torch.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    else:
        rtol = atol = 0.0
        close = a == e
    if bool(close.all()):
        return None
    wrong = (~close).reshape(-1).nonzero()
    first = _unravel(int(wrong[-1] if backward else wrong[0]), e.shape)   # backward: code that runs from the end
    diff = (a.double() - e.double()).abs() if not e.dtype == torch.bool else (a != e).double()
    diff = torch.where(torch.isnan(diff), torch.full_like(diff, math.inf), diff)
    largest_flat = int(diff.reshape(-1).argmax()) if diff.numel() else 0
    return Difference("values", label, f"{label} differs", first, _item(a, first), _item(e, first),
                      int((~close).sum()), e.numel(), float(diff.reshape(-1)[largest_flat]) if diff.numel() else 0.0,
                      _unravel(largest_flat, e.shape), (rtol, atol))


def _dtype(t) -> str:
    return str(t.dtype).removeprefix("torch.")


def _unravel(flat: int, shape) -> tuple:
    index = []
    for size in reversed(tuple(shape)):
        index.append(flat % size)
        flat //= size
    return tuple(reversed(index))


def _item(t, index: tuple):
    value = t[index] if index else t
    return value.item() if hasattr(value, "item") else value


def gradients(run_outputs: dict, inputs: dict, torch) -> dict[tuple[str, str], object]:
    """d(sum(w * output))/d(input) for every output that carries a gradient and every input leaf that requires
    one (w: fixed random weights, so that terms cannot cancel). None where the output does not depend on it."""
    leaves = {n: v for n, v in inputs.items() if isinstance(v, torch.Tensor) and v.requires_grad and v.is_leaf}
    found = {}
    if not leaves:
        return found
    generator = torch.Generator().manual_seed(1)
    for label, value in run_outputs.items():
        if not isinstance(value, torch.Tensor) or not value.requires_grad or not value.dtype.is_floating_point:
            continue
        weights = torch.rand(value.shape, generator=generator, dtype=value.dtype) + 0.5
        grads = torch.autograd.grad((value * weights).sum(), list(leaves.values()), allow_unused=True,
                                    retain_graph=True)
        for name, grad in zip(leaves, grads):
            found[(label, name)] = grad
    return found


# ----- the check -----------------------------------------------------------------------------------------
@dataclass
class Mistake:
    fault_id: str
    title: str
    category: str
    misconception: str
    line: int                       # the reference statement the mutant changes
    original: str
    mutated: str


@dataclass
class Report:
    exercise: Exercise
    path: Path                      # the learner's file
    lines: tuple[int, int]          # their block's lines (0, 0 if empty)
    moments: list[str]
    passed: bool = False
    stage: str = ""                 # the stage that failed
    moment: str = ""                # where it failed first
    difference: Difference | None = None
    also: list[str] = field(default_factory=list)       # other moments where it fails too
    right_on: list[str] = field(default_factory=list)   # moments where it is right (a clue: "no episode ends")
    error: str = ""                 # ran: the learner's traceback, trimmed to their lines
    problem: str = ""               # ran: a one-line explanation (a missing output, a layout error)
    inputs_there: list[tuple[str, object]] = field(default_factory=list)
    around: list[tuple[str, object, object]] = field(default_factory=list)   # (position, yours, expected) nearby
    printed: str = ""
    mistakes: list[Mistake] = field(default_factory=list)
    mistakes_checked: int = 0       # mutants compared (0: the fault library was not available)
    seconds: float = 0.0


class Checker:
    """Everything a check needs that does not depend on the learner's file; built once (a --watch reuses it)."""

    def __init__(self, catalogue: Catalogue, exercise: Exercise):
        self.catalogue = catalogue
        self.exercise = exercise
        self.recording = recording_file(catalogue)
        repo_dir = exercise.repo_dir
        self.reference_module = recorder.import_file(exercise.path)
        source = exercise.path.read_text(encoding="utf-8")
        self.reference_source = source
        self.reference = block_from_source(exercise, source, str(exercise.path), vars(self.reference_module))
        self._repo_dir = repo_dir
        self._mutants: list | None = None

    def mutant_results(self, moments: list[Moment]) -> list[tuple[Mistake, list[dict | None] | None]]:
        """Each mutant's outputs on every moment, computed once: kept in memory (a --watch) and on disk, keyed by
        the recording, the reference file, the fault catalogue and the moments, so a check needs no libcst."""
        import hashlib
        import pickle

        from ..progress import state_dir
        from ..spec import PROJECT_ROOT

        if self._mutants is not None:
            return self._mutants
        digest = hashlib.sha1(MUTANT_CACHE_FORMAT.encode())
        for part in (self.recording.name, self.reference_source, repr(self.exercise.region), repr(self.exercise.cases),
                     repr(self.exercise.outputs()), repr([m.label for m in moments])):
            digest.update(part.encode() + b"\0")
        for file in (PROJECT_ROOT / "walkthroughs" / "catalogue" / "faults.toml", Path(__file__).with_name("faults.py")):
            digest.update(file.read_bytes() if file.is_file() else b"-")
        cache = state_dir() / "cache" / "mutants" / f"{self.exercise.repo}-{self.exercise.id}-{digest.hexdigest()[:16]}.pkl"
        try:
            with open(cache, "rb") as f:
                self._mutants = recorder.load_pickle(f, self.exercise.repo_dir)
            return self._mutants
        except Exception:
            pass
        results = []
        for mistake, block in mutants(self):
            if block is None:
                results.append((mistake, None))
                continue
            runs = []
            for moment in moments:
                run = block.run(moment, seconds=MUTANT_SECONDS)
                if run.error is not None:
                    runs.append({"error": _error_text(run.error)})
                elif run.missing or run.shape_error:
                    runs.append(None)
                else:
                    runs.append({"outputs": run.outputs, "inputs_after": run.inputs_after})
            results.append((mistake, runs))
        self._mutants = results
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL))
            tmp.replace(cache)
        except Exception:
            pass             # a cache: losing it costs only time
        return results

    def moments(self, modules_dir: Path | None = None, modules: dict | None = None) -> list[Moment]:
        """The recorded moments and the derived cases; objects of the repo's classes rebuilt from `modules` (the
        learner's module) or from the files in `modules_dir`."""
        samples = recorder.load(self.recording, modules_dir or self._repo_dir, modules,
                                names=[self.exercise.id])[self.exercise.id]
        found = []
        by_hit = {s.hit: s for s in samples}
        for sample in samples:
            found.append(Moment(self.exercise.moment_of(sample.hit), sample.before,
                                flatten(self.exercise, sample.after), sample.context))
        for case in self.exercise.cases:
            sample = by_hit.get(case.hit)
            if sample is None:
                continue
            inputs = recorder.snapshot(sample.before)
            import torch
            ns = {"torch": torch, "math": math, **inputs}
            for name, expr in case.set.items():
                inputs[name] = eval(expr, ns)
            moment = Moment(f"{case.label}, {self.exercise.moment_of(case.hit)}", inputs, {}, sample.context)
            run = self.reference.run(moment)
            if run.error is not None or run.missing:
                raise RuntimeError(f"the reference fails on case {case.label!r}: {run.error or run.missing}")
            moment.expected = run.outputs
            found.append(moment)
        return found


def check(checker: Checker, copy_dir: Path) -> Report:
    """Run the learner's block (in copy_dir) on every moment and report, stage by stage."""
    import torch

    started = time.perf_counter()
    exercise = checker.exercise
    path = Path(copy_dir) / exercise.file
    report = Report(exercise, path, (0, 0), [])
    try:
        learner, modules = _learner(exercise, path)
    except _NotRunnable as exc:
        report.stage, report.error, report.problem = "ran", exc.traceback, exc.problem
        report.seconds = time.perf_counter() - started
        return report
    report.lines = (learner.first_line, learner.last_line)
    moments = checker.moments(Path(copy_dir), modules)
    report.moments = [m.label for m in moments]
    runs = [learner.block.run(m) for m in moments]
    report.printed = "".join(r.printed for r in runs)[:4000]

    for moment, run in zip(moments, runs):                 # ran (and a function's number of results)
        if run.error is not None:
            report.stage, report.moment = "ran", moment.label
            report.error = _trimmed_traceback(run.error, Path(copy_dir), exercise.function)
            report.problem = _explain_error(run.error, moment)
            report.also = [m.label for m, r in zip(moments, runs) if r.error is not None and m is not moment]
            if not isinstance(run.error, (NotImplementedError, TimeoutError)):
                report.mistakes, report.mistakes_checked = match_mistakes(checker, moments, runs)
            break
        if run.missing or run.shape_error:
            report.stage, report.moment = ("ran" if run.missing else "types"), moment.label
            report.problem = run.shape_error or (f"your block ran but did not set {', '.join(run.missing)}: the code "
                                                 "after it needs " + ("it" if len(run.missing) == 1 else "them"))
            break
    if not report.stage:                                   # types, shapes, gradients, values
        references = [checker.reference.run(m) for m in moments]
        found = []
        for moment, run, reference in zip(moments, runs, references):
            diff = _first([compare(moment.expected.get(label), run.outputs.get(label), label, exercise.tolerance,
                                   exercise.scan == "backward") for label in moment.expected])
            if diff is None:
                diff = _gradient_difference(exercise, reference, run, torch) or _side_effect(exercise, moment, run)
            found.append((moment, diff))
        failing = [(m, d) for m, d in found if d is not None]
        if failing:
            worst = min(STAGES.index(d.stage) for _, d in failing)
            moment, diff = next((m, d) for m, d in failing if STAGES.index(d.stage) == worst)
            report.stage, report.moment, report.difference = diff.stage, moment.label, diff
            report.also = [m.label for m, _ in failing if m is not moment]
            report.right_on = [m.label for m, d in found if d is None]
            if diff.index is not None:
                report.inputs_there = inputs_at(exercise, moment, diff)
                run = runs[moments.index(moment)]
                report.around = around(exercise, diff, moment.expected.get(diff.output), run.outputs.get(diff.output))
        report.mistakes, report.mistakes_checked = match_mistakes(checker, moments, runs) if failing else ([], 0)
    report.passed = not report.stage
    report.seconds = time.perf_counter() - started
    return report


class _NotRunnable(Exception):
    def __init__(self, problem: str, traceback_text: str = ""):
        super().__init__(problem)
        self.problem, self.traceback = problem, traceback_text


@dataclass
class _Learner:
    block: Block
    first_line: int
    last_line: int


def _learner(exercise: Exercise, path: Path) -> tuple[_Learner, dict]:
    """The learner's module and block, or _NotRunnable saying why not."""
    if not path.is_file():
        raise _NotRunnable(f"{path} does not exist; make the working copy with `walkthrough implement "
                           f"{exercise.repo} {exercise.id}`")
    try:
        located = learner_block(exercise, path)
    except SyntaxError as exc:
        text = (exc.text or "").rstrip()
        raise _NotRunnable(f"{path.name} does not parse: line {exc.lineno}: {exc.msg}",
                           f'  File "{path}", line {exc.lineno}\n    {text.strip()}\nSyntaxError: {exc.msg}') from None
    except LayoutError as exc:
        raise _NotRunnable(str(exc)) from None
    try:
        with time_limit(IMPORT_SECONDS):
            module = recorder.import_file(path)
    except _TimedOut:
        raise _NotRunnable(f"importing {path.name} took over {IMPORT_SECONDS:.0f} s: does it run its training at "
                           "import? Keep `if __name__ == \"__main__\": main()` at its end") from None
    except Exception as exc:
        raise _NotRunnable(f"{path.name} raises {exc.__class__.__name__} while it is imported (before your block "
                           "runs)", _trimmed_traceback(exc, path.parent)) from None
    modules = {path.stem: module}       # recorded objects of this file's classes become the learner's
    namespace = vars(module)
    if exercise.is_function:
        function = module
        for part in exercise.function.split("."):
            function = getattr(function, part, None)
        if not callable(function):
            raise _NotRunnable(f"{path.name} has no function {exercise.function} any more")
        block = Block(exercise, namespace, function=function)
    else:
        try:
            code = compile(ast.Module(located.statements, []), str(path), "exec", dont_inherit=True)
        except SyntaxError as exc:          # `return` or `yield` in a block of main(): fine in the file, not here
            raise _NotRunnable(f"line {exc.lineno}: {exc.msg}: the block runs as part of {exercise.function}() and "
                               "hands its results to the code after it by name, so it cannot return or yield")
        block = Block(exercise, namespace, code=code)
    return _Learner(block, located.first_line, located.last_line), modules


def _trimmed_traceback(exc: BaseException, copy_dir: Path, function: str = "") -> str:
    """The traceback's frames in the learner's files only, then the exception. Their block runs as compiled
    statements, so its frame is named after the function it sits in, as in their program."""
    root = str(Path(copy_dir).resolve())
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if str(Path(f.filename).resolve()).startswith(root)]
    for frame in frames:
        if frame.name == "<module>" and function:
            frame.name = function
    lines = ["Traceback (your code only):\n", *traceback.format_list(frames)] if frames else []
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines).rstrip()


def _explain_error(exc: BaseException, moment: Moment) -> str:
    if isinstance(exc, NotImplementedError):
        return "the stub is still there: replace `raise NotImplementedError(...)` with your code"
    if isinstance(exc, NameError) and getattr(exc, "name", None):
        name = exc.name
        given = ", ".join(moment.inputs)
        return (f"your block reads `{name}`, which it does not receive. It gets: {given} (and the module's "
                "imports and functions). Define helpers at the top level of the file or inside the block.")
    if isinstance(exc, TimeoutError):
        return str(exc)
    if isinstance(exc, (RuntimeError, IndexError, ValueError)) and any(
            word in str(exc) for word in ("size", "shape", "dimension", "out of bounds")):
        shapes = ", ".join(f"{name} {list(value.shape)}" for name, value in moment.inputs.items()
                           if hasattr(value, "shape") and hasattr(value, "dtype"))
        return "a shape problem: check what your line combines" + (f" (the inputs here: {shapes})" if shapes else "")
    return ""


def _gradient_difference(exercise: Exercise, reference: Run, run: Run, torch) -> Difference | None:
    """Right values, but does the gradient flow back to the inputs as the reference's does?"""
    expected = gradients(reference.outputs, reference.inputs_given, torch)
    if not expected:
        return None
    got = gradients(run.outputs, run.inputs_given, torch)
    for (label, name), grad in expected.items():
        mine = got.get((label, name))
        if grad is None and mine is None:
            continue
        if mine is None:
            return Difference("gradients", label, f"the gradient of {label} does not reach {name}: something in "
                                                  "your block cuts it (a .detach(), .item(), .data or torch.no_grad())")
        if grad is None:
            return Difference("gradients", label, f"{label} carries a gradient back to {name}, but the reference's "
                                                  "does not")
        diff = compare(grad, mine, f"the gradient of {label} with respect to {name}", exercise.tolerance)
        if diff is not None:
            diff.stage = "values"
            diff.message += (": your values are right but the gradient is not (a term detached, or computed "
                             "outside the graph)")
            return diff
    return None


def _side_effect(exercise: Exercise, moment: Moment, run: Run) -> Difference | None:
    """The exercise's declared effects on its inputs: `in_place` tensors must be updated in place (the model
    holds them: an optimiser step), `keep` inputs must be left as they are (the caller still uses them)."""
    original = tensor_paths(moment.inputs)
    for path, mine in run.inputs_after.items():
        changed = compare(original[path], mine, path, {}) is not None
        if not changed and _under(path, exercise.in_place):
            return Difference("values", path, f"your block does not change {path} in place, and the code after it "
                                              "holds that very tensor (the model's parameters, the optimiser's state): "
                                              "update it in place (x.sub_(...), x.mul_(...), x.copy_(...)); `x = ...` "
                                              "only rebinds a name")
        if changed and _under(path, exercise.keep):
            return Difference("values", path, f"your block changes {path} in place; the code after it still needs the "
                                              f"original (work on a copy: .clone())")
    return None


def _under(path: str, prefixes: list[str]) -> bool:
    return any(path == p or path.startswith((p + "[", p + ".")) for p in prefixes)


def tensor_paths(values: dict, depth: int = 3) -> dict[str, object]:
    """Every tensor reachable from `values` (through lists, tuples, dicts, modules' parameters and plain objects'
    attributes), by the path a learner would write: `self.params[0]`."""
    torch = sys.modules.get("torch")
    found: dict[str, object] = {}
    if torch is None:
        return found
    seen: set[int] = set()

    def walk(value, path: str, left: int) -> None:
        if id(value) in seen or left < 0:
            return
        seen.add(id(value))
        if isinstance(value, torch.Tensor):
            found[path] = value
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]", left - 1)
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}[{key!r}]", left - 1)
        elif isinstance(value, torch.nn.Module):
            for name, parameter in value.named_parameters():
                walk(parameter, f"{path}.{name}", left - 1)
                if parameter.grad is not None:
                    walk(parameter.grad, f"{path}.{name}.grad", left - 1)
        elif hasattr(value, "__dict__") and not isinstance(value, (type, types.ModuleType)) and \
                type(value).__module__ not in ("argparse",):
            for name, item in vars(value).items():
                walk(item, f"{path}.{name}", left - 1)

    for name, value in values.items():
        walk(value, name, depth)
    return found


def inputs_at(exercise: Exercise, moment: Moment, diff: Difference) -> list[tuple[str, object]]:
    """The inputs at the differing element: the exercise's `there` expressions with the dimensions' names bound to
    the element's index (`dones[t + 1, env]`), else every input whose dimensions are named like the output's."""
    import torch

    base = diff.output.split("[")[0]
    names = exercise.dims.get(base)
    if not names or len(names) != len(diff.index) or "[" in diff.output:
        return []
    where = dict(zip(names, diff.index))
    ns = {"torch": torch, **moment.inputs}
    found = []
    if exercise.there:
        for label, expr in exercise.there.items():
            try:
                value = eval(expr, {**ns, **where})
            except Exception:
                continue
            found.append((label, value.item() if isinstance(value, torch.Tensor) and value.numel() == 1 else value))
        return found
    for key, dims in exercise.dims.items():
        if key in exercise.outputs() or key in exercise.returns or key == base or not set(dims) <= set(where):
            continue
        try:
            value = eval(key, ns)
        except Exception:
            continue
        if isinstance(value, torch.Tensor) and value.dim() == len(dims):
            found.append((f"{key}[{', '.join(f'{d}={where[d]}' for d in dims)}]",
                          _item(value.detach(), tuple(where[d] for d in dims))))
    return found


def around(exercise: Exercise, diff: Difference, expected, actual, before: int = 4, after: int = 2) -> list:
    """Yours and the expected values along the first dimension near the first differing element (the other
    indices fixed): the pattern of a mistake shows there (everything before t wrong, every other row, ...)."""
    import torch

    if not isinstance(expected, torch.Tensor) or not isinstance(actual, torch.Tensor) or not diff.index:
        return []
    first = diff.index[0]
    rows = []
    for i in range(max(0, first - before), min(expected.shape[0], first + after + 1)):
        index = (i, *diff.index[1:])
        rows.append((name_index(exercise, diff, index), _item(actual.detach(), index), _item(expected.detach(), index)))
    return rows


def name_index(exercise: Exercise, diff: Difference, index: tuple | None) -> str:
    """`t=31, env=3` when the output's dimensions are named, else `[31, 3]`."""
    if not index:
        return ""
    base = diff.output.split("[")[0]
    names = exercise.dims.get(base)
    if names and len(names) == len(index) and "[" not in diff.output:
        return ", ".join(f"{n}={i}" for n, i in zip(names, index))
    return "[" + ", ".join(str(i) for i in index) + "]"


# ----- naming the mistake ----------------------------------------------------------------------------------
def match_mistakes(checker: Checker, moments: list[Moment], runs: list[Run]) -> tuple[list[Mistake], int]:
    """The fault library's mutants of the reference block that behave as the learner's block on every moment."""
    if any(run.missing or run.shape_error for run in runs) or all(run.error is not None for run in runs):
        return [], 0
    results = checker.mutant_results(moments)
    found, seen = [], set()
    for mistake, mutant_runs in results:
        if mutant_runs is None or (mistake.fault_id, mistake.line) in seen:
            continue
        if _same_as_learner(checker.exercise, moments, runs, mutant_runs):
            seen.add((mistake.fault_id, mistake.line))
            found.append(mistake)
    return found, len(results)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def mutants(checker: Checker) -> list[tuple[Mistake, Block | None]]:
    """Every mutant the fault library makes of the reference block, compiled (None: it does not compile)."""
    try:
        from . import faults
    except ImportError:          # a build without the fault library: checks still work, nothing is named
        return []
    exercise = checker.exercise
    region = exercise.region
    mutations = faults.mutations(checker.reference_source, str(exercise.path), lines=(region.start_line,
                                                                                      region.end_line))
    lines = len(checker.reference_source.splitlines())
    found = []
    for mutation in mutations:
        fault = mutation.fault
        mistake = Mistake(fault.id, fault.title, fault.category, fault.misconception, mutation.line,
                          mutation.original, mutation.mutated)
        try:
            shift = len(mutation.source.splitlines()) - lines
            statements = None if exercise.is_function else statements_within(
                ast.parse(mutation.source), region.start_line, region.end_line + shift)
            block = block_from_source(exercise, mutation.source, str(exercise.path), vars(checker.reference_module),
                                      statements)
        except Exception:
            block = None
        found.append((mistake, block))
    return found


def _same_as_learner(exercise: Exercise, moments: list[Moment], runs: list[Run], mutant_runs: list) -> bool:
    """Only then is the learner's mistake this one: on every moment the mutant gives the learner's outputs (and
    changes the same inputs in place), or both raise the very same error; on at least one moment both compute
    values; and the mutant is wrong on at least one moment."""
    differs_from_reference = computed = False
    for moment, learner, mutant in zip(moments, runs, mutant_runs):
        if mutant is None:
            return False
        if learner.error is not None or "error" in mutant:
            if learner.error is None or mutant.get("error") != _error_text(learner.error):
                return False
            differs_from_reference = True          # the reference does not raise
            continue
        computed = True
        for label in moment.expected:
            if compare(learner.outputs.get(label), mutant["outputs"].get(label), label, exercise.tolerance) is not None:
                return False
            if compare(moment.expected[label], mutant["outputs"].get(label), label, exercise.tolerance) is not None:
                differs_from_reference = True
        original = tensor_paths(moment.inputs)
        for path, after in mutant["inputs_after"].items():     # the declared effects on the inputs, the same
            if not _under(path, exercise.keep + exercise.in_place):
                continue
            if compare(learner.inputs_after.get(path), after, path, {}) is not None:
                return False
            if _under(path, exercise.keep) and compare(original[path], after, path, {}) is not None:
                differs_from_reference = True
    return differs_from_reference and computed
