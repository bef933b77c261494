"""One short instrumented run of a learner's script, in its own process.

    python -m tracer.autotour.probe OUT.json SECONDS REPO_DIR SCRIPT [ARGS...]

runs SCRIPT as `python SCRIPT ARGS` would (tracer.engine.launch) with a sys.settrace tracer that looks only at
the repository's files, and writes OUT.json: for every statement that ran, how often and in which order it first
ran, whether gradients were on, and a short description of what it wrote the first time (shapes, dtypes); the
calls between the repository's functions; and how the program ended. After SECONDS the run is cut short: what ran
so far is written and the process exits, whatever threads or worker processes the program started.

Like coverage.py's tracer: decisions are made once per file and per code object, frames outside the repository
are never line-traced, and the function called on every line allocates nothing on the common path.
"""
from __future__ import annotations

import ast
import json
import os
import sys
import threading
import time
import traceback
import types
from pathlib import Path

# ----- what the probe records (module globals: the tracer reads them on every event) ----------------------------
_files: dict[str, dict | None] = {}      # co_filename -> per-file record, None outside the repository
_repo = ""
_excluded: tuple[str, ...] = ()
_seq = [0]
_calls: set[tuple] = set()
_state = {"stop": False, "done": False, "pid": os.getpid(), "out": "", "start": 0.0, "deadline": 0.0,
          "exit": {"kind": "timeout"}}
_lock = threading.Lock()

_COMPREHENSIONS = ("<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>", "<lambda>")


def _statement_map(path: str) -> tuple[dict[int, int], dict[int, tuple[str, ...]]]:
    """line -> first line of the statement it belongs to (headers only for compound statements), and the names
    each statement assigns (`x`, `self.w`; the base of `x[i] = ...`)."""
    try:
        tree = ast.parse(Path(path).read_bytes())    # bytes: a coding cookie or a BOM is honoured, as Python does
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return {}, {}
    lines: dict[int, int] = {}
    writes: dict[int, tuple[str, ...]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt):
            continue
        body = getattr(node, "body", None)
        end = node.end_lineno
        if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
            end = max(node.lineno, body[0].lineno - 1)
            if hasattr(node, "decorator_list") and node.decorator_list:
                continue               # a def's lines are its decorators' and signature's: no statement to time
        for line in range(node.lineno, end + 1):
            lines.setdefault(line, node.lineno)
        names = _targets(node)
        if names:
            writes[node.lineno] = names
    return lines, writes


def _chain(node, through_subscripts: bool = True) -> str | None:
    """`self.w` for an attribute chain on a name; with `through_subscripts`, `x` for `x[i]` and `*x` too."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _chain(node.value, through_subscripts)
        return f"{base}.{node.attr}" if base else None
    if through_subscripts and isinstance(node, (ast.Subscript, ast.Starred)):
        return _chain(node.value)
    return None


def _flatten(target) -> list:
    if isinstance(target, (ast.Tuple, ast.List)):
        return [t for e in target.elts for t in _flatten(e)]
    return [target]


def _targets(node: ast.stmt) -> tuple[str, ...]:
    if isinstance(node, ast.Assign):
        targets = [t for target in node.targets for t in _flatten(target)]
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target]
    elif isinstance(node, (ast.For, ast.AsyncFor)):
        targets = _flatten(node.target)
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        targets = [t for item in node.items if item.optional_vars is not None for t in _flatten(item.optional_vars)]
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute) \
            and node.value.func.attr in _MUTATORS:
        targets = [node.value.func.value]       # xs.append(...), p.sub_(...): the object it changes
    else:
        return ()
    return tuple(dict.fromkeys(name for name in map(_chain, targets) if name))


_MUTATORS = {"append", "extend", "insert", "add", "update", "add_", "sub_", "mul_", "div_", "copy_", "zero_",
             "fill_", "clamp_", "normal_", "uniform_", "setdefault", "put", "push", "index_add_", "scatter_"}


# ----- describing values (only at a statement's first run) -------------------------------------------------------
def describe(value) -> dict:
    """A short, JSON-able description: kind (tensor, array, module, optimizer, loader, number, other) and more."""
    torch = sys.modules.get("torch")
    np = sys.modules.get("numpy")
    try:
        if torch is not None:
            if isinstance(value, torch.Tensor):
                return {"kind": "tensor", "shape": list(value.shape), "dtype": str(value.dtype).removeprefix("torch."),
                        "grad": bool(value.requires_grad)}
            if isinstance(value, torch.nn.Module):
                return {"kind": "module", "type": type(value).__name__,
                        "params": int(sum(p.numel() for p in value.parameters()))}
            if isinstance(value, torch.optim.Optimizer):
                return {"kind": "optimizer", "type": type(value).__name__}
            if isinstance(value, (torch.utils.data.DataLoader, torch.utils.data.Dataset)):
                return {"kind": "loader", "type": type(value).__name__}
            if isinstance(value, torch.optim.lr_scheduler.LRScheduler):
                return {"kind": "scheduler", "type": type(value).__name__}
        if np is not None and isinstance(value, np.ndarray):
            return {"kind": "array", "shape": list(value.shape), "dtype": str(value.dtype)}
        if isinstance(value, bool) or value is None:
            return {"kind": "other", "type": type(value).__name__}
        if isinstance(value, (int, float)) or (np is not None and isinstance(value, np.number)):
            return {"kind": "number", "type": type(value).__name__}
        if isinstance(value, (list, tuple)) and value and torch is not None and all(
                isinstance(v, torch.Tensor) for v in value[:8]):
            return {"kind": "tensors", "type": type(value).__name__, "count": len(value),
                    "shape": list(value[0].shape)}
    except Exception:
        pass
    return {"kind": "other", "type": type(value).__name__}


def _lookup(frame, dotted: str):
    head, *rest = dotted.split(".")
    missing = object()
    value = frame.f_locals.get(head, missing)
    if value is missing:
        value = frame.f_globals.get(head, missing)
    for attr in rest:
        if value is missing:
            break
        try:
            value = getattr(value, attr)
        except Exception:
            value = missing
    return None if value is missing else value


def _capture(record: dict, frame, line: int, returned=None, is_return: bool = False) -> None:
    values = record["values"]
    if line in values:
        return
    seen = {}
    for name in record["writes"].get(line, ()):
        value = _lookup(frame, name)
        if value is not None:
            seen[name] = describe(value)
    if is_return:
        seen["return"] = describe(returned)
    values[line] = seen


# ----- the tracer -------------------------------------------------------------------------------------------------
def _record_for(filename: str) -> dict | None:
    try:
        return _files[filename]
    except KeyError:
        pass
    real = os.path.realpath(filename)
    record = None
    if real.startswith(_repo) and not real.startswith(_excluded) and real.endswith(".py"):
        lines, writes = _statement_map(real)
        record = {"path": real, "lines": lines, "writes": writes, "hits": {}, "first": {}, "nograd": set(),
                  "values": {}}
    _files[filename] = record
    return record


def _grad_enabled() -> bool:
    torch = sys.modules.get("torch")
    return True if torch is None else torch.is_grad_enabled()


def _global_trace(frame, event, arg):
    code = frame.f_code
    record = _files.get(code.co_filename, 0)
    if record == 0:
        record = _record_for(code.co_filename)
    if record is None:
        return None
    caller = frame.f_back
    while caller is not None:
        caller_record = _files.get(caller.f_code.co_filename)
        if caller_record is not None:
            line = caller_record["lines"].get(caller.f_lineno)
            if line is not None:
                _calls.add((caller_record["path"], line, record["path"], code.co_firstlineno, code.co_qualname))
            break
        caller = caller.f_back
    if code.co_name in _COMPREHENSIONS:
        return None               # their lines belong to the statement that holds them
    return _local_tracer(record)


def _local_tracer(record: dict):
    lines, hits, first, nograd = record["lines"], record["hits"], record["first"], record["nograd"]
    previous = [0]

    def trace(frame, event, arg):
        if event == "line":
            line = lines.get(frame.f_lineno)
            if line is None or line == previous[0]:
                return trace
            before = previous[0]
            if before and before not in record["values"]:
                _capture(record, frame, before)
            previous[0] = line
            count = hits.get(line)
            if count is None:
                hits[line] = 1
                _seq[0] += 1
                first[line] = _seq[0]
                if not _grad_enabled():
                    nograd.add(line)
            else:
                hits[line] = count + 1
            if _state["stop"]:
                _finish()
        elif event == "return":
            before = previous[0]
            if before and before not in record["values"]:
                _capture(record, frame, before, arg, is_return=True)
        return trace

    return trace


# ----- ending the run -------------------------------------------------------------------------------------------
def _dump() -> None:
    files = {}
    for record in list(_files.values()):
        if not record or not record["hits"]:
            continue
        files[record["path"]] = {
            "hits": {str(k): v for k, v in list(record["hits"].items())},
            "first": {str(k): v for k, v in list(record["first"].items())},
            "nograd": sorted(record["nograd"]),
            "values": {str(k): v for k, v in list(record["values"].items())},
        }
    data = {"files": files, "calls": sorted(_calls), "seconds": round(time.monotonic() - _state["start"], 2),
            "exit": _state["exit"]}
    tmp = _state["out"] + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f)
    os.replace(tmp, _state["out"])


def _finish(code: int = 0) -> None:
    """Write what was seen and leave at once: no waiting for the program's threads or workers."""
    if os.getpid() != _state["pid"]:
        return
    with _lock:
        if _state["done"]:
            return
        _state["done"] = True
        sys.settrace(None)
        threading.settrace(None)
        try:
            _dump()
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:
                    pass
            os._exit(code)


def _watchdog() -> None:
    """At the deadline ask the tracer to stop; if the program sits in C code or a wait, stop it from here."""
    time.sleep(max(0.0, _state["deadline"] - time.monotonic()))
    _state["stop"] = True
    time.sleep(3.0)
    _finish()


def _in_child() -> None:
    sys.settrace(None)
    threading.settrace(None)
    _state["done"] = True          # a forked worker never writes the results


def _where(exc: BaseException) -> list:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if os.path.realpath(f.filename).startswith(_repo)]
    return [os.path.realpath(frames[-1].filename), frames[-1].lineno] if frames else []


def _program_traceback(exc: BaseException, tracer_dir: str) -> str:
    """The program's traceback as `python script` prints it: without this probe's own frames (a syntax error in
    the script is then just its file, line and caret)."""
    tb = traceback.TracebackException.from_exception(exc)
    tb.stack = traceback.StackSummary.from_list(
        [f for f in tb.stack if not os.path.realpath(f.filename).startswith(tracer_dir)])
    return "".join(tb.format())


def main(argv: list[str] | None = None) -> None:
    global _repo, _excluded
    out, seconds, repo, script, *program_args = argv if argv is not None else sys.argv[1:]
    from ..engine import launch

    _state["out"] = os.path.abspath(out)
    _repo = os.path.realpath(repo) + os.sep
    tracer_dir = os.path.dirname(os.path.dirname(os.path.realpath(__file__))) + os.sep
    _excluded = tuple({tracer_dir, os.path.realpath(sys.prefix) + os.sep, os.path.realpath(sys.base_prefix) + os.sep})
    how = launch.plan(Path(script), Path(repo))
    script = str(how.script)
    del sys.path[0]                                   # `-m` put the current folder first; the program's own go there
    sys.path[0:0] = how.path
    sys.argv = [script, *program_args]
    main_module = types.ModuleType("__main__")
    main_module.__dict__.update({"__file__": script, "__builtins__": __builtins__, "__cached__": None,
                                 "__package__": how.package})
    _state["probe_module"] = sys.modules.get(__name__)   # keep this module alive once __main__ is replaced
    sys.modules["__main__"] = main_module
    _state["start"] = time.monotonic()
    _state["deadline"] = _state["start"] + float(seconds)
    threading.Thread(target=_watchdog, daemon=True, name="walkthrough-probe-watchdog").start()
    os.register_at_fork(after_in_child=_in_child)
    code_status = 0
    try:
        code = compile(Path(script).read_bytes(), script, "exec", dont_inherit=True)   # as `python script` reads it
        threading.settrace(_global_trace)
        sys.settrace(_global_trace)
        exec(code, main_module.__dict__)
        _state["exit"] = {"kind": "ok"}
    except SystemExit as exc:
        ok = exc.code in (None, 0)
        code_status = 0 if ok else 1
        _state["exit"] = {"kind": "ok" if ok else "exit", "code": exc.code if isinstance(exc.code, (int, str)) else 1}
    except BaseException as exc:   # the learner's program failed: say where and why
        code_status = 1
        sys.settrace(None)
        _state["exit"] = {"kind": "error", "type": type(exc).__name__, "message": str(exc)[:500], "where": _where(exc),
                          "missing_module": getattr(exc, "name", None) if isinstance(exc, ImportError) else None,
                          "traceback": _program_traceback(exc, tracer_dir)[-3000:]}
    _finish(code_status)


if __name__ == "__main__":
    main()
