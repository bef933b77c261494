"""A script's own command-line flags, read from its argparse parser, and `--set NAME=V1,V2` checked against them.

The parser is read by running the script in a subprocess up to its parse_args call (argprobe.py),
so the flags, types, choices and defaults are exactly what `python train.py --help` lists, also
for a learner's edited copy. The same subprocess asks the parser itself to accept or reject each
argument list we are about to run, so a bad value is refused with argparse's own words before any
training starts. Answers are cached by the content of the repo's .py files.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from .runs import code_hash, write_atomic

PROBE = Path(__file__).with_name("argprobe.py")
PREFIX = "WALKTHROUGH-ARGPROBE "
SWITCH_KINDS = ("_StoreTrueAction", "_StoreFalseAction", "_StoreConstAction", "BooleanOptionalAction")
ON, OFF = "on", "off"
_ON_WORDS, _OFF_WORDS = {"on", "true", "yes", "1"}, {"off", "false", "no", "0"}


class FlagError(Exception):
    """A flag or value the script does not accept, or a script whose flags cannot be read."""


@dataclass(frozen=True)
class Flag:
    options: tuple[str, ...]     # ("--gae-lambda",)
    dest: str
    kind: str                    # argparse's action class name
    nargs: object
    type: str | None             # "int", "float", ... (None: a string)
    choices: tuple | None
    default: object
    help: str | None

    @property
    def option(self) -> str:
        """The long spelling (--gae-lambda), else the first one."""
        return next((o for o in self.options if o.startswith("--")), self.options[0] if self.options else self.dest)

    @property
    def name(self) -> str:
        return self.option.lstrip("-")

    @property
    def switch(self) -> bool:
        """A flag that takes no value (--no-norm-adv): it is either given or not."""
        return self.kind in SWITCH_KINDS or self.nargs == 0

    @property
    def many(self) -> bool:
        """Takes several words (nargs '+', '*' or a number above 1): `--hidden 64 64`."""
        return self.nargs in ("+", "*") or (isinstance(self.nargs, int) and self.nargs > 1)

    def describe(self) -> str:
        if self.switch:
            what = "a switch, off unless given"
        else:
            what = f"{'one or more ' if self.many else ''}{self.type or 'str'}"
            if self.choices:
                what += f", one of {', '.join(map(str, self.choices))}"
            what += f"; default {self.default!r}"
        return f"{self.option}: {what}" + (f" — {self.help}" if self.help else "")


@dataclass
class Parser:
    script: Path
    flags: list[Flag]

    def find(self, name: str) -> Flag | None:
        bare = name.lstrip("-")
        for flag in self.flags:
            if bare in (o.lstrip("-") for o in flag.options) or bare.replace("-", "_") == flag.dest:
                return flag
        return None

    def names(self) -> list[str]:
        return [f.name for f in self.flags if f.options and f.kind != "_HelpAction"]

    def unknown(self, name: str) -> FlagError:
        near = difflib.get_close_matches(name.lstrip("-"), self.names(), n=1, cutoff=0.6)
        hint = f"did you mean {near[0]!r}? " if near else ""
        return FlagError(f"{self.script.name} has no flag --{name.lstrip('-')}; {hint}"
                         f"its flags: {', '.join(self.names())}")


class ScriptProbe:
    """The flags of one script and its parser's verdict on argument lists, from one subprocess at most.

    Both answers are cached (state folder, keyed by the content of the repo's .py files), so a
    command run again starts no subprocess. Use as a context manager: the child is stopped on exit."""

    def __init__(self, script: Path, timeout: float = 60.0):
        self.script = Path(script).resolve()
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None
        self._stderr = None
        if not self.script.is_file():
            raise FlagError(f"{self.script}: no such script")
        from ..progress import state_dir
        self._cache = state_dir() / "cache" / "argprobe"
        self._code = code_hash(self.script.parent)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _cache_file(self, what: str, payload=None) -> Path:
        digest = hashlib.sha256(json.dumps([self._code, self.script.name, sys.version, what, payload])
                                .encode()).hexdigest()[:24]
        return self._cache / f"{what}-{digest}.json"

    def parser(self) -> Parser:
        cache = self._cache_file("flags")
        try:
            answer = json.loads(cache.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            answer = self._ask(None)
            write_atomic(cache, json.dumps(answer))
        flags = [Flag(tuple(a["options"]), a["dest"], a["kind"], a["nargs"], a["type"],
                      tuple(a["choices"]) if a["choices"] is not None else None, a["default"], a["help"])
                 for a in answer["actions"]]
        return Parser(self.script, flags)

    def check(self, candidates: list[list[str]]) -> list[str | None]:
        """Per argument list: None if the script's parser accepts it, else the parser's error message."""
        candidates = [list(c) for c in candidates]
        if not candidates:
            return []
        cache = self._cache_file("checks", candidates)
        try:
            return json.loads(cache.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
        if self.proc is None:
            self._ask(None)
        checks = self._ask(candidates)
        write_atomic(cache, json.dumps(checks))
        return checks

    def _ask(self, candidates):
        """Start the child (candidates None: read its flags) or send it the candidates; return its answer."""
        if candidates is None:
            self._stderr = tempfile.TemporaryFile()
            env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
            self.proc = subprocess.Popen([sys.executable, str(PROBE)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self._stderr, text=True, env=env, cwd=self.script.parent)
            message = {"script": str(self.script)}
        else:
            message = candidates
        timed_out = threading.Event()
        timer = threading.Timer(self.timeout, lambda: (timed_out.set(), self.proc.kill()))
        timer.start()
        try:
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
            for line in self.proc.stdout:
                if line.startswith(PREFIX):
                    return json.loads(line[len(PREFIX):])
        except (BrokenPipeError, ValueError):
            pass
        finally:
            timer.cancel()
        self.proc.wait()
        if timed_out.is_set():
            raise FlagError(f"{self.script}: could not read its flags: it did not call argparse's parse_args "
                            f"within {self.timeout:g} s")
        self._stderr.seek(0)
        lines = self._stderr.read().decode(errors="replace").strip().splitlines()
        mine = [i for i, line in enumerate(lines) if str(self.script.parent) in line]   # the script's frames on
        tail = "\n".join(lines[mine[0]:] if mine else lines[-8:])
        raise FlagError(f"{self.script}: could not read its flags: the script " +
                        (f"failed before parsing its arguments:\n{tail}" if self.proc.returncode else
                         "never called argparse's parse_args"))

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    self.proc.stdin.close()
                except OSError:
                    pass
                try:
                    self.proc.wait(2)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self._stderr.close()
            self.proc = None


def probe(script: Path, candidates: list[list[str]] = (), timeout: float = 60.0) -> tuple[Parser, list[str | None]]:
    """The script's flags and, per candidate argument list, None if its parser accepts it, else its error."""
    with ScriptProbe(script, timeout) as session:
        return session.parser(), session.check(list(candidates))


@dataclass(frozen=True)
class Setting:
    """One --set: a flag and the values to try; each value as the argument words it adds."""
    flag: Flag
    values: tuple[str, ...]              # as the learner wrote them ("0.8", "on", "64 64")
    words: tuple[tuple[str, ...], ...]   # per value: the words for the command line (() = flag left out)

    @property
    def name(self) -> str:
        return self.flag.name


def parse_setting(text: str, parser: Parser, reserved: dict[str, str]) -> Setting:
    """`NAME=V1,V2` (or just `NAME` for a switch: without it vs with it) -> a Setting.

    reserved: flags the experiment sets itself (the seed, the output folder) -> what to use instead."""
    name, has_values, raw = text.partition("=")
    name = name.strip()
    if not name:
        raise FlagError(f"--set {text!r}: write NAME=V1,V2 (a flag of {parser.script.name} and its values)")
    flag = parser.find(name)
    if flag is None:
        raise parser.unknown(name)
    for option, instead in reserved.items():
        if option in flag.options:
            raise FlagError(f"--set {text!r}: {option} is set by walkthrough; {instead}")
    if flag.kind in ("_HelpAction", "_VersionAction"):
        raise FlagError(f"--set {text!r}: {flag.option} is not a setting")
    values = [v.strip() for v in raw.split(",")] if has_values else []
    if has_values and (not values or any(v == "" for v in values)):
        raise FlagError(f"--set {text!r}: an empty value; write NAME=V1,V2 with no empty item")
    if len(set(values)) != len(values):
        raise FlagError(f"--set {text!r}: a value is listed twice")
    if flag.switch:
        if not has_values:
            values = [OFF, ON]
        words = []
        for value in values:
            if value.lower() not in _ON_WORDS | _OFF_WORDS:
                raise FlagError(f"--set {text!r}: {flag.option} is a switch: write --set {flag.name} "
                                f"(without it vs with it) or {flag.name}=on,off")
            words.append((flag.option,) if value.lower() in _ON_WORDS else ())
        values = [ON if w else OFF for w in words]
        if len(set(values)) != len(values):
            raise FlagError(f"--set {text!r}: a value is listed twice")
        return Setting(flag, tuple(values), tuple(words))
    if not has_values:
        default = " ".join(map(str, flag.default)) if isinstance(flag.default, list) else flag.default
        example = f"{default},..." if default not in (None, "") else "V1,V2"
        raise FlagError(f"--set {text!r}: {flag.option} takes a value; give the values to try, e.g. "
                        f"--set {flag.name}={example}")
    words = tuple((flag.option, *(value.split() if flag.many else [value])) for value in values)
    return Setting(flag, tuple(values), words)
