"""ML idioms recognised in any PyTorch/NumPy code, each with a "why" question.

The catalogue is data a teacher edits: walkthroughs/catalogue/idioms.toml. Each entry gives one or
more *patterns*, written as Python code:

    $NAME      any expression (the same $NAME twice must be the same code)
    ...        any arguments of a call, any statements of a block, or any expression
    torch.x    a library name: matches through the file's imports (F.softmax, torch.nn.functional.softmax
               and `from torch.nn.functional import softmax; softmax(...)` are the same function)

A pattern is compiled once into a tree of small matcher functions over libcst nodes (the shape of
libcst's own matchers, plus metavariables, imports and keyword arguments in any order);
`find_idioms` walks a file once and tries, at each node, only the patterns whose root has that
node's type. A pattern of several statements matches them in order within one block, with at most
`gap` other statements between consecutive ones.

    find_idioms(source, path="<source>") -> list[IdiomHit]   # in file order
"""
from __future__ import annotations

import functools
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from .. import datafile
from ..datafile import DataFileError

CATALOGUE = Path(__file__).resolve().parent.parent.parent / "walkthroughs" / "catalogue" / "idioms.toml"

_META = re.compile(r"\$([A-Z][A-Z0-9_]*)")
_META_PREFIX = "__mv_"
# Library modules a file may use without importing them in a pattern-test snippet.
DEFAULT_ALIASES = {"np": "numpy", "F": "torch.nn.functional", "nn": "torch.nn", "optim": "torch.optim"}


class CatalogueError(DataFileError):
    """The idiom catalogue cannot be used as it is; the message names the file and line."""


@dataclass(frozen=True)
class Choice:
    option: str
    misconception: str


@dataclass(frozen=True)
class Idiom:
    id: str
    title: str
    explanation: str            # a paragraph shown after the question (and used by tours to explain a step)
    question: str               # asks *why*; `$NAME` is replaced by the matched code
    answer: str
    wrong: tuple[Choice, ...]   # 2-3 wrong options, each labelled with the misconception it stands for
    patterns: tuple[str, ...]
    examples: tuple[str, ...] = ()          # code each of which must contain a match (checked by `check_examples`)
    where: tuple[tuple[str, str], ...] = ()   # metavariable -> constraint ("small", "/regex/", "number", "name")
    gap: int = 4                # multi-statement patterns: other statements allowed between two of its statements
    value: int = 4              # the teacher's estimate of its teaching value, 1-5 (used to choose questions)
    line: int = 0               # where the entry starts in the catalogue (error messages)
    family: str = ""            # cards that ask one idea (train()/eval(), the attention scale and its use): one per file


@dataclass(frozen=True)
class IdiomHit:
    idiom: Idiom
    line: int                   # first line of the matched code
    end_line: int               # its last line
    captures: dict = field(default_factory=dict, compare=False, hash=False)   # metavariable -> matched code
    code: str = ""              # the matched code (the header line of a block)

    def text(self, template: str, limit: int = 40) -> str:
        """`template` with each `$NAME` replaced by the code it matched (shortened past `limit` characters)."""
        def sub(match):
            code = self.captures.get(match.group(1))
            if code is None:
                return match.group(0)
            code = " ".join(code.split())
            return code if len(code) <= limit else code[:limit - 1] + "…"
        return _META.sub(sub, template)


# ----- compiling patterns ---------------------------------------------------------------------------
_EMPTY = cst.Module([])
_SKIP_FIELDS = {"lpar", "rpar", "comma", "semicolon", "whitespace", "whitespace_before", "whitespace_after",
                "whitespace_after_star", "whitespace_after_arg", "whitespace_before_colon", "whitespace_after_colon",
                "whitespace_before_params", "whitespace_before_args", "whitespace_after_for", "whitespace_before_in",
                "whitespace_after_in", "whitespace_after_if", "whitespace_before_if", "whitespace_after_with",
                "whitespace_after_await", "whitespace_before_as", "whitespace_after_as", "whitespace_after_def",
                "whitespace_after_lambda", "whitespace_after_return", "whitespace_before_else",
                "whitespace_after_else", "leading_lines", "lines_after_decorators", "header", "footer", "dot",
                "lbracket", "rbracket", "lbrace", "rbrace", "equal", "colon", "star", "newline",
                "trailing_whitespace", "asynchronous", "type_parameters", "whitespace_after_type_parameters",
                "returns", "params", "annotation", "indent", "first_line", "empty_lines", "lines", "value_end"}

Captures = dict[str, cst.CSTNode]
Matcher = Callable[[object, Captures, "_Context"], "Captures | None"]


class _Context:
    """What a match needs of the file: how its imported names resolve, and node code (cached)."""

    def __init__(self, aliases: dict[str, str], lines: list[str], imported: set[str] = frozenset()):
        self.aliases = aliases
        self.imported = set(imported) | {"torch", "np", "numpy", "F", "nn", "math", "random", "optim"}
        self.lines = lines
        self._code: dict[int, str] = {}

    def code(self, node: cst.CSTNode) -> str:
        key = id(node)
        if key not in self._code:
            self._code[key] = _EMPTY.code_for_node(node)
        return self._code[key]

    def resolve(self, dotted: str) -> str:
        head, _, rest = dotted.partition(".")
        full = self.aliases.get(head)
        return dotted if full is None else full + ("." + rest if rest else "")


def _dotted(node) -> str | None:
    """`torch.nn.functional.softmax` for a chain of names, else None."""
    parts = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def _number(node) -> float | None:
    """The value of a numeric literal (`-1`, `1e-8`, `2.`), else None."""
    if isinstance(node, (cst.Integer, cst.Float)):
        return float(node.evaluated_value)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = _number(node.expression)
        return None if inner is None else -inner
    return None


def _is_meta(node) -> str | None:
    if isinstance(node, cst.Name) and node.value.startswith(_META_PREFIX):
        return node.value[len(_META_PREFIX):]
    return None


def _is_ellipsis(node) -> bool:
    if isinstance(node, cst.Expr):
        node = node.value
    if isinstance(node, cst.SimpleStatementLine) and len(node.body) == 1:
        return _is_ellipsis(node.body[0])
    return isinstance(node, cst.Ellipsis)


def _bind(name: str, node, captures: Captures, ctx: _Context) -> Captures | None:
    if name in captures:
        same = "".join(ctx.code(captures[name]).split()) == "".join(ctx.code(node).split())
        return captures if same else None
    return {**captures, name: node}


class _Compiler:
    def __init__(self, where: dict[str, Callable], default_aliases: dict[str, str]):
        self.where = where
        self.pattern_aliases = default_aliases

    def node(self, p) -> Matcher:
        meta = _is_meta(p)
        if meta is not None:
            check = self.where.get(meta)

            def match_meta(n, caps, ctx):
                if not isinstance(n, cst.BaseExpression) or (check is not None and not check(n, ctx)):
                    return None
                if isinstance(n, cst.Name) and n.value in ctx.imported:
                    return None             # `$X.argmax()` is about a tensor, never the module `torch`
                return _bind(meta, n, caps, ctx)
            return match_meta
        if _is_ellipsis(p):
            return lambda n, caps, ctx: caps
        number = _number(p)
        if number is not None:
            return lambda n, caps, ctx: caps if _number(n) == number else None
        if isinstance(p, cst.SimpleString):
            value = p.evaluated_value
            return lambda n, caps, ctx: caps if isinstance(n, cst.SimpleString) and n.evaluated_value == value else None
        dotted = _dotted(p)
        if dotted is not None and _META_PREFIX not in dotted:
            return self._name(dotted)
        if isinstance(p, cst.Call):
            return self._call(p)
        if isinstance(p, cst.FunctionDef):
            return self._function(p)
        return self._generic(p)

    def _name(self, dotted: str) -> Matcher:
        head = dotted.partition(".")[0]
        wanted = self.pattern_aliases.get(head)
        wanted = dotted if wanted is None else wanted + dotted[len(head):]

        def match_name(n, caps, ctx):
            code = _dotted(n)
            if code is None:
                return None
            return caps if code == dotted or ctx.resolve(code) == wanted else None
        return match_name

    def _call(self, p: cst.Call) -> Matcher:
        func = self.node(p.func)
        positional, keywords, open_ended = [], {}, False
        for arg in p.args:
            if arg.keyword is not None:
                keywords[arg.keyword.value] = self.node(arg.value)
            elif _is_ellipsis(arg.value):
                positional.append(None)
                open_ended = True
            else:
                positional.append(self.node(arg.value))

        def match_call(n, caps, ctx):
            if not isinstance(n, cst.Call):
                return None
            caps = func(n.func, caps, ctx)
            if caps is None:
                return None
            given = [a.value for a in n.args if a.keyword is None and not a.star]
            named = {a.keyword.value: a.value for a in n.args if a.keyword is not None}
            if any(a.star for a in n.args) and not open_ended:
                return None
            for key, matcher in keywords.items():
                if key not in named:
                    return None
                caps = matcher(named[key], caps, ctx)
                if caps is None:
                    return None
            return _sequence(positional, given, caps, ctx)
        return match_call

    def _function(self, p: cst.FunctionDef) -> Matcher:
        name = self.node(p.name)
        decorators = [self.node(d.decorator) for d in p.decorators]

        def match_function(n, caps, ctx):
            if not isinstance(n, cst.FunctionDef):
                return None
            caps = name(n.name, caps, ctx)
            for matcher in decorators:        # each pattern decorator among the function's decorators
                if caps is None:
                    return None
                caps = next((c for d in n.decorators if (c := matcher(d.decorator, caps, ctx)) is not None), None)
            return caps
        return match_function

    def _generic(self, p) -> Matcher:
        kind = type(p)
        fields = []
        for name in p.__dataclass_fields__:
            if name in _SKIP_FIELDS or name.startswith("__"):
                continue
            value = getattr(p, name)
            if value is None:
                continue                                   # absent in the pattern: anything matches
            if isinstance(value, (cst.BaseBinaryOp, cst.BaseBooleanOp, cst.BaseCompOp, cst.BaseUnaryOp,
                                  cst.BaseAugOp, cst.AssignEqual)):
                op = type(value)
                fields.append((name, lambda n, caps, ctx, op=op: caps if type(n) is op else None))
            elif isinstance(value, cst.BaseSuite):
                fields.append((name, self._suite(value)))
            elif isinstance(value, cst.CSTNode):
                fields.append((name, self.node(value)))
            elif isinstance(value, (list, tuple)):
                if not all(isinstance(v, cst.CSTNode) for v in value):
                    continue
                items = [None if _is_ellipsis(v) else self.node(v) for v in value]
                fields.append((name, lambda n, caps, ctx, items=items: _sequence(items, list(n), caps, ctx)))
            elif isinstance(value, str):
                fields.append((name, lambda n, caps, ctx, v=value: caps if n == v else None))

        def match_generic(n, caps, ctx):
            if type(n) is not kind:
                return None
            for name, matcher in fields:
                caps = matcher(getattr(n, name), caps, ctx)
                if caps is None:
                    return None
            return caps
        return match_generic

    def _suite(self, suite) -> Matcher:
        body = list(suite.body)
        if len(body) == 1 and _is_ellipsis(body[0]):
            return lambda n, caps, ctx: caps
        items = [None if _is_ellipsis(s) else self.node(s) for s in body]
        return lambda n, caps, ctx: _sequence(items, list(getattr(n, "body", ())), caps, ctx)


def _sequence(matchers: list, nodes: list, caps: Captures, ctx: _Context) -> Captures | None:
    """Match a list of nodes against matchers in order; None in `matchers` matches any run of nodes."""
    if caps is None:
        return None
    if not matchers:
        return caps if not nodes else None
    first, rest = matchers[0], matchers[1:]
    if first is None:
        for skip in range(len(nodes) + 1):
            found = _sequence(rest, nodes[skip:], caps, ctx)
            if found is not None:
                return found
        return None
    if not nodes:
        return None
    return _sequence(rest, nodes[1:], first(nodes[0], caps, ctx), ctx)


# ----- constraints on metavariables (`where`) -------------------------------------------------------------
def _constraint(text: str) -> Callable | None:
    if text == "small":          # an epsilon: a number literal in (0, 1e-3], or a name like `eps`
        def small(n, ctx):
            value = _number(n)
            if value is not None:
                return 0 < value <= 1e-3
            dotted = _dotted(n)
            return dotted is not None and re.search(r"(?i)eps", dotted.rpartition(".")[2]) is not None
        return small
    if text == "number":
        return lambda n, ctx: _number(n) is not None
    if text == "name":
        return lambda n, ctx: isinstance(n, cst.Name)
    if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
        try:
            regex = re.compile(text[1:-1])
        except re.error:
            return None
        return lambda n, ctx: regex.search(ctx.code(n)) is not None
    return None


# ----- the pattern as parsed code ------------------------------------------------------------------------
@dataclass
class _Pattern:
    idiom: Idiom
    roots: list[type]                  # node types the (first) statement can match
    statements: list[Matcher]          # one matcher per statement (expression patterns: one)
    is_expression: bool


def _compile(idiom: Idiom, source: str, where: dict[str, Callable]) -> _Pattern:
    text = textwrap.dedent(_META.sub(lambda mt: _META_PREFIX + mt.group(1), source.strip("\n")))
    module = cst.parse_module(text + "\n")
    compiler = _Compiler(where, DEFAULT_ALIASES)
    body = list(module.body)
    if (len(body) == 1 and isinstance(body[0], cst.SimpleStatementLine) and len(body[0].body) == 1
            and isinstance(body[0].body[0], cst.Expr)):
        expr = body[0].body[0].value
        return _Pattern(idiom, [type(expr)], [compiler.node(expr)], True)
    smalls: list = []
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            smalls.extend(statement.body)
        else:
            smalls.append(statement)
    return _Pattern(idiom, [type(smalls[0])], [compiler.node(s) for s in smalls], False)


# ----- loading the catalogue -----------------------------------------------------------------------------
_ENTRY = {"id": str, "title": str, "explanation": str, "question": str, "answer": str, "wrong": list,
          "patterns": list, "examples": list, "where": dict, "gap": int,
          "value": int, "family": str}
_REQUIRED = ("id", "title", "explanation", "question", "answer", "wrong", "patterns", "examples")


def _entry_lines(text: str) -> list[int]:
    return [i + 1 for i, line in enumerate(text.splitlines()) if re.match(r"\s*\[\[\s*idiom\s*\]\]", line)]


def load(path: Path | None = None) -> list[Idiom]:
    """Read and validate the catalogue; every error names the file and the entry's line."""
    path = Path(path or CATALOGUE)
    try:     # binary, another encoding, 100,000 nested brackets: an error naming the file, never a crash
        text, data = datafile.read_toml(path, "idiom catalogue")
    except DataFileError as exc:
        raise CatalogueError(str(exc)) from None
    unknown = set(data) - {"idiom"}
    if unknown:
        raise CatalogueError(f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))}; "
                             "the catalogue is a list of [[idiom]] tables")
    starts = _entry_lines(text)
    idioms, seen = [], {}
    for k, entry in enumerate(data.get("idiom", [])):
        line = starts[k] if k < len(starts) else 0
        idioms.append(_idiom(entry, f"{path}:{line}", line))
        if idioms[-1].id in seen:
            raise CatalogueError(f"{path}:{line}: idiom id {idioms[-1].id!r} is used twice (first at line "
                                 f"{seen[idioms[-1].id]})")
        seen[idioms[-1].id] = line
    return idioms


def _idiom(entry: dict, where: str, line: int) -> Idiom:
    for key, value in entry.items():
        if key not in _ENTRY:
            raise CatalogueError(f"{where}: unknown key {key!r}; allowed: {', '.join(_ENTRY)}")
        if not isinstance(value, _ENTRY[key]) or isinstance(value, bool):
            raise CatalogueError(f"{where}: {key!r} must be a {_ENTRY[key].__name__}, not {type(value).__name__}")
    if not 1 <= entry.get("value", 4) <= 5:
        raise CatalogueError(f"{where}: 'value' is a teaching value from 1 to 5")
    missing = [k for k in _REQUIRED if k not in entry]
    if missing:
        raise CatalogueError(f"{where}: idiom {entry.get('id', '?')!r} lacks {', '.join(missing)}")
    where = f"{where} (idiom {entry['id']!r})"
    wrong = []
    for option in entry["wrong"]:
        if not isinstance(option, dict) or set(option) != {"option", "misconception"}:
            raise CatalogueError(f"{where}: each wrong option is {{ option = \"...\", misconception = \"...\" }}")
        wrong.append(Choice(str(option["option"]), str(option["misconception"])))
    if not 2 <= len(wrong) <= 3:
        raise CatalogueError(f"{where}: give 2 or 3 wrong options, not {len(wrong)}")
    texts = [entry["answer"], *(w.option for w in wrong)]
    if len(set(texts)) != len(texts):
        raise CatalogueError(f"{where}: the answer and the wrong options must all differ")
    if len(texts[0].strip()) > max(len(t.strip()) for t in texts[1:]):
        raise CatalogueError(f"{where}: the answer is longer than every wrong option, so a learner could pick it "
                             "for its length alone; shorten it, or give a wrong option as much detail")
    if not entry["patterns"] or not all(isinstance(p, str) for p in entry["patterns"]):
        raise CatalogueError(f"{where}: 'patterns' must be a non-empty list of Python code strings")
    constraints = {}
    for name, text in entry.get("where", {}).items():
        check = _constraint(str(text))
        if check is None:
            raise CatalogueError(f"{where}: where.{name} = {text!r}: use \"small\", \"number\", \"name\" or "
                                 "\"/regex/\"")
        constraints[name] = check
    idiom = Idiom(entry["id"], entry["title"], entry["explanation"].strip(), entry["question"].strip(),
                  entry["answer"].strip(), tuple(wrong), tuple(entry["patterns"]),
                  tuple(str(e) for e in entry["examples"]),
                  tuple(sorted((k, str(v)) for k, v in entry.get("where", {}).items())), entry.get("gap", 4),
                  entry.get("value", 4), line, entry.get("family", ""))
    for pattern in idiom.patterns:
        try:
            compiled = _compile(idiom, pattern, constraints)
        except cst.ParserSyntaxError as exc:
            raise CatalogueError(f"{where}: pattern {pattern.strip()!r} is not Python code: {exc.message}") from None
        used = set(_META.findall(pattern))
        unknown = set(constraints) - used
        if unknown and len(idiom.patterns) == 1:
            raise CatalogueError(f"{where}: where names {', '.join(sorted(unknown))}, not in the pattern")
        del compiled
    for text in (idiom.question, idiom.answer, *(w.option for w in wrong)):
        for name in _META.findall(text):
            if not all(f"${name}" in p for p in idiom.patterns):
                raise CatalogueError(f"{where}: ${name} in the question text must appear in every pattern")
    return idiom


@functools.lru_cache(maxsize=4)
def _compiled(path: str, mtime_ns: int) -> tuple[list[Idiom], dict[type, list[_Pattern]]]:
    idioms = load(Path(path))
    by_type: dict[type, list[_Pattern]] = {}
    for idiom in idioms:
        constraints = {name: _constraint(text) for name, text in idiom.where}
        for pattern in idiom.patterns:
            compiled = _compile(idiom, pattern, constraints)
            for root in compiled.roots:
                by_type.setdefault(root, []).append(compiled)
    return idioms, by_type


def check_examples(path: Path | None = None) -> list[str]:
    """Problems with the catalogue's examples: each must parse and contain a match of its own idiom."""
    path = Path(path or CATALOGUE)
    problems = []
    for idiom in catalogue(path):
        for example in idiom.examples:
            try:
                found = find_idioms(textwrap.dedent(example), path=f"example of {idiom.id}")
            except SyntaxError as exc:
                problems.append(f"{path}:{idiom.line}: example of {idiom.id!r} is not Python code: {exc}")
                continue
            if not any(hit.idiom.id == idiom.id for hit in found):
                problems.append(f"{path}:{idiom.line}: example of {idiom.id!r} is not matched by its patterns: "
                                f"{' '.join(example.split())!r}")
    return problems


def catalogue(path: Path | None = None) -> list[Idiom]:
    path = Path(path or CATALOGUE)
    return _compiled(str(path), path.stat().st_mtime_ns)[0]


# ----- finding idioms in a file ------------------------------------------------------------------------
def imports_of(module: cst.Module) -> dict[str, str]:
    """Local name -> the module or object it is imported as (`F` -> `torch.nn.functional`)."""
    aliases = dict(DEFAULT_ALIASES)
    for node in _walk_imports(module):
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = _dotted(alias.name)
                if alias.asname is not None:
                    aliases[alias.asname.name.value] = full
                else:
                    head = full.partition(".")[0]
                    aliases[head] = head
        elif isinstance(node, cst.ImportFrom) and node.module is not None and not node.relative:
            base = _dotted(node.module)
            if isinstance(node.names, cst.ImportStar):
                continue
            for alias in node.names:
                name = _dotted(alias.name)
                local = alias.asname.name.value if alias.asname is not None else name
                aliases[local] = f"{base}.{name}"
    return aliases


def _walk_imports(module: cst.Module):
    stack = list(module.body)
    while stack:
        node = stack.pop()
        if isinstance(node, cst.SimpleStatementLine):
            stack.extend(s for s in node.body if isinstance(s, (cst.Import, cst.ImportFrom)))
        elif isinstance(node, (cst.Import, cst.ImportFrom)):
            yield node
        elif isinstance(node, (cst.If, cst.Try, cst.FunctionDef, cst.ClassDef, cst.With)):
            body = getattr(node, "body", None)
            if isinstance(body, cst.BaseSuite):
                stack.extend(body.body)


class _Finder(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, by_type, ctx):
        self.by_type = by_type
        self.ctx = ctx
        self.hits: list[IdiomHit] = []
        self.blocks: list[list] = []       # the small/compound statements of each enclosing block

    def on_visit(self, node):
        if isinstance(node, (cst.Module, cst.IndentedBlock, cst.SimpleStatementSuite)):
            self.blocks.append(_flatten(node.body))
        patterns = self.by_type.get(type(node))
        if patterns:
            for pattern in patterns:
                self._try(pattern, node)
        return True

    def on_leave(self, node):
        if isinstance(node, (cst.Module, cst.IndentedBlock, cst.SimpleStatementSuite)):
            self.blocks.pop()

    def _try(self, pattern: _Pattern, node) -> None:
        caps = pattern.statements[0](node, {}, self.ctx)
        if caps is None:
            return
        last = node
        if len(pattern.statements) > 1:
            block = self.blocks[-1] if self.blocks else []
            at = next((i for i, s in enumerate(block) if s is node), None)
            if at is None:
                return
            for matcher in pattern.statements[1:]:
                for j in range(at + 1, min(len(block), at + 2 + pattern.idiom.gap)):
                    found = matcher(block[j], caps, self.ctx)
                    if found is not None:
                        caps, at, last = found, j, block[j]
                        break
                else:
                    return
        start = self.get_metadata(PositionProvider, node).start.line
        end = self.get_metadata(PositionProvider, last).end.line
        if isinstance(last, (cst.With, cst.For, cst.While, cst.If, cst.FunctionDef)):
            code = header_line(self.ctx.lines, start)
        elif node is last:
            code = _one_line(self.ctx.code(node))
        else:
            code = _one_line(self.ctx.code(node)) + " … " + _one_line(self.ctx.code(last))
        self.hits.append(IdiomHit(pattern.idiom, start, end, {k: self.ctx.code(v) for k, v in caps.items()},
                                  code))


def _flatten(body) -> list:
    out = []
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            out.extend(statement.body)
        else:
            out.append(statement)
    return out


def header_line(lines: list[str], line: int) -> str:
    """The header of the compound statement starting at `line` (`with torch.no_grad():`), from the source."""
    return " ".join(text.strip() for text in lines[line - 1:header_end(lines, line)])


def header_end(lines: list[str], line: int) -> int:
    """The last line of the header of the compound statement starting at `line` (a header may span lines)."""
    for end in range(line, min(len(lines), line + 9) + 1):
        if lines[end - 1].split("#")[0].rstrip().endswith(":"):
            return end
    return min(len(lines), line + 9)


def _one_line(code: str, limit: int = 100) -> str:
    code = " ".join(code.split())
    return code if len(code) <= limit else code[:limit - 1] + "…"


def find_in_module(module: cst.Module, wrapper: MetadataWrapper | None = None,
                   catalogue_path: Path | None = None, text: str | None = None) -> list[IdiomHit]:
    """Idiom hits of a parsed module (pass its MetadataWrapper and text to reuse them)."""
    catalogue_path = Path(catalogue_path or CATALOGUE)
    _, by_type = _compiled(str(catalogue_path), catalogue_path.stat().st_mtime_ns)
    lines = (text if text is not None else module.code).splitlines()
    aliases = imports_of(module)
    finder = _Finder(by_type, _Context(aliases, lines, {k for k in aliases if k not in DEFAULT_ALIASES}))
    (wrapper or MetadataWrapper(module, unsafe_skip_copy=True)).visit(finder)
    unique: dict[tuple, IdiomHit] = {}
    for hit in finder.hits:               # one hit per idiom and place (several patterns may match the same code)
        unique.setdefault((hit.idiom.id, hit.line), hit)
    return sorted(unique.values(), key=lambda h: (h.line, h.end_line, h.idiom.id))


def find_idioms(source: str, path: str = "<source>", catalogue_path: Path | None = None) -> list[IdiomHit]:
    """Every place an idiom of the catalogue occurs in `source`, in file order.

    Raises SyntaxError (naming `path` and the line) if the source cannot be parsed."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise SyntaxError(f"{path}:{exc.raw_line}: cannot parse: {exc.message}") from None
    return find_in_module(module, catalogue_path=catalogue_path, text=source)
