"""Hostile files, generated: valid exports mutated at random, each run in a capped child process.

Every mutated file must end as exit 0 (read, its problems reported) or exit 3 (refused with a
message), never a traceback, a panic, an abort or a hang, within a memory cap and a time limit.

The valid files come from the sample generator; the mutations are the kinds real exports show:
truncation, flipped bytes (in the file, or inside a workbook's XML), far cells (a stray cell at
the far corner of a sheet), and mixed encodings. Each example runs ``qyzj`` in a child process
forked from a server that imported the CLI once (fast); on a system without ``forkserver`` each
runs as a fresh interpreter.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import random
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from fuzzchild import PRELOAD, run_capped
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xlsbuilder import Sheet, merge_cells, ole2, record, workbook_stream

TIME_LIMIT = 90  # seconds for one run
EXAMPLES = 30  # per kind of file (about 0.15 s each)
AS_OF = "2025-09-30"

BASES = {  # kind -> a small sample file of that kind
    "csv": "信息发布记录.csv",
    "csv-activities": "活动台账_第三季度导出.csv",
    "xlsx": "诉求台账.xlsx",
    "xlsx-activities": "活动台账_2025.xlsx",
}


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from qyzj_analytics.sample.generate import write_sample

    out = tmp_path_factory.mktemp("fuzz-sample")
    write_sample(out)
    return out


# -- running one case -------------------------------------------------------------------------


_CONTEXT = None


def _context() -> multiprocessing.context.BaseContext | None:
    global _CONTEXT
    if _CONTEXT is None and "forkserver" in multiprocessing.get_all_start_methods():
        _CONTEXT = multiprocessing.get_context("forkserver")
        _CONTEXT.set_forkserver_preload(PRELOAD)
    return _CONTEXT


def run_qyzj(argv: list[str], work: Path) -> tuple[int, str]:
    """Exit code and stderr of ``qyzj argv`` in a capped child (negative: killed by a signal)."""
    out, err = work / "stdout.txt", work / "stderr.txt"
    ctx = _context()
    if ctx is None:  # Windows/macOS spawn: a fresh interpreter per case
        proc = subprocess.run(
            [sys.executable, "-m", "qyzj_analytics.cli", *argv],
            capture_output=True,
            timeout=TIME_LIMIT,
            env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        )
        return proc.returncode, proc.stderr.decode("utf-8", "replace")
    child = ctx.Process(target=run_capped, args=(argv, str(out), str(err)))
    child.start()
    child.join(TIME_LIMIT)
    if child.is_alive():
        child.kill()
        child.join()
        pytest.fail(f"qyzj {' '.join(argv)} still running after {TIME_LIMIT} s")
    return child.exitcode, err.read_text("utf-8", "replace") if err.exists() else ""


def check_outcome(code: int, stderr: str, what: str) -> None:
    """Exit 0 or 3, and no traceback or panic text."""
    assert "Traceback" not in stderr, f"{what}: traceback\n{stderr[-3000:]}"
    assert "panicked" not in stderr and "PanicException" not in stderr, f"{what}:\n{stderr[-3000:]}"
    assert code in (0, 3), f"{what}: exit {code}\n{stderr[-3000:]}"


def clean_one(data: bytes, name: str, tmp: Path) -> tuple[int, str]:
    """Run ``qyzj clean`` on a raw folder holding just ``data`` saved as ``name``."""
    raw, out = tmp / "raw", tmp / "out"
    for folder in (raw, out):
        shutil.rmtree(folder, ignore_errors=True)
    raw.mkdir(parents=True)
    (raw / name).write_bytes(data)
    return run_qyzj(["clean", "--raw", str(raw), "--out", str(out)], tmp)


# -- mutations ---------------------------------------------------------------------------------


def truncate(data: bytes, rnd: random.Random) -> bytes:
    return data[: rnd.randrange(0, len(data))]


def flip_bytes(data: bytes, rnd: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rnd.randint(1, 8)):
        i = rnd.randrange(len(buf))
        buf[i] = rnd.randrange(256)
    return bytes(buf)


def insert_junk(data: bytes, rnd: random.Random) -> bytes:
    i = rnd.randrange(len(data) + 1)
    junk = rnd.choice([b"\x00" * 64, b"\xff\xfe", "，；\t\"'\r\n".encode(), bytes(range(256))])
    return data[:i] + junk + data[i:]


def mix_encodings(data: bytes, rnd: random.Random) -> bytes:
    """Re-encode some lines of a UTF-8 text as GBK, UTF-16 or Latin-1 bytes."""
    lines = data.split(b"\n")
    for _ in range(rnd.randint(1, 4)):
        i = rnd.randrange(len(lines))
        text = lines[i].decode("utf-8", "replace")
        codec = rnd.choice(["gb18030", "utf-16", "latin-1", "big5"])
        lines[i] = text.encode(codec, "replace")
    return b"\n".join(lines)


def _rezip(data: bytes, change) -> bytes:
    """The zip ``data`` with each member's bytes passed through ``change(name, bytes)``."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, change(info.filename, src.read(info)))
    return buffer.getvalue()


def _sheet_members(data: bytes) -> list[str]:
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    return [n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml")]


def flip_in_xml(data: bytes, rnd: random.Random) -> bytes:
    """Flip bytes inside one part of the workbook (a sheet, shared strings, styles…)."""
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    target = rnd.choice([n for n in names if n.endswith(".xml")])
    return _rezip(data, lambda n, b: flip_bytes(b, rnd) if n == target and b else b)


def add_far_cell(data: bytes, ref: str, value: str = "1") -> bytes:
    """The workbook ``data`` with a stray cell ``ref`` (e.g. ``XFD1048576``) on its first sheet.

    A cell on a row the sheet already has joins that row; otherwise it gets a row of its own.
    """
    target = _sheet_members(data)[0]
    row = re.fullmatch(r"[A-Z]+(\d+)", ref)[1]
    body = f"<v>{value}</v>" if value.isdigit() else f"<is><t>{value}</t></is>"
    kind = "" if value.isdigit() else ' t="inlineStr"'
    cell = f'<c r="{ref}"{kind}>{body}</c>'.encode()

    def change(name: str, xml: bytes) -> bytes:
        if name != target:
            return xml
        on_row = re.compile(rb'(<row [^>]*r="' + row.encode() + rb'"[^>]*>.*?)(</row>)', re.S)
        if on_row.search(xml):
            return on_row.sub(lambda m: m[1] + cell + m[2], xml, count=1)
        return xml.replace(
            b"</sheetData>", f'<row r="{row}">'.encode() + cell + b"</row></sheetData>", 1
        )

    return _rezip(data, change)


FAR_REFS = ["XFD1048576", "A1048576", "XFD5000", "XFD2", "AAA70000"]


def far_cell(data: bytes, rnd: random.Random) -> bytes:
    """Add a stray cell far from the data (up to XFD1048576) to the first sheet."""
    value = rnd.choice(["1", "13800138000", "备注"])
    return add_far_cell(data, rnd.choice(FAR_REFS), value)


def false_dimension(data: bytes, rnd: random.Random) -> bytes:
    """Claim a huge extent in the sheet's <dimension> without any cell there."""
    target = rnd.choice(_sheet_members(data))
    ref = rnd.choice([b"A1:XFD1048576", b"A1:Z999999", b"A1:XFD1"])
    return _rezip(
        data,
        lambda n, b: (
            re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="' + ref + b'"', b)
            if n == target
            else b
        ),
    )


TEXT_MUTATIONS = [truncate, flip_bytes, insert_junk, mix_encodings]
XLSX_MUTATIONS = [truncate, flip_bytes, flip_in_xml, far_cell, false_dimension]

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases in every run: CI failures reproduce
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(
    base=st.sampled_from(["csv", "csv-activities"]),
    mutation=st.sampled_from(TEXT_MUTATIONS),
    seed=st.integers(0, 2**32 - 1),
)
def test_mutated_csv_exits_cleanly(sample_dir, tmp_path, base, mutation, seed):
    data = mutation((sample_dir / BASES[base]).read_bytes(), random.Random(seed))
    code, stderr = clean_one(data, BASES[base], tmp_path)
    check_outcome(code, stderr, f"{mutation.__name__}({BASES[base]}, seed={seed})")


@FUZZ
@given(
    base=st.sampled_from(["xlsx", "xlsx-activities"]),
    mutation=st.sampled_from(XLSX_MUTATIONS),
    seed=st.integers(0, 2**32 - 1),
)
def test_mutated_xlsx_exits_cleanly(sample_dir, tmp_path, base, mutation, seed):
    data = mutation((sample_dir / BASES[base]).read_bytes(), random.Random(seed))
    code, stderr = clean_one(data, BASES[base], tmp_path)
    check_outcome(code, stderr, f"{mutation.__name__}({BASES[base]}, seed={seed})")


@FUZZ
@given(mutation=st.sampled_from(TEXT_MUTATIONS), seed=st.integers(0, 2**32 - 1))
def test_mutated_facts_exits_cleanly(sample_dir, tmp_path, mutation, seed):
    raw = tmp_path / "raw"
    shutil.rmtree(raw, ignore_errors=True)
    raw.mkdir()
    shutil.copy(sample_dir / BASES["xlsx"], raw)
    facts = (sample_dir / "facts.yaml").read_bytes()
    (raw / "facts.yaml").write_bytes(mutation(facts, random.Random(seed)))
    code, stderr = run_qyzj(["kpi", "--raw", str(raw), "--as-of", AS_OF], tmp_path)
    check_outcome(code, stderr, f"{mutation.__name__}(facts.yaml, seed={seed})")


@pytest.mark.parametrize("ref", FAR_REFS)
def test_far_cell_exits_cleanly(sample_dir, tmp_path, ref):
    """The kinds every run covers: a stray cell at the far corner, row or column of a sheet."""
    data = add_far_cell((sample_dir / BASES["xlsx"]).read_bytes(), ref, "13800138000")
    code, stderr = clean_one(data, BASES["xlsx"], tmp_path)
    check_outcome(code, stderr, f"far cell {ref}")
    assert code == 0, stderr  # the rows above the stray cell are still usable


def _xls_sheet(sample_dir: Path) -> Sheet:
    """The sample's appeals ledger as an .xls sheet (first sheet of the xlsx, as calamine reads it)."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(sample_dir / BASES["xlsx"]))
    rows = book.get_sheet_by_index(0).to_python()
    cleaned = [[v if isinstance(v, str | int | float) else str(v) for v in row] for row in rows]
    return Sheet("诉求", rows=cleaned)


def _xls_variant(sheet: Sheet, rnd: random.Random) -> bytes:
    """A hostile .xls from ``sheet``: structural (far cells, false dimensions, bad MERGECELLS,
    junk records) and byte-level damage (truncated or flipped stream or container)."""
    kind = rnd.choice(["far", "dimensions", "merge", "junk", "stream", "file"])
    sheet = Sheet(sheet.name, rows=sheet.rows, cells=dict(sheet.cells), extra=list(sheet.extra))
    if kind == "far":
        sheet.cells[(rnd.choice([65535, 40000, 3]), rnd.choice([255, 200, 1]))] = rnd.choice(
            ["13800138000", 7.5, "远处备注"]
        )
    elif kind == "dimensions":
        sheet.dimensions = rnd.choice(
            [(0, 4_000_000_000, 0, 256), (5, 2, 0, 3), (0, 65536, 0, 65535), (0, 1, 0, 1)]
        )
    elif kind == "merge":
        sheet.extra.append(merge_cells([(0, 0, 0, 3)], count=rnd.choice([0, 2, 5000])))
    elif kind == "junk":
        body = bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 40)))
        sheet.extra.append(
            record(rnd.choice([0x00FD, 0x0203, 0x027E, 0x00BD, 0x0006, 0x0205]), body)
        )
    stream = workbook_stream([sheet])
    if kind == "stream":
        stream = rnd.choice([truncate, flip_bytes])(stream, rnd)
    data = ole2(stream)
    return rnd.choice([truncate, flip_bytes])(data, rnd) if kind == "file" else data


@FUZZ
@given(seed=st.integers(0, 2**32 - 1))
def test_mutated_xls_exits_cleanly(sample_dir, tmp_path, seed):
    data = _xls_variant(_xls_sheet(sample_dir), random.Random(seed))
    code, stderr = clean_one(data, "诉求台账.xls", tmp_path)
    check_outcome(code, stderr, f"xls variant seed={seed}")


def test_runner_reports_a_traceback(tmp_path):
    """The harness itself can fail: a crash in the child is seen as a traceback, not a pass."""
    code, _ = run_qyzj(["kpi", "--raw", str(tmp_path), "--as-of", "not-a-date"], tmp_path)
    assert code == 2  # argparse: bad arguments
    with pytest.raises(AssertionError):
        check_outcome(1, "Traceback (most recent call last):\n  boom", "self-test")
