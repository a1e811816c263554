"""The contract config (``contract/2025.yaml``): targets, rules, keywords, grades and money.

Nothing here knows a number of the contract; it only reads and checks the YAML.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from qyzj_analytics.contract.validate import (
    Reader,
    check_entry_lists,
    check_period,
    check_weights,
    load_yaml,
)
from qyzj_analytics.errors import ConfigError
from qyzj_analytics.yamlsafe import YamlRefused, read_yaml_text

RULES = {"linear", "floor_linear", "threshold"}
PACES = {"period", "months", "full"}
RENEWALS = {"eligible", "discretionary", "none"}
SUBSIDY_RULES = {"full", "proportional", "deduct"}


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
    buyer: str = ""  # the purchaser the reports are addressed to (contract.buyer)
    # the full lists of the data-entry drop-downs (optional in the YAML; empty: no drop-down)
    open_statuses: tuple[str, ...] = ()
    active_statuses: tuple[str, ...] = ()
    education_levels: tuple[str, ...] = ()
    title_levels: tuple[str, ...] = ()

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


def read_config_text(path: Path | str, label: str) -> str:
    """The text of the YAML settings file ``path`` (aliases and size bounded by yamlsafe).

    Raises:
        ConfigError: it cannot be read, is too large or not UTF-8; the message starts with
            ``label`` (e.g. 合同配置文件) and names the file.
    """
    try:
        return read_yaml_text(Path(path))
    except YamlRefused as exc:
        raise ConfigError(f"{label} {path}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{label}无法读取: {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{label} {path} 不是 UTF-8 文本") from None


def load_contract(path: Path | str | None = None) -> Contract:
    """Load and check a contract config; the bundled 2025 contract when ``path`` is None.

    Every value is checked (:mod:`.validate`): targets are numbers > 0, weights sum to 100,
    the period is ordered, money and dates are real, floors lie below their targets.

    Raises:
        ConfigError: the file is missing or not YAML, or a value is missing or wrong; the
            message names the file and the key (e.g. ``kpis[4].target``).
    """
    if path is None:
        ref = resources.files("qyzj_analytics.contract") / "2025.yaml"
        text, source = ref.read_text(encoding="utf-8"), "contract/2025.yaml"
    else:
        text, source = read_config_text(path, "合同配置文件"), str(path)
    try:
        raw = load_yaml(text)
    except YamlRefused as exc:
        raise ConfigError(f"合同配置文件 {source}: {exc}") from None
    except (yaml.YAMLError, ValueError) as exc:
        where = str(exc).replace('"<unicode string>"', source)
        raise ConfigError(f"合同配置文件 {source} 不是有效的 YAML: {where}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"合同配置文件 {source} 的顶层应为键值对（contract、kpis、grades…）")
    return _build(raw, Reader(source))


def _kpi(r: Reader, item: Any, key: str) -> KpiSpec:
    if not isinstance(item, dict):
        raise r.fail(key, "每项 KPI 应写成 {id, name, target, rule, weight, pace}")
    rule = r.choice(item, "rule", f"{key}.rule", RULES)
    target = r.number(item, "target", f"{key}.target", strict=True)
    floor = None
    if rule == "floor_linear":
        floor = r.number(item, "floor", f"{key}.floor")
        if floor >= target:
            raise r.fail(f"{key}.floor", f"下限 {floor:g} 应小于目标 {target:g}")
    return KpiSpec(
        id=r.text(item, "id", f"{key}.id"),
        name=r.text(item, "name", f"{key}.name"),
        unit=str(item.get("unit") or ""),
        target=target,
        rule=rule,
        weight=r.weight(item, "weight", f"{key}.weight"),
        pace=r.choice(item, "pace", f"{key}.pace", PACES),
        floor=floor,
        source=str(item.get("source") or ""),
    )


def _kpis(r: Reader, raw: dict[str, Any]) -> tuple[KpiSpec, ...]:
    kpis = [_kpi(r, item, f"kpis[{i}]") for i, item in enumerate(r.items(raw, "kpis"), start=1)]
    seen: set[str] = set()
    for i, spec in enumerate(kpis, start=1):
        if spec.id in seen:
            raise r.fail(f"kpis[{i}].id", f"KPI {spec.id!r} 重复出现")
        seen.add(spec.id)
    check_weights(r, [k.weight for k in kpis])
    return tuple(kpis)


def _grades(r: Reader, raw: dict[str, Any]) -> tuple[Grade, ...]:
    grades = []
    for i, g in enumerate(r.items(raw, "grades"), start=1):
        key = f"grades[{i}]"
        if not isinstance(g, dict):
            raise r.fail(key, "每个档次应写成 {id, name, min_score, renewal}")
        grades.append(
            Grade(
                r.text(g, "id", f"{key}.id"),
                r.text(g, "name", f"{key}.name"),
                r.number(g, "min_score", f"{key}.min_score"),
                r.choice(g, "renewal", f"{key}.renewal", RENEWALS),
            )
        )
    return tuple(sorted(grades, key=lambda g: -g.min_score))


def _advances(r: Reader, payment: dict[str, Any]) -> tuple[Advance, ...]:
    advances = []
    for i, a in enumerate(r.get(payment, "advances", "payment.advances", []), start=1):
        key = f"payment.advances[{i}]"
        if not isinstance(a, dict):
            raise r.fail(key, "每笔预付款应写成 {quarter, due, amount}")
        advances.append(
            Advance(
                r.text(a, "quarter", f"{key}.quarter"),
                r.date(a, "due", f"{key}.due"),
                r.money(a, "amount", f"{key}.amount"),
            )
        )
    return tuple(advances)


def _subsidy_rule(r: Reader, payment: dict[str, Any], grades: tuple[Grade, ...]) -> dict[str, str]:
    rules = r.section(payment, "subsidy_rule", "payment.subsidy_rule")
    out = {str(k): str(v) for k, v in rules.items()}
    for g in grades:
        key = f"payment.subsidy_rule.{g.id}"
        r.choice(out, g.id, key, SUBSIDY_RULES)
    return out


ENTRY_LISTS = (
    "appeals.open_statuses",
    "institutions.active_statuses",
    "staff.education_levels",
    "staff.title_levels",
)
_PARTIAL_LISTS = (
    "appeals.closed_statuses",
    "appeals.not_accepted_statuses",
    "institutions.inactive_statuses",
    "staff.qualified_education",
    "staff.qualified_title",
)


def _entry_lists(r: Reader, raw: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """The optional full lists of the templates' drop-downs by YAML key (absent: empty), checked
    against the lists the KPIs read (:func:`~.validate.check_entry_lists`)."""

    def words(key: str) -> tuple[str, ...]:
        section, name = key.split(".")
        mapping = r.section(raw, section)
        return r.words(mapping, name, key) if mapping.get(name) is not None else ()

    lists = {key: words(key) for key in ENTRY_LISTS}
    check_entry_lists(r, lists, {key: words(key) for key in _PARTIAL_LISTS})
    return lists


def _build(raw: dict[str, Any], r: Reader) -> Contract:
    head = r.section(raw, "contract")
    start = r.date(head, "period_start", "contract.period_start")
    end = r.date(head, "period_end", "contract.period_end")
    check_period(r, start, end)
    keywords = r.section(raw, "keywords")
    formats = r.section(keywords, "format", "keywords.format")
    tags = r.section(keywords, "tags", "keywords.tags")
    appeals = r.section(raw, "appeals")
    staff = r.section(raw, "staff")
    kpis = _kpis(r, raw)
    grades = _grades(r, raw)
    bonus = r.section(raw, "bonus")
    awards = r.section(bonus, "awards", "bonus.awards")
    bonus_kpi = r.text(bonus, "beyond_target_kpi", "bonus.beyond_target_kpi")
    if bonus_kpi not in {k.id for k in kpis}:
        raise r.fail("bonus.beyond_target_kpi", f"{bonus_kpi!r} 不是本合同的 KPI")
    entry = _entry_lists(r, raw)
    payment = r.section(raw, "payment")
    total = r.money(payment, "total", "payment.total")
    advances = _advances(r, payment)
    if sum((a.amount for a in advances), Decimal(0)) > total:
        raise r.fail("payment.advances", f"预付款合计超过合同总额 {total}")
    deduction = r.decimal(payment, "unqualified_deduction", "payment.unqualified_deduction", "比例")
    if deduction > 1:
        raise r.fail(
            "payment.unqualified_deduction", f"扣减比例应在 0 到 1 之间，实际为 {deduction}"
        )
    return Contract(
        name=r.text(head, "name", "contract.name"),
        buyer=str(r.get(head, "buyer", "contract.buyer", "") or "").strip(),
        period_start=start,
        period_end=end,
        format_keywords={
            k: r.words(formats, k, f"keywords.format.{k}") for k in ("offline", "online")
        },
        tag_keywords={str(k): r.words(tags, k, f"keywords.tags.{k}") for k in tags},
        not_accepted_statuses=r.words(
            appeals, "not_accepted_statuses", "appeals.not_accepted_statuses"
        ),
        closed_statuses=r.words(appeals, "closed_statuses", "appeals.closed_statuses"),
        inactive_statuses=r.words(
            r.section(raw, "institutions"), "inactive_statuses", "institutions.inactive_statuses"
        ),
        qualified_education=r.words(staff, "qualified_education", "staff.qualified_education"),
        qualified_title=r.words(staff, "qualified_title", "staff.qualified_title"),
        livestream_min_per_month=r.count(
            r.section(raw, "livestream"), "min_online_per_month", "livestream.min_online_per_month"
        ),
        kpis=kpis,
        at_risk_ratio=r.number(
            r.section(raw, "pace_status"), "at_risk_ratio", "pace_status.at_risk_ratio"
        ),
        grades=grades,
        bonus_cap=r.number(bonus, "cap", "bonus.cap"),
        award_points={str(k): r.number(awards, k, f"bonus.awards.{k}") for k in awards},
        course_bonus=r.number(bonus, "course_beyond_target", "bonus.course_beyond_target"),
        bonus_kpi=bonus_kpi,
        total=total,
        advances=advances,
        subsidy_rule=_subsidy_rule(r, payment, grades),
        unqualified_deduction=deduction,
        source=r.source,
        open_statuses=entry["appeals.open_statuses"],
        active_statuses=entry["institutions.active_statuses"],
        education_levels=entry["staff.education_levels"],
        title_levels=entry["staff.title_levels"],
    )
