"""The YAML loader: libyaml when the text cannot hold an alias, the same values as pure Python."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from qyzj_analytics.contract.validate import TextDateLoader, load_yaml
from qyzj_analytics.yamlsafe import NoAliasLoader, YamlRefused, _c_twin, load_text

CONTRACT = Path(__file__).resolve().parents[1] / "qyzj_analytics" / "contract" / "2025.yaml"


def test_contract_reads_the_same_in_c_and_python() -> None:
    text = CONTRACT.read_text(encoding="utf-8")
    assert "*" not in text  # else this test would not reach the C path
    assert _c_twin(TextDateLoader) is not None  # PyYAML here is built with libyaml
    assert load_yaml(text) == yaml.load(text, Loader=TextDateLoader)


def test_dates_stay_text_on_the_c_path() -> None:
    assert load_yaml("d: 2025-02-30\nx: [1, 2.5, null, yes, '0012']") == {
        "d": "2025-02-30",
        "x": [1, 2.5, None, True, "0012"],
    }


def test_an_alias_is_refused_naming_its_line() -> None:
    with pytest.raises(YamlRefused, match=r"第 3 行.*别名"):
        load_text("a: &x [1, 2]\nb: 1\nc: *x\n", NoAliasLoader)


def test_an_anchor_without_alias_is_read() -> None:
    assert load_text("a: &x 1\nb: 2\n") == {"a": 1, "b": 2}


def test_bad_yaml_is_a_yaml_error_on_both_paths() -> None:
    for text in ("a: [1, 2\n", "a: [1, 2  # *\n"):
        with pytest.raises(yaml.YAMLError):
            load_text(text)
