"""Per-working-day event rates: fitting on the year so far, priors from the targets, sampling.

A stream's rate is a posterior with a weak prior at the target pace, its uncertainty from the
Poisson noise and the month- and day-level overdispersion seen so far (:mod:`.dispersion`),
times a small drift factor for the rest of the year; every remaining month gets its own Gamma
shock (the month factor plus the day noise averaged over its working days), so counts are
Gamma–Poisson along the whole path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.dates.periods import period_months
from qyzj_analytics.forecast.dispersion import Dispersion, estimate_dispersion
from qyzj_analytics.forecast.horizon import Horizon
from qyzj_analytics.forecast.methods import OFFLINE_KPI, OFFLINE_TAG_KPIS, POLICY_KPI, POLICY_TAG
from qyzj_analytics.forecast.streams import Streams

# Model settings (not contract numbers); the backtest (``qyzj backtest``) checks them.
# A rate with a target: a prior worth ``PRIOR_WORKDAYS`` working days at the target pace. A rare
# stream (fewer than ``RARE_EVENTS`` a year at the target pace: a quarter's data cannot tell its
# rate) may also run near the target pace, give or take ``PRIOR_LOG_SD``: the data decide between
# the two (their marginal likelihoods), from even odds.
PRIOR_WORKDAYS = 5.0
RARE_EVENTS = 6.0
PRIOR_LOG_SD = 0.5
PRIOR_NEAR_TARGET = 0.5
DRIFT_SD = 0.03  # beyond the month factors, the rest of the year's mean rate may drift by ~±3 %
PRIOR_SLOW = (
    0.7  # rate on a holiday-window working day (春节, 国庆) relative to others, before data
)
PRIOR_SLOW_EVENTS = 3.0  # … weighing as much as 3 events expected in the window


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
        dispersion: variance of the month- and day-level multiplicative factors.
        prior_only: no working day has elapsed yet: the rate is the prior.
        slow: rate on a working day of a holiday window relative to an ordinary working day
            (``Horizon.slow``); ``mean`` is per ordinary working day.
    """

    events: int
    exposure: float
    prior_events: float
    mean: float
    log_mean: float
    log_var: float
    dispersion: Dispersion
    prior_only: bool
    slow: float = 1.0

    def month_exposure(self, workdays: np.ndarray, slow_workdays: np.ndarray) -> np.ndarray:
        """Ordinary-working-day equivalents of months with these (holiday-window) working days."""
        return workdays - (1 - self.slow) * slow_workdays


def event_dates(values: pd.Series) -> np.ndarray:
    """The non-missing dates of ``values`` as ``datetime64[D]``."""
    return np.asarray(values.dropna().to_numpy(dtype="M8[D]"), dtype="M8[D]")


def estimate_slow(dates: np.ndarray, horizon: Horizon) -> float:
    """Rate on the working days of a holiday window relative to the other working days.

    The events on window days against what the other working days' rate expects there, with a
    prior ``PRIOR_SLOW`` worth ``PRIOR_SLOW_EVENTS`` expected events; the prior alone until a
    window has elapsed.
    """
    window = float(horizon.elapsed_slow_workdays.sum())
    ordinary = horizon.elapsed_workdays - window
    if window == 0 or ordinary <= 0:
        return PRIOR_SLOW
    n_days = (horizon.last_elapsed - horizon.start).days + 1
    offset = (dates - np.datetime64(horizon.start, "D")) // np.timedelta64(1, "D")
    offset = offset[(offset >= 0) & (offset < n_days)]
    work = horizon.calendar.mask[offset]
    on_slow = int(horizon.slow[offset][work].sum())
    expected = (int(work.sum()) - on_slow) / ordinary * window
    slow = (on_slow + PRIOR_SLOW_EVENTS * PRIOR_SLOW) / (expected + PRIOR_SLOW_EVENTS)
    return float(np.clip(slow, 0.05, 1.5))


def _gamma_components(
    prior_mean: float | None, period_workdays: float
) -> list[tuple[float, float, float]]:
    """The prior as (weight, a, b) Gamma components: vague, and near the target pace if rare."""
    if not prior_mean or prior_mean <= 0:
        return [(1.0, 0.5, 0.0)]
    vague = (1.0, PRIOR_WORKDAYS * prior_mean, PRIOR_WORKDAYS)
    if prior_mean * period_workdays >= RARE_EVENTS:
        return [vague]
    a_near = 1 / PRIOR_LOG_SD**2
    return [
        (PRIOR_NEAR_TARGET, a_near, a_near / prior_mean),
        (1 - PRIOR_NEAR_TARGET, PRIOR_WORKDAYS * prior_mean, PRIOR_WORKDAYS),
    ]


def fit_rate(values: pd.Series, horizon: Horizon, prior_mean: float | None) -> RateFit:
    """Fit a per-working-day rate on the event dates so far (already limited to ≤ as_of).

    Working days of a holiday window count as ``slow`` of a day (:func:`estimate_slow`), so the
    exposure W is in ordinary working days. The prior is a Gamma (a, b) worth b =
    ``PRIOR_WORKDAYS`` working days at the target pace; for a rare stream, a mixture of that and
    a Gamma near the target pace (a = 1/``PRIOR_LOG_SD``², b = a / pace). Each component's
    posterior mean is (n + a)/(W + b), and the components are weighed by how well they predicted
    the n events seen (negative binomial marginal likelihood), so a target far off the data
    stops pulling. Without a target a = ½, b = 0. The spread adds to the posterior's the overdispersion seen so far (φ_m per month, φ_d
    per day): m² (φ_m Σ w_month² + φ_d W) / (W + b)². Draws are log-normal with that mean and
    variance; before the first working day the target pace, give or take ``PRIOR_LOG_SD``.
    ``prior_events`` is the larger a: tag shares weighed at least that much keep every expected
    count monotone in the events seen.
    """
    dates = event_dates(values)
    n = len(dates)
    slow = estimate_slow(dates, horizon)
    months = horizon.elapsed_month_workdays - (1 - slow) * horizon.elapsed_slow_workdays
    exposure = float(months.sum())
    phi = estimate_dispersion(dates, horizon, slow)
    parts = _gamma_components(prior_mean, horizon.period_workdays)
    a_max = max(a for _, a, _ in parts)
    if exposure == 0:
        if not prior_mean or prior_mean <= 0:
            return RateFit(n, exposure, a_max, 0.0, -math.inf, 0.0, phi, True, slow)
        log_var = math.log1p(PRIOR_LOG_SD**2)
        log_mean = math.log(prior_mean) - log_var / 2
        return RateFit(n, exposure, a_max, prior_mean, log_mean, log_var, phi, True, slow)
    evidence = np.array(
        [
            math.log(w)
            + math.lgamma(n + a)
            - math.lgamma(a)
            + a * math.log(b)
            - (n + a) * math.log(exposure + b)
            if b > 0
            else 0.0
            for w, a, b in parts
        ]
    )
    post = np.exp(evidence - evidence.max())
    post /= post.sum()
    means = np.array([(n + a) / (exposure + b) for _, a, b in parts])
    variances = np.array([(n + a) / (exposure + b) ** 2 for _, a, b in parts])
    mean = float(post @ means)
    b_mean = float(post @ np.array([b for _, _, b in parts]))
    spread = phi.month * float(np.sum(months**2)) + phi.day * exposure
    var = (
        float(post @ (variances + means**2)) - mean**2 + mean**2 * spread / (exposure + b_mean) ** 2
    )
    log_var = math.log1p(max(var, 0.0) / mean**2)
    log_mean = math.log(mean) - log_var / 2
    return RateFit(n, exposure, a_max, mean, log_mean, log_var, phi, False, slow)


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
    w = fit.month_exposure(horizon.month_workdays, horizon.month_slow_workdays)
    # the month factor and the day noise averaged over the month's working days
    spread = fit.dispersion.month + fit.dispersion.day / np.maximum(w, 1.0)
    rng = streams(f"{name}.shock")
    shock = np.empty((draws, months))
    for j, v in enumerate(spread):  # a scalar shape per month draws faster than an array
        shock[:, j] = rng.gamma(1.0 / v, v, size=draws)
    shock *= rate[:, None]
    shock *= w[None, :]
    return shock


def sample_total_mean(
    fit: RateFit, horizon: Horizon, draws: int, streams: Streams, name: str
) -> np.ndarray:
    """Expected events to period end per draw: rate × Σ month shock × working days.

    The weighted sum of the month and day shocks is drawn as one Gamma with its exact mean and
    variance (Σw and φ_m Σw² + φ_d Σw), which costs one draw instead of one per month.
    """
    w = fit.month_exposure(horizon.month_workdays, horizon.month_slow_workdays)
    total = float(w.sum())
    if fit.mean == 0 or total == 0:
        return np.zeros(draws)
    rate = sample_rate(fit, draws, streams(f"{name}.rate"))
    spread = fit.dispersion.month * float(np.sum(w**2)) + fit.dispersion.day * total
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
