"""Cleaning: raw cells → typed, validated, deduplicated tables, with every row accounted for.

For each file, ``rows read = rows kept + rows rejected + duplicates + summary rows`` (blank rows are
not rows). Rejected rows carry file, sheet, row, column, value and reason; duplicates carry the row
they duplicate. Processed tables keep only the canonical columns plus lineage.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api.types import union_categoricals

from qyzj_analytics.errors import DataError
from qyzj_analytics.io import RawExports, RawFile, RawTable
from qyzj_analytics.parse import (
    DistinctParse,
    factorize_values,
    is_empty,
    is_valid_credit_code,
    key_text,
    normalize_credit_code,
    normalize_text,
    parse_count,
    parse_date,
    parse_distinct,
    parse_yes_no,
)
from qyzj_analytics.schemas import LINEAGE, TABLES, TableSpec

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


@dataclass
class CleanResult:
    """The processed layer: clean tables, rejected rows, duplicates, warnings, per-file counts."""

    tables: dict[str, pd.DataFrame]
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


_WORKERS: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """Two threads for arrow work that releases the GIL (building text columns)."""
    global _WORKERS
    if _WORKERS is None:
        _WORKERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="qyzj-clean")
    return _WORKERS


def _decoded(column: pd.Series) -> pa.Array:
    """A ``Categorical`` column as an arrow string array (missing values are nulls).

    Built as a dictionary array and cast to strings: arrow copies each row's string in C++,
    about three times faster than a ``take`` on the labels.
    """
    codes = column.cat.codes.to_numpy()
    if not (codes >= 0).any():  # e.g. the sheet of a CSV
        return pa.nulls(len(codes), pa.large_string())
    labels = pa.array(column.cat.categories.to_numpy(dtype=object), pa.large_string())
    indices = pa.array(codes, mask=codes < 0)
    return pa.DictionaryArray.from_arrays(indices, labels).cast(pa.large_string())


def _materialize(frame: pd.DataFrame) -> pd.DataFrame:
    """Every ``Categorical`` column of ``frame`` as a ``str`` column."""
    data = {
        n: pd.Series(_decoded(c).to_pandas(), dtype="str", index=frame.index)
        if isinstance(c.dtype, pd.CategoricalDtype)
        else c
        for n, c in frame.items()
    }
    return pd.DataFrame(data, index=frame.index)


def _concat_parts(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Row-wise concatenation that keeps ``Categorical`` columns categorical."""
    if len(parts) == 1:
        return parts[0]
    data: dict[str, Any] = {}
    for name in parts[0].columns:
        columns = [p[name] for p in parts]
        if all(isinstance(c.dtype, pd.CategoricalDtype) for c in columns):
            data[name] = union_categoricals([c.array for c in columns])
        else:
            data[name] = pd.concat(columns, ignore_index=True)
    return pd.DataFrame(data, index=pd.RangeIndex(sum(len(p) for p in parts)))


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
    kept, rejected, warnings = _clean_raw_table(raw)
    return _materialize(kept), rejected, warnings


def _clean_raw_table(raw: RawTable) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Parse and validate one sheet's rows (text columns stay ``Categorical``).

    Each column is parsed through its distinct values (:func:`parse_distinct`), so the cost
    follows the number of distinct values, not rows.

    Returns:
        ``(kept, rejected, warnings)``. Blank and summary rows are in none of them; each other
        row is in exactly one of ``kept`` and ``rejected`` (with the first failing column, as
        the file's header spells it, the raw value and the reason); ``warnings`` notes kept
        rows with an unreadable count or a credit code failing its check digit.
    """
    spec = TABLES[raw.table]
    live = np.flatnonzero(~raw.blank & ~raw.summary)
    n = len(live)
    frame = raw.frame
    if n != len(frame):
        frame = frame.take(live).reset_index(drop=True)
    rejected_by = np.full(n, -1, dtype=np.int64)  # index into `checked` of the failing column
    reason = np.full(n, None, dtype=object)
    checked: list[str] = []
    unusable: dict[str, np.ndarray] = {}  # canonical column -> per distinct value: no value
    parsed_of: dict[str, DistinctParse] = {}
    warn_parts: list[pd.DataFrame] = []
    out: dict[str, object] = {}
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
                        live[idx],
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
        reason[new] = reasons_d[parsed.take[new]]
        checked.append(col.name)
    if spec.one_of:
        none = np.ones(n, bool)
        for c in spec.one_of:
            if c in unusable:
                none &= unusable[c][parsed_of[c].take]
        new = none & (rejected_by < 0)
        if new.any():
            rejected_by[new] = len(checked)
            reason[new] = f"{' 和 '.join(raw.header_text(c) for c in spec.one_of)} 都为空"
            checked.append(next((c for c in spec.one_of if c in frame), spec.one_of[0]))
    kept_frame = pd.DataFrame(out, index=pd.RangeIndex(n))
    if raw.table == "services":
        valid = np.ones(n, bool)
        if "credit_code" in parsed_of:
            parsed = parsed_of["credit_code"]
            valid_d = [r is None or is_valid_credit_code(r) for r in parsed.results]
            valid = np.asarray(valid_d, dtype=bool)[parsed.take]
        kept_frame["credit_code_valid"] = valid
        bad = np.flatnonzero(~valid & (rejected_by < 0))
        if len(bad):
            warn_parts.append(
                _issues(
                    raw,
                    live[bad],
                    [raw.header_text("credit_code")] * len(bad),
                    kept_frame["credit_code"].iloc[bad],
                    ["统一社会信用代码校验位不符或长度不是 18 位（已保留并标记）"] * len(bad),
                )
            )
    kept_frame["source_file"] = _constant(raw.file, n)
    kept_frame["source_sheet"] = _constant(raw.sheet, n)
    kept_frame["source_row"] = raw.source_row[live].astype("int64")
    idx = np.flatnonzero(rejected_by >= 0)
    values = np.full(len(idx), None, dtype=object)
    for k, name in enumerate(checked):  # the raw value of each row's failing column
        rows = np.flatnonzero(rejected_by[idx] == k)
        if name in frame and len(rows):
            values[rows] = frame[name].iloc[idx[rows]].to_numpy(dtype=object)
    headers = [raw.header_text(checked[k]) for k in rejected_by[idx]]
    rejected = _issues(raw, live[idx], headers, values, reason[idx])
    kept = kept_frame
    if len(idx):
        kept = kept_frame.take(np.flatnonzero(rejected_by < 0)).reset_index(drop=True)
    warnings = pd.concat(warn_parts, ignore_index=True) if warn_parts else _no_issues()
    return kept, rejected, warnings


def _no_issues() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series([], dtype="int64" if c == "source_row" else "str") for c in ISSUE_COLUMNS}
    )


def _codes(values: pd.Series, normalize: Callable[[Any], Any] | None = None) -> np.ndarray:
    """A non-negative integer per row, equal for equal values (after ``normalize``).

    Missing values are equal to each other (and, with ``normalize``, to values it maps to None).
    """
    if values.dtype.kind == "M":  # dates: whole days, offset to start at 0
        days = values.to_numpy().astype("datetime64[D]").view(np.int64)
        missing = np.isnat(values.to_numpy())
        low = int(days[~missing].min(initial=0))
        high = int(days[~missing].max(initial=0))
        return np.where(missing, high - low + 1, days - low)
    codes, uniques = factorize_values(values)
    labels = [*uniques, None]
    if normalize is not None:
        labels = [normalize(u) for u in labels]
    keys = pd.factorize(pd.Series(labels, dtype=object), use_na_sentinel=False)[0]
    return keys[codes]  # code -1 (missing) picks the trailing None


def _combine(parts: list[np.ndarray]) -> np.ndarray:
    """One integer per row from several non-negative key codes: equal exactly when all are."""
    key = np.zeros(len(parts[0]), np.int64)
    size = 1
    for part in parts:
        part = np.asarray(part, dtype=np.int64)
        width = int(part.max(initial=0)) + 1
        if size * width >= 1 << 62:  # would overflow: renumber the key so far
            key = pd.factorize(key)[0].astype(np.int64)
            size = int(key.max(initial=0)) + 1
        key = key * width + part
        size *= width
    return key


def _enterprise_codes(frame: pd.DataFrame) -> np.ndarray:
    """Services: the credit code where there is one, else the normalised enterprise name."""
    vocab: dict[Any, int] = {}
    code_codes, code_uniques = factorize_values(frame["credit_code"])
    name_codes, name_uniques = factorize_values(frame["enterprise"])
    code_ids = np.array([vocab.setdefault(u, len(vocab)) for u in code_uniques], np.int64)
    name_keys = [key_text(u) for u in [*name_uniques, None]]
    name_ids = np.array([vocab.setdefault(k, len(vocab)) for k in name_keys], np.int64)
    by_name = name_ids[name_codes]  # code -1 (missing name) picks the trailing None
    if not len(code_ids):
        return by_name
    return np.where(code_codes >= 0, code_ids[np.maximum(code_codes, 0)], by_name)


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
    spec = TABLES[table]
    n = len(frame)
    if n == 0:
        return frame, pd.DataFrame(columns=DUPLICATE_COLUMNS)
    key = _combine(dedupe_keys(frame, spec))
    order = np.arange(n)
    if table == "appeals":
        closed = frame["status"].isin(list(closed_statuses)).to_numpy(dtype=bool)
        dated = frame["closed"].notna().to_numpy(dtype=bool)
        order = np.lexsort((order, ~dated, ~closed))
    ordered = key[order]
    later = pd.Series(ordered).duplicated(keep="first").to_numpy()  # positions in `order`
    if not later.any():
        return frame, pd.DataFrame(columns=DUPLICATE_COLUMNS)
    # the kept row of each duplicate: the first row (in `order`) holding its key
    dup_keys = ordered[later]
    firsts = np.flatnonzero(~later & pd.Series(ordered).isin(dup_keys).to_numpy())
    kept_pos = firsts[pd.Index(ordered[firsts]).get_indexer(dup_keys)]
    is_dup = np.zeros(n, bool)
    is_dup[order[later]] = True
    dup_idx = order[later]
    kept_idx = order[kept_pos]
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
    kept = frame.take(np.flatnonzero(~is_dup)).reset_index(drop=True)
    return kept, duplicates


def clean_exports(
    exports: RawExports, closed_statuses: Iterable[str] = DEFAULT_CLOSED_STATUSES
) -> CleanResult:
    """Clean every raw table, dedupe each table across files and count every row per file.

    Raises:
        AssertionError: the per-file conservation law does not hold (a bug, never bad input).
    """
    closed = list(closed_statuses)
    kept_parts: dict[str, list[pd.DataFrame]] = {t: [] for t in TABLES}
    rejected_parts, warning_parts = [], []
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for raw in exports.tables:
        kept, rejected, warnings = _clean_raw_table(raw)
        kept_parts[raw.table].append(kept)
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
        parts = [p for p in parts if len(p)]
        frame = _concat_parts(parts) if parts else empty_table(table)
        kept, dups = dedupe_table(frame, table, closed)
        kept = _materialize(kept)
        tables[table] = kept
        dup_parts.append(dups)
        kept_by_file = kept["source_file"].value_counts() if len(kept) else {}
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
        tables=tables,
        rejected=_concat(rejected_parts),
        duplicates=_concat(dup_parts, DUPLICATE_COLUMNS),
        warnings=_concat(warning_parts),
        files=files,
        raw_files=exports.files,
        notes=exports.notes,
        errors=exports.errors,
    )


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


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_processed(result: CleanResult, out_dir: Path) -> list[Path]:
    """Write the processed layer to ``out_dir``, each file atomically (temp file, then rename).

    Writes ``<table>.parquet`` for every table, ``rejected``/``duplicates``/``warnings`` as
    parquet and CSV (UTF-8 with BOM, so Excel opens it), ``quality.csv`` and, last,
    ``manifest.json`` (with the SHA-256 of every raw file).
    """
    out_dir.mkdir(parents=True, exist_ok=True)

    def parquet(frame: pd.DataFrame, name: str) -> Path:
        path = out_dir / f"{name}.parquet"
        # min/max statistics of long text columns cost time and serve no reader of ours
        stats = [c for c, t in frame.dtypes.items() if not pd.api.types.is_string_dtype(t)]
        _atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False, write_statistics=stats))
        return path

    def csv(frame: pd.DataFrame, name: str) -> Path:
        path = out_dir / f"{name}.csv"
        _atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, encoding="utf-8-sig"))
        return path

    # the table files are written on two threads (parquet encoding releases the GIL) ...
    tables = [_pool().submit(parquet, frame, table) for table, frame in result.tables.items()]
    written: list[Path] = []
    try:
        for name in ("rejected", "duplicates", "warnings"):
            frame = getattr(result, name)
            issues = frame.astype({"source_sheet": "str"}) if len(frame) else frame
            written += [parquet(issues, name), csv(frame, name)]
        written.append(csv(result.files, "quality"))
    finally:
        wait(tables)  # ... and all are done (or failed) before the manifest or an error
    written = [f.result() for f in tables] + written
    manifest = {
        "generated_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "files": [f.as_dict() for f in result.raw_files],
        "quality": summarize_quality(result),
        "notes": result.notes,
        "errors": [str(e) for e in result.errors],
    }
    path = out_dir / "manifest.json"
    _atomic_write(
        path,
        lambda tmp: Path(tmp).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
        ),
    )
    written.append(path)
    return written
