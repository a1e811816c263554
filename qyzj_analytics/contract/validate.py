"""Typed reading of the contract YAML: every value is checked where it is read, and a problem is
a :class:`~qyzj_analytics.errors.ConfigError` naming the file and the key (``kpis[4].target``).

Also the YAML loader shared with ``facts.yaml``: dates stay text, so ``2025-02-30`` reaches the
checks (and names its key) instead of failing inside PyYAML with a bare ``ValueError``.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

import yaml

from qyzj_analytics.errors import ConfigError
from qyzj_analytics.yamlsafe import NoAliasLoader, load_text

# Years a contract period may lie in: the range the calendars, pandas timestamps and the
# working-day arithmetic handle (DESIGN "KPI semantics"; issue 9 item 5).
PERIOD_YEARS = (1900, 2200)
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class TextDateLoader(NoAliasLoader):
    """A safe loader that leaves unquoted dates as text (the caller parses and names them).

    Aliases are refused (:class:`~qyzj_analytics.yamlsafe.NoAliasLoader`): no alias bomb.
    """


TextDateLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str) -> Any:
    """Parse YAML text with :class:`TextDateLoader`.

    Raises:
        yaml.YAMLError: not YAML.
        ValueError: an alias (:class:`~qyzj_analytics.yamlsafe.YamlRefused`) or a value PyYAML
            cannot construct (e.g. an explicit ``!!timestamp`` that does not exist); callers
            catch both.
    """
    return load_text(text, TextDateLoader)  # a SafeLoader subclass (or its libyaml twin): safe


class Reader:
    """Reads values out of one config file, raising :class:`ConfigError` naming file and key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, message: str) -> ConfigError:
        """The error for ``key`` (e.g. ``kpis[4].target``) of this file."""
        return ConfigError(f"合同配置 {self.source} 的 {key}: {message}")

    def get(self, mapping: dict[str, Any], name: str, key: str, default: Any = ...) -> Any:
        """``mapping[name]``; ``key`` is its full name for messages. Missing without default → error."""
        if name in mapping and mapping[name] is not None:
            return mapping[name]
        if default is not ...:
            return default
        raise self.fail(key, "缺少此配置项")

    def section(self, mapping: dict[str, Any], name: str, key: str | None = None) -> dict[str, Any]:
        """A required mapping (``name: {...}``)."""
        key = key or name
        value = self.get(mapping, name, key)
        if not isinstance(value, dict):
            raise self.fail(key, f"应为键值对，实际为 {_show(value)}")
        return value

    def items(self, mapping: dict[str, Any], name: str, key: str | None = None) -> list[Any]:
        """A required, non-empty list (``name: [...]``)."""
        key = key or name
        value = self.get(mapping, name, key)
        if not isinstance(value, list) or not value:
            raise self.fail(key, f"应为非空列表，实际为 {_show(value)}")
        return value

    def text(self, mapping: dict[str, Any], name: str, key: str, default: Any = ...) -> str:
        """A non-empty text value."""
        value = self.get(mapping, name, key, default)
        if isinstance(value, dict | list) or not str(value).strip():
            raise self.fail(key, f"应为文字，实际为 {_show(value)}")
        return str(value).strip()

    def words(self, mapping: dict[str, Any], name: str, key: str) -> tuple[str, ...]:
        """A list of words (an empty list is allowed, a missing one is not)."""
        value = self.get(mapping, name, key)
        if not isinstance(value, list) or any(isinstance(v, dict | list) for v in value):
            raise self.fail(key, f"应为词语列表，如 [线下, 现场]，实际为 {_show(value)}")
        return tuple(str(v) for v in value)

    def number(
        self,
        mapping: dict[str, Any],
        name: str,
        key: str,
        *,
        minimum: float = 0.0,
        strict: bool = False,
    ) -> float:
        """A finite number ≥ ``minimum`` (> with ``strict``); text, booleans and NaN are errors."""
        value = self.get(mapping, name, key)
        bound = f"大于 {minimum:g} " if strict else f"不小于 {minimum:g} "
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"应为{bound}的数字，实际为 {_show(value)}")
        number = float(value)
        if not math.isfinite(number) or number < minimum or (strict and number == minimum):
            raise self.fail(key, f"应为{bound}的数字，实际为 {_show(value)}")
        return number

    def count(self, mapping: dict[str, Any], name: str, key: str) -> int:
        """A whole number > 0."""
        number = self.number(mapping, name, key, strict=True)
        if not number.is_integer():
            raise self.fail(key, f"应为正整数，实际为 {_show(mapping[name])}")
        return int(number)

    def weight(self, mapping: dict[str, Any], name: str, key: str) -> Fraction:
        """An exact weight > 0: a number or a fraction written ``5/3``."""
        value = self.get(mapping, name, key)
        try:
            if isinstance(value, bool | dict | list):
                raise ValueError
            weight = Fraction(str(value).strip())
        except (ValueError, ZeroDivisionError):
            raise self.fail(key, f"权重应为数字或分数（如 5/3），实际为 {_show(value)}") from None
        if weight <= 0:
            raise self.fail(key, f"权重应大于 0，实际为 {_show(value)}")
        return weight

    def decimal(self, mapping: dict[str, Any], name: str, key: str, what: str = "金额") -> Decimal:
        """An exact decimal ≥ 0 (money is best quoted: ``"468333.00"``)."""
        value = self.get(mapping, name, key)
        try:
            if isinstance(value, bool | dict | list):
                raise InvalidOperation
            number = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            raise self.fail(key, f"{what}无法识别: {_show(value)}") from None
        if not number.is_finite() or number < 0:
            raise self.fail(key, f"{what}应为不小于 0 的数，实际为 {_show(value)}")
        return number

    def money(self, mapping: dict[str, Any], name: str, key: str) -> Decimal:
        """An amount of money ≥ 0, rounded to the cent."""
        return self.decimal(mapping, name, key).quantize(Decimal("0.01"))

    def date(self, mapping: dict[str, Any], name: str, key: str) -> dt.date:
        """A real calendar date written ``YYYY-MM-DD``."""
        value = self.get(mapping, name, key)
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise self.fail(key, f"应为存在的日期 YYYY-MM-DD，实际为 {_show(value)}") from None

    def choice(self, mapping: dict[str, Any], name: str, key: str, allowed: set[str]) -> str:
        """One of ``allowed``."""
        value = self.text(mapping, name, key)
        if value not in allowed:
            raise self.fail(key, f"应为 {'、'.join(sorted(allowed))} 之一，实际为 {_show(value)}")
        return value


def check_period(reader: Reader, start: dt.date, end: dt.date) -> None:
    """The period is ordered and within :data:`PERIOD_YEARS`."""
    first, last = PERIOD_YEARS
    for key, day in (("contract.period_start", start), ("contract.period_end", end)):
        if not first <= day.year <= last:
            raise reader.fail(key, f"{day.isoformat()} 超出支持的年份范围（{first}–{last} 年）")
    if start >= end:
        raise reader.fail(
            "contract.period_end",
            f"服务期结束日 {end.isoformat()} 应晚于开始日 {start.isoformat()}",
        )


def check_weights(reader: Reader, weights: list[Fraction], total: int = 100) -> None:
    """The KPI weights sum to exactly ``total`` (fractions such as 5/3 × 3 count exactly)."""
    got = sum(weights, Fraction(0))
    if got != total:
        raise reader.fail(
            "kpis[*].weight",
            f"各项 KPI 的权重之和应为 {total}，实际为 {float(got):g}"
            f"（{'少' if got < total else '多'} {float(abs(total - got)):g}）",
        )


def check_entry_lists(
    reader: Reader, lists: dict[str, tuple[str, ...]], partial: dict[str, tuple[str, ...]]
) -> None:
    """The full lists of the data-entry drop-downs (``appeals.open_statuses``,
    ``staff.education_levels`` …) agree with the lists the KPIs read.

    ``lists`` and ``partial`` are keyed by their YAML key. A list holds no word twice; the open
    appeal statuses share none with the closed or refused ones, the active institution statuses
    none with the inactive ones; some 学历/职称 level holds a qualifying word (else no choice of
    the drop-down would count).
    """
    for key, words in lists.items():
        twice = sorted({w for w in words if words.count(w) > 1})
        if twice:
            raise reader.fail(key, f"列表中重复出现: {'、'.join(twice)}")
    pairs = (
        ("appeals.open_statuses", "appeals.closed_statuses"),
        ("appeals.open_statuses", "appeals.not_accepted_statuses"),
        ("institutions.active_statuses", "institutions.inactive_statuses"),
    )
    for key, other in pairs:
        both = [w for w in lists.get(key, ()) if w in partial[other]]
        if both:
            raise reader.fail(key, f"{'、'.join(both)} 同时出现在 {other} 中，含义矛盾")
    for key, words in (
        ("staff.education_levels", partial["staff.qualified_education"]),
        ("staff.title_levels", partial["staff.qualified_title"]),
    ):
        levels = lists.get(key, ())
        if levels and not any(w in level for level in levels for w in words):
            raise reader.fail(
                key,
                f"没有任何一级包含达标关键词（{'、'.join(words)}），下拉列表中选不到达标的一级",
            )


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
