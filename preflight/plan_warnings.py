"""What the plan is valid for but a real account, order or date would still refuse.

Each check reads the synthesized plan (and the day it runs, for dated facts) and returns
warnings; `preflight plan` prints them after the policy report and puts them in its JSON
under "warnings". A check lives in its own module and is listed in CHECKS below.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from preflight.plan import Plan


@dataclass(frozen=True)
class PlanWarning:
    check: str  # a short, stable name: "kubernetes-support", "hidden-dependency", ...
    message: str  # one line a user can act on
    urn: str | None = None  # the resource it is about, when there is one

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "message": self.message, "urn": self.urn}


Check = Callable[[Plan, date], Sequence[PlanWarning]]

CHECKS: tuple[Check, ...] = ()


def plan_warnings(plan: Plan, today: date) -> list[PlanWarning]:
    return [warning for check in CHECKS for warning in check(plan, today)]


def render_text(warnings: Sequence[PlanWarning]) -> str:
    if not warnings:
        return "Warnings: none"
    lines = [f"Warnings: {len(warnings)}"]
    lines.extend(f"  [{w.check}] {w.message}" for w in warnings)
    return "\n".join(lines)
