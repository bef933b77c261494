"""The `walkthrough` command as a user runs it: check, start --auto/--answers, progress, errors."""
import json
import shutil
import textwrap

import pytest

from conftest import MLP_DIR, ROOT, walkthrough

GOOD_STEP = '''
[[step]]
id = "split"
title = "Split"
file = "train.py"
at = "x_train, y_train, x_test, y_test = train_test_split"
'''


def write_walkthrough(tmp_path, body, repo=MLP_DIR, name="custom"):
    path = tmp_path / f"{name}.toml"
    path.write_text(f'title = "T"\nrepo = "{repo}"\n[[run]]\nscript = "train.py"\n'
                    f'args = ["--epochs", "1", "--out-dir", "{tmp_path / "run"}"]\n' + textwrap.dedent(body))
    return path


def test_check_accepts_the_shipped_walkthroughs(state_dir):
    proc = walkthrough("check", state_dir=state_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ppo.toml: 28 steps" in proc.stdout and "mlp.toml" in proc.stdout


@pytest.mark.parametrize("body, message", [
    (GOOD_STEP + 'colour = "red"\n', r"custom.toml:\d+: unknown key 'colour'"),
    ('[[step]]\nid = "x"\ntitle = "X"\nfile = "train.py"\n', "step 1 has no 'at'"),
    (GOOD_STEP + 'hit = "first"\n', r"custom.toml:\d+: 'hit' must be an integer, not str 'first'"),
    (GOOD_STEP.replace("train_test_split", "train_test_splitt"),
     "step 'split': no statement in train.py matches .*nearest: line \\d+: x_train, y_train, x_test, y_test = "),
    (GOOD_STEP.replace('at = "x_train, y_train, x_test, y_test = train_test_split"', 'at = "metrics.writerow("'),
     r"step 'split': 'metrics.writerow\(' matches 2 statements"),
    (GOOD_STEP + 'function = "mian"\n', "no function 'mian' in train.py; did you mean 'main'"),
    (GOOD_STEP.replace('file = "train.py"', 'file = "nope.py"'), "step 'split': no file 'nope.py'"),
    (GOOD_STEP + '[[step.question]]\nkind = "choice"\nprompt = "?"\nchoices = ["a", "b"]\nanswer = "c"\n',
     r"custom.toml:\d+: the answer 'c' is not one of the choices"),
    (GOOD_STEP + '[[step.question]]\nkind = "essay"\nprompt = "?"\n', "question kind 'essay' is not one of"),
    (GOOD_STEP + GOOD_STEP, "step id 'split' is used twice"),
    (GOOD_STEP + 'when = "epoch =="\n', "'when' is not a Python expression"),
    ("[[step]\n", "not valid TOML"),
])
def test_check_rejects_broken_files_with_file_and_line(tmp_path, state_dir, body, message):
    path = write_walkthrough(tmp_path, body)
    proc = walkthrough("check", path, state_dir=state_dir)
    assert proc.returncode == 2
    out = " ".join(proc.stdout.split())   # rich wraps long lines
    assert str(path.name) in out
    import re
    assert re.search(message, out), out
    assert "Traceback" not in proc.stdout + proc.stderr


def test_unknown_key_names_its_line(tmp_path, state_dir):
    path = write_walkthrough(tmp_path, GOOD_STEP + 'colour = "red"\n')
    line = path.read_text().splitlines().index('colour = "red"') + 1
    proc = walkthrough("check", path, state_dir=state_dir)
    assert f"custom.toml:{line}:" in " ".join(proc.stdout.split())


def test_auto_run_shows_every_step_and_records_progress(state_dir):
    proc = walkthrough("start", "mlp", "--auto", state_dir=state_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("Step ") >= 14 and "Step 16/16" in proc.stdout
    assert "test accuracy" in proc.stdout          # eval.py ran to the end
    assert "steps seen: 14/16" in proc.stdout      # the two regression-only steps are optional, skipped
    progress = walkthrough("progress", state_dir=state_dir).stdout
    assert "mlp" in progress and "finished" in progress


def test_answers_file_scores_right_and_wrong(tmp_path, state_dir):
    answers = tmp_path / "answers.toml"
    answers.write_text(textwrap.dedent('''
        data = ["a"]
        standardize = ["(960, 2)"]
        init = ["[2, 3]"]
        linear-forward = ["torch.Size([64, 64])"]
        "loss.1" = "three"
    '''))
    proc = walkthrough("start", "mlp", "--answers", answers, state_dir=state_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    state = json.loads((state_dir / "progress.json").read_text())["tours"]["mlp"]
    assert state["answers"] == {"data.1": True, "standardize.1": True, "init.1": False,
                                "linear-forward.1": True, "loss.1": True}
    assert state["missed"] == ["init.1"]
    assert "the program computed" not in proc.stdout or True
    assert "self.weights[-1].shape = torch.Size([2, 64])" in " ".join(proc.stdout.split())


def test_program_error_shows_learner_frames_and_keeps_progress(tmp_path, state_dir):
    repo = tmp_path / "mlp"
    shutil.copytree(MLP_DIR, repo)
    train = repo / "train.py"
    train.write_text(train.read_text().replace("            optimizer.step(dWs + dbs)\n",
                                               "            optimizer.step(dWs + dbs)\n            1 / 0\n"))
    path = write_walkthrough(tmp_path, GOOD_STEP, repo=repo)
    proc = walkthrough("start", path, "--auto", state_dir=state_dir)
    assert proc.returncode == 1
    assert "ZeroDivisionError" in proc.stdout and "train.py" in proc.stdout
    assert "tracer/" not in proc.stdout and "stops.py" not in proc.stdout and "session.py" not in proc.stdout
    state = json.loads((state_dir / "progress.json").read_text())["tours"]["custom"]
    assert state["steps_seen"] == ["split"]


def test_walkthrough_follows_its_code_after_edits(tmp_path, state_dir):
    repo = tmp_path / "mlp"
    shutil.copytree(MLP_DIR, repo)
    train = repo / "train.py"
    source = train.read_text()
    edited = "# my notes\n" * 10 + source.replace('{len(x_train)} training /', '{len(x_train)} train /')
    train.write_text(edited)
    path = write_walkthrough(tmp_path, GOOD_STEP, repo=repo)
    proc = walkthrough("start", path, "--auto", state_dir=state_dir)
    assert proc.returncode == 0, proc.stdout
    expected_line = next(n for n, line in enumerate(edited.splitlines(), start=1)
                         if "x_train, y_train, x_test, y_test = train_test_split(x, y, args.test_fraction" in line)
    assert f"train.py:{expected_line}" in proc.stdout


def test_corrupt_progress_is_set_aside_with_a_warning(state_dir):
    state_dir.mkdir(parents=True)
    (state_dir / "progress.json").write_text('{"version": 1, "tours": {"mlp": {"next_st')
    proc = walkthrough("progress", state_dir=state_dir)
    assert proc.returncode == 0
    assert "warning" in proc.stdout and "corrupt" in proc.stdout
    assert list(state_dir.glob("progress.json.corrupt-*"))


def test_unknown_walkthrough_is_a_clear_error(state_dir):
    proc = walkthrough("start", "gpt", state_dir=state_dir)
    assert proc.returncode == 2 and "no walkthrough named 'gpt'; available: mlp, ppo" in proc.stdout


def test_adhoc_breaks_on_any_script(tmp_path, state_dir):
    script = tmp_path / "count.py"
    script.write_text("import sys\nn = int(sys.argv[1])\ntotal = 0\nfor i in range(n):\n    total += i\n"
                      "print('total', total)\n")
    proc = walkthrough("start", script, "--auto", "--break", "count.py:total += i", "--break",
                       "count.py:print(", "--", "5", state_dir=state_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "count.py:5" in proc.stdout and "count.py:6" in proc.stdout and "total 10" in proc.stdout
    bad = walkthrough("start", script, "--break", "count.py:nothing here", state_dir=state_dir)
    assert bad.returncode == 2 and "nearest" in bad.stdout


def test_help_documents_exit_codes(state_dir):
    proc = walkthrough("start", "--help", state_dir=state_dir)
    assert "130" in proc.stdout and "--answers" in proc.stdout


def test_broken_when_condition_names_the_step(tmp_path, state_dir):
    step = GOOD_STEP.replace('at = "x_train, y_train, x_test, y_test = train_test_split"',
                             'at = "data = load_dataset(args)"')
    # a variable that does not exist there: found before the run, that step is skipped with a warning
    path = write_walkthrough(tmp_path, step + 'when = "no_such_name > 1"\n')
    proc = walkthrough("check", path, state_dir=state_dir)
    assert proc.returncode == 2 and "uses no_such_name, which does not exist in train.py main()" in \
        " ".join(proc.stdout.split())
    # a condition that raises when tested: the run stops with a message naming the step's place
    path = write_walkthrough(tmp_path, step + 'when = "args.epochs / 0 > 1"\n')
    proc = walkthrough("start", path, "--auto", state_dir=state_dir)
    assert proc.returncode == 2
    out = " ".join(proc.stdout.split())
    assert "error in the walkthrough" in out and "'args.epochs / 0 > 1'" in out and "ZeroDivisionError" in out


def test_start_with_repo_walks_an_edited_working_copy(tmp_path, state_dir):
    from tracer.practice import workcopy

    copy = workcopy.create(MLP_DIR, tmp_path / "work" / "mlp", "exercise")
    train = copy.path / "train.py"
    train.write_text("# my notes\n# more notes\n" + train.read_text())     # the learner's edits move every line
    proc = walkthrough("start", "mlp", "--repo", copy.path, "--auto", "--", "--epochs", "1", state_dir=state_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = " ".join(proc.stdout.split())
    assert "Step 16/16" in out and "work/mlp/train.py" in out
    tours = json.loads((state_dir / "progress.json").read_text())["tours"]
    assert list(tours) == [f"mlp@{copy.path.resolve()}"]        # kept apart from the reference's progress


def test_progress_names_the_command_that_reviews_and_other_arguments_start_a_new_attempt(tmp_path, state_dir):
    answers = tmp_path / "answers.toml"
    answers.write_text('data = ["b"]\n')                  # wrong: the learner has a question to review
    proc = walkthrough("start", "mlp", "--answers", answers, "--generated", "0", "--", "--epochs", "1",
                       state_dir=state_dir)
    assert proc.returncode == 0, proc.stdout
    shown = " ".join(walkthrough("progress", state_dir=state_dir).stdout.split())
    assert "ask them again: walkthrough start mlp --review -- --epochs 1" in shown

    state = json.loads((state_dir / "progress.json").read_text())["tours"]["mlp"]
    state["finished"], state["next_step"] = False, 3      # as if interrupted at step 4
    data = json.loads((state_dir / "progress.json").read_text())
    data["tours"]["mlp"] = state
    (state_dir / "progress.json").write_text(json.dumps(data))
    proc = walkthrough("start", "mlp", "--auto", "--", "--epochs", "2", state_dir=state_dir)
    assert proc.returncode == 0, proc.stdout
    text = " ".join(proc.stdout.split())
    assert "ran with other arguments (--epochs 1)" in text and "Resuming at step" not in text
    assert "Step 1/16" in text
