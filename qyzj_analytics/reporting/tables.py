"""KPI attainment tables: the KPI table, the score summary and the burn-up data.

Aggregates only: one row per KPI, or per day and KPI for the burn-ups.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.dates.periods import elapsed_share
from qyzj_analytics.ingest.schemas import TABLES
from qyzj_analytics.scoring.assessment import RENEWAL_ZH, STATUS_ZH, Assessment, KpiResult
from qyzj_analytics.scoring.kpi import KPI_TABLES, REGISTRY, KpiContext

# KPIs drawn as a burn-up, with the column that dates each row behind them (the dating column
# of the table the KPI counts)
BURNUP_KPIS = (
    "enterprises_served",
    "offline_events",
    "alliance_events",
    "park_events",
    "xiaowei_nihao_events",
    "mingshi_courses",
    "policy_sessions",
    "institutions_active",
    "experts_recruited",
)
BURNUP_DATE_COLUMNS = {k: TABLES[KPI_TABLES[k]].dated_by for k in BURNUP_KPIS}


def kpi_table(assessment: Assessment) -> pd.DataFrame:
    """One row per KPI (index: KPI id) with Chinese columns, in contract order.

    Columns: 指标, 单位, 实际, 目标, 完成率, 应达进度, 应达完成率, 状态, 权重, 得分. ``完成率`` and
    ``应达完成率`` are shares of the annual target; ``状态`` is 正常 / 预警 / 落后, or 缺少导出
    (a KPI whose export is missing: 实际, 完成率 and 应达进度 empty, 得分 0).
    """

    def number(value: float | None) -> float:
        return np.nan if value is None else float(value)

    rows = [
        {
            "id": k.id,
            "指标": k.name,
            "单位": k.unit,
            "实际": number(k.actual),
            "目标": float(k.target),
            "完成率": number(k.attainment),
            "应达进度": number(k.expected_to_date),
            "应达完成率": expected_share(k),
            "状态": STATUS_ZH[k.status],
            "权重": float(k.weight),
            "得分": float(k.points),
        }
        for k in assessment.kpis
    ]
    return pd.DataFrame(rows).set_index("id")


def with_quarter_change(table: pd.DataFrame, changes: list[str]) -> pd.DataFrame:
    """``table`` with a ``较上季度`` column (text per KPI: the change of 实际 and 完成率 since the
    previous quarter's report, or why there is none), so the KPI table shows it."""
    return table.assign(较上季度=pd.Series(changes, index=table.index, dtype="str"))


def expected_share(k: KpiResult) -> float:
    """Where a KPI should stand today as a share of its annual target (NaN when missing)."""
    if k.expected_to_date is None:
        return np.nan
    return float(k.expected_to_date / k.target) if k.target else 1.0


def summarize_score(assessment: Assessment) -> dict[str, Any]:
    """Base score, bonus, grade and the payment if the year closed on today's score (JSON-safe)."""
    return {
        "base": float(assessment.base),
        "bonus": float(assessment.bonus),
        "grade": assessment.grade,
        "grade_name": assessment.grade_name,
        "renewal": RENEWAL_ZH[assessment.renewal],
        "advances": str(assessment.payment.advances),
        "subsidy": str(assessment.payment.subsidy),
        "total": str(assessment.payment.total),
        "subsidy_full": str(assessment.contract.subsidy_full),
        "missing_exports": [TABLES[t].name_zh for t in assessment.missing_tables],
    }


def select_burnup_kpis(contract: Contract, missing: Iterable[str] = ()) -> list[str]:
    """Count KPIs paced over the period whose rows carry a date, in contract order (KPIs in
    ``missing``, whose export is absent, are left out)."""
    skip = set(missing)
    return [
        k.id
        for k in contract.kpis
        if k.pace == "period" and k.id in BURNUP_DATE_COLUMNS and k.id not in skip
    ]


def cumulative_by_day(ctx: KpiContext, kpi_id: str) -> pd.DataFrame:
    """Daily and cumulative actual of a count KPI over the whole period, with the target pace.

    Columns: ``date`` (every day of the period), ``daily``, ``cumulative`` (missing after
    ``as_of``) and ``pace`` (target × elapsed share of the period). Rows behind the KPI that are
    undated or dated before the period (rosters) count on the first day; on ``as_of`` the
    cumulative equals the KPI's actual.
    """
    contract = ctx.contract
    start, end = contract.period_start, contract.period_end
    days = pd.date_range(start, end, freq="D")
    rows = REGISTRY[kpi_id](ctx).rows
    dates = (
        pd.Series([], dtype="datetime64[s]") if rows is None else rows[BURNUP_DATE_COLUMNS[kpi_id]]
    )
    dates = dates.fillna(pd.Timestamp(start)).clip(lower=pd.Timestamp(start))
    daily = dates.dt.normalize().value_counts().reindex(days, fill_value=0).to_numpy("int64")
    cumulative = np.cumsum(daily).astype(float)
    cumulative[days > pd.Timestamp(ctx.as_of)] = np.nan
    target = contract.kpi(kpi_id).target
    pace = [target * elapsed_share(start, end, d.date()) for d in days]
    return pd.DataFrame(
        {
            "date": days.astype("datetime64[ms]"),
            "daily": daily,
            "cumulative": cumulative,
            "pace": pace,
        }
    )


def build_burnups(ctx: KpiContext) -> pd.DataFrame:
    """:func:`cumulative_by_day` of every burn-up KPI in one long frame (``kpi_id`` column).

    KPIs whose export is missing have no burn-up (the frame may be empty).
    """
    columns = ["kpi_id", "date", "daily", "cumulative", "pace"]
    parts = [
        cumulative_by_day(ctx, kpi_id).assign(kpi_id=kpi_id)
        for kpi_id in select_burnup_kpis(ctx.contract, ctx.missing_kpis())
    ]
    if not parts:
        return pd.DataFrame(
            {
                "kpi_id": pd.Series([], dtype="str"),
                "date": pd.Series([], dtype="datetime64[ms]"),
                "daily": pd.Series([], dtype="int64"),
                "cumulative": pd.Series([], dtype=float),
                "pace": pd.Series([], dtype=float),
            }
        )
    return pd.concat(parts, ignore_index=True)[columns]
