"""Raw folder → processed tables + facts, the step every command starts with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.errors import DataError, Location
from qyzj_analytics.ingest.clean import clean_exports
from qyzj_analytics.ingest.facts import Facts, load_facts
from qyzj_analytics.ingest.processed import CleanResult
from qyzj_analytics.ingest.quality import summarize_quality
from qyzj_analytics.ingest.read import read_raw_dir


@dataclass(frozen=True)
class Prepared:
    """Cleaned exports and facts of one raw folder."""

    raw_dir: Path
    clean: CleanResult
    facts: Facts

    @property
    def quality(self) -> dict[str, dict[str, int]]:
        """Per-table row counts (DESIGN's ``quality``)."""
        return summarize_quality(self.clean)


def prepare(raw_dir: Path, contract: Contract) -> Prepared:
    """Read, clean and dedupe every export in ``raw_dir`` and load its ``facts.yaml``.

    Raises:
        DataError: any file could not be used (all such problems in one message) or a bad
            ``facts.yaml``.
    """
    if not raw_dir.is_dir():
        raise DataError(f"原始数据文件夹不存在: {raw_dir}", Location(str(raw_dir)))
    exports = read_raw_dir(raw_dir)
    if exports.errors:
        if len(exports.errors) == 1:
            raise exports.errors[0]
        raise DataError(
            f"{len(exports.errors)} 个文件无法使用:\n  " + "\n  ".join(map(str, exports.errors))
        )
    facts = load_facts(
        exports.facts_path,
        set(contract.award_points),
        exports.facts_path.relative_to(raw_dir).as_posix() if exports.facts_path else None,
    )
    result = clean_exports(exports, contract.closed_statuses)
    return Prepared(raw_dir, result, facts)
