"""The contract terms the report states in words (grades, pace ratio, minimums, money rules).

A JSON-safe snapshot of the loaded :class:`~qyzj_analytics.contract.model.Contract`, so the
metrics cache carries the very terms its numbers were computed with.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from qyzj_analytics.contract.model import Advance, Contract, Grade


@dataclass(frozen=True)
class ContractTerms:
    """What the narrative states about the contract, all read from the contract config."""

    grades: tuple[Grade, ...]  # highest first
    at_risk_ratio: float
    livestream_min_per_month: int
    full_score: float  # Σ KPI weights: the base score of a year with every target met
    total: Decimal
    advances: tuple[Advance, ...]
    subsidy_rule: dict[str, str]  # grade id → full / proportional / deduct
    unqualified_deduction: Decimal

    @classmethod
    def of(cls, contract: Contract) -> ContractTerms:
        """The terms of ``contract``."""
        return cls(
            grades=tuple(contract.grades),
            at_risk_ratio=float(contract.at_risk_ratio),
            livestream_min_per_month=int(contract.livestream_min_per_month),
            full_score=contract.full_score,
            total=contract.total,
            advances=tuple(contract.advances),
            subsidy_rule=dict(contract.subsidy_rule),
            unqualified_deduction=contract.unqualified_deduction,
        )

    @property
    def advances_total(self) -> Decimal:
        """The sum of the advance payments."""
        return sum((a.amount for a in self.advances), Decimal(0))

    def to_json(self) -> dict[str, Any]:
        """The terms as JSON-safe values (dates ISO, amounts as decimal strings)."""
        return {
            "grades": [dataclasses.asdict(g) for g in self.grades],
            "at_risk_ratio": self.at_risk_ratio,
            "livestream_min_per_month": self.livestream_min_per_month,
            "full_score": self.full_score,
            "total": str(self.total),
            "advances": [
                {"quarter": a.quarter, "due": a.due.isoformat(), "amount": str(a.amount)}
                for a in self.advances
            ],
            "subsidy_rule": dict(self.subsidy_rule),
            "unqualified_deduction": str(self.unqualified_deduction),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContractTerms:
        """Rebuild what :meth:`to_json` wrote."""
        return cls(
            grades=tuple(Grade(**g) for g in data["grades"]),
            at_risk_ratio=float(data["at_risk_ratio"]),
            livestream_min_per_month=int(data["livestream_min_per_month"]),
            full_score=float(data["full_score"]),
            total=Decimal(data["total"]),
            advances=tuple(
                Advance(a["quarter"], dt.date.fromisoformat(a["due"]), Decimal(a["amount"]))
                for a in data["advances"]
            ),
            subsidy_rule={str(k): str(v) for k, v in data["subsidy_rule"].items()},
            unqualified_deduction=Decimal(data["unqualified_deduction"]),
        )
