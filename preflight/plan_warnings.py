"""What the plan is valid for but a real account, order or date would still refuse.

Each check reads the synthesized plan (and the day it runs, for dated facts) and returns
warnings; `preflight plan` prints them after the policy report and puts them in its JSON
under "warnings". A check lives in its own module (importing PlanWarning from
preflight.plan, so that this module can import it) and is listed in CHECKS below.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from preflight.hidden_dependencies import hidden_dependencies
from preflight.plan import Plan, PlanWarning
from preflight.support_warnings import kubernetes_support_warnings

__all__ = ["CHECKS", "PlanWarning", "plan_warnings", "render_text"]

Check = Callable[[Plan, date], Sequence[PlanWarning]]

CHECKS: tuple[Check, ...] = (hidden_dependencies, kubernetes_support_warnings)


def plan_warnings(plan: Plan, today: date) -> list[PlanWarning]:
    return [warning for check in CHECKS for warning in check(plan, today)]


def render_text(warnings: Sequence[PlanWarning]) -> str:
    if not warnings:
        return "Warnings: none"
    lines = [f"Warnings: {len(warnings)}"]
    lines.extend(f"  [{w.check}] {w.message}" for w in warnings)
    return "\n".join(lines)
