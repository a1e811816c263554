"""Cleaning: raw cells → typed, validated, deduplicated tables, with every row accounted for.

For each file, ``rows read = rows kept + rows rejected + duplicates + summary rows`` (blank rows are
not rows). Rejected rows carry file, sheet, row, column, value and reason; duplicates carry the row
they duplicate. Processed tables keep only the canonical columns plus lineage.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api.types import union_categoricals

from qyzj_analytics.errors import DataError
from qyzj_analytics.ingest.parse import (
    DistinctParse,
    credit_codes_valid,
    factorize_values,
    is_empty,
    key_text,
    key_texts,
    normalize_credit_code,
    normalize_text,
    parse_count,
    parse_date,
    parse_distinct,
    parse_yes_no,
)
from qyzj_analytics.ingest.raw import RawExports, RawFile, RawTable
from qyzj_analytics.ingest.schemas import LINEAGE, TABLES, TableSpec
from qyzj_analytics.ingest.workers import worker_pool

ISSUE_COLUMNS = ["table", *LINEAGE, "column", "value", "reason"]
DUPLICATE_COLUMNS = ["table", *LINEAGE, "kept_file", "kept_sheet", "kept_row"]
QUALITY_COLUMNS = [
    "rows_read",
    "rows_kept",
    "rows_rejected",
    "duplicates",
    "summary_rows",
    "blank_rows",
]
_NAT = np.datetime64("NaT", "D")


class ProcessedTables(Mapping[str, pd.DataFrame]):
    """The processed tables by name, each built on first look-up.

    Cleaning keeps text columns as ``Categorical`` codes; a table's text becomes ``str`` (one
    string per row) the first time the table is looked up. :func:`write_processed` writes the
    parquet files straight from the codes, so ``qyzj clean`` never builds the strings.
    """

    def __init__(self, compact: dict[str, pd.DataFrame]) -> None:
        self._compact = compact
        self._tables: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = _materialize(self._compact[name])
        return table

    def __iter__(self) -> Iterator[str]:
        return iter(self._compact)

    def __len__(self) -> int:
        return len(self._compact)

    def __repr__(self) -> str:
        return f"ProcessedTables({list(self._compact)})"

    def compact(self, name: str) -> pd.DataFrame:
        """Table ``name`` with its text columns still ``Categorical`` (do not modify it)."""
        return self._compact[name]


@dataclass
class CleanResult:
    """The processed layer: clean tables, rejected rows, duplicates, warnings, per-file counts."""

    tables: Mapping[str, pd.DataFrame]  # a ProcessedTables, or any mapping of finished tables
    rejected: pd.DataFrame
    duplicates: pd.DataFrame
    warnings: pd.DataFrame
    files: pd.DataFrame  # one row per (file, table): the conservation counts
    raw_files: list[RawFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[DataError] = field(default_factory=list)


def empty_table(table: str) -> pd.DataFrame:
    """A processed table with no rows but the right columns and dtypes."""
    spec = TABLES[table]
    data: dict[str, pd.Series] = {}
    for col in spec.columns:
        data[col.name] = pd.Series([], dtype=_DTYPES[col.kind])
    if table == "services":
        data["credit_code_valid"] = pd.Series([], dtype=bool)
    data["source_file"] = pd.Series([], dtype="str")
    data["source_sheet"] = pd.Series([], dtype="str")
    data["source_row"] = pd.Series([], dtype="int64")
    return pd.DataFrame(data)


_DTYPES = {
    "text": "str",
    "code": "str",
    "date": "datetime64[s]",
    "count": "Int64",
    "yesno": "bool",
}
_PARSERS = {
    "text": normalize_text,
    "code": normalize_credit_code,
    "date": parse_date,
    "count": parse_count,
    "yesno": parse_yes_no,
}
# DESIGN "KPI semantics": the statuses of a closed appeal (the 2025 contract YAML lists the same)
DEFAULT_CLOSED_STATUSES = ("已办结", "办结", "已完成", "已解决")


def _typed(parsed: DistinctParse, kind: str) -> pd.Series | pd.Categorical | np.ndarray:
    """The parsed values of one column, one per row, in the processed dtype of ``kind``.

    Text comes back as a ``Categorical`` (codes into the distinct values): cleaning and dedupe
    then move small integers instead of strings, and :func:`_materialize` turns the surviving
    rows into ``str`` once at the end.
    """
    results, take = parsed.results, parsed.take
    if kind == "date":
        days = np.array([np.datetime64(d, "D") if d else _NAT for d in results], "datetime64[D]")
        return days.astype("datetime64[s]")[take]
    if kind == "count":
        return pd.array(results, dtype="Int64").take(take)
    if kind == "yesno":
        return np.asarray(results, dtype=bool)[take]
    codes, categories = pd.factorize(np.asarray(results, dtype=object), use_na_sentinel=True)
    codes = codes.astype(np.min_scalar_type(-len(categories) - 1))  # as small as pandas keeps
    return pd.Categorical.from_codes(codes[take], categories=pd.Index(categories, dtype=object))


def _constant(value: str | None, n: int) -> pd.Categorical:
    """``n`` copies of ``value`` (None: missing) as a ``Categorical`` (see :func:`_typed`)."""
    codes = np.full(n, -1 if value is None else 0, np.int8)
    return pd.Categorical.from_codes(
        codes, categories=pd.Index([] if value is None else [value], dtype=object)
    )


def _absent(kind: str, n: int) -> pd.Series | pd.Categorical | np.ndarray:
    """An optional column the file does not have: all missing (``False`` for yes/no)."""
    if kind == "text" or kind == "code":
        return _constant(None, n)
    if kind == "yesno":
        return np.zeros(n, bool)
    if kind == "date":
        return np.full(n, _NAT).astype("datetime64[s]")
    return pd.arrays.IntegerArray(np.zeros(n, np.int64), np.ones(n, bool))


def _decoded(column: pd.Series) -> pa.Array:
    """A ``Categorical`` column as an arrow string array (missing values are nulls).

    Built as a dictionary array and cast to strings: arrow copies each row's string in C++,
    about three times faster than a ``take`` on the labels.
    """
    if not (column.array.codes >= 0).any():  # e.g. the sheet of a CSV
        return pa.nulls(len(column), pa.large_string())
    return _dictionary(column).cast(pa.large_string())


def _dictionary(column: pd.Series) -> pa.DictionaryArray:
    """A ``Categorical`` column as an arrow dictionary array (missing values are nulls)."""
    codes = column.array.codes
    missing = codes < 0
    indices = pa.array(codes, mask=missing if missing.any() else None)
    labels = pa.array(column.cat.categories.to_numpy(dtype=object), pa.large_string())
    return pa.DictionaryArray.from_arrays(indices, labels)


def _materialize(frame: pd.DataFrame) -> pd.DataFrame:
    """Every ``Categorical`` column of ``frame`` as a ``str`` column."""
    data = {
        n: pd.Series(_decoded(c).to_pandas(), dtype="str", index=frame.index)
        if isinstance(c.dtype, pd.CategoricalDtype)
        else c
        for n, c in frame.items()
    }
    return pd.DataFrame(data, index=frame.index)


def _concat_parts(
    parts: list[tuple[pd.DataFrame, np.ndarray | None]],
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Row-wise concatenation that keeps ``Categorical`` columns categorical (and the masks)."""
    if len(parts) == 1:
        return parts[0]
    frames = [p for p, _ in parts]
    keep = None
    if any(k is not None for _, k in parts):
        keep = np.concatenate([np.ones(len(p), bool) if k is None else k for p, k in parts])
    data: dict[str, Any] = {}
    for name in frames[0].columns:
        columns = [p[name] for p in frames]
        if all(isinstance(c.dtype, pd.CategoricalDtype) for c in columns):
            data[name] = union_categoricals([c.array for c in columns])
        else:
            data[name] = pd.concat(columns, ignore_index=True)
    return pd.DataFrame(data, index=pd.RangeIndex(sum(len(p) for p in frames))), keep


def _issues(
    raw: RawTable, rows: np.ndarray, column: Iterable[str], value: Iterable, reason: Iterable
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "table": raw.table,
            "source_file": raw.file,
            "source_sheet": raw.sheet,
            "source_row": raw.source_row[rows],
            "column": list(column),
            "value": ["" if is_empty(v) else str(v) for v in value],
            "reason": list(reason),
        },
        columns=ISSUE_COLUMNS,
    )


def clean_raw_table(raw: RawTable) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Parse and validate one sheet's rows.

    Returns:
        ``(kept, rejected, warnings)`` as described in :func:`_clean_raw_table`, text as ``str``.
    """
    rows, keep, rejected, warnings = _clean_raw_table(raw)
    kept = rows if keep is None else _take(rows, keep)
    return _materialize(kept), rejected, warnings


def _clean_raw_table(
    raw: RawTable,
) -> tuple[pd.DataFrame, np.ndarray | None, pd.DataFrame, pd.DataFrame]:
    """Parse and validate one sheet's rows (text columns stay ``Categorical``).

    Each column is parsed through its distinct values (:func:`parse_distinct`), so the cost
    follows the number of distinct values, not rows.

    Returns:
        ``(rows, keep, rejected, warnings)``. Blank and summary rows are in none of them; each
        other row is in ``rows``, and either kept (``keep``, a mask of ``rows``; None: all) or
        in ``rejected`` (with the first failing column, as the file's header spells it, the
        raw value and the reason); ``warnings`` notes kept rows with an unreadable count or a
        credit code failing its check digit. (The rejected rows are dropped together with the
        duplicates, in one copy.)
    """
    spec = TABLES[raw.table]
    live = _live_rows(raw)
    n = len(raw.source_row[live])
    frame = raw.frame if n == len(raw.frame) else _take(raw.frame, live)
    rejected_by = np.full(n, -1, dtype=np.int16)  # index into `checked` of the failing column
    checked: list[str] = []
    why: list[tuple[np.ndarray, np.ndarray] | str] = []  # per checked column: reasons, take
    unusable: dict[str, np.ndarray] = {}  # canonical column -> per distinct value: no value
    parsed_of: dict[str, DistinctParse] = {}
    warn_parts: list[pd.DataFrame] = []
    out: dict[str, Any] = {}
    for col in spec.columns:
        if col.name not in frame:
            if col.required:  # cannot happen: the header match guarantees required columns
                raise AssertionError(col.name)
            out[col.name] = _absent(col.kind, n)
            continue
        parsed = parse_distinct(frame[col.name], _PARSERS[col.kind])
        parsed_of[col.name] = parsed
        out[col.name] = _typed(parsed, col.kind)
        failed_d = np.array([r is not None for r in parsed.reasons], dtype=bool)
        empty_d = np.array([r is None for r in parsed.results], dtype=bool) & ~failed_d
        unusable[col.name] = failed_d | empty_d
        if col.kind == "count":  # an unreadable count is a warning, not a rejection
            idx = np.flatnonzero(failed_d[parsed.take]) if failed_d.any() else []
            if len(idx):
                warn_parts.append(
                    _issues(
                        raw,
                        _positions(live, idx),
                        [raw.header_text(col.name)] * len(idx),
                        frame[col.name].iloc[idx],
                        [f"{e}，按空值处理" for e in parsed.row_reasons()[idx]],
                    )
                )
            continue
        reasons_d = np.asarray(parsed.reasons, dtype=object)
        if col.required:
            reasons_d = np.where(empty_d, "必填列为空", reasons_d)
            failed_d = failed_d | empty_d
        if not failed_d.any():
            continue
        new = failed_d[parsed.take] & (rejected_by < 0)
        rejected_by[new] = len(checked)
        checked.append(col.name)
        why.append((reasons_d, parsed.take))
    if spec.one_of:
        present = [c for c in spec.one_of if c in unusable]
        # (a column with a value in every row leaves no row without both)
        if all(unusable[c].any() for c in present):
            none = np.ones(n, bool)
            for c in present:
                none &= unusable[c][parsed_of[c].take]
            new = none & (rejected_by < 0)
            if new.any():
                rejected_by[new] = len(checked)
                checked.append(next((c for c in spec.one_of if c in frame), spec.one_of[0]))
                why.append(f"{' 和 '.join(raw.header_text(c) for c in spec.one_of)} 都为空")
    if raw.table == "services":
        valid = np.ones(n, bool)
        if "credit_code" in parsed_of:
            parsed = parsed_of["credit_code"]
            results = parsed.results
            valid_d = credit_codes_valid(results) | np.array([r is None for r in results])
            if not valid_d.all():
                valid = valid_d[parsed.take]
        out["credit_code_valid"] = valid
        bad = np.flatnonzero(~valid & (rejected_by < 0))
        if len(bad):
            warn_parts.append(
                _issues(
                    raw,
                    _positions(live, bad),
                    [raw.header_text("credit_code")] * len(bad),
                    out["credit_code"][bad],
                    ["统一社会信用代码校验位不符或长度不是 18 位（已保留并标记）"] * len(bad),
                )
            )
    out["source_file"] = _constant(raw.file, n)
    out["source_sheet"] = _constant(raw.sheet, n)
    out["source_row"] = raw.source_row[live].astype(np.int64)  # (a copy, never a view of raw)
    idx = np.flatnonzero(rejected_by >= 0)
    values = np.full(len(idx), None, dtype=object)
    reason = np.full(len(idx), None, dtype=object)
    for k, name in enumerate(checked):  # the raw value of each row's failing column, and why
        rows = np.flatnonzero(rejected_by[idx] == k)
        if name in frame and len(rows):
            values[rows] = frame[name].iloc[idx[rows]].to_numpy(dtype=object)
        cause = why[k]
        reason[rows] = cause if isinstance(cause, str) else cause[0][cause[1][idx[rows]]]
    headers = [raw.header_text(checked[k]) for k in rejected_by[idx]]
    rejected = _issues(raw, _positions(live, idx), headers, values, reason)
    parsed_rows = pd.DataFrame(out, index=pd.RangeIndex(n), copy=False)
    warnings = pd.concat(warn_parts, ignore_index=True) if warn_parts else _no_issues()
    return parsed_rows, (rejected_by < 0 if len(idx) else None), rejected, warnings


Rows = np.ndarray | slice  # row positions, a boolean mask, or a range as a slice (no copies)


def _live_rows(raw: RawTable) -> Rows:
    """The rows of ``raw`` neither blank nor summary: a slice when they are one run of rows.

    (A summary row at the end of an export is common; a slice keeps the columns as views.)
    """
    dead = raw.blank | raw.summary
    if not dead.any():
        return slice(0, len(dead))
    if dead.all():
        return slice(0, 0)
    start = int(np.argmin(dead))
    stop = len(dead) - int(np.argmin(dead[::-1]))
    if not dead[start:stop].any():
        return slice(start, stop)
    return np.flatnonzero(~dead)


def _positions(rows: Rows, idx: np.ndarray) -> np.ndarray:
    """``rows[idx]`` as positions, for a slice ``rows`` too."""
    if isinstance(rows, slice):
        return np.asarray(idx, dtype=np.int64) + rows.start
    return rows[idx]


def _take(frame: pd.DataFrame, rows: Rows) -> pd.DataFrame:
    """The rows ``rows`` of ``frame``, renumbered from 0 (one ``take`` per column)."""
    data = {c: _take_values(frame[c].array, rows) for c in frame}
    n = len(next(iter(data.values()))) if data else len(frame.index[rows])
    return pd.DataFrame(data, index=pd.RangeIndex(n), copy=False)


def _take_values(values: Any, rows: Rows) -> Any:
    """``values[rows]``; a ``Categorical`` takes its codes only (no checks needed)."""
    if isinstance(values, pd.Categorical):
        return pd.Categorical.from_codes(values.codes[rows], dtype=values.dtype, validate=False)
    return values[rows]


def _no_issues() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series([], dtype="int64" if c == "source_row" else "str") for c in ISSUE_COLUMNS}
    )


def _codes(values: pd.Series, normalize: Callable[[Any], Any] | None = None) -> np.ndarray:
    """A non-negative integer per row, equal for equal values (after ``normalize``).

    Missing values are equal to each other (and, with ``normalize``, to values it maps to None).
    """
    if values.dtype.kind == "M":  # dates: whole days, offset to start at 0
        stamps = values.to_numpy()
        missing = np.isnat(stamps)
        if stamps.dtype == np.dtype("datetime64[s]"):  # (the processed tables' dates)
            days = stamps.view(np.int64) // 86_400
        else:
            days = stamps.astype("datetime64[D]").view(np.int64)
        present = ~missing
        low = high = 0
        if present.any():  # (small codes: the dedupe key then fits in an int32)
            low = int(days.min(initial=np.iinfo(np.int64).max, where=present))
            high = int(days.max(initial=np.iinfo(np.int64).min, where=present))
        days -= low  # (in place)
        days[missing] = high - low + 1
        return days
    codes, uniques = factorize_values(values)
    labels = [*uniques, None]
    if normalize is key_text:
        labels = key_texts(labels)
    elif normalize is not None:
        labels = [normalize(u) for u in labels]
    keys = pd.factorize(pd.Series(labels, dtype=object), use_na_sentinel=False)[0]
    return _small(keys)[codes]  # code -1 (missing) picks the trailing None


def _small(codes: np.ndarray) -> np.ndarray:
    """Non-negative ``codes`` in the smallest signed integer type that holds them."""
    return codes.astype(np.min_scalar_type(-int(codes.max(initial=0)) - 1), copy=False)


def _combine(parts: list[np.ndarray]) -> np.ndarray:
    """One integer per row from several non-negative key codes: equal exactly when all are.

    The key is an int32 when the codes fit (hashing those is about three times faster).
    """
    widths = [int(part.max(initial=0)) + 1 for part in parts]
    if math.prod(widths) < 1 << 31:
        key = parts[0].astype(np.int32)
        for part, width in zip(parts[1:], widths[1:], strict=True):
            key *= width  # (in place: no temporary arrays)
            key += part
        return key
    key = np.zeros(len(parts[0]), np.int64)
    size = 1
    for part, width in zip(parts, widths, strict=True):
        if size * width >= 1 << 62:  # would overflow: renumber the key so far
            key = pd.factorize(key)[0].astype(np.int64)
            size = int(key.max(initial=0)) + 1
        key *= width
        key += part
        size *= width
    return key


def _enterprise_codes(frame: pd.DataFrame) -> np.ndarray:
    """Services: the credit code where there is one, else the normalised enterprise name."""
    code_codes, code_uniques = factorize_values(frame["credit_code"])
    name_codes, name_uniques = factorize_values(frame["enterprise"])
    code_uniques, name_uniques = list(code_uniques), list(name_uniques)
    labels = [*code_uniques, *key_texts([*name_uniques, None])]  # one vocabulary for both
    ids = _small(pd.factorize(pd.Series(labels, dtype=object), use_na_sentinel=False)[0])
    code_ids, name_ids = ids[: len(code_uniques)], ids[len(code_uniques) :]
    if not len(code_ids):
        return name_ids[name_codes]  # code -1 (missing name) picks the trailing None
    has_code = code_codes >= 0
    if has_code.all():
        return code_ids[code_codes]
    return np.where(has_code, code_ids[np.maximum(code_codes, 0)], name_ids[name_codes])


def dedupe_keys(frame: pd.DataFrame, spec: TableSpec) -> list[np.ndarray]:
    """Integer codes of the columns that identify a duplicate (DESIGN "Duplicates").

    Text is compared after :func:`key_text` (NFKC, no zero-width characters, quotes or spaces,
    case-folded); tables the design gives no rule for compare all canonical columns.
    """
    table = spec.name
    if table == "activities":
        return [_codes(frame["title"], key_text), _codes(frame["date"])]
    if table == "services":
        return [
            _enterprise_codes(frame),
            _codes(frame["date"]),
            _codes(frame["service_type"], key_text),
        ]
    if table == "appeals":
        return [_codes(frame["appeal_id"], key_text)]
    if table == "publications":
        return [
            _codes(frame["title"], key_text),
            _codes(frame["date"]),
            _codes(frame["channel"], key_text),
        ]
    return [_codes(frame[c.name]) for c in spec.columns]


def dedupe_table(
    frame: pd.DataFrame, table: str, closed_statuses: Iterable[str] = DEFAULT_CLOSED_STATUSES
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a table into kept rows and duplicates (with the row each duplicates).

    The first row in file order is kept, except for appeals, where the most advanced status wins:
    a closed appeal (status in ``closed_statuses``) beats an open one, a closing date beats none.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"appeal_id": ["A1", "A1"], "status": ["办理中", "已办结"],
    ...     "closed": [pd.NaT, pd.Timestamp("2025-03-01")], "source_file": ["a", "b"],
    ...     "source_sheet": [None, None], "source_row": [2, 2]})
    >>> kept, dups = dedupe_table(df, "appeals", ["已办结"])
    >>> kept["status"].tolist(), dups["source_file"].tolist()
    (['已办结'], ['a'])
    """
    return _dedupe(frame, table, closed_statuses)


def _dedupe(
    frame: pd.DataFrame,
    table: str,
    closed_statuses: Iterable[str] = DEFAULT_CLOSED_STATUSES,
    keep: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`dedupe_table` of the rows of ``frame`` where ``keep`` (None: all rows)."""
    spec = TABLES[table]
    if (len(frame) if keep is None else int(keep.sum())) == 0:
        return _kept(frame, keep), pd.DataFrame(columns=DUPLICATE_COLUMNS)
    key = _combine(dedupe_keys(frame, spec))
    if keep is not None:  # rows not kept get keys of their own (negative): never duplicates
        dropped = np.flatnonzero(~keep)
        key[dropped] = -1 - np.arange(len(dropped))
    order = None  # file order
    if table == "appeals":
        closed = frame["status"].isin(list(closed_statuses)).to_numpy(dtype=bool)
        dated = frame["closed"].notna().to_numpy(dtype=bool)
        order = np.lexsort((np.arange(len(key)), ~dated, ~closed))
        key = key[order]
    later = pd.Series(key).duplicated(keep="first").to_numpy()  # positions in `order`
    if not later.any():
        return _kept(frame, keep), pd.DataFrame(columns=DUPLICATE_COLUMNS)
    # the kept row of each duplicate: the first row (in `order`) holding its key
    dup_keys = key[later]
    firsts = _holding(key, dup_keys, ~later)
    kept_pos = firsts[pd.Index(key[firsts]).get_indexer(dup_keys)]
    later = np.flatnonzero(later)
    dup_idx = later if order is None else order[later]
    kept_idx = kept_pos if order is None else order[kept_pos]
    sort = np.argsort(dup_idx, kind="stable")  # duplicates listed in file order
    dup_idx, kept_idx = dup_idx[sort], kept_idx[sort]
    lineage = frame[list(LINEAGE)]
    duplicates = pd.DataFrame(
        {
            "table": table,
            "source_file": lineage["source_file"].iloc[dup_idx].to_numpy(),
            "source_sheet": lineage["source_sheet"].iloc[dup_idx].to_numpy(),
            "source_row": lineage["source_row"].iloc[dup_idx].to_numpy(),
            "kept_file": lineage["source_file"].iloc[kept_idx].to_numpy(),
            "kept_sheet": lineage["source_sheet"].iloc[kept_idx].to_numpy(),
            "kept_row": lineage["source_row"].iloc[kept_idx].to_numpy(),
        },
        columns=DUPLICATE_COLUMNS,
    )
    rows = np.ones(len(frame), bool) if keep is None else keep.copy()
    rows[dup_idx] = False
    return _take(frame, rows), duplicates


def _holding(key: np.ndarray, wanted: np.ndarray, among: np.ndarray) -> np.ndarray:
    """Positions where ``among`` is true and ``key`` is one of ``wanted`` (few keys).

    A bitmap of the keys' low 20 bits rules out most rows at the cost of one lookup each;
    only the rest are looked up in a hash table.
    """
    bits = (1 << 20) - 1
    marked = np.zeros(bits + 1, bool)
    marked[wanted & bits] = True
    maybe = np.flatnonzero(marked[key & bits] & among)
    return maybe[pd.Series(key[maybe]).isin(wanted).to_numpy()]


def _kept(frame: pd.DataFrame, keep: np.ndarray | None) -> pd.DataFrame:
    return frame if keep is None else _take(frame, keep)


def clean_exports(
    exports: RawExports, closed_statuses: Iterable[str] = DEFAULT_CLOSED_STATUSES
) -> CleanResult:
    """Clean every raw table, dedupe each table across files and count every row per file.

    Raises:
        AssertionError: the per-file conservation law does not hold (a bug, never bad input).
    """
    closed = list(closed_statuses)
    kept_parts: dict[str, list[tuple[pd.DataFrame, np.ndarray | None]]] = {t: [] for t in TABLES}
    rejected_parts, warning_parts = [], []
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for raw in exports.tables:
        rows, keep, rejected, warnings = _clean_raw_table(raw)
        kept_parts[raw.table].append((rows, keep))
        rejected_parts.append(rejected)
        warning_parts.append(warnings)
        c = counts.setdefault((raw.file, raw.table), dict.fromkeys(QUALITY_COLUMNS, 0))
        c["rows_read"] += int((~raw.blank).sum())
        c["summary_rows"] += int((raw.summary & ~raw.blank).sum())
        c["blank_rows"] += int(raw.blank.sum())
        c["rows_rejected"] += len(rejected)
    tables: dict[str, pd.DataFrame] = {}
    dup_parts = []
    for table, parts in kept_parts.items():
        parts = [(p, k) for p, k in parts if (len(p) if k is None else k.any())]
        frame, keep = _concat_parts(parts) if parts else (empty_table(table), None)
        kept, dups = _dedupe(frame, table, closed, keep)
        tables[table] = kept
        dup_parts.append(dups)
        kept_by_file = _count_values(kept["source_file"])
        dups_by_file = dups["source_file"].value_counts() if len(dups) else {}
        for (file, tbl), c in counts.items():
            if tbl == table:
                c["rows_kept"] = int(kept_by_file.get(file, 0))
                c["duplicates"] = int(dups_by_file.get(file, 0))
    files = pd.DataFrame(
        [{"file": f, "table": t, **c} for (f, t), c in counts.items()],
        columns=["file", "table", *QUALITY_COLUMNS],
    )
    for row in files.itertuples():
        parts = row.rows_kept + row.rows_rejected + row.duplicates + row.summary_rows
        if parts != row.rows_read:  # a bug, never bad input
            raise AssertionError(f"conservation broken for {row.file}: {row}")
    return CleanResult(
        tables=ProcessedTables(tables),
        rejected=_concat(rejected_parts),
        duplicates=_concat(dup_parts, DUPLICATE_COLUMNS),
        warnings=_concat(warning_parts),
        files=files,
        raw_files=exports.files,
        notes=exports.notes,
        errors=exports.errors,
    )


def _count_values(column: pd.Series) -> Mapping[Any, int]:
    """How often each value occurs in ``column`` (a ``Categorical`` counts its codes)."""
    if not len(column):
        return {}
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return column.value_counts()
    codes = column.array.codes
    counts = np.bincount(codes[codes >= 0] if (codes < 0).any() else codes)
    return dict(zip(column.cat.categories, counts.tolist(), strict=False))


def _concat(parts: list[pd.DataFrame], columns: list[str] = ISSUE_COLUMNS) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return _no_issues() if columns == ISSUE_COLUMNS else pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)


def summarize_quality(result: CleanResult) -> dict[str, dict[str, int]]:
    """Per table: rows read, kept, rejected, duplicates, summary and blank rows (all tables)."""
    by_table = result.files.groupby("table")[QUALITY_COLUMNS].sum()
    return {
        t: {c: int(by_table.loc[t, c]) if t in by_table.index else 0 for c in QUALITY_COLUMNS}
        for t in TABLES
    }


def _stage(path: Path, write: Callable[[str], Any]) -> tuple[Path, Path]:
    """Write what belongs at ``path`` to a temp file beside it; (temp file, ``path``).

    A failed write leaves no temp file behind.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp), path


def _parquet_stats(frame: pd.DataFrame, text: Iterable[str] = ()) -> list[str]:
    """The columns whose min/max statistics are written: all but text (``str`` and ``text``).

    (Statistics of long text columns cost time and serve no reader of ours.)
    """
    skip = set(text)
    return [
        c for c, t in frame.dtypes.items() if c not in skip and not pd.api.types.is_string_dtype(t)
    ]


def _compact(tables: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame:
    """Table ``name``, with its text still ``Categorical`` if ``tables`` keeps it so."""
    return tables.compact(name) if isinstance(tables, ProcessedTables) else tables[name]


def _table_writer(tables: Mapping[str, pd.DataFrame], name: str) -> Callable[[str], None]:
    """What writes ``tables[name]`` as parquet to a path, with the Python part already done.

    A :class:`ProcessedTables` table is written straight from its codes.
    """
    frame = _compact(tables, name)
    text = [c for c, t in frame.dtypes.items() if isinstance(t, pd.CategoricalDtype)]
    if not text or not isinstance(tables, ProcessedTables):
        stats = _parquet_stats(frame)
        return lambda path: frame.to_parquet(path, index=False, write_statistics=stats)
    # The file DataFrame.to_parquet writes for the materialised table: the same schema and
    # metadata (so it reads back with str text), but the text columns reach the parquet writer
    # as dictionaries, which it writes as they are instead of hashing every row's string.
    template = pd.DataFrame(
        {c: pd.Series([], dtype="str") if c in text else frame[c].iloc[:0] for c in frame}
    )
    schema = pa.Schema.from_pandas(template, preserve_index=False)
    rest = pa.Table.from_pandas(frame.drop(columns=text), preserve_index=False)
    arrays = [_dictionary(frame[c]) if c in text else rest.column(c) for c in frame]
    table = pa.Table.from_arrays(arrays, names=list(frame.columns))
    for got, expected in zip(table.schema, schema, strict=True):
        stored = got.type.value_type if pa.types.is_dictionary(got.type) else got.type
        if stored != expected.type:  # a bug, never bad input
            raise AssertionError(f"{name}.{got.name}: {got.type} is not {expected.type}")
    metadata = {
        b"pandas": schema.metadata[b"pandas"],
        b"ARROW:schema": base64.b64encode(schema.serialize().to_pybytes()),
    }
    stats = _parquet_stats(frame, text)
    import pyarrow.parquet as pq  # (only commands that write parquet need it)

    def write(path: str) -> None:
        with pq.ParquetWriter(
            path, table.schema, store_schema=False, write_statistics=stats
        ) as writer:
            writer.write_table(table)
            writer.add_key_value_metadata(metadata)

    return write


_BIG_TABLE = 50_000  # rows: such a table's parquet is written on a worker thread


def write_processed(result: CleanResult, out_dir: Path) -> list[Path]:
    """Write the processed layer to ``out_dir``, every file atomically.

    Writes ``<table>.parquet`` for every table, ``rejected``/``duplicates``/``warnings`` as
    parquet and CSV (UTF-8 with BOM, so Excel opens it), ``quality.csv`` and ``manifest.json``
    (with the SHA-256 of every raw file). Each file is written to a temp file first; only when
    all are written are they renamed into place, the manifest last. A failed write replaces
    nothing and leaves no temp file.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []  # (temp file, destination)

    def parquet(frame: pd.DataFrame, name: str) -> None:
        staged.append(
            _stage(
                out_dir / f"{name}.parquet",
                lambda tmp: frame.to_parquet(
                    tmp, index=False, write_statistics=_parquet_stats(frame)
                ),
            )
        )

    def csv(frame: pd.DataFrame, name: str) -> None:
        staged.append(
            _stage(
                out_dir / f"{name}.csv",
                lambda tmp: frame.to_csv(tmp, index=False, encoding="utf-8-sig"),
            )
        )

    # big tables are written on two worker threads (parquet encoding releases the GIL), the
    # rest here meanwhile ...
    sizes = {t: len(_compact(result.tables, t)) for t in result.tables}
    futures: dict[str, Future[tuple[Path, Path]]] = {}
    written: dict[str, tuple[Path, Path]] = {}  # table -> (temp file, destination)
    try:
        try:
            for t in sorted(result.tables, key=lambda t: -sizes[t]):  # biggest first
                write = _table_writer(result.tables, t)
                if sizes[t] >= _BIG_TABLE:
                    futures[t] = worker_pool().submit(_stage, out_dir / f"{t}.parquet", write)
                else:
                    written[t] = _stage(out_dir / f"{t}.parquet", write)
            for name in ("rejected", "duplicates", "warnings"):
                frame = getattr(result, name)
                parquet(frame.astype({"source_sheet": "str"}) if len(frame) else frame, name)
                csv(frame, name)
            csv(result.files, "quality")
        finally:
            wait(futures.values())  # ... and all are done (or failed) before the manifest
        written.update((t, f.result()) for t, f in futures.items())
        staged[:0] = [written[t] for t in result.tables]
        manifest = {
            "generated_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "files": [f.as_dict() for f in result.raw_files],
            "quality": summarize_quality(result),
            "notes": result.notes,
            "errors": [str(e) for e in result.errors],
        }
        text = json.dumps(manifest, ensure_ascii=False, indent=2)
        staged.append(
            _stage(out_dir / "manifest.json", lambda tmp: Path(tmp).write_text(text, "utf-8"))
        )
    except BaseException:
        done = [f.result() for f in futures.values() if f.done() and f.exception() is None]
        for tmp, _ in [*staged, *written.values(), *done]:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, path in staged:
        os.replace(tmp, path)
    return [path for _, path in staged]
