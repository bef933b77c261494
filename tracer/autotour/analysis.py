"""Which lines of a training run matter: a def-use analysis of the statements that ran in the probe.

1. Statements: every statement the short run executed (anchors' parse, so anchors and qualified names agree),
   with what it reads, writes and calls (ast) and what the probe saw (hits, first-run order, gradient mode, the
   kinds and shapes of what it wrote).
2. The gradient slice: starting from the `.backward()` calls and the optimiser steps, follow each name read back
   to the statements that define it (in its function, its class's `self.` attributes, its module; a parameter
   to the call sites the run used) and each call into the repository to that function's returns. Work done under
   `no_grad` that feeds the loss (advantages, targets) is in the slice like the rest.
3. Roles: backward, update, loss, model, optimiser, data, environment, evaluation, checkpoint, each recognised
   from the code and the values seen; a score per statement.
4. Steps: neighbouring chosen statements of one block form one step; 12-30 steps, in the order the run first
   reached them.
"""
from __future__ import annotations

import ast
import json
import re
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path

from ..engine import anchors
from .probe import _MUTATORS, _chain, _flatten, _targets

MIN_STEPS, MAX_STEPS = 12, 30
GROUP_STATEMENTS, GROUP_LINES = 6, 8
ROLE_QUOTA = {"architecture": 3, "eval": 5, "eval_mode": 1, "data": 3, "data_loop": 1, "batch": 2, "example": 2,
              "env": 2, "env_step": 3, "optimizer": 2, "model": 2, "trainer": 1, "scheduler": 2, "lr": 1,
              "checkpoint": 1, "diagnostic": 2, "sample": 2, "zero_grad": 1, "clip": 1}

_LOSS_FUNCTIONS = {"cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div",
                   "binary_cross_entropy", "binary_cross_entropy_with_logits", "ctc_loss", "cosine_embedding_loss",
                   "margin_ranking_loss", "triplet_margin_loss", "criterion", "loss_fn", "loss_fct"}
_NOISE_CALLS = {"print", "pprint", "breakpoint", "input"}
_NOISE_ATTRS = {"add_scalar", "add_scalars", "add_text", "add_histogram", "add_image", "add_figure", "add_argument",
                "add_argument_group", "set_description", "set_postfix", "writerow", "writerows", "log_metrics",
                "log_dict", "flush", "info", "debug", "warning", "warn"}
_NOISE_BASES = {"logging", "logger", "wandb", "writer", "tb_writer", "tqdm", "parser", "time", "os", "json", "sys",
                "warnings", "shutil", "pathlib", "argparse", "random"}
_OPTIMISER_NAME = re.compile(r"optim|^opt$|^opt_|sgd|adam|rmsprop", re.I)
_ENV_NAME = re.compile(r"env", re.I)
_EVAL_FUNCTION = re.compile(r"eval|test|valid|estimate|accuracy|score|generate|sample", re.I)
_EVAL_CALL = re.compile(r"^(evaluate\w*|eval\w*|test\w*|validate\w*|estimate\w*|accuracy|generate)$")
_MATH_CALLS = {"exp", "log", "sqrt", "clamp", "softmax", "log_softmax", "mean", "sum", "max", "min", "std", "var",
               "matmul", "mm", "bmm", "einsum", "sample", "log_prob", "entropy", "tanh", "relu", "sigmoid", "gelu",
               "argmax", "masked_fill", "where", "norm", "pow", "abs", "cumsum", "gather", "cat", "stack",
               "linear", "conv2d", "dropout", "layer_norm", "topk", "multinomial"}


@dataclass
class Stmt:
    path: Path
    line: int
    end_line: int
    function: str
    code: str
    node: ast.stmt
    block: int                      # id of the statement list holding it
    index: int                      # its position there
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    calls: tuple[str, ...] = ()      # called chains: "loss.backward", "torch.zeros", ".mean" (on a call's result)
    comment: str = ""                # a full-line comment right above it
    trailing: str = ""               # a comment at the end of its line
    hits: int = 0
    first: int = 0
    nograd: bool = False
    values: dict = field(default_factory=dict)
    parent_if: "Stmt | None" = None
    depth: int | None = None         # distance from a backward/update call in the gradient slice
    via: tuple | None = None         # (the statement it feeds, the name that links them)
    roles: dict = field(default_factory=dict)   # role -> score
    api: set = field(default_factory=set)        # torch APIs it certainly calls (for their notes)
    idioms: list = field(default_factory=list)
    score: float = 0.0

    @property
    def key(self) -> tuple[str, int]:
        return (str(self.path), self.line)

    @property
    def compound(self) -> bool:
        return isinstance(self.node, (ast.For, ast.AsyncFor, ast.While, ast.If, ast.With, ast.AsyncWith, ast.Try))

    def value_kinds(self) -> set[str]:
        return {v.get("kind") for v in self.values.values()}

    def role(self) -> str:
        return max(self.roles, key=self.roles.get) if self.roles else "slice"


@dataclass
class Function:
    path: Path
    qualname: str
    params: tuple[str, ...]
    returns: list[int]               # lines of its own return/yield statements


@dataclass
class Group:
    statements: list[Stmt]
    score: float = 0.0

    @property
    def head(self) -> Stmt:
        return self.statements[0]

    @property
    def end_line(self) -> int:
        return self.statements[-1].end_line

    def role(self) -> str:
        best = max(self.statements, key=lambda s: s.score)
        return best.role()


@dataclass
class Analysis:
    statements: dict[tuple[str, int], Stmt]
    groups: list[Group]              # the steps, in run order
    sinks: list[Stmt]
    training_loop: Stmt | None
    probe: dict


# ----- reading the code --------------------------------------------------------------------------------------
def _header_parts(node: ast.stmt) -> list[ast.AST]:
    if isinstance(node, (ast.For, ast.AsyncFor)):
        return [node.target, node.iter]
    if isinstance(node, (ast.While, ast.If)):
        return [node.test]
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return list(node.items)
    if isinstance(node, ast.Try):
        return []
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return []
    return [node]


def _semantics(node: ast.stmt) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(reads, writes, calls) of a statement (its header for a compound statement)."""
    writes = list(_targets(node))                # the probe's own reading of what a statement assigns
    reads, calls = [], []
    if isinstance(node, ast.AugAssign):
        reads += writes                          # x += v reads x
    elif isinstance(node, ast.Assign):           # x[i] = v reads x
        reads += [_chain(t) for target in node.targets for t in _flatten(target)
                  if isinstance(t, ast.Subscript) and _chain(t)]
    for part in _header_parts(node):
        for sub in ast.walk(part):
            if isinstance(sub, ast.Call):
                chain = _chain(sub.func, through_subscripts=False)
                if chain:
                    calls.append(chain)
                elif isinstance(sub.func, ast.Attribute):
                    calls.append("." + sub.func.attr)
            if isinstance(sub, (ast.Name, ast.Attribute)) and isinstance(getattr(sub, "ctx", None), ast.Load):
                chain = _chain(sub, through_subscripts=False)
                if chain:
                    reads.append(chain)
    return tuple(dict.fromkeys(reads)), tuple(dict.fromkeys(writes)), tuple(dict.fromkeys(calls))


def _functions(tree: ast.Module, path: Path) -> dict[int, Function]:
    """Functions by every line their code object may start on (the def's line and its first decorator's)."""
    found: dict[int, Function] = {}

    def visit(node, scope: list[str]):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                qualname = ".".join([*scope, child.name])
                args = child.args
                params = tuple(a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs,
                                                *([args.vararg] if args.vararg else []),
                                                *([args.kwarg] if args.kwarg else [])])
                returns = [sub.lineno for sub in _own_nodes(child) if isinstance(sub, ast.Return)]
                function = Function(path, qualname, params, returns)
                found[child.lineno] = function
                if child.decorator_list:
                    found[min(d.lineno for d in child.decorator_list)] = function
                visit(child, [*scope, child.name])
            elif isinstance(child, ast.ClassDef):
                visit(child, [*scope, child.name])
            else:
                visit(child, scope)

    visit(tree, [])
    return found


def _own_nodes(function: ast.AST):
    """Nodes of a function's body, not of the functions and classes defined inside it."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))


_COMMENT = re.compile(r"^\s*#\s?(.*)$")


def _comments(lines: list[str], stmt_line: int, code_line: str) -> tuple[str, str]:
    above = []
    i = stmt_line - 2
    while i >= 0:
        match = _COMMENT.match(lines[i])
        if not match:
            break
        above.insert(0, match.group(1).strip())
        i -= 1
    trailing = ""
    if "#" in code_line:
        try:
            import io
            import tokenize
            for tok in tokenize.generate_tokens(io.StringIO(code_line).readline):
                if tok.type == tokenize.COMMENT:
                    trailing = tok.string.lstrip("#").strip()
        except (tokenize.TokenError, IndentationError, SyntaxError):
            pass
    return " ".join(a for a in above if a), trailing


def load_statements(probe: dict, classes: dict | None = None
                    ) -> tuple[dict[tuple[str, int], Stmt], dict[tuple[str, int], Function]]:
    """Every statement of the files the run touched, with what the probe saw of it; functions by first line;
    `classes` (filled if given): the repository's class names -> their method names."""
    statements: dict[tuple[str, int], Stmt] = {}
    functions: dict[tuple[str, int], Function] = {}
    classes = {} if classes is None else classes
    for file, seen in probe["files"].items():
        path = Path(file)
        try:
            text = anchors.read_source(path)      # honours a coding cookie or a BOM, as Python does
            tree = ast.parse(text)
            parsed = anchors.parse_file(path)
        except (OSError, SyntaxError, UnicodeDecodeError, anchors.AnchorError):
            continue
        lines = text.splitlines()
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                classes.setdefault(node.name, set()).update(
                    n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
        for line, function in _functions(tree, path).items():
            functions[(file, line)] = function
        nodes: dict[int, tuple[ast.stmt, int, int, ast.stmt | None]] = {}

        def index_block(owner):
            for name in ("body", "orelse", "finalbody"):
                block = getattr(owner, name, None)
                if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                    for i, stmt in enumerate(block):
                        if stmt.lineno not in nodes:
                            nodes[stmt.lineno] = (stmt, id(block), i, owner if isinstance(owner, ast.If) else None)
                        index_block(stmt)
            for handler in getattr(owner, "handlers", []) or []:
                index_block(handler)

        index_block(tree)
        hits, first, values = seen["hits"], seen["first"], seen["values"]
        nograd = set(seen["nograd"])
        for st in parsed.statements:
            if st.line not in nodes:
                continue
            node, block, index, parent_if = nodes[st.line]
            reads, writes, calls = _semantics(node)
            comment, trailing = _comments(lines, st.line, lines[st.line - 1] if st.line <= len(lines) else "")
            seen_values = dict(values.get(str(st.line), {}))
            if not isinstance(node, ast.Return):
                seen_values.pop("return", None)  # the probe saw the frame return after this statement
            stmt = Stmt(path, st.line, st.end_line, st.function, st.code, node, block, index, reads, writes, calls,
                        comment, trailing, hits.get(str(st.line), 0), first.get(str(st.line), 0),
                        st.line in nograd, seen_values)
            stmt.parent_if = parent_if       # replaced by the Stmt below
            statements[stmt.key] = stmt
        for stmt in statements.values():
            if stmt.path == path and isinstance(stmt.parent_if, ast.If):
                stmt.parent_if = statements.get((file, stmt.parent_if.lineno))
    return statements, functions


# ----- the gradient slice ---------------------------------------------------------------------------------------
class _Index:
    def __init__(self, statements: dict, functions: dict, calls: list, classes: dict | None = None):
        self.functions = functions
        self.classes = classes or {}
        self.defs: dict[tuple, list[Stmt]] = defaultdict(list)
        self.by_function: dict[tuple[str, str], list[Stmt]] = defaultdict(list)
        for stmt in statements.values():
            if not stmt.hits:
                continue
            self.by_function[(str(stmt.path), stmt.function)].append(stmt)
            for name in stmt.writes:
                scope = stmt.function
                if name.startswith("self.") and "." in stmt.function:
                    scope = stmt.function.rsplit(".", 1)[0]          # the class
                self.defs[(str(stmt.path), scope, name)].append(stmt)
                if "." in name and not name.startswith("self."):
                    self.defs[(str(stmt.path), stmt.function, name.split(".")[0])].append(stmt)
        self.callees: dict[tuple[str, int], list[Function]] = defaultdict(list)
        self.callers: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
        for caller_path, caller_line, callee_path, callee_line, _ in calls:
            function = functions.get((callee_path, callee_line))
            if function is None:
                continue
            self.callees[(caller_path, caller_line)].append(function)
            self.callers[(callee_path, function.qualname)].append((caller_path, caller_line))
        self.params = {(str(f.path), f.qualname): f.params for f in functions.values()}
        self.statements = statements

    def definitions(self, stmt: Stmt, chain: str, context: Stmt | None = None) -> list[Stmt]:
        """Statements that may define `chain` as `stmt` reads it. A parameter leads to the call sites of its
        function; to `context` alone when the slice entered the function from that call site."""
        path = str(stmt.path)
        base = chain.split(".")[0]
        if chain.startswith("self.") and "." in stmt.function:
            cls = stmt.function.rsplit(".", 1)[0]
            parts = chain.split(".")
            for n in range(len(parts), 1, -1):
                found = self.defs.get((path, cls, ".".join(parts[:n])))
                if found:
                    return found
            return []
        scope = stmt.function
        while True:
            found = self.defs.get((path, scope, base))
            if found:
                return found
            if base in self.params.get((path, scope), ()):
                callers = [self.statements[c] for c in self.callers.get((path, scope), ()) if c in self.statements]
                if context is not None and scope == stmt.function and context in callers:
                    return [context]
                return callers
            if scope == "<module>":
                return []
            scope = scope.rsplit(".", 1)[0] if "." in scope else "<module>"

    def returns(self, function: Function) -> list[Stmt]:
        return [self.statements[(str(function.path), line)] for line in function.returns
                if (str(function.path), line) in self.statements]


def _is_backward(stmt: Stmt) -> bool:
    return any(c == "backward" or c.endswith(".backward") for c in stmt.calls)


def _receiver(calls: tuple[str, ...], method: str) -> list[str]:
    return [c[: -len(method) - 1] for c in calls if c.endswith("." + method) and len(c) > len(method) + 1]


def _is_update(stmt: Stmt, index: _Index) -> bool:
    for receiver in _receiver(stmt.calls, "step"):
        last = receiver.split(".")[-1]
        if _OPTIMISER_NAME.search(last):
            return True
        for d in index.definitions(stmt, receiver):
            if any(v.get("kind") == "optimizer" for v in d.values.values()):
                return True
    return False


def gradient_slice(statements: dict, index: _Index, max_depth: int = 14) -> list[Stmt]:
    """Mark every statement whose values may reach a backward call (first) or an optimiser step (then) with its
    distance and the link it feeds (`depth`, `via`); returns those sinks."""
    ran = sorted((s for s in statements.values() if s.hits), key=lambda s: s.first)
    backward = [s for s in ran if _is_backward(s)]
    updates = [s for s in ran if _is_update(s, index) and s not in backward]
    for sinks in (backward, updates):
        queue = deque()
        for sink in sinks:
            if sink.depth is None:
                sink.depth, sink.via = 0, None
                queue.append((sink, False, None))
        while queue:
            stmt, arguments_only, context = queue.popleft()
            if stmt.depth >= max_depth:
                continue
            found: list[tuple[Stmt, str, bool, Stmt | None]] = []
            params = index.params.get((str(stmt.path), stmt.function), ())
            for chain in stmt.reads:
                for d in index.definitions(stmt, chain, context):
                    through_parameter = d.function != stmt.function and chain.split(".")[0] in params
                    same_scope = d.function == stmt.function and d.path == stmt.path
                    found.append((d, chain, through_parameter, context if same_scope else None))
            if not arguments_only:     # a call site reached through a parameter: its arguments, not its results
                for function in index.callees.get(stmt.key, ()):
                    found += [(r, f"{function.qualname}()", False, stmt) for r in index.returns(function)]
            for d, name, through_parameter, d_context in found:
                if d.depth is None and d.hits:
                    d.depth, d.via = stmt.depth + 1, (stmt, name)
                    queue.append((d, through_parameter, d_context))
    return backward + updates


# ----- roles and scores -------------------------------------------------------------------------------------------
def _value_kinds_of(stmt: Stmt, chain: str, index: _Index) -> set[str]:
    kinds = set()
    for d in index.definitions(stmt, chain):
        for name, value in d.values.items():
            if name == chain or name == "return" or len(d.values) == 1:
                kinds.add(value.get("kind"))
                kinds.add(value.get("type"))
    return kinds


def _noise(stmt: Stmt) -> bool:
    node = stmt.node
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.Pass, ast.Global, ast.Nonlocal, ast.Assert, ast.Raise,
                         ast.Break, ast.Continue, ast.Try, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return True                                      # a docstring
    for call in stmt.calls:
        base, attr = call.split(".")[0], call.rsplit(".", 1)[-1]
        if call in _NOISE_CALLS or (attr in _NOISE_ATTRS and "." in call) or (base in _NOISE_BASES and not stmt.writes):
            return True
    return False


def assign_roles(statements: dict, index: _Index, training_function: str | None, sinks: list[Stmt] = ()) -> None:
    training_class = training_function.rsplit(".", 1)[0] if training_function and "." in training_function else None
    if training_class and training_class not in index.classes:
        training_class = None
    index.model_classes = {name for name, methods in index.classes.items()
                           if methods & {"forward", "predict", "backward"}}
    update_impl = set()                          # statements of the repository's own optimiser step
    for sink in sinks:
        if _is_update(sink, index):
            for function in index.callees.get(sink.key, ()):
                update_impl.update(s.key for s in index.by_function.get((str(function.path), function.qualname), ()))
    for stmt in statements.values():
        if not stmt.hits or _noise(stmt):
            continue
        roles = stmt.roles
        kinds = stmt.value_kinds()
        types = {v.get("type", "") for v in stmt.values.values()}
        autograd_values = {t for t in types if "backward" in index.classes.get(t, ())}   # micrograd's Value
        tensorish = bool(kinds & {"tensor", "array", "tensors"} or autograd_values)
        attrs = {c.rsplit(".", 1)[-1] for c in stmt.calls}
        function_name = stmt.function.rsplit(".", 1)[-1]
        if _is_backward(stmt):
            roles["backward"] = 100
            if any("tensor" in _value_kinds_of(stmt, r, index) for r in _receiver(stmt.calls, "backward")):
                stmt.api.add("backward")
        if any(c.endswith(".step") for c in stmt.calls) and _is_update(stmt, index) and \
                any("optimizer" in _value_kinds_of(stmt, r, index) for r in _receiver(stmt.calls, "step")):
            stmt.api.add("update")
        stmt.api.update(a for a, names in (("zero_grad", {"zero_grad"}), ("clip", {"clip_grad_norm_", "clip_grad_value_"}),
                                           ("sample", {"sample"})) if attrs & names)
        if "eval" in attrs and not stmt.writes:
            stmt.api.add("eval_mode")
        if "DataLoader" in types:
            stmt.api.add("data")
        if _is_update(stmt, index):
            roles["update"] = 90
        if "zero_grad" in attrs or (isinstance(stmt.node, ast.Assign) and any(w.endswith(".grad") for w in stmt.writes)
                                    and isinstance(stmt.node.value, ast.Constant)):
            roles["zero_grad"] = 60
        by_hand = isinstance(stmt.node, ast.AugAssign) and isinstance(stmt.node.op, (ast.Add, ast.Sub)) or (
            isinstance(stmt.node, ast.Expr) and attrs & {"add_", "sub_", "copy_", "addcmul_", "addcdiv_"})
        if by_hand and any(r.endswith(".grad") for r in stmt.reads) and not any(w.endswith(".grad")
                                                                               for w in stmt.writes):
            roles["update"] = 85                 # p.data -= lr * p.grad, p.data.add_(-lr * p.grad): by hand
        if attrs & {"clip_grad_norm_", "clip_grad_value_"}:
            roles["clip"] = 60
        wrote_loss = any("loss" in w.rsplit(".", 1)[-1].lower() for w in stmt.writes)
        if (wrote_loss and tensorish) or (attrs & _LOSS_FUNCTIONS and stmt.depth is not None):
            roles["loss"] = 80 if stmt.depth is not None else 45
        value = getattr(stmt.node, "value", None)
        constructs = value is not None and any(isinstance(n, ast.Call) for n in ast.walk(value))
        repo_types = {t for t in types if t in index.classes}
        methods = set().union(*(index.classes[t] for t in repo_types)) if repo_types else set()
        if constructs and isinstance(stmt.node, (ast.Assign, ast.AnnAssign)):
            plain = all("." not in w for w in stmt.writes)
            if "module" in kinds or methods & {"forward", "predict", "__call__"}:
                roles["model" if plain else "architecture"] = 70 if plain else 48
            if "step" in methods and ("zero_grad" in methods or any(_OPTIMISER_NAME.search(t) for t in repo_types)):
                roles["optimizer"] = 65
            if training_class and training_class in repo_types:
                roles["trainer"] = 60
        if stmt.function.split(".")[0] in index.model_classes and stmt.function.endswith("__init__") and \
                tensorish and any(w.startswith("self.") for w in stmt.writes):
            roles["architecture"] = 48           # the parameters of a model written by hand
        if stmt.key in update_impl and (any(c.rsplit(".", 1)[-1] in _MUTATORS for c in stmt.calls)
                                        or isinstance(stmt.node, ast.AugAssign)):
            roles["update"] = 85                 # inside a hand-written optimiser's step()
        if tensorish and attrs & {"sample", "multinomial"}:
            roles["sample"] = 50
        if "optimizer" in kinds and constructs:
            roles["optimizer"] = 65
        if "scheduler" in kinds:
            roles["scheduler"] = 45
        if any("param_groups" in w for w in stmt.writes):
            roles["lr"] = 48
        for receiver in _receiver(stmt.calls, "step"):
            if "update" in roles:
                break
            receiver_kinds = _value_kinds_of(stmt, receiver, index)
            if "scheduler" in receiver_kinds or "sched" in receiver.lower():
                roles["scheduler"] = 45
            elif _ENV_NAME.search(receiver) or any("Env" in str(k) for k in receiver_kinds):
                roles["env_step"] = 70
        if any(_ENV_NAME.search(c) and c.rsplit(".", 1)[-1] in ("make", "make_vec", "SyncVectorEnv", "AsyncVectorEnv")
               for c in stmt.calls) or any(t.endswith("VectorEnv") or t.endswith("Env") for t in types):
            roles["env"] = 55
        if "loader" in kinds and constructs:
            roles["data"] = 60
        if isinstance(stmt.node, (ast.For, ast.AsyncFor)):
            iter_reads = _semantics(ast.Expr(stmt.node.iter))[0]
            if any("loader" in _value_kinds_of(stmt, r, index) for r in iter_reads):
                roles["data_loop"] = 55
        if tensorish and ("next" in stmt.calls or any("batch" in c.lower() for c in stmt.calls)):
            roles["batch"] = 55
        if tensorish and any(w.lower() in ("data", "x", "xb", "inputs", "batch") for w in stmt.writes) and \
                any(c.endswith(".to") for c in stmt.calls):
            roles["batch"] = 45
        if attrs & {"eval"} and not stmt.writes:
            roles["eval_mode"] = 40
        if stmt.depth is None and (tensorish or "number" in kinds) and _EVAL_FUNCTION.search(function_name) \
                and not _EVAL_FUNCTION.search(training_function or "-"):
            roles["eval"] = 45
        if stmt.depth is None and tensorish and (attrs & {"argmax", "eq", "generate"} or (
                value is not None and any(isinstance(n, ast.Compare) for n in ast.walk(value)))):
            roles["eval"] = max(roles.get("eval", 0), 45)
        if "save" in attrs and any(c.startswith("torch.") for c in stmt.calls):
            roles["checkpoint"] = 50
        if stmt.depth is None and (tensorish or "number" in kinds) and stmt.writes and _maths(stmt) > 0 and \
                not stmt.compound and any(d.depth is not None and d.value_kinds() & {"tensor", "array"}
                                          for r in stmt.reads for d in index.definitions(stmt, r)):
            roles["diagnostic"] = 42             # a metric computed from the training step's values
        if _EVAL_FUNCTION.search(function_name) and not _EVAL_FUNCTION.search(training_function or "-"):
            for role in ("env", "env_step", "batch", "data", "data_loop"):
                if role in roles:
                    roles["eval"] = max(roles.pop(role) - 30, roles.get("eval", 0), 45)
        if any(_EVAL_CALL.match(c.rsplit(".", 1)[-1]) for c in stmt.calls) and stmt.depth is None:
            roles["eval"] = max(roles.get("eval", 0), 45)
        if stmt.depth is not None and tensorish:
            roles["slice"] = 52 - 1.5 * min(stmt.depth, 12) + _maths(stmt)
        if stmt.depth is not None and "module" in kinds and constructs and not isinstance(stmt.node, ast.Return):
            roles.setdefault("architecture", 40)
        if stmt.function.endswith(".__getitem__") and tensorish and stmt.writes:
            roles["example"] = 50                # how one example of a dataset is made
        if "eval" in roles:                      # within evaluation: computations over bookkeeping
            calls_model = any(f.qualname.rsplit(".", 1)[0] in index.model_classes
                              for f in index.callees.get(stmt.key, ()))
            roles["eval"] += _maths(stmt) + (6 if tensorish else -6) + (6 if calls_model else 0)


def _maths(stmt: Stmt) -> float:
    """+6 for a line that computes (operators, maths calls), -8 for one that only copies or indexes."""
    value = getattr(stmt.node, "value", None)
    if isinstance(value, ast.Name):
        return -15                               # `a = x`: another name for the same value
    if isinstance(value, (ast.Subscript, ast.Attribute, ast.Constant)):
        return -8
    for sub in ast.walk(stmt.node):
        if isinstance(sub, ast.Subscript):
            continue
        if isinstance(sub, (ast.BinOp, ast.UnaryOp)) and not isinstance(getattr(sub, "op", None), ast.Not):
            return 6
        if isinstance(sub, ast.Call) and isinstance(sub.func, (ast.Attribute, ast.Name)):
            name = sub.func.attr if isinstance(sub.func, ast.Attribute) else sub.func.id
            if name in _MATH_CALLS:
                return 6
    return 0


def score(statements: dict) -> None:
    for stmt in statements.values():
        if not stmt.roles:
            continue
        value = max(stmt.roles.values())
        if stmt.comment:
            value += 8
        if stmt.trailing:
            value += 3
        if stmt.idioms:
            value += 15
        if stmt.hits > 20_000:
            value -= 25                                  # an inner loop of data generation, not the idea
        parent = stmt.parent_if
        if parent is not None and parent.hits > 2 * stmt.hits and stmt.role() not in ("eval", "checkpoint"):
            value -= 5                                   # a branch the run took only sometimes
        stmt.score = value


# ----- steps ------------------------------------------------------------------------------------------------------
def _groups(chosen: list[Stmt]) -> list[Group]:
    by_block: dict[int, list[Stmt]] = defaultdict(list)
    for stmt in chosen:
        by_block[stmt.block].append(stmt)
    groups = []
    for members in by_block.values():
        members.sort(key=lambda s: s.index)
        current: list[Stmt] = []
        for stmt in members:
            if current:
                last = current[-1]
                adjacent = stmt.index == last.index + 1 and stmt.line <= last.end_line + 1   # no blank line
                fits = len(current) < GROUP_STATEMENTS and stmt.end_line - current[0].line < GROUP_LINES
                if adjacent and fits and not stmt.comment and not last.compound and not stmt.compound:
                    current.append(stmt)
                    continue
                groups.append(Group(current))
            current = [stmt]
        if current:
            groups.append(Group(current))
    for group in groups:
        scores = sorted((s.score for s in group.statements), reverse=True)
        group.score = scores[0] + 0.25 * sum(scores[1:])
    return groups


def choose(statements: dict, min_steps: int = MIN_STEPS, max_steps: int = MAX_STEPS) -> list[Group]:
    candidates = [s for s in statements.values() if s.hits and s.score > 0]
    groups: list[Group] = []
    for threshold in (38, 30, 20, 1):
        groups = _groups([s for s in candidates if s.score >= threshold])
        if len(groups) >= min_steps:
            break
    ranked = sorted(groups, key=lambda g: (-g.score, g.head.first))
    chosen: list[Group] = []
    for role in ("backward", "update", "loss", "model", "optimizer", "data", "data_loop", "batch", "env_step", "env",
                 "eval", "zero_grad", "clip", "trainer"):
        best = next((g for g in ranked if g.role() == role or any(role in s.roles for s in g.statements)), None)
        if best is not None and best not in chosen:
            chosen.append(best)
    remaining = [g for g in ranked if g not in chosen]
    while remaining and len(chosen) < max_steps:
        # each role but the gradient path's has a quota; a function's second step of a role is worth less
        def adjusted(g: Group) -> float:
            role = g.role()
            if role in ("slice", "loss", "backward", "update"):
                return g.score
            if sum(1 for c in chosen if c.role() == role) >= ROLE_QUOTA.get(role, 2):
                return float("-inf")
            here = sum(1 for c in chosen if c.head.function == g.head.function and c.role() == role)
            return g.score - 8 * here
        best = max(remaining, key=lambda g: (adjusted(g), -g.head.first))
        if adjusted(best) == float("-inf"):
            break
        remaining.remove(best)
        writes = {w for s in best.statements for w in s.writes}
        if writes and any(c.head.function == best.head.function and c.role() == best.role() and
                          {w for s in c.statements for w in s.writes} == writes for c in chosen):
            continue                             # the other branch of an if computing the same names
        chosen.append(best)
    chosen = chosen[:max_steps]
    for group in ranked:
        if group not in chosen:
            group.score = -group.score            # marks the groups left out, for reports
    chosen.sort(key=lambda g: g.head.first)
    return chosen


def find_training_loop(statements: dict, sinks: list[Stmt]) -> Stmt | None:
    """The outermost loop around the first backward call, in its function, or at its call site's."""
    backward = next((s for s in sorted(sinks, key=lambda s: s.first) if _is_backward(s)), None) or \
        (sorted(sinks, key=lambda s: s.first)[0] if sinks else None)
    if backward is None:
        return None
    loops = [s for s in statements.values() if isinstance(s.node, (ast.For, ast.While)) and s.path == backward.path
             and s.function == backward.function and s.line < backward.line <= s.node.end_lineno and s.hits]
    return min(loops, key=lambda s: s.line) if loops else None


def analyse(probe: dict, idioms=None) -> Analysis:
    """The steps of a generated tour, from the probe's record (see the module docstring)."""
    classes: dict = {}
    statements, functions = load_statements(probe, classes)
    index = _Index(statements, functions, probe.get("calls", []), classes)
    sinks = gradient_slice(statements, index)
    loop = find_training_loop(statements, sinks)
    if idioms is not None:
        idioms(statements)
    training_function = loop.function if loop else (sinks[0].function if sinks else None)
    assign_roles(statements, index, training_function, sinks)
    score(statements)
    groups = choose(statements)
    return Analysis(statements, groups, sinks, loop, probe)


def read_probe(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))
