"""Exercises: a piece of a reference repo the learner writes themselves, checked against the real run.

An exercise is a whole function (`linear_backward`) or a block of statements inside one (GAE, inline
in `main`), declared in walkthroughs/exercises/<repo>.toml. The reference block is found by code
anchors; the learner's block by the code around it (the statement before it, or its enclosing
header, and the statement after it), so the learner may restructure the block, add helpers and
rename its locals: only the names it receives and the values it must produce are fixed.

This module loads and validates the files, locates blocks, and writes the stub. Recording the
inputs is `tracer.engine.recorder`; checking a learner's block is `tracer.practice.grading`.
"""
from __future__ import annotations

import ast
import functools
import io
import re
import textwrap
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from .. import datafile
from ..engine import anchors
from ..spec import IMPLS_DIR, WALKTHROUGHS_DIR, SpecError, _check_table

EXERCISES_DIR = WALKTHROUGHS_DIR / "exercises"
RETURN = "return"

_TOP = {"repo": str, "record": dict, "train": dict, "exercise": list}
_RECORD = {"script": str, "args": list, "timeout": int}
_TRAIN = {"script": str, "args": list, "x": str, "y": str, "goal": str}
_EXERCISE = {"id": str, "title": str, "file": str, "function": str, "start": str, "end": str, "task": str,
             "produce": (list, dict), "returns": list, "steps": list, "hits": list, "moment": str, "moments": dict,
             "dims": dict, "notes": dict, "tolerance": dict, "hints": dict, "case": list, "scan": str,
             "there": (list, dict), "keep": list, "in_place": list}
_HINTS = {"idea": str, "term": str, "faded": str}
_CASE = {"label": str, "hit": int, "set": dict}
_TOLERANCE = {"rtol": float, "atol": float}
_REQUIRED = ("id", "title", "file", "function", "task", "hits", "hints")
HINT_STAGES = ("idea", "where", "term", "faded")


@dataclass
class Hints:
    idea: str                       # the plan, in words
    term: str                       # which term or index matters most, and why
    faded: str = ""                 # the reference with blanks (generated from it when empty)


@dataclass
class Case:
    """A derived input: a recorded sample with some inputs replaced (expected outputs come from the reference)."""
    label: str
    hit: int
    set: dict[str, str]


@dataclass
class Exercise:
    id: str
    repo: str
    title: str
    file: str                       # relative to the repo
    function: str                   # qualified name of the function holding the block, or the function itself
    task: str                       # what to compute (the stub's comment, the instructions)
    hits: list[int]                 # executions of the block to record
    hints: Hints
    start: str = ""                 # anchor of the block's first statement ("" = the whole function body)
    end: str = ""                   # anchor of its last statement
    produce: dict[str, str] = field(default_factory=dict)   # label -> expression evaluated after the block
    returns: list[str] = field(default_factory=list)        # names of what a function returns (tuple items)
    steps: list[str] = field(default_factory=list)          # walkthrough steps whose idea and math are shown
    moment: str = "execution {hit}"                          # how a recorded sample is named
    moments: dict[str, str] = field(default_factory=dict)    # or per hit
    dims: dict[str, list[str]] = field(default_factory=dict)  # name or expression -> names of its dimensions
    notes: dict[str, str] = field(default_factory=dict)      # name -> what it holds, in the problem's terms
    tolerance: dict[str, float] = field(default_factory=dict)
    cases: list[Case] = field(default_factory=list)
    scan: str = "forward"           # "backward": report the last differing element first (code that runs from the end)
    keep: list[str] = field(default_factory=list)           # inputs the block must not change (the caller uses them)
    in_place: list[str] = field(default_factory=list)       # inputs it must update in place (`self.params`)
    there: dict[str, str] = field(default_factory=dict)     # label -> expression shown at a differing element,
                                                            # over the inputs and the dims' names (`dones[t + 1, env]`)
    source: Path | None = None      # the TOML file
    line: int = 0                   # where the exercise starts in it
    # filled by locate():
    repo_dir: Path | None = None
    path: Path | None = None
    region: Region | None = None

    @property
    def key(self) -> str:
        return f"{self.repo}/{self.id}"

    @property
    def is_function(self) -> bool:
        return not self.start

    def moment_of(self, hit: int) -> str:
        return self.moments.get(str(hit)) or self.moment.format(hit=hit)

    def outputs(self) -> dict[str, str]:
        """label -> expression of everything the block must produce (a function's return value first)."""
        out = {}
        if self.is_function and self.returns:
            out[RETURN] = RETURN
        out.update(self.produce)
        return out


@dataclass
class Catalogue:
    repo: str
    path: Path
    script: str                     # the recorded run
    args: list[str]
    timeout: int
    exercises: list[Exercise]
    train: dict = field(default_factory=dict)   # --train: script, args, x and y (metrics.csv columns), goal


# ----- loading ---------------------------------------------------------------------------------
def files() -> list[Path]:
    return sorted(EXERCISES_DIR.glob("*.toml"))


class _Lines:
    """Lines of keys in the raw TOML, for error messages (tomllib has no positions)."""

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.starts = [i for i, line in enumerate(self.lines) if re.match(r"\s*\[\[\s*exercise\s*\]\]", line)]

    def block(self, index: int) -> tuple[int, int]:
        if index >= len(self.starts):
            return 0, len(self.lines)
        end = self.starts[index + 1] if index + 1 < len(self.starts) else len(self.lines)
        return self.starts[index], end

    def of_key(self, key: str, block: tuple[int, int] | None = None) -> int:
        start, end = block or (0, len(self.lines))
        for i in range(start, end):
            if re.match(rf"\s*(\[+\s*(exercise\.)?)?{re.escape(key)}\s*(=|\]+)", self.lines[i]):
                return i + 1
        return start + 1


def load(path: Path, locate_regions: bool = True) -> Catalogue:
    """Read and validate one exercises file; with locate_regions, find every exercise's block in its repo."""
    path = Path(path)
    try:
        text, data = datafile.read_toml(path, "exercises file")
    except datafile.DataFileError as exc:
        raise SpecError(str(exc)) from None
    lines = _Lines(text)

    def at(line: int) -> str:
        return f"{path}:{line}"

    _check_table(data, _TOP, lambda key: at(lines.of_key(key)))
    for key in ("repo", "record", "train", "exercise"):
        if key not in data:
            raise SpecError(f"{path}: missing {key!r} (an exercises file needs repo, [record], [train] and "
                            "[[exercise]] tables)")
    repo_dir = IMPLS_DIR / data["repo"]
    if not repo_dir.is_dir():
        raise SpecError(f"{at(lines.of_key('repo'))}: no reference repo {data['repo']!r} in {IMPLS_DIR}")
    record = data["record"]
    _check_table(record, _RECORD, lambda key: at(lines.of_key(key)))
    if "script" not in record or not (repo_dir / record["script"]).is_file():
        raise SpecError(f"{at(lines.of_key('record'))}: [record] needs 'script', a file of {repo_dir}")
    if not all(isinstance(a, str) for a in record.get("args", [])):
        raise SpecError(f"{at(lines.of_key('args'))}: [record] 'args' must be a list of strings")
    train = data["train"]
    _check_table(train, _TRAIN, lambda key: at(lines.of_key(key)))
    for key in ("script", "x", "y"):
        if key not in train:
            raise SpecError(f"{at(lines.of_key('train'))}: [train] needs script, x and y (columns of metrics.csv)")
    if not (repo_dir / train["script"]).is_file() or not all(isinstance(a, str) for a in train.get("args", [])):
        raise SpecError(f"{at(lines.of_key('train'))}: [train] needs 'script', a file of {repo_dir}, and 'args', "
                        "a list of strings")
    train = {"args": [], "goal": "", **train}

    exercises, seen = [], {}
    for i, raw in enumerate(data["exercise"]):
        block = lines.block(i)
        where = lambda key, b=block: at(lines.of_key(key, b))   # noqa: E731
        exercise = _exercise(raw, data["repo"], where, at(block[0] + 1))
        if exercise.id in seen:
            raise SpecError(f"{at(block[0] + 1)}: exercise id {exercise.id!r} is used twice (also line {seen[exercise.id]})")
        seen[exercise.id] = block[0] + 1
        exercise.source, exercise.line, exercise.repo_dir = path, block[0] + 1, repo_dir
        if not (repo_dir / exercise.file).is_file():
            raise SpecError(f"{where('file')}: exercise {exercise.id!r}: no file {exercise.file!r} in {repo_dir}")
        if locate_regions:
            try:
                locate(exercise)
            except SpecError as exc:
                raise SpecError(f"{where('start' if exercise.start else 'function')}: exercise {exercise.id!r}: {exc}") from None
        exercises.append(exercise)
    return Catalogue(data["repo"], path, record["script"], list(record.get("args", [])), int(record.get("timeout", 300)),
                     exercises, train)


def _exercise(raw, repo: str, where, head: str) -> Exercise:
    if not isinstance(raw, dict):
        raise SpecError(f"{head}: write each exercise as an [[exercise]] table")
    _check_table(raw, _EXERCISE, where)
    for key in _REQUIRED:
        if key not in raw:
            raise SpecError(f"{head}: exercise has no {key!r} (an exercise needs {', '.join(_REQUIRED)})")
    if ("start" in raw) != ("end" in raw):
        raise SpecError(f"{where('start' if 'start' in raw else 'end')}: give both 'start' and 'end' (a block), "
                        "or neither (the whole function)")
    if not raw.get("start") and not raw.get("returns") and not raw.get("produce"):
        raise SpecError(f"{head}: a function exercise needs 'returns' (names of what it returns) or 'produce'")
    if raw.get("start") and not raw.get("produce"):
        raise SpecError(f"{where('produce')}: a block exercise needs 'produce': what the code after it uses")
    if not raw["hits"] or not all(isinstance(h, int) and not isinstance(h, bool) and h >= 1 for h in raw["hits"]):
        raise SpecError(f"{where('hits')}: 'hits' must be a list of executions to record, counting from 1")
    for key in ("returns", "steps", "keep", "in_place"):
        if not all(isinstance(v, str) for v in raw.get(key, [])):
            raise SpecError(f"{where(key)}: {key!r} must be a list of strings")
    there = raw.get("there", {})
    if isinstance(there, list):
        there = {expr: expr for expr in there}
    for expr in there.values():
        _expression(expr, where("there"), "there")
    produce = raw.get("produce", {})
    if isinstance(produce, list):
        if not all(isinstance(v, str) for v in produce):
            raise SpecError(f"{where('produce')}: 'produce' must be a list of expressions or a table label = expression")
        produce = {expr: expr for expr in produce}
    for label, expr in produce.items():
        _expression(expr, where("produce"), "produce")
    hints = raw["hints"]
    _check_table(hints, _HINTS, lambda key: where(key))
    for key in ("idea", "term"):
        if not hints.get(key, "").strip():
            raise SpecError(f"{where('hints')}: hints need {key!r} (stages: idea, where it differs, term, faded code)")
    tolerance = raw.get("tolerance", {})
    _check_table(tolerance, _TOLERANCE, lambda key: where("tolerance"))
    if any(v < 0 for v in tolerance.values()):
        raise SpecError(f"{where('tolerance')}: tolerances must be >= 0")
    dims = raw.get("dims", {})
    if not all(isinstance(v, list) and all(isinstance(d, str) for d in v) for v in dims.values()):
        raise SpecError(f"{where('dims')}: 'dims' maps a name to the list of its dimensions' names, e.g. "
                        "{ rewards = [\"t\", \"env\"] }")
    for table in ("notes", "moments"):
        if not all(isinstance(v, str) for v in raw.get(table, {}).values()):
            raise SpecError(f"{where(table)}: {table!r} values must be strings")
    if raw.get("scan", "forward") not in ("forward", "backward"):
        raise SpecError(f"{where('scan')}: 'scan' is forward (report the first differing element) or backward "
                        "(the last: for code that runs from the end, like GAE)")
    if "{hit}" not in raw.get("moment", "{hit}"):
        raise SpecError(f"{where('moment')}: 'moment' names a sample and must contain {{hit}}")
    cases = []
    for raw_case in raw.get("case", []):
        if not isinstance(raw_case, dict):
            raise SpecError(f"{where('case')}: write each case as an [[exercise.case]] table")
        _check_table(raw_case, _CASE, lambda key: where("case"))
        if not {"label", "hit", "set"} <= set(raw_case):
            raise SpecError(f"{where('case')}: a case needs label, hit (one of 'hits') and set (name = expression)")
        if raw_case["hit"] not in raw["hits"]:
            raise SpecError(f"{where('case')}: case {raw_case['label']!r}: hit {raw_case['hit']} is not in 'hits'")
        for expr in raw_case["set"].values():
            _expression(expr, where("case"), "set")
        cases.append(Case(raw_case["label"], raw_case["hit"], dict(raw_case["set"])))
    fields = {k: v for k, v in raw.items() if k not in ("hints", "case", "produce", "there")}
    return Exercise(**fields, repo=repo, produce=produce, there=there, hints=Hints(**hints), cases=cases)


def _expression(expr, where: str, key: str) -> None:
    if not isinstance(expr, str):
        raise SpecError(f"{where}: {key!r} values must be Python expressions (strings)")
    try:
        compile(expr, "<expr>", "eval")
    except SyntaxError as exc:
        raise SpecError(f"{where}: {expr!r} is not a Python expression ({exc.msg})") from None


def is_exercise_file(path: Path) -> bool:
    """An exercises file: in walkthroughs/exercises/, or any TOML with [[exercise]] tables."""
    path = Path(path)
    if path.resolve().parent == EXERCISES_DIR.resolve():
        return True
    try:
        return bool(re.search(r"^\s*\[\[\s*exercise\s*\]\]", path.read_text(encoding="utf-8"), re.M))
    except (OSError, UnicodeDecodeError):
        return False


def validate(path: Path) -> str:
    """Load an exercises file with every check `walkthrough check` makes; a one-line summary, or SpecError."""
    from .. import spec

    catalogue = load(path)
    lines = _Lines(Path(path).read_text(encoding="utf-8"))
    try:
        steps = {s.id for s in spec.load(spec.find(catalogue.repo), resolve_anchors=False).steps}
    except SpecError:
        steps = set()
    for k, exercise in enumerate(catalogue.exercises):
        where = f"{path}:{lines.of_key('steps', lines.block(k))}"
        unknown = [s for s in exercise.steps if s not in steps]
        if unknown:
            raise SpecError(f"{where}: exercise {exercise.id!r}: no step {unknown[0]!r} in walkthroughs/"
                            f"{catalogue.repo}.toml")
        names = set(exercise.region.inputs) | set(exercise.returns) | set(exercise.produce)
        for table in ("notes", "dims"):
            stray = [n for n in getattr(exercise, table) if n not in names and not any(c in n for c in "[(.")]
            if stray:
                raise SpecError(f"{path}:{lines.of_key(table, lines.block(k))}: exercise {exercise.id!r}: {table} "
                                f"names {stray[0]!r}, which the block neither receives nor produces "
                                f"({', '.join(sorted(names))})")
    hints = sum(1 for _ in catalogue.exercises)
    return (f"{path}: {len(catalogue.exercises)} exercises on {catalogue.repo}, every block found, {hints * len(HINT_STAGES)} "
            f"hint stages")


def catalogues(locate_regions: bool = True) -> list[Catalogue]:
    return [load(path, locate_regions) for path in files()]


def find(repo: str, exercise_id: str) -> tuple[Catalogue, Exercise]:
    """The exercise `exercise_id` of `repo`; the error lists what exists."""
    known = catalogues(locate_regions=False)
    for catalogue in known:
        if catalogue.repo != repo:
            continue
        for exercise in catalogue.exercises:
            if exercise.id == exercise_id:
                locate(exercise)
                return catalogue, exercise
        ids = ", ".join(e.id for e in catalogue.exercises)
        raise SpecError(f"no exercise {exercise_id!r} for {repo}; its exercises: {ids} (see `walkthrough exercises`)")
    repos = ", ".join(c.repo for c in known) or "none"
    raise SpecError(f"no exercises for a repo named {repo!r}; repos with exercises: {repos}")


# ----- blocks in the reference and in the learner's copy ---------------------------------------------
@dataclass
class Region:
    start_line: int                 # first line of the block's first statement
    end_line: int                   # last line of its last statement
    body_indent: str                # indentation of the block's statements
    inputs: list[str]               # names the block reads before writing them
    before: str = ""                # tokens of the statement just before the block ("" = none)
    parent: str = ""                # tokens of the header of the statement holding the block
    after: str = ""                 # tokens of the statement just after the block ("" = the block's end)
    docstring_end: int = 0          # function exercises: last line of the docstring kept in the stub


@dataclass
class _Stmt:
    node: ast.stmt
    function: str                   # qualified name of the enclosing function ("<module>")
    tokens: str                     # normalised tokens of its code (a compound statement's header only)


class _Index:
    """Every statement of a file with its enclosing function and its tokens, and every function by qualname."""

    _BLOCKS = ("body", "orelse", "finalbody", "handlers")

    def __init__(self, source: str):
        self.source = source
        self.lines = source.splitlines(keepends=True)
        self.statements: list[_Stmt] = []
        self.functions: dict[str, ast.FunctionDef] = {}
        self.parents: dict[int, ast.AST] = {}          # id(statement) -> the node whose block holds it
        self._walk(ast.parse(source), [])

    def _walk(self, node: ast.AST, scope: list[str]) -> None:
        for name in self._BLOCKS:
            block = getattr(node, name, None)
            if not isinstance(block, list):
                continue
            for child in block:
                self.parents[id(child)] = node
                inner = scope
                if isinstance(child, ast.stmt):
                    self.statements.append(_Stmt(child, ".".join(scope) or "<module>",
                                                 anchors.normalize(self.header(child))))
                    if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                        inner = [*scope, child.name]
                        if not isinstance(child, ast.ClassDef):
                            self.functions[".".join(inner)] = child
                self._walk(child, inner)

    def header(self, node: ast.stmt) -> str:
        """The statement's code; for a compound statement its first logical line (`for t in range(n):`)."""
        text = "".join(self.lines[node.lineno - 1:node.end_lineno])
        if not isinstance(node, (ast.For, ast.While, ast.If, ast.With, ast.Try, ast.FunctionDef, ast.ClassDef,
                                 ast.AsyncFunctionDef, ast.AsyncFor, ast.AsyncWith)):
            return text
        out = []
        try:
            for tok in tokenize.generate_tokens(io.StringIO(text).readline):
                if tok.type == tokenize.OP and tok.string == ":" and _depth(out) == 0 and not _in_lambda(out):
                    out.append(":")
                    break
                if tok.type not in anchors._SKIPPED_TOKENS:
                    out.append(tok.string)
        except (tokenize.TokenError, IndentationError, SyntaxError):
            pass
        return " ".join(out)

    def block_of(self, stmt: ast.stmt) -> list[ast.stmt]:
        parent = self.parents.get(id(stmt))
        for name in ("body", "orelse", "finalbody"):
            block = getattr(parent, name, None) or []
            if any(s is stmt for s in block):
                return block
        return []


@functools.lru_cache(maxsize=16)
def _index(source: str) -> _Index:
    """_Index of a source text, parsed once (every exercise of a file is located in the same text)."""
    return _Index(source)


def _depth(tokens: list[str]) -> int:
    depth = 0
    for t in tokens:
        depth += t in "([{" and len(t) == 1
        depth -= t in ")]}" and len(t) == 1
    return depth


def _in_lambda(tokens: list[str]) -> bool:
    return tokens.count("lambda") > tokens.count(":")


def _match(statements: list[_Stmt], anchor_tokens: str) -> list[_Stmt]:
    return [s for s in statements if f" {anchor_tokens} " in f" {s.tokens} "]


def locate(exercise: Exercise) -> Region:
    """Find the exercise's block in its reference file (anchors must match one statement each)."""
    exercise.path = (exercise.repo_dir / exercise.file).resolve()
    exercise.region = reference_region(exercise.path, exercise)
    return exercise.region


def reference_region(path: Path, exercise: Exercise) -> Region:
    """The block of the reference code (or of a copy that still holds it) the exercise is about."""
    source = Path(path).read_text(encoding="utf-8")
    try:
        index = _index(source)
    except SyntaxError as exc:
        raise SpecError(f"{path}:{exc.lineno}: cannot parse: {exc.msg}") from None
    function = index.functions.get(exercise.function)
    if function is None:
        near = ", ".join(index.functions) or "none"
        raise SpecError(f"no function {exercise.function!r} in {Path(path).name} (functions: {near})")
    header = anchors.normalize(index.header(function))
    if exercise.is_function:
        body = list(function.body)
        doc_end = 0
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            doc_end = body[0].end_lineno
            body = body[1:]
        if not body:
            raise SpecError(f"function {exercise.function!r} has no body besides its docstring")
        params = [a.arg for a in (*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs)]
        return Region(body[0].lineno, body[-1].end_lineno, _indent(index, body[0]), params, parent=header,
                      docstring_end=doc_end)
    inside = [s for s in index.statements if s.function == exercise.function]
    first = _one(inside, exercise.start, "start", exercise.function)
    last = _one(inside, exercise.end, "end", exercise.function)
    block = index.block_of(first.node)
    if not any(s is last.node for s in block):
        raise SpecError(f"'start' (line {first.node.lineno}) and 'end' (line {last.node.lineno}) are not statements of "
                        "the same block")
    i, j = _position(block, first.node), _position(block, last.node)
    if j < i:
        raise SpecError(f"'end' (line {last.node.lineno}) comes before 'start' (line {first.node.lineno})")
    before = anchors.normalize(index.header(block[i - 1])) if i > 0 else ""
    parent = index.parents.get(id(first.node))
    after = anchors.normalize(index.header(block[j + 1])) if j + 1 < len(block) else ""
    end_line = block[j].end_lineno
    return Region(first.node.lineno, end_line, _indent(index, first.node),
                  _region_inputs(Path(path), source, first.node.lineno, end_line), before,
                  anchors.normalize(index.header(parent)) if isinstance(parent, ast.stmt) else header, after)


def _region_inputs(path: Path, source: str, start: int, end: int, dotted: bool = False) -> list[str]:
    """recorder.region_names' inputs, cached by the file's content (so a check never needs to import libcst)."""
    import hashlib
    import json
    import os
    import tempfile

    from ..engine.recorder import region_names
    from ..progress import state_dir

    cache = state_dir() / "cache" / "regions.json"
    key = f"{hashlib.sha1(source.encode()).hexdigest()}:{start}:{end}:{int(dotted)}"
    try:
        entries = json.loads(cache.read_text(encoding="utf-8"))
        if isinstance(entries.get(key), list):
            return entries[key]
    except (OSError, ValueError, AttributeError):
        entries = {}
    inputs, _ = region_names(path, start, end, dotted=dotted)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        entries = dict(list(entries.items())[-200:]) if isinstance(entries, dict) else {}
        entries[key] = inputs
        fd, tmp = tempfile.mkstemp(dir=cache.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(entries, f)
        os.replace(tmp, cache)
    except OSError:
        pass     # a cache: losing it costs only time
    return inputs


def attributes_read(exercise: Exercise) -> dict[str, list[str]]:
    """For each input the reference block reads attributes of (`args.gamma`): those attributes."""
    if exercise.is_function:
        return {}
    chains = _region_inputs(exercise.path, exercise.path.read_text(encoding="utf-8"), exercise.region.start_line,
                            exercise.region.end_line, dotted=True)
    found: dict[str, list[str]] = {}
    for chain in chains:
        base, _, rest = chain.partition(".")
        if rest:
            found.setdefault(base, []).append(rest)
    return found


def _one(statements: list[_Stmt], anchor: str, key: str, function: str) -> _Stmt:
    try:
        wanted = anchors.normalize(anchor)
    except anchors.AnchorError as exc:
        raise SpecError(str(exc)) from None
    found = _match(statements, wanted)
    if len(found) == 1:
        return found[0]
    if not found:
        raise SpecError(f"{key} anchor {anchor!r} matches no statement of {function}")
    raise SpecError(f"{key} anchor {anchor!r} matches {len(found)} statements of {function} (lines "
                    f"{', '.join(str(s.node.lineno) for s in found)}); make it longer")


def _position(block: list[ast.stmt], node: ast.stmt) -> int:
    return next(k for k, s in enumerate(block) if s is node)


def _indent(index: _Index, node: ast.stmt) -> str:
    line = index.lines[node.lineno - 1]
    return line[:len(line) - len(line.lstrip())]


class LayoutError(Exception):
    """The learner's file no longer has the code around the exercise's block; the message says what to restore."""


@dataclass
class LearnerBlock:
    path: Path
    statements: list[ast.stmt]      # block exercises: the learner's statements (may be empty)
    function: ast.FunctionDef | None = None   # function exercises: the learner's function
    first_line: int = 0
    last_line: int = 0


def learner_block(exercise: Exercise, path: Path) -> LearnerBlock:
    """The learner's version of the block in their copy of the file (raises SyntaxError if it does not parse)."""
    source = Path(path).read_text(encoding="utf-8")
    index = _index(source)
    region = exercise.region
    if exercise.is_function:
        function = index.functions.get(exercise.function)
        if function is None:
            raise LayoutError(f"{path} has no function {exercise.function} any more; the code that calls it needs it "
                              "with the same name and parameters")
        return LearnerBlock(Path(path), [], function, function.lineno, function.end_lineno)
    inside = [s for s in index.statements if s.function == exercise.function]
    if region.before:
        found = _match(inside, region.before)
        if len(found) != 1:
            raise LayoutError(_lost(exercise, region.before, "right after", found))
        block = index.block_of(found[0].node)
        start = _position(block, found[0].node) + 1
    else:
        holder = [s for s in index.statements if s.node is index.functions.get(exercise.function)]
        found = [s for s in inside + holder if s.tokens == region.parent and hasattr(s.node, "body")]
        if len(found) != 1:
            raise LayoutError(_lost(exercise, region.parent, "at the start of the block of", found))
        block = found[0].node.body
        start = 0
    stop = len(block)
    if region.after:
        for k in range(start, len(block)):
            tokens = anchors.normalize(index.header(block[k]))
            if f" {region.after} " in f" {tokens} ":
                stop = k
                break
        else:
            raise LayoutError(_lost(exercise, region.after, "followed by", []))
    statements = block[start:stop]
    first = statements[0].lineno if statements else 0
    return LearnerBlock(Path(path), statements, None, first, statements[-1].end_lineno if statements else 0)


def _lost(exercise: Exercise, tokens: str, relation: str, found: list) -> str:
    code = _untokenize(tokens)
    if found:
        return (f"`{code}` occurs {len(found)} times in {exercise.function}(); the {exercise.id} block must come "
                f"{relation} exactly one of them")
    return (f"the {exercise.id} block is found {relation} `{code}` in {exercise.function}(), and that line is not "
            f"there any more: put it back as it was (or start again with --force)")


def _untokenize(tokens: str) -> str:
    return re.sub(r"\s*([.,()\[\]:])\s*", lambda m: m.group(1) + (" " if m.group(1) in ",:" else ""), tokens).strip()


# ----- the stub ----------------------------------------------------------------------------------------
def stub_lines(exercise: Exercise, described_inputs: list[tuple[str, str]], described_outputs: list[tuple[str, str]],
               indent: str) -> list[str]:
    """The comment and `raise NotImplementedError` that replace the block in the learner's copy."""
    def comment(text: str = "") -> str:
        return f"{indent}# {text}".rstrip() + "\n"

    out = [comment(f"----- exercise {exercise.id}: {exercise.title} " + "-" * max(3, 60 - len(exercise.title)))]
    for line in textwrap.dedent(exercise.task).strip().splitlines():
        out.append(comment(line))
    out.append(comment())
    out.append(comment("It receives (shapes and dtypes seen in the real run):"))
    width = max((len(n) for n, _ in described_inputs + described_outputs), default=0)
    for name, text in described_inputs:
        out.append(comment(f"  {name:<{width}}  {text}"))
    out.append(comment("It must produce" + (" (return them in this order):" if exercise.is_function and exercise.returns
                                            else ", for the code after it:")))
    for name, text in described_outputs:
        out.append(comment(f"  {name:<{width}}  {text}"))
    out.append(comment())
    out.append(comment(f"Check it:  walkthrough implement {exercise.repo} {exercise.id} --check   (--hint for a hint)"))
    out.append(f'{indent}raise NotImplementedError("exercise {exercise.id}: write this part")\n')
    return out


def stubbed_source(source: str, exercise: Exercise, region: Region, lines: list[str]) -> str:
    """`source` with the block's lines replaced by `lines` (a function keeps its signature and docstring)."""
    old = source.splitlines(keepends=True)
    return "".join(old[:region.start_line - 1] + lines + old[region.end_line:])
