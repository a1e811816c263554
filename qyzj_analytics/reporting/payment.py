"""The year's payment schedule: the contract's advances, then the year-end subsidy."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.formats import format_money


def payment_schedule(
    contract: Contract,
    as_of: dt.date,
    subsidy: tuple[float, float, float],
    basis: str = "按当前得分",
) -> pd.DataFrame:
    """The year's payments: the quarterly advances, then the subsidy (low / middle / high).

    Args:
        contract: the contract (advances and their due dates).
        as_of: the assessment date (advances due by then are marked 已到期).
        subsidy: the subsidy's P10, P50 and P90 (CNY); equal values for a single estimate.
        basis: what the subsidy estimate rests on, shown in 说明.

    Returns:
        Columns 款项, 应付日期 (YYYY-MM-DD), 金额 (the P50 for the subsidy), 低值, 高值, 说明.
    """
    rows = [
        {
            "款项": f"{a.quarter} 预付款",
            "应付日期": a.due.isoformat(),
            "金额": float(a.amount),
            "低值": float(a.amount),
            "高值": float(a.amount),
            "说明": "已到期" if a.due <= as_of else "未到期",
        }
        for a in contract.advances
    ]
    low, mid, high = (float(v) for v in subsidy)
    rows.append(
        {
            "款项": "运维补助",
            "应付日期": contract.period_end.isoformat(),
            "金额": mid,
            "低值": low,
            "高值": high,
            "说明": f"年终考核后支付（{basis}；全额 {format_money(contract.subsidy_full)} 元）",
        }
    )
    return pd.DataFrame(rows).astype({"款项": "str", "应付日期": "str", "说明": "str"})
