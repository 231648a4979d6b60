"""`python -m preflight coldstart`: how long a GPU replica takes to serve on a new node, per target and model.

Read from the stack's config, not synthesized: the program writes the same figure on each model's Deployments
(stacks/cold_starts.py picks the machine types, components/cold_start.py does the arithmetic from its sourced
table), so this view and the plan cannot disagree. Each phase prints its figure, how it was worked out and the
sources it rests on (with the month read); the total is judged against `mlplatform:coldStartBudgetSeconds`.

Where a target keeps warm spares for the model's accelerator (`warmSpares` on a GPU pool), the judged figure is the
first replica's, on a spare; the start of a replica beyond the spares, on a new node, is printed beside it, and when
that one is over the budget the view names the phases no option of the stack removes (NO_CLOUD_OPTION).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.cold_start import ColdStart, Fact
from preflight.errors import InputError
from preflight.stack_files import load_stack
from stacks.cold_starts import replica_cold_start, warm_spares
from stacks.config import StackConfig, parse_stack_config
from stacks.validate import ConfigError


@dataclass(frozen=True)
class Row:
    target: str
    model: str
    start: ColdStart | None  # None: no pool on the target holds the model (config refuses that; kept for safety)
    spares: int = 0  # warm spares for the model's accelerator on the target: `start` is on one of them
    new_node: ColdStart | None = None  # with spares: a replica beyond them, on a new node


# Phases that no cloud option in the stack's config cuts on a new node: the autoscaler and VM boot, and the driver
# and device plugin (an image cache removes the pull, a warm spare all three).
NO_CLOUD_OPTION = ("node", "driver")
# The config that caches the Triton image on a cloud's new nodes (stacks/image_cache_config.py); AKS artifact streaming
# has no argument in the installed azure-native SDK (docs/OPERATIONS.md, "Cold start").
IMAGE_CACHE_OPTIONS = {"gcp": "mlplatform:imageCache.gkeDiskImage", "aws": "mlplatform:imageCache.eksSnapshots"}


@dataclass(frozen=True)
class ColdStartReport:
    project: str
    stack: str
    budget_seconds: int
    rows: tuple[Row, ...]

    @property
    def over_budget(self) -> list[Row]:
        return [row for row in self.rows if row.start and row.start.total_seconds > self.budget_seconds]

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "budgetSeconds": self.budget_seconds,
            "replicas": [_row_json(row, self.budget_seconds) for row in self.rows],
            "overBudget": [f"{row.target}/{row.model}" for row in self.over_budget],
            "sources": [_fact_json(fact) for fact in _facts(self.rows)],
        }


def load_config(project_dir: Path, stack: str) -> StackConfig:
    stack_file = load_stack(project_dir, stack)
    try:
        return parse_stack_config(stack_file.config, stack=stack, project=stack_file.project)
    except ConfigError as error:
        raise InputError(f"Pulumi.{stack}.yaml: {error}") from None


def build_report(config: StackConfig) -> ColdStartReport:
    pools = config.cluster.gpu_pools
    rows = []
    for target in config.targets:
        cached = config.image_cache.cached(target.cloud, target.region)
        for model in config.models:
            spares = warm_spares(model, target.name, pools)
            start = replica_cold_start(model, target.name, target.cloud, pools, image_cached=cached, warm=True)
            new_node = (
                replica_cold_start(model, target.name, target.cloud, pools, image_cached=cached) if spares else None
            )
            rows.append(Row(target.name, model.name, start, spares, new_node))
    return ColdStartReport(config.project, config.stack, config.cold_start_budget_seconds, tuple(rows))


def render_text(report: ColdStartReport) -> str:
    lines = [
        f"{report.project}/{report.stack}: a GPU replica's start, by phase "
        f"(budget {report.budget_seconds} s, mlplatform:coldStartBudgetSeconds)",
    ]
    if not report.rows:
        return "\n".join([*lines, "", "The stack serves no models (mlplatform:models is empty)."])
    facts = _facts(report.rows)
    number = {fact.key: i + 1 for i, fact in enumerate(facts)}
    for row in report.rows:
        lines.append("")
        if row.start is None:
            lines.append(f"{row.target} / {row.model}: no GPU pool on this target holds the model")
            continue
        start = row.start
        verdict = "within budget" if start.total_seconds <= report.budget_seconds else "OVER BUDGET"
        where = f", first {row.spares} replica(s) on warm spares" if row.spares else ""
        lines.append(f"{row.target} / {row.model} on {start.machine_type} ({start.model_gib:g} GiB model{where}):")
        lines += _phase_lines(start, number)
        lines.append(f"  {'total':<11} {start.total_seconds:>5} s    {verdict}")
        if row.new_node is not None:
            lines.append(f"  beyond the spare(s), on a new {row.new_node.machine_type} node:")
            lines += _phase_lines(row.new_node, number, indent="    ")
            lines.append(f"    {'total':<11} {row.new_node.total_seconds:>5} s    {_new_node_verdict(row, report)}")
    lines += ["", "Sources (components/data/cold_start.yaml):"]
    for fact in facts:
        lines.append(f"  [{number[fact.key]}] {fact.key} = {fact.value:g}: {fact.source} (read {fact.read})")
        lines.append(f"      {fact.note}")
    over = report.over_budget
    lines += [
        "",
        f"{len(over)} of {len(report.rows)} replica(s) over the {report.budget_seconds} s budget"
        + (f": {', '.join(f'{r.target}/{r.model}' for r in over)}" if over else ""),
    ]
    return "\n".join(lines)


def _phase_lines(start: ColdStart, number: dict[str, int], indent: str = "  ") -> list[str]:
    lines = []
    for phase in start.phases:
        refs = ", ".join(f"[{number[fact.key]}]" for fact in phase.facts)
        lines.append(f"{indent}{phase.name:<11} {phase.seconds:>7.1f} s  {phase.how}  {refs}")
    return lines


def _new_node_verdict(row: Row, report: ColdStartReport) -> str:
    """Within budget, or by how much it is over and which phases no cloud option cuts."""
    start = row.new_node
    assert start is not None
    over = start.total_seconds - report.budget_seconds
    if over <= 0:
        return "within budget as well"
    fixed = " and ".join(f"{name} {start.phase(name).seconds:g} s" for name in NO_CLOUD_OPTION)
    verdict = f"{over} s over budget: {fixed} are cut by no cloud option, only by a warm spare"
    image = start.phase("image").seconds
    if image > 0:
        option = IMAGE_CACHE_OPTIONS.get(start.cloud)
        verdict += (
            f"; image {image:g} s: {option} caches it" if option else f"; image {image:g} s: no cache on {start.cloud}"
        )
    return verdict


def _facts(rows: tuple[Row, ...]) -> list[Fact]:
    found: dict[str, Fact] = {}
    for row in rows:
        for start in (row.start, row.new_node):
            for phase in start.phases if start else ():
                for fact in phase.facts:
                    found.setdefault(fact.key, fact)
    return list(found.values())


def _row_json(row: Row, budget: int) -> dict[str, Any]:
    start = row.start
    return {
        "target": row.target,
        "model": row.model,
        "machineType": start.machine_type if start else None,
        "modelGiB": start.model_gib if start else None,
        "phases": [
            {"name": p.name, "seconds": round(p.seconds, 1), "how": p.how, "sources": [f.key for f in p.facts]}
            for p in (start.phases if start else ())
        ],
        "totalSeconds": start.total_seconds if start else None,
        "withinBudget": start.total_seconds <= budget if start else None,
        "warmSpares": row.spares,
        "newNode": _start_json(row.new_node, budget) if row.new_node else None,
    }


def _start_json(start: ColdStart, budget: int) -> dict[str, Any]:
    return {
        "machineType": start.machine_type,
        "phases": [{"name": p.name, "seconds": round(p.seconds, 1)} for p in start.phases],
        "totalSeconds": start.total_seconds,
        "withinBudget": start.total_seconds <= budget,
    }


def _fact_json(fact: Fact) -> dict[str, Any]:
    return {"key": fact.key, "value": fact.value, "source": fact.source, "read": fact.read, "note": fact.note}
