"""The backtest's statistics: interval coverage, pinball loss, the pace baseline and skill.

Every forecast of the backtest is one row (year, quarter, KPI, truth, the forecast's and the
baseline's P10/P50/P90); these functions turn such rows into the figures ``qyzj backtest``
reports and check them against the bands of issue 16.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qyzj_analytics.forecast.methods import (
    LIVESTREAM_KPI,
    OFFLINE_KPI,
    OFFLINE_TAG_KPIS,
    POLICY_KPI,
    SERVICES_KPI,
)
from qyzj_analytics.forecast.settings import QUANTILES

# The count KPIs the coverage and skill bands pool over (issue 16), in the contract's order.
COUNT_KPIS = (SERVICES_KPI, OFFLINE_KPI, *OFFLINE_TAG_KPIS, LIVESTREAM_KPI, POLICY_KPI)
# Bands (issue 16; backtest settings, not contract numbers).
QUARTER_COVERAGE_BAND = (0.75, 0.88)  # per quarter, the count KPIs pooled
KPI_COVERAGE_BAND = (0.70, 0.92)  # per count KPI, the quarters pooled; 企业诉求办结率 at Q1 too
MIN_SKILL = 0.40  # over the count KPIs and quarters
MIN_SKILL_Q3 = 0.15  # at Q3, over the count KPIs
ROW_COLUMNS = ("year", "quarter", "kpi", "target", "truth", "p10", "p50", "p90")


def poisson_quantiles(mean: float, levels: tuple[float, ...] = QUANTILES) -> np.ndarray:
    """The Poisson(``mean``) quantiles at ``levels`` (smallest k with CDF(k) ≥ level), exactly.

    >>> poisson_quantiles(0.0).tolist(), poisson_quantiles(4.0).tolist()
    ([0.0, 0.0, 0.0], [2.0, 4.0, 7.0])
    """
    if mean <= 0:
        return np.zeros(len(levels))
    top = int(mean + 12 * math.sqrt(mean) + 30)
    k = np.arange(top + 1)
    log_factorial = np.concatenate([[0.0], np.cumsum(np.log(k[1:]))])
    cdf = np.cumsum(np.exp(k * math.log(mean) - mean - log_factorial))
    return np.searchsorted(cdf, np.asarray(levels) - 1e-12).astype(float)


def baseline_quantiles(
    actual: float, elapsed_days: int, period_days: int, cap: float | None = None
) -> np.ndarray:
    """The analyst's pace extrapolation: P10/P50/P90 of the year end.

    The remainder is Poisson with mean actual × (days in period − days elapsed) / days elapsed,
    so the median is about actual × days in period / days elapsed; ``cap`` bounds the year end
    (the months of the period for 直播达标月份, extrapolated the same way).
    """
    rest = actual * max(0, period_days - elapsed_days) / max(1, elapsed_days)
    out = actual + poisson_quantiles(rest)
    return np.minimum(out, cap) if cap is not None else out


def pinball_loss(truth: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """Mean pinball (quantile) loss over ``QUANTILES`` per row.

    Args:
        truth: true values, shape (n,).
        quantiles: the forecast's quantiles at ``QUANTILES``, shape (n, len(QUANTILES)).

    Truth 10 against P10/P50/P90 = 8/10/14: 0.1 × 2, 0 and 0.1 × 4, so the mean is 0.2.

    >>> round(float(pinball_loss(np.array([10.0]), np.array([[8.0, 10.0, 14.0]]))[0]), 12)
    0.2
    """
    levels = np.asarray(QUANTILES)[None, :]
    gap = np.asarray(truth, float)[:, None] - np.asarray(quantiles, float)
    return np.maximum(levels * gap, (levels - 1) * gap).mean(axis=1)


def score_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Per row: inside P10–P90, and the model's and the baseline's pinball loss over the target.

    With the oracles' quantiles (``o10``/``o50``/``o90``; family ``f…``, rate-blind ``r…``; NaN
    where they did not run) also their losses (``oracle_loss``, ``family_loss``, ``blind_loss``).
    """
    out = rows.copy()
    truth = out["truth"].to_numpy(float)
    target = out["target"].to_numpy(float)
    model = out[["p10", "p50", "p90"]].to_numpy(float)
    base = out[["b10", "b50", "b90"]].to_numpy(float)
    out["hit"] = (model[:, 0] - 1e-9 <= truth) & (truth <= model[:, 2] + 1e-9)
    out["loss"] = pinball_loss(truth, model) / target
    out["base_loss"] = pinball_loss(truth, base) / target
    for prefix, name in (("o", "oracle_loss"), ("f", "family_loss"), ("r", "blind_loss")):
        columns = [f"{prefix}10", f"{prefix}50", f"{prefix}90"]
        if set(columns) <= set(out.columns):
            out[name] = pinball_loss(truth, out[columns].to_numpy(float)) / target
    return out


def skill(scored: pd.DataFrame) -> float:
    """1 − model loss / baseline loss, summed over the rows (NaN without baseline loss)."""
    base = float(scored["base_loss"].sum())
    return 1 - float(scored["loss"].sum()) / base if base > 0 else float("nan")


def oracle_skill(scored: pd.DataFrame, loss: str = "oracle_loss") -> float:
    """An oracle's skill (``loss``: its loss column) over the rows it forecast (NaN without)."""
    if loss not in scored.columns:
        return float("nan")
    part = scored.loc[scored[loss].notna()]
    base = float(part["base_loss"].sum())
    return 1 - float(part[loss].sum()) / base if base > 0 else float("nan")


def kpi_diagnostics(scored: pd.DataFrame) -> pd.DataFrame:
    """Per KPI of ``scored``: skill, the oracles' skill, headroom and share of the baseline loss.

    ``base_share`` is the KPI's share of the rows' summed baseline loss: how much the KPI weighs
    in the pooled skill (losses are over the target, so a KPI far above its target weighs more).
    ``headroom`` is the oracle's skill minus the model's; ``family_skill`` and ``blind_skill``
    the oracles that know the family or the structure, not the year's levels. Rows in order.
    """
    total = float(scored["base_loss"].sum())
    out = []
    for kpi, part in scored.groupby("kpi", sort=False):
        model, best = skill(part), oracle_skill(part)
        share = float(part["base_loss"].sum()) / total if total > 0 else float("nan")
        others = [oracle_skill(part, f"{o}_loss") for o in ("family", "blind")]
        out.append((kpi, model, best, best - model, share, *others))
    columns = ["kpi", "skill", "oracle_skill", "headroom", "base_share"]
    columns += ["family_skill", "blind_skill"]
    return pd.DataFrame(out, columns=columns).set_index("kpi")


@dataclass(frozen=True)
class Band:
    """One band of issue 16 and where the backtest fell."""

    label: str  # e.g. "Q1 区间覆盖率（7 项计数指标）"
    value: float
    low: float
    high: float = math.inf

    @property
    def ok(self) -> bool:
        """``value`` inside [low, high]."""
        return self.low <= self.value <= self.high


def check_bands(scored: pd.DataFrame, names: dict[str, str]) -> list[Band]:
    """Every band of issue 16 for the scored rows (``names``: KPI id → Chinese name)."""
    counts = scored.loc[scored["kpi"].isin(COUNT_KPIS)]
    bands = []
    for q, part in counts.groupby("quarter"):
        bands.append(
            Band(f"Q{q} 区间覆盖率（计数指标）", float(part["hit"].mean()), *QUARTER_COVERAGE_BAND)
        )
    for kpi in COUNT_KPIS:
        part = counts.loc[counts["kpi"] == kpi]
        if len(part):
            label = f"{names.get(kpi, kpi)} 区间覆盖率（各季度）"
            bands.append(Band(label, float(part["hit"].mean()), *KPI_COVERAGE_BAND))
    appeals = scored.loc[(scored["kpi"] == "appeal_resolution_rate") & (scored["quarter"] == 1)]
    if len(appeals):
        label = f"Q1 {names.get('appeal_resolution_rate', '企业诉求办结率')} 区间覆盖率"
        bands.append(Band(label, float(appeals["hit"].mean()), *KPI_COVERAGE_BAND))
    if len(counts):
        bands.append(Band("技巧分（计数指标，各季度）", skill(counts), MIN_SKILL))
    q3 = counts.loc[counts["quarter"] == 3]
    if len(q3):
        bands.append(Band("Q3 技巧分（计数指标）", skill(q3), MIN_SKILL_Q3))
    return bands
