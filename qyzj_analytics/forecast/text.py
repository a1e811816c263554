"""Output of the forecast: the ``qyzj forecast --json`` object and the terminal summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qyzj_analytics.console import render_table
from qyzj_analytics.forecast.outcomes import PROBABILITY_DIGITS
from qyzj_analytics.forecast.result import Forecast
from qyzj_analytics.formats import format_quantity, format_score, round_number

if TYPE_CHECKING:
    from qyzj_analytics.forecast.plan import Plan


def plan_to_dict(plan: Plan, months: int) -> dict:
    """The ``plan`` object of ``qyzj forecast --json``."""
    return {
        "target_grade": plan.target_grade,
        "target_probability": plan.target_probability,
        "probability_now": round_number(plan.probability_now, PROBABILITY_DIGITS),
        "probability_with_plan": round_number(plan.probability_with_plan, PROBABILITY_DIGITS),
        "reachable": plan.reachable,
        "extra": {lv.id: plan.extra.get(lv.id, 0) for lv in plan.levers},
        "extra_units": {lv.id: lv.unit for lv in plan.levers},
        "remaining_months": months,
        "total_units": plan.total_units,
        "best_grade": plan.best_grade,
        "limiting": plan.limiting,
        "missing": plan.missing,
        "statement": plan.statement,
        "target_grade_name": plan.target_grade_name,
        "probability_max": round_number(plan.probability_max, PROBABILITY_DIGITS),
        "total_effort": plan.total_effort,
        "levers": [
            {
                "id": lv.id,
                "name": lv.name,
                "unit": lv.unit,
                "maximum": lv.maximum,
                "weight": lv.weight,
                "per_month": lv.per_month,
            }
            for lv in plan.levers
        ],
        "steps": [
            {
                "lever": s.lever,
                "units": s.units,
                "text": s.text,
                "adds": round_number(s.adds, PROBABILITY_DIGITS),
            }
            for s in plan.steps
        ],
        "higher": None
        if plan.higher_grade is None
        else {
            "grade": plan.higher_grade,
            "name": plan.higher_grade_name,
            "probability_max": round_number(plan.higher_probability_max, PROBABILITY_DIGITS),
            "capped_by": plan.higher_capped_by,
            "reason": plan.higher_reason,
        },
        "planning": plan.planning_source,
    }


def plan_lines(plan: Plan) -> list[str]:
    """The 行动建议 lines of the summary: the statement, or the steps one per line."""
    if not plan.steps:
        return [f"行动建议：{plan.statement}"]
    name, pct = plan.target_grade_name, f"{plan.target_probability:.0%}"
    lines = [f"行动建议（以 {pct} 的把握争取{name}，按当前预测为 {plan.probability_now:.0%}）："]
    for i, s in enumerate(plan.steps, 1):
        lines.append(f"  {i}. {s.text}（达到{name}的概率 +{s.adds:.1%}）")
    lines.append(f"  合计：达到{name}（或更好）的概率提高到 {plan.probability_with_plan:.0%}。")
    if plan.higher_reason:
        lines.append(f"  {plan.higher_reason}")
    if plan.missing:
        lines.append(f"  缺少导出，无法规划：{'、'.join(plan.missing)}。")
    return lines


def forecast_to_dict(f: Forecast) -> dict:
    """The forecast as JSON-ready data; money as strings with two decimals.

    ``qyzj forecast --json`` adds the action plan (``outlook_to_dict``).
    """
    return {
        "as_of": f.as_of.isoformat(),
        "as_of_requested": (f.as_of_requested or f.as_of).isoformat(),
        "contract": f.contract.name,
        "period": {
            "start": f.contract.period_start.isoformat(),
            "end": f.contract.period_end.isoformat(),
        },
        "draws": f.draws,
        "seed": f.seed,
        "calendar": {
            "source": f.calendar_source,
            "fallback_years": list(f.calendar_fallback_years),
        },
        "kpis": {
            k.id: {
                "name": k.name,
                "actual": round_number(k.actual),
                "target": round_number(k.target),
                "p10": round_number(k.p10),
                "p50": round_number(k.p50),
                "p90": round_number(k.p90),
                "mean": round_number(k.mean),
                "p_target": round_number(k.p_target, PROBABILITY_DIGITS),
                "required_per_week": round_number(k.required_per_week),
                "required_unit": k.required_unit,
                "method": k.method,
                "status": "missing" if k.missing else "forecast",
            }
            for k in f.kpis
        },
        "score": {k: round_number(v) for k, v in f.score.items()}
        | {"bonus_mean": round_number(f.bonus_mean)},
        "grade_probability": dict(f.grade_probability),
        "payment": {
            "expected": str(f.payment_expected),
            "p10": str(f.payment_p10),
            "p50": str(f.payment_p50),
            "p90": str(f.payment_p90),
        },
        "notes": list(f.notes),
    }


def format_forecast(f: Forecast) -> str:
    """A readable Chinese summary of the forecast for the terminal (its notes last)."""
    return "\n".join([*summary_lines(f), *note_lines(f)])


def summary_lines(f: Forecast) -> list[str]:
    """The summary's title, KPI table, score, grade and payment lines."""
    from qyzj_analytics.scoring.assessment import STATUS_ZH  # the text summary only, not JSON

    head = ["指标", "当前", "目标", "P10", "P50", "P90", "达标概率", "每周还需"]
    rows = []
    for k in f.kpis:
        if k.missing:
            rows.append(
                [
                    k.name,
                    "—",
                    format_quantity(k.target, k.unit),
                    "",
                    "",
                    "",
                    "—",
                    STATUS_ZH["missing"],
                ]
            )
            continue
        if k.required_per_week is None:
            need = "已无法达标"
        elif k.required_per_week == 0:
            need = "已达标"
        else:
            need = f"{k.required_per_week:.2f} {k.required_unit}"
        rows.append(
            [
                k.name,
                format_quantity(k.actual, k.unit),
                format_quantity(k.target, k.unit),
                format_quantity(k.p10, k.unit),
                format_quantity(k.p50, k.unit),
                format_quantity(k.p90, k.unit),
                f"{k.p_target:.0%}",
                need,
            ]
        )
    names = {g.id: g.name for g in f.contract.grades}
    grades = "  ".join(f"{names[g]} {p:.1%}" for g, p in f.grade_probability.items())
    s = f.score
    lines = [
        f"{f.contract.name} — 截至 {f.as_of.isoformat()} 对 {f.contract.period_end.isoformat()} "
        f"的年终预测（{f.draws} 次模拟，种子 {f.seed}）",
        *render_table(head, rows, [0 < i < 7 for i in range(len(head))]),
    ]
    missing = [k.name for k in f.kpis if k.missing]
    if missing:
        label = STATUS_ZH["missing"]
        lines.append(f"{label}（每次模拟记 0 分，不模拟）：{'、'.join(missing)}")
    lines += [
        "",
        f"年终基础分：P10 {format_score(s['p10'])}  P50 {format_score(s['p50'])}  "
        f"P90 {format_score(s['p90'])}（均值 {format_score(s['mean'])}，"
        f"奖励分均值 {format_score(f.bonus_mean)}）",
        f"档次概率：{grades}",
        f"全年付款：期望 {f.payment_expected:,} 元（P10 {f.payment_p10:,} 元，P90 {f.payment_p90:,} 元）",
    ]
    return lines


def note_lines(f: Forecast) -> list[str]:
    """The forecast's notes, one line each."""
    return [f"注意：{n}" for n in f.notes]
