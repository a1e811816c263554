"""Duplicates across overlapping exports (DESIGN "Duplicates"): keys, kept rows, duplicate rows.

The columns that identify a duplicate come from each table's :attr:`TableSpec.dedupe_on`.
Duplicates are reported with the row they duplicate, never silently dropped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from qyzj_analytics.ingest.parse import factorize_values, key_text, key_texts
from qyzj_analytics.ingest.processed import fill_constant
from qyzj_analytics.ingest.quality import DUPLICATE_COLUMNS
from qyzj_analytics.ingest.rows import take_rows
from qyzj_analytics.ingest.schemas import LINEAGE, TABLES, TableSpec

# DESIGN "KPI semantics": the statuses of a closed appeal (the 2025 contract YAML lists the same)
DEFAULT_CLOSED_STATUSES = ("已办结", "办结", "已完成", "已解决")


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
    """The credit code where there is one, else the normalised enterprise name."""
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
    """Integer codes of the columns that identify a duplicate: ``spec.dedupe_on`` (DESIGN
    "Duplicates").

    Text is compared after :func:`key_text` (NFKC, no zero-width characters, quotes or spaces,
    case-folded), other columns (dates) as they are. In a table with a credit code,
    ``"enterprise"`` stands for the credit code where there is one, else the enterprise name.
    A table without ``dedupe_on`` compares all its canonical columns as they are.
    """
    if not spec.dedupe_on:
        return [_codes(frame[c.name]) for c in spec.columns]
    return [_key_codes(frame, spec, name) for name in spec.dedupe_on]


def _key_codes(frame: pd.DataFrame, spec: TableSpec, name: str) -> np.ndarray:
    """The codes of one ``dedupe_on`` column (see :func:`dedupe_keys`)."""
    if name == "enterprise" and any(c.name == "credit_code" for c in spec.columns):
        return _enterprise_codes(frame)
    return _codes(frame[name], key_text if spec.column(name).kind == "text" else None)


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
    return dedupe_rows(frame, table, closed_statuses)


def dedupe_rows(
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
            "table": fill_constant(table, len(dup_idx)),
            "source_file": _lineage(lineage["source_file"], dup_idx),
            "source_sheet": _lineage(lineage["source_sheet"], dup_idx),
            "source_row": lineage["source_row"].to_numpy()[dup_idx],
            "kept_file": _lineage(lineage["source_file"], kept_idx),
            "kept_sheet": _lineage(lineage["source_sheet"], kept_idx, compact=False),
            "kept_row": lineage["source_row"].to_numpy()[kept_idx],
        },
        columns=DUPLICATE_COLUMNS,
        index=pd.RangeIndex(len(dup_idx)),
    )
    rows = np.ones(len(frame), bool) if keep is None else keep.copy()
    rows[dup_idx] = False
    return take_rows(frame, rows), duplicates


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


def _lineage(column: pd.Series, rows: np.ndarray, compact: bool = True) -> Any:
    """``column`` at ``rows``: a ``Categorical`` stays compact (codes only, text on look-up).

    With ``compact=False`` the values come out as objects (``kept_sheet``: a parquet column of
    nulls for CSV rows, as it always was).
    """
    values = column.array
    if not isinstance(values, pd.Categorical):
        return column.to_numpy()[rows]
    codes = values.codes[rows]
    if not compact:
        if not (codes >= 0).any():
            return np.full(len(rows), None, dtype=object)
        return column.to_numpy(dtype=object)[rows]
    return pd.Categorical.from_codes(codes, dtype=values.dtype, validate=False)


def _kept(frame: pd.DataFrame, keep: np.ndarray | None) -> pd.DataFrame:
    return frame if keep is None else take_rows(frame, keep)
