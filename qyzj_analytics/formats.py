"""Number formatting for everything a user reads: terminal tables, report tables, charts, JSON.

One home for each formatter, so the CLI, the notebooks, the charts and the workbook show a value
the same way. Nothing here knows the contract: units and values come from the caller.
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, Decimal

SHARE_UNIT = "比例"  # the contract's unit of KPIs that are shares (shown as percentages)
SHARE_DECIMALS = 1  # a KPI value that is a share: 86.6%
ATTAINMENT_DECIMALS = 0  # a KPI's 完成率 (actual / target): 69%
SCORE_DECIMALS = 2  # scores are truncated to this many decimals, never rounded up
FLOAT_NOISE_DIGITS = 9  # binary noise (89.99 stored as 89.98999999) is rounded away first


def quantity_decimals(value: float, unit: str) -> int:
    """Decimals a KPI value is shown with: whole numbers none, other counts one, shares
    :data:`SHARE_DECIMALS` (as a percentage).

    >>> quantity_decimals(2000.0, "家次"), quantity_decimals(2.5, "场"), quantity_decimals(0.8661, "比例")
    (0, 1, 1)
    """
    if unit == SHARE_UNIT:
        return SHARE_DECIMALS
    return 0 if float(value).is_integer() else 1


def format_quantity(value: float | None, unit: str) -> str:
    """A KPI value for display: shares as percentages, thousands separated, whole numbers bare.

    Missing values (None, NaN) show as an empty string.

    >>> format_quantity(0.8661, "比例"), format_quantity(2000.0, "家次"), format_quantity(2.5, "场")
    ('86.6%', '2,000', '2.5')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    digits = quantity_decimals(value, unit)
    return f"{value:.{digits}%}" if unit == SHARE_UNIT else f"{value:,.{digits}f}"


def format_attainment(value: float | None) -> str:
    """A KPI's 完成率 (actual / target) as a whole percent; empty when missing.

    The one rule for this figure in the charts, the HTML tables, the Word report and the
    workbook (whose cell format is ``0%``, :data:`ATTAINMENT_DECIMALS`).

    >>> format_attainment(0.6923), format_attainment(1.0), format_attainment(math.nan)
    ('69%', '100%', '')
    """
    if value is None or math.isnan(value):
        return ""
    return f"{value:.{ATTAINMENT_DECIMALS}%}"


def _score_decimal(value: float) -> Decimal:
    cleaned = round(float(value), FLOAT_NOISE_DIGITS)
    return Decimal(repr(cleaned)).quantize(Decimal(1).scaleb(-SCORE_DECIMALS), rounding=ROUND_DOWN)


def truncate_score(value: float | None) -> float | None:
    """A score cut (not rounded) to two decimals, as a number (for the workbook and JSON shown
    to readers); None and NaN give None.

    Float noise is rounded away first, so 89.99 stored as 89.98999999 stays 89.99.

    >>> truncate_score(89.999), truncate_score(87.495), truncate_score(89.98999999999), truncate_score(None)
    (89.99, 87.49, 89.99, None)
    """
    if value is None or math.isnan(value):
        return None
    return float(_score_decimal(value))


def format_score(value: float | None) -> str:
    """A score (base score, bonus, total, a KPI's points) as text: truncated to two decimals, so
    89.999 never shows as 90.00 beside a lower grade; empty when missing.

    >>> format_score(89.999), format_score(87.495), format_score(4), format_score(0.1 + 0.2)
    ('89.99', '87.49', '4.00', '0.30')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(_score_decimal(value))


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
