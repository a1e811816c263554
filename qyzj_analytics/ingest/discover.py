"""What a raw folder is: which files are exports, which is the facts file, whether it is sample data."""

from __future__ import annotations

from pathlib import Path

SAMPLE_MARKER = ".qyzj-sample"  # written by `qyzj sample`: the report then carries a sample banner


def is_sample_folder(raw_dir: Path) -> bool:
    """True when ``raw_dir`` was written by ``qyzj sample`` (it holds the marker file)."""
    return (raw_dir / SAMPLE_MARKER).exists()
