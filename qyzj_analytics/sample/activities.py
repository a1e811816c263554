"""Planning the year's activities (livestreams, offline events, hybrids) and publications."""

from __future__ import annotations

import datetime as dt

import numpy as np

from qyzj_analytics.sample.identities import PARKS, TOWNS
from qyzj_analytics.sample.records import (
    Activity,
    Person,
    Publication,
    list_weekdays,
    pick,
)

# the Monday of the Spring Festival (春节) week: nothing is published that week
_SPRING_FESTIVAL_MONDAY = {2025: dt.date(2025, 1, 27), 2026: dt.date(2026, 2, 16)}

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


def plan_activities(rng: np.random.Generator, staff: list[Person], year: int) -> list[Activity]:
    """About 145 activities in ``year``: livestreams, offline events (tagged), hybrids, oddities."""
    regular = [m for m in range(1, 13) if m not in (2, 8)]
    online_target = {m: int(rng.integers(7, 10)) for m in regular}
    online_target[2], online_target[8] = 4, 5  # Spring Festival and the summer heat
    month_weights = np.array([0.5, 0.3, 1, 1, 1, 1, 0.8, 0.6, 1, 1.2, 1.2, 1.0])
    month_weights = month_weights / month_weights.sum()
    offline_fmt = ("线下", "线下", "现场", "线下活动")
    online_fmt = ("直播", "线上", "线上直播", "网络直播")
    hybrid_fmt = ("线上+线下", "线上+线下", "现场+直播")
    venues = ("企业之家路演厅", "企业之家二楼会议室", "乐清市民中心3号会议室", "乐清市创业创新中心")
    towns = list(TOWNS[:12])
    rng.shuffle(towns)
    parks = list(PARKS)
    rng.shuffle(parks)
    plan: list[tuple[str, str, str, str, int | None]] = []  # title, fmt, category, place, month

    def offline(
        title: str, category: str, place: str | None = None, month: int | None = None
    ) -> None:
        plan.append((title, pick(rng, offline_fmt), category, place or pick(rng, venues), month))

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
            f"{year}年惠企政策宣讲会（{{t}}站）",
            "“两新”政策解读会",
            "税费优惠政策宣讲",
            "稳外贸政策解读会",
            f"{year}年惠企政策宣讲会（{{t}}站）",
            "科技创新政策宣讲会",
        )
    ):
        offline(title.format(t=towns[7 + i % 5]), "政策宣讲")
    for title, category in _OTHER_OFFLINE:
        offline(title, category)
    plan.append(("现场培训：电气产品质量提升", "", "培训", pick(rng, venues), None))  # title: 现场
    for title, category in (
        ("企业家座谈交流会", "座谈"),
        ("新春走访慰问企业", "走访"),
        ("企业服务专员工作例会", ""),
    ):
        plan.append((title, "", category, "企业之家", None))  # format cannot be told
    # online or hybrid events other than the regular livestreams: never in Feb or Aug
    fixed_online: list[tuple[str, str, str, str]] = [
        ("数字化改造专题培训", pick(rng, hybrid_fmt), "培训", "企业之家路演厅+视频号直播"),
        ("企业服务月启动仪式", pick(rng, hybrid_fmt), "专项活动", "乐清市民中心+视频号直播"),
        ("温州市中小企业服务月乐清分会场", pick(rng, hybrid_fmt), "专项活动", "企业之家路演厅"),
        ("企业之家开放日", pick(rng, hybrid_fmt), "开放日", "企业之家"),
        ("产业链供需对接大会", pick(rng, hybrid_fmt), "对接会", "乐清市民中心+视频号直播"),
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

    activities: list[Activity] = []
    for title, fmt, category, place, month in plan:
        if month is None:
            month = int(rng.choice(np.arange(1, 13), p=month_weights))
        day = pick(rng, list_weekdays(year, month))
        is_online = fmt == "线上" or place.endswith("直播间")
        enterprises = int(rng.integers(40, 260) if is_online else rng.integers(12, 80))
        participants = int(
            rng.integers(200, 3000) if is_online else enterprises + rng.integers(5, 60)
        )
        remark = pick(rng, ("", "", "", "联合镇人民政府", "联合市税务局", "满意度98%"))
        activities.append(
            Activity(
                title,
                day,
                fmt,
                category,
                place,
                enterprises,
                participants,
                pick(rng, staff),
                remark,
            )
        )
    # the regular livestreams fill each month up to its online target
    streams: list[dt.date] = []
    for month in range(1, 13):
        need = online_target[month] - online_count[month]
        if need < 0:
            raise AssertionError(f"too many fixed online events in month {month}")
        days = [d for d in list_weekdays(year, month) if d.weekday() in (1, 2, 3)]
        streams.extend(pick(rng, days) for _ in range(need))
    series = {"policy": 0, "hall": 0}
    topics = ("财税", "外贸", "数字化", "知识产权", "人力资源", "安全生产", "融资", "品牌")
    for day in sorted(streams):
        if rng.random() < 0.45:
            series["policy"] += 1
            title, category = f"惠企政策直播第{series['policy']}期", "政策直播"
        else:
            series["hall"] += 1
            topic = pick(rng, topics)
            title, category = f"企业之家直播间·{topic}专场（第{series['hall']}期）", "直播"
        activities.append(
            Activity(
                title,
                day,
                pick(rng, online_fmt),
                category,
                "企业之家视频号直播间",
                int(rng.integers(30, 200)),
                int(rng.integers(300, 5000)),
                pick(rng, staff),
                pick(rng, ("", "", "回放观看量见后台", "")),
            )
        )
    activities.sort(key=lambda a: (a.date, a.title))
    return activities


def plan_publications(
    rng: np.random.Generator, activities: list[Activity], start: dt.date, end: dt.date
) -> tuple[list[Publication], list[dt.date]]:
    """1–3 publications a week, none in three weeks (the Spring Festival week and two more)."""
    first_monday = start - dt.timedelta(days=start.weekday())
    mondays = []
    monday = first_monday
    while monday <= end:
        mondays.append(monday)
        monday += dt.timedelta(days=7)
    spring = _SPRING_FESTIVAL_MONDAY.get(start.year)
    others = [m for m in mondays[6:-4] if m != spring]
    picks = rng.choice(len(others), size=2 if spring else 3, replace=False)
    skipped = sorted([*([spring] if spring else []), *(others[int(i)] for i in picks)])
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
    publications: list[Publication] = []
    keys: set[tuple[str, dt.date, str]] = set()
    for monday in mondays:
        if monday in skipped:
            continue
        days = [
            monday + dt.timedelta(days=k)
            for k in range(7)
            if start <= monday + dt.timedelta(days=k) <= end
        ]
        for k in range(int(rng.integers(1, 4))):
            day = pick(rng, days)
            kind = rng.random()
            if k == 0 and kind < 0.7:  # numbered in date order below
                title = f"企业之家服务周报（第{monday.isoformat()}期）"
            elif kind < 0.75:
                title = f"【政策速递】{pick(rng, policies)}"
            else:
                near = [a for a in activities if abs((a.date - day).days) <= 10]
                title = (
                    f"【活动回顾】{pick(rng, near).title}"
                    if near
                    else f"【企业之家】{pick(rng, policies)}"
                )
            channel = pick(rng, channels)
            if (title, day, channel) in keys:
                continue
            keys.add((title, day, channel))
            publications.append(Publication(day, title, channel))
    publications.sort(key=lambda p: (p.date, p.title))
    for p in publications:
        if p.title.startswith("企业之家服务周报"):
            issue += 1
            p.title = f"企业之家服务周报（第{issue}期）"
    return publications, skipped
