"""The hand-written backprop is right and the MLP repo trains and evaluates (own tables: test_own_data.py)."""
import json
import sys

import pytest
import torch

from conftest import MLP_DIR, read_metrics, run_script

sys.path.insert(0, str(MLP_DIR))
import data  # noqa: E402
import model  # noqa: E402


@pytest.mark.parametrize("sizes", [[3, 5, 4], [6, 8, 7, 5, 3], [2, 16, 2]])
def test_backward_matches_autograd_in_every_layer(sizes):
    torch.manual_seed(sum(sizes))
    net = model.MLP(sizes, seed=1, dtype=torch.float64)
    x = torch.randn(11, sizes[0], dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, sizes[-1], (11,))

    logits, cache = net.forward(x)
    loss, probs = model.softmax_cross_entropy(logits, y)
    dWs, dbs, dx = net.backward(model.softmax_cross_entropy_backward(probs, y), cache)

    params = [p.clone().requires_grad_(True) for p in net.parameters()]
    ws, bs = params[: len(net.weights)], params[len(net.weights):]
    a = x
    for i, (W, b) in enumerate(zip(ws, bs)):
        a = a @ W + b
        if i < len(ws) - 1:
            a = torch.relu(a)
    reference = torch.nn.functional.cross_entropy(a, y)
    assert torch.allclose(loss, reference, atol=1e-10)
    reference.backward()
    for layer in range(len(ws)):
        torch.testing.assert_close(dWs[layer], ws[layer].grad, atol=1e-6, rtol=0, msg=f"dW of layer {layer}")
        torch.testing.assert_close(dbs[layer], bs[layer].grad, atol=1e-6, rtol=0, msg=f"db of layer {layer}")
    torch.testing.assert_close(dx, x.grad, atol=1e-6, rtol=0)


def test_squared_error_backward_matches_autograd():
    torch.manual_seed(0)
    outputs = torch.randn(9, 1, dtype=torch.float64, requires_grad=True)
    y = torch.randn(9, dtype=torch.float64)
    loss = model.squared_error(outputs, y)
    assert torch.allclose(loss, 0.5 * torch.nn.functional.mse_loss(outputs[:, 0], y))
    loss.backward()
    torch.testing.assert_close(model.squared_error_backward(outputs.detach(), y), outputs.grad)


def test_train_eval_and_determinism(tmp_path):
    for name in ("a", "b"):
        run_script(MLP_DIR / "train.py", "--epochs", 3, "--out-dir", tmp_path / name, "--seed", 4)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    a, b = (strip(read_metrics(tmp_path / n / "metrics.csv")) for n in ("a", "b"))
    assert len(a) == 3 and a == b
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["task"] == "classification" and summary["metric"] == "accuracy"
    best = a[summary["best_epoch"] - 1]                   # the weights kept: the lowest validation loss
    assert float(best["valid_loss"]) == min(float(row["valid_loss"]) for row in a)
    assert summary["test_metric"] == pytest.approx(float(best["test_accuracy"]), abs=1e-4)
    result = json.loads(run_script(MLP_DIR / "eval.py", tmp_path / "a" / "model.pt", "--json").stdout)
    assert result["accuracy"] == pytest.approx(summary["test_metric"], abs=1e-6)
    assert result["baseline_metric"] == pytest.approx(summary["baseline_metric"])
    assert sum(map(sum, result["confusion_matrix"])) == result["n_test"]
    text = run_script(MLP_DIR / "eval.py", tmp_path / "a" / "model.pt").stdout
    assert "test accuracy" in text and "baseline" in text and "true \\ predicted" in text


def test_spirals_are_learned(tmp_path):
    run_script(MLP_DIR / "train.py", "--epochs", 60, "--out-dir", tmp_path)
    assert float(read_metrics(tmp_path / "metrics.csv")[-1]["test_accuracy"]) >= 0.95


def test_lines_dataset_labels_count_lines():
    x, y = data.make_lines(n_samples=50, size=12, max_lines=3, seed=0)
    assert x.shape == (50, 144)
    assert torch.all(x[y == 0] == 0)                     # no line, no ink
    assert torch.all(x[y > 0].sum(dim=1) > 0)


def test_good_csv_trains_and_evaluates(tmp_path):
    spiral_x, spiral_y = data.make_spirals(n_per_class=60, seed=2)
    names = ["setosa", "versicolor", "virginica"]
    lines = ["a,b,species"] + [f"{u:.4f},{v:.4f},{names[k]}" for (u, v), k in zip(spiral_x.tolist(), spiral_y.tolist())]
    table = tmp_path / "table.csv"
    table.write_text("\n".join(lines) + "\n")
    proc = run_script(MLP_DIR / "train.py", "--csv", table, "--target", "species", "--epochs", 30,
                      "--out-dir", tmp_path / "run")
    assert "129 training / 15 validation / 36 test examples" in proc.stdout     # 180 rows, stratified
    assert "task: classification, because 'species' holds text" in proc.stdout
    text = run_script(MLP_DIR / "eval.py", tmp_path / "run" / "model.pt").stdout
    assert "virginica" in text


def test_missing_csv_file_is_named(tmp_path):
    proc = run_script(MLP_DIR / "train.py", "--csv", tmp_path / "absent.csv", "--target", "y", check=False)
    assert proc.returncode != 0 and "absent.csv: no such file" in proc.stderr
