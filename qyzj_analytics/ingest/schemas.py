"""The tables of the input contract and of the processed layer, in one place (DESIGN "Raw exports").

A :class:`TableSpec` lists each canonical column with the headers accepted for it, its value kind
and whether it is required. :func:`recognize_header` decides which table a header row belongs to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

Kind = Literal["text", "date", "count", "yesno", "code"]


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical column: accepted headers (already normalised), value kind, required or not."""

    name: str
    headers: tuple[str, ...]
    kind: Kind = "text"
    required: bool = False


@dataclass(frozen=True)
class TableSpec:
    """One table of the input contract."""

    name: str
    name_zh: str
    columns: tuple[ColumnSpec, ...]
    one_of: tuple[str, ...] = ()  # at least one of these columns is required
    # Columns that identify a duplicate (text compared as key text); empty means "all canonical
    # columns, as they are". In a table with a credit_code column (services), "enterprise" stands
    # for the credit code, else the enterprise name.
    dedupe_on: tuple[str, ...] = ()
    dated_by: str | None = None  # the column that dates a row (KPI counting, data freshness)

    def column(self, name: str) -> ColumnSpec:
        """The spec of canonical column ``name``."""
        return next(c for c in self.columns if c.name == name)

    @property
    def required(self) -> tuple[str, ...]:
        """Canonical columns that must be present."""
        return tuple(c.name for c in self.columns if c.required)

    @property
    def date_columns(self) -> tuple[str, ...]:
        """Canonical columns holding dates."""
        return tuple(c.name for c in self.columns if c.kind == "date")


def _col(name: str, headers: str, kind: Kind = "text", required: bool = False) -> ColumnSpec:
    return ColumnSpec(name, tuple(headers.split()), kind, required)


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "activities",
            "活动台账",
            (
                _col("title", "活动名称 活动主题 活动标题", required=True),
                _col("date", "活动时间 活动日期 日期 举办时间", "date", required=True),
                _col("format", "活动形式 形式 举办形式"),
                _col("category", "活动类型 活动类别 类别 类型"),
                _col("location", "活动地点 地点 园区"),
                _col("enterprises", "参与企业数 服务企业数 企业数", "count"),
                _col("participants", "参与人数 人数", "count"),
            ),
            dedupe_on=("title", "date"),
            dated_by="date",
        ),
        TableSpec(
            "services",
            "企业服务记录",
            (
                _col("enterprise", "企业名称 服务企业 企业"),
                _col("credit_code", "统一社会信用代码 信用代码", "code"),
                _col("date", "服务日期 服务时间 日期", "date", required=True),
                _col("service_type", "服务类型 服务内容 服务事项"),
                _col("above_scale", "是否规上 规上企业 企业规模", "yesno"),
            ),
            one_of=("enterprise", "credit_code"),
            dedupe_on=("enterprise", "date", "service_type"),
            dated_by="date",
        ),
        TableSpec(
            "appeals",
            "企业诉求",
            (
                _col("appeal_id", "诉求编号 编号 工单号", required=True),
                _col("enterprise", "企业名称"),
                _col("received", "提交时间 受理时间 诉求时间", "date", required=True),
                _col("status", "办理状态 状态", required=True),
                _col("closed", "办结时间 完成时间", "date"),
            ),
            dedupe_on=("appeal_id",),
            dated_by="received",
        ),
        TableSpec(
            "publications",
            "信息发布",
            (
                _col("date", "发布日期 发布时间", "date", required=True),
                _col("title", "标题 文章标题", required=True),
                _col("channel", "渠道 发布平台 平台"),
            ),
            dedupe_on=("title", "date", "channel"),
            dated_by="date",
        ),
        TableSpec(
            "institutions",
            "服务机构",
            (
                _col("name", "机构名称 服务机构", required=True),
                _col("joined", "入驻日期 加入日期", "date"),
                _col("status", "状态 是否活跃"),
            ),
            dated_by="joined",
        ),
        TableSpec(
            "experts",
            "志愿服务专家",
            (
                _col("name", "姓名 专家姓名", required=True),
                _col("appointed", "聘任日期 加入日期", "date"),
            ),
            dated_by="appointed",
        ),
        TableSpec(
            "courses",
            "名师优课",
            (
                _col("title", "课程名称", required=True),
                _col("accepted", "录用日期", "date"),
            ),
            dated_by="accepted",
        ),
        TableSpec(
            "staff",
            "人员",
            (
                _col("name", "姓名", required=True),
                _col("fulltime_ops", "是否专职运营 专职运营", "yesno", required=True),
                _col("education", "学历"),
                _col("title_level", "职称"),
            ),
        ),
    )
}

LINEAGE = ("source_file", "source_sheet", "source_row")


@dataclass(frozen=True)
class HeaderAliases:
    """Headers a user added in ``columns.yaml``: table -> canonical column -> normalised headers.

    Immutable and passed down explicitly (no global state); the empty default changes nothing.
    """

    extra: Mapping[str, Mapping[str, tuple[str, ...]]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def for_table(self, table: str) -> Mapping[str, tuple[str, ...]]:
        """Canonical column -> extra headers of ``table`` (empty when none were mapped)."""
        return self.extra.get(table, _NO_EXTRA)


_NO_EXTRA: Mapping[str, tuple[str, ...]] = MappingProxyType({})
NO_ALIASES = HeaderAliases()


@dataclass
class HeaderMatch:
    """How one header row matches one table."""

    table: str
    columns: dict[str, int] = field(default_factory=dict)  # canonical column -> position
    missing: tuple[str, ...] = ()
    duplicates: dict[str, list[int]] = field(default_factory=dict)
    # canonical column -> positions of its other accepted headers, in order of preference
    alternates: dict[str, list[int]] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """All required columns are present."""
        return not self.missing

    @property
    def score(self) -> int:
        """How many canonical columns the header row supplies."""
        return len(self.columns)


def match_table(
    cells: Sequence[str], spec: TableSpec, extra: Mapping[str, tuple[str, ...]] = _NO_EXTRA
) -> HeaderMatch:
    """Match normalised header ``cells`` against one table's accepted headers.

    ``extra`` adds headers per canonical column (from ``columns.yaml``), after the built-in ones.
    """
    columns: dict[str, int] = {}
    duplicates: dict[str, list[int]] = {}
    alternates: dict[str, list[int]] = {}
    for col in spec.columns:
        accepted = col.headers + extra.get(col.name, ())
        positions = [i for i, cell in enumerate(cells) if cell in accepted]
        if not positions:
            continue
        by_header: dict[str, list[int]] = {}
        for i in positions:
            by_header.setdefault(cells[i], []).append(i)
        repeated = [p for ps in by_header.values() if len(ps) > 1 for p in ps]
        if repeated:
            duplicates[col.name] = repeated
        # the first accepted header (in the spec's order of preference) wins
        first = min(positions, key=lambda i: (accepted.index(cells[i]), i))
        columns[col.name] = first
        others = sorted(by_header.values(), key=lambda ps: accepted.index(cells[ps[0]]))[1:]
        if others:
            alternates[col.name] = [ps[0] for ps in others]
    missing = [c for c in spec.required if c not in columns]
    if spec.one_of and not any(c in columns for c in spec.one_of):
        missing.append("/".join(spec.one_of))
    return HeaderMatch(spec.name, columns, tuple(missing), duplicates, alternates)


def name_tables(tables: Sequence[str]) -> str:
    """Tables by their Chinese names, as messages name a missing export.

    >>> name_tables(["appeals", "staff"])
    '企业诉求、人员'
    """
    return "、".join(TABLES[t].name_zh for t in tables)


def recognize_header(
    raw_cells: Sequence[object], aliases: HeaderAliases = NO_ALIASES
) -> list[HeaderMatch]:
    """Every table a raw header row could belong to, best first.

    The complete matches (all required headers present) come first, by how many headers they
    match; incomplete ones follow, also by score. ``aliases`` adds the headers of ``columns.yaml``.
    """
    from qyzj_analytics.ingest.parse import normalize_header  # (importing schemas needs no pandas)

    cells = [normalize_header(c) for c in raw_cells]
    matches = [match_table(cells, spec, aliases.for_table(spec.name)) for spec in TABLES.values()]
    return sorted(matches, key=lambda m: (not m.complete, -m.score))


def describe_column(table: str, column: str) -> str:
    """A column for messages: its canonical name and the headers accepted for it."""
    spec = TABLES[table]
    names = column.split("/")
    heads = "/".join(h for n in names for h in spec.column(n).headers)
    return f"{column}（{heads}）"
