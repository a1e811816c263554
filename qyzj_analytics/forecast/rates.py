"""Per-working-day event rates: fitting on the year so far, priors from the targets, sampling.

A stream's rate is a posterior with a weak prior at the target pace, widened by the
week-to-week overdispersion seen so far, times a drift factor for the rest of the year; every
remaining month gets its own Gamma shock, so counts are Gamma–Poisson along the whole path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.dates.periods import period_months
from qyzj_analytics.forecast.horizon import Horizon
from qyzj_analytics.forecast.methods import OFFLINE_KPI, OFFLINE_TAG_KPIS, POLICY_KPI, POLICY_TAG
from qyzj_analytics.forecast.streams import Streams

# Model settings (not contract numbers); the backtest (``qyzj backtest``) checks them.
PRIOR_LOG_SD = 0.4  # prior on a rate with a target: the target pace, give or take ~40 %
PRIOR_DISPERSION = 0.1  # month-to-month variance of a rate's shock (CV ≈ 32 %) before data
PRIOR_DISPERSION_WEEKS = 3.0  # the prior dispersion weighs as much as 3 well-filled weeks
MAX_DISPERSION = 1.0
DRIFT_SD = 0.15  # the rest of the year's mean rate may differ from the year so far by ~±15 %


@dataclass(frozen=True)
class RateFit:
    """A per-working-day event rate fitted on the year so far.

    Attributes:
        events: events observed so far.
        exposure: working days observed so far.
        prior_events: weight of the prior, in events at the prior pace (½ without a target).
        mean: posterior mean of the rate (events per working day).
        log_mean: mean of log(rate) of the log-normal used to draw it.
        log_var: variance of log(rate).
        dispersion: variance of each month's multiplicative shock (0 = Poisson).
        prior_only: no working day has elapsed yet: the rate is the prior.
    """

    events: int
    exposure: float
    prior_events: float
    mean: float
    log_mean: float
    log_var: float
    dispersion: float
    prior_only: bool


def event_dates(values: pd.Series) -> np.ndarray:
    """The non-missing dates of ``values`` as ``datetime64[D]``."""
    return np.asarray(values.dropna().to_numpy(dtype="M8[D]"), dtype="M8[D]")


def estimate_dispersion(dates: np.ndarray, horizon: Horizon) -> float:
    """Overdispersion of a stream from its weekly counts so far, shrunk towards a prior.

    Each week j with working days gives φ_j = ((c_j − μ_j)² − μ_j) / μ_j², an unbiased
    moment estimate of the variance of the rate's multiplicative shock; the estimates are
    averaged with inverse-variance weights 1 / (1/μ_j + φ0)², together with the prior φ0
    weighing as much as ``PRIOR_DISPERSION_WEEKS`` well-filled weeks.
    """
    phi0 = PRIOR_DISPERSION
    prior_weight = PRIOR_DISPERSION_WEEKS / phi0**2
    if horizon.elapsed_workdays == 0 or len(dates) == 0:
        return phi0
    weeks = horizon.calendar.per_week(horizon.start, horizon.last_elapsed)
    exposure = weeks.to_numpy(float)
    first_monday = np.datetime64(weeks.index[0], "D")
    slot = ((dates - first_monday) // np.timedelta64(7, "D")).astype(np.int64)
    counts = np.bincount(slot[(slot >= 0) & (slot < len(weeks))], minlength=len(weeks))
    rate = len(dates) / horizon.elapsed_workdays
    use = exposure > 0
    mu = rate * exposure[use]
    c = counts[use].astype(float)
    n_weeks = int(use.sum())
    if n_weeks < 2:
        return phi0
    phi_j = ((c - mu) ** 2 - mu) / mu**2 * n_weeks / (n_weeks - 1)
    weight = 1.0 / (1.0 / mu + phi0) ** 2
    phi = (float(np.sum(weight * phi_j)) + prior_weight * phi0) / (
        float(weight.sum()) + prior_weight
    )
    return float(np.clip(phi, 0.0, MAX_DISPERSION))


def prior_weight(prior_mean: float, horizon: Horizon) -> float:
    """Weight of a target-pace prior, in events: fixed by the calendar, never by the data.

    The prior (the target pace, give or take ``PRIOR_LOG_SD``) is weighed against what the
    elapsed months could tell at that pace: with month-to-month overdispersion each event says
    less, so even a busy stream still hears the prior a little early in the year. Not depending
    on the events seen keeps the forecast monotone: one more event never lowers an expected
    count, of its own stream or of another tag.
    """
    w = horizon.elapsed_month_workdays
    exposure = float(w.sum())
    concentration = float(np.sum(w**2)) / exposure**2 if exposure else 0.0
    expected = prior_mean * exposure
    return (1 + expected * PRIOR_DISPERSION * concentration) / PRIOR_LOG_SD**2


def fit_rate(values: pd.Series, horizon: Horizon, prior_mean: float | None) -> RateFit:
    """Fit a per-working-day rate on the event dates so far (already limited to ≤ as_of).

    Posterior mean (n + a) / (W + a / prior_mean): a Gamma prior worth ``a`` events at the target
    pace (:func:`prior_weight`); without a target a = ½ and no pace. The spread adds to the
    Poisson part the month-level overdispersion φ seen in the weekly counts:
    var = m/(W+b) + φ m² Σ w_month² / (W+b)². Draws are log-normal with that mean and variance.
    """
    dates = event_dates(values)
    n = len(dates)
    exposure = float(horizon.elapsed_workdays)
    phi = estimate_dispersion(dates, horizon)
    if prior_mean and prior_mean > 0:
        a = prior_weight(prior_mean, horizon)
        b = a / prior_mean
    else:
        a, b = 0.5, 0.0
    if exposure + b == 0:
        return RateFit(n, exposure, a, 0.0, -math.inf, 0.0, phi, True)
    mean = (n + a) / (exposure + b)
    var = (
        mean / (exposure + b)
        + phi * mean**2 * float(np.sum(horizon.elapsed_month_workdays**2)) / (exposure + b) ** 2
    )
    log_var = math.log1p(var / mean**2)
    return RateFit(n, exposure, a, mean, math.log(mean) - log_var / 2, log_var, phi, exposure == 0)


def sample_rate(fit: RateFit, draws: int, rng: np.random.Generator) -> np.ndarray:
    """The stream's mean rate for the rest of the year, per draw.

    The posterior of the rate so far, times a drift factor (log-normal, mean 1, sd
    about ``DRIFT_SD``): activity levels move during a year (seasons, staffing, pushes before
    the assessment), so the rest of the year need not run at the year-so-far average.
    """
    drift = math.log1p(DRIFT_SD**2)
    z = rng.standard_normal(draws)
    if fit.mean == 0:
        return np.zeros(draws)
    return np.exp(fit.log_mean - drift / 2 + math.sqrt(fit.log_var + drift) * z)


def sample_month_means(
    fit: RateFit, horizon: Horizon, draws: int, streams: Streams, name: str
) -> np.ndarray:
    """Expected events per draw and remaining month: rate × month shock × working days.

    Returns an array of shape (draws, remaining months); Poisson counts drawn with these means
    are Gamma–Poisson (negative binomial) and share the draw's rate along the whole path.
    """
    months = len(horizon.month_workdays)
    if fit.mean == 0 or months == 0:
        return np.zeros((draws, months))
    rate = sample_rate(fit, draws, streams(f"{name}.rate"))
    if fit.dispersion > 0:
        shock = streams(f"{name}.shock").gamma(
            1.0 / fit.dispersion, fit.dispersion, size=(draws, months)
        )
    else:
        shock = np.ones((draws, months))
    return rate[:, None] * shock * horizon.month_workdays[None, :]


def sample_total_mean(
    fit: RateFit, horizon: Horizon, draws: int, streams: Streams, name: str
) -> np.ndarray:
    """Expected events to period end per draw: rate × Σ month shock × working days.

    The weighted sum of the month shocks is drawn as one Gamma with its exact mean and variance
    (Σw and φ Σw²), which costs one draw instead of one per month.
    """
    w = horizon.month_workdays
    total = float(w.sum())
    if fit.mean == 0 or total == 0:
        return np.zeros(draws)
    rate = sample_rate(fit, draws, streams(f"{name}.rate"))
    spread = fit.dispersion * float(np.sum(w**2))
    if spread > 0:
        return rate * streams(f"{name}.shock").gamma(total**2 / spread, spread / total, size=draws)
    return rate * total


# --------------------------------------------------------------------------------------------
# Priors from the contract's targets


def target_of(contract: Contract, kpi_id: str) -> float | None:
    """The contract's target of ``kpi_id``; None when the contract has no such KPI."""
    ids = {k.id for k in contract.kpis}
    return contract.kpi(kpi_id).target if kpi_id in ids else None


def target_pace(target: float | None, horizon: Horizon) -> float | None:
    """The target per working day of the period; None without a target or working days."""
    return target / horizon.period_workdays if target and horizon.period_workdays else None


def tag_prior_share(contract: Contract, tag: str) -> float:
    """Prior share of a tag among a stream's activities, from the targets.

    Offline tags: the tag's target over the offline target. Policy counts online activities
    too: its target over the offline target plus the livestreams a year needs. A tag no KPI
    counts gets ½.
    """
    offline = target_of(contract, OFFLINE_KPI)
    if tag == POLICY_TAG:
        target, pool = target_of(contract, POLICY_KPI), (offline or 0.0) + online_target(contract)
    else:
        kpi_id = next((k for k, t in OFFLINE_TAG_KPIS.items() if t == tag), None)
        target, pool = (target_of(contract, kpi_id) if kpi_id else None), offline
    if target is None or not pool:
        return 0.5
    return float(np.clip(target / pool, 0.02, 0.98))


def online_target(contract: Contract) -> float:
    """Online activities a year needs: the monthly livestream minimum in every period month."""
    months = len(period_months(contract.period_start, contract.period_end))
    return float(contract.livestream_min_per_month * months)
