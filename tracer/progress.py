"""The learner's progress: one small JSON file, written atomically, with a schema version.

Location: $WALKTHROUGH_STATE_DIR, else $XDG_STATE_HOME/walkthrough, else ~/.local/state/walkthrough.

The file holds sections of named entries: `tours` (one TourProgress per walkthrough) and one
section per practice mode (`exercises`, `hunts`, ...), each entry a JSON object the mode owns.
Two terminals may use walkthrough at once, so `save` is a read-modify-write under a file lock
that writes back only the entries this process touched: nobody's progress is lost.

A file that cannot be read at all is set aside (renamed, under a unique name) with a warning; an
entry of the wrong shape is dropped with a warning and the original file is copied aside first,
so nothing is ever destroyed. Nothing here raises on bad data; only an unwritable state
directory raises ProgressError, whose message says what to do.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

SCHEMA_VERSION = 2
TOURS = "tours"
LOCK_TIMEOUT_S = 10.0
MAX_FILE_BYTES = 16 * 1024 * 1024     # a progress file is a few kB; anything this big is not ours
MAX_ATTEMPTS_KEPT = 50


class ProgressError(Exception):
    """The state directory cannot be used (read-only, a file in its place, ...)."""


def copy_tour_name(walkthrough: str, repo_dir: Path) -> str:
    """The name under which a tour's progress on a copy of its repo (`start NAME --repo DIR`) is kept."""
    return f"{walkthrough}@{Path(repo_dir).resolve()}"


def state_dir() -> Path:
    if os.environ.get("WALKTHROUGH_STATE_DIR"):
        return Path(os.environ["WALKTHROUGH_STATE_DIR"])
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "walkthrough"


@dataclass
class TourProgress:
    next_step: int = 0                                  # index of the first step not yet seen
    steps_seen: list[str] = field(default_factory=list)
    answers: dict[str, bool] = field(default_factory=dict)   # question id -> last answer right?
    missed: list[str] = field(default_factory=list)     # question ids answered wrong, to ask again
    finished: bool = False
    updated: float = 0.0
    attempts: list[dict] = field(default_factory=list)   # earlier attempts, oldest first (see archive())
    question_text: dict[str, str] = field(default_factory=dict)   # question id -> how to name it to a learner
    command: str = ""                                   # how to start this tour again (a generated tour: its script)
    program_args: list[str] = field(default_factory=list)   # the `-- ARGS` the current attempt runs with

    @property
    def score(self) -> tuple[int, int]:
        return sum(self.answers.values()), len(self.answers)

    @property
    def started(self) -> bool:
        return bool(self.steps_seen or self.answers)

    def archive(self) -> None:
        """Close the current attempt: its score, steps and missed questions go to `attempts`; the tour starts
        again from step 1. `missed` (the questions to ask again) and `question_text` carry over."""
        if self.started:
            right, asked = self.score
            self.attempts.append({"right": right, "asked": asked, "seen": len(self.steps_seen),
                                  "finished": self.finished, "missed": [q for q, ok in self.answers.items() if not ok],
                                  "ended": self.updated or time.time()})
            del self.attempts[:-MAX_ATTEMPTS_KEPT]
        self.next_step, self.steps_seen, self.answers, self.finished = 0, [], {}, False

    def best(self) -> tuple[int, int] | None:
        """The best score of any attempt (this one included): most right answers, then fewest asked."""
        scores = [(a["right"], a["asked"]) for a in self.attempts if a["asked"]]
        if self.answers:
            scores.append(self.score)
        return max(scores, key=lambda s: (s[0], -s[1])) if scores else None

    def describe_question(self, question_id: str) -> str:
        """A question as a learner knows it: its step and prompt, not its id."""
        return self.question_text.get(question_id) or f"question {question_id}"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_ATTEMPT_CHECKS = {
    "right": lambda v: _is_int(v) and 0 <= v < 1_000_000,
    "asked": lambda v: _is_int(v) and 0 <= v < 1_000_000,
    "seen": lambda v: _is_int(v) and 0 <= v < 1_000_000,
    "finished": lambda v: isinstance(v, bool),
    "missed": lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v),
    "ended": lambda v: (_is_int(v) or isinstance(v, float)) and v == v,
}


def _is_attempt(v) -> bool:
    return (isinstance(v, dict) and set(v) == set(_ATTEMPT_CHECKS)
            and all(check(v[k]) for k, check in _ATTEMPT_CHECKS.items()))


# field -> check of its JSON value; a tour entry failing any check is dropped
_TOUR_CHECKS = {
    "next_step": lambda v: _is_int(v) and 0 <= v < 1_000_000,
    "steps_seen": lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v),
    "answers": lambda v: isinstance(v, dict) and all(isinstance(a, bool) for a in v.values()),
    "missed": lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v),
    "finished": lambda v: isinstance(v, bool),
    "updated": lambda v: (_is_int(v) or isinstance(v, float)) and v == v,
    "attempts": lambda v: isinstance(v, list) and all(_is_attempt(a) for a in v),
    "question_text": lambda v: isinstance(v, dict) and all(isinstance(t, str) for t in v.values()),
    "command": lambda v: isinstance(v, str) and len(v) < 10_000,
    "program_args": lambda v: isinstance(v, list) and all(isinstance(a, str) for a in v),
}
assert set(_TOUR_CHECKS) == {f.name for f in fields(TourProgress)}


def tour_from_json(raw) -> TourProgress | None:
    """A TourProgress from its JSON form, or None if the entry has the wrong shape."""
    if not isinstance(raw, dict) or not set(raw) <= set(_TOUR_CHECKS):
        return None
    if not all(check(raw[key]) for key, check in _TOUR_CHECKS.items() if key in raw):
        return None
    return TourProgress(**raw)


class ProgressStore:
    def __init__(self, directory: Path | None = None):
        self.directory = Path(directory) if directory else state_dir()
        self.path = self.directory / "progress.json"
        self.warnings: list[str] = []
        self.tours: dict[str, TourProgress] = {}
        self.sections: dict[str, dict[str, dict]] = {}     # other sections: name -> entry (a JSON object)
        self._touched: set[tuple[str, str]] = set()         # (section, name) this process changed or removed
        self._repaired = False
        self._load(self._read_file(warn=True), warn=True)
        if self._repaired:        # entries were dropped (the original is set aside): write the rest back now,
            try:                  # so the next command neither warns again nor sets aside another copy
                self.save()
            except ProgressError:
                pass

    # ----- entries --------------------------------------------------------------------------
    def tour(self, name: str) -> TourProgress:
        """The progress of one walkthrough (created if new); saved by the next save()."""
        self._touched.add((TOURS, name))
        return self.tours.setdefault(name, TourProgress())

    def entry(self, section: str, name: str) -> dict:
        """A practice mode's record (created empty if new), to change in place; saved by the next save()."""
        self._touched.add((section, name))
        return self.sections.setdefault(section, {}).setdefault(name, {})

    def peek(self, section: str, name: str) -> dict | None:
        """A record, read only (not marked as changed)."""
        if section == TOURS:
            tour = self.tours.get(name)
            return asdict(tour) if tour else None
        return self.sections.get(section, {}).get(name)

    def forget(self, section: str, name: str) -> bool:
        """Remove a record; returns whether it existed. Saved by the next save()."""
        self._touched.add((section, name))
        if section == TOURS:
            return self.tours.pop(name, None) is not None
        return self.sections.get(section, {}).pop(name, None) is not None

    def reset(self, name: str) -> bool:
        existed = self.forget(TOURS, name)
        self.save()
        return existed

    # ----- reading ----------------------------------------------------------------------------
    def _read_file(self, warn: bool):
        """The parsed JSON of the file, {} if there is none; an unreadable file is set aside."""
        try:
            if self.path.exists() and not self.path.is_file() and not self.path.is_dir():   # a FIFO would block
                raise ProgressError(f"{self.path} is not a regular file; move it away or set WALKTHROUGH_STATE_DIR "
                                    "to another folder")
            with open(self.path, "rb") as f:
                raw = f.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return {}
        except IsADirectoryError:
            raise ProgressError(f"{self.path} is a directory, not a progress file; move it away or set "
                                "WALKTHROUGH_STATE_DIR to another folder") from None
        except NotADirectoryError:
            raise ProgressError(f"the state directory {self.directory} is not a directory (a file has its name); "
                                "move that file away or set WALKTHROUGH_STATE_DIR to a folder") from None
        except OSError as exc:
            if warn:
                self.warnings.append(f"progress file {self.path}: cannot read it ({exc.strerror}); "
                                     "starting with fresh progress")
            return {}
        try:
            if len(raw) > MAX_FILE_BYTES:
                raise ValueError(f"larger than {MAX_FILE_BYTES // 2**20} MB")
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            version = data.get("version")
            if version not in (1, SCHEMA_VERSION):
                raise ValueError(f"schema version {version!r}, expected {SCHEMA_VERSION}")
            return data
        except (ValueError, RecursionError) as exc:   # UnicodeDecodeError and JSONDecodeError are ValueErrors
            plain = isinstance(exc, ValueError) and not isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError))
            why = str(exc) if plain else "not valid JSON"
            self._set_aside(f"it is corrupt ({why})", move=True, warn=warn)
            return {}

    def _load(self, data: dict, warn: bool) -> None:
        dropped = []
        for section, entries in data.items():
            if section == "version":
                continue
            if not isinstance(entries, dict):
                dropped.append(f"section {section!r}")
                continue
            for name, raw in entries.items():
                if section == TOURS:
                    tour = tour_from_json(raw)
                    if tour is None:
                        dropped.append(f"{section}/{name}")
                    else:
                        self.tours[name] = tour
                elif isinstance(raw, dict):
                    self.sections.setdefault(section, {})[name] = raw
                else:
                    dropped.append(f"{section}/{name}")
        if dropped and warn:
            shown = ", ".join(d[:60] for d in dropped[:5]) + (f" and {len(dropped) - 5} more" if len(dropped) > 5 else "")
            self._set_aside(f"entries of the wrong shape were dropped ({shown}); the rest is kept", move=False,
                            warn=True)
            self._repaired = True

    def _set_aside(self, why: str, move: bool, warn: bool) -> None:
        """Move (or copy) the file to progress.json.corrupt-<time>-<n>, a name no earlier set-aside used."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for n in range(1000):
            aside = self.path.with_name(f"progress.json.corrupt-{stamp}-{n}")
            if not aside.exists():
                break
        try:
            if move:
                os.replace(self.path, aside)
            else:
                shutil.copyfile(self.path, aside)
            where = f"the original is kept as {aside}"
        except OSError:
            where = "the file was left in place"
        if warn:
            self.warnings.append(f"progress file {self.path}: {why}; {where}")

    # ----- writing ----------------------------------------------------------------------------
    def check_writable(self) -> None:
        """Raise ProgressError now, before a run, if progress could not be saved later."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.directory):
                pass
        except OSError as exc:
            what = "is not a directory" if isinstance(exc, (NotADirectoryError, FileExistsError)) else \
                f"is not writable ({exc.strerror})"
            raise ProgressError(f"the state directory {self.directory} {what}: progress could not be saved; "
                                "set WALKTHROUGH_STATE_DIR to a writable folder") from None
        self.save()

    def save(self) -> None:
        """Merge this process's changes into the file under a lock, then write it atomically."""
        from filelock import FileLock, Timeout

        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProgressError(f"cannot create the state directory {self.directory} ({exc.strerror}); "
                                "set WALKTHROUGH_STATE_DIR to a writable folder") from None
        try:
            with FileLock(str(self.directory / "progress.lock"), timeout=LOCK_TIMEOUT_S):
                self._merge_and_write()
        except Timeout:
            raise ProgressError(f"{self.directory / 'progress.lock'} stayed locked for {LOCK_TIMEOUT_S:.0f} s; "
                                "is another walkthrough stuck? Close it and try again") from None
        except OSError as exc:
            where = f" ({Path(exc.filename).name}: {exc.strerror})" if exc.filename else f" ({exc.strerror})"
            raise ProgressError(f"cannot write progress in {self.directory}{where}; "
                                "set WALKTHROUGH_STATE_DIR to a writable folder") from None

    def _merge_and_write(self) -> None:
        on_disk = ProgressStore.__new__(ProgressStore)
        on_disk.path, on_disk.directory, on_disk.warnings = self.path, self.directory, []
        on_disk.tours, on_disk.sections = {}, {}
        on_disk._load(on_disk._read_file(warn=False), warn=False)
        now = time.time()
        for section, name in self._touched:
            if section == TOURS:
                if name in self.tours:
                    self.tours[name].updated = now
                    on_disk.tours[name] = self.tours[name]
                else:
                    on_disk.tours.pop(name, None)
            elif name in self.sections.get(section, {}):
                on_disk.sections.setdefault(section, {})[name] = self.sections[section][name]
            else:
                on_disk.sections.get(section, {}).pop(name, None)
        # what others saved meanwhile becomes visible here too
        self.tours = {**on_disk.tours, **{n: t for n, t in self.tours.items() if (TOURS, n) in self._touched}}
        self.sections = on_disk.sections
        data = {"version": SCHEMA_VERSION, TOURS: {name: asdict(t) for name, t in on_disk.tours.items()},
                **on_disk.sections}
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".progress-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
