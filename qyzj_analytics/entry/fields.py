"""What each column of a data-entry template is: its header, kind, closed list and guidance.

Headers and kinds come from the table specs (:data:`~qyzj_analytics.ingest.schemas.TABLES`: the
first accepted header of each column, required columns first); closed lists and keywords from the
contract, so a new contract YAML changes the templates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.ingest.schemas import TABLES, Kind

YES_NO = ("是", "否")  # what parse_yes_no reads as True / False


@dataclass(frozen=True)
class Field:
    """One column of a template."""

    column: str  # canonical name
    header: str  # the header written in the template (the reader's first accepted header)
    kind: Kind
    required: bool
    choices: tuple[str, ...]  # the drop-down list (empty: free entry)
    meaning: str  # what to type
    feeds: tuple[str, ...]  # ids of the KPIs the column feeds
    example: str | int | dt.date


# (table, column) -> (meaning, KPI ids, example); the example row of 填表说明 is these values
_GUIDE: dict[tuple[str, str], tuple[str, tuple[str, ...], str | int | dt.date]] = {
    ("activities", "title"): (
        "活动名称；名称或活动类型含专项关键词时计入对应专项活动",
        ("alliance_events", "park_events", "xiaowei_nihao_events", "policy_sessions"),
        "“小微你好”走进柳市小微园政策宣讲会",
    ),
    ("activities", "date"): (
        "活动举办日期",
        ("offline_events", "livestream_months", "policy_sessions"),
        dt.date(2025, 3, 15),
    ),
    ("activities", "format"): (
        "从下拉列表选择；线上+线下同时计入线下活动和线上直播",
        ("offline_events", "livestream_months", "policy_sessions"),
        "线下",
    ),
    ("activities", "category"): (
        "自由填写，可写多个类型；含专项关键词即计入对应专项活动",
        ("alliance_events", "park_events", "xiaowei_nihao_events", "policy_sessions"),
        "政策宣讲",
    ),
    ("activities", "location"): ("活动地点或园区", (), "柳市镇小微园"),
    ("activities", "enterprises"): ("参与企业数，整数", (), 25),
    ("activities", "participants"): ("参与人数，整数", (), 40),
    ("services", "enterprise"): (
        "服务企业的全称；与统一社会信用代码至少填一项",
        ("enterprises_served",),
        "乐清市某某电气有限公司",
    ),
    ("services", "credit_code"): (
        "18 位统一社会信用代码（去重依据）",
        ("enterprises_served",),
        "91330382MA2XXXXXXX",
    ),
    ("services", "date"): ("服务日期", ("enterprises_served",), dt.date(2025, 3, 15)),
    ("services", "service_type"): ("服务类型或内容", ("enterprises_served",), "政策咨询"),
    ("services", "above_scale"): ("是否规上企业，从下拉列表选择", (), "是"),
    ("appeals", "appeal_id"): (
        "诉求编号（唯一，去重依据）",
        ("appeal_resolution_rate",),
        "SQ2025-001",
    ),
    ("appeals", "received"): ("提交或受理日期", ("appeal_resolution_rate",), dt.date(2025, 3, 15)),
    ("appeals", "status"): ("办理状态，从下拉列表选择", ("appeal_resolution_rate",), "已办结"),
    ("appeals", "enterprise"): ("提出诉求的企业", (), "乐清市某某电气有限公司"),
    ("appeals", "closed"): (
        "办结日期（未办结留空）",
        ("appeal_resolution_rate",),
        dt.date(2025, 3, 20),
    ),
    ("publications", "date"): ("发布日期", ("info_weekly_coverage",), dt.date(2025, 3, 17)),
    ("publications", "title"): ("文章标题", ("info_weekly_coverage",), "2025年惠企政策汇编发布"),
    ("publications", "channel"): ("发布渠道或平台", (), "微信公众号"),
    ("institutions", "name"): ("服务机构名称", ("institutions_active",), "乐清市某某会计师事务所"),
    ("institutions", "joined"): ("入驻日期", ("institutions_active",), dt.date(2024, 6, 1)),
    ("institutions", "status"): (
        "合作状态，从下拉列表选择（停止合作等不计入）",
        ("institutions_active",),
        "合作中",
    ),
    ("experts", "name"): ("专家姓名", ("experts_recruited",), "张某某"),
    ("experts", "appointed"): ("聘任日期", ("experts_recruited",), dt.date(2025, 2, 1)),
    ("courses", "title"): ("录用课程名称", ("mingshi_courses",), "中小企业数字化转型实务"),
    ("courses", "accepted"): ("录用日期", ("mingshi_courses",), dt.date(2025, 5, 10)),
    ("staff", "name"): ("人员姓名", ("staff_total", "staff_qualified_share"), "李某某"),
    ("staff", "fulltime_ops"): ("是否专职运营，从下拉列表选择", ("staff_fulltime_ops",), "是"),
    ("staff", "education"): ("最高学历，从下拉列表选择", ("staff_qualified_share",), "本科"),
    ("staff", "title_level"): (
        "职称，从下拉列表选择（无职称选“无”）",
        ("staff_qualified_share",),
        "中级",
    ),
}


def template_name(table: str) -> str:
    """The file name of ``table``'s template, e.g. ``活动台账_模板.xlsx``."""
    return f"{TABLES[table].name_zh}_模板.xlsx"


def _unique(*lists: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(w for words in lists for w in words))


def list_choices(table: str, column: str, contract: Contract) -> tuple[str, ...]:
    """The closed list of a column (empty: free entry), from the contract and the column kind.

    A list the contract holds only in part (an older YAML without ``open_statuses`` …) gives
    no drop-down: a partial list would refuse real values.
    """
    c = contract
    if TABLES[table].column(column).kind == "yesno":
        return YES_NO
    if (table, column) == ("activities", "format"):
        off, on = c.format_keywords["offline"][:1], c.format_keywords["online"][:1]
        return _unique(off, on, (f"{on[0]}+{off[0]}",) if off and on else ())
    full = {
        ("appeals", "status"): (c.open_statuses, c.closed_statuses, c.not_accepted_statuses),
        ("institutions", "status"): (c.active_statuses, c.inactive_statuses),
        ("staff", "education"): (c.education_levels,),
        ("staff", "title_level"): (c.title_levels,),
    }.get((table, column))
    if full is None or not full[0]:
        return ()
    return _unique(*full)


def list_fields(table: str, contract: Contract) -> list[Field]:
    """The columns of ``table``'s template, required ones first (else in the spec's order)."""
    spec = TABLES[table]
    columns = sorted(spec.columns, key=lambda col: not (col.required or col.name in spec.one_of))
    fields = []
    for col in columns:
        meaning, feeds, example = _GUIDE[(table, col.name)]
        fields.append(
            Field(
                col.name,
                col.headers[0],
                col.kind,
                col.required,
                list_choices(table, col.name, contract),
                meaning,
                tuple(k for k in feeds if k in {s.id for s in contract.kpis}),
                example,
            )
        )
    return fields


def describe_tags(contract: Contract) -> str:
    """The tag keywords, one group per special activity: ``联盟 / 小微园、进园 / …``."""
    return " / ".join("、".join(words) for words in contract.tag_keywords.values() if words)
