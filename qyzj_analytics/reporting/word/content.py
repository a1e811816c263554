"""What the bureau's Word report says, as plain Chinese text built from :class:`Metrics`.

The numbers are the ones the HTML shows (the same metrics); every contract term stated (targets,
the pace ratio, the livestream minimum, grade names) comes from the metrics' contract snapshot.
Internal matter stays out: no payment, no forecast probabilities, no data-quality detail, no file
names; aggregates only.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

from qyzj_analytics.dates.periods import parse_quarter
from qyzj_analytics.formats import (
    SHARE_UNIT,
    format_attainment,
    format_quantity,
    format_ratio,
    format_score,
)
from qyzj_analytics.scoring.assessment import STATUS_ZH

if TYPE_CHECKING:
    import pandas as pd

    from qyzj_analytics.reporting.bundle import Metrics

KPI_COLUMNS = ("指标", "年度目标", "完成", "完成率", "进度")
LAGGING = (STATUS_ZH["behind"], STATUS_ZH["at_risk"])
READ_STATUS = "已读取"
NUMERALS = "一二三四"
UNIT_SHOWN = {"月": "个月"}  # "12月" would read as December


def chinese_date(day: dt.date) -> str:
    """``2025年9月30日``."""
    return f"{day.year}年{day.month}月{day.day}日"


def quantity(value: float | None, unit: str) -> str:
    """A KPI value with its unit (shares as percentages, no unit); empty when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = format_quantity(value, unit)
    return text if unit == SHARE_UNIT else f"{text}{UNIT_SHOWN.get(unit, unit)}"


def report_title(metrics: Metrics) -> str:
    """``乐清市企业之家2025年第三季度运营情况报告`` (platform name from the contract name)."""
    year, q = parse_quarter(metrics.quarter)
    platform = metrics.contract_name.split("平台")[0] if "平台" in metrics.contract_name else ""
    return f"{platform}{year}年第{NUMERALS[q - 1]}季度运营情况报告"


def date_line(metrics: Metrics) -> str:
    """The as-of date under the title."""
    return f"（数据截至{chinese_date(metrics.as_of)}）"


def sample_notice() -> str:
    """The notice under the title of a report made from sample data."""
    return "【示例数据】本报告使用系统生成的虚构示例数据，仅用于演示，不代表真实运营情况。"


def opening(metrics: Metrics) -> str:
    """The first paragraph: which contract and which period this report covers."""
    year, q = parse_quarter(metrics.quarter)
    return (
        f"现将{metrics.contract_name}项目{year}年第{NUMERALS[q - 1]}季度运营情况报告如下"
        f"（统计期间{chinese_date(metrics.period_start)}至{chinese_date(metrics.as_of)}）。"
    )


def kpi_value(metrics: Metrics, kpi_id: str) -> float | None:
    """The actual of ``kpi_id`` (None when absent from the contract or its export is missing)."""
    table = metrics.kpi_table
    if kpi_id not in table.index:
        return None
    value = table.loc[kpi_id, "实际"]
    return None if math.isnan(value) else float(value)


def overview(metrics: Metrics) -> list[str]:
    """一、总体情况: grade to date, headline counts, the data sources."""
    score = metrics.score
    grade = (
        f"截至{chinese_date(metrics.as_of)}，按合同考核办法测算，基础分{format_score(score['base'])}分、"
        f"奖励分{format_score(score['bonus'])}分，当前考核档次为{score['grade_name']}。"
    )
    if score.get("missing_exports"):
        grade += "因部分数据尚未导出，上述得分与档次为下限。"
    counts = []
    table = metrics.kpi_table
    served = kpi_value(metrics, "enterprises_served")
    if served is not None:
        counts.append(f"累计{table.loc['enterprises_served', '指标']}{quantity(served, '家次')}")
    f = metrics.formats
    if sum(f.values()):
        counts.append(
            f"举办线下活动{f.get('offline', 0)}场、线上活动{f.get('online', 0)}场、"
            f"线上线下结合活动{f.get('hybrid', 0)}场"
        )
    if len(metrics.parks):
        counts.append(f"进小微园活动覆盖{len(metrics.parks)}个小微园")
    live = metrics.livestreams
    if len(live):
        done = int((live["状态"] != "进行中").sum())
        reached = int((live["状态"] == "达标").sum())
        counts.append(f"已结束的{done}个月中{reached}个月直播场次达到合同要求")
    paragraphs = [grade]
    if counts:
        paragraphs.append("合同期内" + "，".join(counts) + "。")
    paragraphs.append(data_sources(metrics))
    return paragraphs


def data_sources(metrics: Metrics) -> str:
    """One sentence: which exports (by table, never by file name) and which dates."""
    files = metrics.files
    read = files.loc[files["状态"] == READ_STATUS]
    tables = [str(t) for t in dict.fromkeys(read["识别为"]) if str(t).strip()]
    latest = [
        dt.date.fromisoformat(d)
        for d in metrics.freshness["最新日期"]
        if isinstance(d, str) and d and dt.date.fromisoformat(d) <= metrics.as_of
    ]
    newest = f"，最新记录日期为{chinese_date(max(latest))}" if latest else ""
    which = "、".join(tables) if tables else "平台"
    return (
        f"以上数据来源于平台导出的{which}共{len(read)}个数据文件，统计"
        f"{chinese_date(metrics.period_start)}至{chinese_date(metrics.as_of)}的记录{newest}。"
    )


def kpi_intro(metrics: Metrics) -> str:
    """The sentence before the KPI table: how many KPIs, how 完成率 and 进度 are read."""
    ratio = format_ratio(metrics.terms.at_risk_ratio)
    return (
        f"合同共设{len(metrics.kpi_table)}项考核指标，完成情况见表1。完成率按年度目标计算；"
        f"进度按截至日应达进度判断：{STATUS_ZH['on_track']}为不低于应达进度，"
        f"{STATUS_ZH['at_risk']}为达到应达进度的{ratio}以上，{STATUS_ZH['behind']}为不足{ratio}。"
    )


def kpi_rows(table: pd.DataFrame) -> list[tuple[str, str, str, str, str]]:
    """One row per KPI of the contract: 指标, 年度目标, 完成, 完成率, 进度 (as shown)."""
    rows = []
    for _, k in table.iterrows():
        unit = str(k["单位"])
        missing = math.isnan(k["实际"])
        rows.append(
            (
                str(k["指标"]),
                quantity(float(k["目标"]), unit),
                STATUS_ZH["missing"] if missing else quantity(float(k["实际"]), unit),
                format_attainment(k["完成率"]),
                str(k["状态"]),
            )
        )
    return rows


def kpi_progress(metrics: Metrics, kpi_id: str) -> str:
    """``开展进小微园活动9场，完成年度目标13场的69%`` for a count KPI; empty when absent."""
    table = metrics.kpi_table
    if kpi_id not in table.index:
        return ""
    k = table.loc[kpi_id]
    unit = str(k["单位"])
    if math.isnan(k["实际"]):
        return f"{k['指标']}：{STATUS_ZH['missing']}，暂无统计。"
    return (
        f"开展{k['指标']}{quantity(k['实际'], unit)}，"
        f"完成年度目标{quantity(k['目标'], unit)}的{format_attainment(k['完成率'])}"
    )


def livestream_text(metrics: Metrics) -> str:
    """The contract's monthly minimum and the months that met it (and those that did not)."""
    live = metrics.livestreams
    minimum = metrics.terms.livestream_min_per_month
    done = live.loc[live["状态"] != "进行中"]
    reached = int((done["状态"] == "达标").sum())
    short = [f"{int(str(m)[5:7])}月" for m in done.index[done["状态"] != "达标"]]
    text = (
        f"合同要求每月开展线上直播不少于{minimum}场。已结束的{len(done)}个月中，"
        f"{reached}个月达到要求"
    )
    return text + (f"，{('、'.join(short))}未达到。" if short else "。")


def parks_text(metrics: Metrics) -> str:
    """Which parks the 进小微园 events covered (place names only)."""
    parks = metrics.parks
    if not len(parks):
        return ""
    names = [str(n) for n in parks["地点"]]
    shown = "、".join(names[:5]) + ("等" if len(names) > 5 else "")
    return f"活动覆盖{shown}{len(names)}个小微园。"


def problems(metrics: Metrics) -> list[str]:
    """四、存在的问题: KPIs behind pace and missing exports, one sentence each."""
    table = metrics.kpi_table
    lines = []
    for status in LAGGING:
        for _, k in table.loc[table["状态"] == status].iterrows():
            unit = str(k["单位"])
            lines.append(
                f"{k['指标']}完成{quantity(k['实际'], unit)}，低于截至日应达进度"
                f"{quantity(k['应达进度'], unit)}（{status}）。"
            )
    missing = metrics.score.get("missing_exports") or []
    if missing:
        lines.append(f"{'、'.join(missing)}数据尚未导出，相关指标暂按0计。")
    return lines or ["各项指标均达到截至日应达进度，数据导出齐全。"]


def catch_up(metrics: Metrics) -> list[str]:
    """五.(一): what each lagging KPI needs per week to reach its target (from the forecast)."""
    fc = metrics.forecast
    table = metrics.kpi_table
    lagging = table.loc[table["状态"].isin(LAGGING)]
    if fc is None or not len(lagging):
        return []
    end = chinese_date(metrics.period_end)
    lines = []
    for kpi_id, k in lagging.iterrows():
        if kpi_id not in fc.kpis.index:
            continue
        need = fc.kpis.loc[kpi_id, "每周还需"]
        unit = str(fc.kpis.loc[kpi_id, "还需单位"])
        target = quantity(float(k["目标"]), str(k["单位"]))
        if math.isnan(need):
            lines.append(f"{k['指标']}：按剩余时间已难以达到年度目标{target}，将尽力缩小差距。")
        else:
            gap = ""
            if str(k["单位"]) != SHARE_UNIT and not math.isnan(k["实际"]):
                left = quantity(max(float(k["目标"]) - float(k["实际"]), 0.0), str(k["单位"]))
                gap = f"距年度目标还差{left}，"
            lines.append(
                f"{k['指标']}：{gap}剩余期限内平均每周需完成约{need:,.1f}{unit}，"
                f"确保{end}前达到年度目标{target}。"
            )
    return lines
