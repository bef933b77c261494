"""Learning curves of groups of runs: a PNG (matplotlib, Agg) and a plot drawn in the terminal (plotext).

A group is one setting run over several seeds. Each group is drawn as the mean over its seeds,
a 95 % bootstrap band around the mean, and each seed as a faint line: the band says how sure
the mean is, the faint lines how much single runs differ. Runs that failed are left out.
"""
from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import numpy as np

from .runs import RunResult
from .stats import bootstrap_band, mean_curve

MARKERS = ("•", "x", "+", "o", "*", "#", "@", "%")   # tell curves apart where there is no colour
TERMINAL_COLOURS = (4, 1, 2, 5, 6, 3, 12, 9)           # 256-colour codes: blue, red, green, magenta, ...
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
          "#bcbd22")


def _finite_points(result: RunResult, x: str, y: str) -> tuple[np.ndarray, np.ndarray]:
    points = [(row.get(x), row.get(y)) for row in result.metrics]
    points = [(float(a), float(b)) for a, b in points
              if isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isfinite(a) and math.isfinite(b)]
    if not points:
        return np.empty(0), np.empty(0)
    xs, ys = np.array(points).T
    return xs, ys


def curve_matrix(results: list[RunResult], x: str, y: str) -> tuple[np.ndarray, np.ndarray]:
    """(grid, values[runs, points]): the runs' y on a common x grid, NaN where a run has no value there.

    Runs logged at the same x values (same flags, other seeds) are stacked as they are; otherwise
    each run is interpolated linearly on the union of all x values, within its own range only."""
    curves = [_finite_points(r, x, y) for r in results if r.ok]
    curves = [(xs, ys) for xs, ys in curves if xs.size]
    if not curves:
        return np.empty(0), np.empty((0, 0))
    raw_x = [[row.get(x) for row in r.metrics] for r in results if r.ok]
    if all(xs == raw_x[0] for xs in raw_x) and all(isinstance(v, (int, float)) for v in raw_x[0]):
        grid = np.array(raw_x[0], dtype=float)
        values = np.array([[float(row.get(y)) if isinstance(row.get(y), (int, float)) else np.nan
                            for row in r.metrics] for r in results if r.ok])
        return grid, values
    grid = np.unique(np.concatenate([xs for xs, _ in curves]))
    values = np.full((len(curves), grid.size), np.nan)
    for i, (xs, ys) in enumerate(curves):
        order = np.argsort(xs)
        inside = (grid >= xs.min()) & (grid <= xs.max())
        values[i, inside] = np.interp(grid[inside], xs[order], ys[order])
    return grid, values


def _save_atomic(figure, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
    os.close(fd)
    try:
        figure.savefig(tmp, format=path.suffix.lstrip(".") or "png")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def curves_png(groups: dict[str, list[RunResult]], x: str, y: str, path: Path, title: str = "", *,
               hline: float | None = None, hline_label: str = "", xlabel: str = "", ylabel: str = "") -> Path:
    """Draw every group's mean, 95 % bootstrap band and individual seeds into a PNG at path; return path."""
    from matplotlib.figure import Figure       # no pyplot: no global state, no GUI backend (Agg renders)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure = Figure(figsize=(9, 5.2), dpi=110, layout="constrained")
    axes = figure.add_subplot()
    for n, (label, results) in enumerate(groups.items()):
        grid, values = curve_matrix(results, x, y)
        if not grid.size:
            continue
        color = COLORS[n % len(COLORS)]
        for run in values:
            axes.plot(grid, run, color=color, alpha=0.22, linewidth=0.8)
        mean, low, high = bootstrap_band(values)
        seeds = values.shape[0]
        axes.plot(grid, mean, color=color, linewidth=2.2, label=f"{label}  ({seeds} seed{'s' * (seeds != 1)})")
        if seeds > 1:
            axes.fill_between(grid, low, high, color=color, alpha=0.18, linewidth=0)
    if hline is not None:
        axes.axhline(hline, color="black", linestyle=":", linewidth=1, label=hline_label or None)
    axes.set_xlabel(xlabel or x)
    axes.set_ylabel(ylabel or y)
    axes.set_title(title or f"{y} over {x}: mean over seeds, 95 % bootstrap band, seeds faint", fontsize=11)
    axes.grid(alpha=0.3)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="best", fontsize=9, framealpha=0.85)
    _save_atomic(figure, path)
    return path


def curves_terminal(groups: dict[str, list[RunResult]], x: str, y: str, width: int = 80, height: int = 20,
                    color: bool = True, title: str = "") -> str:
    """The groups' mean curves drawn with text characters: each curve its own marker (readable without
    colour) and, unless color=False, its own ANSI colour; the legend goes under the plot, where no curve
    can run through it."""
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    legend, xs = [], []
    for n, (label, results) in enumerate(groups.items()):
        grid, values = curve_matrix(results, x, y)
        if not grid.size:
            continue
        xs += [float(v) for v in grid.tolist()]
        mean = mean_curve(values)
        keep = np.isfinite(mean)
        if keep.any():
            marker, code = MARKERS[n % len(MARKERS)], TERMINAL_COLOURS[n % len(TERMINAL_COLOURS)]
            plt.plot(grid[keep].tolist(), mean[keep].tolist(), marker=marker, color=code)
            seeds = values.shape[0]
            key = f"{marker * 3} {label} ({seeds} seed{'s' if seeds != 1 else ''})"
            legend.append(f"\x1b[38;5;{code}m{marker * 3}\x1b[0m{key[3:]}" if color else key)
    if not legend:
        return "(no finished run has values to draw)"
    if xs and all(v.is_integer() for v in xs):       # epochs, steps: whole-number ticks, not 3.8 or 6.5
        low, high = int(min(xs)), int(max(xs))
        plt.xticks(_round_ticks(low, high))
    plt.xlabel(x)
    plt.title(title or f"mean {y} over seeds")
    text = plt.build()
    plt.clear_figure()
    text = (text if color else plt.uncolorize(text)).rstrip("\n")
    return text + "\n" + "   ".join(legend)


def _round_ticks(low: int, high: int, most: int = 7) -> list[int]:
    """Whole-number ticks at a round stride (1, 2, 5, 10, 20, 50, ...) covering [low, high] in at most `most`
    steps: 2000 4000 6000 8000 for steps 256..8192, not 256 1844 3432 ...; `low` itself is added when the first
    round tick is far from it."""
    span = max(1, high - low)
    stride = 1
    while span / stride > most - 1:
        for factor in (2, 5, 10):
            if span / (stride * factor) <= most - 1 or factor == 10:
                stride *= factor
                break
    first = -(-low // stride) * stride          # the first multiple of the stride at or above low
    ticks = list(range(first, high + 1, stride))
    if not ticks or ticks[0] - low > stride / 2:
        ticks = [low] + ticks
    return ticks
