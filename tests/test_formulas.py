"""Every formula a walkthrough shows is checked against what its code computes, on the real run.

The engine stops at each step's statement, records what the formula's right-hand side needs, lets the
whole statement run, then compares the value the code produced with the formula evaluated
independently (with torch.nn.functional where the math names a standard function). A sign error in a
step's math (PPO's total loss) or a missing term (the MLP's weight decay) fails here.
"""
import sys

import pytest
import torch
import torch.nn.functional as F

from tracer import spec
from tracer.engine.stops import CONTINUE, STEP_OVER, Engine, StopPoint


def close(a, b, tol=1e-5):
    return torch.allclose(torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64),
                          atol=tol, rtol=tol)


# step id -> (before(frame) -> saved, after(frame, saved) -> None: asserts the formula)
PPO = {
    "args": (None, lambda f, s: f.f_locals["args"].batch_size == f.f_locals["args"].num_envs * f.f_locals["args"].num_steps
             or pytest.fail("batch_size ≠ num_envs × num_steps")),
    "lr-anneal": (None, lambda f, s: close(
        f.f_locals["optimizer"].param_groups[0]["lr"],
        f.f_locals["args"].learning_rate * (1 - (f.f_locals["iteration"] - 1) / f.f_locals["args"].num_iterations))
        or pytest.fail("lr_k ≠ lr_0 · (1 − (k − 1)/K)")),
    "td-error": (None, lambda f, s: _td(f.f_locals)),
    "gae": (lambda f: float(f.f_locals["lastgaelam"]) if not torch.is_tensor(f.f_locals["lastgaelam"])
            else f.f_locals["lastgaelam"].clone(), lambda f, s: _gae(f.f_locals, s)),
    "returns": (None, lambda f, s: close(f.f_locals["returns"], f.f_locals["advantages"] + f.f_locals["values"])
                or pytest.fail("R ≠ Â + V")),
    "flatten": (None, lambda f, s: tuple(f.f_locals["b_obs"].shape) == (
        f.f_locals["args"].batch_size, f.f_locals["obs_dim"]) or pytest.fail("b_obs shape")),
    "minibatch": (None, lambda f, s: len(f.f_locals["mb_inds"]) == f.f_locals["args"].batch_size //
                  f.f_locals["args"].num_minibatches or pytest.fail("minibatch_size ≠ ⌊batch_size / num_minibatches⌋")),
    "ratio": (None, lambda f, s: close(f.f_locals["ratio"], torch.exp(
        f.f_locals["newlogprob"] - f.f_locals["b_logprobs"][f.f_locals["mb_inds"]])) or pytest.fail("r ≠ exp(Δ log π)")),
    "adv-norm": (None, lambda f, s: (abs(f.f_locals["mb_advantages"].mean().item()) < 1e-5
                                     and abs(f.f_locals["mb_advantages"].std().item() - 1) < 1e-3)
                 or pytest.fail("advantages not normalised")),
    "clip": (None, lambda f, s: close(f.f_locals["pg_loss"], -_l_clip(f.f_locals)) or pytest.fail("pg_loss ≠ −L^CLIP")),
    "value-loss": (None, lambda f, s: close(f.f_locals["v_loss"], 0.5 * ((
        f.f_locals["newvalue"] - f.f_locals["b_returns"][f.f_locals["mb_inds"]]) ** 2).mean()) or pytest.fail("L^VF")),
    "total-loss": (None, lambda f, s: _total_loss(f.f_locals)),
    "grad-clip": (lambda f: [p.grad.clone() for p in f.f_locals["agent"].parameters()],
                  lambda f, s: _grad_clip(f.f_locals, s)),
    "episode-return": (lambda f: f.f_locals["episode_returns"].copy(), lambda f, s: _episode_return(f.f_locals, s)),
}


def _td(v):
    t, args = v["t"], v["args"]
    done_next = v["next_done"] if t == args.num_steps - 1 else v["dones"][t + 1]
    next_value = v["next_value"] if t == args.num_steps - 1 else v["values"][t + 1]
    expected = v["rewards"][t] + args.gamma * next_value * (1 - done_next) - v["values"][t]
    assert close(v["delta"], expected), "δ_t ≠ r_t + γ V(s_{t+1}) (1 − done_{t+1}) − V(s_t)"


def _gae(v, previous):
    t, args = v["t"], v["args"]
    done_next = v["next_done"] if t == args.num_steps - 1 else v["dones"][t + 1]
    expected = v["delta"] + args.gamma * args.gae_lambda * (1 - done_next) * torch.as_tensor(previous)
    assert close(v["lastgaelam"], expected), "Â_t ≠ δ_t + γλ (1 − done_{t+1}) Â_{t+1}"


def _l_clip(v):
    r, adv, eps = v["ratio"], v["mb_advantages"], v["args"].clip_coef
    return torch.min(r * adv, torch.clamp(r, 1 - eps, 1 + eps) * adv).mean()


def _total_loss(v):
    args = v["args"]
    v_loss = 0.5 * ((v["newvalue"] - v["b_returns"][v["mb_inds"]]) ** 2).mean()
    expected = -_l_clip(v) - args.ent_coef * v["entropy"].mean() + args.vf_coef * v_loss
    assert close(v["loss"], expected), "L ≠ −L^CLIP − c₂ S + c₁ L^VF"


def _grad_clip(v, before):
    c = v["args"].max_grad_norm
    norm = torch.linalg.vector_norm(torch.cat([g.reshape(-1) for g in before]))
    scale = min(1.0, c / (norm.item() + 1e-6))
    for g_before, p in zip(before, v["agent"].parameters()):
        assert close(p.grad, g_before * scale, tol=1e-4), "g ≠ g · min(1, c / ‖g‖)"


def _episode_return(v, before):
    import numpy as np
    assert np.allclose(v["episode_returns"], before + v["reward"] * ~v["finished"]), "return update"


MLP = {
    "standardize": (None, lambda f, s: _standardized(f.f_locals)),
    "init": (None, lambda f, s: _he(f.f_locals)),
    "loss": (None, lambda f, s: close(f.f_locals["loss"], F.cross_entropy(_logits(f.f_locals), f.f_locals["y"]))
             or pytest.fail("L ≠ −(1/N) Σ log softmax(z_i)[y_i]")),
    "dlogits": (None, lambda f, s: close(f.f_locals["dlogits"], F.softmax(f.f_locals["probs"].log(), dim=1)
                                         - F.one_hot(f.f_locals["y"], f.f_locals["probs"].shape[1]))
                or pytest.fail("dlogits ≠ softmax(z) − onehot(y)")),
    "backward-output": (None, lambda f, s: f.f_locals["layer"] != f.f_locals["last"]
                        or close(f.f_locals["dz"], f.f_locals["grad"]) or pytest.fail("output layer: ∂L/∂z ≠ grad")),
    "dW": (None, lambda f, s: close(f.f_locals["dW"], f.f_locals["x"].T @ f.f_locals["dz"]) or pytest.fail("∂L/∂W")),
    "update": (lambda f: (f.f_locals["p"].clone(), f.f_locals["v"].clone(), f.f_locals["g"].clone()),
               lambda f, s: _sgd(f.f_locals, s)),
}
MLP_REGRESSION = {        # the regression-only steps, on a regression dataset
    "squared-error": (lambda f: 0.5 * ((f.f_locals["outputs"][:, 0] - f.f_locals["y"]) ** 2).mean(),
                      lambda f, s: None),       # checked in the caller: see _returned
    "squared-error-backward": (None, lambda f, s: close(
        f.f_locals["doutputs"][:, 0], (f.f_locals["outputs"][:, 0] - f.f_locals["y"]) / len(f.f_locals["y"]))
        or pytest.fail("∂L/∂ŷ ≠ (ŷ − y)/N")),
}


def _logits(v):
    return v["log_probs"]          # log-softmax of the logits: cross_entropy of them is the same loss


def _standardized(v):
    x = v["x_train"]
    assert close(x.mean(dim=0), torch.zeros(x.shape[1]), tol=1e-4) and close(x.std(dim=0), torch.ones(x.shape[1]),
                                                                              tol=1e-3), "x' = (x − μ)/σ"


def _he(v):
    w, fan_in = v["self"].weights[-1], v["fan_in"]
    assert 0.5 < w.var().item() / (2 / fan_in) < 1.6, "W ~ N(0, 2/fan_in)"


def _sgd(v, before):
    """The stop is the first step of the first parameter: the velocity started at 0, so v = g + λ w."""
    p0, v0, g = before
    opt = v["self"]
    assert close(v0, 0 * opt.momentum + g + opt.weight_decay * p0, tol=1e-5), "v ← μ v + (g + λ w)"
    assert close(v["p"], p0 - opt.lr * v0, tol=1e-5), "w ← w − η v"


class FormulaChecker:
    """An engine client: at each step, save what the formula needs, step over the whole statement, check."""

    def __init__(self, checks):
        self.checks = checks
        self.pending = None
        self.checked = []

    def user_stop(self, frame, point):
        before, _ = self.checks.get(point.key.id, (None, None))
        self.pending = (point.key, frame, before(frame) if before else None)
        return STEP_OVER

    def user_line(self, frame):
        step, stopped, saved = self.pending
        if frame is stopped and step.line <= frame.f_lineno <= step.end_line:
            return STEP_OVER
        _, after = self.checks.get(step.id, (None, None))
        if after is not None:
            after(stopped, saved)
            if step.id == "squared-error":        # `return L`: the caller now holds it as `loss`
                assert close(frame.f_locals["loss"], saved), "L ≠ (1/2N) Σ (ŷ_i − y_i)²"
            self.checked.append(step.id)
        self.pending = None
        return CONTINUE

    def user_after(self, frame, point):
        pass


def run_checks(name, checks, args_per_script, tmp_path):
    walkthrough = spec.load(spec.find(name))
    for module_name, module in list(sys.modules.items()):     # another test may have imported the repo's modules
        if str(getattr(module, "__file__", "") or "").startswith(str(walkthrough.repo_dir)):
            del sys.modules[module_name]
    points = [StopPoint(str(s.path), s.line, key=s, optional=s.optional) for s in walkthrough.steps]
    client = FormulaChecker(checks)
    engine = Engine(points, walkthrough.repo_dir, client)
    saved_argv = list(sys.argv)
    try:
        for entry, args in zip(walkthrough.runs, args_per_script):
            engine.run_script(walkthrough.repo_dir / entry.script, [a.replace("{tmp}", str(tmp_path)) for a in args])
    finally:
        sys.argv[:] = saved_argv
    return client.checked


def test_every_ppo_formula_matches_its_code(tmp_path):
    torch.set_num_threads(1)
    checked = run_checks("ppo", PPO, [["--total-timesteps", "512", "--out-dir", "{tmp}", "--eval-episodes", "2",
                                       "--eval-every", "1"], ["{tmp}/agent.pt", "--episodes", "2"]], tmp_path)
    assert sorted(checked) == sorted(PPO)


def test_every_mlp_formula_matches_its_code(tmp_path):
    checked = run_checks("mlp", MLP, [["--epochs", "1", "--out-dir", "{tmp}", "--weight-decay", "0.01"],
                                      ["{tmp}/model.pt"]], tmp_path)
    assert sorted(checked) == sorted(MLP)
    checked = run_checks("mlp", MLP_REGRESSION, [["--epochs", "1", "--out-dir", "{tmp}", "--dataset", "extrapolation"],
                                                 ["{tmp}/model.pt"]], tmp_path)
    assert sorted(checked) == sorted(MLP_REGRESSION)


def test_ppo_loss_formula_is_the_negated_objective():
    step = next(s for s in spec.load(spec.find("ppo"), resolve_anchors=False).steps if s.id == "total-loss")
    assert step.math.startswith("L = −L^CLIP − c₂ S[π_θ] + c₁ L^VF")


def test_every_step_of_both_walkthroughs_has_a_hint():
    for name in ("ppo", "mlp"):
        steps = spec.load(spec.find(name), resolve_anchors=False).steps
        assert [s.id for s in steps if not s.hint.strip()] == [], name
