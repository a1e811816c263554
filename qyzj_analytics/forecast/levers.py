"""The planner's levers and how their extra units change the simulated years.

A lever is something the operator can still add before period end, in its own unit, with a
maximum for the time left and an effort weight per unit (both from the planning file,
:mod:`.planning`). :class:`Evaluator` applies extra units to every draw with each KPI's own
semantics and re-scores the draws with :mod:`qyzj_analytics.scoring.score` (the rules of
``qyzj kpi``):

- tagged offline events (联盟, 小微园, 小微你好, 政策) add one to their KPI and to 线下公益活动;
- livestreams add one online activity to every remaining month (a month counts once it has the
  contract's minimum);
- enterprises served, experts and active institutions add one to their count;
- a qualified full-time operations hire adds one to 专职运营人员 and 从业人员 and one qualified
  person to both sides of 大专/中级以上人员比例; an existing member who qualifies adds one to its
  numerator only (at most the unqualified staff);
- an appeal closed turns one appeal still open at year end into a closed one (numerator only,
  at most the appeals open in that draw);
- weekly publications cover every remaining week: exact, from the draws' covered weeks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.forecast.appeals import resolution_rate
from qyzj_analytics.forecast.horizon import Horizon
from qyzj_analytics.forecast.methods import (
    APPEALS_KPI,
    COVERAGE_KPI,
    LIVESTREAM_KPI,
    OFFLINE_KPI,
    OFFLINE_TAG_KPIS,
    POLICY_KPI,
    SERVICES_KPI,
)
from qyzj_analytics.forecast.outcomes import reached
from qyzj_analytics.forecast.planning import Planning
from qyzj_analytics.forecast.simulate import YearEndDraws
from qyzj_analytics.scoring.score import apply_rule, base_score, count_reaching, score_points

EXPERTS_KPI, INSTITUTIONS_KPI = "experts_recruited", "institutions_active"
OPS_KPI, STAFF_KPI, QUALIFIED_KPI = "staff_fulltime_ops", "staff_total", "staff_qualified_share"
LIVESTREAM_LEVER, APPEALS_LEVER, PUBLICATIONS_LEVER = "livestreams", "appeals", "publications"
EXPERTS_LEVER, INSTITUTIONS_LEVER = "experts", "institutions"
HIRE_LEVER, QUALIFY_LEVER = "staff_hired", "staff_qualified"
SERVICES_STEPS = 200  # the services lever moves in steps of target / 200 while searching
SMOOTHING_POINTS = 1.0  # width (score points) of the logistic that smooths P(grade) in the search


@dataclass(frozen=True)
class Lever:
    """One thing the operator can add more of.

    Attributes:
        id: lever id (the key of ``plan.extra``).
        name: Chinese name.
        unit: unit of one step.
        kpis: KPI ids the lever moves.
        per_month: a unit is one more livestream in every remaining month.
        step: units per search step (the publications lever: all remaining weeks at once).
        maximum: most units in the time left (from the planning file).
        weight: effort per unit (from the planning file).
        kind: how a unit changes the KPIs (count, livestream, appeals, publications, hire,
            qualify).
    """

    id: str
    name: str
    unit: str
    kpis: tuple[str, ...]
    per_month: bool = False
    step: int = 1
    maximum: int = 0
    weight: float = 1.0
    kind: str = "count"

    def cost(self, units: int, months: int) -> float:
        """Weighted effort of ``units`` (a per-month unit is paid in every remaining month)."""
        return self.weight * units * (months if self.per_month else 1)


def _first(values: Mapping[str, np.ndarray], kpi_id: str) -> float:
    """A held KPI's value (the same in every draw)."""
    return float(values[kpi_id][0])


def _gap(values: Mapping[str, np.ndarray], c: Contract, kpi_id: str) -> int:
    """Units a held count KPI still lacks to its target (≥ 0)."""
    return max(0, int(np.ceil(c.kpi(kpi_id).target - _first(values, kpi_id) - 1e-9)))


def _capped(planned: int, planning: Planning, section: str) -> int:
    """``planned`` lowered to the planning file's ``max`` when it sets one."""
    most = planning.get(section, "max")
    return planned if most is None else min(planned, int(most))


def _staff_levers(sim: YearEndDraws, c: Contract, ids: set[str], p: Planning) -> list[Lever]:
    """Hiring a qualified full-time operations member, and qualifying existing staff."""
    kpis = tuple(k for k in (OPS_KPI, STAFF_KPI, QUALIFIED_KPI) if k in ids)
    if not kpis or STAFF_KPI not in ids:
        return []
    v = sim.values
    n = _first(v, STAFF_KPI)
    q = round(_first(v, QUALIFIED_KPI) * n) if QUALIFIED_KPI in kpis else 0
    need = [_gap(v, c, k) for k in (OPS_KPI, STAFF_KPI) if k in kpis]
    if QUALIFIED_KPI in kpis:
        share = c.kpi(QUALIFIED_KPI).target
        need.append(max(0, int(np.ceil((share * n - q) / (1 - share) - 1e-9))) if share < 1 else 0)
    weight = float(p.get("staff", "weight") or 0)
    ops = c.kpi(OPS_KPI).name if OPS_KPI in kpis else c.kpi(STAFF_KPI).name
    levers = [
        Lever(
            HIRE_LEVER,
            f"招聘合格的{ops}",
            "人",
            kpis,
            maximum=_capped(max(need), p, "staff"),
            weight=weight,
            kind="hire",
        )
    ]
    if QUALIFIED_KPI in kpis and n > q:
        levers.append(
            Lever(
                QUALIFY_LEVER,
                "现有人员取得资格",
                "人",
                (QUALIFIED_KPI,),
                maximum=_capped(int(n - q), p, "staff"),
                weight=weight,
                kind="qualify",
            )
        )
    return levers


def build_levers(
    sim: YearEndDraws, contract: Contract, horizon: Horizon, planning: Planning
) -> list[Lever]:
    """The levers the contract's KPIs allow (those whose KPI ids exist and are not missing),
    with their maximum for the time left; none once the period is over."""
    c, p = contract, planning
    if not horizon.remaining_days:
        return []
    ids = {k.id for k in c.kpis} - set(sim.missing)
    weeks = horizon.remaining_days / 7
    months = sim.remaining_months
    also_offline = (OFFLINE_KPI,) if OFFLINE_KPI in ids else ()
    levers = []
    per_week = int((p.get("events", "max_per_week") or 0) * weeks)
    for kpi_id in [*OFFLINE_TAG_KPIS, POLICY_KPI]:
        if kpi_id in ids:
            name = c.kpi(kpi_id).name
            levers.append(
                Lever(
                    kpi_id,
                    f"线下{name}",
                    "场",
                    (kpi_id, *also_offline),
                    maximum=per_week,
                    weight=float(p.get("events", "weight") or 0),
                )
            )
    if LIVESTREAM_KPI in ids and months:
        levers.append(
            Lever(
                LIVESTREAM_LEVER,
                "每月加开直播",
                "场/月",
                (LIVESTREAM_KPI,),
                per_month=True,
                maximum=int(p.get("livestreams", "max_per_month") or 0),
                weight=float(p.get("livestreams", "weight") or 0),
                kind="livestream",
            )
        )
    if SERVICES_KPI in ids:
        spec = c.kpi(SERVICES_KPI)
        per = p.get("enterprises_served", "weight_per") or 1.0
        levers.append(
            Lever(
                SERVICES_KPI,
                spec.name,
                spec.unit,
                (SERVICES_KPI,),
                step=max(1, round(spec.target / SERVICES_STEPS)),
                maximum=int((p.get("enterprises_served", "max_per_week") or 0) * weeks),
                weight=float(p.get("enterprises_served", "weight") or 0) / per,
            )
        )
    for lever_id, kpi_id, section, unit in (
        (EXPERTS_LEVER, EXPERTS_KPI, "experts", "人"),
        (INSTITUTIONS_LEVER, INSTITUTIONS_KPI, "institutions", "家"),
    ):
        if kpi_id in ids:
            levers.append(
                Lever(
                    lever_id,
                    c.kpi(kpi_id).name,
                    unit,
                    (kpi_id,),
                    maximum=_capped(_gap(sim.values, c, kpi_id), p, section),
                    weight=float(p.get(section, "weight") or 0),
                )
            )
    levers += _staff_levers(sim, c, ids, p)
    if APPEALS_KPI in ids and sim.appeals is not None:
        pending = int(np.max(sim.appeals.accepted - sim.appeals.closed, initial=0))
        levers.append(
            Lever(
                APPEALS_LEVER,
                "办结在办诉求",
                "件",
                (APPEALS_KPI,),
                maximum=_capped(pending, p, "appeals"),
                weight=float(p.get("appeals", "weight") or 0),
                kind="appeals",
            )
        )
    if COVERAGE_KPI in ids and sim.coverage is not None and sim.coverage.ahead:
        ahead = sim.coverage.ahead
        levers.append(
            Lever(
                PUBLICATIONS_LEVER,
                "每周发布信息",
                "周",
                (COVERAGE_KPI,),
                step=ahead,
                maximum=ahead,
                weight=float(p.get("publications", "weight") or 0),
                kind="publications",
            )
        )
    return [lv for lv in levers if lv.maximum > 0]


class Evaluator:
    """Re-scores the draws (the first ``n`` when given) with extra units per lever.

    ``fast`` (the search) adds the changed KPIs' points to the unchanged total instead of
    summing every KPI again; the plan's reported probabilities use the exact sum. A KPI's
    points for one change (its key, :meth:`_changes`) are computed once and reused: the search
    asks for many mixes that share most of their levers' units.
    """

    CACHE_VALUES = 4_000_000  # most cached per-draw values (floats) before the cache restarts

    def __init__(
        self,
        sim: YearEndDraws,
        contract: Contract,
        levers: list[Lever],
        n: int | None = None,
        fast: bool = False,
        points: Mapping[str, np.ndarray] | None = None,
        base: np.ndarray | None = None,
    ) -> None:
        """``points``: ``score_points`` of every draw when already at hand (the forecast's);
        ``base``: their ``base_score`` likewise (the summary's)."""
        n = sim.draws if n is None else min(n, sim.draws)
        self.values = {k: v[:n] for k, v in sim.values.items()}
        self.online = sim.online_months[:n]
        self.done = sim.livestream_done
        self.appeals = sim.appeals
        self.coverage = sim.coverage
        self.n = n
        self.contract = contract
        self.specs = {k.id: k for k in contract.kpis}
        self.thresholds = {g.id: g.min_score for g in contract.grades}
        far = contract.full_score + max(abs(t) for t in self.thresholds.values())
        self.clip = far / SMOOTHING_POINTS >= 700
        self.levers = {lv.id: lv for lv in levers}
        if points is None:
            self.points = score_points(self.values, contract)
        else:
            self.points = {k.id: points[k.id][:n] for k in contract.kpis}
        self.total = sum(self.points.values()) if fast else None
        self.base = None if base is None else base[:n]  # the exact score with nothing added
        self.unrounded: np.ndarray | None = None  # Σ points, for exact counts (count_reaching)
        self.jump_cache: dict[str, list[int]] = {}
        self.whole: dict[str, bool] = {}  # KPI id → every value is a whole number
        self.cache: dict[tuple, np.ndarray] = {}

    def _changes(self, extra: Mapping[str, int]) -> dict[str, tuple]:
        """The KPIs ``extra`` changes, in the order :meth:`adjusted` returns them, each with the
        key its year-end values depend on."""
        out: dict[str, tuple] = {}
        hired = qualified = 0
        for lever_id, units in extra.items():
            lv = self.levers[lever_id]
            if not units:
                continue
            if lv.kind == "count":
                for k in lv.kpis:
                    out[k] = (*out.get(k, ("count",)), units)
            elif lv.kind == "livestream":
                out[LIVESTREAM_KPI] = ("livestream", units)
            elif lv.kind == "appeals" and self.appeals is not None:
                out[APPEALS_KPI] = ("appeals", units)
            elif lv.kind == "publications" and self.coverage is not None:
                out[COVERAGE_KPI] = ("publications", units < self.coverage.ahead)
            elif lv.kind == "hire":
                hired = units
            elif lv.kind == "qualify":
                qualified = units
        for k, key in out.items():  # whole counts: units added one after another = their sum
            if len(key) > 2 and key[0] == "count" and self._whole(k):
                out[k] = ("count", sum(key[1:]))
        if hired or qualified:
            for k in (OPS_KPI, STAFF_KPI):
                if hired and k in self.values:
                    out[k] = ("count", hired)
            if QUALIFIED_KPI in self.values:
                out[QUALIFIED_KPI] = ("staff", hired, qualified)
        return out

    def _whole(self, kpi_id: str) -> bool:
        """True when every value of the KPI is a whole number (cached)."""
        if kpi_id not in self.whole:
            v = self.values[kpi_id]
            self.whole[kpi_id] = bool(np.array_equal(v, np.floor(v)))
        return self.whole[kpi_id]

    def _value(self, kpi_id: str, key: tuple) -> np.ndarray:
        """Year-end values of one KPI, per draw, under the change ``key``."""
        v, n, kind = self.values, self.n, key[0]
        if kind == "count":
            out = v[kpi_id]
            for units in key[1:]:
                out = out + units
            return out
        if kind == "livestream":
            reach = self.online + key[1] >= self.contract.livestream_min_per_month
            return self.done + reach.sum(axis=1)
        if kind == "appeals":
            closed, accepted = self.appeals.closed[:n], self.appeals.accepted[:n]
            closed = closed + np.minimum(key[1], accepted - closed)
            return resolution_rate(closed, accepted)
        if kind == "publications":
            cov = self.coverage  # a publication in every remaining week, or nothing
            future = cov.future[:n] if key[1] else np.full(n, float(cov.ahead))
            return (cov.done + future) / max(1, cov.weeks)
        hired, qualified = key[1], key[2]  # "staff": the qualified share
        staff = v[STAFF_KPI] + hired
        q = np.round(v[QUALIFIED_KPI] * v[STAFF_KPI]) + hired + qualified
        return np.where(staff > 0, q / np.maximum(staff, 1), 0.0)

    def _points(self, kpi_id: str, key: tuple) -> np.ndarray:
        """Points of one KPI per draw under the change ``key`` (cached)."""
        found = self.cache.get((kpi_id, key))
        if found is None:
            if len(self.cache) * self.n >= self.CACHE_VALUES:
                self.cache.clear()
            spec = self.specs[kpi_id]
            found = float(spec.weight) * apply_rule(self._value(kpi_id, key), spec)
            if self.total is not None:  # the search adds the change to the unchanged total
                found = found - self.points[kpi_id]
            self.cache[(kpi_id, key)] = found
        return found

    def adjusted(self, extra: Mapping[str, int]) -> dict[str, np.ndarray]:
        """Year-end values of the KPIs ``extra`` changes, per draw."""
        return {k: self._value(k, key) for k, key in self._changes(extra).items()}

    def scores(self, extra: Mapping[str, int]) -> np.ndarray:
        """Base score per draw with ``extra`` units added."""
        changes = self._changes(extra)
        if self.total is not None:  # total + (Σ changes), the changes summed first
            moved = np.zeros(self.n)
            for k, key in changes.items():
                moved += self._points(k, key)
            moved += self.total
            return np.round(moved, 9, out=moved)
        if not changes:  # nothing added: the draws' own score, summed once
            if self.base is None:
                self.base = base_score(self.points)
            return self.base
        return base_score({**self.points, **{k: self._points(k, c) for k, c in changes.items()}})

    def at_least(self, extra: Mapping[str, int]) -> dict[str, float]:
        """P(year-end grade at least g) for every grade g, with ``extra`` units added."""
        base = self.scores(extra)
        return {
            g.id: int(np.count_nonzero(base >= g.min_score)) / self.n for g in self.contract.grades
        }

    def exact(self, extra: Mapping[str, int], grade: str) -> float:
        """P(grade at least ``grade``) with ``extra`` units added (exact sums: counted by
        :func:`count_reaching`, the same count as summing every draw)."""
        changes, threshold = self._changes(extra), self.thresholds[grade]
        if self.total is not None or not changes:
            return int(np.count_nonzero(self.scores(extra) >= threshold)) / self.n
        if self.unrounded is None:
            self.unrounded = sum(self.points.values())
        points = {**self.points, **{k: self._points(k, c) for k, c in changes.items()}}
        return count_reaching(points, threshold, self.points, self.unrounded) / self.n

    def probability(self, extra: Mapping[str, int], grade: str) -> tuple[float, float]:
        """P(grade at least ``grade``) and its smooth version, with ``extra`` units added."""
        base = self.scores(extra)
        threshold = self.thresholds[grade]
        z = (threshold - base) / SMOOTHING_POINTS  # −(base − threshold) / width, exactly
        if self.clip:  # a score could be more than 700 widths from the threshold
            np.clip(z, -700, 700, out=z)
        np.exp(z, out=z)
        z += 1.0
        np.divide(1.0, z, out=z)  # the logistic of (base − threshold) / width
        smooth = float(z.sum() / self.n)
        return int(np.count_nonzero(base >= threshold)) / self.n, smooth

    def lost_points(self, extra: Mapping[str, int]) -> dict[str, float]:
        """Mean points each KPI still loses per draw, with ``extra`` units added."""
        points = dict(self.points)
        for kpi_id, key in self._changes(extra).items():
            if self.total is None:  # the exact points, as cached by :meth:`at_least`
                points[kpi_id] = self._points(kpi_id, key)
            else:
                spec = self.specs[kpi_id]
                points[kpi_id] = float(spec.weight) * apply_rule(self._value(kpi_id, key), spec)
        return {k.id: float(k.weight) - float(np.mean(points[k.id])) for k in self.contract.kpis}

    def jumps(self, lever: Lever) -> list[int]:
        """Units at which a held KPI of ``lever`` first reaches its target (threshold rules)."""
        if lever.id not in self.jump_cache:
            self.jump_cache[lever.id] = self._jumps(lever)
        return self.jump_cache[lever.id]

    def _jumps(self, lever: Lever) -> list[int]:
        if lever.kind not in ("hire", "qualify", "count") or lever.kpis[0] not in (
            EXPERTS_KPI,
            INSTITUTIONS_KPI,
            OPS_KPI,
            STAFF_KPI,
            QUALIFIED_KPI,
        ):
            return []
        found: dict[str, int] = {}
        for units in range(1, lever.maximum + 1):
            for k, values in self.adjusted({lever.id: units}).items():
                if k not in found and reached(values[:1], self.contract.kpi(k).target)[0]:
                    found[k] = units
        return sorted(set(found.values()))
