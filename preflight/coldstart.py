"""`python -m preflight coldstart`: how long a GPU replica takes to serve on a new node, per target and model.

Read from the stack's config, not synthesized: the program writes the same figure on each model's Deployments
(stacks/cold_starts.py picks the machine types, components/cold_start.py does the arithmetic from its sourced
table), so this view and the plan cannot disagree. Each phase prints its figure, how it was worked out and the
sources it rests on (with the month read); the total is judged against `mlplatform:coldStartBudgetSeconds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.cold_start import ColdStart, Fact
from preflight.errors import InputError
from preflight.stack_files import load_stack
from stacks.cold_starts import replica_cold_start
from stacks.config import StackConfig, parse_stack_config
from stacks.validate import ConfigError


@dataclass(frozen=True)
class Row:
    target: str
    model: str
    start: ColdStart | None  # None: no pool on the target holds the model (config refuses that; kept for safety)


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
    rows = tuple(
        Row(
            target.name,
            model.name,
            replica_cold_start(
                model, target.name, target.cloud, pools, image_cached=config.image_cache.cached(target.cloud)
            ),
        )
        for target in config.targets
        for model in config.models
    )
    return ColdStartReport(config.project, config.stack, config.cold_start_budget_seconds, rows)


def render_text(report: ColdStartReport) -> str:
    lines = [
        f"{report.project}/{report.stack}: a GPU replica's start on a new node, by phase "
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
        lines.append(f"{row.target} / {row.model} on {start.machine_type} ({start.model_gib:g} GiB model):")
        for phase in start.phases:
            refs = ", ".join(f"[{number[fact.key]}]" for fact in phase.facts)
            lines.append(f"  {phase.name:<11} {phase.seconds:>7.1f} s  {phase.how}  {refs}")
        lines.append(f"  {'total':<11} {start.total_seconds:>5} s    {verdict}")
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


def _facts(rows: tuple[Row, ...]) -> list[Fact]:
    found: dict[str, Fact] = {}
    for row in rows:
        for phase in row.start.phases if row.start else ():
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
    }


def _fact_json(fact: Fact) -> dict[str, Any]:
    return {"key": fact.key, "value": fact.value, "source": fact.source, "read": fact.read, "note": fact.note}
