"""Defaults of the year-end forecast and the backtest, and the one quantile definition (tables,
charts, JSON)."""

from __future__ import annotations

import numpy as np

DEFAULT_DRAWS = 20_000
DEFAULT_SEED = 2025
QUANTILES = (0.1, 0.5, 0.9)
# `qyzj backtest`: simulated years, draws per forecast, seed
BACKTEST_YEARS = 160  # ≈ 45 s of CPU on the 2-core bench machine (issue 16: ≤ ≈ 60 s)
BACKTEST_DRAWS = 1_000
BACKTEST_SEED = 7
TARGET_PROBABILITY = 0.9  # the action plan's default probability of its grade (or better)


def quantiles(values: np.ndarray) -> tuple[float, float, float]:
    """P10, P50 and P90 as values that occurred (inverted CDF, no interpolation).

    >>> quantiles(np.arange(1, 11))
    (1.0, 5.0, 9.0)
    """
    values = np.asarray(values)
    if not values.size:
        return (float("nan"),) * 3
    if values.min() == values.max():
        v = float(values[0])
        return v, v, v
    q = np.quantile(values, QUANTILES, method="inverted_cdf")
    return float(q[0]), float(q[1]), float(q[2])
