"""Weekly publication coverage: each remaining week is covered with the probability the elapsed
weeks imply for its working days (holiday weeks are the likely misses)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.dates.periods import elapsed_weeks
from qyzj_analytics.forecast.horizon import Horizon
from qyzj_analytics.forecast.observe import Observed
from qyzj_analytics.forecast.rates import DRIFT_SD, event_dates
from qyzj_analytics.forecast.streams import Streams

COVERAGE_SCENARIOS = 32  # Bayesian-bootstrap re-estimates of the weekly publishing rate


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


@dataclass(frozen=True)
class CoverageDraws:
    """Covered weeks at period end per draw, split into what is certain and what is drawn.

    Attributes:
        done: weeks already covered (elapsed weeks with a publication, and the week of as_of
            once it has one).
        future: covered weeks among the ``ahead`` weeks still open, per draw.
        ahead: weeks still open (a publication in each would cover them all).
        weeks: weeks of the whole period (the denominator).
    """

    done: int
    future: np.ndarray
    ahead: int
    weeks: int

    @property
    def rate(self) -> np.ndarray:
        """Year-end coverage per draw, as ``qyzj kpi`` computes it."""
        return (self.done + self.future) / max(1, self.weeks)


def simulate_coverage(
    obs: Observed, contract: Contract, horizon: Horizon, draws: int, streams: Streams
) -> CoverageDraws:
    """Year-end covered weeks per draw.

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
    pub_days = event_dates(obs.publications["date"])
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
    return CoverageDraws(int(covered_weeks.sum()) + certain, future, len(ahead), len(final_weeks))
