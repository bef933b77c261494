"""Questions generated from code, each with one machine-checkable right answer.

Static kinds (need only the source), asked by `walkthrough quiz`:
    idiom    why an ML idiom of the catalogue is there (choice; wrong options labelled with misconceptions)
    mutant   which is the real line, among versions with one planted mistake (choice)
    blank    fill the blank (an ML function's name, a dim, an operator), rendered from the tree
    parsons  put lines in an order that computes the same thing (any order the data flow allows)
    names    which variables a line reads or changes (a stated convention; asked only on request)
Kinds that need the paused program (tracer/quiz/live.py), asked at a walkthrough's stops:
    shape, value (predict, checked after the statement ran), whatif (a changed line, run on copies
    of the frame's values), loop_count.

Every question has a teaching score (idiom and shape questions before syntax); `choose` picks the
best few. Right answers are verified by machine where they can be, and the question says how
(`verified`): wrong options must differ from the answer on random inputs (tracer/quiz/probe.py), a
filled blank must parse to the real statement, a Parsons key must accept exactly the orders that
compute the same values. Answers are parsed, never evaluated.
"""
from __future__ import annotations

import ast
import itertools
import random
import re
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import PositionProvider

from ..spec import Question
from . import calls, idioms, probe, shapes
from .source import IO, RNG, SourceIndex, Statement

STATIC_KINDS = ("idiom", "mutant", "blank", "parsons", "names")
DEFAULT_KINDS = ("idiom", "mutant", "blank", "parsons")     # names: only when asked for (`--kinds names`)
LIVE_KINDS = ("shape", "value", "whatif", "loop_count")
ALL_KINDS = STATIC_KINDS + LIVE_KINDS
MIN_SCORE = 2.5            # `walkthrough quiz` asks questions scoring at least this unless --all
WORTHLESS = 1.0            # below this (an idiom card on a line only for logging) not even --all asks it
BLANK = "____"
_EMPTY = cst.Module([])

__all__ = ["GeneratedQuestion", "SourceIndex", "Stats", "Verdict", "generate_static", "choose", "for_file",
           "for_stop", "check_reply", "check_blank", "check_names", "check_parsons", "to_json"]


@dataclass
class GeneratedQuestion(Question):
    code: str = ""                  # the statement the question is about (blank: the real line)
    score: float = 0.0              # teaching score, 0-5: idiom and shape questions before syntax
    verified: str = ""              # how the right answer was checked by machine
    idiom: str = ""                 # idiom kind: the catalogue id
    accepted: list[str] = field(default_factory=list)          # blank: other fills computing the same thing
    dependencies: list[tuple[int, int]] = field(default_factory=list)   # parsons: (i, j) i before j
    end_line: int = 0
    function: str = ""
    shown_lines: set = field(default_factory=set)      # code lines the prompt shows as they are
    asked_lines: set = field(default_factory=set)      # lines whose code (or order) is the answer
    ideas: set = field(default_factory=set)            # card families of the code it asks about (one question each)


@dataclass
class Stats:
    """What the generators made and dropped (and why), for the benchmark."""
    made: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str) -> None:
        self.made[kind] = self.made.get(kind, 0) + 1

    def drop(self, reason: str) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1


# ----- what makes a line about ML ------------------------------------------------------------------------
_ML_WORDS = re.compile(r"(?i)loss|grad|logit|prob|reward|return|value|adv|ratio|gamma|lambda|lam\b|entropy|"
                       r"weight|bias|mean|std|var|norm|softmax|dim\b|q_|target|action|obs|policy|actor|critic|"
                       r"attn|att\b|emb|lr\b|learning_rate|eps|clip|kl|delta|done|mask|layer|hidden|batch")


def _ml_line(stmt: Statement, index: SourceIndex) -> bool:
    """Does the line compute something an ML learner cares about (a tensor library call, ML names, an idiom)?"""
    if any(h.line <= stmt.line <= h.end_line and h.idiom.value >= 3 for h in index.hits):
        return True
    return bool(_ML_WORDS.search(stmt.code)) or bool(re.search(r"\b(torch|np|numpy|F|nn)\.", stmt.code))


_CORE_NAMES = re.compile(r"(?i)loss|target|return|\bret\b|adv|delta|\btd|q_?val|next_q|logp|log_?prob|ratio|"
                         r"objective|surr|^[RG]$|kl\b|\bgae|lastgaelam")


def _core(stmt: Statement, index: SourceIndex) -> bool:
    """Is the line a formula of the method itself (a loss, a target, a return, an advantage, a ratio; or part
    of an idiom worth 4-5) rather than setup or bookkeeping? Mistakes and blanks there teach the most."""
    if _in_idiom(stmt, index, 4):
        return True
    value = getattr(stmt.node, "value", None)
    if value is None or not any(isinstance(n, (cst.BinaryOperation, cst.UnaryOperation)) for n in _walk(value)):
        return False
    leaves = [n for n in _walk(value) if not isinstance(n, (cst.BinaryOperation, cst.UnaryOperation))]
    if len(leaves) <= 2 and all(isinstance(n, cst.Name) for n in leaves):
        return False                                  # `qf_loss = qf1_loss + qf2_loss`: a sum, not a formula
    names = [n for n in stmt.writes if not n.startswith("<")]
    if isinstance(stmt.node, cst.Return):
        names.append(stmt.function.rpartition(".")[2])          # `return ...` of compute_loss_v
    return any(_CORE_NAMES.search(name.rpartition(".")[2]) for name in names)


_LOG_CALL = re.compile(r"^(print|pprint|(.*\.)?(add_scalars?|add_histogram|add_text|log_tabular|log_metrics|"
                       r"set_postfix|set_description|info|debug|warning|dump_tabular|log|log_dict|log_scalars?|"
                       r"\w*progress(_?bar)?\w*|print_\w+)|(plt|ax|axes|fig|pyplot)\..*)$")
_LOGGER = re.compile(r"(?i)writer|logger|logging|wandb|tensorboard|\btb\b|summary|pbar|tqdm|log$")


def _logging_call(stmt: Statement) -> bool:
    """`print(...)`, `writer.add_scalar(...)`, `logger.store(...)`, `wandb.log(...)`: output for a person."""
    node = stmt.node
    if not (isinstance(node, cst.Expr) and isinstance(node.value, cst.Call)):
        return False
    name = idioms._dotted(node.value.func) or ""
    receiver, _, method = name.rpartition(".")
    return bool(_LOG_CALL.match(name)) or bool(receiver) and _LOGGER.search(receiver) is not None \
        and method in ("log", "store", "add", "write", "info", "record", "update", "log_dict")


def logging_only(index: SourceIndex) -> set[int]:
    """Lines (first lines of statements) whose only use is printing or logging: logging calls, and values
    computed only for them (`D_x = output.mean().item()` read by nothing but a print). No teaching value."""
    cached = index.probe_cache.get("<logging-only>")
    if cached is not None:
        return cached
    by_function: dict[str, list[Statement]] = {}
    for stmt in index.statements:
        by_function.setdefault(stmt.function, []).append(stmt)
    found: set[int] = set()
    for members in by_function.values():
        logged = {id(s) for s in members if _logging_call(s)}
        changed = True
        while changed:
            changed = False
            for stmt in members:
                if id(stmt) in logged or stmt.compound or not isinstance(stmt.node, (cst.Assign, cst.AugAssign)):
                    continue
                names = [n for n in stmt.writes if not n.startswith("<")]
                readers = [r for r in members if r is not stmt and set(names) & set(r.reads)]
                if names and readers and all(id(r) in logged for r in readers):
                    logged.add(id(stmt))
                    changed = True
        found |= {s.line for s in members if id(s) in logged}
    index.probe_cache["<logging-only>"] = found
    return found


def _line_score(stmt: Statement, index: SourceIndex, base: float) -> float:
    """A question about a line: worth more on a formula of the method (`_core`) than on setup code."""
    if _core(stmt, index):
        return base + 1.0
    return base + (0.3 if _ml_line(stmt, index) else 0.0)


def _tensor_math(stmt: Statement) -> bool:
    """Arithmetic on tensors (an operator next to a torch/F call or a math method), not bookkeeping."""
    value = getattr(stmt.node, "value", None)
    if value is None:
        return False
    math_call = re.search(r"\b(torch|F)\.\w+\(|\.(exp|log|sum|mean|std|pow|clamp|softmax|tanh)\(", stmt.code)
    return bool(math_call) and any(isinstance(n, cst.BinaryOperation) for n in _walk(value))


def _walk(node):
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(_children(current))


# ----- idiom: why is this here ----------------------------------------------------------------------------
def idiom_question(hit: idioms.IdiomHit, index: SourceIndex, rng: random.Random) -> GeneratedQuestion:
    idiom = hit.idiom
    right = hit.text(idiom.answer)
    wrong = {hit.text(w.option): hit.text(w.misconception) for w in idiom.wrong}
    choices = [right, *wrong]
    rng.shuffle(choices)
    numbers, elided = _shown_numbers(index, hit.line, hit.end_line)
    prompt = f"{hit.text(idiom.question)}\n\n{_indent(_shown_code(index, numbers, elided))}"
    return GeneratedQuestion(
        id="", kind="choice", prompt=prompt, answer=right, choices=choices, misconceptions=wrong,
        line=hit.line, end_line=hit.end_line, source="idiom", explain=f"{idiom.title}: {hit.text(idiom.explanation)}",
        code=hit.code, score=idiom.value + 0.3, idiom=idiom.id, shown_lines=set(numbers),
        verified="teacher-written answer from the idiom catalogue; the pattern matched this code")


_BRANCH_HEADER = re.compile(r"\s*(else|elif\b.*|except\b.*|finally)\s*:")   # a branch's header line


def _shown_numbers(index: SourceIndex, start: int, end: int, limit: int = 6) -> tuple[list[int], int | None]:
    """The lines an idiom question shows of a hit: its statements with the decorators above a `def` (what
    makes `@torch.no_grad()` true), without comments, blank lines and docstrings; a long hit by its first
    statements and its last one, never part of a statement. Returns (line numbers, the position in them where
    the left-out middle is, or None)."""
    stmt = index.at(start)
    units: list[tuple[int, int]] = []
    if stmt is not None and isinstance(stmt.node, (cst.FunctionDef, cst.ClassDef)) and stmt.node.decorators:
        position = index.wrapper.resolve(PositionProvider).get(stmt.node.decorators[0])
        if position is not None and position.start.line < stmt.line:
            units.append((position.start.line, stmt.line - 1))
    for s in index.statements:
        if s.line <= end and s.end_line >= start and not _docstring(s):
            inside = s.compound and s.line < start           # a block around the hit: only its lines in the hit
            units.append((max(s.line, start), min(s.end_line, end)) if inside else (s.line, s.end_line))
    units += [(n, n) for n in range(start, end + 1)
              if _BRANCH_HEADER.match(index.lines[n - 1])]
    units = sorted(set(units)) or [(start, end)]
    size = lambda unit: unit[1] - unit[0] + 1                       # noqa: E731
    if sum(size(u) for u in units) <= limit or len(units) == 1 and size(units[0]) <= 3 * limit:
        return [n for u in units for n in range(u[0], u[1] + 1)], None      # one long statement: shown whole
    if len(units) == 1:
        return list(range(units[0][0], units[0][0] + limit)), limit
    head, lines = [], 0
    for unit in units[:-1]:
        if head and lines + size(unit) > limit - 2:
            break
        head.append(unit)
        lines += size(unit)
    tail = [units[-1]] if size(units[-1]) <= 3 else []
    return [n for u in head + tail for n in range(u[0], u[1] + 1)], lines


def _shown_code(index: SourceIndex, numbers: list[int], elided: int | None = None) -> str:
    """Those lines at their real indentation relative to each other (an ellipsis where a long hit's middle
    is left out), without comments: a comment such as `# da/dz = 1 where z > 0` would answer the question."""
    if not numbers:
        return ""
    lines = [_without_comments(index.lines[n - 1]).rstrip() for n in numbers]
    base = min((_indentation(line) for line in lines if line.strip()), default=0)
    shown = []
    for k, line in enumerate(lines + [""]):
        if k == elided:
            after = numbers[k - 1] + 1
            following = next((index.lines[m - 1] for m in range(after, len(index.lines) + 1)
                              if index.lines[m - 1].strip() and not index.lines[m - 1].strip().startswith("#")), "")
            shown.append(" " * max(0, _indentation(following) - base) + "…")
        if line.strip():
            shown.append(line[base:] if line[:base].strip() == "" else line.lstrip())
    return "\n".join(shown)


def _without_comments(code: str) -> str:
    import io
    import tokenize
    cut: dict[int, int] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type == tokenize.COMMENT:
                cut[token.start[0]] = token.start[1]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass                              # an unfinished statement (the head of a long hit): comments found so far
    lines = code.splitlines()
    kept = [line[:cut[n]].rstrip() if n in cut else line for n, line in enumerate(lines, start=1)]
    return "\n".join(line for n, line in enumerate(kept, start=1) if line.strip() or n not in cut)


def _indent(code: str) -> str:
    return "\n".join("    " + line for line in code.splitlines())


# ----- mutations of one statement (for mutant options and blanks) -------------------------------------------
@dataclass
class _Edit:
    target: cst.CSTNode            # the node replaced
    replacement: cst.CSTNode
    label: str                     # the misconception the change stands for
    ml: bool = False               # an ML mistake (the wrong dim, a dropped detach) rather than generic syntax
    site: tuple = ()               # (start, end) positions: edits at disjoint sites combine
    does: str = ""                 # what the changed line computes differently, in words a learner reads


def _code(node) -> str:
    return " ".join(_EMPTY.code_for_node(node).split())


_FLIP_DOES = {cst.Subtract: "adds `{r}` where the real line subtracts it",
              cst.Add: "subtracts `{r}` where the real line adds it",
              cst.Multiply: "divides by `{r}` where the real line multiplies by it",
              cst.Divide: "multiplies by `{r}` where the real line divides by it"}
_SWAP_DOES = {cst.Subtract: "computes `{r} - {l}`, the negative of `{l} - {r}`: every value changes sign",
              cst.Divide: "computes `{r} / {l}`, the reciprocal of `{l} / {r}`",
              cst.MatrixMultiply: "multiplies in the other order, `{r} @ {l}`: a different matrix, or shapes that "
                                  "do not fit"}


_OPERATOR_FLIPS = {cst.Subtract: (cst.Add, "sign flipped: + instead of −"), cst.Add: (cst.Subtract, "sign flipped: − instead of +"),
                   cst.Multiply: (cst.Divide, "÷ instead of ×"), cst.Divide: (cst.Multiply, "× instead of ÷"),
                   cst.LessThan: (cst.GreaterThan, "comparison reversed"),
                   cst.GreaterThan: (cst.LessThan, "comparison reversed"),
                   cst.LessThanEqual: (cst.GreaterThanEqual, "comparison reversed"),
                   cst.GreaterThanEqual: (cst.LessThanEqual, "comparison reversed")}
_SWAP = {cst.Subtract: "operands swapped", cst.Divide: "operands swapped",
         cst.MatrixMultiply: "matrix product in the wrong order"}
_MINMAX = {"min": "max", "max": "min", "argmax": "argmin", "argmin": "argmax", "amax": "amin", "amin": "amax",
           "maximum": "minimum", "minimum": "maximum"}
_ATOMS = (cst.Name, cst.Attribute, cst.Subscript, cst.Call, cst.Integer, cst.Float)


def _edits(stmt: Statement, index: SourceIndex) -> list[_Edit]:
    """Single plausible mistakes in a statement, each at one site, labelled with what it stands for."""
    positions = index.wrapper.resolve(PositionProvider)
    out: list[_Edit] = []

    def site(node):
        p = positions.get(node)
        return (p.start.line, p.start.column, p.end.line, p.end.column) if p else None

    def walk(node, in_extreme=False):
        if isinstance(node, cst.BinaryOperation) and not _textual(node) and not _constant(node):
            flip = _OPERATOR_FLIPS.get(type(node.operator))
            if isinstance(node.operator, cst.Multiply) and not _scale_like(node.right):
                flip = None                  # `tau / param.data`, `0.05 / ep_reward`: nobody writes that by mistake
            if flip:
                new = flip[0](whitespace_before=node.operator.whitespace_before,
                              whitespace_after=node.operator.whitespace_after)
                out.append(_Edit(node.operator, new, flip[1], site=site(node.operator),
                                 does=_FLIP_DOES[type(node.operator)].format(r=_code(node.right))))
            label = _SWAP.get(type(node.operator))
            if label and not (idioms._number(node.left) is not None and idioms._number(node.right) is not None) \
                    and isinstance(node.left, _ATOMS) and isinstance(node.right, _ATOMS) \
                    and not (node.left.lpar or node.right.lpar):
                out.append(_Edit(node, node.with_changes(left=node.right, right=node.left), label, site=site(node),
                                 does=_SWAP_DOES[type(node.operator)].format(l=_code(node.left), r=_code(node.right))))
        elif isinstance(node, cst.ComparisonTarget):
            flip = _OPERATOR_FLIPS.get(type(node.operator))
            if flip:
                new = flip[0](whitespace_before=node.operator.whitespace_before,
                              whitespace_after=node.operator.whitespace_after)
                out.append(_Edit(node.operator, new, flip[1], site=site(node.operator),
                                 does=f"tests the opposite comparison against `{_code(node.comparator)}`: it "
                                      "holds where the real test fails"))
        elif isinstance(node, cst.Call):
            func = node.func
            name = func.attr if isinstance(func, cst.Attribute) else func if isinstance(func, cst.Name) else None
            # Python's own min/max cap a value: which one is right depends on whether it rises or falls
            builtin = isinstance(func, cst.Name) and index.qualified(func) in ("min", "max")
            # `max(a.max(), b.max())` with b.min(): the outer max hides the change whenever a holds the largest
            if name is not None and name.value in _MINMAX and not builtin and not in_extreme:
                out.append(_Edit(name, name.with_changes(value=_MINMAX[name.value]),
                                 f"{name.value} and {_MINMAX[name.value]} confused", ml=True, site=site(name),
                                 does=f"takes the {_MINMAX[name.value]} where the real line takes the {name.value}"))
            if isinstance(func, cst.Attribute) and func.attr.value == "detach" and not node.args:
                out.append(_Edit(node, func.value, "detach forgotten: gradients flow back through this value",
                                 ml=True, site=site(node),
                                 does=f"uses `{_code(func.value)}` without `.detach()`: the loss's gradient would "
                                      "flow back into whatever computed it"))
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value in ("dim", "axis"):
                    value = idioms._number(arg.value)
                    if value is not None and value.is_integer():
                        for other in (-1, 0, 1, 2):
                            if other != value:
                                out.append(_Edit(arg.value, cst.parse_expression(str(other)),
                                                 "the wrong dimension", ml=True, site=site(arg.value),
                                                 does=f"works along {arg.keyword.value}={other} instead of "
                                                      f"{arg.keyword.value}={int(value)}: another axis of the tensor "
                                                      "(say the batch axis instead of the features), or one it lacks"))
                # never keepdim: whether the kept dimension matters depends on lines the option does not show
        elif isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus) \
                and idioms._number(node) is None:
            out.append(_Edit(node, node.expression, "sign dropped", site=site(node),
                             does=f"uses `{_code(node.expression)}` where the real line uses its negative"))
        extreme = isinstance(node, cst.Call) and (idioms._dotted(node.func) or "").rpartition(".")[2] in _MINMAX
        for child in _children(node):
            walk(child, extreme and child is not node.func)

    root = stmt.node
    if isinstance(root, (cst.For, cst.While, cst.If, cst.With)) or _too_big(stmt):
        return []
    walk(root)
    return [e for e in out if e.site is not None]


_MAX_STATEMENT = 600        # characters: a longer statement is a table or generated code, not a line to quiz


def _too_big(stmt: Statement) -> bool:
    """Each candidate re-renders the statement: cap the work on huge statements (a 300-term sum)."""
    return len(stmt.code) > _MAX_STATEMENT


def _constant(node: cst.BinaryOperation) -> bool:
    """`1 - 1e-5`: arithmetic on two numbers (changed, it gives an odd number, not a mistake in an idea)."""
    return idioms._number(node.left) is not None and idioms._number(node.right) is not None


_SCALE_WORDS = re.compile(r"(?i)scale|temp|std|sigma|sqrt|norm|size|dim|coef|factor|count|len|num|^n_|_n$|^n$|"
                          r"batch|steps|width|var")


def _scale_like(node) -> bool:
    """Could `x * node` plausibly be written `x / node` by mistake: a number, a square root, a scale-like name
    (`self.action_scale`, `temperature`, `math.sqrt(d)`), never a tensor of data or parameters."""
    if idioms._number(node) is not None:
        return True
    if isinstance(node, cst.Call):
        name = idioms._dotted(node.func) or ""
        return name.rpartition(".")[2] in ("sqrt", "rsqrt", "len")
    dotted = idioms._dotted(node)
    return dotted is not None and _SCALE_WORDS.search(dotted.rpartition(".")[2]) is not None


def _textual(node: cst.BinaryOperation) -> bool:
    """`"a" + b`, `path / "name"`: string or path arithmetic, where a flipped operator only breaks the line."""
    return any(isinstance(side, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString))
               for side in (node.left, node.right))


def _children(node) -> list:
    """Direct child nodes without libcst's (costly) generic children property for common nodes."""
    if isinstance(node, cst.BinaryOperation):
        return [node.left, node.right]
    if isinstance(node, cst.Call):
        return [node.func, *(a.value for a in node.args)]
    if isinstance(node, cst.Attribute):
        return [node.value]
    if isinstance(node, cst.UnaryOperation):
        return [node.expression]
    if isinstance(node, cst.Comparison):
        return [node.left, *node.comparisons]
    if isinstance(node, cst.ComparisonTarget):
        return [node.comparator]
    if isinstance(node, (cst.Assign,)):
        return [node.value]
    if isinstance(node, (cst.AugAssign, cst.AnnAssign)):
        return [node.value] if node.value is not None else []
    if isinstance(node, (cst.Return, cst.Expr)):
        return [node.value] if node.value is not None else []
    if isinstance(node, cst.Subscript):
        return [node.value, *(e.slice.value for e in node.slice if isinstance(e.slice, cst.Index))]
    if isinstance(node, (cst.Tuple, cst.List)):
        return [e.value for e in node.elements]
    return []


class _Replace(cst.CSTTransformer):
    """Replaces several nodes (by identity) in one pass: libcst rebuilds parents, so replacing one node at a
    time would lose the identity of the next target."""

    def __init__(self, replacements: dict[int, cst.CSTNode]):
        self.replacements = replacements

    def on_leave(self, original, updated):
        return self.replacements.get(id(original), updated)


def _render(stmt_node: cst.CSTNode, edits: list[_Edit]) -> str:
    node = stmt_node.visit(_Replace({id(e.target): e.replacement for e in edits}))
    return _EMPTY.code_for_node(node).strip()


def _fault_mutations(stmt: Statement, index: SourceIndex) -> list[tuple[str, str, str]]:
    """(mutated code, misconception, what the change does) from the shared fault library
    (tracer/practice/faults.py). A changed hyperparameter is a different experiment, and another convention
    (the 1/2 of a squared error) is code people write on purpose, not a wrong line: both are left out."""
    return [(mutated, fault.misconception, fault.title[:1].lower() + fault.title[1:])
            for fault, mutated in index.faults.get(stmt.line, [])
            if mutated and fault.category != "hyperparameters" and not fault.convention]


@dataclass
class _Candidate:
    """A wrong version of a statement: its code, what it stands for, and where it differs (character span)."""
    code: str
    label: str
    ml: bool
    start: int = 0
    end: int = 0                 # original[start:end] was replaced by `replacement`
    replacement: str = ""
    state: object = None
    fault: bool = False          # from the fault library (a rewrite of a whole expression, often)
    does: str = ""               # what it computes differently, in words

    def overlaps(self, other: "_Candidate", margin: int = 3) -> bool:
        """Changes this close could merge into one (`a * b * c` with both operators changed reads as one change)."""
        return not (self.end + margin <= other.start or other.end + margin <= self.start)


def _common_ends(a: str, b: str) -> tuple[int, int]:
    """Lengths of the longest common prefix and, after it, the longest common suffix of a and b."""
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    return start, end


def _diff_span(original: str, changed: str) -> tuple[int, int, str]:
    start, end = _common_ends(original, changed)
    return start, len(original) - end, changed[start:len(changed) - end]


def _combine(original: str, a: _Candidate, b: _Candidate) -> str | None:
    """Both changes at once: side by side when they do not overlap; a small generic change inside a fault's
    rewrite when the text it changes appears exactly once in the rewritten code (`tau * p + (1 - tau) * t`
    swapped to `(1 - tau) * p + tau * t`, and its `+` flipped); else None."""
    if not a.overlaps(b):
        first, second = (a, b) if a.start <= b.start else (b, a)
        return (original[:first.start] + first.replacement + original[first.end:second.start] + second.replacement
                + original[second.end:])
    fault, small = (a, b) if a.fault and not b.fault else (b, a) if b.fault and not a.fault else (None, None)
    if fault is None:
        return None
    changed = original[small.start:small.end]
    if not changed.strip() or fault.code.count(changed) != 1:
        return None
    return fault.code.replace(changed, small.replacement, 1)


# ----- mutant: which is the real line ----------------------------------------------------------------------
def mutant_question(stmt: Statement, index: SourceIndex, rng: random.Random, stats: Stats,
                    minimum: float = 0.0) -> GeneratedQuestion | None:
    """Options built so that no surface feature singles out the answer: the real line and three versions
    with a mistake at one or both of two places (2 × 2: every option differs from two others by one
    change), or the real line and alternatives at one place. Mistakes come from the fault library
    (labelled with the misconception each stands for) and from generic slips (a flipped sign). Every
    option computes something different from every other on random inputs."""
    if stmt.compound or not isinstance(stmt.node, (cst.Assign, cst.AugAssign, cst.Return, cst.Expr)):
        return None
    original = stmt.code
    candidates = [_Candidate(code, label, True, fault=True, does=does) for code, label, does in _fault_mutations(stmt, index)]
    edits = _edits(stmt, index)
    if minimum > 2.3 and not candidates and not any(e.ml for e in edits) and not _core(stmt, index):
        return None                                  # generic slips only: it would score below `minimum`
    candidates += [_Candidate(_render(stmt.node, [e]), f"it {e.does}" if e.does else e.label, e.ml, does=e.does)
                   for e in edits]
    candidates = _distinct_candidates(original, candidates, index, stats, stmt)
    if not candidates:
        return None
    design = _two_by_two(original, candidates, index, rng, stats, stmt) or _one_site(original, candidates, rng)
    if design is None:
        stats.drop("mutant: no fair set of options")
        return None
    options, labels, does = design
    use = _used_in(index, stmt)
    rng.shuffle(options)
    ml = any(c.ml for c in candidates if c.code in labels)
    stats.count("mutant")
    return GeneratedQuestion(
        id="", kind="choice", prompt=f"Which of these is the real line {stmt.line}{_where(stmt)}?{_context(index, stmt)}"
        + (f"\n\nIts result is used in:\n\n{_indent(_one_line(use.code))}" if use else ""),
        answer=original, choices=options, misconceptions=labels, line=stmt.line, end_line=stmt.end_line,
        source="mutant", explain=_mutant_explanation(stmt, index, original, options, labels, does),
        code=original, score=_line_score(stmt, index, 2.0 + (1.0 if ml else 0.0)), function=stmt.function,
        shown_lines=set(_context_lines(index, stmt)) | (set(range(use.line, use.end_line + 1)) if use else set()),
        asked_lines=set(range(stmt.line, stmt.end_line + 1)),
        verified="every option computes something different from every other on 4 sets of random inputs")


def _used_in(index: SourceIndex, stmt: Statement, within: int = 3) -> Statement | None:
    """The next statement (of the next `within` in the same block) that uses what `stmt` assigns, when it does
    not spell part of `stmt` itself. What a value is for often settles how it is computed: `frac` scales the
    learning rate (`lr = frac * args.learning_rate`), so it must start at 1, not 0. Not when the use repeats a
    piece of the line (`pg_loss2 = -mb_advantages * ...` after `pg_loss1 = -mb_advantages * ratio` would show
    the sign asked about)."""
    names = {n for n in stmt.writes if not n.startswith("<")}
    if not names or not isinstance(stmt.node, (cst.Assign, cst.AugAssign)):
        return None
    after = [s for s in index.statements if s.block == stmt.block and stmt.position < s.position <= stmt.position + within]
    use = next((s for s in sorted(after, key=lambda s: s.position) if names & set(s.reads)), None)
    if use is None or use.compound or _too_big(use) or _same_shape(use.code, stmt.code):
        return None
    return None if _shared_pieces(stmt.code, use.code) else use


def _shared_pieces(a: str, b: str) -> bool:
    """Do two lines share an expression of more than a name or a number (`-mb_advantages`, `ratio - 1`)?"""
    try:
        trees = [probe.parse(code) for code in (a, b)]
    except (SyntaxError, ValueError, RecursionError):
        return True
    def pieces(tree):
        return {ast.dump(n) for n in ast.walk(tree) if isinstance(n, ast.expr)
                and not isinstance(n, (ast.Name, ast.Constant, ast.Attribute)) and not isinstance(getattr(n, "ctx", None), ast.Store)}
    return bool(pieces(trees[0]) & pieces(trees[1]))


def _mutant_explanation(stmt: Statement, index: SourceIndex, original: str, options: list[str],
                        labels: dict[str, str], does: dict[str, str]) -> str:
    """Why the real line is right (the idea of a catalogue card that matches it, if one does) and what each
    wrong option would compute instead, with the mistake in thinking it stands for."""
    parts = []
    cards = [hit.idiom for hit in index.hits if stmt.line <= hit.line <= stmt.end_line]
    if cards:
        parts.append(f"The real line is right: {cards[0].explanation.strip()}")
    lines = [f"  · `{_one_line(option)}`: {does.get(option) or labels.get(option, 'a mistake')}."
             for option in options if option != original]
    parts.append("What the other options would do:\n" + "\n".join(lines))
    return "\n".join(parts)


def _said(candidate: _Candidate) -> str:
    """A wrong option in words: what it computes differently, and for a mistake from the fault library the
    belief that leads to it."""
    if candidate.fault:
        return f"{candidate.does} (the belief behind it: {candidate.label})"
    return candidate.does or candidate.label


def _where(stmt: Statement) -> str:
    return f" (in {stmt.function})" if stmt.function != "<module>" else ""


def _previous(index: SourceIndex, stmt: Statement, count: int = 2, max_lines: int = 8) -> list[Statement]:
    """The statements a reader sees just above `stmt` (a compound statement by its header), walking back past
    comments, comment banners, blank lines and docstrings; at most `count` of them and `max_lines` lines."""
    earlier = sorted((s for s in index.statements if s.end_line < stmt.line and not _docstring(s)),
                     key=lambda s: (s.line, s.end_line))
    chosen, lines = [], 0
    for previous in reversed(earlier):
        size = previous.end_line - previous.line + 1
        if lines + size > max_lines:
            break
        chosen.insert(0, previous)
        lines += size
        if len(chosen) == count:
            break
    return _with_branch_test(index, stmt, earlier, chosen, max_lines - lines)


def _with_branch_test(index: SourceIndex, stmt: Statement, earlier: list[Statement], chosen: list[Statement],
                      room: int) -> list[Statement]:
    """For a line in an `else:` / `elif` branch whose context shows only the other branch's last lines, also
    the statements up to the `if` that the branch belongs to: `if t == args.num_steps - 1:` is what says that
    the else branch's `dones[t + 1]` exists (and so settles `t + 1` against `t - 1`). Only when they fit."""
    if not chosen:
        return chosen
    headers = [n for n in range(chosen[-1].end_line + 1, stmt.line) if _BRANCH_HEADER.match(index.lines[n - 1])]
    if not headers:
        return chosen
    depth = _indentation(index.lines[headers[-1] - 1])
    test = next((s for s in reversed(earlier) if s.compound and s.line < headers[-1]
                 and _indentation(index.lines[s.line - 1]) == depth
                 and re.match(r"\s*if\b", index.lines[s.line - 1])), None)
    if test is None or test in chosen:
        return chosen
    missing = [s for s in earlier if test.line <= s.line < chosen[0].line]
    if sum(s.end_line - s.line + 1 for s in missing) > room + 2 or len(missing) > 2:
        return chosen
    return missing + chosen


def _docstring(stmt: Statement) -> bool:
    return isinstance(stmt.node, cst.Expr) and isinstance(stmt.node.value, (cst.SimpleString, cst.ConcatenatedString))


def _context_lines(index: SourceIndex, stmt: Statement, before: int = 2) -> list[int]:
    """Numbers of the code lines of the statements just above (comments are never shown: they can give the
    answer away)."""
    return [n for s in _previous(index, stmt, before) for n in range(s.line, s.end_line + 1)]


def _indentation(line: str) -> int:
    return len(line) - len(line.lstrip())


def _branch_headers(index: SourceIndex, stmt: Statement, before: int = 2) -> list[int]:
    """`else:` / `elif ...:` / `except ...:` lines between the context shown and the statement: without them a
    line in the else branch reads as if it came right after the if branch's lines."""
    previous = _previous(index, stmt, before)
    if not previous:
        return []
    return [n for n in range(previous[-1].end_line + 1, stmt.line)
            if _BRANCH_HEADER.match(index.lines[n - 1])]


def _base_indent(index: SourceIndex, stmt: Statement, before: int = 2) -> int:
    """The indentation shared by the statement and the lines shown above it: removed, the rest is kept, so a
    line inside a loop is shown inside it."""
    firsts = [s.line for s in _previous(index, stmt, before)] + _branch_headers(index, stmt, before) + [stmt.line]
    return min(_indentation(index.lines[n - 1]) for n in firsts)


def _dedent_by(lines: list[str], width: int) -> list[str]:
    return [line[width:] if line[:width].strip() == "" else line.lstrip() for line in lines]


def _context(index: SourceIndex, stmt: Statement, before: int = 2) -> str:
    """The statements just above the statement, for a learner who does not have the file open, at their real
    indentation relative to it."""
    numbers = _context_lines(index, stmt, before)
    if not numbers:
        return ""
    base = _base_indent(index, stmt, before)
    shown = []
    for previous in _previous(index, stmt, before):
        code = "\n".join(_dedent_by(index.lines[previous.line - 1:previous.end_line], base))
        shown.append(_without_comments(code) if "#" in code else code)
    for n in _branch_headers(index, stmt, before):
        shown.append(_dedent_by([_without_comments(index.lines[n - 1]).rstrip()], base)[0])
    return "\n\nIt comes after:\n\n" + _indent("\n".join(shown))


def _the_line(index: SourceIndex, stmt: Statement, code: str, before: int = 2) -> str:
    """`code` (the statement as rendered from the tree: lines relative to the statement's own indentation) at
    the statement's indentation relative to the context shown above it."""
    base = _base_indent(index, stmt, before)
    shift = " " * (_indentation(index.lines[stmt.line - 1]) - base)
    first, *rest = code.splitlines() or [""]
    # continuation lines keep the file's own indentation: dedented like the context, never shifted again
    return _indent("\n".join([shift + first, *_dedent_by(rest, base)]))


def _normal(code: str) -> str:
    try:
        return ast.dump(probe.parse(code))
    except (SyntaxError, ValueError, RecursionError):
        return " ".join(code.split())


def _impossible_shapes(code: str, stmt: Statement, index: SourceIndex) -> bool:
    """Does the code shown settle that `code` (a version of `stmt`) cannot run: `torch.stack([a, b], dim=2)` of
    two vectors, `x.sum(dim=2)` of an [N, D] array (tracer/quiz/shapes.py)? Never when the real line itself
    looks impossible: then what we read of the ranks is wrong, and nothing is ruled out."""
    if "<shapes-trusted>" + stmt.code not in index.probe_cache:
        index.probe_cache["<shapes-trusted>" + stmt.code] = not shapes.impossible(stmt.code, stmt.line, index)
    return index.probe_cache["<shapes-trusted>" + stmt.code] and bool(shapes.impossible(code, stmt.line, index))


def _distinct_candidates(original: str, candidates: list[_Candidate], index, stats, stmt=None) -> list[_Candidate]:
    """Candidates that parse, differ from each other in tree, and from the original in every trial."""
    unique: dict[str, _Candidate] = {}
    reference = _normal(original)
    for candidate in candidates:
        key = _normal(candidate.code)
        if key == reference or key in unique or key.startswith(" ") or "\n" in candidate.code and "\n" not in original:
            continue
        unique[key] = candidate             # the fault library's label wins: it comes first
    candidates = list(unique.values())
    states = probe.states([original] + [c.code for c in candidates], index.aliases)
    if states[0] is None:
        stats.drop("mutant: the line cannot be probed")
        return []
    index.probe_cache[original] = states[0]
    kept = []
    for candidate, state in zip(candidates, states[1:]):
        if state is None or probe.same_in_some_trial(state, states[0]):
            stats.drop("mutant: equivalent to the real line")
            continue
        if all(trial[0] == "error" for trial in state) and not all(trial[0] == "error" for trial in states[0]):
            stats.drop("mutant: the wrong version cannot run at all (eliminated at sight)")
            continue
        if stmt is not None and _impossible_shapes(candidate.code, stmt, index):
            stats.drop("mutant: the wrong version cannot run for the shapes the code shows (eliminated at sight)")
            continue
        candidate.state = state
        candidate.start, candidate.end, candidate.replacement = _diff_span(original, candidate.code)
        kept.append(candidate)
    return kept


def _two_by_two(original, candidates, index, rng, stats, stmt=None):
    pairs = [(a, b, both) for a, b in itertools.combinations(candidates, 2)
             if (both := _combine(original, a, b)) is not None]
    rng.shuffle(pairs)
    pairs.sort(key=lambda p: -(p[0].ml + p[1].ml + p[0].fault + p[1].fault))    # the fault library's mistakes first
    original_state = index.probe_cache.get(original)
    for a, b, both in pairs[:12]:
        options = [original, a.code, b.code, both]
        if len({_normal(o) for o in options}) < 4 or _singled_out(options, original):
            continue
        if stmt is not None and _impossible_shapes(both, stmt, index):
            stats.drop("mutant: the two changes together cannot run for the shapes the code shows")
            continue
        state = probe.states([both], index.aliases)[0]
        if state is None:
            continue
        states = [a.state, b.state, state]
        if any(probe.same_in_some_trial(s, original_state) for s in states) or any(
                probe.same_in_some_trial(x, y) for x, y in itertools.combinations(states, 2)):
            stats.drop("mutant: two options compute the same")
            continue
        labels = {a.code: a.label, b.code: b.label, both: f"{a.label}; and {b.label}"}
        does = {a.code: _said(a), b.code: _said(b), both: f"both changes: {_said(a)}; and {_said(b)}"}
        return options, labels, does
    return None


def _one_site(original, candidates, rng):
    by_site: dict[tuple, list[_Candidate]] = {}
    for candidate in candidates:
        by_site.setdefault((candidate.start, candidate.end), []).append(candidate)
    sites = [group for group in by_site.values() if len(group) >= 2]
    rng.shuffle(sites)
    for group in sites:
        group = group[:3]
        if any(probe.same_in_some_trial(x.state, y.state) for x, y in itertools.combinations(group, 2)):
            continue
        options = [original] + [c.code for c in group]
        if _singled_out(options, original):
            continue
        return options, {c.code: c.label for c in group}, {c.code: _said(c) for c in group}
    return None


def _distance(a: str, b: str) -> int:
    """Levenshtein distance. Options differ in small places: the common prefix and suffix are matched first
    (which never changes the distance), so the table is small."""
    start, end = _common_ends(a, b)
    a, b = a[start:len(a) - end], b[start:len(b) - end]
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _singled_out(options: list[str], answer: str) -> bool:
    """Would a test-wise learner spot the answer without reading it: the one closest to all others,
    or the only longest or shortest option?"""
    totals = {o: sum(_distance(o, other) for other in options if other is not o) for o in options}
    lengths = {o: len(o) for o in options}
    for measure in (totals, lengths):
        values = list(measure.values())
        if measure is totals and measure[answer] == min(values) and values.count(min(values)) == 1:
            return True
        if measure is lengths and (lengths[answer] == max(values) and values.count(max(values)) == 1
                                   or lengths[answer] == min(values) and values.count(min(values)) == 1):
            return True
    return False


# ----- blank: fill it in ---------------------------------------------------------------------------------
# Functions whose name the context and ML knowledge determine (`loss.____()` after zero_grad is backward);
# mean or sum, softmax or log_softmax, relu or tanh would each leave two defensible answers.
# Not asked: recall of an API (`loss.____()`, `rb.____(batch_size)`, `torch.____(seed)`, `.item()`): a learner
# who knows the idea gains nothing, and the zero_grad/backward/step and seeding cards ask why instead.
_VOCABULARY = {
    "exp", "max", "min", "clamp", "no_grad", "gather", "multinomial", "masked_fill", "tril", "clip_grad_norm_",
    "log_prob", "entropy", "argmax", "detach_", "sqrt", "logsumexp", "randn_like",
}
_ALIASES = {"clamp": {"clip"}, "no_grad": {"inference_mode"}}


def _in_idiom(stmt: Statement, index: SourceIndex, value: int) -> bool:
    """Is the statement part of an ML idiom (not merely inside a long block such as `with torch.no_grad():`)?"""
    return any(h.line <= stmt.line <= h.end_line and h.idiom.value >= value
               and (h.end_line - h.line <= 3 or stmt.line == h.line) for h in index.hits)


def _function_blank_score(call: cst.Call, name: str, stmt: Statement, index: SourceIndex) -> float | None:
    """The teaching score of blanking the function `name` in `call`; None when the blank has no single
    defensible answer (`netG.____()`: zero_grad, train and eval all fit) or the code shown spells it."""
    if not _one_method_fits(call, name, stmt, index):
        return None
    masked_out = stmt.code.replace(_EMPTY.code_for_node(call.func), "", 1)
    if _spells(name, [masked_out, *(p.code for p in _previous(index, stmt))]):
        return None                    # `min_qf = torch.____(q1, q2)`, `errD.item(), errG.____()`
    if isinstance(call.func, cst.Name) and name in ("min", "max"):
        return None                    # Python's own min/max: capping a count, not an ML idea
    return 3.5 if _core(stmt, index) else 2.5


_STATE_METHODS = {"detach_", "entropy"}


def _one_method_fits(call: cst.Call, name: str, stmt: Statement, index: SourceIndex) -> bool:
    """A method called without arguments leaves room for others of the same form (`netG.____()`: zero_grad,
    train, eval, cuda; `dist.____()`: entropy, sample, mode; `x.____()`: detach_, zero_, relu_): not asked."""
    return bool(call.args) or not isinstance(call.func, cst.Attribute) or name not in _STATE_METHODS


def _spells(name: str, texts: list[str]) -> bool:
    """Does any identifier in `texts` contain the name's words in order (`min_qf_next_target` spells min,
    `saved_log_probs` spells log_prob, `errD.item()` spells item)?"""
    words = [w for w in name.lower().split("_") if w]
    if not words:
        return False
    for text in texts:
        for identifier in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text):
            parts = [p.lower() for p in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", identifier)]
            for k in range(len(parts) - len(words) + 1):
                window = parts[k:k + len(words)]
                if window[:-1] == words[:-1] and window[-1] in (words[-1], words[-1] + "s"):
                    return True
    return False


_BLANK_OPERATORS = {cst.Add: "+", cst.Subtract: "-", cst.Multiply: "*", cst.Divide: "/", cst.Power: "**",
                    cst.MatrixMultiply: "@"}


@dataclass(frozen=True)
class _BlankOp(cst.Add):
    """A binary operator rendered as the blank, so the prompt is generated from the tree."""

    def _get_token(self) -> str:
        return BLANK


def blank_candidates(stmt: Statement, index: SourceIndex) -> list[tuple[str, str, str, float]]:
    """(masked code, answer, what was masked, score) for each place of a statement worth blanking."""
    if stmt.compound or not isinstance(stmt.node, (cst.Assign, cst.AugAssign, cst.Return, cst.Expr)) \
            or _too_big(stmt):
        return []
    out = []
    operator_score = _line_score(stmt, index, 2.0)
    operators = _core(stmt, index)          # an operator in bookkeeping (`steps * epochs`) teaches nothing

    def add(target, replacement, answer, what, score):
        try:
            masked = _EMPTY.code_for_node(stmt.node.deep_replace(target, replacement)).strip()
        except Exception:
            return
        if masked.count(BLANK) == 1:
            out.append((masked, answer, what, score))

    def walk(node, parent=None, seeding=False):
        if isinstance(node, cst.BinaryOperation) and type(node.operator) in _BLANK_OPERATORS and not _textual(node) \
                and operators and not _truncated_division(node, parent) and not seeding:
            op = node.operator
            add(op, _BlankOp(whitespace_before=op.whitespace_before, whitespace_after=op.whitespace_after),
                _BLANK_OPERATORS[type(op)], "the operator", operator_score)
        elif isinstance(node, cst.Call):
            func = node.func
            name = func.attr if isinstance(func, cst.Attribute) else func if isinstance(func, cst.Name) else None
            score = _function_blank_score(node, name.value, stmt, index) \
                if name is not None and name.value in _VOCABULARY else None
            if score is not None:
                add(name, cst.Name(BLANK), name.value, "the function", score)
            # never dim (-1 and the last axis's number are the same) nor keepdim (both run; which one is right
            # depends on lines the learner does not see)
        # a seed (`seed=10_000 + iteration`, `manual_seed(args.seed * 7)`): any operator gives other seeds, and
        # nothing in the code settles which one was meant
        for child in _children(node):
            walk(child, node, seeding or _seed_argument(node, child))

    walk(stmt.node)
    return out


def _seed_argument(node, child) -> bool:
    """Is `child` an argument of `node` that is a seed: `f(seed=...)`, `torch.manual_seed(...)`, `env.reset(seed=..)`?"""
    if not isinstance(node, cst.Call) or child is node.func:
        return False
    if "seed" in (idioms._dotted(node.func) or "").rpartition(".")[2].lower():
        return True
    return any(arg.value is child and arg.keyword is not None and "seed" in arg.keyword.value.lower()
               for arg in node.args)


def _truncated_division(node: cst.BinaryOperation, parent) -> bool:
    """`int(a / b)`, `round(a / b)`: `//` would do the same for positive counts, a second right answer."""
    if not isinstance(node.operator, (cst.Divide, cst.FloorDivide)) or not isinstance(parent, cst.Call):
        return False
    name = (idioms._dotted(parent.func) or "").rpartition(".")[2]
    return name in ("int", "round", "floor", "ceil", "trunc")


def blank_question(stmt: Statement, index: SourceIndex, rng: random.Random, stats: Stats,
                   candidates=None) -> GeneratedQuestion | None:
    """Mask one ML function name, dim, or operator; any fill that computes the same thing is accepted."""
    candidates = blank_candidates(stmt, index) if candidates is None else candidates
    if not candidates:
        return None
    previous = _previous(index, stmt)
    if not previous:
        stats.drop("blank: nothing above the line to show as its context")
        return None
    if any(_same_shape(p.code, stmt.code) for p in previous):
        # `x = x + self.attn(...)` above `x = x ____ self.mlp(...)` shows the operator (a function name shown
        # above is caught where function blanks are made)
        operators = [c for c in candidates if c[2] == "the operator"]
        candidates = [c for c in candidates if c[2] != "the operator"]
        for _ in operators:
            stats.drop("blank: a line just above has the same form and shows the answer")
        if not candidates:
            return None
    best = max(c[3] for c in candidates)
    masked, answer, what, score = rng.choice([c for c in candidates if c[3] == best])
    accepted = _equivalent_fills(masked, answer, stmt.code, what, index)
    if accepted is None:
        stats.drop("blank: another fill computes the same in some trials only")
        return None
    stats.count("blank")
    return GeneratedQuestion(
        id="", kind="blank", prompt=f"Fill the blank ({what}) in line {stmt.line}{_where(stmt)}:{_context(index, stmt)}"
        f"\n\nThe line:\n\n{_the_line(index, stmt, masked)}", answer=answer, line=stmt.line, end_line=stmt.end_line,
        source="blank", expr=masked, explain=f"The line is: {stmt.code}", code=stmt.code, accepted=accepted,
        score=score, function=stmt.function, shown_lines=set(_context_lines(index, stmt)),
        asked_lines=set(range(stmt.line, stmt.end_line + 1)),
        verified="the blank filled with the answer parses to the real statement"
                 + ("; other operators were tried on random inputs" if what == "the operator" else ""))


def _equivalent_fills(masked: str, answer: str, original: str, what: str, index: SourceIndex) -> list[str] | None:
    """Other fills that compute the same as the answer on every trial (accepted too); None if one agrees only
    on some trials (the question would have no defensible answer)."""
    if what != "the operator":
        accepted = set(_ALIASES.get(answer, set()))
        if answer in ("max", "min") and re.search(rf"\b{BLANK}\([^,()]+,[^,()=]+\)", masked):
            accepted.add(answer + "imum")               # torch.max(a, b) is torch.maximum(a, b)
        return sorted(accepted)
    others = [op for op in _BLANK_OPERATORS.values() if op != answer]
    codes = [masked.replace(BLANK, op, 1) for op in others]
    states = probe.states([original, *codes], index.aliases)
    if states[0] is None:
        return []
    if any(trial[0] == "error" for trial in states[0]):
        return None                 # the real line fails on the probe's inputs: it cannot tell the operators apart
    accepted = []
    for op, state in zip(others, states[1:]):
        if state is None:
            continue
        if probe.same_in_every_trial(state, states[0]):
            accepted.append(op)
        elif probe.same_in_some_trial(state, states[0]):
            return None
    return accepted


class _Shape(ast.NodeTransformer):
    def visit_Name(self, node):
        return ast.Name(id="_", ctx=node.ctx)

    def visit_Attribute(self, node):
        self.generic_visit(node)
        return ast.Attribute(value=node.value, attr="_", ctx=node.ctx)


def _same_shape(a: str, b: str) -> bool:
    """`x = x + self.attn(self.ln_1(x))` and `x = x + self.mlp(self.ln_2(x))`: the same code up to names."""
    try:
        trees = [_Shape().visit(probe.parse(code)) for code in (a, b)]
    except (SyntaxError, ValueError, RecursionError):
        return False
    return ast.dump(trees[0]) == ast.dump(trees[1])


def check_blank(reply: str, question: Question, original: str | None = None) -> bool:
    """Put the reply in the blank; right if the line then parses to the real statement (or to an accepted
    equivalent). The reply is parsed, never run."""
    reply = reply.strip().strip("`").strip()
    original = original or getattr(question, "code", "") or ""
    if not reply or len(reply) > 200 or "\n" in reply or BLANK in reply:
        return False
    accepted = [question.answer, *getattr(question, "accepted", [])] if isinstance(question.answer, str) else []
    masked = question.expr or ""
    fills = _fills(reply, masked)
    for fill in fills:
        filled = masked.replace(BLANK, fill, 1)
        if _same_tree(filled, original):
            return True
    return any(_words(fill) == _words(a) for fill in fills for a in accepted)


def _fills(reply: str, masked: str) -> list[str]:
    """The reply, and the reply without what the code around the blank already shows: a repeated prefix
    (`torch.min` for `torch.____(a, b)`, `m.log_prob` for `m.____(action)`) and a trailing `()` before the
    call's own parenthesis. Each is still checked by filling it in: the line must then be the real line."""
    before, _, after = masked.partition(BLANK)
    fills = [reply]
    if reply.endswith("()") and after.lstrip().startswith("("):
        fills.append(reply[:-2].rstrip())
    for fill in list(fills):
        for cut in range(1, len(fill)):
            prefix = fill[:cut]
            if prefix.endswith(".") and before.endswith(prefix) and re.fullmatch(r"[\w.]+", prefix):
                fills.append(fill[cut:])
    return list(dict.fromkeys(f for f in fills if f))


def _same_tree(a: str, b: str) -> bool:
    try:
        return ast.dump(probe.parse(_as_module(a))) == ast.dump(probe.parse(_as_module(b)))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


def _words(text: str) -> str:
    return " ".join(text.replace("`", "").split())


def _as_module(code: str) -> str:
    return code + "\n    pass" if code.rstrip().endswith(":") else code


# ----- names: which variables does the line read or change ------------------------------------------------
NAMES_CONVENTION = ("Count variables as a learner would: `obs` for `obs[step] = …`, `self.actor` for an attribute "
                    "of self; a line changes a variable it assigns or modifies in place (`x.add_(y)`, "
                    "`xs.append(y)`). Modules, functions, classes and `self` itself are not variables.")


def names_question(stmt: Statement, index: SourceIndex, rng: random.Random, stats: Stats) -> GeneratedQuestion | None:
    if stmt.compound or _too_big(stmt):
        return None
    reads = [n for n in stmt.reads if not n.startswith("<")]
    writes = [n for n in stmt.writes if not n.startswith("<")]
    can_write = stmt.effect in (calls.PURE, calls.RANDOM, calls.MUTATES) and writes
    if can_write and (not reads or rng.random() < 0.5):
        which, answer = "change", writes
    elif reads:
        which, answer = "read", reads
    else:
        return None
    stats.count("names")
    convention = NAMES_CONVENTION
    bound = _bound_inside(stmt.node)
    if bound:
        convention += (f" Names the line binds for its own use ({', '.join(f'`{n}`' for n in bound)}, the parameter "
                       "of a lambda or the variable of a comprehension) are not counted.")
    if stmt.effect in (calls.PURE, calls.RANDOM, calls.MUTATES):
        changes = ", ".join(writes) or "none"
    else:                  # `optimizer.zero_grad()`, `parser.add_argument(...)`: what a call changes is not shown
        changes = ", ".join(writes + ["whatever its calls change inside the objects they are called on"])
    return GeneratedQuestion(
        id="", kind="names", prompt=f"Which variables does line {stmt.line}{_where(stmt)} {which}? "
        f"Comma-separated, any order.\n\n{_indent(stmt.code)}\n\n{convention}", answer=answer,
        line=stmt.line, end_line=stmt.end_line, source="names", code=stmt.code, score=1.5, function=stmt.function,
        explain=f"reads: {', '.join(reads) or 'none'}; changes: {changes}",
        verified="static analysis under the stated convention; lines with calls of unknown effect are not asked")


def _bound_inside(node) -> list[str]:
    """Names a statement binds for its own use: lambda parameters and comprehension variables."""
    found: list[str] = []

    class Visitor(cst.CSTVisitor):
        def visit_Param(self, param):
            found.append(param.name.value)

        def visit_CompFor(self, comp):
            targets = [comp.target]
            while targets:
                target = targets.pop()
                if isinstance(target, cst.Name):
                    found.append(target.value)
                elif isinstance(target, (cst.Tuple, cst.List)):
                    targets.extend(e.value for e in target.elements)
    node.visit(Visitor())
    return list(dict.fromkeys(found))


def check_names(reply: str, expected: list[str]) -> bool:
    """Any order, any separator; `obs[step]` counts as `obs`, backticks and a trailing `and` are ignored."""
    text = reply.replace("`", " ").replace(" and ", ",")
    given = set()
    for part in re.split(r"[,;\s]+", text):
        part = re.sub(r"\[.*", "", part.strip()).strip("()")
        if part:
            given.add(part)
    return given == set(expected)


# ----- parsons: put the lines in order --------------------------------------------------------------------
def parsons_windows(index: SourceIndex, statements: list[Statement]) -> list[list[Statement]]:
    """Runs of 3-4 consecutive simple statements of one block whose effects are all known."""
    by_block: dict[int, list[Statement]] = {}
    for stmt in index.statements:
        by_block.setdefault(stmt.block, []).append(stmt)
    wanted = {id(s) for s in statements}
    windows = []
    for members in by_block.values():
        run: list[Statement] = []
        for stmt in members + [None]:
            usable = stmt is not None and not stmt.compound and stmt.effect != calls.UNKNOWN \
                and isinstance(stmt.node, (cst.Assign, cst.AugAssign, cst.Expr, cst.Return))
            if usable:
                run.append(stmt)
                continue
            k = 0
            while len(run) - k >= 3:
                size = 4 if len(run) - k >= 4 else 3
                window = run[k:k + size]
                if any(id(s) in wanted for s in window):
                    windows.append(window)
                k += size
            run = []
    return windows


def dependencies(lines: list[Statement]) -> set[tuple[int, int]]:
    """(i, j): line i must come before line j — it writes what j reads or writes, or reads what j writes;
    a return comes after every other line."""
    deps = set()
    for j, later in enumerate(lines):
        for i in range(j):
            earlier = lines[i]
            if (set(earlier.writes) & set(later.reads) or set(earlier.reads) & set(later.writes)
                    or set(earlier.writes) & set(later.writes) or isinstance(later.node, cst.Return)
                    or IO in earlier.writes and IO in later.writes):
                deps.add((i, j))
    return deps


def parsons_question(window: list[Statement], index: SourceIndex, rng: random.Random,
                     stats: Stats) -> GeneratedQuestion | None:
    """Shuffle the window; the key accepts exactly the orders the data flow allows, and the probe confirms
    that those orders, and only those, leave the same values behind."""
    deps = dependencies(window)
    n = len(window)
    orders = list(itertools.permutations(range(n)))
    allowed = [o for o in orders if all(o.index(i) < o.index(j) for i, j in deps)]
    if not deps or len(allowed) == len(orders):
        stats.drop("parsons: the lines do not depend on each other")
        return None
    unprovable = _unprovable_order(window, index)
    if unprovable:
        stats.drop(f"parsons: {unprovable}")
        return None
    full = [_full_writes(s, index) for s in window]
    if all(set(full[i]) & set(window[j].reads) or isinstance(window[j].node, cst.Return) for i, j in deps):
        stats.drop("parsons: only a chain of assignments (solved by matching names; a return goes last)")
        return None
    if not _orders_confirmed(window, orders, allowed, index):
        stats.drop("parsons: the key does not match what the orders compute")
        return None
    shuffled = list(range(n))
    for _ in range(20):
        rng.shuffle(shuffled)
        if tuple(shuffled) not in allowed:
            break
    else:
        return None
    shown = [window[i].code for i in shuffled]
    labels = "\n".join(f"  {chr(ord('a') + k)}) {_one_line(code)}" for k, code in enumerate(shown))
    original = [s.code for s in window]
    # dependencies between shown positions: the learner's letters index `shown`
    position_of = {i: shuffled.index(i) for i in range(n)}
    stats.count("parsons")
    return GeneratedQuestion(
        id="", kind="parsons", prompt=f"Lines {window[0].line}-{window[-1].end_line}{_where(window[0])} are shuffled. "
        f"Put them in an order that computes the same thing (answer with the letters, e.g. `b a c`):\n\n{labels}",
        choices=shown, answer=original, line=window[0].line, end_line=window[-1].end_line, source="parsons",
        dependencies=sorted(deps), misconceptions={"deps": repr(sorted(deps))},
        explain=f"{len(allowed)} of the {len(orders)} orders are right: each line must come after the lines whose "
                "results it uses, and before the lines that overwrite what it reads.",
        code="\n".join(original), score=2.0 + (1.0 if any(_in_idiom(s, index, 3) or _tensor_math(s) for s in window)
                                             else 0.0),
        function=window[0].function, shown_lines=set(range(window[0].line, window[-1].end_line + 1)),
        asked_lines=set(range(window[0].line, window[-1].end_line + 1)),
        verified="every order was run on random inputs: the accepted orders, and only they, leave the same values")


def _one_line(code: str) -> str:
    return " ".join(code.replace("\\\n", " ").split())


def _full_writes(stmt: Statement, index: SourceIndex) -> list[str]:
    """The variables a statement assigns as a whole (`x = ...`, `x += ...`, `self.x = ...`), not by writing
    into them (`x[i] = ...`, `args.lr = ...`, `x.add_(y)`)."""
    node = stmt.node
    targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else \
        [node.target] if isinstance(node, (cst.AugAssign, cst.AnnAssign)) else []
    out = []
    while targets:
        target = targets.pop()
        if isinstance(target, (cst.Tuple, cst.List)):
            targets.extend(e.value for e in target.elements)
        elif isinstance(target, cst.StarredElement):
            targets.append(target.value)
        elif isinstance(target, cst.Name) or isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) \
                and target.value.value in ("self", "cls"):
            name = index.variable_of(target)
            if name:
                out.append(name)
    return out


def _unprovable_order(window: list[Statement], index: SourceIndex) -> str:
    """Why the key could mark a right order wrong, or "" if it cannot. Two lines that write into the same
    variable (`pe[:, 0::2] = ...` and `pe[:, 1::2] = ...`: disjoint slices commute, overlapping ones do not;
    `xs.append(a)` twice does not commute, `x.add_(a)` twice does) and two draws from one random generator
    (swapped, each gets the other's numbers: the same computation to a learner) cannot be told apart by
    running them on random inputs."""
    into: dict[str, int] = {}
    for stmt in window:
        full = set(_full_writes(stmt, index))
        for name in set(stmt.writes) - full:
            if not name.startswith("<"):
                into[name] = into.get(name, 0) + 1
    if any(count >= 2 for count in into.values()):
        return "two lines write into the same variable (whether they commute depends on what they write)"
    draws: dict[str, int] = {}
    for stmt in window:
        if re.search(r"\bseed\(|manual_seed", stmt.code):
            continue                         # seeding, then drawing: an order that matters, and is provable
        for name in stmt.reads:
            if name.startswith(RNG):
                draws[name] = draws.get(name, 0) + 1
    if any(count >= 2 for count in draws.values()):
        return "two lines draw from one random generator (either order is the same computation to a learner)"
    return ""


def _orders_confirmed(window, orders, allowed, index) -> bool:
    codes = ["\n".join(window[i].code for i in order) for order in orders]
    states = probe.states(codes, index.aliases, trials=2)
    if any(s is None for s in states):
        return False
    reference = states[orders.index(tuple(range(len(window))))]
    same = {order for order, state in zip(orders, states) if probe.same_in_every_trial(state, reference)}
    return same == set(allowed)


def check_parsons(reply: str, question: Question) -> bool:
    """The learner's letters (any separators) form an order that respects every dependency."""
    letters = [c for c in reply.lower() if c.isalpha() and c.isascii()]
    n = len(question.choices)
    if sorted(letters) != [chr(ord("a") + k) for k in range(n)]:
        return False
    given = [question.choices[ord(c) - ord("a")] for c in letters]
    original = question.answer
    deps = getattr(question, "dependencies", None) or ast.literal_eval(question.misconceptions["deps"])
    used = [False] * n
    position = {}
    for k, code in enumerate(given):            # identical lines: match them to original positions in order
        i = next(i for i, c in enumerate(original) if c == code and not used[i])
        used[i] = True
        position[i] = k
    return all(position[i] < position[j] for i, j in deps)


# ----- checking a reply -----------------------------------------------------------------------------------
@dataclass
class Verdict:
    right: bool
    expected: str                  # the right answer, as feedback shows it
    misconception: str = ""        # what the chosen wrong option stands for
    close: str = ""                # not right, but a near miss: why, naming the exact answer (answers.near_miss)


def check_reply(question: Question, reply: str) -> Verdict:
    """Check a typed reply to a question that needs no running program (choice, blank, names, parsons,
    short text, a value known in advance)."""
    from . import answers

    if question.kind == "choice":
        right, chosen = answers.check_choice(reply, question.choices, question.answer)
        return Verdict(right, question.answer, question.misconceptions.get(chosen or "", "") if not right else "")
    if question.kind == "blank":
        right = check_blank(reply, question)
        close = "" if right else answers.near_miss(reply, [question.answer, *getattr(question, "accepted", [])])
        return Verdict(right, question.answer, close=close)
    if question.kind == "names":
        return Verdict(check_names(reply, question.answer), ", ".join(question.answer))
    if question.kind == "parsons":
        return Verdict(check_parsons(reply, question), "\n" + "\n".join(question.answer))
    if question.kind == "value":
        return Verdict(answers.check_value(reply, answers.parse(str(question.answer)), question.tolerance),
                       str(question.answer))
    accepted = question.answer
    shown = accepted if isinstance(accepted, str) else accepted[0]
    right = answers.check_text(reply, accepted)
    return Verdict(right, shown, close="" if right else answers.near_miss(reply, accepted))


# ----- putting it together ------------------------------------------------------------------------------
def generate_static(index: SourceIndex, seed: int = 0, function: str | None = None,
                    kinds: tuple[str, ...] = STATIC_KINDS, stats: Stats | None = None,
                    minimum: float = 0.0) -> list[GeneratedQuestion]:
    """Every valid static question of the file (or of one function), in file order; see `choose`.
    With `minimum`, questions sure to score below it are not even built."""
    stats = stats if stats is not None else Stats()
    statements = [s for s in index.statements if _in_function(s.function, function)]
    logged = logging_only(index)
    questions: list[GeneratedQuestion] = []
    if "idiom" in kinds:
        seen = set()
        for hit in index.hits:
            stmt = index.at(hit.line)
            where = stmt.function if stmt else "<module>"
            if not _in_function(where, function) or (hit.idiom.id, where) in seen:
                continue
            seen.add((hit.idiom.id, where))
            q = idiom_question(hit, index, random.Random(f"{seed}:{hit.line}:{hit.idiom.id}"))
            q.function = where
            if stmt is not None and stmt.line in logged and hit.end_line <= stmt.end_line:
                q.score -= 1.5              # `.item()` for a print: the idea may matter, this use of it does not
            stats.count("idiom")
            questions.append(q)
    for stmt in statements:
        if stmt.line in logged:
            stats.drop("a line only for printing or logging")
            continue
        rng = random.Random(f"{seed}:{stmt.line}")
        if "mutant" in kinds:
            q = mutant_question(stmt, index, rng, stats, minimum)
            if q is not None:
                questions.append(q)
        if "blank" in kinds:
            q = blank_question(stmt, index, rng, stats)
            if q is not None:
                questions.append(q)
        if "names" in kinds:
            q = names_question(stmt, index, rng, stats)
            if q is not None:
                questions.append(q)
    if "parsons" in kinds:
        for window in parsons_windows(index, statements):
            if any(s.line in logged for s in window):
                stats.drop("parsons: a line only for printing or logging")
                continue
            q = parsons_question(window, index, random.Random(f"{seed}:{window[0].line}:parsons"), stats)
            if q is not None:
                questions.append(q)
    questions = _unambiguous(questions, stats)
    for q in questions:         # `1 - beta1 ____ state['step']` once Adam's bias correction card is asked: a drill
        q.ideas = {_family(q.idiom)} if q.idiom else set() if q.source != "blank" else \
            {_family(h.idiom.id) for h in index.hits if h.line <= q.end_line and q.line <= h.end_line and h.idiom.value >= 3}
    questions.sort(key=lambda q: (q.line, STATIC_KINDS.index(q.source)))
    for q in questions:
        q.id = f"L{q.line}.{q.source}" + (f".{q.idiom}" if q.idiom else "")
    return questions


def _in_function(name: str, function: str | None) -> bool:
    return function is None or name == function or name.startswith(function + ".")


def _unambiguous(questions: list[GeneratedQuestion], stats: Stats) -> list[GeneratedQuestion]:
    """Drop questions without choices whose shown code is the same as another's but whose answer differs
    (`x = ____(x)` twice in a file), and keep one of identical ones."""
    groups: dict[tuple, list[GeneratedQuestion]] = {}
    for q in questions:
        if q.source in ("blank", "names"):
            groups.setdefault((q.source, _one_line(q.expr or q.code), q.prompt.split("?")[0].split(" ")[-1]
                               if q.source == "names" else ""), []).append(q)
    drop = set()
    for members in groups.values():
        answers = {repr(q.answer) for q in members}
        if len(answers) > 1:
            drop |= {id(q) for q in members}
            for _ in members:
                stats.drop("blank or names: the same prompt with another answer elsewhere in the file")
        else:
            drop |= {id(q) for q in members[1:]}
    for q in questions:
        if id(q) in drop:
            stats.made[q.source] -= 1
    return [q for q in questions if id(q) not in drop]


def choose(questions: list, count: int | None, minimum: float = 0.0, per_statement: int = 1,
           per_idiom: int = 1) -> list:
    """The best questions by teaching score: at most `per_statement` per line, `per_idiom` per idiom (and
    one blank per answer: `loss.____()` once is a question, seven times is a drill), none below
    `minimum`; returned in file order."""
    ranked = sorted(questions, key=lambda q: (-q.score, q.line or 0))
    taken, lines, repeats, shown, asked = [], {}, {}, set(), set()
    for q in ranked:
        if q.score < minimum:
            continue
        if lines.get(q.line, 0) >= per_statement:
            continue
        if getattr(q, "asked_lines", set()) & shown or getattr(q, "shown_lines", set()) & asked:
            continue                         # one question would show the code another asks for
        key = ("idiom", _family(q.idiom)) if getattr(q, "idiom", "") else ("blank", repr(q.answer)) \
            if q.source == "blank" else None
        if key is not None and repeats.get(key, 0) >= (per_idiom if key[0] == "idiom" else 1):
            continue
        ideas = getattr(q, "ideas", set())
        if ideas and not getattr(q, "idiom", "") and any(repeats.get(("idiom", i), 0) >= per_idiom for i in ideas):
            continue                         # the idea of this line is asked already (by its card, or another line)
        taken.append(q)
        shown |= getattr(q, "shown_lines", set())
        asked |= getattr(q, "asked_lines", set())
        lines[q.line] = lines.get(q.line, 0) + 1
        if key is not None:
            repeats[key] = repeats.get(key, 0) + 1
        for idea in ideas - ({key[1]} if key else set()):
            repeats[("idiom", idea)] = repeats.get(("idiom", idea), 0) + 1
        if count is not None and len(taken) >= count:
            break
    return sorted(taken, key=lambda q: (q.line or 0, q.id))


def _family(card: str) -> str:
    """The idea a card asks: cards of one family (train()/eval(), the attention scale and its use) count as one."""
    found = {idiom.id: idiom.family for idiom in idioms.catalogue()}
    return found.get(card) or card


def for_file(index: SourceIndex, seed: int = 0, function: str | None = None, kinds: tuple[str, ...] | None = None,
             every: bool = False, stats: Stats | None = None) -> list[GeneratedQuestion]:
    """What `walkthrough quiz` asks: the best question of each line (each idiom once per file), scoring at
    least MIN_SCORE; with `every` (or chosen kinds), whatever the score."""
    asked = kinds or DEFAULT_KINDS
    minimum = WORTHLESS if kinds or every else MIN_SCORE
    generated = generate_static(index, seed=seed, function=function, kinds=asked, stats=stats, minimum=minimum)
    return choose(generated, None, minimum=minimum)


def for_stop(index: SourceIndex, line: int, frame, seed: int, step_id: str, count: int = 2,
             authored: list | tuple = (), shown: list | tuple = (), asked_idioms=(),
             screen: str = "") -> list[GeneratedQuestion]:
    """At most `count` generated questions for a stop at `line`: why-questions about idioms on the line,
    shape and value predictions, what-if questions run on copies of the frame; never one whose answer
    is on screen (so no mutants, blanks or Parsons: the code panel shows the real lines), never one an
    authored question of the step already asks or its text (`screen`) already explains, nor an idiom in
    `asked_idioms` (asked at an earlier stop)."""
    from . import live

    if count <= 0:
        return []
    stmt = index.at(line)
    if stmt is None:
        return []
    rng = random.Random(f"{seed}:{step_id}")
    candidates = []
    for hit in index.hits:        # idioms around the stop, or inside its (multi-line) statement
        if hit.line <= stmt.end_line and stmt.line <= hit.end_line \
                and _family(hit.idiom.id) not in {_family(a) for a in asked_idioms}:
            q = idiom_question(hit, index, random.Random(f"{seed}:{step_id}:{hit.idiom.id}"))
            if hit.end_line - hit.line > 3 and line != hit.line:
                q.score -= 1.0              # a block around the stop (no_grad) matters less than the line itself
            if not live.repeats_authored(q, authored, hit, screen):
                candidates.append(q)
    candidates += live.questions_at(stmt, index, frame, rng, authored=authored, shown=shown)
    chosen = choose(candidates, count, per_statement=count, per_idiom=1)
    chosen.sort(key=lambda q: (q.source == "whatif", -q.score))   # a what-if's feedback shows values: last
    for n, q in enumerate(chosen, start=1):
        q.id = f"{step_id}.g{n}"
    return chosen


def to_json(q: Question) -> dict:
    """The question as `walkthrough quiz --json` prints it (see README)."""
    source = q.source if q.source != "authored" else q.kind
    data = {"kind": source, "line": q.line, "prompt": q.prompt, "answer": q.answer}
    if q.choices:
        data["choices"] = q.choices
    if q.kind == "choice":
        data["misconceptions"] = {c: q.misconceptions.get(c, "") for c in q.choices if c != q.answer}
    if getattr(q, "idiom", ""):
        data["idiom"] = q.idiom
    if q.source == "parsons":
        data["dependencies"] = [list(d) for d in (getattr(q, "dependencies", None)
                                                   or ast.literal_eval(q.misconceptions["deps"]))]
    if q.source == "blank":
        data["accepted"] = [q.answer, *getattr(q, "accepted", [])]
        data["masked"] = q.expr
    if q.explain:
        data["explain"] = q.explain
    if isinstance(q, GeneratedQuestion):
        data["score"] = round(q.score, 2)
        data["verified"] = q.verified
        if q.end_line and q.end_line != q.line:
            data["end_line"] = q.end_line
    return data
