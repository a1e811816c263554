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
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from qyzj_analytics.errors import DataError
from qyzj_analytics.io import RawExports, RawFile, RawTable
from qyzj_analytics.parse import (
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


def _typed(results: list, take: np.ndarray, kind: str) -> pd.Series | np.ndarray:
    if kind == "date":
        days = np.array([np.datetime64(d, "D") if d else _NAT for d in results], "datetime64[D]")
        return days[take].astype("datetime64[s]")
    if kind == "count":
        return pd.array(results, dtype="Int64").take(take)
    if kind == "yesno":
        return np.asarray(results, dtype=bool)[take]
    return pd.Series(np.asarray(results, dtype=object)[take], dtype="str")


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
            "value": ["" if v is None else str(v) for v in value],
            "reason": list(reason),
        },
        columns=ISSUE_COLUMNS,
    )


def clean_raw_table(raw: RawTable) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Parse and validate one sheet's rows.

    Returns:
        ``(kept, rejected, warnings)``. Blank and summary rows are in none of them; each other
        row is in exactly one of ``kept`` and ``rejected``; ``warnings`` notes kept rows with an
        unreadable count or a credit code failing its check digit.
    """
    spec = TABLES[raw.table]
    live = np.flatnonzero(~raw.blank & ~raw.summary)
    frame = raw.frame.iloc[live].reset_index(drop=True)
    n = len(live)
    reason = np.full(n, None, dtype=object)
    reason_col = np.full(n, None, dtype=object)
    warn_parts: list[pd.DataFrame] = []
    out: dict[str, object] = {}
    header_of = {c.name: c.headers[0] for c in spec.columns}
    for col in spec.columns:
        kind = col.kind
        if col.name not in frame:
            out[col.name] = (
                pd.Series([None] * n, dtype=_DTYPES[kind])
                if n
                else empty_table(raw.table)[col.name]
            )
            if col.required:  # cannot happen: the header match guarantees required columns
                raise AssertionError(col.name)
            continue
        parsed = parse_distinct(frame[col.name], _PARSERS[kind])
        values = _typed(parsed.results, parsed.take, kind)
        out[col.name] = values
        errors = parsed.row_reasons()
        failed = ~pd.isna(errors)
        if kind == "count":
            if failed.any():
                idx = np.flatnonzero(failed)
                warn_parts.append(
                    _issues(
                        raw,
                        live[idx],
                        [header_of[col.name]] * len(idx),
                        frame[col.name].to_numpy()[idx],
                        [f"{e}，按空值处理" for e in errors[idx]],
                    )
                )
            continue
        if col.required:
            empty = (
                pd.isna(np.asarray(values, dtype=object)) if kind != "date" else np.isnat(values)
            )
            errors = np.where(empty & ~failed, "必填列为空", errors)
            failed = failed | empty
        new = failed & pd.isna(reason)
        reason[new] = errors[new]
        reason_col[new] = col.name
    if spec.one_of:
        none = np.ones(n, bool)
        for name in spec.one_of:
            none &= pd.isna(np.asarray(out[name], dtype=object))
        new = none & pd.isna(reason)
        reason[new] = f"{' 和 '.join(header_of[c] for c in spec.one_of)} 都为空"
        reason_col[new] = spec.one_of[0]
    kept_frame = pd.DataFrame(out)
    if raw.table == "services":
        codes = kept_frame["credit_code"]
        code_parse = parse_distinct(codes, is_valid_credit_code)
        valid = code_parse.values(bool) | codes.isna().to_numpy()
        kept_frame["credit_code_valid"] = valid
        bad = np.flatnonzero(~valid & pd.isna(reason))
        if len(bad):
            warn_parts.append(
                _issues(
                    raw,
                    live[bad],
                    ["统一社会信用代码"] * len(bad),
                    codes.to_numpy()[bad],
                    ["统一社会信用代码校验位不符或长度不是 18 位（已保留并标记）"] * len(bad),
                )
            )
    kept_frame["source_file"] = pd.Series([raw.file] * n, dtype="str")
    kept_frame["source_sheet"] = pd.Series([raw.sheet] * n, dtype="str")
    kept_frame["source_row"] = raw.source_row[live].astype("int64")
    bad_rows = ~pd.isna(reason)
    idx = np.flatnonzero(bad_rows)
    rejected = _issues(
        raw,
        live[idx],
        [header_of[c] for c in reason_col[idx]],
        [frame[c].iloc[i] for c, i in zip(reason_col[idx], idx, strict=True)],
        reason[idx],
    )
    kept = kept_frame.loc[~bad_rows].reset_index(drop=True)
    warnings = pd.concat(warn_parts, ignore_index=True) if warn_parts else _no_issues()
    return kept, rejected, warnings


def _no_issues() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series([], dtype="int64" if c == "source_row" else "str") for c in ISSUE_COLUMNS}
    )


def dedupe_keys(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """The columns that identify a duplicate, normalised (DESIGN "Duplicates")."""

    def norm(col: str) -> pd.Series:
        parsed = parse_distinct(frame[col], key_text)
        return pd.Series(parsed.values(), dtype="str")

    table = spec.name
    if table == "activities":
        return pd.DataFrame({"title": norm("title"), "date": frame["date"]})
    if table == "services":
        enterprise = frame["credit_code"].fillna(norm("enterprise"))
        return pd.DataFrame(
            {"enterprise": enterprise, "date": frame["date"], "type": norm("service_type")}
        )
    if table == "appeals":
        return pd.DataFrame({"appeal_id": norm("appeal_id")})
    if table == "publications":
        return pd.DataFrame(
            {"title": norm("title"), "date": frame["date"], "channel": norm("channel")}
        )
    return frame[[c.name for c in spec.columns]]


def dedupe_table(
    frame: pd.DataFrame, table: str, closed_statuses: Iterable[str] = ()
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
    keys = dedupe_keys(frame, spec)
    group = keys.groupby(list(keys.columns), sort=False, dropna=False).ngroup().to_numpy()
    order = np.arange(n)
    if table == "appeals":
        closed = frame["status"].isin(list(closed_statuses)).to_numpy()
        dated = frame["closed"].notna().to_numpy()
        order = np.lexsort((order, ~dated, ~closed))
    first_in_order = pd.Series(order).groupby(group[order], sort=False).transform("first")
    winner = np.empty(n, dtype=np.int64)
    winner[order] = first_in_order.to_numpy()
    is_dup = winner != np.arange(n)
    dup_rows = frame.loc[is_dup, list(LINEAGE)].reset_index(drop=True)
    kept_of = frame.iloc[winner[is_dup]]
    duplicates = pd.DataFrame(
        {
            "table": table,
            "source_file": dup_rows["source_file"],
            "source_sheet": dup_rows["source_sheet"],
            "source_row": dup_rows["source_row"],
            "kept_file": kept_of["source_file"].to_numpy(),
            "kept_sheet": kept_of["source_sheet"].to_numpy(),
            "kept_row": kept_of["source_row"].to_numpy(),
        },
        columns=DUPLICATE_COLUMNS,
    )
    return frame.loc[~is_dup].reset_index(drop=True), duplicates


def clean_exports(exports: RawExports, closed_statuses: Iterable[str] = ()) -> CleanResult:
    """Clean every raw table, dedupe each table across files and count every row per file."""
    closed = list(closed_statuses)
    kept_parts: dict[str, list[pd.DataFrame]] = {t: [] for t in TABLES}
    rejected_parts, warning_parts = [], []
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for raw in exports.tables:
        kept, rejected, warnings = clean_raw_table(raw)
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
        frame = pd.concat(parts, ignore_index=True) if parts else empty_table(table)
        kept, dups = dedupe_table(frame, table, closed)
        tables[table] = kept
        dup_parts.append(dups)
        for (file, tbl), c in counts.items():
            if tbl == table:
                c["rows_kept"] = int((kept["source_file"] == file).sum())
                c["duplicates"] = int((dups["source_file"] == file).sum()) if len(dups) else 0
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
    parquet and CSV (UTF-8 with BOM, so Excel opens it), ``quality.csv`` and ``manifest.json``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def parquet(frame: pd.DataFrame, name: str) -> None:
        path = out_dir / f"{name}.parquet"
        _atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))
        written.append(path)

    def csv(frame: pd.DataFrame, name: str) -> None:
        path = out_dir / f"{name}.csv"
        _atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, encoding="utf-8-sig"))
        written.append(path)

    for table, frame in result.tables.items():
        parquet(frame, table)
    for name in ("rejected", "duplicates", "warnings"):
        frame = getattr(result, name)
        parquet(frame.astype({"source_sheet": "str"}) if len(frame) else frame, name)
        csv(frame, name)
    csv(result.files, "quality")
    manifest = {
        "generated_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "files": [vars(f) for f in result.raw_files],
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
