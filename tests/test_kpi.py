"""KPI rules and their edges (DESIGN "KPI semantics")."""

from __future__ import annotations

import datetime as dt

import pytest
from builders import CONTRACT, activity, context

from qyzj_analytics.scoring.kpi import REGISTRY, classify_activities, compute_actuals


def actual(kpi_id: str, **kwargs) -> float:
    return REGISTRY[kpi_id](context(**kwargs)).value


def test_every_contract_kpi_has_a_function() -> None:
    assert {k.id for k in CONTRACT.kpis} <= set(REGISTRY)
    assert len(CONTRACT.kpis) == 15


@pytest.mark.parametrize(
    ("fmt", "title", "expected"),
    [
        ("线下", "政策宣讲会", "offline"),
        ("现场", "x", "offline"),
        ("线上", "x", "online"),
        ("直播", "x", "online"),
        ("网络", "x", "online"),
        ("线上+线下", "x", "hybrid"),
        (None, "线上直播：惠企政策解读", "online"),
        (None, "走进柳市小微园（现场）", "offline"),
        (None, "企业座谈", "unknown"),
        ("其他", "线上直播", "unknown"),  # the format column decides when it is not empty
    ],
)
def test_format_classification(fmt: str | None, title: str, expected: str) -> None:
    ctx = context(activities=[activity(title, "2025-03-01", fmt)])
    out = classify_activities(ctx.tables["activities"], CONTRACT)
    assert out["format_kind"].tolist() == [expected]


def test_hybrid_counts_offline_and_online() -> None:
    rows = [activity("联盟活动", f"2025-03-{d:02d}", "线上+线下") for d in range(1, 7)]
    ctx = dict(activities=rows, as_of="2025-03-31")
    assert actual("offline_events", **ctx) == 6
    assert actual("alliance_events", **ctx) == 6
    assert actual("livestream_months", **ctx) == 1


def test_unknown_format_is_counted_nowhere() -> None:
    rows = [activity("小微你好 政策解读 联盟 小微园", "2025-03-01", None)]
    for kpi_id in (
        "offline_events",
        "alliance_events",
        "park_events",
        "xiaowei_nihao_events",
        "policy_sessions",
    ):
        assert actual(kpi_id, activities=rows) == 0, kpi_id


def test_cross_counting_one_event_counts_for_several_kpis() -> None:
    rows = [activity("“小微你好”走进柳市小微园", "2025-04-01", "线下", "政策宣讲")]
    for kpi_id in ("offline_events", "park_events", "xiaowei_nihao_events", "policy_sessions"):
        assert actual(kpi_id, activities=rows) == 1, kpi_id
    assert actual("alliance_events", activities=rows) == 0


def test_tags_match_category_and_title_together() -> None:
    rows = [activity("服务活动", "2025-04-01", "线下", "中小企业服务联盟")]
    assert actual("alliance_events", activities=rows) == 1


def test_online_policy_session_counts_for_policy_not_offline() -> None:
    rows = [activity("惠企政策直播", "2025-04-01", "线上")]
    assert actual("policy_sessions", activities=rows) == 1
    assert actual("offline_events", activities=rows) == 0


def test_events_outside_period_or_after_as_of_do_not_count() -> None:
    rows = [
        activity("a", "2024-12-31"),
        activity("b", "2025-01-01"),
        activity("c", "2025-06-30"),
        activity("d", "2025-07-01"),
        activity("e", "2026-01-01"),
    ]
    assert actual("offline_events", activities=rows, as_of="2025-06-30") == 2
    assert actual("offline_events", activities=rows, as_of="2026-03-01") == 3


def test_event_on_the_as_of_day_counts() -> None:
    services = [{"enterprise": "甲公司", "date": "2025-06-30"}]
    assert actual("enterprises_served", services=services, as_of="2025-06-30") == 1
    assert actual("enterprises_served", services=services, as_of="2025-06-29") == 0


def test_livestream_months_only_fully_elapsed_months() -> None:
    rows = [
        activity(f"直播{i}", f"2025-0{m}-{i + 1:02d}", "直播") for m in (1, 2) for i in range(6)
    ]
    rows += [activity(f"直播x{i}", f"2025-03-{i + 1:02d}", "直播") for i in range(5)]
    assert actual("livestream_months", activities=rows, as_of="2025-02-27") == 1
    assert actual("livestream_months", activities=rows, as_of="2025-02-28") == 2
    assert actual("livestream_months", activities=rows, as_of="2025-03-31") == 2  # March has 5


def test_mingshi_courses_accepted_by_as_of() -> None:
    courses = [
        {"title": "A", "accepted": "2025-03-01"},
        {"title": "B", "accepted": "2025-10-01"},
        {"title": "C", "accepted": None},
    ]
    assert actual("mingshi_courses", courses=courses, as_of="2025-09-30") == 1
    assert actual("mingshi_courses", courses=courses, as_of="2025-12-31") == 2


def appeal(i: int, status: str, received: str = "2025-03-01", closed: str | None = None) -> dict:
    return {"appeal_id": f"A{i}", "received": received, "status": status, "closed": closed}


def test_appeal_rate_excludes_not_accepted_and_late_closures() -> None:
    appeals = [
        appeal(1, "已办结", closed="2025-03-05"),
        appeal(2, "已办结", closed="2025-10-05"),  # closed after as_of: still open at as_of
        appeal(3, "办结"),  # closed, no date: counts as closed
        appeal(4, "办理中"),
        appeal(5, "已退回"),  # not accepted
        appeal(6, "撤回"),
        appeal(7, "已办结", received="2025-10-01", closed="2025-10-02"),  # after as_of
    ]
    assert actual("appeal_resolution_rate", appeals=appeals, as_of="2025-09-30") == pytest.approx(
        2 / 4
    )
    assert actual("appeal_resolution_rate", appeals=appeals, as_of="2025-12-31") == pytest.approx(
        4 / 5
    )


def test_appeal_rate_without_accepted_appeals_is_one() -> None:
    assert actual("appeal_resolution_rate", appeals=[appeal(1, "已退回")]) == 1.0
    assert actual("appeal_resolution_rate") == 1.0


def test_weekly_coverage_counts_the_partial_first_week() -> None:
    # 2025-01-01 is a Wednesday: week 1 is Mon 2024-12-30 .. Sun 2025-01-05
    pubs = [{"date": "2025-01-02", "title": "t1"}]
    assert actual("info_weekly_coverage", publications=pubs, as_of="2025-01-05") == 1.0
    assert actual("info_weekly_coverage", publications=pubs, as_of="2025-01-12") == 0.5
    assert actual("info_weekly_coverage", publications=pubs, as_of="2025-01-11") == 1.0


def test_weekly_coverage_ignores_publications_before_the_period() -> None:
    pubs = [{"date": "2024-12-31", "title": "t"}]
    assert actual("info_weekly_coverage", publications=pubs, as_of="2025-01-05") == 0.0


def test_weekly_coverage_last_partial_week_not_elapsed_at_year_end() -> None:
    pubs = [{"date": f"{d}", "title": "t"} for d in ("2025-12-30",)]
    ctx = context(publications=pubs, as_of="2025-12-31")
    weeks = REGISTRY["info_weekly_coverage"](ctx).rows
    assert weeks["week_start"].iloc[-1] == dt.date(2025, 12, 22)
    assert len(weeks) == 52


def test_institutions_active_and_joined() -> None:
    rows = [
        {"name": "甲", "joined": "2024-05-01", "status": "正常"},
        {"name": "乙", "joined": None, "status": None},  # no date, no status: counted
        {"name": "丙", "joined": "2025-03-01", "status": "停止合作"},
        {"name": "丁", "joined": "2025-11-01", "status": "活跃"},
        {"name": "戊", "joined": "2025-02-01", "status": "暂停"},
    ]
    assert actual("institutions_active", institutions=rows, as_of="2025-09-30") == 2
    assert actual("institutions_active", institutions=rows, as_of="2025-12-31") == 3


def test_experts_appointed_by_as_of_undated_counted() -> None:
    rows = [
        {"name": "甲", "appointed": "2023-01-01"},
        {"name": "乙", "appointed": None},
        {"name": "丙", "appointed": "2025-10-01"},
    ]
    assert actual("experts_recruited", experts=rows, as_of="2025-09-30") == 2


def test_staff_kpis() -> None:
    staff = [
        {"name": "a", "fulltime_ops": True, "education": "本科"},
        {"name": "b", "fulltime_ops": True, "education": "高中", "title_level": "中级工程师"},
        {"name": "c", "fulltime_ops": False, "education": "大专"},
        {"name": "d", "fulltime_ops": False, "education": "高中", "title_level": "初级"},
        {"name": "e", "fulltime_ops": False, "education": None},
    ]
    assert actual("staff_fulltime_ops", staff=staff) == 2
    assert actual("staff_total", staff=staff) == 5
    assert actual("staff_qualified_share", staff=staff) == pytest.approx(0.6)


def test_compute_actuals_lists_every_kpi_in_contract_order() -> None:
    values = compute_actuals(context())
    assert list(values) == [k.id for k in CONTRACT.kpis]


def test_online_months_are_counted_once_per_context() -> None:
    """The livestream KPI and the forecast's observation read the same per-month counts; a
    context made with dataclasses.replace counts again (its own date)."""
    import dataclasses

    from qyzj_analytics.scoring.kpi import online_per_month

    ctx = context(
        "2025-03-31",
        activities=[activity(f"直播{i}", f"2025-0{1 + i % 3}-1{i % 9}", "线上") for i in range(9)],
    )
    first = online_per_month(ctx)
    assert online_per_month(ctx) is first
    assert first.loc["2025-01":"2025-03"].tolist() == [3, 3, 3] and first.sum() == 9
    later = dataclasses.replace(ctx, as_of=dt.date(2025, 1, 31))
    assert online_per_month(later).sum() == 3
