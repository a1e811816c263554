"""A CJK font for matplotlib, so chart titles and labels in Chinese render without missing glyphs.

A CJK font already installed on the system is preferred; otherwise the Noto Sans CJK SC font
shipped by the PyPI package ``mplfonts`` (SIL Open Font License) is registered from its file.
Nothing is written anywhere (no ``mplfonts init``), and the SimHei.ttf that package also ships is
never used (its licence is unclear).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

SYSTEM_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Noto Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "PingFang SC",
)
BUNDLED_FILE = "NotoSansCJKsc-Regular.otf"
FALLBACK = "DejaVu Sans"  # Latin symbols the CJK font lacks


def find_bundled_font() -> Path | None:
    """Path of Noto Sans CJK SC inside the installed ``mplfonts`` package, if any.

    The package is located without importing it (its ``__init__`` pulls in more than needed).
    """
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "fonts" / BUNDLED_FILE
        if path.is_file():
            return path
    return None


def find_cjk_family() -> str | None:
    """The first CJK family of :data:`SYSTEM_FAMILIES` that matplotlib already knows."""
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in SYSTEM_FAMILIES if name in known), None)


def setup_fonts() -> str:
    """Make matplotlib draw Chinese text; returns the CJK font family now in use.

    Idempotent: the bundled font file is registered once; the rc settings are (re)applied on every
    call, so a call after ``rcdefaults()`` restores them. Sets ``axes.unicode_minus = False`` (the
    CJK font has no U+2212 minus sign).

    Raises:
        RuntimeError: no system CJK font and ``mplfonts`` is not installed.
    """
    import matplotlib as mpl
    from matplotlib import font_manager

    family = find_cjk_family()
    if family is None:
        path = find_bundled_font()
        if path is None:
            raise RuntimeError(
                "未找到中文字体：请安装 Noto Sans CJK SC（fonts-noto-cjk）或 PyPI 包 mplfonts"
            )
        font_manager.fontManager.addfont(str(path))
        family = font_manager.FontProperties(fname=str(path)).get_name()
    sans = [family, *(f for f in mpl.rcParams["font.sans-serif"] if f != family)]
    if FALLBACK not in sans:
        sans.append(FALLBACK)
    mpl.rcParams["font.family"] = ["sans-serif"]
    mpl.rcParams["font.sans-serif"] = sans
    mpl.rcParams["axes.unicode_minus"] = False
    # SVG text stays text (smaller, faster to write, searchable); viewers use their CJK font
    mpl.rcParams["svg.fonttype"] = "none"
    return family
