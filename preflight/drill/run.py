"""The drill from a stack and its plan: the config and the targets to fail, checked first; then the report."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from preflight.drill.answers import answers, serving_targets
from preflight.drill.capacity import capacity_formula, target_capacity_rps
from preflight.drill.report import DrillReport
from preflight.drill.routing import read_routing, stack_dns
from preflight.errors import InputError
from preflight.plan import Plan
from preflight.stack_files import load_stack
from stacks.cold_starts import replica_cold_start
from stacks.config import StackConfig, parse_stack_config
from stacks.validate import ConfigError


def drill_config(project_dir: Path, stack: str, fail: Sequence[str]) -> tuple[StackConfig, tuple[str, ...]]:
    """The stack's config and the targets to fail, checked before anything is synthesized."""
    stack_file = load_stack(project_dir, stack)
    try:
        config = parse_stack_config(stack_file.config, stack=stack, project=stack_file.project)
    except ConfigError as error:
        raise InputError(f"Pulumi.{stack}.yaml: {error}") from None
    if config.dns is None:
        raise InputError(f"Pulumi.{stack}.yaml: the stack has no global DNS to drill (mlplatform:dns is not set)")
    names = [target.name for target in config.targets]
    for name in fail:
        if name not in names:
            raise InputError(f"--fail {name}: not a target of stack {stack} (targets: {', '.join(names)})")
    return config, tuple(dict.fromkeys(fail))


def run_drill(plan: Plan, config: StackConfig, failed: Sequence[str]) -> DrillReport:
    dns = stack_dns(config)
    routing = read_routing(plan, config)
    given = answers(routing, failed)
    notes: list[str] = []
    if routing.mode == "latency":
        notes.append(
            "latency is approximated by the great-circle distance between region cities;"
            " Route 53 measures network latency, which may rank nearby regions differently"
        )
    countries = sorted(code for kind, code in routing.locations if kind == "country")
    if countries:
        notes.append(
            f"country records ({', '.join(countries)}) are not evaluated: a client region stands for its"
            " continent; clients in those countries get that target while it is healthy, then their"
            " continent's record, then the default"
        )
    if not config.models:
        notes.append("the stack serves no models (mlplatform:models is empty): capacity is not judged")
    if set(routing.targets) <= set(failed):
        notes.append(
            "every record is unhealthy, so Route 53 fails open and answers as if all were healthy:"
            " clients are sent to failed targets, which is no answer"
        )
    return DrillReport(
        project=config.project,
        stack=config.stack,
        mode=dns.mode,
        targets=tuple(t.name for t in config.targets),
        failed=tuple(failed),
        dns=dns,
        answers=given,
        serving=tuple(t.name for t in config.targets if t.name in serving_targets(routing, failed)),
        target_rps=target_capacity_rps(config.models, dns.rps_per_replica),
        formula=capacity_formula(config.models, dns.rps_per_replica),
        notes=tuple(notes),
        baseline_serving=tuple(t.name for t in config.targets if t.name in serving_targets(routing, ())),
        serves_models=bool(config.models),
        add_capacity_seconds=add_capacity_seconds(config, serving_targets(routing, failed)),
    )


def add_capacity_seconds(config: StackConfig, serving: Collection[str]) -> int | None:
    """The slowest replica start among the answered survivors: what adding capacity for the peak waits on."""
    starts = [
        start.total_seconds
        for target in config.targets
        if target.name in serving
        for model in config.models
        if (
            start := replica_cold_start(
                model,
                target.name,
                target.cloud,
                config.cluster.gpu_pools,
                image_cached=config.image_cache.cached(target.cloud, target.region),
            )
        )
        is not None
    ]
    return max(starts, default=None)
