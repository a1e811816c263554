"""Outcomes of the draws: score, grade, bonus and payment per draw, probabilities, pace needed."""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.dates.periods import elapsed_weeks
from qyzj_analytics.forecast.horizon import Horizon
from qyzj_analytics.forecast.methods import APPEALS_KPI, COVERAGE_KPI, LIVESTREAM_KPI
from qyzj_analytics.forecast.observe import Observed
from qyzj_analytics.forecast.settings import QUANTILES
from qyzj_analytics.formats import SHARE_UNIT
from qyzj_analytics.scoring.kpi import KpiContext
from qyzj_analytics.scoring.score import (
    CENT,
    PaymentRule,
    base_score,
    compute_bonus,
    grade_codes,
    grade_of,
    score_points,
)

PROBABILITY_DIGITS = 6
MAX_PAYMENT_OUTCOMES = 4096  # beyond this many distinct (grade, score) outcomes, group scores
_SCORE_DIGITS, _COARSE_DIGITS = 6, 2
_KEY_SPAN = 10**12  # grade code × span + score × 10^6 (scores stay far below 10^6)


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


def required_pace(
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
    if spec.unit == SHARE_UNIT or weeks == 0:
        return None, spec.unit
    return (spec.target - actual) / weeks, spec.unit


def _money(value: Decimal) -> Decimal:
    """Half-up to the cent, as the payment rule rounds."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def score_draws(
    values: Mapping[str, np.ndarray],
    ctx: KpiContext,
    points: Mapping[str, np.ndarray] | None = None,
    codes: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Base score, bonus and grade per draw, with the scoring code of ``qyzj kpi``.

    ``points``: ``score_points(values, contract)`` when already at hand; ``codes``: the grades
    as positions in ``contract.grades`` (:func:`grade_codes`) instead of their ids.
    """
    contract = ctx.contract
    base = base_score(points if points is not None else score_points(values, contract))
    grade = grade_codes(base, contract) if codes else grade_of(base, contract)
    courses = values.get(contract.bonus_kpi)
    if courses is None or np.isnan(courses).any():  # no such KPI, or its export is missing
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
    """Expected, P10, P50 and P90 of the year's total payment, the payment rule once per outcome.

    Draws are grouped by (grade, base + bonus rounded to 6 decimals, as the payment rule rounds
    it), so the Decimal payment code (:class:`PaymentRule`, as ``compute_payment``) runs once per
    distinct outcome, never per draw (once per grade where the score does not matter). With more
    than ``MAX_PAYMENT_OUTCOMES`` distinct outcomes the score is grouped to 0.01 point instead
    (within such a group a proportional subsidy moves by at most what 0.005 point pays). The
    expected payment is the mean of the Decimal amounts over draws, rounded half-up to 0.01.
    ``grade``: grade ids per draw, or their positions in ``contract.grades`` (integers).
    """
    grades = [g.id for g in contract.grades]
    if grade.dtype.kind in "iu":  # already positions in contract.grades (grade_codes)
        grade_code = grade.astype(np.int64, copy=False)
    else:
        grade_code = np.zeros(len(grade), dtype=np.int64)
        for i, g in enumerate(grades):
            grade_code[grade == g] = i
    score = base + bonus
    keys = grade_code * _KEY_SPAN + np.round(score * 10**_SCORE_DIGITS).astype(np.int64)
    outcomes, counts = np.unique(keys, return_counts=True)
    if len(outcomes) > MAX_PAYMENT_OUTCOMES:  # group to 0.01 point
        digits = _COARSE_DIGITS
        keys = grade_code * _KEY_SPAN + np.round(score * 10**digits).astype(np.int64) * 10 ** (
            _SCORE_DIGITS - digits
        )
        outcomes, counts = np.unique(keys, return_counts=True)
    rule = PaymentRule(contract)
    codes = outcomes // _KEY_SPAN  # ascending, as the outcomes are
    amounts: list[Decimal] = []
    for code in np.unique(codes).tolist():
        scores = (outcomes[codes == code] % _KEY_SPAN) / 10**_SCORE_DIGITS
        amounts += rule.totals(grades[code], scores.tolist())
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
