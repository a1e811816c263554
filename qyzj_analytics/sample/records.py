"""The clean records of the sample year, before any mess: what the exports are written from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qyzj_analytics.sample.identities import draw_people

SERVICE_TYPES = (
    "政策咨询",
    "融资对接",
    "人才招聘",
    "法律咨询",
    "知识产权",
    "数字化改造",
    "财税辅导",
    "项目申报",
    "检验检测",
    "管理咨询",
)
SERVICE_REMARKS = ("", "", "", "", "", "电话回访", "上门走访", "线上办理", "已解决", "持续跟进")


@dataclass
class Person:
    """A made-up person."""

    name: str
    phone: str
    id_number: str


@dataclass
class Activity:
    """One activity of the ledger (``fmt`` is the format column as typed)."""

    title: str
    date: dt.date
    fmt: str
    category: str
    location: str
    enterprises: int
    participants: int
    contact: Person
    remark: str = ""


@dataclass
class Enterprise:
    """An enterprise served, with its contact."""

    name: str
    code: str
    above_scale: bool
    contact: Person


@dataclass
class Service:
    """One service to an enterprise and the cosmetic mess its row gets."""

    enterprise: Enterprise
    date: dt.date
    service_type: str
    remark: str
    time: dt.time | None = None
    code_mess: str = ""  # "", lower, spaces, bad_check, missing
    name_missing: bool = False


@dataclass
class Appeal:
    """One appeal (诉求) and how it was handled."""

    appeal_id: str
    enterprise: str
    received: dt.datetime
    text: str
    contact: Person
    status: str
    closed: dt.datetime | None


@dataclass
class Publication:
    """One publication (信息发布)."""

    date: dt.date
    title: str
    channel: str


@dataclass
class YearRecords:
    """The clean records the exports are written from, for the period ``start`` … ``end``."""

    start: dt.date
    end: dt.date
    activities: list[Activity] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)  # in period
    services_out: list[Service] = field(default_factory=list)  # the months just before and after
    appeals: list[Appeal] = field(default_factory=list)
    publications: list[Publication] = field(default_factory=list)
    institutions: list[tuple[str, dt.date | None, str, Person]] = field(default_factory=list)
    experts: list[tuple[str, dt.date | None, str, Person]] = field(default_factory=list)
    courses: list[tuple[str, str, dt.date | None]] = field(default_factory=list)
    staff: list[tuple[Person, str, str, str, str]] = field(default_factory=list)
    personal: list[str] = field(default_factory=list)

    @property
    def year(self) -> int:
        """The calendar year of the period."""
        return self.start.year


class People:
    """Hands out made-up people one at a time and remembers everything personal written."""

    def __init__(self, rng: np.random.Generator, n: int, personal: list[str]) -> None:
        self._names, self._phones, self._ids = draw_people(rng, n)
        self._next = 0
        self._personal = personal

    def take(self) -> Person:
        """The next person (never handed out twice)."""
        person = Person(
            str(self._names[self._next]),
            str(self._phones[self._next]),
            str(self._ids[self._next]),
        )
        self._next += 1
        self._personal.extend((person.name, person.phone, person.id_number))
        return person


def list_weekdays(year: int, month: int) -> list[dt.date]:
    """The weekdays (Monday to Friday) of ``month`` of ``year``.

    >>> [d.day for d in list_weekdays(2025, 2)][:5]
    [3, 4, 5, 6, 7]
    """
    day = dt.date(year, month, 1)
    out = []
    while day.month == month:
        if day.weekday() < 5:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def pick(rng: np.random.Generator, items: Sequence[Any]) -> Any:
    """One item drawn uniformly (one ``rng.integers`` draw)."""
    return items[int(rng.integers(0, len(items)))]
