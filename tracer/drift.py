"""When the code moves away from its walkthrough: names a step watches or tests that no longer exist,
anchors that no longer resolve, and re-anchoring them to the nearest unique statement.

A learner editing the reference code is the point of the tool, so none of this stops a tour:
`walkthrough start` skips the steps concerned with a one-line warning, `walkthrough check` reports
them, and `walkthrough check --fix` rewrites a stale `at = "..."` in the walkthrough file.
"""
from __future__ import annotations

import ast
import builtins
import difflib
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .engine import anchors
from .spec import Step, Walkthrough

_BUILTINS = set(dir(builtins)) | {"__file__", "__name__", "__builtins__", "__doc__", "__spec__", "__loader__",
                                   "__package__", "__cached__", "__annotations__"}


# ----- names in scope at a step -------------------------------------------------------------------------
def _bound_in(nodes: list[ast.AST], descend_functions: bool) -> set[str]:
    """Names bound by these statements (assignments, loops, imports, defs, params of the function itself)."""
    names: set[str] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            stack.extend(getattr(node, "decorator_list", []))
            if not descend_functions:
                continue
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.MatchAs) and node.name or isinstance(node, ast.MatchStar) and node.name:
            names.add(node.name)
        stack.extend(ast.iter_child_nodes(node))
    return names


def _has_star_import(tree: ast.Module) -> bool:
    return any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names) for n in ast.walk(tree))


@lru_cache(maxsize=32)
def _module(path: Path, mtime_ns: int) -> tuple[ast.Module | None, frozenset[str]]:
    """A file's tree and its module-level names; (None, ...) when it cannot be known (unparsable, `import *`)."""
    try:
        tree = ast.parse(anchors.read_source(path))
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None, frozenset()
    if _has_star_import(tree):
        return None, frozenset()
    return tree, frozenset(_bound_in(tree.body, descend_functions=False))


def names_in_scope(path: Path, function: str) -> set[str] | None:
    """Every name a statement in `function` (a qualified name, "<module>" for top level) can see; None when it
    cannot be known (unparsable file, `from x import *`)."""
    try:
        tree, module_names = _module(Path(path), Path(path).stat().st_mtime_ns)
    except OSError:
        return None
    if tree is None:
        return None
    names = set(module_names) | _BUILTINS
    scope, body = [], tree.body
    for part in ([] if function in ("", "<module>") else function.split(".")):
        node = next((n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                     and n.name == part), None)
        if node is None:
            return None
        scope.append(node)
        body = node.body
    for node in scope:
        if not isinstance(node, ast.ClassDef):     # class bodies are not visible from their methods
            names |= _bound_in([node.args, *node.body], descend_functions=True)
    return names


def free_names(expression: str) -> list[str]:
    """Names an expression reads from its surroundings (not those its comprehensions or lambdas bind)."""
    try:
        tree = ast.parse(expression, mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        return []
    bound = _bound_in([tree], descend_functions=True)
    loads = sorted((n.lineno, n.col_offset, n.id) for n in ast.walk(tree)
                   if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load))
    return [n for n in dict.fromkeys(name for *_, name in loads) if n not in bound]


def _attribute_known(attr: str, repo_texts: list[str]) -> bool:
    """Does any file of the repo give something this attribute (`x.attr`, `attr = `, `def attr`, `--attr-flag`)?"""
    dashed = attr.replace("_", "[-_]")
    pattern = re.compile(rf"\.{re.escape(attr)}\b|\b{re.escape(attr)}\s*=|\bdef\s+{re.escape(attr)}\b|"
                         rf"['\"]--?{dashed}['\"]|dest\s*=\s*['\"]{re.escape(attr)}['\"]")
    return any(pattern.search(text) for text in repo_texts)


def _repo_texts(repo_dir: Path) -> list[str]:
    texts = []
    for path in sorted(Path(repo_dir).rglob("*.py"))[:200]:
        try:
            texts.append(anchors.read_source(path))
        except (OSError, SyntaxError, ValueError):
            continue
    return texts


# ----- what check reports, what start skips -----------------------------------------------------------
@dataclass
class Problem:
    step: Step
    message: str
    question: object = None      # the question concerned, if the problem is in one


def name_problems(walkthrough: Walkthrough, watches: bool = True) -> list[Problem]:
    """Watched names, `when` variables and question expressions' names that no longer exist where their
    step stops (watched names only with `watches`)."""
    problems, texts = [], None
    for step in walkthrough.steps:
        if step.stale or step.path is None:
            continue
        if not (watches and step.watch or step.when or any(q.expr for q in step.questions)):
            continue
        scope = names_in_scope(step.path, step.qualname or "<module>")
        if scope is None:
            continue
        where = f"{step.file} {step.qualname}()" if step.qualname not in ("", "<module>") else step.file
        if step.when:
            unknown = [n for n in free_names(step.when) if n not in scope]
            if unknown:
                problems.append(Problem(step, f"its `when` {step.when!r} uses {', '.join(unknown)}, which "
                                              f"{'does' if len(unknown) == 1 else 'do'} not exist in {where}"))
        for question in step.questions:
            unknown = [n for n in free_names(question.expr or "") if n not in scope]
            if unknown:
                problems.append(Problem(step, f"question {question.id}: its expr {question.expr!r} uses "
                                              f"{', '.join(unknown)}, which {'does' if len(unknown) == 1 else 'do'} "
                                              f"not exist in {where}", question))
        for watched in step.watch if watches else ():
            head, *attrs = watched.split(".")
            if head not in scope:
                near = difflib.get_close_matches(head, sorted(scope - _BUILTINS), n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                problems.append(Problem(step, f"watch {watched!r}: no name {head!r} in {where}{hint}"))
                continue
            if texts is None:
                texts = _repo_texts(walkthrough.repo_dir)
            missing = [a for a in attrs if not _attribute_known(a, texts)]
            if missing:
                problems.append(Problem(step, f"watch {watched!r}: nothing in {walkthrough.repo_dir.name}/ "
                                              f"defines an attribute {missing[0]!r}"))
    return problems


def mark_unrunnable(walkthrough: Walkthrough) -> list[str]:
    """Before a run: a step whose `when` names variables that no longer exist would stop the tour when it is
    tested; mark it stale (skipped with a warning) instead. A question whose `expr` does is left out; returns
    what was left out, to say so. Watched names that vanished are only not shown."""
    dropped = []
    for problem in name_problems(walkthrough, watches=False):
        if problem.message.startswith("its `when`") and not problem.step.stale:
            problem.step.stale = problem.message + "; `walkthrough check` reports it"
        elif problem.question is not None and problem.question in problem.step.questions:
            problem.step.questions.remove(problem.question)
            dropped.append(f"step {problem.step.id!r}: {problem.message}; that question is left out")
    return dropped


# ----- re-anchoring ----------------------------------------------------------------------------------
@dataclass
class Reanchor:
    step: Step
    index: int                 # position of the step in the file
    statement: anchors.Statement
    at: str                    # the new anchor text


def _token_list(text: str) -> list[str]:
    try:
        return anchors.normalize(text).split(" ")
    except anchors.AnchorError:
        return []


def nearest_unique(step: Step, index: int) -> tuple[Reanchor | None, str]:
    """The statement a stale step most likely meant, if one stands out, with an anchor that resolves to it
    alone; else None and why not."""
    try:
        source = anchors.parse_file(step.path)
    except anchors.AnchorError as exc:
        return None, str(exc)
    function = step.function if step.function in source.functions else None
    candidates = [s for s in source.statements
                  if function is None or s.function == function or s.function.startswith(function + ".")]
    wanted = _token_list(step.at)
    if not wanted or not candidates:
        return None, "nothing to compare it with"

    def score(statement) -> tuple[float, float]:
        tokens = statement.tokens.split(" ")
        matcher = difflib.SequenceMatcher(None, wanted, tokens, autojunk=False)
        covered = sum(block.size for block in matcher.get_matching_blocks()) / len(wanted)
        return covered, matcher.ratio()

    ranked = sorted(((score(s), s) for s in candidates), key=lambda pair: pair[0], reverse=True)
    (best_score, best), rest = ranked[0], ranked[1:]
    if best_score[0] < 0.6:
        return None, f"no statement is close enough (best: line {best.line}, {best_score[0]:.0%} of the anchor)"
    if rest and rest[0][0][0] >= best_score[0] - 0.05 and rest[0][0][1] >= best_score[1] - 0.05:
        return None, f"lines {best.line} and {rest[0][1].line} match it equally well"
    for at in _anchor_texts(best):
        try:
            found = anchors.resolve(step.path, at, step.function if function else None)
        except anchors.AnchorError:
            continue
        if found.line == best.line:
            return Reanchor(step, index, best, at), ""
    return None, f"line {best.line} cannot be named uniquely"


def _anchor_texts(statement: anchors.Statement) -> list[str]:
    """Candidate anchors for a statement, shortest readable first: its first line, then its whole code."""
    first = statement.code.splitlines()[0].rstrip()
    return list(dict.fromkeys([first, " ".join(statement.code.split())]))


def toml_string(text: str) -> str:
    """A TOML basic string holding `text`."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    escaped = "".join(c if c >= " " or c in "\\" else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'


def rewrite_anchors(path: Path, fixes: list[Reanchor]) -> None:
    """Replace the `at = ...` of each fixed step in the file, leaving every other byte as it was; atomic."""
    text = Path(path).read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if re.match(r"\s*\[\[\s*step\s*\]\]", line)]
    for fix in sorted(fixes, key=lambda f: f.index, reverse=True):
        begin = starts[fix.index]
        end = next((s for s in starts if s > begin), len(lines))
        for i in range(begin, end):
            if re.match(r"\s*at\s*=", lines[i]):
                last = _value_end(lines, i, end)
                indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
                newline = "\n" if lines[last].endswith("\n") else ""
                lines[i:last + 1] = [f"{indent}at = {toml_string(fix.at)}{newline}"]
                break
    fd, tmp = tempfile.mkstemp(dir=Path(path).parent, prefix=f".{Path(path).name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("".join(lines))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _value_end(lines: list[str], first: int, limit: int) -> int:
    """The last line of the `key = value` that starts at `first` (a multi-line string spans several)."""
    for last in range(first, limit):
        try:
            tomllib.loads("".join(lines[first:last + 1]))
            return last
        except tomllib.TOMLDecodeError:
            continue
    return first
