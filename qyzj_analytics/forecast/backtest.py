"""Backtest of the year-end forecast against simulated full years from a broad family.

The simulated years come from :mod:`.backtest_years`. At the end of Q1, Q2 and Q3 the forecast
is run on the data up to that day and compared with the year's true KPI values
(``compute_actuals`` at period end), and so is an analyst's pace extrapolation (the baseline,
:func:`.backtest_score.baseline_quantiles`). Reported per quarter and per KPI: how often the truth
falls inside P10–P90, the pinball loss against the baseline's (skill), and the bands of issue 16
(:func:`.backtest_score.check_bands`).

Rosters, staff and facts are held by the forecast; they are held here too (fixed before the year).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qyzj_analytics.contract.model import Contract, load_contract
from qyzj_analytics.dates.periods import period_months, quarter_end
from qyzj_analytics.forecast.backtest_oracle import oracle_year_end
from qyzj_analytics.forecast.backtest_score import (
    COUNT_KPIS,
    QUARTER_COVERAGE_BAND,
    Band,
    baseline_quantiles,
    check_bands,
    kpi_diagnostics,
    oracle_skill,
    score_rows,
    skill,
)
from qyzj_analytics.forecast.backtest_years import draw_process, simulate_tables
from qyzj_analytics.forecast.methods import LIVESTREAM_KPI, SIMULATED_KPIS
from qyzj_analytics.forecast.observe import observe
from qyzj_analytics.forecast.settings import (
    BACKTEST_DRAWS,
    BACKTEST_SEED,
    BACKTEST_YEARS,
    QUANTILES,
    quantiles,
)
from qyzj_analytics.forecast.simulate import simulate_year_end
from qyzj_analytics.ingest.facts import Facts
from qyzj_analytics.scoring.kpi import KpiContext, compute_actuals
from qyzj_analytics.scoring.score import base_score, score_points

# Backtest settings (not contract numbers): the per-quarter coverage band of the count KPIs.
COVERAGE_GOAL = QUARTER_COVERAGE_BAND
Progress = Callable[[int, int], None]  # (years done, years) after each simulated year
# the oracles of ``--oracle`` (what they know) and the prefix of their quantile columns
ORACLES = {"process": "o", "family": "f", "structure": "r"}


@dataclass(frozen=True)
class QuarterResult:
    """Forecast quality at one quarter end over all simulated years."""

    quarter: int
    as_of: dt.date
    coverage: float  # share of (year, count KPI) pairs with P10 ≤ truth ≤ P90
    skill: float  # 1 − pinball loss / the baseline's, count KPIs pooled
    score_coverage: float
    pit_coverage: float  # discreteness-corrected: randomized PIT between the outer QUANTILES
    median_abs_error: float  # pooled |P50 − truth| / target over the count KPIs
    score_median_abs_error: float  # base score points
    per_kpi: dict[str, dict[str, float]] = field(default_factory=dict)
    oracle_skill: float = float("nan")  # the oracle's skill (NaN when it did not run)
    family_skill: float = float("nan")  # the oracle that knows the family, not the year
    blind_skill: float = float("nan")  # the rate-blind oracle's

    @property
    def within_goal(self) -> bool:
        """Coverage inside ``COVERAGE_GOAL``."""
        return COVERAGE_GOAL[0] <= self.coverage <= COVERAGE_GOAL[1]


@dataclass(frozen=True)
class BacktestResult:
    """The backtest over ``years`` simulated years.

    Attributes:
        rows: one row per (year, quarter, simulated KPI): truth, the forecast's and the
            baseline's P10/P50/P90, ``hit``, ``loss`` and ``base_loss`` (pinball over target).
        per_kpi: per simulated KPI, the quarters pooled: coverage and skill.
        bands: the bands of issue 16 and where the backtest fell.
    """

    years: int
    draws: int
    seed: int
    quarters: list[QuarterResult]
    rows: pd.DataFrame
    per_kpi: dict[str, dict[str, float]]
    skill: float  # count KPIs, quarters pooled
    bands: list[Band]
    oracle_skill: float = float("nan")  # the oracle's, count KPIs, quarters pooled
    family_skill: float = float("nan")  # the oracle that knows the family, not the year
    blind_skill: float = float("nan")  # the rate-blind oracle's

    @property
    def bands_met(self) -> bool:
        """Every band met."""
        return all(b.ok for b in self.bands)


def run_backtest(
    years: int = BACKTEST_YEARS,
    draws: int = BACKTEST_DRAWS,
    seed: int = BACKTEST_SEED,
    contract: Contract | None = None,
    quarters: tuple[int, ...] = (1, 2, 3),
    progress: Progress | None = None,
    oracle: bool = False,
) -> BacktestResult:
    """Simulate ``years`` years, forecast at each quarter end and score the forecasts.

    Args:
        years: simulated years.
        draws: Monte Carlo draws per forecast.
        seed: seed of the whole backtest (processes, years and forecasts).
        contract: the contract (the bundled one by default).
        quarters: the quarter ends to forecast at.
        progress: called with (years done, years) after each simulated year.
        oracle: also score the oracles (:mod:`.backtest_oracle`, ``ORACLES``: forecasts that
            know each year's process, the family but not the year's levels, or the structure
            alone) with their own random numbers, so the model's figures stay the same.
    """
    contract = contract or load_contract()
    ids = [k.id for k in contract.kpis if k.id in SIMULATED_KPIS]
    targets = {k.id: k.target for k in contract.kpis}
    start, end = contract.period_start, contract.period_end
    ends = {q: quarter_end(start.year, q) for q in quarters}
    months = float(len(period_months(start, end)))
    period_days = (end - start).days + 1
    records: list[tuple] = []
    scores: list[tuple[int, bool, float]] = []
    oracle_seeds = np.random.SeedSequence([seed, 1]).spawn(years)
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(years)):
        rng = np.random.default_rng(child)
        process = draw_process(rng, contract)
        tables = simulate_tables(rng, process, contract)
        oracle_rng = np.random.default_rng(oracle_seeds[i])
        truth = {
            k: v.value
            for k, v in compute_actuals(KpiContext(tables, contract, end, Facts())).items()
        }
        true_score = float(base_score(score_points(truth, contract)))
        for q in quarters:
            ctx = KpiContext(tables, contract, ends[q], Facts())
            obs = observe(ctx)
            # the forecast's draws (as ``qyzj forecast`` makes them), without paying each draw
            values = simulate_year_end(ctx, draws, int(rng.integers(2**31)), obs).values
            elapsed = (ends[q] - start).days + 1
            oracles: dict[str, dict[str, np.ndarray]] = {key: {} for key in ORACLES}
            for knows in ORACLES if oracle else ():
                oracles[knows] = oracle_year_end(
                    process, contract, ends[q], obs, draws, oracle_rng, knows
                )
            for k in ids:
                cap = months if k == LIVESTREAM_KPI else None
                base = baseline_quantiles(obs.actuals[k], elapsed, period_days, cap)
                pit = randomized_pit(values[k], truth[k], rng)
                best = [quantiles(o[k]) if k in o else [np.nan] * 3 for o in oracles.values()]
                model = quantiles(values[k])
                records.append((i, q, k, targets[k], truth[k], *model, *base, pit, *np.ravel(best)))
            p10, p50, p90 = quantiles(base_score(score_points(values, contract)))
            scores.append((q, p10 - 1e-9 <= true_score <= p90 + 1e-9, abs(p50 - true_score)))
        if progress is not None:
            progress(i + 1, years)
    columns = ["year", "quarter", "kpi", "target", "truth", "p10", "p50", "p90"]
    extra = ["b10", "b50", "b90", "pit"]
    extra += [f"{ORACLES[o]}{p}" for o in ORACLES for p in (10, 50, 90)]
    rows = score_rows(pd.DataFrame(records, columns=[*columns, *extra]))
    names = {k.id: k.name for k in contract.kpis}
    return summarize_backtest(
        rows,
        pd.DataFrame(scores, columns=["quarter", "hit", "error"]),
        ends,
        names,
        years,
        draws,
        seed,
    )


def summarize_backtest(
    rows: pd.DataFrame,
    scores: pd.DataFrame,
    ends: dict[int, dt.date],
    names: dict[str, str],
    years: int,
    draws: int,
    seed: int,
) -> BacktestResult:
    """Coverage, skill and errors per quarter and per KPI from the scored rows."""
    low, high = QUANTILES[0], QUANTILES[-1]
    counts = rows.loc[rows["kpi"].isin(COUNT_KPIS)]
    quarters = []
    for q, as_of in ends.items():
        part, mine = counts.loc[counts["quarter"] == q], rows.loc[rows["quarter"] == q]
        score = scores.loc[scores["quarter"] == q]
        pit = part["pit"].to_numpy(float)
        diag = kpi_diagnostics(part)
        quarters.append(
            QuarterResult(
                quarter=q,
                as_of=as_of,
                coverage=float(part["hit"].mean()),
                skill=skill(part),
                score_coverage=float(score["hit"].mean()),
                pit_coverage=float(np.mean((pit >= low) & (pit <= high))),
                median_abs_error=float(
                    ((part["p50"] - part["truth"]).abs() / part["target"]).median()
                ),
                score_median_abs_error=float(score["error"].median()),
                per_kpi={
                    k: {
                        "coverage": float(g["hit"].mean()),
                        "skill": skill(g),
                        "median_abs_error": float((g["p50"] - g["truth"]).abs().median()),
                        **_diagnostics(diag, k),
                    }
                    for k, g in mine.groupby("kpi", sort=False)
                },
                oracle_skill=oracle_skill(part),
                family_skill=oracle_skill(part, "family_loss"),
                blind_skill=oracle_skill(part, "blind_loss"),
            )
        )
    diag = kpi_diagnostics(counts)
    per_kpi = {
        k: {"coverage": float(g["hit"].mean()), "skill": skill(g), **_diagnostics(diag, k)}
        for k, g in rows.groupby("kpi", sort=False)
    }
    return BacktestResult(
        years,
        draws,
        seed,
        quarters,
        rows,
        per_kpi,
        skill(counts),
        check_bands(rows, names),
        oracle_skill(counts),
        oracle_skill(counts, "family_loss"),
        oracle_skill(counts, "blind_loss"),
    )


def _diagnostics(diag: pd.DataFrame, kpi: str) -> dict[str, float]:
    """A count KPI's share of the baseline loss and, with the oracle, its skill and headroom."""
    if kpi not in diag.index:
        return {}
    row = diag.loc[kpi]
    out = {"base_share": float(row["base_share"])}
    if not np.isnan(row["oracle_skill"]):
        out |= {
            k: float(row[k]) for k in ("oracle_skill", "headroom", "family_skill", "blind_skill")
        }
    return out


def randomized_pit(draws: np.ndarray, truth: float, rng: np.random.Generator) -> float:
    """Where the truth falls in the forecast's distribution, ties spread uniformly.

    For a calibrated forecast this is uniform on [0, 1] even for counts, so the share between
    the outer ``QUANTILES`` should be their distance: P10 ≤ truth ≤ P90 on a count over-states it
    (both ends count).
    """
    below = float(np.mean(draws < truth - 1e-9))
    at_most = float(np.mean(draws <= truth + 1e-9))
    return below + float(rng.random()) * (at_most - below)
