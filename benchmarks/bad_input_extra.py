"""A second bad-input battery: what else would a user type? Cases written after the fixes, not designed with them.

Each case runs the installed `walkthrough` and passes when the exit code is the expected one, the output
names what it should, no Python traceback is printed, it finishes within its time limit, and the learner's
existing progress (a `sentinel` tour in every state folder) is still there.

Last line: cases=N passed=P tracebacks=T hangs=H
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from test_badinput import SENTINEL, TOY_SCRIPT, Case, _both, _prepare, _toy, _write, toy_walkthrough  # noqa: E402

WALKTHROUGH = Path(sys.executable).parent / "walkthrough"


def _script(body):
    return _both(_write("toy/train.py", TOY_SCRIPT.replace('print("total", total)', body)), _toy())


def _replace(old, new):
    def setup(tmp):
        path = toy_walkthrough(tmp)
        path.write_text(path.read_text().replace(old, new))
    return setup


def _fifo(tmp):
    (tmp / "state").mkdir(exist_ok=True)
    os.mkfifo(tmp / "state" / "progress.json")


CASES = [
    # answers files a user might really write
    Case("answers-yaml-suffix", ["start", "{tmp}/toy.toml", "--answers", "{tmp}/a.yaml"], 2, r"a\.yaml: not valid TOML",
         _both(_toy(), _write("a.yaml", "add:\n  - total\n"))),
    Case("answers-numbers-and-bools", ["start", "{tmp}/toy.toml", "--answers", "{tmp}/a.json", "--generated", "0"], 0,
         r"answer \(from file\): 3",
         _both(_toy(body='[[step.question]]\nkind = "value"\nprompt = "?"\nexpr = "total + 3"\nafter = false\n'),
               _write("a.json", '{"add.1": 3, "zzz": true}'))),
    Case("answers-empty-toml", ["start", "{tmp}/toy.toml", "--answers", "{tmp}/a.toml"], 0, r"Toy: done",
         _both(_toy(), _write("a.toml", ""))),
    Case("answers-bom-json", ["start", "{tmp}/toy.toml", "--answers", "{tmp}/a.json"], 2, r"a\.json: not valid JSON",
         _both(_toy(), _write("a.json", '\ufeff{"add.1": "x"}'))),
    Case("answers-null-byte", ["start", "{tmp}/toy.toml", "--answers", "{tmp}/a.json", "--generated", "0"], 0,
         r"Toy: done",
         _both(_toy(body='[[step.question]]\nkind = "text"\nprompt = "?"\nanswer = "x"\n'),
               _write("a.json", '{"add.1": "a\\u0000b"}'))),
    Case("answers-1999-digit-number", ["start", "{tmp}/toy.toml", "--answers", "{tmp}/a.json", "--generated", "0"], 0,
         r"not quite",
         _both(_toy(body='[[step.question]]\nkind = "value"\nprompt = "?"\nexpr = "total"\nafter = false\n'),
               _write("a.json", json.dumps({"add.1": "9" * 1999})))),
    Case("answers-nested-parens", ["start", "{tmp}/toy.toml", "--answers", "{tmp}/a.json", "--generated", "0"], 0,
         r"not quite",
         _both(_toy(body='[[step.question]]\nkind = "value"\nprompt = "?"\nexpr = "total"\nafter = false\n'),
               _write("a.json", json.dumps({"add.1": "(" * 1500})))),
    Case("answers-with-auto", ["start", "{tmp}/toy.toml", "--auto", "--answers", "{tmp}/a.json"], 2,
         r"not allowed with argument", _toy()),
    # walkthrough files
    Case("file-bom", ["check", "{tmp}/toy.toml"], 2, r"toy\.toml",
         lambda tmp: toy_walkthrough(tmp).write_bytes(b"\xef\xbb\xbf" + toy_walkthrough(tmp).read_bytes())),
    Case("file-crlf", ["check", "{tmp}/toy.toml"], 0, r"toy\.toml: 1 steps",
         lambda tmp: toy_walkthrough(tmp).write_bytes(toy_walkthrough(tmp).read_bytes().replace(b"\n", b"\r\n"))),
    Case("file-hit-zero", ["check", "{tmp}/toy.toml"], 2, r"'hit' counts from 1, got 0", _toy(body="hit = 0\n")),
    Case("file-hit-never-reached", ["start", "{tmp}/toy.toml", "--auto"], 0, r"never reached.*add",
         _toy(body="hit = 100000000000000000000\n")),
    Case("file-every-negative", ["check", "{tmp}/toy.toml"], 2, r"'every' counts from 1", _toy(body="every = -1\n")),
    Case("file-when-empty", ["check", "{tmp}/toy.toml"], 2, r"'when' is not a Python expression", _toy(body='when = ""\n')),
    Case("file-empty-title", ["start", "{tmp}/toy.toml", "--auto"], 0, r": done", _toy(title="")),
    Case("file-emoji-rtl-title", ["start", "{tmp}/toy.toml", "--auto"], 0, r"🧠 שלום: done", _toy(title="🧠 שלום")),
    Case("file-watch-empty", ["start", "{tmp}/toy.toml", "--auto"], 0, r"Step 1/1",
         _replace('watch = ["total", "label"]', "watch = []")),
    Case("file-repo-is-a-file", ["check", "{tmp}/toy.toml"], 2, r"repo .* is not a directory",
         _both(_write("afile", "x"), _replace('repo = "', 'repo = "/nonexistent')),),
    Case("file-repo-syntax-error", ["start", "{tmp}/toy.toml", "--auto"], 2, r"no step of 'toy' finds its code",
         _both(_toy(), _write("toy/train.py", "def main(:\n    total = total + i\n"))),
    Case("file-10000-steps", ["check", "{tmp}/big.toml"], 0, r"big\.toml: 2000 steps",
         lambda tmp: (toy_walkthrough(tmp), (tmp / "big.toml").write_text(toy_walkthrough(tmp).read_text().split(
             "[[step]]")[0] + "".join(f'[[step]]\nid = "s{i}"\ntitle = "S"\nfile = "train.py"\nat = "total = total + i"\n'
                                      for i in range(2000))))),
    Case("file-expr-unknown-name", ["check", "{tmp}/toy.toml"], 2, r"its expr 'ghost \+ 1' uses ghost",
         _toy(body='[[step.question]]\nkind = "value"\nprompt = "?"\nexpr = "ghost + 1"\nafter = false\n')),
    Case("file-expr-unknown-name-at-start", ["start", "{tmp}/toy.toml", "--answers", "{tmp}/a.json"], 0, r"Toy: done",
         _both(_toy(body='[[step.question]]\nkind = "value"\nprompt = "?"\nexpr = "ghost + 1"\nafter = false\n'),
               _write("a.json", '{"add.1": "1"}'))),
    Case("file-expr-raises-at-run-time", ["start", "{tmp}/toy.toml", "--answers", "{tmp}/a.json"], 0, r"Toy: done",
         _both(_toy(body='[[step.question]]\nkind = "value"\nprompt = "?"\nexpr = "total / 0"\nafter = false\n'),
               _write("a.json", '{"add.1": "1"}'))),
    # the learner's program doing unusual things
    Case("program-sys-exit-0", ["start", "{tmp}/toy.toml", "--auto"], 0, r"Toy: done", _script("sys.exit(0)")),
    Case("program-keyboard-interrupt", ["start", "{tmp}/toy.toml", "--auto"], 130, r"Progress saved",
         _script("raise KeyboardInterrupt")),
    Case("program-prints-surrogates", ["start", "{tmp}/toy.toml", "--auto"], 0, r"Toy: done",
         _script('print("\\udcff bad")')),
    Case("program-prints-megabyte-line", ["start", "{tmp}/toy.toml", "--auto"], 0, r"Toy: done",
         _script('print("x" * 1_000_000)')),
    Case("program-reads-stdin", ["start", "{tmp}/toy.toml", "--auto"], 1, r"EOFError", _script("input('name? ')")),
    Case("program-chdir", ["start", "{tmp}/toy.toml", "--auto"], 0, r"Toy: done", _script("import os; os.chdir('/')")),
    Case("program-thread-hits-step", ["start", "{tmp}/toy.toml", "--auto"], 0, r"Step 1/1",
         _both(_write("toy/train.py", "import threading\n\ndef work():\n    total = 0\n    for i in range(3):\n"
                                      "        total = total + i\n\nt = threading.Thread(target=work)\nt.start()\nt.join()\n"),
               _replace("watch = [\"total\", \"label\"]", "watch = [\"total\"]"))),
    Case("program-recursive-list", ["start", "{tmp}/toy.toml", "--auto"], 0, r"label .*\[\.\.\.\]",
         _both(_write("toy/train.py", TOY_SCRIPT.replace('label = "[/x] not markup"', 'label = [1]; label.append(label)')),
               _toy())),
    Case("program-huge-string", ["start", "{tmp}/toy.toml", "--auto"], 0, r"10000002 characters",
         _both(_write("toy/train.py", TOY_SCRIPT.replace('label = "[/x] not markup"', 'label = "ab " * 3_333_334')),
               _toy())),
    Case("program-nan-tensor", ["start", "{tmp}/toy.toml", "--auto"], 0, r"tensor shape \(3,\).*nan",
         _both(_write("toy/train.py", TOY_SCRIPT.replace('label = "[/x] not markup"',
                                                          'import torch; label = torch.tensor([1.0, float("nan"), 2.0])')),
               _toy())),
    Case("program-object-array", ["start", "{tmp}/toy.toml", "--auto"], 0, r"ndarray shape \(2,\), object",
         _both(_write("toy/train.py", TOY_SCRIPT.replace('label = "[/x] not markup"',
                                                          'import numpy as np; label = np.array([{}, None])')),
               _toy())),
    Case("program-dict-million-keys", ["start", "{tmp}/toy.toml", "--auto"], 0, r"dict of 1000000",
         _both(_write("toy/train.py", TOY_SCRIPT.replace('label = "[/x] not markup"',
                                                          'label = {i: i for i in range(1_000_000)}')), _toy())),
    Case("program-empty", ["start", "{tmp}/toy.toml", "--auto"], 2, r"no step of 'toy' finds its code",
         _both(_toy(), _write("toy/train.py", ""))),
    # typing at the prompts
    Case("typed-very-long-command", ["start", "{tmp}/toy.toml", "--generated", "0"], 130, r"unknown command 'xxxx",
         _toy(), stdin="x" * 100_000 + "\n"),
    Case("typed-escape-sequence-answer", ["start", "{tmp}/toy.toml", "--generated", "0"], 130, r"not quite",
         _toy(body='[[step.question]]\nkind = "text"\nprompt = "?"\nanswer = "x"\n'), stdin="\x1b[31mred\x1b[0m\n"),
    Case("typed-p-exit", ["start", "{tmp}/toy.toml", "--generated", "0"], 130, r"SystemExit", _toy(),
         stdin="p exit()\n"),
    Case("typed-p-syntax-error", ["start", "{tmp}/toy.toml", "--generated", "0"], 130, r"SyntaxError", _toy(),
         stdin="p 1 +\n"),
    Case("typed-p-empty", ["start", "{tmp}/toy.toml", "--generated", "0"], 130, r"usage: p EXPRESSION", _toy(),
         stdin="p\n"),
    Case("typed-next-to-the-end", ["start", "{tmp}/toy.toml", "--generated", "0"], 0, r"Toy: done", _toy(),
         stdin="n\n" * 40),
    Case("typed-step-into-everything", ["start", "{tmp}/toy.toml", "--generated", "0"], 0, r"Toy: done", _toy(),
         stdin="s\n" * 40),
    Case("typed-quit-word", ["start", "{tmp}/toy.toml", "--generated", "0"], 0, r"Progress saved", _toy(),
         stdin="exit\n"),
    # progress files and state folders
    Case("progress-fifo", ["progress"], 2, r"progress\.json", _fifo, progress="none"),
    Case("progress-symlink-dev-zero", ["progress"], 2, r"progress\.json is not a regular file",
         lambda tmp: ((tmp / "state").mkdir(exist_ok=True), (tmp / "state" / "progress.json").symlink_to("/dev/zero")),
         progress="none"),
    Case("progress-long-names", ["progress"], 0, r"dropped",
         progress=json.dumps({"version": 2, "tours": {"sentinel": SENTINEL, "n" * 100_000: 5}})),
    Case("progress-many-tours", ["progress"], 0, r"t9999",
         progress=json.dumps({"version": 2, "tours": {"sentinel": SENTINEL,
                                                      **{f"t{i}": {"next_step": 1} for i in range(10_000)}}})),
    Case("state-dir-with-spaces-and-unicode", ["start", "{tmp}/toy.toml", "--auto"], 0, r"Toy: done", _toy(),
         env={"WALKTHROUGH_STATE_DIR": "{tmp}/my state é"}, progress="none"),
    Case("state-from-xdg", ["progress"], 0, r"no progress yet \(kept in .*/xdg/walkthrough/progress\.json\)",
         env={"WALKTHROUGH_STATE_DIR": "", "XDG_STATE_HOME": "{tmp}/xdg"}, progress="none"),
    # command line and environment
    Case("cli-latin1-output", ["check", "mlp"], 0, r"mlp\.toml", env={"PYTHONIOENCODING": "latin-1"}),
    Case("cli-ascii-output", ["list"], 0, r"walkthroughs", env={"PYTHONIOENCODING": "ascii"}),
    Case("cli-tiny-terminal", ["start", "{tmp}/toy.toml", "--auto"], 0, r"done|Toy", _toy(), env={"COLUMNS": "8"}),
    Case("cli-repo-is-a-file", ["start", "mlp", "--repo", "{tmp}/afile"], 2, r"--repo .*afile: no such directory",
         _write("afile", "x")),
    Case("cli-repo-missing-script", ["start", "mlp", "--repo", "{tmp}"], 2, r"no script 'train\.py' in"),
    Case("cli-break-empty-pattern", ["start", "{tmp}/s.py", "--break", "s.py:"], 2, r"write FILE:PATTERN",
         _write("s.py", "x = 1\n")),
    Case("cli-break-into-text-file", ["start", "{tmp}/s.py", "--break", "data.txt:hello"], 2, r"data\.txt",
         _both(_write("s.py", "x = 1\n"), _write("data.txt", "hello world, not python\n"))),
    Case("cli-script-is-a-directory", ["start", "{tmp}/d.py", "--break", "d.py:x"], 2, r"d\.py: no such script",
         lambda tmp: (tmp / "d.py").mkdir()),
    Case("cli-huge-seed", ["start", "{tmp}/toy.toml", "--auto", "--seed", "9" * 50], 0, r"Toy: done", _toy()),
    Case("cli-quiz-500-terms", ["quiz", "{tmp}/long.py"], 2, r"long\.py: nested too deeply for libcst",
         _write("long.py", "a = 1\nx = " + " + ".join(["a"] * 500) + "\n")),
    Case("cli-quiz-latin1", ["quiz", "{tmp}/lat.py", "--kinds", "names"], 0, r"questions from",
         _write("lat.py", '# -*- coding: latin-1 -*-\nname = "caf\xe9"\nx = name + "!"\n'.encode("latin-1"))),
    Case("cli-vscode-readonly-dir", ["vscode", "mlp", "--dir", "/proc/self"], 2, r"/proc/self/\.vscode"),
    Case("cli-vscode-jsonc", ["vscode", "mlp", "--dir", "{tmp}"], 0, r"your comments are kept",
         _write(".vscode/launch.json", '{\n // c\n "configurations": [\n  {"name": "x",},\n ],\n}\n')),
    Case("cli-vscode-top-level-list", ["vscode", "mlp", "--dir", "{tmp}"], 2, r"expected an object",
         _write(".vscode/launch.json", "[]")),
]


def run(case, root):
    tmp = root / case.id
    tmp.mkdir()
    argv, env = _prepare(case, tmp)
    if case.env.get("WALKTHROUGH_STATE_DIR") == "":
        env.pop("WALKTHROUGH_STATE_DIR")
    started = time.monotonic()
    try:
        proc = subprocess.run([str(WALKTHROUGH), *argv], input=case.stdin or "", capture_output=True, text=True,
                              env=env, cwd=tmp, timeout=60, errors="backslashreplace")
    except subprocess.TimeoutExpired:
        return case, None, "hang (no exit within 60 s)", time.monotonic() - started
    out = proc.stdout + proc.stderr
    flat = " ".join(out.split())
    problems = []
    if "Traceback" in out:
        problems.append("traceback")
    if proc.returncode != case.code:
        problems.append(f"exit {proc.returncode}, expected {case.code}")
    if not re.search(case.message, flat):
        problems.append(f"no {case.message!r}")
    state = tmp / "state"
    if case.progress != "none" and (state / "progress.json").is_file() and case.sentinel_kept:
        try:
            kept = json.loads((state / "progress.json").read_text())["tours"]["sentinel"]
            if {k: kept.get(k) for k in SENTINEL} != SENTINEL:
                problems.append("progress lost")
        except (ValueError, KeyError):
            problems.append("progress lost")
    return case, proc, "; ".join(problems), time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("-v", "--verbose", action="store_true", help="print the output of failing cases")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="walkthrough-extra-"))
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda c: run(c, root), CASES))
    passed = tracebacks = hangs = 0
    for case, proc, problems, seconds in results:
        mark = "ok  " if not problems else "FAIL"
        print(f"{mark} {case.id:40s} {seconds:5.1f}s {problems}")
        if problems and args.verbose and proc is not None:
            print("   | " + "\n   | ".join((proc.stdout + proc.stderr).strip().splitlines()[-12:]))
        passed += not problems
        tracebacks += "traceback" in problems
        hangs += problems.startswith("hang")
    print(f"cases={len(CASES)} passed={passed} tracebacks={tracebacks} hangs={hangs}")


if __name__ == "__main__":
    main()
