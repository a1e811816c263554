"""``columns.yaml``: headers a user maps to standard ones, without touching code (DESIGN "Column mapping").

The file sits at the top of the raw folder: table (its Chinese name or its id) → standard header
(the first accepted header of a column, or the canonical column name) → list of headers to
accept. :func:`load_columns` validates it into a :class:`~qyzj_analytics.ingest.schemas.HeaderAliases`;
:func:`column_snippet` writes the ready-to-paste snippet an unrecognised export's error shows.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from qyzj_analytics.errors import DataError, Location
from qyzj_analytics.ingest.parse import normalize_header
from qyzj_analytics.ingest.schemas import NO_ALIASES, TABLES, HeaderAliases, TableSpec
from qyzj_analytics.yamlsafe import MAX_YAML_BYTES, NoAliasLoader, YamlRefused

_GUESS_RATIO = 0.4  # below this a file's header is not offered as a guess


class _StrictLoader(NoAliasLoader):
    """The project's alias-refusing safe loader, also refusing repeated keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """A mapping; a key written twice is an error (YAML would keep only the last)."""
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            if isinstance(key, str | int | float | bool) or key is None:
                if key in seen:
                    raise ValueError(f"第 {key_node.start_mark.line + 1} 行: 键 {key} 重复出现")
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_text(path: Path) -> str:
    """The file's text: UTF-8 (BOM allowed), else GB18030 as Chinese Notepad saves it."""
    if path.stat().st_size > MAX_YAML_BYTES:
        raise YamlRefused(f"文件过大（上限 {MAX_YAML_BYTES:,} 字节），不像手工维护的列名映射")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")  # a UnicodeDecodeError here is a ValueError too


def _table_of(key: str) -> TableSpec | None:
    """The table ``key`` names, by id (``activities``) or Chinese name (``活动台账``)."""
    return next((t for t in TABLES.values() if key in (t.name, t.name_zh)), None)


def load_columns(path: Path | None, name: str | None = None) -> HeaderAliases:
    """Read and validate ``columns.yaml``; ``None`` (no file) maps nothing.

    Raises:
        DataError: YAML error or alias, unknown table, unknown standard header, a value that is
            not a list of strings, or a header mapped to two columns (names the file and key).
    """
    if path is None:
        return NO_ALIASES
    label = name or path.name

    def fail(message: str, key: str | None = None) -> DataError:
        """An error naming the file and, where known, the key (``活动台账.活动名称``)."""
        return DataError(f"列名映射{f' 键 {key}' if key else ''}: {message}", Location(label))

    try:
        raw = yaml.load(_read_text(path), Loader=_StrictLoader)
    except (yaml.YAMLError, ValueError, OSError) as exc:
        raise fail(f"不是有效的 YAML: {_yaml_problem(exc)}") from None
    if raw is None:
        return NO_ALIASES
    if not isinstance(raw, dict):
        raise fail(
            "顶层应为「表名: {标准列名: [表头, ...]}」，例如 活动台账: {活动名称: [活动标题名]}"
        )
    extra: dict[str, dict[str, tuple[str, ...]]] = {}
    for table_key, columns in raw.items():
        spec = _table_of(str(table_key).strip())
        if spec is None:
            known = "、".join(f"{t.name_zh}（{t.name}）" for t in TABLES.values())
            raise fail(f"未知的表 {table_key!r}；允许: {known}", str(table_key))
        if not isinstance(columns, dict):
            raise fail(
                f"{table_key} 下应为「标准列名: [表头, ...]」，实际为 {columns!r}", str(table_key)
            )
        owner = {h: c.name for c in spec.columns for h in c.headers}  # header -> column
        table_extra = extra.setdefault(spec.name, {})
        for col_key, heads in columns.items():
            key = f"{table_key}.{col_key}"
            col = next(
                (c for c in spec.columns if normalize_header(col_key) == c.headers[0]), None
            ) or next((c for c in spec.columns if str(col_key).strip() == c.name), None)
            if col is None:
                known = "、".join(f"{c.headers[0]}（{c.name}）" for c in spec.columns)
                alias = owner.get(normalize_header(col_key))
                hint = (
                    f"（{col_key} 已是内置表头，请写 {spec.column(alias).headers[0]}）"
                    if alias
                    else ""
                )
                raise fail(f"{spec.name_zh} 没有标准列 {col_key!r}{hint}；允许: {known}", key)
            if not isinstance(heads, list) or not all(isinstance(h, str) for h in heads):
                example = f"[{heads}]" if isinstance(heads, str) else "[表头1, 表头2]"
                raise fail(
                    f"应为表头文字的列表，例如 {example}；实际为 {heads!r}（数字请加引号）", key
                )
            for head in heads:
                norm = normalize_header(head)
                if not norm:
                    raise fail(f"{key} 中有空表头 {head!r}", key)
                other = owner.setdefault(norm, col.name)
                if other != col.name:
                    raise fail(
                        f"表头 {head!r} 同时对应 {spec.name_zh} 的两列: "
                        f"{spec.column(other).headers[0]}（{other}）和 {col.headers[0]}"
                        f"（{col.name}）",
                        key,
                    )
                if norm not in col.headers and norm not in table_extra.get(col.name, ()):
                    table_extra[col.name] = (*table_extra.get(col.name, ()), norm)
    return HeaderAliases(MappingProxyType({t: MappingProxyType(c) for t, c in extra.items() if c}))


def _yaml_problem(exc: Exception) -> str:
    """A YAML error in short: where (line, column) and what, without PyYAML's source excerpt."""
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, yaml.MarkedYAMLError) and mark is not None:
        return f"第 {mark.line + 1} 行第 {mark.column + 1} 列附近: {exc.problem}"
    return str(exc)


def _yaml_scalar(text: str) -> str:
    """``text`` as a YAML flow scalar: plain when it reads back unchanged, else double-quoted."""
    try:
        if yaml.safe_load(f"k: [{text}]") == {"k": [text]}:
            return text
    except yaml.YAMLError:
        pass
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def column_snippet(
    table: str, missing: Sequence[str], header: Sequence[Any], aliases: HeaderAliases = NO_ALIASES
) -> str:
    """A ready-to-paste ``columns.yaml`` block mapping ``table``'s ``missing`` columns.

    Each missing required column (``a/b`` for one of several) gets its standard header and, in
    the list, the file's most similar header that no column of the table accepts yet, or ``[]``.

    >>> print(column_snippet("activities", ["title", "date"], ["活动标题名", "举办日子", "备注"]))
    活动台账:
      活动名称: [活动标题名]
      活动时间: [举办日子]
    """
    spec = TABLES[table]
    extra = aliases.for_table(table)
    accepted = {h for c in spec.columns for h in (*c.headers, *extra.get(c.name, ()))}
    free = {}
    for cell in header:
        norm = normalize_header(cell)
        if norm and norm not in accepted:
            free.setdefault(norm, str(cell).strip())
    lines = [f"{spec.name_zh}:"]
    for need in missing:
        options = [spec.column(n) for n in need.split("/")]
        best: tuple[float, str, str] | None = None  # ratio, normalised, column's standard header
        for norm in free:
            for col in options:
                ratio = max(difflib.SequenceMatcher(None, norm, h).ratio() for h in col.headers)
                if ratio >= _GUESS_RATIO and (best is None or ratio > best[0]):
                    best = (ratio, norm, col.headers[0])
        if best is None:
            lines.append(f"  {options[0].headers[0]}: []")
            continue
        lines.append(f"  {best[2]}: [{_yaml_scalar(free.pop(best[1]))}]")
    return "\n".join(lines)
