"""Helpers shared by the tests: synthesize a stack or a single component under preflight's monitor."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from preflight.plan import Plan, PlannedResource
from preflight.stack_files import config_from_mapping
from preflight.synthesize import synthesize

BASE_CONFIG: dict[str, Any] = {
    "environment": "dev",
    "owner": "ml-platform",
    "costCenter": "ml-research",
}


def stack_plan(targets: list[dict[str, Any]], stack: str = "test", **config: Any) -> Plan:
    """Synthesize the real program for an in-memory stack config."""
    values = {**BASE_CONFIG, "targets": targets, **config}
    return synthesize(config_from_mapping("mlplatform", stack, values))


def program_plan(program: Callable[[], None], stack: str = "test") -> Plan:
    """Synthesize a small program (one component) with the same recording monitor."""
    return synthesize(config_from_mapping("mlplatform", stack, {}), program=program)


def only(plan: Plan, type_token: str) -> PlannedResource:
    matches = plan.of_type(type_token)
    assert len(matches) == 1, f"expected one {type_token}, found {len(matches)}"
    return matches[0]


def every(plan: Plan, type_token: str) -> list[PlannedResource]:
    """Every resource of a type, asserting there is one: a check looped over none would pass without checking."""
    matches = plan.of_type(type_token)
    assert matches, f"expected at least one {type_token} in the plan"
    return matches


def nonempty(items: list[Any], what: str) -> list[Any]:
    """The items, asserting there is one: for checks looped over a filtered list."""
    assert items, f"expected at least one {what}"
    return items


def isolated_namespaces(network_policies: list[PlannedResource]) -> set[str]:
    """The namespaces whose every pod is isolated both ways: some NetworkPolicy there selects every pod for Ingress and
    Egress, so only what a policy allows gets in or out (kubernetes.io, "Network Policies"). A default deny, whether
    it is a policy of its own or the one that also lists the namespace's allows (components/network_fence.py)."""
    return {
        r.inputs["metadata"]["namespace"]
        for r in network_policies
        if r.inputs["spec"].get("podSelector") == {}
        and {"Ingress", "Egress"} <= set(r.inputs["spec"].get("policyTypes", []))
    }


def provider_json(plan: Plan, resource: PlannedResource, key: str) -> Any:
    """A provider input the engine receives JSON-encoded (defaultTags, defaultLabels)."""
    assert resource.provider is not None, f"{resource.urn} has no explicit provider"
    provider = plan.get(resource.provider)
    assert provider is not None
    value = provider.inputs.get(key)
    return json.loads(value) if isinstance(value, str) else value


RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"


def mock_passwords(plan: Plan) -> list[str]:
    """The value preflight's mocks gave each RandomPassword (derived from its URN, as the recorder
    does): what a test searches the plan for, to prove no password appears in clear."""
    from preflight.mock_outputs import MockContext, plausible_outputs

    passwords = []
    for resource in plan.of_type(RANDOM_PASSWORD):
        _, outputs = plausible_outputs(MockContext(resource.urn, resource.type, resource.name, resource.inputs, {}))
        passwords.append(str(outputs["result"]))
    return passwords
