"""``sample``, ``clean`` and ``report`` never write over a user's files (issue 9 item 4).

As root a folder cannot be made unwritable with chmod, so the PermissionError an unwritable folder
gives is injected instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from reporting import QUARTER, copy_notebooks, report_main, write_tiny_raw

from qyzj_analytics.cli import main
from qyzj_analytics.errors import UsageError
from qyzj_analytics.ingest.discover import SAMPLE_MARKER
from qyzj_analytics.outputs import (
    OutputError,
    check_out_dir,
    check_sample_dir,
    ensure_writable,
    is_within,
    writing_to,
)


def _deny_writes_in(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make creating ``folder`` or any file in it raise PermissionError, as a read-only folder."""
    real_mkdir, real_write, real_open = Path.mkdir, Path.write_bytes, os.open

    def denied(path: object) -> PermissionError:
        return PermissionError(13, "Permission denied", str(path))

    def mkdir(self: Path, *args: object, **kwargs: object) -> None:
        if is_within(self, folder):
            raise denied(self)
        real_mkdir(self, *args, **kwargs)

    def write_bytes(self: Path, data: bytes) -> int:
        if is_within(self, folder):
            raise denied(self)
        return real_write(self, data)

    def open_(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and is_within(Path(str(path)), folder):
            raise denied(path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    monkeypatch.setattr(os, "open", open_)


# ------------------------------------------------------------------------------------------------
# The checks


def test_out_inside_or_equal_to_raw_is_refused(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    for out in (raw, raw / "processed", raw / "a" / ".." / "b", tmp_path / "." / "raw"):
        with pytest.raises(UsageError, match="原始数据文件夹"):
            check_out_dir(out, raw)
    check_out_dir(tmp_path / "processed", raw)
    check_out_dir(tmp_path, raw)  # raw inside out: nothing is written into raw
    check_out_dir(tmp_path / "raw2", raw)  # a sibling whose name starts the same


def test_out_inside_raw_through_a_symlink_is_refused(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (tmp_path / "link").symlink_to(raw, target_is_directory=True)
    with pytest.raises(UsageError):
        check_out_dir(tmp_path / "link" / "out", raw)


def test_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "out.xlsx"
    file.write_text("x")
    with pytest.raises(UsageError, match="是一个文件"):
        check_out_dir(file)


def test_sample_dir_rules(tmp_path: Path) -> None:
    check_sample_dir(tmp_path / "new", SAMPLE_MARKER)  # missing
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".DS_Store").write_bytes(b"")
    (empty / "desktop.ini").write_text("")
    check_sample_dir(empty, SAMPLE_MARKER)  # only what an OS leaves everywhere
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / SAMPLE_MARKER).write_text("")
    (earlier / "活动台账_2025.xlsx").write_bytes(b"sample")
    check_sample_dir(earlier, SAMPLE_MARKER)  # an earlier sample is rewritten
    users = tmp_path / "users"
    users.mkdir()
    (users / "sub").mkdir()
    with pytest.raises(UsageError, match="不是空的"):
        check_sample_dir(users, SAMPLE_MARKER)


def test_writing_to_names_the_folder_and_leaves_other_errors(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(OutputError, match=f"无法写入输出文件夹 {out}"), writing_to(out):
        raise PermissionError(13, "Permission denied", str(out / "a.parquet"))
    with pytest.raises(FileNotFoundError), writing_to(out):  # reading the raw folder, say
        raise FileNotFoundError(2, "No such file", str(tmp_path / "raw" / "a.csv"))
    with pytest.raises(OutputError), writing_to(out, every_error=True):
        raise OSError(28, "No space left on device")


def test_ensure_writable_says_so_plainly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    existing = tmp_path / "existing"
    existing.mkdir()
    ensure_writable(existing)
    assert list(existing.iterdir()) == []  # the probe is removed
    _deny_writes_in(monkeypatch, existing)
    with pytest.raises(OutputError, match="没有写入权限"):
        ensure_writable(existing)


# ------------------------------------------------------------------------------------------------
# qyzj sample


def test_sample_refuses_a_folder_of_the_users_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    own = folder / "活动台账_2025.xlsx"  # a name the sample writes
    own.write_bytes(b"the user's own ledger")
    assert main(["sample", "--out", str(folder)]) == 2
    assert "不是空的" in capsys.readouterr().err
    assert own.read_bytes() == b"the user's own ledger"
    assert sorted(p.name for p in folder.iterdir()) == [own.name]


def test_sample_refuses_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "raw"
    file.write_text("x")
    assert main(["sample", "--out", str(file)]) == 2
    assert "是一个文件" in capsys.readouterr().err
    assert file.read_text() == "x"


def test_sample_rewrites_its_own_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "raw"
    assert main(["sample", "--out", str(folder), "--seed", "7"]) == 0
    assert (folder / SAMPLE_MARKER).exists()
    assert main(["sample", "--out", str(folder), "--seed", "7"]) == 0
    assert "已生成示例导出" in capsys.readouterr().out


def test_sample_into_an_unwritable_folder_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "locked"
    _deny_writes_in(monkeypatch, folder)
    assert main(["sample", "--out", str(folder)]) == 3
    err = capsys.readouterr().err
    assert f"无法写入输出文件夹 {folder}" in err and "Traceback" not in err


# ------------------------------------------------------------------------------------------------
# qyzj clean

ACTIVITIES = "序号,活动名称,活动时间,活动形式\n1,惠企政策宣讲会,2025-03-05,线下\n"


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "活动.csv").write_text(ACTIVITIES, encoding="utf-8-sig")
    return folder


@pytest.mark.parametrize("where", ["raw", "raw/processed"])
def test_clean_refuses_out_inside_raw(
    raw: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = raw.parent / where
    assert main(["clean", "--raw", str(raw), "--out", str(out)]) == 2
    assert "原始数据文件夹" in capsys.readouterr().err
    assert sorted(p.name for p in raw.rglob("*")) == ["活动.csv"]


def test_clean_refuses_out_that_is_a_file(raw: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = raw.parent / "processed"
    file.write_text("x")
    assert main(["clean", "--raw", str(raw), "--out", str(file)]) == 2
    assert "是一个文件" in capsys.readouterr().err


def test_clean_into_an_unwritable_folder_exits_3(
    raw: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = raw.parent / "processed"
    _deny_writes_in(monkeypatch, out)
    assert main(["clean", "--raw", str(raw), "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert f"无法写入输出文件夹 {out}" in err and "Traceback" not in err


# ------------------------------------------------------------------------------------------------
# qyzj report


def test_report_refuses_out_inside_raw_or_a_file(tmp_path: Path) -> None:
    raw = write_tiny_raw(tmp_path / "raw")
    file = tmp_path / "reports.txt"
    file.write_text("x")
    for out, says in (
        (raw, "原始数据文件夹"),
        (raw / "reports", "原始数据文件夹"),
        (file, "是一个文件"),
    ):
        code, err = report_main(["--quarter", QUARTER, "--raw", str(raw), "--out", str(out)])
        assert code == 2, err
        assert says in err
    assert sorted(p.name for p in raw.rglob("*")) == ["活动.csv"]


def test_report_refuses_a_raw_folder_it_would_replace(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    raw = write_tiny_raw(out / QUARTER / "raw")
    code, err = report_main(["--quarter", QUARTER, "--raw", str(raw), "--out", str(out)])
    assert code == 2, err
    assert "发布报告会替换该文件夹" in err
    assert (raw / "活动.csv").exists()


def test_report_into_an_unwritable_folder_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = write_tiny_raw(tmp_path / "raw")
    notebooks = copy_notebooks(tmp_path / "nb", ["10_ok"])
    out = tmp_path / "reports"
    out.mkdir()
    _deny_writes_in(monkeypatch, out)
    argv = ["--quarter", QUARTER, "--raw", str(raw), "--out", str(out)]
    code, err = report_main([*argv, "--notebooks", str(notebooks)])
    assert code == 3, err
    assert f"无法写入输出文件夹 {out}" in err and "Traceback" not in err
    assert list(out.iterdir()) == []
