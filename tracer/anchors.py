"""Find code by what it says, not by its line number.

An anchor is a piece of code (`ratio = logratio.exp()`), optionally narrowed to a function
(`main`, `Agent.get_value`). It matches a statement when its tokens appear, in order and
contiguous, among the statement's tokens: whitespace, line breaks and comments never matter.
For a compound statement (for, while, if, with) only its header counts.
"""
from __future__ import annotations

import difflib
import io
import tokenize
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

_SKIPPED_TOKENS = {tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT,
                   tokenize.ENDMARKER, tokenize.ENCODING}


class AnchorError(Exception):
    """An anchor that resolves to no place, or to more than one."""


def normalize(code: str) -> str:
    """Tokens of `code` joined by single spaces; raises AnchorError if it does not tokenize."""
    tokens = []
    try:
        for t in tokenize.generate_tokens(io.StringIO(code).readline):
            if t.type not in _SKIPPED_TOKENS:
                tokens.append(t.string)
    except tokenize.TokenError:
        pass  # an unclosed bracket: a partial anchor such as `torch.randn(fan_in,` is fine
    except (IndentationError, SyntaxError) as exc:
        raise AnchorError(f"the anchor {code!r} is not Python code ({exc.args[0]})") from None
    return " ".join(tokens)


@dataclass(frozen=True)
class Statement:
    line: int          # first line of the statement (of its header for compound statements)
    end_line: int      # last line (of the header for compound statements)
    function: str      # qualified name of the enclosing function, "<module>" at top level
    code: str          # source text (the header of compound statements)
    tokens: str        # normalize(code)


@dataclass(frozen=True)
class SourceFile:
    path: Path
    text: str
    statements: tuple[Statement, ...]
    functions: tuple[str, ...]


class ScopedVisitor(cst.CSTVisitor):
    """Knows the qualified name of the function or class it is in (`Agent.get_value`)."""

    def __init__(self):
        self.scope: list[str] = []
        self.functions: list[str] = []

    def visit_ClassDef(self, node):
        self.scope.append(node.name.value)

    def leave_ClassDef(self, node):
        self.scope.pop()

    def visit_FunctionDef(self, node):
        self.scope.append(node.name.value)
        self.functions.append(".".join(self.scope))

    def leave_FunctionDef(self, node):
        self.scope.pop()


class _Collector(ScopedVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)
    _COMPOUND = (cst.For, cst.While, cst.If, cst.With, cst.Try)

    def __init__(self, module: cst.Module, text: str):
        super().__init__()
        self.module = module
        self.lines = text.splitlines(keepends=True)
        self.statements: list[Statement] = []
        self.elifs: set[int] = set()   # ids of If nodes that are the `elif` of another

    def _add(self, node, code: str, end_line: int):
        line = self.get_metadata(PositionProvider, node).start.line
        self.statements.append(Statement(line, end_line, ".".join(self.scope) or "<module>",
                                         code.strip(), normalize(code)))

    def visit_SimpleStatementLine(self, node):
        for small in node.body:
            pos = self.get_metadata(PositionProvider, small)
            self._add(small, self.module.code_for_node(small), pos.end.line)
        return False

    def on_visit(self, node):
        if isinstance(node, self._COMPOUND) and id(node) not in self.elifs:
            header = _first_logical_line(self.module.code_for_node(node))
            start = self.get_metadata(PositionProvider, node).start.line
            self._add(node, header, start + header.count("\n"))
        return super().on_visit(node)

    def visit_If(self, node):
        if isinstance(node.orelse, cst.If):
            self.elifs.add(id(node.orelse))


def _first_logical_line(code: str) -> str:
    """`for x in xs:` of a whole for statement: the text up to the first logical line's end."""
    lines = code.splitlines(keepends=True)
    first = None
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if first is None and tok.type not in _SKIPPED_TOKENS:
            first = tok.start
        if first is not None and tok.type == tokenize.NEWLINE:
            end = tok.start
            text = "".join(lines[first[0] - 1:end[0]])
            return text[first[1]:len(text) - len(lines[end[0] - 1]) + end[1]]
    return code.strip()


@lru_cache(maxsize=64)
def _parse(path: Path, mtime_ns: int, size: int) -> SourceFile:
    text = path.read_text(encoding="utf-8")
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        raise AnchorError(f"{path}:{exc.raw_line}: cannot parse the file: {exc.message}") from None
    collector = _Collector(module, text)
    MetadataWrapper(module, unsafe_skip_copy=True).visit(collector)
    return SourceFile(path, text, tuple(collector.statements), tuple(collector.functions))


def parse_file(path: Path) -> SourceFile:
    """Statements of a Python file, cached until the file changes."""
    path = Path(path).resolve()
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise AnchorError(f"{path}: no such file") from None
    return _parse(path, stat.st_mtime_ns, stat.st_size)


def resolve(path: Path, at: str, function: str | None = None) -> Statement:
    """The one statement of `path` (inside `function` if given) whose code contains `at`."""
    path = Path(path)
    source = parse_file(path)
    if function is not None and function not in source.functions and function != "<module>":
        near = difflib.get_close_matches(function, source.functions, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else f"; functions there: {', '.join(source.functions)}"
        raise AnchorError(f"no function {function!r} in {path.name}{hint}")
    candidates = [s for s in source.statements
                  if function is None or s.function == function or s.function.startswith(function + ".")]
    wanted = normalize(at)
    if not wanted:
        raise AnchorError("the anchor is empty")
    matches = [s for s in candidates if f" {wanted} " in f" {s.tokens} "]
    where = f"{path.name}" + (f", function {function}" if function else "")
    if len(matches) == 1:
        return matches[0]
    if not matches:
        nearest = max(candidates, key=lambda s: difflib.SequenceMatcher(None, wanted, s.tokens).ratio(), default=None)
        hint = f"; nearest: line {nearest.line}: {nearest.code.splitlines()[0]}" if nearest else ""
        raise AnchorError(f"no statement in {where} matches {at!r}{hint}")
    lines = ", ".join(str(s.line) for s in matches)
    raise AnchorError(f"{at!r} matches {len(matches)} statements in {where} (lines {lines}); "
                      "make `at` longer or name the `function`")


def names_read(code: str) -> list[str]:
    """Names and attribute chains (`args.gamma`) that a statement reads, in order of appearance."""
    import ast

    tree = None
    for candidate in (code, code.rstrip().rstrip(":") + ":\n    pass", code + "\n    pass"):
        try:
            tree = ast.parse(candidate)
            break
        except SyntaxError:
            continue
    if tree is None:
        return []
    found: list[tuple[int, int, str]] = []

    def chain(node):
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            base = chain(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    for node in ast.walk(tree):
        if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load):
            name = chain(node)
            if name:
                found.append((node.lineno, node.col_offset, name))
    names = list(dict.fromkeys(name for _, _, name in sorted(found)))
    return [n for n in names if not any(m.startswith(n + ".") for m in names)]   # `args.gamma`, not `args`
