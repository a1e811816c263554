"""The numbers the notebooks show, as small tested functions (notebooks only call these and plot).

Everything here is aggregate: counts per file, table, reason, month, category or place. Rejected
cell values are shown only for date and count columns (other cells may hold personal data), and no
name, phone number, ID number or appeal text ever leaves this module.

:func:`build_metrics` computes everything once (clean → assess → optionally forecast);
:func:`save_metrics` / :func:`load_metrics` cache it in a folder (parquet + one JSON file) so each
notebook of a report loads it in a fraction of a second instead of recomputing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from qyzj_analytics.contract.model import Contract, load_contract
from qyzj_analytics.dates.periods import elapsed_months, elapsed_share, parse_quarter, quarter_end
from qyzj_analytics.errors import UsageError
from qyzj_analytics.forecast.settings import DEFAULT_DRAWS, DEFAULT_SEED
from qyzj_analytics.formats import format_quantity, format_share
from qyzj_analytics.ingest.discover import is_sample_folder
from qyzj_analytics.ingest.parse import normalize_text, parse_distinct
from qyzj_analytics.ingest.schemas import TABLES
from qyzj_analytics.scoring.assessment import RENEWAL_ZH, STATUS_ZH, Assessment, assess
from qyzj_analytics.scoring.kpi import REGISTRY, KpiContext, activities_to_date, online_per_month

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

    from qyzj_analytics.forecast.plan import Plan
    from qyzj_analytics.forecast.simulate import Forecast
    from qyzj_analytics.ingest.pipeline import Prepared

STATUS_COLORS = {"on_track": "#2e7d32", "at_risk": "#f2a900", "behind": "#c62828"}
STATUS_BY_ZH = {zh: status for status, zh in STATUS_ZH.items()}

# KPIs drawn as a burn-up, with the date column that dates each row behind them
BURNUP_DATE_COLUMNS = {
    "enterprises_served": "date",
    "offline_events": "date",
    "alliance_events": "date",
    "park_events": "date",
    "xiaowei_nihao_events": "date",
    "mingshi_courses": "accepted",
    "policy_sessions": "date",
    "institutions_active": "joined",
    "experts_recruited": "appointed",
}
# Event mix: each activity falls in the first of these categories whose tag it carries.
CATEGORIES = (
    ("xiaowei_nihao", "小微你好"),
    ("park", "小微园"),
    ("alliance", "联盟"),
    ("policy", "政策"),
)
OTHER_CATEGORY = "其他"
FORMAT_ZH = {"offline": "线下", "hybrid": "线上+线下", "online": "线上", "unknown": "形式不明"}
# The three sets of the overlap chart, in matplotlib_venn's order (A, B, C)
VENN_SETS = (("park", "小微园"), ("xiaowei_nihao", "小微你好"), ("alliance", "联盟"))
VENN_REGIONS = ("100", "010", "110", "001", "101", "011", "111")
NO_LOCATION = "（未填写地点）"
LIVESTREAM_STATES = ("达标", "未达标", "进行中")

# Dated tables for data freshness: table → the column that dates a row
FRESHNESS_COLUMNS = {name: spec.dated_by for name, spec in TABLES.items() if spec.dated_by}
FILE_STATUS_ZH = {"read": "已读取", "ignored": "已忽略", "facts": "手工事实", "error": "无法读取"}
MAX_EXAMPLES = 5


# ----------------------------------------------------------------------------------------------
# KPI attainment


def kpi_table(assessment: Assessment) -> pd.DataFrame:
    """One row per KPI (index: KPI id) with Chinese columns, in contract order.

    Columns: 指标, 单位, 实际, 目标, 完成率, 应达进度, 应达完成率, 状态, 权重, 得分. ``完成率`` and
    ``应达完成率`` are shares of the annual target; ``状态`` is 正常 / 预警 / 落后.
    """
    rows = [
        {
            "id": k.id,
            "指标": k.name,
            "单位": k.unit,
            "实际": float(k.actual),
            "目标": float(k.target),
            "完成率": float(k.attainment),
            "应达进度": float(k.expected_to_date),
            "应达完成率": float(k.expected_to_date / k.target) if k.target else 1.0,
            "状态": STATUS_ZH[k.status],
            "权重": float(k.weight),
            "得分": float(k.points),
        }
        for k in assessment.kpis
    ]
    return pd.DataFrame(rows).set_index("id")


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
    }


def select_burnup_kpis(contract: Contract) -> list[str]:
    """Count KPIs paced over the period whose rows carry a date, in contract order."""
    return [k.id for k in contract.kpis if k.pace == "period" and k.id in BURNUP_DATE_COLUMNS]


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
    """:func:`cumulative_by_day` of every burn-up KPI in one long frame (``kpi_id`` column)."""
    parts = [
        cumulative_by_day(ctx, kpi_id).assign(kpi_id=kpi_id)
        for kpi_id in select_burnup_kpis(ctx.contract)
    ]
    return pd.concat(parts, ignore_index=True)[["kpi_id", "date", "daily", "cumulative", "pace"]]


# ----------------------------------------------------------------------------------------------
# Event mix


def _months_to_date(ctx: KpiContext) -> list[str]:
    """``YYYY-MM`` of each period month from the start up to as_of's month (partial included)."""
    start, end = ctx.contract.period_start, ctx.contract.period_end
    last = min(ctx.as_of, end)
    if last < start:
        return []
    months = pd.period_range(start, last, freq="M")
    return [str(m) for m in months]


def _month_of(frame: pd.DataFrame) -> pd.Series:
    return frame["date"].dt.strftime("%Y-%m")


def categorize_activities(activities: pd.DataFrame) -> pd.Series:
    """Each classified activity's one category: the first of :data:`CATEGORIES` it is tagged with.

    Tags cross-count in the KPIs; this exclusive category only serves stacked bars, where an
    activity must be counted once.
    """
    category = pd.Series(OTHER_CATEGORY, index=activities.index, dtype="str")
    for tag, label in reversed(CATEGORIES):
        category = category.mask(activities[f"tag_{tag}"].astype(bool), label)
    return category


def activities_by_month_and_category(ctx: KpiContext) -> pd.DataFrame:
    """Activities (any format) per month by category; index ``月份`` (YYYY-MM), one column each.

    Columns in order 小微你好, 小微园, 联盟, 政策, 其他; each activity is counted once (see
    :func:`categorize_activities`).
    """
    acts = activities_to_date(ctx)
    labels = [label for _, label in CATEGORIES] + [OTHER_CATEGORY]
    counts = pd.crosstab(_month_of(acts), categorize_activities(acts))
    return _month_frame(counts, _months_to_date(ctx), labels)


def _month_frame(counts: pd.DataFrame, months: list[str], columns: list[str]) -> pd.DataFrame:
    frame = counts.reindex(index=months, columns=columns, fill_value=0).fillna(0).astype("int64")
    frame.index = pd.Index(months, dtype="str", name="月份")
    frame.columns = pd.Index(columns, dtype="str")
    return frame


def online_offline_by_month(ctx: KpiContext) -> pd.DataFrame:
    """Activities per month by format: 线下, 线上+线下, 线上, 形式不明 (each counted once)."""
    acts = activities_to_date(ctx)
    kinds = acts["format_kind"].map(FORMAT_ZH)
    counts = pd.crosstab(_month_of(acts), kinds)
    return _month_frame(counts, _months_to_date(ctx), list(FORMAT_ZH.values()))


def _offline_activities(ctx: KpiContext) -> pd.DataFrame:
    acts = activities_to_date(ctx)
    return acts.loc[acts["format_kind"].isin(["offline", "hybrid"])]


def tag_overlap_counts(ctx: KpiContext) -> dict[str, int]:
    """Offline (incl. hybrid) activities in each of the 7 regions of 小微园 / 小微你好 / 联盟.

    Keys are matplotlib_venn's region codes (``"100"`` = 小微园 only, ``"110"`` = 小微园 and 小微你好
    but not 联盟, …); each set's total equals its KPI (park / xiaowei_nihao / alliance events).
    """
    acts = _offline_activities(ctx)
    flags = [acts[f"tag_{tag}"].astype(bool).to_numpy() for tag, _ in VENN_SETS]
    codes = np.char.add(
        np.char.add(flags[0].astype(int).astype(str), flags[1].astype(int).astype(str)),
        flags[2].astype(int).astype(str),
    )
    return {region: int((codes == region).sum()) for region in VENN_REGIONS}


def parks_covered(ctx: KpiContext) -> pd.DataFrame:
    """Offline park events per location: columns 地点, 场次, 最近一次 (YYYY-MM-DD), most first."""
    acts = _offline_activities(ctx)
    acts = acts.loc[acts["tag_park"].astype(bool)]
    place = pd.Series(
        parse_distinct(acts["location"], normalize_text).values(), index=acts.index, dtype="str"
    ).fillna(NO_LOCATION)
    grouped = acts.assign(地点=place.astype("str")).groupby("地点", sort=False)["date"]
    frame = pd.DataFrame({"场次": grouped.size(), "最近一次": grouped.max()}).reset_index()
    frame = frame.sort_values(["场次", "最近一次", "地点"], ascending=[False, False, True])
    frame["最近一次"] = frame["最近一次"].dt.strftime("%Y-%m-%d")
    return frame.astype({"地点": "str", "场次": "int64", "最近一次": "str"}).reset_index(drop=True)


def livestreams_by_month(ctx: KpiContext) -> pd.DataFrame:
    """Online (incl. hybrid) activities per month up to as_of's month, against the monthly minimum.

    Index ``月份``; columns 线上场次, 最低要求, 状态 (达标 / 未达标 for months fully elapsed,
    进行中 for the month as_of falls in).
    """
    contract = ctx.contract
    months = _months_to_date(ctx)
    per_month = online_per_month(ctx)
    counts = [int(per_month.get(pd.Period(m, "M"), 0)) for m in months]
    done = {
        f"{y}-{m:02d}"
        for y, m in elapsed_months(contract.period_start, contract.period_end, ctx.as_of)
    }
    minimum = contract.livestream_min_per_month
    state = [
        ("达标" if n >= minimum else "未达标") if m in done else "进行中"
        for m, n in zip(months, counts, strict=True)
    ]
    return pd.DataFrame(
        {"线上场次": counts, "最低要求": minimum, "状态": state},
        index=pd.Index(months, dtype="str", name="月份"),
    ).astype({"线上场次": "int64", "最低要求": "int64", "状态": "str"})


# ----------------------------------------------------------------------------------------------
# Data quality


def _table_zh(table: str) -> str:
    spec = TABLES.get(table)
    return f"{spec.name_zh}" if spec else table


def quality_summary(prepared: Prepared) -> pd.DataFrame:
    """Per file and table: rows read, kept, rejected, duplicates, summary rows, plus a total row.

    ``读取 = 保留 + 拒绝 + 重复 + 合计行`` on every row (blank rows are not rows).
    """
    files = prepared.clean.files
    frame = pd.DataFrame(
        {
            "文件": files["file"].astype("str"),
            "表": files["table"].map(_table_zh).astype("str"),
            "读取": files["rows_read"],
            "保留": files["rows_kept"],
            "拒绝": files["rows_rejected"],
            "重复": files["duplicates"],
            "合计行": files["summary_rows"],
            "空行": files["blank_rows"],
        }
    )
    numbers = ["读取", "保留", "拒绝", "重复", "合计行", "空行"]
    total = {"文件": "合计（全部文件）", "表": "", **{c: int(frame[c].sum()) for c in numbers}}
    frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    return frame.astype(dict.fromkeys(numbers, "int64") | {"文件": "str", "表": "str"})


def files_overview(prepared: Prepared) -> pd.DataFrame:
    """Every file found in the raw folder: 文件, 状态 (已读取/已忽略/手工事实/无法读取), 识别为, 说明."""
    rows = [
        {
            "文件": f.path,
            "状态": FILE_STATUS_ZH.get(f.status, f.status),
            "识别为": "、".join(_table_zh(t) for t in f.tables),
            "工作表": len(f.sheets),
            "说明": f.note,
        }
        for f in prepared.clean.raw_files
    ]
    columns = ["文件", "状态", "识别为", "工作表", "说明"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({c: "str" for c in columns if c != "工作表"} | {"工作表": "int64"})


def describe_reason(reason: str) -> str:
    """A reason without the cell value it quotes, so equal reasons group together.

    >>> describe_reason("无法识别的日期: '待定'"), describe_reason("必填列为空")
    ('无法识别的日期', '必填列为空')
    """
    head = re.split(r"\s*[:：]\s*", str(reason), maxsplit=1)[0]
    return re.sub(r"^(无法识别的[^\s:：']+)\s.*$", r"\1", head)


def _value_columns(table: str) -> set[str]:
    """Header names (as issues report them) of the table's date and count columns."""
    spec = TABLES.get(table)
    if spec is None:
        return set()
    return {c.headers[0] for c in spec.columns if c.kind in ("date", "count")}


def _row_ref(sheet: Any, row: Any) -> str:
    return f"{sheet}!{row}" if isinstance(sheet, str) and sheet else f"{row}"


def summarize_issues(issues: pd.DataFrame) -> pd.DataFrame:
    """Issues (rejected rows or warnings) grouped by table, file, column and reason.

    Columns: 表, 文件, 列, 原因, 行数, 示例行号 (``sheet!row``, first five), 示例值 (only for date
    and count columns; other cells may be personal data).
    """
    columns = ["表", "文件", "列", "原因", "行数", "示例行号", "示例值"]
    if issues.empty:
        return pd.DataFrame(
            {c: pd.Series([], dtype="int64" if c == "行数" else "str") for c in columns}
        )
    frame = issues.assign(reason_kind=issues["reason"].map(describe_reason))
    rows = []
    keys = ["table", "source_file", "column", "reason_kind"]
    for (table, file, column, reason), group in frame.groupby(keys, sort=False, dropna=False):
        group = group.sort_values("source_row")
        refs = [
            _row_ref(s, r) for s, r in zip(group["source_sheet"], group["source_row"], strict=True)
        ]
        examples = ""
        if column in _value_columns(str(table)):
            values = pd.unique(group["value"].astype("str"))[:3]
            examples = "、".join(values)
        rows.append(
            {
                "表": _table_zh(str(table)),
                "文件": str(file),
                "列": str(column),
                "原因": str(reason),
                "行数": len(group),
                "示例行号": "、".join(refs[:MAX_EXAMPLES])
                + ("…" if len(refs) > MAX_EXAMPLES else ""),
                "示例值": examples,
            }
        )
    out = pd.DataFrame(rows, columns=columns).sort_values(
        ["表", "文件", "行数"], ascending=[True, True, False]
    )
    return out.astype({c: "str" for c in columns if c != "行数"} | {"行数": "int64"}).reset_index(
        drop=True
    )


def rejections_by_reason(prepared: Prepared) -> pd.DataFrame:
    """Rejected rows grouped by table, file, column and reason (see :func:`summarize_issues`)."""
    return summarize_issues(prepared.clean.rejected)


def warnings_by_reason(prepared: Prepared) -> pd.DataFrame:
    """Kept-but-flagged rows (unreadable counts, bad credit-code check digits), grouped likewise."""
    return summarize_issues(prepared.clean.warnings)


def duplicates_summary(prepared: Prepared) -> pd.DataFrame:
    """Duplicate rows per table, file and the file holding the row kept instead: 表, 重复所在文件,
    保留所在文件, 行数, 示例行号."""
    dups = prepared.clean.duplicates
    columns = ["表", "重复所在文件", "保留所在文件", "行数", "示例行号"]
    if dups.empty:
        return pd.DataFrame(
            {c: pd.Series([], dtype="int64" if c == "行数" else "str") for c in columns}
        )
    rows = []
    for (table, file, kept), group in dups.groupby(
        ["table", "source_file", "kept_file"], sort=False
    ):
        refs = [
            _row_ref(s, r) for s, r in zip(group["source_sheet"], group["source_row"], strict=True)
        ]
        rows.append(
            {
                "表": _table_zh(str(table)),
                "重复所在文件": str(file),
                "保留所在文件": str(kept),
                "行数": len(group),
                "示例行号": "、".join(refs[:MAX_EXAMPLES])
                + ("…" if len(refs) > MAX_EXAMPLES else ""),
            }
        )
    out = pd.DataFrame(rows, columns=columns).sort_values("行数", ascending=False)
    return out.astype({c: "str" for c in columns if c != "行数"} | {"行数": "int64"}).reset_index(
        drop=True
    )


def unknown_formats(ctx: KpiContext) -> pd.DataFrame:
    """Activities whose format could not be told (counted in no KPI): 文件, 行号, 日期, 活动名称.

    The activity title is shown (it names an event, not a person); display it escaped.
    """
    acts = activities_to_date(ctx)
    acts = acts.loc[acts["format_kind"] == "unknown"].sort_values("date")
    return (
        pd.DataFrame(
            {
                "文件": acts["source_file"].astype("str"),
                "行号": [
                    _row_ref(s, r)
                    for s, r in zip(acts["source_sheet"], acts["source_row"], strict=True)
                ],
                "日期": acts["date"].dt.strftime("%Y-%m-%d"),
                "活动名称": acts["title"].astype("str"),
            }
        )
        .astype("str")
        .reset_index(drop=True)
    )


def data_freshness(prepared: Prepared, as_of: dt.date) -> pd.DataFrame:
    """Per dated table: rows, the latest date on or before ``as_of``, how many days before
    ``as_of`` that is, and rows dated after ``as_of`` (not counted yet).

    Columns: 表, 行数, 最新日期 (YYYY-MM-DD or empty), 距截至日天数 (missing without rows),
    晚于截至日.
    """
    rows = []
    cutoff = pd.Timestamp(as_of)
    for table, column in FRESHNESS_COLUMNS.items():
        dates = prepared.clean.tables[table][column]
        known = dates.loc[dates.notna() & (dates <= cutoff)]
        latest = known.max() if len(known) else None
        rows.append(
            {
                "表": _table_zh(table),
                "行数": len(dates),
                "最新日期": latest.strftime("%Y-%m-%d") if latest is not None else "",
                "距截至日天数": (cutoff - latest).days if latest is not None else None,
                "晚于截至日": int((dates > cutoff).sum()),
            }
        )
    return pd.DataFrame(rows).astype(
        {
            "表": "str",
            "行数": "int64",
            "最新日期": "str",
            "距截至日天数": "Int64",
            "晚于截至日": "int64",
        }
    )


# ----------------------------------------------------------------------------------------------
# Payment


def payment_schedule(
    contract: Contract,
    as_of: dt.date,
    subsidy: tuple[float, float, float],
    basis: str = "按当前得分",
) -> pd.DataFrame:
    """The year's payments: the quarterly advances, then the subsidy (low / middle / high).

    Args:
        contract: the contract (advances and their due dates).
        as_of: the assessment date (advances due by then are marked 已到期).
        subsidy: the subsidy's P10, P50 and P90 (CNY); equal values for a single estimate.
        basis: what the subsidy estimate rests on, shown in 说明.

    Returns:
        Columns 款项, 应付日期 (YYYY-MM-DD), 金额 (the P50 for the subsidy), 低值, 高值, 说明.
    """
    rows = [
        {
            "款项": f"{a.quarter} 预付款",
            "应付日期": a.due.isoformat(),
            "金额": float(a.amount),
            "低值": float(a.amount),
            "高值": float(a.amount),
            "说明": "已到期" if a.due <= as_of else "未到期",
        }
        for a in contract.advances
    ]
    low, mid, high = (float(v) for v in subsidy)
    rows.append(
        {
            "款项": "运维补助",
            "应付日期": contract.period_end.isoformat(),
            "金额": mid,
            "低值": low,
            "高值": high,
            "说明": f"年终考核后支付（{basis}；全额 {float(contract.subsidy_full):,.2f} 元）",
        }
    )
    return pd.DataFrame(rows).astype({"款项": "str", "应付日期": "str", "说明": "str"})


# ----------------------------------------------------------------------------------------------
# Display helpers (tables are shown via pandas Styler, always HTML-escaped)


def style_table(frame: pd.DataFrame, formats: dict[str, str] | None = None) -> Styler:
    """A Styler that escapes every text cell and header, hides the index and formats columns.

    Args:
        frame: the table (not modified).
        formats: column → format string (e.g. ``"{:,.0f}"``); missing values show as empty.
    """
    styler = frame.style.format(escape="html", na_rep="")
    styler = styler.format_index(escape="html", axis=1)
    for column, fmt in (formats or {}).items():
        if column in frame.columns:
            styler = styler.format(fmt, subset=[column], na_rep="")
    return styler.hide(axis="index")


def style_kpi_table(table: pd.DataFrame) -> Styler:
    """The KPI table as a traffic light: 状态 cells coloured, values formatted by unit."""
    shown = table.drop(columns=["应达完成率"], errors="ignore").copy()
    for column in ("实际", "目标", "应达进度"):
        shown[column] = [
            format_quantity(v, u) for v, u in zip(shown[column], shown["单位"], strict=True)
        ]
    shown = shown.astype({c: "str" for c in ("实际", "目标", "应达进度")})
    shown["权重"] = [f"{w:.2f}".rstrip("0").rstrip(".") for w in shown["权重"]]
    styler = style_table(shown.astype({"权重": "str"}), {"完成率": "{:.0%}", "得分": "{:.2f}"})

    def colour(status: str) -> str:
        color = STATUS_COLORS.get(STATUS_BY_ZH.get(status, ""), "")
        return f"background-color: {color}; color: white; font-weight: bold" if color else ""

    return styler.map(colour, subset=["状态"])


def style_forecast_table(table: pd.DataFrame) -> Styler:
    """The forecast KPI table: values by unit, 达标概率 as a share, 每周还需 with its unit."""
    shown = table.copy()
    for column in ("当前", "目标", "P10", "P50", "P90"):
        shown[column] = [
            format_quantity(v, u) for v, u in zip(shown[column], shown["单位"], strict=True)
        ]
    shown["达标概率"] = [format_share(p) for p in shown["达标概率"]]
    shown["每周还需"] = [
        "已达标"
        if n == 0
        else ("无法达标" if pd.isna(n) else f"{n:,.2f} {unit}".replace(".00 ", " "))
        for n, unit in zip(shown["每周还需"], shown["还需单位"], strict=True)
    ]
    shown = shown.drop(columns=["还需单位"]).astype("str")
    return style_table(shown)


def style_money_table(frame: pd.DataFrame) -> Styler:
    """A table of amounts in CNY (every numeric column as ``1,234.56``), index kept as a column."""
    shown = frame.reset_index() if frame.index.name else frame
    numeric = [c for c in shown.columns if pd.api.types.is_numeric_dtype(shown[c])]
    return style_table(shown, dict.fromkeys(numeric, "{:,.2f}"))


# ----------------------------------------------------------------------------------------------
# Build once, cache, load


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


@dataclass(frozen=True)
class Metrics:
    """Everything the notebooks show, computed once for one raw folder and one as-of date."""

    quarter: str
    as_of: dt.date
    contract_name: str
    period_start: dt.date
    period_end: dt.date
    raw_dir: str
    is_sample: bool
    score: dict[str, Any]
    notes: list[str]
    formats: dict[str, int]
    tag_overlap: dict[str, int]
    kpi_table: pd.DataFrame
    burnups: pd.DataFrame
    quality: pd.DataFrame
    files: pd.DataFrame
    rejections: pd.DataFrame
    warnings: pd.DataFrame
    duplicates: pd.DataFrame
    unknown_formats: pd.DataFrame
    freshness: pd.DataFrame
    activities_by_month: pd.DataFrame
    online_offline: pd.DataFrame
    parks: pd.DataFrame
    livestreams: pd.DataFrame
    payment_schedule: pd.DataFrame
    forecast: ForecastMetrics | None = None


_SCALARS = (
    "quarter",
    "as_of",
    "contract_name",
    "period_start",
    "period_end",
    "raw_dir",
    "is_sample",
    "score",
    "notes",
    "formats",
    "tag_overlap",
)
CACHE_VERSION = 1


def resolve_as_of(quarter: str, as_of: str | dt.date | None = None) -> dt.date:
    """The assessment date: ``as_of`` when given, else the last day of ``quarter`` (e.g. 2025Q3).

    Raises:
        UsageError: a malformed quarter.
        ValueError: a malformed ``as_of``.
    """
    if isinstance(as_of, dt.date):
        return as_of
    if as_of:
        return dt.date.fromisoformat(as_of)
    return quarter_end(*parse_quarter(quarter))


def build_metrics(
    raw_dir: Path | str,
    as_of: dt.date,
    contract: Contract | None = None,
    *,
    quarter: str = "",
    forecast: bool = True,
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
) -> Metrics:
    """Clean ``raw_dir``, assess at ``as_of`` and, with ``forecast``, run the year-end forecast.

    Raises:
        DataError: the raw folder cannot be used (see :func:`~qyzj_analytics.pipeline.prepare`).
    """
    from qyzj_analytics.ingest.pipeline import prepare

    contract = contract or load_contract()
    raw = Path(raw_dir)
    prepared = prepare(raw, contract)
    ctx = KpiContext.of(prepared, contract, as_of)
    assessment = assess(ctx, prepared.quality)
    forecast_metrics = (
        build_forecast_metrics(ctx, assessment, draws=draws, seed=seed) if forecast else None
    )
    if forecast_metrics is not None:
        subsidy = forecast_metrics.payment.loc["运维补助"]
        schedule = payment_schedule(
            contract,
            as_of,
            (subsidy["P10"], subsidy["P50"], subsidy["P90"]),
            basis=f"年终预测 P10–P90，{forecast_metrics.info.get('draws', draws):,} 次模拟",
        )
    else:
        sub = float(assessment.payment.subsidy)
        schedule = payment_schedule(contract, as_of, (sub, sub, sub))
    return Metrics(
        quarter=quarter,
        as_of=as_of,
        contract_name=contract.name,
        period_start=contract.period_start,
        period_end=contract.period_end,
        raw_dir=str(raw),
        is_sample=is_sample_folder(raw),
        score=summarize_score(assessment),
        notes=list(assessment.notes) + list(prepared.clean.notes),
        formats=dict(assessment.formats),
        tag_overlap=tag_overlap_counts(ctx),
        kpi_table=kpi_table(assessment),
        burnups=build_burnups(ctx),
        quality=quality_summary(prepared),
        files=files_overview(prepared),
        rejections=rejections_by_reason(prepared),
        warnings=warnings_by_reason(prepared),
        duplicates=duplicates_summary(prepared),
        unknown_formats=unknown_formats(ctx),
        freshness=data_freshness(prepared, as_of),
        activities_by_month=activities_by_month_and_category(ctx),
        online_offline=online_offline_by_month(ctx),
        parks=parks_covered(ctx),
        livestreams=livestreams_by_month(ctx),
        payment_schedule=schedule,
        forecast=forecast_metrics,
    )


def build_forecast_metrics(
    ctx: KpiContext, assessment: Assessment, *, draws: int, seed: int
) -> ForecastMetrics:
    """Run the year-end forecast (with its action plan) and turn it into frames."""
    from qyzj_analytics.forecast.simulate import run_forecast

    return forecast_frames(run_forecast(ctx, draws=draws, seed=seed, plan=True), ctx, assessment)


METHOD_ZH = {
    "rate_per_workday": "按工作日速率模拟",
    "monthly_threshold": "逐月模拟是否达到每月最低场次",
    "appeal_closure": "按已有办结时长模拟未办结诉求",
    "weekly_coverage": "逐周模拟是否有发布",
    "held": "保持当前值（不模拟）",
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


def forecast_bands(
    forecast: Forecast, ctx: KpiContext, kpi_ids: Iterable[str] | None = None
) -> pd.DataFrame:
    """Forecast fans for the burn-ups: from today's actual to the year-end P10/P50/P90.

    Between ``as_of`` and period end each quantile moves in proportion to the working days
    elapsed (the forecast's rates are per working day); only the year-end values are simulated.
    Columns: kpi_id, date, p10, p50, p90 (empty when the period is over).
    """
    from qyzj_analytics.dates.workdays import workday_calendar

    contract = ctx.contract
    start, end = contract.period_start, contract.period_end
    columns = ["kpi_id", "date", "p10", "p50", "p90"]
    first = max(ctx.as_of, start - dt.timedelta(days=1))
    if first >= end:
        return pd.DataFrame(
            {c: pd.Series([], dtype="str" if c == "kpi_id" else float) for c in columns}
        )
    calendar = workday_calendar(start, end)
    days = pd.date_range(first, end, freq="D")
    ahead = [d.date() for d in days]
    total = calendar.count(ahead[1], end) if len(ahead) > 1 else 0
    share = np.array(
        [0.0] + [calendar.count(ahead[1], d) / total if total else 1.0 for d in ahead[1:]]
    )
    by_id = {k.id: k for k in forecast.kpis}
    ids = list(kpi_ids) if kpi_ids is not None else select_burnup_kpis(contract)
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


def forecast_frames(forecast: Forecast, ctx: KpiContext, assessment: Assessment) -> ForecastMetrics:
    """The forecast as :class:`ForecastMetrics` (frames plus a JSON-safe ``info``)."""
    contract = ctx.contract
    grades = pd.DataFrame(
        {
            "id": [g.id for g in contract.grades],
            "档次": [g.name for g in contract.grades],
            "最低分": [float(g.min_score) for g in contract.grades],
            "概率": [float(forecast.grade_probability.get(g.id, 0.0)) for g in contract.grades],
        }
    ).astype({"id": "str", "档次": "str"})
    plan = forecast.plan
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


# ----------------------------------------------------------------------------------------------
# Narrative: short Chinese paragraphs (Markdown) built from the numbers, text escaped


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")


def escape_markdown(text: Any) -> str:
    r"""Text safe to put in Markdown: HTML escaped, Markdown punctuation backslash-escaped.

    >>> escape_markdown("<script>alert(1)</script> *x*")
    '&lt;script&gt;alert(1)&lt;/script&gt; \\*x\\*'
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False))


_esc = escape_markdown


def describe_header(metrics: Metrics) -> str:
    """One line naming the contract, the quarter and the data date (plus the sample warning)."""
    parts = [f"**{_esc(metrics.contract_name)}**"]
    with contextlib.suppress(UsageError):
        year, quarter = parse_quarter(metrics.quarter)
        parts.append(f"{year} 年第 {quarter} 季度")
    parts.append(f"数据截至 {metrics.as_of.isoformat()}")
    line = " · ".join(parts)
    sample = describe_sample(metrics)
    return f"{line}\n\n{sample}" if sample else line


def _bullets(lines: Iterable[str]) -> str:
    return "\n".join(f"- {_esc(line)}" for line in lines)


def describe_notes(metrics: Metrics) -> str:
    """The reader's and the assessment's notes (ignored files, skipped sheets…) as a list."""
    return _bullets(metrics.notes) if metrics.notes else "没有其他提示。"


def describe_forecast_notes(metrics: Metrics) -> str:
    """The forecast's settings and notes (draws, seed, working-day calendar) as a list."""
    fc = metrics.forecast
    if fc is None:
        return "本次未运行年终预测。"
    info = fc.info
    calendar = {"chinese_calendar": "chinese-calendar（含调休）"}.get(
        info["calendar_source"], info["calendar_source"]
    )
    lines = [
        f"模拟次数 {info['draws']:,}，随机种子 {info['seed']}，工作日历：{calendar}",
        *info["notes"],
    ]
    return _bullets(lines)


def _join(names: Iterable[str]) -> str:
    return "、".join(_esc(n) for n in names)


def describe_sample(metrics: Metrics) -> str:
    """A warning line when the raw folder holds ``qyzj sample`` data, else an empty string."""
    if not metrics.is_sample:
        return ""
    return "> **示例数据**：本页使用 `qyzj sample` 生成的虚构数据，仅用于演示，不代表真实运营情况。"


def describe_quality(metrics: Metrics) -> str:
    """What was read, kept, rejected and skipped, in two sentences."""
    files = metrics.files["状态"].value_counts()
    total = metrics.quality.iloc[-1]
    parts = [
        f"原始数据文件夹中共有 **{len(metrics.files)}** 个文件：已读取 {int(files.get('已读取', 0))} 个，"
        f"已忽略 {int(files.get('已忽略', 0))} 个，手工事实文件 {int(files.get('手工事实', 0))} 个，"
        f"无法读取 {int(files.get('无法读取', 0))} 个。",
        f"共读取 **{int(total['读取']):,}** 行数据：保留 {int(total['保留']):,} 行，"
        f"拒绝 {int(total['拒绝']):,} 行，重复 {int(total['重复']):,} 行，合计行 {int(total['合计行']):,} 行"
        "（每个文件都满足 读取 = 保留 + 拒绝 + 重复 + 合计行）。",
    ]
    unknown = metrics.formats.get("unknown", 0)
    if unknown:
        parts.append(f"另有 {unknown} 场活动无法判断线上/线下，未计入任何指标，见下文。")
    return "".join(parts)


def describe_attainment(metrics: Metrics) -> str:
    """Today's score, grade and which KPIs are behind, in plain words."""
    score = metrics.score
    status = metrics.kpi_table["状态"]
    counts = {zh: int((status == zh).sum()) for zh in STATUS_ZH.values()}
    behind = metrics.kpi_table.loc[status == STATUS_ZH["behind"], "指标"]
    at_risk = metrics.kpi_table.loc[status == STATUS_ZH["at_risk"], "指标"]
    text = (
        f"截至 **{metrics.as_of.isoformat()}**，按年度目标计算的基础分为 **{score['base']:.1f}** 分"
        f"（奖励分 {score['bonus']:.1f}）；如果考核年度在今天结束，档次为 **{_esc(score['grade_name'])}**"
        f"（{_esc(score['renewal'])}）。"
        f"{len(status)} 项指标中 {counts['正常']} 项进度正常、{counts['预警']} 项预警、"
        f"{counts['落后']} 项落后。"
    )
    if len(behind):
        text += f"落后：{_join(behind)}。"
    if len(at_risk):
        text += f"预警：{_join(at_risk)}。"
    return text


def describe_outlook(metrics: Metrics) -> str:
    """The year-end grade outlook and payment expectation in plain words (needs the forecast)."""
    fc = metrics.forecast
    if fc is None:
        return "本次未运行年终预测。"
    score = fc.info["score"]
    grades = fc.grades.set_index("id")
    best = grades.loc[grades["概率"].idxmax()]
    others = "，".join(
        f"{_esc(row['档次'])} {format_share(row['概率'])}"
        for gid, row in grades.iterrows()
        if gid != best.name
    )
    pay = fc.payment
    if score["p10"] == score["p90"] and metrics.as_of >= metrics.period_end:
        return (
            f"合同期已结束，年终结果已经确定：基础分 **{score['p50']:.1f}** 分，档次 **{_esc(best['档次'])}**；"
            f"全年付款 **{pay.loc['全年合计', 'P50']:,.2f}** 元，其中年终运维补助 "
            f"{pay.loc['运维补助', 'P50']:,.2f} 元。"
        )
    text = (
        f"按今年以来的实际节奏模拟 **{fc.info['draws']:,}** 种年底情形：年终基础分中位数 "
        f"**{score['p50']:.1f}** 分，80% 的情形落在 {score['p10']:.1f}–{score['p90']:.1f} 分之间。"
        f"最可能的档次是 **{_esc(best['档次'])}**（概率 {format_share(best['概率'])}）；其他档次：{others}。"
        f"全年付款预计约 **{pay.loc['全年合计', 'P50']:,.0f}** 元"
        f"（P10 {pay.loc['全年合计', 'P10']:,.0f} – P90 {pay.loc['全年合计', 'P90']:,.0f} 元），"
        f"其中年终运维补助约 {pay.loc['运维补助', 'P50']:,.0f} 元。"
    )
    return text


def describe_plan(metrics: Metrics) -> str:
    """The action plan's statement and the KPIs no lever can move (needs the forecast)."""
    fc = metrics.forecast
    plan = fc.info.get("plan") if fc is not None else None
    if not plan:
        return "本次没有生成行动建议。"
    text = _esc(plan["statement"])
    if plan["limiting"] and plan["reachable"]:
        text += f"\n\n以下指标无法靠增加活动提升，需要单独跟进：{_join(plan['limiting'])}。"
    return text


def describe_event_mix(metrics: Metrics) -> str:
    """How many activities, of which formats, how many parks and livestream months."""
    f = metrics.formats
    total = sum(f.values())
    live = metrics.livestreams
    done = int((live["状态"] != "进行中").sum())
    reached = int((live["状态"] == "达标").sum())
    return (
        f"截至 **{metrics.as_of.isoformat()}**，合同期内共举办活动 **{total}** 场：线下 {f.get('offline', 0)} 场、"
        f"线上 {f.get('online', 0)} 场、线上+线下结合 {f.get('hybrid', 0)} 场、形式不明 {f.get('unknown', 0)} 场。"
        f"进小微园活动覆盖 {len(metrics.parks)} 个地点；已结束的 {done} 个月中 {reached} 个月直播达到每月最低场次。"
    )


def require_forecast(metrics: Metrics) -> ForecastMetrics:
    """The forecast part of ``metrics``.

    Raises:
        ValueError: the metrics were built (or cached) without the forecast.
    """
    if metrics.forecast is None:
        raise ValueError("指标中没有年终预测：请以 forecast=True 重新计算（或重新生成指标缓存）")
    return metrics.forecast


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(type(value))


def _frame_fields(cls: type) -> list[str]:
    return [
        f.name for f in fields(cls) if f.name not in _SCALARS and f.name not in ("forecast", "info")
    ]


def save_metrics(metrics: Metrics, out_dir: Path | str) -> Path:
    """Write ``metrics`` to ``out_dir`` (``metrics.json`` + one parquet per table); returns it."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    scalars = {name: getattr(metrics, name) for name in _SCALARS}
    scalars["version"] = CACHE_VERSION
    scalars["forecast"] = metrics.forecast.info if metrics.forecast is not None else None
    for name in _frame_fields(Metrics):
        getattr(metrics, name).to_parquet(out / f"{name}.parquet")
    if metrics.forecast is not None:
        for name in _frame_fields(ForecastMetrics):
            getattr(metrics.forecast, name).to_parquet(out / f"forecast_{name}.parquet")
    (out / "metrics.json").write_text(
        json.dumps(scalars, ensure_ascii=False, indent=2, default=_json_default), encoding="utf-8"
    )
    return out


def load_metrics(cache_dir: Path | str) -> Metrics:
    """Read what :func:`save_metrics` wrote.

    Raises:
        FileNotFoundError: no ``metrics.json`` in ``cache_dir``.
        ValueError: the cache was written by another version of this module.
    """
    src = Path(cache_dir)
    scalars = json.loads((src / "metrics.json").read_text(encoding="utf-8"))
    if scalars.pop("version", None) != CACHE_VERSION:
        raise ValueError(f"指标缓存版本不符，请重新生成: {src}")
    info = scalars.pop("forecast")
    for name in ("as_of", "period_start", "period_end"):
        scalars[name] = dt.date.fromisoformat(scalars[name])
    frames = {name: pd.read_parquet(src / f"{name}.parquet") for name in _frame_fields(Metrics)}
    forecast = None
    if info is not None:
        forecast = ForecastMetrics(
            **{
                name: pd.read_parquet(src / f"forecast_{name}.parquet")
                for name in _frame_fields(ForecastMetrics)
            },
            info=info,
        )
    return Metrics(**scalars, **frames, forecast=forecast)


def load_or_build_metrics(
    cache_dir: str,
    raw_dir: str,
    quarter: str,
    as_of: str = "",
    config: str = "",
    *,
    forecast: bool = True,
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
) -> Metrics:
    """What a notebook calls with its parameters: the cache when ``cache_dir`` is set, else a fresh
    :func:`build_metrics` from ``raw_dir`` (``as_of`` empty → the quarter's last day, ``config``
    empty → the bundled contract; ``forecast`` only matters when building)."""
    if cache_dir:
        return load_metrics(cache_dir)
    contract = load_contract(config or None)
    return build_metrics(
        raw_dir,
        resolve_as_of(quarter, as_of),
        contract,
        quarter=quarter,
        forecast=forecast,
        draws=draws,
        seed=seed,
    )
