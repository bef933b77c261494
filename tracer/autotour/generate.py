"""A walkthrough generated for any training script: run it once briefly (probe), choose the steps (analysis),
explain them (describe), check each step's anchor, and write the tour as a walkthrough file if asked."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import spec
from ..engine import anchors, launch
from . import analysis, describe

DEFAULT_SECONDS = 40.0
_PIP_NAMES = {"cv2": "opencv-python", "sklearn": "scikit-learn", "PIL": "pillow", "yaml": "pyyaml",
              "skimage": "scikit-image", "tensorboard": "tensorboard", "wandb": "wandb"}
_SKIPPED_DIRS = {".git", ".venv", "venv", "env", "node_modules", "__pycache__", "site-packages", ".tox", "build",
                 "dist", "wandb", "runs"}


class GenerateError(Exception):
    """The tour could not be generated; the message says why and what to do."""


@dataclass
class Generated:
    walkthrough: spec.Walkthrough
    analysis: analysis.Analysis
    seconds: float                  # the whole generation, the short run included
    run_seconds: float              # the short run alone
    notes: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def missing_module_message(name: str, where: str = "") -> str:
    pip = _PIP_NAMES.get(name.split(".")[0], name.split(".")[0])
    at = f" (imported at {where})" if where else ""
    return (f"the program needs the module {name!r}{at}, which is not installed for {sys.executable}. "
            f"Install it there (pip install {pip}; the package name may differ) and start again.")


def run_probe(script: Path, args: list[str], repo_dir: Path, seconds: float = DEFAULT_SECONDS,
              cwd: Path | None = None) -> dict:
    """Run the script once under the probe, cut short after `seconds`; its output goes to a log, not the screen."""
    with tempfile.TemporaryDirectory(prefix="walkthrough-probe-") as tmp:
        out, log = Path(tmp) / "probe.json", Path(tmp) / "output.log"
        command = [sys.executable, "-m", "tracer.autotour.probe", str(out), str(seconds), str(repo_dir), str(script),
                   *args]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"}
        with open(log, "wb") as output:
            try:
                subprocess.run(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                               cwd=cwd, env=env, timeout=seconds + 60)
            except subprocess.TimeoutExpired:
                raise GenerateError(f"the short run of {script.name} did not stop {seconds + 60:.0f} s after it "
                                    "started, even when asked to") from None
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        if not out.exists():
            raise GenerateError(f"the short run of {script.name} ended without a record; its last output:\n{tail}")
        probe = json.loads(out.read_text(encoding="utf-8"))
    probe["output_tail"] = tail
    return probe


def _failure(probe: dict, script: Path) -> str | None:
    """A message when the program failed before anything worth a tour ran."""
    end = probe["exit"]
    if end.get("kind") == "error" and end.get("missing_module"):
        where = end.get("where") or []
        at = f"{Path(where[0]).name}:{where[1]}" if where else ""
        return missing_module_message(end["missing_module"], at)
    return None


def _repo_hash(repo_dir: Path) -> str:
    digest = hashlib.sha1()
    count = 0
    for folder, dirs, files in os.walk(repo_dir):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".py") and count < 2000:
                path = Path(folder) / name
                digest.update(str(path.relative_to(repo_dir)).encode())
                digest.update(hashlib.sha1(path.read_bytes()).digest())
                count += 1
    return digest.hexdigest()


def cache_key(script: Path, args: list[str], repo_dir: Path, seconds: float) -> str:
    text = json.dumps([str(Path(script).resolve()), args, str(repo_dir), seconds, _repo_hash(repo_dir)])
    return hashlib.sha1(text.encode()).hexdigest()


def steps_from(result: analysis.Analysis, repo_dir: Path, idiom_hits: dict) -> tuple[list[spec.Step], list[str]]:
    """One step per group, its anchor checked to resolve to the group's first statement; others are dropped."""
    steps, dropped, used = [], [], set()
    for group in result.groups:
        members = list(group.statements)
        while members:
            head = members[0]
            try:
                found = anchors.resolve(head.path, head.code, head.function)
            except anchors.AnchorError:
                found = None
            if found is not None and found.line == head.line:
                break
            members.pop(0)             # the same code twice in the function: start the step at the next statement
        if not members:
            dropped.append(f"{group.head.path.name}:{group.head.line} (its code is not unique in "
                           f"{group.head.function})")
            continue
        group = analysis.Group(members, group.score)
        hits = [h for s in members for h in idiom_hits.get(s.key, [])]
        name = describe.title(group, hits)
        step_id = describe.slug(name)
        n = 2
        while step_id in used:
            step_id, n = f"{describe.slug(name)}-{n}", n + 1
        used.add(step_id)
        last = members[-1]
        until = None
        if len(members) > 1:
            until = last.code.splitlines()[0]
        steps.append(spec.Step(
            id=step_id, title=name, file=group.head.path.relative_to(repo_dir).as_posix(), at=_short_anchor(group.head),
            function=group.head.function, until=until, text=describe.explanation(group, result.training_loop, hits),
            watch=describe.watch(group)))
    return steps, dropped


def _short_anchor(stmt: analysis.Stmt) -> str:
    """The statement's first line when that alone finds it, else its whole code."""
    first = stmt.code.splitlines()[0]
    if first != stmt.code:
        try:
            if anchors.resolve(stmt.path, first, stmt.function).line == stmt.line:
                return first
        except anchors.AnchorError:
            pass
    return stmt.code


def _idiom_hits(statements: dict) -> dict:
    """Idiom catalogue hits (tracer.quiz.idioms, the questions issue's part) per statement, if it is there."""
    try:
        from ..quiz.idioms import find_idioms
    except ImportError:
        return {}
    by_statement: dict = {}
    for path in {s.path for s in statements.values()}:
        try:
            hits = find_idioms(anchors.read_source(path), str(path))
        except Exception:          # a catalogue problem must not stop a tour
            continue
        for hit in hits:
            for stmt in statements.values():
                if stmt.path == path and stmt.line <= hit.line <= max(stmt.end_line, hit.line) and \
                        hit.line <= stmt.end_line:
                    by_statement.setdefault(stmt.key, []).append(hit)
                    stmt.idioms.append(hit)
    return by_statement


def generate(script: Path, args: list[str], repo_dir: Path | None = None, seconds: float = DEFAULT_SECONDS,
             cwd: Path | None = None) -> Generated:
    started = time.monotonic()
    script = Path(script).resolve()
    if not script.is_file():
        raise GenerateError(f"{script}: no such script")
    repo_dir = Path(repo_dir).resolve() if repo_dir else launch.repo_root(script)
    try:
        script.relative_to(repo_dir)
    except ValueError:
        raise GenerateError(f"{script} is not inside the repository {repo_dir} (--repo)") from None
    probe = run_probe(script, args, repo_dir, seconds, cwd)
    failure = _failure(probe, script)
    if failure:
        raise GenerateError(failure)
    hits_box: dict = {}
    result = analysis.analyse(probe, idioms=lambda statements: hits_box.update(_idiom_hits(statements)))
    end = probe["exit"]
    notes = []
    if end.get("kind") == "error":
        where = end.get("where") or []
        at = f" at {Path(where[0]).name}:{where[1]}" if where else ""
        message = f"the program failed{at} ({end.get('type')}: {end.get('message')})"
        if not result.sinks:
            raise GenerateError(message + " before any training step ran; its traceback:\n"
                                + end.get("traceback", probe.get("output_tail", "")))
        notes.append(message + ": the tour ends there.")
    elif end.get("kind") == "exit":
        if not result.sinks:
            raise GenerateError(f"the program exited with status {end.get('code')} before any training step ran; "
                                f"its last output:\n{probe.get('output_tail', '').strip()}")
        notes.append(f"the program exited with status {end.get('code')}.")
    if end.get("kind") == "timeout":
        notes.append(f"the short run was stopped after {seconds:.0f} s: lines that run only later (an evaluation at "
                     "the end, a checkpoint) are not in the tour. Give the program a small budget (e.g. -- --epochs 1) "
                     "or a longer run (--probe-seconds) to include them.")
    if not result.sinks:
        notes.append("no `.backward()` call or optimiser step ran: the steps follow the model, the data and the "
                     "evaluation only.")
    steps, dropped = steps_from(result, repo_dir, hits_box)
    if not steps:
        ran = (f"none of the {len(result.statements)} statements that ran is one a tour stops at (a model, the "
               "data, a loss, a training step); choose lines with --break FILE:PATTERN" if result.statements else
               f"no line of the repository ({repo_dir}) ran")
        raise GenerateError(f"found nothing to stop at in {script.name}: {ran}; its output:\n"
                            f"{probe.get('output_tail', '')}")
    key = cache_key(script, args, repo_dir, seconds)
    name = f"auto-{script.stem}-{key[:10]}"
    run = spec.RunEntry(script.relative_to(repo_dir).as_posix(), list(args))
    summary = (f"Generated from the code and a {probe['seconds']:.0f} s run of `python {run.script}"
               f"{' ' + ' '.join(args) if args else ''}`: {len(steps)} steps, each reached in that run.")
    walkthrough = spec.Walkthrough(name, f"{script.name}: a generated tour", repo_dir, [run], steps, summary, script)
    spec.resolve(walkthrough)
    return Generated(walkthrough, result, time.monotonic() - started, probe["seconds"], notes, dropped)


# ----- walkthrough files ------------------------------------------------------------------------------------------
def _string(text: str) -> str:
    if "\n" in text and "'''" not in text and not text.endswith("'"):
        return "'''\n" + text + "'''"
    return json.dumps(text, ensure_ascii=False)


def to_toml(walkthrough: spec.Walkthrough, path: Path) -> str:
    """The tour as a walkthrough file at `path`: `repo` relative to the file's folder, one [[step]] per step."""
    repo = os.path.relpath(walkthrough.repo_dir, Path(path).resolve().parent)
    out = [f"# {walkthrough.summary}", "# Edit it freely: steps are anchored to code, not line numbers "
           "(`walkthrough check FILE` validates it).",
           f"title = {_string(walkthrough.title)}", f"repo = {_string(Path(repo).as_posix())}",
           f"summary = {_string(walkthrough.summary)}", ""]
    for run in walkthrough.runs:
        out += ["[[run]]", f"script = {_string(run.script)}",
                "args = [" + ", ".join(_string(a) for a in run.args) + "]", ""]
    for step in walkthrough.steps:
        out += ["[[step]]", f"id = {_string(step.id)}", f"title = {_string(step.title)}",
                f"file = {_string(step.file)}"]
        if step.function:
            out.append(f"function = {_string(step.function)}")
        out.append(f"at = {_string(step.at)}")
        if step.until:
            out.append(f"until = {_string(step.until)}")
        if step.watch:
            out.append("watch = [" + ", ".join(_string(w) for w in step.watch) + "]")
        if step.text:
            out.append(f"text = {_string(step.text)}")
        out.append("")
    return "\n".join(out)


def save(walkthrough: spec.Walkthrough, path: Path) -> Path:
    """Write the walkthrough file atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = to_toml(walkthrough, path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return path
