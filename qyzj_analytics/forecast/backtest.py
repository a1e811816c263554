"""Backtest of the year-end forecast against simulated full years with known processes.

The simulated years come from :mod:`.backtest_years`. At the end of Q1, Q2 and Q3 the forecast
is run on the data up to that day and compared with the year's true KPI values
(``compute_actuals`` at period end): how often the truth falls inside P10–P90 (the goal is
``COVERAGE_GOAL``), and the median absolute error of P50.

Rosters, staff and facts are held by the forecast; they are held here too (fixed before the year).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from qyzj_analytics.contract.model import Contract, load_contract
from qyzj_analytics.dates.periods import quarter_end
from qyzj_analytics.forecast.backtest_years import draw_process, simulate_tables
from qyzj_analytics.forecast.methods import SIMULATED_KPIS
from qyzj_analytics.forecast.result import run_forecast
from qyzj_analytics.forecast.settings import (
    BACKTEST_DRAWS,
    BACKTEST_SEED,
    BACKTEST_YEARS,
    QUANTILES,
    quantiles,
)
from qyzj_analytics.ingest.facts import Facts
from qyzj_analytics.scoring.kpi import KpiContext, compute_actuals
from qyzj_analytics.scoring.score import base_score, score_points

# Backtest settings (not contract numbers).
COVERAGE_GOAL = (0.70, 0.90)


@dataclass(frozen=True)
class QuarterResult:
    """Forecast quality at one quarter end over all simulated years."""

    quarter: int
    as_of: dt.date
    coverage: float  # share of (year, simulated KPI) pairs with P10 ≤ truth ≤ P90
    score_coverage: float
    pit_coverage: float  # discreteness-corrected: randomized PIT between the outer QUANTILES
    median_abs_error: float  # pooled |P50 − truth| / target over simulated KPIs
    score_median_abs_error: float  # base score points
    per_kpi: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def within_goal(self) -> bool:
        """Coverage inside ``COVERAGE_GOAL``."""
        return COVERAGE_GOAL[0] <= self.coverage <= COVERAGE_GOAL[1]


@dataclass(frozen=True)
class BacktestResult:
    """The backtest over ``years`` simulated years."""

    years: int
    draws: int
    seed: int
    quarters: list[QuarterResult]


def run_backtest(
    years: int = BACKTEST_YEARS,
    draws: int = BACKTEST_DRAWS,
    seed: int = BACKTEST_SEED,
    contract: Contract | None = None,
    quarters: tuple[int, ...] = (1, 2, 3),
) -> BacktestResult:
    """Simulate ``years`` years, forecast at each quarter end and score the intervals.

    Args:
        years: simulated years.
        draws: Monte Carlo draws per forecast.
        seed: seed of the whole backtest (processes, years and forecasts).
        contract: the contract (the bundled one by default).
        quarters: the quarter ends to forecast at.
    """
    contract = contract or load_contract()
    ids = [k.id for k in contract.kpis if k.id in SIMULATED_KPIS]
    targets = {k.id: k.target for k in contract.kpis}
    year = contract.period_start.year
    ends = {q: quarter_end(year, q) for q in quarters}
    root = np.random.SeedSequence(seed)
    hits = {q: {k: [] for k in ids} for q in quarters}
    errors = {q: {k: [] for k in ids} for q in quarters}
    pits: dict[int, list[float]] = {q: [] for q in quarters}
    score_hits: dict[int, list[bool]] = {q: [] for q in quarters}
    score_errors: dict[int, list[float]] = {q: [] for q in quarters}
    for child in root.spawn(years):
        rng = np.random.default_rng(child)
        tables = simulate_tables(rng, draw_process(rng, contract), contract)
        truth_ctx = KpiContext(tables, contract, contract.period_end, Facts())
        truth = {k: v.value for k, v in compute_actuals(truth_ctx).items()}
        true_score = _true_score(truth, contract)
        for q in quarters:
            ctx = KpiContext(tables, contract, ends[q], Facts())
            fc = run_forecast(ctx, draws=draws, seed=int(rng.integers(2**31)))
            for k in fc.kpis:
                if k.id not in hits[q]:
                    continue
                hits[q][k.id].append(k.p10 - 1e-9 <= truth[k.id] <= k.p90 + 1e-9)
                errors[q][k.id].append(abs(k.p50 - truth[k.id]))
                pits[q].append(randomized_pit(fc.values[k.id], truth[k.id], rng))
            p10, p50, p90 = quantiles(fc.base)
            score_hits[q].append(p10 - 1e-9 <= true_score <= p90 + 1e-9)
            score_errors[q].append(abs(p50 - true_score))
    low, high = QUANTILES[0], QUANTILES[-1]
    results = []
    for q in quarters:
        pooled = [h for k in ids for h in hits[q][k]]
        relative = [e / targets[k] for k in ids for e in errors[q][k]]
        results.append(
            QuarterResult(
                quarter=q,
                as_of=ends[q],
                coverage=float(np.mean(pooled)),
                score_coverage=float(np.mean(score_hits[q])),
                pit_coverage=float(np.mean([low <= u <= high for u in pits[q]])),
                median_abs_error=float(np.median(relative)),
                score_median_abs_error=float(np.median(score_errors[q])),
                per_kpi={
                    k: {
                        "coverage": float(np.mean(hits[q][k])),
                        "median_abs_error": float(np.median(errors[q][k])),
                    }
                    for k in ids
                },
            )
        )
    return BacktestResult(years, draws, seed, results)


def randomized_pit(draws: np.ndarray, truth: float, rng: np.random.Generator) -> float:
    """Where the truth falls in the forecast's distribution, ties spread uniformly.

    For a calibrated forecast this is uniform on [0, 1] even for counts, so the share between
    the outer ``QUANTILES`` should be their distance: P10 ≤ truth ≤ P90 on a count over-states it
    (both ends count).
    """
    below = float(np.mean(draws < truth - 1e-9))
    at_most = float(np.mean(draws <= truth + 1e-9))
    return below + float(rng.random()) * (at_most - below)


def _true_score(truth: dict[str, float], contract: Contract) -> float:
    """The base score of the year's true KPI values."""
    return float(base_score(score_points(truth, contract)))


def backtest_to_dict(result: BacktestResult) -> dict:
    """The ``qyzj backtest --json`` object."""

    def num(x: float) -> float:
        return round(float(x), 4)

    return {
        "years": result.years,
        "draws": result.draws,
        "seed": result.seed,
        "coverage_goal": list(COVERAGE_GOAL),
        "quarters": {
            f"Q{r.quarter}": {
                "as_of": r.as_of.isoformat(),
                "coverage_p10_p90": num(r.coverage),
                "within_goal": r.within_goal,
                "coverage_randomized_pit": num(r.pit_coverage),
                "median_abs_error_p50_share_of_target": num(r.median_abs_error),
                "score_coverage_p10_p90": num(r.score_coverage),
                "score_median_abs_error_p50": num(r.score_median_abs_error),
                "kpis": {
                    k: {m: num(v) for m, v in stats.items()} for k, stats in r.per_kpi.items()
                },
            }
            for r in result.quarters
        },
    }


def format_backtest(result: BacktestResult, contract: Contract | None = None) -> str:
    """A readable Chinese table of the backtest."""
    contract = contract or load_contract()
    names = {k.id: k.name for k in contract.kpis}
    goal = f"{COVERAGE_GOAL[0] * 100:.0f}–{COVERAGE_GOAL[1] * 100:.0f}%"
    low, high = QUANTILES[0], QUANTILES[-1]
    lines = [
        f"回测：模拟 {result.years} 个完整年度（每次预测 {result.draws} 次抽样，种子 {result.seed}），"
        f"在各季度末预测年底值，检验 P10–P90 区间覆盖率（目标 {goal}）与 P50 的中位绝对误差",
        "",
        "季度  截至日      区间覆盖率  是否达标  校正覆盖率  P50误差(占目标)  得分覆盖率  得分P50误差",
    ]
    for r in result.quarters:
        lines.append(
            f"Q{r.quarter}    {r.as_of}  {r.coverage:9.1%}  {'是' if r.within_goal else '否':>6}"
            f"  {r.pit_coverage:9.1%}  {r.median_abs_error:14.1%}  {r.score_coverage:9.1%}"
            f"  {r.score_median_abs_error:9.2f}"
        )
    lines.append(
        f"（校正覆盖率：随机化 PIT 落在 [{low:g}, {high:g}] 的比例，"
        f"扣除计数型指标端点相等带来的虚高，理想值 {high - low:.0%}）"
    )
    lines += ["", "分指标覆盖率 / P50 中位绝对误差："]
    for k in result.quarters[0].per_kpi:
        cells = "  ".join(
            f"Q{r.quarter} {r.per_kpi[k]['coverage']:5.0%} / {r.per_kpi[k]['median_abs_error']:.3g}"
            for r in result.quarters
        )
        lines.append(f"  {names.get(k, k)}：{cells}")
    return "\n".join(lines)
