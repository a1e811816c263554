"""A deterministic, realistic and messy year (2025) of 乐清市企业之家 platform exports.

:func:`write_sample` fills a raw folder with exports the way the platform and the operator's staff
deliver them: merged title rows, one sheet per month, mixed date and count formats, GBK and
UTF-8-with-BOM CSVs, overlapping exports, summary rows, blank rows, unreadable dates, an Excel
lock file and other noise. It returns a :class:`SampleTruth`: the true year-end KPI actuals,
computed from the generator's own clean records with DESIGN's semantics, and the mess it injected.

:func:`write_services_csv` writes a large services export (a million rows in a few seconds) for
the cleaning benchmark.

Everything is drawn from ``numpy.random.default_rng(seed)``; every timestamp is fixed, so the same
seed gives byte-identical files. All people, phone numbers and ID numbers are made up.
"""

from __future__ import annotations

import calendar
import codecs
import csv
import datetime as dt
import io
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from qyzj_analytics.contract.model import Contract, load_contract
from qyzj_analytics.ingest.parse import CODE_CHARS, CODE_WEIGHTS, is_valid_credit_code

YEAR = 2025
PERIOD_START = dt.date(2025, 1, 1)
PERIOD_END = dt.date(2025, 12, 31)
AS_OF = PERIOD_END
EXPORTED_AT = dt.datetime(2026, 1, 6, 9, 30)  # every file's timestamp (xlsx properties, zip)
_EXCEL_EPOCH = dt.date(1899, 12, 30)

SERVICE_HEADER = (
    "序号",
    "企业名称",
    "统一社会信用代码",
    "服务日期",
    "服务类型",
    "是否规上",
    "联系人",
    "联系电话",
    "身份证号",
    "备注",
)
ACTIVITY_HEADER = (
    "序号",
    "活动名称",
    "活动时间",
    "活动形式",
    "活动类型",
    "活动地点",
    "参与企业数（家）",
    "参与人数",
    "联系人",
    "联系电话",
    "备注",
)
APPEAL_HEADER = (
    "诉求编号",
    "企业名称",
    "提交时间",
    "诉求内容",
    "联系人",
    "联系电话",
    "办理状态",
    "办结时间",
)
TABLES = (
    "activities",
    "services",
    "appeals",
    "publications",
    "institutions",
    "experts",
    "courses",
    "staff",
)
KPI_IDS = (
    "enterprises_served",
    "offline_events",
    "alliance_events",
    "park_events",
    "xiaowei_nihao_events",
    "livestream_months",
    "mingshi_courses",
    "appeal_resolution_rate",
    "policy_sessions",
    "info_weekly_coverage",
    "institutions_active",
    "experts_recruited",
    "staff_fulltime_ops",
    "staff_total",
    "staff_qualified_share",
)

# --- name pools (surnames and given-name characters never occur in enterprise names) ----------
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾肖董潘袁蔡蒋余叶程苏吕魏卢施倪洪缪"
)
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛超秀霞平刚桂英玲燕慧婷晨宇浩佳欣晓鹏斌辉峰琳雪丹亮俊倩颖蕾睿彬"
)
_BRAND = "鑫恒瑞宏达誉邦创博盛凯弘力源隆泰丰德益晟诚威顺迈奥瀚旭"
_ENTERPRISE_PREFIX = ("乐清市", "浙江", "温州", "乐清")
_INDUSTRY = (
    "电气",
    "电器",
    "开关",
    "仪表",
    "电子",
    "机械",
    "模具",
    "五金",
    "汽车配件",
    "线缆",
    "阀门",
    "塑业",
    "智能科技",
    "新能源",
    "物联网科技",
    "包装",
    "服饰",
    "食品",
    "精密制造",
    "自动化设备",
    "光电",
    "继电器",
    "互感器",
    "连接器",
)
_TOWNS = (
    "柳市",
    "北白象",
    "虹桥",
    "乐成",
    "城东",
    "城南",
    "翁垟",
    "白石",
    "清江",
    "芙蓉",
    "大荆",
    "雁荡",
    "淡溪",
    "石帆",
    "天成",
    "盐盆",
    "南岳",
    "磐石",
    "湖雾",
    "仙溪",
    "南塘",
    "岭底",
    "智仁",
    "龙西",
)
_PARKS = (
    "柳市电气小微企业园",
    "北白象小微园",
    "虹桥智能装备小微园",
    "翁垟小微企业园",
    "清江小微园",
    "城东数字经济小微园",
    "天成小微园",
    "白石小微企业园",
)
_SERVICE_TYPES = (
    "政策咨询",
    "融资对接",
    "人才招聘",
    "法律咨询",
    "知识产权",
    "数字化改造",
    "财税辅导",
    "项目申报",
    "检验检测",
    "管理咨询",
)
_SERVICE_REMARKS = ("", "", "", "", "", "电话回访", "上门走访", "线上办理", "已解决", "持续跟进")

# --- GB 32100-2015 (credit code), GB 11714 (organisation code), GB 11643 (ID number) ---------
_ORG_WEIGHTS = np.array((3, 7, 9, 10, 5, 8, 4, 2))
_ID_WEIGHTS = np.array((7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2))
_ID_CHECK = "10X98765432"
_REGION = "330382"  # 乐清市
_PHONE_PREFIXES = tuple(
    [f"13{d}" for d in range(10)]
    + [f"15{d}" for d in (0, 1, 2, 3, 5, 6, 7, 8, 9)]
    + [f"18{d}" for d in range(10)]
)
_FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


@dataclass(frozen=True)
class SampleTruth:
    """What the generator knows about the year it wrote.

    Attributes:
        year_end: KPI id → true actual at as_of 2025-12-31 (DESIGN "KPI semantics"), computed
            from the generator's clean records before any mess was applied.
        quality: table → the counts a correct cleaner reports (``rows_read``, ``rows_kept``,
            ``rows_rejected``, ``duplicates``, ``summary_rows``, ``blank_rows``).
        out_of_period: table → kept rows dated outside 2025 (counted by no KPI).
        bad_check_digits: services rows whose credit code fails its check digit (kept, flagged).
        unknown_format: titles of activities whose format cannot be told (counted nowhere).
        files: every file written, relative to the folder.
        ignored: the files a reader must ignore (lock file, hidden file, text file).
        personal_values: every person name, phone number, ID number and appeal text written.
        seed: the seed.
    """

    year_end: dict[str, float]
    quality: dict[str, dict[str, int]]
    out_of_period: dict[str, int]
    bad_check_digits: int
    unknown_format: tuple[str, ...]
    files: tuple[str, ...]
    ignored: tuple[str, ...]
    personal_values: tuple[str, ...]
    seed: int


# ------------------------------------------------------------------------------------------------
# Identifiers and people (vectorised: the benchmark draws tens of thousands at once)
# ------------------------------------------------------------------------------------------------


def _chars_to_strings(chars: np.ndarray) -> np.ndarray:
    """Rows of single characters (``(n, k)`` of ``<U1``) as an ``(n,)`` array of strings."""
    n, k = chars.shape
    return np.ascontiguousarray(chars.astype("<U1")).view(f"<U{k}").reshape(n)


def credit_check_char(first17: str) -> str:
    """The GB 32100-2015 check character of the first 17 characters of a credit code.

    >>> credit_check_char("91330382781819720")
    'R'
    """
    total = sum(CODE_CHARS.index(c) * int(w) for c, w in zip(first17, CODE_WEIGHTS, strict=True))
    return CODE_CHARS[(31 - total % 31) % 31]


def credit_codes(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct valid 18-character unified social credit codes registered in 乐清市.

    91 (company) or 92 (individual business), region 330382, an organisation code (8 digits, or
    ``MA`` and 6 code characters, plus its GB 11714 check character) and the check character.
    """
    chars = np.array(list(CODE_CHARS))
    org_value = np.array([int(c, 36) for c in CODE_CHARS])  # GB 11714: A=10 … Z=35
    out = np.empty(0, dtype="<U18")
    while len(out) < n:
        m = n - len(out) + 16
        idx = np.empty((m, 17), dtype=np.int64)
        idx[:, 0] = 9
        idx[:, 1] = np.where(rng.random(m) < 0.88, 1, 2)
        idx[:, 2:8] = [CODE_CHARS.index(c) for c in _REGION]
        new_style = rng.random(m) < 0.6
        body = rng.integers(0, 10, size=(m, 8))
        body[:, 0] = rng.integers(1, 8, size=m)
        ma = np.column_stack(
            [
                np.full(m, CODE_CHARS.index("M")),
                np.full(m, CODE_CHARS.index("A")),
                rng.integers(0, 10, size=m),
                rng.integers(0, len(CODE_CHARS), size=(m, 5)),
            ]
        )
        body = np.where(new_style[:, None], ma, body)
        org = 11 - (org_value[body] * _ORG_WEIGHTS).sum(axis=1) % 11
        org_check = np.where(org == 10, CODE_CHARS.index("X"), np.where(org == 11, 0, org))
        idx[:, 8:16] = body
        idx[:, 16] = org_check
        check = (31 - (idx * CODE_WEIGHTS).sum(axis=1) % 31) % 31
        codes = _chars_to_strings(chars[np.column_stack([idx, check])])
        out = np.concatenate([out, codes])
        _, first = np.unique(out, return_index=True)
        out = out[np.sort(first)]
    return out[:n]


def person_pool(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` made-up people: distinct 3-character names, 11-digit mobiles and 18-digit IDs."""
    g = len(_GIVEN)
    pick = rng.choice(len(_SURNAMES) * g * g, size=n, replace=False)
    s, rest = np.divmod(pick, g * g)
    g1, g2 = np.divmod(rest, g)
    surnames, given = np.array(list(_SURNAMES)), np.array(list(_GIVEN))
    names = _chars_to_strings(np.column_stack([surnames[s], given[g1], given[g2]]))
    prefixes = np.array(_PHONE_PREFIXES)[rng.integers(0, len(_PHONE_PREFIXES), size=n)]
    suffix = rng.choice(10**8, size=n, replace=False)
    phones = np.char.add(prefixes, np.char.zfill(suffix.astype(str), 8))
    born = np.datetime64("1962-01-01") + rng.integers(0, 14_000, size=n).astype("timedelta64[D]")
    born_text = np.char.replace(born.astype(str), "-", "")
    seq = np.char.zfill(rng.integers(0, 1000, size=n).astype(str), 3)
    first17 = np.char.add(np.char.add(_REGION, born_text), seq)
    digits = np.ascontiguousarray(first17).view("<U1").reshape(n, 17).astype(np.int64)
    check = np.array(list(_ID_CHECK))[(digits * _ID_WEIGHTS).sum(axis=1) % 11]
    ids = np.char.add(first17, check)
    return names, phones, ids


def enterprise_names(rng: np.random.Generator, n: int, codes: np.ndarray) -> np.ndarray:
    """``n`` distinct enterprise names; individual businesses (code 92…) are 经营部."""
    b = len(_BRAND)
    space = len(_ENTERPRISE_PREFIX) * b * b * len(_INDUSTRY)
    pick = rng.choice(space, size=n, replace=False)
    p, rest = np.divmod(pick, b * b * len(_INDUSTRY))
    b1, rest = np.divmod(rest, b * len(_INDUSTRY))
    b2, ind = np.divmod(rest, len(_INDUSTRY))
    b2 = np.where(b2 == b1, (b2 + 1) % b, b2)
    brand = np.array(list(_BRAND))
    stem = np.char.add(np.char.add(brand[b1], brand[b2]), np.array(_INDUSTRY)[ind])
    company = np.char.add(np.array(_ENTERPRISE_PREFIX)[p], stem)
    company = np.char.add(company, np.where(rng.random(n) < 0.1, "股份有限公司", "有限公司"))
    towns = np.array(_TOWNS)[rng.integers(0, len(_TOWNS), size=n)]
    shop = np.char.add(np.char.add(np.char.add("乐清市", towns), stem), "经营部")
    names = np.where(np.char.startswith(codes.astype(str), "92"), shop, company)
    # two draws may still give the same shop name: make every name distinct
    _, first = np.unique(names, return_index=True)
    dup = np.setdiff1d(np.arange(n), first)
    names[dup] = np.char.add(names[dup], "（分部）")
    return names


def _serial(day: dt.date) -> int:
    return (day - _EXCEL_EPOCH).days


# ------------------------------------------------------------------------------------------------
# The clean records of the year
# ------------------------------------------------------------------------------------------------


@dataclass
class _Person:
    name: str
    phone: str
    id_number: str


@dataclass
class _Activity:
    title: str
    date: dt.date
    fmt: str
    category: str
    location: str
    enterprises: int
    participants: int
    contact: _Person
    remark: str = ""


@dataclass
class _Enterprise:
    name: str
    code: str
    above_scale: bool
    contact: _Person


@dataclass
class _Service:
    enterprise: _Enterprise
    date: dt.date
    service_type: str
    remark: str
    time: dt.time | None = None
    code_mess: str = ""  # "", lower, spaces, bad_check, missing
    name_missing: bool = False


@dataclass
class _Appeal:
    appeal_id: str
    enterprise: str
    received: dt.datetime
    text: str
    contact: _Person
    status: str
    closed: dt.datetime | None


@dataclass
class _Publication:
    date: dt.date
    title: str
    channel: str


@dataclass
class _Year:
    """The clean records the exports are written from."""

    activities: list[_Activity] = field(default_factory=list)
    services: list[_Service] = field(default_factory=list)  # in period
    services_out: list[_Service] = field(default_factory=list)  # 2024-12 and 2026-01
    appeals: list[_Appeal] = field(default_factory=list)
    publications: list[_Publication] = field(default_factory=list)
    institutions: list[tuple[str, dt.date | None, str, _Person]] = field(default_factory=list)
    experts: list[tuple[str, dt.date | None, str, _Person]] = field(default_factory=list)
    courses: list[tuple[str, str, dt.date | None]] = field(default_factory=list)
    staff: list[tuple[_Person, str, str, str, str]] = field(default_factory=list)
    personal: list[str] = field(default_factory=list)


class _People:
    """Hands out made-up people one at a time and remembers everything personal written."""

    def __init__(self, rng: np.random.Generator, n: int, personal: list[str]) -> None:
        self._names, self._phones, self._ids = person_pool(rng, n)
        self._next = 0
        self._personal = personal

    def take(self) -> _Person:
        """The next person (never handed out twice)."""
        person = _Person(
            str(self._names[self._next]),
            str(self._phones[self._next]),
            str(self._ids[self._next]),
        )
        self._next += 1
        self._personal.extend((person.name, person.phone, person.id_number))
        return person


def _weekdays(month: int) -> list[dt.date]:
    day = dt.date(YEAR, month, 1)
    out = []
    while day.month == month:
        if day.weekday() < 5:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def _pick(rng: np.random.Generator, items: Sequence[Any]) -> Any:
    return items[int(rng.integers(0, len(items)))]


_OTHER_OFFLINE = (
    ("企业数字化转型培训会", "培训"),
    ("中小企业融资对接会", "对接会"),
    ("春风行动专场招聘会", "招聘"),
    ("知识产权保护沙龙", "沙龙"),
    ("外贸企业出口合规培训", "培训"),
    ("安全生产标准化培训", "培训"),
    ("企业用工法律风险讲座", "讲座"),
    ("专精特新企业培育辅导会", "培训"),
    ("电气产业链供需对接会", "对接会"),
    ("企业财税实务培训", "培训"),
    ("小升规企业培育座谈会", "座谈"),
    ("质量管理体系培训", "培训"),
    ("电子商务运营培训", "培训"),
    ("企业家沙龙：品牌建设", "沙龙"),
    ("银企对接会（柳市）", "对接会"),
    ("商标品牌培训", "培训"),
    ("节能降碳诊断服务活动", "服务"),
    ("科技成果转化对接会", "对接会"),
    ("企业上市辅导会", "培训"),
    ("职业技能提升培训", "培训"),
    ("人力资源管理沙龙", "沙龙"),
    ("跨境电商实务培训", "培训"),
)


def _plan_activities(rng: np.random.Generator, staff: list[_Person]) -> list[_Activity]:
    """About 145 activities: livestreams, offline events (tagged), hybrids and a few oddities."""
    regular = [m for m in range(1, 13) if m not in (2, 8)]
    online_target = {m: int(rng.integers(7, 10)) for m in regular}
    online_target[2], online_target[8] = 4, 5  # Spring Festival and the summer heat
    month_weights = np.array([0.5, 0.3, 1, 1, 1, 1, 0.8, 0.6, 1, 1.2, 1.2, 1.0])
    month_weights = month_weights / month_weights.sum()
    offline_fmt = ("线下", "线下", "现场", "线下活动")
    online_fmt = ("直播", "线上", "线上直播", "网络直播")
    hybrid_fmt = ("线上+线下", "线上+线下", "现场+直播")
    venues = ("企业之家路演厅", "企业之家二楼会议室", "乐清市民中心3号会议室", "乐清市创业创新中心")
    towns = list(_TOWNS[:12])
    rng.shuffle(towns)
    parks = list(_PARKS)
    rng.shuffle(parks)
    plan: list[tuple[str, str, str, str, int | None]] = []  # title, fmt, category, place, month

    def offline(
        title: str, category: str, place: str | None = None, month: int | None = None
    ) -> None:
        plan.append((title, _pick(rng, offline_fmt), category, place or _pick(rng, venues), month))

    offline("乐清市中小企业公共服务联盟季度交流会", "联盟活动", month=int(rng.integers(3, 6)))
    offline("服务联盟成员单位供需对接会", "联盟活动", month=int(rng.integers(9, 12)))
    park_only = (
        "企业之家进园服务日（{p}）",
        "{p}企业服务专场",
        "数字化改造进园宣传（{p}）",
        "{p}安全生产培训",
        "融资服务进园区（{p}）",
        "{p}用工政策咨询会",
        "知识产权服务进园（{p}）",
    )
    for i, pattern in enumerate(park_only):
        park = parks[i % len(parks)]
        offline(pattern.format(p=park), "进园服务", park)
    for i in range(7):
        town = towns[i]
        title = (
            f"“小微你好”专项服务活动（{town}站）" if i % 2 == 0 else f"“小微你好”企业沙龙（{town}）"
        )
        offline(title, "小微你好", f"{town}镇便民服务中心")
    for i in range(4):  # tagged park and xiaowei_nihao at once
        park = parks[(i + 3) % len(parks)]
        title = f"“小微你好”走进{park}" if i % 2 == 0 else f"“小微你好”进园服务日（{park}）"
        offline(title, "小微你好", park)
    for i, title in enumerate(
        (
            "2025年惠企政策宣讲会（{t}站）",
            "“两新”政策解读会",
            "税费优惠政策宣讲",
            "稳外贸政策解读会",
            "2025年惠企政策宣讲会（{t}站）",
            "科技创新政策宣讲会",
        )
    ):
        offline(title.format(t=towns[7 + i % 5]), "政策宣讲")
    for title, category in _OTHER_OFFLINE:
        offline(title, category)
    plan.append(("现场培训：电气产品质量提升", "", "培训", _pick(rng, venues), None))  # title: 现场
    for title, category in (
        ("企业家座谈交流会", "座谈"),
        ("新春走访慰问企业", "走访"),
        ("企业服务专员工作例会", ""),
    ):
        plan.append((title, "", category, "企业之家", None))  # format cannot be told
    # online or hybrid events other than the regular livestreams: never in Feb or Aug
    fixed_online: list[tuple[str, str, str, str]] = [
        ("数字化改造专题培训", _pick(rng, hybrid_fmt), "培训", "企业之家路演厅+视频号直播"),
        ("企业服务月启动仪式", _pick(rng, hybrid_fmt), "专项活动", "乐清市民中心+视频号直播"),
        ("温州市中小企业服务月乐清分会场", _pick(rng, hybrid_fmt), "专项活动", "企业之家路演厅"),
        ("企业之家开放日", _pick(rng, hybrid_fmt), "开放日", "企业之家"),
        ("产业链供需对接大会", _pick(rng, hybrid_fmt), "对接会", "乐清市民中心+视频号直播"),
        ("服务联盟线上座谈会", "线上", "联盟活动", "腾讯会议"),
        ("线上政策解读：研发费用加计扣除", "线上", "政策解读", "腾讯会议"),
        ("线上政策解读：制造业中小企业贷款贴息", "线上", "政策解读", "腾讯会议"),
        ("线上政策解读：“两新”设备更新补贴", "线上", "政策解读", "腾讯会议"),
        ("线上政策解读：外贸稳增长政策", "线上", "政策解读", "腾讯会议"),
        ("线上政策解读：个体工商户扶持政策", "线上", "政策解读", "腾讯会议"),
        ("线上直播：外贸企业出口退税实务", "", "直播", "企业之家视频号直播间"),
        ("线上直播：新《公司法》要点", "", "直播", "企业之家视频号直播间"),
        ("网络直播：企业用工风险防范", "", "直播", "企业之家视频号直播间"),
    ]
    cycle = list(regular)
    rng.shuffle(cycle)
    online_count = dict.fromkeys(range(1, 13), 0)
    for i, (title, fmt, category, place) in enumerate(fixed_online):
        month = cycle[i % len(cycle)]
        online_count[month] += 1
        plan.append((title, fmt, category, place, month))

    activities: list[_Activity] = []
    for title, fmt, category, place, month in plan:
        if month is None:
            month = int(rng.choice(np.arange(1, 13), p=month_weights))
        day = _pick(rng, _weekdays(month))
        is_online = fmt == "线上" or place.endswith("直播间")
        enterprises = int(rng.integers(40, 260) if is_online else rng.integers(12, 80))
        participants = int(
            rng.integers(200, 3000) if is_online else enterprises + rng.integers(5, 60)
        )
        remark = _pick(rng, ("", "", "", "联合镇人民政府", "联合市税务局", "满意度98%"))
        activities.append(
            _Activity(
                title,
                day,
                fmt,
                category,
                place,
                enterprises,
                participants,
                _pick(rng, staff),
                remark,
            )
        )
    # the regular livestreams fill each month up to its online target
    streams: list[dt.date] = []
    for month in range(1, 13):
        need = online_target[month] - online_count[month]
        if need < 0:
            raise AssertionError(f"too many fixed online events in month {month}")
        days = [d for d in _weekdays(month) if d.weekday() in (1, 2, 3)]
        streams.extend(_pick(rng, days) for _ in range(need))
    series = {"policy": 0, "hall": 0}
    topics = ("财税", "外贸", "数字化", "知识产权", "人力资源", "安全生产", "融资", "品牌")
    for day in sorted(streams):
        if rng.random() < 0.45:
            series["policy"] += 1
            title, category = f"惠企政策直播第{series['policy']}期", "政策直播"
        else:
            series["hall"] += 1
            topic = _pick(rng, topics)
            title, category = f"企业之家直播间·{topic}专场（第{series['hall']}期）", "直播"
        activities.append(
            _Activity(
                title,
                day,
                _pick(rng, online_fmt),
                category,
                "企业之家视频号直播间",
                int(rng.integers(30, 200)),
                int(rng.integers(300, 5000)),
                _pick(rng, staff),
                _pick(rng, ("", "", "回放观看量见后台", "")),
            )
        )
    activities.sort(key=lambda a: (a.date, a.title))
    return activities


def _plan_services(
    rng: np.random.Generator, people: _People, n_services: int
) -> tuple[list[_Enterprise], list[_Service], list[_Service]]:
    """About 600 enterprises and ``n_services`` distinct in-period services, plus 7 outside."""
    n_ent = 600
    codes = credit_codes(rng, n_ent)
    if not all(is_valid_credit_code(str(c)) for c in codes):
        raise AssertionError("credit_codes() produced an invalid check digit")
    names = enterprise_names(rng, n_ent, codes)
    above = rng.random(n_ent) < 0.25
    enterprises = [
        _Enterprise(str(names[i]), str(codes[i]), bool(above[i]), people.take())
        for i in range(n_ent)
    ]
    weights = rng.pareto(1.6, n_ent) + 0.3
    weights /= weights.sum()
    month_weight = np.array([0.9, 0.55, 1.0, 1.0, 1.05, 1.0, 1.0, 0.9, 1.05, 1.0, 1.1, 1.05])
    days = [d for m in range(1, 13) for d in _weekdays(m)]
    day_w = np.array([month_weight[d.month - 1] for d in days])
    day_w /= day_w.sum()
    seen: set[tuple[int, dt.date, str]] = set()
    services: list[_Service] = []
    while len(services) < n_services:
        e = int(rng.choice(n_ent, p=weights))
        day = days[int(rng.choice(len(days), p=day_w))]
        kind = _pick(rng, _SERVICE_TYPES)
        if (e, day, kind) in seen:
            continue
        seen.add((e, day, kind))
        services.append(_Service(enterprises[e], day, kind, _pick(rng, _SERVICE_REMARKS)))
    services.sort(key=lambda s: (s.date, s.enterprise.name, s.service_type))
    outside: list[_Service] = []
    for month_day in ("2024-12-{d}", "2026-01-{d}"):
        count = 4 if month_day.startswith("2024") else 3
        for k in range(count):
            day = dt.date.fromisoformat(month_day.format(d=f"{5 + 6 * k:02d}"))
            e = enterprises[int(rng.integers(0, n_ent))]
            outside.append(_Service(e, day, _pick(rng, _SERVICE_TYPES), ""))
    # cosmetic mess on codes and names (kept by the cleaner, same enterprise after normalising)
    for s in services:
        r = rng.random()
        s.code_mess = (
            "bad_check"
            if r < 0.01
            else "lower"
            if r < 0.04
            else "spaces"
            if r < 0.07
            else "missing"
            if r < 0.09
            else ""
        )
        s.name_missing = not s.code_mess and rng.random() < 0.015
        if rng.random() < 0.1:
            s.time = dt.time(int(rng.integers(8, 18)), int(_pick(rng, (0, 10, 15, 20, 30, 45))))
    return enterprises, services, outside


def _plan_appeals(
    rng: np.random.Generator, people: _People, enterprises: list[_Enterprise]
) -> list[_Appeal]:
    """120 appeals: 5 returned, 3 withdrawn, 11 still open, 4 closed after year end."""
    n = 120
    start = dt.datetime(YEAR, 1, 2, 8, 0)
    day_offsets = np.sort(rng.integers(0, 362, size=n))
    minutes = rng.integers(0, 10 * 60, size=n)  # office hours, 8:00–18:00
    received = sorted(
        start + dt.timedelta(days=int(d), minutes=int(m))
        for d, m in zip(day_offsets, minutes, strict=True)
    )
    issues = (
        "厂房租赁合同到期，房东要求大幅涨租",
        "用电增容审批进度慢，影响新生产线投产",
        "招工难，急需对接普工和电工",
        "技改补助资金兑付进度咨询",
        "园区道路积水影响物流车辆进出",
        "出口退税办理时间长，资金周转紧张",
        "商标被抢注，需要法律援助",
        "融资担保额度不足，希望协调银行续贷",
        "企业门口公交站点设置不合理",
        "申请高新技术企业认定需要辅导",
        "环评审批材料反复补正",
        "员工子女入学需要协调",
    )
    order = rng.permutation(n).tolist()
    returned, withdrawn = set(order[:5]), set(order[5:8])
    rest = order[8:]
    latest = sorted(rest, key=lambda i: received[i], reverse=True)
    after_year = set(latest[:4])  # received late in December, closed in January
    recent = latest[4:12]
    stale = [i for i in rest if dt.datetime(YEAR, 6, 1) <= received[i] < dt.datetime(YEAR, 10, 1)]
    still_open = set(recent[:8] + stale[:3])
    settled = returned | withdrawn | still_open | after_year
    missing_date = set(
        [i for i in rest if received[i] < dt.datetime(YEAR, 5, 1) and i not in settled][:2]
    )
    appeals: list[_Appeal] = []
    for i, when in enumerate(received):
        enterprise = enterprises[int(rng.integers(0, len(enterprises)))]
        contact = people.take()
        other = people.take()
        text = (
            f"{_pick(rng, issues)}。{other.name}（电话{other.phone}）反映，"
            f"请企业之家协调相关部门，联系人{contact.name}。"
        )
        closed: dt.datetime | None = None
        if i in returned:
            status = "已退回"
        elif i in withdrawn:
            status = "撤回"
        elif i in still_open:
            status = "办理中"
        elif i in after_year:
            status = "已办结"
            closed = dt.datetime(YEAR + 1, 1, int(rng.integers(2, 6)), int(rng.integers(9, 17)))
        else:
            status = _pick(rng, ("已办结", "已办结", "已办结", "办结"))
            days = int(rng.gamma(2.0, 7.0)) + 1
            closed = when + dt.timedelta(days=days, minutes=int(rng.integers(30, 400)))
            if closed.date() > AS_OF:
                closed = dt.datetime(YEAR, 12, 31, 16, 20)
            if i in missing_date:
                closed = None
        appeals.append(
            _Appeal(f"SQ{YEAR}{i + 1:04d}", enterprise.name, when, text, contact, status, closed)
        )
    return appeals


def _plan_publications(
    rng: np.random.Generator, activities: list[_Activity]
) -> tuple[list[_Publication], list[dt.date]]:
    """1–3 publications a week, none in three weeks (the Spring Festival week and two more)."""
    first_monday = PERIOD_START - dt.timedelta(days=PERIOD_START.weekday())
    mondays = []
    monday = first_monday
    while monday <= PERIOD_END:
        mondays.append(monday)
        monday += dt.timedelta(days=7)
    spring = dt.date(2025, 1, 27)
    others = [m for m in mondays[6:-4] if m != spring]
    picks = rng.choice(len(others), size=2, replace=False)
    skipped = sorted([spring, *(others[int(i)] for i in picks)])
    channels = ("微信公众号", "微信公众号", "乐清企业之家网站", "视频号", "今日头条号")
    policies = (
        "研发费用加计扣除政策要点",
        "小微企业“六税两费”减免",
        "制造业中小企业贷款贴息申报",
        "技术改造项目补助申报指南",
        "“专精特新”企业认定条件",
        "稳岗返还政策问答",
        "数字化改造试点申报通知",
        "外贸企业出口信用保险补贴",
    )
    issue = 0
    publications: list[_Publication] = []
    keys: set[tuple[str, dt.date, str]] = set()
    for monday in mondays:
        if monday in skipped:
            continue
        days = [
            monday + dt.timedelta(days=k)
            for k in range(7)
            if PERIOD_START <= monday + dt.timedelta(days=k) <= PERIOD_END
        ]
        for k in range(int(rng.integers(1, 4))):
            day = _pick(rng, days)
            kind = rng.random()
            if k == 0 and kind < 0.7:  # numbered in date order below
                title = f"企业之家服务周报（第{monday.isoformat()}期）"
            elif kind < 0.75:
                title = f"【政策速递】{_pick(rng, policies)}"
            else:
                near = [a for a in activities if abs((a.date - day).days) <= 10]
                title = (
                    f"【活动回顾】{_pick(rng, near).title}"
                    if near
                    else f"【企业之家】{_pick(rng, policies)}"
                )
            channel = _pick(rng, channels)
            if (title, day, channel) in keys:
                continue
            keys.add((title, day, channel))
            publications.append(_Publication(day, title, channel))
    publications.sort(key=lambda p: (p.date, p.title))
    for p in publications:
        if p.title.startswith("企业之家服务周报"):
            issue += 1
            p.title = f"企业之家服务周报（第{issue}期）"
    return publications, skipped


def _plan_year(rng: np.random.Generator) -> _Year:
    """Every clean record of the year."""
    year = _Year()
    people = _People(rng, 1200, year.personal)
    staff_people = [people.take() for _ in range(32)]
    year.activities = _plan_activities(rng, staff_people[:10])
    enterprises, year.services, year.services_out = _plan_services(
        rng, people, int(rng.integers(1920, 1965))
    )
    year.appeals = _plan_appeals(rng, people, enterprises)
    year.personal.extend(a.text for a in year.appeals)
    year.publications, _ = _plan_publications(rng, year.activities)

    kinds = (
        ("会计师事务所有限公司", 2024),
        ("律师事务所", 2024),
        ("知识产权代理有限公司", 2024),
        ("人力资源服务有限公司", 2024),
        ("检验检测有限公司", 2024),
        ("管理咨询有限公司", 2025),
        ("融资担保有限公司", 2025),
        ("科技服务有限公司", 2025),
        ("工业设计有限公司", 2025),
        ("职业技能培训学校", 2025),
        ("数字科技有限公司", 2025),
        ("税务师事务所有限公司", 2025),
    )
    brands = rng.choice(len(_BRAND), size=(len(kinds), 2), replace=False)
    statuses = ["合作中"] * 6 + ["正常"] * 2 + [""] * 2 + ["停止合作", "暂停"]
    rng.shuffle(statuses)
    no_date = int(rng.integers(0, len(kinds)))
    for i, (kind, joined_year) in enumerate(kinds):
        name = f"乐清{_BRAND[brands[i, 0]]}{_BRAND[brands[i, 1]]}{kind}"
        months = 12 if joined_year == 2024 else 11
        joined = dt.date(joined_year, int(rng.integers(1, months + 1)), int(rng.integers(1, 28)))
        year.institutions.append(
            (name, None if i == no_date else joined, statuses[i], people.take())
        )

    fields = (
        "财税",
        "法律",
        "知识产权",
        "人力资源",
        "数字化",
        "质量管理",
        "金融",
        "外贸",
        "安全生产",
    )
    for i in range(28):
        appointed: dt.date | None
        if i < 8:
            appointed = dt.date(2024, int(rng.integers(3, 13)), int(rng.integers(1, 28)))
        elif i == 26:
            appointed = None  # no date: counted
        elif i == 27:
            appointed = dt.date(2026, 1, 8)  # after as_of: not counted
        else:
            appointed = dt.date(2025, int(rng.integers(1, 13)), int(rng.integers(1, 28)))
        person = people.take()
        year.experts.append((person.name, appointed, _pick(rng, fields), person))
    order = rng.permutation(len(year.experts)).tolist()
    year.experts = [year.experts[i] for i in order]

    year.courses = [
        ("小微企业数字化转型实操", people.take().name, dt.date(2025, 5, 20)),
        ("出口企业合规经营十讲", people.take().name, dt.date(2025, 9, 12)),
        ("电气企业精益生产入门", people.take().name, None),
    ]

    titles = ("中级", "初级", "", "", "高级", "无")
    profile = [("本科", _pick(rng, titles)) for _ in range(15)]
    profile += [("大专", _pick(rng, titles)) for _ in range(7)]
    profile += [("硕士", _pick(rng, titles)) for _ in range(3)]
    profile += [("专科", "初级"), ("高中", "中级")]  # qualified by education, by title
    profile += [("高中", ""), ("高中", "初级"), ("中专", ""), ("中专", "初级"), ("初中", "无")]
    order = rng.permutation(len(profile)).tolist()
    flags = ["否"] * 20 + [""] * 9
    rng.shuffle(flags)
    flags = ["是", "√", "Y", *flags]
    roles = ("服务专员", "服务专员", "活动策划", "客服", "项目专员", "技术支持", "行政", "财务")
    for k, i in enumerate(order):
        role = ("运营主管", "直播运营", "运营专员")[k] if k < 3 else _pick(rng, roles)
        edu, title = profile[i]
        year.staff.append((staff_people[k], role, flags[k], edu, title))
    staff_order = rng.permutation(len(year.staff)).tolist()
    year.staff = [year.staff[i] for i in staff_order]
    return year


# ------------------------------------------------------------------------------------------------
# The truth (DESIGN "KPI semantics"), from the clean records only
# ------------------------------------------------------------------------------------------------


def _norm(text: str | None) -> str:
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    for ch in "\u200b\u200c\u200d\u2060\ufeff\u00ad“”\"'「」‘’『』":
        text = text.replace(ch, "")
    return text.strip()


def activity_format(fmt: str, title: str, contract: Contract) -> str:
    """offline, online, hybrid or unknown: the format column, or the title when it is empty."""
    text = _norm(fmt) or _norm(title)
    off = any(w in text for w in contract.format_keywords["offline"])
    on = any(w in text for w in contract.format_keywords["online"])
    return "hybrid" if off and on else "offline" if off else "online" if on else "unknown"


def activity_tags(category: str, title: str, contract: Contract) -> set[str]:
    """The tags whose keywords occur in the category or the title."""
    texts = (_norm(category), _norm(title))
    return {
        tag
        for tag, words in contract.tag_keywords.items()
        if any(w in t for w in words for t in texts)
    }


def elapsed_week_starts(as_of: dt.date) -> list[dt.date]:
    """Mondays of the weeks that intersect the period and end (Sunday) on or before ``as_of``."""
    monday = PERIOD_START - dt.timedelta(days=PERIOD_START.weekday())
    out = []
    while monday <= PERIOD_END and monday + dt.timedelta(days=6) <= as_of:
        out.append(monday)
        monday += dt.timedelta(days=7)
    return out


def _truth(year: _Year, contract: Contract) -> dict[str, float]:
    def counts(d: dt.date | None) -> bool:
        return d is not None and PERIOD_START <= d <= min(PERIOD_END, AS_OF)

    acts = [a for a in year.activities if counts(a.date)]
    kinds = [activity_format(a.fmt, a.title, contract) for a in acts]
    tags = [activity_tags(a.category, a.title, contract) for a in acts]
    offline = [k in ("offline", "hybrid") for k in kinds]
    online_months = [0] * 13
    for a, k in zip(acts, kinds, strict=True):
        if k in ("online", "hybrid"):
            online_months[a.date.month] += 1
    months_elapsed = [
        m for m in range(1, 13) if dt.date(YEAR, m, calendar.monthrange(YEAR, m)[1]) <= AS_OF
    ]

    accepted = [
        a
        for a in year.appeals
        if counts(a.received.date()) and a.status not in contract.not_accepted_statuses
    ]
    closed = [
        a
        for a in accepted
        if a.status in contract.closed_statuses and (a.closed is None or a.closed.date() <= AS_OF)
    ]
    weeks = elapsed_week_starts(AS_OF)
    covered = {
        p.date - dt.timedelta(days=p.date.weekday()) for p in year.publications if counts(p.date)
    }

    def qualified(edu: str, title: str) -> bool:
        return any(w in edu for w in contract.qualified_education) or any(
            w in title for w in contract.qualified_title
        )

    yes = {"是", "y", "yes", "√", "✓", "1", "true"}
    staff = year.staff
    return {
        "enterprises_served": float(sum(counts(s.date) for s in year.services + year.services_out)),
        "offline_events": float(sum(offline)),
        "alliance_events": float(
            sum(o and "alliance" in t for o, t in zip(offline, tags, strict=True))
        ),
        "park_events": float(sum(o and "park" in t for o, t in zip(offline, tags, strict=True))),
        "xiaowei_nihao_events": float(
            sum(o and "xiaowei_nihao" in t for o, t in zip(offline, tags, strict=True))
        ),
        "livestream_months": float(
            sum(online_months[m] >= contract.livestream_min_per_month for m in months_elapsed)
        ),
        "mingshi_courses": float(sum(counts(c[2]) for c in year.courses)),
        "appeal_resolution_rate": len(closed) / len(accepted) if accepted else 1.0,
        "policy_sessions": float(
            sum(k != "unknown" and "policy" in t for k, t in zip(kinds, tags, strict=True))
        ),
        "info_weekly_coverage": sum(w in covered for w in weeks) / len(weeks),
        "institutions_active": float(
            sum(
                status not in contract.inactive_statuses and (joined is None or joined <= AS_OF)
                for _, joined, status, _ in year.institutions
            )
        ),
        "experts_recruited": float(
            sum(appointed is None or appointed <= AS_OF for _, appointed, _, _ in year.experts)
        ),
        "staff_fulltime_ops": float(sum(s[2].casefold() in yes for s in staff)),
        "staff_total": float(len(staff)),
        "staff_qualified_share": sum(qualified(s[3], s[4]) for s in staff) / len(staff),
    }


# ------------------------------------------------------------------------------------------------
# Writing the mess
# ------------------------------------------------------------------------------------------------


class _StableZip(zipfile.ZipFile):
    """A zip archive whose entries all carry :data:`EXPORTED_AT`, so the bytes are stable."""

    def writestr(  # type: ignore[override]
        self,
        zinfo_or_arcname: str | zipfile.ZipInfo,
        data: str | bytes,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        """Write ``data`` under a fixed timestamp."""
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            info = zipfile.ZipInfo(zinfo_or_arcname, date_time=EXPORTED_AT.timetuple()[:6])
            info.compress_type = self.compression
            info.external_attr = 0o600 << 16
            zinfo_or_arcname = info
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(  # type: ignore[override]
        self,
        filename: str | Path,
        arcname: str | None = None,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        """Add a file (openpyxl's worksheets) under a fixed timestamp, not the file's mtime."""
        name = arcname if arcname is not None else Path(filename).name
        self.writestr(name, Path(filename).read_bytes(), compress_type, compresslevel)


def _new_workbook() -> Workbook:
    workbook = Workbook()
    workbook.remove(workbook.active)
    return workbook


def save_workbook(workbook: Workbook, path: Path) -> None:
    """Save an openpyxl workbook with fixed timestamps: same content → same bytes."""
    workbook.properties.creator = "企业之家平台"
    workbook.properties.lastModifiedBy = "企业之家平台"
    workbook.properties.created = EXPORTED_AT
    workbook.properties.modified = EXPORTED_AT
    with _StableZip(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(workbook, archive).save()


def _put_rows(sheet: Worksheet, rows: Iterable[Sequence[Any] | None], start: int = 1) -> int:
    """Write rows from row ``start`` (``None`` = a blank row); returns the next free row."""
    r = start
    for row in rows:
        if row is not None:
            for c, value in enumerate(row, start=1):
                if value is not None and value != "":
                    sheet.cell(row=r, column=c, value=value)
        r += 1
    return r


def _title(sheet: Worksheet, text: str, width: int) -> None:
    sheet.cell(row=1, column=1, value=text)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)


def _csv_bytes(rows: Iterable[Sequence[Any]], encoding: str, newline: str = "\r\n") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue().encode(encoding)


def _date_cell(
    rng: np.random.Generator, day: dt.date, kinds: Sequence[str], p: Sequence[float]
) -> dt.date | dt.datetime | int | str:
    """One date in a randomly chosen export format (a cell value: date, datetime, int or str)."""
    kind = kinds[int(rng.choice(len(kinds), p=np.asarray(p) / np.sum(p)))]
    hour = int(rng.integers(8, 17))
    minute = int(_pick(rng, (0, 0, 15, 30, 45)))
    if kind == "date":
        return day
    if kind == "datetime":
        return dt.datetime.combine(day, dt.time(hour, minute))
    if kind == "slash":
        return f"{day.year}/{day.month}/{day.day}"
    if kind == "dot":
        return f"{day.year}.{day.month}.{day.day}"
    if kind == "iso":
        return day.isoformat()
    if kind == "iso_time":
        return f"{day.isoformat()} {hour:02d}:{minute:02d}"
    if kind == "cn":
        return f"{day.year}年{day.month}月{day.day}日"
    if kind == "cn_range":
        return f"{day.year}年{day.month}月{day.day}日 {hour}:{minute:02d}-{hour + 2}:{minute:02d}"
    if kind == "fullwidth":
        return day.isoformat().translate(_FULLWIDTH)
    if kind == "serial":
        return _serial(day)
    if kind == "serial_text":
        return str(_serial(day))
    raise ValueError(kind)


def _count_cell(rng: np.random.Generator, value: int, unit: str = "家") -> int | str:
    r = rng.random()
    if r < 0.5:
        return value
    if r < 0.65:
        return f"{value}{unit}"
    if r < 0.75:
        return f"约{value}{unit}"
    if r < 0.85:
        return f"{value}+"
    return "-" if r < 0.93 else "无"


@dataclass
class _Tally:
    """The counts a correct cleaner should report, kept while writing."""

    quality: dict[str, dict[str, int]] = field(
        default_factory=lambda: {
            t: dict.fromkeys(
                (
                    "rows_read",
                    "rows_kept",
                    "rows_rejected",
                    "duplicates",
                    "summary_rows",
                    "blank_rows",
                ),
                0,
            )
            for t in TABLES
        }
    )

    def add(self, table: str, **counts: int) -> None:
        """Add kept/rejected/duplicate/summary/blank rows of one file; rows read follow."""
        for key, value in counts.items():
            self.quality[table][key] += value
        q = self.quality[table]
        q["rows_read"] = q["rows_kept"] + q["rows_rejected"] + q["duplicates"] + q["summary_rows"]


def _write_activities(rng: np.random.Generator, year: _Year, out: Path, tally: _Tally) -> None:
    date_kinds = ("date", "datetime", "slash", "dot", "cn_range", "fullwidth", "serial")
    date_p = (0.35, 0.15, 0.12, 0.1, 0.12, 0.08, 0.08)
    q3 = [a for a in year.activities if 7 <= a.date.month <= 9]
    csv_only = _pick(rng, [a for a in q3 if a.date.month == 9])
    workbook = _new_workbook()
    for month in range(1, 13):
        sheet = workbook.create_sheet(f"{month}月")
        _title(sheet, f"乐清市企业之家{YEAR}年活动台账（{month}月）", len(ACTIVITY_HEADER))
        rows: list[Sequence[Any] | None] = [ACTIVITY_HEADER]
        acts = [a for a in year.activities if a.date.month == month and a is not csv_only]
        for k, a in enumerate(acts, start=1):
            rows.append(
                (
                    k,
                    a.title,
                    _date_cell(rng, a.date, date_kinds, date_p),
                    a.fmt,
                    a.category,
                    a.location,
                    _count_cell(rng, a.enterprises),
                    a.participants if rng.random() < 0.8 else f"约{a.participants}人",
                    a.contact.name,
                    a.contact.phone,
                    a.remark,
                )
            )
        rejected = 0
        if month == 12:
            rows.append(
                (
                    len(acts) + 1,
                    f"{YEAR + 1}年企业服务需求调研会",
                    "待定",
                    "线下",
                    "调研",
                    "企业之家",
                    None,
                    None,
                    acts[0].contact.name,
                    acts[0].contact.phone,
                    "时间待定",
                )
            )
            rejected = 1
        blank = 1 if month in (3, 10) else 0
        if blank:
            rows.append(None)
        total = sum(a.enterprises for a in acts)
        rows.append(("合计", f"共{len(acts)}场", None, None, None, None, total))
        _put_rows(sheet, rows, start=3)
        tally.add(
            "activities",
            rows_kept=len(acts),
            rows_rejected=rejected,
            summary_rows=1,
            blank_rows=blank,
        )
    notes = workbook.create_sheet("填表说明")
    _put_rows(
        notes,
        [
            ("填表说明",),
            ("1. 每月一张工作表，活动结束后三个工作日内填报。",),
            ("2. 活动形式请填写线上、线下或线上+线下；直播活动请注明平台。",),
            ("3. 参与企业数以签到表为准，不确定的请填“约××家”。",),
            ("4. 月底由运营主管核对后报送市经信局。",),
        ],
    )
    save_workbook(workbook, out / f"活动台账_{YEAR}.xlsx")

    # an overlapping third-quarter export with other header names and messier titles
    rows = [("序号", "活动主题", "日期", "形式", "类别", "地点", "企业数")]
    exported = [a for a in q3 if a is csv_only or rng.random() < 0.85]
    for k, a in enumerate(exported, start=1):
        title = a.title
        mess = rng.random()
        if a is csv_only:
            pass
        elif mess < 0.2:
            cut = int(rng.integers(1, len(title)))
            title = title[:cut] + "\u200b" + title[cut:]
        elif mess < 0.35:
            title = f" {title.replace('·', ' · ')}  "
        elif mess < 0.5:
            title = title.replace("“", "").replace("”", "") if "“" in title else f"“{title}”"
        elif mess < 0.6:
            title = title.replace("“", '"').replace("”", '"') if "“" in title else f'"{title}"'
        elif mess < 0.7:
            title = title.replace("（", "(").replace("）", ")")
        day = a.date
        date = f"{day.year}/{day.month}/{day.day}" if rng.random() < 0.6 else day.isoformat()
        enterprises = a.enterprises if rng.random() < 0.7 else f"约{a.enterprises}家"
        rows.append((k, title, date, a.fmt, a.category, a.location, enterprises))
    (out / "活动台账_第三季度导出.csv").write_bytes(_csv_bytes(rows, "utf-8-sig"))
    tally.add("activities", rows_kept=1, duplicates=len(exported) - 1)


def _code_text(rng: np.random.Generator, s: _Service) -> str:
    code = s.enterprise.code
    if s.code_mess == "missing":
        return ""
    if s.code_mess == "lower":
        return code.lower()
    if s.code_mess == "spaces":
        return f"{code[:4]} {code[4:8]} {code[8:12]} {code[12:]}"
    if s.code_mess == "bad_check":
        wrong = CODE_CHARS[(CODE_CHARS.index(code[17]) + 1 + int(rng.integers(0, 29))) % 31]
        return code[:17] + wrong
    return code


def _scale_text(rng: np.random.Generator, above: bool) -> str:
    return _pick(rng, ("是", "是", "Y", "√")) if above else _pick(rng, ("否", "否", "", "N"))


def _service_row(
    rng: np.random.Generator, k: int | str, s: _Service, code: str, date: Any
) -> list[Any]:
    e = s.enterprise
    return [
        k,
        "" if s.name_missing else e.name,
        code,
        date,
        s.service_type,
        _scale_text(rng, e.above_scale),
        e.contact.name,
        e.contact.phone,
        e.contact.id_number,
        s.remark,
    ]


def _write_services(rng: np.random.Generator, year: _Year, out: Path, tally: _Tally) -> int:
    """The three services exports; returns how many rows carry a code failing its check."""
    codes = {id(s): _code_text(rng, s) for s in year.services + year.services_out}
    h1 = [s for s in year.services if s.date.month <= 6]
    h2 = [s for s in year.services if s.date.month >= 7]
    sep_oct = [s for s in h2 if s.date.month in (9, 10)]
    pick = rng.permutation(len(sep_oct))
    only_supplement = [sep_oct[i] for i in sorted(pick[:8].tolist())]
    again = [sep_oct[i] for i in sorted(pick[8:140].tolist())]
    h2 = [s for s in h2 if not any(s is o for o in only_supplement)]

    # first half: xlsx, title rows, real date cells, serials, a few double entries
    last = [s for s in h1 if s.date == dt.date(YEAR, 6, 30)] or h1[-1:]
    last[0].time = dt.time(9, 30)
    kinds = ("date", "datetime", "slash", "dot", "serial")
    p = (0.6, 0.1, 0.15, 0.05, 0.1)
    rows: list[Sequence[Any] | None] = [
        (f"导出单位：金点企业服务（温州）有限公司　导出日期：{YEAR}-07-03",),
        None,
        SERVICE_HEADER,
    ]
    body: list[list[Any] | None] = []
    for s in [o for o in year.services_out if o.date.year == YEAR - 1] + h1:
        date: Any = _date_cell(rng, s.date, kinds, p)
        if s.time is not None:
            date = dt.datetime.combine(s.date, s.time)
        body.append(_service_row(rng, 0, s, codes[id(s)], date))
    doubles = sorted(rng.choice(np.arange(10, len(body)), size=5, replace=False).tolist())
    for i in reversed(doubles):
        body.insert(i + 1, list(body[i]))  # type: ignore[arg-type]
    junk = [("待定", h1[3]), ("3月5日", h1[40])]
    for j, (text, s) in enumerate(junk):
        fake = _Service(s.enterprise, s.date, _pick(rng, _SERVICE_TYPES), "")
        body.insert(200 + 300 * j, _service_row(rng, 0, fake, s.enterprise.code, text))
    for i in (150, 480):
        body.insert(i, None)
    k = 0
    for row in body:
        if row is not None:
            k += 1
            row[0] = k
    total = ("合计", f"{k}家次")
    sheet_rows = [*rows, *body, total]
    workbook = _new_workbook()
    sheet = workbook.create_sheet("服务记录")
    _title(sheet, f"乐清市企业之家企业服务记录（{YEAR}年1-6月）", len(SERVICE_HEADER))
    _put_rows(sheet, sheet_rows, start=2)
    save_workbook(workbook, out / "企业服务记录_上半年.xlsx")
    n_out_h1 = sum(o.date.year == YEAR - 1 for o in year.services_out)
    tally.add(
        "services",
        rows_kept=len(h1) + n_out_h1,
        duplicates=len(doubles),
        rows_rejected=len(junk),
        summary_rows=1,
        blank_rows=2,
    )

    # second half: GBK CSV as Chinese Excel writes it
    kinds = ("slash", "iso", "iso_time", "cn", "serial_text")
    p = (0.6, 0.2, 0.1, 0.05, 0.05)
    csv_rows: list[Sequence[Any]] = [SERVICE_HEADER]
    lines: list[list[Any]] = []
    for s in h2 + [o for o in year.services_out if o.date.year == YEAR + 1]:
        lines.append(_service_row(rng, 0, s, codes[id(s)], _date_cell(rng, s.date, kinds, p)))
    for j, text in enumerate(("2025-02-30", "待定")):
        s = h2[100 + 400 * j]
        fake = _Service(s.enterprise, s.date, s.service_type, "")
        lines.insert(300 + 400 * j, _service_row(rng, 0, fake, s.enterprise.code, text))
    nobody = _Service(h2[0].enterprise, dt.date(YEAR, 8, 12), "政策咨询", "企业未留名")
    row = _service_row(rng, 0, nobody, "", "2025/8/12")
    row[1] = ""
    lines.insert(500, row)
    for k, line in enumerate(lines, start=1):
        line[0] = k
    blank_at = (250, 700)
    for i in sorted(blank_at, reverse=True):
        lines.insert(i, [""] * len(SERVICE_HEADER))
    text = _csv_bytes([*csv_rows, *lines[:650]], "gbk") + b"\r\n"  # an empty line too
    text += _csv_bytes([*lines[650:], ["合计", f"{len(h2)}家次", *[""] * 8]], "gbk")
    (out / "企业服务记录_下半年.csv").write_bytes(text)
    n_out_h2 = sum(o.date.year == YEAR + 1 for o in year.services_out)
    tally.add(
        "services",
        rows_kept=len(h2) + n_out_h2,
        rows_rejected=3,
        summary_rows=1,
        blank_rows=3,
    )

    # a supplementary September–October export (UTF-8, no BOM): mostly rows already in H2
    rows2: list[Sequence[Any]] = [
        (f"企业服务记录补充导出（{YEAR}年9-10月）", *[""] * (len(SERVICE_HEADER) - 1)),
        SERVICE_HEADER,
    ]
    supplement = sorted(again + only_supplement, key=lambda s: (s.date, s.enterprise.name))
    for k, s in enumerate(supplement, start=1):
        code = codes[id(s)]
        if s.code_mess in ("", "lower") and rng.random() < 0.3:
            code = code.lower() if s.code_mess == "" else code.upper()
        date = s.date.isoformat() if rng.random() < 0.8 else f"{s.date.isoformat()} 00:00:00"
        row = _service_row(rng, k, s, code, date)
        row[4] = f" {s.service_type}" if rng.random() < 0.1 else s.service_type
        rows2.append(row)
    rows2.append(("小计", f"{len(supplement)}条", *[""] * 8))
    (out / "企业服务记录_9-10月补充导出.csv").write_bytes(_csv_bytes(rows2, "utf-8"))
    tally.add(
        "services",
        rows_kept=len(only_supplement),
        duplicates=len(again),
        summary_rows=1,
    )
    written = [r for r in (*body, *lines, *rows2[2:]) if r is not None]
    return sum(_bad_code(str(r[2])) for r in written)


def _bad_code(text: str) -> bool:
    """A non-empty code whose check character (after upper-casing, no spaces) is wrong."""
    code = "".join(text.split()).upper()
    return len(code) == 18 and credit_check_char(code[:17]) != code[17]


def _dt_cell(rng: np.random.Generator, value: dt.datetime | None, as_text: bool) -> Any:
    if value is None:
        return None
    if as_text or rng.random() < 0.2:
        return f"{value.year}/{value.month}/{value.day} {value.hour}:{value.minute:02d}"
    return value


def _write_appeals(rng: np.random.Generator, year: _Year, out: Path, tally: _Tally) -> None:
    snapshot_at = dt.datetime(YEAR, 11, 3, 17, 0)
    first: list[_Appeal] = []
    for a in year.appeals:
        if a.received.date() > dt.date(YEAR, 10, 31):
            continue
        if a.status in ("已退回", "撤回") or a.closed is None or a.closed <= snapshot_at:
            first.append(a)
        else:
            first.append(_Appeal(**{**vars(a), "status": "办理中", "closed": None}))
    open_then = {a.appeal_id for a in first if a.status == "办理中"}
    second = [
        a
        for a in year.appeals
        if a.received.date() >= dt.date(YEAR, 9, 1) or a.appeal_id in open_then
    ]
    for name, appeals, as_text in (
        ("诉求台账.xlsx", first, False),
        ("诉求台账_更新.xlsx", second, True),
    ):
        workbook = _new_workbook()
        sheet = workbook.create_sheet("诉求台账")
        _title(sheet, "乐清市企业之家企业诉求办理台账", len(APPEAL_HEADER))
        rows = [APPEAL_HEADER] + [
            (
                a.appeal_id,
                a.enterprise,
                _dt_cell(rng, a.received, as_text),
                a.text,
                a.contact.name,
                a.contact.phone,
                a.status,
                _dt_cell(rng, a.closed, as_text),
            )
            for a in appeals
        ]
        _put_rows(sheet, rows, start=2)
        save_workbook(workbook, out / name)
    overlap = len({a.appeal_id for a in first} & {a.appeal_id for a in second})
    tally.add("appeals", rows_kept=len(year.appeals), duplicates=overlap)


def _write_rosters(rng: np.random.Generator, year: _Year, out: Path, tally: _Tally) -> None:
    # publications: UTF-8 CSV without BOM, two rows entered twice
    rows: list[Sequence[Any]] = [("发布日期", "标题", "发布平台")]
    for p in year.publications:
        r = rng.random()
        date = (
            p.date.isoformat()
            if r < 0.7
            else f"{p.date.year}/{p.date.month}/{p.date.day}"
            if r < 0.9
            else f"{p.date.isoformat()} {int(rng.integers(8, 18)):02d}:30"
        )
        rows.append((date, p.title, p.channel))
    for i in sorted(rng.choice(np.arange(5, len(rows) - 5), size=2, replace=False).tolist()):
        rows.insert(i + 1, rows[i])
    (out / "信息发布记录.csv").write_bytes(_csv_bytes(rows, "utf-8", "\n"))
    tally.add("publications", rows_kept=len(year.publications), duplicates=2)

    workbook = _new_workbook()
    sheet = workbook.create_sheet("服务机构")
    header = ("机构名称", "入驻日期", "状态", "联系人", "联系电话")
    _put_rows(
        sheet,
        [header]
        + [
            (
                n,
                j if j is None or rng.random() < 0.7 else f"{j.year}.{j.month}.{j.day}",
                s,
                c.name,
                c.phone,
            )
            for n, j, s, c in year.institutions
        ],
    )
    save_workbook(workbook, out / "服务机构名录.xlsx")
    tally.add("institutions", rows_kept=len(year.institutions))

    workbook = _new_workbook()
    sheet = workbook.create_sheet("专家库")
    _title(sheet, "乐清市企业之家志愿服务专家库", 5)
    _put_rows(
        sheet,
        [("专家姓名", "聘任日期", "专业领域", "手机号码", "身份证号")]
        + [
            (
                n,
                d if d is None or rng.random() < 0.8 else f"{d.year}.{d.month}.{d.day}",
                f,
                p.phone,
                p.id_number,
            )
            for n, d, f, p in year.experts
        ],
        start=2,
    )
    save_workbook(workbook, out / "志愿服务专家库.xlsx")
    tally.add("experts", rows_kept=len(year.experts))

    workbook = _new_workbook()
    sheet = workbook.create_sheet("名师优课")
    _put_rows(
        sheet,
        [("课程名称", "授课老师", "录用日期")]
        + [
            (t, teacher, None if d is None else d if i == 0 else f"{d.year}/{d.month}/{d.day}")
            for i, (t, teacher, d) in enumerate(year.courses)
        ],
    )
    save_workbook(workbook, out / "名师优课.xlsx")
    tally.add("courses", rows_kept=len(year.courses))

    workbook = _new_workbook()
    sheet = workbook.create_sheet("人员名单")
    _title(sheet, "乐清市企业之家运营团队人员名单", 7)
    _put_rows(
        sheet,
        [("姓名", "岗位", "是否专职运营", "学历", "职称", "身份证号", "联系电话")]
        + [
            (p.name, role, ft, edu, title, p.id_number, p.phone)
            for p, role, ft, edu, title in year.staff
        ],
        start=3,
    )
    save_workbook(workbook, out / "人员名单.xlsx")
    tally.add("staff", rows_kept=len(year.staff))


_DATA_FILES = (
    f"活动台账_{YEAR}.xlsx",
    "活动台账_第三季度导出.csv",
    "企业服务记录_上半年.xlsx",
    "企业服务记录_下半年.csv",
    "企业服务记录_9-10月补充导出.csv",
    "诉求台账.xlsx",
    "诉求台账_更新.xlsx",
    "信息发布记录.csv",
    "服务机构名录.xlsx",
    "志愿服务专家库.xlsx",
    "名师优课.xlsx",
    "人员名单.xlsx",
)

FACTS_YAML = """\
# 手工维护：办公场地、服务站点、年度计划备案与获奖情况
office_area_m2: 120
service_stations_built: 4
annual_plan_filed: true
awards:
  - {level: provincial, name: 省级优秀中小企业公共服务平台, date: 2025-11-20}
  - {level: municipal, name: 温州市中小企业服务工作先进集体, date: 2025-06-18}
"""


def _write_noise(rng: np.random.Generator, out: Path) -> tuple[str, ...]:
    owner = "Administrator"
    lock = bytes([len(owner)]) + owner.encode("ascii")
    lock = lock.ljust(54, b" ") + owner.encode("utf-16-le")
    lock = lock.ljust(165, b"\x00")
    lock = lock[:100] + rng.integers(0, 256, size=65, dtype=np.uint8).tobytes()
    (out / f"~$活动台账_{YEAR}.xlsx").write_bytes(lock)
    ds = b"\x00\x00\x00\x01Bud1" + rng.integers(0, 256, size=1000, dtype=np.uint8).tobytes()
    (out / ".DS_Store").write_bytes(ds)
    (out / "说明.txt").write_text(
        "本文件夹为企业之家平台导出的原始数据，请勿修改。\n"
        "活动台账由运营部每月填报；企业服务记录由平台后台导出；诉求台账由12345转办。\n",
        encoding="utf-8",
    )
    return (f"~$活动台账_{YEAR}.xlsx", ".DS_Store", "说明.txt")


def write_sample(out_dir: Path, seed: int = 2025) -> SampleTruth:
    """Write a realistic, messy year of exports into ``out_dir`` (a raw folder).

    Args:
        out_dir: the folder to fill (created if needed; other files in it are left alone).
        seed: the seed of every random draw; the same seed gives byte-identical files.

    Returns:
        The true year-end KPI actuals and the mess injected, per table.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    contract = load_contract()
    year = _plan_year(rng)
    tally = _Tally()
    _write_activities(rng, year, out_dir, tally)
    bad = _write_services(rng, year, out_dir, tally)
    _write_appeals(rng, year, out_dir, tally)
    _write_rosters(rng, year, out_dir, tally)
    (out_dir / "facts.yaml").write_text(FACTS_YAML, encoding="utf-8")
    ignored = _write_noise(rng, out_dir)
    files = (*_DATA_FILES, "facts.yaml", *ignored)
    unknown = tuple(
        a.title for a in year.activities if activity_format(a.fmt, a.title, contract) == "unknown"
    )
    return SampleTruth(
        year_end=_truth(year, contract),
        quality=tally.quality,
        out_of_period={"services": len(year.services_out)},
        bad_check_digits=bad,
        unknown_format=unknown,
        files=files,
        ignored=ignored,
        personal_values=tuple(dict.fromkeys(year.personal)),
        seed=seed,
    )


# ------------------------------------------------------------------------------------------------
# The benchmark's large services export
# ------------------------------------------------------------------------------------------------


def write_services_csv(path: Path, rows: int, seed: int = 0) -> None:
    """A large services export (UTF-8 with BOM) for the cleaning benchmark.

    A title row, the header, ``rows`` data rows (mixed date formats, about 1 % exact duplicate
    rows, a few unreadable dates, codes and names from a pool) and a 合计 row with every comma.
    A million rows take a few seconds: every column is built with numpy and pyarrow.
    """
    rng = np.random.default_rng(seed)
    n_ent = int(min(20_000, max(50, rows // 40)))
    codes = credit_codes(rng, n_ent)
    names = enterprise_names(rng, n_ent, codes)
    people, phones, ids = person_pool(rng, n_ent)
    above = np.where(rng.random(n_ent) < 0.25, "是", "否")

    days = np.array(
        [PERIOD_START + dt.timedelta(days=i) for i in range((PERIOD_END - PERIOD_START).days + 1)]
    )
    formats: list[list[str]] = []
    for day in days:
        formats.append(
            [
                day.isoformat(),
                f"{day.year}/{day.month}/{day.day}",
                f"{day.year}年{day.month}月{day.day}日",
                f"{day.isoformat()} 09:30",
                str(_serial(day)),
            ]
        )
    n_fmt = len(formats[0])
    unreadable = ["待定", "3月5日", "2025-02-30"]
    date_dict = pa.array([f for row in formats for f in row] + unreadable)
    fmt_p = np.array([0.35, 0.35, 0.1, 0.1, 0.1])

    n_dup = rows // 100
    n_unique = rows - n_dup
    space = n_ent * len(days) * len(_SERVICE_TYPES)
    keys = rng.choice(space, size=min(n_unique, space), replace=False)
    if len(keys) < n_unique:  # tiny pools: allow repeats
        keys = np.concatenate([keys, rng.integers(0, space, size=n_unique - len(keys))])
    ent, rest = np.divmod(keys, len(days) * len(_SERVICE_TYPES))
    day, kind = np.divmod(rest, len(_SERVICE_TYPES))
    order = np.argsort(day, kind="stable")  # exports list services by date
    ent, day, kind = ent[order], day[order], kind[order]
    src = np.empty(rows, dtype=np.int64)  # row -> the unique row it shows
    is_dup = np.zeros(rows, dtype=bool)
    if n_dup:
        is_dup[rng.choice(np.arange(1, rows), size=n_dup, replace=False)] = True
    src[~is_dup] = np.arange(n_unique)
    # a duplicate repeats a nearby earlier row (re-exported or entered twice)
    base = np.cumsum(~is_dup) - 1
    back = rng.integers(0, 30, size=n_dup)
    src[is_dup] = np.maximum(base[is_dup] - back, 0)
    ent, day, kind = ent[src], day[src], kind[src]
    date_idx = day * n_fmt + rng.choice(n_fmt, size=rows, p=fmt_p)
    bad_rows = rng.choice(
        np.flatnonzero(~is_dup), size=min(rows, 3 + rows // 200_000), replace=False
    )
    date_idx[bad_rows] = len(formats) * n_fmt + np.arange(len(bad_rows)) % len(unreadable)
    remarks = pa.array(list(_SERVICE_REMARKS))

    def take(values: Any, idx: np.ndarray) -> pa.Array:
        return pc.take(pa.array(values), pa.array(idx))

    table = pa.table(
        {
            "序号": pa.array(np.arange(1, rows + 1)),
            "企业名称": take(names.tolist(), ent),
            "统一社会信用代码": take(codes.tolist(), ent),
            "服务日期": pc.take(date_dict, pa.array(date_idx)),
            "服务类型": take(list(_SERVICE_TYPES), kind),
            "是否规上": take(above.tolist(), ent),
            "联系人": take(people.tolist(), ent),
            "联系电话": take(phones.tolist(), ent),
            "身份证号": take(ids.tolist(), ent),
            "备注": pc.take(remarks, pa.array(rng.integers(0, len(remarks), size=rows))),
        }
    )
    width = len(SERVICE_HEADER)
    head = (
        f"乐清市企业之家企业服务记录（{YEAR}年全量导出）"
        + "," * (width - 1)
        + "\n"
        + ",".join(SERVICE_HEADER)
        + "\n"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write(codecs.BOM_UTF8 + head.encode("utf-8"))
        pacsv.write_csv(
            table,
            fh,
            write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"),
        )
        fh.write(("合计," + f"{rows}家次" + "," * (width - 2) + "\n").encode("utf-8"))
