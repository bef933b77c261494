"""Working copies: the whole repo, edits detected, never overwritten without force."""
import subprocess
import sys

import pytest

from conftest import PPO_DIR
from tracer.practice import workcopy


def test_copy_holds_the_repo_and_runs_like_it(tmp_path):
    copy = workcopy.create(PPO_DIR, tmp_path / "ppo", "exercise", meta={"id": "gae"})
    assert {"train.py", "agent.py", "eval.py"} <= set(copy.files)
    assert not any("__pycache__" in f for f in copy.files)
    proc = subprocess.run([sys.executable, str(tmp_path / "ppo" / "train.py"), "--help"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and "--gae-lambda" in proc.stdout
    again = workcopy.open_copy(tmp_path / "ppo")
    assert again.meta == {"id": "gae"} and again.edited() == []


def test_replaced_file_and_edits_are_tracked(tmp_path):
    copy = workcopy.create(PPO_DIR, tmp_path / "ppo", "exercise", replace={"train.py": "print('stub')\n"})
    assert (tmp_path / "ppo" / "train.py").read_text() == "print('stub')\n"
    (tmp_path / "ppo" / "train.py").write_text("print('mine')\n")
    assert copy.edited() == ["train.py"]
    with pytest.raises(workcopy.WorkCopyError, match="holds your edits .*train.py"):
        workcopy.create(PPO_DIR, tmp_path / "ppo", "exercise")
    assert (tmp_path / "ppo" / "train.py").read_text() == "print('mine')\n"     # nothing lost
    workcopy.create(PPO_DIR, tmp_path / "ppo", "exercise", force=True)
    assert (tmp_path / "ppo" / "train.py").read_text() == (PPO_DIR / "train.py").read_text()


def test_an_unedited_copy_is_replaced_and_a_foreign_folder_is_not(tmp_path):
    workcopy.create(PPO_DIR, tmp_path / "ppo", "exercise")
    workcopy.create(PPO_DIR, tmp_path / "ppo", "bughunt")          # unedited: fine
    assert workcopy.open_copy(tmp_path / "ppo").kind == "bughunt"
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("precious")
    with pytest.raises(workcopy.WorkCopyError, match="not a walkthrough working copy"):
        workcopy.create(PPO_DIR, tmp_path / "mine", "exercise")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "precious"
