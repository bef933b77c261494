"""Check a learner's typed answer against the right one. Never evaluates the answer as code.

Answers are parsed as literals at most (ast.literal_eval), after accepting the spellings a
learner would use: `torch.Size([128, 4])`, `(128, 4)` and `[128, 4]` are the same shape;
`torch.float32` and `float32` the same dtype; numbers match within a relative tolerance.
"""
from __future__ import annotations

import ast
import math
import re
import sys

_SIZE = re.compile(r"^\s*(?:torch\.)?Size\s*\(\s*(.*)\s*\)\s*$", re.S)
_SIZES = re.compile(r"^\s*\d+(?:\s*(?:x|×|\*|by|\s)\s*\d+)+\s*$", re.I)      # 256 x 4, 256×4, 256 by 4, 256 4
_DTYPE = re.compile(r"^\s*(?:torch\.|np\.|numpy\.)?(u?int\d+|float\d+|bfloat16|bool|complex\d+|long|double|half)\s*$")
_DTYPE_ALIASES = {"long": "int64", "double": "float64", "half": "float16"}
_MAX_ANSWER = 2000
_MAX_LISTED = 10_000     # a value with more elements than this cannot have been typed: never listed in full


class _Unlisted:
    """A runtime value too big to compare element by element (10^8 numbers): no typed answer equals it."""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def __eq__(self, other):
        return False

    __hash__ = None


def canonical(value):
    """A comparable form of a runtime value: tensors of one element become numbers, sizes tuples."""
    torch = sys.modules.get("torch")
    if torch is not None:
        if isinstance(value, torch.Size):
            return tuple(value)
        if isinstance(value, torch.dtype):
            return str(value).removeprefix("torch.")
        if isinstance(value, torch.Tensor):
            if value.numel() > _MAX_LISTED or value.layout != torch.strided or value.is_meta:
                return _Unlisted(value.shape)
            return value.item() if value.numel() == 1 else value.detach().tolist()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if isinstance(value, numpy.generic):
            return value.item()
        if isinstance(value, numpy.ndarray):
            return _Unlisted(value.shape) if value.size > _MAX_LISTED else value.tolist()
        if isinstance(value, numpy.dtype):
            return str(value)
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, tuple):
        return tuple(canonical(v) for v in value)
    return value


def parse(text: str):
    """The literal a learner typed, or the stripped text itself if it is not a literal."""
    text = text.strip()[:_MAX_ANSWER]
    size = _SIZE.match(text)
    if size:
        text = size.group(1) or "()"
    if _SIZES.match(text):
        return tuple(int(n) for n in re.findall(r"\d+", text))
    dtype = _DTYPE.match(text)
    if dtype:
        name = dtype.group(1)
        return _DTYPE_ALIASES.get(name, name)
    if text.lower() in ("scalar", "a scalar", "0-d", "0d"):
        return ()                               # the shape of a single number, in words
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def same(given, expected, rel_tol: float = 1e-3, abs_tol: float = 1e-6) -> bool:
    """Structural equality with numeric tolerance; tuples and lists of the same items are equal."""
    if isinstance(expected, bool) or isinstance(given, bool):
        return given is expected or (isinstance(given, bool) and isinstance(expected, bool) and given == expected)
    if isinstance(expected, (int, float)) and isinstance(given, (int, float)):
        if math.isnan(expected) or math.isnan(given):
            return math.isnan(expected) and math.isnan(given)
        return math.isclose(given, expected, rel_tol=rel_tol, abs_tol=abs_tol)
    if isinstance(expected, (list, tuple)) and isinstance(given, (list, tuple)):
        return len(given) == len(expected) and all(same(g, e, rel_tol, abs_tol) for g, e in zip(given, expected))
    if isinstance(expected, (list, tuple)) and isinstance(given, int) and len(expected) == 1:
        return same(given, expected[0], rel_tol, abs_tol)  # `128` for a shape (128,)
    if isinstance(expected, str) and isinstance(given, str):
        return _words(given) == _words(expected)
    return given == expected


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w.+\-*/=<>()\[\], ]", " ", text.lower()).split())


def check_value(text: str, real, rel_tol: float = 1e-3) -> bool:
    """Does the typed answer match the value the program really computed?"""
    try:
        return same(parse(text), canonical(real), rel_tol=rel_tol)
    except (RecursionError, OverflowError):   # a 10^5-deep list; a 1,999-digit number against a float
        return False


def check_text(text: str, accepted) -> bool:
    """A short answer: equal to any accepted answer up to case, punctuation and spacing,
    or to a literal of it (so `0.5` matches `.5`)."""
    options = accepted if isinstance(accepted, list) else [accepted]
    bare = _without_articles(text)
    return any(same(parse(text), parse(str(option))) or same(parse(bare), parse(str(option)))
               or _same_expression(text, str(option)) for option in options)


def _without_articles(text: str) -> str:
    """`the diagonal` -> `diagonal`: an article in front of an answer does not change it."""
    words = text.split()
    while len(words) > 1 and words[0].lower() in _ARTICLES:
        words = words[1:]
    return " ".join(words)


def _same_expression(a: str, b: str) -> bool:
    """`b_returns[ mb_inds ]` and `b_returns[mb_inds]`: the same Python expression spelled otherwise (parsed,
    never run)."""
    a, b = a.strip().strip("`").strip(), b.strip()
    if not a or len(a) > 200 or "\n" in a:
        return False
    try:
        return ast.dump(ast.parse(a, mode="eval")) == ast.dump(ast.parse(b, mode="eval"))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


def check_choice(text: str, choices: list[str], answer: str) -> tuple[bool, str | None]:
    """A choice by its letter (a, b, ...), its number (1, 2, ...) or its text. Returns (right, chosen)."""
    chosen = pick(text, choices)
    return chosen == answer, chosen


def pick(text: str, choices: list[str]) -> str | None:
    """The choice a reply names: its letter (`a`, `a)`, `(a)`, `a.`), its number (`1`, `1)`), its text, or
    the start of exactly one choice's text (at least 12 characters of it)."""
    text = text.strip()
    marker = re.fullmatch(r"\(?\s*([A-Za-z]|\d+)\s*[).:]?", text)
    if marker:
        key = marker.group(1)
        if key.isalpha() and key.isascii() and ord(key.lower()) - ord("a") < len(choices):
            return choices[ord(key.lower()) - ord("a")]
        if key.isdecimal() and key.isascii() and 1 <= int(key) <= len(choices):
            return choices[int(key) - 1]
    for choice in choices:
        if _words(choice) == _words(text):
            return choice
    words = _words(text)
    if len(words) >= 12:
        starting = [c for c in choices if _words(c).startswith(words)]
        if len(starting) == 1:
            return starting[0]
    return None


# ----- is it an answer at all? ---------------------------------------------------------------------------
ANSWER_PROMPT_COMMANDS = ("h", "hint", "p", "print", "w", "where", "?", "help", "check")


def prompt_command(reply: str, question) -> str | None:
    """The command word (`h`, `p EXPR`, `w`, `?`, `check`) a learner typed at `answer>` instead of an answer,
    or None. A reply that is one of the question's options or its known answer stays an answer."""
    word = reply.strip().split(" ", 1)[0].lower()
    if word not in ANSWER_PROMPT_COMMANDS:
        return None
    choices = getattr(question, "choices", None) or []
    if choices and pick(reply, choices) is not None:
        return None                             # `h` as option h of eight
    known = getattr(question, "answer", None)
    if isinstance(known, str) and same(parse(reply), parse(known)):
        return None
    return word


def not_an_answer(reply: str, question) -> str | None:
    """Why `reply` cannot be an answer to `question` (then it is asked again, not graded), or None.
    Only replies that no reading could make right are refused: an option that names no option, a word
    where a shape is asked."""
    choices = getattr(question, "choices", None) or []
    if choices and pick(reply, choices) is None:
        last = chr(ord("a") + len(choices) - 1)
        return f"not one of the options: type its letter (a-{last}) or the start of its text"
    kind = getattr(question, "kind", "")
    prompt = getattr(question, "prompt", "")
    if kind == "value" and re.search(r"\bshape\b", prompt, re.I) and isinstance(parse(reply), str):
        return "not a shape: type it like (256, 4), or () for a single number"
    return None


# ----- near misses ---------------------------------------------------------------------------------------
_ARTICLES = {"the", "a", "an"}
_BATCH_PREFIXES = ("mb_", "b_", "batch_", "self.")        # the same quantity, for a (mini)batch or kept on self


def _name_words(text: str) -> str:
    """A reply reduced to its identifier: backticks, a trailing `.`, articles in front dropped, spaces to `_`."""
    words = text.strip().strip("`").strip().rstrip(".").strip().lower().split()
    while len(words) > 1 and words[0] in _ARTICLES:
        words = words[1:]
    return "_".join(words)


def _identifier(text: str) -> bool:
    return re.fullmatch(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*", text) is not None


def _without_prefix(name: str) -> str:
    for prefix in _BATCH_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix) + 2:
            return name[len(prefix):]
    return name


def _singular(name: str) -> str:
    return name[:-1] if name.endswith("s") and not name.endswith("ss") and len(name) > 3 else name


def _one_letter_apart(a: str, b: str) -> bool:
    """A single letter added, dropped, changed or two neighbours swapped (`optimiser`/`optimizer`), in names of
    at least 6 characters, never in a digit (`q1` and `q2`, `layer1` and `layer2` are different variables)."""
    if min(len(a), len(b)) < 6 or abs(len(a) - len(b)) > 1 or a == b:
        return False
    if re.sub(r"\D", "", a) != re.sub(r"\D", "", b):
        return False
    if len(a) == len(b):
        diff = [k for k in range(len(a)) if a[k] != b[k]]
        if len(diff) == 1:
            return a[diff[0]].isalpha() and b[diff[0]].isalpha()
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    k = next((i for i in range(len(short)) if short[i] != long[i]), len(short))
    return short[k:] == long[k + 1:] and long[k].isalpha()


def near_miss(text: str, accepted) -> str:
    """Why a reply that is not right is nevertheless nearly an accepted answer (a sentence naming the exact
    expected one), or "" when it is simply another answer. Near: the same name with a batch prefix more or
    less (`returns` / `the returns` for `b_returns`), singular for plural (`advantage` for `advantages`), one
    letter apart in a long name (`optimiser` for `optimizer`), or the same expression spelled otherwise
    (`b_returns[ mb_inds ]`). Never a different name (`values` for `returns`)."""
    options = [str(o) for o in (accepted if isinstance(accepted, list) else [accepted])]
    given = _name_words(text)
    if not given or len(given) > 200:
        return ""
    for option in options:
        expected = _name_words(option)
        if not _identifier(expected):
            continue
        if given == expected:
            return f"the words are right but the answer is a name: `{option}`"
        if not _identifier(given):
            continue
        base_given, base_expected = _without_prefix(given), _without_prefix(expected)
        if base_given != given and base_expected != expected:
            continue                     # `mb_advantages` and `b_advantages`: two variables the code keeps apart
        if base_given == base_expected:
            return f"`{given}` is nearly it: the exact variable is `{option}`"
        if _singular(base_given) == _singular(base_expected):
            return f"singular and plural differ: the exact name is `{option}`"
        if _one_letter_apart(base_given, base_expected):
            return f"one letter differs: the exact name is `{option}`"
    return ""
