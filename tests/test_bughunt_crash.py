"""A whole bug hunt with a bug whose runs crash, then a new hunt in the same folder, as a learner does them."""
import io
import json
import os
import re

import pexpect
import pytest

from conftest import WALKTHROUGH, walkthrough

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
    child.expect("answer> ")
    child.sendline("a")
    child.expect("walkthrough> ")
    child.sendline("c")
    child.expect("Step 2/16")
    child.expect("answer> ")
    child.sendeof()                                   # end of input: saved, exit 130
    child.expect(pexpect.EOF)
    child.close()
    tour_name = f"mlp@{copy.resolve()}"
    assert progress_of(hunt_state)["tours"][tour_name]["next_step"] == 1

    again = walkthrough("bughunt", "mlp", "--force", "--kind", "bias-grad-mean", "--seed", "5", *SHORT,
                        state_dir=hunt_state, cwd=cwd)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "starts again at step 1" in plain(again.stdout)
    state = progress_of(hunt_state)
    assert state["hunts"]["mlp"]["fault"] == "bias-grad-mean"
    assert [h["fault"] for h in state["hunts"]["mlp"]["history"]] == ["transpose-wrong-operand"]
    assert state["tours"][tour_name]["next_step"] == 0
    (attempt,) = state["tours"][tour_name]["attempts"]           # the old attempt's score is kept
    assert attempt["asked"] == 1 and attempt["seen"] >= 1

    child = tour()
    assert child.expect(["Resuming at step", "Step 1/16"]) == 1
    child.expect("answer> ")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
