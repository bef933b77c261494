"""A whole bug hunt with a bug whose runs crash, then a new hunt in the same folder, as a learner does them."""
import io
import json
import os
import re
import shlex
import subprocess
import sys

import pexpect
import pytest

from conftest import WALKTHROUGH, walkthrough
from tracer.practice import bughunt

SHORT = ["--", "--epochs", "2"]


def plain(text):
    """Command output without panel borders and line wraps, to look for sentences in it."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.fixture(scope="module")
def hunt_state(tmp_path_factory):
    return tmp_path_factory.mktemp("crash-hunt-state")


@pytest.fixture(scope="module")
def crash_hunt(hunt_state, tmp_path_factory):
    """A transposed operand in the MLP's linear_backward (`dW = x @ dz.T` with this seed): a shape error."""
    cwd = tmp_path_factory.mktemp("learner")
    proc = walkthrough("bughunt", "mlp", "--kind", "transpose-wrong-operand", "--seed", "1", *SHORT,
                       state_dir=hunt_state, cwd=cwd)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return cwd, proc.stdout


def progress_of(state_dir):
    return json.loads((state_dir / "progress.json").read_text())


def test_a_planted_bugs_crash_is_shown_as_a_measurement_not_as_a_failure(crash_hunt):
    _, out = crash_hunt
    runs = [line for line in out.splitlines() if "seed" in line and ("healthy" in line or "planted bug" in line)]
    crashed = [line for line in runs if "a planted bug, seed" in line]
    assert crashed and all("crashed after" in line and "being measured" in line for line in crashed), runs
    assert not any("✗" in line or "failed" in line for line in runs), runs
    assert "transpose" not in out and "dz.T" not in out                # which bug it is stays hidden
    assert "the program crashes" in out


def test_a_healthy_run_that_fails_still_reads_as_a_failure(tmp_path):
    from rich.console import Console

    from tracer.lab.runs import RunSpec, run_all

    (tmp_path / "train.py").write_text("import sys\nsys.exit('broken')\n")
    shown = io.StringIO()
    console = Console(file=shown, width=200, no_color=True)
    results = run_all([RunSpec(tmp_path, "train.py", (), 0, label="healthy, seed 0"),
                       RunSpec(tmp_path, "train.py", (), 1, label="a planted bug, seed 1", crash_measured=True)],
                      tmp_path / "runs", console=console)
    assert [r.ok for r in results] == [False, False]
    lines = shown.getvalue().splitlines()
    healthy = next(line for line in lines if "healthy, seed 0" in line and "exit" in line)
    planted = next(line for line in lines if "a planted bug, seed 1" in line and "exit" in line)
    assert "✗" in healthy and "failed (exit 1)" in healthy
    assert "✗" not in planted and "crashed after" in planted and "failed" not in planted


def test_the_third_hint_of_a_crash_names_the_tour_step_the_traceback_leads_to(crash_hunt, hunt_state):
    """Checked against the real program: the hint names the last line of the copy's own traceback, and the tour
    step that stops on it."""
    cwd, _ = crash_hunt
    copy = cwd / "walkthrough-work" / "bughunt-mlp"
    run = subprocess.run([sys.executable, "train.py", "--epochs", "1"], cwd=copy, capture_output=True, text=True,
                         timeout=300)
    file, line, function = re.findall(r'File "(.+?)", line (\d+), in (\S+)', run.stderr)[-1]
    assert run.returncode != 0 and file.endswith("model.py")
    from tracer import spec
    steps = spec.load(spec.find("mlp"), repo=copy).steps
    (number, step), = [(n, s) for n, s in enumerate(steps, start=1) if s.file == "model.py" and s.line == int(line)]

    hints = [walkthrough("bughunt", "mlp", "--hint", state_dir=hunt_state, cwd=cwd) for _ in range(3)]
    assert all(h.returncode == 0 for h in hints)
    third = plain(hints[2].stdout)
    assert "hint 3/4" in third
    assert f"The traceback's last line in the repo is model.py:{line} (in `{function}`)" in third
    assert f"It is the statement of tour step {number} ({step.title})" in third
    assert "walkthrough start mlp --repo walkthrough-work/bughunt-mlp" in third


def test_a_crash_on_a_line_no_step_stops_at_gives_a_break_that_stops_there(tmp_path, monkeypatch):
    """`dx = dz @ W`: the traceback ends on the planted line itself, which no tour step stops at; the hint's
    `--break` command, run as given, stops on that line."""
    monkeypatch.setenv("WALKTHROUGH_STATE_DIR", str(tmp_path / "state"))
    cfg = bughunt.load_config()["mlp"]
    (m,) = [m for m in bughunt.candidates(cfg) if m.fault.id == "linear-backward-w-not-transposed"]
    copy = bughunt.stage_copy(cfg, {m.path: m.source}, tmp_path)
    divergence = bughunt.first_divergence(cfg, copy)
    assert divergence.crashed and not divergence.step_id and divergence.crash_at == f"model.py:{m.line}"
    verdict = bughunt.Verdict(True, "crash", "the program crashes", crash=divergence.crashed)
    entry = {"verdict": verdict.to_json(), "divergence": divergence.to_json(), "dir": str(copy), "seeds": cfg.seeds}
    hint = bughunt.hint_text(entry, 3, cfg)
    assert f"The traceback's last line in the repo is model.py:{m.line} (in `linear_backward`)" in hint
    command = re.search(r"`(walkthrough start \S+ --break .+?)`", hint).group(1)
    args = shlex.split(command)[2:]
    proc = subprocess.run([str(WALKTHROUGH), "start", *args, "--auto"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "160"}, cwd=tmp_path)
    assert f"model.py:{m.line}  in linear_backward()" in proc.stdout, proc.stdout[-2000:]
    assert "Step 1/1" in proc.stdout


def test_a_new_hunt_in_the_same_folder_starts_the_tour_on_it_afresh(crash_hunt, hunt_state):
    cwd, _ = crash_hunt
    copy = cwd / "walkthrough-work" / "bughunt-mlp"
    env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(hunt_state), "NO_COLOR": "1", "TERM": "xterm"}

    def tour():
        return pexpect.spawn(str(WALKTHROUGH), ["start", "mlp", "--repo", "walkthrough-work/bughunt-mlp",
                                                "--generated", "0"], env=env, cwd=str(cwd), encoding="utf-8",
                             dimensions=(60, 130), timeout=120)

    child = tour()
    child.expect("Step 1/16")
    child.expect("walkthrough> ")                     # a hunt copy's tour asks no question
    child.sendline("c")
    child.expect("Step 2/16")
    child.expect("walkthrough> ")
    child.sendeof()                                   # end of input: saved, exit 130
    child.expect(pexpect.EOF)
    child.close()
    tour_name = f"mlp@{copy.resolve()}"
    assert progress_of(hunt_state)["tours"][tour_name]["next_step"] == 2

    again = walkthrough("bughunt", "mlp", "--force", "--kind", "bias-grad-mean", "--seed", "5", *SHORT,
                        state_dir=hunt_state, cwd=cwd)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "starts again at step 1" in plain(again.stdout)
    state = progress_of(hunt_state)
    assert state["hunts"]["mlp"]["fault"] == "bias-grad-mean"
    assert [h["fault"] for h in state["hunts"]["mlp"]["history"]] == ["transpose-wrong-operand"]
    assert state["tours"][tour_name]["next_step"] == 0
    (attempt,) = state["tours"][tour_name]["attempts"]           # the old attempt's score is kept
    assert attempt["asked"] == 0 and attempt["seen"] == 2

    child = tour()
    assert child.expect(["Resuming at step", "Step 1/16"]) == 1
    child.expect("walkthrough> ")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()


def test_values_are_compared_up_to_the_crash(tmp_path, monkeypatch):
    """`p.add_(lr * v)`: the MLP stops itself ('training diverged') at the end of epoch 1, after the update's first
    execution was recorded with other values: that step is named, and the crash is kept beside it."""
    monkeypatch.setenv("WALKTHROUGH_STATE_DIR", str(tmp_path / "state"))
    cfg = bughunt.load_config()["mlp"]
    (m,) = [m for m in bughunt.candidates(cfg) if m.fault.id == "update-sign"]
    divergence = bughunt.first_divergence(cfg, bughunt.stage_copy(cfg, {m.path: m.source}, tmp_path))
    assert (divergence.step_id, divergence.hit) == ("update", 1) and "p" in divergence.names
    assert "training diverged" in divergence.crashed


def test_when_the_comparison_could_not_be_made_the_third_hint_says_so(tmp_path):
    """A planted hunt whose stop-by-stop recording failed (plant warns and goes on) must not be told 'no tour stop
    shows a different value': nothing was compared."""
    cfg = bughunt.load_config()["mlp"]
    verdict = bughunt.Verdict(True, "crash", "the program crashes (RuntimeError: boom)", crash="RuntimeError: boom")
    entry = {"verdict": verdict.to_json(), "divergence": None, "divergence_error": "RecorderError: took over 300 s",
             "dir": str(tmp_path / "walkthrough-work" / "bughunt-mlp"), "seeds": cfg.seeds}
    hint = bughunt.hint_text(entry, 3, cfg)
    assert "could not be compared stop by stop (RecorderError: took over 300 s)" in hint
    assert "no tour step can be named" in hint and "No tour stop shows a different value" not in hint
    assert "train.py`: the last line of its traceback" in hint
