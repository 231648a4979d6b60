"""How long the policy pack takes over the prod plan, through the analyzer protocol.

Synthesizes prod once (not timed), then, best of three: the whole `preflight policy` run
(start the pack process, GetAnalyzerInfo, Configure, Analyze per resource, AnalyzeStack),
and its parts. Target on a 2-core machine: the whole run at most 2 s.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from preflight.cli import plan_stack
from preflight.policy_packs import RunningPolicyPack, run_policy_packs
from preflight.synthesize import PROJECT_DIR

RUNS = 3
TARGET_SECONDS = 2.0


def best(measure: Callable[[], float]) -> float:
    return min(measure() for _ in range(RUNS))


def main() -> None:
    plan = plan_stack(PROJECT_DIR, "prod")
    packs = [PROJECT_DIR / "policies"]

    def whole_run() -> float:
        start = time.perf_counter()
        report = run_policy_packs(plan, packs)
        elapsed = time.perf_counter() - start
        assert not report.mandatory, "the prod plan must pass its own policy pack"
        return elapsed

    def start_pack() -> float:
        start = time.perf_counter()
        with RunningPolicyPack(packs[0], plan.project, plan.stack):
            return time.perf_counter() - start

    with RunningPolicyPack(packs[0], plan.project, plan.stack) as pack:
        pack.configure({})

        def analyze_only() -> float:
            start = time.perf_counter()
            pack.analyze(plan)
            return time.perf_counter() - start

        analyze = best(analyze_only)
    total = best(whole_run)
    started = best(start_pack)
    calls = len(plan.resources) + 1
    print(f"policy pack over the prod plan: {len(plan.resources)} resources, {calls} analyzer calls (best of {RUNS})")
    print(f"  start the pack process until it answers  {started:6.2f} s")
    per_call = analyze / calls * 1000
    print(f"  Analyze x{len(plan.resources)} + AnalyzeStack x1        {analyze:6.2f} s  ({per_call:.2f} ms a call)")
    print(f"  whole run (start, configure, analyze)    {total:6.2f} s  (target <= {TARGET_SECONDS:.0f} s)")
    print("  within target" if total <= TARGET_SECONDS else "  OVER TARGET")


if __name__ == "__main__":
    main()
