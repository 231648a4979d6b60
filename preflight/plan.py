"""The offline plan: every resource the program registers, in the JSON shape tools consume."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

FOOTPRINT_TYPE = "mlplatform:platform:Footprint"


@dataclass(frozen=True)
class PlannedResource:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    dependencies: tuple[str, ...]
    protect: bool
    retain_on_delete: bool
    inputs: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "custom": self.custom,
            "parent": self.parent,
            "provider": self.provider,
            "dependencies": list(self.dependencies),
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "inputs": self.inputs,
        }


@dataclass(frozen=True)
class PlanWarning:
    """What the plan is valid for but a real account, order or date would refuse (preflight.plan_warnings)."""

    check: str  # a short, stable name: "kubernetes-support", "hidden-dependency", ...
    message: str  # one line a user can act on
    urn: str | None = None  # the resource it is about, when there is one

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "message": self.message, "urn": self.urn}


@dataclass(frozen=True)
class Plan:
    project: str
    stack: str
    resources: tuple[PlannedResource, ...]
    outputs: dict[str, Any]
    masked_config: tuple[str, ...] = ()
    _by_urn: dict[str, PlannedResource] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_urn.update({resource.urn: resource for resource in self.resources})

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "resources": [resource.to_json() for resource in self.resources],
            "outputs": self.outputs,
            "maskedConfig": list(self.masked_config),
        }

    def get(self, urn: str) -> PlannedResource | None:
        return self._by_urn.get(urn)

    def of_type(self, type_token: str) -> list[PlannedResource]:
        return [resource for resource in self.resources if resource.type == type_token]

    def target_of(self, resource: PlannedResource) -> str | None:
        """The footprint (cloud target) a resource belongs to, or None for stack-wide ones."""
        current: PlannedResource | None = resource
        while current is not None:
            if current.type == FOOTPRINT_TYPE:
                return current.name
            current = self.get(current.parent) if current.parent else None
        return None

    def by_target(self) -> dict[str | None, list[PlannedResource]]:
        groups: dict[str | None, list[PlannedResource]] = {}
        for resource in self.resources:
            groups.setdefault(self.target_of(resource), []).append(resource)
        return groups


def render_text(plan: Plan) -> str:
    """Resources per target and by type, with counts: what a reviewer scans first."""
    custom = sum(1 for resource in plan.resources if resource.custom)
    groups = plan.by_target()
    targets = [name for name in groups if name is not None]
    lines = [
        f"{plan.project}/{plan.stack}: {len(plan.resources)} resources "
        f"({custom} cloud resources, {len(plan.resources) - custom} components) "
        f"across {len(targets)} target{'s' if len(targets) != 1 else ''}",
    ]
    for name in [*sorted(targets), None]:
        members = groups.get(name, [])
        if not members:
            continue
        footprint = next((r for r in members if r.type == FOOTPRINT_TYPE), None)
        where = f" ({footprint.inputs.get('cloud')} {footprint.inputs.get('region')})" if footprint else ""
        lines.append("")
        lines.append(f"{name or 'stack-wide'}{where}: {len(members)} resources")
        for type_token, count in sorted(Counter(r.type for r in members).items()):
            lines.append(f"  {count:4d}  {type_token}")
    if plan.outputs:
        lines.append("")
        lines.append("Outputs:")
        for key, value in sorted(plan.outputs.items()):
            lines.append(f"  {key}: {_short(value)}")
    if plan.masked_config:
        lines.append("")
        lines.append(
            f"Note: {len(plan.masked_config)} secure config value(s) cannot be decrypted offline "
            f'and were planned with the placeholder "[secret]": {", ".join(plan.masked_config)}'
        )
    return "\n".join(lines)


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in sorted(value.items())) + "}"
    return str(value)
