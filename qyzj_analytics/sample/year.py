"""Planning the whole sample year: enterprises and services, appeals, rosters and staff."""

from __future__ import annotations

import datetime as dt

import numpy as np

from qyzj_analytics.ingest.parse import credit_codes_valid
from qyzj_analytics.sample.activities import plan_activities, plan_publications
from qyzj_analytics.sample.identities import BRAND, draw_credit_codes, draw_enterprise_names
from qyzj_analytics.sample.records import (
    SERVICE_REMARKS,
    SERVICE_TYPES,
    Appeal,
    Enterprise,
    People,
    Service,
    YearRecords,
    list_weekdays,
    pick,
)


def plan_services(
    rng: np.random.Generator, people: People, n_services: int, year: int
) -> tuple[list[Enterprise], list[Service], list[Service]]:
    """About 600 enterprises, ``n_services`` distinct services in ``year`` and 7 just outside."""
    n_ent = 600
    codes = draw_credit_codes(rng, n_ent)
    if not credit_codes_valid(codes.tolist()).all():
        raise AssertionError("draw_credit_codes() produced an invalid check digit")
    names = draw_enterprise_names(rng, n_ent, codes)
    above = rng.random(n_ent) < 0.25
    enterprises = [
        Enterprise(str(names[i]), str(codes[i]), bool(above[i]), people.take())
        for i in range(n_ent)
    ]
    weights = rng.pareto(1.6, n_ent) + 0.3
    weights /= weights.sum()
    month_weight = np.array([0.9, 0.55, 1.0, 1.0, 1.05, 1.0, 1.0, 0.9, 1.05, 1.0, 1.1, 1.05])
    days = [d for m in range(1, 13) for d in list_weekdays(year, m)]
    day_w = np.array([month_weight[d.month - 1] for d in days])
    day_w /= day_w.sum()
    seen: set[tuple[int, dt.date, str]] = set()
    services: list[Service] = []
    while len(services) < n_services:
        e = int(rng.choice(n_ent, p=weights))
        day = days[int(rng.choice(len(days), p=day_w))]
        kind = pick(rng, SERVICE_TYPES)
        if (e, day, kind) in seen:
            continue
        seen.add((e, day, kind))
        services.append(Service(enterprises[e], day, kind, pick(rng, SERVICE_REMARKS)))
    services.sort(key=lambda s: (s.date, s.enterprise.name, s.service_type))
    outside: list[Service] = []
    for first, count in ((dt.date(year - 1, 12, 1), 4), (dt.date(year + 1, 1, 1), 3)):
        for k in range(count):
            day = first.replace(day=5 + 6 * k)
            e = enterprises[int(rng.integers(0, n_ent))]
            outside.append(Service(e, day, pick(rng, SERVICE_TYPES), ""))
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
            s.time = dt.time(int(rng.integers(8, 18)), int(pick(rng, (0, 10, 15, 20, 30, 45))))
    return enterprises, services, outside


def plan_appeals(
    rng: np.random.Generator, people: People, enterprises: list[Enterprise], end: dt.date
) -> list[Appeal]:
    """120 appeals: 5 returned, 3 withdrawn, 11 still open, 4 closed after ``end`` (year end)."""
    n = 120
    year = end.year
    start = dt.datetime(year, 1, 2, 8, 0)
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
    stale = [i for i in rest if dt.datetime(year, 6, 1) <= received[i] < dt.datetime(year, 10, 1)]
    still_open = set(recent[:8] + stale[:3])
    settled = returned | withdrawn | still_open | after_year
    missing_date = set(
        [i for i in rest if received[i] < dt.datetime(year, 5, 1) and i not in settled][:2]
    )
    appeals: list[Appeal] = []
    for i, when in enumerate(received):
        enterprise = enterprises[int(rng.integers(0, len(enterprises)))]
        contact = people.take()
        other = people.take()
        text = (
            f"{pick(rng, issues)}。{other.name}（电话{other.phone}）反映，"
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
            closed = dt.datetime(year + 1, 1, int(rng.integers(2, 6)), int(rng.integers(9, 17)))
        else:
            status = pick(rng, ("已办结", "已办结", "已办结", "办结"))
            days = int(rng.gamma(2.0, 7.0)) + 1
            closed = when + dt.timedelta(days=days, minutes=int(rng.integers(30, 400)))
            if closed.date() > end:
                closed = dt.datetime.combine(end, dt.time(16, 20))
            if i in missing_date:
                closed = None
        appeals.append(
            Appeal(f"SQ{year}{i + 1:04d}", enterprise.name, when, text, contact, status, closed)
        )
    return appeals


def plan_year(rng: np.random.Generator, start: dt.date, end: dt.date) -> YearRecords:
    """Every clean record of the year ``start`` … ``end`` (a calendar year)."""
    records = YearRecords(start, end)
    year = start.year
    people = People(rng, 1200, records.personal)
    staff_people = [people.take() for _ in range(32)]
    records.activities = plan_activities(rng, staff_people[:10], year)
    enterprises, records.services, records.services_out = plan_services(
        rng, people, int(rng.integers(1920, 1965)), year
    )
    records.appeals = plan_appeals(rng, people, enterprises, end)
    records.personal.extend(a.text for a in records.appeals)
    records.publications, _ = plan_publications(rng, records.activities, start, end)

    kinds = (  # the kind of institution, the year it joined relative to the sample year
        ("会计师事务所有限公司", -1),
        ("律师事务所", -1),
        ("知识产权代理有限公司", -1),
        ("人力资源服务有限公司", -1),
        ("检验检测有限公司", -1),
        ("管理咨询有限公司", 0),
        ("融资担保有限公司", 0),
        ("科技服务有限公司", 0),
        ("工业设计有限公司", 0),
        ("职业技能培训学校", 0),
        ("数字科技有限公司", 0),
        ("税务师事务所有限公司", 0),
    )
    brands = rng.choice(len(BRAND), size=(len(kinds), 2), replace=False)
    statuses = ["合作中"] * 6 + ["正常"] * 2 + [""] * 2 + ["停止合作", "暂停"]
    rng.shuffle(statuses)
    no_date = int(rng.integers(0, len(kinds)))
    for i, (kind, joined_offset) in enumerate(kinds):
        name = f"乐清{BRAND[brands[i, 0]]}{BRAND[brands[i, 1]]}{kind}"
        months = 12 if joined_offset < 0 else 11
        joined = dt.date(
            year + joined_offset, int(rng.integers(1, months + 1)), int(rng.integers(1, 28))
        )
        records.institutions.append(
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
            appointed = dt.date(year - 1, int(rng.integers(3, 13)), int(rng.integers(1, 28)))
        elif i == 26:
            appointed = None  # no date: counted
        elif i == 27:
            appointed = dt.date(year + 1, 1, 8)  # after as_of: not counted
        else:
            appointed = dt.date(year, int(rng.integers(1, 13)), int(rng.integers(1, 28)))
        person = people.take()
        records.experts.append((person.name, appointed, pick(rng, fields), person))
    order = rng.permutation(len(records.experts)).tolist()
    records.experts = [records.experts[i] for i in order]

    records.courses = [
        ("小微企业数字化转型实操", people.take().name, dt.date(year, 5, 20)),
        ("出口企业合规经营十讲", people.take().name, dt.date(year, 9, 12)),
        ("电气企业精益生产入门", people.take().name, None),
    ]

    titles = ("中级", "初级", "", "", "高级", "无")
    profile = [("本科", pick(rng, titles)) for _ in range(15)]
    profile += [("大专", pick(rng, titles)) for _ in range(7)]
    profile += [("硕士", pick(rng, titles)) for _ in range(3)]
    profile += [("专科", "初级"), ("高中", "中级")]  # qualified by education, by title
    profile += [("高中", ""), ("高中", "初级"), ("中专", ""), ("中专", "初级"), ("初中", "无")]
    order = rng.permutation(len(profile)).tolist()
    flags = ["否"] * 20 + [""] * 9
    rng.shuffle(flags)
    flags = ["是", "√", "Y", *flags]
    roles = ("服务专员", "服务专员", "活动策划", "客服", "项目专员", "技术支持", "行政", "财务")
    for k, i in enumerate(order):
        role = ("运营主管", "直播运营", "运营专员")[k] if k < 3 else pick(rng, roles)
        edu, title = profile[i]
        records.staff.append((staff_people[k], role, flags[k], edu, title))
    staff_order = rng.permutation(len(records.staff)).tolist()
    records.staff = [records.staff[i] for i in staff_order]
    return records
