"""``summary.json`` beside each published report, and the change since the previous quarter.

The summary is small and machine-readable (quarter, as-of, grade, base score, per KPI actual,
attainment and status, sample flag, contract id). The next quarter's report reads it to state,
for every KPI, the change since that report (较上季度); when it is missing, the previous quarter
is recomputed from the current raw data (按当前数据重算).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qyzj_analytics.dates.periods import parse_quarter
from qyzj_analytics.formats import format_quantity, round_number

if TYPE_CHECKING:
    import pandas as pd

    from qyzj_analytics.contract.model import Contract
    from qyzj_analytics.ingest.pipeline import Prepared
    from qyzj_analytics.reporting.bundle import Metrics
    from qyzj_analytics.reporting.report.options import ReportOptions

SUMMARY_NAME = "summary.json"
SUMMARY_VERSION = 1
CHANGE_COLUMN = "较上季度"
FIRST_QUARTER = "首个季度，无上季度报告"
RECOMPUTED = "按当前数据重算"


def contract_id(contract: Contract) -> str:
    """The contract a summary belongs to: its name and period (``名称 2025-01-01–2025-12-31``)."""
    return f"{contract.name} {contract.period_start.isoformat()}–{contract.period_end.isoformat()}"


def _number(value: Any) -> float | int | None:
    try:
        return round_number(float(value), 6)
    except (TypeError, ValueError):
        return None


def build_summary(metrics: Metrics, contract: Contract) -> dict[str, Any]:
    """The summary of one report (JSON-safe; aggregates only, no personal data)."""
    return summary_of(
        metrics.quarter,
        metrics.as_of,
        metrics.score,
        metrics.kpi_table,
        metrics.is_sample,
        contract,
    )


def summary_of(
    quarter: str,
    as_of: dt.date,
    score: dict[str, Any],
    table: pd.DataFrame,
    is_sample: bool,
    contract: Contract,
) -> dict[str, Any]:
    """:func:`build_summary` from its parts: the score (``tables.summarize_score``) and the KPI
    table (``tables.kpi_table``) of one as-of date."""
    from qyzj_analytics.scoring.assessment import STATUS_ZH  # (pandas: not for every command)

    kpis = {
        str(kpi_id): {
            "name": str(row["指标"]),
            "unit": str(row["单位"]),
            "actual": _number(row["实际"]),
            "target": _number(row["目标"]),
            "attainment": _number(row["完成率"]),
            "status": str(row["状态"]),
        }
        for kpi_id, row in table.iterrows()
    }
    return {
        "version": SUMMARY_VERSION,
        "quarter": quarter,
        "as_of": as_of.isoformat(),
        "contract_id": contract_id(contract),
        "contract_name": contract.name,
        "grade": score["grade"],
        "grade_name": score["grade_name"],
        "base": _number(score["base"]),
        "bonus": _number(score["bonus"]),
        "behind": sum(1 for k in kpis.values() if k["status"] == STATUS_ZH["behind"]),
        "is_sample": bool(is_sample),
        "kpis": kpis,
    }


def write_json_atomically(path: Path, data: Any) -> Path:
    """Write ``data`` as UTF-8 JSON through a temporary file and ``os.replace``; returns ``path``."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    write_text_atomically(path, text)
    return path


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` so a reader sees the old file or the new, never a part."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_summary(folder: Path, metrics: Metrics, contract: Contract) -> Path:
    """Write ``folder/summary.json`` (the staging folder: it publishes with the report)."""
    return write_json_atomically(folder / SUMMARY_NAME, build_summary(metrics, contract))


def read_summary(folder: Path) -> dict[str, Any] | None:
    """The summary saved in a report folder, or None when absent or unreadable."""
    try:
        data = json.loads((folder / SUMMARY_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != SUMMARY_VERSION:
        return None
    return data


def previous_quarter(quarter: str) -> str:
    """The quarter before ``quarter``.

    >>> previous_quarter("2025Q3"), previous_quarter("2025Q1")
    ('2025Q2', '2024Q4')
    """
    year, q = parse_quarter(quarter)
    return f"{year - 1}Q4" if q == 1 else f"{year}Q{q - 1}"


def previous_summary(
    options: ReportOptions, contract: Contract, prepared: Prepared | None = None
) -> tuple[dict[str, Any] | None, str]:
    """The previous quarter's summary and its basis: the saved report's, a recomputation, or
    (None, :data:`FIRST_QUARTER`) in the contract's first quarter.

    ``prepared``: the raw folder already cleaned for this report (a recomputation reuses it).

    Raises:
        DataError: the raw folder cannot be used (it was usable a moment ago: unlikely).
    """
    from qyzj_analytics.errors import UsageError
    from qyzj_analytics.ingest.discover import is_sample_folder
    from qyzj_analytics.ingest.pipeline import prepare
    from qyzj_analytics.reporting.report.options import resolve_quarter
    from qyzj_analytics.reporting.tables import kpi_table, summarize_score
    from qyzj_analytics.scoring.assessment import assess
    from qyzj_analytics.scoring.kpi import KpiContext

    label = previous_quarter(options.quarter)
    try:
        label, as_of = resolve_quarter(label, contract, dt.date.today())
    except UsageError:
        return None, FIRST_QUARTER
    saved = read_summary(options.out_dir / label)
    if saved is not None and saved.get("contract_id") == contract_id(contract):
        return saved, f"{label} 报告"
    # only what the summary holds (score and KPI table), not the report's other tables
    prepared = prepared if prepared is not None else prepare(options.raw_dir, contract)
    ctx = KpiContext.of(prepared, contract, as_of)
    assessment = assess(ctx, prepared.quality)
    summary = summary_of(
        label,
        ctx.as_of,
        summarize_score(assessment),
        kpi_table(assessment),
        is_sample_folder(options.raw_dir),
        contract,
    )
    return summary, RECOMPUTED


def _change(now: Any, before: Any, unit: str, share: bool) -> str:
    if before is None or now is None or (isinstance(now, float) and math.isnan(now)):
        return "—"
    delta = float(now) - float(before)
    if share:
        return f"{round(delta * 100, 1) + 0.0:+.1f} 个百分点"  # + 0.0: never "-0.0"
    text = format_quantity(abs(delta), unit)
    return ("+" if delta >= 0 else "-") + text


def change_column(table: pd.DataFrame, previous: dict[str, Any] | None, basis: str) -> list[str]:
    """Per KPI of ``table``: ``实际 +120，完成率 +5.0 个百分点`` (with the basis when recomputed)."""
    if previous is None:
        return [FIRST_QUARTER] * len(table)
    kpis = previous.get("kpis", {})
    texts = []
    for kpi_id, row in table.iterrows():
        before = kpis.get(str(kpi_id))
        if before is None:
            texts.append("上季度无此指标")
            continue
        unit = str(row["单位"])
        actual = _change(row["实际"], before.get("actual"), unit, unit == "比例")
        attained = _change(row["完成率"], before.get("attainment"), unit, True)
        text = f"实际 {actual}，完成率 {attained}"
        texts.append(f"{text}（{RECOMPUTED}）" if basis == RECOMPUTED else text)
    return texts


def add_quarter_change(
    metrics: Metrics,
    options: ReportOptions,
    contract: Contract,
    prepared: Prepared | None = None,
) -> Metrics:
    """``metrics`` with the KPI table's :data:`CHANGE_COLUMN` (the change since last quarter);
    ``prepared`` is the raw folder already cleaned for ``metrics``."""
    from qyzj_analytics.reporting.tables import with_quarter_change

    previous, basis = previous_summary(options, contract, prepared)
    table = with_quarter_change(
        metrics.kpi_table, change_column(metrics.kpi_table, previous, basis)
    )
    return dataclasses.replace(metrics, kpi_table=table)
