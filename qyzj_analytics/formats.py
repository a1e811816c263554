"""Number formatting for everything a user reads: terminal tables, report tables, charts, JSON.

One home for each formatter, so the CLI, the notebooks, the charts and the workbook show a value
the same way. Nothing here knows the contract: units and values come from the caller.
"""

from __future__ import annotations

import math

SHARE_UNIT = "比例"  # the contract's unit of KPIs that are shares (shown as percentages)


def format_quantity(value: float | None, unit: str) -> str:
    """A KPI value for display: shares as percentages, thousands separated, whole numbers bare.

    Missing values (None, NaN) show as an empty string.

    >>> format_quantity(0.8661, "比例"), format_quantity(2000.0, "家次"), format_quantity(2.5, "场")
    ('86.6%', '2,000', '2.5')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if unit == SHARE_UNIT:
        return f"{value:.1%}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def format_share(p: float) -> str:
    """A probability as a whole percent, ``<1%`` / ``>99%`` near the ends (never a false 0 %).

    >>> format_share(0.0048), format_share(0.0), format_share(0.9951), format_share(0.5)
    ('<1%', '0%', '>99%', '50%')
    """
    if 0 < p < 0.005:
        return "<1%"
    if 0.995 <= p < 1:
        return ">99%"
    return f"{p:.0%}"


def format_ratio(value: float) -> str:
    """A ratio stated by the contract (a threshold, a deduction) as a plain percent.

    >>> format_ratio(0.8), format_ratio(0.95), format_ratio(0.875)
    ('80%', '95%', '87.5%')
    """
    return f"{value * 100:.10g}%"


def format_money(value: float, digits: int = 2) -> str:
    """An amount in yuan with thousands separators.

    >>> format_money(468333), format_money(168333.0, 0)
    ('468,333.00', '168,333')
    """
    return f"{float(value):,.{digits}f}"


def round_number(value: float | None, digits: int = 4) -> float | int | None:
    """A number for JSON: rounded, whole numbers as ``int``, None kept, NaN as None.

    >>> round_number(2.00000001), round_number(0.123456), round_number(None), round_number(math.nan)
    (2, 0.1235, None, None)
    """
    if value is None or math.isnan(value):
        return None
    rounded = round(float(value), digits)
    return int(rounded) if rounded.is_integer() else rounded
