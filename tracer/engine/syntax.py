"""Parse a Python file with libcst into its statements (imported only when a file must be parsed)."""
from __future__ import annotations

import io
import tokenize
from functools import lru_cache
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from .anchors import _SKIPPED_TOKENS, AnchorError, SourceFile, Statement, normalize


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
    text = path.read_text(encoding="utf-8")
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        raise AnchorError(f"{path}:{exc.raw_line}: cannot parse the file: {exc.message}") from None
    collector = _Collector(module, text)
    MetadataWrapper(module, unsafe_skip_copy=True).visit(collector)
    return SourceFile(path, text, tuple(collector.statements), tuple(collector.functions))


