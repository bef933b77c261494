"""Implement it yourself: the working copy with the exercise's block blanked out, hints, the solution.

One working copy per repo (`walkthrough-work/<repo>/` by default) collects the learner's exercises:
the first `implement` makes it with the block replaced by a stub; a later exercise of the same repo
is blanked in the same copy (its code there must still be the reference's). A copy with the learner's
edits is never overwritten without `force`.
"""
from __future__ import annotations

import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

from ..spec import SpecError
from . import workcopy
from .exercises import Catalogue, Exercise, attributes_read, reference_region, stub_lines, stubbed_source

KIND = "exercise"
WORK_DIR = "walkthrough-work"


def default_copy_dir(exercise: Exercise, base: Path | None = None) -> Path:
    return Path(base) / exercise.repo if base else Path.cwd() / WORK_DIR / exercise.repo


# ----- what the block receives and produces, in words ------------------------------------------------
def describe_value(value) -> str:
    """`Tensor [32, 8] float32`, `list of 3 Tensors`, `float 0.0025`, `Namespace`: what a stub comment shows."""
    import sys
    torch = sys.modules.get("torch")
    numpy = sys.modules.get("numpy")
    if torch is not None and isinstance(value, torch.Tensor):
        text = f"Tensor {list(value.shape)} {str(value.dtype).removeprefix('torch.')}"
        if value.device.type != "cpu":
            text += f" on {value.device}"
        return text + (", requires grad" if value.requires_grad else "")
    if numpy is not None and isinstance(value, numpy.ndarray):
        return f"ndarray {list(value.shape)} {value.dtype}"
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, (int, float)):
        return f"{type(value).__name__} {value:g}" if isinstance(value, float) else f"int {value}"
    if isinstance(value, (list, tuple)):
        kinds = {describe_value(v).split(" [")[0].split(" ")[0] for v in value}
        inner = f"{kinds.pop()}s" if len(kinds) == 1 else "values"
        shapes = ", ".join(describe_value(v).split(" ", 1)[-1] for v in value[:4]) if value else ""
        return f"{type(value).__name__} of {len(value)} {inner}" + (f": {shapes}" if shapes else "") \
            + (", ..." if len(value) > 4 else "")
    if isinstance(value, dict):
        return f"dict of {len(value)}"
    return type(value).__name__


def described(exercise: Exercise, values: dict, names: list[str]) -> list[tuple[str, str]]:
    """(name, `Tensor [32, 8] float32: what it holds`) rows; an object's attributes the block reads get their values."""
    rows = []
    read = attributes_read(exercise)
    for name in names:
        text = describe_value(values[name]) if name in values else "(not recorded)"
        shown = []
        for attribute in read.get(name, []):
            try:
                value = values[name]
                for part in attribute.split("."):
                    value = getattr(value, part)
            except Exception:
                continue
            if isinstance(value, (int, float, bool, str)):
                shown.append(f"{attribute}={value!r}")
        if shown:
            text += " (" + ", ".join(shown) + ")"
        note = exercise.notes.get(name)
        rows.append((name, f"{text}: {note}" if note else text))
    return rows


def output_names(exercise: Exercise) -> list[str]:
    names = list(exercise.returns) if exercise.is_function else []
    return names + [label for label in exercise.produce]


# ----- the working copy ------------------------------------------------------------------------------------
@dataclass
class Prepared:
    copy: workcopy.WorkCopy
    path: Path                    # the file to edit
    lines: tuple[int, int]        # the stub's lines in it
    created: bool                 # False: the exercise was already in the copy (nothing written)


def prepare_copy(catalogue: Catalogue, exercise: Exercise, dest: Path, first_sample, *, force: bool = False) -> Prepared:
    """Make (or extend) the working copy so that it holds the exercise's stub; never loses the learner's edits."""
    from . import grading

    dest = Path(dest)
    existing = workcopy.open_copy(dest)
    same_repo = existing is not None and existing.kind == KIND and \
        Path(existing.origin).resolve() == exercise.repo_dir.resolve()
    inputs = described(exercise, first_sample.before, list(exercise.region.inputs))
    outputs = described(exercise, grading.flatten(exercise, first_sample.after), output_names(exercise))
    if same_repo and not force:
        done = existing.meta.get("exercises", [])
        target = dest / exercise.file
        if exercise.id in done:
            return Prepared(existing, target, _stub_lines_in(existing, exercise), False)
        try:
            region = reference_region(target, exercise)
        except SpecError as exc:
            raise workcopy.WorkCopyError(f"{target} no longer holds the reference code of {exercise.id} ({exc}); use "
                                         f"--dir DIR for a fresh copy, or --force to replace this one") from None
        lines = stub_lines(exercise, inputs, outputs, region.body_indent)
        target.write_text(stubbed_source(target.read_text(encoding="utf-8"), exercise, region, lines),
                          encoding="utf-8")
        existing.meta.setdefault("exercises", []).append(exercise.id)
        existing.meta.setdefault("stubs", {})[exercise.id] = [region.start_line, region.start_line + len(lines) - 1]
        existing.save()      # the file's recorded hash stays the reference's: the copy counts as edited from now on
        return Prepared(existing, target, (region.start_line, region.start_line + len(lines) - 1), True)
    region = exercise.region
    lines = stub_lines(exercise, inputs, outputs, region.body_indent)
    source = exercise.path.read_text(encoding="utf-8")
    stub_at = (region.start_line, region.start_line + len(lines) - 1)
    copy = workcopy.create(exercise.repo_dir, dest, KIND,
                           replace={exercise.file: stubbed_source(source, exercise, region, lines)},
                           meta={"exercises": [exercise.id], "stubs": {exercise.id: list(stub_at)}}, force=force)
    return Prepared(copy, dest / exercise.file, stub_at, True)


def _stub_lines_in(copy: workcopy.WorkCopy, exercise: Exercise) -> tuple[int, int]:
    lines = copy.meta.get("stubs", {}).get(exercise.id)
    return (int(lines[0]), int(lines[1])) if isinstance(lines, list) and len(lines) == 2 else (0, 0)


# ----- hints and the solution ---------------------------------------------------------------------------------
def solution(exercise: Exercise, signature: bool = True) -> str:
    """The reference code of the block (a function: with its signature, unless `signature` is False), dedented."""
    lines = exercise.path.read_text(encoding="utf-8").splitlines(keepends=True)
    region = exercise.region
    start = region.start_line
    if exercise.is_function and signature:
        from .exercises import _Index
        start = _Index("".join(lines)).functions[exercise.function].lineno
    return textwrap.dedent("".join(lines[start - 1:region.end_line])).rstrip() + "\n"


def faded(exercise: Exercise) -> str:
    """The hint's faded code: authored in the exercise file, else the solution with right-hand sides blanked."""
    if exercise.hints.faded.strip():
        return textwrap.dedent(exercise.hints.faded).strip() + "\n"
    import ast
    import re
    out = []
    for line in solution(exercise).splitlines():
        stripped = line.strip()
        match = re.match(r"^(\s*[\w\[\]., ]+?\s*(?:[-+*/]?=)\s*)(.+)$", line)
        if match and not stripped.startswith(("if ", "for ", "while ", "return", "def ", "with ", "elif ")):
            try:
                ast.parse(stripped)
                out.append(match.group(1) + "____")
                continue
            except SyntaxError:
                pass
        out.append(line)
    return "\n".join(out) + "\n"


# ----- progress -------------------------------------------------------------------------------------------
def progress_entry(store, exercise: Exercise) -> dict:
    entry = store.entry("exercises", exercise.key)
    for key, default in {"attempts": 0, "hints": 0, "passed": False, "solution_seen": False}.items():
        if type(entry.get(key)) is not type(default):      # missing, or of the wrong type in a hand-edited file
            entry[key] = default
    return entry


def status_of(entry: dict | None) -> str:
    if not entry:
        return "new"
    if entry.get("passed"):
        return "passed"
    return "attempted" if entry.get("attempts") else "new"


def record_attempt(store, exercise: Exercise, passed: bool) -> dict:
    entry = progress_entry(store, exercise)
    entry["attempts"] += 1
    entry["last_attempt"] = time.time()
    if passed and not entry["passed"]:
        entry["passed"] = True
        entry["passed_at"] = time.time()
    store.save()
    return entry



def write_attempt(copy_dir: Path, exercise: Exercise, code: str, helpers: str = "") -> Path:
    """Put `code` where the exercise's stub is in the working copy (indented to fit) and `helpers` at module level
    before the first top-level function or class: a learner's attempt, as the tests and the benchmark play it."""
    import ast

    copy = workcopy.open_copy(copy_dir)
    start, end = _stub_lines_in(copy, exercise) if copy else (0, 0)
    if not start:
        raise workcopy.WorkCopyError(f"{copy_dir} has no stub of {exercise.id}")
    path = Path(copy_dir) / exercise.file
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    indent = lines[start - 1][:len(lines[start - 1]) - len(lines[start - 1].lstrip())]
    body = textwrap.indent(textwrap.dedent(code).strip("\n") + "\n", indent, lambda line: True)
    lines[start - 1:end] = [body]
    if helpers.strip():
        first = next((node.decorator_list[0] if node.decorator_list else node).lineno
                     for node in ast.parse("".join(lines)).body if isinstance(node, (ast.FunctionDef, ast.ClassDef)))
        lines.insert(first - 1, textwrap.dedent(helpers).strip("\n") + "\n\n\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path
