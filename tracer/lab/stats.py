"""Aggregates over seeds: the interquartile mean and percentile-bootstrap confidence intervals.

Following rliable (Agarwal et al. 2021, "Deep RL at the Edge of the Statistical Precipice"): with
few runs, report an interval, not just a mean; with five or more, the interquartile mean is
robust to one odd seed without throwing away as much as the median.

With n values there are only n^n equally likely bootstrap resamples. When that is at most
`n_boot` (n ≤ 5 at the default 10,000), every resample is enumerated: the interval is then the
exact bootstrap interval, the same on every call, instead of a random approximation of it.
"""
from __future__ import annotations

import itertools
import warnings
from typing import Callable

import numpy as np

STATISTICS: dict[str, Callable] = {}


def _statistic(name_or_function) -> Callable:
    """A function of an array along axis -1: "mean", "iqm", "median", or a callable(array, axis)."""
    if callable(name_or_function):
        return name_or_function
    try:
        return STATISTICS[name_or_function]
    except KeyError:
        raise ValueError(f"unknown statistic {name_or_function!r}; use one of {', '.join(STATISTICS)} "
                         "or a function(values, axis)") from None


def _iqm_along(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """Interquartile mean along an axis: drop the lowest and highest int(n/4) values, average the rest
    (scipy.stats.trim_mean(x, 0.25), as rliable computes it)."""
    values = np.sort(np.asarray(values, dtype=float), axis=axis)
    n = values.shape[axis]
    cut = int(0.25 * n)
    return np.take(values, range(cut, n - cut), axis=axis).mean(axis=axis)


STATISTICS.update({"mean": lambda v, axis=-1: np.mean(v, axis=axis), "iqm": _iqm_along,
                   "median": lambda v, axis=-1: np.median(v, axis=axis)})


def iqm(values) -> float:
    """The interquartile mean of values (n < 4: the plain mean, as nothing is trimmed)."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        raise ValueError("iqm of no values")
    return float(_iqm_along(values))


def resample_indices(n: int, n_boot: int, seed: int = 0) -> np.ndarray:
    """Bootstrap resamples of range(n) as rows: all n^n of them when that is at most n_boot, else n_boot random ones."""
    if n ** n <= n_boot:
        return np.array(list(itertools.product(range(n), repeat=n)), dtype=np.intp)
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def bootstrap_ci(values, statistic="mean", confidence=0.95, n_boot=10_000, seed=0) -> tuple[float, float, float]:
    """(point estimate, low, high): the statistic of the values and its percentile-bootstrap interval.

    One value gives (v, v, v): no interval can be had from one run, callers must say so."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("bootstrap_ci needs a non-empty 1-D list of values")
    if np.isnan(values).any():
        raise ValueError("bootstrap_ci got NaN values; drop or replace them first")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    function = _statistic(statistic)
    point = float(function(values))
    if values.size == 1:
        return point, point, point
    boot = function(values[resample_indices(values.size, n_boot, seed)], axis=-1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(boot, [tail, 100 - tail])
    return point, float(low), float(high)


def mean_curve(curves) -> np.ndarray:
    """Mean over runs at each point of [runs, points], ignoring NaN (NaN where every run is NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.asarray(curves, dtype=float), axis=0)


def bootstrap_band(curves, confidence=0.95, n_boot=2_000, seed=0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean curve and its pointwise bootstrap band over runs: curves is [runs, points], NaN where a run has no value."""
    curves = np.asarray(curves, dtype=float)
    with warnings.catch_warnings():           # a point where every run is NaN stays NaN, quietly
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(curves, axis=0)
        if curves.shape[0] < 2:
            return mean, mean.copy(), mean.copy()
        boot = np.nanmean(curves[resample_indices(curves.shape[0], n_boot, seed)], axis=1)   # [n_boot, points]
        tail = (1 - confidence) / 2 * 100
        low, high = np.nanpercentile(boot, [tail, 100 - tail], axis=0)
    return mean, low, high
