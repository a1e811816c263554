"""Short Chinese paragraphs (Markdown) the notebooks show, built from the metrics.

Every contract term a paragraph states (grades, thresholds, ratios, minimums, money) comes from
``metrics.terms`` (the loaded contract), never from the text; data text is escaped.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from itertools import groupby
from typing import TYPE_CHECKING, Any

from qyzj_analytics.dates.periods import parse_quarter
from qyzj_analytics.errors import UsageError
from qyzj_analytics.forecast.settings import QUANTILES
from qyzj_analytics.formats import (
    format_money,
    format_quantity,
    format_ratio,
    format_score,
    format_share,
)
from qyzj_analytics.ingest.schemas import TABLES
from qyzj_analytics.reporting.events import CATEGORIES, OTHER_CATEGORY
from qyzj_analytics.reporting.mdtext import escape_markdown as escape_markdown  # re-exported
from qyzj_analytics.reporting.quality import is_hidden_file, plain_text
from qyzj_analytics.reporting.summary import describe_plan as describe_plan  # re-exported
from qyzj_analytics.reporting.summary import (
    describe_plan_method as describe_plan_method,  # re-exported
)
from qyzj_analytics.scoring.assessment import RENEWAL_ZH, STATUS_ZH

if TYPE_CHECKING:
    from qyzj_analytics.reporting.bundle import Metrics
    from qyzj_analytics.reporting.terms import ContractTerms

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


def shown_notes(metrics: Metrics) -> list[str]:
    """The notes a reader sees: none about hidden, marker or lock files, internal ids and Python
    lists written out in plain Chinese (:func:`~qyzj_analytics.reporting.quality.plain_text`)."""
    return [
        plain_text(note)
        for note in metrics.notes
        if not is_hidden_file(re.split(r"\s*[:：]", str(note), maxsplit=1)[0])
    ]


def describe_notes(metrics: Metrics) -> str:
    """The reader's and the assessment's notes (ignored files, skipped sheets…) as a list."""
    notes = shown_notes(metrics)
    return _bullets(notes) if notes else "没有其他提示。"


def describe_forecast_notes(metrics: Metrics) -> str:
    """The forecast's settings and notes (draws, seed, working-day calendar) as a list."""
    fc = metrics.forecast
    if fc is None:
        return "本次未运行年终预测。"
    info = fc.info
    calendar = {"chinese_calendar": "中国法定节假日与调休安排"}.get(
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
    listed = metrics.files.loc[~metrics.files["文件"].map(is_hidden_file)]
    files = listed["状态"].value_counts()
    hidden = len(metrics.files) - len(listed)
    total = metrics.quality.iloc[-1]
    parts = [
        f"原始数据文件夹中共有 **{len(listed)}** 个数据文件：已读取 {int(files.get('已读取', 0))} 个，"
        f"已忽略 {int(files.get('已忽略', 0))} 个，手工事实文件 {int(files.get('手工事实', 0))} 个，"
        f"无法读取 {int(files.get('无法读取', 0))} 个"
        + (
            f"；另有 {hidden} 个隐藏文件或 Excel 临时锁定文件，已忽略、不列出。" if hidden else "。"
        ),
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
        f"截至 **{metrics.as_of.isoformat()}**，按年度目标计算的基础分为 **{format_score(score['base'])}** 分"
        f"（奖励分 {format_score(score['bonus'])}）；如果考核年度在截至日结束，档次为 **{_esc(score['grade_name'])}**"
        f"（{_esc(score['renewal'])}）。"
        f"{len(status)} 项指标中 {counts[STATUS_ZH['on_track']]} 项进度正常、"
        f"{counts[STATUS_ZH['at_risk']]} 项预警、{counts[STATUS_ZH['behind']]} 项落后。"
    )
    if len(behind):
        text += f"落后：{_join(behind)}。"
    if len(at_risk):
        text += f"预警：{_join(at_risk)}。"
    missing = metrics.kpi_table.loc[status == STATUS_ZH["missing"], "指标"]
    if len(missing):
        exports = _join(score.get("missing_exports", []))
        text += (
            f"\n\n**{STATUS_ZH['missing']}**：{exports}。{len(missing)} 项指标（{_join(missing)}）"
            "没有实际值，按 0 分计入，因此以上得分、档次与付款只是下限。"
        )
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
            f"合同期已结束，年终结果已经确定：基础分 **{format_score(score['p50'])}** 分，档次 **{_esc(best['档次'])}**；"
            f"全年付款 **{format_money(pay.loc['全年合计', 'P50'])}** 元，其中年终运维补助 "
            f"{format_money(pay.loc['运维补助', 'P50'])} 元。"
        )
    text = (
        f"按今年以来的实际节奏模拟 **{fc.info['draws']:,}** 种年底情形：年终基础分中位数 "
        f"**{format_score(score['p50'])}** 分，{format_ratio(QUANTILES[-1] - QUANTILES[0])} 的情形落在 "
        f"{format_score(score['p10'])}–{format_score(score['p90'])} 分之间。"
        f"最可能的档次是 **{_esc(best['档次'])}**（概率 {format_share(best['概率'])}）；其他档次：{others}。"
        f"全年付款预计约 **{format_money(pay.loc['全年合计', 'P50'], 0)}** 元"
        f"（P10 {format_money(pay.loc['全年合计', 'P10'], 0)} – "
        f"P90 {format_money(pay.loc['全年合计', 'P90'], 0)} 元），"
        f"其中年终运维补助约 {format_money(pay.loc['运维补助', 'P50'], 0)} 元。"
    )
    return text


def describe_event_mix(metrics: Metrics) -> str:
    """How many activities, of which formats, how many parks and livestream months."""
    activities = TABLES["activities"].name_zh
    if activities in metrics.score.get("missing_exports", []):
        return f"**{STATUS_ZH['missing']}**：{activities}。没有活动数据，以下图表为空，活动类指标记 0 分。"
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


# ----------------------------------------------------------------------------------------------
# The contract's rules in words (every number from ``metrics.terms``)


def _score(value: float) -> str:
    return format_quantity(value, "分")


def _grade_names(grades: Iterable[Any]) -> str:
    return "、".join(_esc(g.name) for g in grades)


def describe_grade_bands(terms: ContractTerms) -> str:
    """The grades by base score, highest first: ``N 分及以上<top>，A–B 分<next>，…，M 分以下<last>``."""
    grades = terms.grades
    parts = []
    for i, grade in enumerate(grades):
        name = _esc(grade.name)
        if i == 0:
            parts.append(f"{_score(grade.min_score)} 分及以上{name}")
        elif i == len(grades) - 1 and grade.min_score <= 0:
            parts.append(f"{_score(grades[i - 1].min_score)} 分以下{name}")
        else:
            upper = grades[i - 1].min_score - 1
            parts.append(f"{_score(grade.min_score)}–{_score(upper)} 分{name}")
    return "，".join(parts)


def describe_kpi_legend(metrics: Metrics) -> str:
    """How 应达进度 and the three statuses are judged (the contract's at-risk ratio)."""
    ratio = format_ratio(metrics.terms.at_risk_ratio)
    return (
        "“应达进度”是全年目标按时间均匀分摊到截至日应完成的数量（办结率、覆盖率、人员等指标任何时候都按"
        f"全年目标衡量）。状态：**{STATUS_ZH['on_track']}** = 实际不低于应达进度；"
        f"**{STATUS_ZH['at_risk']}** = 达到应达进度的 {ratio} 以上；"
        f"**{STATUS_ZH['behind']}** = 不足 {ratio}。得分按全年目标计算，所以年中得分偏低是正常的。"
    )


def describe_forecast_intro(metrics: Metrics) -> str:
    """What the forecast estimates and how, up to the contract's period end."""
    end = metrics.period_end
    fc = metrics.forecast
    draws = f" {fc.info['draws']:,} 种" if fc is not None else "大量"
    return (
        f"本节估计到合同期末（{end.month} 月 {end.day} 日）各项指标可能达到的水平、考核得分与档次的概率，"
        "以及全年付款的预期。方法是按今年以来的实际节奏（按中国法定工作日计算，含调休）"
        f"模拟{draws}可能的“剩余年份”，每一种都用与正式考核完全相同的计分与付款规则计算，再统计结果的分布。"
    )


def describe_score_chart(metrics: Metrics) -> str:
    """How to read the score distribution: the grade bands and who the bonus affects."""
    terms = metrics.terms
    proportional = [g for g in terms.grades if terms.subsidy_rule.get(g.id) == "proportional"]
    text = (
        f"柱子是各分数段的模拟占比，背景颜色是考核档次：{describe_grade_bands(terms)}。"
        "黑色虚线是按截至日数据、以全年目标计算的得分。"
    )
    if proportional:
        text += f"奖励分不影响档次，只影响{_grade_names(proportional)}档的补助金额。"
    else:
        text += "奖励分不影响档次。"
    return text


def describe_grade_consequences(metrics: Metrics) -> str:
    """What each grade brings: renewal, and the deduction of an unqualified year."""
    terms = metrics.terms

    def key(grade: Any) -> tuple[str, bool]:
        return grade.renewal, terms.subsidy_rule.get(grade.id) == "deduct"

    parts = []
    for (renewal, deduct), group in groupby(terms.grades, key=key):
        text = f"{_grade_names(group)}{_esc(RENEWAL_ZH.get(renewal, renewal))}"
        if deduct:
            text += f"，且全年扣减合同总价的 {format_ratio(float(terms.unqualified_deduction))}"
        parts.append(text)
    return "；".join(parts) + "。"


def describe_payment_rule(metrics: Metrics) -> str:
    """The advances and how the year-end subsidy depends on the grade."""
    terms = metrics.terms
    amounts = {a.amount for a in terms.advances}
    if len(amounts) == 1:
        quarters = "、".join(_esc(a.quarter) for a in terms.advances)
        each = f"{quarters} 各 {format_money(amounts.pop(), 0)} 元"
    else:
        each = "、".join(
            f"{_esc(a.quarter)} {format_money(a.amount, 0)} 元" for a in terms.advances
        )
    text = f"合同总价 {format_money(terms.total, 0)} 元"
    if terms.advances:
        text += f"中，{format_money(terms.advances_total, 0)} 元为预付款（{each}），余额为年终运维补助："
    else:
        text += "全部为年终运维补助："
    rules = {
        "full": "{names}全额支付",
        "proportional": f"{{names}}按（基础分 + 奖励分）/ {_score(terms.full_score)} 的比例支付",
        "deduct": "{names}时全年只付合同总价的 "
        + format_ratio(float(1 - terms.unqualified_deduction)),
    }
    parts = [
        rules.get(rule, "{names}按合同约定支付").format(names=_grade_names(group))
        for rule, group in groupby(terms.grades, key=lambda g: terms.subsidy_rule.get(g.id, ""))
    ]
    return text + "；".join(parts) + "。"


def describe_category_rule() -> str:
    """How the category chart counts an activity once: the categories' priority order."""
    order = " → ".join([label for _, label in CATEGORIES] + [OTHER_CATEGORY])
    return (
        "一场活动可能同时属于多类（例如“小微你好”走进小微园），考核时可交叉计数；"
        "为了柱子加总等于活动总数，此图中每场活动只归入一类，"
        f"优先顺序为：{order}。交叉情况见下方的韦恩图。"
    )


def describe_livestream_rule(metrics: Metrics) -> str:
    """The contract's monthly livestream minimum and how the chart colours the months."""
    minimum = metrics.terms.livestream_min_per_month
    return (
        f"合同要求每月在线直播不少于 {minimum} 场。绿色为达标月份，红色为未达标月份，"
        "灰色为尚未结束的月份；全年达标月份数即“直播达标月份”指标。"
    )
