"""Short, bounded descriptions of runtime values: what a learner wants to see of a variable.

Tensors show shape, dtype, device, requires_grad and min/mean/max; statistics of very large
tensors are computed on an even sample so a display never takes long. Containers are cut short.
"""
from __future__ import annotations

import reprlib
import sys
import types

MAX_STAT_ELEMENTS = 1_000_000
_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlist = _repr.maxtuple = 6
_repr.maxdict = 4
_repr.maxlevel = 2

_MISSING = object()


def describe(value) -> str:
    """One line describing `value`."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return _describe_tensor(value, torch)
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray):
        return _describe_array(value, numpy)
    if isinstance(value, (types.FunctionType, types.MethodType, types.BuiltinFunctionType)):
        return f"<function {getattr(value, '__qualname__', value)}>"
    if isinstance(value, types.ModuleType):
        return f"<module {value.__name__}>"
    if type(value) in (list, tuple, set, frozenset, dict) and len(value) > 8:
        return f"{type(value).__name__} of {len(value)}: {_safe_repr(value)}"
    return _safe_repr(value)


def _safe_repr(value) -> str:
    try:
        return _repr.repr(value)
    except Exception as exc:  # a learner's __repr__ may raise
        return f"<{type(value).__name__}: repr raised {exc.__class__.__name__}>"


def _describe_tensor(t, torch) -> str:
    parts = [f"tensor shape {tuple(t.shape)}", str(t.dtype).removeprefix("torch."), str(t.device)]
    if t.requires_grad:
        parts.append("requires_grad")
    if t.grad_fn is not None:
        parts.append(f"grad_fn={type(t.grad_fn).__name__}")
    if t.numel() == 0:
        return ", ".join(parts) + ", empty"
    if t.numel() == 1:
        value = t.item()
        return ", ".join(parts) + (f", value {value:.6g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else f", value {value}")
    with torch.no_grad():
        flat = t.detach().reshape(-1)
        sampled = flat.numel() > MAX_STAT_ELEMENTS
        if sampled:
            flat = flat[:: flat.numel() // MAX_STAT_ELEMENTS + 1]
        if t.is_complex():
            flat = flat.abs()
        stats = flat.float() if not flat.is_floating_point() else flat
        parts.append(f"min {stats.min().item():.4g} mean {stats.mean().item():.4g} max {stats.max().item():.4g}"
                     + (" (sampled)" if sampled else ""))
        if t.numel() <= 8:
            parts.append(f"values {[round(v, 4) if isinstance(v, float) else v for v in t.detach().reshape(-1).tolist()]}")
    return ", ".join(parts)


def _describe_array(a, np) -> str:
    parts = [f"ndarray shape {a.shape}", str(a.dtype)]
    if a.size and np.issubdtype(a.dtype, np.number):
        flat = a.reshape(-1)
        sampled = flat.size > MAX_STAT_ELEMENTS
        if sampled:
            flat = flat[:: flat.size // MAX_STAT_ELEMENTS + 1]
        parts.append(f"min {flat.min():.4g} mean {flat.mean():.4g} max {flat.max():.4g}" + (" (sampled)" if sampled else ""))
        if a.size <= 8:
            parts.append(f"values {a.reshape(-1).tolist()}")
    return ", ".join(parts)


def lookup(frame, dotted: str):
    """Value of a name or attribute chain (`args.gamma`) in a frame, without calling anything but getattr."""
    head, *rest = dotted.split(".")
    value = frame.f_locals.get(head, _MISSING)
    if value is _MISSING:
        value = frame.f_globals.get(head, _MISSING)
    if value is _MISSING:
        builtins = frame.f_globals.get("__builtins__")
        value = (builtins if isinstance(builtins, dict) else vars(builtins)).get(head, _MISSING)
    for attr in rest:
        if value is _MISSING:
            break
        try:
            value = getattr(value, attr)
        except Exception:
            value = _MISSING
    return value


def _is_function(value) -> bool:
    return isinstance(value, (types.FunctionType, types.MethodType, types.BuiltinFunctionType,
                              types.BuiltinMethodType, types.MethodWrapperType))


def frame_values(frame, names: list[str]) -> list[tuple[str, str]]:
    """(name, description) of each name that exists in the frame, in order, without duplicates."""
    rows, seen = [], set()
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        value = lookup(frame, name)
        if value is _MISSING or isinstance(value, (types.ModuleType, type)) or _is_function(value):
            continue
        rows.append((name, describe(value)))
    return rows
