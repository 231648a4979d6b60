"""Read a plan graph back from JSON (what `preflight plan --json` writes, or one made by hand).

Every problem is an InputError naming the file and the key, so a hand-made graph that is
wrong says where.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from preflight.errors import InputError, read_json
from preflight.plan import Plan, PlannedResource


def load_plan(path: Path) -> Plan:
    return plan_from_json(read_json(path, "graph"), str(path))


def plan_from_json(document: Any, source: str) -> Plan:
    if not isinstance(document, dict):
        raise InputError(f"{source}: a graph is a JSON object with a 'resources' list")
    resources = document.get("resources")
    if not isinstance(resources, list) or not resources:
        raise InputError(f"{source}: resources: expected a non-empty list of resources")
    planned = tuple(_resource(item, f"{source}: resources[{index}]") for index, item in enumerate(resources))
    first = planned[0].urn.split("::")
    stack = document.get("stack") or (first[0].removeprefix("urn:pulumi:") if len(first) > 2 else "")
    project = document.get("project") or (first[1] if len(first) > 2 else "")
    if not isinstance(stack, str) or not stack or not isinstance(project, str) or not project:
        raise InputError(f"{source}: project/stack: give them, or URNs like urn:pulumi:STACK::PROJECT::TYPE::NAME")
    outputs = document.get("outputs") or {}
    return Plan(project=project, stack=stack, resources=planned, outputs=outputs if isinstance(outputs, dict) else {})


def _resource(item: Any, where: str) -> PlannedResource:
    if not isinstance(item, dict):
        raise InputError(f"{where}: expected an object")
    for key in ("urn", "type", "name"):
        if not isinstance(item.get(key), str) or not item[key]:
            raise InputError(f"{where}.{key}: expected a non-empty string")
    inputs = item.get("inputs", {})
    if not isinstance(inputs, dict):
        raise InputError(f"{where}.inputs: expected an object")
    dependencies = item.get("dependencies", [])
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise InputError(f"{where}.dependencies: expected a list of URNs")
    for key in ("parent", "provider"):
        if item.get(key) is not None and not isinstance(item[key], str):
            raise InputError(f"{where}.{key}: expected a URN")
    return PlannedResource(
        urn=item["urn"],
        type=item["type"],
        name=item["name"],
        custom=bool(item.get("custom", True)),
        parent=item.get("parent"),
        provider=item.get("provider"),
        dependencies=tuple(dependencies),
        protect=bool(item.get("protect", False)),
        retain_on_delete=bool(item.get("retainOnDelete", False)),
        inputs=inputs,
    )
