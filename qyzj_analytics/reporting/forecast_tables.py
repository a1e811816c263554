"""The year-end forecast as frames: KPI quantiles, payment, burn-up bands and the action plan."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from qyzj_analytics.dates.workdays import workday_calendar
from qyzj_analytics.reporting.tables import select_burnup_kpis
from qyzj_analytics.scoring.assessment import STATUS_ZH, Assessment
from qyzj_analytics.scoring.kpi import KpiContext

if TYPE_CHECKING:
    from qyzj_analytics.forecast.plan import Plan
    from qyzj_analytics.forecast.result import Forecast


@dataclass(frozen=True)
class ForecastMetrics:
    """The forecast's results as plain frames (see :func:`forecast_frames`)."""

    kpis: pd.DataFrame  # :func:`forecast_kpi_table`
    scores: pd.DataFrame  # one row per draw: 基础分
    grades: pd.DataFrame  # per grade, highest first: id, 档次, 最低分, 概率
    payment: pd.DataFrame  # :func:`forecast_payment_table`
    plan: pd.DataFrame  # :func:`plan_table`
    bands: pd.DataFrame  # :func:`forecast_bands`
    info: dict[str, Any] = field(default_factory=dict)  # draws, seed, score, plan, notes


METHOD_ZH = {
    "rate_per_workday": "按工作日速率模拟",
    "monthly_threshold": "逐月模拟是否达到每月最低场次",
    "appeal_closure": "按已有办结时长模拟未办结诉求",
    "weekly_coverage": "逐周模拟是否有发布",
    "held": "保持当前值（不模拟）",
    "missing": STATUS_ZH["missing"] + "（不模拟，记 0 分）",
}


def forecast_kpi_table(forecast: Forecast) -> pd.DataFrame:
    """Per KPI (index: id): 指标, 单位, 当前, 目标, P10, P50, P90, 达标概率, 每周还需, 还需单位,
    预测方法. ``每周还需`` is missing when the target can no longer be reached."""
    rows = [
        {
            "id": k.id,
            "指标": k.name,
            "单位": k.unit,
            "当前": float(k.actual),
            "目标": float(k.target),
            "P10": float(k.p10),
            "P50": float(k.p50),
            "P90": float(k.p90),
            "达标概率": float(k.p_target),
            "每周还需": np.nan if k.required_per_week is None else float(k.required_per_week),
            "还需单位": k.required_unit,
            "预测方法": METHOD_ZH.get(k.method, k.method),
        }
        for k in forecast.kpis
    ]
    return pd.DataFrame(rows).set_index("id")


def forecast_payment_table(forecast: Forecast, ctx: KpiContext) -> pd.DataFrame:
    """Expected, P10, P50 and P90 of the year's total payment and of the subsidy (index 项目:
    全年合计, 运维补助), all from the forecast itself."""
    contract = ctx.contract
    advances = float(sum(a.amount for a in contract.advances))
    total = {
        "期望": float(forecast.payment_expected),
        "P10": float(forecast.payment_p10),
        "P50": float(forecast.payment_p50),
        "P90": float(forecast.payment_p90),
    }
    subsidy = {k: round(v - advances, 2) for k, v in total.items()}
    return pd.DataFrame([total, subsidy], index=pd.Index(["全年合计", "运维补助"], name="项目"))


def _empty_bands(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series([], dtype="str" if c == "kpi_id" else float) for c in columns}
    )


def forecast_bands(
    forecast: Forecast, ctx: KpiContext, kpi_ids: Iterable[str] | None = None
) -> pd.DataFrame:
    """Forecast fans for the burn-ups: from today's actual to the year-end P10/P50/P90.

    Between ``as_of`` and period end each quantile moves in proportion to the working days
    elapsed (the forecast's rates are per working day); only the year-end values are simulated.
    Columns: kpi_id, date, p10, p50, p90 (empty when the period is over).
    """
    contract = ctx.contract
    start, end = contract.period_start, contract.period_end
    columns = ["kpi_id", "date", "p10", "p50", "p90"]
    first = max(ctx.as_of, start - dt.timedelta(days=1))
    if first >= end:
        return _empty_bands(columns)
    calendar = workday_calendar(start, end)
    days = pd.date_range(first, end, freq="D")
    ahead = [d.date() for d in days]
    total = calendar.count(ahead[1], end) if len(ahead) > 1 else 0
    share = np.array(
        [0.0] + [calendar.count(ahead[1], d) / total if total else 1.0 for d in ahead[1:]]
    )
    by_id = {k.id: k for k in forecast.kpis}
    ids = (
        list(kpi_ids)
        if kpi_ids is not None
        else select_burnup_kpis(contract, [k.id for k in forecast.kpis if k.missing])
    )
    parts = []
    for kpi_id in ids:
        k = by_id[kpi_id]
        parts.append(
            pd.DataFrame(
                {
                    "kpi_id": kpi_id,
                    "date": days.astype("datetime64[ms]"),
                    **{
                        q: k.actual + (getattr(k, q) - k.actual) * share
                        for q in ("p10", "p50", "p90")
                    },
                }
            )
        )
    if not parts:
        return _empty_bands(columns)
    return pd.concat(parts, ignore_index=True).astype({"kpi_id": "str"})


def plan_table(plan: Plan | None, remaining_months: int) -> pd.DataFrame:
    """The action plan's extra units per lever: 措施, 增加, 单位 (only levers with units)."""
    rows = []
    if plan is not None:
        for lever in plan.levers:
            units = int(plan.extra.get(lever.id, 0))
            if not units:
                continue
            if lever.per_month:
                rows.append(
                    {
                        "措施": f"{lever.name}（剩余 {remaining_months} 个月）",
                        "增加": units * remaining_months,
                        "单位": f"场（每月 {units} 场）",
                    }
                )
            else:
                rows.append({"措施": lever.name, "增加": units, "单位": lever.unit})
    frame = pd.DataFrame(rows, columns=["措施", "增加", "单位"])
    return frame.astype({"措施": "str", "增加": "int64", "单位": "str"})


def forecast_frames(
    forecast: Forecast, plan: Plan | None, ctx: KpiContext, assessment: Assessment
) -> ForecastMetrics:
    """The forecast and its action plan as :class:`ForecastMetrics` (frames plus JSON-safe
    ``info``); ``plan`` None when no plan was made."""
    contract = ctx.contract
    grades = pd.DataFrame(
        {
            "id": [g.id for g in contract.grades],
            "档次": [g.name for g in contract.grades],
            "最低分": [float(g.min_score) for g in contract.grades],
            "概率": [float(forecast.grade_probability.get(g.id, 0.0)) for g in contract.grades],
        }
    ).astype({"id": "str", "档次": "str"})
    info: dict[str, Any] = {
        "draws": int(forecast.draws),
        "seed": int(forecast.seed),
        "calendar_source": forecast.calendar_source,
        "notes": list(forecast.notes),
        "score": {k: float(v) for k, v in forecast.score.items()},
        "bonus_mean": float(forecast.bonus_mean),
        "current_base": float(assessment.base),
        "remaining_months": int(forecast.remaining_months),
        "plan": None,
    }
    if plan is not None:
        info["plan"] = {
            "statement": plan.statement,
            "target_grade_name": plan.target_grade_name,
            "target_probability": float(plan.target_probability),
            "probability_now": float(plan.probability_now),
            "probability_with_plan": float(plan.probability_with_plan),
            "reachable": bool(plan.reachable),
            "best_grade_name": plan.best_grade_name,
            "limiting": list(plan.limiting),
            "missing": list(plan.missing),
            "steps": [step.text for step in plan.steps],  # operator terms, in the plan's order
            "step_adds": [float(step.adds) for step in plan.steps],
            "higher_grade_name": plan.higher_grade_name,
            "higher_probability_max": (
                None if plan.higher_probability_max is None else float(plan.higher_probability_max)
            ),
            "higher_reason": plan.higher_reason,
        }
    return ForecastMetrics(
        kpis=forecast_kpi_table(forecast),
        scores=pd.DataFrame({"基础分": np.asarray(forecast.base, float)}),
        grades=grades,
        payment=forecast_payment_table(forecast, ctx),
        plan=plan_table(plan, forecast.remaining_months),
        bands=forecast_bands(forecast, ctx),
        info=info,
    )
