"""The action planner (issue 12): the best grade still reachable, every lever the operator
controls, maxima from the planning file, re-scoring checked by an independent re-implementation."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from builders import CONTRACT
from test_forecast import ACTIVITIES_CSV, ctx_at, year_tables

from qyzj_analytics.cli import main
from qyzj_analytics.forecast import plan as plan_module
from qyzj_analytics.forecast.levers import Evaluator
from qyzj_analytics.forecast.outcomes import score_draws
from qyzj_analytics.forecast.outlook import Outlook, forecast_outlook, outlook_to_dict
from qyzj_analytics.scoring.score import apply_rule

Q3_END = dt.date(2025, 9, 30)
GOAL = 0.9
# lever id → the KPIs one unit adds one to, by the contract's own semantics (not levers.py)
COUNTS = {
    "alliance_events": ("alliance_events", "offline_events"),
    "park_events": ("park_events", "offline_events"),
    "xiaowei_nihao_events": ("xiaowei_nihao_events", "offline_events"),
    "policy_sessions": ("policy_sessions", "offline_events"),
    "enterprises_served": ("enterprises_served",),
    "experts": ("experts_recruited",),
    "institutions": ("institutions_active",),
}


def hard_tables(seed: int = 3) -> dict[str, pd.DataFrame]:
    """A year at pace except for what the operator let slip: no 名师优课, no livestreams in the
    first half (优秀 is out of reach for good), no experts, many appeals left open and most
    weeks without a publication (良好 needs experts, appeal closures and weekly publishing)."""
    t = year_tables(seed=seed, level=1.3)
    t["courses"] = t["courses"].iloc[:0]
    acts = t["activities"]
    first_half_online = acts["format"].eq("线上") & (acts["date"] < pd.Timestamp("2025-07-01"))
    t["activities"] = acts.loc[~first_half_online].reset_index(drop=True)
    t["experts"] = t["experts"].iloc[:0]
    rng = np.random.default_rng(1)
    appeals = t["appeals"].copy()
    stuck = appeals["status"].eq("已办结").to_numpy() & (rng.random(len(appeals)) < 0.6)
    appeals.loc[stuck, "status"] = "办理中"
    appeals.loc[stuck, "closed"] = pd.NaT
    t["appeals"] = appeals
    pubs = t["publications"]
    week = pubs["date"].dt.to_period("W")
    weeks = week.unique()
    dropped = set(weeks[rng.random(len(weeks)) < 0.8])
    t["publications"] = pubs.loc[~week.isin(dropped)].reset_index(drop=True)
    return t


@pytest.fixture(scope="module")
def hard() -> Outlook:
    # seed 7: a year where 良好 needs experts, appeal closures and weekly publishing (issue 16
    # changed the simulated years; seed 3 now reaches 良好 with 联盟 events instead)
    return forecast_outlook(ctx_at(Q3_END, hard_tables(seed=7)), draws=4000, seed=5)


def apply_plan(o: Outlook, extra: dict[str, int]) -> dict[str, np.ndarray]:
    """The simulated year-end values with ``extra`` applied, re-derived from the draws' raw
    counts (independently of the planner's evaluator)."""
    sim = o.sim
    assert sim is not None
    values = {k: v.copy() for k, v in sim.values.items()}
    for lever_id, kpis in COUNTS.items():
        for k in kpis:
            values[k] = values[k] + extra.get(lever_id, 0)
    live = extra.get("livestreams", 0)
    if live:
        months = (sim.online_months + live >= CONTRACT.livestream_min_per_month).sum(axis=1)
        values["livestream_months"] = sim.livestream_done + months
    closes = extra.get("appeals", 0)
    if closes:
        a = sim.appeals
        closed = a.closed + np.minimum(closes, a.accepted - a.closed)
        values["appeal_resolution_rate"] = np.where(a.accepted > 0, closed / a.accepted, 1.0)
    weeks = extra.get("publications", 0)
    if weeks:
        cov = sim.coverage
        assert weeks == cov.ahead  # publishing is planned for every remaining week
        values["info_weekly_coverage"] = np.full(sim.draws, (cov.done + cov.ahead) / cov.weeks)
    hired, qualified = extra.get("staff_hired", 0), extra.get("staff_qualified", 0)
    if hired or qualified:
        n = values["staff_total"]
        q = np.round(values["staff_qualified_share"] * n)
        values["staff_fulltime_ops"] = values["staff_fulltime_ops"] + hired
        values["staff_total"] = n + hired
        values["staff_qualified_share"] = (q + hired + qualified) / (n + hired)
    return values


def p_at_least(o: Outlook, extra: dict[str, int], grade: str) -> float:
    """P(year-end grade at least ``grade``), scored with the code of ``qyzj kpi``."""
    _, _, grades = score_draws(apply_plan(o, extra), ctx_at(o.forecast.as_of, {}))
    order = [g.id for g in CONTRACT.grades]
    keep = order[: order.index(grade) + 1]
    return float(np.isin(grades, keep).mean())


def test_plans_for_good_when_excellent_is_out_of_reach(hard: Outlook) -> None:
    plan = hard.plan
    assert plan is not None
    assert hard.forecast.grade_probability["excellent"] < GOAL
    assert plan.target_grade == "good"  # the old planner planned for 优秀 and added nothing
    assert plan.probability_with_plan >= GOAL
    assert sum(plan.extra.values()) > 0
    assert plan.higher_grade == "excellent"
    assert plan.higher_probability_max is not None and plan.higher_probability_max < GOAL
    assert "达不到" in plan.statement and plan.higher_capped_by
    # the levers the old planner held fixed are the ones that help here
    for lever in ("experts", "appeals", "publications"):
        assert plan.extra[lever] > 0, lever
    texts = [s.text for s in plan.steps]
    assert f"再招募 {plan.extra['experts']} 名志愿服务专家" in texts
    assert f"年底前办结 {plan.extra['appeals']} 件在办诉求" in texts
    assert any(t.startswith("每周至少发布 1 条信息直到年底") for t in texts)
    gained = sum(s.adds for s in plan.steps)
    assert gained == pytest.approx(plan.probability_with_plan - plan.probability_now, abs=1e-9)


def test_plan_reaches_what_it_claims_when_applied_independently(hard: Outlook) -> None:
    plan = hard.plan
    assert plan is not None
    p = p_at_least(hard, plan.extra, plan.target_grade)
    assert p >= GOAL
    assert p == pytest.approx(plan.probability_with_plan, abs=1e-12)
    assert p_at_least(hard, {}, plan.target_grade) == pytest.approx(plan.probability_now)


def test_unreachable_grades_are_reported_never_planned_for(hard: Outlook) -> None:
    plan = hard.plan
    assert plan is not None
    most = {lv.id: lv.maximum for lv in plan.levers}
    assert p_at_least(hard, most, plan.target_grade) >= GOAL
    assert p_at_least(hard, most, "excellent") < GOAL
    assert p_at_least(hard, most, "excellent") == pytest.approx(plan.higher_probability_max)


def test_no_lever_exceeds_its_maximum(hard: Outlook) -> None:
    plan = hard.plan
    assert plan is not None
    weeks = (CONTRACT.period_end - Q3_END).days / 7
    limits = {lv.id: lv.maximum for lv in plan.levers}
    for lever_id, units in plan.extra.items():
        assert 0 <= units <= limits[lever_id]
    for tag in ("alliance_events", "park_events", "xiaowei_nihao_events", "policy_sessions"):
        assert limits[tag] == int(3 * weeks)  # planning.yaml: 3 a week per tag
    assert limits["livestreams"] == 12
    assert limits["experts"] == CONTRACT.kpi("experts_recruited").target  # none on the roster


def test_tight_planning_file_is_respected(tmp_path: Path) -> None:
    path = tmp_path / "planning.yaml"
    path.write_text("experts:\n  max: 4\nevents:\n  max_per_week: 0\n", encoding="utf-8")
    o = forecast_outlook(ctx_at(Q3_END, hard_tables()), draws=2000, seed=5, planning=path)
    plan = o.plan
    assert plan is not None
    ids = {lv.id for lv in plan.levers}
    assert "park_events" not in ids and plan.extra.get("park_events", 0) == 0
    assert plan.extra["experts"] <= 4
    if plan.extra["experts"]:
        assert p_at_least(o, plan.extra, plan.target_grade) >= GOAL


def test_plan_is_deterministic_for_a_seed() -> None:
    first = outlook_to_dict(forecast_outlook(ctx_at(Q3_END, hard_tables()), draws=2000, seed=9))
    again = outlook_to_dict(forecast_outlook(ctx_at(Q3_END, hard_tables()), draws=2000, seed=9))
    assert json.dumps(first["plan"], sort_keys=True) == json.dumps(again["plan"], sort_keys=True)


def test_json_plan_in_operator_terms(hard: Outlook) -> None:
    out = outlook_to_dict(hard)["plan"]
    assert out["target_grade"] == "good" and out["target_grade_name"] == "良好"
    assert {lv["id"] for lv in out["levers"]} == set(out["extra"])
    for lv in out["levers"]:
        assert {"id", "name", "unit", "maximum", "weight"} <= set(lv)
    assert out["higher"]["grade"] == "excellent" and out["higher"]["probability_max"] < GOAL
    assert [s["lever"] for s in out["steps"]] and all(s["text"] for s in out["steps"])
    weights = {lv["id"]: lv["weight"] for lv in out["levers"]}
    assert weights["experts"] == 0.5 and weights["appeals"] == 0.5
    assert weights["publications"] == 0.2 and weights["enterprises_served"] == 1 / 50


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "活动.csv").write_text(ACTIVITIES_CSV, encoding="utf-8-sig")
    return folder


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("events:\n  weight: -1\n", "events.weight"),
        ("events:\n  max_per_week: 2.5\n", "events.max_per_week"),
        ("staff:\n  salary: 3\n", "staff.salary"),
        ("rockets:\n  weight: 1\n", "rockets"),
        ("appeals: many\n", "appeals"),
        ("a: &x {weight: 1}\nb: *x\n", "别名"),
        ("events: [1\n", "YAML"),
    ],
)
def test_bad_planning_file_exits_3_in_chinese(
    raw: Path, tmp_path: Path, text: str, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "我的规划.yaml"
    path.write_text(text, encoding="utf-8")
    argv = ["forecast", "--raw", str(raw), "--as-of", "2025-06-30", "--planning", str(path)]
    assert main([*argv, "--draws", "500"]) == 3
    err = capsys.readouterr().err
    assert "规划文件" in err and str(path) in err and key in err
    assert "Traceback" not in err


def test_missing_planning_file_exits_3(raw: Path, tmp_path: Path) -> None:
    argv = ["forecast", "--raw", str(raw), "--as-of", "2025-06-30"]
    assert main([*argv, "--planning", str(tmp_path / "none.yaml")]) == 3


def test_plan_probability_flag(raw: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["forecast", "--raw", str(raw), "--as-of", "2025-06-30", "--json", "--draws", "1000"]
    assert main([*argv, "--plan-probability", "0.5"]) == 0
    plan = json.loads(capsys.readouterr().out)["plan"]
    assert plan["target_probability"] == 0.5
    assert plan["probability_with_plan"] >= 0.5 or plan["probability_now"] >= 0.5
    with pytest.raises(SystemExit) as info:
        main([*argv, "--plan-probability", "1.5"])
    assert info.value.code == 2


def test_evaluator_cache_scores_as_the_independent_re_scoring(hard: Outlook) -> None:
    """The planner keeps each KPI's points per change (issue 16): asked again, in any mix and
    on all draws or on the first ones, its probabilities equal a fresh scoring of the draws."""
    plan = hard.plan
    assert plan is not None and hard.sim is not None
    full = Evaluator(hard.sim, CONTRACT, plan.levers)
    first = Evaluator(hard.sim, CONTRACT, plan.levers, 1000, fast=True)
    rng = np.random.default_rng(4)
    mixes = [  # publishing is all remaining weeks or none, as the planner plans it
        {lv.id: int(rng.integers(0, lv.maximum // lv.step + 1)) * lv.step for lv in plan.levers}
        for _ in range(12)
    ]
    for extra in [*mixes, *mixes[:4]]:  # the repeats come from the cache
        for grade in ("excellent", "good"):
            assert full.exact(extra, grade) == p_at_least(hard, extra, grade)
            assert full.probability(extra, grade)[0] == full.exact(extra, grade)
            values = apply_plan(hard, extra)
            _, _, grades = score_draws(
                {k: v[:1000] for k, v in values.items()}, ctx_at(hard.forecast.as_of, {})
            )
            order = [g.id for g in CONTRACT.grades]
            keep = order[: order.index(grade) + 1]
            assert first.exact(extra, grade) == pytest.approx(
                np.isin(grades, keep).mean(), abs=1e-12
            )


def test_short_subsample_plan_is_topped_up_not_searched_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A plan searched on the first draws that falls short on all of them is topped up from
    where it stands (issue 16): one search on the subsample, one top-up, a few hundred
    evaluations of every draw (the search rerun on every draw took ≈ 1,800), and the
    claim still holds on every draw when re-checked independently."""
    draws = 4000
    monkeypatch.setattr(plan_module, "PLAN_DRAWS", 1000)
    searched: list[int] = []
    topped: list[int] = []
    full_evaluations = [0]
    search, top_up, scores = plan_module._search, plan_module._top_up, Evaluator.scores

    def counting_search(ev: Evaluator, *args: object) -> dict[str, int]:
        searched.append(ev.n)
        found = search(ev, *args)
        # a subsample that misleads: its plan holds on the first draws only. Made certain here
        # (half of each lever), so the test does not hang on one model's draws.
        return {lever: count // 2 for lever, count in found.items()}

    def counting_top_up(*args: object) -> dict[str, int]:
        topped.append(1)
        return top_up(*args)

    def counting_scores(self: Evaluator, extra: dict[str, int]) -> np.ndarray:
        full_evaluations[0] += self.n == draws
        return scores(self, extra)

    monkeypatch.setattr(plan_module, "_search", counting_search)
    monkeypatch.setattr(plan_module, "_top_up", counting_top_up)
    monkeypatch.setattr(Evaluator, "scores", counting_scores)
    o = forecast_outlook(ctx_at(dt.date(2025, 3, 31), hard_tables(seed=7)), draws=draws, seed=5)
    plan = o.plan
    assert plan is not None and o.sim is not None and plan.probability_now < GOAL
    assert searched == [1000] and topped == [1]
    assert full_evaluations[0] < 600, full_evaluations  # a search rerun on every draw: ≈ 1,800
    p = p_at_least(o, plan.extra, plan.target_grade)
    assert p >= GOAL
    assert p == pytest.approx(plan.probability_with_plan, abs=1e-12)
    months = o.sim.remaining_months
    assert plan.total_effort < sum(lv.cost(lv.maximum, months) for lv in plan.levers)  # trimmed


@pytest.mark.parametrize("stuck", [False, True])
def test_top_up_meets_the_goal_on_every_draw(
    hard: Outlook, monkeypatch: pytest.MonkeyPatch, stuck: bool
) -> None:
    """The top-up reaches the goal on all draws from any start; when its greedy search makes
    no progress it starts from every lever at its maximum and trims back with the exact sums."""
    plan, sim = hard.plan, hard.sim
    assert plan is not None and sim is not None
    if stuck:
        monkeypatch.setattr(plan_module, "_greedy", lambda ev, levers, start, *a: dict(start))
    full = Evaluator(sim, CONTRACT, plan.levers)
    zero = {lv.id: 0 for lv in plan.levers}
    months = sim.remaining_months
    extra = plan_module._top_up(
        sim, CONTRACT, full, plan.levers, zero, GOAL, plan.target_grade, months
    )
    assert p_at_least(hard, extra, plan.target_grade) >= GOAL
    assert all(0 <= extra[lv.id] <= lv.maximum for lv in plan.levers)
    most = sum(lv.cost(lv.maximum, months) for lv in plan.levers)
    assert sum(lv.cost(extra[lv.id], months) for lv in plan.levers) < most  # trimmed back


def test_evaluator_given_the_summary_score_and_cached_points_scores_the_same(
    hard: Outlook,
) -> None:
    """The planner reuses the summary's base score for "nothing added" and its cached points for
    the lost points (issue 16 item 1): the same numbers, bit for bit, as summing them afresh."""
    plan = hard.plan
    assert plan is not None and hard.sim is not None
    given = Evaluator(hard.sim, CONTRACT, plan.levers, base=hard.forecast.base)
    fresh = Evaluator(hard.sim, CONTRACT, plan.levers)
    zero = {lv.id: 0 for lv in plan.levers}
    most = {lv.id: lv.maximum for lv in plan.levers}
    assert np.array_equal(given.scores(zero), fresh.scores(zero))
    assert given.scores(zero) is given.base  # summed once
    assert given.at_least(zero) == fresh.at_least(zero)
    cached = Evaluator(hard.sim, CONTRACT, plan.levers)
    cached.at_least(most)  # fills the points cache, as plan_actions does first
    assert cached.cache
    quick = Evaluator(hard.sim, CONTRACT, plan.levers[:1], fast=True)  # fast: not from cache
    lost = cached.lost_points(most)
    assert lost == fresh.lost_points(most)
    for lv in plan.levers:
        for k in lv.kpis:
            values = apply_plan(hard, most)[k]
            spec = CONTRACT.kpi(k)
            assert lost[k] == float(spec.weight) - float(
                np.mean(float(spec.weight) * apply_rule(values, spec))
            )
    one = {plan.levers[0].id: plan.levers[0].maximum}
    assert quick.lost_points(one) == fresh.lost_points(one)
