"""Two headers of one column in one sheet (活动时间 and 活动日期): per row, the filled one.

When a sheet has more than one accepted header for a canonical column, the reader keeps the
preferred one in the frame and the others in :attr:`RawTable.alternates`. :func:`coalesce_aliases`
fills each row's empty cell from the next column; where both hold different values the preferred
column wins and the row gets a warning naming both headers. A rejection or warning about a value
taken from another column names that column's header (the per-row sources). Equal values (also ``2025-03-05`` and
``2025/3/5``) are fine. Work is per distinct value, then vectorised over rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from qyzj_analytics.errors import ParseError
from qyzj_analytics.ingest.cells import cell_problem
from qyzj_analytics.ingest.parse import factorize_values, normalize_text
from qyzj_analytics.ingest.quality import list_issues
from qyzj_analytics.ingest.raw import RawTable

_NO_VALUE = {"-", "--", "—", "——", "/", "无", "n/a", "na", "none", "null", "nan"}


def _is_unfilled(value: Any) -> bool:
    """No value: empty, a placeholder (``-``, ``无``), an error value or uncomputed formula."""
    try:
        text = normalize_text(value)
    except ParseError:
        return False
    return text is None or text.casefold() in _NO_VALUE or cell_problem(text) is not None


def _per_row(values: pd.Series, parser: Callable[[Any], Any]) -> tuple[np.ndarray, np.ndarray]:
    """Per row: no value, and a comparison key (the parsed value, else the normalised text)."""
    codes, uniques = factorize_values(values)
    uniques = list(uniques)
    unfilled = np.array([*map(_is_unfilled, uniques), True], dtype=bool)
    keys = np.empty(len(uniques) + 1, dtype=object)
    for i, item in enumerate(uniques):
        try:
            keys[i] = parser(item)
        except ParseError:
            keys[i] = None
        if keys[i] is None:
            keys[i] = ("text", normalize_text(item))
    at = np.where(codes < 0, len(uniques), codes)
    return unfilled[at], keys[at]


def coalesce_aliases(
    raw: RawTable, parsers: dict[str, Callable[[Any], Any]]
) -> tuple[pd.DataFrame, list[pd.DataFrame], dict[str, np.ndarray]]:
    """``raw.frame`` with each aliased column filled row by row, the conflict warnings, and per
    aliased column the header each row's value came from (for naming it in rejections).

    ``parsers`` gives each canonical column's parser (to compare values, not spellings).
    """
    if not raw.alternates:
        return raw.frame, [], {}
    sources: dict[str, np.ndarray] = {}
    frame = raw.frame.copy(deep=False)
    warnings: list[pd.DataFrame] = []
    live = ~(raw.blank | raw.summary)
    for col, others in raw.alternates.items():
        parser = parsers[col]
        values = frame[col]
        unfilled, keys = _per_row(values, parser)
        merged = values.to_numpy(dtype=object, copy=True)
        first = raw.header_text(col)
        source = np.full(len(merged), first, dtype=object)
        for header, alt in others:
            alt_unfilled, alt_keys = _per_row(alt, parser)
            both = np.flatnonzero(~unfilled & ~alt_unfilled & live)
            differ = both[np.asarray(keys[both] != alt_keys[both], dtype=bool)]
            if len(differ):
                warnings.append(
                    list_issues(
                        raw,
                        differ,
                        [first] * len(differ),
                        merged[differ],
                        [f"{first} 和 {header} 都有值且不同，使用 {first}"] * len(differ),
                    )
                )
            fill = np.flatnonzero(unfilled & ~alt_unfilled)
            if len(fill):
                merged[fill] = alt.to_numpy(dtype=object)[fill]
                source[fill] = header
                keys[fill] = alt_keys[fill]
                unfilled[fill] = False
        frame[col] = pd.Series(merged, index=frame.index, dtype=object)
        sources[col] = source
    return frame, warnings, sources
