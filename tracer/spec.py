"""Walkthrough files: load walkthroughs/<name>.toml, validate it strictly, resolve its anchors.

Every error names the file and, where the TOML shows one, the line, and says what to do.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from . import datafile
from .engine import anchors

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WALKTHROUGHS_DIR = PROJECT_ROOT / "walkthroughs"
IMPLS_DIR = PROJECT_ROOT / "minimal_impls"

QUESTION_KINDS = ("choice", "value", "text")
MAX_FILE_BYTES = 4 * 1024 * 1024     # walkthrough files are a few tens of kB


def shown(value, limit: int = 60) -> str:
    """repr() of a value from a file, cut to `limit` characters: a 100k-character key is not echoed whole."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(str(value))} characters)"


class SpecError(Exception):
    """A walkthrough file that cannot be used as it is."""


@dataclass
class Question:
    id: str                     # "<step id>.<n>"
    kind: str                   # choice | value | text
    prompt: str
    answer: str | list[str] | None = None
    choices: list[str] = field(default_factory=list)
    expr: str | None = None     # value: the expression whose real value is the answer
    after: bool = True          # value: evaluate expr after the line has run (else before)
    tolerance: float = 1e-3     # value: relative tolerance for numbers
    explain: str = ""
    misconceptions: dict[str, str] = field(default_factory=dict)  # wrong choice -> what it stands for
    line: int | None = None     # the code line the question is about (generated questions)
    source: str = "authored"    # authored, or the generator's kind (mutant, blank, names, ...)
    subject: str = ""           # value: how feedback names the checked value (default: expr)


@dataclass
class Step:
    id: str
    title: str
    file: str                   # relative to the repo directory
    at: str
    function: str | None = None
    until: str | None = None      # the step spans the statements from `at` to the first after it matching this
    text: str = ""
    math: str = ""
    how: str = ""
    watch: list[str] = field(default_factory=list)
    hint: str = ""
    hit: int | None = None
    every: int | None = None
    when: str | None = None
    optional: bool = False      # the run may not reach it (e.g. classification only): skipped once a later step is hit
    experiment: str = ""        # a `walkthrough experiment ...` command the step's idea invites
    questions: list[Question] = field(default_factory=list)
    # filled by resolve():
    path: Path | None = None
    line: int = 0
    end_line: int = 0
    code: str = ""
    qualname: str = ""
    stale: str = ""             # why the step cannot stop (its anchor no longer resolves, ...); "" if it can
    where: str = ""             # "file.toml:LINE" of its `at`, for messages


@dataclass
class RunEntry:
    script: str
    args: list[str] = field(default_factory=list)


@dataclass
class Walkthrough:
    name: str
    title: str
    repo_dir: Path
    runs: list[RunEntry]
    steps: list[Step]
    summary: str = ""
    source: Path | None = None
    experiment: dict = field(default_factory=dict)   # the [experiment] table (tracer/lab/experiments.py)
    origin_dir: Path | None = None     # with --repo: the reference repo the copy was made from

    @property
    def skipped(self) -> list[str]:
        """Ids of the steps that cannot stop (stale): their code is not where the walkthrough says."""
        return [step.id for step in self.steps if step.stale]


# ----- schema --------------------------------------------------------------------------------
_TOP = {"title": str, "repo": str, "summary": str, "run": list, "step": list, "experiment": dict}
_RUN = {"script": str, "args": list}
_STEP = {"id": str, "title": str, "file": str, "at": str, "function": str, "until": str, "text": str, "math": str,
         "how": str, "watch": list, "hint": str, "hit": int, "every": int, "when": str, "optional": bool,
         "question": list, "experiment": str}
_EXPERIMENT = {"script": str, "budget": str, "steps": int, "x": str, "y": str, "x_label": str, "y_label": str,
               "target": float, "target_label": str, "args": list, "seconds": float}
_REQUIRED_EXPERIMENT = ("budget", "x", "y")
_QUESTION = {"kind": str, "prompt": str, "answer": (str, list, int, float), "choices": list, "expr": str,
             "after": bool, "tolerance": float, "explain": str, "misconceptions": dict}
_REQUIRED_TOP = ("title", "repo", "run", "step")
_REQUIRED_STEP = ("id", "title", "file", "at")
_TYPE_NAMES = {str: "a string", list: "a list", int: "an integer", bool: "true or false", float: "a number",
               dict: "a table"}


class _Lines:
    """Finds the line of a key in the raw TOML text, for error messages (tomllib has no positions)."""

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.step_starts = [i for i, line in enumerate(self.lines) if re.match(r"\s*\[\[\s*step\s*\]\]", line)]
        self.run_starts = [i for i, line in enumerate(self.lines) if re.match(r"\s*\[\[\s*run\s*\]\]", line)]
        heads = [i for i, line in enumerate(self.lines) if re.match(r"\s*\[", line)]
        self.experiment = next(((i, min([h for h in heads if h > i], default=len(self.lines))) for i in heads
                                if re.match(r"\s*\[\s*experiment\s*\]", self.lines[i])), None)

    def _block(self, starts: list[int], index: int) -> tuple[int, int]:
        if index >= len(starts):
            return 0, len(self.lines)
        later = [s for s in self.step_starts + self.run_starts if s > starts[index]]
        return starts[index], min(later, default=len(self.lines))

    def of_key(self, key: str, block: tuple[int, int] | None = None, nth_question: int | None = None) -> int | None:
        start, end = block or (0, len(self.lines))
        if nth_question is not None:
            heads = [i for i in range(start, end) if re.match(r"\s*\[\[\s*step\.question\s*\]\]", self.lines[i])]
            if nth_question < len(heads):
                start = heads[nth_question]
                end = heads[nth_question + 1] if nth_question + 1 < len(heads) else end
        for i in range(start, end):
            if re.match(rf"\s*{re.escape(key)}\s*=", self.lines[i]):
                return i + 1
        return start + 1 if block else None

    def step(self, index: int) -> tuple[int, int]:
        return self._block(self.step_starts, index)

    def run(self, index: int) -> tuple[int, int]:
        return self._block(self.run_starts, index)


def _check_table(table: dict, schema: dict, where) -> None:
    for key, value in table.items():
        if key not in schema:
            near = [k for k in schema if k.startswith(key[:2])]
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise SpecError(f"{where(key)}: unknown key {shown(key)}{hint}; allowed: {', '.join(schema)}")
        expected = schema[key]
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            name = (" or ".join(_TYPE_NAMES.get(t, t.__name__) for t in expected)
                    if isinstance(expected, tuple) else _TYPE_NAMES[expected])
            raise SpecError(f"{where(key)}: {key!r} must be {name}, not {type(value).__name__} {shown(value)}")


def load(path: Path, resolve_anchors: bool = True, cache: anchors.ResolvedCache | None = None,
         repo: Path | None = None, lenient: bool = False) -> Walkthrough:
    """Read and validate a walkthrough file; with resolve_anchors, find every step's code.

    `repo` replaces the file's own repo directory: the same tour on a learner's working copy.
    `lenient`: a step whose anchor no longer resolves is marked `stale` instead of failing the file."""
    path = Path(path)
    try:
        text, data = datafile.read_toml(path, "walkthrough file", MAX_FILE_BYTES)
    except datafile.DataFileError as exc:
        raise SpecError(str(exc)) from None
    lines = _Lines(text)

    def at_line(line):
        return f"{path}:{line}" if line else str(path)

    _check_table(data, _TOP, lambda key: at_line(lines.of_key(key)))
    for key in _REQUIRED_TOP:
        if key not in data:
            raise SpecError(f"{path}: missing {key!r} (a walkthrough needs {', '.join(_REQUIRED_TOP)})")

    for key in ("run", "step"):
        if not data[key]:
            raise SpecError(f"{at_line(lines.of_key(key))}: {key!r} is empty; a walkthrough needs at least one "
                            f"[[{key}]] table")
    repo_dir = Path(data["repo"]) if repo is None else Path(repo).resolve()
    if repo is not None and not repo_dir.is_dir():
        raise SpecError(f"--repo {repo}: no such directory")
    if not repo_dir.is_absolute():   # beside the file (a learner's own), else one of minimal_impls/
        beside = path.parent / repo_dir
        repo_dir = beside.resolve() if beside.is_dir() or not (IMPLS_DIR / repo_dir).is_dir() else IMPLS_DIR / repo_dir
    if not repo_dir.is_dir():
        raise SpecError(f"{at_line(lines.of_key('repo'))}: repo {data['repo']!r} is not a directory "
                        f"(looked for {path.parent / data['repo']} and {IMPLS_DIR / data['repo']})")

    runs = []
    for i, run in enumerate(data["run"]):
        block = lines.run(i)
        if not isinstance(run, dict):
            raise SpecError(f"{at_line(lines.of_key('run'))}: write each run as a [[run]] table")
        _check_table(run, _RUN, lambda key, b=block: at_line(lines.of_key(key, b)))
        if "script" not in run:
            raise SpecError(f"{at_line(block[0] + 1)}: [[run]] needs 'script'")
        if not all(isinstance(a, str) for a in run.get("args", [])):
            raise SpecError(f"{at_line(lines.of_key('args', block))}: 'args' must be a list of strings")
        if not (repo_dir / run["script"]).is_file() or not _inside(repo_dir, run["script"]):
            raise SpecError(f"{at_line(lines.of_key('script', block))}: no script {shown(run['script'])} in {repo_dir}")
        runs.append(RunEntry(run["script"], list(run.get("args", []))))

    steps, seen = [], {}
    for i, raw in enumerate(data["step"]):
        block = lines.step(i)
        if not isinstance(raw, dict):
            raise SpecError(f"{at_line(lines.of_key('step'))}: write each step as a [[step]] table")
        _check_table(raw, _STEP, lambda key, b=block: at_line(lines.of_key(key, b)))
        for key in _REQUIRED_STEP:
            if key not in raw:
                raise SpecError(f"{at_line(block[0] + 1)}: step {i + 1} has no {key!r} "
                                f"(a step needs {', '.join(_REQUIRED_STEP)})")
        step_id = raw["id"]
        if not re.fullmatch(r"[\w-]{1,60}", step_id):
            raise SpecError(f"{at_line(lines.of_key('id', block))}: step id {shown(step_id)}: use 1-60 letters, "
                            "digits, - or _ (it names the step in answers files and progress)")
        if step_id in seen:
            raise SpecError(f"{at_line(block[0] + 1)}: step id {step_id!r} is used twice (also step {seen[step_id]})")
        seen[step_id] = i + 1
        for key in ("hit", "every"):
            if key in raw and raw[key] < 1:
                raise SpecError(f"{at_line(lines.of_key(key, block))}: {key!r} counts from 1, got {raw[key]}")
        if "when" in raw:
            try:
                compile(raw["when"], "<when>", "eval")
            except SyntaxError as exc:
                raise SpecError(f"{at_line(lines.of_key('when', block))}: 'when' is not a Python expression: "
                                f"{exc.msg}") from None
        if not all(isinstance(w, str) and _DOTTED.fullmatch(w) for w in raw.get("watch", [])):
            raise SpecError(f"{at_line(lines.of_key('watch', block))}: 'watch' must be a list of names or "
                            "attribute chains, e.g. [\"ratio\", \"args.gamma\"]")
        questions = [_question(q, step_id, n, lambda key, n=n, b=block: at_line(lines.of_key(key, b, n)))
                     for n, q in enumerate(raw.get("question", []))]
        fields = {k: v for k, v in raw.items() if k != "question"}
        steps.append(Step(**fields, questions=questions))
        if "file" in raw and (not (repo_dir / raw["file"]).is_file() or not _inside(repo_dir, raw["file"])):
            raise SpecError(f"{at_line(lines.of_key('file', block))}: step {step_id!r}: no file {shown(raw['file'])} "
                            f"in {repo_dir}")

    experiment = data.get("experiment", {})
    if experiment:
        _check_experiment(experiment, runs, repo_dir, lambda key: at_line(lines.of_key(key, lines.experiment)))
    for step in (s for s in steps if s.experiment):
        where = at_line(lines.of_key("experiment", lines.step(steps.index(step))))
        if not experiment:
            raise SpecError(f"{where}: step {step.id!r} suggests an experiment but the file has no [experiment] "
                            "table (budget, x, y)")
        if not step.experiment.startswith(f"walkthrough experiment {path.stem} "):
            raise SpecError(f"{where}: step {step.id!r}: 'experiment' must be a command "
                            f"`walkthrough experiment {path.stem} --set NAME=V1,V2 ...`")
    walkthrough = Walkthrough(path.stem, data["title"], repo_dir, runs, steps, data.get("summary", ""), path,
                              experiment)
    for i, step in enumerate(steps):
        step.where = at_line(lines.of_key("at", lines.step(i)))
    if repo is not None and (IMPLS_DIR / data["repo"]).is_dir():
        walkthrough.origin_dir = IMPLS_DIR / data["repo"]
    if resolve_anchors:
        if repo is not None:     # a learner's copy (an exercise rewrote a block): skip, never refuse; not theirs to fix
            lenient = "your copy changed here; the tour goes on without this step"
        resolve(walkthrough, lambda step: at_line(lines.of_key("at", lines.step(steps.index(step)))), cache,
                lenient=lenient)
    return walkthrough


_DOTTED = re.compile(r"[^\W\d]\w*(\.[^\W\d]\w*)*")


def _inside(repo_dir: Path, relative: str) -> bool:
    """Is repo_dir/relative inside repo_dir (no `..` or absolute path leading out of it)?"""
    try:
        (repo_dir / relative).resolve().relative_to(repo_dir.resolve())
        return True
    except ValueError:
        return False


def _check_experiment(table: dict, runs: list[RunEntry], repo_dir: Path, where) -> None:
    """The [experiment] table: what `walkthrough experiment` runs and plots (see tracer/lab/experiments.py)."""
    _check_table(table, _EXPERIMENT, where)
    for key in _REQUIRED_EXPERIMENT:
        if key not in table:
            raise SpecError(f"{where('experiment')}: [experiment] has no {key!r} "
                            f"(it needs {', '.join(_REQUIRED_EXPERIMENT)})")
    script = table.get("script", runs[0].script if runs else "")
    if not (repo_dir / script).is_file():
        raise SpecError(f"{where('script')}: [experiment]: no script {script!r} in {repo_dir}")
    if not all(isinstance(a, str) for a in table.get("args", [])):
        raise SpecError(f"{where('args')}: [experiment]: 'args' must be a list of strings")


def _question(raw, step_id: str, n: int, where) -> Question:
    if not isinstance(raw, dict):
        raise SpecError(f"{where('question')}: write each question as a [[step.question]] table")
    _check_table(raw, _QUESTION, where)
    for key in ("kind", "prompt"):
        if key not in raw:
            raise SpecError(f"{where(key)}: question {n + 1} of step {step_id!r} has no {key!r}")
    kind = raw["kind"]
    if kind not in QUESTION_KINDS:
        raise SpecError(f"{where('kind')}: question kind {kind!r} is not one of {', '.join(QUESTION_KINDS)}")
    question = Question(id=f"{step_id}.{n + 1}", **raw)
    if kind == "choice":
        if len(question.choices) < 2 or not all(isinstance(c, str) for c in question.choices):
            raise SpecError(f"{where('choices')}: a choice question needs 'choices', two or more strings")
        if question.answer not in question.choices:
            raise SpecError(f"{where('answer')}: the answer {question.answer!r} is not one of the choices")
    elif kind == "value":
        if not (0 <= question.tolerance < float("inf")):
            raise SpecError(f"{where('tolerance')}: 'tolerance' must be a number >= 0, not {question.tolerance}")
        if not question.expr and question.answer is None:
            raise SpecError(f"{where('expr')}: a value question needs 'expr' (checked against the run) or 'answer'")
        if question.expr:
            try:
                compile(question.expr, "<expr>", "eval")
            except SyntaxError as exc:
                raise SpecError(f"{where('expr')}: 'expr' is not a Python expression: {exc.msg}") from None
    elif kind == "text":
        if not question.answer:
            raise SpecError(f"{where('answer')}: a text question needs 'answer' (a string or a list of accepted ones)")
    if question.answer is not None and not isinstance(question.answer, (str, list)):
        question.answer = str(question.answer)
    return question


def resolve(walkthrough: Walkthrough, where=lambda step: "", cache: anchors.ResolvedCache | None = None,
            lenient: bool | str = False) -> None:
    """Find each step's statement; an anchor that does not resolve names the step and the nearest code.
    With `lenient`, such a step is marked `stale` (the message, and `lenient` as advice if it is a string) and
    the others still resolve."""
    for step in walkthrough.steps:
        step.path = (walkthrough.repo_dir / step.file).resolve()
        try:
            statement = anchors.resolve(step.path, step.at, step.function, cache)
        except anchors.AnchorError as exc:
            statement = _moved(walkthrough, step, cache)      # the edited statement in the same place
            if statement is None:
                if not lenient:
                    prefix = where(step) or str(walkthrough.source or walkthrough.name)
                    raise SpecError(f"{prefix}: step {step.id!r}: {exc}") from None
                step.stale = f"{exc} ({lenient if isinstance(lenient, str) else '`walkthrough check --fix` re-anchors it'})"
                continue
        step.line, step.end_line, step.code, step.qualname = (statement.line, statement.end_line, statement.code,
                                                              statement.function)
        if step.until:
            step.end_line = _until(step, where)


def _until(step: Step, where) -> int:
    """Last line of the first statement after the step's own, in its function, whose code contains `until`."""
    wanted = anchors.normalize(step.until)
    for statement in anchors.parse_file(step.path).statements:
        if statement.line > step.line and statement.function == step.qualname and f" {wanted} " in f" {statement.tokens} ":
            return statement.end_line
    prefix = where(step) or str(step.path)
    raise SpecError(f"{prefix}: step {step.id!r}: no statement after line {step.line} in {step.qualname} matches "
                    f"until = {step.until!r}")


def _moved(walkthrough: Walkthrough, step: Step, cache) -> anchors.Statement | None:
    """On a copy whose anchored statement was edited: the statement standing in its place, or None."""
    origin = walkthrough.origin_dir
    if origin is None or origin.resolve() == walkthrough.repo_dir.resolve() or not (origin / step.file).is_file():
        return None
    from .practice.workcopy import open_copy

    copy = open_copy(walkthrough.repo_dir)
    hunt = copy is not None and copy.kind == "bughunt"
    try:       # on a bug-hunt copy a removed statement is followed too: skipping its step would name the bug
        return anchors.resolve_moved(origin / step.file, step.path, step.at, step.function, cache,
                                     follow_removal=hunt)
    except anchors.AnchorError:
        return None


def find(name: str) -> Path:
    """walkthroughs/<name>.toml, or a path to a .toml file."""
    candidate = Path(name)
    if candidate.suffix == ".toml":
        if candidate.is_file():
            return candidate
        raise SpecError(f"{candidate}: no such walkthrough file")
    path = WALKTHROUGHS_DIR / f"{name}.toml"
    if not path.is_file():
        raise SpecError(f"no walkthrough named {name!r}; available: {', '.join(available()) or 'none'} "
                        f"(see `walkthrough list`)")
    return path


def available() -> list[str]:
    return sorted(p.stem for p in WALKTHROUGHS_DIR.glob("*.toml"))
