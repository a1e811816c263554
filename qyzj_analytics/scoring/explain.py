"""The rows behind a KPI as the analyst reads them (``qyzj kpi --explain``): Chinese headers.

The KPI functions keep the processed tables' English column names; this module turns them into
the standard headers of the raw exports (``title`` → 活动名称), the bookkeeping columns into
Chinese (来源文件, 工作表, 行号), and the activity classification into two readable columns
(计为: 线下/线上/线上+线下; 标签: the tags each row counts for, by their first keyword).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.ingest.schemas import TABLES

FORMAT_ZH = {"offline": "线下", "online": "线上", "hybrid": "线上+线下", "unknown": "未识别"}
BOOKKEEPING_ZH = {
    "source_file": "来源文件",
    "source_sheet": "工作表",
    "source_row": "行号",
    "format_kind": "计为",
    # columns the KPI functions add
    "month": "月份",
    "online_events": "线上活动场次",
    "reached": "是否达标",
    "week_start": "周起始日",
    "publications": "发布条数",
    "accepted": "是否受理",
    "closed_by_as_of": "截至日前办结",
    "qualified": "是否达标",
    "credit_code_valid": "信用代码校验通过",
}


def label_explain_rows(rows: pd.DataFrame, table: str, contract: Contract) -> pd.DataFrame:
    """A copy of ``rows`` with Chinese headers and readable classification columns.

    Args:
        rows: the rows behind one KPI (``KpiActual.rows``).
        table: the processed table they come from (``KPI_TABLES[kpi_id]``).
        contract: gives the tag keywords (a tag is named by its first keyword).

    >>> from qyzj_analytics.contract.model import load_contract
    >>> frame = pd.DataFrame({"title": ["小微你好"], "format_kind": ["offline"],
    ...                       "tag_park": [False], "tag_xiaowei_nihao": [True]})
    >>> list(label_explain_rows(frame, "activities", load_contract()).iloc[0])
    ['小微你好', '线下', '小微你好']
    """
    out = rows.copy()
    tags = [c for c in out.columns if c.startswith("tag_")]
    if tags:
        names = {c: contract.tag_keywords[c[4:]][0] for c in tags if c[4:] in contract.tag_keywords}
        flags = out[tags].fillna(False).astype(bool)
        out = out.drop(columns=tags)
        out["标签"] = _join_tags(flags, names)
    if "format_kind" in out.columns:
        out["format_kind"] = out["format_kind"].map(FORMAT_ZH).fillna(out["format_kind"])
    spec = TABLES.get(table)
    headers = {c.name: c.headers[0] for c in spec.columns} if spec else {}
    return out.rename(columns={**headers, **BOOKKEEPING_ZH})


def _join_tags(flags: pd.DataFrame, names: dict[str, str]) -> list[str]:
    """Per row, the names of the tags it carries, joined with 、 (empty when none)."""
    columns = list(flags.columns)
    return [
        "、".join(names.get(c, c[4:]) for c, on in zip(columns, row, strict=True) if on)
        for row in flags.itertuples(index=False)
    ]


def format_explain(result: Any, kpi_id: str, contract: Contract, missing: str) -> str:
    """``qyzj kpi --explain``: the KPI's value and the rows behind it, with Chinese headers.

    Args:
        result: the assessment (``scoring.assess``) holding the KPI's actual and its rows.
        kpi_id: the KPI to explain.
        contract: the contract (names, units, tag names).
        missing: the word shown when the KPI's export is missing.
    """
    from qyzj_analytics.scoring.kpi import KPI_TABLES

    found = result.actuals[kpi_id]
    spec = contract.kpi(kpi_id)
    if found.missing:
        value = missing
    elif spec.unit == "比例":
        value = f"{found.value:.1%}"
    else:
        value = f"{found.value:g} {spec.unit}"
    lines = [f"{spec.name}（{kpi_id}）: {value}"]
    if result.as_of != result.as_of_requested:
        lines.append(f"注意：{result.notes[0]}")
    rows = found.rows
    if rows is not None and len(rows):
        shown = label_explain_rows(rows, KPI_TABLES.get(kpi_id, ""), contract)
        for name in shown.columns:
            column = shown[name]
            if pd.api.types.is_bool_dtype(column):
                shown[name] = column.map({True: "是", False: "否"})
            elif pd.api.types.is_datetime64_any_dtype(column):
                shown[name] = column.dt.strftime("%Y-%m-%d")  # a day, as the exports mean it
        shown = shown.astype(object).where(shown.notna(), "")  # blank, not NaN/<NA>
        with pd.option_context("display.max_rows", None, "display.width", 200):
            lines.append(shown.to_string(index=False))
        lines.append(f"共 {len(rows)} 行")
    return "\n".join(lines)
