"""The assessment of one date: KPI attainment and pace, base score, bonus, grade and payment.

Composes :mod:`kpi` (actuals) and :mod:`score` (rules); :func:`assessment_to_dict` gives the
``qyzj kpi --json`` shape of DESIGN, :func:`format_assessment` the readable Chinese table.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from qyzj_analytics.console import render_table
from qyzj_analytics.contract.model import Contract
from qyzj_analytics.formats import format_quantity, format_score, round_number
from qyzj_analytics.ingest.schemas import TABLES, name_tables
from qyzj_analytics.scoring.kpi import KpiActual, KpiContext, compute_actuals, count_formats
from qyzj_analytics.scoring.score import (
    Payment,
    base_score,
    compute_bonus,
    compute_payment,
    expected_to_date,
    grade_of,
    pace_status,
    score_points,
)

STATUS_ZH = {"on_track": "正常", "at_risk": "预警", "behind": "落后", "missing": "缺少导出"}
NO_FACTS_NOTE = "原始数据中没有 facts.yaml：获奖奖励分按 0 计（奖励分只含超额名师优课）"
RENEWAL_ZH = {"eligible": "可续签", "discretionary": "由采购人决定是否续签", "none": "不续签"}


@dataclass(frozen=True)
class KpiResult:
    """One KPI row of the assessment (a missing KPI: actual, attainment and expected None)."""

    id: str
    name: str
    unit: str
    actual: float | None
    target: float
    attainment: float | None
    expected_to_date: float | None
    status: str
    weight: float
    points: float


@dataclass(frozen=True)
class Assessment:
    """Everything ``qyzj kpi`` reports for one as-of date."""

    as_of: dt.date
    contract: Contract
    kpis: list[KpiResult]
    base: float
    bonus: float
    grade: str
    payment: Payment
    quality: dict[str, dict[str, int]] = field(default_factory=dict)
    formats: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    actuals: dict[str, KpiActual] = field(default_factory=dict, repr=False)
    as_of_requested: dt.date | None = None  # the date asked for, when ``as_of`` was clamped
    missing_tables: tuple[str, ...] = ()  # tables whose export is absent (DESIGN "Missing tables")

    @property
    def grade_name(self) -> str:
        """Chinese name of the grade."""
        return next(g.name for g in self.contract.grades if g.id == self.grade)

    @property
    def renewal(self) -> str:
        """Renewal consequence of the grade (eligible / discretionary / none)."""
        return next(g.renewal for g in self.contract.grades if g.id == self.grade)


def assess(ctx: KpiContext, quality: dict[str, dict[str, int]] | None = None) -> Assessment:
    """Compute the assessment at ``ctx.as_of``."""
    contract = ctx.contract
    actuals = compute_actuals(ctx)
    values = {k: v.value for k, v in actuals.items()}
    points = score_points(values, contract)
    base = float(base_score(points))
    grade = str(grade_of(base, contract))
    courses = values[contract.bonus_kpi]
    bonus = compute_bonus(
        ctx.facts.awards, 0.0 if math.isnan(courses) else courses, ctx.as_of, contract
    )
    rows = []
    for spec in contract.kpis:
        actual = values[spec.id]
        if actuals[spec.id].missing:
            rows.append(missing_result(spec.id, contract))
            continue
        expected = expected_to_date(spec, contract, ctx.as_of)
        rows.append(
            KpiResult(
                id=spec.id,
                name=spec.name,
                unit=spec.unit,
                actual=actual,
                target=spec.target,
                attainment=actual / spec.target if spec.target else 1.0,
                expected_to_date=expected,
                status=pace_status(actual, expected, contract.at_risk_ratio),
                weight=float(spec.weight),
                points=float(points[spec.id]),
            )
        )
    formats = count_formats(ctx)
    missing = tuple(t for t in TABLES if t in ctx.missing)
    notes = [ctx.as_of_note] if ctx.as_of_note else []
    notes += describe_missing(missing, rows, ctx.facts_found)
    if formats["unknown"]:
        notes.append(
            f"{formats['unknown']} 场活动无法判断线上/线下（活动形式为空且标题无关键词），未计入任何指标"
        )
    return Assessment(
        as_of=ctx.as_of,
        contract=contract,
        kpis=rows,
        base=base,
        bonus=bonus,
        grade=grade,
        payment=compute_payment(grade, base, bonus, contract),
        quality=quality or {},
        formats=formats,
        notes=notes,
        actuals=actuals,
        as_of_requested=ctx.requested_as_of,
        missing_tables=missing,
    )


def missing_result(kpi_id: str, contract: Contract) -> KpiResult:
    """The row of a KPI whose export is missing: no actual, status ``missing``, 0 points."""
    spec = contract.kpi(kpi_id)
    return KpiResult(
        id=spec.id,
        name=spec.name,
        unit=spec.unit,
        actual=None,
        target=spec.target,
        attainment=None,
        expected_to_date=None,
        status="missing",
        weight=float(spec.weight),
        points=0.0,
    )


def describe_missing(
    missing: tuple[str, ...], rows: list[KpiResult], facts_found: bool = True
) -> list[str]:
    """The notes on missing exports (and a missing facts.yaml) every output carries."""
    notes = []
    if missing:
        names = "、".join(k.name for k in rows if k.status == "missing")
        notes.append(
            f"缺少导出：{name_tables(missing)}。依赖这些导出的指标（{names}）没有实际值、记 0 分，"
            "因此基础分、档次与付款只是下限；补齐导出后重新运行"
        )
    if not facts_found:
        notes.append(NO_FACTS_NOTE)
    return notes


def assessment_to_dict(a: Assessment) -> dict:
    """The ``qyzj kpi --json`` object (DESIGN "CLI"); money as strings with two decimals."""
    return {
        "as_of": a.as_of.isoformat(),
        "as_of_requested": (a.as_of_requested or a.as_of).isoformat(),
        "contract": a.contract.name,
        "period": {
            "start": a.contract.period_start.isoformat(),
            "end": a.contract.period_end.isoformat(),
        },
        "kpis": {
            k.id: {
                "name": k.name,
                "actual": round_number(k.actual),
                "target": round_number(k.target),
                "attainment": round_number(k.attainment),
                "expected_to_date": round_number(k.expected_to_date),
                "status": k.status,
                "weight": round_number(k.weight),
                "points": round_number(k.points),
            }
            for k in a.kpis
        },
        "score": {
            "base": round_number(a.base),
            "bonus": round_number(a.bonus),
            "grade": a.grade,
            "grade_name": a.grade_name,
            "renewal": a.renewal,
        },
        "payment": {
            "advances": str(a.payment.advances),
            "subsidy": str(a.payment.subsidy),
            "total": str(a.payment.total),
        },
        "quality": a.quality,
        "activity_formats": a.formats,
        "missing_tables": list(a.missing_tables),
        "notes": a.notes,
    }


def format_assessment(a: Assessment) -> str:
    """A readable Chinese table of the assessment for the terminal."""
    head = ["指标", "实际", "目标", "完成率", "应达进度", "状态", "权重", "得分"]
    rows = [
        [
            k.name,
            "—" if k.actual is None else format_quantity(k.actual, k.unit),
            format_quantity(k.target, k.unit),
            "—" if k.attainment is None else f"{k.attainment:.0%}",
            "—" if k.expected_to_date is None else format_quantity(k.expected_to_date, k.unit),
            STATUS_ZH[k.status],
            f"{k.weight:.2f}".rstrip("0").rstrip("."),
            f"{k.points:.2f}",
        ]
        for k in a.kpis
    ]
    lines = [
        f"{a.contract.name} — 截至 {a.as_of.isoformat()} 的考核测算",
        *render_table(head, rows),
    ]
    if a.missing_tables:
        lines.append(f"缺少导出：{name_tables(a.missing_tables)}（相关指标记 0 分，得分为下限）")
    p = a.payment
    lines += [
        "",
        f"基础分 {format_score(a.base)}  奖励分 {format_score(a.bonus)}  档次 {a.grade_name}（{RENEWAL_ZH[a.renewal]}）",
        f"按当前得分结算：预付款 {p.advances:,} 元 + 运维补助 {p.subsidy:,} 元 = 全年 {p.total:,} 元",
    ]
    if a.quality:
        q = {k: sum(t[k] for t in a.quality.values()) for k in next(iter(a.quality.values()))}
        lines.append(
            f"数据质量：读取 {q['rows_read']} 行，保留 {q['rows_kept']}，拒绝 {q['rows_rejected']}，"
            f"重复 {q['duplicates']}，合计行 {q['summary_rows']}"
        )
    lines += [f"注意：{n}" for n in a.notes]
    return "\n".join(lines)
