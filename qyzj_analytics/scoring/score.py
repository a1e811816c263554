"""Scoring, grade, bonus and payment (contract 四 and 六.4; DESIGN "Grade and payment").

Rules work on numpy arrays so that the forecast scores thousands of simulated years with the very
same code that scores today's actuals (an array of one). Money is :class:`~decimal.Decimal`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from numpy.typing import ArrayLike

from qyzj_analytics.contract.model import Contract, KpiSpec
from qyzj_analytics.dates.periods import elapsed_months, elapsed_share, period_months
from qyzj_analytics.ingest.facts import Award

CENT = Decimal("0.01")
_EPS_DIGITS = 9  # scores are compared after rounding away float noise (89.99 stays below 90)
APPROX_BAND = 1e-6  # points: far wider than two float sums of a score can differ (≈ 1e-9)


def apply_rule(actual: ArrayLike, spec: KpiSpec) -> np.ndarray:
    """The share of a KPI's weight earned (0..1) under its rule.

    linear = min(1, actual/target); floor_linear = clip((actual-floor)/(target-floor), 0, 1);
    threshold = 1 if actual ≥ target else 0. A missing actual (NaN: its export is absent)
    earns nothing.

    >>> from qyzj_analytics.contract.model import load_contract
    >>> rate = load_contract().kpi("appeal_resolution_rate")
    >>> apply_rule([0.875, 0.95, 0.7, float("nan")], rate).tolist()
    [0.5, 1.0, 0.0, 0.0]
    """
    a = np.asarray(actual, dtype=float)
    target = spec.target
    if spec.rule == "linear":
        share = np.minimum(1.0, a / target)
    elif spec.rule == "floor_linear":
        floor = float(spec.floor or 0.0)
        share = np.clip(np.round((a - floor) / (target - floor), _EPS_DIGITS), 0.0, 1.0)
    elif spec.rule == "threshold":
        share = (np.round(a - target, _EPS_DIGITS) >= 0).astype(float)
    else:
        raise ValueError(spec.rule)
    return np.where(np.isnan(a), 0.0, share)


def score_points(actuals: Mapping[str, ArrayLike], contract: Contract) -> dict[str, np.ndarray]:
    """Points per KPI: weight × rule, against the annual targets."""
    return {
        spec.id: float(spec.weight) * apply_rule(actuals[spec.id], spec) for spec in contract.kpis
    }


def base_score(points: Mapping[str, np.ndarray]) -> np.ndarray:
    """Σ points (0 to the contract's full score), float noise rounded away.

    Summed in place in the KPIs' order (the forecast sums 100,000 draws many times): the same
    additions, so the same numbers, as ``sum(points.values())``.
    """
    arrays = [np.asarray(p, dtype=float) for p in points.values()]
    total = np.zeros(np.broadcast_shapes(*(a.shape for a in arrays)))
    for a in arrays:
        total += a
    return np.round(total, _EPS_DIGITS, out=total)


def count_reaching(
    points: Mapping[str, np.ndarray],
    threshold: float,
    before: Mapping[str, np.ndarray],
    total: np.ndarray,
) -> int:
    """``count_nonzero(base_score(points) >= threshold)``, where ``points`` differ from
    ``before`` in a few KPIs (others: the same arrays) and ``total`` is ``before``'s sum.

    The changes added to ``total`` settle every draw further than ``APPROX_BAND`` from the
    threshold (the two sums differ by far less: float noise and the 9-digit rounding); only the
    draws within it are summed by :func:`base_score` itself — the same count, for less work.
    """
    approx = np.zeros(len(total))
    for k, p in points.items():
        if p is not before[k]:
            approx += p
            approx -= before[k]
    approx += total
    above = approx >= threshold + APPROX_BAND
    near = np.flatnonzero(~above & (approx > threshold - APPROX_BAND))
    count = int(np.count_nonzero(above))
    if len(near):
        exact = base_score({k: np.asarray(p)[near] for k, p in points.items()})
        count += int(np.count_nonzero(exact >= threshold))
    return count


def grade_of(base: ArrayLike, contract: Contract) -> np.ndarray:
    """Grade id per base score: the highest grade whose ``min_score`` the score reaches.

    >>> from qyzj_analytics.contract.model import load_contract
    >>> grade_of([89.99, 90, 59.99, 60], load_contract()).tolist()
    ['good', 'excellent', 'unqualified', 'qualified']
    """
    score = np.round(np.asarray(base, dtype=float), _EPS_DIGITS)
    grades = contract.grades  # highest first
    conditions = [score >= g.min_score for g in grades[:-1]]
    return np.select(conditions, [g.id for g in grades[:-1]], grades[-1].id).astype(str)


def grade_codes(base: ArrayLike, contract: Contract) -> np.ndarray:
    """:func:`grade_of` as positions in ``contract.grades`` (0 = the highest grade): the same
    comparisons, without strings (the forecast grades 100,000 draws).

    >>> from qyzj_analytics.contract.model import load_contract
    >>> grade_codes([89.99, 90, 59.99, 60], load_contract()).tolist()
    [1, 0, 3, 2]
    """
    score = np.round(np.asarray(base, dtype=float), _EPS_DIGITS)
    grades = contract.grades  # highest first
    codes = np.full(score.shape, len(grades) - 1, dtype=np.int64)
    for i in range(len(grades) - 2, -1, -1):  # the highest grade reached wins, as np.select
        codes[score >= grades[i].min_score] = i
    return codes


def compute_bonus(
    awards: Iterable[Award], courses_accepted: float, as_of: dt.date, contract: Contract
) -> float:
    """Bonus points (奖励分): awards in the period dated ≤ as_of, plus each unit of the contract's
    bonus KPI (accepted courses) beyond its target.

    Capped at the contract's cap; the bonus never changes the grade.
    """
    points = sum(
        contract.award_points[a.level]
        for a in awards
        if contract.period_start <= a.date <= min(as_of, contract.period_end)
    )
    target = contract.kpi(contract.bonus_kpi).target
    points += max(0.0, courses_accepted - target) * contract.course_bonus
    return float(min(contract.bonus_cap, points))


@dataclass(frozen=True)
class Payment:
    """What the year pays if it closed on a given score (CNY)."""

    advances: Decimal
    subsidy: Decimal
    total: Decimal


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def compute_payment(grade: str, base: float, bonus: float, contract: Contract) -> Payment:
    """The advances, the subsidy (运维补助资金) and the year's total for one outcome.

    excellent → full subsidy; good/qualified → subsidy × min(1, (base + bonus) / full score);
    unqualified → the year pays total × (1 − deduction), so subsidy = that − advances.

    >>> from qyzj_analytics.contract.model import load_contract
    >>> compute_payment("unqualified", 50.0, 0.0, load_contract()).subsidy
    Decimal('74666.40')
    """
    return PaymentRule(contract).pay(grade, base + bonus)


class PaymentRule:
    """The payment rule of one contract, its sums worked out once (:func:`compute_payment`;
    the forecast pays thousands of outcomes with it)."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.advances = sum((a.amount for a in contract.advances), Decimal(0))
        self.full = contract.subsidy_full
        self.full_score = Decimal(repr(contract.full_score))
        self.fixed: dict[str, Decimal] = {}  # subsidies that do not depend on the score, by grade

    def subsidy(self, grade: str, score: float) -> Decimal:
        """The subsidy (to the cent) of a year closing in ``grade`` with base + bonus = ``score``."""
        found = self.fixed.get(grade)
        if found is not None:
            return found
        rule = self.contract.subsidy_rule[grade]
        if rule == "full":
            subsidy = self.full
        elif rule == "proportional":
            share = min(Decimal(1), Decimal(repr(round(score, 6))) / self.full_score)
            subsidy = self.full * max(Decimal(0), share)
        elif rule == "deduct":
            c = self.contract
            subsidy = c.total * (Decimal(1) - c.unqualified_deduction) - self.advances
        else:
            raise ValueError(f"unknown subsidy rule {rule!r} for grade {grade!r}")
        subsidy = subsidy.quantize(CENT, rounding=ROUND_HALF_UP)
        if rule != "proportional":
            self.fixed[grade] = subsidy
        return subsidy

    def total(self, grade: str, score: float) -> Decimal:
        """The year's total payment (to the cent) for one outcome."""
        return (self.advances + self.subsidy(grade, score)).quantize(CENT, rounding=ROUND_HALF_UP)

    def totals(self, grade: str, scores: list[float]) -> list[Decimal]:
        """:meth:`total` for many scores closing in one ``grade`` (the forecast pays thousands
        of outcomes): the same arithmetic, the rule looked up once."""
        if self.contract.subsidy_rule[grade] != "proportional":  # the score does not matter
            return [self.total(grade, 0.0)] * len(scores)
        full, full_score, advances = self.full, self.full_score, self.advances
        one, zero = Decimal(1), Decimal(0)
        out = []
        for score in scores:
            share = min(one, Decimal(repr(round(score, 6))) / full_score)
            subsidy = (full * max(zero, share)).quantize(CENT, rounding=ROUND_HALF_UP)
            out.append((advances + subsidy).quantize(CENT, rounding=ROUND_HALF_UP))
        return out

    def pay(self, grade: str, score: float) -> Payment:
        """Advances, subsidy and total of a year closing in ``grade`` with ``score``."""
        subsidy = self.subsidy(grade, score)
        return Payment(_money(self.advances), subsidy, _money(self.advances + subsidy))


def expected_to_date(spec: KpiSpec, contract: Contract, as_of: dt.date) -> float:
    """Where a KPI should stand at ``as_of`` for an even pace to the annual target."""
    start, end = contract.period_start, contract.period_end
    if spec.pace == "period":
        return spec.target * elapsed_share(start, end, as_of)
    if spec.pace == "months":
        done = len(elapsed_months(start, end, as_of))
        return spec.target * done / len(period_months(start, end))
    return spec.target


def pace_status(actual: float, expected: float, at_risk_ratio: float) -> str:
    """``on_track`` if actual ≥ expected, ``at_risk`` if ≥ ratio × expected, else ``behind``.

    >>> pace_status(8, 10, 0.8), pace_status(7.9, 10, 0.8)
    ('at_risk', 'behind')
    """
    if round(actual - expected, _EPS_DIGITS) >= 0:
        return "on_track"
    if round(actual - at_risk_ratio * expected, _EPS_DIGITS) >= 0:
        return "at_risk"
    return "behind"
