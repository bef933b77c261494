"""Questions at a stop of a running program, answered by the program itself.

    shape       what shape will the tensor this line computes have? (checked after the statement ran)
    value       what number will it compute, from the values shown on screen? (checked after it ran)
    whatif      what would happen to X if the line were changed (a mistake from the fault library)?
                Both versions are run on copies of the paused frame's values, with the random
                generators' states saved and restored, and the real effect is shown next to the guess.
    loop_count  how many times will this loop's body run?

Only questions a learner can work out: never a random sample's value, a whole object, or a value
the screen already shows; never a question the step's authored questions already ask.
"""
from __future__ import annotations

import ast
import copy
import random
import re
import sys

import libcst as cst

from ..engine import values
from ..engine.anchors import names_read
from . import calls, probe
from .questions import GeneratedQuestion, _indent, _where
from .source import SourceIndex, Statement

_SHAPE_HINT = "Type the sizes as a tuple, e.g. `(2,)`, `(2, 3)` or `(2, 3, 4)`; `()` for a single number."
_STOP_WORDS = {"torch", "numpy", "math", "self", "data", "utils", "functional", "mean", "the", "and", "with",
               "from", "before", "after", "value", "values", "this", "that", "their", "there", "which"}


# ----- not asking twice ----------------------------------------------------------------------------------
def _authored_text(authored) -> str:
    parts = []
    for q in authored:
        parts.append(q.prompt or "")
        parts.extend(q.choices or [])
        answer = q.answer
        parts.extend(answer if isinstance(answer, list) else [str(answer or "")])
        parts.append(q.expr or "")
    return " ".join(parts).lower()


def repeats_authored(question, authored, hit=None, screen: str = "") -> bool:
    """Does an authored question of the step already ask this, or does the step's text on screen already
    say it? For an idiom: its distinctive words (the library names of its patterns, the words of its
    title) appear there."""
    text = (_authored_text(authored) + " " + (screen.lower() if hit is not None else "")).strip()
    if not text:
        return False
    if hit is not None:
        words = set()
        for pattern in hit.idiom.patterns:
            for name in re.findall(r"(?<![$\w])[A-Za-z_][A-Za-z0-9_]*", pattern):
                words |= {w for w in name.lower().split("_") if len(w) >= 3}
        words |= {w for w in re.findall(r"[a-z]{5,}", hit.idiom.title.lower())}
        words -= _STOP_WORDS
        return any(re.search(rf"\b{re.escape(w)}", text) for w in words)
    subject = (question.subject or "").removesuffix(".shape")     # any authored question about the same variable
    return bool(subject) and re.search(rf"(?<![\w.]){re.escape(subject.lower())}(?![\w])", text) is not None


# ----- shape and value predictions ---------------------------------------------------------------------
def _array_types():
    return tuple(t for t in (getattr(sys.modules.get("torch"), "Tensor", None),
                             getattr(sys.modules.get("numpy"), "ndarray", None)) if t is not None)


def _value(frame, dotted: str):
    value = values.lookup(frame, dotted)
    return None if value is values._MISSING else value


def _target(stmt: Statement) -> str | None:
    node = stmt.node
    if isinstance(node, cst.Assign) and len(node.targets) == 1:
        target = node.targets[0].target
    elif isinstance(node, (cst.AugAssign, cst.AnnAssign)):
        target = node.target
    else:
        return None
    if isinstance(target, cst.Name):
        return target.value
    if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
        return f"self.{target.attr.value}"
    return None


def prediction(stmt: Statement, index: SourceIndex, frame, authored=(), shown=()) -> GeneratedQuestion | None:
    """A shape question for a line computing a tensor from tensors, or a value question for arithmetic on
    numbers shown on screen."""
    target = _target(stmt)
    if target is None or stmt.compound:
        return None
    read = names_read(stmt.code)
    arrays = _array_types()
    inputs = {name: _value(frame, name) for name in read}
    q = None
    known = _evaluate(stmt, frame) if stmt.effect == calls.PURE else _UNKNOWN
    current = _value(frame, target)
    if any(isinstance(v, arrays) for v in inputs.values()) and arrays:
        if known is not _UNKNOWN and not isinstance(known, arrays):
            return None
        if target in shown and isinstance(current, arrays):
            if known is _UNKNOWN or tuple(known.shape) == tuple(current.shape):
                return None                             # the screen shows this shape already
        if _scalar_call(stmt):
            return None
        q = GeneratedQuestion(
            id="", kind="value", prompt=f"Predict: after line {stmt.line} runs, what is the shape of `{target}`? "
            f"{_SHAPE_HINT}", expr=f"{target}.shape", after=True, line=stmt.line, source="shape", subject=f"{target}.shape",
            code=stmt.code, score=3.5, explain="checked against the shape the program computed",
            verified="checked against the real run, after the whole statement has run")
    elif _arithmetic(stmt) and read and all(n in shown for n in read) and all(
            isinstance(inputs[n], (int, float)) for n in read):
        if known is _UNKNOWN or not isinstance(known, (int, float)):
            return None
        if target in shown and current == known:
            return None
        q = GeneratedQuestion(
            id="", kind="value", prompt=f"Predict: after line {stmt.line} runs, what is `{target}`? "
            "(the values it uses are shown above)", expr=target, after=True, line=stmt.line, source="value",
            subject=target, code=stmt.code, score=3.0, explain="checked against the value the program computed",
            verified="checked against the real run, after the whole statement has run")
    if q is None or repeats_authored(q, authored):
        return None
    return q


def _scalar_call(stmt: Statement) -> bool:
    """`x = float(...)`, `n = len(...)`, `v = t.item()`: the result is a number, not a tensor."""
    value = getattr(stmt.node, "value", None)
    if isinstance(value, cst.Call):
        func = value.func
        name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        return name in ("float", "int", "len", "item", "bool", "round", "tolist")
    return False


def _arithmetic(stmt: Statement) -> bool:
    value = getattr(stmt.node, "value", None)
    if value is None:
        return False
    try:
        tree = probe.parse(cst.Module([]).code_for_node(value).strip(), mode="eval")
    except SyntaxError:
        return False
    has_operator = any(isinstance(n, (ast.BinOp, ast.UnaryOp)) for n in ast.walk(tree))
    allowed = all(isinstance(n, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Attribute,
                                 ast.Load, ast.operator, ast.unaryop)) for n in ast.walk(tree))
    return has_operator and allowed


_UNKNOWN = object()


def _evaluate(stmt: Statement, frame):
    """The value a pure statement's right-hand side computes, by running it on copies (or _UNKNOWN)."""
    value = getattr(stmt.node, "value", None)
    if value is None or isinstance(stmt.node, cst.AugAssign):
        return _UNKNOWN
    code = cst.Module([]).code_for_node(value).strip()
    result = _run_isolated(f"__result__ = ({code})", names_read(code), frame)
    if isinstance(result, BaseException):
        return _UNKNOWN
    return result.get("__result__", _UNKNOWN)


# ----- running code on copies of the frame ----------------------------------------------------------------
def _copy(value):
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return value.clone()
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray):
        return value.copy()
    if isinstance(value, (list, dict, set)) and len(value) <= 10_000:
        try:
            return copy.deepcopy(value)
        except Exception:
            return value
    return value


class _RandomState:
    """Saves the random generators' states; every run starts from them and they are restored after."""

    def __enter__(self):
        torch, numpy = sys.modules.get("torch"), sys.modules.get("numpy")
        self.states = (random.getstate(), numpy.random.get_state() if numpy else None,
                       torch.get_rng_state() if torch else None)
        return self

    def reset(self):
        torch, numpy = sys.modules.get("torch"), sys.modules.get("numpy")
        random.setstate(self.states[0])
        if numpy is not None:
            numpy.random.set_state(self.states[1])
        if torch is not None:
            torch.set_rng_state(self.states[2])

    def __exit__(self, *exc):
        self.reset()


def _run_isolated(code: str, read: list[str], frame, rng: _RandomState | None = None):
    """exec `code` in a namespace holding copies of the names it reads; returns that namespace or the exception."""
    namespace = dict(frame.f_globals)
    for dotted in read:
        head = dotted.split(".")[0]
        if head in frame.f_locals:
            namespace[head] = _copy(frame.f_locals[head])
        elif head in frame.f_globals:
            namespace[head] = _copy(frame.f_globals[head])
    try:
        compiled = compile(code, "<what if>", "exec")
    except SyntaxError as exc:
        return exc
    state = rng or _RandomState()
    try:
        if rng is None:
            state.__enter__()
        state.reset()
        exec(compiled, namespace)
    except Exception as exc:                     # the changed line may fail: that is an answer
        return exc
    finally:
        if rng is None:
            state.__exit__()
    return namespace


# ----- what if ------------------------------------------------------------------------------------------------
SAME, VALUES, SHAPE, ERROR, GRAD, GONE = "same", "values", "shape", "error", "grad", "gone"
NEGATED, SCALED = "negated", "scaled"
_OUTCOME_TEXT = {
    SAME: "`{x}` would be exactly the same",
    VALUES: "`{x}` would have the same shape but other values (not just a sign flip or a rescaling)",
    "number": "`{x}` would be a different number (not just its sign flipped)",
    NEGATED: "`{x}` would be negated: the same numbers with opposite signs",
    SCALED: "`{x}` would be rescaled: every value multiplied by the same constant",
    SHAPE: "`{x}` would have a different shape",
    ERROR: "The line would raise an error",
    GRAD: "`{x}` would have the same values, but gradients would flow through it differently",
    GONE: "`{x}` would not exist: the next line that uses it fails",
}
_OUTCOME_MISCONCEPTION = {
    SAME: "a change that looks small can still change what is computed, or break the line",
    VALUES: "a change can keep every value yet still matter (gradients), change the shape, or fail outright",
    NEGATED: "only a sign change negates the result; other changes reshape the numbers themselves",
    "number": "a change can leave the number as it is, flip its sign, change its shape or fail",
    SCALED: "a constant factor rescales the result; most changes do more than that",
    SHAPE: "elementwise changes keep the shape; only reductions, indexing and broadcasting change it",
    ERROR: "most changes still run: Python and torch rarely stop a wrong computation",
    GRAD: "whether gradients flow depends on detach/no_grad, not on the values",
    GONE: "removing a line that only updates a variable leaves its previous value in place",
}


def _fault_variants(code: str):
    try:
        from ..practice import faults
    except ImportError:
        return []
    try:
        return list(faults.statement_mutations(code))
    except Exception:
        return []


def _compare(a, b) -> str:
    torch, numpy = sys.modules.get("torch"), sys.modules.get("numpy")
    if torch is not None and isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        if tuple(a.shape) != tuple(b.shape):
            return SHAPE
        with torch.no_grad():
            same = a.dtype == b.dtype and bool(torch.equal(a.detach(), b.detach())) or (
                a.is_floating_point() and b.is_floating_point()
                and bool(torch.allclose(a.detach(), b.detach(), rtol=1e-6, atol=1e-9, equal_nan=True)))
            if not same:
                return _relation(a.detach().double(), b.detach().double(), torch) if a.is_floating_point() \
                    and b.is_floating_point() else VALUES
        return GRAD if (a.requires_grad, a.grad_fn is None) != (b.requires_grad, b.grad_fn is None) else SAME
    if numpy is not None and isinstance(a, numpy.ndarray) and isinstance(b, numpy.ndarray):
        if a.shape != b.shape:
            return SHAPE
        try:
            return SAME if numpy.array_equal(a, b, equal_nan=True) else VALUES
        except TypeError:
            return SAME if numpy.array_equal(a, b) else VALUES
    if isinstance(a, (int, float, bool)) and isinstance(b, (int, float, bool)):
        return SAME if a == b or (a != a and b != b) else VALUES
    try:
        return SAME if type(a) is type(b) and a == b else VALUES
    except Exception:
        return VALUES


def _differences(a, b) -> str:
    """` 1 of 8 values differ.` for two tensors of one shape (where a change only matters somewhere)."""
    torch = sys.modules.get("torch")
    if torch is None or not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)) or a.shape != b.shape \
            or a.numel() < 2:
        return ""
    with torch.no_grad():
        differ = int((~torch.isclose(a.detach().double(), b.detach().double(), rtol=1e-6, atol=1e-9)).sum())
    return f" {differ} of {a.numel()} values differ." if differ else ""


def _relation(a, b, torch) -> str:
    """How b's values relate to a's: negated, rescaled by one constant, or otherwise different."""
    if a.numel() == 0 or not bool(torch.isfinite(a).all() and torch.isfinite(b).all()):
        return VALUES
    if bool(torch.allclose(b, -a, rtol=1e-5, atol=1e-8)) and bool((a.abs() > 1e-8).any()):
        return NEGATED
    mask = a.abs() > 1e-6
    if a.numel() > 1 and int(mask.sum()) >= 2 and bool((b[~mask].abs() < 1e-6).all()):
        factors = b[mask] / a[mask]
        factor = factors.flatten()[0]
        if bool(torch.allclose(factors, factor.expand_as(factors), rtol=1e-5)) and abs(float(factor) - 1) > 1e-6 \
                and abs(float(factor) + 1) > 1e-6 and abs(float(factor)) > 1e-6:
            return SCALED        # one factor for many values: a rescaling (for one number any change would be)
    return VALUES


def _runnable(stmt: Statement, index: SourceIndex) -> bool:
    """A statement we may run on copies: assignments to plain names, only calls without side effects."""
    node = stmt.node
    if stmt.effect not in (calls.PURE, calls.RANDOM):
        return False
    if isinstance(node, cst.Assign):
        return all(_plain_targets(t.target) for t in node.targets)
    if isinstance(node, cst.AugAssign):
        return isinstance(node.target, cst.Name)
    return False


def _plain_targets(target) -> bool:
    if isinstance(target, cst.Name):
        return True
    if isinstance(target, (cst.Tuple, cst.List)):
        return all(_plain_targets(e.value) for e in target.elements)
    return False


def _mutated_statement(code: str, index: SourceIndex, stmt: Statement) -> Statement | None:
    try:
        module = cst.parse_module(code + "\n")
    except cst.ParserSyntaxError:
        return None
    if len(module.body) != 1 or not isinstance(module.body[0], cst.SimpleStatementLine) or len(module.body[0].body) != 1:
        return None
    changed = Statement(module.body[0].body[0], stmt.line, stmt.end_line, stmt.function, code, stmt.block,
                        stmt.position, False)
    index.analyse(changed)
    return changed


def whatif_question(stmt: Statement, index: SourceIndex, frame, rng: random.Random) -> GeneratedQuestion | None:
    if stmt.compound or not _runnable(stmt, index):
        return None
    variants = _fault_variants(stmt.code)
    rng.shuffle(variants)
    targets = [w for w in stmt.writes if not w.startswith("<")]
    if not targets:
        return None
    with _RandomState() as state:
        original = _run_isolated(stmt.code, names_read(stmt.code), frame, state)
        if isinstance(original, BaseException) or targets[0] not in original:
            return None
        tried = []
        for fault, mutated in variants[:6]:
            x = targets[0]
            if mutated:
                changed = _mutated_statement(mutated, index, stmt)
                if changed is None or changed.effect not in (calls.PURE, calls.RANDOM) or not _runnable(changed, index):
                    continue                      # never run a changed line that could touch anything outside
                result = _run_isolated(mutated, names_read(mutated), frame, state)
                if isinstance(result, BaseException):
                    outcome, after = ERROR, result
                else:
                    x = _affected(targets, original, result)
                    if x not in result:
                        continue
                    outcome, after = _compare(original[x], result[x]), result[x]
            else:
                before = _value(frame, x)
                if before is None:
                    outcome, after = GONE, None
                else:
                    outcome, after = _compare(original[x], before), before
            if outcome == SAME:
                continue        # a real mistake that changes nothing only with this stop's values (a ratio of
                                # exactly 1 at the first minibatch, lastgaelam 0 at the last step): not a lesson
            tried.append((fault, mutated, outcome, after, x))
    if not tried:
        return None
    surprising = [t for t in tried if t[2] != VALUES]       # a plain "other values" is the least to learn from
    fault, mutated, outcome, after, x = rng.choice(surprising or tried)
    return _whatif(stmt, fault, mutated, x, outcome, original[x], after, rng)


def _affected(targets: list[str], original: dict, result: dict) -> str:
    """Of the variables a line assigns, the first one the change affects (`x_test` when only x_test's
    part of `x_train, x_test = ...` changed), else the first one."""
    for name in targets:
        if name in result and name in original and _compare(original[name], result[name]) != SAME:
            return name
    return targets[0]


def _whatif(stmt, fault, mutated, x, outcome, before, after, rng) -> GeneratedQuestion:
    tensorish = isinstance(before, _array_types()) if _array_types() else False
    pool = [SAME, VALUES, SHAPE, ERROR] if mutated else [SAME, VALUES, GONE]
    scalar = tensorish and getattr(before, "numel", lambda: 0)() == 1
    if scalar and outcome == VALUES:
        outcome = "number"
    if tensorish and outcome in (NEGATED, SCALED, VALUES, SAME, "number"):
        middle = [NEGATED, "number"] if scalar else [NEGATED, SCALED, VALUES]
        pool = [SAME, *middle] + ([SHAPE] if mutated else [GONE])
    if tensorish and mutated and (outcome == GRAD or getattr(before, "requires_grad", False)):
        pool.append(GRAD)
    if outcome not in pool:
        pool.append(outcome)
    texts = {o: _OUTCOME_TEXT[o].format(x=x) for o in pool}
    choices = [texts[o] for o in pool]
    rng.shuffle(choices)
    right = texts[outcome]
    if mutated:
        same = " ".join(fault.title.split()) == " ".join(mutated.split())
        change = f"changed to\n\n{_indent(mutated)}\n\n" + ("" if same else f"({fault.title})")
        prompt = (f"What if line {stmt.line}{_where(stmt)} were {change.rstrip()}? With the values of this stop, "
                  f"what would happen to `{x}`?")
    else:
        prompt = (f"What if line {stmt.line}{_where(stmt)} were removed ({fault.title})? With the values of this "
                  f"stop, what would `{x}` be afterwards?")
    shown_after = f"{type(after).__name__}: {after}" if isinstance(after, BaseException) else values.describe(after)
    explain = (f"Ran on copies of this frame's values: with the real line, {x} = {values.describe(before)}; "
               f"{'changed' if mutated else 'without it'}: {shown_after}.{_differences(before, after)} "
               f"The mistake it stands for: {fault.misconception}")
    return GeneratedQuestion(
        id="", kind="choice", prompt=prompt, answer=right, choices=choices,
        misconceptions={texts[o]: _OUTCOME_MISCONCEPTION[o] for o in pool if o != outcome},
        line=stmt.line, end_line=stmt.end_line, source="whatif", code=stmt.code, explain=explain,
        score=4.0, subject=x, verified="answered by running both versions on copies of the paused frame's values")


# ----- loop count -----------------------------------------------------------------------------------------
_LOOP_CALLS = {"range", "reversed", "len", "enumerate", "zip"}


def loop_count_question(stmt: Statement, frame, shown=()) -> GeneratedQuestion | None:
    if not isinstance(stmt.node, cst.For):
        return None
    iter_code = cst.Module([]).code_for_node(stmt.node.iter).strip()
    try:
        tree = probe.parse(iter_code, mode="eval")
    except SyntaxError:
        return None
    for sub in ast.walk(tree):
        if isinstance(sub, ast.Call) and not (isinstance(sub.func, ast.Name) and sub.func.id in _LOOP_CALLS):
            return None                          # never call the program's own functions to count
    read = [n for n in names_read(iter_code) if n not in _LOOP_CALLS]
    if not read or any(n not in shown for n in read):
        return None
    result = _run_isolated(f"__result__ = len(list({iter_code}))", read, frame)
    if isinstance(result, BaseException):
        return None
    count = result["__result__"]
    return GeneratedQuestion(
        id="", kind="value", prompt=f"How many times will the body of the loop on line {stmt.line} run?",
        answer=str(count), line=stmt.line, source="loop_count", code=stmt.code, score=2.0,
        explain=f"len(list({iter_code})) = {count}", verified="counted in the paused frame, on copies of its values")


def questions_at(stmt: Statement, index: SourceIndex, frame, rng: random.Random, authored=(), shown=()) -> list:
    out = []
    for make in (lambda: prediction(stmt, index, frame, authored, shown),
                 lambda: whatif_question(stmt, index, frame, rng),
                 lambda: loop_count_question(stmt, frame, shown)):
        q = make()
        if q is not None:
            out.append(q)
    return out
