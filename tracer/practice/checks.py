"""Value checks at a stop, in the style of UMLAUT and AutoTrainer: is something numerically wrong here?

`check_frame(frame, statement)` looks at the paused frame's tensors (and the operands of the
statement about to run) and returns Flags:

    nan-inf              a tensor holds NaN or inf
    huge-values          a tensor's values reach 1e6: on the way to overflow
    loss-without-grad    a loss with no gradient while autograd is in use: backward() fails or trains nothing
    unexpected-grad      a target or stored rollout tensor requires grad: gradient flows into data
    broadcast-n1-n       an [N, 1] and an [N] tensor combined in the statement: broadcasts to [N, N]
    probs-not-normalised probabilities whose last dimension does not sum to 1
    logits-as-probs      "probabilities" outside [0, 1] (or log-probabilities above 0)
    exploding-grad       gradient norm above 1e3
    vanishing-grad       every gradient nearly zero, or one layer's gradient 1000 times smaller than another's
    params-without-grad  after backward(), some of a model's parameters got a gradient and others none
    ratio-not-positive   a probability ratio with values <= 0: a log-ratio used as the ratio?
    flat-output          a network's outputs (logits) hardly vary across the batch: it ignores its input
    entropy-collapse     a policy's mean entropy near 0: it became deterministic
    kl-too-large         an update moved the policy by more than 0.5 nats of KL (PPO aims at ~0.01)
    negative-mse         a squared-error loss below 0
    inverted-mask        a "not done" mask that is 0 for most transitions: done used where 1 - done belongs?
    not-optimised        a model's parameters that no optimiser in the frame updates
    frozen-params        (watching a whole run) trainable parameters that do not change for 64
                         executions of a step: the update never reaches them
    dead-relu            most units of a ReLU activation are 0 for every example of the batch

Checks only read values: no call of the learner's code, so checking never changes the run. The
thresholds are set so that the healthy reference runs raise no flag (tests/test_checks.py).
"""
from __future__ import annotations

import ast
import math
import re
import sys
import types
from dataclasses import dataclass

HUGE = 1e6
EXPLODING_GRAD = 1e3
VANISHING_GRAD = 1e-7
LAYER_RATIO = 1e-3
FLAT_OUTPUT = 1e-4
ENTROPY_COLLAPSE = 0.05
KL_TOO_LARGE = 0.5
FROZEN_AFTER = 64
DEAD_FRACTION = 0.5

_LOSS = re.compile(r"(?i)(\w+_)?loss(es)?")
_DATA = re.compile(r"(?i)(b_|mb_)?(obs|observations?|actions?|logprobs?|log_probs?|rewards?|dones?|values|returns?|"
                   r"advantages?|targets?|labels?)")
_PROBS = re.compile(r"(?i)(\w+_)?(probs|probabilities|probas?|softmax)")
_LOG_PROBS = re.compile(r"(?i)(\w+_)?(log_?probs?|logp|log_?softmax)(_\w+)?")
# hand-written backprop: dW, db, dx, dz, da, dlogits, dWs, ... and grad(s)
_ENTROPY = re.compile(r"(?i)(\w+_)?entrop(y|ies)(_loss)?")
_KL = re.compile(r"(?i)(approx_|old_approx_)?kl(_div\w*)?")
_MSE = re.compile(r"(?i)(v|value|vf|critic)_loss|mse(_loss)?|\w*squared_error")
_NOT_DONE = re.compile(r"(?i)(next_?)?non_?terminals?|(next_?)?not_?dones?")
_OUTPUT = re.compile(r"(?i)(\w+_)?(logits|outputs?|scores|preds?|predictions)")
_RATIO = re.compile(r"(?i)(\w+_)?ratios?")
_HAND_GRAD = re.compile(r"d(W|w|b|x|z|a|h|y|logits|outputs?|probs|scores|inputs?|hidden)s?\d*|grads?|\w+_grads?|gradients?")


@dataclass(frozen=True)
class Flag:
    check: str        # which check ("nan-inf", ...)
    name: str         # the variable or expression it is about
    message: str      # what is wrong and what it usually means


def _torch():
    return sys.modules.get("torch")


def _tensors(name: str, value, torch, depth: int = 0):
    """(name, tensor) pairs in a value: the tensor itself, or the tensors in a list/tuple/dict (two levels)."""
    if isinstance(value, torch.Tensor):
        yield name, value
    elif depth < 2 and isinstance(value, (list, tuple)) and len(value) <= 64:
        for i, item in enumerate(value):
            yield from _tensors(f"{name}[{i}]", item, torch, depth + 1)
    elif depth < 2 and isinstance(value, dict) and len(value) <= 64:
        for key, item in value.items():
            yield from _tensors(f"{name}[{key!r}]", item, torch, depth + 1)


def _floating(t) -> bool:
    return t.is_floating_point() and t.numel() > 0


def check_values(values: dict[str, object], statement: str = "", frame=None) -> list[Flag]:
    """Flags for a dict of named values (a frame's locals, or recorded values)."""
    torch = _torch()
    if torch is None:
        return []
    flags: list[Flag] = []
    autograd = any(isinstance(v, (torch.nn.Module, torch.optim.Optimizer)) for v in values.values())
    modules = [(n, v) for n, v in values.items() if isinstance(v, torch.nn.Module)]
    with torch.no_grad():
        for name, value in values.items():
            if name.startswith("__"):
                continue
            for label, t in _tensors(name, value, torch):
                flags += _tensor_flags(label, t, torch, autograd)
            for label, t in _held_tensors(name, value, torch):      # a model's weights, an optimiser's state
                flags += [f for f in _tensor_flags(label, t, torch, False) if f.check in ("nan-inf", "huge-values")]
        flags += _grad_flags(values, modules, torch)
        flags += _not_optimised_flags(values, torch)
        if statement:
            flags += _broadcast_flags(statement, values, frame, torch)
    seen, unique = set(), []
    for flag in flags:
        if (flag.check, flag.name) not in seen:
            seen.add((flag.check, flag.name))
            unique.append(flag)
    return unique


def check_frame(frame: types.FrameType, statement: str = "") -> list[Flag]:
    """Flags for the paused frame's local variables and the operands of `statement` (the line about to run)."""
    return check_values(_frame_values(frame), statement, frame)


def tensors_in_frame(frame: types.FrameType) -> int:
    """How many tensors `check_frame` looks at here (0: nothing to check yet, e.g. before the model exists)."""
    torch = _torch()
    if torch is None:
        return 0
    return sum(1 for name, value in _frame_values(frame).items() if not name.startswith("__")
               for _ in [*_tensors(name, value, torch), *_held_tensors(name, value, torch)])


def _frame_values(frame: types.FrameType) -> dict:
    values = dict(frame.f_locals)
    torch = _torch()
    if torch is not None and not any(isinstance(v, (torch.nn.Module, torch.optim.Optimizer)) for v in values.values()):
        # a training loop at module level keeps its model in globals
        for name, value in frame.f_globals.items():
            if isinstance(value, (torch.nn.Module, torch.optim.Optimizer)) and name not in values:
                values[name] = value
    return values


def _held_tensors(name: str, value, torch):
    """Tensors an object holds: an nn.Module's parameters, a plain object's tensor attributes (one level)."""
    if isinstance(value, torch.nn.Module):
        for pname, param in value.named_parameters():
            yield f"{name}.{pname}", param
    elif (hasattr(value, "__dict__") and not isinstance(value, (type, types.ModuleType, types.FunctionType,
                                                                  types.MethodType))
          and not isinstance(value, torch.Tensor) and type(value).__module__.split(".")[0] not in
          ("torch", "numpy", "gymnasium", "builtins", "argparse", "collections", "csv", "pathlib", "io", "_io")):
        for attr, item in list(vars(value).items())[:32]:
            yield from _tensors(f"{name}.{attr}", item, torch)


def _tensor_flags(name: str, t, torch, autograd: bool) -> list[Flag]:
    flags = []
    short = name.rsplit(".", 1)[-1].split("[", 1)[0]
    if _floating(t):
        finite = torch.isfinite(t)
        if not bool(finite.all()):
            bad = int((~finite).sum())
            kind = "NaN" if bool(torch.isnan(t).any()) else "inf"
            flags.append(Flag("nan-inf", name, f"{bad} of {t.numel()} values are NaN or inf (first kind seen: {kind}); "
                                                "every result computed from it will be too"))
        elif float(t.abs().max()) >= HUGE:
            flags.append(Flag("huge-values", name, f"values reach {float(t.abs().max()):.3g}: a step size or "
                                                    "gradient this large is on its way to overflow (inf, then NaN)"))
    if autograd and _LOSS.fullmatch(short) and _floating(t) and t.numel() == 1 and not t.requires_grad:
        flags.append(Flag("loss-without-grad", name, "this loss has no gradient (requires_grad=False): backward() "
                                                     "will fail or train nothing. Was it computed under torch.no_grad(), "
                                                     "from detached tensors, or from .item() values?"))
    if _DATA.fullmatch(short) and t.requires_grad:
        flags.append(Flag("unexpected-grad", name, "data or a learning target requires grad: gradient will flow "
                                                   "into it (a missing torch.no_grad() or .detach()), and a second "
                                                   "backward through its graph fails"))
    if _floating(t) and t.dim() >= 1 and not _LOG_PROBS.fullmatch(short) and _PROBS.fullmatch(short):
        low, high = float(t.min()), float(t.max())
        if low < -1e-6 or high > 1 + 1e-6:
            flags.append(Flag("logits-as-probs", name, f"'probabilities' range over [{low:.3g}, {high:.3g}], outside "
                                                       "[0, 1]: these look like logits or log-probabilities"))
        elif t.shape[-1] > 1:
            sums = t.sum(dim=-1)
            worst = float((sums - 1).abs().max())
            if worst > 1e-3:
                flags.append(Flag("probs-not-normalised", name, f"rows along the last dimension sum to "
                                                                f"{float(sums.min()):.4g}..{float(sums.max()):.4g}, not 1: "
                                                                "a softmax over the wrong dimension?"))
    if _floating(t) and _OUTPUT.fullmatch(short) and t.dim() == 2 and t.shape[0] >= 4 and bool(torch.isfinite(t).all()):
        spread = float(t.std(dim=0).max())
        if spread < FLAT_OUTPUT:
            flags.append(Flag("flat-output", name, f"the outputs hardly vary across the {t.shape[0]} examples (largest "
                                                   f"std {spread:.2g}): the network's answer ignores its input. "
                                                   "Vanishing activations (too small an init, dead units)?"))
    if _floating(t) and _ENTROPY.fullmatch(short) and bool(torch.isfinite(t).all()) and float(t.mean()) < ENTROPY_COLLAPSE:
        flags.append(Flag("entropy-collapse", name, f"the policy's mean entropy is {float(t.mean()):.3g} nats: it has "
                                                    "become (almost) deterministic and stopped exploring. A sign "
                                                    "error that pushes the policy the wrong way, or too large a step?"))
    if _floating(t) and _KL.fullmatch(short) and t.numel() == 1 and float(t) > KL_TOO_LARGE:
        flags.append(Flag("kl-too-large", name, f"KL {float(t):.3g} nats between the old and the new policy in one "
                                                "update (PPO keeps it near 0.01): the update moves the policy far from "
                                                "the data it learns from. Clip, ratio or sign wrong, or the step too large?"))
    if _floating(t) and _MSE.fullmatch(short) and t.numel() == 1 and float(t) < 0:
        flags.append(Flag("negative-mse", name, f"a squared-error loss of {float(t):.3g}: squares cannot sum to less "
                                                "than 0. Is the loss negated?"))
    if _floating(t) and _NOT_DONE.fullmatch(short) and t.numel() >= 4 and float(t.mean()) < 0.5:
        flags.append(Flag("inverted-mask", name, f"this 'not done' mask is 1 for only {float(t.mean()):.0%} of the "
                                                 "transitions: more than half of them would end an episode. Is it the "
                                                 "done flag itself (done where 1 - done belongs)?"))
    if _floating(t) and _RATIO.fullmatch(short) and float(t.min()) <= 0:
        flags.append(Flag("ratio-not-positive", name, f"a probability ratio is always > 0, this one reaches "
                                                      f"{float(t.min()):.3g}: a log-ratio used as the ratio (exp missing)?"))
    if _floating(t) and _LOG_PROBS.fullmatch(short) and float(t.max()) > 1e-5:
        flags.append(Flag("logits-as-probs", name, f"log-probabilities must be <= 0, these reach {float(t.max()):.3g}: "
                                                   "logits (or probabilities) where log-probabilities are expected?"))
    if _floating(t) and t.dim() == 2 and t.shape[0] >= 8 and t.shape[1] >= 4 and not t.requires_grad:
        flags += _dead_relu(name, t, torch)
    return flags


def _dead_relu(name: str, t, torch) -> list[Flag]:
    """A ReLU activation: non-negative, continuous (not a 0/1 mask), some positive; most columns all zero."""
    if float(t.min()) != 0.0 or float(t.max()) <= 0.0:
        return []
    if bool(((t == 0) | (t == 1)).all()):
        return []
    dead = int((t == 0).all(dim=0).sum())
    if dead / t.shape[1] < DEAD_FRACTION:
        return []
    return [Flag("dead-relu", name, f"{dead} of {t.shape[1]} units are 0 for every one of the {t.shape[0]} examples: "
                                    "a dead ReLU layer passes no gradient to them (too large a step, bad init or bias?)")]


def _grad_flags(values: dict, modules, torch) -> list[Flag]:
    flags = []
    for name, module in modules:
        params = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        grads = [(n, p.grad) for n, p in params if p.grad is not None]
        if not grads:
            continue
        norm = math.sqrt(sum(float(g.double().pow(2).sum()) for _, g in grads))
        flags += _norm_flag(f"{name} (parameters' .grad)", norm)
        without = [n for n, p in params if p.grad is None or not bool(p.grad.any())]
        if without and len(without) < len(params) and norm > 0:
            shown = ", ".join(without[:4]) + (f" and {len(without) - 4} more" if len(without) > 4 else "")
            flags.append(Flag("params-without-grad", name, f"{len(without)} of {len(params)} parameters got no "
                                                           f"gradient while the others did: {shown}. Is a loss term "
                                                           "detached, computed under no_grad, or left out of the loss?"))
    for name, value in values.items():
        if not _HAND_GRAD.fullmatch(name.lstrip("_")):
            continue
        tensors = [t for _, t in _tensors(name, value, torch) if _floating(t)]
        if not tensors or any(not bool(torch.isfinite(t).all()) for t in tensors):
            continue                       # NaN/inf is flagged already
        norm = math.sqrt(sum(float(t.double().pow(2).sum()) for t in tensors))
        flags += _norm_flag(name, norm)
        if isinstance(value, (list, tuple)):
            flags += _layer_ratio_flag(name, [(f"{name}[{i}]", t) for i, t in enumerate(value)
                                              if isinstance(t, torch.Tensor) and _floating(t) and t.dim() >= 2])
    return flags


def _layer_ratio_flag(name: str, grads) -> list[Flag]:
    """One layer's weight gradient 1000 times smaller than another's: the signal vanishes on its way back."""
    norms = [(n, math.sqrt(float(g.double().pow(2).sum()))) for n, g in grads]
    if len(norms) < 2:
        return []
    low, high = min(norms, key=lambda x: x[1]), max(norms, key=lambda x: x[1])
    if high[1] > 0 and low[1] / high[1] < LAYER_RATIO:
        return [Flag("vanishing-grad", name, f"the gradient of {low[0]} (norm {low[1]:.3g}) is "
                                             f"{high[1] / max(low[1], 1e-300):.3g} times smaller than that of {high[0]} "
                                             f"({high[1]:.3g}): the signal vanishes on its way back (tiny init, "
                                             "dead units, a missing gradient path?)")]
    return []


def _norm_flag(name: str, norm: float) -> list[Flag]:
    if not math.isfinite(norm):
        return []
    if norm > EXPLODING_GRAD:
        return [Flag("exploding-grad", name, f"gradient norm {norm:.3g}: exploding gradients make huge, erratic "
                                             "steps (learning rate too high, a missing 1/N, no gradient clipping?)")]
    if norm < VANISHING_GRAD:
        return [Flag("vanishing-grad", name, f"gradient norm {norm:.3g}: (almost) nothing flows back, the "
                                             "parameters cannot learn (detached loss, dead units, tiny init?)")]
    return []


# ----- operands of the statement about to run ---------------------------------------------------------
def _safe(node: ast.AST) -> bool:
    """An expression that reading cannot change: names, attributes, subscripts, constants, slices."""
    if isinstance(node, (ast.Name, ast.Constant)):
        return True
    if isinstance(node, ast.Attribute):
        return _safe(node.value)
    if isinstance(node, ast.Subscript):
        return _safe(node.value) and _safe(node.slice)
    if isinstance(node, ast.Slice):
        return all(part is None or _safe(part) for part in (node.lower, node.upper, node.step))
    if isinstance(node, ast.Tuple):
        return all(_safe(e) for e in node.elts)
    if isinstance(node, ast.UnaryOp):
        return _safe(node.operand)
    if isinstance(node, ast.BinOp):
        return _safe(node.left) and _safe(node.right)
    return False


def _operand_pairs(statement: str):
    for candidate in (statement, statement.rstrip().rstrip(":") + ":\n    pass"):
        try:
            tree = ast.parse(candidate)
            break
        except SyntaxError:
            continue
    else:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)):
            yield node.left, node.right
        elif isinstance(node, ast.Compare) and len(node.comparators) == 1:
            yield node.left, node.comparators[0]


def _broadcast_flags(statement: str, values: dict, frame, torch) -> list[Flag]:
    flags = []
    namespace = dict(frame.f_globals) if frame is not None else {}
    namespace.update(values)
    for left, right in _operand_pairs(statement):
        if not (_safe(left) and _safe(right)):
            continue
        operands = []
        for node in (left, right):
            try:
                operands.append(eval(compile(ast.Expression(node), "<check>", "eval"), {"__builtins__": {}}, namespace))
            except Exception:
                break
        if len(operands) != 2 or not all(isinstance(o, torch.Tensor) for o in operands):
            continue
        a, b = operands
        shapes = sorted([tuple(a.shape), tuple(b.shape)], key=len)
        if len(shapes[0]) == 1 and len(shapes[1]) == 2 and shapes[1][1] == 1 and shapes[0][0] == shapes[1][0] > 1:
            n = shapes[0][0]
            flags.append(Flag("broadcast-n1-n", f"{ast.unparse(left)} and {ast.unparse(right)}",
                              f"shapes {tuple(a.shape)} and {tuple(b.shape)} broadcast to ({n}, {n}): every row is "
                              "combined with every other row. Flatten the column (reshape(-1)) or add the missing dim"))
    return flags


# ----- watching a whole run: parameters that never change ------------------------------------------------
def _optimisers(values: dict, torch) -> list:
    """torch optimisers and hand-written ones (an object with a `params` list and a `step` method)."""
    return [v for v in values.values() if isinstance(v, torch.optim.Optimizer)
            or (callable(getattr(v, "step", None)) and isinstance(getattr(v, "params", None), list))]


def _optimised(optimiser, torch) -> list:
    if isinstance(optimiser, torch.optim.Optimizer):
        return [p for group in optimiser.param_groups for p in group["params"]]
    return [p for p in optimiser.params if isinstance(p, torch.Tensor)]


def _model_tensors(name: str, value, torch):
    """A model's trainable tensors: an nn.Module's parameters, or a hand-written model's (an object with a
    `forward` method) tensors held in its attributes."""
    if isinstance(value, torch.nn.Module):
        for pname, param in value.named_parameters():
            if param.requires_grad:
                yield f"{name}.{pname}", param
    elif callable(getattr(value, "forward", None)) and hasattr(value, "__dict__") and not isinstance(value, type):
        for attr, item in vars(value).items():
            yield from _tensors(f"{name}.{attr}", item, torch)


def _not_optimised_flags(values: dict, torch) -> list[Flag]:
    """Parameters of a model that no optimiser in sight updates (an optimiser built from part of the model)."""
    optimisers = _optimisers(values, torch)
    if not optimisers:
        return []
    updated = {id(p) for o in optimisers for p in _optimised(o, torch)}
    for name, value in values.items():
        missing = [label for label, t in _model_tensors(name, value, torch) if id(t) not in updated]
        if missing and len(missing) < sum(1 for _ in _model_tensors(name, value, torch)):
            shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
            return [Flag("not-optimised", name, f"{len(missing)} of the model's parameter tensors are in no "
                                                f"optimiser's list, so they are never updated: {shown}")]
    return []


def _caller_values(frame, depth: int = 6) -> dict:
    """The frame's locals, then those of its callers (the training loop that holds the model and optimiser)."""
    values: dict = {}
    f = frame
    for _ in range(depth):
        if f is None:
            break
        for name, value in f.f_locals.items():
            values.setdefault(name, value)
        f = f.f_back
    return values


class ParameterMemory:
    """Remembers trainable parameters at a step's first check; at its executions from FROZEN_AFTER on, flags those
    that are still equal: the update never reaches them (AutoTrainer's 'weights not updated'). Trainable means
    an nn.Module parameter that gets a .grad, or a hand-written model's tensor while a hand-written optimiser is
    in the frame or its callers; only where gradients are on (torch's grad mode), so an evaluation under no_grad,
    where weights rightly stay put, is never flagged."""

    def __init__(self):
        self.first: dict[tuple[str, str], object] = {}

    def _trainable(self, values: dict, torch):
        hand_written = any(not isinstance(o, torch.optim.Optimizer) for o in _optimisers(values, torch))
        for name, value in values.items():
            if isinstance(value, torch.nn.Module):
                for label, param in _model_tensors(name, value, torch):
                    if param.grad is not None:
                        yield label, param
            elif hand_written:
                yield from _model_tensors(name, value, torch)

    def frozen(self, frame, step_id: str, hit: int) -> list[Flag]:
        torch = _torch()
        if torch is None or not torch.is_grad_enabled():    # under no_grad (a rollout, an evaluation) nothing trains
            return []
        flags = []
        with torch.no_grad():
            for name, param in self._trainable(_caller_values(frame), torch):
                key = (step_id, name)
                if key not in self.first:
                    self.first[key] = param.detach().clone()
                elif hit >= FROZEN_AFTER and torch.equal(self.first[key], param.detach()):
                    flags.append(name)
        if not flags:
            return []
        shown = ", ".join(flags[:4]) + (f" and {len(flags) - 4} more" if len(flags) > 4 else "")
        return [Flag("frozen-params", shown, f"{len(flags)} trainable parameter tensor(s) are exactly as they were "
                                             f"{hit - 1} executions of this step ago: the optimiser step never "
                                             "changes them (no step() call, a learning rate of 0, not in the "
                                             "optimiser's list?)")]


# ----- a whole run with checks at every stop of a tour --------------------------------------------------
def run_checked(walkthrough_name: str, repo: str | None, argv: list[str], script: str | None = None,
                run_dir: str | None = None, watch: bool = False) -> dict:
    """Run a walkthrough's first script with `argv` (then, given the run_dir its --out-dir names, the tour's
    other scripts) and check the frame at each step: where a tour stops (each step once, at its hit), or with
    `watch` at every step's executions 1, 2, 4, 8, ... (a watchdog over the whole run, as AutoTrainer does).
    Returns {"stops": {"step id" or "step id#hit": [flag dicts]}, "error": ...} (in a subprocess: see main)."""
    from pathlib import Path

    from .. import spec
    from ..engine.stops import CONTINUE, Engine, StopPoint

    walkthrough = spec.load(spec.find(walkthrough_name), repo=repo)
    results: dict[str, list[dict]] = {}

    class Client:
        def user_stop(self, frame, point):
            step = point.key
            results[step.id] = [flag.__dict__ for flag in check_frame(frame, step.code)]
            return CONTINUE

        def user_line(self, frame):
            return CONTINUE

        def user_after(self, frame, point):
            pass

    class Watchdog(Engine):
        """Checks at every step's executions 1, 2, 4, 8, ...: cheap (log-many checks), never stops."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.memory = ParameterMemory()

        def gate(self, k: int):
            self.hits[k] += 1
            hit = self.hits[k]
            if hit & (hit - 1):
                return None
            step = self.points[k].key
            frame = sys._getframe(1)
            flags = check_frame(frame, step.code) + self.memory.frozen(frame, step.id, hit)
            if flags:
                results[f"{step.id}#{hit}"] = [flag.__dict__ for flag in flags]
            return None

    points = [StopPoint(str(step.path), step.line, key=step, hit=step.hit, every=step.every, when=step.when,
                        optional=step.optional) for step in walkthrough.steps
              if not step.stale]            # on a copy, a step whose code is gone (a removed statement) cannot stop
    engine = (Watchdog if watch else Engine)(points, walkthrough.repo_dir, Client())
    error = None
    runs = [(script or walkthrough.runs[0].script, list(argv))]
    if script is None and run_dir is not None:      # the tour's later scripts (eval.py) on the checkpoint
        runs += [(e.script, [a.replace("{run_dir}", str(run_dir)) for a in e.args]) for e in walkthrough.runs[1:]]
    for name, args in runs:
        try:
            engine.run_script(Path(walkthrough.repo_dir) / name, args)
        except SystemExit as exc:
            if exc.code not in (None, 0):
                error = f"{name}: exit {exc.code}"
        except Exception as exc:
            error = f"{name}: {exc.__class__.__name__}: {exc}"
        if error:
            break
    return {"stops": results, "error": error}


def run_checked_subprocess(walkthrough_name: str, repo: Path | str | None, argv: list[str], *,
                           timeout: float = 600, watch: bool = False) -> dict:
    """run_checked in a fresh Python process (the program's imports, threads and globals stay there).
    The script's outputs go to a temporary folder (`--out-dir`)."""
    import json
    import os
    import subprocess
    import tempfile
    from pathlib import Path

    project = str(Path(__file__).resolve().parents[2])
    with tempfile.TemporaryDirectory(prefix="walkthrough-checks-") as tmp:
        out = Path(tmp) / "flags.json"
        command = [sys.executable, "-m", "tracer.practice.checks", walkthrough_name, "--out", str(out)]
        if watch:
            command.append("--watch")
        if repo is not None:
            command += ["--repo", str(repo)]
        command += ["--run-dir", str(Path(tmp) / "run"), "--", *argv, "--out-dir", str(Path(tmp) / "run")]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0",
               "PYTHONPATH": os.pathsep.join(p for p in (project, os.environ.get("PYTHONPATH")) if p)}
        try:
            proc = subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"stops": {}, "error": f"timed out after {timeout:.0f} s"}
        if not out.is_file():
            return {"stops": {}, "error": (proc.stderr or proc.stdout).strip()[-500:] or f"exit {proc.returncode}"}
        return json.loads(out.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    """python -m tracer.practice.checks WALKTHROUGH [--repo DIR] -- ARGS: print the flags of every stop as JSON."""
    import argparse
    import json

    argv = list(sys.argv[1:] if argv is None else argv)
    program: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, program = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(prog="python -m tracer.practice.checks", description=main.__doc__)
    parser.add_argument("walkthrough")
    parser.add_argument("--repo")
    parser.add_argument("--out", help="write the JSON here instead of stdout")
    parser.add_argument("--run-dir", help="the --out-dir given in ARGS: then the tour's other scripts run too")
    parser.add_argument("--watch", action="store_true", help="check every step at its executions 1, 2, 4, 8, ...")
    args = parser.parse_args(argv)
    result = run_checked(args.walkthrough, args.repo, program, run_dir=args.run_dir, watch=args.watch)
    text = json.dumps(result)
    if args.out:
        from pathlib import Path
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
