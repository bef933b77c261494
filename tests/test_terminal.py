"""What a learner sees in a real terminal (pexpect): one status line that stops when it should, review of
missed questions, history of attempts, quitting from `answer>`; and predictions on statements that span
several lines, checked once the whole statement has run (terminal and VS Code)."""
import json
import os
import re
import socket
import subprocess
import time

import pexpect
import pytest

from conftest import ROOT, WALKTHROUGH

SPINNER = re.compile("[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

TRAIN = '''\
import sys
import time


def main(out):
    total = 0
    for i in range(3):
        time.sleep(0.1)
        total = total + i
    values = sum([
        total,
        10,
    ])
    with open(out, "w") as f:
        f.write(str(values))
    print("saved", out)


main(sys.argv[1])
'''
EVAL = '''\
import sys

model = open(sys.argv[1]).read()
score = int(model) * 2
print("score", score)
'''
WALK = '''\
title = "Two scripts"
repo = "{repo}"

[[run]]
script = "train.py"
args = ["{{run_dir}}/model.txt"]

[[run]]
script = "eval.py"
args = ["{{run_dir}}/model.txt"]

[[step]]
id = "add"
title = "Adding up"
file = "train.py"
at = "total = total + i"
hint = "Count from 0."

[[step.question]]
kind = "choice"
prompt = "What is `total` before the first addition?"
choices = ["0", "1"]
answer = "0"

[[step]]
id = "values"
title = "A call over several lines"
file = "train.py"
at = "values = sum(["

[[step.question]]
kind = "value"
prompt = "Predict `values` after this statement."
expr = "values"

[[step]]
id = "score"
title = "Evaluation"
file = "eval.py"
at = "score = int(model) * 2"

[[step.question]]
kind = "text"
prompt = "Which file does eval.py read? (the variable's name)"
answer = ["model", "model.txt"]
'''


@pytest.fixture
def tour(tmp_path):
    repo = tmp_path / "two"
    repo.mkdir()
    (repo / "train.py").write_text(TRAIN)
    (repo / "eval.py").write_text(EVAL)
    path = tmp_path / "two.toml"
    path.write_text(WALK.format(repo=repo))
    return path


def spawn(state_dir, *args, cwd=ROOT):
    env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(state_dir), "TERM": "xterm", "COLUMNS": "250"}
    env.pop("NO_COLOR", None)
    return pexpect.spawn(str(WALKTHROUGH), [*map(str, args)], env=env, encoding="utf-8", dimensions=(50, 250),
                         timeout=60, cwd=str(cwd))


def quiet_for(child, seconds):
    """What the terminal shows during `seconds` of the learner doing nothing."""
    shown, deadline = "", time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            shown += child.read_nonblocking(4096, timeout=0.1)
        except pexpect.TIMEOUT:
            continue
        except pexpect.EOF:
            break
    return shown


def answer_all(child, answers):
    """Answer each `answer>` in turn, continue at each `walkthrough>`; returns the whole session's output."""
    out = ""
    while True:
        index = child.expect(["answer> ", "walkthrough> ", pexpect.EOF])
        out += child.before + (child.after if isinstance(child.after, str) else "")
        if index == 2:
            return ANSI.sub("", out)
        if index == 0:
            quiet = quiet_for(child, 0.3)            # the learner thinks: nothing may move on screen
            assert not SPINNER.search(quiet) and "running to step" not in quiet, repr(quiet)
            child.sendline(answers.pop(0))
        else:
            child.sendline("c")


def test_status_line_stops_at_prompts_and_the_final_panel_says_what_next(tour, state_dir):
    child = spawn(state_dir, "start", tour, "--generated", "0")
    child.expect("running to step 1/3")             # the spinner shows while the program runs ...
    out = answer_all(child, ["b", "13", "model"])   # (answer_all: nothing moves while the learner thinks)
    child.close()
    assert child.exitstatus == 0, out[-2000:]
    end = out[out.index("Two scripts: done"):]
    assert not SPINNER.search(end) and "running to step" not in end      # ... and never after the last panel
    panel = " ".join(end.split())
    run_dir = state_dir / "runs" / "two"
    assert "2/3 right" in panel
    assert f"saved: {run_dir / 'model.txt'}" in panel
    assert f"run it again: python {tour.parent / 'two' / 'eval.py'} {run_dir / 'model.txt'}" in panel
    assert "1 question to ask again" in panel and "walkthrough start two --review" in panel
    assert re.search(r"timings the program printed \(steps/s, the seconds in metrics\.csv\) include the \d+ s it "
                     r"was paused at steps", panel)


def test_piped_output_prints_each_status_line_once(tour, state_dir):
    env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(state_dir), "NO_COLOR": "1", "COLUMNS": "200"}
    proc = subprocess.run([str(WALKTHROUGH), "start", tour, "--auto"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for line in ("running to step 1/3", "running to step 2/3", "running to step 3/3",
                 "no step ahead: running at full speed"):
        assert proc.stdout.count(line) == 1, (line, proc.stdout)
    assert not SPINNER.search(proc.stdout)


def _progress(state_dir):
    proc = subprocess.run([str(WALKTHROUGH), "progress"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "WALKTHROUGH_STATE_DIR": str(state_dir), "COLUMNS": "200"})
    return proc.stdout


def test_missed_questions_are_named_reviewed_and_kept_across_attempts(tour, state_dir):
    first = spawn(state_dir, "start", tour, "--generated", "0")
    answer_all(first, ["b", "13", "model"])         # the first question wrong
    first.close()

    shown = " ".join(_progress(state_dir).split())
    assert "two: 1 question to ask again" in shown
    assert "step 1 “Adding up”: What is `total` before the first addition?" in shown
    assert "add.1" not in shown                      # words, not ids
    assert f"ask them again: walkthrough start {tour} --review" in shown   # the file it was started from

    review = spawn(state_dir, "start", tour, "--review", "--generated", "0")
    review.expect("Review:")
    review.expect("Step 1/3")
    review.expect("before the first addition")
    review.expect("answer> ")
    review.sendline("a")
    review.expect("right")
    review.expect("walkthrough> ")
    review.sendline("c")
    rest = review.read()                             # no other step stops: the program runs to its end
    review.close()
    assert review.exitstatus == 0
    assert "Step 2/3" not in rest and "Step 3/3" not in rest and "answer>" not in rest
    assert "0 question(s) still to ask again" in " ".join(rest.split())
    state = json.loads((state_dir / "progress.json").read_text())["tours"]["two"]
    assert state["missed"] == []
    assert state["answers"] == {"add.1": False, "values.1": True, "score.1": True}   # the attempt's score stays

    again = spawn(state_dir, "start", tour, "--generated", "0")       # a finished tour: a new attempt
    out = answer_all(again, ["a", "0", "x"])
    again.close()
    assert "starting attempt 2 from step 1" in " ".join(out.split())
    state = json.loads((state_dir / "progress.json").read_text())["tours"]["two"]
    assert [(a["right"], a["asked"], a["missed"]) for a in state["attempts"]] == [(2, 3, ["add.1"])]
    assert state["answers"] == {"add.1": True, "values.1": False, "score.1": False}
    assert sorted(state["missed"]) == ["score.1", "values.1"]
    row = next(line for line in _progress(state_dir).splitlines() if " two " in line)
    assert "1/3" in row and "2/3" in row            # this attempt's score and the best


def test_q_at_the_answer_prompt_quits_and_saves(tour, state_dir):
    child = spawn(state_dir, "start", tour, "--generated", "0")
    child.expect("q quits")
    child.expect("answer> ")
    child.sendline("q")
    child.expect("Progress saved")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    state = json.loads((state_dir / "progress.json").read_text())["tours"]["two"]
    assert state["answers"] == {} and state["next_step"] == 0


def test_prediction_on_a_multi_line_statement_is_checked_after_all_of_it(tour, state_dir, tmp_path):
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"values.1": "13"}))
    env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(state_dir), "NO_COLOR": "1", "COLUMNS": "200"}
    proc = subprocess.run([str(WALKTHROUGH), "start", tour, "--answers", answers], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout
    assert "could not evaluate" not in proc.stdout
    assert "✓ right values = 13" in " ".join(proc.stdout.split())


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _refuses(port, within=5.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return True
        time.sleep(0.2)
    return False


def test_prediction_on_a_multi_line_statement_in_vscode_mode(tour, state_dir, tmp_path):
    from test_vscode import attach, connect, next_stop

    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"values.1": "13"}))
    port = _free_port()
    env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(state_dir), "NO_COLOR": "1", "COLUMNS": "200"}
    proc = subprocess.Popen([str(WALKTHROUGH), "start", tour, "--vscode", "--port", str(port), "--wait", "60",
                             "--answers", answers, "--generated", "0"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    client = connect(port, proc)
    try:
        attach(client)
        while (stopped := next_stop(client)) is not None:
            client.send("continue", threadId=stopped["body"]["threadId"])
    finally:
        client.close()
        out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "could not evaluate" not in out and "✓ right values = 13" in " ".join(out.split())


def test_ctrl_c_while_waiting_for_the_editor_exits_130_and_frees_the_port(tour, state_dir):
    port = _free_port()
    child = spawn(state_dir, "start", tour, "--vscode", "--port", port, "--wait", "60")
    child.expect("Waiting for VS Code")
    child.sendintr()
    child.expect("Interrupted while waiting for VS Code")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "Traceback" not in child.before
    assert _refuses(port)


def test_no_debug_adapter_is_left_listening_after_a_stranger_connected(tour, state_dir):
    port = _free_port()
    env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(state_dir), "NO_COLOR": "1"}
    proc = subprocess.Popen([str(WALKTHROUGH), "start", tour, "--vscode", "--port", str(port), "--wait", "3"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    stranger = None
    while stranger is None and time.monotonic() < deadline:
        try:
            stranger = socket.create_connection(("127.0.0.1", port))    # not an editor: sends nothing
        except OSError:
            time.sleep(0.1)
    try:
        out, _ = proc.communicate(timeout=60)    # would hang if the adapter kept our output pipe open
        assert proc.returncode == 2 and "no editor attached" in out
        assert _refuses(port), "the debug adapter is still listening after walkthrough exited"
    finally:
        stranger.close()


def test_a_review_drops_missed_questions_whose_step_left_the_tour(tour, state_dir):
    first = spawn(state_dir, "start", tour, "--generated", "0")
    answer_all(first, ["b", "13", "model"])         # add.1 missed
    first.close()
    path = state_dir / "progress.json"
    data = json.loads(path.read_text())
    data["tours"]["two"]["missed"].append("removed-step.1")       # the tour was edited since: that step is gone
    path.write_text(json.dumps(data))
    review = spawn(state_dir, "start", tour, "--review", "--generated", "0")
    review.expect("Step 1/3")
    shown = " ".join(ANSI.sub("", review.before).split())
    assert "1 missed question(s) belonged to steps no longer in" in shown and "(removed-step)" in shown
    assert "Review: 1 missed question(s) at 1 step(s)" in shown          # the dropped one is not counted
    review.expect("answer> ")
    review.sendline("a")
    review.expect("walkthrough> ")
    review.sendline("c")
    review.read()
    review.close()
    assert json.loads(path.read_text())["tours"]["two"]["missed"] == []


LOOP = """\
import sys
def main():
    total = 0
    for i in range(4):
        double = 2 * i
        total = total + double
    print("total", total)
main()
"""

LOOP_TOUR = """\
title = "A loop"
repo = "{repo}"
[[run]]
script = "loop.py"
args = []
[[step]]
id = "double"
title = "Doubling"
file = "loop.py"
at = "double = 2 * i"
[[step]]
id = "total"
title = "Adding up"
file = "loop.py"
at = "total = total + double"
[[step]]
id = "print"
title = "The end"
file = "loop.py"
at = "print("
"""


def test_again_runs_on_to_a_later_execution_of_the_step_and_then_the_tour_goes_on(tmp_path, state_dir):
    """`a N` at a stop in a loop: the same step at its Nth execution (the loop's later steps wait for it), with
    that execution's values; the tour then goes on in order; when the loop ends before the execution asked for,
    the first step after the loop stops."""
    repo = tmp_path / "loop"
    repo.mkdir()
    (repo / "loop.py").write_text(LOOP)
    tour = tmp_path / "loop.toml"
    tour.write_text(LOOP_TOUR.format(repo=repo))
    child = spawn(state_dir, "start", tour, "--generated", "0")
    child.expect("Step 1/3")
    child.expect("walkthrough> ")
    child.sendline("a 1")
    child.expect("has already run")
    child.sendline("a 3")                                 # past step 2 in this turn and the next: both wait
    child.expect("execution 3")
    child.expect("walkthrough> ")
    child.sendline("p i")
    child.expect(r"i.{0,12} = 2\r")
    child.sendline("")                                    # on in tour order: step 2, in the same turn
    child.expect("Step 2/3")
    child.expect("walkthrough> ")
    child.sendline("p double")
    child.expect(r"double.{0,12} = 4\r")
    child.sendline("a 9")                                 # the loop has 4 turns: the step after it comes first
    child.expect("came before execution 9 of step 2")
    child.expect("Step 3/3")
    child.expect("walkthrough> ")
    child.sendline("p total")
    child.expect(r"total.{0,12} = 12\r")
    child.sendline("")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_adhoc_tours_of_two_scripts_with_one_name_keep_their_own_progress(tmp_path, state_dir):
    """`start a/train.py --break ...` and `start b/train.py --break ...` (a healthy and a buggy copy) are two tours;
    one quit after its only step starts again at step 1, never 'Resuming at step 2/1' with no stop left."""
    scripts = []
    for name in ("healthy", "buggy"):
        (tmp_path / name).mkdir()
        script = tmp_path / name / "train.py"
        script.write_text("x = 1\ny = x + 1\nprint(y)\n")
        scripts.append(script)
    first = spawn(state_dir, "start", scripts[0], "--break", "train.py:y = x", "--generated", "0")
    first.expect("walkthrough> ")
    first.sendline("q")
    first.expect(pexpect.EOF)
    other = spawn(state_dir, "start", scripts[1], "--break", "train.py:y = x", "--generated", "0")
    other.expect("walkthrough> ")
    assert "Resuming" not in ANSI.sub("", other.before)
    other.sendline("q")
    other.expect(pexpect.EOF)
    again = spawn(state_dir, "start", scripts[0], "--break", "train.py:y = x", "--generated", "0")
    again.expect("walkthrough> ")
    shown = " ".join(ANSI.sub("", again.before).split())
    assert "Step 1/1" in shown and "Resuming at step 2/1" not in shown
    again.sendline("q")
    again.expect(pexpect.EOF)
