import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PPO_DIR = ROOT / "minimal_impls" / "ppo"
MLP_DIR = ROOT / "minimal_impls" / "mlp"


def run_script(script, *args, timeout=300, check=True, cwd=None):
    """Run a reference repo's script as a learner would: `python path/to/train.py ARGS`."""
    proc = subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd or ROOT, env={**os.environ, "PYTHONHASHSEED": "0"})
    if check and proc.returncode != 0:
        raise AssertionError(f"{script} {args} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def read_metrics(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    """A private progress store so tests never touch the learner's."""
    d = tmp_path / "state"
    monkeypatch.setenv("WALKTHROUGH_STATE_DIR", str(d))
    return d


WALKTHROUGH = Path(sys.executable).parent / "walkthrough"


def walkthrough(*args, state_dir, timeout=300, input=None, cwd=None):
    """Run the installed `walkthrough` console script as a user would."""
    env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(state_dir), "COLUMNS": "120", "NO_COLOR": "1"}
    return subprocess.run([str(WALKTHROUGH), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env=env, input=input, cwd=cwd or ROOT)
