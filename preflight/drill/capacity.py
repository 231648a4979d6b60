"""What one target carries at its maximum replicas, and the formula the report shows for it."""

from __future__ import annotations

from collections.abc import Sequence

from stacks.serving_config import ModelConfig


def model_replicas(model: ModelConfig) -> int:
    """Most replicas one target runs of a model: each version at its maximum, plus the on-demand floor."""
    versions = 2 if model.canary else 1
    return model.max_replicas * versions + model.on_demand_floor


def target_capacity_rps(models: Sequence[ModelConfig], rps_per_replica: int) -> int:
    """Requests per second one target carries at its maximum replicas (every model runs on every target)."""
    return sum(model_replicas(model) for model in models) * rps_per_replica


def capacity_formula(models: Sequence[ModelConfig], rps_per_replica: int) -> str:
    if not models:
        return "no models: 0 rps"
    parts = [
        f"{m.name} ({m.max_replicas} max x {2 if m.canary else 1} version{'s' if m.canary else ''}"
        f" + {m.on_demand_floor} floor)"
        for m in models
    ]
    return f"{' + '.join(parts)} x {rps_per_replica} rps = {target_capacity_rps(models, rps_per_replica)} rps"
