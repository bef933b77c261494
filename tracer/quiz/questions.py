"""Questions generated from the code with libcst, each with one machine-checkable right answer.

Static kinds (need only the source):   mutant, blank, names, purpose, parsons
Dynamic kinds (need the paused frame): predict, loop_count

Every question carries its kind, the line it is about, the right answer and, for choices, the
misconception each wrong option stands for. Generation is deterministic for a given seed.
Answers are never evaluated: they are parsed (ast / ast.literal_eval) and compared.
"""
from __future__ import annotations

import ast
import builtins
import random
import sys
import re
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
import libcst.matchers as m
from libcst.metadata import (ComprehensionScope, ExpressionContext, ExpressionContextProvider, MetadataWrapper,
                             PositionProvider, ScopeProvider)

from ..engine.anchors import normalize
from ..engine.syntax import ScopedVisitor
from ..spec import Question

STATIC_KINDS = ("mutant", "blank", "names", "purpose", "parsons")
DYNAMIC_KINDS = ("predict", "loop_count")
ALL_KINDS = STATIC_KINDS + DYNAMIC_KINDS
_BUILTINS = set(dir(builtins))


@dataclass
class Stats:
    """What the generators produced and dropped, for the benchmark."""
    made: dict[str, int] = field(default_factory=dict)
    dropped_equivalent: int = 0
    dropped_ambiguous: int = 0
    dropped_duplicate: int = 0

    def count(self, kind: str) -> None:
        self.made[kind] = self.made.get(kind, 0) + 1


# ----- the parsed file ---------------------------------------------------------------------------
@dataclass
class _Stmt:
    node: cst.CSTNode            # a small statement (Assign, AugAssign, Expr, Return, ...) or a compound header
    line: int
    function: str
    code: str                    # the statement's code (the header for compound statements)
    block: int                   # id of the statement list it belongs to (for Parsons problems)
    reads: list[str]
    writes: list[str]


class _Indexer(ScopedVisitor):
    METADATA_DEPENDENCIES = (PositionProvider, ExpressionContextProvider, ScopeProvider)

    def __init__(self, module: cst.Module):
        super().__init__()
        self.module = module
        self.blocks: list[int] = [0]
        self.statements: list[_Stmt] = []

    def visit_IndentedBlock(self, node):
        self.blocks.append(id(node))

    def leave_IndentedBlock(self, node):
        self.blocks.pop()

    _SKIP = (cst.Import, cst.ImportFrom, cst.Pass, cst.Global, cst.Nonlocal, cst.Break, cst.Continue)

    def visit_SimpleStatementLine(self, node):
        for small in node.body:
            if isinstance(small, self._SKIP) or m.matches(small, m.Expr(m.SimpleString() | m.ConcatenatedString())):
                continue          # nothing to ask about imports, pass or docstrings
            reads, writes = self._names(small)
            self.statements.append(_Stmt(small, self.get_metadata(PositionProvider, small).start.line,
                                         ".".join(self.scope) or "<module>", self.module.code_for_node(small).strip(),
                                         self.blocks[-1], reads, writes))
        return False

    def visit_For(self, node):
        reads, writes = self._names(node.iter)[0], self._names(node.target)[1]
        code = f"for {self.module.code_for_node(node.target)} in {self.module.code_for_node(node.iter)}:"
        self.statements.append(_Stmt(node, self.get_metadata(PositionProvider, node).start.line,
                                     ".".join(self.scope) or "<module>", code, self.blocks[-1], reads, writes))

    def _names(self, node) -> tuple[list[str], list[str]]:
        """Names a node reads and writes, from libcst's expression-context metadata."""
        reads, writes = [], []
        keywords = {id(arg.keyword) for arg in m.findall(node, m.Arg(keyword=m.Name()))}
        for name in m.findall(node, m.Name(), metadata_resolver=self):
            if id(name) in keywords:
                continue                                   # `dim` in f(x, dim=1) names a parameter
            scope = self.get_metadata(ScopeProvider, name, None)
            if isinstance(scope, ComprehensionScope) and name.value in scope.assignments:
                continue                                   # the comprehension's own loop variable
            context = self.get_metadata(ExpressionContextProvider, name, None)
            target = writes if context == ExpressionContext.STORE else reads if context == ExpressionContext.LOAD else None
            if target is not None and name.value not in target and name.value not in _BUILTINS:
                target.append(name.value)
        if isinstance(node, cst.AugAssign) and isinstance(node.target, cst.Name):   # x += 1 reads x too
            reads.insert(0, node.target.value)
        return reads, writes


class SourceIndex:
    """A parsed Python file and its statements, ready for question generation."""

    def __init__(self, text: str, path: str = "<source>"):
        try:
            self.module = cst.parse_module(text)
            indexer = _Indexer(self.module)
            MetadataWrapper(self.module, unsafe_skip_copy=True).visit(indexer)
        except cst.ParserSyntaxError as exc:
            raise SyntaxError(f"{path}:{exc.raw_line}: cannot parse: {exc.message}") from None
        except RecursionError:       # a 500-term expression is beyond libcst's recursion
            raise SyntaxError(f"{path}: nested too deeply for libcst to generate questions from") from None
        self.statements = indexer.statements
        self.path = path
        self._descriptions: dict[str, dict[int, str]] = {}

    @classmethod
    def from_file(cls, path: Path) -> "SourceIndex":
        from ..engine.anchors import read_source
        try:
            text = read_source(path)                   # honours a coding cookie, as Python does
        except (SyntaxError, UnicodeDecodeError) as exc:
            raise SyntaxError(f"{path}: not a readable Python source file ({exc})") from None
        return cls(text, str(path))

    def descriptions(self, function: str) -> dict[int, str]:
        """describe() of every statement of one function (keyed by id of the statement), computed once."""
        if function not in self._descriptions:
            self._descriptions[function] = {id(s): d for s in self.statements
                                            if s.function == function and (d := describe(s))}
        return self._descriptions[function]

    def at(self, line: int) -> _Stmt | None:
        return next((s for s in self.statements if s.line == line), None)


# ----- 2. which is the real line: mutants ---------------------------------------------------------------
_NON_COMMUTATIVE = {cst.Subtract: "operands swapped", cst.Divide: "operands swapped",
                    cst.MatrixMultiply: "matrix product in the wrong order", cst.Power: "operands swapped"}
_OP_FLIPS = [(cst.Subtract, cst.Add, "sign flipped: + instead of −"), (cst.Add, cst.Subtract, "sign flipped: − instead of +"),
             (cst.Multiply, cst.Divide, "÷ instead of ×"), (cst.Divide, cst.Multiply, "× instead of ÷"),
             (cst.GreaterThan, cst.LessThan, "comparison reversed"), (cst.LessThan, cst.GreaterThan, "comparison reversed")]
_MINMAX = {"min": "max", "max": "min", "argmax": "argmin", "argmin": "argmax", "amax": "amin", "amin": "amax"}


def _mutants(node: cst.CSTNode) -> list[tuple[cst.CSTNode, str]]:
    """Plausible wrong versions of a statement, each with the misconception it stands for."""
    found: list[tuple[cst.CSTNode, str]] = []
    if isinstance(node, cst.For):          # only the header: `for target in iter:`
        node = node.with_changes(body=cst.IndentedBlock([cst.SimpleStatementLine([cst.Pass()])]), orelse=None)

    class Mutate(cst.CSTTransformer):
        """Applies the one change whose index is `target`, counting candidate sites in order."""

        def __init__(self, target):
            self.target, self.index, self.label = target, -1, None

        def _take(self, label):
            self.index += 1
            if self.index == self.target:
                self.label = label
                return True
            return False

        def leave_BinaryOperation(self, original, updated):
            for old, new, label in _OP_FLIPS:
                if isinstance(updated.operator, old) and self._take(label):
                    return updated.with_changes(operator=new())
            if type(updated.operator) in _NON_COMMUTATIVE and self._take(_NON_COMMUTATIVE[type(updated.operator)]):
                return updated.with_changes(left=updated.right, right=updated.left)
            return updated

        def leave_Comparison(self, original, updated):
            target = updated.comparisons[0]
            for old, new, label in _OP_FLIPS[4:]:
                if isinstance(target.operator, old) and self._take(label):
                    return updated.with_changes(comparisons=[target.with_changes(operator=new())])
            return updated

        def leave_Name(self, original, updated):
            if updated.value in _MINMAX and self._take(f"{updated.value} and {_MINMAX[updated.value]} swapped"):
                return updated.with_changes(value=_MINMAX[updated.value])
            return updated

        def leave_Arg(self, original, updated):
            if updated.keyword and updated.keyword.value == "dim" and isinstance(updated.value, (cst.Integer, cst.UnaryOperation)):
                code = cst.Module([]).code_for_node(updated.value)
                wrong = {"0": "1", "1": "0", "-1": "0"}.get(code)
                if wrong is not None and self._take("the wrong dimension"):
                    return updated.with_changes(value=cst.parse_expression(wrong))
            if updated.keyword and updated.keyword.value in ("min", "max") and self._take("clamp bounds swapped"):
                return updated.with_changes(keyword=cst.Name(_MINMAX[updated.keyword.value]))
            return updated

        def leave_Call(self, original, updated):
            func = updated.func
            if (m.matches(func, m.Attribute(attr=m.Name("detach"))) and not updated.args
                    and self._take("detach forgotten: gradients would flow into the target")):
                return func.value
            if m.matches(func, m.Name("range")) and len(updated.args) == 1 and self._take("off by one in range"):
                return updated.with_changes(args=[updated.args[0].with_changes(
                    value=cst.BinaryOperation(updated.args[0].value, cst.Subtract(), cst.Integer("1")))])
            return updated

    k = 0
    while k < 40:
        mutate = Mutate(k)
        mutated = node.visit(mutate)
        if mutate.label is None:
            break
        found.append((mutated, mutate.label))
        k += 1
    return found


def _same_program(a: str, b: str) -> bool:
    """Equal up to formatting, or a known equivalence (commutative operands are never swapped)."""
    try:
        return ast.dump(ast.parse(_as_module(a))) == ast.dump(ast.parse(_as_module(b)))
    except SyntaxError:
        return normalize(a) == normalize(b)


_ARITH = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
          ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b}
_FUNCS = {"min": min, "max": max, "abs": abs}


class _NotArithmetic(Exception):
    pass


def _interpret(node: ast.AST, env: dict[str, float]) -> float:
    """Evaluate a purely arithmetic expression tree (names, numbers, + - * / **, min/max/abs); nothing else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name):
        return env.setdefault(node.id, 0.0)
    if isinstance(node, ast.Attribute):
        return env.setdefault(ast.unparse(node), 0.0)
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
        return _ARITH[type(node.op)](_interpret(node.left, env), _interpret(node.right, env))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_interpret(node.operand, env)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS
            and not node.keywords and node.args):
        return _FUNCS[node.func.id](*(_interpret(a, env) for a in node.args))
    raise _NotArithmetic()


def equivalent_by_probing(a: str, b: str, probes: int = 12) -> bool:
    """For arithmetic assignments: do both compute the same value on random inputs? (False if not arithmetic.)"""
    try:
        ta, tb = ast.parse(a).body[0], ast.parse(b).body[0]
    except (SyntaxError, IndexError):
        return False
    if not (isinstance(ta, ast.Assign) and isinstance(tb, ast.Assign)) or ast.dump(ta.targets[0]) != ast.dump(tb.targets[0]):
        return False
    rng = random.Random(0)
    names: dict[str, float] = {}
    try:
        _interpret(ta.value, names)
        _interpret(tb.value, dict(names))
        for _ in range(probes):
            env = {name: rng.uniform(0.5, 3.0) * rng.choice((-1, 1)) for name in names}
            va, vb = _interpret(ta.value, dict(env)), _interpret(tb.value, dict(env))
            if isinstance(va, complex) or isinstance(vb, complex) or abs(va - vb) > 1e-9 * (1 + abs(va)):
                return False
    except (_NotArithmetic, ZeroDivisionError, OverflowError, ValueError, TypeError):
        return False
    return True


def _as_module(code: str) -> str:
    return code + "\n    pass" if code.rstrip().endswith(":") else code


def mutant_question(stmt: _Stmt, rng: random.Random, stats: Stats) -> Question | None:
    original = stmt.code
    options, labels = [], {}
    for mutated, label in _mutants(stmt.node):
        code = _code(mutated, stmt)
        if (_same_program(code, original) or equivalent_by_probing(code, original)
                or any(_same_program(code, o) for o in options)):
            stats.dropped_equivalent += 1
            continue
        options.append(code)
        labels[code] = label
    if len(options) < 2:
        return None
    return _choice("mutant", f"Which of these is the real line {stmt.line}?", original, options, labels.get,
                   stmt, rng, stats, explain="The others each hide one mistake a learner could make.")


def _choice(source: str, prompt: str, right: str, pool: list[str], misconception, stmt: _Stmt,
            rng: random.Random, stats: Stats, explain: str = "") -> Question:
    """A multiple-choice question: up to three wrong options from `pool`, shuffled with the right one."""
    wrong = rng.sample(pool, min(3, len(pool)))
    choices = wrong + [right]
    rng.shuffle(choices)
    stats.count(source)
    return Question(id="", kind="choice", prompt=prompt, choices=choices, answer=right, line=stmt.line,
                    source=source, misconceptions={w: misconception(w) for w in wrong}, explain=explain)


def _code(node: cst.CSTNode, stmt: _Stmt) -> str:
    if isinstance(node, cst.For):
        empty = cst.Module([])
        return f"for {empty.code_for_node(node.target)} in {empty.code_for_node(node.iter)}:"
    return cst.Module([]).code_for_node(node).strip()


# ----- 3. fill the blank -------------------------------------------------------------------------------------
BLANK = "____"


def blank_question(stmt: _Stmt, rng: random.Random, stats: Stats) -> Question | None:
    """Mask one operator, argument or called name; the answer is checked by comparing parsed trees."""
    candidates: list[tuple[str, str, str]] = []   # (masked code, answer, what was masked)
    code = stmt.code
    empty = cst.Module([])
    for node in m.findall(stmt.node, m.BinaryOperation() | m.Call() | m.Arg()):
        if isinstance(node, cst.BinaryOperation):
            op = empty.code_for_node(node.operator).strip()
            left, right = empty.code_for_node(node.left), empty.code_for_node(node.right)
            whole = empty.code_for_node(node)
            candidates.append((whole, f"{left} {BLANK} {right}", op, "the operator"))
        elif isinstance(node, cst.Call):
            name = empty.code_for_node(node.func)
            whole = empty.code_for_node(node)
            if len(name) <= 40:
                candidates.append((whole, whole.replace(name, BLANK, 1), name, "the called function"))
        elif isinstance(node, cst.Arg) and not node.star:
            value = empty.code_for_node(node.value)
            if len(value) <= 30:
                whole = empty.code_for_node(node).rstrip(", ")
                masked = (f"{node.keyword.value}={BLANK}" if node.keyword else BLANK)
                candidates.append((whole, masked, value, "an argument"))
    usable = []
    for whole, masked, answer, what in candidates:
        if code.count(whole) != 1:
            stats.dropped_ambiguous += 1
            continue
        usable.append((code.replace(whole, masked, 1), answer, what))
    if not usable:
        return None
    masked_line, answer, what = rng.choice(usable)
    stats.count("blank")
    return Question(id="", kind="blank", prompt=f"Fill the blank ({what}) in line {stmt.line}:\n\n    {masked_line}",
                    answer=answer, choices=[], line=stmt.line, source="blank", expr=masked_line,
                    explain=f"The line is: {code}")


def check_blank(reply: str, question: Question, original: str) -> bool:
    """Put the reply in the blank and compare the parsed tree with the original line's."""
    reply = reply.strip()
    if not reply or len(reply) > 200 or "\n" in reply:
        return False
    filled = question.expr.replace(BLANK, reply, 1)
    try:
        return ast.dump(ast.parse(_as_module(filled))) == ast.dump(ast.parse(_as_module(original)))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


# ----- 4. reads and writes ------------------------------------------------------------------------------
def names_question(stmt: _Stmt, rng: random.Random, stats: Stats) -> Question | None:
    if stmt.writes and (not stmt.reads or rng.random() < 0.5):
        which, answer = "assign (write)", stmt.writes
    elif stmt.reads:
        which, answer = "read", stmt.reads
    else:
        return None
    stats.count("names")
    return Question(id="", kind="names", prompt=f"Which variables does line {stmt.line} {which}? "
                    f"Comma-separated, any order.\n\n    {stmt.code}", answer=answer, line=stmt.line, source="names",
                    explain=f"reads: {', '.join(stmt.reads) or 'none'}; writes: {', '.join(stmt.writes) or 'none'}")


def check_names(reply: str, expected: list[str]) -> bool:
    given = {n.strip() for n in re.split(r"[,\s]+", reply) if n.strip()}
    return given == set(expected)


# ----- 5. what does this line do -------------------------------------------------------------------------
def describe(stmt: _Stmt) -> str | None:
    """A plain description of what a statement does, built from its tree."""
    node, empty = stmt.node, cst.Module([])
    if isinstance(node, cst.For):
        return f"repeats its body once for each {', '.join(stmt.writes) or 'item'} in {empty.code_for_node(node.iter)}"
    if isinstance(node, cst.Return):
        return "returns " + (_expr_words(node.value) if node.value else "nothing")
    if isinstance(node, cst.AugAssign):
        return f"updates {empty.code_for_node(node.target)} in place ({empty.code_for_node(node.operator).strip()})"
    if isinstance(node, cst.Assign):
        targets = ", ".join(empty.code_for_node(t.target) for t in node.targets)
        if isinstance(node.value, cst.Call):
            return f"stores the result of calling {_call_name(node.value)} in {targets}"
        if stmt.reads:
            return f"computes {targets} from {', '.join(stmt.reads)}"
        return f"sets {targets} to {_expr_words(node.value)}"
    if isinstance(node, cst.Expr) and isinstance(node.value, cst.Call):
        return f"calls {_call_name(node.value)} for its effect, discarding any result"
    return None


def _call_name(call: cst.Call) -> str:
    """`torch.max(a, b).mean()` -> `torch.max(…).mean`: the chain of called names, arguments elided."""
    func = call.func
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call):
        return f"{_call_name(func.value)}(…).{func.attr.value}"
    return cst.Module([]).code_for_node(func)


def _expr_words(node: cst.BaseExpression) -> str:
    empty = cst.Module([])
    if isinstance(node, cst.Call):
        return f"the result of {_call_name(node)}(…)"
    if isinstance(node, (cst.Name, cst.Attribute, cst.Integer, cst.Float, cst.SimpleString)):
        return empty.code_for_node(node)
    if isinstance(node, cst.Subscript):
        return f"a slice of {empty.code_for_node(node.value)}"
    if isinstance(node, (cst.Tuple, cst.List)):
        return f"a {type(node).__name__.lower()} of {len(node.elements)} values"
    return "an expression"


def purpose_question(stmt: _Stmt, others: list[_Stmt], rng: random.Random, stats: Stats,
                     own: str | None = None, other_descriptions: list[str] | None = None) -> Question | None:
    """Pick the line's purpose: its own description against those of other lines (qlcpy's LinePurpose)."""
    right = own or describe(stmt)
    if not right:
        return None
    pool = list(dict.fromkeys(d for d in (other_descriptions or [describe(o) for o in others if o is not stmt])
                              if d and d != right))
    if len(pool) < 2:
        stats.dropped_ambiguous += 1
        return None
    return _choice("purpose", f"What does line {stmt.line} do?\n\n    {stmt.code}", right, pool,
                   lambda _: "the purpose of another line nearby", stmt, rng, stats)


# ----- 6. order the lines (Parsons) ------------------------------------------------------------------------
def parsons_question(stmt: _Stmt, index: SourceIndex, rng: random.Random, stats: Stats) -> Question | None:
    """Shuffle 3-6 consecutive simple statements of the stop's block; any dependency-respecting order is right."""
    block = [s for s in index.statements if s.block == stmt.block and not isinstance(s.node, cst.For)]
    if stmt not in block:
        return None
    at = block.index(stmt)
    start = max(0, min(at - 2, len(block) - 5))
    lines = block[start:start + 5]
    if len(lines) < 3:
        return None
    deps = dependencies(lines)
    order = list(range(len(lines)))
    for _ in range(10):
        rng.shuffle(order)
        if order != sorted(order):
            break
    else:
        stats.dropped_ambiguous += 1
        return None
    shown = [lines[i].code for i in order]
    stats.count("parsons")
    labels = "\n".join(f"  {chr(ord('a') + k)}) {code}" for k, code in enumerate(shown))
    return Question(id="", kind="parsons", prompt=f"Put these lines (around line {stmt.line}) in an order that "
                    f"computes the same thing. Answer with the letters, e.g. `c a b`.\n\n{labels}",
                    choices=shown, answer=[lines[i].code for i in range(len(lines))], line=lines[0].line,
                    source="parsons", misconceptions={"deps": repr(deps)},
                    explain="Any order is right as long as each line comes after the lines whose results it uses "
                            "and before the lines that overwrite what it reads.")


def dependencies(lines: list[_Stmt]) -> set[tuple[int, int]]:
    """(i, j): line i must come before line j (true, anti and output dependencies)."""
    deps = set()
    for j, later in enumerate(lines):
        for i in range(j):
            earlier = lines[i]
            if (set(earlier.writes) & set(later.reads) or set(earlier.reads) & set(later.writes)
                    or set(earlier.writes) & set(later.writes) or _has_effects(earlier) and _has_effects(later)):
                deps.add((i, j))
    return deps


def _has_effects(stmt: _Stmt) -> bool:
    """A bare call (print, optimizer.step()) or in-place update: keep such lines in their order."""
    return isinstance(stmt.node, cst.Expr) or isinstance(stmt.node, cst.AugAssign) or any(
        isinstance(t.target, (cst.Subscript, cst.Attribute)) for t in getattr(stmt.node, "targets", ()))


def check_parsons(reply: str, question: Question) -> bool:
    letters = [c for c in reply.lower() if c.isalpha()]
    n = len(question.choices)
    if sorted(letters) != [chr(ord("a") + k) for k in range(n)]:
        return False
    given = [question.choices[ord(c) - ord("a")] for c in letters]      # codes in the learner's order
    original = question.answer
    position = {code: given.index(code) for code in original}
    deps = ast.literal_eval(question.misconceptions["deps"])
    return all(position[original[i]] < position[original[j]] for i, j in deps)


# ----- dynamic kinds -------------------------------------------------------------------------------------------
def predict_question(stmt: _Stmt, frame, rng: random.Random, stats: Stats) -> Question | None:
    """Before an assignment runs, ask for a property of what it assigns; checked right after the line."""
    node = stmt.node
    if not isinstance(node, (cst.Assign, cst.AugAssign)) or len(stmt.writes) != 1:
        return None
    target = stmt.writes[0]
    array_types = tuple(t for t in (getattr(sys.modules.get("torch"), "Tensor", None),
                                    getattr(sys.modules.get("numpy"), "ndarray", None)) if t is not None)
    reads_tensor = any(isinstance(frame.f_locals.get(n, frame.f_globals.get(n)), array_types) for n in stmt.reads)
    if reads_tensor:
        prop, expr = "shape", f"tuple({target}.shape) if hasattr({target}, 'shape') else {target}"
        prompt = f"Predict: after line {stmt.line} runs, what is `{target}.shape`? e.g. (64, 4)"
    else:
        prop, expr = "value", target
        prompt = f"Predict: after line {stmt.line} runs, what value does `{target}` hold?"
    stats.count("predict")
    return Question(id="", kind="value", prompt=prompt, expr=expr, after=True, line=stmt.line, source="predict",
                    subject=f"{target}.shape" if prop == "shape" else target,
                    explain=f"checked against the {prop} the program computed")


_SAFE_LOOP_CALLS = {"range", "reversed", "len", "enumerate", "zip"}


def loop_count_question(stmt: _Stmt, frame, rng: random.Random, stats: Stats) -> Question | None:
    """For `for x in range(...)` at a stop: how many times will the body run? Answer computed in the frame."""
    if not isinstance(stmt.node, cst.For):
        return None
    iter_code = cst.Module([]).code_for_node(stmt.node.iter)
    tree = ast.parse(iter_code, mode="eval")
    for sub in ast.walk(tree):
        if isinstance(sub, ast.Call) and not (isinstance(sub.func, ast.Name) and sub.func.id in _SAFE_LOOP_CALLS):
            return None          # never call the program's own functions to count
    try:
        count = len(eval(compile(tree, "<loop>", "eval"), frame.f_globals, frame.f_locals))
    except Exception:
        return None
    stats.count("loop_count")
    return Question(id="", kind="value", prompt=f"How many times will the body of the loop on line {stmt.line} run?",
                    answer=str(count), line=stmt.line, source="loop_count",
                    explain=f"len({iter_code}) = {count}")


# ----- putting it together ------------------------------------------------------------------------------------
def generate_static(index: SourceIndex, seed: int = 0, function: str | None = None,
                    kinds: tuple[str, ...] = STATIC_KINDS, stats: Stats | None = None) -> list[Question]:
    """Every static question for every statement of the file (or of one function)."""
    stats = stats or Stats()
    statements = [s for s in index.statements if function is None or s.function == function
                  or s.function.startswith(function + ".")]
    questions, windows = [], set()
    for stmt in statements:
        rng = random.Random(f"{seed}:{stmt.line}")
        for kind in kinds:
            q = _static(kind, stmt, index, rng, stats)
            if q is not None and q.source == "parsons":
                if q.line in windows:     # the same block of lines, already asked
                    stats.made["parsons"] -= 1
                    stats.dropped_duplicate += 1
                    continue
                windows.add(q.line)
            if q is not None:
                q.id = f"L{stmt.line}.{kind}"
                questions.append(q)
    return questions


def _static(kind, stmt, index, rng, stats) -> Question | None:
    if kind == "mutant":
        return mutant_question(stmt, rng, stats)
    if kind == "blank":
        return blank_question(stmt, rng, stats)
    if kind == "names":
        return names_question(stmt, rng, stats)
    if kind == "purpose":
        descriptions = index.descriptions(stmt.function)
        return purpose_question(stmt, [], rng, stats, own=descriptions.get(id(stmt)),
                                other_descriptions=[d for k, d in descriptions.items() if k != id(stmt)])
    if kind == "parsons":
        return parsons_question(stmt, index, rng, stats)
    return None


def for_stop(index: SourceIndex, line: int, frame, seed: int, step_id: str, count: int = 1) -> list[Question]:
    """Generated questions for a stop: a prediction or loop count when the frame allows, then `count` static ones."""
    stmt = index.at(line)
    if stmt is None:
        return []
    rng = random.Random(f"{seed}:{step_id}")
    stats = Stats()
    out = [q for q in (predict_question(stmt, frame, rng, stats), loop_count_question(stmt, frame, rng, stats)) if q]
    kinds = list(STATIC_KINDS)
    rng.shuffle(kinds)
    for kind in kinds:
        if len(out) >= count + 1:
            break
        # (step titles would give the answer away: the step's own title is its heading)
        q = _static(kind, stmt, index, rng, stats)
        if q is not None:
            out.append(q)
    for n, q in enumerate(out, start=1):
        q.id = f"{step_id}.g{n}"
    return out


def to_json(q: Question) -> dict:
    data = {"kind": q.source if q.source != "authored" else q.kind, "line": q.line, "prompt": q.prompt,
            "answer": q.answer}
    if q.choices:
        data["choices"] = q.choices
    if q.misconceptions and q.source != "parsons":
        data["misconceptions"] = q.misconceptions
    if q.source == "parsons":
        data["dependencies"] = sorted(ast.literal_eval(q.misconceptions["deps"]))
    if q.explain:
        data["explain"] = q.explain
    return data
