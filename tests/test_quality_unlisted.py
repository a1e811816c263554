"""Cleaning without listing the issue rows (``prepare(..., issues=False)``, issue 16 item 1).

``qyzj forecast`` shows no rejected row, duplicate or warning, so it asks cleaning not to list
them: the tables and every per-file count stay the same, and the issue rows, not listed, cannot
be mistaken for "no issues".
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_cells import _xlsx_with_marked_cells
from test_mixed_encoding import services, utf8_file

from qyzj_analytics.contract.model import load_contract
from qyzj_analytics.ingest.clean import clean_exports
from qyzj_analytics.ingest.pipeline import prepare
from qyzj_analytics.ingest.read import read_raw_dir
from qyzj_analytics.sample.generate import write_sample

CONTRACT = load_contract()


@pytest.fixture(scope="module")
def messy_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample exports plus an xlsx with error and formula cells and a CSV with one row in
    neither encoding and one in GBK: rejected rows, duplicates and warnings of every kind."""
    raw = tmp_path_factory.mktemp("messy") / "raw"
    write_sample(raw, seed=2025)
    _xlsx_with_marked_cells(raw / "活动补录.xlsx")
    (raw / "企业服务记录_补录.csv").write_bytes(
        utf8_file(services(400, gbk={300}, bad={7}), bom=False)
    )
    return raw


def _with_far_rows(raw_dir: Path):
    """The exports of ``raw_dir`` with two rows outside the grid rejected and one warned about
    on the first table (as :mod:`~qyzj_analytics.ingest.farcells` notes them)."""
    exports = read_raw_dir(raw_dir)
    first = exports.tables[0]
    first.extra_rejected.extend([(9001, "A9001", "x", "远离数据区"), (9002, "B9002", "y", "远")])
    first.extra_warnings.append((9003, "C9003", "z", "远离数据区的单元格未读入"))
    return exports


def test_unlisted_issues_keep_the_tables_and_every_count(messy_raw: Path) -> None:
    listed = clean_exports(_with_far_rows(messy_raw), CONTRACT.closed_statuses)
    unlisted = clean_exports(_with_far_rows(messy_raw), CONTRACT.closed_statuses, issues=False)
    assert len(listed.rejected) > 2 and len(listed.duplicates) and len(listed.warnings)
    pd.testing.assert_frame_equal(unlisted.files, listed.files)
    assert listed.files["rows_rejected"].sum() == len(listed.rejected)
    assert list(unlisted.tables) == list(listed.tables)
    for name in listed.tables:
        pd.testing.assert_frame_equal(unlisted.tables[name], listed.tables[name])


def test_prepare_without_issues_keeps_quality_and_tables(messy_raw: Path) -> None:
    listed = prepare(messy_raw, CONTRACT)
    unlisted = prepare(messy_raw, CONTRACT, issues=False)
    assert unlisted.quality == listed.quality
    assert unlisted.missing_tables == listed.missing_tables
    for name in listed.clean.tables:
        pd.testing.assert_frame_equal(unlisted.clean.tables[name], listed.clean.tables[name])


@pytest.mark.parametrize("name", ["rejected", "duplicates", "warnings"])
def test_unlisted_issues_fail_on_look_up_never_read_as_none(messy_raw: Path, name: str) -> None:
    clean = prepare(messy_raw, CONTRACT, issues=False).clean
    with pytest.raises(LookupError, match="not listed"):
        getattr(clean, name)
    with pytest.raises(LookupError):
        len(clean.issues)
    with pytest.raises(LookupError):
        _ = name in clean.issues
