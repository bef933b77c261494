"""The fault library: realistic ML mistakes as data plus a few small libcst transformations.

A fault (walkthroughs/catalogue/faults.toml) is a mistake people really make in training code --
a forgotten `zero_grad`, GAE reading `dones[t]` instead of `dones[t + 1]`, the clipped objective
with min and max swapped -- with its category, the misconception behind it and a paragraph on why
it hurts. Each fault has one or more rules; a rule names a transformation primitive and its
parameters, so a teacher adds a fault by writing TOML, not code:

    rewrite       find = "$A.sum(dim=0)"  replace = "$A.mean(dim=0)"  where = { A = "d.*" }
                  (`$NAME` matches any expression; the same name twice must match the same code;
                  a statement pattern with replace = "" removes the statement)
    remove_call   call = "zero_grad"          removes a statement that only calls it
    set_keyword   call = "add_argument" first_arg = "--lr" keyword = "default" scale = 100
    unwrap_with   context = "torch\\.no_grad\\(\\)"   runs the block without its context manager
    wrap_with     find = "$L = $X" where = { L = "loss" } context = "torch.no_grad()"

`mutations(source)` finds every place where a rule applies -- in our reference repos, a learner's
edited copy or any other repository -- and returns one Mutation per place: the whole file with
exactly one statement changed. Pure (never runs the code), never an unparsable result, never a
change that leaves the program's syntax tree as it was.
"""
from __future__ import annotations

import ast
import dataclasses
import re
import textwrap
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from .. import datafile
from ..datafile import DataFileError
from ..engine.anchors import normalize

CATEGORIES = ("loss/maths", "shapes/broadcasting", "gradient flow", "training loop/optimiser",
              "data/preprocessing", "RL-specific", "hyperparameters")
CATALOGUE = Path(__file__).resolve().parent.parent.parent / "walkthroughs" / "catalogue" / "faults.toml"


class FaultError(DataFileError):
    """A fault catalogue that cannot be used as it is; the message names the file and line."""


@dataclass(frozen=True)
class Fault:
    id: str               # "no-zero-grad"
    title: str            # "optimizer.zero_grad() forgotten"
    category: str         # one of CATEGORIES
    misconception: str    # the mistake in one line, shown to a learner
    explanation: str      # a paragraph: what it does and why it hurts learning
    rules: tuple = field(default=(), compare=False, repr=False)   # the Rule objects that plant it
    example: str = field(default="", compare=False, repr=False)   # code it applies to (checked)
    convention: bool = field(default=False, compare=False, repr=False)
    # True: the change is another convention people also write on purpose (the 1/2 of a squared error, He init
    # by fan_out): a bug in a program tuned for the original, but no wrong line to a reader -- never a wrong
    # option of a question


@dataclass(frozen=True)
class Mutation:
    fault: Fault
    path: str             # the file it applies to (as given)
    line: int             # first line of the original statement changed
    end_line: int         # its last line
    original: str         # the statement's code
    mutated: str          # the statement's code after the change ("" if the statement is removed)
    source: str           # the whole file after the change: only that one statement differs

    @property
    def mutated_end_line(self) -> int:
        """Last line of the changed statement in `source` (line - 1 when it was removed)."""
        return self.line + len(self.mutated.splitlines()) - 1

    @property
    def key(self) -> str:
        """A stable name for this mutation: fault, file, line and a digest of the change."""
        import hashlib
        digest = hashlib.sha1(self.mutated.encode()).hexdigest()[:6]
        return f"{self.fault.id}@{Path(self.path).name}:{self.line}:{digest}"


# ----- the parsed file: every node with the statement it belongs to -----------------------------
@dataclass
class _Stmt:
    node: cst.CSTNode         # a small statement, or a compound statement (for expressions in its header)
    line: int
    end_line: int
    function: str             # qualified name of the enclosing function, "<module>" at top level
    line_node: cst.CSTNode | None = None   # the SimpleStatementLine of a small statement
    block: tuple = ()         # the statements of the block the statement line sits in
    owner: "_Stmt | None" = None           # the compound statement whose body that block is


class _Index(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self):
        self.scope: list[str] = []
        self.stack: list[_Stmt | None] = []
        self.blocks: list[tuple] = []
        self.compounds: list[_Stmt] = []
        self.line_nodes: list[cst.SimpleStatementLine] = []
        self.by_type: dict[type, list[tuple[cst.CSTNode, _Stmt]]] = {}

    def _pos(self, node):
        return self.get_metadata(PositionProvider, node)

    def on_visit(self, node) -> bool:
        if isinstance(node, (cst.IndentedBlock, cst.Module)):
            self.blocks.append(tuple(node.body))
        if isinstance(node, cst.SimpleStatementLine):
            self.line_nodes.append(node)
        if isinstance(node, cst.BaseSmallStatement):
            pos = self._pos(node)
            self.stack.append(_Stmt(node, pos.start.line, pos.end.line, ".".join(self.scope) or "<module>",
                                    self.line_nodes[-1] if self.line_nodes else None,
                                    self.blocks[-1] if self.blocks else (),
                                    self.compounds[-1] if self.compounds else None))
        elif isinstance(node, cst.BaseCompoundStatement):
            pos = self._pos(node)
            self.stack.append(_Stmt(node, pos.start.line, self._header_end(node), ".".join(self.scope) or "<module>",
                                    None, self.blocks[-1] if self.blocks else (),
                                    self.compounds[-1] if self.compounds else None))
            self.compounds.append(self.stack[-1])
            if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                self.scope.append(node.name.value)
        elif isinstance(node, cst.BaseSuite):
            self.stack.append(None)          # a body: its expressions belong to its own statements
        if self.stack and self.stack[-1] is not None:
            self.by_type.setdefault(type(node), []).append((node, self.stack[-1]))
        return True

    def on_leave(self, node) -> None:
        if isinstance(node, (cst.IndentedBlock, cst.Module)):
            self.blocks.pop()
        if isinstance(node, cst.SimpleStatementLine):
            self.line_nodes.pop()
        if isinstance(node, (cst.BaseSmallStatement, cst.BaseCompoundStatement, cst.BaseSuite)):
            self.stack.pop()
        if isinstance(node, cst.BaseCompoundStatement):
            self.compounds.pop()
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            self.scope.pop()

    def _header_end(self, node) -> int:
        parts = {cst.For: ("target", "iter"), cst.While: ("test",), cst.If: ("test",), cst.With: ("items",),
                 cst.FunctionDef: ("params", "returns"), cst.ClassDef: ("bases", "keywords")}.get(type(node), ())
        end = self._pos(node).start.line
        for name in parts:
            value = getattr(node, name)
            for child in (value if isinstance(value, (tuple, list)) else [value]):
                if isinstance(child, cst.CSTNode):
                    end = max(end, self._pos(child).end.line)
        return end


class _Source:
    """One parsed file: text, libcst module, node positions, nodes by type."""

    def __init__(self, text: str, path: str):
        self.text, self.path = text, path
        self.module = cst.parse_module(text)
        wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
        index = _Index()
        wrapper.visit(index)
        self.positions = wrapper.resolve(PositionProvider)
        self.by_type = index.by_type
        self.lines = text.splitlines(keepends=True)
        self._line_starts = [0]
        for line in self.lines:
            self._line_starts.append(self._line_starts[-1] + len(line))
        self._codes: dict[int, str] = {}
        self.comment_columns: dict[int, int] | None = None    # see _comment_columns

    def offset(self, line: int, column: int) -> int:
        return self._line_starts[line - 1] + column

    def span(self, node) -> tuple[int, int]:
        pos = self.positions[node]
        return self.offset(pos.start.line, pos.start.column), self.offset(pos.end.line, pos.end.column)

    def code(self, node) -> str:
        key = id(node)
        if key not in self._codes:
            start, end = self.span(node)
            self._codes[key] = self.text[start:end]
        return self._codes[key]

    def line_span(self, first: int, last: int) -> tuple[int, int]:
        return self._line_starts[first - 1], self._line_starts[min(last, len(self.lines))]


@dataclass
class _Edit:
    """Replace text[start:end] by `text`; the statement changed spans lines [line, end_line]."""
    start: int
    end: int
    text: str
    line: int
    end_line: int


# ----- patterns -----------------------------------------------------------------------------------
_META = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_PREFIX = "__fault_"
_SKIP_FIELDS = {"lpar", "rpar", "lbracket", "rbracket", "lbrace", "rbrace", "comma", "semicolon", "equal", "dot",
                "first_colon", "second_colon", "colon", "header", "footer", "leading_lines", "lines_after_decorators"}
_ATOMS = (cst.Name, cst.Attribute, cst.Subscript, cst.Call, cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString,
          cst.ConcatenatedString, cst.FormattedString, cst.List, cst.Tuple, cst.Dict, cst.Set, cst.Ellipsis)


def _collapse(code: str) -> str:
    return re.sub(r"\s*\n\s*", " ", code.strip())


def _to_placeholders(text: str) -> str:
    return _META.sub(lambda m: f"{_PREFIX}{m.group(1)}", text)


class _Pattern:
    """`find` text with $NAME metavariables, parsed once: an expression or a simple statement."""

    def __init__(self, text: str):
        self.text = text
        self.names = set(_META.findall(text))
        code = _to_placeholders(text)
        try:
            self.node = cst.parse_expression(code)
            self.is_statement = False
        except cst.ParserSyntaxError:
            try:
                line = cst.parse_statement(code)
            except cst.ParserSyntaxError as exc:
                raise ValueError(f"{text!r} is neither an expression nor a statement ({exc.message})") from None
            if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
                raise ValueError(f"{text!r}: a statement pattern must be one simple statement") from None
            self.node = line.body[0]
            self.is_statement = True

    def match(self, node, src: _Source) -> dict[str, cst.CSTNode] | None:
        bindings: dict[str, cst.CSTNode] = {}
        return bindings if _match(self.node, node, bindings, src) else None


def _number(node) -> complex | None:
    if isinstance(node, (cst.Integer, cst.Float)):
        try:
            return ast.literal_eval(node.value)
        except (ValueError, SyntaxError):
            return None
    return None


@lru_cache(maxsize=None)
def _fields(node_type: type) -> tuple[str, ...]:
    """The fields that carry meaning (not whitespace or punctuation); operators and names first: they fail fast."""
    names = [f.name for f in dataclasses.fields(node_type) if f.name not in _SKIP_FIELDS and "whitespace" not in f.name]
    return tuple(sorted(names, key=lambda name: name not in ("operator", "attr", "value", "keyword")))


def _match(p, n, bindings: dict, src: _Source) -> bool:
    if isinstance(p, cst.Name) and p.value.startswith(_PREFIX):
        name = p.value[len(_PREFIX):]
        if name == "_":
            return True
        if name in bindings:
            return normalize(src.code(bindings[name])) == normalize(src.code(n))
        bindings[name] = n
        return True
    if type(p) is not type(n):
        return False
    if isinstance(p, (cst.Integer, cst.Float)):
        return _number(p) == _number(n)
    if isinstance(p, cst.SimpleString):
        try:
            return ast.literal_eval(p.value) == ast.literal_eval(n.value)
        except (ValueError, SyntaxError):
            return p.value == n.value
    for name in _fields(type(p)):
        pv, nv = getattr(p, name), getattr(n, name)
        if isinstance(pv, cst.CSTNode):
            if not isinstance(nv, cst.CSTNode) or not _match(pv, nv, bindings, src):
                return False
        elif isinstance(pv, (tuple, list)):
            if not isinstance(nv, (tuple, list)) or len(pv) != len(nv):
                return False
            if not all(_match(a, b, bindings, src) for a, b in zip(pv, nv)):
                return False
        elif isinstance(pv, cst.MaybeSentinel) or isinstance(nv, cst.MaybeSentinel):
            if type(pv) is not type(nv):
                return False
        elif pv != nv:
            return False
    return True


def _parses_same(a: str, b: str, mode: str) -> bool:
    try:
        return ast.dump(ast.parse(a, mode=mode)) == ast.dump(ast.parse(b, mode=mode))
    except SyntaxError:
        return False


def _fill(template: str, bindings: dict, src: _Source, mode: str) -> str:
    """The template with each $NAME replaced by its bound code, parenthesised only where precedence needs it."""
    pieces = _META.split(template)      # text, name, text, name, ..., text
    codes = {name: src.code(node) for name, node in bindings.items()}
    wrap = [False] * len(pieces)
    for i in range(1, len(pieces), 2):
        node = bindings[pieces[i]]
        wrap[i] = not isinstance(node, _ATOMS)

    def text(flags):
        return "".join(p if i % 2 == 0 else (f"({codes[p]})" if flags[i] else codes[p]) for i, p in enumerate(pieces))

    safe = text(wrap)
    for i in range(1, len(pieces), 2):
        if wrap[i]:
            trial = list(wrap)
            trial[i] = False
            if _parses_same(text(trial), safe, mode):
                wrap = trial
    return text(wrap)


def _fit(src: _Source, stmt: _Stmt, start: int, end: int, text: str) -> str:
    """`text` as it must be spliced in place of src.text[start:end]: in parentheses if the surrounding
    code would otherwise bind it differently (`c * a.exp()` with `a.exp()` -> `a + b`)."""
    if re.fullmatch(r"[\w.]+", text):     # a name or a number binds tightly anywhere
        return text
    first, last = src.line_span(stmt.line, stmt.end_line)
    region = src.text[first:last]
    plain = region[:start - first] + text + region[end - first:]
    wrapped = region[:start - first] + "(" + text + ")" + region[end - first:]
    plain_tree = _fragment_tree(textwrap.dedent(plain))
    if plain_tree is not None and plain_tree == _fragment_tree(textwrap.dedent(wrapped)):
        return text
    return "(" + text + ")"


def _where_ok(where: dict[str, re.Pattern], bindings: dict, src: _Source) -> bool:
    return all(name in bindings and regex.fullmatch(_collapse(src.code(bindings[name])))
               for name, regex in where.items())


# ----- primitives -----------------------------------------------------------------------------------
class Rule:
    """A transformation primitive with its parameters; `edits(src)` lists every place it applies."""
    transform = ""
    PARAMS: dict[str, tuple[type, bool]] = {}       # name -> (type, required)
    COMMON = {"transform": (str, True), "function": (str, False)}

    def __init__(self, **params):
        self.params = params
        function = params.get("function")
        self.function = re.compile(function) if function else None

    def in_scope(self, stmt: _Stmt) -> bool:
        return self.function is None or bool(self.function.fullmatch(stmt.function))

    def edits(self, src: _Source) -> list[_Edit]:
        raise NotImplementedError


def _compile_where(where: dict, names: set[str]) -> dict[str, re.Pattern]:
    compiled = {}
    for name, regex in where.items():
        if name not in names:
            raise ValueError(f"'where' names ${name}, which the pattern does not use")
        if not isinstance(regex, str):
            raise ValueError(f"'where' {name} must be a regular expression string")
        compiled[name] = _regex(regex, f"where {name}")
    return compiled


def _regex(text: str, what: str) -> re.Pattern:
    try:
        return re.compile(text)
    except re.error as exc:
        raise ValueError(f"{what}: {text!r} is not a regular expression ({exc})") from None


def _remove_statement(src: _Source, stmt: _Stmt) -> _Edit:
    """Delete a small statement: its whole line(s) if it stands alone in a block that keeps other
    statements; the whole `if` if it was the only statement of an `if` without `else` (as code that
    never had it would read); else `pass` in its place (a block may not be empty)."""
    line_node = stmt.line_node
    alone = line_node is not None and len(line_node.body) == 1
    others = [s for s in stmt.block if s is not line_node]
    if alone and others:
        pos = src.positions[line_node]
        start, end = src.line_span(pos.start.line, pos.end.line)
        return _Edit(start, end, "", stmt.line, stmt.end_line)
    owner = stmt.owner
    if (alone and owner is not None and isinstance(owner.node, cst.If) and owner.node.orelse is None
            and isinstance(owner.node.body, cst.IndentedBlock) and any(s is not owner.node for s in owner.block)):
        pos = src.positions[owner.node]
        start, end = src.line_span(pos.start.line, pos.end.line)
        return _Edit(start, end, "", pos.start.line, pos.end.line)
    start, end = src.span(stmt.node)
    return _Edit(start, end, "pass", stmt.line, stmt.end_line)


class Rewrite(Rule):
    transform = "rewrite"
    PARAMS = {"find": (str, True), "replace": (str, True), "where": (dict, False)}

    def __init__(self, **params):
        super().__init__(**params)
        self.find = _Pattern(params["find"])
        self.replace = params["replace"]
        unknown = set(_META.findall(self.replace)) - self.find.names
        if unknown:
            raise ValueError(f"'replace' uses ${', $'.join(sorted(unknown))}, which 'find' does not bind")
        if not self.replace.strip() and not self.find.is_statement:
            raise ValueError("replace = \"\" removes a statement: 'find' must then be a statement")
        if not self.find.is_statement and self.replace.strip() and _is_statement_only(self.replace):
            # find = "$P.sub_($D)", replace = "$P = $P - $D": the call must be a statement of its own
            self.find.node, self.find.is_statement = cst.Expr(value=self.find.node), True
        if self.replace.strip():
            try:
                (ast.parse(_to_placeholders(self.replace), mode="exec" if self.find.is_statement else "eval"))
            except SyntaxError as exc:
                raise ValueError(f"'replace' {self.replace!r} is not valid Python ({exc.msg})") from None
        self.where = _compile_where(params.get("where", {}), self.find.names)
        if self.replace.strip():
            self.replace = _without_needless_parentheses(self.replace, self.find.is_statement)

    def edits(self, src: _Source) -> list[_Edit]:
        found = []
        for node, stmt in src.by_type.get(type(self.find.node), ()):
            if self.find.is_statement and node is not stmt.node:
                continue
            if not self.in_scope(stmt):
                continue
            bindings = self.find.match(node, src)
            if bindings is None or not _where_ok(self.where, bindings, src):
                continue
            if self.find.is_statement and not self.replace.strip():
                found.append(_remove_statement(src, stmt))
                continue
            text = _fill(self.replace, bindings, src, "exec" if self.find.is_statement else "eval")
            start, end = src.span(node)        # a node's span leaves out its own parentheses: they stay
            if not self.find.is_statement:
                text = _fit(src, stmt, start, end, text)
            found.append(_Edit(start, end, text, stmt.line, stmt.end_line))
        return found


class _Unparenthesise(cst.CSTTransformer):
    def on_leave(self, original, updated):
        if isinstance(updated, (cst.Call, cst.Attribute, cst.Subscript)) and updated.lpar:
            return updated.with_changes(lpar=[], rpar=[])
        return updated


def _without_needless_parentheses(template: str, statement: bool) -> str:
    """A replace template without parentheses around a call, attribute or subscript: `((a - b).mean()) ** 2`
    is written `(a - b).mean() ** 2` by people, and the planted line must read as if a person wrote it."""
    code = _to_placeholders(template)
    mode = "exec" if statement else "eval"
    try:
        tree = cst.parse_statement(code) if statement else cst.parse_expression(code)
        tidy = cst.Module([]).code_for_node(tree.visit(_Unparenthesise())).rstrip("\n")
    except (cst.ParserSyntaxError, TypeError, ValueError):
        return template
    if tidy == code or not _parses_same(tidy, code, mode):
        return template
    return re.sub(rf"{_PREFIX}([A-Za-z_][A-Za-z0-9_]*)", r"$\1", tidy)


def _is_statement_only(template: str) -> bool:
    """True for a replacement that is a statement but not an expression (an assignment, `x += 1`)."""
    code = _to_placeholders(template)
    try:
        ast.parse(code, mode="eval")
        return False
    except SyntaxError:
        pass
    try:
        ast.parse(code, mode="exec")
        return True
    except SyntaxError:
        return False


def _call_name(func) -> str:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    if isinstance(func, cst.Name):
        return func.value
    return ""


class RemoveCall(Rule):
    transform = "remove_call"
    PARAMS = {"call": (str, True), "receiver": (str, False)}

    def __init__(self, **params):
        super().__init__(**params)
        self.call = _regex(params["call"], "call")
        self.receiver = _regex(params["receiver"], "receiver") if params.get("receiver") else None

    def edits(self, src: _Source) -> list[_Edit]:
        found = []
        for node, stmt in src.by_type.get(cst.Expr, ()):
            call = node.value
            if node is not stmt.node or not isinstance(call, cst.Call) or not self.in_scope(stmt):
                continue
            if not self.call.fullmatch(_call_name(call.func)):
                continue
            if self.receiver is not None:
                if not isinstance(call.func, cst.Attribute):
                    continue
                if not self.receiver.fullmatch(_collapse(src.code(call.func.value))):
                    continue
            found.append(_remove_statement(src, stmt))
        return found


def _format_number(value: float, like_int: bool) -> str:
    """A number as people write it: `2.5e-5`, not Python's repr `2.5e-05`."""
    if like_int and float(value).is_integer():
        return str(int(value))
    return re.sub(r"e([+-]?)0*(\d)", lambda m: "e" + m[1].replace("+", "") + m[2], repr(float(f"{value:.6g}")))


class SetKeyword(Rule):
    transform = "set_keyword"
    PARAMS = {"call": (str, True), "keyword": (str, True), "value": (str, False), "first_arg": (str, False),
              "to": (str, False), "scale": (float, False), "remove": (bool, False)}

    def __init__(self, **params):
        super().__init__(**params)
        self.call = _regex(params["call"], "call")
        self.keyword = params["keyword"]
        self.value = _regex(params["value"], "value") if params.get("value") else None
        self.first_arg = _regex(params["first_arg"], "first_arg") if params.get("first_arg") else None
        actions = [k for k in ("to", "scale", "remove") if k in params]
        if len(actions) != 1:
            raise ValueError("set_keyword needs exactly one of 'to', 'scale', 'remove'")
        if "to" in params:
            try:
                ast.parse(params["to"], mode="eval")
            except SyntaxError as exc:
                raise ValueError(f"'to' {params['to']!r} is not a Python expression ({exc.msg})") from None

    def edits(self, src: _Source) -> list[_Edit]:
        found = []
        for node, stmt in src.by_type.get(cst.Call, ()):
            if not self.in_scope(stmt) or not self.call.fullmatch(_call_name(node.func)):
                continue
            if self.first_arg is not None:
                if not node.args or node.args[0].keyword is not None:
                    continue
                if not self.first_arg.fullmatch(_collapse(src.code(node.args[0].value))):
                    continue
            for i, arg in enumerate(node.args):
                if arg.keyword is None or arg.keyword.value != self.keyword:
                    continue
                if self.value is not None and not self.value.fullmatch(_collapse(src.code(arg.value))):
                    continue
                edit = self._edit(src, node, i, stmt)
                if edit is not None:
                    found.append(edit)
        return found

    def _edit(self, src: _Source, call: cst.Call, i: int, stmt: _Stmt) -> _Edit | None:
        arg = call.args[i]
        if self.params.get("remove"):
            args = list(call.args[:i]) + list(call.args[i + 1:])
            if args and i == len(call.args) - 1:          # the new last argument keeps no dangling comma
                args[-1] = args[-1].with_changes(comma=call.args[-1].comma)
            start, end = src.span(call)
            text = cst.Module([]).code_for_node(call.with_changes(args=args))
            return _Edit(start, end, text, stmt.line, stmt.end_line)
        if "to" in self.params:
            text = self.params["to"]
        else:
            number = _number(arg.value)
            if number is None or isinstance(number, complex):
                return None
            text = _format_number(number * self.params["scale"], isinstance(arg.value, cst.Integer))
        start, end = src.span(arg.value)
        return _Edit(start, end, text, stmt.line, stmt.end_line)


class UnwrapWith(Rule):
    transform = "unwrap_with"
    PARAMS = {"context": (str, True)}

    def __init__(self, **params):
        super().__init__(**params)
        self.context = _regex(params["context"], "context")

    def edits(self, src: _Source) -> list[_Edit]:
        found = []
        for node, stmt in src.by_type.get(cst.With, ()):
            if node is not stmt.node or len(node.items) != 1 or not self.in_scope(stmt):
                continue
            if not isinstance(node.body, cst.IndentedBlock):
                continue
            if not self.context.fullmatch(_collapse(src.code(node.items[0].item))):
                continue
            pos = src.positions[node]
            start, end = src.line_span(pos.start.line, pos.end.line)
            first_body = src.positions[node.body.body[0]].start.line
            body = "".join(src.lines[first_body - 1:pos.end.line])
            outer = len(src.lines[pos.start.line - 1]) - len(src.lines[pos.start.line - 1].lstrip())
            indent = src.lines[first_body - 1][:len(src.lines[first_body - 1]) - len(src.lines[first_body - 1].lstrip())]
            extra = indent[outer:]
            text = "".join(line[len(extra):] if line.startswith(extra) else line for line in body.splitlines(True))
            found.append(_Edit(start, end, text, pos.start.line, pos.end.line))
        return found


class WrapWith(Rule):
    transform = "wrap_with"
    PARAMS = {"find": (str, True), "context": (str, True), "where": (dict, False)}

    def __init__(self, **params):
        super().__init__(**params)
        self.find = _Pattern(params["find"])
        if not self.find.is_statement:
            raise ValueError("wrap_with: 'find' must be a statement")
        try:
            ast.parse(params["context"], mode="eval")
        except SyntaxError as exc:
            raise ValueError(f"'context' {params['context']!r} is not a Python expression ({exc.msg})") from None
        self.where = _compile_where(params.get("where", {}), self.find.names)

    def edits(self, src: _Source) -> list[_Edit]:
        found = []
        for node, stmt in src.by_type.get(type(self.find.node), ()):
            if node is not stmt.node or not self.in_scope(stmt):
                continue
            if stmt.line_node is None or len(stmt.line_node.body) != 1:
                continue
            bindings = self.find.match(node, src)
            if bindings is None or not _where_ok(self.where, bindings, src):
                continue
            pos = src.positions[stmt.line_node]
            start, end = src.line_span(pos.start.line, pos.end.line)
            lines = src.lines[pos.start.line - 1:pos.end.line]
            first = lines[0]
            indent = first[:len(first) - len(first.lstrip())]
            unit = src.module.default_indent
            text = f"{indent}with {self.params['context']}:\n" + "".join(unit + line if line.strip() else line
                                                                           for line in lines)
            if not text.endswith("\n"):
                text += "\n"
            found.append(_Edit(start, end, text, stmt.line, stmt.end_line))
        return found


PRIMITIVES: dict[str, type[Rule]] = {cls.transform: cls for cls in (Rewrite, RemoveCall, SetKeyword, UnwrapWith,
                                                                       WrapWith)}


# ----- the catalogue --------------------------------------------------------------------------------
_FAULT_KEYS = {"id": str, "title": str, "category": str, "misconception": str, "explanation": str, "rule": list,
               "example": str, "convention": bool}
_REQUIRED = ("id", "title", "category", "misconception", "explanation", "rule")
_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def _key_lines(text: str) -> list[tuple[int, dict[str, int]]]:
    """For each [[fault]] block: its first line, and the line of each key (`rule.N.key` inside rules)."""
    blocks = []
    rule = -1
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if re.match(r"\[\[\s*fault\s*\]\]", stripped):
            blocks.append((number, {}))
            rule = -1
        elif re.match(r"\[\[\s*fault\.rule\s*\]\]", stripped) and blocks:
            rule += 1
            blocks[-1][1][f"rule.{rule}"] = number
        elif blocks:
            m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\s*=", stripped)
            if m:
                key = m.group(1) if rule < 0 else f"rule.{rule}.{m.group(1)}"
                blocks[-1][1].setdefault(key, number)
    return blocks


def _type_ok(value, expected) -> bool:
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, expected) and not (expected is int and isinstance(value, bool))


def load_catalogue(path: Path | str | None = None) -> list[Fault]:
    """Read and validate a fault catalogue; every error names the file and line and says what to do."""
    path = Path(path) if path else CATALOGUE
    try:
        text, data = datafile.read_toml(path, "fault catalogue")
    except DataFileError as exc:
        raise FaultError(str(exc)) from None
    extra = set(data) - {"fault"}
    if extra:
        raise FaultError(f"{path}: unknown top-level key(s) {', '.join(sorted(extra))}; write each fault as [[fault]]")
    raw_faults = data.get("fault", [])
    if not isinstance(raw_faults, list):
        raise FaultError(f"{path}: write each fault as a [[fault]] table")
    positions = _key_lines(text)
    faults, seen = [], {}
    for i, raw in enumerate(raw_faults):
        start, keys = positions[i] if i < len(positions) else (0, {})

        def where(key=None, start=start, keys=keys):
            return f"{path}:{keys.get(key, start) if key else start}"

        for key, value in raw.items():
            if key not in _FAULT_KEYS:
                raise FaultError(f"{where(key)}: unknown key {key!r}; a fault has {', '.join(_FAULT_KEYS)}")
            if not _type_ok(value, _FAULT_KEYS[key]):
                raise FaultError(f"{where(key)}: {key!r} must be a {_FAULT_KEYS[key].__name__}")
        for key in _REQUIRED:
            if key not in raw:
                raise FaultError(f"{where()}: fault {i + 1} has no {key!r} (a fault needs {', '.join(_REQUIRED)}; "
                                 "rules are [[fault.rule]] tables)")
        fault_id = raw["id"]
        if not _ID.fullmatch(fault_id):
            raise FaultError(f"{where('id')}: id {fault_id!r}: use lowercase words joined by '-' (e.g. no-zero-grad)")
        if fault_id in seen:
            raise FaultError(f"{where('id')}: fault id {fault_id!r} is used twice (first at line {seen[fault_id]})")
        seen[fault_id] = keys.get("id", start)
        if raw["category"] not in CATEGORIES:
            raise FaultError(f"{where('category')}: category {raw['category']!r} is not one of: {', '.join(CATEGORIES)}")
        if not raw["rule"]:
            raise FaultError(f"{where('rule')}: fault {fault_id!r} has no [[fault.rule]]")
        rules = []
        for n, params in enumerate(raw["rule"]):
            rules.append(_rule(params, lambda key=None, n=n: where(f"rule.{n}.{key}" if key else f"rule.{n}"),
                               fault_id))
        fault = Fault(fault_id, raw["title"].strip(), raw["category"], _reflow(raw["misconception"]),
                      _reflow(raw["explanation"]), tuple(rules), raw.get("example", ""), raw.get("convention", False))
        if fault.example:
            try:
                planted = mutations(fault.example + "\n", "<example>", faults=[fault])
            except SyntaxError as exc:
                raise FaultError(f"{where('example')}: fault {fault_id!r}: the example is not Python ({exc})") from None
            if not planted:
                raise FaultError(f"{where('example')}: fault {fault_id!r}: no rule applies to its example; "
                                 "fix the rule's pattern or the example")
        faults.append(fault)
    return faults


def _reflow(text: str) -> str:
    """TOML text as paragraphs: lines of one paragraph joined, paragraphs kept apart by a blank line."""
    paragraphs = re.split(r"\n\s*\n", textwrap.dedent(text).strip())
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


def _rule(params, where, fault_id: str) -> Rule:
    if not isinstance(params, dict):
        raise FaultError(f"{where()}: write each rule as a [[fault.rule]] table")
    name = params.get("transform")
    if name not in PRIMITIVES:
        raise FaultError(f"{where('transform')}: fault {fault_id!r}: transform {name!r} is not one of "
                         f"{', '.join(PRIMITIVES)}")
    cls = PRIMITIVES[name]
    schema = {**Rule.COMMON, **cls.PARAMS}
    for key, value in params.items():
        if key not in schema:
            raise FaultError(f"{where(key)}: {name} takes no {key!r}; it takes {', '.join(schema)}")
        if not _type_ok(value, schema[key][0]):
            raise FaultError(f"{where(key)}: {key!r} must be a {schema[key][0].__name__}")
    for key, (_, required) in schema.items():
        if required and key not in params:
            raise FaultError(f"{where()}: fault {fault_id!r}: {name} needs {key!r}")
    try:
        return cls(**params)
    except ValueError as exc:
        raise FaultError(f"{where()}: fault {fault_id!r}: {exc}") from None


@lru_cache(maxsize=8)
def _cached_catalogue(path: str, mtime_ns: int) -> tuple[Fault, ...]:
    return tuple(load_catalogue(path))


def catalogue(path: Path | str | None = None) -> list[Fault]:
    """The faults of a catalogue file (default: the shipped one), validated; cached until the file changes."""
    path = Path(path) if path else CATALOGUE
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return load_catalogue(path)       # raises the error that names the file
    return list(_cached_catalogue(str(path), mtime))


def summary(path: Path | str | None = None) -> str:
    """A line for `walkthrough check`: the catalogue loads, every example is planted, and how many faults
    apply to each reference repo (raises FaultError naming the file and line otherwise)."""
    faults = load_catalogue(path)
    impls = CATALOGUE.parent.parent.parent / "minimal_impls"
    applied = {}
    for repo in sorted(p for p in impls.iterdir() if p.is_dir()):
        kinds = set()
        for file in sorted(repo.glob("*.py")):
            kinds |= {m.fault.id for m in mutations(file.read_text(encoding="utf-8"), str(file), faults=faults)}
        applied[repo.name] = len(kinds)
    where = ", ".join(f"{n} to {repo}" for repo, n in applied.items())
    return (f"{len(faults)} faults in {len({f.category for f in faults})} categories, every rule valid and every "
            f"example planted; {where}")


def by_id(fault_id: str, faults=None) -> Fault:
    for fault in faults if faults is not None else catalogue():
        if fault.id == fault_id:
            return fault
    raise KeyError(fault_id)


# ----- applying faults --------------------------------------------------------------------------------
def _statement_fragment(lines: list[str]) -> str:
    return textwrap.dedent("".join(lines))


def _region(src_lines: list[str], new_lines: list[str], line: int, end_line: int) -> tuple[list[str], list[str]]:
    tail = len(src_lines) - end_line
    return src_lines[line - 1:end_line], new_lines[line - 1:len(new_lines) - tail]


def _indent(lines: list[str]) -> str:
    first = next((line for line in lines if line.strip()), "")
    return first[:len(first) - len(first.lstrip())]


def _fragment_tree(text: str) -> str | None:
    for candidate in (text, text.rstrip() + "\n    pass\n"):
        try:
            return ast.dump(ast.parse(candidate))
        except SyntaxError:
            continue
    return None


@dataclass
class _Layout:
    """Where a region's text sits: continuation lines (their first token's column, and the column of the first
    token after the innermost open bracket when that token is on the bracket's line: visual indent) and trailing
    comments (line, column, end of the code before it, text), lines counted from 0."""
    continuations: dict[int, tuple[int, int | None]]
    comments: list[tuple[int, int, int, str]]


def _layout(lines: list[str]) -> _Layout | None:
    import io
    import tokenize

    if any("\t" in line for line in lines):
        return None                    # columns of tabs are a matter of taste: leave such code as it is
    skip = {tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
    opened: list[list] = []            # [line, column, column of the first token after it (-1: on a later line)]
    layout, last_line, code_end = _Layout({}, []), 0, {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO("".join(lines)).readline):
            line, col = tok.start[0] - 1, tok.start[1]
            if tok.type == tokenize.COMMENT:
                if line in code_end:
                    layout.comments.append((line, col, code_end[line], tok.string))
                continue
            if tok.type in skip:
                continue
            if opened and opened[-1][2] is None:
                opened[-1][2] = col if line == opened[-1][0] else -1
            if line != last_line and opened:
                align = opened[-1][2]
                layout.continuations[line] = (col, align if align is not None and align >= 0 else None)
            last_line = tok.end[0] - 1
            code_end[last_line] = tok.end[1]
            if tok.string in "([{":
                opened.append([line, col, None])
            elif tok.string in ")]}" and opened:
                opened.pop()
    except (tokenize.TokenError, SyntaxError):
        return None
    return layout


def _comment_columns(src: _Source) -> dict[int, int]:
    """Line -> column of the file's trailing comments (a comment after code), computed once per file."""
    if src.comment_columns is None:
        layout = _layout(src.lines)
        src.comment_columns = {line + 1: col for line, col, _, _ in layout.comments} if layout else {}
    return src.comment_columns


def _relayout(src: _Source, first_line: int, old: list[str], new: list[str]) -> list[str]:
    """The changed statement's lines laid out as its author lays out code, so that it does not stand out: a
    continuation line that was aligned under the first item after an open bracket is aligned there again (the
    bracket moved when the line before it changed), and a trailing comment whose column lined up with a nearby
    comment's, or was chosen with a wide gap, is put back at that column. Only whitespace changes."""
    old_layout = _layout(old)
    if old_layout is None or not (old_layout.continuations or old_layout.comments):
        return new
    new = list(new)
    if len(old) == len(new):
        for i, (col, align) in sorted(old_layout.continuations.items()):
            layout = _layout(new)
            if col != align or layout is None or i not in layout.continuations:
                continue
            now, target = layout.continuations[i]
            if target is not None and now != target and not new[i][:now].strip():
                new[i] = " " * target + new[i][now:]
    layout = _layout(new)
    if layout is None or [c[3] for c in layout.comments] != [c[3] for c in old_layout.comments]:
        return new
    columns = _comment_columns(src)
    for (i, col, end, _), (j, now, new_end, _) in zip(old_layout.comments, layout.comments):
        line = first_line + i
        lined_up = any(columns.get(other) == col for other in range(line - 20, line + 21) if other != line)
        if now == col or not (lined_up or col - end > 3) or new[j][new_end:now].strip():
            continue
        target = max(col, new_end + 2)
        new[j] = new[j][:new_end] + " " * (target - new_end) + new[j][now:]
    return new


def mutations(source: str, path: str = "<source>", *, faults=None,
              lines: tuple[int, int] | None = None) -> list[Mutation]:
    """Every place each fault applies, in file order; `lines` keeps statements within [start, end].

    Each Mutation's source differs from `source` in that one statement only; results that would not
    parse, or whose syntax tree equals the original's (a change of spelling only), are left out."""
    faults = catalogue() if faults is None else list(faults)
    try:
        src = _Source(source, path)
    except cst.ParserSyntaxError as exc:
        raise SyntaxError(f"{path}:{exc.raw_line}: cannot parse: {exc.message}") from None
    found, seen = [], set()
    for fault in faults:
        for rule in fault.rules:
            for edit in rule.edits(src):
                if lines is not None and not (lines[0] <= edit.line and edit.end_line <= lines[1]):
                    continue
                mutation = _apply(src, fault, edit)
                if mutation is not None and (fault.id, mutation.source) not in seen:
                    seen.add((fault.id, mutation.source))
                    found.append(mutation)
    found.sort(key=lambda m: (m.line, m.end_line))
    return found


def _apply(src: _Source, fault: Fault, edit: _Edit) -> Mutation | None:
    new_source = src.text[:edit.start] + edit.text + src.text[edit.end:]
    if new_source == src.text:
        return None
    new_lines = new_source.splitlines(keepends=True)
    old_region, new_region = _region(src.lines, new_lines, edit.line, edit.end_line)
    laid_out = _relayout(src, edit.line, old_region, new_region)
    if laid_out != new_region:
        new_lines[edit.line - 1:edit.line - 1 + len(new_region)] = laid_out
        new_source, new_region = "".join(new_lines), laid_out
    # the changed text must lie within the statement's lines
    if src.lines[:edit.line - 1] != new_lines[:edit.line - 1]:
        return None
    old_tree = _fragment_tree(_statement_fragment(old_region))
    new_tree = _fragment_tree(_statement_fragment(new_region)) if new_region else "removed"
    if old_tree is not None and new_tree is not None and _indent(old_region) == _indent(new_region or old_region):
        # both stand alone as statements at the same indentation: the whole file parses iff the original did
        if old_tree == new_tree:
            return None
    else:
        # a fragment that does not stand alone (e.g. `else: x = 1`): judge on the whole file
        try:
            if ast.dump(ast.parse(new_source)) == ast.dump(ast.parse(src.text)):
                return None
        except (SyntaxError, ValueError):
            return None
    return Mutation(fault, src.path, edit.line, edit.end_line, _statement_fragment(old_region).rstrip("\n"),
                    _statement_fragment(new_region).rstrip("\n"), new_source)


def statement_mutations(code: str, faults=None) -> list[tuple[Fault, str]]:
    """The variants of one statement ("what if" questions); "" = the statement removed.

    `code` is one statement, or a compound statement's header (`for t in reversed(range(n)):`)."""
    text = textwrap.dedent(code).strip("\n")
    header = text.rstrip().endswith(":")
    body = "\n    pass" if header else ""
    wrapped = text + body + "\n"
    results, seen = [], set()
    for mutation in mutations(wrapped, "<statement>", faults=faults):
        variant = mutation.source.rstrip("\n")
        if header and variant.endswith(body):
            variant = variant[:-len(body)]
        if variant.strip() == "pass" and not header:
            variant = ""
        if (mutation.fault.id, variant) not in seen:
            seen.add((mutation.fault.id, variant))
            results.append((mutation.fault, variant))
    return results
