"""The sample's truth: the true year-end KPI actuals from the clean records (a test oracle).

The rules follow DESIGN "KPI semantics" but are written here independently of the library's
``scoring`` code, so the tests can compare the two.
"""

from __future__ import annotations

import calendar
import datetime as dt
import unicodedata
from dataclasses import dataclass

from qyzj_analytics.contract.model import Contract
from qyzj_analytics.sample.records import YearRecords


@dataclass(frozen=True)
class SampleTruth:
    """What the generator knows about the year it wrote.

    Attributes:
        year_end: KPI id → true actual at the contract's period end (DESIGN "KPI semantics"), computed
            from the generator's clean records before any mess was applied.
        quality: table → the counts a correct cleaner reports (``rows_read``, ``rows_kept``,
            ``rows_rejected``, ``duplicates``, ``summary_rows``, ``blank_rows``).
        out_of_period: table → kept rows dated outside the period (counted by no KPI).
        bad_check_digits: services rows whose credit code fails its check digit (kept, flagged).
        unknown_format: titles of activities whose format cannot be told (counted nowhere).
        files: every file written, relative to the folder.
        ignored: the files a reader must ignore (lock file, hidden file, text file).
        personal_values: every person name, phone number, ID number and appeal text written.
        seed: the seed.
    """

    year_end: dict[str, float]
    quality: dict[str, dict[str, int]]
    out_of_period: dict[str, int]
    bad_check_digits: int
    unknown_format: tuple[str, ...]
    files: tuple[str, ...]
    ignored: tuple[str, ...]
    personal_values: tuple[str, ...]
    seed: int


def _norm(text: str | None) -> str:
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    for ch in "\u200b\u200c\u200d\u2060\ufeff\u00ad“”\"'「」‘’『』":
        text = text.replace(ch, "")
    return text.strip()


def classify_activity_format(fmt: str, title: str, contract: Contract) -> str:
    """offline, online, hybrid or unknown: the format column, or the title when it is empty."""
    text = _norm(fmt) or _norm(title)
    off = any(w in text for w in contract.format_keywords["offline"])
    on = any(w in text for w in contract.format_keywords["online"])
    return "hybrid" if off and on else "offline" if off else "online" if on else "unknown"


def find_activity_tags(category: str, title: str, contract: Contract) -> set[str]:
    """The tags whose keywords occur in the category or the title."""
    texts = (_norm(category), _norm(title))
    return {
        tag
        for tag, words in contract.tag_keywords.items()
        if any(w in t for w in words for t in texts)
    }


def list_elapsed_week_starts(contract: Contract, as_of: dt.date) -> list[dt.date]:
    """Mondays of the weeks that intersect the period and end (Sunday) on or before ``as_of``."""
    start, end = contract.period_start, contract.period_end
    monday = start - dt.timedelta(days=start.weekday())
    out = []
    while monday <= end and monday + dt.timedelta(days=6) <= as_of:
        out.append(monday)
        monday += dt.timedelta(days=7)
    return out


def list_elapsed_months(contract: Contract, as_of: dt.date) -> list[tuple[int, int]]:
    """(year, month) of the months of the period that end on or before ``as_of``."""
    year, month = contract.period_start.year, contract.period_start.month
    out = []
    while (year, month) <= (contract.period_end.year, contract.period_end.month):
        if dt.date(year, month, calendar.monthrange(year, month)[1]) <= as_of:
            out.append((year, month))
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
    return out


def compute_year_end(records: YearRecords, contract: Contract) -> dict[str, float]:
    """KPI id → true actual at the period end, from the clean records only."""
    start, end = contract.period_start, contract.period_end
    as_of = end

    def counts(d: dt.date | None) -> bool:
        return d is not None and start <= d <= min(end, as_of)

    acts = [a for a in records.activities if counts(a.date)]
    kinds = [classify_activity_format(a.fmt, a.title, contract) for a in acts]
    tags = [find_activity_tags(a.category, a.title, contract) for a in acts]
    offline = [k in ("offline", "hybrid") for k in kinds]
    online_months: dict[tuple[int, int], int] = {}
    for a, k in zip(acts, kinds, strict=True):
        if k in ("online", "hybrid"):
            month = (a.date.year, a.date.month)
            online_months[month] = online_months.get(month, 0) + 1
    months_elapsed = list_elapsed_months(contract, as_of)

    accepted = [
        a
        for a in records.appeals
        if counts(a.received.date()) and a.status not in contract.not_accepted_statuses
    ]
    closed = [
        a
        for a in accepted
        if a.status in contract.closed_statuses and (a.closed is None or a.closed.date() <= as_of)
    ]
    weeks = list_elapsed_week_starts(contract, as_of)
    covered = {
        p.date - dt.timedelta(days=p.date.weekday()) for p in records.publications if counts(p.date)
    }

    def qualified(edu: str, title: str) -> bool:
        return any(w in edu for w in contract.qualified_education) or any(
            w in title for w in contract.qualified_title
        )

    yes = {"是", "y", "yes", "√", "✓", "1", "true"}
    staff = records.staff
    return {
        "enterprises_served": float(
            sum(counts(s.date) for s in records.services + records.services_out)
        ),
        "offline_events": float(sum(offline)),
        "alliance_events": float(
            sum(o and "alliance" in t for o, t in zip(offline, tags, strict=True))
        ),
        "park_events": float(sum(o and "park" in t for o, t in zip(offline, tags, strict=True))),
        "xiaowei_nihao_events": float(
            sum(o and "xiaowei_nihao" in t for o, t in zip(offline, tags, strict=True))
        ),
        "livestream_months": float(
            sum(
                online_months.get(m, 0) >= contract.livestream_min_per_month for m in months_elapsed
            )
        ),
        "mingshi_courses": float(sum(counts(c[2]) for c in records.courses)),
        "appeal_resolution_rate": len(closed) / len(accepted) if accepted else 1.0,
        "policy_sessions": float(
            sum(k != "unknown" and "policy" in t for k, t in zip(kinds, tags, strict=True))
        ),
        "info_weekly_coverage": sum(w in covered for w in weeks) / len(weeks),
        "institutions_active": float(
            sum(
                status not in contract.inactive_statuses and (joined is None or joined <= as_of)
                for _, joined, status, _ in records.institutions
            )
        ),
        "experts_recruited": float(
            sum(appointed is None or appointed <= as_of for _, appointed, _, _ in records.experts)
        ),
        "staff_fulltime_ops": float(sum(s[2].casefold() in yes for s in staff)),
        "staff_total": float(len(staff)),
        "staff_qualified_share": sum(qualified(s[3], s[4]) for s in staff) / len(staff),
    }
