"""YAML loading that cannot be made to blow up: no aliases, bounded file size.

``facts.yaml``, ``columns.yaml`` and the contract never need anchors or aliases; refusing them
makes an alias bomb ("billion laughs") fail at once with a clear message instead of eating
gigabytes. Files larger than :data:`MAX_YAML_BYTES` are refused before they are read.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

MAX_YAML_BYTES = 1 << 20  # a hand-kept config file is a few KiB; 1 MiB is far beyond any real one


class YamlRefused(ValueError):
    """A YAML file or document this project refuses to load (alias, oversize)."""


class NoAliasLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses aliases (``*name``), so nothing can be expanded."""

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        """Compose as usual, but stop at the first alias with its line."""
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            line = event.start_mark.line + 1 if event.start_mark else None
            at = f"第 {line} 行" if line else "文件中"
            raise YamlRefused(
                f"{at}使用了 YAML 别名（*{event.anchor}）；本文件不支持锚点/别名，请直接写出取值"
            )
        return super().compose_node(parent, index)  # type: ignore[no-untyped-call]


@cache
def _c_twin(loader: type[NoAliasLoader]) -> type | None:
    """``loader`` with libyaml's parser and composer (about 5× faster), if PyYAML has libyaml.

    The twin keeps ``loader``'s constructor and resolver (dates as text, repeated keys refused)
    but composes in C, so :meth:`NoAliasLoader.compose_node` is not called: use it only on text
    that cannot hold an alias (:func:`load_text`).
    """
    if not getattr(yaml, "__with_libyaml__", False):
        return None

    def __init__(self: Any, stream: str) -> None:  # as yaml.CSafeLoader does
        yaml.cyaml.CParser.__init__(self, stream)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)

    return type(f"C{loader.__name__}", (yaml.cyaml.CParser, loader), {"__init__": __init__})


def load_text(text: str, loader: type[NoAliasLoader] = NoAliasLoader) -> Any:
    """Parse ``text`` with ``loader``, in C when the text cannot hold an alias.

    An alias needs a ``*``: text without one is parsed by the libyaml twin of ``loader`` (same
    values, same errors for everything but aliases); text with one goes through ``loader``
    itself, which refuses the alias naming its line.

    >>> load_text("a: 1")
    {'a': 1}
    """
    twin = _c_twin(loader) if "*" not in text else None
    return yaml.load(text, Loader=twin or loader)  # a SafeLoader (or its twin): safe


def read_yaml_text(path: Path, limit: int = MAX_YAML_BYTES) -> str:
    """The text of a YAML file (UTF-8, BOM allowed), refused when larger than ``limit`` bytes.

    Raises:
        YamlRefused: the file is too large.
        OSError, UnicodeDecodeError: unreadable or not UTF-8 (callers report these).
    """
    size = path.stat().st_size
    if size > limit:
        raise YamlRefused(f"文件过大（{size:,} 字节，上限 {limit:,} 字节），不像手工维护的配置文件")
    return path.read_text(encoding="utf-8-sig")
