"""Cleaning: raw cells → typed, validated, deduplicated tables, with every row accounted for.

For each file, ``rows read = rows kept + rows rejected + duplicates + summary rows`` (blank rows are
not rows). Rejected rows carry file, sheet, row, column, value and reason; duplicates carry the row
they duplicate. Processed tables keep only the canonical columns plus lineage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from qyzj_analytics.ingest.aliases import coalesce_aliases
from qyzj_analytics.ingest.arrow import materialize_text
from qyzj_analytics.ingest.cells import cell_noter
from qyzj_analytics.ingest.dedupe import DEFAULT_CLOSED_STATUSES, dedupe_rows
from qyzj_analytics.ingest.mixedenc import ENCODING_NAMES
from qyzj_analytics.ingest.parse import (
    DistinctParse,
    credit_codes_valid,
    normalize_credit_code,
    normalize_text,
    parse_count,
    parse_date,
    parse_distinct,
    parse_yes_no,
)
from qyzj_analytics.ingest.processed import (
    CleanResult,
    IssuesNotListed,
    ProcessedTables,
    empty_table,
    fill_absent,
    fill_constant,
    type_column,
)
from qyzj_analytics.ingest.quality import (
    DUPLICATE_COLUMNS,
    QUALITY_COLUMNS,
    coded_texts,
    concat_issues,
    list_extra_issues,
    list_issues,
)
from qyzj_analytics.ingest.raw import RawExports, RawTable
from qyzj_analytics.ingest.rows import (
    Rows,
    concat_parts,
    select_live_rows,
    take_rows,
    to_positions,
)
from qyzj_analytics.ingest.schemas import TABLES

_PARSERS = {
    "text": normalize_text,
    "code": normalize_credit_code,
    "date": parse_date,
    "count": parse_count,
    "yesno": parse_yes_no,
}
WHOLE_ROW = "（整行）"  # the column of an issue about a whole row (its encoding)


def clean_raw_table(raw: RawTable) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Parse and validate one sheet's rows.

    Returns:
        ``(kept, rejected, warnings)`` as described in :func:`_clean_raw_table`, text as ``str``.
    """
    rows, keep, rejected, warnings = _clean_raw_table(raw)
    kept = rows if keep is None else take_rows(rows, keep)
    return materialize_text(kept), materialize_text(rejected), materialize_text(warnings)


def _clean_raw_table(
    raw: RawTable, issues: bool = True
) -> tuple[pd.DataFrame, np.ndarray | None, pd.DataFrame | None, pd.DataFrame | None]:
    """Parse and validate one sheet's rows (text columns stay ``Categorical``).

    Each column is parsed through its distinct values (:func:`parse_distinct`), so the cost
    follows the number of distinct values, not rows.

    Returns:
        ``(rows, keep, rejected, warnings)``. Blank and summary rows are in none of them; each
        other row is in ``rows``, and either kept (``keep``, a mask of ``rows``; None: all) or
        in ``rejected`` (with the first failing column, as the file's header spells it, the
        raw value and the reason); ``warnings`` notes kept rows with an unreadable count or a
        credit code failing its check digit. (The rejected rows are dropped together with the
        duplicates, in one copy.) ``issues`` False: ``rejected`` and ``warnings`` are None, not
        built (the rejected rows are still the rows outside ``keep``, plus ``raw.extra_rejected``).
    """
    spec = TABLES[raw.table]
    live = select_live_rows(raw)
    n = len(raw.source_row[live])
    parsers = {c.name: _PARSERS[c.kind] for c in spec.columns}
    whole, warn_list, sources = coalesce_aliases(raw, parsers)
    warn_parts = warn_list if issues else None  # None: warnings are not listed

    def heads(name: str, at: np.ndarray) -> str | np.ndarray:
        """The header of column ``name`` that held each row's value (rows ``at`` of ``whole``);
        one string when it is the same for every row."""
        if name in sources:
            return sources[name][at]
        return raw.header_text(name)

    frame = whole if n == len(whole) else take_rows(whole, live)
    rejected_by = np.full(n, -1, dtype=np.int16)  # index into `checked` of the failing column
    checked: list[str] = []
    why: list[tuple[np.ndarray, np.ndarray] | str] = []  # per checked column: reasons, take
    unusable: dict[str, np.ndarray] = {}  # canonical column -> per distinct value: no value
    parsed_of: dict[str, DistinctParse] = {}
    noted: dict[str, np.ndarray] = {}  # canonical column -> per distinct value: a warning
    out: dict[str, Any] = {}
    if raw.mixed is not None:  # rows of a mixed-encoding CSV: a warning each, or rejected
        _note_encodings(raw, live, rejected_by, checked, why, warn_parts)
    for col in spec.columns:
        if col.name not in frame:
            if col.required:  # cannot happen: the header match guarantees required columns
                raise AssertionError(col.name)
            out[col.name] = fill_absent(col.kind, n)
            continue
        parsed = parse_distinct(frame[col.name], _PARSERS[col.kind], cell_noter(col.kind))
        parsed_of[col.name] = parsed
        bad_d, noted_d = _apply_notes(parsed)
        if noted_d.any():  # kept values with a warning (a day range ...), listed below
            noted[col.name] = noted_d
        out[col.name] = type_column(parsed, col.kind)
        failed_d = np.array([r is not None for r in parsed.reasons], dtype=bool)
        empty_d = np.array([r is None for r in parsed.results], dtype=bool) & ~failed_d
        unusable[col.name] = failed_d | empty_d
        if bad_d.any() and not col.required and col.kind != "count":
            # an error value or uncomputed formula in an optional column: missing, with a warning
            idx = np.flatnonzero(bad_d[parsed.take])
            if warn_parts is not None:
                warn_parts.append(
                    _warn(raw, live, idx, heads, col.name, frame, parsed, "，按空值处理")
                )
            failed_d &= ~bad_d
            empty_d |= bad_d
        if col.kind == "count":  # an unreadable count is a warning, not a rejection
            idx = np.flatnonzero(failed_d[parsed.take]) if failed_d.any() else []
            if len(idx) and warn_parts is not None:
                warn_parts.append(
                    list_issues(
                        raw,
                        to_positions(live, idx),
                        heads(col.name, to_positions(live, idx)),
                        frame[col.name].iloc[idx],
                        coded_texts([f"{e}，按空值处理" for e in parsed.reasons], parsed.take[idx]),
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
        if len(bad) and warn_parts is not None:
            warn_parts.append(
                list_issues(
                    raw,
                    to_positions(live, bad),
                    heads("credit_code", to_positions(live, bad)),
                    out["credit_code"][bad],
                    "统一社会信用代码校验位不符或长度不是 18 位（已保留并标记）",
                )
            )
    for name, noted_d in noted.items() if warn_parts is not None else ():
        parsed = parsed_of[name]
        idx = np.flatnonzero(noted_d[parsed.take] & (rejected_by < 0))
        if len(idx):
            warn_parts.append(_warn(raw, live, idx, heads, name, frame, parsed))
    out["source_file"] = fill_constant(raw.file, n)
    out["source_sheet"] = fill_constant(raw.sheet, n)
    out["source_row"] = raw.source_row[live].astype(np.int64)  # (a copy, never a view of raw)
    idx = np.flatnonzero(rejected_by >= 0)
    keep = rejected_by < 0 if len(idx) else None
    parsed_rows = pd.DataFrame(out, index=pd.RangeIndex(n), copy=False)
    if warn_parts is None:  # issue frames not asked for: the rows kept are all that is needed
        return parsed_rows, keep, None, None
    rejected = _list_rejected(raw, live, frame, idx, rejected_by, checked, why, heads)
    if raw.extra_warnings:
        warn_parts.append(list_extra_issues(raw, raw.extra_warnings))
    return parsed_rows, keep, rejected, concat_issues(warn_parts)


def _list_rejected(
    raw: RawTable,
    live: Rows,
    frame: pd.DataFrame,
    idx: np.ndarray,
    rejected_by: np.ndarray,
    checked: list[str],
    why: list[tuple[np.ndarray, np.ndarray] | str],
    heads: Callable[[str, np.ndarray], str | np.ndarray],
) -> pd.DataFrame:
    """The rejected rows ``idx`` (of the live rows) as issue rows: the raw value of each row's
    failing column (``checked[rejected_by]``), the header that held it and why; then the rows
    outside the grid (``raw.extra_rejected``)."""
    values = np.full(len(idx), None, dtype=object)
    reason = np.full(len(idx), None, dtype=object)
    for k, name in enumerate(checked):  # the raw value of each row's failing column, and why
        rows = np.flatnonzero(rejected_by[idx] == k)
        if name in frame and len(rows):
            values[rows] = frame[name].iloc[idx[rows]].to_numpy(dtype=object)
        cause = why[k]
        reason[rows] = cause if isinstance(cause, str) else cause[0][cause[1][idx[rows]]]
    at = to_positions(live, idx)
    headers = np.empty(len(idx), dtype=object)
    for k, name in enumerate(checked):  # each row's failing column, by the header that held it
        rows = np.flatnonzero(rejected_by[idx] == k)
        if not len(rows):
            continue
        if name == WHOLE_ROW:
            headers[rows] = WHOLE_ROW
        else:
            headers[rows] = heads(name, at[rows]) if name in frame else raw.header_text(name)
    rejected = list_issues(raw, at, headers, values, reason)
    if raw.extra_rejected:  # rows outside the grid (far cells), each rejected on its own
        rejected = concat_issues([rejected, list_extra_issues(raw, raw.extra_rejected)])
    return rejected


def _note_encodings(
    raw: RawTable,
    live: Rows,
    rejected_by: np.ndarray,
    checked: list[str],
    why: list[tuple[np.ndarray, np.ndarray] | str],
    warn_parts: list[pd.DataFrame] | None,
) -> None:
    """Warn about the live rows read in the file's other encoding (``warn_parts`` None: not
    listed); reject those in neither."""
    mixed = raw.mixed
    assert mixed is not None
    dead = raw.blank | raw.summary
    odd = mixed.odd[~dead[mixed.odd]]
    if len(odd) and warn_parts is not None:
        own, other = (
            name if name.endswith("）") else f"{name} "
            for name in (ENCODING_NAMES[mixed.encoding], ENCODING_NAMES[mixed.other])
        )
        warn_parts.append(
            list_issues(
                raw,
                odd,
                WHOLE_ROW,
                np.full(len(odd), "", dtype=object),
                np.char.add(
                    np.char.add("第 ", raw.source_row[odd].astype(str)),
                    f" 行不是 {own}编码，已按 {other}读取",
                ),
            )
        )
    bad = mixed.bad[~dead[mixed.bad]]
    if len(bad):
        at = bad - live.start if isinstance(live, slice) else np.searchsorted(live, bad)
        take = np.zeros(len(rejected_by), dtype=np.int64)
        take[at] = np.arange(len(at))
        reasons = [
            f"第 {r} 行既不是 UTF-8 也不是 GB18030（GBK）编码，无法读取"
            for r in raw.source_row[bad]
        ]
        rejected_by[at] = len(checked)
        checked.append(WHOLE_ROW)
        why.append((np.asarray(reasons, dtype=object), take))


def _apply_notes(parsed: DistinctParse) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct value: no usable value (made a failure of its own), and a kept value to warn
    about (see :func:`~qyzj_analytics.ingest.cells.cell_noter`)."""
    bad = np.zeros(len(parsed.results), dtype=bool)
    warn = np.zeros(len(parsed.results), dtype=bool)
    for i, note in (parsed.notes or {}).items():
        if note.bad:
            bad[i] = True
            parsed.results[i] = None
            parsed.reasons[i] = note.text
        else:
            warn[i] = True
    return bad, warn


def _warn(
    raw: RawTable,
    live: np.ndarray,
    idx: np.ndarray,
    heads: Callable[[str, np.ndarray], str | np.ndarray],
    name: str,
    frame: pd.DataFrame,
    parsed: DistinctParse,
    suffix: str = "",
) -> pd.DataFrame:
    """Warnings for rows ``idx`` (of the live rows) of column ``name``, from its cell notes;
    ``heads`` names the header that held each row's value."""
    notes = [suffix] * len(parsed.results)
    for i, note in (parsed.notes or {}).items():
        notes[i] = f"{note.text}{suffix}"
    return list_issues(
        raw,
        to_positions(live, idx),
        heads(name, to_positions(live, idx)),
        frame[name].iloc[idx],
        coded_texts(notes, parsed.take[idx]),
    )


def clean_exports(
    exports: RawExports,
    closed_statuses: Iterable[str] = DEFAULT_CLOSED_STATUSES,
    issues: bool = True,
) -> CleanResult:
    """Clean every raw table, dedupe each table across files and count every row per file.

    ``issues`` False: the rejected rows, duplicates and warnings are counted (``files``) but not
    listed; the result's ``issues`` then fails on any look-up (:class:`IssuesNotListed`).

    Raises:
        AssertionError: the per-file conservation law does not hold (a bug, never bad input).
    """
    closed = list(closed_statuses)
    kept_parts: dict[str, list[tuple[pd.DataFrame, np.ndarray | None]]] = {t: [] for t in TABLES}
    rejected_parts, warning_parts = [], []
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for raw in exports.tables:
        rows, keep, rejected, warnings = _clean_raw_table(raw, issues)
        kept_parts[raw.table].append((rows, keep))
        if rejected is None:  # not listed: the live rows outside ``keep`` and the far ones
            n_rejected = len(raw.extra_rejected) + (0 if keep is None else int((~keep).sum()))
        else:
            n_rejected = len(rejected)
            rejected_parts.append(rejected)
            warning_parts.append(warnings)
        c = counts.setdefault((raw.file, raw.table), dict.fromkeys(QUALITY_COLUMNS, 0))
        c["rows_read"] += int((~raw.blank).sum()) + len(raw.extra_rejected)
        c["summary_rows"] += int((raw.summary & ~raw.blank).sum())
        c["blank_rows"] += int(raw.blank.sum())
        c["rows_rejected"] += n_rejected
    tables: dict[str, pd.DataFrame] = {}
    dup_parts = []
    for table, parts in kept_parts.items():
        parts = [(p, k) for p, k in parts if (len(p) if k is None else k.any())]
        frame, keep = concat_parts(parts) if parts else (empty_table(table), None)
        kept, dups = dedupe_rows(frame, table, closed, keep)
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
        issues=ProcessedTables(
            {
                "rejected": concat_issues(rejected_parts),
                "duplicates": concat_issues(dup_parts, DUPLICATE_COLUMNS),
                "warnings": concat_issues(warning_parts),
            }
        )
        if issues
        else IssuesNotListed(),
        files=files,
        raw_files=exports.files,
        notes=exports.notes,
        errors=exports.errors,
        present=frozenset(raw.table for raw in exports.tables),
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
