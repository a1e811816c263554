"""Everything the notebooks show, built once: :class:`Metrics`, its build and its cache.

:func:`build_metrics` computes everything once (clean → assess → optionally forecast);
:func:`save_metrics` / :func:`load_metrics` cache it in a folder (parquet + one JSON file) so each
notebook of a report loads it in a fraction of a second instead of recomputing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from qyzj_analytics.contract.model import Contract, load_contract
from qyzj_analytics.dates.periods import parse_quarter, quarter_end
from qyzj_analytics.forecast.planning import Planning
from qyzj_analytics.forecast.settings import DEFAULT_DRAWS, DEFAULT_SEED, TARGET_PROBABILITY
from qyzj_analytics.ingest.discover import is_sample_folder
from qyzj_analytics.ingest.parse import parse_whole_date
from qyzj_analytics.reporting.events import (
    activities_by_month_and_category,
    livestreams_by_month,
    online_offline_by_month,
    parks_covered,
    tag_overlap_counts,
)
from qyzj_analytics.reporting.forecast_tables import ForecastMetrics, forecast_frames
from qyzj_analytics.reporting.payment import payment_schedule
from qyzj_analytics.reporting.quality import (
    data_freshness,
    duplicates_summary,
    files_overview,
    quality_summary,
    rejections_by_reason,
    unknown_formats,
    warnings_by_reason,
)
from qyzj_analytics.reporting.tables import build_burnups, kpi_table, summarize_score
from qyzj_analytics.reporting.terms import ContractTerms
from qyzj_analytics.scoring.assessment import Assessment, assess
from qyzj_analytics.scoring.kpi import KpiContext, check_kpi_functions

if TYPE_CHECKING:
    from qyzj_analytics.ingest.pipeline import Prepared


@dataclass(frozen=True)
class Metrics:
    """Everything the notebooks show, computed once for one raw folder and one as-of date."""

    quarter: str
    as_of: dt.date
    contract_name: str
    period_start: dt.date
    period_end: dt.date
    terms: ContractTerms  # the contract terms the narrative states
    raw_dir: str
    is_sample: bool
    score: dict[str, Any]
    notes: list[str]
    formats: dict[str, int]
    tag_overlap: dict[str, int]
    kpi_table: pd.DataFrame
    burnups: pd.DataFrame
    quality: pd.DataFrame
    files: pd.DataFrame
    rejections: pd.DataFrame
    warnings: pd.DataFrame
    duplicates: pd.DataFrame
    unknown_formats: pd.DataFrame
    freshness: pd.DataFrame
    activities_by_month: pd.DataFrame
    online_offline: pd.DataFrame
    parks: pd.DataFrame
    livestreams: pd.DataFrame
    payment_schedule: pd.DataFrame
    forecast: ForecastMetrics | None = None


_SCALARS = (
    "quarter",
    "as_of",
    "contract_name",
    "period_start",
    "period_end",
    "raw_dir",
    "is_sample",
    "score",
    "notes",
    "formats",
    "tag_overlap",
)
CACHE_VERSION = 2  # 2: the contract terms are cached too


def resolve_as_of(quarter: str, as_of: str | dt.date | None = None) -> dt.date:
    """The requested assessment date: ``as_of`` when given, else the last day of ``quarter``.

    ``as_of`` is read like ``qyzj kpi --as-of`` (``2025-09-30``, ``2025/9/30``, ``2025年9月30日``);
    :func:`build_metrics` then applies the period rule (after the end → the end, with a note;
    before the start → :class:`~qyzj_analytics.errors.UsageError`).

    Raises:
        UsageError: a malformed quarter.
        ValueError: a malformed ``as_of`` (:class:`~qyzj_analytics.errors.ParseError`).
    """
    if isinstance(as_of, dt.date):
        return as_of
    if as_of:
        return parse_whole_date(as_of)
    return quarter_end(*parse_quarter(quarter))


def build_metrics(
    raw_dir: Path | str,
    as_of: dt.date,
    contract: Contract | None = None,
    *,
    quarter: str = "",
    forecast: bool = True,
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    plan_probability: float = TARGET_PROBABILITY,
    planning: Planning | None = None,
    prepared: Prepared | None = None,
) -> Metrics:
    """Clean ``raw_dir``, assess at ``as_of`` and, with ``forecast``, run the year-end forecast.

    ``prepared`` is ``raw_dir`` already cleaned (``ingest.pipeline.prepare``): a second as-of
    (last quarter's figures) then costs no second reading of the exports.

    An ``as_of`` after the contract period is read as the period end (``Metrics.as_of`` is the
    date used, and a note says so). The same as :func:`build_base_metrics` then, with
    ``forecast``, :func:`add_forecast`.

    Raises:
        ConfigError: a KPI of the contract has no function.
        UsageError: ``as_of`` is before the contract period.
        DataError: the raw folder cannot be used (see :func:`~qyzj_analytics.pipeline.prepare`).
    """
    metrics, assessed = build_base_metrics(
        raw_dir, as_of, contract, quarter=quarter, prepared=prepared
    )
    if not forecast:
        return metrics
    return add_forecast(
        metrics,
        assessed,
        draws=draws,
        seed=seed,
        plan_probability=plan_probability,
        planning=planning,
    )


@dataclass(frozen=True)
class Assessed:
    """What :func:`add_forecast` needs besides the metrics: the KPI context and assessment."""

    ctx: KpiContext
    assessment: Assessment
    contract: Contract


def build_base_metrics(
    raw_dir: Path | str,
    as_of: dt.date,
    contract: Contract | None = None,
    *,
    quarter: str = "",
    prepared: Prepared | None = None,
) -> tuple[Metrics, Assessed]:
    """Everything but the forecast (``Metrics.forecast`` None, the payment schedule from today's
    score), and what :func:`add_forecast` needs to add it.

    Notebooks that need no forecast can start from these metrics while the forecast runs: every
    field but ``forecast`` and ``payment_schedule`` is what :func:`build_metrics` gives.

    Raises: as :func:`build_metrics`.
    """
    from qyzj_analytics.ingest.pipeline import prepare

    contract = contract or load_contract()
    check_kpi_functions(contract)
    raw = Path(raw_dir)
    if prepared is None:
        prepared = prepare(raw, contract)
    ctx = KpiContext.of(prepared, contract, as_of)
    as_of = ctx.as_of  # clamped to the period end
    assessment = assess(ctx, prepared.quality)
    sub = float(assessment.payment.subsidy)
    metrics = Metrics(
        quarter=quarter,
        as_of=as_of,
        contract_name=contract.name,
        period_start=contract.period_start,
        period_end=contract.period_end,
        terms=ContractTerms.of(contract),
        raw_dir=str(raw),
        is_sample=is_sample_folder(raw),
        score=summarize_score(assessment),
        notes=list(assessment.notes) + list(prepared.clean.notes),
        formats=dict(assessment.formats),
        tag_overlap=tag_overlap_counts(ctx),
        kpi_table=kpi_table(assessment),
        burnups=build_burnups(ctx),
        quality=quality_summary(prepared),
        files=files_overview(prepared),
        rejections=rejections_by_reason(prepared),
        warnings=warnings_by_reason(prepared),
        duplicates=duplicates_summary(prepared),
        unknown_formats=unknown_formats(ctx),
        freshness=data_freshness(prepared, as_of),
        activities_by_month=activities_by_month_and_category(ctx),
        online_offline=online_offline_by_month(ctx),
        parks=parks_covered(ctx),
        livestreams=livestreams_by_month(ctx),
        payment_schedule=payment_schedule(contract, as_of, (sub, sub, sub)),
    )
    return metrics, Assessed(ctx, assessment, contract)


def add_forecast(
    metrics: Metrics,
    assessed: Assessed,
    *,
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    plan_probability: float = TARGET_PROBABILITY,
    planning: Planning | None = None,
) -> Metrics:
    """``metrics`` (from :func:`build_base_metrics`) with the year-end forecast and the payment
    schedule it implies (P10–P90 of the subsidy)."""
    forecast_metrics = build_forecast_metrics(
        assessed.ctx,
        assessed.assessment,
        draws=draws,
        seed=seed,
        plan_probability=plan_probability,
        planning=planning,
    )
    subsidy = forecast_metrics.payment.loc["运维补助"]
    schedule = payment_schedule(
        assessed.contract,
        metrics.as_of,
        (subsidy["P10"], subsidy["P50"], subsidy["P90"]),
        basis=f"年终预测 P10–P90，{forecast_metrics.info.get('draws', draws):,} 次模拟",
    )
    return dataclasses.replace(metrics, forecast=forecast_metrics, payment_schedule=schedule)


def build_forecast_metrics(
    ctx: KpiContext,
    assessment: Assessment,
    *,
    draws: int,
    seed: int,
    plan_probability: float = TARGET_PROBABILITY,
    planning: Planning | None = None,
) -> ForecastMetrics:
    """Run the year-end forecast (with its action plan for ``plan_probability``, lever maxima and
    weights from ``planning``, the bundled file by default) and turn it into frames."""
    from qyzj_analytics.forecast.outlook import forecast_outlook

    outlook = forecast_outlook(
        ctx, draws=draws, seed=seed, plan_probability=plan_probability, planning=planning
    )
    return forecast_frames(outlook.forecast, outlook.plan, ctx, assessment)


def require_forecast(metrics: Metrics) -> ForecastMetrics:
    """The forecast part of ``metrics``.

    Raises:
        ValueError: the metrics were built (or cached) without the forecast.
    """
    if metrics.forecast is None:
        raise ValueError("指标中没有年终预测：请以 forecast=True 重新计算（或重新生成指标缓存）")
    return metrics.forecast


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(type(value))


def _frame_fields(cls: type) -> list[str]:
    return [
        f.name
        for f in fields(cls)
        if f.name not in _SCALARS and f.name not in ("terms", "forecast", "info")
    ]


def save_metrics(
    metrics: Metrics, out_dir: Path | str, like: tuple[Metrics, Path] | None = None
) -> Path:
    """Write ``metrics`` to ``out_dir`` (``metrics.json`` + one parquet per table); returns it.

    ``like`` is metrics already saved and their folder: a table that is the very same frame
    there is linked (or copied) from that folder instead of written again.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    scalars = {name: getattr(metrics, name) for name in _SCALARS}
    scalars["version"] = CACHE_VERSION
    scalars["terms"] = metrics.terms.to_json()
    scalars["forecast"] = metrics.forecast.info if metrics.forecast is not None else None
    for name in _frame_fields(Metrics):
        frame, file = getattr(metrics, name), f"{name}.parquet"
        if like is not None and getattr(like[0], name) is frame:
            _link_or_copy(like[1] / file, out / file)
        else:
            frame.to_parquet(out / file)
    if metrics.forecast is not None:
        for name in _frame_fields(ForecastMetrics):
            getattr(metrics.forecast, name).to_parquet(out / f"forecast_{name}.parquet")
    (out / "metrics.json").write_text(
        json.dumps(scalars, ensure_ascii=False, indent=2, default=_json_default), encoding="utf-8"
    )
    return out


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def load_metrics(cache_dir: Path | str) -> Metrics:
    """Read what :func:`save_metrics` wrote.

    Raises:
        FileNotFoundError: no ``metrics.json`` in ``cache_dir``.
        ValueError: the cache was written by another version of this module.
    """
    src = Path(cache_dir)
    scalars = json.loads((src / "metrics.json").read_text(encoding="utf-8"))
    if scalars.pop("version", None) != CACHE_VERSION:
        raise ValueError(f"指标缓存版本不符，请重新生成: {src}")
    info = scalars.pop("forecast")
    scalars["terms"] = ContractTerms.from_json(scalars["terms"])
    for name in ("as_of", "period_start", "period_end"):
        scalars[name] = dt.date.fromisoformat(scalars[name])
    frames = {name: pd.read_parquet(src / f"{name}.parquet") for name in _frame_fields(Metrics)}
    forecast = None
    if info is not None:
        forecast = ForecastMetrics(
            **{
                name: pd.read_parquet(src / f"forecast_{name}.parquet")
                for name in _frame_fields(ForecastMetrics)
            },
            info=info,
        )
    return Metrics(**scalars, **frames, forecast=forecast)


def load_or_build_metrics(
    cache_dir: str,
    raw_dir: str,
    quarter: str,
    as_of: str = "",
    config: str = "",
    *,
    forecast: bool = True,
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
) -> Metrics:
    """What a notebook calls with its parameters: the cache when ``cache_dir`` is set, else a fresh
    :func:`build_metrics` from ``raw_dir`` (``as_of`` empty → the quarter's last day, ``config``
    empty → the bundled contract; ``forecast`` only matters when building)."""
    if cache_dir:
        return load_metrics(cache_dir)
    contract = load_contract(config or None)
    return build_metrics(
        raw_dir,
        resolve_as_of(quarter, as_of),
        contract,
        quarter=quarter,
        forecast=forecast,
        draws=draws,
        seed=seed,
    )
