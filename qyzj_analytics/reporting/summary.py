"""The report's 摘要 and the action plan in operator terms (Markdown), built from the metrics.

Every number comes from the metrics (the assessment, the forecast and the planner's own
sentences); nothing here states a contract term of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qyzj_analytics.forecast.settings import TARGET_PROBABILITY
from qyzj_analytics.formats import format_ratio, format_score, format_share
from qyzj_analytics.reporting.mdtext import escape_markdown
from qyzj_analytics.scoring.assessment import STATUS_ZH

if TYPE_CHECKING:
    from qyzj_analytics.reporting.bundle import Metrics

SUMMARY_TITLE = "摘要"
SUMMARY_PLAN_LINES = 3  # the 摘要 shows the plan's first steps (largest gain first)
_esc = escape_markdown


def plan_of(metrics: Metrics) -> dict[str, Any] | None:
    """The planner's result the metrics carry (``info["plan"]``); None without one."""
    fc = metrics.forecast
    return fc.info.get("plan") if fc is not None else None


def _points(p: float) -> str:
    return f"{p * 100:.1f} 个百分点"


def plan_steps(plan: dict[str, Any]) -> list[tuple[str, float | None]]:
    """The plan's steps (operator sentences) with what each adds to P(target grade)."""
    texts = [str(t).rstrip("。") for t in plan.get("steps") or []]
    adds = list(plan.get("step_adds") or [])
    return [(t, float(adds[i]) if i < len(adds) else None) for i, t in enumerate(texts)]


def describe_plan_method(metrics: Metrics) -> str:
    """What the action planner computes, with its target probability."""
    plan = plan_of(metrics)
    probability = plan["target_probability"] if plan else TARGET_PROBABILITY
    return (
        f"在预测的基础上，找出有 {format_ratio(probability)} 的把握可以争取的最好档次，并计算为此最少还需要做哪些事："
        "增加各类活动与直播、招募专家、引入服务机构、办结在办诉求、坚持每周发布信息等，"
        "每项措施都有剩余时间内的上限（规划文件）。每一步都在全部模拟中按正式考核规则重新计分，"
        "并考虑一场活动可以同时计入多项指标。"
    )


def describe_higher(plan: dict[str, Any]) -> str:
    """Why the next grade up is not planned for, with its best probability ('' when none)."""
    higher = plan.get("higher_grade_name")
    if not higher:
        return ""
    reason = plan.get("higher_reason") or ""
    if not reason and plan.get("higher_probability_max") is not None:
        reason = (
            f"即使各项措施全部用到上限，年底达到{higher}的概率最高也只有 "
            f"{format_share(plan['higher_probability_max'])}。"
        )
    return f"**为什么不是{_esc(higher)}**：{_esc(reason)}" if reason else ""


def describe_plan(metrics: Metrics) -> str:
    """The action plan: target grade, why not the higher one, each step with what it adds, and
    the probability of the target grade now and with the plan (needs the forecast)."""
    plan = plan_of(metrics)
    if not plan:
        return "本次没有生成行动建议。"
    grade = _esc(plan["target_grade_name"])
    goal = format_ratio(plan["target_probability"])
    now, after = plan["probability_now"], plan["probability_with_plan"]
    parts = [f"**目标档次：{grade}**（以 {goal} 的把握可以争取的最好档次）。"]
    higher = describe_higher(plan)
    if higher:
        parts.append(higher)
    steps = plan_steps(plan)
    if steps:
        lines = [
            f"{i}. {_esc(text)}" + (f"（达到{grade}的概率 +{_points(adds)}）" if adds else "")
            for i, (text, adds) in enumerate(steps, 1)
        ]
        parts.append("**措施**（按对概率的贡献从大到小排列）：\n\n" + "\n".join(lines))
        parts.append(
            f"年底达到{grade}（或更好）的概率：按当前预测 **{format_share(now)}**，"
            f"执行以上全部措施后 **{format_share(after)}**（目标 {goal}）。"
            "各类活动可交叉计数，一场活动带多个标签可同时满足多项。"
        )
    elif now >= plan["target_probability"]:
        parts.append(
            f"按当前预测，年底达到{grade}（或更好）的概率为 **{format_share(now)}**，"
            f"已不低于 {goal}，无需额外措施。"
        )
    if not plan.get("reachable", True):
        parts.append(
            f"即使各项措施全部用到上限，达到{grade}的概率也只有 {format_share(after)}，达不到 {goal}。"
        )
    if plan.get("limiting"):
        names = "、".join(_esc(n) for n in plan["limiting"])
        parts.append(f"以下指标没有可规划的措施，需要单独跟进：{names}。")
    if plan.get("missing"):
        parts.append(f"缺少导出，无法规划：{'、'.join(_esc(n) for n in plan['missing'])}。")
    return "\n\n".join(parts)


def _summary_plan(metrics: Metrics) -> str:
    plan = plan_of(metrics)
    if not plan:
        return "本次未运行年终预测，没有行动计划。"
    grade = _esc(plan["target_grade_name"])
    goal = format_ratio(plan["target_probability"])
    now, after = format_share(plan["probability_now"]), format_share(plan["probability_with_plan"])
    steps = plan_steps(plan)
    if not steps:
        return f"以 {goal} 的把握争取**{grade}**：按当前预测概率已有 {now}，无需额外措施。"
    shown = steps[:SUMMARY_PLAN_LINES]
    lines = [f"    {i}. {_esc(text)}" for i, (text, _) in enumerate(shown, 1)]
    if len(steps) > len(shown):
        lines[-1] += f"（另有 {len(steps) - len(shown)} 项措施，见“行动建议”）"
    head = f"以 {goal} 的把握争取**{grade}**，概率从 {now} 提高到 {after}："
    return head + "\n\n" + "\n".join(lines)


def describe_summary(metrics: Metrics) -> str:
    """The 摘要: grade to date, the KPIs behind pace, the year-end outlook and the plan."""
    score = metrics.score
    table = metrics.kpi_table
    status = table["状态"]
    behind = list(table.loc[status == STATUS_ZH["behind"], "指标"])
    at_risk = list(table.loc[status == STATUS_ZH["at_risk"], "指标"])
    grade = (
        f"截至 {metrics.as_of.isoformat()}，基础分 **{format_score(score['base'])}** 分"
        f"（奖励分 {format_score(score['bonus'])}），档次 **{_esc(score['grade_name'])}**"
        f"（{_esc(score['renewal'])}）"
    )
    if score.get("missing_exports"):
        grade += "；因缺少导出，得分与档次只是下限"
    pace = "；".join(
        f"{label} {len(names)} 项：{'、'.join(_esc(n) for n in names)}"
        for label, names in ((STATUS_ZH["behind"], behind), (STATUS_ZH["at_risk"], at_risk))
        if names
    )
    fc = metrics.forecast
    if fc is None:
        outlook = "本次未运行年终预测"
    else:
        grades = fc.grades.set_index("档次")["概率"]
        best = str(grades.idxmax())
        outlook = (
            f"最可能的年终档次为 **{_esc(best)}**（概率 {format_share(float(grades.max()))}），"
            f"年终基础分中位数 {format_score(fc.info['score']['p50'])} 分"
        )
    lines = [
        f"# {SUMMARY_TITLE}",
        "",
        f"- **当前档次**：{grade}。",
        f"- **进度落后的指标**：{pace or '各项指标进度正常'}。",
        f"- **年终展望**：{outlook}。",
        f"- **行动计划**：{_summary_plan(metrics)}",
    ]
    return "\n".join(lines)
