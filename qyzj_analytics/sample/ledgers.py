"""Writing the ledgers: the activity ledger, the three services exports and the appeals ledger.

Each writer puts the mess of its files in (listed in :mod:`qyzj_analytics.sample.generate`) and
adds what a correct cleaner should count to the :class:`~qyzj_analytics.sample.exports.Tally`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qyzj_analytics.ingest.parse import CODE_CHARS, credit_codes_valid, normalize_credit_code
from qyzj_analytics.sample.exports import (
    ACTIVITY_HEADER,
    APPEAL_HEADER,
    SERVICE_HEADER,
    Tally,
    count_cell,
    csv_bytes,
    date_cell,
    new_workbook,
    put_rows,
    put_title,
    save_workbook,
)
from qyzj_analytics.sample.records import (
    SERVICE_TYPES,
    Appeal,
    Service,
    YearRecords,
    pick,
)


def write_activities(
    rng: np.random.Generator, records: YearRecords, out: Path, tally: Tally
) -> None:
    """The activity ledger (one sheet per month) and an overlapping Q3 CSV export."""
    year = records.year
    date_kinds = ("date", "datetime", "slash", "dot", "cn_range", "fullwidth", "serial")
    date_p = (0.35, 0.15, 0.12, 0.1, 0.12, 0.08, 0.08)
    q3 = [a for a in records.activities if 7 <= a.date.month <= 9]
    csv_only = pick(rng, [a for a in q3 if a.date.month == 9])
    workbook = new_workbook()
    for month in range(1, 13):
        sheet = workbook.create_sheet(f"{month}月")
        put_title(sheet, f"乐清市企业之家{year}年活动台账（{month}月）", len(ACTIVITY_HEADER))
        rows: list[Sequence[Any] | None] = [ACTIVITY_HEADER]
        acts = [a for a in records.activities if a.date.month == month and a is not csv_only]
        for k, a in enumerate(acts, start=1):
            rows.append(
                (
                    k,
                    a.title,
                    date_cell(rng, a.date, date_kinds, date_p),
                    a.fmt,
                    a.category,
                    a.location,
                    count_cell(rng, a.enterprises),
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
                    f"{year + 1}年企业服务需求调研会",
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
        put_rows(sheet, rows, start=3)
        tally.add(
            "activities",
            rows_kept=len(acts),
            rows_rejected=rejected,
            summary_rows=1,
            blank_rows=blank,
        )
    notes = workbook.create_sheet("填表说明")
    put_rows(
        notes,
        [
            ("填表说明",),
            ("1. 每月一张工作表，活动结束后三个工作日内填报。",),
            ("2. 活动形式请填写线上、线下或线上+线下；直播活动请注明平台。",),
            ("3. 参与企业数以签到表为准，不确定的请填“约××家”。",),
            ("4. 月底由运营主管核对后报送市经信局。",),
        ],
    )
    save_workbook(workbook, out / f"活动台账_{year}.xlsx")

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
    (out / "活动台账_第三季度导出.csv").write_bytes(csv_bytes(rows, "utf-8-sig"))
    tally.add("activities", rows_kept=1, duplicates=len(exported) - 1)


def _code_text(rng: np.random.Generator, s: Service) -> str:
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
    return pick(rng, ("是", "是", "Y", "√")) if above else pick(rng, ("否", "否", "", "N"))


def _service_row(
    rng: np.random.Generator, k: int | str, s: Service, code: str, date: Any
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


def write_services(rng: np.random.Generator, records: YearRecords, out: Path, tally: Tally) -> int:
    """The three services exports; returns how many rows carry a code failing its check."""
    year = records.year
    codes = {id(s): _code_text(rng, s) for s in records.services + records.services_out}
    h1 = [s for s in records.services if s.date.month <= 6]
    h2 = [s for s in records.services if s.date.month >= 7]
    sep_oct = [s for s in h2 if s.date.month in (9, 10)]
    shuffled = rng.permutation(len(sep_oct))
    only_supplement = [sep_oct[i] for i in sorted(shuffled[:8].tolist())]
    again = [sep_oct[i] for i in sorted(shuffled[8:140].tolist())]
    h2 = [s for s in h2 if not any(s is o for o in only_supplement)]

    # first half: xlsx, title rows, real date cells, serials, a few double entries
    last = [s for s in h1 if s.date == dt.date(year, 6, 30)] or h1[-1:]
    last[0].time = dt.time(9, 30)
    kinds = ("date", "datetime", "slash", "dot", "serial")
    p = (0.6, 0.1, 0.15, 0.05, 0.1)
    rows: list[Sequence[Any] | None] = [
        (f"导出单位：金点企业服务（温州）有限公司　导出日期：{year}-07-03",),
        None,
        SERVICE_HEADER,
    ]
    body: list[list[Any] | None] = []
    for s in [o for o in records.services_out if o.date.year == year - 1] + h1:
        date: Any = date_cell(rng, s.date, kinds, p)
        if s.time is not None:
            date = dt.datetime.combine(s.date, s.time)
        body.append(_service_row(rng, 0, s, codes[id(s)], date))
    doubles = sorted(rng.choice(np.arange(10, len(body)), size=5, replace=False).tolist())
    for i in reversed(doubles):
        body.insert(i + 1, list(body[i]))  # type: ignore[arg-type]
    junk = [("待定", h1[3]), ("3月5日", h1[40])]
    for j, (text, s) in enumerate(junk):
        fake = Service(s.enterprise, s.date, pick(rng, SERVICE_TYPES), "")
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
    workbook = new_workbook()
    sheet = workbook.create_sheet("服务记录")
    put_title(sheet, f"乐清市企业之家企业服务记录（{year}年1-6月）", len(SERVICE_HEADER))
    put_rows(sheet, sheet_rows, start=2)
    save_workbook(workbook, out / "企业服务记录_上半年.xlsx")
    n_out_h1 = sum(o.date.year == year - 1 for o in records.services_out)
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
    for s in h2 + [o for o in records.services_out if o.date.year == year + 1]:
        lines.append(_service_row(rng, 0, s, codes[id(s)], date_cell(rng, s.date, kinds, p)))
    for j, text in enumerate((f"{year}-02-30", "待定")):
        s = h2[100 + 400 * j]
        fake = Service(s.enterprise, s.date, s.service_type, "")
        lines.insert(300 + 400 * j, _service_row(rng, 0, fake, s.enterprise.code, text))
    nobody = Service(h2[0].enterprise, dt.date(year, 8, 12), "政策咨询", "企业未留名")
    row = _service_row(rng, 0, nobody, "", f"{year}/8/12")
    row[1] = ""
    lines.insert(500, row)
    for k, line in enumerate(lines, start=1):
        line[0] = k
    blank_at = (250, 700)
    for i in sorted(blank_at, reverse=True):
        lines.insert(i, [""] * len(SERVICE_HEADER))
    text = csv_bytes([*csv_rows, *lines[:650]], "gbk") + b"\r\n"  # an empty line too
    text += csv_bytes([*lines[650:], ["合计", f"{len(h2)}家次", *[""] * 8]], "gbk")
    (out / "企业服务记录_下半年.csv").write_bytes(text)
    n_out_h2 = sum(o.date.year == year + 1 for o in records.services_out)
    tally.add(
        "services",
        rows_kept=len(h2) + n_out_h2,
        rows_rejected=3,
        summary_rows=1,
        blank_rows=3,
    )

    # a supplementary September–October export (UTF-8, no BOM): mostly rows already in H2
    rows2: list[Sequence[Any]] = [
        (f"企业服务记录补充导出（{year}年9-10月）", *[""] * (len(SERVICE_HEADER) - 1)),
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
    (out / "企业服务记录_9-10月补充导出.csv").write_bytes(csv_bytes(rows2, "utf-8"))
    tally.add(
        "services",
        rows_kept=len(only_supplement),
        duplicates=len(again),
        summary_rows=1,
    )
    written = [r for r in (*body, *lines, *rows2[2:]) if r is not None]
    # a non-empty code whose check character (after upper-casing, no spaces) is wrong
    codes = [normalize_credit_code(r[2]) for r in written]
    full = [c for c in codes if c is not None and len(c) == 18]
    return int((~credit_codes_valid(full)).sum())


def _dt_cell(rng: np.random.Generator, value: dt.datetime | None, as_text: bool) -> Any:
    if value is None:
        return None
    if as_text or rng.random() < 0.2:
        return f"{value.year}/{value.month}/{value.day} {value.hour}:{value.minute:02d}"
    return value


def write_appeals(rng: np.random.Generator, records: YearRecords, out: Path, tally: Tally) -> None:
    """A snapshot of the appeals ledger in early November and a later update."""
    year = records.year
    snapshot_at = dt.datetime(year, 11, 3, 17, 0)
    first: list[Appeal] = []
    for a in records.appeals:
        if a.received.date() > dt.date(year, 10, 31):
            continue
        if a.status in ("已退回", "撤回") or a.closed is None or a.closed <= snapshot_at:
            first.append(a)
        else:
            first.append(Appeal(**{**vars(a), "status": "办理中", "closed": None}))
    open_then = {a.appeal_id for a in first if a.status == "办理中"}
    second = [
        a
        for a in records.appeals
        if a.received.date() >= dt.date(year, 9, 1) or a.appeal_id in open_then
    ]
    for name, appeals, as_text in (
        ("诉求台账.xlsx", first, False),
        ("诉求台账_更新.xlsx", second, True),
    ):
        workbook = new_workbook()
        sheet = workbook.create_sheet("诉求台账")
        put_title(sheet, "乐清市企业之家企业诉求办理台账", len(APPEAL_HEADER))
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
        put_rows(sheet, rows, start=2)
        save_workbook(workbook, out / name)
    overlap = len({a.appeal_id for a in first} & {a.appeal_id for a in second})
    tally.add("appeals", rows_kept=len(records.appeals), duplicates=overlap)
