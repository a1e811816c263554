"""Scoring rules, grade boundaries, bonus and payment (contract 四, 六.4)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from builders import CONTRACT, activity, context

from qyzj_analytics.ingest.facts import Award, Facts
from qyzj_analytics.scoring.assessment import assess, assessment_to_dict
from qyzj_analytics.scoring.score import (
    apply_rule,
    base_score,
    compute_bonus,
    compute_payment,
    count_reaching,
    expected_to_date,
    grade_codes,
    grade_of,
    pace_status,
    score_points,
)


@pytest.mark.parametrize(
    ("base", "grade"),
    [
        (100, "excellent"),
        (90, "excellent"),
        (89.99, "good"),
        (80, "good"),
        (79.99, "qualified"),
        (60, "qualified"),
        (59.99, "unqualified"),
        (0, "unqualified"),
    ],
)
def test_grade_boundaries(base: float, grade: str) -> None:
    assert grade_of(base, CONTRACT).item() == grade


def test_grade_codes_are_grade_of_as_positions() -> None:
    """The forecast's integer grades (issue 16 item 1) name the very grades ``grade_of`` gives,
    at every boundary, just below it and with float noise."""
    ids = [g.id for g in CONTRACT.grades]
    base = np.array([100, 90, 89.99, 89.9999999999, 80, 79.99, 60, 59.99, 0, 0.1 * 900 - 1e-12])
    base = np.concatenate([base, np.random.default_rng(1).uniform(-5, 105, 10_000)])
    codes = grade_codes(base, CONTRACT)
    assert codes.dtype.kind == "i"
    assert [ids[c] for c in codes] == grade_of(base, CONTRACT).tolist()


@pytest.mark.parametrize("threshold", [90.0, 80.0, 60.0, 0.0])
def test_count_reaching_is_the_exact_count(threshold: float) -> None:
    """The planner's exact checks (issue 16 item 1) count from the unchanged sum plus the
    changes and re-sum only the draws near the threshold: the very count ``base_score`` gives,
    with many draws exactly on it and others a float's noise either side."""
    rng = np.random.default_rng(7)
    n, weights = 20_000, [10.0, 5.0, 7.5, 2.5, 0.1, 14.9, 10.0, 20.0, 30.0]  # Σ 100
    level = rng.choice([0.6, 0.8, 0.9, 1.0], n)  # half the draws: every share at one level,
    even = rng.random(n) < 0.5  # so their sums sit on 60, 80, 90 (up to float noise)
    steps = [np.where(even, level, rng.integers(0, 11, n) / 10) for _ in weights]
    before = {str(i): w * s for i, (w, s) in enumerate(zip(weights, steps, strict=True))}
    before["noise"] = rng.choice([0.0, -1e-12, 1e-12], n)  # float noise base_score rounds away
    total = sum(before.values())
    for changed in (["0"], ["2", "5"], ["8", "noise"], ["1", "4", "7"]):
        points = dict(before)
        for k in changed:
            bump = rng.integers(0, 3, n) * 0.1 * float(k != "noise") * (rng.random(n) < 0.2)
            points[k] = points[k] + bump
        expected = int(np.count_nonzero(base_score(points) >= threshold))
        assert count_reaching(points, threshold, before, total) == expected
    on = int(np.count_nonzero(np.abs(base_score(before) - threshold) < 1e-6))
    assert threshold == 0.0 or on > 100  # the re-summed band is exercised


def test_float_noise_does_not_cost_a_grade() -> None:
    points = {str(i): np.array(0.1) for i in range(900)}  # 0.1 × 900 is 89.99999999999 in floats
    assert grade_of(base_score(points), CONTRACT).item() == "excellent"


def test_linear_rule_caps_at_one() -> None:
    spec = CONTRACT.kpi("offline_events")
    assert apply_rule([0, 15, 30, 45], spec).tolist() == [0, 0.5, 1, 1]


def test_floor_linear_rule() -> None:
    spec = CONTRACT.kpi("appeal_resolution_rate")
    assert apply_rule([0.5, 0.8, 0.875, 0.95, 1.0], spec).tolist() == [0, 0, 0.5, 1, 1]


def test_threshold_rule_and_fractional_weight() -> None:
    spec = CONTRACT.kpi("staff_qualified_share")
    assert apply_rule([0.79, 0.8, 0.9], spec).tolist() == [0, 1, 1]
    staff_weights = [float(k.weight) for k in CONTRACT.kpis if k.id.startswith("staff_")]
    assert sum(staff_weights) == pytest.approx(5)


def test_full_marks_is_100() -> None:
    actuals = {k.id: k.target for k in CONTRACT.kpis}
    assert base_score(score_points(actuals, CONTRACT)).item() == 100


@pytest.mark.parametrize(
    ("grade", "base", "bonus", "subsidy", "total"),
    [
        ("excellent", 92.0, 0.0, "168333.00", "468333.00"),
        ("good", 85.0, 3.0, "148133.04", "448133.04"),
        ("good", 89.99, 10.0, "168316.17", "468316.17"),
        ("good", 89.0, 12.0, "168333.00", "468333.00"),  # min(1, ...) caps the share
        ("qualified", 70.0, 0.0, "117833.10", "417833.10"),
        ("unqualified", 59.99, 5.0, "74666.40", "374666.40"),
    ],
)
def test_payment_per_grade(grade: str, base: float, bonus: float, subsidy: str, total: str) -> None:
    payment = compute_payment(grade, base, bonus, CONTRACT)
    assert payment.advances == Decimal("300000.00")
    assert payment.subsidy == Decimal(subsidy)
    assert payment.total == Decimal(total)
    assert isinstance(payment.total, Decimal)


def test_bonus_awards_dated_after_as_of_do_not_count() -> None:
    awards = [
        Award("provincial", "省级", dt.date(2025, 11, 20)),
        Award("municipal", "市级", dt.date(2025, 6, 1)),
        Award("national", "国家级", dt.date(2024, 6, 1)),  # before the period
    ]
    assert compute_bonus(awards, 2, dt.date(2025, 9, 30), CONTRACT) == 1
    assert compute_bonus(awards, 2, dt.date(2025, 12, 31), CONTRACT) == 4


def test_bonus_courses_beyond_target_and_cap() -> None:
    assert compute_bonus([], 4, dt.date(2025, 12, 31), CONTRACT) == 2
    assert compute_bonus([], 1, dt.date(2025, 12, 31), CONTRACT) == 0
    awards = [Award("national", "x", dt.date(2025, 5, 1))] * 3
    assert compute_bonus(awards, 5, dt.date(2025, 12, 31), CONTRACT) == 10


def test_bonus_never_changes_the_grade() -> None:
    facts = Facts(awards=tuple(Award("national", "x", dt.date(2025, 5, 1)) for _ in range(2)))
    result = assess(context(facts=facts))
    assert result.bonus == 10
    assert result.grade == str(grade_of(result.base, CONTRACT))


def test_pace_expected_and_status() -> None:
    spec = CONTRACT.kpi("offline_events")
    mid = dt.date(2025, 7, 2)  # day 183 of 365
    assert expected_to_date(spec, CONTRACT, mid) == pytest.approx(30 * 183 / 365)
    months = CONTRACT.kpi("livestream_months")
    assert expected_to_date(months, CONTRACT, dt.date(2025, 6, 30)) == 6
    assert expected_to_date(months, CONTRACT, dt.date(2025, 6, 29)) == 5
    rate = CONTRACT.kpi("appeal_resolution_rate")
    assert expected_to_date(rate, CONTRACT, mid) == 0.95
    assert pace_status(10, 10, 0.8) == "on_track"
    assert pace_status(8, 10, 0.8) == "at_risk"
    assert pace_status(7.99, 10, 0.8) == "behind"
    assert pace_status(0, 0, 0.8) == "on_track"


def test_assessment_json_shape() -> None:
    rows = [activity("小微你好·走进小微园", "2025-03-01")]
    result = assess(context(activities=rows, as_of="2025-06-30"))
    data = assessment_to_dict(result)
    assert data["as_of"] == "2025-06-30"
    assert set(data["kpis"]) == {k.id for k in CONTRACT.kpis}
    for entry in data["kpis"].values():
        assert {
            "actual",
            "target",
            "attainment",
            "expected_to_date",
            "status",
            "weight",
            "points",
        } <= set(entry)
    assert {"base", "bonus", "grade"} <= set(data["score"])
    assert {"advances", "subsidy", "total"} <= set(data["payment"])
    assert data["payment"]["advances"] == "300000.00"
    assert data["kpis"]["park_events"]["actual"] == 1
    assert data["kpis"]["park_events"]["points"] == pytest.approx(10 / 13, abs=1e-4)


def test_contract_numbers_come_from_the_config() -> None:
    changed = dataclasses.replace(
        CONTRACT,
        kpis=tuple(
            dataclasses.replace(k, target=1) if k.id == "park_events" else k for k in CONTRACT.kpis
        ),
    )
    rows = [activity("走进小微园", "2025-03-01")]
    result = assess(context(activities=rows, contract=changed))
    park = next(k for k in result.kpis if k.id == "park_events")
    assert park.points == 10
