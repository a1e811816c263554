"""Defaults of the year-end forecast and the backtest, and the one quantile definition (tables,
charts, JSON)."""

from __future__ import annotations

import math

import numpy as np

DEFAULT_DRAWS = 20_000
DEFAULT_SEED = 2025
QUANTILES = (0.1, 0.5, 0.9)
# `qyzj backtest`: simulated years, draws per forecast, seed
BACKTEST_YEARS = 160  # ≈ 45 s of CPU on the 2-core bench machine (issue 16: ≤ ≈ 60 s)
BACKTEST_DRAWS = 1_000
BACKTEST_SEED = 7
TARGET_PROBABILITY = 0.9  # the action plan's default probability of its grade (or better)


def _whole_range(values: np.ndarray, low: float, high: float) -> bool:
    """True when every value is a whole number and the range is small enough to count."""
    if values.dtype.kind not in "iuf" or not (np.isfinite(low) and np.isfinite(high)):
        return False
    if high - low > max(values.size, 1 << 16):
        return False
    return values.dtype.kind != "f" or bool(np.array_equal(values, np.floor(values)))


def quantiles(values: np.ndarray) -> tuple[float, float, float]:
    """P10, P50 and P90 as values that occurred (inverted CDF, no interpolation).

    Whole numbers in a modest range (counts) are counted rather than partitioned: the same
    order statistics as ``np.quantile(values, QUANTILES, method="inverted_cdf")``.

    >>> quantiles(np.arange(1, 11))
    (1.0, 5.0, 9.0)
    """
    values = np.asarray(values)
    if not values.size:
        return (float("nan"),) * 3
    low, high = values.min(), values.max()
    if low == high:
        v = float(values[0])
        return v, v, v
    if not _whole_range(values, float(low), float(high)):
        q = np.quantile(values, QUANTILES, method="inverted_cdf")
        return float(q[0]), float(q[1]), float(q[2])
    # numpy's inverted CDF: the order statistic n·q − 1, rounded up unless it is whole
    counts = np.cumsum(np.bincount((values - low).astype(np.int64)))
    out = []
    for q in QUANTILES:
        index = values.size * q - 1
        rank = max(0, math.floor(index) + (index != math.floor(index)))
        out.append(float(low + np.searchsorted(counts, rank, side="right")))
    return out[0], out[1], out[2]
