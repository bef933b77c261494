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
    return any(same(parse(text), parse(str(option))) for option in options)


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
