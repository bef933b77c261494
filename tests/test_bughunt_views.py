"""What a hunt's screens say: never more than the runs showed, nothing counted that is not listed."""
from rich.console import Console

from tracer import show
from tracer.practice import bughunt


def rendered(renderable, width=140) -> str:
    console = Console(record=True, width=width, color_system=None)
    console.print(renderable)
    return " ".join(console.export_text().split())


def test_watch_lists_every_flag_it_counts_and_says_which_are_judged_over_the_whole_run():
    stops = {f"step{i}#1": [{"check": f"check-{i}", "name": "x", "message": "m"}] for i in range(11)}
    stops["gae#32"] = [{"check": "critic-not-learning", "name": "values and returns", "message": "explains 2%"}]
    text = rendered(show.watch_view({"stops": stops, "error": None}, {"gae": (5, "GAE")}))
    assert "12 distinct flag(s)" in text and "the first 10" in text
    assert "… and 2 more: check-10, critic-not-learning" in text      # a run-level flag comes after the others
    stops = {"gae#32": stops["gae#32"], "step0#1": stops["step0#1"]}
    text = rendered(show.watch_view({"stops": stops, "error": None}, {"gae": (5, "GAE")}))
    assert "judged over the whole run, from the values step 5 (GAE) saw" in text and "execution 32" not in text
    assert text.index("check-0") < text.index("critic-not-learning")


def test_reveal_says_when_the_runs_did_not_show_the_harm_the_explanation_describes():
    from tracer.practice import faults
    entry = {"fault": "returns-are-advantages", "seeds": [1, 2], "divergence": None}
    verdict = bughunt.Verdict(True, "metric", "the learning curve (episodic_return) differs")
    fault = faults.by_id("returns-are-advantages")
    text = rendered(show.reveal_view(entry, fault, "", verdict, {"found": False, "revealed": True, "guesses": 0,
                                                                 "hints": 0, "seconds": 1}, "walkthrough bughunt ppo",
                                     "episodic_return", [(1, 141.9, 241.1)]))
    assert "did not lower the final episodic_return on 1 of the 2 seeds (seed 1: 241.1 with the bug, 141.9 healthy)" \
        in text
    assert "did not lower" not in rendered(show.reveal_view(entry, fault, "", verdict, {
        "found": False, "revealed": True, "guesses": 0, "hints": 0, "seconds": 1}, "x", "episodic_return", []))


def test_the_symptom_plots_the_value_that_differs_when_the_learning_curve_does_not():
    cfg = bughunt.load_config()["mlp"]
    values = bughunt.Verdict(True, "values", "", first_column="valid_loss")
    assert bughunt.symptom_column(cfg, values) == "valid_loss"
    assert bughunt.symptom_column(cfg, bughunt.Verdict(True, "metric", "", first_column="train_loss")) == cfg.y
    assert bughunt.symptom_column(cfg, bughunt.Verdict(True, "values", "", first_column="rows")) == cfg.y


def test_the_seed_noise_caveat_is_left_out_only_when_every_seed_is_clearly_worse():
    from pathlib import Path

    from tracer.lab.runs import RunResult, RunSpec
    cfg = bughunt.load_config()["mlp"]

    def runs(*finals):
        return [RunResult(RunSpec(Path("."), "train.py", (), seed), Path("."), 0, 1.0, True,
                          [{"epoch": 1, cfg.y: 0.5}, {"epoch": 2, cfg.y: value}], None, "")
                for seed, value in enumerate(finals)]
    healthy = runs(0.98, 0.98)
    assert bughunt.clearly_worse(cfg, healthy, runs(0.53, 0.41))
    assert not bughunt.clearly_worse(cfg, healthy, runs(0.53, 0.97))       # one seed within noise
    assert not bughunt.clearly_worse(cfg, healthy, runs(0.99, 0.40))
