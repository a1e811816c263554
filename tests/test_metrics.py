"""The numbers the notebooks show (qyzj_analytics.reporting: tables, events, quality, payment,
forecast tables, styles, narrative, bundle): small cases by hand, the sample year
end to end, the cache round trip and HTML/Markdown escaping."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from builders import CONTRACT, activity, context
from conftest import write_csv

from qyzj_analytics import formats
from qyzj_analytics.contract.model import Advance, load_contract
from qyzj_analytics.errors import UsageError
from qyzj_analytics.forecast.plan import TARGET_PROBABILITY
from qyzj_analytics.ingest.pipeline import prepare
from qyzj_analytics.reporting import (
    bundle,
    events,
    forecast_tables,
    narrative,
    payment,
    quality,
    styles,
    tables,
)
from qyzj_analytics.reporting.terms import ContractTerms
from qyzj_analytics.sample.generate import write_sample
from qyzj_analytics.scoring.assessment import assess
from qyzj_analytics.scoring.kpi import REGISTRY, KpiContext

XSS = "<script>alert(1)</script>"


def act(title: str, date: str, fmt: str | None = "线下", location: str | None = None) -> dict:
    """One activity row with a location."""
    return {**activity(title, date, fmt), "location": location}


ACTIVITIES = [
    act("“小微你好”走进柳市小微园", "2025-01-10", "线下", "柳市小微园"),
    act("小微你好·融资对接", "2025-01-20", "线上+线下", "企业之家"),
    act("进园服务（白石小微企业园）", "2025-02-03", "现场", " 白石小微企业园 "),
    act("服务联盟年会", "2025-02-14", "线下", None),
    act("惠企政策直播", "2025-02-20", "直播"),
    act("小微园政策线上解读", "2025-03-05", "线上"),  # online: no offline tag counts
    act("企业座谈", "2025-03-06", None),  # unknown format
    act("四季度活动", "2025-10-01", "线下"),  # after as_of
]
AS_OF = "2025-03-31"


@pytest.fixture
def ctx():
    return context(AS_OF, activities=ACTIVITIES)


def test_kpi_table_has_chinese_columns_in_contract_order(ctx) -> None:
    table = tables.kpi_table(assess(ctx))
    assert list(table.index) == [k.id for k in CONTRACT.kpis]
    assert list(table.columns) == [
        "指标",
        "单位",
        "实际",
        "目标",
        "完成率",
        "应达进度",
        "应达完成率",
        "状态",
        "权重",
        "得分",
    ]
    assert set(table["状态"]) <= {"正常", "预警", "落后"}
    row = table.loc["offline_events"]
    assert row["实际"] == 4  # three offline + one hybrid
    assert row["完成率"] == pytest.approx(4 / 30)
    assert row["应达完成率"] == pytest.approx(row["应达进度"] / 30)


@pytest.mark.parametrize("kpi_id", sorted(tables.BURNUP_DATE_COLUMNS))
def test_cumulative_ends_at_the_kpi_actual(ctx, kpi_id: str) -> None:
    frame = tables.cumulative_by_day(ctx, kpi_id)
    assert len(frame) == 365
    assert frame["date"].iloc[0] == pd.Timestamp("2025-01-01")
    known = frame["cumulative"].dropna()
    assert frame.loc[known.index[-1], "date"] == pd.Timestamp(AS_OF)
    assert known.iloc[-1] == REGISTRY[kpi_id](ctx).value
    assert frame["cumulative"].iloc[known.index[-1] + 1 :].isna().all()
    assert frame["pace"].iloc[-1] == pytest.approx(CONTRACT.kpi(kpi_id).target)
    assert (np.diff(known) >= 0).all()


def test_undated_roster_rows_count_from_the_first_day() -> None:
    ctx = context(
        "2025-06-30",
        experts=[
            {"name": "甲", "appointed": None},
            {"name": "乙", "appointed": "2023-05-01"},
            {"name": "丙", "appointed": "2025-03-01"},
        ],
    )
    frame = tables.cumulative_by_day(ctx, "experts_recruited")
    assert frame["cumulative"].iloc[0] == 2
    assert frame["cumulative"].dropna().iloc[-1] == 3


def test_burnups_cover_every_period_count_kpi(ctx) -> None:
    frame = tables.build_burnups(ctx)
    assert list(dict.fromkeys(frame["kpi_id"])) == tables.select_burnup_kpis(CONTRACT)
    assert "livestream_months" not in set(frame["kpi_id"])


def test_each_activity_falls_in_one_category(ctx) -> None:
    frame = events.activities_by_month_and_category(ctx)
    assert list(frame.index) == ["2025-01", "2025-02", "2025-03"]
    assert list(frame.columns) == ["小微你好", "小微园", "联盟", "政策", "其他"]
    assert int(frame.to_numpy().sum()) == 7  # every activity up to as_of, any format
    assert frame.loc["2025-01", "小微你好"] == 2  # 小微你好 wins over 小微园
    assert frame.loc["2025-02", "小微园"] == 1
    assert frame.loc["2025-02", "联盟"] == 1
    assert frame.loc["2025-02", "政策"] == 1  # 惠企政策
    assert frame.loc["2025-03", "小微园"] == 1  # the online one is still an activity
    assert frame.loc["2025-03", "其他"] == 1


def test_online_offline_matches_the_kpis(ctx) -> None:
    frame = events.online_offline_by_month(ctx)
    assert list(frame.columns) == ["线下", "线上+线下", "线上", "形式不明"]
    assert frame["线下"].sum() + frame["线上+线下"].sum() == REGISTRY["offline_events"](ctx).value
    assert frame["形式不明"].sum() == 1


def test_tag_overlap_regions_add_up_to_the_kpis(ctx) -> None:
    counts = events.tag_overlap_counts(ctx)
    assert set(counts) == set(events.VENN_REGIONS)
    assert counts["110"] == 1  # 小微你好 in 小微园
    for i, kpi_id in enumerate(["park_events", "xiaowei_nihao_events", "alliance_events"]):
        total = sum(n for region, n in counts.items() if region[i] == "1")
        assert total == REGISTRY[kpi_id](ctx).value, kpi_id


def test_parks_covered_groups_normalised_locations() -> None:
    rows = [
        act("小微园走访", "2025-01-05", "线下", "白石小微企业园"),
        act("小微园走访", "2025-02-05", "线下", " 白石小微企业园"),
        act("进园服务", "2025-03-05", "线下", None),
        act("小微园直播", "2025-03-06", "线上", "白石小微企业园"),
    ]
    parks = events.parks_covered(context(AS_OF, activities=rows))
    assert parks.to_dict("records") == [
        {"地点": "白石小微企业园", "场次": 2, "最近一次": "2025-02-05"},
        {"地点": events.NO_LOCATION, "场次": 1, "最近一次": "2025-03-05"},
    ]


def test_livestream_months_marks_met_missed_and_running() -> None:
    rows = [act(f"直播{i}", f"2025-01-{i + 1:02d}", "直播") for i in range(6)]
    rows += [act("直播", "2025-02-03", "线上"), act("直播", "2025-03-03", "线上+线下")]
    frame = events.livestreams_by_month(context("2025-03-15", activities=rows))
    assert frame["状态"].tolist() == ["达标", "未达标", "进行中"]
    assert frame["线上场次"].tolist() == [6, 1, 1]
    assert (frame["最低要求"] == 6).all()


def test_nothing_before_the_period_starts() -> None:
    ctx = context("2024-12-31", activities=ACTIVITIES)
    assert events.activities_by_month_and_category(ctx).empty
    assert events.livestreams_by_month(ctx).empty
    assert tables.cumulative_by_day(ctx, "offline_events")["cumulative"].isna().all()


def test_payment_schedule_marks_due_advances() -> None:
    frame = payment.payment_schedule(CONTRACT, dt.date(2025, 7, 1), (1.0, 2.0, 3.0))
    assert frame["款项"].tolist() == ["Q1 预付款", "Q2 预付款", "Q3 预付款", "运维补助"]
    assert frame["说明"].tolist()[:3] == ["已到期", "已到期", "未到期"]
    assert frame.iloc[3][["低值", "金额", "高值"]].tolist() == [1.0, 2.0, 3.0]
    assert frame["金额"].iloc[:3].sum() == 300000


def test_describe_reason_drops_the_quoted_value() -> None:
    assert quality.describe_reason("无法识别的日期: '待定'") == "无法识别的日期"
    assert quality.describe_reason("日期缺少年份: '3月5日'") == "日期缺少年份"
    assert quality.describe_reason("无法识别的日期数值 99999999") == "无法识别的日期数值"
    assert (
        quality.describe_reason("企业名称 和 统一社会信用代码 都为空")
        == "企业名称 和 统一社会信用代码 都为空"
    )


# --------------------------------------------------------------------------------------------
# Data quality on a tiny raw folder

SERVICE_HEADER = ["企业名称", "统一社会信用代码", "服务日期", "服务类型", "联系电话"]


@pytest.fixture
def prepared(raw_dir: Path):
    write_csv(
        raw_dir / "services.csv",
        [
            SERVICE_HEADER,
            ["甲公司", None, "2025-03-01", "政策咨询", "13800000001"],
            ["乙公司", None, "待定", "融资", "13800000002"],
            ["丙公司", None, "2025-13-01", "融资", "13800000003"],
            [None, None, "2025-03-02", "融资", "13800000004"],
            ["甲公司", None, "2025-03-01", "政策咨询", "13800000001"],
            ["合计", None, None, None, None],
        ],
    )
    write_csv(
        raw_dir / "activities.csv",
        [
            ["活动名称", "活动时间", "活动形式"],
            [XSS, "2025-03-03", None],
            ["惠企政策宣讲会", "2025-03-04", "线下"],
        ],
    )
    (raw_dir / "readme.txt").write_text("x", encoding="utf-8")
    return prepare(raw_dir, CONTRACT)


def test_quality_summary_conserves_rows(prepared) -> None:
    frame = quality.quality_summary(prepared)
    body = frame.iloc[:-1]
    assert (body["读取"] == body["保留"] + body["拒绝"] + body["重复"] + body["合计行"]).all()
    services = body.set_index("文件").loc["services.csv"]
    assert services[["读取", "保留", "拒绝", "重复", "合计行"]].tolist() == [6, 1, 3, 1, 1]
    total = frame.iloc[-1]
    assert total["文件"] == "合计（全部文件）"
    assert total["读取"] == body["读取"].sum()


def test_rejections_group_reasons_and_hide_text_values(prepared) -> None:
    frame = quality.rejections_by_reason(prepared)
    assert list(frame.columns) == ["表", "文件", "列", "原因", "行数", "示例行号", "示例值"]
    assert frame["行数"].sum() == 3
    dates = frame.loc[frame["列"] == "服务日期"]
    assert set(dates["示例值"]) == {"文本，2 字", "2025-13-01"}  # dates shown, text by shape
    empty = frame.loc[frame["列"] == "企业名称"].iloc[0]
    assert empty["示例值"] == ""  # never a text cell's value
    assert empty["示例行号"] == "5"
    text = frame.to_string()
    assert "1380000000" not in text  # no phone number anywhere


def test_duplicates_files_and_unknown_formats(prepared) -> None:
    dups = quality.duplicates_summary(prepared)
    assert dups.to_dict("records") == [
        {
            "表": "企业服务记录",
            "重复所在文件": "services.csv",
            "保留所在文件": "services.csv",
            "行数": 1,
            "示例行号": "6",
        }
    ]
    files = quality.files_overview(prepared).set_index("文件")
    assert files.loc["readme.txt", "状态"] == "已忽略"
    assert files.loc["services.csv", "识别为"] == "企业服务记录"
    ctx = KpiContext.of(prepared, CONTRACT, dt.date(2025, 3, 31))
    unknown = quality.unknown_formats(ctx)
    assert unknown.to_dict("records") == [
        {"文件": "activities.csv", "行号": "2", "日期": "2025-03-03", "活动名称": XSS}
    ]


def test_data_freshness(prepared) -> None:
    frame = quality.data_freshness(prepared, dt.date(2025, 3, 3)).set_index("表")
    assert frame.loc["企业服务记录", "最新日期"] == "2025-03-01"  # the 03-02 row was rejected
    assert frame.loc["企业服务记录", "距截至日天数"] == 2
    assert frame.loc["活动台账", "晚于截至日"] == 1
    assert frame.loc["名师优课", "最新日期"] == ""
    assert pd.isna(frame.loc["名师优课", "距截至日天数"])


def test_tables_are_html_escaped(prepared) -> None:
    ctx = KpiContext.of(prepared, CONTRACT, dt.date(2025, 3, 31))
    html = styles.style_table(quality.unknown_formats(ctx)).to_html()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert XSS not in html
    table = tables.kpi_table(assess(ctx)).assign(指标=XSS)
    html = styles.style_kpi_table(table).to_html()
    assert XSS not in html and "&lt;script&gt;" in html
    assert "background-color" in html


def test_markdown_is_escaped() -> None:
    assert narrative.escape_markdown(XSS) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert narrative.escape_markdown("a_b*c") == r"a\_b\*c"


# --------------------------------------------------------------------------------------------
# The sample year end to end


@pytest.fixture(scope="module")
def sample_metrics(tmp_path_factory: pytest.TempPathFactory) -> bundle.Metrics:
    raw = tmp_path_factory.mktemp("sample") / "raw"
    write_sample(raw, seed=2025)
    return bundle.build_metrics(raw, dt.date(2025, 9, 30), quarter="2025Q3", draws=2000, seed=7)


def test_sample_metrics_are_consistent(sample_metrics: bundle.Metrics) -> None:
    m = sample_metrics
    assert m.as_of == dt.date(2025, 9, 30)
    table = m.kpi_table
    assert m.score["base"] == pytest.approx(table["得分"].sum())
    last = m.burnups.dropna().groupby("kpi_id")["cumulative"].last()
    for kpi_id, value in last.items():
        assert value == table.loc[kpi_id, "实际"], kpi_id
    assert m.online_offline.to_numpy().sum() == sum(m.formats.values())
    assert m.activities_by_month.to_numpy().sum() == sum(m.formats.values())
    assert len(m.livestreams) == 9
    assert (m.livestreams["状态"] == "达标").sum() == table.loc["livestream_months", "实际"]
    assert m.parks["场次"].sum() == table.loc["park_events", "实际"]


def test_sample_forecast_frames(sample_metrics: bundle.Metrics) -> None:
    fc = sample_metrics.forecast
    assert fc is not None
    assert list(fc.kpis.index) == [k.id for k in CONTRACT.kpis]
    assert (fc.kpis["P10"] <= fc.kpis["P50"]).all() and (fc.kpis["P50"] <= fc.kpis["P90"]).all()
    assert len(fc.scores) == 2000
    assert fc.grades["概率"].sum() == pytest.approx(1.0)
    assert fc.grades["最低分"].tolist() == [90.0, 80.0, 60.0, 0.0]
    pay = fc.payment
    assert pay.loc["全年合计", "P10"] <= pay.loc["全年合计", "P50"] <= pay.loc["全年合计", "P90"]
    assert pay.loc["全年合计", "P50"] - pay.loc["运维补助", "P50"] == pytest.approx(300000)
    sub = sample_metrics.payment_schedule.iloc[-1]
    assert sub["金额"] == pytest.approx(pay.loc["运维补助", "P50"])
    # bands start at today's actual and end at the year-end quantiles
    bands = fc.bands
    for kpi_id, group in bands.groupby("kpi_id"):
        first, last = group.iloc[0], group.iloc[-1]
        assert first["date"] == pd.Timestamp("2025-09-30")
        assert first["p50"] == sample_metrics.kpi_table.loc[kpi_id, "实际"]
        assert last["date"] == pd.Timestamp("2025-12-31")
        assert (
            last[["p10", "p50", "p90"]].tolist()
            == fc.kpis.loc[kpi_id, ["P10", "P50", "P90"]].tolist()
        )
    assert fc.info["plan"] is not None


def test_cache_round_trip(sample_metrics: bundle.Metrics, tmp_path: Path) -> None:
    bundle.save_metrics(sample_metrics, tmp_path / "cache")
    loaded = bundle.load_metrics(tmp_path / "cache")
    for f in dataclasses.fields(bundle.Metrics):
        a, b = getattr(sample_metrics, f.name), getattr(loaded, f.name)
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b, obj=f.name)
        elif f.name != "forecast":
            assert a == b, f.name
    for f in dataclasses.fields(forecast_tables.ForecastMetrics):
        a, b = getattr(sample_metrics.forecast, f.name), getattr(loaded.forecast, f.name)
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b, obj=f.name)
        else:
            assert a == b
    via = bundle.load_or_build_metrics(str(tmp_path / "cache"), "/nonexistent", "2025Q3")
    assert via.score == sample_metrics.score


def test_cache_without_forecast(sample_metrics: bundle.Metrics, tmp_path: Path) -> None:
    m = dataclasses.replace(sample_metrics, forecast=None)
    loaded = bundle.load_metrics(bundle.save_metrics(m, tmp_path))
    assert loaded.forecast is None
    assert narrative.describe_outlook(loaded) == "本次未运行年终预测。"
    with pytest.raises(ValueError, match="年终预测"):
        bundle.require_forecast(loaded)
    assert bundle.require_forecast(sample_metrics) is sample_metrics.forecast


def test_descriptions_escape_data(sample_metrics: bundle.Metrics) -> None:
    m = dataclasses.replace(sample_metrics, notes=[XSS], contract_name=XSS, is_sample=True)
    for text in (
        narrative.describe_header(m),
        narrative.describe_notes(m),
        narrative.describe_quality(m),
        narrative.describe_attainment(m),
        narrative.describe_outlook(m),
        narrative.describe_plan(m),
        narrative.describe_event_mix(m),
        narrative.describe_forecast_notes(m),
    ):
        assert "<script" not in text
    assert "示例数据" in narrative.describe_header(m)
    assert "2025 年第 3 季度" in narrative.describe_header(m)


def test_resolve_as_of() -> None:
    assert bundle.resolve_as_of("2025Q3") == dt.date(2025, 9, 30)
    assert bundle.resolve_as_of("2025Q4", "2025-11-15") == dt.date(2025, 11, 15)
    assert bundle.resolve_as_of("", dt.date(2025, 1, 2)) == dt.date(2025, 1, 2)
    assert bundle.resolve_as_of("2025Q3", "2025年9月30日") == dt.date(2025, 9, 30)
    with pytest.raises(ValueError, match="2025-09-30 10:00"):
        bundle.resolve_as_of("2025Q3", "2025-09-30 10:00")


def test_metrics_after_the_period_use_the_period_end(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_csv(
        raw / "活动.csv",
        [["活动名称", "活动时间", "活动形式"], ["政策宣讲会", "2025-03-05", "线下"]],
    )
    m = bundle.build_metrics(raw, bundle.resolve_as_of("2026Q1"), forecast=False)
    assert m.as_of == dt.date(2025, 12, 31)
    assert "2026-03-31" in m.notes[0] and "2025-12-31" in m.notes[0]
    with pytest.raises(UsageError, match="2024-12-31"):
        bundle.build_metrics(raw, dt.date(2024, 12, 31), forecast=False)


def test_format_share() -> None:
    assert [formats.format_share(p) for p in (0, 0.004, 0.5, 0.996, 1)] == [
        "0%",
        "<1%",
        "50%",
        ">99%",
        "100%",
    ]


def test_metrics_never_imports_matplotlib() -> None:
    code = (
        "import sys, qyzj_analytics.reporting.bundle, qyzj_analytics.reporting.narrative,"
        " qyzj_analytics.reporting.styles, qyzj_analytics.scoring.assessment;"
        "assert not any(m.startswith('matplotlib') for m in sys.modules), 'matplotlib imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------------------------
# The contract's rules in words: every number comes from the loaded contract


def renegotiated_contract():
    """The 2025 contract with other terms: livestreams 8/month, grades 85/75/55, two advances of
    120,000, offline target 40."""
    base = load_contract()
    grades = tuple(
        dataclasses.replace(g, min_score=m)
        for g, m in zip(base.grades, (85.0, 75.0, 55.0, 0.0), strict=True)
    )
    advances = (
        Advance("Q1", dt.date(2025, 3, 31), Decimal("120000.00")),
        Advance("Q2", dt.date(2025, 6, 30), Decimal("120000.00")),
    )
    kpis = tuple(
        dataclasses.replace(k, target=40.0) if k.id == "offline_events" else k for k in base.kpis
    )
    return dataclasses.replace(
        base,
        livestream_min_per_month=8,
        grades=grades,
        advances=advances,
        kpis=kpis,
        at_risk_ratio=0.7,
        unqualified_deduction=Decimal("0.25"),
    )


def contract_texts(m: bundle.Metrics) -> str:
    """Every paragraph that states a contract term, whitespace removed."""
    texts = [
        narrative.describe_kpi_legend(m),
        narrative.describe_forecast_intro(m),
        narrative.describe_score_chart(m),
        narrative.describe_grade_consequences(m),
        narrative.describe_payment_rule(m),
        narrative.describe_plan_method(m),
        narrative.describe_category_rule(),
        narrative.describe_livestream_rule(m),
    ]
    return "".join("".join(t.split()) for t in texts)


def test_the_2025_contract_in_words(sample_metrics: bundle.Metrics) -> None:
    text = contract_texts(sample_metrics)
    for phrase in (
        "90分及以上优秀，80–89分良好，60–79分合格，60分以下不合格",
        "优秀、良好可续签；合格由采购人决定是否续签；不合格不续签，且全年扣减合同总价的20%",
        "合同总价468,333元中，300,000元为预付款（Q1、Q2、Q3各100,000元）",
        "优秀全额支付；良好、合格按（基础分+奖励分）/100的比例支付；不合格时全年只付合同总价的80%",
        "只影响良好、合格档的补助金额",
        "**预警**=达到应达进度的80%以上；**落后**=不足80%",
        "有90%的把握",
        "合同期末（12月31日）",
        "每月在线直播不少于6场",
        "优先顺序为：小微你好→小微园→联盟→政策→其他",
    ):
        assert phrase in text, phrase


def test_a_renegotiated_contract_in_words(sample_metrics: bundle.Metrics) -> None:
    contract = renegotiated_contract()
    m = dataclasses.replace(sample_metrics, terms=ContractTerms.of(contract))
    text = contract_texts(m)
    for phrase in (
        "8场",
        "85分",
        "85分及以上优秀，75–84分良好，55–74分合格，55分以下不合格",
        "240,000元为预付款（Q1、Q2各120,000元）",
        "扣减合同总价的25%",
        "只付合同总价的75%",
        "达到应达进度的70%以上",
    ):
        assert phrase in text, phrase
    for stale in ("不少于6场", "90分及以上", "30万元", "300,000", "60分以下", "80%", "20%"):
        assert stale not in text, stale


def test_renegotiated_contract_from_yaml(tmp_path: Path) -> None:
    source = resources.files("qyzj_analytics.contract").joinpath("2025.yaml").read_text("utf-8")
    variant = source.replace("min_online_per_month: 6", "min_online_per_month: 8")
    assert variant != source
    path = tmp_path / "variant.yaml"
    path.write_text(variant, encoding="utf-8")
    terms = ContractTerms.of(load_contract(path))
    assert terms.livestream_min_per_month == 8
    assert ContractTerms.from_json(json.loads(json.dumps(terms.to_json()))) == terms


def test_plan_method_states_the_planner_setting(sample_metrics: bundle.Metrics) -> None:
    m = dataclasses.replace(sample_metrics, forecast=None)
    text = "".join(narrative.describe_plan_method(m).split())
    assert f"有{formats.format_ratio(TARGET_PROBABILITY)}的把握" in text
