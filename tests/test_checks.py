"""Value checks (`check` at a stop): they flag what is numerically wrong, and nothing on the healthy references."""
import sys

import pexpect
import pytest
import torch

from conftest import WALKTHROUGH
from test_interactive import loose
from tracer.practice.checks import check_values, run_checked_subprocess


def checks_of(values, statement=""):
    return {(f.check, f.name) for f in check_values(values, statement)}


def test_healthy_looking_values_raise_no_flag():
    net = torch.nn.Linear(4, 2)
    net(torch.randn(8, 4)).sum().backward()
    values = {"agent": net, "loss": (net.weight ** 2).sum(), "probs": torch.softmax(torch.randn(8, 3), dim=1),
              "log_probs": torch.log_softmax(torch.randn(8, 3), dim=1), "dones": torch.zeros(16, 4),
              "obs": torch.randn(16, 4), "returns": torch.randn(64), "newvalue": torch.randn(64, requires_grad=True),
              "a": torch.randn(64, 8).clamp(min=0), "episodic_return": float("nan")}
    assert checks_of(values, "v_loss = ((newvalue - returns) ** 2).mean()") == set()


@pytest.mark.parametrize("values, statement, expected", [
    ({"logits": torch.tensor([[1.0, float("nan")]])}, "", ("nan-inf", "logits")),
    ({"dWs": [torch.ones(2, 2), torch.tensor([float("inf")])]}, "", ("nan-inf", "dWs[1]")),
    ({"x": torch.full((3,), 2e7)}, "", ("huge-values", "x")),
    ({"agent": torch.nn.Linear(2, 1), "loss": torch.tensor(0.3)}, "", ("loss-without-grad", "loss")),
    ({"values": torch.zeros(4, 2, requires_grad=True)}, "", ("unexpected-grad", "values")),
    ({"newvalue": torch.randn(64), "b_returns": torch.randn(256, 1), "mb_inds": torch.arange(64)},
     "v_loss = 0.5 * ((newvalue - b_returns[mb_inds]) ** 2).mean()", ("broadcast-n1-n", "newvalue and b_returns[mb_inds]")),
    ({"probs": torch.softmax(torch.randn(8, 3), dim=0)}, "", ("probs-not-normalised", "probs")),
    ({"probs": torch.randn(8, 3)}, "", ("logits-as-probs", "probs")),
    ({"log_probs": torch.rand(8, 3)}, "", ("logits-as-probs", "log_probs")),
    ({"dz": torch.full((8, 4), 1e3)}, "", ("exploding-grad", "dz")),
    ({"a_in": torch.cat([torch.rand(16, 2), torch.zeros(16, 6)], dim=1)}, "", ("dead-relu", "a_in")),
    ({"ratio": torch.tensor([0.5, -0.1, 0.0])}, "", ("ratio-not-positive", "ratio")),
    ({"logits": torch.full((8, 3), 0.2) + 1e-6 * torch.randn(8, 3)}, "", ("flat-output", "logits")),
    ({"entropy": torch.full((64,), 0.01)}, "", ("entropy-collapse", "entropy")),
    ({"approx_kl": torch.tensor(2.5)}, "", ("kl-too-large", "approx_kl")),
    ({"v_loss": torch.tensor(-3.0)}, "", ("negative-mse", "v_loss")),
    ({"nextnonterminal": torch.tensor([0.0, 0.0, 1.0, 0.0])}, "", ("inverted-mask", "nextnonterminal")),
])
def test_each_check_flags_its_problem(values, statement, expected):
    assert expected in checks_of(values, statement)


def test_parameters_without_gradient_and_outside_the_optimiser_are_flagged():
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 1))
    (net[1](torch.randn(8, 4)) ** 2).mean().backward()         # the first layer is left out of the graph
    optimizer = torch.optim.SGD(net[1].parameters(), lr=0.1)  # and out of the optimiser
    found = checks_of({"net": net, "optimizer": optimizer})
    assert {("params-without-grad", "net"), ("not-optimised", "net")} <= found


def test_the_watchdog_flags_parameters_that_training_never_changes():
    from tracer.practice.checks import FROZEN_AFTER, ParameterMemory

    net = torch.nn.Linear(2, 1)
    net(torch.randn(4, 2)).sum().backward()
    memory = ParameterMemory()

    def step(hit, update):
        if update:
            with torch.no_grad():
                net.weight -= 0.1 * net.weight.grad
        return memory.frozen(sys._getframe(), "update", hit)

    assert step(1, update=True) == []
    assert step(FROZEN_AFTER // 2, update=True) == []          # too soon to tell
    (flag,) = step(FROZEN_AFTER, update=True)                   # the bias is never updated, the weight is
    assert flag.check == "frozen-params" and flag.name == "net.bias"


def test_a_loss_without_grad_is_fine_without_autograd():
    """The hand-written MLP computes its loss with no autograd at all: no flag there."""
    assert checks_of({"loss": torch.tensor(0.7), "model": object()}) == set()


def test_checks_never_run_the_learners_code():
    calls = []

    class Spy:
        def __sub__(self, other):
            calls.append("sub")
            return self

    check_values({"x": Spy(), "y": torch.zeros(2)}, "z = x - y")
    check_values({"f": lambda: calls.append("call")}, "z = f() - 1")
    assert calls == []


@pytest.mark.parametrize("walkthrough, argv, stops", [("ppo", ["--total-timesteps", "1280", "--num-steps", "8"], 28),
                                                      ("mlp", ["--epochs", "1"], 14)])
def test_the_healthy_references_raise_no_flag_at_any_tour_stop(walkthrough, argv, stops):
    result = run_checked_subprocess(walkthrough, None, argv)
    assert result["error"] is None
    assert len(result["stops"]) == stops          # every stop of the tour (eval.py's included) this run reaches
    assert {step: flags for step, flags in result["stops"].items() if flags} == {}


def to_prompt(child):
    """Skip the step's questions (Enter) until the walkthrough> prompt."""
    while child.expect(["walkthrough> ", "answer> "]) == 1:
        child.sendline("")


def test_check_at_the_prompt_shows_the_flags(state_dir, tmp_path):
    """A learner types `check` at stops of a copy whose softmax normalises over the batch."""
    import os
    import shutil

    from conftest import MLP_DIR
    copy = tmp_path / "mlp"
    shutil.copytree(MLP_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "runs"))
    model = copy / "model.py"
    model.write_text(model.read_text().replace("shifted.exp().sum(dim=1, keepdim=True)",
                                               "shifted.exp().sum(dim=0, keepdim=True)"))
    env = {**os.environ, "WALKTHROUGH_STATE_DIR": str(state_dir), "NO_COLOR": "1", "TERM": "xterm"}
    child = pexpect.spawn(str(WALKTHROUGH), ["start", "mlp", "--repo", str(copy), "--generated", "0", "--",
                                             "--epochs", "1"], env=env, encoding="utf-8", dimensions=(60, 130),
                          timeout=60)
    child.expect("Step 1/")
    to_prompt(child)
    child.sendline("check")                  # step 1: before the data exists, no tensor to look at
    child.expect(loose("nothing to check here"))
    child.expect("walkthrough> ")
    for step in range(2, 8):
        child.sendline("c")
        child.expect(f"Step {step}/")
        to_prompt(child)
    child.sendline("check")                  # step 7: the gradient of the loss, with probs in the frame
    child.expect("probs-not-normalised")
    child.expect("walkthrough> ")
    child.sendline("q")
    child.expect(pexpect.EOF)
