"""KPI actuals from the processed tables (DESIGN "KPI semantics", contract 三(一)–(四)).

One small function per KPI id, registered with :func:`kpi`; the contract YAML says which ids
exist, their targets and rules. Each function returns the actual value and the rows behind it, so
any figure can be traced back to source rows (``qyzj kpi --explain``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.dates.periods import clamp_as_of, elapsed_months, elapsed_weeks
from qyzj_analytics.errors import ConfigError
from qyzj_analytics.ingest.facts import Facts
from qyzj_analytics.ingest.parse import normalize_text, parse_distinct
from qyzj_analytics.ingest.schemas import TABLES

if TYPE_CHECKING:
    from qyzj_analytics.ingest.pipeline import Prepared

FORMATS = ("offline", "online", "hybrid", "unknown")


@dataclass(frozen=True)
class KpiContext:
    """What every KPI function sees: the processed tables, the contract, the date and the facts."""

    tables: dict[str, pd.DataFrame]
    contract: Contract
    as_of: dt.date
    facts: Facts = field(default_factory=Facts)
    as_of_requested: dt.date | None = None  # the date asked for, when ``as_of`` was clamped
    # tables whose export is absent from the raw folder: their KPIs are missing (DESIGN "Missing
    # tables"); facts_found False: no facts.yaml, the empty facts are used
    missing: frozenset[str] = frozenset()
    facts_found: bool = True
    # derived frames computed once per context (e.g. the classified activities); a context built
    # with dataclasses.replace starts with an empty cache
    cache: dict[str, pd.DataFrame | pd.Series] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def of(cls, prepared: Prepared, contract: Contract, as_of: dt.date) -> KpiContext:
        """The KPI context of a prepared raw folder at ``as_of``, clamped to the period.

        Raises:
            UsageError: ``as_of`` is before the contract period (:func:`clamp_as_of`).
        """
        used, _ = clamp_as_of(as_of, contract.period_start, contract.period_end)
        return cls(
            prepared.clean.tables,
            contract,
            used,
            prepared.facts,
            as_of_requested=as_of,
            missing=frozenset(prepared.missing_tables),
            facts_found=prepared.facts_found,
        )

    @property
    def requested_as_of(self) -> dt.date:
        """The as-of date the user asked for (``as_of`` unless it was clamped)."""
        return self.as_of_requested or self.as_of

    @property
    def as_of_note(self) -> str | None:
        """The note saying the requested date was read as the period end, or None."""
        if self.requested_as_of == self.as_of:
            return None
        return clamp_as_of(
            self.requested_as_of, self.contract.period_start, self.contract.period_end
        )[1]

    def missing_kpis(self) -> tuple[str, ...]:
        """The contract's KPIs computed from a missing table, in contract order."""
        return tuple(k.id for k in self.contract.kpis if KPI_TABLES.get(k.id) in self.missing)


@dataclass(frozen=True)
class KpiActual:
    """A KPI's actual value and the rows behind it (``None`` when no rows apply).

    A KPI whose table is missing has ``missing`` set and ``value`` NaN (it earns no points).
    """

    value: float
    rows: pd.DataFrame | None = None
    missing: bool = False


MISSING = KpiActual(math.nan, None, missing=True)


KpiFunction = Callable[[KpiContext], KpiActual]
REGISTRY: dict[str, KpiFunction] = {}
KPI_TABLES: dict[str, str] = {}  # KPI id → the table whose rows it counts


def kpi(kpi_id: str, table: str) -> Callable[[KpiFunction], KpiFunction]:
    """Register the function computing KPI ``kpi_id`` from the rows of ``table``."""

    def register(func: KpiFunction) -> KpiFunction:
        REGISTRY[kpi_id] = func
        KPI_TABLES[kpi_id] = table
        return func

    return register


def _contains_any(texts: pd.Series, words: tuple[str, ...]) -> np.ndarray:
    parsed = parse_distinct(texts, lambda t: bool(t) and any(w in t for w in words))
    return parsed.values(bool)


def classify_activities(activities: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Add ``format_kind`` (offline/online/hybrid/unknown) and one ``tag_<name>`` column per tag.

    The format comes from the format column; only where that is empty, from the title. Both
    offline and online words → hybrid. Tags match category and title together.

    >>> from qyzj_analytics.contract.model import load_contract
    >>> df = pd.DataFrame({"title": ["“小微你好”走进柳市小微园"], "format": ["线上+线下"],
    ...                    "category": [None]})
    >>> out = classify_activities(df, load_contract())
    >>> [str(v) for v in out.loc[0, ["format_kind", "tag_park", "tag_xiaowei_nihao", "tag_alliance"]]]
    ['hybrid', 'True', 'True', 'False']
    """

    def norm(col: str) -> pd.Series:
        return pd.Series(parse_distinct(activities[col], normalize_text).values(), dtype="str")

    title = norm("title")
    fmt = norm("format")
    source = fmt.where(fmt.notna(), title)
    offline = _contains_any(source, contract.format_keywords["offline"])
    online = _contains_any(source, contract.format_keywords["online"])
    kind = np.select(
        [offline & online, offline, online], ["hybrid", "offline", "online"], "unknown"
    )
    out = activities.assign(format_kind=pd.Series(kind, index=activities.index, dtype="str"))
    text = (norm("category").fillna("") + " " + title.fillna("")).set_axis(activities.index)
    for tag, words in contract.tag_keywords.items():
        out[f"tag_{tag}"] = _contains_any(text, words)
    return out


def in_period(frame: pd.DataFrame, column: str, ctx: KpiContext) -> pd.DataFrame:
    """Rows whose ``column`` date lies in the contract period and on or before ``as_of``."""
    dates = frame[column]
    start = pd.Timestamp(ctx.contract.period_start)
    stop = pd.Timestamp(min(ctx.as_of, ctx.contract.period_end))
    return frame.loc[dates.notna() & (dates >= start) & (dates <= stop)]


def on_or_before(frame: pd.DataFrame, column: str, ctx: KpiContext) -> pd.DataFrame:
    """Roster rows dated on or before ``as_of`` (any year); rows without a date count."""
    dates = frame[column]
    return frame.loc[dates.isna() | (dates <= pd.Timestamp(ctx.as_of))]


def events_to_date(ctx: KpiContext, table: str, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rows of event ``table`` (or ``frame``, derived from it) dated in the period up to
    ``as_of``, by the table's dating column (``TableSpec.dated_by``)."""
    rows = ctx.tables[table] if frame is None else frame
    return in_period(rows, TABLES[table].dated_by, ctx)


def roster_to_date(ctx: KpiContext, table: str) -> pd.DataFrame:
    """Rows of roster ``table`` dated on or before ``as_of`` (undated rows count)."""
    return on_or_before(ctx.tables[table], TABLES[table].dated_by, ctx)


def activities_to_date(ctx: KpiContext) -> pd.DataFrame:
    """Classified activities in the period up to ``as_of`` (computed once per context)."""
    if "activities_to_date" not in ctx.cache:
        classified = classify_activities(ctx.tables["activities"], ctx.contract)
        ctx.cache["activities_to_date"] = events_to_date(ctx, "activities", classified)
    return ctx.cache["activities_to_date"]


def _offline(ctx: KpiContext, tag: str | None = None) -> KpiActual:
    acts = activities_to_date(ctx)
    mask = acts["format_kind"].isin(["offline", "hybrid"])
    if tag:
        mask &= acts[f"tag_{tag}"]
    rows = acts.loc[mask]
    return KpiActual(float(len(rows)), rows)


@kpi("enterprises_served", "services")
def count_enterprises_served(ctx: KpiContext) -> KpiActual:
    """Service rows (家次) after dedupe, in the period up to as_of."""
    rows = events_to_date(ctx, "services")
    return KpiActual(float(len(rows)), rows)


@kpi("offline_events", "activities")
def count_offline_events(ctx: KpiContext) -> KpiActual:
    """Offline activities, hybrids included."""
    return _offline(ctx)


@kpi("alliance_events", "activities")
def count_alliance_events(ctx: KpiContext) -> KpiActual:
    """Offline activities tagged alliance (联盟)."""
    return _offline(ctx, "alliance")


@kpi("park_events", "activities")
def count_park_events(ctx: KpiContext) -> KpiActual:
    """Offline activities tagged park (小微园, 小微企业园, 进园)."""
    return _offline(ctx, "park")


@kpi("xiaowei_nihao_events", "activities")
def count_xiaowei_nihao_events(ctx: KpiContext) -> KpiActual:
    """Offline activities tagged 小微你好."""
    return _offline(ctx, "xiaowei_nihao")


def online_per_month(ctx: KpiContext) -> pd.Series:
    """Online (incl. hybrid) activities per month of the period up to as_of, every month listed
    (computed once per context: the livestream KPI and the forecast both read it)."""
    if "online_per_month" not in ctx.cache:
        acts = activities_to_date(ctx)
        online = acts.loc[acts["format_kind"].isin(["online", "hybrid"])]
        months = pd.period_range(ctx.contract.period_start, ctx.contract.period_end, freq="M")
        counts = online["date"].dt.to_period("M").value_counts()
        ctx.cache["online_per_month"] = counts.reindex(months, fill_value=0).rename("online_events")
    return ctx.cache["online_per_month"]


@kpi("livestream_months", "activities")
def count_livestream_months(ctx: KpiContext) -> KpiActual:
    """Months fully elapsed by as_of with at least 6 online (incl. hybrid) activities."""
    c = ctx.contract
    per_month = online_per_month(ctx)
    done = [
        pd.Period(f"{y}-{m:02d}", "M")
        for y, m in elapsed_months(c.period_start, c.period_end, ctx.as_of)
    ]
    rows = per_month.loc[done].rename_axis("month").reset_index()
    rows["reached"] = rows["online_events"] >= c.livestream_min_per_month
    return KpiActual(float(rows["reached"].sum()), rows)


@kpi("mingshi_courses", "courses")
def count_mingshi_courses(ctx: KpiContext) -> KpiActual:
    """Courses accepted (录用) in the period on or before as_of."""
    rows = events_to_date(ctx, "courses")
    return KpiActual(float(len(rows)), rows)


def classify_appeals(appeals: pd.DataFrame, ctx: KpiContext) -> pd.DataFrame:
    """Add ``accepted`` and ``closed_by_as_of`` flags to the appeals received in the period."""
    c = ctx.contract
    rows = events_to_date(ctx, "appeals", appeals)
    status = pd.Series(parse_distinct(rows["status"], normalize_text).values(), index=rows.index)
    accepted = ~status.isin(list(c.not_accepted_statuses))
    closed_date_ok = rows["closed"].isna() | (rows["closed"] <= pd.Timestamp(ctx.as_of))
    closed = accepted & status.isin(list(c.closed_statuses)) & closed_date_ok
    return rows.assign(accepted=accepted.to_numpy(bool), closed_by_as_of=closed.to_numpy(bool))


@kpi("appeal_resolution_rate", "appeals")
def rate_appeal_resolution(ctx: KpiContext) -> KpiActual:
    """Closed / accepted appeals; 1.0 when none were accepted."""
    rows = classify_appeals(ctx.tables["appeals"], ctx)
    accepted = int(rows["accepted"].sum())
    closed = int(rows["closed_by_as_of"].sum())
    return KpiActual(closed / accepted if accepted else 1.0, rows)


@kpi("policy_sessions", "activities")
def count_policy_sessions(ctx: KpiContext) -> KpiActual:
    """Activities of any known format tagged policy."""
    acts = activities_to_date(ctx)
    rows = acts.loc[(acts["format_kind"] != "unknown") & acts["tag_policy"]]
    return KpiActual(float(len(rows)), rows)


def publications_per_week(ctx: KpiContext) -> pd.DataFrame:
    """Publications per elapsed week (Monday-start weeks whose Sunday ≤ as_of)."""
    c = ctx.contract
    weeks = elapsed_weeks(c.period_start, c.period_end, ctx.as_of)
    pubs = events_to_date(ctx, "publications")
    mondays = (pubs["date"] - pd.to_timedelta(pubs["date"].dt.day_of_week, unit="D")).dt.date
    counts = mondays.value_counts()
    frame = pd.DataFrame({"week_start": weeks})
    frame["publications"] = [int(counts.get(w, 0)) for w in weeks]
    return frame


@kpi("info_weekly_coverage", "publications")
def rate_info_weekly_coverage(ctx: KpiContext) -> KpiActual:
    """Share of elapsed weeks with at least one publication (1.0 before the first week ends)."""
    weeks = publications_per_week(ctx)
    if weeks.empty:
        return KpiActual(1.0, weeks)
    return KpiActual(float((weeks["publications"] > 0).mean()), weeks)


def active_institutions(ctx: KpiContext) -> pd.DataFrame:
    """Institutions joined on or before as_of (or undated) whose status is not inactive."""
    rows = roster_to_date(ctx, "institutions")
    status = pd.Series(parse_distinct(rows["status"], normalize_text).values(), index=rows.index)
    return rows.loc[~status.isin(list(ctx.contract.inactive_statuses))]


@kpi("institutions_active", "institutions")
def count_institutions_active(ctx: KpiContext) -> KpiActual:
    """Active institutions joined on or before as_of (no date → counted)."""
    rows = active_institutions(ctx)
    return KpiActual(float(len(rows)), rows)


@kpi("experts_recruited", "experts")
def count_experts_recruited(ctx: KpiContext) -> KpiActual:
    """Experts appointed on or before as_of (no date → counted)."""
    rows = roster_to_date(ctx, "experts")
    return KpiActual(float(len(rows)), rows)


@kpi("staff_fulltime_ops", "staff")
def count_staff_fulltime_ops(ctx: KpiContext) -> KpiActual:
    """Staff marked as full-time operations."""
    staff = ctx.tables["staff"]
    rows = staff.loc[staff["fulltime_ops"].astype(bool)]
    return KpiActual(float(len(rows)), rows)


@kpi("staff_total", "staff")
def count_staff_total(ctx: KpiContext) -> KpiActual:
    """Staff rows."""
    staff = ctx.tables["staff"]
    return KpiActual(float(len(staff)), staff)


def qualified_staff(staff: pd.DataFrame, contract: Contract) -> pd.Series:
    """True for staff with education ≥ 大专 or a title ≥ 中级 (keywords from the contract)."""
    education = pd.Series(parse_distinct(staff["education"], normalize_text).values(), dtype="str")
    title = pd.Series(parse_distinct(staff["title_level"], normalize_text).values(), dtype="str")
    ok = _contains_any(education, contract.qualified_education) | _contains_any(
        title, contract.qualified_title
    )
    return pd.Series(ok, index=staff.index)


@kpi("staff_qualified_share", "staff")
def rate_staff_qualified_share(ctx: KpiContext) -> KpiActual:
    """Share of staff qualified by education or title (0 with no staff)."""
    staff = ctx.tables["staff"]
    if staff.empty:
        return KpiActual(0.0, staff)
    ok = qualified_staff(staff, ctx.contract)
    return KpiActual(float(ok.mean()), staff.assign(qualified=ok))


def compute_actuals(ctx: KpiContext) -> dict[str, KpiActual]:
    """The actual of every KPI the contract lists, in its order (:data:`MISSING` for a KPI
    whose table is missing).

    Raises:
        ConfigError: the contract lists a KPI id that no function computes.
    """
    check_kpi_functions(ctx.contract)
    absent = set(ctx.missing_kpis())
    return {
        spec.id: MISSING if spec.id in absent else REGISTRY[spec.id](ctx)
        for spec in ctx.contract.kpis
    }


def check_kpi_functions(contract: Contract) -> None:
    """Check that every KPI the contract lists has a registered function (run before any work).

    Raises:
        ConfigError: naming the first KPI (``kpis[i].id``) that no function computes.
    """
    for i, spec in enumerate(contract.kpis, start=1):
        if spec.id not in REGISTRY:
            raise ConfigError(
                f"合同配置 {contract.source} 的 kpis[{i}].id = {spec.id!r} 没有对应的计算函数；"
                f"可用的 KPI: {', '.join(sorted(REGISTRY))}"
            )


def count_formats(ctx: KpiContext) -> dict[str, int]:
    """Activities in the period up to as_of, by format kind (unknown is a data-quality warning)."""
    kinds = activities_to_date(ctx)["format_kind"].value_counts()
    return {k: int(kinds.get(k, 0)) for k in FORMATS}
