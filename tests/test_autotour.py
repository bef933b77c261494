"""Tours generated on the spot: `walkthrough start SCRIPT` with no --break, on repositories we did not annotate."""
import os
import re
import textwrap
import tomllib
from pathlib import Path

import pytest

from conftest import MLP_DIR, ROOT, walkthrough
from tracer import spec
from tracer.autotour import generate

# A small repository as learners meet them: a package with sub-packages, tyro arguments, a thread, a pool of
# forked worker processes, a lot of printing, no_grad work that feeds the loss, and an evaluation.
TINY_REPO = {
    "train.py": '''
        import multiprocessing as mp
        import threading
        from dataclasses import dataclass

        import torch
        import tyro

        from tinypkg.data import make_data
        from tinypkg.models.net import TinyNet


        @dataclass
        class Args:
            steps: int = 30
            """optimisation steps"""
            lr: float = 0.1
            """SGD step size"""


        def square(x):
            return x * x


        def evaluate(model, x, y):
            with torch.no_grad():
                pred = model(x).argmax(dim=1)
                accuracy = (pred == y).float().mean().item()
            return accuracy


        def main(args):
            torch.manual_seed(0)
            x, y = make_data(256)
            model = TinyNet(4, 16, 3)
            optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
            worker = threading.Thread(target=print, args=("a logging thread",))
            worker.start()
            worker.join()
            with mp.get_context("fork").Pool(2) as pool:
                print("squares from worker processes", pool.map(square, range(4)))
            for step in range(args.steps):
                idx = torch.randint(0, len(x), (32,))
                xb, yb = x[idx], y[idx]

                # per-example weights, computed without gradients, feed the loss
                with torch.no_grad():
                    weights = (yb + 1).float() / 3.0

                logits = model(xb)
                losses = torch.nn.functional.cross_entropy(logits, yb, reduction="none")
                loss = (losses * weights).mean()

                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                for _ in range(50):
                    print("step", step, "loss", loss.item())
            print("accuracy", evaluate(model, x, y))


        if __name__ == "__main__":
            main(tyro.cli(Args))
    ''',
    "tinypkg/__init__.py": "",
    "tinypkg/data.py": '''
        import torch


        def make_data(n):
            x = torch.randn(n, 4)
            y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
            return x, y
    ''',
    "tinypkg/models/__init__.py": "from .net import TinyNet\n",
    "tinypkg/models/net.py": '''
        import torch
        from torch import nn


        class TinyNet(nn.Module):
            def __init__(self, n_in, hidden, n_out):
                super().__init__()
                self.hidden = nn.Linear(n_in, hidden)
                self.out = nn.Linear(hidden, n_out)

            def forward(self, x):
                h = torch.tanh(self.hidden(x))
                return self.out(h)
    ''',
}


@pytest.fixture(scope="module")
def tiny_repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_repo")
    for name, text in TINY_REPO.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text).lstrip())
    return root


@pytest.fixture(scope="module")
def generated(tiny_repo):
    """The tour of the tiny repository, as the API makes it (one short run)."""
    return generate.generate(tiny_repo / "train.py", ["--steps", "12"], cwd=tiny_repo)


def _step(result, code):
    matches = [s for s in result.walkthrough.steps if Path(s.path).name and code in _span(s)]
    assert matches, f"no generated step covers {code!r}: " + ", ".join(s.title for s in result.walkthrough.steps)
    return matches[0]


def _span(step) -> str:
    lines = Path(step.path).read_text().splitlines()
    return "\n".join(lines[step.line - 1:step.end_line])


def test_tour_stops_in_a_sub_module_of_a_package(generated):
    step = _step(generated, "h = torch.tanh(self.hidden(x))")
    assert Path(step.path).relative_to(generated.walkthrough.repo_dir).as_posix() == "tinypkg/models/net.py"
    assert step.function == "TinyNet.forward"


def test_tour_covers_the_training_step_in_run_order(generated):
    steps = generated.walkthrough.steps
    backward = _step(generated, "loss.backward()")
    assert "Backpropagat" in backward.title or "backpropagate" in backward.title
    order = [s.id for s in steps]
    assert order.index(_step(generated, "model = TinyNet(4, 16, 3)").id) < order.index(backward.id)
    assert order.index(backward.id) < order.index(_step(generated, "pred = model(x).argmax(dim=1)").id)
    assert all(s.line > 0 for s in steps) and len({s.id for s in steps}) == len(steps)


def test_no_grad_work_feeding_the_loss_is_in_the_slice_and_said_to_be(generated):
    weights = _step(generated, "weights = (yb + 1).float() / 3.0")
    assert "Gradients off here" in weights.text
    assert re.search(r"`weights` → .*`loss` → `loss.backward\(\)`", weights.text)


def test_evaluation_is_never_claimed_to_feed_the_loss(generated):
    evaluation = _step(generated, "pred = model(x).argmax(dim=1)")
    assert "feeds the training step" not in evaluation.text
    assert "evaluation" in evaluation.text.lower()


def test_explanations_say_they_are_generated_and_show_shapes_seen(generated):
    logits = _step(generated, "logits = model(xb)")
    assert logits.text.startswith(generate.describe.GENERATED_NOTE)
    assert "tensor (32, 3) float32, requires grad" in logits.text


def test_cli_generates_saves_and_checks_the_tour_it_walked(tiny_repo, state_dir):
    tour = tiny_repo / "my_tour.toml"
    first = walkthrough("start", "train.py", "--auto", "--save-walkthrough", tour, "--", "--steps", "6",
                        state_dir=state_dir, cwd=tiny_repo, timeout=240)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "A generated tour of train.py" in first.stdout and "squares from worker processes" in first.stdout
    seen = re.search(r"steps seen: (\d+)/(\d+)", first.stdout)
    assert seen and seen.group(1) == seen.group(2), first.stdout[-2000:]
    check = walkthrough("check", tour, state_dir=state_dir)
    assert check.returncode == 0 and "every anchor resolves" in check.stdout, check.stdout
    saved = spec.load(tour)
    assert saved.repo_dir == tiny_repo.resolve() and saved.runs[0].args == ["--steps", "6"]
    walked = re.findall(r"^Step \d+/\d+  (.+?) ─", first.stdout, re.M)
    assert [s.title for s in saved.steps] == walked and len(walked) == int(seen.group(2))
    cached = walkthrough("start", "train.py", "--auto", "--", "--steps", "6", state_dir=state_dir, cwd=tiny_repo,
                         timeout=240)
    assert "Using the tour generated before" in cached.stdout
    assert re.findall(r"^Step \d+/\d+  (.+?) ─", cached.stdout, re.M) == walked


def test_a_missing_dependency_is_named(tmp_path, state_dir):
    (tmp_path / "train.py").write_text("import json\nimport surely_not_installed_xyz\n")
    result = walkthrough("start", tmp_path / "train.py", state_dir=state_dir, cwd=tmp_path)
    assert result.returncode == 1
    assert "'surely_not_installed_xyz'" in result.stdout and "train.py:2" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_a_walkthrough_file_may_point_at_any_repo(tmp_path, state_dir):
    (tmp_path / "tours").mkdir()
    (tmp_path / "tours" / "mine.toml").write_text(textwrap.dedent(f'''
        title = "MLP, my way"
        repo = "{Path(os.path.relpath(MLP_DIR, tmp_path / 'tours')).as_posix()}"
        [[run]]
        script = "train.py"
        args = ["--epochs", "1", "--out-dir", "{tmp_path / 'out'}"]
        [[step]]
        id = "loss"
        title = "The loss"
        file = "model.py"
        at = "loss = -log_probs"
        until = "return loss"
    '''))
    result = walkthrough("start", tmp_path / "tours" / "mine.toml", "--auto", state_dir=state_dir, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "steps seen: 1/1" in result.stdout and "❱" in result.stdout


def test_generated_tour_of_our_mlp_finds_the_experts_lines(tmp_path):
    expert = tomllib.loads((ROOT / "tests/data/autotour/experts/mlp.toml").read_text())
    args = [a.replace("{out}", str(tmp_path / "out")) for a in expert["args"]] + ["--samples", "300"]
    result = generate.generate(MLP_DIR / "train.py", args, cwd=tmp_path)
    steps = result.walkthrough.steps
    assert 12 <= len(steps) <= 30
    found = 0
    for stop in expert["stop"]:
        line = generate.anchors.resolve(MLP_DIR / stop["file"], stop["at"], stop.get("function")).line
        found += any(Path(s.path).name == stop["file"] and s.line <= line <= s.end_line for s in steps)
    assert found / len(expert["stop"]) >= 0.8


MICROGRAD_CLICK = """
import click


class Value:
    \"\"\"A scalar that remembers how it was computed (micrograd style).\"\"\"

    def __init__(self, data, parents=(), grads=()):
        self.data, self.grad, self.parents, self.grads = data, 0.0, parents, grads

    def __add__(self, other):
        return Value(self.data + other.data, (self, other), (1.0, 1.0))

    def __mul__(self, other):
        return Value(self.data * other.data, (self, other), (other.data, self.data))

    def backward(self, upstream=1.0):
        self.grad += upstream
        for parent, local in zip(self.parents, self.grads):
            parent.backward(upstream * local)


@click.command()
@click.option("--steps", default=5, help="gradient steps")
def main(steps):
    w = Value(0.5)
    for step in range(steps):
        pred = w * Value(2.0)
        error = pred + Value(-3.0)
        loss = error * error
        w.grad = 0.0
        loss.backward()
        w.data -= 0.1 * w.grad
        print("step", step, "loss", loss.data)


if __name__ == "__main__":
    main()
"""


def test_a_click_script_with_its_own_autograd(tmp_path, state_dir):
    (tmp_path / "train.py").write_text(MICROGRAD_CLICK)
    result = walkthrough("start", "train.py", "--auto", "--", "--steps", "3", state_dir=state_dir, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    titles = re.findall(r"^Step \d+/\d+  (.+?) ─", result.stdout, re.M)
    assert any("loss" in t for t in titles) and any("Backpropagation" in t for t in titles), titles
    seen = re.search(r"steps seen: (\d+)/(\d+)", result.stdout)
    assert seen and seen.group(1) == seen.group(2)


def test_a_program_that_trains_for_long_is_cut_short_and_toured_from_what_ran(tmp_path):
    (tmp_path / "train.py").write_text(MICROGRAD_CLICK)
    result = generate.generate(tmp_path / "train.py", ["--steps", "100000000"], seconds=3, cwd=tmp_path)
    assert 2.5 <= result.run_seconds < 10
    assert any("stopped after 3 s" in note for note in result.notes)
    assert any("Backpropagation" in step.title for step in result.walkthrough.steps)


def test_a_program_that_exits_before_training_shows_why(tmp_path, state_dir):
    (tmp_path / "train.py").write_text('import argparse\np = argparse.ArgumentParser()\n'
                                       'p.add_argument("--data", required=True)\nargs = p.parse_args()\n')
    result = walkthrough("start", tmp_path / "train.py", state_dir=state_dir, cwd=tmp_path)
    assert result.returncode == 1
    assert "exited with status 2 before any training step ran" in result.stdout
    assert "the following arguments are required: --data" in result.stdout
