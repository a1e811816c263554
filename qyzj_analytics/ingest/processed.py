"""The processed layer: what cleaning returns and the typed columns its tables are made of.

Text columns are kept as ``Categorical`` codes while cleaning (:func:`type_column`,
:func:`fill_constant`); a :class:`ProcessedTables` turns a table's text into ``str`` the first
time it is looked up. :func:`empty_table` gives each table's processed columns and dtypes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qyzj_analytics.errors import DataError
from qyzj_analytics.ingest.arrow import materialize_text
from qyzj_analytics.ingest.parse import DistinctParse
from qyzj_analytics.ingest.raw import RawFile
from qyzj_analytics.ingest.schemas import TABLES

_NAT = np.datetime64("NaT", "D")
_DTYPES = {
    "text": "str",
    "code": "str",
    "date": "datetime64[s]",
    "count": "Int64",
    "yesno": "bool",
}


class ProcessedTables(Mapping[str, pd.DataFrame]):
    """The processed tables by name, each built on first look-up.

    Cleaning keeps text columns as ``Categorical`` codes; a table's text becomes ``str`` (one
    string per row) the first time the table is looked up.
    :func:`~qyzj_analytics.ingest.store.write_processed` writes the parquet files straight from
    the codes, so ``qyzj clean`` never builds the strings.
    """

    def __init__(self, compact: dict[str, pd.DataFrame]) -> None:
        self._compact = compact
        self._tables: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = materialize_text(self._compact[name])
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


class IssuesNotListed(Mapping[str, pd.DataFrame]):
    """The issues of a cleaning asked not to list them (``clean_exports(..., issues=False)``):
    every look-up fails, so no caller mistakes them for "no issues"."""

    def __getitem__(self, name: str) -> pd.DataFrame:
        raise LookupError(f"issue rows {name!r} were not listed (issues=False)")

    def __contains__(self, name: object) -> bool:
        raise LookupError(f"issue rows {name!r} were not listed (issues=False)")

    def __iter__(self) -> Iterator[str]:
        raise LookupError("issue rows were not listed (issues=False)")

    def __len__(self) -> int:
        raise LookupError("issue rows were not listed (issues=False)")


@dataclass
class CleanResult:
    """The processed layer: clean tables, rejected rows, duplicates, warnings, per-file counts."""

    tables: Mapping[str, pd.DataFrame]  # a ProcessedTables, or any mapping of finished tables
    # "rejected", "duplicates" and "warnings", one row each (a ProcessedTables: the compact
    # frames of cleaning, their text turned into ``str`` on first look-up)
    issues: Mapping[str, pd.DataFrame]
    files: pd.DataFrame  # one row per (file, table): the conservation counts
    raw_files: list[RawFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[DataError] = field(default_factory=list)
    # tables with at least one recognised export (even with zero kept rows); every other table
    # is missing (DESIGN "Missing tables")
    present: frozenset[str] = frozenset(TABLES)

    @property
    def rejected(self) -> pd.DataFrame:
        """Rejected rows: lineage, column (as the file spells it), raw value and reason."""
        return self.issues["rejected"]

    @property
    def duplicates(self) -> pd.DataFrame:
        """Duplicate rows, each with the lineage of the row kept instead."""
        return self.issues["duplicates"]

    @property
    def warnings(self) -> pd.DataFrame:
        """Kept rows with a warning: lineage, column, value and reason."""
        return self.issues["warnings"]

    @property
    def missing_tables(self) -> tuple[str, ...]:
        """Tables no export was recognised for, in the order of ``TABLES``."""
        return tuple(t for t in TABLES if t not in self.present)


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


def type_column(parsed: DistinctParse, kind: str) -> pd.Series | pd.Categorical | np.ndarray:
    """The parsed values of one column, one per row, in the processed dtype of ``kind``.

    Text comes back as a ``Categorical`` (codes into the distinct values): cleaning and dedupe
    then move small integers instead of strings, and :func:`materialize_text` turns the surviving
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


def fill_constant(value: str | None, n: int) -> pd.Categorical:
    """``n`` copies of ``value`` (None: missing) as a ``Categorical`` (see :func:`type_column`)."""
    codes = np.full(n, -1 if value is None else 0, np.int8)
    return pd.Categorical.from_codes(
        codes, categories=pd.Index([] if value is None else [value], dtype=object)
    )


def fill_absent(kind: str, n: int) -> pd.Series | pd.Categorical | np.ndarray:
    """An optional column the file does not have: all missing (``False`` for yes/no)."""
    if kind == "text" or kind == "code":
        return fill_constant(None, n)
    if kind == "yesno":
        return np.zeros(n, bool)
    if kind == "date":
        return np.full(n, _NAT).astype("datetime64[s]")
    return pd.arrays.IntegerArray(np.zeros(n, np.int64), np.ones(n, bool))
