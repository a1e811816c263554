"""The hand-kept ``facts.yaml``: office area, service stations, the annual plan and awards.

Validated strictly: a YAML error, an unknown key, an unknown award level or a date that does not
exist (``2025-02-30``) is a :class:`~qyzj_analytics.errors.DataError` naming the file and the entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from qyzj_analytics.contract.validate import load_yaml
from qyzj_analytics.errors import DataError, Location, ParseError
from qyzj_analytics.ingest.parse import parse_date, parse_yes_no
from qyzj_analytics.yamlsafe import YamlRefused, read_yaml_text

FACT_KEYS = {"office_area_m2", "service_stations_built", "annual_plan_filed", "awards"}
AWARD_KEYS = {"level", "name", "date"}


@dataclass(frozen=True)
class Award:
    """An award the platform received."""

    level: str
    name: str
    date: dt.date


@dataclass(frozen=True)
class Facts:
    """What ``facts.yaml`` says; an absent file gives the empty default."""

    office_area_m2: float | None = None
    service_stations_built: int | None = None
    annual_plan_filed: bool | None = None
    awards: tuple[Award, ...] = field(default_factory=tuple)


def load_facts(path: Path | None, award_levels: set[str], name: str | None = None) -> Facts:
    """Read and validate ``facts.yaml``; ``None`` gives empty facts.

    Args:
        path: the file, or None when the raw folder has none.
        award_levels: the levels the contract knows (national, provincial, municipal).
        name: how to name the file in messages (defaults to the file name).

    Raises:
        DataError: YAML error, unknown key, unknown award level or unreadable value.
    """
    if path is None:
        return Facts()
    label = name or path.name

    def fail(message: str, entry: str | None = None) -> DataError:
        """An error naming the file and, where known, the entry (key or ``awards[i]``)."""
        return DataError(message, Location(label, None, None, entry))

    try:
        raw = load_yaml(read_yaml_text(path))  # dates stay text: parsed below
    except YamlRefused as exc:  # an alias (bomb) or an oversized file
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"无法读取文件: {exc.strerror}") from None
    except (yaml.YAMLError, ValueError) as exc:  # UnicodeDecodeError is a ValueError too
        raise fail(f"不是有效的 YAML: {exc}") from None
    if raw is None:
        return Facts()
    if not isinstance(raw, dict):
        raise fail("顶层应为键值对（office_area_m2、awards 等）")
    unknown = sorted(set(map(str, raw)) - FACT_KEYS)
    if unknown:
        raise fail(f"未知的键 {unknown}；允许的键: {sorted(FACT_KEYS)}", unknown[0])
    items = raw.get("awards") or []
    if not isinstance(items, list):
        raise fail("awards 应为列表，每项写成 {level, name, date}", "awards")
    awards = []
    for i, item in enumerate(items, start=1):
        entry = f"awards[{i}]"
        if not isinstance(item, dict):
            raise fail("每个奖项应写成 {level, name, date}", entry)
        extra = sorted(set(map(str, item)) - AWARD_KEYS)
        if extra:
            raise fail(f"未知的键 {extra}；允许的键: {sorted(AWARD_KEYS)}", entry)
        level = str(item.get("level", ""))
        if level not in award_levels:
            raise fail(f"未知的奖项级别 {level!r}；允许: {sorted(award_levels)}", entry)
        try:
            date = parse_date(item.get("date"))
        except ParseError as exc:
            raise fail(str(exc), entry) from None
        if date is None:
            raise fail("奖项缺少日期 date", entry)
        awards.append(Award(level, str(item.get("name", "")), date))
    plan = raw.get("annual_plan_filed")
    return Facts(
        office_area_m2=_number(raw.get("office_area_m2"), "office_area_m2", fail),
        service_stations_built=_count(
            raw.get("service_stations_built"), "service_stations_built", fail
        ),
        annual_plan_filed=None if plan is None else parse_yes_no(plan),
        awards=tuple(awards),
    )


def _number(value: object, key: str, fail: Callable[[str, str], DataError]) -> float | None:
    """A non-negative number, or None when absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise fail(f"{key} 应为非负数，实际为 {value!r}", key)
    return float(value)


def _count(value: object, key: str, fail: Callable[[str, str], DataError]) -> int | None:
    """A non-negative whole number, or None when absent."""
    number = _number(value, key, fail)
    if number is None:
        return None
    if not number.is_integer():
        raise fail(f"{key} 应为整数，实际为 {value!r}", key)
    return int(number)
