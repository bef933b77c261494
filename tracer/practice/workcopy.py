"""Working copies of a reference repo that the learner edits: `walkthrough-work/<name>/`.

A copy holds the whole repo with the same file names, so it runs exactly as the original
(`python walkthrough-work/ppo/train.py`) and the walkthrough runs on it
(`walkthrough start ppo --repo walkthrough-work/ppo`). Beside the files sits a manifest with
the hash of each file as written, so we can tell which files the learner has edited since:
a copy with the learner's edits is never overwritten without `force`.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = ".walkthrough-copy.json"
_SKIP_DIRS = {"__pycache__", "runs", ".pytest_cache"}
_SKIP_SUFFIXES = {".pyc", ".pt", ".tmp"}


class WorkCopyError(Exception):
    """The copy cannot be made or used as asked; the message says what to do."""


def _digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


@dataclass
class WorkCopy:
    path: Path
    origin: Path
    kind: str                                     # who made it: "exercise", "bughunt", ...
    files: dict[str, str] = field(default_factory=dict)    # relative path -> sha1 as written
    meta: dict = field(default_factory=dict)      # the mode's own facts (exercise id, seed, ...)

    def edited(self) -> list[str]:
        """Files the learner changed (or deleted) since the copy was written."""
        changed = []
        for rel, digest in sorted(self.files.items()):
            file = self.path / rel
            if not file.is_file() or _digest(file) != digest:
                changed.append(rel)
        return changed

    def save(self) -> None:
        data = {"origin": str(self.origin), "kind": self.kind, "files": self.files, "meta": self.meta}
        _write_atomic(self.path / MANIFEST, json.dumps(data, indent=1))


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def open_copy(path: Path) -> WorkCopy | None:
    """The working copy at `path`, or None if there is none (or its manifest is unreadable)."""
    path = Path(path)
    try:
        data = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        return WorkCopy(path, Path(data["origin"]), str(data["kind"]), dict(data["files"]), dict(data.get("meta", {})))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def source_files(origin: Path) -> list[Path]:
    """The files of a reference repo that belong in a copy (relative paths), skipping caches and outputs."""
    found = []
    for dirpath, dirnames, filenames in os.walk(origin):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if Path(name).suffix not in _SKIP_SUFFIXES and not name.startswith("."):
                found.append((Path(dirpath) / name).relative_to(origin))
    return found


def create(origin: Path, dest: Path, kind: str, *, replace: dict[str, str] | None = None, meta: dict | None = None,
           force: bool = False) -> WorkCopy:
    """Copy the repo at `origin` to `dest`, with `replace` (relative path -> text) written instead of the
    original text of those files. An existing copy with the learner's edits (or a folder that is not a
    copy) is only replaced with `force`."""
    origin, dest = Path(origin).resolve(), Path(dest)
    if not origin.is_dir():
        raise WorkCopyError(f"{origin}: no such repo directory")
    if dest.exists():
        existing = open_copy(dest)
        if existing is None and any(dest.iterdir()) and not force:
            raise WorkCopyError(f"{dest} exists and is not a walkthrough working copy; choose another --dir, "
                                "or pass --force to replace its contents")
        if existing is not None and not force:
            edited = existing.edited()
            if edited:
                raise WorkCopyError(f"{dest} holds your edits ({', '.join(edited)}); nothing was overwritten. "
                                    "Use --dir to make another copy, or --force to replace it")
        if force or existing is not None:
            shutil.rmtree(dest)
    dest.mkdir(parents=True, exist_ok=True)
    copy = WorkCopy(dest, origin, kind, meta=dict(meta or {}))
    replace = dict(replace or {})
    for rel in source_files(origin):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if str(rel) in replace:
            target.write_text(replace.pop(str(rel)), encoding="utf-8")
        else:
            shutil.copyfile(origin / rel, target)
        copy.files[str(rel)] = _digest(target)
    if replace:
        raise WorkCopyError(f"no file {', '.join(replace)} in {origin}")
    copy.save()
    return copy
