"""Run a Python script for real and pause it at stop points; step it line by line with sys.settrace.

Two mechanisms, each used where it is cheap:

* Stop points are compiled in. When a file of the reference repo is loaded, each anchored
  statement gets a call `__walkthrough_stop__(k)` placed before it *on the same line*, so
  line numbers and tracebacks are unchanged. A gate that is not due returns at once: the
  program runs with no trace function installed (on Python 3.11 any installed trace
  function de-specialises every bytecode of torch's Python layers: 1.14-1.32x on PPO).
* Stepping uses sys.settrace, as bdb does: installed when the learner steps (or a
  prediction needs the line to run), removed the moment they continue.

The engine knows nothing of rich, questions or progress: at a stop it calls its client
(see `Client`), which answers with what to do next.
"""
from __future__ import annotations

import ast
import importlib.abc
import importlib.util
import os
import sys
import threading
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from . import launch

GATE = "__walkthrough_stop__"
AFTER_GATE = "__walkthrough_after__"
RETURN_GATE = "__walkthrough_return__"   # `return __walkthrough_return__(k, value)`: a region ending in `return`
BREAK = "__walkthrough_break__"

CONTINUE, STEP_INTO, STEP_OVER = "continue", "step_into", "step_over"
EDITOR, EDITOR_AFTER = "editor", "editor_after"   # stop in the attached debugger (and call back after the statement)


@dataclass
class StopPoint:
    """Where and when to stop. `key` is the client's own object (a walkthrough step)."""
    path: str                      # absolute path of the file
    line: int                      # line of the anchored statement
    key: Any = None
    hit: int | None = None         # stop at this execution of the line (1-based)
    every: int | None = None       # or at the first multiple of this while the step is pending
    when: str | None = None        # and only if this expression is true in the frame
    optional: bool = False         # skipped when a later point is reached first
    when_code: types.CodeType | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.when:
            self.when_code = compile(self.when, f"<when of stop at {self.path}:{self.line}>", "eval")


def _loop_around(path: str, line: int) -> tuple[int, int] | None:
    """First and last line of the innermost for/while loop of `path` whose body holds `line`, or None."""
    from .anchors import read_source
    try:
        tree = ast.parse(read_source(path))
    except (OSError, SyntaxError, ValueError):
        return None
    best = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While)) and node.body[0].lineno <= line <= node.end_lineno:
            if best is None or node.lineno >= best[0]:
                best = (node.lineno, node.end_lineno)
    return best


class Client(Protocol):
    def user_stop(self, frame: types.FrameType, point: StopPoint) -> str: ...
    def user_line(self, frame: types.FrameType) -> str: ...
    def user_after(self, frame: types.FrameType, point: StopPoint) -> None: ...


class InternalError(BaseException):
    """A bug in walkthrough itself, raised at a stop. A BaseException, so that it passes through the
    learner's `except Exception` blocks and is never reported as the learner's program failing."""


class WhenError(BaseException):
    """A stop point's `when` expression raised; the message names the stop point. A BaseException, so a
    learner's `except Exception` around the line cannot swallow a mistake in the walkthrough file."""


class Engine:
    def __init__(self, points: list[StopPoint], repo_dir: Path, client: Client, debugger_break=None,
                 debugger_settle=None):
        """With `debugger_break` (debugpy.breakpoint), each gate is compiled as
        `if __walkthrough_stop__(k): __walkthrough_break__()` numbered one line before its statement: the
        debugger is asked to stop from the learner's own frame, and its next line event is the statement's.
        `debugger_settle`, if given, is called on the program's thread before it runs and at every gate and
        after-gate: it lets the debugger trace only while something needs it (see vscode.TracingSwitch)."""
        self.debugger_break = debugger_break
        self.debugger_settle = debugger_settle
        self.gate_line_offset = -1 if debugger_break else 0
        self._awaiting_after: int | None = None
        self.after_points: set[int] = set()   # points whose statement can be followed by an after-gate
        self.points = points                  # in tour order; `pending` indexes it
        self.pending = 0
        self._next_required = [len(points)] * (len(points) + 1)   # [k]: first point at or after k that is not optional
        for k in reversed(range(len(points))):
            self._next_required[k] = self._next_required[k + 1] if points[k].optional else k
        self.hits = [0] * len(points)
        self.again: tuple[int, int, list] | None = None
        # (point, execution, loops): `again` re-armed a point the tour passed; loops: (frame, first line, last
        # line) of each loop the program was inside when the learner asked, innermost frame first
        self.repo_dir = str(Path(repo_dir).resolve()) + os.sep
        self.client = client
        self._by_file: dict[str, list[int]] = {}
        for k, point in enumerate(points):
            self._by_file.setdefault(point.path, []).append(k)
        self._module_names: tuple[int, set[str]] = (-1, set())
        self._pid = os.getpid()     # a forked child (a DataLoader worker) never stops
        self._in_repo: dict[types.CodeType, bool] = {}
        self._step_mode: str | None = None
        self._step_frame: types.FrameType | None = None
        self._lock = threading.RLock()

    # ----- compiling stop points in ------------------------------------------------------
    def compile_file(self, path: str) -> types.CodeType:
        """Compile `path` with a gate call before each anchored statement, on the statement's line."""
        from .anchors import read_source
        source = read_source(path)     # honours a coding cookie, as `python path` does
        tree = ast.parse(source, filename=path)
        wanted: dict[int, list[int]] = {}
        for k in self._by_file.get(path, ()):
            wanted.setdefault(self.points[k].line, []).append(k)
        if wanted:
            self.after_points |= _insert_gates(tree, wanted, self.gate_line_offset, self.debugger_break is not None)
        return compile(tree, path, "exec", dont_inherit=True)

    def has_points(self, path: str) -> bool:
        return path in self._by_file

    def module_names(self) -> set[str]:
        """Names the import hook looks at: `model` for model.py, `pkg` for pkg/__init__.py (kept until the files
        with stop points change: a subclass may add its own)."""
        if self._module_names[0] != len(self._by_file):
            self._module_names = (len(self._by_file), {Path(p).parent.name if Path(p).name == "__init__.py"
                                                       else Path(p).stem for p in self._by_file})
        return self._module_names[1]

    def pending_point(self) -> StopPoint | None:
        return self.points[self.pending] if self.pending < len(self.points) else None

    # ----- the gate: called every time an anchored statement is about to run ------------------
    def gate(self, k: int) -> bool | None:
        self.hits[k] += 1
        if self.debugger_settle is not None:
            self.debugger_settle()
        if k != self.pending and not self.pending < k <= self._next_required[self.pending] \
                and not (self.again is not None and k > self.again[0]):
            return                     # not due: only the pending point, or one past optional points, may stop
        point = self.points[k]
        hits = self.hits[k]
        if self.again is not None and k == self.again[0]:
            if hits < self.again[1]:
                return                 # `again N`: on to that execution of the point the learner stopped at
        else:
            if self.again is not None:
                if self._inside(self.again[2], sys._getframe(1)):
                    return             # a later step of the same loop: the learner asked for the loop's next turn
                self.pending, self.again = k, None   # the loop is over and the program went on: the tour goes on
            if point.hit is not None and hits != point.hit:
                return
            if point.every is not None and hits % point.every:
                return
        if os.getpid() != self._pid:
            return                     # a forked worker (DataLoader, multiprocessing) never stops
        frame = sys._getframe(1)
        if point.when_code is not None:
            try:
                if not eval(point.when_code, frame.f_globals, frame.f_locals):
                    return
            except Exception as exc:
                raise WhenError(f"the `when` condition {point.when!r} of the stop at "
                                f"{point.path}:{point.line} raised {exc.__class__.__name__}: {exc}") from None
        with self._lock:
            self.pending = k + 1
            self.again = None          # reached: that execution, or the next point came first
            action = self._call_client(self.client.user_stop, frame, point)
            if action == EDITOR_AFTER:
                self._awaiting_after = k
            if action in (EDITOR, EDITOR_AFTER):
                return True            # the compiled code calls the debugger's breakpoint() itself
            self._apply(action, frame)

    def rearm(self, k: int, execution: int, frame: types.FrameType) -> None:
        """Stop again at point k when it reaches `execution` (a later one than now), instead of moving on. The
        later steps inside the loops the program is in now (at `frame` and its callers) wait for it; once the
        program leaves those loops and reaches a later step, the tour goes on from that step."""
        loops = []
        f = frame
        while f is not None:
            if self._is_repo(f.f_code):
                span = _loop_around(f.f_code.co_filename, f.f_lineno)
                if span is not None:
                    loops.append((f, *span))
            f = f.f_back
        self.again = (k, execution, loops)
        self.pending = k

    @staticmethod
    def _inside(loops: list, frame: types.FrameType) -> bool:
        """Whether the running program is still inside one of `loops` (a frame we recorded, at a line of its loop)."""
        recorded = {id(f): (first, last) for f, first, last in loops}
        f = frame
        while f is not None:
            span = recorded.get(id(f))
            if span is not None and span[0] <= f.f_lineno <= span[1]:
                return True
            f = f.f_back
        return False

    def after_gate(self, k: int) -> None:
        """Called right after an anchored simple statement has run."""
        if self.debugger_settle is not None:
            self.debugger_settle()
        if self._awaiting_after != k:
            return
        self._awaiting_after = None
        with self._lock:
            self._call_client(self.client.user_after, sys._getframe(1), self.points[k])

    @staticmethod
    def _call_client(method, *args):
        try:
            return method(*args)
        except Exception as exc:
            import traceback
            raise InternalError("".join(traceback.format_exception(exc)).rstrip()) from None

    # ----- stepping with sys.settrace ----------------------------------------------------
    def _apply(self, action: str, frame: types.FrameType) -> None:
        if action == CONTINUE:
            self.stop_stepping()
            return
        self._step_mode = action
        self._step_frame = frame
        f = frame
        while f is not None:                   # trace the paused frame and its repo callers (bdb.set_trace)
            if self._is_repo(f.f_code):
                f.f_trace = self._trace_local
                f.f_trace_lines = True
            f = f.f_back
        sys.settrace(self._trace_global)
        threading.settrace(self._trace_global)

    def stop_stepping(self) -> None:
        """Take our tracer out entirely, as bdb's set_continue does; never touch another's (a debugger's)."""
        if self._step_mode is None:
            return
        self._step_mode = None
        self._step_frame = None
        if sys.gettrace() == self._trace_global:
            sys.settrace(None)
        if threading.gettrace() == self._trace_global:
            threading.settrace(None)
        f = sys._getframe()
        while f is not None:
            if f.f_trace == self._trace_local:
                f.f_trace = None
            f = f.f_back

    def _is_repo(self, code: types.CodeType) -> bool:
        try:
            return self._in_repo[code]
        except KeyError:
            answer = self._in_repo[code] = code.co_filename.startswith(self.repo_dir)
            return answer

    def _trace_global(self, frame, event, arg):
        # 'call' events only: step into a new frame when stepping into calls inside the repo
        if self._step_mode == STEP_INTO and self._is_repo(frame.f_code):
            return self._trace_local
        return None

    def _trace_local(self, frame, event, arg):
        if self._step_mode is None:
            return None
        if event != "line":
            return self._trace_local
        if self._step_mode == STEP_OVER and not self._at_or_above(frame):
            return self._trace_local
        with self._lock:
            action = self._call_client(self.client.user_line, frame)
            self._apply(action, frame)
        return self._trace_local if self._step_mode else None

    def _at_or_above(self, frame) -> bool:
        """Is `frame` the frame stepped over, or one of its callers (it returned)?"""
        target = self._step_frame
        f = target
        while f is not None:
            if f is frame:
                return True
            f = f.f_back
        return False

    def gates(self) -> dict:
        """The names compiled code calls, as globals of its module."""
        return {GATE: self.gate, AFTER_GATE: self.after_gate, BREAK: self.debugger_break}

    # ----- running a script as `python script.py args` would ---------------------------------
    def run_script(self, script: Path, argv: list[str]) -> None:
        """Run `script` as __main__ with gates compiled into it and into the repo modules it imports."""
        script = str(Path(script).resolve())
        main = types.ModuleType("__main__")
        main.__dict__.update({"__file__": script, "__builtins__": __builtins__, "__cached__": None, **self.gates()})
        code = self.compile_file(script)
        finder = _GateFinder(self)
        saved = sys.argv, list(sys.path), sys.modules.get("__main__")
        sys.argv = [script, *argv]
        how = launch.plan(Path(script), Path(self.repo_dir))   # a package's script runs as `python -m`
        main.__package__ = how.package
        sys.path[0:0] = how.path
        sys.modules["__main__"] = main
        sys.meta_path.insert(0, finder)
        try:
            if self.debugger_settle is not None:
                self.debugger_settle()
            exec(code, main.__dict__)
        finally:
            self.stop_stepping()
            sys.meta_path.remove(finder)
            sys.argv, sys.path[:] = saved[0], saved[1]
            if saved[2] is not None:
                sys.modules["__main__"] = saved[2]
            for name, module in list(sys.modules.items()):   # the next script imports afresh
                if getattr(module, "__file__", None) and str(module.__file__).startswith(self.repo_dir):
                    del sys.modules[name]


_SIMPLE = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.Delete)


def _call(name: str, k: int, line: int, col: int, with_break: bool = False) -> ast.stmt:
    call = ast.Expr(ast.Call(ast.Name(name, ast.Load()), [ast.Constant(k)], []))
    if with_break:   # if __walkthrough_stop__(k): __walkthrough_break__()
        call = ast.If(call.value, [ast.Expr(ast.Call(ast.Name(BREAK, ast.Load()), [], []))], [])
    for sub in ast.walk(call):
        sub.lineno = sub.end_lineno = line
        sub.col_offset = sub.end_col_offset = col
    return call


def _insert_gates(tree: ast.Module, wanted: dict[int, list[int]], line_offset: int = 0,
                  with_break: bool = False, after: dict[int, list[int]] | None = None) -> set[int]:
    """Put `__walkthrough_stop__(k)` before each statement that starts on a wanted line. With a debugger
    (`with_break`), also `__walkthrough_after__(k)` after it when it is a simple statement: predictions are
    then checked without a tracer. `after` (start line -> k) puts `__walkthrough_after__(k)` after those
    statements whatever their kind (the last statement of a region), or wraps the value of a `return` as
    `return __walkthrough_return__(k, value)`. Returns the k that got an after-gate."""
    after = after or {}
    placed, with_after, placed_after = set(), set(), set()
    for node in ast.walk(tree):
        for field_name in ("body", "orelse", "finalbody"):
            block = getattr(node, field_name, None)
            if not isinstance(block, list) or not block or not isinstance(block[0], ast.stmt):
                continue
            new_block = []
            for stmt in block:
                ks = wanted.get(stmt.lineno, []) if stmt.lineno not in placed else []
                if ks:
                    placed.add(stmt.lineno)
                    gate_line = max(1, stmt.lineno + line_offset)
                    new_block.extend(_call(GATE, k, gate_line, stmt.col_offset, with_break) for k in ks)
                new_block.append(stmt)
                if ks and with_break and isinstance(stmt, _SIMPLE):
                    # on the statement's last line, so it adds no line event of its own
                    new_block.extend(_call(AFTER_GATE, k, stmt.end_lineno, stmt.col_offset) for k in ks)
                    with_after.update(ks)
                if stmt.lineno in after and stmt.lineno not in placed_after:
                    placed_after.add(stmt.lineno)
                    for k in after[stmt.lineno]:
                        if isinstance(stmt, ast.Return):
                            stmt.value = _wrap_return(k, stmt.value, stmt)
                        else:
                            new_block.append(_call(AFTER_GATE, k, stmt.end_lineno, stmt.col_offset))
            setattr(node, field_name, new_block)
    missing = (set(wanted) - placed) | (set(after) - placed_after)
    if missing:
        raise ValueError(f"no statement starts on line(s) {sorted(missing)}")
    return with_after


def _wrap_return(k: int, value: ast.expr | None, stmt: ast.Return) -> ast.expr:
    """`__walkthrough_return__(k, value)`: the gate sees the value and returns it."""
    new = [] if value is not None else [value := ast.Constant(None)]
    call = ast.Call(ast.Name(RETURN_GATE, ast.Load()), [ast.Constant(k), value], [])
    for sub in (call, call.func, call.args[0], *new):
        sub.lineno, sub.end_lineno = stmt.lineno, stmt.end_lineno
        sub.col_offset, sub.end_col_offset = stmt.col_offset, stmt.end_col_offset
    return call


class _GateFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports the repo's modules that hold stop points with their gates compiled in."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def find_spec(self, fullname, path, target=None):
        if fullname.rpartition(".")[2] not in self.engine.module_names():
            return None                      # cheap: most imports (torch's thousands) stop here
        for finder in sys.meta_path:         # where Python itself would find it: packages, src/ layouts
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        origin = os.path.realpath(spec.origin) if spec.origin and spec.has_location else None
        if origin is None or not origin.endswith(".py") or not self.engine.has_points(origin):
            return spec
        return importlib.util.spec_from_file_location(fullname, origin, loader=self,
                                                      submodule_search_locations=spec.submodule_search_locations)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__dict__.update(self.engine.gates())
        exec(self.engine.compile_file(module.__spec__.origin), module.__dict__)


