"""What the code itself shows about the ranks of its tensors, to spot wrong options that cannot even run.

A wrong option of a "which is the real line" question must be a mistake a learner could make, not a line
that fails at sight for the shapes involved: `torch.stack([a, b], dim=2)` of two vectors, `x.sum(dim=2)` of
an [N, D] array, `x[:, :, 0]` of a matrix. Without running anything we know a tensor's rank where the code
says it: a constructor's sizes (`torch.rand(n)`, `torch.randint(0, 2, (n, bits))`), an operation's effect
on rank (`stack`, `cat`, a reduction over a dim, `view(-1)`, `unsqueeze`, indexing), the file's own
functions (what they return) and the shape comments and docstrings a reader sees
(`return x @ W + b  # ... -> [N, D_out]`, "idx (LongTensor of shape (b,t))"). Everything else is unknown,
and an option is only ever called impossible when the ranks it uses are known.

    impossible(code, stmt, index) -> the reason a version of `stmt` cannot run, or "" (unknown: "")

Used by mutant questions (tracer/quiz/questions.py); pure, never runs code.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from . import probe

_CREATE = {"zeros", "ones", "empty", "rand", "randn", "full"}          # sizes as arguments or one tuple
_LIKE = {"zeros_like", "ones_like", "empty_like", "rand_like", "randn_like", "full_like", "clone", "abs", "exp",
         "log", "sqrt", "tanh", "sigmoid", "relu", "clamp", "clip", "softmax", "log_softmax", "where", "neg",
         "square", "log1p", "sign", "multinomial", "dropout", "gelu", "silu", "leaky_relu", "elu", "floor", "ceil",
         "round", "maximum", "minimum", "masked_fill", "normalize", "cos", "sin", "tan", "atan2", "pow",
         "reciprocal", "rsqrt", "erf", "softplus", "logical_not", "isnan", "isfinite", "nan_to_num"}
_KEEP_METHODS = _LIKE | {"float", "double", "long", "int", "half", "bool", "detach", "to", "cpu", "cuda",
                         "contiguous", "pow", "type_as", "requires_grad_", "clamp_", "add", "sub", "mul", "div",
                         "transpose", "permute", "flip", "roll", "cumsum", "cumprod", "numpy", "copy", "astype",
                         "add_", "mul_", "sub_", "div_", "fill_", "zero_", "exp_", "masked_fill_", "sort"}
_REDUCE = {"sum", "mean", "std", "var", "prod", "amax", "amin", "logsumexp", "all", "any", "argmax", "argmin",
           "max", "min", "median", "nansum", "nanmean", "norm", "count_nonzero"}
_PAIRS = {"max", "min", "median", "sort"}        # with a dim: (values, indices)
# functions and methods taking a dim of their (first) tensor: keyword names and the position of a positional dim
_DIM_ARG = {name: 0 for name in _REDUCE | {"softmax", "log_softmax", "cumsum", "cumprod", "squeeze", "unsqueeze",
                                           "size", "flip", "unbind"}}
_DIM_ARG.update({"split": 1, "chunk": 1, "gather": 0, "index_select": 0, "narrow": 0})
_TORCH = ("torch", "numpy", "torch.nn.functional")


@dataclass(frozen=True)
class Pair:
    """The (values, indices) of `x.max(dim=1)`: both of rank `rank`."""
    rank: int


class _Impossible(Exception):
    """The expression cannot run for the ranks the code shows (the message says why)."""


# ----- what the file says ------------------------------------------------------------------------------
_SIZE = r"[A-Za-z_0-9][\w*·+\-/ ]*"
_SHAPE = rf"[\[(]\s*({_SIZE}(?:\s*,\s*{_SIZE})*)\s*,?\s*[\])]"
_ARROW = re.compile(rf"->\s*{_SHAPE}\s*[.;,]?\s*$")               # `... -> [N, D_out]` at the end of a comment
_OF_SHAPE = re.compile(rf"\b(?:of )?shape:?\s*{_SHAPE}")            # `token embeddings of shape (b, t, n_embd)`


def _comment_rank(comment: str) -> int | None:
    """The rank a trailing shape comment gives the line's result: `# [N, 1] -> [N]`, `# ... of shape (b, t, c)`."""
    found = _ARROW.search(comment) or _OF_SHAPE.search(comment)
    if not found:
        return None
    sizes = [s for s in found.group(1).split(",") if s.strip()]
    return len(sizes)


def _docstring_ranks(function: ast.FunctionDef) -> dict[str, int]:
    """Parameters whose shape the docstring states: `idx (LongTensor of shape (b,t))`, `x: [N, D]`."""
    doc = ast.get_docstring(function) or ""
    out = {}
    for arg in function.args.args + function.args.kwonlyargs:
        name = re.escape(arg.arg)
        found = re.search(rf"\b{name}\b\s*\(?[\w. ]{{0,30}}?\bof shape\s*{_SHAPE}", doc) \
            or re.search(rf"\b{name}\b\s*:?\s*\[\s*({_SIZE}(?:\s*,\s*{_SIZE})+)\s*\]", doc)
        if found:
            out[arg.arg] = len([s for s in found.group(1).split(",") if s.strip()])
    return out


class _Facts:
    """Per function of a file: each assignment of a name, with the rank it gives (None: unknown)."""

    def __init__(self, text: str, aliases: dict[str, str]):
        self.aliases = aliases
        self.tree = probe.parse(text)
        self.comments = _comments(text)
        self.functions: dict[str, ast.FunctionDef] = {}     # "f", "Class.f"
        self.events: dict[int, list] = {}                   # id(scope node) -> [(name, line, end_line, value)]
        self.loops: dict[int, list[tuple[int, int]]] = {}   # id(scope node) -> (line, end_line) of each loop
        self.scope_of: list[tuple[int, int, ast.AST, str]] = []
        self._returns: dict[str, object] = {}
        self.memo: dict[tuple, object] = {}                 # ranks of names at a line, once worked out
        self._collect(self.tree, "", None)

    def _collect(self, scope, prefix: str, cls: str | None):
        events, loops = [], []
        self.events[id(scope)] = events
        self.loops[id(scope)] = loops
        if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
            documented = _docstring_ranks(scope)
            args = scope.args
            positional = args.posonlyargs + args.args
            defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
            for arg, default in zip(positional + args.kwonlyargs, defaults + list(args.kw_defaults)):
                rank = documented.get(arg.arg)
                if rank is None and isinstance(default, ast.Constant) and type(default.value) in (int, float):
                    rank = 0                             # `n_samples=2000`: a number
                events.append((arg.arg, scope.lineno, scope.lineno, ("param", arg.arg, rank)))
        for node in _own_nodes(scope):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{node.name}"
                self.functions[name] = node
                self.scope_of.append((node.lineno, node.end_lineno, node, cls or ""))
                self._collect(node, name + ".", cls)
            elif isinstance(node, ast.ClassDef):
                self._collect_class(node, f"{prefix}{node.name}.")
            elif isinstance(node, (ast.For, ast.While, ast.AsyncFor)):
                loops.append((node.lineno, node.end_lineno))
                if isinstance(node, (ast.For, ast.AsyncFor)):
                    counter = ("rank", 0) if isinstance(node.target, ast.Name) and _counts(node.iter) else None
                    for name in _names(node.target):
                        events.append((name, node.lineno, node.lineno, counter))
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                value = getattr(node, "value", None)
                comment = _comment_rank(self.comments.get(node.end_lineno, ""))
                for target in targets:
                    if isinstance(target, ast.Name):
                        given = ("rank", comment) if comment is not None and len(targets) == 1 else value
                        events.append((target.id, node.lineno, node.end_lineno,
                                       None if isinstance(node, ast.AugAssign) else given))
                    elif isinstance(target, (ast.Tuple, ast.List)):
                        parts = target.elts
                        for k, element in enumerate(parts):
                            if isinstance(element, ast.Name):
                                part = value.elts[k] if isinstance(value, (ast.Tuple, ast.List)) \
                                    and len(value.elts) == len(parts) else None
                                events.append((element.id, node.lineno, node.end_lineno, part))
                            else:
                                for name in _names(element):
                                    events.append((name, node.lineno, node.end_lineno, None))
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    for name in _names(item.optional_vars) if item.optional_vars is not None else ():
                        events.append((name, node.lineno, node.lineno, None))
            elif isinstance(node, (ast.NamedExpr,)):
                events.append((node.target.id, node.lineno, node.end_lineno, node.value))
            elif isinstance(node, ast.ExceptHandler) and node.name:
                events.append((node.name, node.lineno, node.lineno, None))

    def _collect_class(self, node: ast.ClassDef, prefix: str):
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[prefix + item.name] = item
                self.scope_of.append((item.lineno, item.end_lineno, item, prefix[:-1]))
                self._collect(item, prefix + item.name + ".", prefix[:-1])

    def scope_at(self, line: int):
        """The innermost function around `line` (its node and class name), or the module."""
        inside = [(start, end, node, cls) for start, end, node, cls in self.scope_of if start <= line <= end]
        if not inside:
            return self.tree, ""
        start, end, node, cls = max(inside, key=lambda s: s[0])
        return node, cls

    def returns(self, name: str, params: dict | None = None):
        """The rank of what the file's own function `name` returns when called with arguments of the ranks
        `params` (by parameter name), if every return agrees."""
        key = (name, tuple(sorted((params or {}).items())))
        if key in self._returns:
            return self._returns[key]
        self._returns[key] = None                        # a recursive call: unknown
        function = self.functions.get(name)
        if function is None:
            return None
        found = []
        for node in _own_nodes(function):
            if isinstance(node, ast.Return):
                if node.value is None:
                    return None
                comment = _comment_rank(self.comments.get(node.end_lineno, ""))
                if comment is not None:
                    found.append(comment)
                    continue
                try:
                    cls = next((c for _, _, f, c in self.scope_of if f is function), "")
                    found.append(_Ranks(self, function, node.lineno, cls, params=params).rank(node.value))
                except _Impossible:
                    found.append(None)
        result = found[0] if found and all(r == found[0] for r in found) else None
        self._returns[key] = result
        return result


def _comments(text: str) -> dict[int, str]:
    import io
    import tokenize
    out = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                out[token.start[0]] = token.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


def _own_nodes(scope):
    """Every node inside `scope`, not descending into nested functions, classes or lambdas (they are scopes
    of their own; a nested def itself is yielded)."""
    stack = list(reversed(scope.body if hasattr(scope, "body") and isinstance(scope.body, list) else []))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _counts(node) -> bool:
    """`range(...)`, `reversed(range(...))`: a loop over integers."""
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "reversed" and node.args:
        node = node.args[0]
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"


def _names(target) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)] if target is not None else []


# ----- ranks of expressions ------------------------------------------------------------------------------
class _Ranks:
    """Ranks of expressions at `line` of `scope`: an int (0: a number), Pair, a tuple of those, or None."""

    def __init__(self, facts: _Facts, scope, line: int, cls: str = "", assuming: dict | None = None,
                 params: dict | None = None):
        self.facts = facts
        self.params = params or {}              # ranks of the arguments of the call being followed
        self.scope = scope
        self.line = line
        self.cls = cls
        self.assuming = assuming or {}          # names whose rank a loop's fixpoint check assumes
        self.depth = 0

    # a name: its latest assignment above the line, if no loop around the line reassigns it differently
    def name(self, name: str):
        if name in self.assuming:
            return self.assuming[name]
        key = (id(self.scope), name, self.line, tuple(sorted(self.assuming.items())), tuple(sorted(self.params.items())))
        if key not in self.facts.memo:
            self.facts.memo[key] = None              # a name defined through itself: unknown
            self.facts.memo[key] = self._name(name)
        return self.facts.memo[key]

    def _name(self, name: str):
        events = [e for e in self.facts.events.get(id(self.scope), []) if e[0] == name]
        before = [e for e in events if e[2] < self.line]
        if not before:
            return None if events or self.scope is self.facts.tree else self._module(name)
        latest = max(before, key=lambda e: e[1])
        rank = self._of(latest)
        if rank is None:
            return None
        for start, end in self.facts.loops.get(id(self.scope), []):
            if start <= self.line <= end:
                for event in events:            # a later iteration reaches the line with what the loop assigns
                    if start <= event[1] <= end and event is not latest and self._of(event, {name: rank}) != rank:
                        return None
        return rank

    def _module(self, name: str):
        return _Ranks(self.facts, self.facts.tree, 10 ** 9).name(name) if name not in self.facts.aliases else None

    def _of(self, event, assume: dict | None = None):
        given = event[3]
        if given is None:
            return None
        if isinstance(given, tuple):
            if given[0] == "param":
                known = self.params.get(given[1])
                return known if known is not None else given[2]
            return given[1]
        if self.depth > 20:
            return None
        inner = _Ranks(self.facts, self.scope, event[1], self.cls, {**self.assuming, **(assume or {})}, self.params)
        inner.depth = self.depth + 1
        try:
            return inner.rank(given)
        except _Impossible:
            return None

    def dotted(self, node) -> str | None:
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        head = node.id
        if head in self.facts.aliases and self.name(head) is None:
            head = self.facts.aliases[head]
        return ".".join([head, *reversed(parts)])

    def rank(self, node):
        method = getattr(self, "r_" + type(node).__name__, None)
        return method(node) if method is not None else None

    def r_Constant(self, node):
        return 0 if isinstance(node.value, (int, float)) and not isinstance(node.value, bool) else None

    def r_Name(self, node):
        return self.name(node.id)

    def r_UnaryOp(self, node):
        return self.rank(node.operand)

    def r_IfExp(self, node):
        a, b = self.rank(node.body), self.rank(node.orelse)
        return a if a == b else None

    def r_Tuple(self, node):
        return tuple(self.rank(e) for e in node.elts)

    def r_BinOp(self, node):
        left, right = self.rank(node.left), self.rank(node.right)
        if not (isinstance(left, int) and isinstance(right, int)):
            return None
        if isinstance(node.op, ast.MatMult):
            if left == 0 or right == 0:
                return None
            if left == 1 and right == 1:
                return 0
            if left == 1 or right == 1:
                return max(left, right) - 1
            return max(left, right)
        return max(left, right)

    def r_Attribute(self, node):
        if self.dotted(node) in ("math.pi", "math.e", "math.tau", "numpy.pi", "numpy.e", "torch.pi", "math.inf",
                                 "numpy.inf"):
            return 0
        base = self.rank(node.value)
        if node.attr in ("T", "mT", "data", "real") and isinstance(base, int):
            return base
        if node.attr in ("values", "indices") and isinstance(base, Pair):
            return base.rank
        return None

    def r_Subscript(self, node):
        key = node.slice
        if isinstance(node.value, ast.Attribute) and node.value.attr == "shape":
            self._check(_integer(key), self.rank(node.value.value), "the tensor")
            return 0 if _integer(key) is not None else None
        base = self.rank(node.value)
        if isinstance(base, Pair):
            return base.rank if _integer(key) in (0, 1) else None
        if isinstance(base, tuple):
            k = _integer(key)
            return base[k] if k is not None and -len(base) <= k < len(base) else None
        if not isinstance(base, int):
            return None
        elements = key.elts if isinstance(key, ast.Tuple) else [key]
        taken = added = 0
        for element in elements:
            if isinstance(element, ast.Constant) and element.value is Ellipsis:
                return None
            if isinstance(element, ast.Slice):
                taken += 1
            elif isinstance(element, ast.Constant) and element.value is None:
                added += 1
            elif _integer(element) is not None or self.rank(element) == 0 and not isinstance(element, ast.Constant):
                taken += 1
                added -= 1
            else:
                return None                        # a tensor of indices: advanced indexing
        if taken > base:
            raise _Impossible(f"{taken} indices for a tensor of rank {base}")
        return base + added

    def r_Call(self, node):
        func = node.func
        args = node.args
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        if any(isinstance(a, ast.Starred) for a in args) or any(k.arg is None for k in node.keywords):
            return None
        if isinstance(func, ast.Attribute):
            dotted = self.dotted(func)
            library = dotted is not None and dotted.rpartition(".")[0] in _TORCH
            if library:
                return self._function(dotted.rpartition(".")[2], args, keywords)
            if isinstance(func.value, ast.Name) and func.value.id in ("self", "cls") and self.cls:
                return self._follow(f"{self.cls}.{func.attr}", args, keywords, skip=1)
            return self._method(func.attr, self.rank(func.value), args, keywords)
        if isinstance(func, ast.Name):
            if func.id in ("len", "float", "int", "round"):
                return 0
            if func.id in self.facts.functions and self.name(func.id) is None:
                return self._follow(func.id, args, keywords)
        return None

    def _follow(self, name: str, args, keywords, skip: int = 0):
        """What the file's own function returns, given the ranks of this call's arguments."""
        function = self.facts.functions.get(name)
        if function is None or self.depth > 8:
            return None
        names = [a.arg for a in function.args.posonlyargs + function.args.args][skip:]
        params = {}
        for param, arg in [*zip(names, args), *((k, v) for k, v in keywords.items() if k in names)]:
            rank = self.rank(arg)
            if isinstance(rank, int):
                params[param] = rank
        return self.facts.returns(name, params)

    def _dim(self, name: str, args, keywords, position: int | None = None):
        value = keywords.get("dim", keywords.get("axis"))
        position = _DIM_ARG.get(name) if position is None else position
        if value is None and position is not None and len(args) > position:
            value = args[position]
        return None if value is None else _integer(value) if _integer(value) is not None else "unknown"

    def _check(self, dim, rank, what: str, extra: int = 0):
        size = max(rank + extra, 1) if isinstance(rank, int) else 0     # torch lets a 0-d tensor take dim 0 or -1
        if isinstance(dim, int) and size and not -size <= dim < size:
            raise _Impossible(f"dim={dim} of {what} of rank {rank + extra}")

    def _function(self, name: str, args, keywords):
        if name in _CREATE:
            sizes = args[:1] if name == "full" else args
            if len(sizes) == 1 and isinstance(sizes[0], (ast.Tuple, ast.List)):
                return len(sizes[0].elts)
            if "size" in keywords and isinstance(keywords["size"], (ast.Tuple, ast.List)):
                return len(keywords["size"].elts)
            if sizes and all(self.rank(a) == 0 for a in sizes) and name != "full":
                return len(sizes)
            return None
        if name == "randint":
            size = keywords.get("size", args[2] if len(args) > 2 else args[1] if len(args) == 2 else None)
            return len(size.elts) if isinstance(size, (ast.Tuple, ast.List)) else None
        if name in ("arange", "linspace", "logspace", "randperm"):
            return 1
        if name == "eye":
            return 2
        if name in ("stack", "cat", "concatenate", "concat", "hstack", "vstack"):
            items = args[0] if args else keywords.get("tensors")
            if not isinstance(items, (ast.Tuple, ast.List)):
                return None
            known = {r for r in (self.rank(e) for e in items.elts) if isinstance(r, int)}
            if len(known) != 1:
                return None
            rank = known.pop()
            dim = self._dim(name, args, keywords, 1)
            if name == "stack":
                self._check(dim, rank, "the stacked result", 1)
                return rank + 1
            if name in ("cat", "concatenate", "concat"):
                self._check(dim if dim is not None else 0, rank, "the tensors joined")
            return rank
        if name == "one_hot" and args:
            rank = self.rank(args[0])
            return rank + 1 if isinstance(rank, int) else None
        if name == "matmul" and len(args) == 2:
            return self.r_BinOp(ast.BinOp(args[0], ast.MatMult(), args[1]))
        if args and (name in _LIKE or name in _REDUCE or name in _DIM_ARG):
            return self._method(name, self.rank(args[0]), args[1:], keywords)
        return None

    def _method(self, name: str, rank, args, keywords):
        if not isinstance(rank, int):
            if name in ("view", "reshape") and args:
                return self._reshaped(args)
            return None
        if name in ("view", "reshape"):
            return self._reshaped(args)
        if name in ("flatten", "ravel") and not args and not keywords:
            return 1
        if name in ("item", "tolist") or name == "numel":
            return 0 if name != "tolist" else None
        dim = self._dim(name, args, keywords)
        if name in ("unsqueeze", "expand_dims"):
            self._check(dim, rank, "the result", 1)
            return rank + 1 if dim is not None else None
        if name == "squeeze":
            self._check(dim, rank, "the tensor")
            return None if dim is None else rank - 1 if dim != "unknown" else None
        if name == "size" or name == "shape":
            self._check(dim, rank, "the tensor")
            return 0 if dim is not None else None
        if name in _REDUCE:
            self._check(dim, rank, "the tensor")
            if dim is None:
                return 0 if name not in ("max", "min") or not args else None
            keep = keywords.get("keepdim", keywords.get("keepdims"))
            kept = isinstance(keep, ast.Constant) and keep.value is True
            out = rank if kept else rank - 1
            if name in _PAIRS and dim is not None and not (name in ("max", "min") and args and self.rank(args[0]) != 0
                                                           and _integer(args[0]) is None):
                return Pair(out)
            return out if keep is None or isinstance(keep, ast.Constant) else None
        if name in ("split", "chunk", "unbind", "gather", "index_select", "narrow", "softmax", "log_softmax",
                    "cumsum", "cumprod", "flip"):
            self._check(dim, rank, "the tensor")
            return rank if name in ("gather", "index_select", "narrow", "softmax", "log_softmax", "cumsum",
                                    "cumprod", "flip") else None
        if name in ("t",):
            return rank if rank <= 2 else None
        if name in _KEEP_METHODS:
            return rank
        return None

    def _reshaped(self, args):
        if len(args) == 1 and isinstance(args[0], (ast.Tuple, ast.List)):
            return None if any(isinstance(e, ast.Starred) for e in args[0].elts) else len(args[0].elts)
        if len(args) == 1 and isinstance(args[0], ast.BinOp):
            return None                       # `(-1,) + space.shape`
        return len(args) if args and all(self.rank(a) == 0 or _integer(a) is not None for a in args) else None

    def r_Compare(self, node):
        ranks = [self.rank(node.left), *(self.rank(c) for c in node.comparators)]
        return max(ranks) if all(isinstance(r, int) for r in ranks) else None


def _integer(node) -> int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and isinstance(node.operand.value, int) and not isinstance(node.operand.value, bool):
        return -node.operand.value
    return None


# ----- the public interface --------------------------------------------------------------------------
def facts(index) -> _Facts | None:
    """The file's rank facts, computed once per SourceIndex."""
    cached = index.probe_cache.get("<ranks>", False)
    if cached is False:
        try:
            cached = _Facts(index.text, index.aliases)
        except (SyntaxError, ValueError, RecursionError):
            cached = None
        index.probe_cache["<ranks>"] = cached
    return cached


def impossible(code: str, line: int, index) -> str:
    """Why `code`, standing at `line` of the file, cannot run for the ranks the file shows ("" if it may)."""
    known = facts(index)
    if known is None:
        return ""
    try:
        tree = probe.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return ""
    scope, cls = known.scope_at(line)
    ranks = _Ranks(known, scope, line, cls)
    try:
        for node in ast.walk(tree):
            if isinstance(node, ast.expr):
                ranks.rank(node)
    except _Impossible as exc:
        return str(exc)
    except RecursionError:
        return ""
    return ""
