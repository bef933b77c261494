"""The PPO reference repo trains, checkpoints, evaluates, is deterministic and learns."""
import json

import numpy as np

from conftest import PPO_DIR, read_metrics, run_script


def train(out_dir, *extra):
    return run_script(PPO_DIR / "train.py", "--out-dir", out_dir, *extra)


def test_train_writes_checkpoint_and_metrics_and_eval_loads_it(tmp_path):
    proc = train(tmp_path, "--total-timesteps", 1024, "--log-every", 1)
    assert "steps/s" in proc.stdout and "return" in proc.stdout
    rows = read_metrics(tmp_path / "metrics.csv")
    assert [int(r["iteration"]) for r in rows] == [1, 2, 3, 4]
    assert int(rows[-1]["global_step"]) == 1024
    assert (tmp_path / "agent.pt").exists()

    out = run_script(PPO_DIR / "eval.py", tmp_path / "agent.pt", "--episodes", 3, "--json").stdout
    result = json.loads(out)
    assert result["episodes"] == 3 and len(result["returns"]) == 3
    assert result["mean_return"] == np.mean(result["returns"])


def test_same_seed_same_numbers(tmp_path):
    runs = []
    for name in ("a", "b"):
        train(tmp_path / name, "--total-timesteps", 768, "--seed", 7)
        runs.append([{k: v for k, v in r.items() if k != "seconds"} for r in read_metrics(tmp_path / name / "metrics.csv")])
    assert runs[0] == runs[1]
    train(tmp_path / "c", "--total-timesteps", 768, "--seed", 8)
    other = [{k: v for k, v in r.items() if k != "seconds"} for r in read_metrics(tmp_path / "c" / "metrics.csv")]
    assert other != runs[0]


def test_eval_reports_missing_checkpoint_clearly(tmp_path):
    proc = run_script(PPO_DIR / "eval.py", tmp_path / "nope.pt", check=False)
    assert proc.returncode != 0
    assert "no checkpoint at" in proc.stderr and "Traceback" not in proc.stderr


def test_ppo_learns_far_beyond_random_policy(tmp_path):
    # A uniformly random policy averages about 22 on CartPole-v1.
    train(tmp_path, "--total-timesteps", 20_000, "--seed", 3)
    rows = read_metrics(tmp_path / "metrics.csv")
    last_returns = [float(r["episodic_return"]) for r in rows[-5:]]
    assert min(last_returns) > 100, last_returns
    greedy = json.loads(run_script(PPO_DIR / "eval.py", tmp_path / "agent.pt", "--json").stdout)
    assert greedy["mean_return"] > 150, greedy
