"""The contract YAML is checked when loaded: every bad value is exit 3 naming its key (issue 9.3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qyzj_analytics.cli import main
from qyzj_analytics.contract.model import load_contract
from qyzj_analytics.errors import ConfigError

BUNDLED = Path(__file__).resolve().parents[1] / "qyzj_analytics" / "contract" / "2025.yaml"
ACTIVITIES = "活动名称,活动时间,活动形式\n政策宣讲会,2025-03-05,线下\n"
POLICY = (
    "  - {id: policy_sessions, name: 政策宣贯解读, unit: 场, target: 10, rule: linear, weight: 5, "
    "pace: period, source: 三(四)5}\n"
)
COURSES = (
    "  - {id: mingshi_courses, name: 名师优课录用, unit: 门, target: 2, rule: linear, weight: 5, "
    "pace: period, source: 三(四)3}\n"
)
STAFF_WEIGHTS = "rule: threshold, weight: 5/3,"


def variant(tmp_path: Path, *changes: tuple[str, str], count: int = 1) -> Path:
    """The bundled contract with each ``(old, new)`` replaced (``count`` times) in ``tmp_path``."""
    text = BUNDLED.read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text, f"the bundled contract no longer has {old!r}"
        text = text.replace(old, new, count)
    path = tmp_path / "variant.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "活动.csv").write_text(ACTIVITIES, encoding="utf-8")
    return folder


BAD = {
    "text target": ((("target: 2000,", "target: 很多,"),), "kpis[1].target"),
    "zero target": ((("target: 30, rule", "target: 0, rule"),), "kpis[2].target"),
    "negative target": (
        (("target: 3, rule: linear, weight: 5", "target: -3, rule: linear, weight: 5"),),
        "kpis[3].target",
    ),
    "weights sum to 99": (
        (("rule: linear, weight: 15", "rule: linear, weight: 14"),),
        "kpis[*].weight",
    ),
    "text weight": (
        (("rule: linear, weight: 15", "rule: linear, weight: 十五"),),
        "kpis[1].weight",
    ),
    "reversed period": (
        (("period_start: 2025-01-01", "period_start: 2026-01-01"),),
        "contract.period_end",
    ),
    "period of one instant": (
        (("period_end: 2025-12-31", "period_end: 2025-01-01"),),
        "contract.period_end",
    ),
    "nonexistent start date": (
        (("period_start: 2025-01-01", "period_start: 2025-02-30"),),
        "contract.period_start",
    ),
    "nonexistent due date": (
        (("due: 2025-03-31", "due: 2025-02-30"),),
        "payment.advances[1].due",
    ),
    "text money": ((('total: "468333.00"', 'total: "四十六万"'),), "payment.total"),
    "negative money": (
        (('due: 2025-06-30, amount: "100000.00"', 'due: 2025-06-30, amount: "-100000.00"'),),
        "payment.advances[2].amount",
    ),
    "floor above target": ((("floor: 0.80", "floor: 0.96"),), "kpis[8].floor"),
    "text grade threshold": ((("min_score: 90", "min_score: 九十"),), "grades[1].min_score"),
    "unknown rule": (
        (("target: 2000, rule: linear", "target: 2000, rule: linearly"),),
        "kpis[1].rule",
    ),
    "duplicate KPI": ((("id: alliance_events", "id: offline_events"),), "kpis[3].id"),
    "missing section": (
        (("pace_status:\n  at_risk_ratio: 0.80", "pace_statuses: {}"),),
        "pace_status",
    ),
    "far-out period": (
        (
            ("period_start: 2025-01-01", "period_start: 9999-01-01"),
            ("period_end: 2025-12-31", "period_end: 9999-12-31"),
        ),
        "contract.period_start",
    ),
    "bonus KPI dropped": (
        (
            (COURSES, ""),
            (
                "id: policy_sessions, name: 政策宣贯解读, unit: 场, target: 10, rule: linear, weight: 5",
                "id: policy_sessions, name: 政策宣贯解读, unit: 场, target: 10, rule: linear, weight: 10",
            ),
        ),
        "bonus.beyond_target_kpi",
    ),
    "unknown subsidy rule": (
        (("excellent: full", "excellent: all"),),
        "payment.subsidy_rule.excellent",
    ),
    "KPI without a function": ((("id: policy_sessions", "id: policy_talks"),), "kpis[9].id"),
    "not YAML": ((("kpis:\n", "kpis: [\n"),), "YAML"),
    # the full lists of the data-entry templates (issue 15) agree with the KPIs' lists
    "open status also closed": (
        (("open_statuses: [已受理, 办理中]", "open_statuses: [已受理, 办理中, 已办结]"),),
        "appeals.open_statuses",
    ),
    "active status also inactive": (
        (("active_statuses: [合作中, 正常]", "active_statuses: [合作中, 暂停]"),),
        "institutions.active_statuses",
    ),
    "no qualifying education level": (
        (
            (
                "education_levels: [初中及以下, 高中, 中专, 大专, 本科, 硕士研究生, 博士研究生]",
                "education_levels: [初中及以下, 高中, 中专]",
            ),
        ),
        "staff.education_levels",
    ),
    "title level twice": (
        (
            (
                "title_levels: [无, 初级, 中级, 副高级, 正高级]",
                "title_levels: [无, 初级, 中级, 中级]",
            ),
        ),
        "staff.title_levels",
    ),
    "title levels not a list": (
        (("title_levels: [无, 初级, 中级, 副高级, 正高级]", "title_levels: {无: 1}"),),
        "staff.title_levels",
    ),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_config_exits_3_naming_the_key(
    case: str, raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changes, key = BAD[case]
    config = variant(tmp_path, *changes)
    assert main(["kpi", "--raw", str(raw), "--as-of", "2025-06-30", "--config", str(config)]) == 3
    err = capsys.readouterr().err
    assert key in err, err
    assert str(config) in err and "Traceback" not in err


def test_fractional_weights_sum_exactly(tmp_path: Path) -> None:
    assert load_contract().full_score == 100  # three weights of 5/3 make exactly 5
    rounded = variant(tmp_path, (STAFF_WEIGHTS, "rule: threshold, weight: 1.6667,"), count=3)
    with pytest.raises(ConfigError, match=r"kpis\[\*\]\.weight"):
        load_contract(rounded)


def test_a_renegotiated_contract_may_drop_a_kpi(
    raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    info = "name: 信息每周更新覆盖率, unit: 比例, target: 1.0, rule: linear, weight: 5,"
    config = variant(tmp_path, (POLICY, ""), (info, info.replace("weight: 5", "weight: 10")))
    assert (
        main(["kpi", "--raw", str(raw), "--as-of", "2025-06-30", "--config", str(config), "--json"])
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert "policy_sessions" not in data["kpis"]
    assert data["kpis"]["info_weekly_coverage"]["weight"] == 10
    assert data["score"]["base"] == pytest.approx(
        sum(k["points"] for k in data["kpis"].values()), abs=1e-3
    )


def test_dropping_a_kpi_without_moving_its_weight_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="95"):
        load_contract(variant(tmp_path, (POLICY, "")))


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "contract: {name: x}\n"])
def test_empty_or_partial_configs_are_config_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"c\.yaml"):
        load_contract(path)


def test_an_explicit_impossible_timestamp_is_a_config_error(tmp_path: Path) -> None:
    # PyYAML raises a bare ValueError constructing this; it is caught like any YAML error
    config = variant(tmp_path, ("period_start: 2025-01-01", "period_start: !!timestamp 2025-02-30"))
    with pytest.raises(ConfigError, match="YAML"):
        load_contract(config)


def test_a_far_contract_period_runs_on_the_weekday_fallback(
    raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = variant(
        tmp_path,
        ("period_start: 2025-01-01", "period_start: 2150-01-01"),
        ("period_end: 2025-12-31", "period_end: 2150-12-31"),
    )
    argv = ["--raw", str(raw), "--config", str(config), "--as-of", "9999-12-31", "--json"]
    assert main(["forecast", *argv, "--draws", "50"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["as_of"], data["as_of_requested"]) == ("2150-12-31", "9999-12-31")
    assert data["calendar"]["fallback_years"] == [2150]


def test_the_full_entry_lists_are_optional(tmp_path: Path) -> None:
    """A contract written before the templates (no full lists) still loads: no drop-down then."""
    config = variant(
        tmp_path,
        ("  open_statuses: [已受理, 办理中]        # accepted, not yet closed\n", ""),
        ("  title_levels: [无, 初级, 中级, 副高级, 正高级]\n", ""),
    )
    contract = load_contract(config)
    assert contract.open_statuses == () and contract.title_levels == ()
    assert load_contract().title_levels == ("无", "初级", "中级", "副高级", "正高级")
