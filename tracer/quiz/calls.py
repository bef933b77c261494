"""What a call does, as far as a question generator may assume: nothing (pure), draw random numbers,
change one of its arguments (or the object it is called on), do I/O, or something we cannot know.

A question whose answer depends on a call we cannot know about (a method of the learner's own
class, `envs.step`, `optimizer.step()`) is not asked: "which variables does this line change?" or
"in which orders can these lines run?" would then have no defensible answer.
"""
from __future__ import annotations

import builtins

PURE, RANDOM, MUTATES, IO, UNKNOWN = "pure", "random", "mutates", "io", "unknown"

_PURE_BUILTINS = {"abs", "all", "any", "bool", "divmod", "enumerate", "float", "int", "isinstance", "len", "list",
                  "max", "min", "pow", "range", "reversed", "round", "set", "sorted", "str", "sum", "tuple",
                  "zip", "type", "hasattr", "repr", "format", "frozenset", "dict", "complex", "hash", "id", "iter",
                  "callable", "chr", "ord", "hex", "bin", "slice"}
_IO_BUILTINS = {"print", "open", "input", "exit", "quit"}

# Methods (on tensors, arrays, lists, dicts, distributions) that return a new value and change nothing.
PURE_METHODS = {
    "abs", "add", "all", "amax", "amin", "any", "argmax", "argmin", "argsort", "astype", "bool", "byte", "chunk",
    "clamp", "clip", "clone", "contiguous", "copy", "cos", "count", "cpu", "cuda", "cumprod", "cumsum", "detach",
    "dim", "div", "double", "entropy", "eq", "exp", "expand", "expand_as", "flatten", "flip", "float", "format",
    "gather", "ge", "get", "gt", "half", "index", "index_select", "int", "isnan", "item", "items", "join", "keys",
    "le", "log", "log1p", "log_prob", "log_softmax", "logsumexp", "long", "lower", "lt", "masked_fill", "matmul",
    "max", "mean", "min", "mul", "ne", "neg", "nonzero", "norm", "numel", "numpy", "permute", "pow", "prod",
    "relu", "repeat", "reshape", "round", "rsqrt", "sigmoid", "sign", "sin", "size", "softmax", "split", "sqrt",
    "square", "squeeze", "startswith", "endswith", "std", "strip", "sub", "sum", "t", "tanh", "to", "tolist",
    "topk", "transpose", "type", "type_as", "unsqueeze", "upper", "values", "var", "view", "view_as", "where",
    "split", "ravel", "any", "tril", "triu", "sort", "softplus", "exp2", "reciprocal", "floor", "ceil",
    "masked_select", "cat", "stack", "narrow", "unbind", "allclose", "equal", "isfinite", "isinf", "mode",
    "median", "quantile", "nansum", "nanmean", "argwhere", "all", "dot", "outer", "trace", "diag", "diagonal",
}
_RANDOM_METHODS = {"sample", "rsample", "random_", "normal_", "uniform_", "bernoulli_", "exponential_"}
# Methods that change the object they are called on (besides torch's trailing-underscore convention).
_MUTATING_METHODS = {"append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault", "reverse",
                     "popitem", "discard", "appendleft", "extendleft", "popleft", "resize"}
# Module functions that change their first argument.
_MUTATING_FUNCTIONS = {"numpy.random.shuffle", "random.shuffle", "numpy.copyto", "numpy.put", "numpy.place"}
_RANDOM_FUNCTIONS = {"torch.rand", "torch.randn", "torch.randint", "torch.randperm", "torch.rand_like",
                     "torch.randn_like", "torch.randint_like", "torch.multinomial", "torch.bernoulli", "torch.normal",
                     "torch.poisson", "torch.nn.functional.dropout", "torch.nn.functional.gumbel_softmax"}
_SEEDING = {"torch.manual_seed", "numpy.random.seed", "random.seed", "torch.cuda.manual_seed",
            "torch.cuda.manual_seed_all", "torch.seed", "numpy.random.default_rng"}
_IO_FUNCTIONS = {"torch.save", "torch.load", "numpy.save", "numpy.load", "numpy.savetxt", "numpy.loadtxt",
                 "json.dump", "json.load", "pickle.dump", "pickle.load", "time.sleep", "os.replace", "os.remove",
                 "os.makedirs", "shutil.copy", "torch.set_num_threads", "torch.set_printoptions",
                 "time.time", "time.perf_counter", "logging.info", "warnings.warn"}
_PURE_MODULES = ("torch", "numpy", "math", "operator", "functools", "itertools", "statistics", "einops")
_NOT_PURE_IN_PURE_MODULES = ("torch.cuda", "torch.distributed", "torch.backends", "torch.utils", "torch.optim",
                             "torch.jit", "torch.compile", "torch.set_", "torch.use_", "numpy.random",
                             "torch.autograd.backward", "torch.nn.init", "torch.nn.utils", "torch.nn.Module",
                             "torch.hub", "torch.onnx", "torch.distributions")


def classify_function(qualified: str) -> str:
    """What calling the module-level function `qualified` (`torch.clamp`, `numpy.random.shuffle`) does."""
    if qualified in _SEEDING or qualified in _RANDOM_FUNCTIONS or qualified.startswith(("numpy.random.", "random.")):
        return MUTATES if qualified in _MUTATING_FUNCTIONS else RANDOM
    if qualified in _MUTATING_FUNCTIONS:
        return MUTATES
    if qualified in _IO_FUNCTIONS:
        return IO
    last = qualified.rpartition(".")[2]
    if qualified.startswith("torch.distributions.") and last[:1].isupper():
        return PURE                                      # Categorical(logits=...) builds a distribution
    if last.endswith("_") and not last.endswith("__"):
        return MUTATES                                   # torch.nn.init.orthogonal_(w), clip_grad_norm_(params)
    if qualified.startswith(_PURE_MODULES) and not qualified.startswith(_NOT_PURE_IN_PURE_MODULES):
        if qualified.startswith("torch.nn.") and not qualified.startswith("torch.nn.functional."):
            return PURE if last[:1].isupper() else UNKNOWN   # nn.Linear(...) builds a layer; other helpers: unknown
        return PURE
    if "." not in qualified:
        if qualified in _PURE_BUILTINS:
            return PURE
        if qualified in _IO_BUILTINS:
            return IO
    return UNKNOWN


def random_generator(qualified: str) -> str | None:
    """Which random number generator calling `qualified` uses or reseeds: "torch", "numpy", "python", or None.
    Each library has its own: seeding numpy does not touch torch's stream."""
    if not (qualified in _SEEDING or qualified in _RANDOM_FUNCTIONS
            or qualified.startswith(("numpy.random.", "random."))):
        return None
    return "numpy" if qualified.startswith("numpy.") else "python" if qualified.startswith("random.") else "torch"


def classify_method(name: str) -> str:
    """What calling a method called `name` on a value (a tensor, an array, a list) does."""
    if name in _RANDOM_METHODS:
        return RANDOM
    if name.endswith("_") and not name.endswith("__"):
        return MUTATES
    if name in _MUTATING_METHODS:
        return MUTATES
    if name in PURE_METHODS:
        return PURE
    return UNKNOWN


BUILTIN_NAMES = frozenset(dir(builtins))
