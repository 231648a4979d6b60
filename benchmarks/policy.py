"""How long the policy pack takes over the prod plan, through the analyzer protocol.

Synthesizes prod once (not timed), then, best of three: the whole `preflight policy` run
(start the pack process, GetAnalyzerInfo, Configure, Analyze per resource, AnalyzeStack),
and its parts. Target on a 2-core machine: the whole run at most 2 s.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from preflight.cli import plan_stack
from preflight.policy_packs import RunningPolicyPack, run_policy_packs
from preflight.synthesize import PROJECT_DIR

RUNS = 3
TARGET_SECONDS = 2.0


def best(measure: Callable[[], float]) -> float:
    return min(measure() for _ in range(RUNS))


@dataclass(frozen=True)
class Figures:
    resources: int
    calls: int  # Analyze per resource, AnalyzeStack once
    runs: int
    whole_seconds: float  # start, configure, analyze: what `preflight policy` waits for
    start_seconds: float  # the pack process, until it answers
    analyze_seconds: float

    @property
    def ms_per_call(self) -> float:
        return self.analyze_seconds / self.calls * 1000


def measure() -> Figures:
    """Best of RUNS each (README.md's policy figures are written from these: make docs)."""
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

    def analyze_only() -> float:
        """A fresh pack each time: the pack remembers what it converted (policies/rules/convert_once.py), and a
        preview's pack sees each resource once."""
        with RunningPolicyPack(packs[0], plan.project, plan.stack) as pack:
            pack.configure({})
            start = time.perf_counter()
            pack.analyze(plan)
            return time.perf_counter() - start

    analyze = best(analyze_only)
    return Figures(len(plan.resources), len(plan.resources) + 1, RUNS, best(whole_run), best(start_pack), analyze)


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores before the run")
    f = measure()
    print(f"policy pack over the prod plan: {f.resources} resources, {f.calls} analyzer calls (best of {RUNS})")
    print(f"  start the pack process until it answers  {f.start_seconds:6.2f} s")
    analyze = f"Analyze x{f.resources} + AnalyzeStack x1"
    print(f"  {analyze:<39}  {f.analyze_seconds:6.2f} s  ({f.ms_per_call:.2f} ms a call)")
    print(f"  whole run (start, configure, analyze)    {f.whole_seconds:6.2f} s  (target <= {TARGET_SECONDS:.0f} s)")
    print("  within target" if f.whole_seconds <= TARGET_SECONDS else "  OVER TARGET")


if __name__ == "__main__":
    main()
