"""Appeal closure: open appeals close with the closure-time behaviour observed so far.

Kaplan–Meier with a tail, Bayesian-bootstrapped, within the time left; new appeals arrive at the
observed rate and close the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qyzj_analytics.forecast.horizon import Horizon
from qyzj_analytics.forecast.observe import Observed
from qyzj_analytics.forecast.rates import fit_rate, sample_total_mean
from qyzj_analytics.forecast.streams import Streams

# Model settings (not contract numbers); the backtest (``qyzj backtest``) checks them.
PRIOR_CLOSE_DAYS = 30.0  # appeal closure-time tail: a prior worth one closure in 30 days
# Gamma frailty of the closure-time tail (long-open appeals being the hard ones); 0: an
# exponential tail. 1 (a Pareto tail) kept a sixth of the appeals open at τ open all year on
# top of the never-closing share: 企业诉求办结率's Q1 P90 was too low (25–28 % of true year
# ends above it, 3 % below, over 160 years with 春节 dips of 10 working days each side).
CLOSURE_FRAILTY = 0.0
PRIOR_NEVER_CLOSE = (
    1.0,
    9.0,
)  # Beta prior of the share of appeals never closed (mean 10 %, sd 9 %)
APPEAL_SCENARIOS = 32  # Bayesian-bootstrap re-estimates of the appeal closure-time curve
MIN_AT_RISK = 5.0  # the Kaplan–Meier curve is followed while this many appeals are at risk


def closure_survival(
    durations: np.ndarray,
    closed: np.ndarray,
    size: int,
    weights: np.ndarray | None = None,
    never: float = 0.0,
) -> np.ndarray:
    """P(an appeal is still open t days after receipt) for t = 0..size-1.

    Kaplan–Meier over the follow-up seen so far, up to τ: the last day with ``MIN_AT_RISK``
    appeals at risk (the longest follow-up when there are fewer than twice that many appeals),
    since the curve's last steps rest on one or two appeals. Beyond τ, a share
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
    events = np.bincount(d[closed], weights=w[closed], minlength=size)
    leaving = np.bincount(d, weights=w, minlength=size)
    at_risk = w.sum() - np.concatenate([[0.0], np.cumsum(leaving)[:-1]])
    # follow the curve while enough appeals are at risk: its last steps rest on one or two
    # appeals, and the never-closing share may not exceed the survival there (with fewer than
    # twice MIN_AT_RISK appeals in all, the whole curve is all there is)
    last = int(d.max()) if len(d) else 0
    enough = MIN_AT_RISK if w.sum() >= 2 * MIN_AT_RISK else 0.0
    trusted = np.flatnonzero(at_risk[: last + 1] >= enough)
    tau = int(trusted[-1]) if len(trusted) else last
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


@dataclass(frozen=True)
class AppealDraws:
    """Accepted and closed appeals at period end, per draw (the planner closes pending ones)."""

    closed: np.ndarray
    accepted: np.ndarray

    @property
    def rate(self) -> np.ndarray:
        """The resolution rate per draw (1.0 with no accepted appeal), as ``qyzj kpi`` counts."""
        return resolution_rate(self.closed, self.accepted)


def resolution_rate(closed: np.ndarray, accepted: np.ndarray) -> np.ndarray:
    """Closed / accepted per draw, 1.0 where nothing was accepted."""
    return np.where(accepted > 0, closed / np.maximum(accepted, 1), 1.0)


def simulate_appeals(
    obs: Observed, horizon: Horizon, draws: int, streams: Streams, notes: list[str]
) -> AppealDraws:
    """Year-end accepted and closed appeals per draw: open appeals close, new ones arrive and
    close.

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
    return AppealDraws(closed_total.astype(float), np.asarray(accepted_total, dtype=float))
