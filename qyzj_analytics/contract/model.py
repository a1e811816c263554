"""The contract config (``contract/2025.yaml``): targets, rules, keywords, grades and money.

Nothing here knows a number of the contract; it only reads and checks the YAML.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from qyzj_analytics.errors import ConfigError

RULES = {"linear", "floor_linear", "threshold"}
PACES = {"period", "months", "full"}


@dataclass(frozen=True)
class KpiSpec:
    """One KPI of the contract: target, scoring rule, weight and how its pace is judged."""

    id: str
    name: str
    unit: str
    target: float
    rule: str
    weight: Fraction
    pace: str
    floor: float | None = None
    source: str = ""


@dataclass(frozen=True)
class Grade:
    """One assessment grade: the lowest base score that earns it and the renewal it brings."""

    id: str
    name: str
    min_score: float
    renewal: str


@dataclass(frozen=True)
class Advance:
    """A quarterly advance payment."""

    quarter: str
    due: dt.date
    amount: Decimal


@dataclass(frozen=True)
class Contract:
    """The whole contract config."""

    name: str
    period_start: dt.date
    period_end: dt.date
    format_keywords: dict[str, tuple[str, ...]]
    tag_keywords: dict[str, tuple[str, ...]]
    not_accepted_statuses: tuple[str, ...]
    closed_statuses: tuple[str, ...]
    inactive_statuses: tuple[str, ...]
    qualified_education: tuple[str, ...]
    qualified_title: tuple[str, ...]
    livestream_min_per_month: int
    kpis: tuple[KpiSpec, ...]
    at_risk_ratio: float
    grades: tuple[Grade, ...]
    bonus_cap: float
    award_points: dict[str, float]
    course_bonus: float
    bonus_kpi: str  # each unit of this KPI beyond its target earns ``course_bonus`` points
    total: Decimal
    advances: tuple[Advance, ...]
    subsidy_rule: dict[str, str]
    unqualified_deduction: Decimal
    source: str = ""

    def kpi(self, kpi_id: str) -> KpiSpec:
        """The spec of KPI ``kpi_id``."""
        for spec in self.kpis:
            if spec.id == kpi_id:
                return spec
        raise KeyError(kpi_id)

    @cached_property
    def full_score(self) -> float:
        """The base score of a year with every target met: the sum of the KPI weights."""
        return float(sum((k.weight for k in self.kpis), Fraction(0)))

    @property
    def subsidy_full(self) -> Decimal:
        """What is left of the total after the advances: the 运维补助资金."""
        return self.total - sum((a.amount for a in self.advances), Decimal(0))


def _weight(value: Any) -> Fraction:
    try:
        return Fraction(str(value))
    except (ValueError, ZeroDivisionError) as exc:
        raise ConfigError(f"权重无法识别: {value!r}") from exc


def _money(value: Any, what: str) -> Decimal:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise ConfigError(f"{what} 金额无法识别: {value!r}") from exc


def _date(value: Any, what: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ConfigError(f"{what} 日期无法识别: {value!r}") from exc


def _words(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in (value or []))


def load_contract(path: Path | str | None = None) -> Contract:
    """Load and check a contract config; the bundled 2025 contract when ``path`` is None.

    Raises:
        ConfigError: the file is missing, not YAML, or lacks a section or value.
    """
    if path is None:
        ref = resources.files("qyzj_analytics.contract") / "2025.yaml"
        text, source = ref.read_text(encoding="utf-8"), "contract/2025.yaml"
    else:
        try:
            text, source = Path(path).read_text(encoding="utf-8"), str(path)
        except OSError as exc:
            raise ConfigError(f"合同配置文件无法读取: {path}: {exc.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"合同配置文件 {source} 不是有效的 YAML: {exc}") from None
    try:
        return _build(raw, source)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"合同配置文件 {source} 缺少或写错了配置项: {exc}") from None


def _bonus_kpi(bonus: dict[str, Any], kpis: list[KpiSpec], source: str) -> str:
    kpi_id = str(bonus["beyond_target_kpi"])
    if kpi_id not in {k.id for k in kpis}:
        raise ConfigError(f"{source}: bonus.beyond_target_kpi {kpi_id!r} 不是合同中的 KPI")
    return kpi_id


def _build(raw: dict[str, Any], source: str) -> Contract:
    kpis = []
    for item in raw["kpis"]:
        if item["rule"] not in RULES:
            raise ConfigError(f"{source}: KPI {item['id']} 的计分规则 {item['rule']!r} 未知")
        if item["pace"] not in PACES:
            raise ConfigError(f"{source}: KPI {item['id']} 的进度规则 {item['pace']!r} 未知")
        if item["rule"] == "floor_linear" and "floor" not in item:
            raise ConfigError(f"{source}: KPI {item['id']} 使用 floor_linear 但没有 floor")
        kpis.append(
            KpiSpec(
                id=str(item["id"]),
                name=str(item["name"]),
                unit=str(item.get("unit", "")),
                target=float(item["target"]),
                rule=str(item["rule"]),
                weight=_weight(item["weight"]),
                pace=str(item["pace"]),
                floor=float(item["floor"]) if "floor" in item else None,
                source=str(item.get("source", "")),
            )
        )
    grades = tuple(
        Grade(str(g["id"]), str(g["name"]), float(g["min_score"]), str(g["renewal"]))
        for g in raw["grades"]
    )
    payment = raw["payment"]
    contract = raw["contract"]
    return Contract(
        name=str(contract["name"]),
        period_start=_date(contract["period_start"], "period_start"),
        period_end=_date(contract["period_end"], "period_end"),
        format_keywords={k: _words(v) for k, v in raw["keywords"]["format"].items()},
        tag_keywords={k: _words(v) for k, v in raw["keywords"]["tags"].items()},
        not_accepted_statuses=_words(raw["appeals"]["not_accepted_statuses"]),
        closed_statuses=_words(raw["appeals"]["closed_statuses"]),
        inactive_statuses=_words(raw["institutions"]["inactive_statuses"]),
        qualified_education=_words(raw["staff"]["qualified_education"]),
        qualified_title=_words(raw["staff"]["qualified_title"]),
        livestream_min_per_month=int(raw["livestream"]["min_online_per_month"]),
        kpis=tuple(kpis),
        at_risk_ratio=float(raw["pace_status"]["at_risk_ratio"]),
        grades=tuple(sorted(grades, key=lambda g: -g.min_score)),
        bonus_cap=float(raw["bonus"]["cap"]),
        award_points={str(k): float(v) for k, v in raw["bonus"]["awards"].items()},
        course_bonus=float(raw["bonus"]["course_beyond_target"]),
        bonus_kpi=_bonus_kpi(raw["bonus"], kpis, source),
        total=_money(payment["total"], "total"),
        advances=tuple(
            Advance(
                str(a["quarter"]), _date(a["due"], "advance due"), _money(a["amount"], "advance")
            )
            for a in payment["advances"]
        ),
        subsidy_rule={str(k): str(v) for k, v in payment["subsidy_rule"].items()},
        unqualified_deduction=Decimal(str(payment["unqualified_deduction"])),
        source=source,
    )
