"""Display helpers: pandas Stylers (every text cell HTML-escaped) and the status colours."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from qyzj_analytics.formats import (
    format_attainment,
    format_quantity,
    format_score,
    format_share,
)
from qyzj_analytics.scoring.assessment import STATUS_ZH

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

STATUS_COLORS = {
    "on_track": "#2e7d32",
    "at_risk": "#f2a900",
    "behind": "#c62828",
    "missing": "#9e9e9e",  # neutral grey: no export, no judgement of pace
}
STATUS_BY_ZH = {zh: status for status, zh in STATUS_ZH.items()}


def style_table(
    frame: pd.DataFrame, formats: dict[str, str | Callable[[Any], str]] | None = None
) -> Styler:
    """A Styler that escapes every text cell and header, hides the index and formats columns.

    Args:
        frame: the table (not modified).
        formats: column → format string (e.g. ``"{:,.0f}"``) or formatter (e.g.
            :func:`~qyzj_analytics.formats.format_score`); missing values show as empty.
    """
    styler = frame.style.format(escape="html", na_rep="")
    styler = styler.format_index(escape="html", axis=1)
    for column, fmt in (formats or {}).items():
        if column in frame.columns:
            styler = styler.format(fmt, subset=[column], na_rep="")
    return styler.hide(axis="index")


def style_kpi_table(table: pd.DataFrame) -> Styler:
    """The KPI table as a traffic light: 状态 cells coloured, values formatted by unit."""
    shown = table.drop(columns=["应达完成率"], errors="ignore").copy()
    missing = shown["状态"] == STATUS_ZH["missing"]
    for column in ("实际", "目标", "应达进度"):
        shown[column] = [
            format_quantity(v, u) for v, u in zip(shown[column], shown["单位"], strict=True)
        ]
    shown = shown.astype({c: "str" for c in ("实际", "目标", "应达进度")})
    shown.loc[missing, "实际"] = "—"
    shown["权重"] = [f"{w:.2f}".rstrip("0").rstrip(".") for w in shown["权重"]]
    styler = style_table(
        shown.astype({"权重": "str"}), {"完成率": format_attainment, "得分": format_score}
    )

    def colour(status: str) -> str:
        color = STATUS_COLORS.get(STATUS_BY_ZH.get(status, ""), "")
        return f"background-color: {color}; color: white; font-weight: bold" if color else ""

    return styler.map(colour, subset=["状态"])


def style_forecast_table(table: pd.DataFrame) -> Styler:
    """The forecast KPI table: values by unit, 达标概率 as a share, 每周还需 with its unit."""
    shown = table.copy()
    for column in ("当前", "目标", "P10", "P50", "P90"):
        shown[column] = [
            format_quantity(v, u) for v, u in zip(shown[column], shown["单位"], strict=True)
        ]
    method = shown.get("预测方法", pd.Series("", index=shown.index)).astype(str)
    missing = method.str.startswith(STATUS_ZH["missing"])  # export missing: not forecast
    shown["达标概率"] = ["" if pd.isna(p) else format_share(p) for p in shown["达标概率"]]
    shown["每周还需"] = [
        "已达标"
        if n == 0
        else ("无法达标" if pd.isna(n) else f"{n:,.2f} {unit}".replace(".00 ", " "))
        for n, unit in zip(shown["每周还需"], shown["还需单位"], strict=True)
    ]
    shown.loc[missing, ["当前", "每周还需"]] = STATUS_ZH["missing"]
    shown = shown.drop(columns=["还需单位"]).astype("str")
    return style_table(shown)


def style_money_table(frame: pd.DataFrame) -> Styler:
    """A table of amounts in CNY (every numeric column as ``1,234.56``), index kept as a column."""
    shown = frame.reset_index() if frame.index.name else frame
    numeric = [c for c in shown.columns if pd.api.types.is_numeric_dtype(shown[c])]
    return style_table(shown, dict.fromkeys(numeric, "{:,.2f}"))
