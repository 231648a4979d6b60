"""What the shipped stacks cost a month, idle and at peak, as `preflight cost` prices their plans.

Prints dev and prod: idle (every pool at its minimum) and peak (every pool at its maximum), per target and in
total, from the dated price table, and how far OpenCost's per-unit prices land from the machines' own (the worst
on demand and on spot: docs/COST.md, "OpenCost's prices"). Targets: dev idles at most DEV_IDLE_TARGET (the issue's
third of 751.70 USD, with the savings Pulumi.dev.yaml chooses, docs/COST.md); prod's idle does not rise above
PROD_IDLE_BEFORE (the figure before those savings were options) since none of them reach prod.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from preflight.cli import plan_stack
from preflight.cost import price_plan
from preflight.cost_model import CostReport
from preflight.cost_units import unit_gaps
from preflight.synthesize import PROJECT_DIR

DEV_IDLE_TARGET = 350.0
PROD_IDLE_BEFORE = 3189.55  # `preflight cost --stack prod`, 2026-12-02, before the cost savings and NAT rules


def measure(stack: str) -> CostReport:
    plan = plan_stack(PROJECT_DIR, stack)
    for capacity in ("on-demand", "spot"):
        gaps = [gap for gap in unit_gaps(plan) if gap.capacity == capacity]
        worst = max(gaps, key=lambda gap: abs(gap.relative), default=None)
        if worst is not None:
            where = f"{worst.machine} on {worst.target}"
            print(f"{stack}: OpenCost units vs list price, {capacity}: worst {worst.relative:+.1%} ({where})")
    return price_plan(plan)


def main() -> int:
    failed = False
    for stack, target in (("dev", DEV_IDLE_TARGET), ("prod", PROD_IDLE_BEFORE)):
        report = measure(stack)
        print(f"{stack}: idle {report.idle:,.2f} USD a month (target at most {target:,.2f}), peak {report.peak:,.2f}")
        for cost in report.targets:
            print(f"  {cost.name:<24} idle {cost.idle:>10,.2f}  peak {cost.peak:>10,.2f}")
        failed |= report.idle > target
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
