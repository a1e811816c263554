"""The report's cover: contract, period, quarter, data freshness, current and year-end grade."""

from __future__ import annotations

import datetime as dt
import html
from typing import TYPE_CHECKING, Any

from qyzj_analytics.dates.periods import parse_quarter
from qyzj_analytics.formats import format_score, format_share

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from qyzj_analytics.contract.model import Contract
    from qyzj_analytics.reporting.bundle import Metrics
    from qyzj_analytics.reporting.report.options import ReportOptions


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _column(frame: Any, *names: str) -> str | None:
    return next((n for n in names if n in frame.columns), None)


def grade_probabilities(metrics: Metrics) -> list[tuple[str, float]]:
    """``(grade name, probability)`` of the year-end forecast, in contract order; empty without."""
    forecast = metrics.forecast
    if forecast is None or forecast.grades is None or not len(forecast.grades):
        return []
    frame = forecast.grades
    name = _column(frame, "档次", "grade_name", "名称")
    prob = _column(frame, "概率", "probability", "p")
    if prob is None:
        return []
    names = frame[name] if name else frame.index
    return [(str(n), float(p)) for n, p in zip(names, frame[prob], strict=True)]


def forecast_draws(metrics: Metrics) -> int | None:
    """Number of simulated years behind the forecast, if any."""
    if metrics.forecast is None:
        return None
    draws = metrics.forecast.info.get("draws")
    return int(draws) if draws else None


def grade_outlook(metrics: Metrics) -> tuple[str, str]:
    """Current grade and the most likely year-end grade with its probability, as cover text."""
    score = metrics.score
    current = (
        f"{score['grade_name']}（基础分 {format_score(score['base'])}，"
        f"奖励分 {format_score(score['bonus'])}）"
    )
    if score.get("missing_exports"):
        current += "；因缺少导出，得分与档次只是下限"
    grades = grade_probabilities(metrics)
    if not grades:
        return current, "预测不可用"
    grade, probability = max(grades, key=lambda kv: kv[1])
    if metrics.as_of >= metrics.period_end:
        return current, f"服务期已结束：年终档次为 {grade}"
    draws = forecast_draws(metrics)
    runs = f"，{draws:,} 次模拟" if draws else ""
    return current, f"最可能为 {grade}，概率 {format_share(probability)}（蒙特卡洛预测{runs}）"


def freshness_text(metrics: Metrics) -> str:
    """How current the exports are: the latest dated row on or before as-of, and rows after it."""
    frame = metrics.freshness
    as_of = metrics.as_of
    dates = [dt.date.fromisoformat(d) for d in frame["最新日期"] if isinstance(d, str) and d]
    later = int(frame["晚于截至日"].sum()) if "晚于截至日" in frame else 0
    tail = f"；另有 {later} 行晚于截至日，不计入本报告" if later else ""
    if not dates:
        return "导出中没有截至日之前的带日期记录" + tail
    latest = max(dates)
    gap = (as_of - latest).days
    lag = f"比截至日早 {gap} 天（之后的记录可能尚未导出）" if gap else "与截至日同一天"
    return f"导出中最新的记录日期为 {latest.isoformat()}，{lag}{tail}"


def missing_rows(metrics: Metrics) -> list[tuple[str, str]]:
    """The cover row naming the missing exports (DESIGN "Missing tables"); none when complete."""
    names = metrics.score.get("missing_exports") or []
    if not names:
        return []
    return [("缺少导出", f"缺少导出：{'、'.join(names)}（相关指标记 0 分）")]


def cover_cell(options: ReportOptions, contract: Contract, metrics: Metrics) -> NotebookNode:
    """The cover as a markdown cell of escaped HTML (no blank line, so it stays one block)."""
    import nbformat

    year, q = parse_quarter(options.quarter)
    current, future = grade_outlook(metrics)
    rows = [
        ("合同", contract.name),
        ("服务期", f"{contract.period_start.isoformat()} 至 {contract.period_end.isoformat()}"),
        ("报告季度", f"{year} 年第{'一二三四'[q - 1]}季度（{options.quarter}）"),
        ("数据截至", options.as_of.isoformat()),
        ("数据新鲜度", freshness_text(metrics)),
        *missing_rows(metrics),
        ("当前档次", current),
        ("年终展望", future),
        ("生成时间", dt.datetime.now().strftime("%Y-%m-%d %H:%M")),
    ]
    emphasis, grade_class = {"当前档次", "年终展望", "缺少导出"}, ' class="qyzj-grade"'
    parts = [
        '<section class="qyzj-cover">',
        f"<h1>{_e(contract.name)}</h1>",
        f'<p class="qyzj-subtitle">{_e(options.quarter)} 季度运营分析报告</p>',
        "<table>",
        *(
            f"<tr><th>{_e(k)}</th><td{grade_class if k in emphasis else ''}>{_e(v)}</td></tr>"
            for k, v in rows
        ),
        "</table>",
        '<p class="qyzj-note">本报告只含汇总数字，不含任何个人信息（合同五.3）；'
        "各项数字可由运营方按原始导出逐行追溯。</p>",
        "</section>",
    ]
    return nbformat.v4.new_markdown_cell("\n".join(parts))


def summary_cell(metrics: Metrics) -> NotebookNode:
    """The 摘要 after the cover, as a markdown cell (:func:`~qyzj_analytics.reporting.summary.describe_summary`)."""
    import nbformat

    from qyzj_analytics.reporting.summary import describe_summary

    cell = nbformat.v4.new_markdown_cell(describe_summary(metrics))
    cell.metadata["tags"] = ["qyzj-summary"]
    return cell
