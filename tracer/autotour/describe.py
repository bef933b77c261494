"""Titles, explanations and watched names for generated steps, built only from what is known: the code (names,
the author's comments, the idiom catalogue), the def-use chain that made a line matter, and what the short run saw
(shapes, dtypes, how often it ran, whether gradients were on). Nothing here invents maths a line does not do."""
from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

from ..engine.anchors import names_read
from .analysis import Group, Stmt

GENERATED_NOTE = "*Generated step: chosen and explained from the code and a short run of the program.*"

# role -> (a title for a step of that one role, a phrase for a step that does several things)
_ROLE_WORDS = {
    "backward": ("Backpropagation", "backpropagate"),
    "update": ("The optimiser step", "update the parameters"),
    "zero_grad": ("Clearing the gradients", "clear the gradients"),
    "clip": ("Gradient clipping", "clip the gradients"),
    "loss": ("The loss", "compute the loss"),
    "model": ("Building the model", "build the model"),
    "architecture": ("The model's layers", "build layers"),
    "optimizer": ("The optimiser", "make the optimiser"),
    "scheduler": ("The learning-rate schedule", "step the learning-rate schedule"),
    "lr": ("Setting the learning rate", "set the learning rate"),
    "data": ("The data", "set up the data"),
    "data_loop": ("Looping over the batches", "loop over batches"),
    "batch": ("A batch of data", "take a batch"),
    "env": ("The environment", "make the environment"),
    "env_step": ("Stepping the environment", "step the environment"),
    "sample": ("Sampling", "sample"),
    "eval": ("Evaluation", "evaluate"),
    "eval_mode": ("Evaluation mode", "switch to evaluation mode"),
    "checkpoint": ("Saving a checkpoint", "save a checkpoint"),
    "trainer": ("The trainer", "make the trainer"),
    "example": ("One example of the dataset", "make one example"),
    "diagnostic": ("A diagnostic", "compute a diagnostic"),
    "slice": ("Computing", "compute"),
}

# facts about the APIs a role uses: true of every program that calls them
_API_NOTES = {
    "backward": "`.backward()` computes the derivative of that value with respect to every tensor with "
                "`requires_grad` it was computed from, and *adds* it to their `.grad`.",
    "zero_grad": "`zero_grad()` clears the `.grad` left by the previous step; `.backward()` adds to it otherwise.",
    "update": "The optimiser's `step()` changes every parameter it holds using that parameter's `.grad`; how "
              "depends on the optimiser.",
    "clip": "`clip_grad_norm_` rescales all gradients together when their joint norm exceeds the limit, so one "
            "unusual batch cannot make a huge step.",
    "eval_mode": "`.eval()` switches layers such as dropout and batch norm to their evaluation behaviour; it does "
                 "not turn gradients off (`torch.no_grad()` does).",
    "data": "A `DataLoader` draws examples from a dataset and stacks them into batches of tensors.",
    "sample": "A random draw from a distribution: run it again and the value can differ.",
}


def _code_of(node) -> str:
    try:
        return ast.unparse(node)
    except Exception:
        return ""


def _names(group: Group) -> list[str]:
    return list(dict.fromkeys(w for s in group.statements for w in s.writes if w != "_"))


def _quoted(names: list[str], limit: int = 3) -> str:
    shown = [f"`{n}`" for n in names[:limit]]
    if len(names) > limit:
        shown.append("…")
    if len(shown) > 1:
        return ", ".join(shown[:-1]) + " and " + shown[-1]
    return shown[0] if shown else ""


def _comment_title(comment: str) -> str | None:
    """The author's comment as a title, if it is prose (not commented-out code) and not a shout."""
    text = comment.strip().rstrip(":").strip()
    if not text or len(text) < 4 or text.isupper():
        return None
    try:
        ast.parse(text)
        if not re.search(r"[a-z]{3,} [a-z]{3,}", text) or "=" in text or "(" in text.split(" ")[0]:
            return None           # parses as Python: commented-out code
    except SyntaxError:
        pass
    text = re.sub(r"^(TRY NOT TO MODIFY|ALGO LOGIC|ALGO Logic|NOTE|TODO):?\s*", "", text)
    if len(text) > 40:           # "TD error, eq. 9 of Schulman et al. 2016: ..." -> "TD error"
        head = re.split(r",\s|:\s|;\s|\s\(|\s-\s|\.\s", text, maxsplit=1)[0]
        if len(head) >= 6:
            text = head
    if len(text) > 60:
        cut = text[:60].rsplit(" ", 1)[0]
        text = cut.rstrip(",;:") + " …"
    return text[:1].upper() + text[1:] if text else None


def title(group: Group, idioms: list = ()) -> str:
    roles = []
    for stmt in group.statements:
        role = stmt.role()
        if role not in roles:
            roles.append(role)
    names = _names(group)
    if len(roles) > 1 and set(roles) - {"slice"}:
        phrases = [(_ROLE_WORDS[r][1] + (f" {_quoted(names[:2])}" if r == "slice" and names else ""))
                   for r in roles if r != "slice" or len(roles) < 3]
        text = ", ".join(phrases[:-1]) + " and " + phrases[-1] if len(phrases) > 1 else phrases[0]
        return text[:1].upper() + text[1:]
    role = roles[0]
    comment = _comment_title(group.head.comment)
    head = group.head
    if idioms and role not in ("model", "optimizer", "data", "architecture", "trainer"):
        widest = max(reversed(idioms), key=lambda hit: len(hit.code))   # the idiom of the whole line, not a detail
        return widest.idiom.title
    if role in ("slice", "loss", "batch", "sample", "example") and comment:
        return comment
    if role == "slice":
        if names:
            base = f"Computing {_quoted(names)}"
        elif isinstance(head.node, ast.Return):
            base = f"What `{head.function.rsplit('.', 1)[-1]}()` returns"
        else:
            base = f"Line {head.line}: {head.code.splitlines()[0][:50]}"
        return base + (" (no gradient)" if head.nograd else "")
    if role == "backward":
        receiver = next((c[:-len(".backward")] for c in head.calls if c.endswith(".backward")), "")
        return f"Backpropagation: `{receiver}.backward()`" if receiver else "Backpropagation"
    if role in ("model", "optimizer", "data", "loss", "eval", "architecture", "batch", "trainer", "diagnostic") and names:
        kind = _type_of(group)
        return f"{_ROLE_WORDS[role][0]}: {_quoted(names, 2)}" + (f" ({kind})" if kind else "")
    if comment and role in ("eval", "env", "lr", "scheduler", "checkpoint"):
        return f"{_ROLE_WORDS[role][0]}: {comment[:1].lower() + comment[1:]}"
    return _ROLE_WORDS[role][0]


def _type_of(group: Group) -> str:
    for stmt in group.statements:
        for value in stmt.values.values():
            if value.get("kind") in ("module", "optimizer", "loader", "scheduler"):
                return value.get("type", "")
    return ""


def _value_text(value: dict) -> str:
    kind = value.get("kind")
    if kind == "tensor":
        shape = tuple(value["shape"])
        return f"tensor {shape} {value['dtype']}" + (", requires grad" if value.get("grad") else "")
    if kind == "array":
        return f"numpy array {tuple(value['shape'])} {value['dtype']}"
    if kind == "tensors":
        return f"{value['type']} of {value['count']} tensors, the first {tuple(value['shape'])}"
    if kind == "module":
        return f"{value['type']} (a torch module, {value['params']:,} parameters)"
    if kind in ("optimizer", "loader", "scheduler"):
        return f"{value['type']}"
    return value.get("type", "?")


def seen_in_run(group: Group) -> list[str]:
    lines = []
    for stmt in group.statements:
        for name, value in stmt.values.items():
            if name == "_" or (value.get("kind") in ("other", "number") and len(group.statements) > 1):
                continue
            label = "returns" if name == "return" else f"`{name}`"
            if len(group.statements) > 1:          # several lines may assign the same name: say after which
                label += f" after line {stmt.line}"
            lines.append(f"{label}: {_value_text(value)}")
    return lines[:6]


def _label(stmt: Stmt) -> str:
    names = [w for w in stmt.writes if w != "_"]
    if names:
        return f"`{names[0]}`"
    if isinstance(stmt.node, ast.Return):
        return f"`{stmt.function.rsplit('.', 1)[-1]}()`"
    if stmt.calls:
        return f"`{stmt.calls[0].lstrip('.')}(…)`"
    return f"line {stmt.line}"


def _provided(stmt: Stmt, link: str) -> str:
    """The name `stmt` defines that its consumer read as `link` (`entropy` for `entropy.mean`)."""
    if link.endswith("()"):
        return f"`{stmt.function.rsplit('.', 1)[-1]}()`"
    for name in sorted(stmt.writes, key=len, reverse=True):
        if link == name or link.startswith(name + "."):
            return f"`{name}`"
    return _label(stmt)


def _chain(stmt: Stmt) -> str:
    """`ratio` → `pg_loss1` → `pg_loss` → `loss` → `loss.backward()` (train.py:186), along the slice's links."""
    labels, current = [], stmt
    while current.via is not None:
        labels.append(_provided(current, current.via[1]))
        current = current.via[0]
    sink = current
    call = next((c for c in sink.calls if c.endswith(".backward")), None) or \
        next((c for c in sink.calls if c.endswith(".step")), None)
    labels = list(dict.fromkeys(labels))
    if len(labels) > 6:
        labels = [*labels[:3], "…", *labels[-2:]]
    end = f"`{call}()`" if call else f"line {sink.line}"
    return " → ".join([*labels, end]) + f" ({sink.path.name}:{sink.line})"


def explanation(group: Group, loop: Stmt | None, idioms: list = ()) -> str:
    head = group.head
    slice_member = min((s for s in group.statements if s.depth is not None), key=lambda s: s.depth, default=None)
    bullets = []
    roles = [s.role() for s in group.statements]
    lines_of: dict[str, list[int]] = {}          # one paragraph per idiom, however many lines show it
    for hit in idioms:
        lines_of.setdefault(hit.idiom.id, []).append(hit.line)
    for hit in idioms:
        lines = lines_of.pop(hit.idiom.id, None)
        if lines:
            where = f"line {lines[0]}" if len(lines) == 1 else "lines " + ", ".join(map(str, sorted(set(lines))))
            bullets.append(f"**{hit.idiom.title}** ({where}): {hit.idiom.explanation.strip()}")
    if slice_member is not None and slice_member.depth:
        chain = _chain(slice_member)
        if chain:
            bullets.append(f"**Why here:** it feeds the training step: {chain}.")
    elif slice_member is not None:
        bullets.append("**Why here:** this is where the gradient step happens.")
    elif "update" in roles:
        bullets.append("**Why here:** the parameters change here: this is the update the gradients were computed "
                       "for.")
    elif "eval" in roles or "eval_mode" in roles:
        bullets.append("**Why here:** evaluation: it measures the model and takes no part in the gradient step.")
    elif any(r in roles for r in ("env", "env_step", "data", "data_loop", "batch")):
        bullets.append("**Why here:** this is where the data (or experience) comes from.")
    for api in dict.fromkeys(a for s in group.statements for a in sorted(s.api)):
        if api in _API_NOTES and not idioms:
            bullets.append(_API_NOTES[api])
    if head.nograd:
        bullets.append("**Gradients off here:** where you stop, it runs under `torch.no_grad()` (or inference mode): "
                       "the tensors it makes there carry no history, so a loss computed from them treats them as "
                       "constants.")
    seen = seen_in_run(group)
    if seen:
        bullets.append("**Seen in the short run:** " + "; ".join(seen) + ".")
    if isinstance(head.node, (ast.For, ast.While)):      # a loop's header runs once more than its body each time
        runs = (f"Its header line ran {head.hits:,} time{'s' if head.hits != 1 else ''} in the short run (once per "
                "pass through the body, plus once more each time the loop ends, so the body ran fewer times)")
    else:
        runs = "It ran once in the short run" if head.hits == 1 else f"It ran {head.hits:,} times in the short run"
    if loop is not None and loop.path == head.path and loop.line < head.line <= loop.node.end_lineno:
        runs += f", inside the training loop at line {loop.line}"
    bullets.append(runs + "; you stop the first time it runs after the previous step, just before it runs "
                          "(`n` runs it and shows the next line).")
    return "\n".join([GENERATED_NOTE, "", *[f"- {b}" for b in bullets]])


@lru_cache(maxsize=32)
def _imported(path: Path) -> frozenset[str]:
    """Names bound by the file's imports (`torch`, `np`, `optim`): modules and functions, never values to watch."""
    try:
        tree = ast.parse(Path(path).read_bytes())    # bytes: honours a coding cookie
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return frozenset()
    return frozenset((alias.asname or alias.name).split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names)


def watch(group: Group) -> list[str]:
    """Names the group reads before it writes them (its inputs), shown at the stop. The values a method is called
    on count (`action` of `action.cpu()`); the methods do not; the first statement's own names are shown anyway."""
    written, inputs = set(group.statements[0].writes), []
    calls = {c for stmt in group.statements for c in stmt.calls}
    first = set(names_read(group.statements[0].code)) - calls
    modules = _imported(group.head.path)
    for index, stmt in enumerate(group.statements):
        names = [c.rsplit(".", 1)[0] for c in stmt.calls if "." in c and not c.startswith(".")]
        if index:
            names += names_read(stmt.code)
        for name in names:
            base = name.split(".")[0]
            if name in calls or name in written or base in written or name in inputs or name in first \
                    or base in modules:
                continue
            inputs.append(name)
        written.update(stmt.writes)
    return inputs[:8]


def slug(text: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", re.sub(r"[`()]", "", text.lower())).strip("-")
    if len(text) > 28:
        text = text[:28].rsplit("-", 1)[0]
    return text or "step"
