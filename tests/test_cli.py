"""The qyzj command line: exit codes, messages, JSON shape, no heavy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from qyzj_analytics.cli import main

ACTIVITIES_CSV = """乐清市企业之家2025年活动台账,,,
序号,活动名称,活动时间,活动形式
1,“小微你好”走进柳市小微园,2025-03-05 14:30,线下
2,惠企政策直播,2025/3/6,线上
3,无年份活动,3月5日,线下
合计,,,
"""


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "活动.csv").write_text(ACTIVITIES_CSV, encoding="utf-8-sig")
    return folder


def test_kpi_json(raw: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kpi", "--raw", str(raw), "--as-of", "2025-06-30", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kpis"]["park_events"]["actual"] == 1
    assert data["kpis"]["policy_sessions"]["actual"] == 1
    assert data["quality"]["activities"] == {
        "rows_read": 4,
        "rows_kept": 2,
        "rows_rejected": 1,
        "duplicates": 0,
        "summary_rows": 1,
        "blank_rows": 0,
    }


def test_kpi_table_is_chinese(raw: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kpi", "--raw", str(raw), "--as-of", "2025-06-30"]) == 0
    out = capsys.readouterr().out
    assert "进小微园活动" in out and "基础分" in out and "档次" in out


def test_explain_lists_the_rows_behind_a_kpi(raw: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["kpi", "--raw", str(raw), "--as-of", "2025-06-30", "--explain", "park_events"]) == 0
    )
    out = capsys.readouterr().out
    assert "活动.csv" in out and "柳市小微园" in out
    header = out.splitlines()[1]  # the readers' own words, not the processed columns
    assert "活动名称" in header and "来源文件" in header and "标签" in header
    assert "title" not in header and "tag_park" not in header and "format_kind" not in header
    assert "00:00:00" not in out and "NaN" not in out


@pytest.mark.parametrize(
    "argv",
    [
        ["kpi", "--raw", "RAW", "--as-of", "2025-13-01"],
        ["kpi", "--raw", "RAW"],
        ["kpi", "--raw", "/nonexistent/dir", "--as-of", "2025-06-30"],
        ["kpi", "--raw", "RAW", "--as-of", "2025-06-30", "--explain", "no_such_kpi"],
        ["frobnicate"],
        ["report", "--quarter", "2025Q3", "--raw", "RAW", "--draws", "0"],
        ["forecast", "--raw", "RAW", "--as-of", "2025-06-30", "--draws", "-5"],
    ],
)
def test_bad_arguments_exit_2(raw: Path, argv: list[str]) -> None:
    argv = [str(raw) if a == "RAW" else a for a in argv]
    with pytest.raises(SystemExit) as exc:
        code = main(argv)
        raise SystemExit(code)
    assert exc.value.code == 2


def test_bad_data_exits_3_naming_the_file(raw: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (raw / "坏表.csv").write_text("甲,乙,丙\n1,2,3\n", encoding="utf-8")
    assert main(["kpi", "--raw", str(raw), "--as-of", "2025-06-30"]) == 3
    err = capsys.readouterr().err
    assert "坏表.csv" in err and "Traceback" not in err


def test_bad_config_exits_3(raw: Path, tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("contract: [\n", encoding="utf-8")
    assert main(["kpi", "--raw", str(raw), "--as-of", "2025-06-30", "--config", str(bad)]) == 3


def test_clean_writes_processed_layer(raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "processed"
    assert main(["clean", "--raw", str(raw), "--out", str(out)]) == 0
    assert (out / "activities.parquet").is_file()
    assert (out / "rejected.csv").is_file()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"][0]["sha256"]


def test_clean_and_kpi_do_not_import_plotting_or_jupyter(raw: Path, tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from qyzj_analytics.cli import main\n"
        f"assert main(['kpi', '--raw', {str(raw)!r}, '--as-of', '2025-06-30', '--json']) == 0\n"
        f"assert main(['clean', '--raw', {str(raw)!r}, '--out', {str(tmp_path / 'o')!r}]) == 0\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('matplotlib', 'seaborn', 'jupyter', 'jupyter_client', 'nbformat', 'papermill', 'IPython')]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_datetime_cell_on_the_as_of_day_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "服务.csv").write_text(
        "企业名称,服务日期,服务类型\n甲公司,2025-06-30 09:30,政策咨询\n乙公司,2025-07-01 08:00,融资\n",
        encoding="gbk",
    )
    assert main(["kpi", "--raw", str(raw), "--as-of", "2025-06-30", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kpis"]["enterprises_served"]["actual"] == 1


# --- the as-of date and the contract period (issue 9 items 1 and 5) ---------------------------


@pytest.fixture(scope="module")
def sample_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from qyzj_analytics.sample.generate import write_sample

    folder = tmp_path_factory.mktemp("sample") / "raw"
    write_sample(folder, seed=2025)
    return folder


def kpi_json(raw: Path, as_of: str, capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["kpi", "--raw", str(raw), "--as-of", as_of, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_an_as_of_after_the_period_is_the_year_end(
    sample_raw: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    late = kpi_json(sample_raw, "2026-03-31", capsys)
    year_end = kpi_json(sample_raw, "2025-12-31", capsys)
    assert (late["as_of"], late["as_of_requested"]) == ("2025-12-31", "2026-03-31")
    assert year_end["as_of_requested"] == year_end["as_of"] == "2025-12-31"
    note = late["notes"][0]
    assert "2026-03-31" in note and "2025-12-31" in note
    assert note not in year_end["notes"]
    for key in ("kpis", "score", "payment", "quality"):
        assert late[key] == year_end[key], key
    assert main(["kpi", "--raw", str(sample_raw), "--as-of", "2026/3/31"]) == 0
    assert note in capsys.readouterr().out


def test_forecast_after_the_period_says_it_used_the_period_end(
    raw: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["forecast", "--raw", str(raw), "--as-of", "9999-12-31", "--draws", "50"]
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["as_of"], data["as_of_requested"]) == ("2025-12-31", "9999-12-31")
    assert "9999-12-31" in data["notes"][0]
    assert main(argv) == 0
    assert data["notes"][0] in capsys.readouterr().out


@pytest.mark.parametrize("command", ["kpi", "forecast"])
@pytest.mark.parametrize("as_of", ["1900-01-01", "2024-12-31"])
def test_an_as_of_before_the_period_exits_2(
    raw: Path, command: str, as_of: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--raw", str(raw), "--as-of", as_of]) == 2
    err = capsys.readouterr().err
    assert as_of in err and "2025-01-01" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "text", ["2025-09-30", "2025/09/30", "2025/9/30", "2025年9月30日", "２０２５年９月３０日"]
)
def test_as_of_accepts_the_ways_dates_are_typed(
    raw: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert kpi_json(raw, text, capsys)["as_of"] == "2025-09-30"


@pytest.mark.parametrize(
    "text", ["2025-09-30 10:00", "2025-09-30~2025-10-01", "45930", "9月30日", "2025-02-30", ""]
)
def test_as_of_must_be_a_whole_real_date(
    raw: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["kpi", "--raw", str(raw), "--as-of", text])
    assert exc.value.code == 2
    assert "--as-of" in capsys.readouterr().err


def test_far_dates_in_exports_and_facts_count_nowhere(
    raw: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (raw / "活动.csv").open("a", encoding="utf-8") as f:
        f.write("4,政策宣讲会远期,9999-12-31,线下\n5,政策宣讲会早期,1900-01-01,线下\n")
    (raw / "facts.yaml").write_text(
        "awards:\n  - {level: national, name: 远期, date: 9999-12-31}\n"
        "  - {level: national, name: 早期, date: 1900-01-01}\n",
        encoding="utf-8",
    )
    data = kpi_json(raw, "2025-12-31", capsys)
    assert data["kpis"]["policy_sessions"]["actual"] == 1
    assert data["score"]["bonus"] == 0
    assert main(["forecast", "--raw", str(raw), "--as-of", "2025-06-30", "--draws", "50"]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_explain_after_the_period_says_which_date_it_used(
    raw: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["kpi", "--raw", str(raw), "--as-of", "2026-01-15", "--explain", "park_events"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "2026-01-15" in out and "2025-12-31" in out and "柳市小微园" in out


def test_a_reader_that_leaves_early_gets_no_traceback(raw: Path) -> None:
    """`qyzj kpi --json | head -c 20`: the pipe closes before the output is written."""
    code = "import sys; from qyzj_analytics.cli import main; sys.exit(main(sys.argv[1:]))"
    writer = subprocess.Popen(
        [sys.executable, "-c", code, "kpi", "--raw", str(raw), "--as-of", "2025-06-30", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert writer.stdout is not None and writer.stderr is not None
    writer.stdout.close()  # the reader is gone before the first byte
    stderr = writer.stderr.read().decode("utf-8", "replace")
    assert writer.wait(timeout=60) == 1
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr


def test_console_command_ends_a_report_run_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """`qyzj report` flushes and ends with os._exit (no interpreter teardown, issue 16); the
    other commands exit normally, and main() itself never exits (tests and notebooks call it)."""
    import qyzj_analytics.cli as cli

    ended: list[int] = []

    class Ended(Exception):
        pass

    def fake_exit(code: int) -> None:
        ended.append(code)
        raise Ended

    monkeypatch.setattr(cli, "main", lambda argv: 4)
    monkeypatch.setattr(cli.os, "_exit", fake_exit)
    monkeypatch.setattr(sys, "argv", ["qyzj", "report", "--quarter", "2025Q3"])
    with pytest.raises(Ended):
        cli.run()
    assert ended == [4]
    # kpi and forecast end at once too (issue 16: ≈ 0.1 s of teardown for a printed result)
    for command in ("kpi", "forecast"):
        monkeypatch.setattr(sys, "argv", ["qyzj", command, "--raw", "x"])
        with pytest.raises(Ended):
            cli.run()
    assert ended == [4, 4, 4]
    monkeypatch.setattr(sys, "argv", ["qyzj", "sample", "x"])  # not a QUICK_EXIT command
    with pytest.raises(SystemExit) as exit_:
        cli.run()
    assert exit_.value.code == 4 and ended == [4, 4, 4]


def test_quick_exit_fails_when_stdout_cannot_take_the_output(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stdout whose last flush fails ends with 120, as the interpreter's own flush would; a
    failure main() already reported keeps its code."""
    import qyzj_analytics.cli as cli

    class Full:
        def flush(self) -> None:
            raise OSError(28, "No space left on device")

    ended: list[int] = []

    class Ended(Exception):
        pass

    def fake_exit(code: int) -> None:
        ended.append(code)
        raise Ended

    monkeypatch.setattr(cli.os, "_exit", fake_exit)
    monkeypatch.setattr(sys, "argv", ["qyzj", "kpi", "--raw", "x"])
    for code in (0, 3):
        monkeypatch.setattr(cli, "main", lambda argv, code=code: code)
        monkeypatch.setattr(sys, "stdout", Full())
        with pytest.raises(Ended):
            cli.run()
    assert ended == [120, 3]


def test_console_command_prints_all_of_a_quick_exit_forecast(
    sample_raw: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m qyzj_analytics.cli forecast --json` into a pipe (run(), os._exit): the whole
    JSON arrives, the same as main() prints."""
    argv = ["forecast", "--raw", str(sample_raw), "--as-of", "2025-09-30", "--json"]
    argv += ["--draws", "2000"]
    done = subprocess.run(
        [sys.executable, "-m", "qyzj_analytics.cli", *argv], capture_output=True, check=True
    )
    assert main(argv) == 0
    assert done.stdout.decode("utf-8").replace("\r\n", "\n") == capsys.readouterr().out
    printed = json.loads(done.stdout.decode("utf-8"))
    assert printed["draws"] == 2000 and printed["plan"] is not None
