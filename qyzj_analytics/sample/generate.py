"""A deterministic, realistic and messy year of 乐清市企业之家 platform exports.

:func:`write_sample` fills a raw folder with exports the way the platform and the operator's staff
deliver them: merged title rows, one sheet per month, mixed date and count formats, GBK and
UTF-8-with-BOM CSVs, overlapping exports, summary rows, blank rows, unreadable dates, an Excel
lock file and other noise. It returns a :class:`~qyzj_analytics.sample.truth.SampleTruth`: the
true year-end KPI actuals, computed from the generator's own clean records with DESIGN's
semantics, and the mess it injected.

The big services export for the cleaning benchmark is
:func:`qyzj_analytics.sample.bulk.write_services_csv`.

Everything is drawn from ``numpy.random.default_rng(seed)``; every timestamp is fixed, so the same
seed gives byte-identical files. All people, phone numbers and ID numbers are made up.

The flow: :mod:`year` plans the clean records (:mod:`activities`, :mod:`identities`,
:mod:`records`), :mod:`ledgers` and :mod:`rosters` write them with their mess (:mod:`exports`),
and :mod:`truth` computes the true KPI values from the clean records.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qyzj_analytics.contract.model import load_contract
from qyzj_analytics.sample.exports import Tally
from qyzj_analytics.sample.ledgers import write_activities, write_appeals, write_services
from qyzj_analytics.sample.rosters import write_rosters
from qyzj_analytics.sample.truth import SampleTruth, classify_activity_format, compute_year_end
from qyzj_analytics.sample.year import plan_year


def _data_files(year: int) -> tuple[str, ...]:
    """The data files :func:`write_sample` writes, in writing order."""
    return (
        f"活动台账_{year}.xlsx",
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


def _facts_yaml(year: int) -> str:
    """The operator's hand-kept facts file (office, stations, annual plan, awards)."""
    return f"""\
# 手工维护：办公场地、服务站点、年度计划备案与获奖情况
office_area_m2: 120
service_stations_built: 4
annual_plan_filed: true
awards:
  - {{level: provincial, name: 省级优秀中小企业公共服务平台, date: {year}-11-20}}
  - {{level: municipal, name: 温州市中小企业服务工作先进集体, date: {year}-06-18}}
"""


def _write_noise(rng: np.random.Generator, out: Path, year: int) -> tuple[str, ...]:
    """The files a reader must ignore: an Excel lock file, a .DS_Store and a text file."""
    owner = "Administrator"
    lock = bytes([len(owner)]) + owner.encode("ascii")
    lock = lock.ljust(54, b" ") + owner.encode("utf-16-le")
    lock = lock.ljust(165, b"\x00")
    lock = lock[:100] + rng.integers(0, 256, size=65, dtype=np.uint8).tobytes()
    (out / f"~$活动台账_{year}.xlsx").write_bytes(lock)
    ds = b"\x00\x00\x00\x01Bud1" + rng.integers(0, 256, size=1000, dtype=np.uint8).tobytes()
    (out / ".DS_Store").write_bytes(ds)
    (out / "说明.txt").write_text(
        "本文件夹为企业之家平台导出的原始数据，请勿修改。\n"
        "活动台账由运营部每月填报；企业服务记录由平台后台导出；诉求台账由12345转办。\n",
        encoding="utf-8",
    )
    return (f"~$活动台账_{year}.xlsx", ".DS_Store", "说明.txt")


def write_sample(out_dir: Path, seed: int = 2025) -> SampleTruth:
    """Write a realistic, messy year of exports into ``out_dir`` (a raw folder).

    The year is the period of the bundled contract (``load_contract()``).

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
    records = plan_year(rng, contract.period_start, contract.period_end)
    tally = Tally()
    write_activities(rng, records, out_dir, tally)
    bad = write_services(rng, records, out_dir, tally)
    write_appeals(rng, records, out_dir, tally)
    write_rosters(rng, records, out_dir, tally)
    (out_dir / "facts.yaml").write_text(_facts_yaml(records.year), encoding="utf-8")
    ignored = _write_noise(rng, out_dir, records.year)
    files = (*_data_files(records.year), "facts.yaml", *ignored)
    unknown = tuple(
        a.title
        for a in records.activities
        if classify_activity_format(a.fmt, a.title, contract) == "unknown"
    )
    return SampleTruth(
        year_end=compute_year_end(records, contract),
        quality=tally.quality,
        out_of_period={"services": len(records.services_out)},
        bad_check_digits=bad,
        unknown_format=unknown,
        files=files,
        ignored=ignored,
        personal_values=tuple(dict.fromkeys(records.personal)),
        seed=seed,
    )
