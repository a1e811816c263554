"""The report's metrics, computed once in two stages and cached for the notebooks.

Stage one cleans the exports and assesses them (every table but the forecast's); notebooks that
need no forecast (:func:`needs_forecast`) start from its cache while stage two runs the 20,000-draw
forecast with its action plan and adds last quarter's figures (较上季度).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qyzj_analytics.contract.model import Contract
    from qyzj_analytics.forecast.planning import Planning
    from qyzj_analytics.ingest.pipeline import Prepared
    from qyzj_analytics.reporting.bundle import Assessed, Metrics
    from qyzj_analytics.reporting.report.options import ReportOptions

BASE_CACHE = "base"  # stage one's cache (no forecast), inside the run's cache folder
FULL_CACHE = "full"
_LOAD_CALL = re.compile(r"load_or_build_metrics\((?P<args>[^()]*)\)", re.S)


@dataclass(frozen=True)
class BaseStage:
    """Stage one: the metrics without the forecast and what stage two continues from."""

    metrics: Metrics
    assessed: Assessed
    prepared: Prepared
    planning: Planning | None


def precompute_base(options: ReportOptions, contract: Contract, cache: Path) -> BaseStage:
    """Clean and assess once (no forecast) and cache it in ``cache/base`` for the notebooks that
    need no forecast.

    Raises:
        DataError: the exports cannot be used.
    """
    from qyzj_analytics.forecast.planning import load_planning
    from qyzj_analytics.ingest.pipeline import prepare
    from qyzj_analytics.reporting.bundle import build_base_metrics, save_metrics

    planning = load_planning(options.planning)  # a bad planning file stops before any reading
    prepared = prepare(options.raw_dir, contract)  # cleaned once: this quarter and the last
    metrics, assessed = build_base_metrics(
        options.raw_dir, options.as_of, contract, quarter=options.quarter, prepared=prepared
    )
    save_metrics(metrics, cache / BASE_CACHE)
    return BaseStage(metrics, assessed, prepared, planning)


def precompute_forecast(
    options: ReportOptions, contract: Contract, base: BaseStage, cache: Path
) -> Metrics:
    """Add the forecast (with the action plan) and 较上季度 to stage one's metrics and cache them
    in ``cache/full``: what ``build_metrics(…, forecast=True)`` and the report's KPI table give."""
    from qyzj_analytics.reporting.archive.summary import add_quarter_change
    from qyzj_analytics.reporting.bundle import add_forecast, save_metrics

    metrics = add_forecast(
        base.metrics,
        base.assessed,
        draws=options.draws,
        seed=options.seed,
        plan_probability=options.plan_probability,
        planning=base.planning,
    )
    metrics = add_quarter_change(metrics, options, contract, base.prepared)
    save_metrics(metrics, cache / FULL_CACHE, like=(base.metrics, cache / BASE_CACHE))
    return metrics


def precompute(options: ReportOptions, contract: Contract, cache: Path) -> Metrics:
    """Both stages at once; the full metrics (cached in ``cache/full``)."""
    return precompute_forecast(options, contract, precompute_base(options, contract, cache), cache)


def needs_forecast(notebook: Path) -> bool:
    """Whether ``notebook`` needs the forecast's metrics: False only when it loads its metrics
    with ``forecast=False`` in every ``load_or_build_metrics(…)`` call and never asks for the
    forecast (``require_forecast``, ``.forecast``, ``payment_schedule``, ``kpi_table``, whose
    较上季度 column comes with stage two)."""
    try:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        source = "\n".join(
            "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in cells
            if c.get("cell_type") == "code"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return True
    calls = list(_LOAD_CALL.finditer(source))
    if not calls or any("forecast=False" not in call["args"] for call in calls):
        return True
    rest = _LOAD_CALL.sub("", source)
    return any(word in rest for word in ("forecast", "payment_schedule", "kpi_table"))


def notebook_parameters(options: ReportOptions, cache: Path, charts: Path) -> dict[str, Any]:
    """The papermill parameters every notebook receives (``cache``: the stage's cache)."""
    return {
        "quarter": options.quarter,
        "raw_dir": str(options.raw_dir),
        "as_of": options.as_of.isoformat(),
        "config": str(options.config) if options.config else "",
        "seed": options.seed,
        "draws": options.draws,
        "cache_dir": str(cache),
        "charts_dir": str(charts),
    }
