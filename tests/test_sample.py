"""The sample generator: deterministic, messy in every documented way, and readable."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import re
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from qyzj_analytics.contract.model import load_contract
from qyzj_analytics.errors import ParseError
from qyzj_analytics.ingest.clean import clean_exports
from qyzj_analytics.ingest.parse import is_valid_credit_code, normalize_credit_code, parse_date
from qyzj_analytics.ingest.processed import CleanResult
from qyzj_analytics.ingest.quality import summarize_quality
from qyzj_analytics.ingest.raw import RawExports
from qyzj_analytics.ingest.read import read_raw_dir
from qyzj_analytics.sample.bulk import write_services_csv
from qyzj_analytics.sample.exports import ACTIVITY_HEADER, EXPORTED_AT, SERVICE_HEADER, TABLES
from qyzj_analytics.sample.generate import write_sample
from qyzj_analytics.sample.truth import SampleTruth

CLOSED = ["已办结", "办结", "已完成", "已解决"]


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleTruth]:
    folder = tmp_path_factory.mktemp("sample") / "raw"
    return folder, write_sample(folder, seed=2025)


@pytest.fixture(scope="module")
def cleaned(sample: tuple[Path, SampleTruth]) -> tuple[RawExports, CleanResult]:
    exports = read_raw_dir(sample[0])
    return exports, clean_exports(exports, CLOSED)


def _rows(path: Path, sheet: str | None = None) -> list[tuple]:
    workbook = openpyxl.load_workbook(path)
    return list((workbook[sheet] if sheet else workbook.worksheets[0]).iter_rows(values_only=True))


def _year(cell: object) -> int | None:
    try:
        day = parse_date(cell)
    except ParseError:
        return None
    return day.year if day else None


def _csv(path: Path, encoding: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding))))


# --- determinism --------------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes(sample: tuple[Path, SampleTruth], tmp_path: Path) -> None:
    folder, truth = sample
    again = write_sample(tmp_path / "again", seed=2025)
    assert _hashes(folder) == _hashes(tmp_path / "again")
    assert sorted(_hashes(folder)) == sorted(truth.files)
    assert again == truth


def test_different_seed_gives_different_files(
    sample: tuple[Path, SampleTruth], tmp_path: Path
) -> None:
    folder, truth = sample
    other = write_sample(tmp_path / "other", seed=7)
    first, second = _hashes(folder), _hashes(tmp_path / "other")
    data = [n for n in truth.files if n.endswith((".xlsx", ".csv")) and n not in truth.ignored]
    assert len(data) == 12
    assert all(first[n] != second[n] for n in data)
    assert other.personal_values != truth.personal_values


def test_xlsx_timestamps_are_fixed(sample: tuple[Path, SampleTruth]) -> None:
    folder, _ = sample
    for path in folder.glob("[!~]*.xlsx"):
        with zipfile.ZipFile(path) as archive:
            assert {i.date_time for i in archive.infolist()} == {EXPORTED_AT.timetuple()[:6]}
        props = openpyxl.load_workbook(path).properties
        assert props.created == props.modified == EXPORTED_AT


# --- the mess, file by file -----------------------------------------------------------------


def test_activity_ledger_layout(sample: tuple[Path, SampleTruth]) -> None:
    path = sample[0] / "活动台账_2025.xlsx"
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == [f"{m}月" for m in range(1, 13)] + ["填表说明"]
    dates, counts = [], []
    for month in range(1, 13):
        sheet = workbook[f"{month}月"]
        assert [str(r) for r in sheet.merged_cells.ranges] == ["A1:K1"]
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][0] == f"乐清市企业之家2025年活动台账（{month}月）"
        assert all(v is None for v in rows[1])
        assert rows[2] == ACTIVITY_HEADER
        assert rows[-1][0] == "合计"
        dates += [r[2] for r in rows[3:-1] if r[0] is not None]
        counts += [r[6] for r in rows[3:-1] if r[0] is not None]
    text = [d for d in dates if isinstance(d, str)]
    assert any(isinstance(d, dt.datetime) and d.time() == dt.time(0) for d in dates)
    assert any(isinstance(d, dt.datetime) and d.time() != dt.time(0) for d in dates)
    assert any(isinstance(d, int) and 45000 < d < 46100 for d in dates)  # serial numbers
    assert any(re.fullmatch(r"2025/\d{1,2}/\d{1,2}", d) for d in text)
    assert any(re.fullmatch(r"2025\.\d{1,2}\.\d{1,2}", d) for d in text)
    assert any(re.fullmatch(r"2025年\d+月\d+日 \d+:\d\d-\d+:\d\d", d) for d in text)
    assert any(d.startswith("２０２５－") for d in text)  # full-width digits
    assert "待定" in text  # the one rejected row
    assert any(isinstance(c, int) for c in counts)
    for pattern in (r"\d+家", r"约\d+家", r"\d+\+"):
        assert any(isinstance(c, str) and re.fullmatch(pattern, c) for c in counts), pattern
    assert {"-", "无"} <= {c for c in counts if isinstance(c, str)}


def test_third_quarter_export_overlaps_with_messier_titles(
    sample: tuple[Path, SampleTruth],
) -> None:
    path = sample[0] / "活动台账_第三季度导出.csv"
    assert path.read_bytes().startswith(codecs.BOM_UTF8)
    rows = _csv(path, "utf-8-sig")
    assert rows[0] == ["序号", "活动主题", "日期", "形式", "类别", "地点", "企业数"]
    titles = [r[1] for r in rows[1:]]
    assert any("\u200b" in t for t in titles)
    assert any(t != t.strip() for t in titles)
    assert any("“" in t or '"' in t for t in titles)
    assert all(dt.date(2025, 7, 1) <= dt.date(*map(int, re.split("[-/]", r[2]))) for r in rows[1:])


def test_services_exports(sample: tuple[Path, SampleTruth]) -> None:
    folder = sample[0]
    first = _rows(folder / "企业服务记录_上半年.xlsx")
    assert first[0][0] == "乐清市企业之家企业服务记录（2025年1-6月）"
    assert first[3] == SERVICE_HEADER
    assert first[-1][0] == "合计"
    assert dt.datetime(2025, 6, 30, 9, 30) in [r[3] for r in first]
    assert any(all(v is None for v in r) for r in first[4:])  # blank rows
    second_bytes = (folder / "企业服务记录_下半年.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        second_bytes.decode("utf-8")
    second = _csv(folder / "企业服务记录_下半年.csv", "gbk")
    assert second[0] == list(SERVICE_HEADER)
    assert second[-1][0] == "合计" and len(second[-1]) == len(SERVICE_HEADER)
    extra_bytes = (folder / "企业服务记录_9-10月补充导出.csv").read_bytes()
    assert not extra_bytes.startswith(codecs.BOM_UTF8)
    extra = _csv(folder / "企业服务记录_9-10月补充导出.csv", "utf-8")
    assert extra[1] == list(SERVICE_HEADER) and extra[-1][0] == "小计"

    body = [r for r in first[4:-1] if r[0] is not None] + second[1:-1] + extra[2:-1]
    dates = [r[3] for r in body if r and r[0]]
    for bad in ("待定", "3月5日", "2025-02-30"):
        assert bad in dates
    years = {_year(d) for d in dates}
    assert {2024, 2025, 2026} <= years
    assert any(not r[1] and not r[2] for r in body if r and r[0])
    codes = [str(r[2]) for r in body if r and r[2]]
    assert any(c != c.upper() for c in codes) and any(" " in c for c in codes)
    invalid = [c for c in codes if not is_valid_credit_code(normalize_credit_code(c))]
    assert invalid and len(invalid) < 0.02 * len(codes)


def test_appeals_update_closes_open_appeals(sample: tuple[Path, SampleTruth]) -> None:
    folder = sample[0]
    first = {r[0]: r for r in _rows(folder / "诉求台账.xlsx")[2:]}
    second = {r[0]: r for r in _rows(folder / "诉求台账_更新.xlsx")[2:]}
    overlap = first.keys() & second.keys()
    assert overlap
    assert any(first[k][6] == "办理中" and second[k][6] in CLOSED for k in overlap)
    statuses = {r[6] for r in (*first.values(), *second.values())}
    assert {"已办结", "办理中", "已退回", "撤回"} <= statuses
    closed = [r[7] for r in second.values() if r[7]]
    assert any(str(c).startswith("2026/1/") for c in closed)  # closed after year end


def test_rosters_and_facts(sample: tuple[Path, SampleTruth]) -> None:
    folder = sample[0]
    institutions = _rows(folder / "服务机构名录.xlsx")[1:]
    assert len(institutions) == 12
    assert sum(r[2] in ("停止合作", "暂停") for r in institutions) == 2
    assert sum(r[1] is None for r in institutions) == 1
    experts = _rows(folder / "志愿服务专家库.xlsx")[2:]
    assert len(experts) == 28
    courses = _rows(folder / "名师优课.xlsx")[1:]
    assert len(courses) == 3 and sum(r[2] is None for r in courses) == 1
    staff = _rows(folder / "人员名单.xlsx")[3:]
    assert len(staff) == 32
    assert {r[2] for r in staff} == {"是", "√", "Y", "否", None}
    facts = (folder / "facts.yaml").read_text(encoding="utf-8")
    assert "level: provincial" in facts and "2025-11-20" in facts and "level: municipal" in facts


def test_noise_files(sample: tuple[Path, SampleTruth]) -> None:
    folder, truth = sample
    assert (folder / "~$活动台账_2025.xlsx").stat().st_size == 165
    assert (folder / ".DS_Store").is_file() and (folder / "说明.txt").is_file()
    assert set(truth.ignored) == {"~$活动台账_2025.xlsx", ".DS_Store", "说明.txt"}


# --- scale, truth and the reader ----------------------------------------------------------------


def test_scale(sample: tuple[Path, SampleTruth]) -> None:
    truth = sample[1]
    assert 1800 <= truth.year_end["enterprises_served"] <= 2200
    assert 120 <= truth.quality["activities"]["rows_kept"] <= 180
    assert 96 <= truth.quality["appeals"]["rows_kept"] <= 144


def test_truth_is_a_good_year_with_gaps(sample: tuple[Path, SampleTruth]) -> None:
    truth = sample[1]
    contract = load_contract()
    assert set(truth.year_end) == {spec.id for spec in load_contract().kpis}
    base, behind = 0.0, []
    for spec in contract.kpis:
        actual = truth.year_end[spec.id]
        if spec.rule == "linear":
            share = min(1.0, actual / spec.target)
        elif spec.rule == "floor_linear":
            assert spec.floor is not None
            share = min(1.0, max(0.0, (actual - spec.floor) / (spec.target - spec.floor)))
        else:
            share = float(actual >= spec.target)
        base += float(spec.weight) * share
        behind += [spec.id] if actual < spec.target else []
    assert 82 <= base < 90
    assert len(behind) >= 4
    assert truth.year_end["info_weekly_coverage"] == 49 / 52  # 52 weeks elapsed, 3 empty
    assert truth.year_end["livestream_months"] == 10
    assert truth.year_end["experts_recruited"] == 27  # 28 rows, one appointed in 2026
    assert truth.year_end["institutions_active"] == 10
    assert truth.year_end["staff_qualified_share"] == 27 / 32
    assert len(truth.unknown_format) == 3


def test_reader_accounts_for_every_injected_row(
    sample: tuple[Path, SampleTruth], cleaned: tuple[RawExports, CleanResult]
) -> None:
    _, truth = sample
    exports, result = cleaned
    assert exports.errors == []
    assert {t.table for t in exports.tables} == set(TABLES)
    ignored = {f.path for f in exports.files if f.status == "ignored"}
    assert ignored == set(truth.ignored)
    assert exports.facts_path is not None
    assert summarize_quality(result) == truth.quality
    flagged = result.warnings["reason"].str.contains("统一社会信用代码").sum()
    assert flagged == truth.bad_check_digits > 0


def test_personal_values_are_recognisable_and_stay_in_their_columns(
    sample: tuple[Path, SampleTruth], cleaned: tuple[RawExports, CleanResult]
) -> None:
    truth = sample[1]
    short = [v for v in truth.personal_values if len(v) <= 18]
    texts = [v for v in truth.personal_values if len(v) > 18]
    assert len(texts) == 120  # one free text per appeal
    phones = [v for v in short if v.isdigit() and len(v) == 11]
    ids = [v for v in short if len(v) == 18]
    names = [v for v in short if len(v) == 3]
    assert len(phones) + len(ids) + len(names) == len(short)
    assert all(re.fullmatch(r"1[358]\d{9}", p) for p in phones)
    assert all(re.fullmatch(r"330382(19|20)\d{9}[\dX]", i) for i in ids)
    tables = cleaned[1].tables
    public = [
        *tables["activities"][["title", "category", "location"]].stack().tolist(),
        *tables["services"][["enterprise", "credit_code", "service_type"]].stack().tolist(),
        *tables["appeals"]["enterprise"].tolist(),
        *tables["publications"][["title", "channel"]].stack().tolist(),
        *tables["institutions"]["name"].tolist(),
        *tables["courses"]["title"].tolist(),
    ]
    grams = {str(t)[i : i + n] for t in public for n in (3, 11, 18) for i in range(len(str(t)))}
    assert not grams & set(short)


def test_services_csv_for_the_benchmark(tmp_path: Path) -> None:
    rows = 20_000
    path = tmp_path / "raw" / "企业服务记录_全量.csv"
    write_services_csv(path, rows, seed=3)
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    lines = data.decode("utf-8-sig").splitlines()
    assert len(lines) == rows + 3
    assert lines[1] == ",".join(SERVICE_HEADER)
    assert lines[-1].startswith("合计,") and lines[-1].count(",") == len(SERVICE_HEADER) - 1
    assert all(line.count(",") == len(SERVICE_HEADER) - 1 for line in lines)
    write_services_csv(tmp_path / "again.csv", rows, seed=3)
    assert (tmp_path / "again.csv").read_bytes() == data

    exports = read_raw_dir(tmp_path / "raw")
    assert exports.errors == []
    quality = summarize_quality(clean_exports(exports))["services"]
    assert quality["rows_read"] == rows + 1 and quality["summary_rows"] == 1
    assert quality["rows_rejected"] == 3
    assert 0.009 * rows <= quality["duplicates"] <= 0.0101 * rows
    dates = {line.split(",")[3] for line in lines[2:-1]}
    assert any("年" in d for d in dates) and any("/" in d for d in dates)
    assert any(d.isdigit() for d in dates) and any(":" in d for d in dates)


@pytest.mark.slow
def test_services_csv_writes_a_million_rows_quickly(tmp_path: Path) -> None:
    start = time.perf_counter()
    write_services_csv(tmp_path / "big.csv", 1_000_000, seed=1)
    assert time.perf_counter() - start < 10
    with (tmp_path / "big.csv").open("rb") as fh:
        fh.seek(-200, 2)
        assert fh.read().decode("utf-8", "ignore").splitlines()[-1].startswith("合计,")
