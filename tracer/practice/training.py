"""`walkthrough implement REPO ID --train`: train with the learner's code and with the reference, same seeds.

Both runs go through the run cache (tracer.lab.runs): the reference's runs are made once and reused;
the learner's are made again whenever their copy's code changes. The curves are drawn in the terminal
and saved as a PNG beside the runs. One seed per side by default: the text says so, and says that a
difference between two single runs is not evidence that one learns worse (--seeds N for more).
"""
from __future__ import annotations

import math
from pathlib import Path

from rich.table import Table
from rich.text import Text

from .exercises import Catalogue, Exercise


def run(catalogue: Catalogue, exercise: Exercise, copy_dir: Path, extra_args: list[str], seeds: int, console,
        entry: dict | None = None) -> int:
    from ..lab import plots, runs

    train = catalogue.train
    args = tuple(train["args"]) + tuple(extra_args)
    root = Path(copy_dir).resolve().parent / "runs"
    seeds = max(1, seeds)
    mine = [runs.RunSpec(Path(copy_dir).resolve(), train["script"], args, seed, label=f"your code, seed {seed}")
            for seed in range(1, seeds + 1)]
    reference = [runs.RunSpec(exercise.repo_dir, train["script"], args, seed, label=f"reference, seed {seed}")
                 for seed in range(1, seeds + 1)]
    if entry is not None and not entry.get("passed"):
        console.print(Text("Your code has not passed --check yet: training it anyway, to see what the mistake does.",
                           style="yellow"))
    console.print(Text.assemble("training ", (f"python {train['script']} {' '.join(args)}", "bold"),
                                f" with your copy and with the reference, seeds 1..{seeds} (cached: the reference "
                                f"runs only once) …"))
    try:
        results = runs.run_all(mine + reference, root, console=console, description=f"{exercise.key}: training")
    except KeyboardInterrupt:
        console.print(Text("\ninterrupted: finished runs are kept and reused next time"))
        return 130
    yours, theirs = results[:seeds], results[seeds:]
    failed = [r for r in yours if not r.ok]
    if failed:
        tail = failed[0].log_tail
        console.print(Text.assemble(("✗ your copy's training crashed", "bold red"), f" ({failed[0].spec.describe()}):\n",
                                    tail))
        if "NotImplementedError" in tail:
            console.print(Text("A stub is still in the copy (this exercise's or another's): implement it before "
                               "training.", style="yellow"))
        return 1
    if not all(r.ok for r in theirs):
        console.print(Text.assemble(("✗ the reference's training failed", "bold red"), ":\n", theirs[0].log_tail))
        return 1
    x, y = train["x"], train["y"]
    groups = {"your code": yours, "reference": theirs}
    color = console.is_terminal and not console.no_color
    drawn = plots.curves_terminal(groups, x, y, width=min(console.width, 100), height=18, color=color,
                                  title=f"{y} over {x}")
    console.print(Text.from_ansi(drawn) if color else Text(drawn))
    picture = plots.curves_png(groups, x, y, root / f"{exercise.repo}-{exercise.id}.png",
                               title=f"{exercise.key}: your code vs the reference ({seeds} seed{'s' * (seeds > 1)} each)")
    console.print(_summary(groups, y, train.get("goal", "")))
    if all(a.column(y) == b.column(y) for a, b in zip(yours, theirs)):
        console.print(Text("Your runs are the reference's, number for number (same seeds, same computation): "
                           "one curve hides the other.", style="green"))
    console.print(Text.assemble("picture: ", (str(picture), "bold")))
    if seeds == 1:
        console.print(Text("One run per side: two runs of the same code differ by seed, so a gap here is a hint, "
                           "not a verdict. --seeds 3 draws each side's mean over three seeds.", style="dim"))
    return 0


def _final(result, y: str) -> float:
    values = [v for v in result.column(y) if isinstance(v, (int, float)) and not math.isnan(v)]
    tail = values[-5:]
    return sum(tail) / len(tail) if tail else math.nan


def _summary(groups: dict, y: str, goal: str) -> Table:
    table = Table(title=f"final {y}", title_justify="left", min_width=64,
                  caption="mean of the last 5 logged values" + (f" · {goal}" if goal else ""), caption_justify="left")
    table.add_column("code")
    table.add_column("per seed")
    table.add_column("seconds", justify="right")
    for label, results in groups.items():
        finals = ", ".join(f"{_final(r, y):.3g}" for r in results)
        seconds = sum(r.seconds for r in results) / len(results)
        table.add_row(Text(label), Text(finals), Text(f"{seconds:.0f}" + (" (cached)" if all(r.cached for r in results)
                                                                          else "")))
    return table
