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

This module draws the year-end KPI values (:func:`simulate_year_end`); the rates, appeal closure
and weekly coverage live in :mod:`.rates`, :mod:`.appeals` and :mod:`.coverage`, and the draws are
scored in :mod:`.outcomes` by the code that scores ``qyzj kpi``. The same seed gives the same
draws, byte for byte.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.forecast.appeals import AppealDraws, simulate_appeals
from qyzj_analytics.forecast.coverage import CoverageDraws, simulate_coverage
from qyzj_analytics.forecast.horizon import Horizon, build_horizon
from qyzj_analytics.forecast.methods import (
    APPEALS_KPI,
    COURSES_KPI,
    COVERAGE_KPI,
    LIVESTREAM_KPI,
    OFFLINE_KPI,
    OFFLINE_TAG_KPIS,
    POLICY_KPI,
    POLICY_TAG,
    SERVICES_KPI,
)
from qyzj_analytics.forecast.observe import Observed, observe
from qyzj_analytics.forecast.rates import (
    fit_rate,
    online_target,
    sample_month_means,
    sample_total_mean,
    tag_prior_share,
    target_of,
    target_pace,
)
from qyzj_analytics.forecast.streams import Streams
from qyzj_analytics.scoring.kpi import KpiContext, activities_to_date, online_per_month

TAG_SCENARIOS = 1024  # posterior draws of the tag-combination shares
TAG_PRIOR_EVENTS = 4.0  # offline tag shares: the prior (the targets' ratios) weighs ≥ 4 activities
# The share of online activities that are policy sessions: the targets say little about it (the
# policy target over all activities the contract asks for), so its prior weighs only as much as
# the online rate's (≥ 1 activity), which keeps the expected count monotone in the events seen.
ONLINE_POLICY_PRIOR_EVENTS = 1.0
ACTIVITY_KPIS = {OFFLINE_KPI, *OFFLINE_TAG_KPIS, POLICY_KPI, LIVESTREAM_KPI}
# Many draws: the streams' parts run on two threads (the machine's two cores; numpy's generators
# release the GIL on large arrays). Below PARALLEL_DRAWS the thread start-up is not worth it.
SIM_THREADS = 2
PARALLEL_DRAWS = 20_000


@dataclass
class YearEndDraws:
    """Year-end KPI values per draw, plus what the planner needs to re-score what-ifs."""

    values: dict[str, np.ndarray]
    online_months: np.ndarray  # (draws, remaining months): online incl. hybrid per month
    livestream_done: float  # livestream months already reached (months fully elapsed)
    notes: list[str] = field(default_factory=list)
    missing: tuple[str, ...] = ()  # KPIs whose export is missing: NaN (0 points) in every draw
    appeals: AppealDraws | None = None  # accepted/closed per draw (None: not simulated)
    coverage: CoverageDraws | None = None  # covered weeks per draw (None: not simulated)

    @property
    def draws(self) -> int:
        """Number of simulated years."""
        return int(self.online_months.shape[0])

    @property
    def remaining_months(self) -> int:
        """Months still (partly) ahead."""
        return int(self.online_months.shape[1])


def _simulate_total(
    dates: pd.Series,
    target: float | None,
    horizon: Horizon,
    draws: int,
    streams: Streams,
    name: str,
) -> np.ndarray:
    """New events of a stream up to period end, per draw (Gamma–Poisson year total)."""
    fit = fit_rate(dates, horizon, target_pace(target, horizon))
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
    count = np.zeros(means.shape)  # whole numbers, as floats (the KPI values are floats)
    step = np.empty(means.shape)
    above = np.empty(means.shape, dtype=bool)
    for j in range(1, cap + 1):  # the same operations as count += u > cdf; pmf *= means / j
        count += np.greater(u, cdf, out=above)
        pmf *= np.divide(means, j, out=step)
        cdf += pmf
    return count


def combo_alpha(flags: np.ndarray, priors: np.ndarray, weight: float) -> np.ndarray:
    """Dirichlet parameters over tag combinations: observed counts + a prior worth ``weight``.

    The prior spreads ``weight`` activities over the combinations as if tags were independent
    with the prior shares, so each tag's share has the posterior Beta(k + w·prior,
    n − k + w·(1 − prior)). With the rate's posterior (n + a)/(W + b), a tag's expected count
    is (n + a)(k + w·prior) / ((W + b)(n + w)): with ``weight`` w at least the rate's prior
    weight a, more activities of one kind never lower the forecast of another (w = a makes it
    (k + w·prior)/(W + b), each tag its own stream with its own target pace).
    """
    n_tags = flags.shape[1]
    bits = (np.arange(2**n_tags)[:, None] >> np.arange(n_tags)[None, :]) & 1
    prior = np.prod(np.where(bits == 1, priors, 1 - priors), axis=1)
    codes = (flags.astype(np.int64) << np.arange(n_tags)).sum(axis=1)
    return np.bincount(codes, minlength=2**n_tags) + weight * prior


def online_policy_share_beta(
    policy: int, online: int, prior: float, rate_prior_events: float
) -> tuple[float, float]:
    """Beta posterior of the share of online activities that are policy sessions.

    ``policy`` of ``online`` activities so far; the prior share (from the targets) weighs as
    much as the online rate's prior, at least ``ONLINE_POLICY_PRIOR_EVENTS`` activities.

    >>> online_policy_share_beta(10, 20, 0.1, 0.5)
    (10.1, 10.9)
    """
    weight = max(rate_prior_events, ONLINE_POLICY_PRIOR_EVENTS)
    return policy + weight * prior, online - policy + weight * (1 - prior)


@dataclass(frozen=True)
class _ActivitySplit:
    """The activities so far as the offline and the online stream need them, split before the
    streams run (each thread then reads only its own frames)."""

    offline_dates: pd.Series
    offline_flags: np.ndarray  # (offline activities incl. hybrid, tags) bool
    online_dates: pd.Series
    online: int  # online activities incl. hybrid
    policy_online: int  # online-only policy sessions
    online_this_month: float  # online activities already held in the first remaining month


def _split_activities(
    acts: pd.DataFrame, online_month: pd.Series, contract: Contract, horizon: Horizon
) -> _ActivitySplit:
    """Offline and online activities so far (``Observed.activities``), by format kind (hybrids
    in both); ``online_month``: ``Observed.online_month``."""
    tags = list(contract.tag_keywords)
    kind = acts["format_kind"].to_numpy(str)
    is_online = (kind == "online") | (kind == "hybrid")
    off = acts.loc[(kind == "offline") | (kind == "hybrid")]
    flags = (
        off[[f"tag_{t}" for t in tags]].to_numpy(bool) if tags else np.zeros((len(off), 0), bool)
    )
    policy = 0
    if POLICY_TAG in tags:
        policy = int((acts[f"tag_{POLICY_TAG}"].to_numpy(bool) & (kind == "online")).sum())
    so_far = float(online_month.get(horizon.months[0], 0)) if len(horizon.months) else 0.0
    return _ActivitySplit(
        off["date"], flags, acts.loc[is_online, "date"], int(is_online.sum()), policy, so_far
    )


def _simulate_offline(
    acts: _ActivitySplit, contract: Contract, horizon: Horizon, draws: int, streams: Streams
) -> dict[str, np.ndarray]:
    """New offline activities (hybrids included) per draw, as a year total split into tag
    combinations: the added count per KPI id (the policy tag's offline part under
    ``POLICY_KPI``)."""
    tags = list(contract.tag_keywords)
    off_fit = fit_rate(
        acts.offline_dates, horizon, target_pace(target_of(contract, OFFLINE_KPI), horizon)
    )
    new_off = streams("offline.count").poisson(
        sample_total_mean(off_fit, horizon, draws, streams, "offline")
    )
    added: dict[str, np.ndarray] = {OFFLINE_KPI: new_off.astype(float)}
    if tags:
        priors = np.array([tag_prior_share(contract, t) for t in tags])
        alpha = combo_alpha(acts.offline_flags, priors, max(off_fit.prior_events, TAG_PRIOR_EVENTS))
        # the shares' uncertainty: TAG_SCENARIOS posterior draws, one picked per draw
        shares = streams("offline.shares").dirichlet(alpha, size=TAG_SCENARIOS)
        pick = streams("offline.scenario").integers(TAG_SCENARIOS, size=draws)
        combos = streams("offline.tags").multinomial(new_off, shares[pick])
        bits = (np.arange(len(alpha))[:, None] >> np.arange(len(tags))[None, :]) & 1
        per_tag = (combos @ bits).astype(float)  # (draws, tags)
        for kpi_id, tag in OFFLINE_TAG_KPIS.items():
            if tag in tags:
                added[kpi_id] = per_tag[:, tags.index(tag)]
        if POLICY_TAG in tags:
            added[POLICY_KPI] = per_tag[:, tags.index(POLICY_TAG)]
    return added


def _simulate_online(
    acts: _ActivitySplit, contract: Contract, horizon: Horizon, draws: int, streams: Streams
) -> tuple[np.ndarray, np.ndarray | None]:
    """Online activities (hybrids included, as the livestream KPI counts them) month by month.

    Returns the (draws, months) online counts of the remaining months, the current month's
    events so far included, and the policy sessions held online only per draw (None when no
    policy tag is configured).
    """
    on_fit = fit_rate(acts.online_dates, horizon, target_pace(online_target(contract), horizon))
    online_means = sample_month_means(on_fit, horizon, draws, streams, "online")
    # only whether a month reaches the minimum matters: draw min(count, minimum) exactly
    online = capped_poisson(
        online_means, contract.livestream_min_per_month, streams("online.count")
    )
    policy_online = None
    if POLICY_TAG in contract.tag_keywords:
        # policy sessions held online only (hybrids are already in the offline split), a
        # Poisson thinning of the online stream
        a, b = online_policy_share_beta(
            acts.policy_online,
            acts.online,
            tag_prior_share(contract, POLICY_TAG),
            on_fit.prior_events,
        )
        share = streams("online.policy_share").beta(a, b, size=draws)
        policy_online = streams("online.policy").poisson(online_means.sum(axis=1) * share)
    if len(horizon.months):
        online[:, 0] += acts.online_this_month
    return online, policy_online


def _usable_cpus() -> int:
    """CPUs this process may run on (all of them where the OS cannot say)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def use_threads(draws: int) -> bool:
    """True when a forecast of ``draws`` simulated years shares its work out on threads."""
    return draws >= PARALLEL_DRAWS and _usable_cpus() >= 2


class _Parts:
    """The independent parts of one simulation, each started as soon as its inputs are ready:
    on ``SIM_THREADS`` threads for many draws (numpy's generators release the GIL on large
    arrays), else run on the spot. Every part draws from its own named streams, so the numbers
    are the same whatever the order or the threads."""

    def __init__(self, draws: int) -> None:
        threads = min(SIM_THREADS, _usable_cpus()) if use_threads(draws) else 1
        self._pool = (
            ThreadPoolExecutor(max_workers=threads, thread_name_prefix="qyzj-sim")
            if threads > 1
            else None
        )
        self._started: dict[str, Future | Any] = {}

    def start(self, name: str, part: Callable[[], Any]) -> None:
        """Run ``part`` (on the pool when there is one)."""
        self._started[name] = part() if self._pool is None else self._pool.submit(part)

    def results(self) -> dict[str, Any]:
        """Every part's result (waiting for those still running); the pool ends."""
        try:
            return {
                name: found.result() if isinstance(found, Future) else found
                for name, found in self._started.items()
            }
        finally:
            self.close()

    def close(self) -> None:
        """End the pool (after the parts already started)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def simulate_year_end(
    ctx: KpiContext, draws: int, seed: int, obs: Observed | None = None
) -> YearEndDraws:
    """Simulate the KPI values at period end, ``draws`` times.

    Args:
        ctx: the KPI context at the forecast date.
        draws: number of simulated paths.
        seed: random seed; the same seed gives the same draws.
        obs: the year so far (computed when omitted).
    """
    return observe_and_simulate(ctx, draws, seed, obs)[1]


def observe_and_simulate(
    ctx: KpiContext,
    draws: int,
    seed: int,
    obs: Observed | None = None,
    horizon: Horizon | None = None,
    meanwhile: Callable[[], Any] | None = None,
) -> tuple[Observed, YearEndDraws]:
    """The year so far (:func:`~.observe.observe`, unless ``obs`` is given) and ``draws``
    simulated year ends (:func:`simulate_year_end`); ``horizon``: ``build_horizon`` at
    ``ctx.as_of`` when already at hand; ``meanwhile``: run once every part has started (while
    they run; not called when nothing is left to simulate).

    With many draws the activities' parts of the simulation (the longest) start on the pool
    as soon as the activities are classified, while the other KPIs are observed; the others
    start once observed. The draws are the same numbers as one part after another.
    """
    contract = ctx.contract
    horizon = horizon or build_horizon(contract, ctx.as_of)
    streams = Streams(seed)
    missing = ctx.missing_kpis()
    # a KPI whose export is missing stays missing (NaN, 0 points) in every draw: not simulated
    ids = {k.id for k in contract.kpis} - set(missing)
    notes: list[str] = []
    if horizon.remaining_days == 0:
        obs = obs or observe(ctx)
        values = {k.id: np.full(draws, float(obs.actuals[k.id])) for k in contract.kpis}
        done = float(obs.actuals.get(LIVESTREAM_KPI, 0.0)) if LIVESTREAM_KPI in ids else 0.0
        return obs, YearEndDraws(values, np.zeros((draws, 0)), done, notes, missing)

    parts = _Parts(draws)
    try:
        if ids & ACTIVITY_KPIS:  # the longest parts first (observe() reuses the activities)
            acts = _split_activities(
                obs.activities if obs else activities_to_date(ctx),
                obs.online_month if obs else online_per_month(ctx),
                contract,
                horizon,
            )
            parts.start(
                "offline", partial(_simulate_offline, acts, contract, horizon, draws, streams)
            )
            parts.start(
                "online", partial(_simulate_online, acts, contract, horizon, draws, streams)
            )
        obs = obs or observe(ctx)
        if APPEALS_KPI in ids:
            parts.start("appeals", partial(simulate_appeals, obs, horizon, draws, streams, notes))
        if COVERAGE_KPI in ids:
            parts.start(
                "coverage", partial(simulate_coverage, obs, contract, horizon, draws, streams)
            )
        for kpi_id, rows, column, name in (
            (SERVICES_KPI, obs.services, "date", "services"),
            (COURSES_KPI, obs.courses, "accepted", "courses"),
        ):
            if kpi_id in ids:
                target = target_of(contract, kpi_id)
                parts.start(
                    name,
                    partial(_simulate_total, rows[column], target, horizon, draws, streams, name),
                )
        if meanwhile is not None:
            meanwhile()
        done_parts = parts.results()
    finally:
        parts.close()
    return obs, _assemble(obs, contract, ids, draws, horizon, done_parts, notes, missing)


def _assemble(
    obs: Observed,
    contract: Contract,
    ids: set[str],
    draws: int,
    horizon: Horizon,
    done_parts: dict[str, Any],
    notes: list[str],
    missing: tuple[str, ...],
) -> YearEndDraws:
    """The year-end values per draw: today's actuals plus what each part added."""
    actuals = obs.actuals
    values = {k.id: np.full(draws, float(actuals[k.id])) for k in contract.kpis}
    done = float(actuals.get(LIVESTREAM_KPI, 0.0)) if LIVESTREAM_KPI in ids else 0.0
    if SERVICES_KPI in ids:
        values[SERVICES_KPI] += done_parts["services"]
    online = np.zeros((draws, len(horizon.months)))
    policy_online = None
    if "online" in done_parts:
        online, policy_online = done_parts["online"]
    for kpi_id, extra in done_parts.get("offline", {}).items():
        if kpi_id in ids:
            values[kpi_id] += extra
    if policy_online is not None and POLICY_KPI in ids:
        values[POLICY_KPI] += policy_online
    if LIVESTREAM_KPI in ids:
        values[LIVESTREAM_KPI] += (online >= contract.livestream_min_per_month).sum(axis=1)
    if COURSES_KPI in ids:
        values[COURSES_KPI] += done_parts["courses"]
    appeals = done_parts.get("appeals")
    if appeals is not None:
        values[APPEALS_KPI] = appeals.rate
    coverage = done_parts.get("coverage")
    if coverage is not None:
        values[COVERAGE_KPI] = coverage.rate
    return YearEndDraws(values, online, done, notes, missing, appeals, coverage)
