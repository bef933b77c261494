"""Parse a Python file with libcst into its statements (imported only when a file must be parsed).

Where libcst cannot parse a file Python runs (a 500-term expression exhausts its recursion; newer
syntax than its grammar), the standard library's `ast` gives the same statements.
"""
from __future__ import annotations

import ast
import io
import tokenize
from functools import lru_cache
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from .anchors import _SKIPPED_TOKENS, AnchorError, SourceFile, Statement, normalize, read_source


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
def parse(path: Path, mtime_ns: int, size: int) -> SourceFile:
    try:
        text = read_source(path)
    except (SyntaxError, UnicodeDecodeError) as exc:     # a bad coding cookie, bytes that are not the encoding
        raise AnchorError(f"{path}: cannot read it as Python source ({exc.__class__.__name__}: {exc})") from None
    except OSError as exc:
        raise AnchorError(f"{path}: cannot read it ({exc.strerror})") from None
    try:
        module = cst.parse_module(text)
        collector = _Collector(module, text)
        MetadataWrapper(module, unsafe_skip_copy=True).visit(collector)
        return SourceFile(path, text, tuple(collector.statements), tuple(collector.functions))
    except cst.ParserSyntaxError as exc:
        libcst_error = f"{path}:{exc.raw_line}: cannot parse the file: {exc.message}"
    except (RecursionError, MemoryError, Exception):    # libcst's limits, not the file's
        libcst_error = None
    return _parse_with_ast(path, text, libcst_error)


def _dedent_continuation(code: str, indent: int) -> str:
    """Continuation lines without the block's indentation, as libcst's code_for_node gives them (the lines
    inside a multi-line string are text, and keep theirs)."""
    first, *rest = code.split("\n")
    if not rest:
        return code
    inside = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.start[0] < tok.end[0] and tok.type not in (tokenize.NL, tokenize.NEWLINE):
                inside.update(range(tok.start[0] + 1, tok.end[0] + 1))
    except (tokenize.TokenError, SyntaxError):
        pass
    out = [first]
    for row, line in enumerate(rest, start=2):
        cut = 0 if row in inside else min(indent, len(line) - len(line.lstrip(" \t")))
        out.append(line[cut:])
    return "\n".join(out)


def _parse_with_ast(path: Path, text: str, libcst_error: str | None) -> SourceFile:
    """The same statements as _Collector, from the standard library's parser."""
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as exc:
        raise AnchorError(f"{path}:{exc.lineno}: cannot parse the file: {exc.msg}") from None   # Python's line, not libcst's
    except (RecursionError, MemoryError, ValueError):
        raise AnchorError(f"{path}: cannot parse the file: it is nested too deeply") from None
    lines = text.splitlines(keepends=True)
    statements: list[Statement] = []
    functions: list[str] = []
    compound = (ast.For, ast.AsyncFor, ast.While, ast.If, ast.With, ast.AsyncWith, ast.Try,
                getattr(ast, "TryStar", ast.Try))

    def visit(body: list, scope: list[str]) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = [*scope, node.name]
                if not isinstance(node, ast.ClassDef):
                    functions.append(".".join(inner))
                visit(node.body, inner)
                continue
            function = ".".join(scope) or "<module>"
            segment = "".join(lines[node.lineno - 1:node.end_lineno])
            segment = segment[node.col_offset:]
            if isinstance(node, compound):
                is_elif = isinstance(node, ast.If) and lines[node.lineno - 1][node.col_offset:].startswith("elif")
                if not is_elif:
                    header = _first_logical_line(_dedent_continuation(segment, node.col_offset))
                    statements.append(Statement(node.lineno, node.lineno + header.count("\n"), function,
                                                header.strip(), normalize(header)))
            elif not isinstance(node, getattr(ast, "Match", ())):
                code = _dedent_continuation(ast.get_source_segment(text, node) or segment, node.col_offset)
                statements.append(Statement(node.lineno, node.end_lineno, function, code.strip(), normalize(code)))
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                children = getattr(node, field, None)
                if isinstance(children, list):
                    for child in children:
                        if isinstance(child, (ast.ExceptHandler, getattr(ast, "match_case", ()))):
                            visit(child.body, scope)
                        elif isinstance(child, ast.stmt):
                            visit([child], scope)

    visit(tree.body, [])
    statements.sort(key=lambda s: s.line)
    return SourceFile(path, text, tuple(statements), tuple(functions))
