"""Year-end forecast (DESIGN "Forecast"): Monte Carlo over whole simulated paths to period end.

Every draw is one possible rest of the year; nothing is re-read, everything starts from the KPI
helpers of :mod:`qyzj_analytics.scoring.kpi` at ``as_of``.

- Event streams (services, offline activities, online activities, accepted courses, accepted
  appeals) arrive at a rate per working day (Chinese working days with 调休,
  :mod:`qyzj_analytics.dates.workdays`) fitted on the year so far. The rate is uncertain: a posterior
  with a weak prior at the target pace, widened by the week-to-week overdispersion seen so far,
  times a drift factor for the rest of the year; every remaining month gets its own Gamma shock,
  so counts are Gamma–Poisson (negative binomial) along the whole path.
- Offline activities (hybrids included) are split into tag combinations (联盟, 小微园, 小微你好,
  政策…) by their observed shares, so cross-counted KPIs stay consistent within a draw
  (an event counts for offline and for each of its tags). Online activities (hybrids included)
  are drawn month by month: each remaining month reaches the livestream minimum or not.
- Open appeals close with the closure-time behaviour observed so far (Kaplan–Meier with a tail,
  Bayesian-bootstrapped) within the time left; new appeals arrive at the observed rate and close
  the same way.
- Weekly publication coverage: each remaining week is covered with the probability the elapsed
  weeks imply for its working days (holiday weeks are the likely misses).
- Rosters, staff and facts are held.

Each draw is then scored by :mod:`qyzj_analytics.scoring.score`, the code that scores ``qyzj kpi``; the
payment code runs once per distinct outcome. The same seed gives the same forecast, byte for byte.
"""

from __future__ import annotations

import datetime as dt
import math
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from qyzj_analytics.console import render_table
from qyzj_analytics.contract.model import Contract
from qyzj_analytics.dates.periods import elapsed_weeks, period_months
from qyzj_analytics.dates.workdays import WorkdayCalendar, workday_calendar
from qyzj_analytics.forecast.settings import DEFAULT_DRAWS, DEFAULT_SEED, QUANTILES, quantiles
from qyzj_analytics.formats import format_quantity, round_number
from qyzj_analytics.scoring.kpi import (
    KpiActual,
    KpiContext,
    activities_to_date,
    classify_appeals,
    compute_actuals,
    in_period,
    online_per_month,
    publications_per_week,
)
from qyzj_analytics.scoring.score import (
    CENT,
    base_score,
    compute_bonus,
    compute_payment,
    grade_of,
    score_points,
)

if TYPE_CHECKING:
    from qyzj_analytics.forecast.plan import Plan


# Model settings (not contract numbers); the backtest (``qyzj backtest``) checks them.
PRIOR_LOG_SD = 0.4  # prior on a rate with a target: the target pace, give or take ~40 %
PRIOR_DISPERSION = 0.1  # month-to-month variance of a rate's shock (CV ≈ 32 %) before data
PRIOR_DISPERSION_WEEKS = 3.0  # the prior dispersion weighs as much as 3 well-filled weeks
MAX_DISPERSION = 1.0
DRIFT_SD = 0.15  # the rest of the year's mean rate may differ from the year so far by ~±15 %
PRIOR_CLOSE_DAYS = 30.0  # appeal closure-time tail: a prior worth one closure in 30 days
CLOSURE_FRAILTY = 1.0  # Gamma frailty of the closure-time tail: long-open appeals are hard ones
PRIOR_NEVER_CLOSE = (1.0, 19.0)  # Beta prior of the share of appeals never closed (mean 5 %)
APPEAL_SCENARIOS = 32  # Bayesian-bootstrap re-estimates of the appeal closure-time curve
COVERAGE_SCENARIOS = 32  # Bayesian-bootstrap re-estimates of the weekly publishing rate
TAG_SCENARIOS = 1024  # posterior draws of the tag-combination shares
PROBABILITY_DIGITS = 6
MAX_PAYMENT_OUTCOMES = 4096  # beyond this many distinct (grade, score) outcomes, group scores
_SCORE_DIGITS, _COARSE_DIGITS = 6, 2
_KEY_SPAN = 10**12  # grade code × span + score × 10^6 (scores stay far below 10^6)

# How each KPI id of kpi.py is simulated (the contract YAML decides which ids exist).
SERVICES_KPI = "enterprises_served"
OFFLINE_KPI = "offline_events"
OFFLINE_TAG_KPIS = {
    "alliance_events": "alliance",
    "park_events": "park",
    "xiaowei_nihao_events": "xiaowei_nihao",
}
POLICY_KPI, POLICY_TAG = "policy_sessions", "policy"
LIVESTREAM_KPI = "livestream_months"
COURSES_KPI = "mingshi_courses"
APPEALS_KPI = "appeal_resolution_rate"
COVERAGE_KPI = "info_weekly_coverage"
SIMULATED_KPIS = {
    SERVICES_KPI,
    OFFLINE_KPI,
    *OFFLINE_TAG_KPIS,
    POLICY_KPI,
    LIVESTREAM_KPI,
    COURSES_KPI,
    APPEALS_KPI,
    COVERAGE_KPI,
}


# --------------------------------------------------------------------------------------------
# Random streams


class Streams:
    """Independent random generators by name, all derived from one seed.

    Every random ingredient (a stream's rate, its month shocks, its counts, the tag split…) draws
    from its own generator, so a change in one part of the data never shifts the random numbers
    another part sees: what-if runs with the same seed share their randomness where they can.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed % 2**64  # any integer seed, negative ones included

    def __call__(self, name: str) -> np.random.Generator:
        """A fresh generator for ``name`` (the same name always gives the same numbers)."""
        key = zlib.crc32(name.encode("utf-8"))
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(key,)))


# --------------------------------------------------------------------------------------------
# Horizon and rate fitting


@dataclass(frozen=True)
class Horizon:
    """The calendar of one forecast: what has elapsed and what remains of the period.

    Attributes:
        as_of: the forecast date.
        start: first day of the contract period.
        end: last day of the contract period.
        calendar: working days of the period.
        months: the months still (partly) ahead, the month of ``as_of`` first if it is not over.
        month_workdays: working days left in each of ``months``.
        elapsed_workdays: working days from period start to ``as_of``.
        elapsed_month_workdays: working days elapsed per month (for the rate's uncertainty).
        remaining_days: calendar days after ``as_of`` up to period end.
    """

    as_of: dt.date
    start: dt.date
    end: dt.date
    calendar: WorkdayCalendar
    months: pd.PeriodIndex
    month_workdays: np.ndarray
    elapsed_workdays: int
    elapsed_month_workdays: np.ndarray
    remaining_days: int

    @property
    def remaining_weeks(self) -> float:
        """Weeks left after ``as_of`` (calendar days / 7)."""
        return self.remaining_days / 7

    @property
    def first_remaining(self) -> dt.date:
        """The first day still ahead."""
        return max(self.as_of + dt.timedelta(days=1), self.start)

    @property
    def last_elapsed(self) -> dt.date:
        """The last day already behind (may precede ``start``)."""
        return min(self.as_of, self.end)

    @property
    def period_workdays(self) -> int:
        """Working days of the whole period."""
        return int(self.calendar.mask.sum())


def build_horizon(contract: Contract, as_of: dt.date) -> Horizon:
    """The elapsed and remaining working days of the contract period at ``as_of``."""
    start, end = contract.period_start, contract.period_end
    cal = workday_calendar(start, end)
    first_remaining = max(as_of + dt.timedelta(days=1), start)
    last_elapsed = min(as_of, end)
    if first_remaining <= end:
        remaining = cal.per_month(first_remaining, end)
        months, month_workdays = remaining.index, remaining.to_numpy(float)
    else:
        months, month_workdays = pd.PeriodIndex([], freq="M"), np.zeros(0)
    if last_elapsed >= start:
        elapsed = cal.per_month(start, last_elapsed).to_numpy(float)
    else:
        elapsed = np.zeros(0)
    return Horizon(
        as_of=as_of,
        start=start,
        end=end,
        calendar=cal,
        months=months,
        month_workdays=month_workdays,
        elapsed_workdays=int(elapsed.sum()),
        elapsed_month_workdays=elapsed,
        remaining_days=max(0, (end - max(as_of, start - dt.timedelta(days=1))).days),
    )


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


def _dates(values: pd.Series) -> np.ndarray:
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
    dates = _dates(values)
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
# Components


def _target(contract: Contract, kpi_id: str) -> float | None:
    ids = {k.id for k in contract.kpis}
    return contract.kpi(kpi_id).target if kpi_id in ids else None


def _pace(target: float | None, horizon: Horizon) -> float | None:
    return target / horizon.period_workdays if target and horizon.period_workdays else None


def _tag_prior_share(contract: Contract, tag: str) -> float:
    """Prior share of a tag among a stream's activities, from the targets.

    Offline tags: the tag's target over the offline target. Policy counts online activities
    too: its target over the offline target plus the livestreams a year needs. A tag no KPI
    counts gets ½.
    """
    offline = _target(contract, OFFLINE_KPI)
    if tag == POLICY_TAG:
        target, pool = _target(contract, POLICY_KPI), (offline or 0.0) + _online_target(contract)
    else:
        kpi_id = next((k for k, t in OFFLINE_TAG_KPIS.items() if t == tag), None)
        target, pool = (_target(contract, kpi_id) if kpi_id else None), offline
    if target is None or not pool:
        return 0.5
    return float(np.clip(target / pool, 0.02, 0.98))


def _online_target(contract: Contract) -> float:
    months = len(period_months(contract.period_start, contract.period_end))
    return float(contract.livestream_min_per_month * months)


@dataclass(frozen=True)
class Observed:
    """The year so far, read once per forecast from the KPI helpers of :mod:`kpi`.

    Attributes:
        actuals: today's value of every KPI.
        activities: classified activities in the period up to as_of.
        online_month: online (incl. hybrid) activities per month of the period.
        appeals: appeals received in the period up to as_of, with accepted/closed flags.
        weeks: publications per elapsed week.
        publications: publications in the period up to as_of.
        services: service rows in the period up to as_of.
        courses: courses accepted in the period up to as_of.
    """

    actuals: dict[str, float]
    activities: pd.DataFrame
    online_month: pd.Series
    appeals: pd.DataFrame
    weeks: pd.DataFrame
    publications: pd.DataFrame
    services: pd.DataFrame
    courses: pd.DataFrame

    def online_so_far(self, month: pd.Period) -> float:
        """Online activities already held in ``month``."""
        return float(self.online_month.get(month, 0))


def observe(ctx: KpiContext, results: Mapping[str, KpiActual] | None = None) -> Observed:
    """Everything the forecast needs from the year so far.

    Args:
        ctx: the KPI context at the forecast date.
        results: ``compute_actuals(ctx)`` when already at hand; its rows are reused.
    """
    results = results if results is not None else compute_actuals(ctx)

    def rows(kpi_id: str, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        found = results.get(kpi_id)
        return found.rows if found is not None and found.rows is not None else compute()

    return Observed(
        actuals={k: v.value for k, v in results.items()},
        activities=activities_to_date(ctx),
        online_month=online_per_month(ctx),
        appeals=rows(APPEALS_KPI, lambda: classify_appeals(ctx.tables["appeals"], ctx)),
        weeks=rows(COVERAGE_KPI, lambda: publications_per_week(ctx)),
        publications=in_period(ctx.tables["publications"], "date", ctx),
        services=rows(SERVICES_KPI, lambda: in_period(ctx.tables["services"], "date", ctx)),
        courses=rows(COURSES_KPI, lambda: in_period(ctx.tables["courses"], "accepted", ctx)),
    )


@dataclass
class _Draws:
    """Year-end KPI values per draw, plus what the planner needs to re-score what-ifs."""

    values: dict[str, np.ndarray]
    online_months: np.ndarray  # (draws, remaining months): online incl. hybrid per month
    livestream_done: float  # livestream months already reached (months fully elapsed)
    notes: list[str] = field(default_factory=list)


def _simulate_total(
    dates: pd.Series,
    target: float | None,
    horizon: Horizon,
    draws: int,
    streams: Streams,
    name: str,
) -> np.ndarray:
    """New events of a stream up to period end, per draw (Gamma–Poisson year total)."""
    fit = fit_rate(dates, horizon, _pace(target, horizon))
    means = sample_total_mean(fit, horizon, draws, streams, name)
    return streams(f"{name}.count").poisson(means).astype(float)


def capped_poisson(means: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    """min(Poisson(mean), cap) for every mean, exactly, by inverting the CDF below ``cap``.

    Cheaper than full Poisson draws when only "reached ``cap`` or not" matters (the monthly
    livestream minimum): ``cap`` vectorised steps, whatever the means.
    """
    u = rng.random(means.shape)
    pmf = np.exp(-means)
    cdf = pmf.copy()
    count = np.zeros(means.shape, dtype=np.int64)
    for j in range(1, cap + 1):
        count += u > cdf
        pmf *= means / j
        cdf += pmf
    return count


def _combo_alpha(flags: np.ndarray, priors: np.ndarray, weight: float) -> np.ndarray:
    """Dirichlet parameters over tag combinations: observed counts + a prior worth ``weight``.

    The prior spreads ``weight`` activities over the combinations as if tags were independent
    with the prior shares, so each tag's share has the posterior Beta(k + w·prior,
    n − k + w·(1 − prior)). With ``weight`` equal to the rate's prior weight, a tag's expected
    count is (k + w·prior)/(W + b): each tag behaves like its own stream with its own target
    pace, and more activities of one kind never lower the forecast of another.
    """
    n_tags = flags.shape[1]
    bits = (np.arange(2**n_tags)[:, None] >> np.arange(n_tags)[None, :]) & 1
    prior = np.prod(np.where(bits == 1, priors, 1 - priors), axis=1)
    codes = (flags.astype(np.int64) << np.arange(n_tags)).sum(axis=1)
    return np.bincount(codes, minlength=2**n_tags) + weight * prior


def _simulate_activities(
    obs: Observed,
    contract: Contract,
    horizon: Horizon,
    draws: int,
    streams: Streams,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """New offline/tagged/policy events per draw and online events per remaining month.

    Two streams: offline activities (hybrids included) as a year total split into tag
    combinations, and online activities (hybrids included, as the livestream KPI counts them)
    month by month. Returns the added count per KPI id and the (draws, months) online counts of
    the remaining months, the current month's events so far included.
    """
    acts = obs.activities
    kind = acts["format_kind"].to_numpy(str)
    is_off = (kind == "offline") | (kind == "hybrid")
    is_online = (kind == "online") | (kind == "hybrid")
    off = acts.loc[is_off]
    tags = list(contract.tag_keywords)

    off_fit = fit_rate(off["date"], horizon, _pace(_target(contract, OFFLINE_KPI), horizon))
    new_off = streams("offline.count").poisson(
        sample_total_mean(off_fit, horizon, draws, streams, "offline")
    )
    added: dict[str, np.ndarray] = {OFFLINE_KPI: new_off.astype(float)}
    per_tag = np.zeros((draws, len(tags)))
    if tags:
        flags = off[[f"tag_{t}" for t in tags]].to_numpy(bool)
        priors = np.array([_tag_prior_share(contract, t) for t in tags])
        alpha = _combo_alpha(flags, priors, off_fit.prior_events)
        # the shares' uncertainty: TAG_SCENARIOS posterior draws, one picked per draw
        shares = streams("offline.shares").dirichlet(alpha, size=TAG_SCENARIOS)
        pick = streams("offline.scenario").integers(TAG_SCENARIOS, size=draws)
        combos = streams("offline.tags").multinomial(new_off, shares[pick])
        bits = (np.arange(len(alpha))[:, None] >> np.arange(len(tags))[None, :]) & 1
        per_tag = (combos @ bits).astype(float)  # (draws, tags)
        for kpi_id, tag in OFFLINE_TAG_KPIS.items():
            if tag in tags:
                added[kpi_id] = per_tag[:, tags.index(tag)]

    on_fit = fit_rate(
        acts.loc[is_online, "date"], horizon, _pace(_online_target(contract), horizon)
    )
    online_means = sample_month_means(on_fit, horizon, draws, streams, "online")
    # only whether a month reaches the minimum matters: draw min(count, minimum) exactly
    online = capped_poisson(
        online_means, contract.livestream_min_per_month, streams("online.count")
    ).astype(float)
    if POLICY_TAG in tags:
        # policy sessions held online only (hybrids are already in the offline split), a
        # Poisson thinning of the online stream
        n_online = int(is_online.sum())
        k = int((acts[f"tag_{POLICY_TAG}"].to_numpy(bool) & (kind == "online")).sum())
        prior = _tag_prior_share(contract, POLICY_TAG)
        weight = on_fit.prior_events
        share = streams("online.policy_share").beta(
            k + weight * prior, n_online - k + weight * (1 - prior), size=draws
        )
        policy_online = streams("online.policy").poisson(online_means.sum(axis=1) * share)
        added[POLICY_KPI] = per_tag[:, tags.index(POLICY_TAG)] + policy_online
    if len(horizon.months):
        online[:, 0] += obs.online_so_far(horizon.months[0])
    return added, online


def closure_survival(
    durations: np.ndarray,
    closed: np.ndarray,
    size: int,
    weights: np.ndarray | None = None,
    never: float = 0.0,
) -> np.ndarray:
    """P(an appeal is still open t days after receipt) for t = 0..size-1.

    Kaplan–Meier over the follow-up seen so far. Beyond the longest follow-up τ, a share
    ``never`` (capped at S(τ)) stays open for good and the rest closes with the hazard seen over
    [τ/2, τ] (closures per appeal-day at risk, with a prior worth one closure in
    ``PRIOR_CLOSE_DAYS`` days), lifted to the appeals that do close, and a Gamma frailty tail
    (``CLOSURE_FRAILTY``) since appeals still open after long tend to be the hard ones.

    Args:
        durations: days from receipt to closure (closed) or to as_of (still open, censored).
        closed: True where the appeal closed (an event), False where censored.
        size: number of days t to return.
        weights: weight per appeal (a Bayesian bootstrap); 1 each by default.
        never: share of appeals that never close (a draw of the prior, see the caller).
    """
    w = np.ones(len(durations)) if weights is None else weights
    d = np.clip(durations.astype(np.int64), 0, size - 1)
    tau = int(d.max()) if len(d) else 0
    events = np.bincount(d[closed], weights=w[closed], minlength=size)
    leaving = np.bincount(d, weights=w, minlength=size)
    at_risk = w.sum() - np.concatenate([[0.0], np.cumsum(leaving)[:-1]])
    hazard = np.divide(events, at_risk, out=np.zeros(size), where=at_risk > 1e-12)
    survival = np.cumprod(1 - np.clip(hazard, 0.0, 1.0))
    window = slice(tau // 2, tau + 1)
    tail = (events[window].sum() + 1.0) / (at_risk[window].sum() + PRIOR_CLOSE_DAYS)
    at_tau = survival[tau]
    stuck = min(never, at_tau)
    if at_tau > stuck:
        tail *= at_tau / (at_tau - stuck)
    gap = np.arange(size)[tau + 1 :] - tau
    if CLOSURE_FRAILTY > 0:
        factor = (1 + CLOSURE_FRAILTY * tail * gap) ** (-1 / CLOSURE_FRAILTY)
    else:
        factor = np.exp(-tail * gap)
    survival[tau + 1 :] = stuck + (at_tau - stuck) * factor
    return survival


def _group_binomial(
    rng: np.random.Generator, probabilities: np.ndarray, draws: int, step: float = 0.1
) -> np.ndarray:
    """Sum of Bernoulli(p_i) per draw, grouping similar p_i so the cost does not grow per item.

    Items are grouped by p rounded to ``step`` and each group drawn as one binomial with the
    group's mean p; certain items (p = 0 or 1) cost nothing.
    """
    p = np.clip(probabilities, 0.0, 1.0)
    total = np.full(draws, float(np.sum(p >= 1.0)))
    unsure = p[(p > 0.0) & (p < 1.0)]
    groups = np.round(unsure / step).astype(np.int64)
    for g in np.unique(groups):
        members = unsure[groups == g]
        total += rng.binomial(len(members), float(members.mean()), size=draws)
    return total


def _simulate_appeals(
    obs: Observed, horizon: Horizon, draws: int, streams: Streams, notes: list[str]
) -> np.ndarray:
    """Year-end resolution rate per draw: open appeals close, new ones arrive and close.

    The closure-time curve is re-estimated on ``APPEAL_SCENARIOS`` Bayesian-bootstrap
    reweightings of the appeals so far, and each draw takes one of them, so the uncertainty of
    the closure behaviour itself reaches the forecast.
    """
    rows = obs.appeals
    acc = rows.loc[rows["accepted"]]
    accepted = len(acc)
    is_closed = acc["closed_by_as_of"].to_numpy(bool)
    received = acc["received"].to_numpy("M8[D]")
    closed_at = acc["closed"].to_numpy("M8[D]")
    as_of = np.datetime64(horizon.last_elapsed, "D")
    known = is_closed & ~np.isnat(closed_at)
    duration = np.where(known, closed_at - received, as_of - received) // np.timedelta64(1, "D")
    use = known | ~is_closed
    left = horizon.remaining_days
    size = int(duration.max(initial=0)) + left + 2
    if accepted and not known.any():
        notes.append(
            "至今没有带办结日期的已办结诉求：办结时长按先验（约一个月）与至今未办结的时长估计"
        )

    weights = streams("appeals.bootstrap").exponential(size=(APPEAL_SCENARIOS, int(use.sum())))
    never = streams("appeals.never").beta(*PRIOR_NEVER_CLOSE, size=APPEAL_SCENARIOS)
    curves = np.stack(
        [
            closure_survival(duration[use], known[use], size, weights[s], never[s])
            for s in range(APPEAL_SCENARIOS)
        ]
    )
    scenario = streams("appeals.scenario").integers(APPEAL_SCENARIOS, size=draws)
    closing_rng = streams("appeals.open")

    age = np.clip(duration[~is_closed], 0, None)
    closed_old = np.zeros(draws)
    for s, curve in enumerate(curves):
        pick = np.flatnonzero(scenario == s)
        if len(pick) and len(age):
            p_open = 1 - curve[age + left] / np.maximum(curve[age], 1e-12)
            closed_old[pick] = _group_binomial(
                closing_rng, np.where(curve[age] > 0, p_open, 0.0), len(pick)
            )

    fit = fit_rate(acc["received"], horizon, None)
    if horizon.month_workdays.sum() > 0:
        # arrivals to period end, and the share of them that close in time (by scenario)
        days = horizon.calendar.workdays(horizon.first_remaining, horizon.end)
        until_end = (np.datetime64(horizon.end, "D") - days) // np.timedelta64(1, "D")
        closing = (1 - curves[:, until_end]).mean(axis=1)[scenario]
        arriving = sample_total_mean(fit, horizon, draws, streams, "appeals")
        new_closed = streams("appeals.closed").poisson(arriving * closing)
        new_open = streams("appeals.still_open").poisson(arriving * (1 - closing))
    else:
        new_closed = new_open = np.zeros(draws)
    closed_total = is_closed.sum() + closed_old + new_closed
    accepted_total = accepted + new_closed + new_open
    return np.where(accepted_total > 0, closed_total / np.maximum(accepted_total, 1), 1.0)


def _week_exposure(
    horizon: Horizon, mondays: list[dt.date], first: dt.date, last: dt.date, off_weight: float
) -> np.ndarray:
    """Exposure of each week within [first, last]: working days + off_weight × other days."""
    if not mondays:
        return np.zeros(0)
    monday = np.array(mondays, dtype="M8[D]")
    starts = np.maximum(monday, np.datetime64(max(first, horizon.start), "D"))
    ends = np.minimum(monday + 6, np.datetime64(min(last, horizon.end), "D"))
    days = np.maximum(0, (ends - starts) // np.timedelta64(1, "D") + 1)
    work = horizon.calendar.count_between(starts, ends)
    return work + off_weight * (days - work)


def fit_week_rates(
    exposure: np.ndarray, covered: np.ndarray, weights: np.ndarray, full_week: float
) -> np.ndarray:
    """Per-working-day "publishing hazard" θ, one per row of ``weights`` (maximum likelihood).

    A week with exposure e is covered with probability 1 − exp(−θ e). Each row of ``weights``
    (a Bayesian bootstrap over the elapsed weeks) gives one θ; a prior of half a covered and
    half an uncovered ordinary week (exposure ``full_week``) keeps θ finite.
    """
    e = np.concatenate([exposure, [full_week, full_week]])
    c = np.concatenate([covered.astype(float), [1.0, 0.0]])
    w = np.concatenate([weights, np.full((len(weights), 2), 0.5)], axis=1)
    lo = np.full(len(weights), math.log(1e-5))
    hi = np.full(len(weights), math.log(50.0))
    for _ in range(50):  # bisection on log θ: the score falls as θ grows
        theta = np.exp((lo + hi) / 2)[:, None]
        x = np.maximum(theta * e, 1e-12)
        score = (w * (c * e / np.expm1(x) - (1 - c) * e)).sum(axis=1)
        up = score > 0
        lo = np.where(up, (lo + hi) / 2, lo)
        hi = np.where(up, hi, (lo + hi) / 2)
    return np.exp((lo + hi) / 2)


def _simulate_coverage(
    obs: Observed, contract: Contract, horizon: Horizon, draws: int, streams: Streams
) -> np.ndarray:
    """Year-end weekly coverage per draw.

    Each remaining week is covered with probability 1 − exp(−θ e): e is the week's working
    days (other days weighted by how often the year so far published on them), θ the rate
    that best explains which elapsed weeks were covered, re-estimated on
    ``COVERAGE_SCENARIOS`` Bayesian-bootstrap reweightings of the weeks and moved by the same
    drift as every rate. Holiday weeks (春节, 国庆) are therefore the likely misses.
    """
    c = contract
    weeks = obs.weeks
    covered_weeks = (weeks["publications"] > 0).to_numpy(bool)
    final_weeks = elapsed_weeks(c.period_start, c.period_end, c.period_end)
    done = set(weeks["week_start"])
    ahead = [w for w in final_weeks if w not in done]

    # how much a non-working day counts, from where the year's publications fell
    pub_days = _dates(obs.publications["date"])
    first, last = horizon.start, horizon.last_elapsed
    on_work = horizon.calendar.count_between(pub_days, pub_days) > 0
    work_days = horizon.elapsed_workdays
    off_days = max(0, (last - first).days + 1 - work_days)
    rate_work = (on_work.sum() + 1.0) / max(work_days, 1)
    rate_off = ((~on_work).sum() + 0.1) / max(off_days, 1)
    off_weight = float(np.clip(rate_off / rate_work, 0.0, 1.0))
    full_week = 5 + 2 * off_weight

    exposure = _week_exposure(horizon, list(weeks["week_start"]), first, last, off_weight)
    boot = streams("coverage.bootstrap").exponential(size=(COVERAGE_SCENARIOS, len(exposure)))
    theta = fit_week_rates(exposure, covered_weeks, boot, full_week)
    drift = math.log1p(DRIFT_SD**2)
    z = streams("coverage.rate").standard_normal(COVERAGE_SCENARIOS)
    theta *= np.exp(math.sqrt(drift) * z - drift / 2)

    # the week of as_of is certain if it already has a publication
    monday = horizon.as_of - dt.timedelta(days=horizon.as_of.weekday())
    certain = 0
    published = bool((obs.publications["date"] >= pd.Timestamp(monday)).any())
    if monday in ahead and horizon.as_of >= c.period_start and published:
        ahead.remove(monday)
        certain = 1
    left = _week_exposure(horizon, ahead, horizon.first_remaining, horizon.end, off_weight)
    level, group = np.unique(np.round(left * 2) / 2, return_inverse=True)
    size = np.bincount(group, minlength=len(level))
    scenario = streams("coverage.scenario").integers(COVERAGE_SCENARIOS, size=draws)
    rng = streams("coverage.weeks")
    future = np.zeros(draws)
    for s in range(COVERAGE_SCENARIOS):
        pick = np.flatnonzero(scenario == s)
        if not len(pick):
            continue
        for e, n in zip(level, size, strict=True):
            p = 1 - math.exp(-theta[s] * e)
            future[pick] += rng.binomial(int(n), p, size=len(pick))
    return (covered_weeks.sum() + certain + future) / max(1, len(final_weeks))


def simulate_year_end(
    ctx: KpiContext, draws: int, seed: int, obs: Observed | None = None
) -> _Draws:
    """Simulate the KPI values at period end, ``draws`` times.

    Args:
        ctx: the KPI context at the forecast date.
        draws: number of simulated paths.
        seed: random seed; the same seed gives the same draws.
        obs: the year so far (computed when omitted).
    """
    contract = ctx.contract
    horizon = build_horizon(contract, ctx.as_of)
    obs = obs or observe(ctx)
    actuals = obs.actuals
    streams = Streams(seed)
    ids = {k.id for k in contract.kpis}
    notes: list[str] = []
    values = {k: np.full(draws, float(actuals[k])) for k in ids}
    done = float(actuals.get(LIVESTREAM_KPI, 0.0))
    if horizon.remaining_days == 0:
        return _Draws(values, np.zeros((draws, 0)), done, notes)

    if SERVICES_KPI in ids:
        values[SERVICES_KPI] += _simulate_total(
            obs.services["date"],
            _target(contract, SERVICES_KPI),
            horizon,
            draws,
            streams,
            "services",
        )
    added, online = _simulate_activities(obs, contract, horizon, draws, streams)
    for kpi_id, extra in added.items():
        if kpi_id in ids:
            values[kpi_id] += extra
    if LIVESTREAM_KPI in ids:
        values[LIVESTREAM_KPI] += (online >= contract.livestream_min_per_month).sum(axis=1)
    if COURSES_KPI in ids:
        values[COURSES_KPI] += _simulate_total(
            obs.courses["accepted"],
            _target(contract, COURSES_KPI),
            horizon,
            draws,
            streams,
            "courses",
        )
    if APPEALS_KPI in ids:
        values[APPEALS_KPI] = _simulate_appeals(obs, horizon, draws, streams, notes)
    if COVERAGE_KPI in ids:
        values[COVERAGE_KPI] = _simulate_coverage(obs, contract, horizon, draws, streams)
    return _Draws(values, online, done, notes)


# --------------------------------------------------------------------------------------------
# Summaries


@dataclass(frozen=True)
class KpiForecast:
    """The year-end distribution of one KPI and the pace still needed."""

    id: str
    name: str
    unit: str
    actual: float
    target: float
    p10: float
    p50: float
    p90: float
    mean: float
    p_target: float
    required_per_week: float | None
    required_unit: str
    method: str


@dataclass(frozen=True)
class Forecast:
    """Everything ``qyzj forecast`` reports."""

    as_of: dt.date
    contract: Contract
    draws: int
    seed: int
    kpis: list[KpiForecast]
    score: dict[str, float]
    bonus_mean: float
    grade_probability: dict[str, float]
    payment_expected: Decimal
    payment_p10: Decimal
    payment_p50: Decimal
    payment_p90: Decimal
    calendar_source: str
    calendar_fallback_years: tuple[int, ...]
    notes: list[str]
    plan: Plan | None = None
    values: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    base: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    online_months: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    livestream_done: float = 0.0

    @property
    def remaining_months(self) -> int:
        """Months still (partly) ahead."""
        return int(self.online_months.shape[1])


def reached(values: np.ndarray, target: float) -> np.ndarray:
    """True where a value reaches the target (float noise rounded away as in scoring)."""
    return np.round(np.asarray(values, dtype=float) - target, 9) >= 0


def share_of(counts: Mapping[str, int], total: int) -> dict[str, float]:
    """Shares that sum to exactly 1 at ``PROBABILITY_DIGITS`` decimals (largest remainder)."""
    scale = 10**PROBABILITY_DIGITS
    exact = {k: v * scale / total for k, v in counts.items()}
    floors = {k: math.floor(v) for k, v in exact.items()}
    short = scale - sum(floors.values())
    for k in sorted(exact, key=lambda k: (floors[k] - exact[k], list(exact).index(k)))[:short]:
        floors[k] += 1
    return {k: v / scale for k, v in floors.items()}


def _required(
    obs: Observed, contract: Contract, spec_id: str, horizon: Horizon
) -> tuple[float | None, str]:
    """Units per remaining week still needed to reach the target (0 once reached).

    None when the target can no longer be reached by the period end.
    """
    c = contract
    spec = c.kpi(spec_id)
    actual = obs.actuals[spec_id]
    weeks = horizon.remaining_weeks
    if reached(np.array([actual]), spec.target)[0]:
        return 0.0, spec.unit
    if spec_id == LIVESTREAM_KPI:
        need = math.ceil(spec.target - actual - 1e-9)
        gaps = [c.livestream_min_per_month] * len(horizon.months)
        if gaps:
            gaps[0] = max(0.0, c.livestream_min_per_month - obs.online_so_far(horizon.months[0]))
        if need > len(gaps) or weeks == 0:
            return None, "场直播"
        return sum(sorted(gaps)[:need]) / weeks, "场直播"
    if spec_id == APPEALS_KPI:
        rows = obs.appeals
        acc, closed = int(rows["accepted"].sum()), int(rows["closed_by_as_of"].sum())
        need = math.ceil(spec.target * acc - closed - 1e-9)
        if need > acc - closed or weeks == 0:
            return None, "件办结"
        return need / weeks, "件办结"
    if spec_id == COVERAGE_KPI:
        final_weeks = len(elapsed_weeks(c.period_start, c.period_end, c.period_end))
        done = len(obs.weeks)
        covered = actual * done
        need = math.ceil(spec.target * final_weeks - covered - 1e-9)
        if need > final_weeks - done or weeks == 0:
            return None, "周有发布"
        return need / weeks, "周有发布"
    if spec.unit == "比例" or weeks == 0:
        return None, spec.unit
    return (spec.target - actual) / weeks, spec.unit


def _method(kpi_id: str) -> str:
    if kpi_id == LIVESTREAM_KPI:
        return "monthly_threshold"
    if kpi_id == APPEALS_KPI:
        return "appeal_closure"
    if kpi_id == COVERAGE_KPI:
        return "weekly_coverage"
    return "rate_per_workday" if kpi_id in SIMULATED_KPIS else "held"


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def score_draws(
    values: Mapping[str, np.ndarray], ctx: KpiContext
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Base score, bonus and grade per draw, with the scoring code of ``qyzj kpi``."""
    contract = ctx.contract
    base = base_score(score_points(values, contract))
    grade = grade_of(base, contract)
    courses = values.get(contract.bonus_kpi)
    if courses is None:
        bonus = np.full(len(base), compute_bonus(ctx.facts.awards, 0.0, ctx.as_of, contract))
    else:
        # course counts are whole numbers: one bonus computation per count that occurs
        whole = np.round(courses).astype(np.int64)
        low = int(whole.min())
        seen = np.flatnonzero(np.bincount(whole - low)) + low
        per_count = np.zeros(int(whole.max()) - low + 1)
        for v in seen:
            per_count[v - low] = compute_bonus(ctx.facts.awards, float(v), ctx.as_of, contract)
        bonus = per_count[whole - low]
    return base, bonus, grade


def pay_draws(
    base: np.ndarray, bonus: np.ndarray, grade: np.ndarray, contract: Contract
) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """Expected, P10, P50 and P90 of the year's total payment, one ``compute_payment`` per outcome.

    Draws are grouped by (grade, base + bonus rounded to 6 decimals, as the payment rule rounds
    it), so the Decimal payment code runs once per distinct outcome, never per draw. With more
    than ``MAX_PAYMENT_OUTCOMES`` distinct outcomes the score is grouped to 0.01 point instead
    (a proportional subsidy moves by under 9 CNY within such a group). The expected payment is
    the mean of the Decimal amounts over draws, rounded half-up to 0.01.
    """
    grades = [g.id for g in contract.grades]
    grade_code = np.zeros(len(grade), dtype=np.int64)
    for i, g in enumerate(grades):
        grade_code[grade == g] = i
    score = base + bonus
    keys = grade_code * _KEY_SPAN + np.round(score * 10**_SCORE_DIGITS).astype(np.int64)
    outcomes, counts = np.unique(keys, return_counts=True)
    if len(outcomes) > MAX_PAYMENT_OUTCOMES:  # group to 0.01 point (≤ ~9 CNY per draw)
        digits = _COARSE_DIGITS
        keys = grade_code * _KEY_SPAN + np.round(score * 10**digits).astype(np.int64) * 10 ** (
            _SCORE_DIGITS - digits
        )
        outcomes, counts = np.unique(keys, return_counts=True)
    amounts = [
        compute_payment(
            str(grades[int(k // _KEY_SPAN)]), int(k % _KEY_SPAN) / 10**_SCORE_DIGITS, 0.0, contract
        ).total
        for k in outcomes
    ]
    total = sum((a * int(n) for a, n in zip(amounts, counts, strict=True)), Decimal(0))
    order = sorted(range(len(amounts)), key=lambda i: amounts[i])
    cum = np.cumsum([int(counts[i]) for i in order])
    draws = len(base)

    def quantile(q: float) -> Decimal:
        # inverted CDF: the smallest amount whose cumulative count reaches q × draws
        return amounts[order[int(np.searchsorted(cum, q * draws - 1e-9))]]

    return (
        _money(total / draws),
        quantile(QUANTILES[0]),
        quantile(QUANTILES[1]),
        quantile(QUANTILES[2]),
    )


def run_forecast(
    ctx: KpiContext, draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED, plan: bool = True
) -> Forecast:
    """The year-end forecast at ``ctx.as_of``.

    Args:
        ctx: the KPI context at the forecast date (``KpiContext.of``).
        draws: number of simulated years.
        seed: random seed; the same seed gives the same forecast.
        plan: also search the action plan towards the top grade (``qyzj_analytics.forecast.plan``).
    """
    contract = ctx.contract
    horizon = build_horizon(contract, ctx.as_of)
    obs = observe(ctx)
    actual = obs.actuals
    sim = simulate_year_end(ctx, draws, seed, obs)
    base, bonus, grade = score_draws(sim.values, ctx)
    expected, p10_pay, p50_pay, p90_pay = pay_draws(base, bonus, grade, contract)

    rows = []
    for spec in contract.kpis:
        v = sim.values[spec.id]
        p10, p50, p90 = quantiles(v)
        need, unit = _required(obs, contract, spec.id, horizon)
        rows.append(
            KpiForecast(
                id=spec.id,
                name=spec.name,
                unit=spec.unit,
                actual=actual[spec.id],
                target=spec.target,
                p10=p10,
                p50=p50,
                p90=p90,
                mean=float(v.mean()),
                p_target=float(reached(v, spec.target).mean()),
                required_per_week=need,
                required_unit=unit,
                method=_method(spec.id),
            )
        )
    s10, s50, s90 = quantiles(base)
    counts = {g.id: int((grade == g.id).sum()) for g in contract.grades}
    notes = list(sim.notes)
    if horizon.calendar.note():
        notes.insert(0, horizon.calendar.note())
    if horizon.elapsed_workdays == 0 and horizon.remaining_days:
        notes.append(
            "截至日之前合同期内尚无工作日：各项速率使用弱先验（按合同目标进度，上下约 40%；"
            "无目标的诉求按不新增预测）"
        )
    held = [s.name for s in contract.kpis if _method(s.id) == "held"]
    if held and horizon.remaining_days:
        notes.append(f"以下指标按当前值保持到年底（名录、人员不模拟）：{'、'.join(held)}")
    result = Forecast(
        as_of=ctx.as_of,
        contract=contract,
        draws=draws,
        seed=seed,
        kpis=rows,
        score={"p10": s10, "p50": s50, "p90": s90, "mean": float(base.mean())},
        bonus_mean=float(bonus.mean()),
        grade_probability=share_of(counts, draws),
        payment_expected=expected,
        payment_p10=p10_pay,
        payment_p50=p50_pay,
        payment_p90=p90_pay,
        calendar_source=horizon.calendar.source,
        calendar_fallback_years=horizon.calendar.fallback_years,
        notes=notes,
        values=sim.values,
        base=base,
        online_months=sim.online_months,
        livestream_done=sim.livestream_done,
    )
    if plan:
        from qyzj_analytics.forecast.plan import plan_actions

        result = replace(result, plan=plan_actions(result, ctx, horizon))
    return result


# --------------------------------------------------------------------------------------------
# Output


def plan_to_dict(plan: Plan, months: int) -> dict:
    """The ``plan`` object of ``qyzj forecast --json``."""
    return {
        "target_grade": plan.target_grade,
        "target_probability": plan.target_probability,
        "probability_now": round_number(plan.probability_now, PROBABILITY_DIGITS),
        "probability_with_plan": round_number(plan.probability_with_plan, PROBABILITY_DIGITS),
        "reachable": plan.reachable,
        "extra": {lv.id: plan.extra.get(lv.id, 0) for lv in plan.levers},
        "extra_units": {lv.id: lv.unit for lv in plan.levers},
        "remaining_months": months,
        "total_units": plan.total_units,
        "best_grade": plan.best_grade,
        "limiting": plan.limiting,
        "statement": plan.statement,
    }


def forecast_to_dict(f: Forecast) -> dict:
    """The ``qyzj forecast --json`` object; money as strings with two decimals."""
    return {
        "as_of": f.as_of.isoformat(),
        "contract": f.contract.name,
        "period": {
            "start": f.contract.period_start.isoformat(),
            "end": f.contract.period_end.isoformat(),
        },
        "draws": f.draws,
        "seed": f.seed,
        "calendar": {
            "source": f.calendar_source,
            "fallback_years": list(f.calendar_fallback_years),
        },
        "kpis": {
            k.id: {
                "name": k.name,
                "actual": round_number(k.actual),
                "target": round_number(k.target),
                "p10": round_number(k.p10),
                "p50": round_number(k.p50),
                "p90": round_number(k.p90),
                "mean": round_number(k.mean),
                "p_target": round_number(k.p_target, PROBABILITY_DIGITS),
                "required_per_week": round_number(k.required_per_week),
                "required_unit": k.required_unit,
                "method": k.method,
            }
            for k in f.kpis
        },
        "score": {k: round_number(v) for k, v in f.score.items()}
        | {"bonus_mean": round_number(f.bonus_mean)},
        "grade_probability": dict(f.grade_probability),
        "payment": {
            "expected": str(f.payment_expected),
            "p10": str(f.payment_p10),
            "p50": str(f.payment_p50),
            "p90": str(f.payment_p90),
        },
        "plan": plan_to_dict(f.plan, f.remaining_months) if f.plan is not None else None,
        "notes": list(f.notes),
    }


def format_forecast(f: Forecast) -> str:
    """A readable Chinese summary of the forecast for the terminal."""
    head = ["指标", "当前", "目标", "P10", "P50", "P90", "达标概率", "每周还需"]
    rows = []
    for k in f.kpis:
        if k.required_per_week is None:
            need = "已无法达标"
        elif k.required_per_week == 0:
            need = "已达标"
        else:
            need = f"{k.required_per_week:.2f} {k.required_unit}"
        rows.append(
            [
                k.name,
                format_quantity(k.actual, k.unit),
                format_quantity(k.target, k.unit),
                format_quantity(k.p10, k.unit),
                format_quantity(k.p50, k.unit),
                format_quantity(k.p90, k.unit),
                f"{k.p_target:.0%}",
                need,
            ]
        )
    names = {g.id: g.name for g in f.contract.grades}
    grades = "  ".join(f"{names[g]} {p:.1%}" for g, p in f.grade_probability.items())
    s = f.score
    lines = [
        f"{f.contract.name} — 截至 {f.as_of.isoformat()} 对 {f.contract.period_end.isoformat()} "
        f"的年终预测（{f.draws} 次模拟，种子 {f.seed}）",
        *render_table(head, rows, [0 < i < 7 for i in range(len(head))]),
    ]
    lines += [
        "",
        f"年终基础分：P10 {s['p10']:.2f}  P50 {s['p50']:.2f}  P90 {s['p90']:.2f}（均值 {s['mean']:.2f}，"
        f"奖励分均值 {f.bonus_mean:.2f}）",
        f"档次概率：{grades}",
        f"全年付款：期望 {f.payment_expected:,} 元（P10 {f.payment_p10:,} 元，P90 {f.payment_p90:,} 元）",
    ]
    if f.plan is not None:
        lines.append(f"行动建议：{f.plan.statement}")
    lines += [f"注意：{n}" for n in f.notes]
    return "\n".join(lines)
