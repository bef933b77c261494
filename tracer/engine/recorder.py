"""Record what a region of code reads before it runs and what it wrote after, in a real run.

`record(script, argv, repo_dir, probes)` runs `python script argv` once, in a subprocess, with
the engine's gates compiled in at each probe's region: a call before the region's first statement
and one after its last (a final `return` hands its value to the gate). No trace function is
installed, so the program runs at full speed between regions. At the executions a probe asks for,
the gate deep-copies the names the region reads (before) and writes (after): tensors are cloned
and keep `requires_grad`; a value that cannot be copied (an environment, an open file) becomes a
`Placeholder` that says what it was. The run stops as soon as every probe has its samples.

Recordings are cached by content: the repo's .py files, the script, its arguments and the probes.
Used by exercises (inputs and expected outputs), bug hunts (where a buggy run first diverges) and
mutant questions (evaluate a variant on real values).
"""
from __future__ import annotations

import ast
import builtins
import copy
import hashlib
import importlib.abc
import importlib.util
import io
import json
import os
import pickle
import subprocess
import sys
import tempfile
import types
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .anchors import read_source
from .stops import RETURN_GATE, Engine, _insert_gates

FORMAT = 1
RETURN = "return"        # the name under which a region's returned value is recorded (a keyword: no clash)
_SKIP_DIRS = {"__pycache__", "runs", ".pytest_cache", ".git", ".venv"}


class RecorderError(Exception):
    """The recording could not be made; the message says why (and shows the end of the script's output)."""
    samples: dict | None = None       # the script itself failed: what record() had taken before it did
    _partial: bytes = b""


@dataclass(frozen=True)
class Probe:
    name: str                         # the caller's key ("gae", a step id)
    path: str                         # absolute path of the file
    start_line: int                   # first line of the region's first statement
    end_line: int                     # last line of its last statement (same block); one statement: its own lines
                                      # (a compound statement's header line stands for the whole statement)
    reads: tuple[str, ...]            # names captured just before the region runs ("args.gamma" allowed)
    writes: tuple[str, ...] = ()      # captured just after it ran; RETURN: the value of a final `return`
    hits: tuple[int, ...] | None = (1,)   # executions to record (1-based); None: every one, up to max_samples
    max_samples: int = 8


@dataclass
class Sample:
    hit: int
    before: dict[str, object]         # deep copies (tensors cloned, requires_grad kept); an uncopyable
    after: dict[str, object]          # value (an env, a file) becomes a Placeholder that says what it was
    context: dict[str, object] = field(default_factory=dict)   # grad_enabled: torch's grad mode in the region


class Placeholder:
    """Stands for a value the recorder could not copy. Using it raises an error that says so."""

    def __init__(self, name: str, type_name: str, why: str):
        self.name, self.type_name, self.why = name, type_name, why

    def __repr__(self) -> str:
        return f"<not recorded: {self.name}, a {self.type_name} ({self.why})>"

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise AttributeError(f"{self.name} was not recorded ({self.type_name}: {self.why}); "
                             f"code checked against the recording cannot use {self.name}.{attr}")


# ----- regions ---------------------------------------------------------------------------------
def region_statements(tree: ast.Module, start_line: int, end_line: int, path: str = "<source>") -> list[ast.stmt]:
    """The statements of one block from the one that begins on `start_line` to the last that begins on or
    before `end_line` (so a compound statement's header line is enough to name it whole)."""
    for node in ast.walk(tree):
        for field_name in ("body", "orelse", "finalbody", "handlers"):
            block = getattr(node, field_name, None)
            if not isinstance(block, list) or not block or not isinstance(block[0], ast.stmt):
                continue
            firsts = [i for i, stmt in enumerate(block) if stmt.lineno == start_line]
            if not firsts:
                continue
            first = firsts[0]
            last = max(i for i in range(first, len(block)) if block[i].lineno <= max(end_line, start_line))
            return block[first:last + 1]
    raise RecorderError(f"{path}: no statement starts on line {start_line}")


def region_names(path, start_line: int, end_line: int, *, dotted: bool = False) -> tuple[list[str], list[str]]:
    """(inputs, outputs) of a region, found with libcst: the names it reads before assigning them, and the
    names it assigns, in order of appearance. Module globals (imports, functions), builtins and the region's
    own comprehension or nested-function variables are left out. With `dotted`, inputs are attribute chains
    where the code reads one (`args.gamma`, not `args`; a method call counts as reading its object)."""
    import libcst as cst
    from libcst.metadata import (ExpressionContext, ExpressionContextProvider, MetadataWrapper, PositionProvider,
                                 ScopeProvider)

    text = read_source(path)
    wrapper = MetadataWrapper(cst.parse_module(text), unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    contexts = wrapper.resolve(ExpressionContextProvider)
    scopes = wrapper.resolve(ScopeProvider)

    def inside(node) -> bool:
        pos = positions.get(node)
        return pos is not None and start_line <= pos.start.line and pos.end.line <= end_line

    statements = [n for n in positions if isinstance(n, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
                  and positions[n].start.line == start_line]
    if not statements:
        raise RecorderError(f"{path}: no statement starts on line {start_line}")
    home = scopes.get(statements[0])                 # the scope the region's statements run in

    chains: dict[int, str] = {}                      # id(Name) -> the attribute chain it starts
    if dotted:
        calls = {id(n.func) for n in positions if isinstance(n, cst.Call)}
        for node in positions:
            if isinstance(node, cst.Attribute) and inside(node) and id(node) not in calls:
                parts, base = [node.attr.value], node.value
                while isinstance(base, cst.Attribute):
                    parts.append(base.attr.value)
                    base = base.value
                if isinstance(base, cst.Name):
                    chain = ".".join([base.value, *reversed(parts)])
                    if len(chain) > len(chains.get(id(base), "")):
                        chains[id(base)] = chain
    aug_targets = {id(n.target) for n in positions if isinstance(n, cst.AugAssign) and inside(n)}
    keywords = {id(n.keyword) for n in positions if isinstance(n, cst.Arg) and n.keyword is not None}

    events = []                                       # (line, column, kind, name, node)
    for node, pos in positions.items():
        if not isinstance(node, cst.Name) or not inside(node) or id(node) in keywords:
            continue
        context = contexts.get(node)
        if context not in (ExpressionContext.LOAD, ExpressionContext.STORE):
            continue
        if id(node) in aug_targets:                   # x += 1 reads x, then writes it
            events.append((pos.start.line, pos.start.column, "load", node.value, node))
        events.append((pos.start.line, pos.start.column, "store" if context == ExpressionContext.STORE else "load",
                       node.value, node))
    events.sort(key=lambda e: (e[0], e[1], e[2] == "store"))

    def is_home_name(node, name: str) -> bool:
        scope = scopes.get(node)
        while scope is not None and scope is not home:
            if name in scope.assignments:              # a comprehension variable, a nested function's own
                return False
            scope = scope.parent if scope.parent is not scope else None
        return True

    def is_input(name: str) -> bool:
        if home is None or hasattr(builtins, name):
            return False
        if isinstance(home, cst.metadata.GlobalScope):
            kinds = [type(a.node).__name__ for a in home.assignments[name]] if name in home.assignments else []
            return not any(k in ("Import", "ImportFrom", "FunctionDef", "ClassDef") for k in kinds)
        if name in home.assignments:
            return True
        return name not in home.globals.assignments   # a closure variable of an enclosing function

    inputs, outputs, stored = [], [], set()
    for _, _, kind, name, node in events:
        if not is_home_name(node, name):
            continue
        if kind == "store":
            stored.add(name)
            if name not in outputs:
                outputs.append(name)
        elif name not in stored and is_input(name):
            shown = chains.get(id(node), name)
            if shown not in inputs:
                inputs.append(shown)
    if dotted:   # `args` read plainly somewhere makes `args.gamma` redundant
        inputs = [n for n in inputs if "." not in n or n.split(".")[0] not in inputs]
    return inputs, outputs


# ----- copying values --------------------------------------------------------------------------
def snapshot(values: dict[str, object], picklable: bool = False) -> dict[str, object]:
    """Deep copies of `values`, sharing one memo so aliasing between them is kept. With `picklable`, a value that
    would not survive pickling (to leave the recording process) becomes a Placeholder too."""
    memo: dict = {}
    return {name: _copy(value, memo, name, picklable) for name, value in values.items()}


def _copy(value, memo: dict, name: str, picklable: bool = False):
    torch = sys.modules.get("torch")
    if id(value) in memo:
        return memo[id(value)]
    if isinstance(value, Placeholder):
        return value
    if isinstance(value, (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type)):
        return Placeholder(name, type(value).__name__, "a module, function or class is not a value to record")
    if torch is not None and isinstance(value, torch.Tensor) and not value.is_leaf:
        copied = value.detach().clone().requires_grad_(value.requires_grad)   # a leaf that keeps the flag
    elif type(value) in (list, tuple):
        copied = type(value)(_copy(v, memo, f"{name}[{i}]", picklable) for i, v in enumerate(value))
    elif type(value) is dict:
        copied = {k: _copy(v, memo, f"{name}[{k!r}]", picklable) for k, v in value.items()}
    elif type(value).__module__ == "__main__":
        return Placeholder(name, type(value).__name__, "its class is defined in the script itself")
    else:
        try:
            copied = copy.deepcopy(value, memo)
            if picklable:
                pickle.dumps(copied)
        except Exception as exc:
            return Placeholder(name, type(value).__name__, f"cannot be copied: {exc.__class__.__name__}: {exc}")
        if torch is not None:
            _keep_grads(value, copied, torch)
    memo[id(value)] = copied
    memo.setdefault(id(memo), []).append(value)      # keep the original alive while its id is a key
    return copied


def _keep_grads(value, copied, torch) -> None:
    """deepcopy drops a Parameter's .grad (torch's Parameter.__deepcopy__); put copies of the gradients back."""
    if isinstance(value, torch.nn.Module):
        pairs = zip(value.parameters(), copied.parameters())
    elif isinstance(value, torch.nn.Parameter):
        pairs = [(value, copied)]
    else:
        return
    for original, twin in pairs:
        if original.grad is not None and twin.grad is None:
            twin.grad = original.grad.detach().clone()


def _stash_grads(values: dict) -> dict:
    """The .grad of every parameter of the modules among `values`: pickle drops a Parameter's gradient."""
    torch = sys.modules.get("torch")
    if torch is None:
        return {}
    return {name: [p.grad for p in value.parameters()] for name, value in values.items()
            if isinstance(value, torch.nn.Module) and any(p.grad is not None for p in value.parameters())}


def _restore_grads(values: dict, stash: dict) -> None:
    for name, grads in stash.items():
        module = values.get(name)
        if module is not None and hasattr(module, "parameters"):
            for parameter, grad in zip(module.parameters(), grads):
                parameter.grad = grad


def evaluate(frame, name: str, missing=None):
    """The value of a name, attribute chain or expression in `frame`; `missing` if it is not defined."""
    try:
        if name.replace(".", "").replace("_", "").isalnum():
            return eval(name, frame.f_globals, frame.f_locals)
        # one namespace, so that a comprehension in the expression sees the frame's locals
        return eval(name, {**frame.f_globals, **frame.f_locals})
    except NameError:
        return missing
    except Exception as exc:
        return Placeholder(name, "value that could not be evaluated", f"{exc.__class__.__name__}: {exc}")


# ----- the recording run (in the subprocess) -----------------------------------------------------
class _AllRecorded(BaseException):
    """Every probe has its samples: stop the run (a BaseException: the script's `except Exception` lets it by)."""


class _Recording(Engine):
    """The engine with a gate before and after each probe's region that copies values at the hits asked for."""

    def __init__(self, probes: list[Probe], repo_dir: Path):
        super().__init__([], repo_dir, client=None)
        self.probes = probes
        self.count = [0] * len(probes)
        self.samples: list[list[bytes]] = [[] for _ in probes]       # pickled Samples
        self._open: list[dict[int, Sample]] = [{} for _ in probes]    # id(frame) -> sample awaiting its after
        for k, probe in enumerate(probes):
            self._by_file.setdefault(probe.path, []).append(k)

    def compile_file(self, path: str) -> types.CodeType:
        tree = ast.parse(Path(path).read_bytes(), filename=path)     # honours a coding cookie, as Python does
        before: dict[int, list[int]] = {}
        after: dict[int, list[int]] = {}
        for k in self._by_file.get(path, ()):
            probe = self.probes[k]
            region = region_statements(tree, probe.start_line, probe.end_line, path)
            before.setdefault(region[0].lineno, []).append(k)
            after.setdefault(region[-1].lineno, []).append(k)
        _insert_gates(tree, before, after=after)
        return compile(tree, path, "exec", dont_inherit=True)

    def gates(self) -> dict:
        return {**super().gates(), RETURN_GATE: self.return_gate}

    def _wanted(self, k: int) -> bool:
        probe = self.probes[k]
        if probe.hits is None:
            return len(self.samples[k]) + len(self._open[k]) < probe.max_samples
        return self.count[k] in probe.hits

    def gate(self, k: int) -> None:
        self.count[k] += 1
        if not self._wanted(k):
            return
        frame = sys._getframe(1)
        probe = self.probes[k]
        torch = sys.modules.get("torch")
        context = {"grad_enabled": bool(torch.is_grad_enabled())} if torch is not None else {}
        absent = object()
        found = {name: v for name in probe.reads if (v := evaluate(frame, name, absent)) is not absent}
        self._open[k][id(frame)] = Sample(self.count[k], snapshot(found, picklable=True), {}, context)

    def after_gate(self, k: int, returned=None, has_return: bool = False) -> None:
        frame = sys._getframe(2 if has_return else 1)
        sample = self._open[k].pop(id(frame), None)
        if sample is None:
            return
        probe = self.probes[k]
        absent = object()
        found = {}
        for name in probe.writes:
            value = returned if name == RETURN and has_return else evaluate(frame, name, absent)
            if value is not absent and not (name == RETURN and not has_return):
                found[name] = value
        sample.after = snapshot(found, picklable=True)
        grads = {"before": _stash_grads(sample.before), "after": _stash_grads(sample.after)}
        if grads["before"] or grads["after"]:
            sample.context["grads"] = grads
        # pickled now, while the repo's modules are importable (the engine unloads them when the script ends)
        self.samples[k].append(pickle.dumps(sample, protocol=pickle.HIGHEST_PROTOCOL))
        if all(self._done(j) for j in range(len(self.probes))):
            raise _AllRecorded

    def return_gate(self, k: int, value):
        self.after_gate(k, value, has_return=True)
        return value

    def _done(self, k: int) -> bool:
        probe = self.probes[k]
        if probe.hits is None:
            return len(self.samples[k]) >= probe.max_samples
        return self.count[k] >= max(probe.hits) and not self._open[k]


def _run_recording(spec_path: str, out_dir: str) -> int:
    """Entry point of the subprocess: run the script with the probes; write samples.pkl and meta.json."""
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    probes = [Probe(**{**p, "reads": tuple(p["reads"]), "writes": tuple(p["writes"]),
                       "hits": None if p["hits"] is None else tuple(p["hits"])}) for p in spec["probes"]]
    engine = _Recording(probes, Path(spec["repo_dir"]))
    error, finished = None, False
    try:
        engine.run_script(Path(spec["script"]), spec["argv"])
        finished = True
    except _AllRecorded:
        finished = True
    except SystemExit as exc:
        finished = exc.code in (None, 0)
        error = None if finished else f"the script exited with {exc.code!r}"
    except BaseException as exc:   # the script's own error: reported with its traceback
        import traceback
        error = "".join(traceback.format_exception(exc)).rstrip()
    out = Path(out_dir)
    with open(out / "samples.pkl", "wb") as f:
        pickle.dump({p.name: engine.samples[k] for k, p in enumerate(probes)}, f, protocol=pickle.HIGHEST_PROTOCOL)
    meta = {"format": FORMAT, "finished": finished, "error": error,
            "counts": {p.name: engine.count[k] for k, p in enumerate(probes)},
            "samples": {p.name: len(engine.samples[k]) for k, p in enumerate(probes)}}
    (out / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return 0


# ----- the caller's side ------------------------------------------------------------------------
def repo_digest(repo_dir: Path) -> str:
    """A hash of the content of every .py file of a repo (its caches and outputs skipped)."""
    digest = hashlib.sha1()
    repo_dir = Path(repo_dir)
    for dirpath, dirnames, filenames in os.walk(repo_dir):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(".py"):
                file = Path(dirpath) / name
                digest.update(str(file.relative_to(repo_dir)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_key(script: Path, argv: list[str], repo_dir: Path, probes: list[Probe]) -> str:
    """Hash of what determines a recording: the repo's code, the script, its arguments, the probes, the versions."""
    from importlib.metadata import PackageNotFoundError, version

    repo_dir = Path(repo_dir).resolve()

    def rel(path) -> str:
        path = Path(path).resolve()
        return str(path.relative_to(repo_dir)) if path.is_relative_to(repo_dir) else str(path)

    try:
        torch_version = version("torch")
    except PackageNotFoundError:
        torch_version = ""
    engine = hashlib.sha1(Path(__file__).read_bytes() + Path(__file__).with_name("stops.py").read_bytes()).hexdigest()
    parts = {"format": FORMAT, "engine": engine, "python": list(sys.version_info[:2]), "torch": torch_version,
             "repo": repo_digest(repo_dir), "script": rel(script), "argv": list(argv),
             "probes": [{**asdict(p), "path": rel(p.path)} for p in probes]}
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=list).encode()).hexdigest()[:20]


def default_cache_dir() -> Path:
    from ..progress import state_dir
    return state_dir() / "cache" / "recordings"


def recording_file(script: Path, argv: list[str], repo_dir: Path, probes: list[Probe], *,
                   cache_dir: Path | None = None, timeout: float = 300, cwd: Path | None = None) -> Path:
    """The cached file holding the recording, made first by running the script if there is none yet."""
    from filelock import FileLock

    script, repo_dir = Path(script).resolve(), Path(repo_dir).resolve()
    if not script.is_file():
        raise RecorderError(f"{script}: no such script")
    names = [p.name for p in probes]
    if len(set(names)) != len(names):
        raise RecorderError(f"probe names must be unique: {names}")
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = cache_key(script, argv, repo_dir, probes)
    out = cache_dir / f"{key}.pkl"
    with FileLock(str(cache_dir / f"{key}.lock"), timeout=timeout + 60):
        if not out.is_file():
            _run(script, argv, repo_dir, probes, out, timeout, cwd)
    return out


def is_cached(script: Path, argv: list[str], repo_dir: Path, probes: list[Probe], cache_dir: Path | None = None) -> bool:
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    return (cache_dir / f"{cache_key(script, argv, repo_dir, probes)}.pkl").is_file()


def _run(script: Path, argv, repo_dir: Path, probes, out: Path, timeout: float, cwd: Path | None) -> None:
    shown = " ".join([script.name, *argv])
    with tempfile.TemporaryDirectory(prefix="walkthrough-record-") as tmp:
        spec = Path(tmp) / "spec.json"
        spec.write_text(json.dumps({"script": str(script), "argv": list(argv), "repo_dir": str(repo_dir),
                                    "probes": [asdict(p) for p in probes]}), encoding="utf-8")
        env = {**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        project = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (project, env.get("PYTHONPATH")) if p)
        command = [sys.executable, "-m", "tracer.engine.recorder", str(spec), tmp]
        try:
            proc = subprocess.run(command, cwd=cwd or tmp, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr
            raise RecorderError(f"recording `{shown}` took over {timeout:.0f} s and was stopped{_tail(stderr)}") from None
        meta_file = Path(tmp) / "meta.json"
        if proc.returncode != 0 or not meta_file.is_file():
            raise RecorderError(f"recording `{shown}` failed (exit {proc.returncode}){_tail(proc.stderr or proc.stdout)}")
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        if meta["error"] and not meta["finished"]:
            error = RecorderError(f"`{shown}` failed while being recorded:\n{meta['error']}")
            partial = Path(tmp) / "samples.pkl"
            error._partial = partial.read_bytes() if partial.is_file() else b""
            raise error
        os.replace(meta_file, out.with_suffix(".json"))
        os.replace(Path(tmp) / "samples.pkl", out)


def _tail(text: str | None, lines: int = 15) -> str:
    text = (text or "").rstrip()
    return "; its output ended with:\n" + "\n".join(text.splitlines()[-lines:]) if text else ""


def record(script: Path, argv: list[str], repo_dir: Path, probes: list[Probe], *, cache_dir: Path | None = None,
           timeout: float = 300, cwd: Path | None = None, modules_dir: Path | None = None) -> dict[str, list[Sample]]:
    """Run `python script argv` with the probes (or reuse the cached recording) and return each probe's samples,
    in the order they were taken. A probe whose region ran fewer times than asked has fewer samples.
    Objects of the repo's own classes are rebuilt from the modules in `modules_dir` (default: repo_dir)."""
    try:
        path = recording_file(script, argv, repo_dir, probes, cache_dir=cache_dir, timeout=timeout, cwd=cwd)
    except RecorderError as exc:
        try:
            exc.samples = load(io.BytesIO(exc._partial), modules_dir or repo_dir) if exc._partial else None
        except Exception:          # samples that cannot be read back: the error alone says what happened
            exc.samples = None
        raise
    return load(path, modules_dir or repo_dir)


def load(path: Path | io.BytesIO, modules_dir: Path, modules: dict[str, types.ModuleType] | None = None,
         names: list[str] | None = None) -> dict[str, list[Sample]]:
    """Read a recording (only the probes in `names`, if given). Classes of the repo (`model.SGD`) come from
    `modules` (name -> module) or are imported afresh from `modules_dir`, without disturbing sys.modules."""
    if isinstance(path, io.BytesIO):
        pickled = pickle.load(path)
    else:
        with open(path, "rb") as f:
            pickled = pickle.load(f)
    modules = dict(modules or {})
    samples = {name: [_RepoUnpickler(io.BytesIO(blob), Path(modules_dir), modules).load() for blob in blobs]
               for name, blobs in pickled.items() if names is None or name in names}
    for sample in (s for found in samples.values() for s in found):
        grads = sample.context.pop("grads", None)
        if grads:
            _restore_grads(sample.before, grads["before"])
            _restore_grads(sample.after, grads["after"])
    return samples


def load_pickle(file, modules_dir: Path, modules: dict[str, types.ModuleType] | None = None):
    """Unpickle values that may hold objects of the repo's classes (rebuilt from `modules` or `modules_dir`)."""
    return _RepoUnpickler(file, Path(modules_dir), dict(modules or {})).load()


class _RepoUnpickler(pickle.Unpickler):
    def __init__(self, file, modules_dir: Path, modules: dict[str, types.ModuleType]):
        super().__init__(file)
        self.modules_dir = modules_dir
        self.modules = modules

    def find_class(self, module, name):
        if "." not in module and module not in self.modules and (self.modules_dir / f"{module}.py").is_file():
            self.modules[module] = import_file(self.modules_dir / f"{module}.py")
        if module in self.modules:
            return getattr(self.modules[module], name)
        return super().find_class(module, name)


# ----- importing a repo's file afresh ------------------------------------------------------------
class _SourceFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports the top-level modules of one folder from their source, never from a cached .pyc: a file saved
    twice within a second (same size) must not run its old bytecode."""

    def __init__(self, folder: str):
        self.folder = folder

    def find_spec(self, fullname, path, target=None):
        candidate = os.path.join(self.folder, fullname + ".py")
        if "." not in fullname and os.path.isfile(candidate):
            return importlib.util.spec_from_file_location(fullname, candidate, loader=self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        path = module.__spec__.origin
        exec(compile(Path(path).read_bytes(), path, "exec", dont_inherit=True), module.__dict__)


def import_file(path: Path, name: str | None = None) -> types.ModuleType:
    """Import the file at `path` afresh (its `if __name__ == "__main__"` part not run), with the modules of its
    folder that it imports also imported afresh from there. sys.modules is left as it was: another copy of the
    repo (`agent` of the reference, `agent` of a working copy) never leaks in or out. Raises what the file raises."""
    path = Path(path).resolve()
    folder = str(path.parent)
    local = {p.stem for p in path.parent.glob("*.py")}
    name = name or f"_walkthrough_{path.stem}"
    saved = {n: sys.modules.pop(n) for n in list(sys.modules) if n in local or n == name}
    finder = _SourceFinder(folder)
    sys.meta_path.insert(0, finder)
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module            # dataclasses look their module up while the file runs
    try:
        exec(compile(path.read_bytes(), str(path), "exec", dont_inherit=True), module.__dict__)
        return module
    finally:
        sys.meta_path.remove(finder)
        for n in list(sys.modules):
            if n in local or n == name:
                del sys.modules[n]
        sys.modules.update(saved)


if __name__ == "__main__":
    # through the module's real name, so that pickled Samples name `tracer.engine.recorder`, not `__main__`
    from tracer.engine import recorder
    sys.exit(recorder._run_recording(sys.argv[1], sys.argv[2]))
