"""The run cache: run a reference script (or a copy of it) once per (code, flags, seed), in parallel.

Each run lives in `root/<key>/`, where the key hashes the content of the repo's .py files, the
script, its flags and its seed. The script writes its own files there (its `--out-dir`), we add
`log.txt` (its output) and, once it exited 0, `run.json`, written atomically: the completion marker.
A folder without the marker is half-finished (interrupted, crashed, timed out) and is run again;
a folder with it is never run again.

Runs are subprocesses, as many at once as the machine has cores, each with one torch thread
(tiny networks run fastest on one, and two runs never fight over cores). Ctrl-C stops the running
ones, deletes their half-written folders, keeps the finished ones and raises RunsInterrupted
(a KeyboardInterrupt that carries the finished results).
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

MARKER = "run.json"
LOG = "log.txt"
_SKIP_DIRS = {"__pycache__", "runs", "walkthrough-work", "node_modules"}
_POLL_S = 0.05
_TERMINATE_GRACE_S = 3.0
_CHILD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "PYTHONHASHSEED": "0", "PYTHONUNBUFFERED": "1"}


# ----- keys ----------------------------------------------------------------------------------
_code_hashes: dict[Path, tuple[tuple, str]] = {}


def code_files(code_dir: Path) -> list[Path]:
    """The .py files of a repo (relative, sorted), skipping caches, hidden folders and run outputs."""
    found = []
    for dirpath, dirnames, filenames in os.walk(code_dir):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        found += [Path(dirpath, name).relative_to(code_dir) for name in filenames if name.endswith(".py")]
    return sorted(found)


def code_hash(code_dir: Path) -> str:
    """sha256 over the relative path and content of every .py file; re-read only when a file's stat changes."""
    code_dir = Path(code_dir).resolve()
    files = code_files(code_dir)
    signature = tuple((str(f), (s := (code_dir / f).stat()).st_mtime_ns, s.st_size) for f in files)
    known = _code_hashes.get(code_dir)
    if known and known[0] == signature:
        return known[1]
    digest = hashlib.sha256()
    for rel in files:
        digest.update(str(rel).encode() + b"\0" + (code_dir / rel).read_bytes() + b"\0")
    _code_hashes[code_dir] = (signature, digest.hexdigest())
    return digest.hexdigest()


@cache
def _environment() -> str:
    """Python and torch versions: the same code and seed give other numbers under another torch."""
    from importlib import metadata
    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = "none"
    return f"python {sys.version_info[0]}.{sys.version_info[1]}.{sys.version_info[2]}; torch {torch_version}"


@dataclass(frozen=True)
class RunSpec:
    code_dir: Path                    # a repo: minimal_impls/ppo or a working copy
    script: str                       # "train.py"
    args: tuple[str, ...]             # flags, without the seed and output-directory flags
    seed: int
    seed_flag: str = "--seed"
    out_flag: str = "--out-dir"
    data_files: tuple[Path, ...] = ()  # other inputs whose content the result depends on (a CSV)
    label: str = field(default="", compare=False)   # how progress lines name the run; not part of the key
    crash_measured: bool = field(default=False, compare=False)   # a crash is the result being measured (a planted
                                                                  # bug's run): shown as a result, not as a failure

    def key(self) -> str:
        """Hash of (the repo's .py files, script, args, seed, data files, Python and torch versions)."""
        parts = {"code": code_hash(self.code_dir), "script": self.script, "args": list(self.args),
                 "seed": self.seed, "seed_flag": self.seed_flag, "env": _environment(),
                 "data": [hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in self.data_files]}
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]

    def command(self, out_dir: Path) -> list[str]:
        return [sys.executable, str(Path(self.code_dir) / self.script), *self.args,
                self.seed_flag, str(self.seed), self.out_flag, str(out_dir)]

    def describe(self) -> str:
        return self.label or f"{self.script} {' '.join(self.args)} seed {self.seed}".replace("  ", " ")


# ----- results -------------------------------------------------------------------------------
def _number(text: str):
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def read_metrics(path: Path) -> list[dict]:
    """Rows of a metrics.csv with numbers parsed (int, float, nan); [] if there is none."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]
    except FileNotFoundError:
        return []


def _read_json(path: Path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _tail(path: Path, lines: int = 20) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 8192))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class RunResult:
    spec: RunSpec
    out_dir: Path
    returncode: int
    seconds: float
    cached: bool                      # True: found finished on disk, not run again
    metrics: list[dict]               # rows of out_dir/metrics.csv, numbers parsed
    summary: dict | None              # out_dir/summary.json if the script wrote one
    log_tail: str                     # last lines of its output (shown when it crashed)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def column(self, name: str) -> list:
        """One metrics column, row by row (None where a row has no value)."""
        return [row.get(name) for row in self.metrics]


def _result(spec: RunSpec, out_dir: Path, returncode: int, seconds: float, cached: bool, note: str = "") -> RunResult:
    tail = _tail(out_dir / LOG)
    return RunResult(spec, out_dir, returncode, seconds, cached, read_metrics(out_dir / "metrics.csv"),
                     _read_json(out_dir / "summary.json"), tail + (f"\n{note}" if note else ""))


def finished(spec: RunSpec, root: Path) -> RunResult | None:
    """The finished run of `spec` under root, or None if it never finished there."""
    out_dir = Path(root) / spec.key()
    marker = _read_json(out_dir / MARKER)
    if not isinstance(marker, dict) or marker.get("returncode") != 0:
        return None
    return _result(spec, out_dir, 0, float(marker.get("seconds", 0.0)), cached=True)


def write_atomic(path: Path, text: str, durable: bool = False) -> None:
    """Write text to path through a temporary file and a rename: readers see the old file or the new, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_marker(out_dir: Path, spec: RunSpec, seconds: float) -> None:
    data = {"returncode": 0, "seconds": round(seconds, 3), "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "command": spec.command(out_dir), "code_dir": str(Path(spec.code_dir).resolve()),
            "code_hash": code_hash(spec.code_dir), "seed": spec.seed, "args": list(spec.args),
            "environment": _environment()}
    write_atomic(out_dir / MARKER, json.dumps(data, indent=1), durable=True)


# ----- running -------------------------------------------------------------------------------
class RunsInterrupted(KeyboardInterrupt):
    """Ctrl-C during run_all: the running runs were stopped; `results` holds the finished ones."""

    def __init__(self, results: list[RunResult]):
        super().__init__(f"interrupted; {len(results)} finished runs kept")
        self.results = results


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


_PROGRESS_RE = re.compile(r"\b(\d+)\s*/\s*(\d+)\b")


@dataclass
class _Running:
    spec: RunSpec
    out_dir: Path
    proc: subprocess.Popen
    log: object
    lock: object
    started: float
    task: int
    checked: float = 0.0


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            proc.terminate()
        try:
            proc.wait(_TERMINATE_GRACE_S)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()
            proc.wait()


def _make_progress(console, description: str, total: int):
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn)
    from rich.table import Column

    # markup=False: descriptions hold flags and statuses hold the program's own output
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn(bar_width=20),
                        MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.fields[status]}", markup=False, style="dim",
                                   table_column=Column(max_width=40, no_wrap=True, overflow="ellipsis")),
                        console=console, transient=False)
    overall = progress.add_task(description or "runs", total=total, status="")
    return progress, overall


def run_all(specs: list[RunSpec], root: Path, *, jobs: int | None = None, timeout: float | None = None,
            console=None, description: str = "") -> list[RunResult]:
    """Run every spec not already finished under root; return one result per spec, in order.

    jobs: runs at once (default: the machine's cores). timeout: seconds per run; a run past it is
    killed and reported failed (not cached). Identical specs run once."""
    from filelock import FileLock, Timeout
    from rich.console import Console
    from rich.text import Text

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    jobs = max(1, jobs or available_cores())
    console = console or Console()
    done: dict[str, RunResult] = {}
    todo: deque[RunSpec] = deque()
    keys = [spec.key() for spec in specs]
    queued: set[str] = set()
    for spec, key in zip(specs, keys):
        if key in done or key in queued:
            continue
        result = finished(spec, root)
        if result is not None:
            done[key] = result
        else:
            todo.append(spec)
            queued.add(key)
    locks = root / ".locks"
    if not todo:
        return [done[key] for key in keys]

    progress, overall = _make_progress(console, description, len(todo))
    running: dict[str, _Running] = {}
    previous_term = None
    if threading.current_thread() is threading.main_thread():
        def _on_term(signum, frame):
            raise KeyboardInterrupt
        previous_term = signal.signal(signal.SIGTERM, _on_term)

    def start(spec: RunSpec) -> bool:
        key = spec.key()
        locks.mkdir(exist_ok=True)
        lock = FileLock(str(locks / f"{key}.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:                   # another walkthrough process runs it now: wait for it
            return False
        result = finished(spec, root)      # it may have finished while we waited
        if result is not None:
            lock.release()
            done[key] = result
            progress.advance(overall)
            return True
        out_dir = root / key
        if out_dir.exists():
            shutil.rmtree(out_dir)         # half-finished: start again from nothing
        out_dir.mkdir(parents=True)
        log = open(out_dir / LOG, "wb")
        log.write(("$ " + shlex.join(spec.command(out_dir)) + "\n").encode())
        log.flush()
        proc = subprocess.Popen(spec.command(out_dir), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, **_CHILD_ENV}, start_new_session=True)
        running[key] = _Running(spec, out_dir, proc, log, lock, time.monotonic(), task=-1)
        running[key].task = progress.add_task(spec.describe(), total=None, status="starting")
        return True

    def finish(key: str, returncode: int, note: str = "") -> None:
        run = running.pop(key)
        seconds = time.monotonic() - run.started
        run.log.close()
        if returncode == 0:
            _write_marker(run.out_dir, run.spec, seconds)
        run.lock.release()
        progress.remove_task(run.task)
        progress.advance(overall)
        result = _result(run.spec, run.out_dir, returncode, seconds, cached=False, note=note)
        done[key] = result
        mark = Text("✓ ", style="green") if result.ok else Text("✗ ", style="bold red")
        status = f"{seconds:.1f} s" if result.ok else (note or f"failed (exit {returncode}); log: {run.out_dir / LOG}")
        if not result.ok and not note and run.spec.crash_measured:
            mark = Text("• ", style="cyan")
            status = f"crashed after {seconds:.1f} s (exit {returncode}): the planted bug's effect is being measured"
        progress.console.print(Text.assemble(mark, run.spec.describe(), ("  " + status, "dim")))

    waiting: deque[RunSpec] = deque()
    try:
        with progress:
            while todo or running or waiting:
                while todo and len(running) < jobs:
                    spec = todo.popleft()
                    if not start(spec):
                        waiting.append(spec)
                if waiting and len(running) < jobs:
                    spec = waiting.popleft()
                    if not start(spec):
                        waiting.append(spec)
                now = time.monotonic()
                for key, run in list(running.items()):
                    returncode = run.proc.poll()
                    if returncode is not None:
                        finish(key, returncode)
                    elif timeout is not None and now - run.started > timeout:
                        _stop(run.proc)
                        finish(key, -9, note=f"timed out after {timeout:g} s and was stopped")
                    elif now - run.checked > 0.5:
                        run.checked = now
                        last = _tail(run.out_dir / LOG, 1)
                        if last.startswith("$ "):           # only the command line we wrote: no output yet
                            continue
                        match = _PROGRESS_RE.search(last)
                        if match and 0 < int(match[2]):
                            progress.update(run.task, completed=int(match[1]), total=int(match[2]))
                        progress.update(run.task, status=last[:60])
                time.sleep(_POLL_S)
    except KeyboardInterrupt:
        for run in running.values():
            _stop(run.proc)
            run.log.close()
            shutil.rmtree(run.out_dir, ignore_errors=True)
            run.lock.release()
        running.clear()
        raise RunsInterrupted([done[key] for key in dict.fromkeys(keys) if key in done]) from None
    finally:
        for run in running.values():      # an unexpected error: never leave runs behind
            _stop(run.proc)
            run.lock.release()
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)
    return [done[key] for key in keys]
