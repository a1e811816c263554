"""Writing the rosters: publications, institutions, experts, courses and staff."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qyzj_analytics.sample.exports import (
    Tally,
    csv_bytes,
    new_workbook,
    put_rows,
    put_title,
    save_workbook,
)
from qyzj_analytics.sample.records import YearRecords


def write_rosters(rng: np.random.Generator, records: YearRecords, out: Path, tally: Tally) -> None:
    """Publications (CSV), institutions, experts, courses and staff (xlsx)."""
    # publications: UTF-8 CSV without BOM, two rows entered twice
    rows: list[Sequence[Any]] = [("发布日期", "标题", "发布平台")]
    for p in records.publications:
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
    (out / "信息发布记录.csv").write_bytes(csv_bytes(rows, "utf-8", "\n"))
    tally.add("publications", rows_kept=len(records.publications), duplicates=2)

    workbook = new_workbook()
    sheet = workbook.create_sheet("服务机构")
    header = ("机构名称", "入驻日期", "状态", "联系人", "联系电话")
    put_rows(
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
            for n, j, s, c in records.institutions
        ],
    )
    save_workbook(workbook, out / "服务机构名录.xlsx")
    tally.add("institutions", rows_kept=len(records.institutions))

    workbook = new_workbook()
    sheet = workbook.create_sheet("专家库")
    put_title(sheet, "乐清市企业之家志愿服务专家库", 5)
    put_rows(
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
            for n, d, f, p in records.experts
        ],
        start=2,
    )
    save_workbook(workbook, out / "志愿服务专家库.xlsx")
    tally.add("experts", rows_kept=len(records.experts))

    workbook = new_workbook()
    sheet = workbook.create_sheet("名师优课")
    put_rows(
        sheet,
        [("课程名称", "授课老师", "录用日期")]
        + [
            (t, teacher, None if d is None else d if i == 0 else f"{d.year}/{d.month}/{d.day}")
            for i, (t, teacher, d) in enumerate(records.courses)
        ],
    )
    save_workbook(workbook, out / "名师优课.xlsx")
    tally.add("courses", rows_kept=len(records.courses))

    workbook = new_workbook()
    sheet = workbook.create_sheet("人员名单")
    put_title(sheet, "乐清市企业之家运营团队人员名单", 7)
    put_rows(
        sheet,
        [("姓名", "岗位", "是否专职运营", "学历", "职称", "身份证号", "联系电话")]
        + [
            (p.name, role, ft, edu, title, p.id_number, p.phone)
            for p, role, ft, edu, title in records.staff
        ],
        start=3,
    )
    save_workbook(workbook, out / "人员名单.xlsx")
    tally.add("staff", rows_kept=len(records.staff))
