"""Year-end forecast (DESIGN "Forecast"): edges, reproducibility, monotonicity and the planner."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from builders import CONTRACT, activity, context

from qyzj_analytics.cli import main
from qyzj_analytics.forecast import simulate
from qyzj_analytics.forecast.appeals import closure_survival
from qyzj_analytics.forecast.backtest_years import StreamProcess, YearProcess, simulate_tables
from qyzj_analytics.forecast.horizon import build_horizon
from qyzj_analytics.forecast.levers import Evaluator
from qyzj_analytics.forecast.outcomes import pay_draws, score_draws, share_of
from qyzj_analytics.forecast.outlook import (
    Outlook,
    forecast_outlook,
    format_outlook,
    outlook_to_dict,
)
from qyzj_analytics.forecast.rates import fit_rate
from qyzj_analytics.forecast.result import Forecast, run_forecast
from qyzj_analytics.forecast.settings import QUANTILES, quantiles
from qyzj_analytics.forecast.text import forecast_to_dict
from qyzj_analytics.ingest.facts import Facts
from qyzj_analytics.scoring.assessment import assess
from qyzj_analytics.scoring.kpi import KpiContext
from qyzj_analytics.scoring.score import PaymentRule, compute_payment

Q3_END = dt.date(2025, 9, 30)


def steady(per_year: float) -> StreamProcess:
    """A stream with mild month-to-month variation and no daily overdispersion."""
    return StreamProcess(per_year, month_sigma=0.14, off_day_share=0.05)


def on_target_process(level: float = 1.0) -> YearProcess:
    """Every stream at ``level`` times the contract pace, tags at their target shares."""
    return YearProcess(
        services=steady(2000 * level),
        offline=steady(32 * level),
        online=steady(80 * level),
        appeals=steady(80),
        publications=steady(200),
        hybrid_share=0.1,
        tag_share={"alliance": 0.12, "park": 0.45, "xiaowei_nihao": 0.42, "policy": 0.12},
        park_given_xiaowei=0.6,
        online_policy_share=0.1,
        unknown_share=0.0,
        appeal_rejected_share=0.05,
        appeal_close_probability=0.98,
        appeal_median_days=7.0,
        courses_per_year=2.5,
    )


def year_tables(seed: int = 3, level: float = 1.0) -> dict[str, pd.DataFrame]:
    return simulate_tables(np.random.default_rng(seed), on_target_process(level), CONTRACT)


def ctx_at(as_of: dt.date, tables: dict[str, pd.DataFrame]) -> KpiContext:
    return KpiContext(tables, CONTRACT, as_of, Facts())


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return year_tables()


@pytest.fixture(scope="module")
def q3_outlook(tables: dict[str, pd.DataFrame]) -> Outlook:
    return forecast_outlook(ctx_at(Q3_END, tables), draws=4000, seed=11)


@pytest.fixture(scope="module")
def q3(q3_outlook: Outlook) -> Forecast:
    return q3_outlook.forecast


def test_quantiles_are_ordered_and_probabilities_sum_to_one(q3: Forecast) -> None:
    for k in q3.kpis:
        assert k.p10 <= k.p50 <= k.p90
        assert 0.0 <= k.p_target <= 1.0
    assert q3.score["p10"] <= q3.score["p50"] <= q3.score["p90"]
    assert set(q3.grade_probability) == {g.id for g in CONTRACT.grades}
    assert sum(q3.grade_probability.values()) == pytest.approx(1.0, abs=1e-12)
    assert q3.payment_p10 <= q3.payment_expected <= q3.payment_p90
    assert q3.payment_p10 <= q3.payment_p50 <= q3.payment_p90


def test_payment_quantiles_match_paying_every_draw(tables: dict[str, pd.DataFrame]) -> None:
    """pay_draws groups draws by outcome; paying each draw one by one must give the same."""
    ctx = ctx_at(Q3_END, tables)
    fc = run_forecast(ctx, draws=500, seed=3)
    base, bonus, grade = score_draws(fc.values, ctx)
    totals = [
        float(compute_payment(str(g), float(b + x), 0.0, CONTRACT).total)
        for b, x, g in zip(base, bonus, grade, strict=True)
    ]
    for q, value in ((0.1, fc.payment_p10), (0.5, fc.payment_p50), (0.9, fc.payment_p90)):
        assert np.quantile(totals, q, method="inverted_cdf") == pytest.approx(float(value))
    assert np.mean(totals) == pytest.approx(float(fc.payment_expected), abs=0.01)
    _, _, codes = score_draws(fc.values, ctx, codes=True)  # the summary's integer grades
    assert [CONTRACT.grades[c].id for c in codes] == grade.tolist()
    assert pay_draws(base, bonus, codes, CONTRACT) == pay_draws(base, bonus, grade, CONTRACT)


def test_counts_never_fall_below_today(q3: Forecast) -> None:
    for k in q3.kpis:
        if k.method == "rate_per_workday":
            assert k.p10 >= k.actual


def test_kpi_at_target_has_p_target_one_and_needs_nothing() -> None:
    rows = [activity(f"走进小微园活动{i}", f"2025-03-{i + 1:02d}") for i in range(30)]
    ctx = context("2025-04-30", activities=rows)
    f = run_forecast(ctx, draws=2000, seed=1)
    by_id = {k.id: k for k in f.kpis}
    for kpi_id in ("offline_events", "park_events"):
        assert by_id[kpi_id].actual >= CONTRACT.kpi(kpi_id).target
        assert by_id[kpi_id].p_target == 1.0
        assert by_id[kpi_id].required_per_week == 0.0
    # a count still short needs (target − actual) per remaining week
    weeks = build_horizon(CONTRACT, ctx.as_of).remaining_weeks
    alliance = by_id["alliance_events"]
    assert alliance.required_per_week == pytest.approx(3 / weeks)


def test_last_day_has_no_uncertainty_and_matches_qyzj_kpi(tables: dict) -> None:
    for day in (CONTRACT.period_end, CONTRACT.period_end + dt.timedelta(days=10)):
        ctx = ctx_at(day, tables)
        f = run_forecast(ctx, draws=3000, seed=5)
        a = assess(ctx)
        for k, r in zip(f.kpis, a.kpis, strict=True):
            assert k.p10 == k.p50 == k.p90 == r.actual
            assert k.mean == pytest.approx(r.actual)
            assert k.p_target in (0.0, 1.0)
        assert f.score["p10"] == f.score["p90"] == pytest.approx(a.base)
        assert f.grade_probability[a.grade] == 1.0
        assert f.payment_expected == f.payment_p10 == f.payment_p90 == a.payment.total


def test_same_seed_same_bytes_and_another_seed_differs(tables: dict) -> None:
    ctx = ctx_at(dt.date(2025, 6, 30), tables)

    def text(seed: int) -> str:
        result = forecast_outlook(ctx, draws=3000, seed=seed)
        return json.dumps(outlook_to_dict(result), ensure_ascii=False, indent=2)

    first = text(42)
    assert text(42) == first
    assert text(43) != first


def test_threaded_simulation_draws_the_same_numbers(
    tables: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The streams' parts on two threads give the very numbers they give one after another."""
    ctx = ctx_at(Q3_END, tables)
    serial = simulate.simulate_year_end(ctx, 3000, 5)
    seen: set[str] = set()
    total = simulate._simulate_total

    def spy(*args: object) -> np.ndarray:
        seen.add(threading.current_thread().name)
        return total(*args)

    monkeypatch.setattr(simulate, "PARALLEL_DRAWS", 0)
    monkeypatch.setattr(simulate, "_usable_cpus", lambda: 2)
    monkeypatch.setattr(simulate, "_simulate_total", spy)
    threaded = simulate.simulate_year_end(ctx, 3000, 5)
    assert seen and all(name.startswith("qyzj-sim") for name in seen)
    assert threaded.values.keys() == serial.values.keys()
    for kpi_id, values in serial.values.items():
        np.testing.assert_array_equal(threaded.values[kpi_id], values)
    np.testing.assert_array_equal(threaded.online_months, serial.online_months)
    np.testing.assert_array_equal(threaded.appeals.closed, serial.appeals.closed)
    assert threaded.notes == serial.notes


def test_threaded_outlook_is_the_same_outlook(
    tables: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many draws: the simulation's parts on two threads; the forecast and the plan stay the
    same, digit for digit."""
    ctx = ctx_at(dt.date(2025, 4, 30), tables)

    def text() -> str:
        return json.dumps(outlook_to_dict(forecast_outlook(ctx, draws=3000, seed=4)))

    serial = text()
    monkeypatch.setattr(simulate, "PARALLEL_DRAWS", 0)
    monkeypatch.setattr(simulate, "_usable_cpus", lambda: 2)
    assert simulate.use_threads(3000)
    assert text() == serial


def test_json_shape(q3_outlook: Outlook) -> None:
    out = outlook_to_dict(q3_outlook)
    assert out["as_of"] == "2025-09-30"
    assert (out["draws"], out["seed"]) == (4000, 11)
    assert set(out["kpis"]) == {k.id for k in CONTRACT.kpis}
    for item in out["kpis"].values():
        assert {"p10", "p50", "p90", "mean", "p_target", "required_per_week"} <= set(item)
    assert set(out["score"]) >= {"p10", "p50", "p90", "mean"}
    assert sum(out["grade_probability"].values()) == pytest.approx(1.0, abs=1e-9)
    for key in ("expected", "p10", "p90"):
        value = out["payment"][key]
        assert isinstance(value, str)
        assert Decimal(value) == Decimal(value).quantize(Decimal("0.01"))
    assert out["plan"]["statement"]
    json.dumps(out)  # serialisable as is


def test_more_events_so_far_never_lower_p_excellent() -> None:
    tables = year_tables(level=1.05)  # a year whose grade is still open at Q3
    draws = 20_000
    start = run_forecast(ctx_at(Q3_END, tables), draws=draws, seed=9)
    p_start = start.grade_probability["excellent"]
    assert 0.02 < p_start < 0.98, "the scenario should leave the grade open"
    extra_rows: list[dict] = []
    previous = p_start
    for i in range(8):
        day = pd.Timestamp("2025-07-01") + pd.Timedelta(days=7 * i)
        extra_rows.append({"title": "“小微你好”走进小微园联盟活动", "date": day, "format": "线下"})
        more = dict(tables)
        more["activities"] = pd.concat(
            [tables["activities"], _like(tables["activities"], extra_rows)], ignore_index=True
        )
        now = run_forecast(ctx_at(Q3_END, more), draws=draws, seed=9)
        p = now.grade_probability["excellent"]
        # the expectation never falls (see the test below); allow the Monte Carlo error only
        noise = 3 * np.sqrt(max(p * (1 - p), 1e-4) / draws)
        assert p >= previous - noise
        previous = max(previous, p)
        for before, after in zip(start.kpis, now.kpis, strict=True):
            if before.id in ("offline_events", "park_events", "xiaowei_nihao_events"):
                assert after.mean > before.mean
    assert previous > p_start + 0.3


def test_more_events_never_lower_an_expected_count() -> None:
    """Exactly, without Monte Carlo: the rate's prior weight does not depend on the data, so
    a tag's expected count (k + w·prior)/(W + b) only grows with events of any kind."""
    from qyzj_analytics.forecast.rates import tag_prior_share, target_pace
    from qyzj_analytics.forecast.simulate import combo_alpha

    horizon = build_horizon(CONTRACT, Q3_END)
    tags = list(CONTRACT.tag_keywords)
    pace = target_pace(CONTRACT.kpi("offline_events").target, horizon)
    priors = np.array([tag_prior_share(CONTRACT, t) for t in tags])
    rng = np.random.default_rng(0)
    flags = rng.random((12, len(tags))) < 0.3
    dates = pd.Series(pd.date_range("2025-01-06", periods=12, freq="14D"))

    def expected(flags: np.ndarray, dates: pd.Series) -> np.ndarray:
        fit = fit_rate(dates, horizon, pace)
        alpha = combo_alpha(flags, priors, fit.prior_events)
        bits = (np.arange(len(alpha))[:, None] >> np.arange(len(tags))[None, :]) & 1
        return fit.mean * (alpha @ bits) / alpha.sum()

    before = expected(flags, dates)
    for row in (
        [True, False, False, False],
        [False, False, False, False],
        [False, True, True, False],
    ):
        flags = np.vstack([flags, row])
        dates = pd.concat([dates, pd.Series([pd.Timestamp("2025-08-01")])], ignore_index=True)
        after = expected(flags, dates)
        assert np.all(after >= before - 1e-12)
        before = after


def _like(frame: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    extra = pd.DataFrame(rows)
    out = {}
    for col in frame.columns:
        values = extra[col] if col in extra else pd.Series([None] * len(extra))
        if col == "source_row":
            values = pd.Series(range(len(extra)))
        out[col] = pd.Series(values.to_numpy(), dtype=frame[col].dtype)
    return pd.DataFrame(out)


def test_before_the_first_working_day_uses_a_weak_prior_and_says_so(tables: dict) -> None:
    f = run_forecast(ctx_at(dt.date(2024, 12, 31), tables), draws=2000, seed=1)
    assert any("弱先验" in n for n in f.notes)
    served = next(k for k in f.kpis if k.id == "enterprises_served")
    assert served.actual == 0
    assert 0 < served.p10 < CONTRACT.kpi("enterprises_served").target < served.p90


def test_unknown_calendar_year_falls_back_and_says_so() -> None:
    contract = dataclasses.replace(
        CONTRACT, period_start=dt.date(2099, 1, 1), period_end=dt.date(2099, 12, 31)
    )
    rows = [activity(f"政策宣讲会{i}", f"2099-02-{i + 1:02d}") for i in range(5)]
    ctx = context("2099-03-31", contract=contract, activities=rows)
    f = run_forecast(ctx, draws=1000, seed=1)
    out = forecast_to_dict(f)
    assert out["calendar"] == {"source": "weekday_fallback", "fallback_years": [2099]}
    assert any("2099" in n and "周一至周五" in n for n in f.notes)


def test_readable_summary_is_chinese_and_complete(q3_outlook: Outlook, q3: Forecast) -> None:
    text = format_outlook(q3_outlook)
    assert "年终预测" in text
    assert "档次概率" in text and "优秀" in text
    assert "行动建议" in text
    for k in q3.kpis:
        assert k.name in text


def test_rate_fit_uses_working_days(tables: dict) -> None:
    horizon = build_horizon(CONTRACT, dt.date(2025, 3, 31))
    # one event per working day (holiday-window days included, so they are not slow days)
    dates = pd.Series(pd.to_datetime(horizon.calendar.workdays(last=dt.date(2025, 3, 31))))
    fit = fit_rate(dates, horizon, None)
    assert horizon.elapsed_workdays == 59
    assert fit.mean == pytest.approx(59.5 / 59, rel=0.2)


def test_closure_survival_follows_the_observed_closures() -> None:
    durations = np.array([2, 2, 5, 5, 10])
    closed = np.array([True, True, True, True, False])
    s = closure_survival(durations, closed, 40)
    assert s[1] == 1.0
    assert s[2] == pytest.approx(0.6)
    assert s[5] == pytest.approx(0.2)
    assert s[10] == pytest.approx(0.2)
    assert np.all(np.diff(s) <= 1e-12)
    assert s[39] < s[10]  # the tail keeps closing beyond the longest follow-up
    stuck = closure_survival(durations, closed, 40, never=0.15)
    assert stuck[39] >= 0.15


def test_share_of_sums_to_exactly_one() -> None:
    shares = share_of({"a": 1, "b": 1, "c": 1}, 3)
    assert sum(round(v * 10**6) for v in shares.values()) == 10**6


# --- action planner ---------------------------------------------------------------------------


def test_plan_reaches_the_goal_with_the_units_it_names(
    q3_outlook: Outlook, q3: Forecast, tables: dict
) -> None:
    plan = q3_outlook.plan
    assert plan is not None
    if plan.probability_now >= 0.9:
        assert plan.total_units == 0
        return
    if not plan.reachable:
        assert "达不到" in plan.statement
        return
    assert q3_outlook.sim is not None
    ev = Evaluator(q3_outlook.sim, CONTRACT, plan.levers)
    grade = plan.target_grade
    assert ev.probability(plan.extra, grade)[0] >= 0.9
    assert plan.probability_with_plan >= 0.9
    # trimming: removing one step of any lever in use breaks the goal
    for lever in plan.levers:
        units = plan.extra[lever.id]
        if units:
            step = lever.step if lever.kind == "publications" else 1
            fewer = {**plan.extra, lever.id: units - step}
            assert ev.probability(fewer, grade)[0] < 0.9


def test_plan_when_already_excellent() -> None:
    tables = year_tables(seed=4, level=1.3)
    outlook = forecast_outlook(ctx_at(Q3_END, tables), draws=3000, seed=2)
    f, plan = outlook.forecast, outlook.plan
    assert f.grade_probability["excellent"] >= 0.9
    assert plan is not None and plan.total_units == 0
    assert "无需" in plan.statement


def test_plan_out_of_reach_plans_for_the_best_grade_instead() -> None:
    tables = year_tables(seed=5, level=0.5)
    tables["staff"] = tables["staff"].iloc[:0]  # no staff at all: 5 points lost for good
    appeals = tables["appeals"]
    tables["appeals"] = appeals.assign(status="办理中", closed=pd.NaT)  # nothing ever closes
    plan = forecast_outlook(ctx_at(dt.date(2025, 11, 30), tables), draws=3000, seed=2).plan
    assert plan is not None
    assert plan.reachable  # issue 12: plans for the best grade still reachable, never gives up
    assert "达不到" in plan.statement  # ... and says why the higher grade is out of reach
    assert plan.best_grade != "excellent"
    assert plan.best_grade_name in plan.statement
    assert plan.target_grade == plan.best_grade
    assert plan.higher_probability_max is not None and plan.higher_probability_max < 0.9


# --- command line -----------------------------------------------------------------------------

ACTIVITIES_CSV = """乐清市企业之家2025年活动台账,,,
序号,活动名称,活动时间,活动形式
1,“小微你好”走进柳市小微园,2025-03-05 14:30,线下
2,惠企政策直播,2025/3/6,线上
3,服务联盟交流会,2025-04-10,线下
"""


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "活动.csv").write_text(ACTIVITIES_CSV, encoding="utf-8-sig")
    return folder


def test_forecast_cli_json_is_reproducible(raw: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["forecast", "--raw", str(raw), "--as-of", "2025-06-30", "--json", "--draws", "3000"]
    assert main([*argv, "--seed", "7"]) == 0
    first = capsys.readouterr().out
    assert main([*argv, "--seed", "7"]) == 0
    assert capsys.readouterr().out == first
    data = json.loads(first)
    assert (data["as_of"], data["draws"], data["seed"]) == ("2025-06-30", 3000, 7)
    assert data["kpis"]["park_events"]["actual"] == 1
    assert set(data["payment"]) == {"expected", "p10", "p50", "p90"}
    assert sum(data["grade_probability"].values()) == pytest.approx(1.0, abs=1e-9)
    assert "plan" in data and data["plan"]["statement"]


def test_forecast_cli_summary_and_defaults(raw: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forecast", "--raw", str(raw), "--as-of", "2025-06-30", "--draws", "2000"]) == 0
    out = capsys.readouterr().out
    assert "年终预测" in out and "2000 次模拟" in out and "种子 2025" in out


@pytest.mark.parametrize("draws", ["0", "-5", "many"])
def test_forecast_cli_bad_draws_exit_2(raw: Path, draws: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(["forecast", "--raw", str(raw), "--as-of", "2025-06-30", "--draws", draws])
    assert info.value.code == 2


@pytest.mark.parametrize("n", [1, 2, 7, 10, 11, 99, 100, 101, 999, 1000, 4001])
def test_quantiles_count_the_same_order_statistics_as_numpy(n: int) -> None:
    """Whole-valued draws are counted rather than partitioned (issue 16): the same P10/P50/P90
    as numpy's inverted CDF, for counts, negative whole numbers and (by the partition) others."""
    rng = np.random.default_rng(n)
    for values in (
        rng.poisson(rng.uniform(0.2, 300), n).astype(float),
        rng.integers(-4, 4, n),
        rng.normal(size=n),
        rng.poisson(2.0, n) + 0.5,
    ):
        expected = np.quantile(values, QUANTILES, method="inverted_cdf")
        if values.min() == values.max():
            expected = [values[0]] * 3
        assert quantiles(values) == tuple(float(x) for x in expected)


def test_payment_rule_pays_as_the_contract_says() -> None:
    """PaymentRule (the forecast pays every outcome with it) against the contract's terms
    written out: full subsidy, proportional to the score, or the deduction; grades whose
    payment does not depend on the score give the same amount for any score."""
    rule = PaymentRule(CONTRACT)
    advances = sum((a.amount for a in CONTRACT.advances), Decimal(0))
    full = CONTRACT.total - advances
    cent = Decimal("0.01")
    for grade in CONTRACT.subsidy_rule:
        for score in (55.0, 72.123456, 89.999999, 95.5, 104.0):
            how = CONTRACT.subsidy_rule[grade]
            if how == "full":
                subsidy = full
            elif how == "proportional":
                share = min(Decimal(1), Decimal(repr(score)) / Decimal(repr(CONTRACT.full_score)))
                subsidy = full * share
            else:
                subsidy = CONTRACT.total * (1 - CONTRACT.unqualified_deduction) - advances
            subsidy = subsidy.quantize(cent, rounding="ROUND_HALF_UP")
            assert rule.subsidy(grade, score) == subsidy, (grade, score)
            assert rule.total(grade, score) == compute_payment(grade, score, 0.0, CONTRACT).total
            assert rule.total(grade, score) == (advances + subsidy).quantize(cent)
    # many scores at once (pay_draws): the same amounts, digit for digit
    scores = [0.0, 55.0, 72.123456, 89.999999, 95.5, 104.0, 87.53, 60.01]
    for grade in CONTRACT.subsidy_rule:
        fresh = PaymentRule(CONTRACT)
        assert [str(a) for a in fresh.totals(grade, scores)] == [
            str(PaymentRule(CONTRACT).total(grade, s)) for s in scores
        ]


def test_online_policy_share_follows_the_data_not_the_target_ratio() -> None:
    """Issue 16: half of the online activities so far are policy sessions while the targets'
    ratio says about 10 %; a quarter's data (20 activities) must decide, not the prior."""
    from qyzj_analytics.forecast.rates import tag_prior_share
    from qyzj_analytics.forecast.simulate import online_policy_share_beta

    prior = tag_prior_share(CONTRACT, "policy")
    assert prior < 0.2
    a, b = online_policy_share_beta(10, 20, prior, 1.44)
    assert abs(a / (a + b) - 0.5) < 0.03
    # the prior still decides when nothing was seen
    a, b = online_policy_share_beta(0, 0, prior, 1.44)
    assert a / (a + b) == pytest.approx(prior)


def test_appeals_open_past_the_curve_still_close_within_the_year() -> None:
    """Issue 16 (企业诉求办结率 at Q1): closure times log-normal with a 20-day median; of the
    appeals still open after 60 days almost all close in the 275 days left (the truth: 0.3 %
    stay open). A heavy (Pareto) tail kept 9 % of them open all year."""
    from qyzj_analytics.forecast.appeals import closure_survival

    rng = np.random.default_rng(0)
    durations = np.round(20 * rng.lognormal(0, 0.8, size=60))
    closed = durations <= 60
    survival = closure_survival(np.minimum(durations, 60), closed, 400)
    assert survival[60] > 0.05  # some are still open at 60 days
    assert survival[335] / survival[60] < 0.02
