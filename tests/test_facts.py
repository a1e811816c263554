"""The hand-kept facts.yaml (DESIGN "facts.yaml")."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from qyzj_analytics.errors import DataError
from qyzj_analytics.ingest.facts import Award, Facts, load_facts

LEVELS = {"national", "provincial", "municipal"}

GOOD = """\
office_area_m2: 120
service_stations_built: 4
annual_plan_filed: true
awards:
  - {level: provincial, name: 省级优秀中小企业公共服务平台, date: 2025-11-20}
  - {level: municipal, name: 市级荣誉, date: "2025年6月1日"}
"""


def write(tmp_path: Path, text: str) -> Path:
    """``text`` as ``facts.yaml`` in ``tmp_path``."""
    path = tmp_path / "facts.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> DataError:
    """The error loading ``text``."""
    with pytest.raises(DataError) as info:
        load_facts(write(tmp_path, text), LEVELS, "raw/facts.yaml")
    assert info.value.exit_code == 3
    assert "raw/facts.yaml" in str(info.value)
    return info.value


def test_design_example_loads(tmp_path: Path) -> None:
    facts = load_facts(write(tmp_path, GOOD), LEVELS)
    assert facts == Facts(
        office_area_m2=120.0,
        service_stations_built=4,
        annual_plan_filed=True,
        awards=(
            Award("provincial", "省级优秀中小企业公共服务平台", dt.date(2025, 11, 20)),
            Award("municipal", "市级荣誉", dt.date(2025, 6, 1)),
        ),
    )


def test_no_file_gives_empty_facts() -> None:
    assert load_facts(None, LEVELS) == Facts()


def test_empty_file_gives_empty_facts(tmp_path: Path) -> None:
    assert load_facts(write(tmp_path, "# nothing yet\n"), LEVELS) == Facts()


def test_yaml_syntax_error_names_the_file(tmp_path: Path) -> None:
    error = load_error(tmp_path, "office_area_m2: 120\nawards: [\n  - {level: national\n")
    assert "YAML" in str(error)


def test_unknown_key_names_the_key(tmp_path: Path) -> None:
    error = load_error(tmp_path, "office_area_m2: 120\noffice_area: 90\n")
    assert "office_area" in str(error)
    assert error.location.column == "office_area"


def test_unknown_award_level_names_the_entry(tmp_path: Path) -> None:
    text = "awards:\n  - {level: provincial, name: a, date: 2025-01-01}\n"
    text += "  - {level: county, name: b, date: 2025-02-01}\n"
    error = load_error(tmp_path, text)
    assert "county" in str(error)
    assert "awards[2]" in str(error)


def test_unknown_award_key_names_the_entry(tmp_path: Path) -> None:
    error = load_error(tmp_path, "awards:\n  - {level: national, name: a, day: 2025-01-01}\n")
    assert "awards[1]" in str(error) and "day" in str(error)


@pytest.mark.parametrize("date", ["", "3月5日", "someday"])
def test_award_without_a_readable_date_is_an_error(tmp_path: Path, date: str) -> None:
    text = f"awards:\n  - {{level: national, name: a, date: '{date}'}}\n"
    assert "awards[1]" in str(load_error(tmp_path, text))


@pytest.mark.parametrize(
    "text",
    [
        "- office_area_m2: 120\n",  # a list, not a mapping
        "awards: {level: national}\n",  # not a list
        "awards:\n  - national\n",  # an entry that is not a mapping
        "office_area_m2: lots\n",
        "office_area_m2: -5\n",
        "service_stations_built: 2.5\n",
    ],
)
def test_malformed_values_are_errors(tmp_path: Path, text: str) -> None:
    load_error(tmp_path, text)


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("false", False), ("否", False)])
def test_annual_plan_filed_reads_yes_and_no(tmp_path: Path, value: str, expected: bool) -> None:
    facts = load_facts(write(tmp_path, f"annual_plan_filed: {value}\n"), LEVELS)
    assert facts.annual_plan_filed is expected


@pytest.mark.parametrize("date", ["2025-02-30", "!!timestamp 2025-02-30"])
def test_an_impossible_date_names_the_entry(tmp_path: Path, date: str) -> None:
    # unquoted, PyYAML itself raises ValueError on these (not YAMLError)
    text = "awards:\n  - {level: national, name: a, date: 2025-01-05}\n"
    text += f"  - {{level: national, name: b, date: {date}}}\n"
    error = load_error(tmp_path, text)
    assert "2025-02-30" in str(error) or "YAML" in str(error)
    if not date.startswith("!!"):
        assert "awards[2]" in str(error)


def test_far_dates_load_and_are_dated(tmp_path: Path) -> None:
    text = "awards:\n  - {level: national, name: a, date: 9999-12-31}\n"
    text += "  - {level: national, name: b, date: 1900-01-01 08:00}\n"
    facts = load_facts(write(tmp_path, text), LEVELS)
    assert [a.date for a in facts.awards] == [dt.date(9999, 12, 31), dt.date(1900, 1, 1)]
