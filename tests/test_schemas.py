"""Table recognition from a header row (DESIGN "Raw exports")."""

from __future__ import annotations

import pytest

from qyzj_analytics.errors import DataError, Location
from qyzj_analytics.ingest.headers import find_header
from qyzj_analytics.ingest.schemas import TABLES, recognize_header

HEADERS = {
    "activities": [
        "序号",
        "活动名称",
        "活动时间",
        "活动形式",
        "活动类型",
        "活动地点",
        "参与企业数",
    ],
    "services": ["序号", "企业名称", "统一社会信用代码", "服务日期", "服务类型", "是否规上"],
    "appeals": ["诉求编号", "企业名称", "提交时间", "办理状态", "办结时间"],
    "publications": ["发布日期", "标题", "渠道"],
    "institutions": ["机构名称", "入驻日期", "状态"],
    "experts": ["专家姓名", "聘任日期", "身份证号"],
    "courses": ["课程名称", "录用日期"],
    "staff": ["姓名", "是否专职运营", "学历", "职称", "联系电话"],
}


def best(cells: list[object]) -> str:
    """The table :func:`find_header` recognises for one header row."""
    return find_header([cells], Location("t.xlsx"))[1].table


def test_every_table_has_a_test_header() -> None:
    assert set(HEADERS) == set(TABLES)


@pytest.mark.parametrize("table", sorted(HEADERS))
def test_each_table_is_recognised_from_its_headers(table: str) -> None:
    assert best(HEADERS[table]) == table


@pytest.mark.parametrize("table", sorted(HEADERS))
def test_recognize_header_ranks_the_table_first(table: str) -> None:
    first = recognize_header(HEADERS[table])[0]
    assert first.table == table
    assert first.complete


def test_header_cells_are_normalised_before_matching() -> None:
    cells = [" 活动 主题 ", "举办时间（日期）", "参与企业数（家）", "参与人数(人)", "＊形式"]
    match = recognize_header(cells)[0]
    assert match.table == "activities"
    assert match.columns == {
        "title": 0,
        "date": 1,
        "enterprises": 2,
        "participants": 3,
        "format": 4,
    }


def test_alternative_headers_are_accepted() -> None:
    assert best(["工单号", "诉求时间", "状态"]) == "appeals"
    assert best(["服务企业", "服务时间"]) == "services"
    assert best(["文章标题", "发布时间", "发布平台"]) == "publications"


def test_services_need_enterprise_or_credit_code() -> None:
    assert best(["信用代码", "日期"]) == "services"
    with pytest.raises(DataError, match="services"):
        best(["服务类型", "服务日期"])


def test_an_ambiguous_column_alone_decides_nothing() -> None:
    with pytest.raises(DataError):
        best(["日期", "备注"])


def test_a_tie_between_complete_matches_is_an_error_naming_both() -> None:
    # staff: 姓名 + 是否专职运营; experts: 姓名 + 聘任日期 — both complete with 2 columns
    with pytest.raises(DataError) as info:
        best(["姓名", "是否专职运营", "聘任日期"])
    assert "staff" in str(info.value)
    assert "experts" in str(info.value)
    assert info.value.exit_code == 3


def test_the_table_matching_most_headers_wins() -> None:
    # both staff and experts are complete; staff matches 3 columns, experts 2
    assert best(["姓名", "是否专职运营", "学历", "聘任日期"]) == "staff"
    # 日期 completes activities (with 活动名称) and services (with 企业名称): 3 beats 2
    assert best(["活动名称", "日期", "活动形式", "企业名称"]) == "activities"
    assert best(["活动名称", "日期", "服务类型", "企业名称"]) == "services"


def test_repeated_header_for_one_column_is_reported() -> None:
    match = recognize_header(["活动名称", "活动时间", "活动时间"])[0]
    assert match.duplicates == {"date": [1, 2]}


def test_preferred_header_wins_when_two_alternatives_are_present() -> None:
    match = recognize_header(["活动名称", "日期", "活动时间"])[0]
    assert match.columns["date"] == 2
    assert not match.duplicates
