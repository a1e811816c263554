"""The planner's additions as the Word report's work plan: ``plan_steps`` sentences.

The one adapter between the planner and the Word report: :func:`plan_steps_of` turns the plan the
metrics carry into Chinese sentences; the Word report takes only that ``list[str]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qyzj_analytics.reporting.bundle import Metrics


def plan_steps_of(metrics: Metrics) -> list[str]:
    """The action plan as work-plan sentences (empty without a forecast or a plan).

    Uses the planner's own ``steps`` when the metrics carry them, else builds one sentence per
    lever from the plan table (措施, 增加, 单位: the plan's ``extra`` per ``lever``), plus the KPIs
    no added activity can move. Probabilities are left out (internal).
    """
    fc = metrics.forecast
    plan = fc.info.get("plan") if fc is not None else None
    if not plan:
        return []
    if plan.get("steps"):
        return [s if s.endswith("。") else f"{s}。" for s in map(str, plan["steps"])]
    steps = [
        f"在现有安排基础上，{row['措施']}再增加{int(row['增加']):,}{row['单位']}。"
        for _, row in fc.plan.iterrows()
    ]
    if plan.get("limiting"):
        steps.append(f"对{'、'.join(plan['limiting'])}等指标，逐项制定专项措施，加快补齐差距。")
    return steps
