"""Run statements on random inputs, without running the program, to tell programs apart.

Two versions of a statement compute the same thing if, started from the same random inputs,
they leave the same values behind. Inputs are random arrays (one shape per trial: rank 2 and
rank 3, so `dim=0` and `dim=-1` differ). What we know is computed with NumPy (arithmetic, exp,
log, clamp, max/min, mean/sum/std/var, softmax...); everything else (a subscript, an attribute,
a call we do not know) is an *uninterpreted function*: a consistent, pseudo-random function of
its arguments, so `f(a - b)` and `f(b - a)` differ but `f(a - b)` and `f(a - b)` never do.

    outcome(codes, aliases) -> list of fingerprints, one per code, per trial (None: cannot run it)
    same_in_any_trial(a, b) / differ_in_every_trial(a, b)

Never evaluates the program's code with Python's eval: the statements are interpreted node by node.
"""
from __future__ import annotations

import ast
import hashlib
import math
import warnings
from dataclasses import dataclass

import numpy as np

from . import calls

# (shape, signs): positive inputs respect identities that hold for positive parameters (clamp bounds, a
# scale), mixed signs tell apart functions that agree on positive numbers (abs and relu).
TRIALS = (((3, 3), "positive"), ((2, 3, 3), "positive"), ((3, 3), "mixed"), ((2, 3, 3), "mixed"))


class Unsupported(Exception):
    """The statement uses something the interpreter does not model (a loop, a comprehension...)."""


@dataclass(frozen=True)
class Opaque:
    """A value we know nothing about except its identity (`self`, a module, a function)."""
    key: str


@dataclass(frozen=True)
class Keyed:
    """A dict-like value some of whose string-keyed entries were written: the value it had, and the entries
    written since (a read of any other key reads the value it had)."""
    base: object
    entries: tuple


_NAN, _INF, _NINF = 1.2345e30, 2.3456e30, -2.3456e30


def fingerprint(value):
    """A hashable summary equal for equal values (float32 rounding absorbs last-bit differences)."""
    if isinstance(value, np.ndarray):
        data = np.nan_to_num(value.astype(np.float64), nan=_NAN, posinf=_INF, neginf=_NINF).astype(np.float32)
        data[np.abs(data) < 1e-6] = 0.0                     # -0.0 and 1e-17 are 0
        return ("a", data.shape, hashlib.blake2b(data.tobytes(), digest_size=12).hexdigest())
    if isinstance(value, (bool, np.bool_)):
        return ("b", bool(value))
    if isinstance(value, (int, float, np.floating, np.integer)):
        v = float(value)
        if math.isnan(v):
            return ("f", "nan")
        return ("f", float(np.float32(v)) if abs(v) >= 1e-6 else 0.0)
    if isinstance(value, tuple):
        return ("t",) + tuple(fingerprint(v) for v in value)
    if isinstance(value, Opaque):
        return ("o", value.key)
    if isinstance(value, Keyed):
        return ("k", fingerprint(value.base)) + tuple((k, fingerprint(v)) for k, v in value.entries)
    if isinstance(value, (str, type(None), slice)):
        return ("s", repr(value))
    raise Unsupported(f"value {type(value).__name__}")


class _Interpreter:
    def __init__(self, aliases: dict[str, str], trial: int):
        self.aliases = aliases
        self.shape, self.signs = TRIALS[trial % len(TRIALS)]
        self.seed = trial
        self.env: dict[str, object] = {}
        self.rng_draws: dict[str, int] = {}

    # ----- values --------------------------------------------------------------------------
    def random_array(self, key) -> np.ndarray:
        digest = hashlib.blake2b(repr((self.seed, key)).encode(), digest_size=8).digest()
        rng = np.random.default_rng(int.from_bytes(digest, "little"))
        values = rng.uniform(0.5, 2.0, self.shape)
        return values * rng.choice([-1.0, 1.0], self.shape) if self.signs == "mixed" else values

    def unknown(self, name, *args):
        """An uninterpreted function of its arguments."""
        return self.random_array(("fn", name, tuple(fingerprint(a) for a in args)))

    # ----- statements ------------------------------------------------------------------------
    def run(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            self.statement(statement)
            if isinstance(statement, ast.Return):
                break                          # what follows a return never runs

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Assign):
            value = self.expr(node.value)
            for target in node.targets:
                self.store(target, value)
        elif isinstance(node, ast.AugAssign):
            current = self.expr(_as_load(node.target))
            self.store(node.target, self.binary(node.op, current, self.expr(node.value)))
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            self.store(node.target, self.expr(node.value))
        elif isinstance(node, ast.Expr):
            self.expr(node.value)
        elif isinstance(node, ast.Return):
            self.env["<return>"] = self.expr(node.value) if node.value is not None else None
        elif isinstance(node, ast.Pass):
            pass
        else:
            raise Unsupported(type(node).__name__)

    def store(self, target: ast.expr, value) -> None:
        if isinstance(target, ast.Name):
            self.env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            if any(isinstance(e, ast.Starred) for e in target.elts):
                raise Unsupported("starred assignment")
            if isinstance(value, tuple):
                if len(value) != len(target.elts):
                    raise ValueError("cannot unpack")
                parts = value
            else:
                parts = tuple(self.unknown("unpack", value, i) for i in range(len(target.elts)))
            for element, part in zip(target.elts, parts):
                self.store(element, part)
        elif isinstance(target, ast.Subscript):
            base = self.expr(target.value)
            key = self.index(target.slice)
            if isinstance(key, str) and not isinstance(base, tuple):     # a string key: the base is a dict
                # `state['step'] += 1` changes one entry of a dict: `state['exp_avg']` reads another, unchanged
                entries = dict(base.entries) if isinstance(base, Keyed) else {}
                entries[key] = value
                self.store(target.value, Keyed(base.base if isinstance(base, Keyed) else base, tuple(sorted(
                    entries.items(), key=lambda item: item[0]))))
                return
            self.store(target.value, self.unknown("setitem", base, key, value))
        elif isinstance(target, ast.Attribute):
            dotted = _dotted(target)
            if dotted is None:
                raise Unsupported("attribute of an expression")
            self.env[dotted] = value
        else:
            raise Unsupported(type(target).__name__)

    # ----- expressions ----------------------------------------------------------------------
    def expr(self, node: ast.expr):
        method = getattr(self, "e_" + type(node).__name__, None)
        if method is None:
            raise Unsupported(type(node).__name__)
        return method(node)

    def e_Constant(self, node):
        if isinstance(node.value, (int, float, str, bool, type(None))):
            return node.value
        raise Unsupported("constant")

    def e_Name(self, node):
        return self.lookup(node.id)

    def lookup(self, dotted: str):
        if dotted in self.env:
            return self.env[dotted]
        head = dotted.partition(".")[0]
        if head in self.aliases:
            return Opaque("module:" + self.aliases[head] + dotted[len(head):])
        if dotted.rpartition(".")[2] in ("self", "cls") or head in ("self", "cls") and "." not in dotted:
            return Opaque(dotted)
        if dotted in calls.BUILTIN_NAMES:
            return Opaque("module:" + dotted)
        return self.random_array(("name", dotted))

    def e_Attribute(self, node):
        dotted = _dotted(node)
        if dotted is not None and (dotted in self.env or dotted.partition(".")[0] not in self.env):
            return self.lookup(dotted)
        base = self.expr(node.value)
        if isinstance(base, Opaque):
            return Opaque(base.key + "." + node.attr)
        if node.attr in ("T", "mT") and isinstance(base, np.ndarray):
            return np.swapaxes(base, -1, -2)
        if node.attr == "data":
            return base
        return self.unknown("attr:" + node.attr, base)

    def e_Subscript(self, node):
        base = self.expr(node.value)
        key = self.index(node.slice)
        if isinstance(base, Keyed):
            if isinstance(key, str):
                return dict(base.entries)[key] if key in dict(base.entries) else self.unknown("getitem", base.base, key)
            return self.unknown("getitem", base, key)
        return self.unknown("getitem", base, key)

    def index(self, node):
        if isinstance(node, ast.Slice):
            parts = [self.expr(p) if p is not None else None for p in (node.lower, node.upper, node.step)]
            return ("slice", *[fingerprint(p) for p in parts])
        if isinstance(node, ast.Tuple):
            return tuple(self.index(e) for e in node.elts)
        return self.expr(node)

    def e_Tuple(self, node):
        if any(isinstance(e, ast.Starred) for e in node.elts):
            raise Unsupported("starred")
        return tuple(self.expr(e) for e in node.elts)

    e_List = e_Tuple

    def e_UnaryOp(self, node):
        value = self.expr(node.operand)
        if isinstance(value, Opaque):
            raise Unsupported("operator on an object")
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return value
        if isinstance(node.op, ast.Not):
            if isinstance(value, np.ndarray):
                raise Unsupported("truth of an array")
            return not value
        if isinstance(node.op, ast.Invert):
            if isinstance(value, np.ndarray):
                return self.unknown("invert", value)
            return ~value
        raise Unsupported("unary")

    def e_BinOp(self, node):
        return self.binary(node.op, self.expr(node.left), self.expr(node.right))

    def binary(self, op, left, right):
        if isinstance(left, Keyed) or isinstance(right, Keyed):
            return self.unknown("op:" + type(op).__name__, left, right)
        if isinstance(left, (Opaque, str)) or isinstance(right, (Opaque, str)):
            if isinstance(left, str) and isinstance(right, str) and isinstance(op, ast.Add):
                return left + right
            return self.unknown("op:" + type(op).__name__, left, right)
        if isinstance(left, tuple) or isinstance(right, tuple):
            # lists and tuples: `+` of two concatenates, `*` by an integer repeats; any other operator between
            # a sequence and a sequence or a number is a TypeError (`[obs_dim] - list(sizes)` cannot run). With
            # a value we know nothing about (an unknown name may be a list too) the result is uninterpreted.
            sequence, other = (left, right) if isinstance(left, tuple) else (right, left)
            if isinstance(op, ast.Add) and isinstance(left, tuple) and isinstance(right, tuple):
                return left + right
            if isinstance(op, ast.Mult) and isinstance(other, int) and not isinstance(other, bool):
                return sequence * max(0, min(other, 16))
            if isinstance(other, (tuple, int, float, bool)):
                raise TypeError("unsupported operand type for a sequence")
            return self.unknown("op:" + type(op).__name__, left, right)
        with np.errstate(all="ignore"):
            if isinstance(op, ast.Add):
                return left + right
            if isinstance(op, ast.Sub):
                return left - right
            if isinstance(op, ast.Mult):
                return left * right
            if isinstance(op, ast.Div):
                return np.divide(left, right) if _arrays(left, right) else _scalar_div(left, right)
            if isinstance(op, ast.Pow):
                return _array_pow(left, right) if _arrays(left, right) else _scalar_pow(left, right)
            if isinstance(op, ast.MatMult):
                if not (isinstance(left, np.ndarray) and isinstance(right, np.ndarray)):
                    raise TypeError("matmul of a scalar")
                return left @ right
            if isinstance(op, ast.FloorDiv):
                return np.floor_divide(left, right) if _arrays(left, right) else _scalar_floordiv(left, right)
            if isinstance(op, ast.Mod):
                return np.mod(left, right) if _arrays(left, right) else _scalar_mod(left, right)
        return self.unknown("op:" + type(op).__name__, left, right)

    def e_Compare(self, node):
        left = self.expr(node.left)
        result = None
        for op, comparator in zip(node.ops, node.comparators):
            right = self.expr(comparator)
            if isinstance(left, (Opaque, str, tuple)) or isinstance(right, (Opaque, str, tuple)):
                value = self.unknown("cmp:" + type(op).__name__, left, right)
            else:
                table = {ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater, ast.GtE: np.greater_equal,
                         ast.Eq: np.equal, ast.NotEq: np.not_equal}
                if type(op) not in table:
                    raise Unsupported("comparison")
                value = table[type(op)](left, right).astype(np.float64) if _arrays(left, right) \
                    else bool(table[type(op)](left, right))
            result = value if result is None else result * value
            left = right
        return result

    def e_IfExp(self, node):
        test = self.expr(node.test)
        if isinstance(test, (np.ndarray, Opaque)):
            raise Unsupported("truth of an array")
        return self.expr(node.body) if test else self.expr(node.orelse)

    def e_Call(self, node):
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise Unsupported("*args")
        args = [self.expr(a) for a in node.args]
        kwargs = {k.arg: self.expr(k.value) for k in node.keywords}
        for key in ("dim", "axis"):            # dim=-1 and dim=2 are the same axis of a rank-3 tensor
            if isinstance(kwargs.get(key), int) and not isinstance(kwargs[key], bool) and kwargs[key] < 0:
                kwargs[key] += len(self.shape)
        func = node.func
        if isinstance(func, ast.Attribute):
            dotted = _dotted(func)
            head = dotted.partition(".")[0] if dotted else None
            if dotted is not None and head in self.aliases and head not in self.env:
                return self.function(self.aliases[head] + dotted[len(head):], args, kwargs)
            receiver = self.expr(func.value)
            if isinstance(receiver, Opaque):
                if receiver.key.startswith("module:"):
                    return self.function(receiver.key[len("module:"):] + "." + func.attr, args, kwargs)
                return self.unknown(receiver.key + "." + func.attr, *args, *sorted(kwargs.items()))
            return self.method(func.attr, receiver, args, kwargs, func.value)
        if isinstance(func, ast.Name):
            if func.id in self.env:
                return self.unknown("call", self.env[func.id], *args, *sorted(kwargs.items()))
            return self.function(self.aliases.get(func.id, func.id), args, kwargs)
        return self.unknown("call", self.expr(func), *args, *sorted(kwargs.items()))

    def function(self, qualified: str, args, kwargs):
        generator = calls.random_generator(qualified)
        if generator is not None:              # each library's generator is its own stream
            self.rng_draws[generator] = self.rng_draws.get(generator, 0) + 1
            return self.unknown(("rng", qualified, generator, self.rng_draws[generator]), *args,
                                *sorted(kwargs.items()))
        if "." not in qualified:
            known = _BUILTINS.get(qualified)
        elif qualified.startswith(("torch.", "numpy.", "math.")):
            known = _FUNCTIONS.get(qualified.rpartition(".")[2])
        else:
            known = None
        if known is not None:
            try:
                return known(*args, **kwargs)
            except _NotModelled:
                pass
        if qualified.startswith(("torch.", "numpy.", "math.")) or "." not in qualified:
            args = _invariant(qualified.rpartition(".")[2], args)
        return self.unknown(qualified, *args, *sorted(kwargs.items()))

    def method(self, name: str, receiver, args, kwargs, receiver_node):
        kind = calls.classify_method(name)
        if kind == calls.RANDOM:
            self.rng_draws["torch"] = self.rng_draws.get("torch", 0) + 1
            return self.unknown(("rng", name, self.rng_draws["torch"]), receiver, *args)
        if kind == calls.MUTATES:              # x.add_(y), xs.append(y): the receiver changes
            result = self.unknown("inplace:" + name, receiver, *args, *sorted(kwargs.items()))
            target = receiver_node if isinstance(receiver_node, (ast.Name, ast.Attribute, ast.Subscript)) else None
            if target is None:
                raise Unsupported("in-place method on an expression")
            self.store(_as_store(target), result)
            return result
        known = _METHODS.get(name)
        if known is not None and isinstance(receiver, (np.ndarray, float, int)):
            try:
                return known(receiver, *args, **kwargs)
            except _NotModelled:
                pass
        receiver, *args = _invariant(name, [receiver, *args])
        return self.unknown("method:" + name, receiver, *args, *sorted(kwargs.items()))

    def e_BoolOp(self, node):
        values = [self.expr(v) for v in node.values]
        if any(isinstance(v, (np.ndarray, Opaque)) for v in values):
            raise Unsupported("truth of an array")
        result = values[0]
        for v in values[1:]:
            result = (result and v) if isinstance(node.op, ast.And) else (result or v)
        return result


class _NotModelled(Exception):
    pass


def _arrays(*values) -> bool:
    return any(isinstance(v, np.ndarray) for v in values)


def _integral(v) -> bool:
    return isinstance(v, (int, float)) and float(v).is_integer()


def _scalar_div(a, b):
    if b == 0:
        raise ZeroDivisionError()
    return a / b


def _scalar_floordiv(a, b):
    if b == 0:
        raise ZeroDivisionError()
    return a // b


def _scalar_mod(a, b):
    if b == 0:
        raise ZeroDivisionError()
    return a % b


def _scalar_pow(a, b):
    if abs(b) > 64 or (a == 0 and b < 0):
        raise OverflowError()
    result = a ** b
    if isinstance(result, complex):
        raise ValueError("complex")
    return result


def _dotted(node) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _as_load(node):
    return _set_ctx(node, ast.Load())


def _as_store(node):
    return _set_ctx(node, ast.Store())


def _set_ctx(node, ctx):
    node = parse(ast.unparse(node), mode="eval").body
    node.ctx = ctx
    return node


# ----- what the interpreter knows ------------------------------------------------------------------
def _axis(kwargs, args, position=0):
    """dim / axis from keyword or positional arguments; keepdim flag."""
    dim = kwargs.pop("dim", kwargs.pop("axis", None))
    if dim is None and len(args) > position:
        dim = args[position]
    keep = bool(kwargs.pop("keepdim", kwargs.pop("keepdims", False)))
    if dim is not None and not isinstance(dim, int):
        raise _NotModelled()
    return dim, keep


def _reduction(fn, *, ddof=None):
    def reduce(x, *args, **kwargs):
        if not isinstance(x, np.ndarray):
            raise _NotModelled()
        kwargs = dict(kwargs)
        kwargs.pop("unbiased", None)
        kwargs.pop("correction", None)
        dim, keep = _axis(kwargs, args)
        if dim is not None and not -x.ndim <= dim < x.ndim:
            raise IndexError("dimension out of range")
        extra = {"ddof": ddof} if ddof is not None else {}
        with np.errstate(all="ignore"):
            return fn(x, axis=dim, keepdims=keep, **extra)
    return reduce


def _softmax(log=False):
    def softmax(x, *args, **kwargs):
        if not isinstance(x, np.ndarray):
            raise _NotModelled()
        kwargs = dict(kwargs)
        dim, _ = _axis(kwargs, args)
        if dim is None:
            raise _NotModelled()
        if not -x.ndim <= dim < x.ndim:
            raise IndexError("dimension out of range")
        shifted = x - x.max(axis=dim, keepdims=True)
        logs = shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
        return logs if log else np.exp(logs)
    return softmax


def _clamp(x, *args, **kwargs):
    low = kwargs.get("min", args[0] if len(args) > 0 else None)
    high = kwargs.get("max", args[1] if len(args) > 1 else None)
    if any(isinstance(v, (Opaque, str, tuple)) for v in (x, low, high)):
        raise _NotModelled()
    result = x
    if low is not None:
        result = np.maximum(result, low)
    if high is not None:
        result = np.minimum(result, high)
    return result


def _extreme(np_pair, np_reduce):
    def extreme(x, *args, **kwargs):
        if len(args) == 1 and isinstance(args[0], np.ndarray) and not kwargs:
            return np_pair(x, args[0])                 # torch.max(a, b): elementwise
        if not args and not kwargs:
            if isinstance(x, np.ndarray):
                return np_reduce(x)
            raise _NotModelled()
        raise _NotModelled()                           # max over a dim returns (values, indices): uninterpreted
    return extreme


def _builtin_extreme(pick):
    def extreme(*args, **kwargs):
        if kwargs or len(args) < 2 or any(isinstance(a, (np.ndarray, Opaque, str, tuple)) for a in args):
            raise _NotModelled()
        return pick(args)
    return extreme


def _elementwise(fn):
    def apply(x, *args, **kwargs):
        if args or kwargs or isinstance(x, (Opaque, str, tuple)) or x is None:
            raise _NotModelled()
        with np.errstate(all="ignore"):
            return fn(np.asarray(x, dtype=np.float64)) if isinstance(x, np.ndarray) else float(fn(float(x)))
    return apply


def _identity(x, *args, **kwargs):
    return x


def _log(x):
    return np.log(np.abs(x))


def _sqrt(x):
    return np.sqrt(np.abs(x))


_ELEMENTWISE = {"exp": np.exp, "log": _log, "sqrt": _sqrt, "abs": np.abs, "tanh": np.tanh, "sin": np.sin,
                "cos": np.cos, "neg": np.negative, "sign": np.sign, "square": np.square, "relu": lambda x: np.maximum(x, 0),
                "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "log1p": lambda x: np.log(np.abs(1 + x)),
                "rsqrt": lambda x: 1 / np.sqrt(np.abs(x)), "reciprocal": lambda x: 1 / x, "floor": np.floor,
                "ceil": np.ceil}
_FUNCTIONS: dict = {name: _elementwise(fn) for name, fn in _ELEMENTWISE.items()}
_FUNCTIONS.update({
    "clamp": _clamp, "clip": _clamp, "maximum": lambda a, b: np.maximum(a, b), "minimum": lambda a, b: np.minimum(a, b),
    "max": _extreme(np.maximum, np.max), "min": _extreme(np.minimum, np.min), "amax": _reduction(np.max),
    "amin": _reduction(np.min), "mean": _reduction(np.mean), "sum": _reduction(np.sum), "std": _reduction(np.std, ddof=1),
    "var": _reduction(np.var, ddof=1), "prod": _reduction(np.prod), "softmax": _softmax(), "log_softmax": _softmax(True),
})


def _norm(x, *args, **kwargs):
    """numpy.linalg.norm / torch.norm / torch.linalg.(vector_)norm / x.norm(): the 2-norm (Frobenius for a matrix)
    of every element or along one dim, or a p-norm along a dim. Anything else is not modelled (see _invariant)."""
    if not isinstance(x, np.ndarray):
        raise _NotModelled()
    kwargs = dict(kwargs)
    p = kwargs.pop("ord", kwargs.pop("p", args[0] if args else None))
    dim, keep = _axis(kwargs, args[1:] if args else ())
    if kwargs or isinstance(p, (Opaque, tuple, np.ndarray)) or p not in (None, "fro", 2, 2.0, 1, 1.0) \
            or dim is None and p in (1, 1.0):
        raise _NotModelled()
    if dim is not None and not -x.ndim <= dim < x.ndim:
        raise IndexError("dimension out of range")
    power = 1.0 if p in (1, 1.0) else 2.0
    with np.errstate(all="ignore"):
        return np.sum(np.abs(x) ** power, axis=dim, keepdims=keep) ** (1.0 / power)


def _pairwise_loss(fn):
    """F.mse_loss / F.l1_loss / F.smooth_l1_loss (reduction 'mean', 'sum' or 'none')."""
    def loss(a, b, *args, reduction="mean", **kwargs):
        if args or kwargs or not all(isinstance(v, (np.ndarray, float, int)) for v in (a, b)):
            raise _NotModelled()
        with np.errstate(all="ignore"):
            values = fn(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))
        if reduction == "none":
            return values
        if reduction in ("mean", "sum"):
            return values.mean() if reduction == "mean" else values.sum()
        raise _NotModelled()
    return loss


def _cosine_similarity(a, b, *args, **kwargs):
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        raise _NotModelled()
    kwargs = dict(kwargs)
    eps = kwargs.pop("eps", 1e-8)
    dim, _ = _axis(kwargs, args)
    dim = 1 if dim is None else dim
    if kwargs or not -a.ndim <= dim < a.ndim:
        raise _NotModelled()
    with np.errstate(all="ignore"):
        dot = np.sum(a * b, axis=dim)
        return dot / np.maximum(np.sqrt(np.sum(a * a, axis=dim)) * np.sqrt(np.sum(b * b, axis=dim)), eps)


_FUNCTIONS.update({"norm": _norm, "vector_norm": _norm, "mse_loss": _pairwise_loss(np.square),
                   "l1_loss": _pairwise_loss(np.abs), "cosine_similarity": _cosine_similarity})

# Functions of the libraries we know that are even (f(-x) = f(x)) or unchanged by permuting their argument's
# entries (every vector norm), or symmetric in their first two arguments. When we cannot compute one for real
# (an `ord` not modelled), its uninterpreted stand-in keeps those invariances: treating `norm(a - b)` and
# `norm(b - a)` as different would offer a learner two right answers.
_EVEN = {"norm", "vector_norm", "matrix_norm", "abs", "absolute", "fabs", "square", "cosh", "cos"}
_SYMMETRIC = {"mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cosine_similarity", "pairwise_distance",
              "dist", "maximum", "minimum", "add", "mul", "multiply", "hypot", "logaddexp", "isclose", "allclose",
              "eq", "ne", "equal"}


def _invariant(name: str, args: list) -> list:
    """The arguments of a library function `name` in a form that forgets what the function cannot see."""
    args = list(args)
    if name in _EVEN and args and isinstance(args[0], np.ndarray):
        args[0] = np.sort(np.abs(args[0]), axis=None) if name.endswith("norm") else np.abs(args[0])
    if name in _SYMMETRIC and len(args) >= 2:
        first, second = sorted(args[:2], key=lambda v: repr(fingerprint(v)))
        args[:2] = [first, second]
    if name in ("dist", "pairwise_distance") and len(args) >= 2 and all(isinstance(v, np.ndarray) for v in args[:2]):
        try:
            args[:2] = [np.sort(np.abs(args[0] - args[1]), axis=None), None]    # a distance sees only a - b, up to sign
        except ValueError:
            pass
    return args


def _sequence(x=(), *args, **kwargs):
    """list(x) / tuple(x): a sequence; of an array or an unknown value, a sequence of unknown items."""
    if args or kwargs:
        raise _NotModelled()
    if isinstance(x, tuple):
        return x
    if isinstance(x, np.ndarray):
        return tuple(x.reshape(x.shape[0], -1)[:, 0]) if x.ndim else (float(x),)
    raise _NotModelled()


_BUILTINS = {"abs": _elementwise(np.abs), "max": _builtin_extreme(max), "min": _builtin_extreme(min),
             "float": lambda x: x if isinstance(x, np.ndarray) else float(x), "list": _sequence, "tuple": _sequence}
_METHODS = {name: _FUNCTIONS[name] for name in ("exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "sin", "cos",
                                                "neg", "sign", "square", "log1p", "rsqrt", "reciprocal", "clamp",
                                                "clip", "max", "min", "amax", "amin", "mean", "sum", "std", "var",
                                                "prod", "softmax", "log_softmax", "floor", "ceil", "norm")}
_METHODS.update({"float": _identity, "double": _identity, "cpu": _identity, "contiguous": _identity, "to": _identity,
                 "item": _identity, "pow": lambda x, k: _pow_method(x, k)})


def _pow_method(x, k):
    if isinstance(k, (Opaque, str, tuple)):
        raise _NotModelled()
    return _array_pow(x, k)


def _array_pow(x, k):
    """x ** k for arrays; a fractional power of a negative number is taken of its absolute value."""
    with np.errstate(all="ignore"):
        if _integral(k):
            return np.power(np.asarray(x, dtype=np.float64), int(k))
        return np.power(np.abs(x), k)


# ----- the public interface ----------------------------------------------------------------------------
def parse(code: str, mode: str = "exec") -> ast.AST:
    """ast.parse without SyntaxWarnings on stderr (`1.0[0]` warns): a learner's odd code is data here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(code, mode=mode)



def parse_statements(code: str) -> list[ast.stmt]:
    """The statements of `code`; raises Unsupported for code we will not model."""
    try:
        tree = parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise Unsupported(f"cannot parse: {exc.__class__.__name__}") from None
    return tree.body


def state(code: str | list[ast.stmt], aliases: dict[str, str], trial: int, watch: list[str] | None = None):
    """Run `code` from trial `trial`'s random inputs; return the fingerprint of what it leaves behind:
    every name it writes (or those in `watch`), the value of a final expression, or ("error", kind).
    Raises Unsupported if the code uses something not modelled."""
    statements = parse_statements(code) if isinstance(code, str) else code
    # overflow, 0/0 and casts of huge values to float32 are data here, never a warning on the learner's terminal
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interpreter = _Interpreter(aliases, trial)
        try:
            interpreter.run(statements)
            last = statements[-1] if statements else None
            if isinstance(last, ast.Expr) and not any(k.startswith("<") for k in interpreter.env):
                interpreter.env["<value>"] = interpreter.expr(last.value)
        except Unsupported:
            raise
        except RecursionError:
            raise Unsupported("too deep") from None
        except Exception as exc:                          # the code itself fails on these inputs
            return ("error", type(exc).__name__)
        keys = watch if watch is not None else sorted(interpreter.env)
        return tuple((k, fingerprint(interpreter.env.get(k, Opaque("<unset>")))) for k in keys) \
            + (("<rng>", tuple(sorted(interpreter.rng_draws.items()))),)


def states(codes: list[str], aliases: dict[str, str], watch: list[str] | None = None,
           trials: int = len(TRIALS)) -> list[list | None]:
    """state() of each code for each trial; None for a code that cannot be interpreted.

    `watch` defaults to every name any of the codes writes, so that a code that writes fewer names
    than another differs from it."""
    parsed = []
    for code in codes:
        try:
            parsed.append(parse_statements(code))
        except Unsupported:
            parsed.append(None)
    if watch is None:
        names = set()
        for statements in parsed:
            if statements is not None:
                names |= written_names(statements)
        watch = sorted(names) + ["<return>", "<value>"]
    out = []
    for statements in parsed:
        if statements is None:
            out.append(None)
            continue
        try:
            out.append([state(statements, aliases, t, watch) for t in range(trials)])
        except Unsupported:
            out.append(None)
    return out


def written_names(statements: list[ast.stmt]) -> set[str]:
    names = set()
    for node in ast.walk(ast.Module(body=list(statements), type_ignores=[])):
        if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)) and isinstance(getattr(node, "ctx", None), ast.Store):
            while isinstance(node, ast.Subscript):     # obs[i] = a changes obs
                node = node.value
            dotted = _dotted(node)
            if dotted:
                names.add(dotted)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if calls.classify_method(node.func.attr) == calls.MUTATES:
                dotted = _dotted(node.func.value)
                if dotted:
                    names.add(dotted)
    return names


def same_in_some_trial(a: list, b: list) -> bool:
    return any(x == y for x, y in zip(a, b))


def same_in_every_trial(a: list, b: list) -> bool:
    return all(x == y for x, y in zip(a, b))
