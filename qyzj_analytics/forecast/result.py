"""The year-end forecast of ``qyzj forecast``: per-KPI distributions, score, grade, payment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.forecast.horizon import Horizon, build_horizon
from qyzj_analytics.forecast.methods import method_of
from qyzj_analytics.forecast.observe import Observed
from qyzj_analytics.forecast.outcomes import (
    pay_draws,
    reached,
    required_pace,
    score_draws,
    share_of,
)
from qyzj_analytics.forecast.rates import PRIOR_LOG_SD
from qyzj_analytics.forecast.settings import DEFAULT_DRAWS, DEFAULT_SEED, quantiles
from qyzj_analytics.forecast.simulate import YearEndDraws, observe_and_simulate
from qyzj_analytics.ingest.schemas import TABLES, name_tables
from qyzj_analytics.scoring.kpi import KpiContext


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
    missing: bool = False  # its export is missing: no values, 0 points in every draw


@dataclass(frozen=True)
class Forecast:
    """The year-end forecast: what ``qyzj forecast`` reports besides the action plan."""

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
    values: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    base: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    online_months: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    livestream_done: float = 0.0
    as_of_requested: dt.date | None = None  # the date asked for, when ``as_of`` was clamped

    @property
    def remaining_months(self) -> int:
        """Months still (partly) ahead."""
        return int(self.online_months.shape[1])


def run_forecast(ctx: KpiContext, draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED) -> Forecast:
    """The year-end forecast at ``ctx.as_of`` (the action plan is :mod:`.outlook`'s job).

    Args:
        ctx: the KPI context at the forecast date (``KpiContext.of``).
        draws: number of simulated years.
        seed: random seed; the same seed gives the same forecast.
    """
    horizon = build_horizon(ctx.contract, ctx.as_of)
    obs, sim = observe_and_simulate(ctx, draws, seed, horizon=horizon)
    return summarize_draws(ctx, sim, obs, horizon, seed)


def missing_forecast(kpi_id: str, contract: Contract) -> KpiForecast:
    """The forecast row of a KPI whose export is missing: no values, method ``missing``."""
    spec = contract.kpi(kpi_id)
    nan = float("nan")
    return KpiForecast(
        id=spec.id,
        name=spec.name,
        unit=spec.unit,
        actual=nan,
        target=spec.target,
        p10=nan,
        p50=nan,
        p90=nan,
        mean=nan,
        p_target=nan,
        required_per_week=None,
        required_unit=spec.unit,
        method="missing",
        missing=True,
    )


def summarize_draws(
    ctx: KpiContext,
    sim: YearEndDraws,
    obs: Observed,
    horizon: Horizon,
    seed: int,
    points: Mapping[str, np.ndarray] | None = None,
) -> Forecast:
    """Score and pay the simulated years and summarise them per KPI.

    Args:
        ctx: the KPI context at the forecast date.
        sim: the simulated year-end values (``simulate_year_end``).
        obs: the year so far the draws started from.
        horizon: the forecast's calendar.
        seed: the seed the draws were made with (reported only).
        points: ``score_points`` of the draws when already at hand.
    """
    contract = ctx.contract
    draws = sim.draws
    actual = obs.actuals
    base, bonus, grade = score_draws(sim.values, ctx, points, codes=True)
    expected, p10_pay, p50_pay, p90_pay = pay_draws(base, bonus, grade, contract)

    rows = []
    for spec in contract.kpis:
        if spec.id in sim.missing:
            rows.append(missing_forecast(spec.id, contract))
            continue
        v = sim.values[spec.id]
        p10, p50, p90 = quantiles(v)
        need, unit = required_pace(obs, contract, spec.id, horizon)
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
                method=method_of(spec.id),
            )
        )
    s10, s50, s90 = quantiles(base)
    per_grade = np.bincount(grade, minlength=len(contract.grades))  # grade: positions
    counts = {g.id: int(n) for g, n in zip(contract.grades, per_grade, strict=True)}
    notes = list(sim.notes)
    if horizon.calendar.note():
        notes.insert(0, horizon.calendar.note())
    if horizon.elapsed_workdays == 0 and horizon.remaining_days:
        notes.append(
            f"截至日之前合同期内尚无工作日：各项速率使用弱先验（按合同目标进度，上下约 {PRIOR_LOG_SD:.0%}；"
            "无目标的诉求按不新增预测）"
        )
    if sim.missing:
        names = "、".join(contract.kpi(k).name for k in sim.missing)
        notes.insert(
            0,
            f"缺少导出：{name_tables([t for t in TABLES if t in ctx.missing])}；{names}"
            "在每次模拟中都按缺失记 0 分（不模拟），年终得分、档次概率与付款只是下限",
        )
    if ctx.as_of_note:  # first: every other figure is at this date
        notes.insert(0, ctx.as_of_note)
    if not ctx.facts_found:
        from qyzj_analytics.scoring.assessment import NO_FACTS_NOTE  # rare: not on every run

        notes.append(NO_FACTS_NOTE)
    held = [s.name for s in contract.kpis if method_of(s.id) == "held" and s.id not in sim.missing]
    if held and horizon.remaining_days:
        notes.append(f"以下指标按当前值保持到年底（名录、人员不模拟）：{'、'.join(held)}")
    return Forecast(
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
        as_of_requested=ctx.requested_as_of,
    )
