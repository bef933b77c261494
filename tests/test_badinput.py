"""Bad input of every class, given to the installed `walkthrough` command as a user would.

Each case asserts the exit code, that the message names the file, line or value at fault, that no
Python traceback is printed, and that no progress is lost: every state folder starts with a learner's
real progress (the `sentinel` tour), which must still be there afterwards, or, when the case is a
corrupt progress file, be kept in the copy set aside. The cases run as subprocesses, four at a time,
in a session fixture; each is then checked by its own test.
"""
import json
import os
import re
import subprocess
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from conftest import ROOT, WALKTHROUGH

SENTINEL = {"next_step": 3, "steps_seen": ["a", "b", "c"], "answers": {"a.1": True, "b.1": False},
            "missed": ["b.1"], "finished": False, "updated": 1.0}

TOY_SCRIPT = '''\
import sys


def main():
    total = 0
    label = "[/x] not markup"
    for i in range(3):
        total = total + i
    print("total", total)
    return total


main()
'''


def toy_walkthrough(tmp, body="", title="Toy", step_title="Adding up", extra_step="", run_args=None):
    """A tiny repo (no torch: starts in well under a second) and a walkthrough of it."""
    repo = tmp / "toy"
    repo.mkdir(exist_ok=True)
    if not (repo / "train.py").exists():
        (repo / "train.py").write_text(TOY_SCRIPT)
    path = tmp / "toy.toml"
    quote = lambda value: json.dumps(value, ensure_ascii=False)    # noqa: E731 (a TOML basic string)
    path.write_text(f'title = {quote(title)}\nrepo = {quote(str(repo))}\n[[run]]\nscript = "train.py"\n'
                    f'args = {quote(run_args or [])}\n\n'
                    f'[[step]]\nid = "add"\ntitle = {quote(step_title)}\nfile = "train.py"\n'
                    f'at = "total = total + i"\nwatch = ["total", "label"]\n' + textwrap.dedent(body) + extra_step)
    return path


@dataclass
class Case:
    id: str
    argv: list                                   # may hold {tmp}
    code: int
    message: str                                 # a regex the (whitespace-collapsed) output must match
    setup: Callable = lambda tmp: None
    stdin: str | None = None
    env: dict = field(default_factory=dict)
    progress: str | bytes | None = None          # the progress file to start from (default: the sentinel)
    sentinel_kept: bool = True                    # False: a corrupt file; its original bytes must be set aside


def _write(name, content):
    def setup(tmp):
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    return setup


def _both(*setups):
    def setup(tmp):
        for s in setups:
            s(tmp)
    return setup


def _toy(**kw):
    return lambda tmp: toy_walkthrough(tmp, **kw)


def _deep_json(depth=100_000):
    return "[" * depth + "]" * depth


def _progress(tours):
    return json.dumps({"version": 2, "tours": {"sentinel": SENTINEL, **tours}})


# ----- the cases, by class -------------------------------------------------------------------------------
MARKUP = [
    Case("markup-title-and-step-title", ["start", "{tmp}/toy.toml", "--auto"], 0,
         r"\[/x\] \[\[run\]\] T: done.*", _toy(title="[/x] [[run]] T", step_title="[bold]Adding[/] [[step]]")),
    Case("markup-step-title-shown-literally", ["start", "{tmp}/toy.toml", "--auto"], 0,
         r"Step 1/1 \[bold\]Adding\[/\] \[\[step\]\]", _toy(step_title="[bold]Adding[/] [[step]]")),
    Case("markup-text-math-how", ["start", "{tmp}/toy.toml", "--auto"], 0, r"\[/x\] math.*\[/y\] how",
         _toy(body='text = "some [/z] text"\nmath = "[/x] math"\nhow = "[/y] how"\n')),
    Case("markup-unknown-key", ["check", "{tmp}/toy.toml"], 2, r"toy\.toml:\d+: unknown key '\[/bold\]'",
         _toy(body='"[/bold]" = 1\n')),
    Case("markup-run-table-named", ["check", "{tmp}/bad.toml"], 2, r"bad\.toml:\d+: \[\[run\]\] needs 'script'",
         _write("bad.toml", f'title = "T"\nrepo = "{ROOT / "minimal_impls" / "mlp"}"\n[[run]]\nargs = []\n'
                            '[[step]]\nid = "a"\ntitle = "A"\nfile = "train.py"\nat = "x"\n')),
    Case("markup-path-with-brackets", ["check", "{tmp}/[red]x[/]/toy.toml"], 2,
         r"\[red\]x\[/\]/toy\.toml: no such walkthrough file"),
    Case("markup-walkthrough-name", ["start", "[/x]"], 2, r"no walkthrough named '\[/x\]'; available: mlp, ppo"),
    Case("markup-reset-name", ["reset", "[/x][bold]"], 0, r"progress of '\[/x\]\[bold\]' was already empty"),
    Case("markup-vscode-name", ["vscode", "[/x]", "--dir", "{tmp}"], 2, r"no walkthrough named '\[/x\]'"),
    Case("markup-answer-from-file", ["start", "{tmp}/toy.toml", "--answers", "{tmp}/a.json"], 0,
         r"answer \(from file\): \[/x\] \[bold\]",
         _both(_toy(body='[[step.question]]\nkind = "text"\nprompt = "Which?"\nanswer = "total"\n'),
               _write("a.json", json.dumps({"add.1": "[/x] [bold]"})))),
    Case("markup-learner-exception", ["start", "{tmp}/toy.toml", "--auto"], 1,
         r"The program failed.*ValueError: \[/x\] boom \[\[run\]\]",
         _both(_write("toy/train.py", TOY_SCRIPT.replace('print("total", total)',
                                                          'raise ValueError("[/x] boom [[run]]")')), _toy())),
    Case("markup-learner-sys-exit", ["start", "{tmp}/toy.toml", "--auto"], 1, r"train\.py stopped: \[/x\] bye",
         _both(_write("toy/train.py", TOY_SCRIPT.replace('print("total", total)', 'sys.exit("[/x] bye")')), _toy())),
    Case("markup-program-output", ["start", "{tmp}/toy.toml", "--auto"], 0, r"\[/out\] \[\[x\]\]",
         _both(_write("toy/train.py", TOY_SCRIPT.replace('print("total", total)', 'print("[/out] [[x]]")')), _toy())),
    Case("markup-typed-command", ["start", "{tmp}/toy.toml", "--generated", "0"], 130, r"unknown command '\[/x\]'",
         _toy(), stdin="[/x]\n"),
    Case("markup-typed-answer", ["start", "{tmp}/toy.toml"], 130, r"not quite the answer: total",
         _toy(body='[[step.question]]\nkind = "text"\nprompt = "Which?"\nanswer = "total"\n'), stdin="[/x] [bold]\n"),
    Case("markup-print-exception", ["start", "{tmp}/toy.toml", "--generated", "0"], 130, r"ValueError: \[/x\] from p",
         _toy(), stdin="p (_ for _ in ()).throw(ValueError('[/x] from p'))\n"),
    Case("markup-print-value", ["start", "{tmp}/toy.toml", "--generated", "0"], 130, r"label = '\[/x\] not markup'",
         _toy(), stdin="p label\n"),
    Case("markup-hint", ["start", "{tmp}/toy.toml", "--generated", "0"], 130, r"\[/x\] a hint \[\[step\]\]",
         _toy(body='hint = "[/x] a hint [[step]]"\n'), stdin="h\n"),
    Case("markup-watched-value", ["start", "{tmp}/toy.toml", "--auto"], 0, r"label '\[/x\] not markup'", _toy()),
    Case("markup-break-pattern", ["start", "{tmp}/toy/train.py", "--break", "train.py:[/x]"], 2,
         r"--break 'train\.py:\[/x\]'.*no statement in train\.py matches '\[/x\]'", _toy()),
    Case("markup-quiz-path", ["quiz", "{tmp}/[b]q[/b].py", "--kinds", "names"], 0, r"questions from .*\[b\]q\[/b\]\.py",
         _write("[b]q[/b].py", "x = 1\ny = x + 2\n")),
    Case("markup-progress-entry-name", ["progress"], 0, r"\[/x\]\[bold\]",
         progress=json.dumps({"version": 2, "tours": {"sentinel": SENTINEL,
                                                      "[/x][bold]": {"next_step": 1, "missed": ["[/q].1"]}}})),
    Case("markup-question-choices", ["start", "{tmp}/toy.toml", "--answers", "{tmp}/a.toml"], 0,
         r"a\) \[/x\] one.*b\) \[bold\]two",
         _both(_toy(body='[[step.question]]\nkind = "choice"\nprompt = "[/p] pick"\nchoices = ["[/x] one", '
                         '"[bold]two"]\nanswer = "[/x] one"\n'), _write("a.toml", 'add = ["a"]\n'))),
]

PROGRESS = [
    Case(f"progress-{name}", ["progress"], 0, r"warning: progress file .*progress\.json: " + why,
         progress=content, sentinel_kept=False)
    for name, content, why in [
        ("random-bytes", bytes(range(256)) * 4, r"it is corrupt \(not valid JSON\); the original is kept as"),
        ("empty", b"", r"it is corrupt"),
        ("null", "null", r"it is corrupt \(not a JSON object\)"),
        ("list", "[1, 2]", r"it is corrupt \(not a JSON object\)"),
        ("string", '"tours"', r"it is corrupt"),
        ("wrong-version", '{"version": 99, "tours": {}}', r"it is corrupt \(schema version 99, expected 2\)"),
        ("deep-nesting", _deep_json(), r"it is corrupt"),
        ("utf16", '{"version": 2}'.encode("utf-16"), r"it is corrupt"),
    ]
] + [
    Case(f"progress-entry-{name}", ["progress"], 0,
         r"entries of the wrong shape were dropped \(tours/bad\); the rest is kept; the original is kept as",
         progress=_progress({"bad": bad}))
    for name, bad in [
        ("next-step-string", {"next_step": "3"}), ("next-step-float", {"next_step": 2.5}),
        ("next-step-negative", {"next_step": -2}), ("next-step-huge", {"next_step": 10 ** 30}),
        ("answers-list", {"answers": [True]}), ("missed-int", {"missed": 4}), ("steps-seen-string", {"steps_seen": "abc"}),
        ("finished-string", {"finished": "yes"}), ("unknown-field", {"colour": 1}),
        ("attempts-wrong-shape", {"attempts": [{"right": "x"}]}), ("deep-value", {"answers": json.loads(
            "[" * 500 + "]" * 500)}), ("not-an-object", [1, 2]),
    ]
] + [
    Case("progress-entry-nan", ["progress"], 0, r"dropped \(tours/bad\)",
         progress=_progress({"bad": {"next_step": 1}}).replace('"next_step": 1}', '"next_step": NaN}')),
    Case("progress-section-not-a-table", ["progress"], 0, r"dropped \(section 'hunts'\)",
         progress=json.dumps({"version": 2, "tours": {"sentinel": SENTINEL}, "hunts": 5})),
    Case("progress-too-large", ["progress"], 0, r"it is corrupt \(larger than 16 MB\)",
         progress=b'{"version": 2, "x": "' + b"a" * (17 * 2 ** 20) + b'"}', sentinel_kept=False),
    Case("progress-corrupt-then-start", ["start", "{tmp}/toy.toml", "--auto"], 0, r"it is corrupt.*Step 1/1",
         _toy(), progress=b"\x00\x01garbage", sentinel_kept=False),
    Case("progress-bad-entry-then-list", ["list"], 0, r"dropped \(tours/mlp\).*walkthroughs",
         progress=_progress({"mlp": {"next_step": "x"}})),
]

STATE = [
    Case("state-path-is-a-file", ["progress"], 2, r"the state directory .*state-file is not a directory",
         _write("state-file", "x"), env={"WALKTHROUGH_STATE_DIR": "{tmp}/state-file"}, progress="none"),
    Case("state-path-is-a-file-start", ["start", "{tmp}/toy.toml", "--auto"], 2,
         r"the state directory .*state-file is not a directory",
         _both(_write("state-file", "x"), _toy()), env={"WALKTHROUGH_STATE_DIR": "{tmp}/state-file"}, progress="none"),
    Case("state-parent-is-a-file", ["start", "{tmp}/toy.toml", "--auto"], 2,
         r"state-file/inner is not a directory",
         _both(_write("state-file", "x"), _toy()), env={"WALKTHROUGH_STATE_DIR": "{tmp}/state-file/inner"},
         progress="none"),
    Case("state-unwritable", ["start", "{tmp}/toy.toml", "--auto"], 2,
         r"the state directory /proc/self/walkthrough-state is not writable.*WALKTHROUGH_STATE_DIR", _toy(),
         env={"WALKTHROUGH_STATE_DIR": "/proc/self/walkthrough-state"}, progress="none"),
    Case("state-unwritable-reset", ["reset", "mlp"], 2, r"/proc/self/walkthrough-state.*WALKTHROUGH_STATE_DIR",
         env={"WALKTHROUGH_STATE_DIR": "/proc/self/walkthrough-state"}, progress="none"),
    Case("state-progress-is-a-directory", ["progress"], 2, r"progress\.json is a directory, not a progress file",
         progress="directory"),
    Case("state-lock-is-a-directory", ["reset", "mlp"], 2, r"cannot write progress in .*progress\.lock.*WALKTHROUGH_STATE_DIR",
         progress="lock-directory"),
]

ANSWERS = [
    Case(f"answers-{name}", ["start", "{tmp}/toy.toml", "--answers", "{tmp}/" + file], 2, message,
         _both(_toy(), _write(file, content)))
    for name, file, content, message in [
        ("binary", "a.json", bytes(range(256)), r"a\.json:2: not UTF-8 text \(byte 0x80\)"),
        ("deep-json", "a.json", _deep_json(), r"a\.json: nested too deeply to be an answers file"),
        ("deep-toml", "a.toml", "x = " + "[" * 100_000 + "]" * 100_000, r"a\.toml: nested too deeply"),
        ("lone-surrogate", "a.json", '{"add.1": "\\ud800"}', r"a\.json: answer for 'add\.1': holds a lone surrogate"),
        ("surrogate-key", "a.json", '{"\\udfff": "x"}', r"a\.json: key .*lone surrogate"),
        ("huge-int-json", "a.json", '{"add.1": ' + "9" * 5000 + "}", r"a\.json: holds a number of more than 4300 digits"),
        ("huge-int-toml", "a.toml", "add = [" + "9" * 5000 + "]", r"a\.toml: holds a number of more than 4300 digits"),
        ("list-at-top", "a.json", "[1, 2]", r"a\.json: expected a table of step ids to answers"),
        ("nested-table", "a.json", '{"add": {"x": 1}}', r"a\.json: answer for 'add': write the answer as a string"),
        ("null-answer", "a.json", '{"add.1": null}', r"a\.json: answer for 'add\.1': write the answer as a string"),
        ("nested-list", "a.json", '{"add": [[1]]}', r"a\.json: answer for 'add': a list holds one answer"),
        ("too-long", "a.json", json.dumps({"add.1": "x" * 5000}), r"a\.json: answer for 'add\.1': 5000 characters"),
        ("too-large", "a.json", '{"a": "' + "x" * (2 * 2 ** 20) + '"}', r"a\.json: larger than 1 MB"),
        ("bad-toml", "a.toml", "add = [", r"a\.toml: not valid TOML"),
        ("bad-json", "a.json", "{'add': 1}", r"a\.json: not valid JSON"),
        ("latin1", "a.toml", 'add = ["caf\xe9"]'.encode("latin-1"), r"a\.toml:1: not UTF-8 text \(byte 0xe9\)"),
    ]
] + [
    Case("answers-missing-file", ["start", "{tmp}/toy.toml", "--answers", "{tmp}/none.json"], 2,
         r"none\.json: no such answers file", _toy()),
    Case("answers-directory", ["start", "{tmp}/toy.toml", "--answers", "{tmp}"], 2,
         r"cannot read it \(IsADirectoryError: it is a folder\)", _toy()),
    Case("answers-unknown-step", ["start", "{tmp}/toy.toml", "--answers", "{tmp}/a.json"], 0,
         r"a\.json: no step of this walkthrough is called 'nope'.*step ids: add",
         _both(_toy(), _write("a.json", '{"nope": ["x"]}'))),
]

VSCODE = [
    Case("vscode-port-too-big", ["start", "mlp", "--vscode", "--port", "70000"], 2,
         r"argument --port: 70000 is not a port number: choose one from 1 to 65535"),
    Case("vscode-port-negative", ["start", "mlp", "--vscode", "--port", "-1"], 2, r"-1 is not a port number"),
    Case("vscode-port-zero", ["vscode", "mlp", "--port", "0", "--dir", "{tmp}"], 2, r"0 is not a port number"),
    Case("vscode-port-text", ["start", "mlp", "--vscode", "--port", "http"], 2, r"'http' is not a port number"),
    Case("vscode-host-unresolvable", ["start", "{tmp}/toy.toml", "--vscode", "--host", "no-such-host.invalid",
                                      "--port", "47311"], 2,
         r"--host 'no-such-host\.invalid': no such address", _toy()),
    Case("vscode-host-not-local", ["start", "{tmp}/toy.toml", "--vscode", "--host", "192.0.2.1", "--port", "47312"],
         2, r"cannot listen on 192\.0\.2\.1:47312", _toy()),
    Case("vscode-wait-nan", ["start", "mlp", "--vscode", "--wait", "nan"], 2,
         r"argument --wait: nan is not a positive, finite number of seconds"),
    Case("vscode-wait-negative", ["start", "mlp", "--vscode", "--wait", "-5"], 2, r"-5 is not a positive"),
    Case("vscode-wait-inf", ["start", "mlp", "--vscode", "--wait", "inf"], 2, r"inf is not a positive, finite"),
    Case("vscode-port-without-vscode", ["start", "{tmp}/toy.toml", "--port", "6000"], 2,
         r"--host, --port and --wait go with --vscode", _toy()),
    Case("vscode-dir-is-a-file", ["vscode", "mlp", "--dir", "{tmp}"], 2,
         r"\.vscode is a file, not a folder", _write(".vscode", "x")),
    Case("vscode-launch-binary", ["vscode", "mlp", "--dir", "{tmp}"], 2, r"launch\.json:1: not UTF-8 text",
         _write(".vscode/launch.json", b"\xff\xfe\x00garbage")),
    Case("vscode-launch-deep", ["vscode", "mlp", "--dir", "{tmp}"], 2, r"launch\.json: nested too deeply",
         _write(".vscode/launch.json", _deep_json())),
    Case("vscode-launch-directory", ["vscode", "mlp", "--dir", "{tmp}"], 2, r"launch\.json is not a file",
         lambda tmp: (tmp / ".vscode" / "launch.json").mkdir(parents=True)),
    Case("vscode-launch-wrong-shape", ["vscode", "mlp", "--dir", "{tmp}"], 2,
         r"launch\.json: expected an object with a 'configurations' list",
         _write(".vscode/launch.json", '{"configurations": 5}')),
    Case("vscode-launch-invalid", ["vscode", "mlp", "--dir", "{tmp}"], 2, r"launch\.json:\d+: not valid JSON-with-comments",
         _write(".vscode/launch.json", '{\n  "configurations": [,\n}')),
]

WALKTHROUGH_FILES = [
    Case("file-deep-nesting", ["check", "{tmp}/w.toml"], 2, r"w\.toml: .*nested too deeply",
         _write("w.toml", "x = " + "[" * 100_000 + "]" * 100_000)),
    Case("file-huge-key-cut", ["check", "{tmp}/toy.toml"], 2, r"unknown key 'kkkk[k]*… \(100000 characters\)",
         _toy(body="k" * 100_000 + " = 1\n")),
    Case("file-when-unknown-name", ["check", "{tmp}/toy.toml"], 2,
         r"toy\.toml:\d+: step 'add': its `when` 'iteration == 10' uses iteration, which does not exist in train\.py main\(\)",
         _toy(body='when = "iteration == 10"\n')),
    Case("file-when-unknown-skipped-at-start", ["start", "{tmp}/toy.toml", "--auto"], 0,
         r"skipping step 1 \(add\): its `when` 'ghost > 1' uses ghost", _toy(body='when = "ghost > 1"\n')),
    Case("file-when-raises-at-run-time", ["start", "{tmp}/toy.toml", "--auto"], 2,
         r"error in the walkthrough: the `when` condition 'total / 0 > 1' .*train\.py:\d+ raised ZeroDivisionError",
         _toy(body='when = "total / 0 > 1"\n')),
    Case("file-watch-unknown", ["check", "{tmp}/toy.toml"], 2,
         r"watch 'totl': no name 'totl' in train\.py main\(\) \(did you mean 'total'\?\)",
         lambda tmp: toy_walkthrough(tmp).write_text(toy_walkthrough(tmp).read_text().replace(
             'watch = ["total", "label"]', 'watch = ["totl"]'))),
    Case("file-watch-attribute-unknown", ["check", "{tmp}/toy.toml"], 2,
         r"watch 'label\.nothing_like_this': nothing in toy/ defines an attribute 'nothing_like_this'",
         lambda tmp: toy_walkthrough(tmp).write_text(toy_walkthrough(tmp).read_text().replace(
             'watch = ["total", "label"]', 'watch = ["label.nothing_like_this"]'))),
    Case("file-watch-not-a-name", ["check", "{tmp}/toy.toml"], 2, r"toy\.toml:\d+: 'watch' must be a list of names",
         lambda tmp: toy_walkthrough(tmp).write_text(toy_walkthrough(tmp).read_text().replace(
             'watch = ["total", "label"]', 'watch = ["os.system(1)"]'))),
    Case("file-not-utf8", ["check", "{tmp}/w.toml"], 2, r"w\.toml:2: not UTF-8 text \(byte 0xe9\)",
         _write("w.toml", 'title = "T"\nrepo = "caf\xe9"\n'.encode("latin-1"))),
    Case("file-binary", ["check", "{tmp}/w.toml"], 2, r"w\.toml:1: not UTF-8 text",
         _write("w.toml", bytes(range(128, 256)))),
    Case("file-empty", ["check", "{tmp}/w.toml"], 2, r"w\.toml: missing 'title'", _write("w.toml", "")),
    Case("file-is-a-directory", ["check", "{tmp}/d.toml"], 2, r"d\.toml: cannot read it \(IsADirectoryError",
         lambda tmp: (tmp / "d.toml").mkdir()),
    Case("file-too-large", ["check", "{tmp}/w.toml"], 2, r"w\.toml: larger than 4 MB",
         _write("w.toml", "# " + "x" * (5 * 2 ** 20))),
    Case("file-no-runs", ["check", "{tmp}/toy.toml"], 2, r"toy\.toml:\d+: 'run' is empty",
         lambda tmp: toy_walkthrough(tmp).write_text(toy_walkthrough(tmp).read_text().replace(
             '[[run]]\nscript = "train.py"\nargs = []\n', 'run = []\n'))),
    Case("file-step-outside-repo", ["check", "{tmp}/toy.toml"], 2, r"step 'add': no file '\.\./outside\.py'",
         _both(_write("outside.py", "total = total + i\n"), lambda tmp: toy_walkthrough(tmp).write_text(
             toy_walkthrough(tmp).read_text().replace('file = "train.py"', 'file = "../outside.py"')))),
    Case("file-tolerance-nan", ["check", "{tmp}/toy.toml"], 2, r"'tolerance' must be a number >= 0, not nan",
         _toy(body='[[step.question]]\nkind = "value"\nprompt = "?"\nexpr = "total"\ntolerance = nan\n')),
    Case("file-step-id-spaces", ["check", "{tmp}/toy.toml"], 2, r"step id 'a b': use 1-60 letters",
         lambda tmp: toy_walkthrough(tmp).write_text(toy_walkthrough(tmp).read_text().replace(
             'id = "add"', 'id = "a b"'))),
    Case("file-stale-anchor-check", ["check", "{tmp}/toy.toml"], 2,
         r"toy\.toml:\d+: step 'add': no statement in train\.py matches 'total = total \+ j'; nearest: line \d+: "
         r"total = total \+ i",
         lambda tmp: toy_walkthrough(tmp).write_text(toy_walkthrough(tmp).read_text().replace(
             'at = "total = total + i"', 'at = "total = total + j"'))),
    Case("file-stale-anchor-skipped-at-start", ["start", "{tmp}/toy.toml", "--auto"], 0,
         r"skipping step 2 \(gone\): no statement in train\.py matches 'vanished = 1'.*steps seen: 1/2",
         _toy(extra_step='\n[[step]]\nid = "gone"\ntitle = "Gone"\nfile = "train.py"\nat = "vanished = 1"\n')),
    Case("file-all-anchors-stale", ["start", "{tmp}/toy.toml", "--auto"], 2,
         r"toy\.toml: no step of 'toy' finds its code any more",
         lambda tmp: toy_walkthrough(tmp).write_text(toy_walkthrough(tmp).read_text().replace(
             'at = "total = total + i"', 'at = "nowhere()"'))),
    Case("file-unknown-function-skipped", ["start", "{tmp}/toy.toml", "--auto"], 0,
         r"skipping step 1 \(add\): no function 'mian' in train\.py; did you mean 'main'\?",
         _toy(body='function = "mian"\n', extra_step='\n[[step]]\nid = "p"\ntitle = "P"\nfile = "train.py"\n'
                                                     'at = "print("\n')),
    Case("file-anchor-not-python", ["check", "{tmp}/toy.toml"], 2, r"the anchor '\)\)\)' is not Python code|"
                                                                     r"no statement in train\.py matches '\)\)\)'",
         lambda tmp: toy_walkthrough(tmp).write_text(toy_walkthrough(tmp).read_text().replace(
             'at = "total = total + i"', 'at = ")))"'))),
]

SCRIPTS = [
    Case("script-latin1-cookie", ["start", "{tmp}/lat.py", "--auto", "--break", "lat.py:name = "], 0,
         r"lat\.py:2 .*café",
         _write("lat.py", '# -*- coding: latin-1 -*-\nname = "caf\xe9"\nprint(name)\n'.encode("latin-1"))),
    Case("script-500-terms", ["start", "{tmp}/long.py", "--auto", "--break", "long.py:x = a + a"], 0,
         r"long\.py:3 .*result 500",
         _write("long.py", "a = 1\n\nx = " + " + ".join(["a"] * 500) + "\nprint('result', x)\n")),
    Case("script-syntax-error", ["start", "{tmp}/bad.py", "--auto", "--break", "bad.py:x = "], 2,
         r"bad\.py:2: cannot parse the file", _write("bad.py", "x = 1\ny = (\n")),
    Case("script-binary", ["start", "{tmp}/bin.py", "--auto", "--break", "bin.py:x"], 2,
         r"bin\.py: cannot read it as Python source", _write("bin.py", b"\xff\xfe\x00\x01" * 20)),
    Case("script-missing", ["start", "{tmp}/none.py", "--break", "none.py:x"], 2, r"none\.py: no such script"),
    Case("script-nothing-to-stop-at", ["start", "{tmp}/s.py"], 1,
         r"Could not generate a tour: found nothing to stop at in s\.py", _write("s.py", "x = 1\n")),
    Case("script-markup-name", ["start", "{tmp}/[red]x[bold].py", "--auto", "--break", "[red]x[bold].py:y = "], 0,
         r"\[red\]x\[bold\]\.py:2", _write("[red]x[bold].py", "x = 1\ny = x + 1\n")),
    Case("script-break-other-file", ["start", "{tmp}/s.py", "--break", "other.py:x"], 2,
         r"--break 'other\.py:x': no file 'other\.py' next to", _write("s.py", "x = 1\n")),
]

CLI = [
    Case("cli-unknown-command", ["frobnicate"], 2, r"invalid choice: 'frobnicate'"),
    Case("cli-no-command", [], 2, r"usage: walkthrough"),
    Case("cli-dashdash-with-list", ["list", "--", "x"], 2, r"`walkthrough list` runs none"),
    Case("cli-generated-too-many", ["start", "mlp", "--generated", "99"], 2, r"argument --generated: 99 is out of range"),
    Case("cli-yes-without-fix", ["check", "--yes"], 2, r"--yes goes with --fix"),
    Case("cli-fix-with-repo", ["check", "mlp", "--fix", "--repo", "{tmp}"], 2, r"--fix rewrites the walkthrough file"),
    Case("cli-review-with-auto", ["start", "mlp", "--review", "--auto"], 2, r"--review asks your missed questions"),
    Case("cli-review-and-restart", ["start", "mlp", "--review", "--restart"], 2, r"not allowed with argument"),
    Case("cli-break-with-name", ["start", "mlp", "--break", "train.py:x"], 2, r"--break goes with a script path"),
    Case("cli-repo-missing", ["start", "mlp", "--repo", "{tmp}/nothere"], 2, r"--repo .*nothere: no such directory"),
    Case("cli-quiz-missing", ["quiz", "{tmp}/none.py"], 2, r"none\.py: no such file"),
    Case("cli-quiz-binary", ["quiz", "{tmp}/b.py"], 2, r"b\.py: not a readable Python source file",
         _write("b.py", b"\xff\xfe\x00\x01")),
    Case("cli-review-nothing", ["start", "{tmp}/toy.toml", "--review"], 0, r"Nothing to review in Toy", _toy()),
    Case("cli-surrogate-argument", ["start", "\udcff\udcfe"], 2, r"no walkthrough named '\\udcff\\udcfe'|"
                                                                    r"no walkthrough named"),
]

# found by benchmarks/bad_input_extra.py (cases written after the fixes above), kept as regressions
FOUND_LATER = [
    Case("later-p-exit-keeps-the-prompt", ["start", "{tmp}/toy.toml"], 130,
         r"SystemExit: None \(that would end the program; type q to leave the walkthrough\).*unknown command 'still'",
         _toy(), stdin="p exit()\nstill here\n"),
    Case("later-progress-fifo", ["progress"], 2, r"progress\.json is not a regular file",
         lambda tmp: ((tmp / "state").mkdir(), os.mkfifo(tmp / "state" / "progress.json")), progress="none"),
    Case("later-quiz-latin1", ["quiz", "{tmp}/lat.py", "--kinds", "names"], 0, r"questions from .*lat\.py",
         _write("lat.py", '# -*- coding: latin-1 -*-\nname = "caf\xe9"\nx = name + "!"\n'.encode("latin-1"))),
    Case("later-quiz-500-terms", ["quiz", "{tmp}/long.py", "--kinds", "names"], 0, r"2 questions from .*long\.py",
         _write("long.py", "a = 1\nx = " + " + ".join(["a"] * 500) + "\ny = x * 2\n")),
    Case("later-1999-digit-answer", ["start", "{tmp}/toy.toml", "--answers", "{tmp}/a.json"], 0, r"not quite",
         _both(_toy(body='[[step.question]]\nkind = "value"\nprompt = "?"\nexpr = "total + 0.5"\nafter = false\n'),
               _write("a.json", json.dumps({"add.1": "9" * 1999})))),
    Case("later-expr-unknown-name", ["start", "{tmp}/toy.toml", "--answers", "{tmp}/a.json"], 0,
         r"warning: step 'add': question add\.1: its expr 'ghost \+ 1' uses ghost.*left out.*Toy: done",
         _both(_toy(body='[[step.question]]\nkind = "value"\nprompt = "?"\nexpr = "ghost + 1"\nafter = false\n'),
               _write("a.json", '{"add.1": "1"}'))),
    Case("later-expr-raises", ["start", "{tmp}/toy.toml", "--answers", "{tmp}/a.json"], 0,
         r"this step's question cannot be checked: 'total / 0' raised ZeroDivisionError.*Toy: done",
         _both(_toy(body='[[step.question]]\nkind = "value"\nprompt = "?"\nexpr = "total / 0"\nafter = false\n'),
               _write("a.json", '{"add.1": "1"}'))),
]

# a tiny training script (torch): what a generated tour (no --break) needs to find steps
TORCH_SCRIPT = """\
import torch

torch.manual_seed(0)
x = torch.randn(64, 3)
y = x @ torch.tensor([1.0, -2.0, 0.5])
w = torch.zeros(3, requires_grad=True)
opt = torch.optim.SGD([w], lr=0.1)
for step in range(5):
    pred = x @ w
    loss = ((pred - y) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
print("final loss", round(loss.item(), 4))
"""

# found by the second battery (/work/battery/battery.py, written without reading the cases above), by class
FOUND_BY_SECOND_BATTERY = [
    # catalogues read through datafile; their errors are bad input (exit 2), not crash reports (exit 3)
    Case("second-idioms-binary", ["check", "{tmp}/idioms.toml"], 2, r"idioms\.toml:1: not UTF-8 text",
         _write("idioms.toml", b"\x00\xff" * 50)),
    Case("second-exercises-deep", ["check", "{tmp}/exercises/ppo.toml"], 2,
         r"exercises/ppo\.toml: nested too deeply to be an exercises file",
         _write("exercises/ppo.toml", 'repo = "ppo"\n[[exercise]]\nid = ' + _deep_json(20_000))),
    Case("second-faults-deep", ["check", "{tmp}/faults.toml"], 2, r"faults\.toml: nested too deeply",
         _write("faults.toml", "[[fault]]\nid = " + _deep_json(20_000))),
    # a path that cannot be used is named (exit 2), not a crash
    Case("second-experiment-out-is-a-file", ["experiment", "mlp", "--set", "lr=0.1,0.2", "--seeds", "1", "--steps", "1",
                                            "--out", "{tmp}/afile"], 2,
         r"afile/runs: cannot use it \(a part of this path is a file, not a folder\)", _write("afile", "x")),
    # scripts read as Python reads them; their errors shown as Python shows them
    Case("second-generated-latin1-cookie", ["start", "{tmp}/lat.py", "--auto"], 0, r"final loss",
         _write("lat.py", ("# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n" + TORCH_SCRIPT).encode("latin-1"))),
    Case("second-generated-bom", ["start", "{tmp}/bom.py", "--auto"], 0, r"final loss",
         _write("bom.py", b"\xef\xbb\xbf" + TORCH_SCRIPT.encode())),
    Case("second-generated-syntax-error", ["start", "{tmp}/syn.py", "--auto"], 1,
         r"SyntaxError: '\(' was never closed.*syn\.py\", line 3", _write("syn.py", "x = 1\ny = 2\nprint(x\n")),
    Case("second-generated-not-utf8", ["start", "{tmp}/nc.py", "--auto"], 1, r"nc\.py.*can't decode byte 0xe9",
         _write("nc.py", "name = 'caf\xe9'\n".encode("latin-1"))),
    Case("second-generated-script-is-a-folder", ["start", "{tmp}/pkg.py"], 2, r"pkg\.py: no such script \(it is a folder\)",
         lambda tmp: (tmp / "pkg.py").mkdir()),
    Case("second-generated-nothing-to-stop-at", ["start", "{tmp}/s.py"], 1,
         r"found nothing to stop at in s\.py: none of the \d+ statements that ran", _write("s.py", "x = 1\ny = x + 1\n")),
    # numbers on the command line: a bad one names the flag and the value
    Case("second-probe-seconds-nan", ["start", "{tmp}/s.py", "--probe-seconds", "nan"], 2,
         r"argument --probe-seconds: nan is not a positive, finite number", _write("s.py", "x = 1\n")),
    Case("second-experiment-timeout-nan", ["experiment", "mlp", "--timeout", "nan", "--dry-run"], 2,
         r"argument --timeout: nan is not a positive"),
    Case("second-bughunt-jobs-negative", ["bughunt", "mlp", "--jobs", "-2"], 2, r"argument --jobs: -2 is out of range"),
    Case("second-implement-seeds-zero", ["implement", "mlp", "relu-backward", "--train", "--seeds", "0"], 2,
         r"argument --seeds: 0 is out of range"),
    Case("second-default-port-without-vscode", ["start", "{tmp}/toy.toml", "--port", "5678"], 2,
         r"--host, --port and --wait go with --vscode", _toy()),
    Case("second-wait-without-vscode", ["start", "{tmp}/toy.toml", "--wait", "5"], 2,
         r"--host, --port and --wait go with --vscode", _toy()),
    # quiz: Python's line for a syntax error
    Case("second-quiz-syntax-error-line", ["quiz", "{tmp}/syn.py"], 2, r"syn\.py:3: cannot parse",
         _write("syn.py", "import torch\n\ndef f(:\n    pass\n")),
]

CASES = (MARKUP + PROGRESS + STATE + ANSWERS + VSCODE + WALKTHROUGH_FILES + SCRIPTS + CLI + FOUND_LATER
         + FOUND_BY_SECOND_BATTERY)


def _prepare(case: Case, tmp: Path) -> tuple[list, dict]:
    state = tmp / "state"
    env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(state), "COLUMNS": "400", "NO_COLOR": "1", "TERM": "dumb",
           **{k: v.replace("{tmp}", str(tmp)) for k, v in case.env.items()}}
    if case.progress != "none":
        state.mkdir(parents=True)
        if case.progress == "directory":
            (state / "progress.json").mkdir()
        else:
            content = case.progress if case.progress not in (None, "lock-directory") else \
                json.dumps({"version": 2, "tours": {"sentinel": SENTINEL}})
            (state / "progress.json").write_bytes(content if isinstance(content, bytes) else content.encode())
            if case.progress == "lock-directory":
                (state / "progress.lock").mkdir()
    case.setup(tmp)
    argv = [a.replace("{tmp}", str(tmp)) for a in case.argv]
    if argv[:1] == ["start"] and "--generated" not in argv and "--vscode" not in argv:
        argv += ["--generated", "0"]          # generated questions are tested elsewhere; each run stays light
    return argv, env


def _run(case: Case, tmp: Path):
    argv, env = _prepare(case, tmp)
    proc = subprocess.run([str(WALKTHROUGH), *argv], input=case.stdin if case.stdin is not None else "",
                          capture_output=True, text=True, env=env, cwd=tmp, timeout=120, errors="backslashreplace")
    return proc


@pytest.fixture(scope="session")
def battery(request, tmp_path_factory):
    """Every selected case run once, four at a time (each in its own folder, with its own state)."""
    selected = {item.callspec.params["case"].id for item in request.session.items
                if getattr(item, "callspec", None) and isinstance(item.callspec.params.get("case"), Case)}
    cases = [case for case in CASES if case.id in selected]
    folders = {case.id: tmp_path_factory.mktemp(case.id[:40]) for case in cases}
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {case.id: pool.submit(_run, case, folders[case.id]) for case in cases}
        return {key: (future.result(), folders[key]) for key, future in futures.items()}


def test_the_battery_covers_every_class_with_enough_cases():
    assert len(CASES) >= 80
    assert len({c.id for c in CASES}) == len(CASES)
    for group in (MARKUP, PROGRESS, STATE, ANSWERS, VSCODE, WALKTHROUGH_FILES, SCRIPTS, CLI, FOUND_BY_SECOND_BATTERY):
        assert len(group) >= 5


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gets_a_clear_message_and_loses_nothing(case, battery):
    proc, tmp = battery[case.id]
    out = proc.stdout + proc.stderr
    flat = " ".join(out.split())
    assert "Traceback" not in out, out[-3000:]
    assert proc.returncode == case.code, f"exit {proc.returncode}, expected {case.code}\n{out[-3000:]}"
    assert re.search(case.message, flat), f"{case.message!r} not in:\n{flat[-3000:]}"
    state = Path(case.env.get("WALKTHROUGH_STATE_DIR", "{tmp}/state").replace("{tmp}", str(tmp)))
    if case.progress == "none" or not state.is_dir() or case.progress in ("directory",):
        return
    if case.sentinel_kept:
        kept = json.loads((state / "progress.json").read_text())["tours"]["sentinel"]
        assert {k: kept.get(k) for k in SENTINEL} == SENTINEL, "another walkthrough's progress was lost"
    else:
        asides = list(state.glob("progress.json.corrupt-*"))
        assert len(asides) == 1 and asides[0].read_bytes() == (
            case.progress if isinstance(case.progress, bytes) else case.progress.encode()), "the original was not kept"


def test_a_dropped_progress_entry_is_set_aside_once(tmp_path):
    """The first command warns and sets the original aside; the rest is written back, so the next is quiet."""
    state = tmp_path / "state"
    state.mkdir()
    (state / "progress.json").write_text(_progress({"bad": {"next_step": "x"}}))
    env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(state), "COLUMNS": "400"}
    first = subprocess.run([str(WALKTHROUGH), "progress"], capture_output=True, text=True, env=env, timeout=60)
    second = subprocess.run([str(WALKTHROUGH), "progress"], capture_output=True, text=True, env=env, timeout=60)
    assert "dropped (tours/bad)" in first.stdout and "warning" not in second.stdout, second.stdout
    assert len(list(state.glob("progress.json.corrupt-*"))) == 1
    assert json.loads((state / "progress.json").read_text())["tours"]["sentinel"]["missed"] == ["b.1"]


@pytest.mark.parametrize("closer", ["reader", "program"])
def test_output_closed_while_the_program_prints_exits_141(closer, tmp_path):
    """The reader goes away (`| head`) while the learner's program prints, or the program closes stdout itself:
    walkthrough stops quietly with 141, never 'the program failed' (1) or a traceback."""
    toy_walkthrough(tmp_path)
    chatty = TOY_SCRIPT.replace('print("total", total)', 'print("total", total)\n    for n in range(200_000):\n'
                                '        print("line", n)' if closer == "reader" else
                                'import os; print("total", total, flush=True); os.close(1)')
    (tmp_path / "toy" / "train.py").write_text(chatty)
    proc = subprocess.Popen([str(WALKTHROUGH), "start", str(tmp_path / "toy.toml"), "--auto", "--generated", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "WALKTHROUGH_STATE_DIR": str(tmp_path / "state")})
    if closer == "reader":
        proc.stdout.readline()
        proc.stdout.close()
    else:
        proc.stdout.read()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141 and b"Traceback" not in err and b"Exception ignored" not in err, err


@pytest.mark.parametrize("argv", [["list"], ["quiz", str(ROOT / "minimal_impls" / "mlp" / "model.py"), "--json"]])
def test_output_closed_early_is_not_an_error_trace(argv, tmp_path):
    """`walkthrough list | head -1`: the reader goes away; we stop quietly (exit 141, as a shell reports it)."""
    proc = subprocess.Popen([str(WALKTHROUGH), *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "WALKTHROUGH_STATE_DIR": str(tmp_path)})
    proc.stdout.close()                       # before anything is written
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 141 and b"Traceback" not in err and b"Exception ignored" not in err, err
