"""Event-mix frames: activities by month and category, online/offline, tag overlap, parks and
livestream months (counts only; no person appears).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qyzj_analytics.dates.periods import elapsed_months
from qyzj_analytics.ingest.parse import normalize_text, parse_distinct
from qyzj_analytics.scoring.kpi import KpiContext, activities_to_date, online_per_month

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
