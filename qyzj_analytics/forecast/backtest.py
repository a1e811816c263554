"""Backtest of the year-end forecast against simulated full years from a broad family.

The simulated years come from :mod:`.backtest_years`. At the end of Q1, Q2 and Q3 the forecast
is run on the data up to that day and compared with the year's true KPI values
(``compute_actuals`` at period end), and so is an analyst's pace extrapolation (the baseline,
:func:`.backtest_score.baseline_quantiles`). Reported per quarter and per KPI: how often the truth
falls inside P10–P90, the pinball loss against the baseline's (skill), and the bands of issue 16
(:func:`.backtest_score.check_bands`).

Rosters, staff and facts are held by the forecast; they are held here too (fixed before the year).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qyzj_analytics.console import render_table
from qyzj_analytics.contract.model import Contract, load_contract
from qyzj_analytics.dates.periods import period_months, quarter_end
from qyzj_analytics.forecast.backtest_score import (
    COUNT_KPIS,
    MIN_SKILL,
    MIN_SKILL_Q3,
    QUARTER_COVERAGE_BAND,
    Band,
    baseline_quantiles,
    check_bands,
    score_rows,
    skill,
)
from qyzj_analytics.forecast.backtest_years import draw_process, simulate_tables
from qyzj_analytics.forecast.methods import LIVESTREAM_KPI, SIMULATED_KPIS
from qyzj_analytics.forecast.observe import observe
from qyzj_analytics.forecast.settings import (
    BACKTEST_DRAWS,
    BACKTEST_SEED,
    BACKTEST_YEARS,
    QUANTILES,
    quantiles,
)
from qyzj_analytics.forecast.simulate import simulate_year_end
from qyzj_analytics.ingest.facts import Facts
from qyzj_analytics.scoring.kpi import KpiContext, compute_actuals
from qyzj_analytics.scoring.score import base_score, score_points

# Backtest settings (not contract numbers): the per-quarter coverage band of the count KPIs.
COVERAGE_GOAL = QUARTER_COVERAGE_BAND
Progress = Callable[[int, int], None]  # (years done, years) after each simulated year


@dataclass(frozen=True)
class QuarterResult:
    """Forecast quality at one quarter end over all simulated years."""

    quarter: int
    as_of: dt.date
    coverage: float  # share of (year, count KPI) pairs with P10 ≤ truth ≤ P90
    skill: float  # 1 − pinball loss / the baseline's, count KPIs pooled
    score_coverage: float
    pit_coverage: float  # discreteness-corrected: randomized PIT between the outer QUANTILES
    median_abs_error: float  # pooled |P50 − truth| / target over the count KPIs
    score_median_abs_error: float  # base score points
    per_kpi: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def within_goal(self) -> bool:
        """Coverage inside ``COVERAGE_GOAL``."""
        return COVERAGE_GOAL[0] <= self.coverage <= COVERAGE_GOAL[1]


@dataclass(frozen=True)
class BacktestResult:
    """The backtest over ``years`` simulated years.

    Attributes:
        rows: one row per (year, quarter, simulated KPI): truth, the forecast's and the
            baseline's P10/P50/P90, ``hit``, ``loss`` and ``base_loss`` (pinball over target).
        per_kpi: per simulated KPI, the quarters pooled: coverage and skill.
        bands: the bands of issue 16 and where the backtest fell.
    """

    years: int
    draws: int
    seed: int
    quarters: list[QuarterResult]
    rows: pd.DataFrame
    per_kpi: dict[str, dict[str, float]]
    skill: float  # count KPIs, quarters pooled
    bands: list[Band]

    @property
    def bands_met(self) -> bool:
        """Every band met."""
        return all(b.ok for b in self.bands)


def run_backtest(
    years: int = BACKTEST_YEARS,
    draws: int = BACKTEST_DRAWS,
    seed: int = BACKTEST_SEED,
    contract: Contract | None = None,
    quarters: tuple[int, ...] = (1, 2, 3),
    progress: Progress | None = None,
) -> BacktestResult:
    """Simulate ``years`` years, forecast at each quarter end and score the forecasts.

    Args:
        years: simulated years.
        draws: Monte Carlo draws per forecast.
        seed: seed of the whole backtest (processes, years and forecasts).
        contract: the contract (the bundled one by default).
        quarters: the quarter ends to forecast at.
        progress: called with (years done, years) after each simulated year.
    """
    contract = contract or load_contract()
    ids = [k.id for k in contract.kpis if k.id in SIMULATED_KPIS]
    targets = {k.id: k.target for k in contract.kpis}
    start, end = contract.period_start, contract.period_end
    ends = {q: quarter_end(start.year, q) for q in quarters}
    months = float(len(period_months(start, end)))
    period_days = (end - start).days + 1
    records: list[tuple] = []
    scores: list[tuple[int, bool, float]] = []
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(years)):
        rng = np.random.default_rng(child)
        tables = simulate_tables(rng, draw_process(rng, contract), contract)
        truth = {
            k: v.value
            for k, v in compute_actuals(KpiContext(tables, contract, end, Facts())).items()
        }
        true_score = float(base_score(score_points(truth, contract)))
        for q in quarters:
            ctx = KpiContext(tables, contract, ends[q], Facts())
            obs = observe(ctx)
            # the forecast's draws (as ``qyzj forecast`` makes them), without paying each draw
            values = simulate_year_end(ctx, draws, int(rng.integers(2**31)), obs).values
            elapsed = (ends[q] - start).days + 1
            for k in ids:
                cap = months if k == LIVESTREAM_KPI else None
                base = baseline_quantiles(obs.actuals[k], elapsed, period_days, cap)
                pit = randomized_pit(values[k], truth[k], rng)
                records.append((i, q, k, targets[k], truth[k], *quantiles(values[k]), *base, pit))
            p10, p50, p90 = quantiles(base_score(score_points(values, contract)))
            scores.append((q, p10 - 1e-9 <= true_score <= p90 + 1e-9, abs(p50 - true_score)))
        if progress is not None:
            progress(i + 1, years)
    columns = ["year", "quarter", "kpi", "target", "truth", "p10", "p50", "p90"]
    rows = score_rows(pd.DataFrame(records, columns=[*columns, "b10", "b50", "b90", "pit"]))
    names = {k.id: k.name for k in contract.kpis}
    return summarize_backtest(
        rows,
        pd.DataFrame(scores, columns=["quarter", "hit", "error"]),
        ends,
        names,
        years,
        draws,
        seed,
    )


def summarize_backtest(
    rows: pd.DataFrame,
    scores: pd.DataFrame,
    ends: dict[int, dt.date],
    names: dict[str, str],
    years: int,
    draws: int,
    seed: int,
) -> BacktestResult:
    """Coverage, skill and errors per quarter and per KPI from the scored rows."""
    low, high = QUANTILES[0], QUANTILES[-1]
    counts = rows.loc[rows["kpi"].isin(COUNT_KPIS)]
    quarters = []
    for q, as_of in ends.items():
        part, mine = counts.loc[counts["quarter"] == q], rows.loc[rows["quarter"] == q]
        score = scores.loc[scores["quarter"] == q]
        pit = part["pit"].to_numpy(float)
        quarters.append(
            QuarterResult(
                quarter=q,
                as_of=as_of,
                coverage=float(part["hit"].mean()),
                skill=skill(part),
                score_coverage=float(score["hit"].mean()),
                pit_coverage=float(np.mean((pit >= low) & (pit <= high))),
                median_abs_error=float(
                    ((part["p50"] - part["truth"]).abs() / part["target"]).median()
                ),
                score_median_abs_error=float(score["error"].median()),
                per_kpi={
                    k: {
                        "coverage": float(g["hit"].mean()),
                        "skill": skill(g),
                        "median_abs_error": float((g["p50"] - g["truth"]).abs().median()),
                    }
                    for k, g in mine.groupby("kpi", sort=False)
                },
            )
        )
    per_kpi = {
        k: {"coverage": float(g["hit"].mean()), "skill": skill(g)}
        for k, g in rows.groupby("kpi", sort=False)
    }
    return BacktestResult(
        years, draws, seed, quarters, rows, per_kpi, skill(counts), check_bands(rows, names)
    )


def randomized_pit(draws: np.ndarray, truth: float, rng: np.random.Generator) -> float:
    """Where the truth falls in the forecast's distribution, ties spread uniformly.

    For a calibrated forecast this is uniform on [0, 1] even for counts, so the share between
    the outer ``QUANTILES`` should be their distance: P10 ≤ truth ≤ P90 on a count over-states it
    (both ends count).
    """
    below = float(np.mean(draws < truth - 1e-9))
    at_most = float(np.mean(draws <= truth + 1e-9))
    return below + float(rng.random()) * (at_most - below)


def backtest_to_dict(result: BacktestResult) -> dict:
    """The ``qyzj backtest --json`` object."""

    def num(x: float) -> float | None:
        return None if np.isnan(x) else round(float(x), 4)

    return {
        "years": result.years,
        "draws": result.draws,
        "seed": result.seed,
        "coverage_goal": list(COVERAGE_GOAL),
        "count_kpis": list(COUNT_KPIS),
        "skill_count_kpis": num(result.skill),
        "bands_met": result.bands_met,
        "bands": [
            {
                "label": b.label,
                "value": num(b.value),
                "low": b.low,
                "high": None if b.high == float("inf") else b.high,
                "ok": b.ok,
            }
            for b in result.bands
        ],
        "kpis": {k: {m: num(v) for m, v in s.items()} for k, s in result.per_kpi.items()},
        "quarters": {
            f"Q{r.quarter}": {
                "as_of": r.as_of.isoformat(),
                "coverage_p10_p90": num(r.coverage),
                "within_goal": r.within_goal,
                "skill": num(r.skill),
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


MISSED = "← 未达标"


def _pct(x: float) -> str:
    return "—" if np.isnan(x) else f"{x:.0%}"


def _missed(bands: list[Band], prefix: str) -> str:
    """``MISSED`` when a band whose label starts with ``prefix`` is missed."""
    return MISSED if any(b.label.startswith(prefix) and not b.ok for b in bands) else ""


def format_backtest(result: BacktestResult, contract: Contract | None = None) -> str:
    """A readable Chinese table of the backtest; rows outside their band are flagged."""
    contract = contract or load_contract()
    names = {k.id: k.name for k in contract.kpis}
    low, high = QUANTILES[0], QUANTILES[-1]
    counts = "、".join(names.get(k, k) for k in COUNT_KPIS)
    lines = [
        f"回测：模拟 {result.years} 个完整年度（每次预测 {result.draws} 次抽样，种子 {result.seed}），"
        "在各季度末预测年底值，与真实年底值比较",
        f"计数指标：{counts}",
        "区间覆盖率 = 真实年底值落在预测 P10–P90 之内的比例；"
        "技巧分 = 1 - 预测的分位数损失 / 按进度外推（其余部分取泊松分位数）的损失；损失按目标值折算",
        "",
    ]
    head = ["季度", "截至日", "区间覆盖率", "技巧分", "校正覆盖率", "P50误差(占目标)", "得分覆盖率"]
    rows = [
        [
            f"Q{r.quarter}",
            str(r.as_of),
            f"{r.coverage:.1%}",
            f"{r.skill:.1%}",
            f"{r.pit_coverage:.1%}",
            f"{r.median_abs_error:.1%}",
            f"{r.score_coverage:.1%}",
            _missed(result.bands, f"Q{r.quarter} "),
        ]
        for r in result.quarters
    ]
    rows.append(
        ["合计", "", "", f"{result.skill:.1%}", "", "", "", _missed(result.bands, "技巧分")]
    )
    lines += render_table([*head, ""], rows, [False, False, True, True, True, True, True, False])
    lines.append(
        f"（区间覆盖率、技巧分只含计数指标；覆盖率目标 {COVERAGE_GOAL[0]:.0%}–{COVERAGE_GOAL[1]:.0%}，"
        f"技巧分目标合计 ≥ {MIN_SKILL:.0%}、Q3 ≥ {MIN_SKILL_Q3:.0%}；校正覆盖率：随机化 PIT 落在 "
        f"[{low:g}, {high:g}] 的比例，扣除计数型指标端点相等带来的虚高，理想值 {high - low:.0%}）"
    )
    qs = [f"Q{r.quarter}" for r in result.quarters]
    head = [
        "指标",
        *(f"覆盖率{q}" for q in qs),
        "覆盖率合计",
        *(f"技巧分{q}" for q in qs),
        "技巧分合计",
    ]
    rows = []
    for k, pooled in result.per_kpi.items():
        name = names.get(k, k)
        flag = _missed(result.bands, name) or _missed(result.bands, f"Q1 {name}")
        rows.append(
            [
                name + ("" if k in COUNT_KPIS else "*"),
                *(_pct(r.per_kpi[k]["coverage"]) for r in result.quarters),
                _pct(pooled["coverage"]),
                *(_pct(r.per_kpi[k]["skill"]) for r in result.quarters),
                _pct(pooled["skill"]),
                flag,
            ]
        )
    lines += ["", "分指标（* 不计入合计）："]
    lines += render_table([*head, ""], rows, [False, *[True] * (len(head) - 1), False])
    lines += ["", "达标检查（issue 16）："]
    for b in result.bands:
        goal = f"≥ {b.low:.0%}" if b.high == float("inf") else f"{b.low:.0%}–{b.high:.0%}"
        lines.append(f"  {'达标  ' if b.ok else '未达标'}  {b.label}：{b.value:.1%}（目标 {goal}）")
    met = sum(b.ok for b in result.bands)
    lines.append(f"共 {len(result.bands)} 项，达标 {met} 项")
    return "\n".join(lines)
