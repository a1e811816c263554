"""Tiny builders of processed tables and KPI contexts for tests (no files involved)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from qyzj_analytics.contract.model import Contract, load_contract
from qyzj_analytics.ingest.facts import Facts
from qyzj_analytics.ingest.processed import empty_table
from qyzj_analytics.ingest.schemas import TABLES
from qyzj_analytics.scoring.kpi import KpiContext

CONTRACT = load_contract()


def table(name: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A processed table with the right columns and dtypes; unspecified cells are empty."""
    base = empty_table(name)
    if not rows:
        return base
    frame = pd.DataFrame(rows)
    data = {}
    for col in base.columns:
        values = frame[col] if col in frame else pd.Series([None] * len(frame))
        dtype = base[col].dtype
        if str(dtype).startswith("datetime"):
            values = pd.to_datetime(values).astype("datetime64[s]")
        elif col == "source_row":
            values = pd.Series(range(2, len(frame) + 2))
        elif str(dtype) == "bool":
            values = values.fillna(False).astype(bool)
        elif col in ("source_file", "source_sheet"):
            values = values.fillna("test.xlsx")
        data[col] = pd.Series(values.to_numpy(), dtype=dtype)
    return pd.DataFrame(data)


def context(
    as_of: str | dt.date = "2025-12-31",
    contract: Contract = CONTRACT,
    facts: Facts | None = None,
    **tables: list[dict[str, Any]],
) -> KpiContext:
    """A KPI context with the given tables' rows (all other tables empty)."""
    day = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    frames = {name: table(name, tables.get(name, [])) for name in TABLES}
    return KpiContext(frames, contract, day, facts or Facts())


def activity(title: str, date: str, fmt: str | None = "线下", category: str | None = None) -> dict:
    """One activity row."""
    return {"title": title, "date": date, "format": fmt, "category": category}
