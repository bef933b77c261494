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
    loss-not-falling     (watching a whole run) a loss seen at one step over the run: the median of its
                         last quarter of values is not at least 10 % below the median of its first quarter
                         (at least 8 values; each quarter at least 2). Only losses against fixed targets,
                         which training should bring down: a frame that also holds rewards or advantages
                         (reinforcement learning, where the targets move as the agent improves and the
                         policy loss has no reason to fall) is never judged. Judged when the run ends
                         cleanly, at the step's last execution.
    return-not-rising    (watching a whole run) an episode's score that reinforcement learning maximises (a
                         float named episodic_return, mean_reward, ...), seen at one step over the run: the
                         median of its last quarter is not above the median of its first eighth (at least 2
                         values) by 10 % of that value (at least 8 values): the agent does not get better.
    critic-not-learning  (watching a whole run) a value function's predictions beside its targets (tensors
                         named values / b_values and returns / b_returns, same size): the explained variance
                         1 - Var(returns - values) / Var(returns), the diagnostic PPO implementations log,
                         has a median below 0.1 over the last quarter of the run (at least 8 values) at
                         every step that sees both: the critic predicts the returns no better than their
                         mean. Judged at the step where it is best, so a step that sees this rollout's values
                         beside the last rollout's returns cannot raise it.
    train-test-gap       (watching a whole run) a score seen at one step as train_X beside test_X (or
                         valid_X / val_X), where X names an accuracy or score (at most 1): over the last
                         quarter of the run (at least 8 values) the held-out score is, in the median, more
                         than 0.25 below the training score. The model does not carry what it learned to
                         data it has not seen: overfitting, or the two sets are prepared differently.

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
LOSS_MIN_VALUES = 8
LOSS_MIN_DROP = 0.10
SCORE_GAP = 0.25
CRITIC_MIN_EV = 0.1

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
_TRAIN_SCORE = re.compile(r"(?i)train_(\w*(acc|accuracy|score|r2))")
_EPISODE_SCORE = re.compile(r"(?i)(\w+_)?(episodic|episode|mean|avg|average)_?(returns?|rewards?)")
_VALUE_PREDS = re.compile(r"(?i)(b_|mb_)?values")
_RL_TARGETS = re.compile(r"(?i)\w*(rewards?|advantages?)")
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


RUN_CHECKS = ("loss-not-falling", "return-not-rising", "critic-not-learning", "train-test-gap")
"""The checks RunTrends judges once a watched run has ended (over the whole run, not at one execution)."""


class RunTrends:
    """Records, at every execution of a step, the losses and scores its frame holds (floats or one-element
    tensors), then judges at the end of a run whether each loss fell (loss-not-falling, AutoTrainer's 'loss
    not decreasing') and whether held-out scores keep up with training scores (train-test-gap). Losses in a
    frame with rewards or advantages among its variables are not recorded: in reinforcement learning the
    targets move as the agent improves and a policy or value loss may rightly rise. Cheap: which names to
    read is decided once per step from the code's variable names."""

    def __init__(self):
        self.names: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {}
        self.series: dict[tuple[str, str], list[float]] = {}
        self.gaps: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
        self.scores: dict[tuple[str, str], list[float]] = {}
        self.explained: dict[str, list[float]] = {}
        self.seen: dict[str, tuple] = {}
        self.last_hit: dict[str, int] = {}

    def _names(self, frame):
        code = frame.f_code            # a training loop at module level keeps its variables in co_names
        variables = code.co_names if code.co_name == "<module>" else code.co_varnames + code.co_cellvars
        rl = any(_RL_TARGETS.fullmatch(v) for v in variables)
        losses = () if rl else tuple(v for v in variables if _LOSS.fullmatch(v))
        pairs = []
        for v in variables:
            match = _TRAIN_SCORE.fullmatch(v)
            if match:
                pairs += [(v, held) for held in (f"{prefix}_{match.group(1)}" for prefix in ("test", "valid", "val"))
                          if held in variables]
        scores = tuple(v for v in variables if _EPISODE_SCORE.fullmatch(v))
        critic = tuple((v, v[:-len("values")] + "returns") for v in variables
                       if _VALUE_PREDS.fullmatch(v) and v[:-len("values")] + "returns" in variables)
        return losses, tuple(pairs), scores, critic

    def observe(self, frame, step_id: str, hit: int) -> None:
        names = self.names.get(step_id)
        if names is None:
            names = self.names[step_id] = self._names(frame)
        losses, pairs, scores, critic = names
        if not losses and not pairs and not scores and not critic:
            return
        local = frame.f_locals
        for name in losses:
            value = _scalar(local.get(name))
            if value is not None:
                self.series.setdefault((step_id, name), []).append(value)
        for train, held in pairs:
            a, b = _scalar(local.get(train)), _scalar(local.get(held))
            if a is not None and b is not None and a <= 1 and b <= 1:
                self.gaps.setdefault((step_id, train, held), []).append((a, b))
        for name in scores:                 # plain numbers only: not a vector of returns being summed up
            value = local.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                self.scores.setdefault((step_id, name), []).append(float(value))
        for values_name, returns_name in critic[:1]:
            self._explained_variance(step_id, local.get(values_name), local.get(returns_name))
        self.last_hit[step_id] = hit

    def _explained_variance(self, step_id: str, values, returns) -> None:
        torch = _torch()
        if torch is None or not all(isinstance(t, torch.Tensor) and t.is_floating_point() for t in (values, returns)):
            return
        if values.numel() != returns.numel() or values.numel() < 8:
            return
        key = (id(values), values._version, id(returns), returns._version)
        if self.seen.get(step_id) == key:          # the same tensors as at this step's last execution
            return
        self.seen[step_id] = key
        with torch.no_grad():
            r, v = returns.reshape(-1).double(), values.reshape(-1).double()
            spread = float(r.var())
            if spread > 0 and math.isfinite(spread):
                self.explained.setdefault(step_id, []).append(1 - float((r - v).var()) / spread)

    def flags(self) -> dict[str, list[Flag]]:
        """{"step id#last execution": flags} for the losses that did not fall and the scores that fell apart."""
        found: dict[str, list[Flag]] = {}
        for (step_id, name), values in _once_per_name(self.series):
            k = max(2, len(values) // 4)
            early, late = _median(values[:k]), _median(values[-k:])
            if early > 0 and late > early * (1 - LOSS_MIN_DROP):
                found.setdefault(f"{step_id}#{self.last_hit[step_id]}", []).append(Flag(
                    "loss-not-falling", name, f"over {len(values)} executions of this step the loss went from "
                    f"{early:.4g} (median of the first {k}) to {late:.4g} (median of the last {k}): training does "
                    "not bring it down. The gradient or the update is wrong (a sign, a missing step, the "
                    "wrong parameters), the step size is far off, or the inputs and targets no longer match"))
        for (step_id, name), values in _once_per_name(self.scores):
            k_early, k_late = max(2, len(values) // 8), max(2, len(values) // 4)
            early, late = _median(values[:k_early]), _median(values[-k_late:])
            if late - early < LOSS_MIN_DROP * abs(early):
                found.setdefault(f"{step_id}#{self.last_hit[step_id]}", []).append(Flag(
                    "return-not-rising", name, f"over {len(values)} executions of this step the score went from "
                    f"{early:.4g} (median of the first {k_early}) to {late:.4g} (median of the last {k_late}): the "
                    "agent does not get better. The advantages, the policy loss or the update may be wrong (a "
                    "sign, a mask, an index), or the step size is far off"))
        judged = [(step_id, _median(values[-max(2, len(values) // 4):]))
                  for step_id, values in self.explained.items() if len(values) >= LOSS_MIN_VALUES]
        if judged:
            step_id, best = max(judged, key=lambda item: item[1])
            if best < CRITIC_MIN_EV:
                found.setdefault(f"{step_id}#{self.last_hit[step_id]}", []).append(Flag(
                    "critic-not-learning", "values and returns", f"the value predictions explain {best:.0%} of the "
                    "returns' variance over the last quarter of the run (1 - Var(returns - values) / Var(returns), "
                    "median): the critic does no better than predicting the mean. Are the returns it learns "
                    "(advantages + values, the done mask, the index) or its loss wrong?"))
        for (step_id, train, held), values in _once_per_name(self.gaps):
            k = max(2, len(values) // 4)
            last = values[-k:]
            gap = _median([a - b for a, b in last])
            if gap > SCORE_GAP:
                found.setdefault(f"{step_id}#{self.last_hit[step_id]}", []).append(Flag(
                    "train-test-gap", f"{train} and {held}", f"over the last {k} executions of this step {held} "
                    f"(median {_median([b for _, b in last]):.3g}) stays {gap:.2f} below {train} (median "
                    f"{_median([a for a, _ in last]):.3g}): what the model learned does not carry over to the "
                    "held-out data. Overfitting, or are the two sets prepared differently (standardised, "
                    "encoded, split)?"))
        return found


def _once_per_name(series: dict) -> list:
    """One series per variable (several steps of a loop see the same variable): the one recorded at the step
    that runs least often but at least LOSS_MIN_VALUES times (once per epoch or iteration, not per example)."""
    chosen: dict = {}
    for key, values in sorted(series.items(), key=lambda item: len(item[1])):
        if len(values) >= LOSS_MIN_VALUES:
            chosen.setdefault(key[1:], (key, values))
    return list(chosen.values())


def _scalar(value) -> float | None:
    """A finite float from a Python number or a one-element tensor; None otherwise."""
    torch = _torch()
    if torch is not None and isinstance(value, torch.Tensor) and value.numel() == 1 and value.is_floating_point():
        value = float(value.detach())
    if isinstance(value, float) and math.isfinite(value):
        return value
    return None


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


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
            self.trend = RunTrends()

        def gate(self, k: int):
            self.hits[k] += 1
            hit = self.hits[k]
            step = self.points[k].key
            frame = sys._getframe(1)
            self.trend.observe(frame, step.id, hit)
            if hit & (hit - 1):
                return None
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
    if watch and error is None:          # the trends of a whole run, judged once it has ended
        for key, flags in engine.trend.flags().items():
            results.setdefault(key, []).extend(flag.__dict__ for flag in flags)
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
