"""Rows of compact frames: which rows of a raw table are live, taking rows, joining parts.

A ``Categorical`` column moves its codes only, so text is never copied row by row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from qyzj_analytics.ingest.raw import RawTable

Rows = np.ndarray | slice  # row positions, a boolean mask, or a range as a slice (no copies)


def select_live_rows(raw: RawTable) -> Rows:
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


def to_positions(rows: Rows, idx: np.ndarray) -> np.ndarray:
    """``rows[idx]`` as positions, for a slice ``rows`` too."""
    if isinstance(rows, slice):
        return np.asarray(idx, dtype=np.int64) + rows.start
    return rows[idx]


def take_rows(frame: pd.DataFrame, rows: Rows) -> pd.DataFrame:
    """The rows ``rows`` of ``frame``, renumbered from 0 (one ``take`` per column)."""
    data = {c: _take_values(frame[c].array, rows) for c in frame}
    n = len(next(iter(data.values()))) if data else len(frame.index[rows])
    return pd.DataFrame(data, index=pd.RangeIndex(n), copy=False)


def _take_values(values: Any, rows: Rows) -> Any:
    """``values[rows]``; a ``Categorical`` takes its codes only (no checks needed)."""
    if isinstance(values, pd.Categorical):
        return pd.Categorical.from_codes(values.codes[rows], dtype=values.dtype, validate=False)
    return values[rows]


def concat_parts(
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
