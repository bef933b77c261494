"""Find code by what it says, not by its line number.

An anchor is a piece of code (`ratio = logratio.exp()`), optionally narrowed to a function
(`main`, `Agent.get_value`). It matches a statement when its tokens appear, in order and
contiguous, among the statement's tokens: whitespace, line breaks and comments never matter.
For a compound statement (for, while, if, with) only its header counts.
"""
from __future__ import annotations

import ast
import difflib
import hashlib
import io
import json
import os
import tempfile
import tokenize
from dataclasses import astuple, dataclass
from pathlib import Path

from ..datafile import cached_json_object

_SKIPPED_TOKENS = {tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT,
                   tokenize.ENDMARKER, tokenize.ENCODING}


class AnchorError(Exception):
    """An anchor that resolves to no place, or to more than one."""


def read_source(path) -> str:
    """A Python file's text as Python reads it: honouring a `# -*- coding: latin-1 -*-` cookie (PEP 263)."""
    with tokenize.open(path) as f:
        return f.read()


def _cut(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


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
        raise AnchorError(f"the anchor {_cut(code)!r} is not Python code ({exc.args[0]})") from None
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


def parse_file(path: Path) -> SourceFile:
    """Statements of a Python file (parsed with libcst), cached until the file changes."""
    from .syntax import parse

    path = Path(path).resolve()
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise AnchorError(f"{path}: no such file") from None
    return parse(path, stat.st_mtime_ns, stat.st_size)


class ResolvedCache:
    """Anchors already resolved, keyed by file, a hash of its content, function and anchor text: a start
    whose files have not changed needs no parsing (and no libcst import). Written atomically."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.changed = False
        self.entries = cached_json_object(self.path)

    @staticmethod
    def key(path: Path, at: str, function: str | None) -> str | None:
        try:
            digest = hashlib.sha1(Path(path).read_bytes()).hexdigest()
        except OSError:
            return None
        return "\0".join([str(Path(path).resolve()), digest, function or "", at])

    def get(self, key: str | None) -> Statement | None:
        value = self.entries.get(key) if key else None
        try:
            return Statement(*value) if value else None
        except TypeError:
            return None

    def put(self, key: str | None, statement: Statement) -> None:
        if key:
            self.entries[key] = list(astuple(statement))
            self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if len(self.entries) > 2000:
                self.entries = dict(list(self.entries.items())[-1000:])
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.entries, f)
            os.replace(tmp, self.path)
        except OSError:
            pass  # a cache: losing it costs only time


def resolve(path: Path, at: str, function: str | None = None, cache: ResolvedCache | None = None) -> Statement:
    """The one statement of `path` (inside `function` if given) whose code contains `at`."""
    path = Path(path)
    key = cache.key(path, at, function) if cache is not None else None
    cached = cache.get(key) if cache is not None else None
    if cached is not None:
        return cached
    statement = _resolve(path, at, function)
    if cache is not None:
        cache.put(key, statement)
    return statement


MOVED_SIMILARITY = 0.6      # an edited statement still counts as the anchor's if this much of its tokens agree


def _resembles(original: str, edited: str) -> bool:
    """Is `edited` (normalized tokens) the same statement changed, not another one: most tokens agree, or it
    assigns the same target (`dz = grad` for `dz = grad if last else relu_backward(grad, z)`)?"""
    if difflib.SequenceMatcher(None, original, edited).ratio() >= MOVED_SIMILARITY:
        return True

    def target(tokens: str) -> str | None:
        return tokens.split(" = ", 1)[0] if " = " in tokens else None

    return target(original) is not None and target(original) == target(edited)


def resolve_moved(original: Path, copy: Path, at: str, function: str | None = None,
                  cache: ResolvedCache | None = None, follow_removal: bool = False) -> Statement:
    """In a copy whose anchored statement itself was edited (a learner's change, a planted bug), the
    statement that stands where the anchor's statement stands in `original`: found by resolving the
    anchor there and following the lines through a diff of the two files. Raises AnchorError if the
    anchor does not resolve in the original either, if the place fell in another function, or if the
    statement there no longer resembles the original one (rewritten: the step is better skipped).
    `follow_removal`: a removed statement gives the statement that follows the gap (a bug-hunt copy, where
    skipping the step would point at the bug)."""
    key = cache.key(copy, f"{at}\0moved{follow_removal:d}", function) if cache is not None else None
    cached = cache.get(key) if cache is not None else None
    if cached is not None:
        return cached
    statement = resolve(original, at, function, cache)
    old = Path(original).read_text(encoding="utf-8").splitlines()
    new = Path(copy).read_text(encoding="utf-8").splitlines()
    target, deleted = None, False
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if i1 <= statement.line - 1 < i2:
            offset = statement.line - 1 - i1
            target = j1 + (offset if tag == "equal" else min(offset, max(j2 - j1 - 1, 0))) + 1
            deleted = tag == "delete"      # its lines are gone: target is the line after the gap
            break
    source = parse_file(copy)
    here = [s for s in source.statements if target is not None and not deleted and s.line <= target <= s.end_line]
    removed = not here and target is not None
    if removed:                             # the statement was removed: the one that follows the gap
        here = [s for s in source.statements if s.line >= target][:1]
    here = [s for s in here if function is None or s.function == statement.function]
    if not here:
        raise AnchorError(f"no statement in {Path(copy).name} stands where {at!r} stands in the original")
    moved = max(here, key=lambda s: s.line)          # the innermost statement on that line
    if not (removed and follow_removal) and not _resembles(statement.tokens, moved.tokens):
        raise AnchorError(f"the statement where {at!r} stood in {Path(copy).name} was rewritten beyond recognition")
    if cache is not None:
        cache.put(key, moved)
    return moved


def _resolve(path: Path, at: str, function: str | None) -> Statement:
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
        hint = f"; nearest: line {nearest.line}: {_cut(nearest.code.splitlines()[0], 100)}" if nearest else ""
        raise AnchorError(f"no statement in {where} matches {_cut(at)!r}{hint}")
    lines = ", ".join(str(s.line) for s in matches[:20]) + (", …" if len(matches) > 20 else "")
    raise AnchorError(f"{_cut(at)!r} matches {len(matches)} statements in {where} (lines {lines}); "
                      "make `at` longer or name the `function`")


def names_read(code: str) -> list[str]:
    """Names and attribute chains (`args.gamma`) that a statement reads, in order of appearance."""
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
