"""The planning file: the operator's maximum and effort weight per lever (not contract terms).

The bundled ``planning.yaml`` holds the defaults; ``--planning FILE`` overrides any of its keys.
Loaded with the project's alias-refusing, size-capped YAML loader; a bad file stops with a
Chinese message naming the file and the key (exit code 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from qyzj_analytics.contract.model import read_config_text
from qyzj_analytics.errors import ConfigError
from qyzj_analytics.yamlsafe import NoAliasLoader, YamlRefused

BUNDLED = "forecast/planning.yaml"
# every section and the keys it may hold: (key, kind) with kind "weight" (> 0) or "count" (≥ 0)
SECTIONS: dict[str, dict[str, str]] = {
    "events": {"max_per_week": "count", "weight": "weight"},
    "livestreams": {"max_per_month": "count", "weight": "weight"},
    "enterprises_served": {"max_per_week": "count", "weight": "weight", "weight_per": "weight"},
    "experts": {"max": "count", "weight": "weight"},
    "institutions": {"max": "count", "weight": "weight"},
    "staff": {"max": "count", "weight": "weight"},
    "appeals": {"max": "count", "weight": "weight"},
    "publications": {"weight": "weight"},
}


@dataclass(frozen=True)
class Planning:
    """Per-lever settings: ``settings[section][key]`` (numbers), and the file they came from."""

    settings: dict[str, dict[str, float]]
    source: str

    def get(self, section: str, key: str) -> float | None:
        """One setting, None when neither the file nor the defaults set it."""
        return self.settings.get(section, {}).get(key)


def _parse(text: str, source: str) -> dict[str, dict[str, float]]:
    """Validated settings of one planning file's text."""

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"规划文件 {source} 的 {key}: {message}")

    try:
        raw = yaml.load(text, Loader=NoAliasLoader)  # a SafeLoader subclass: safe
    except YamlRefused as exc:
        raise ConfigError(f"规划文件 {source}: {exc}") from None
    except (yaml.YAMLError, ValueError) as exc:
        where = str(exc).replace('"<unicode string>"', source)
        raise ConfigError(f"规划文件 {source} 不是有效的 YAML: {where}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"规划文件 {source} 的顶层应为键值对（{'、'.join(SECTIONS)}）")
    out: dict[str, dict[str, float]] = {}
    for section, body in raw.items():
        if section not in SECTIONS:
            raise fail(str(section), f"未知的措施；可选: {', '.join(SECTIONS)}")
        if not isinstance(body, dict):
            raise fail(str(section), f"应写成键值对（{'、'.join(SECTIONS[section])}）")
        out[section] = {}
        for key, value in body.items():
            kind = SECTIONS[section].get(str(key))
            where = f"{section}.{key}"
            if kind is None:
                raise fail(where, f"未知的键；可选: {', '.join(SECTIONS[section])}")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise fail(where, f"应为数字，实际为 {value!r}")
            if kind == "weight" and not value > 0:
                raise fail(where, f"权重应为正数，实际为 {value!r}")
            if kind == "count" and (value < 0 or value != int(value)):
                raise fail(where, f"上限应为不小于 0 的整数，实际为 {value!r}")
            out[section][str(key)] = float(value)
    return out


def load_planning(path: Path | str | None = None) -> Planning:
    """The bundled planning defaults, overridden by the file at ``path`` when given.

    Raises:
        ConfigError: the file is unreadable, not YAML, or a key or value is not allowed.
    """
    ref = resources.files("qyzj_analytics.forecast") / "planning.yaml"
    settings = _parse(ref.read_text(encoding="utf-8"), BUNDLED)
    if path is None:
        return Planning(settings, BUNDLED)
    source = str(path)
    text = read_config_text(path, "规划文件")
    for section, body in _parse(text, source).items():
        settings[section] = {**settings.get(section, {}), **body}
    return Planning(settings, source)
