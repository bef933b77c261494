"""Drive `walkthrough start mlp` in a real pseudo-terminal, as a learner would."""
import json
import os
import re

import pexpect

from conftest import MLP_DIR, WALKTHROUGH


_STYLE = r"(?:\x1b\[[0-9;]*m)*"


def loose(text):
    """A regex for `text` that tolerates rich's style codes between any two characters."""
    return _STYLE.join(re.escape(ch) for ch in text)


def spawn(state_dir, *args):
    env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(state_dir), "NO_COLOR": "1", "TERM": "xterm"}
    # authored questions only: the generated ones are tested in test_questions.py
    child = pexpect.spawn(str(WALKTHROUGH), ["start", "mlp", "--generated", "0", *args], env=env, encoding="utf-8",
                          dimensions=(60, 130), timeout=60)
    return child


def test_learner_answers_prints_steps_quits_and_resumes(state_dir):
    child = spawn(state_dir)
    child.expect("Step 1/16")
    child.expect("The data: three interleaved spirals")
    child.expect("load_dataset")                      # the code around the line
    child.expect("Question 1/1")
    child.expect("a\\) Its decision boundaries are straight lines")
    child.expect("answer> ")
    child.sendline("a")                               # right
    child.expect("right")
    child.expect("walkthrough> ")
    child.sendline("p args.epochs")                   # print an expression in the paused frame
    child.expect(loose("args.epochs = 30"))
    child.expect("walkthrough> ")
    child.sendline("s")                               # step one line: into load_dataset
    line = (MLP_DIR / "train.py").read_text().splitlines().index("    if args.csv:") + 1
    child.expect(loose(f"train.py:{line}  in load_dataset()"))
    child.expect("walkthrough> ")
    child.sendline("w")
    child.expect("stack")
    child.expect("load_dataset")
    child.expect("walkthrough> ")
    child.sendline("c")

    child.expect("Step 2/16")
    child.expect("Standardise")
    child.expect("answer> ")
    child.sendline("(1, 1)")                          # wrong: checked against the real run
    child.expect("not quite")
    child.expect(loose("torch.Size([960, 2])"))
    child.expect("walkthrough> ")
    child.sendintr()                                  # Ctrl-C
    child.expect("Progress saved")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130

    state = json.loads((state_dir / "progress.json").read_text())["tours"]["mlp"]
    assert state["answers"] == {"data.1": True, "standardize.1": False}
    assert state["next_step"] == 2

    again = spawn(state_dir)
    again.expect("Resuming at step 3/16")
    again.expect("Step 3/16")
    again.expect("He initialisation")
    again.expect("answer> ")
    again.sendeof()                                   # end of input: saved, exit 130
    again.expect(pexpect.EOF)
    again.close()
    assert again.exitstatus == 130


def test_quit_command_saves_and_exits_cleanly(state_dir):
    child = spawn(state_dir, "--restart")
    child.expect("answer> ")
    child.sendline("")                                # skip the question
    child.expect("skipped")
    child.expect("walkthrough> ")
    child.sendline("h")
    child.expect("Step into load_dataset")
    child.expect("walkthrough> ")
    child.sendline("q")
    child.expect("Progress saved")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_keys_and_non_answers_at_the_answer_prompt_are_not_graded(state_dir):
    child = spawn(state_dir, "--restart")
    child.expect("Question 1/1")
    child.expect("answer> ")
    child.sendline("h")                               # the hint, before answering
    child.expect("Step into load_dataset")
    child.expect("answer> ")
    child.sendline("p args.epochs")                   # look at a value, before answering
    child.expect(loose("args.epochs = 30"))
    child.expect("answer> ")
    child.sendline("zzz")                             # names no option: asked again, not graded
    child.expect("not one of the options")
    child.expect("answer> ")
    child.sendline("a")
    child.expect("right")
    child.expect("walkthrough> ")
    child.sendline("c")
    child.expect("Step 2/16")
    child.expect("answer> ")
    child.sendline("wide")                            # a word where a shape is asked
    child.expect("not a shape")
    child.expect("answer> ")
    child.sendline("(960, 2)")
    child.expect("right")
    child.expect("walkthrough> ")
    child.sendline("h")                               # the hint is still there after the line ran
    child.expect("walkthrough> ")
    assert "No hint here" not in child.before
    child.sendline("q")
    child.expect(pexpect.EOF)
    child.close()
    state = json.loads((state_dir / "progress.json").read_text())["tours"]["mlp"]
    assert state["answers"] == {"data.1": True, "standardize.1": True}
    assert state["missed"] == []


def test_ctrl_c_while_training_runs_saves_progress_and_exits_130(state_dir):
    child = spawn(state_dir, "--auto", "--restart", "--", "--epochs", "100000")
    child.expect("Step 14/16")                        # the last stop inside the training loop
    child.expect("running to step 15/16")             # training goes on at full speed
    child.sendintr()
    child.expect("Interrupted. Progress saved")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    state = json.loads((state_dir / "progress.json").read_text())["tours"]["mlp"]
    assert state["next_step"] == 14 and len(state["steps_seen"]) == 12      # steps 8-9: regression only
    assert not state["finished"]
