"""The plan's cloud targets (a Footprint component per cloud and region), as doctor groups its findings by them."""

from __future__ import annotations

from dataclasses import dataclass

from preflight.plan import FOOTPRINT_TYPE, Plan


@dataclass(frozen=True)
class TargetInfo:
    name: str
    cloud: str
    region: str


def targets_of(plan: Plan) -> dict[str, TargetInfo]:
    return {
        resource.name: TargetInfo(resource.name, str(resource.inputs.get("cloud")), str(resource.inputs.get("region")))
        for resource in plan.of_type(FOOTPRINT_TYPE)
    }
