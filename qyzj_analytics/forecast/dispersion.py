"""Overdispersion of an event stream, estimated from its daily counts so far.

Counts vary more than Poisson for two reasons that matter differently for the rest of the year:
a month-level factor (a slow month, a busy one: seasonality, campaigns) that moves every day of
the month together, and day-to-day noise (a negative binomial day) that averages out over a
month. Both are read from the elapsed working days, each shrunk towards a prior:

- month level φ_m: the covariance of the residuals of two different days of the same month is
  μ_i μ_j φ_m, whatever the day noise, so Σ_months [(C − M)² − Σ (c − μ)²] / Σ [M² − Σ μ²] is
  its moment estimate (C, M: the month's count and expected count);
- day level φ_d: the days' excess variance Σ [(c − μ)² − μ] / Σ μ² is φ_m + φ_d.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qyzj_analytics.forecast.horizon import Horizon

# Model settings (not contract numbers); the backtest (``qyzj backtest``) checks them.
PRIOR_MONTH_DISPERSION = 0.05  # variance of a month's factor before data (σ ≈ 0.22)
PRIOR_MONTH_WEIGHT = 2.0  # … weighing as much as 2 well-filled months
PRIOR_DAY_DISPERSION = 0.25  # variance of a day's factor before data (k ≈ 4)
PRIOR_DAY_WEIGHT = 20.0  # … weighing as much as 20 well-filled days
MIN_DISPERSION, MAX_DISPERSION = 0.002, 1.0


@dataclass(frozen=True)
class Dispersion:
    """Variance of a stream's multiplicative factors: per month (persistent) and per day."""

    month: float
    day: float


PRIOR = Dispersion(PRIOR_MONTH_DISPERSION, PRIOR_DAY_DISPERSION)


def _shrink(estimate: float, information: float, prior: float, weight: float) -> float:
    """The estimate and the prior, weighted by their information (in well-filled units)."""
    value = (information * estimate + weight * prior) / (information + weight)
    return float(np.clip(value, MIN_DISPERSION, MAX_DISPERSION))


def estimate_dispersion(dates: np.ndarray, horizon: Horizon, slow: float = 1.0) -> Dispersion:
    """Month- and day-level overdispersion of a stream from its working-day counts so far.

    Events on non-working days count for the rate but not here; a working day of a holiday
    window expects ``slow`` of an ordinary one. A month (or day) is "well
    filled" when its expected count makes the overdispersion, not the Poisson noise, dominate
    its variance; emptier ones inform the estimate less, and a rare stream keeps the prior.
    """
    if horizon.elapsed_workdays == 0 or len(dates) == 0:
        return PRIOR
    n_days = (horizon.last_elapsed - horizon.start).days + 1
    mask = horizon.calendar.mask[:n_days]
    offset = (dates - np.datetime64(horizon.start, "D")) // np.timedelta64(1, "D")
    offset = offset[(offset >= 0) & (offset < n_days)]
    counts = np.bincount(offset, minlength=n_days)[mask].astype(float)
    weight = np.where(horizon.slow[:n_days][mask], slow, 1.0)
    days = np.arange(
        np.datetime64(horizon.start, "D"), np.datetime64(horizon.last_elapsed, "D") + 1
    )
    month = days.astype("M8[M]").astype(np.int64)[mask]
    month -= month[0] if len(month) else 0
    exposure = float(weight.sum())
    rate = counts.sum() / exposure
    if rate == 0:
        return PRIOR
    mu = rate * weight
    resid = counts - mu
    w = np.bincount(month, weight).astype(float)  # working days per elapsed month (weighted)
    sums = np.bincount(month, resid, minlength=len(w))
    squares = np.bincount(month, resid**2, minlength=len(w))
    expected = rate * w
    mu2 = np.bincount(month, mu**2, minlength=len(w))
    months_eff = exposure**2 / float(np.sum(w**2))
    phi_m0, phi_d0 = PRIOR.month, PRIOR.day
    phi_m_raw = phi_m0
    month_info = 0.0
    denominator = float(np.sum(expected**2 - mu2))
    if months_eff > 1.5 and denominator > 0:
        numerator = float(np.sum(sums**2 - squares)) * months_eff / (months_eff - 1)
        phi_m_raw = numerator / denominator
        month_info = float(np.sum((expected * phi_m0 / (1 + expected * phi_m0)) ** 2))
    phi_m = _shrink(phi_m_raw, month_info, phi_m0, PRIOR_MONTH_WEIGHT)
    total = (float(squares.sum()) - float(mu.sum())) / float(mu2.sum())
    day_info = exposure * (rate * phi_d0 / (1 + rate * phi_d0)) ** 2
    phi_d = _shrink(total - phi_m_raw, day_info, phi_d0, PRIOR_DAY_WEIGHT)
    return Dispersion(phi_m, phi_d)
