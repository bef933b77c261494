"""The learner's progress: one small JSON file, written atomically, with a schema version.

Location: $WALKTHROUGH_STATE_DIR, else $XDG_STATE_HOME/walkthrough, else ~/.local/state/walkthrough.
A corrupt or unreadable file is set aside (renamed *.corrupt-<time>) with a warning, never a crash.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

SCHEMA_VERSION = 1


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

    @property
    def score(self) -> tuple[int, int]:
        return sum(self.answers.values()), len(self.answers)


class ProgressStore:
    def __init__(self, directory: Path | None = None):
        self.directory = Path(directory) if directory else state_dir()
        self.path = self.directory / "progress.json"
        self.warnings: list[str] = []
        self.tours: dict[str, TourProgress] = self._read()

    def _read(self) -> dict[str, TourProgress]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            self._set_aside(f"cannot read it ({exc.__class__.__name__})")
            return {}
        try:
            data = json.loads(raw)
            if data.get("version") != SCHEMA_VERSION:
                raise ValueError(f"schema version {data.get('version')!r}, expected {SCHEMA_VERSION}")
            return {name: TourProgress(**tour) for name, tour in data["tours"].items()}
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            self._set_aside(f"it is corrupt ({exc.__class__.__name__})")
            return {}

    def _set_aside(self, why: str) -> None:
        aside = self.path.with_name(f"progress.json.corrupt-{int(time.time())}")
        try:
            os.replace(self.path, aside)
            where = f"moved to {aside}"
        except OSError:
            where = "left in place"
        self.warnings.append(f"progress file {self.path}: {why}; {where}; starting with fresh progress")

    def tour(self, name: str) -> TourProgress:
        return self.tours.setdefault(name, TourProgress())

    def reset(self, name: str) -> bool:
        existed = self.tours.pop(name, None) is not None
        self.save()
        return existed

    def save(self) -> None:
        """Write atomically: a temporary file in the same directory, then os.replace."""
        self.directory.mkdir(parents=True, exist_ok=True)
        data = {"version": SCHEMA_VERSION, "tours": {name: asdict(t) for name, t in self.tours.items()}}
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
