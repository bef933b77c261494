"""Short, bounded descriptions of runtime values: what a learner wants to see of a variable.

Tensors show shape, dtype, device, requires_grad and min/mean/max; statistics of very large
tensors are computed on an even sample so a display never takes long. Containers are cut short,
objects are shown field by field and cut between fields, never mid-word. Every description is
bounded in size (MAX_CHARS) and, in the main thread, in time (TIME_BUDGET_S): a learner's slow
`__repr__` or property costs a placeholder, not a frozen prompt. Nothing here raises.
"""
from __future__ import annotations

import ast
import dataclasses
import math
import operator
import reprlib
import signal
import sys
import threading
import types
from contextlib import contextmanager

MAX_STAT_ELEMENTS = 1_000_000
MAX_CHARS = 160                 # one value's description, beyond a tensor's header
MAX_ROWS = 24                   # rows of the live-values table
TIME_BUDGET_S = 1.0             # for one value
TOTAL_BUDGET_S = 3.0            # for the whole table

_MISSING = object()


class _TimeUp(BaseException):
    """Raised by the alarm inside a learner's slow __repr__ (a BaseException: their `except Exception` can't eat it)."""


@contextmanager
def deadline(seconds: float):
    """Interrupt the body after `seconds` (main thread only, and only if the program uses no SIGALRM itself)."""
    usable = (threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
              and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None) and signal.getitimer(signal.ITIMER_REAL)[0] == 0)
    if not usable:
        yield
        return

    def alarm(signum, frame):
        raise _TimeUp()

    old = signal.signal(signal.SIGALRM, alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def cut(text: str, limit: int = MAX_CHARS) -> str:
    """`text` cut to about `limit` characters at a boundary (after a comma or a space), never mid-word."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    for boundary in (", ", " "):
        at = head.rfind(boundary)
        if at > limit // 2:
            head = head[:at + (1 if boundary == ", " else 0)]
            break
    return f"{head.rstrip()} … ({len(text)} characters)"


class _Short(reprlib.Repr):
    """reprlib with a learner's view: dicts in insertion order, tensors by shape, numpy scalars as numbers,
    objects field by field, strings and unknown reprs cut at a word boundary."""

    def __init__(self):
        super().__init__()
        self.maxstring = 60
        self.maxother = 80
        self.maxlist = self.maxtuple = self.maxdeque = self.maxset = self.maxfrozenset = 6
        self.maxdict = 6
        self.maxlevel = 3

    def repr_str(self, x, level):
        if len(x) <= self.maxstring:
            return repr(x)
        return repr(cut(x, self.maxstring).rsplit(" … (", 1)[0]) + f"… ({len(x)} characters)"

    def repr_dict(self, x, level):
        if not x:
            return "{}"
        if level <= 0:
            return "{…}"
        items = []
        for n, (key, value) in enumerate(x.items()):
            if n >= self.maxdict:
                items.append("…")
                break
            items.append(f"{self.repr1(key, level - 1)}: {self.repr1(value, level - 1)}")
        return "{" + ", ".join(items) + "}"

    def repr_deque(self, x, level):
        inner = self._repr_iterable(x, level, "[", "]", self.maxdeque)
        return f"deque({inner}" + (f", maxlen={x.maxlen})" if x.maxlen is not None else ")")

    def repr_instance(self, x, level):
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(x, torch.Tensor):
            return _short_tensor(x)
        numpy = sys.modules.get("numpy")
        if numpy is not None:
            if isinstance(x, numpy.generic):
                return repr(x.item())
            if isinstance(x, numpy.ndarray):
                return f"ndarray{x.shape} {x.dtype}"
        if isinstance(x, (list, tuple, dict, set, frozenset)):   # subclasses (torch.Size, namedtuples, ...)
            if len(x) <= 20:
                own = repr(x)
                if len(own) <= self.maxother:
                    return own
            base = next(t for t in type(x).__mro__ if t in (list, tuple, dict, set, frozenset))
            return f"{type(x).__name__} " + getattr(self, "repr_" + base.__name__)(x, level)
        fields = _fields(x)
        if fields is not None:
            return self._repr_fields(type(x).__name__, fields, level)
        return cut(repr(x), self.maxother)

    def _repr_fields(self, name: str, fields: list[tuple[str, object]], level: int) -> str:
        if level <= 0:
            return f"{name}(…)"
        shown, length = [], len(name) + 2
        for n, (key, value) in enumerate(fields):
            part = f"{key}={self.repr1(value, level - 1)}"
            if shown and length + len(part) > MAX_CHARS:
                shown.append(f"… {len(fields) - n} more")
                break
            shown.append(part)
            length += len(part) + 2
        return f"{name}({', '.join(shown)})"


def _fields(x) -> list[tuple[str, object]] | None:
    """The fields of a record-like object (Namespace, SimpleNamespace, a dataclass), or None."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return [(f.name, getattr(x, f.name, None)) for f in dataclasses.fields(x)]
    if type(x).__name__ in ("Namespace", "SimpleNamespace") and isinstance(getattr(x, "__dict__", None), dict):
        return list(vars(x).items())
    return None


_repr = _Short()


def describe(value) -> str:
    """One line describing `value`, bounded in size and time; never raises."""
    try:
        with deadline(TIME_BUDGET_S):
            return _describe(value)
    except _TimeUp:
        return f"<{_type_name(value)}: took longer than {TIME_BUDGET_S:g} s to describe>"
    except (Exception, RecursionError) as exc:
        return f"<{_type_name(value)}: could not describe it ({exc.__class__.__name__})>"


def _type_name(value) -> str:
    try:
        return type(value).__name__
    except Exception:
        return "object"


def _describe(value) -> str:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return _describe_tensor(value, torch)
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray):
        return _describe_array(value, numpy)
    if numpy is not None and isinstance(value, numpy.generic):
        return _repr.repr(value.item()) + f" ({type(value).__name__})"
    if isinstance(value, (types.FunctionType, types.MethodType, types.BuiltinFunctionType)):
        return f"<function {getattr(value, '__qualname__', '?')}>"
    if isinstance(value, types.ModuleType):
        return f"<module {value.__name__}>"
    text = _repr.repr(value)
    try:
        size = len(value) if isinstance(value, (list, tuple, set, frozenset, dict)) or \
            type(value).__name__ in ("deque", "OrderedDict", "defaultdict", "Counter") else None
    except Exception:
        size = None
    if size is not None and size > 6:
        text = f"{type(value).__name__} of {size}: {text}"
    return cut(text, MAX_CHARS + 40)


def _short_tensor(t) -> str:
    """A tensor inside a list, tuple or dict: its shape and dtype; a scalar tensor also its value (a learner
    comparing two numbers with `p a.mean(), b.mean()` needs the numbers)."""
    try:
        dtype = str(t.dtype).removeprefix("torch.")
        if t.dim() == 0 and not t.is_complex():
            value = t.item()
            return f"tensor({value:.6g}) {dtype}" if isinstance(value, float) else f"tensor({value}) {dtype}"
        if t.dim() == 1 and t.numel() <= 8 and not t.is_complex():      # x.std(0), one value per environment
            items = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in t.tolist()]
            return f"tensor([{', '.join(items)}]) {dtype}"
        return f"tensor{tuple(t.shape)} {dtype}"
    except Exception:
        return "tensor"


def _sample(t, limit: int):
    """At most ~limit elements of a tensor or array, evenly spread, flattened; the whole is never copied
    (strided views first). Returns (flat, sampled)."""
    size, ndim = (t.numel(), t.dim()) if hasattr(t, "numel") else (t.size, t.ndim)
    if size <= limit or ndim == 0:
        return t.reshape(-1), False
    step = math.ceil((size / limit) ** (1 / ndim))
    while True:
        view = t[tuple(slice(None, None, step) for _ in range(ndim))]
        if (view.numel() if hasattr(view, "numel") else view.size) <= limit:
            return view.reshape(-1), True
        step += 1


def _describe_tensor(t, torch) -> str:
    parts = [f"tensor shape {tuple(t.shape)}", str(t.dtype).removeprefix("torch."), str(t.device)]
    if t.requires_grad:
        parts.append("requires_grad")
    if t.grad_fn is not None:
        parts.append(f"grad_fn={type(t.grad_fn).__name__}")
    if t.layout != torch.strided:                      # sparse COO/CSR/...: count what is stored
        parts.append(str(t.layout).removeprefix("torch."))
        try:
            parts.append(f"{t._nnz()} stored values")
        except Exception:
            pass
        return ", ".join(parts)
    if t.is_meta:
        return ", ".join(parts) + ", no data (a meta tensor has only a shape)"
    if getattr(t, "is_quantized", False):
        return ", ".join(parts) + ", quantized"
    if t.numel() == 0:
        return ", ".join(parts) + ", empty"
    with torch.no_grad():
        if t.numel() == 1:
            value = t.item()
            shown = f"{value:.6g}" if isinstance(value, float) else str(value)
            return ", ".join(parts) + f", value {shown}"
        flat, sampled = _sample(t.detach(), MAX_STAT_ELEMENTS)
        note = " (sampled)" if sampled else ""
        if t.dtype == torch.bool:             # counting is cheap even for 10^8 elements: exact
            parts.append(f"{int(t.count_nonzero())} True of {t.numel()}")
        else:
            if t.is_complex():
                flat = flat.abs()
            stats = flat.float() if not flat.is_floating_point() else flat
            parts.append(f"min {stats.min().item():.4g} mean {stats.mean().item():.4g} max {stats.max().item():.4g}"
                         + note)
        if t.numel() <= 8:
            parts.append(f"values {_rounded(t.detach().tolist())}")       # nested: a (3, 2) tensor keeps its rows
    return ", ".join(parts)


def _rounded(values):
    """A tensor's tolist(), floats rounded to 4 decimals, rows kept."""
    if isinstance(values, list):
        return [_rounded(v) for v in values]
    return round(values, 4) if isinstance(values, float) else values


def _describe_array(a, np) -> str:
    parts = [f"ndarray shape {a.shape}", str(a.dtype)]
    if not a.size:
        return ", ".join(parts + ["empty"])
    flat, sampled = _sample(a, MAX_STAT_ELEMENTS)
    if a.dtype == np.bool_:
        parts.append(f"{int(np.count_nonzero(a))} True of {a.size}")
    elif np.issubdtype(a.dtype, np.number):
        if np.iscomplexobj(flat):
            flat = np.abs(flat)
        parts.append(f"min {flat.min():.4g} mean {flat.mean():.4g} max {flat.max():.4g}" + (" (sampled)" if sampled else ""))
    if a.size <= 8:
        parts.append("values " + _repr.repr(a.tolist()))
    return ", ".join(parts)


# ----- which values a line uses --------------------------------------------------------------------------
def line_expressions(code: str) -> list[str]:
    """What the live-values table shows for a statement: the names and attribute chains it reads (anchors.names_read)
    and the constant-key lookups it uses (`optimizer.param_groups[0]["lr"]`), longest form only."""
    from .anchors import names_read

    names = names_read(code)
    chains = _constant_subscripts(code)
    shadowed = {prefix for chain in chains for prefix in _prefixes(chain)}
    return [n for n in names if n not in shadowed] + [c for c in chains if c not in names]


def _prefixes(chain: str) -> list[str]:
    try:
        node = ast.parse(chain, mode="eval").body
    except SyntaxError:
        return []
    out = []
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
        out.append(ast.unparse(node))
    return out


def _constant_subscripts(code: str) -> list[str]:
    try:
        tree = ast.parse(code)
    except (SyntaxError, RecursionError, ValueError):
        try:
            tree = ast.parse(code.rstrip().rstrip(":") + ":\n    pass")
        except (SyntaxError, RecursionError, ValueError):
            return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _is_chain(node):
            found.append((node.lineno, node.col_offset, ast.unparse(node)))
    chains = list(dict.fromkeys(text for *_, text in sorted(found)))
    return [c for c in chains if not any(o != c and o.startswith(c) for o in chains)][:6]


def _is_chain(node) -> bool:
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        if isinstance(node, ast.Subscript):
            key = node.slice
            if not (isinstance(key, ast.Constant) and isinstance(key.value, (int, str))
                    or isinstance(key, ast.UnaryOp) and isinstance(key.op, ast.USub) and isinstance(key.operand, ast.Constant)):
                return False
        node = node.value
    return isinstance(node, ast.Name)


_INDEXABLE = (dict, list, tuple)


def lookup(frame, dotted: str):
    """Value of a name, attribute chain (`args.gamma`) or constant lookup (`groups[0]["lr"]`) in a frame.
    Calls nothing but getattr, and indexing of plain dicts, lists and tuples (and deques)."""
    if "[" in dotted:
        return _lookup_expression(frame, dotted)
    head, *rest = dotted.split(".")
    value = _lookup_name(frame, head)
    for attr in rest:
        if value is _MISSING:
            break
        try:
            value = getattr(value, attr)
        except Exception:
            value = _MISSING
    return value


def _lookup_name(frame, name: str):
    value = frame.f_locals.get(name, _MISSING)
    if value is _MISSING:
        value = frame.f_globals.get(name, _MISSING)
    if value is _MISSING:
        builtins = frame.f_globals.get("__builtins__")
        value = (builtins if isinstance(builtins, dict) else vars(builtins)).get(name, _MISSING)
    return value


def _lookup_expression(frame, text: str):
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return _MISSING

    def value_of(node):
        if isinstance(node, ast.Name):
            return _lookup_name(frame, node.id)
        base = value_of(node.value)
        if base is _MISSING:
            return _MISSING
        try:
            if isinstance(node, ast.Attribute):
                return getattr(base, node.attr)
            if isinstance(base, _INDEXABLE) or type(base).__name__ == "deque":
                return operator.getitem(base, ast.literal_eval(node.slice))
        except Exception:
            pass
        return _MISSING

    return value_of(node) if _is_chain(node) or isinstance(node, ast.Name) else _MISSING


def _is_function(value) -> bool:
    """Functions of any kind (numpy's dispatchers and ufuncs too): the table shows data, not code."""
    import functools
    import inspect

    return (inspect.isroutine(value) or isinstance(value, functools.partial)
            or type(value).__name__ in ("_ArrayFunctionDispatcher", "ufunc", "_lru_cache_wrapper"))


def frame_values(frame, names: list[str]) -> list[tuple[str, str]]:
    """(name, description) of each name that exists in the frame, in order, without duplicates; at most
    MAX_ROWS rows and about TOTAL_BUDGET_S seconds in all (the rest is summarised in one row)."""
    import time

    rows, seen = [], set()
    started = time.monotonic()
    wanted = [n for n in dict.fromkeys(names)]
    for n, name in enumerate(wanted):
        if len(rows) >= MAX_ROWS or time.monotonic() - started > TOTAL_BUDGET_S:
            rows.append(("…", f"{len(wanted) - n} more not shown (print one with `p NAME`)"))
            break
        if name in seen:
            continue
        seen.add(name)
        try:
            with deadline(TIME_BUDGET_S):
                value = lookup(frame, name)
        except (_TimeUp, Exception, RecursionError):
            rows.append((name, "<took too long to look up>"))
            continue
        try:
            skip = value is _MISSING or isinstance(value, (types.ModuleType, type)) or _is_function(value)
        except Exception:
            skip = True
        if not skip:
            rows.append((name, describe(value)))
    return rows
