"""Hand-made graphs for the policy tests, analyzed by the real pack over the analyzer protocol.

A test builds a few resources (type, inputs, provider, dependencies) and asks the running
pack what it violates: the same requests `pulumi preview --policy-pack` sends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from preflight.plan_file import plan_from_json
from preflight.policy_packs import RunningPolicyPack
from preflight.policy_report import Violation
from preflight.synthesize import PROJECT_DIR

PACK_DIR = PROJECT_DIR / "policies"
STACK = "policytest"
REQUIRED_TAGS = {
    "project": "mlplatform",
    "environment": "prod",
    "owner": "ml-platform",
    "cost-center": "ml-serving",
    "managed-by": "pulumi",
}


def urn(type_token: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::mlplatform::{type_token}::{name}"


def resource(
    type_token: str,
    name: str,
    inputs: Mapping[str, Any],
    *,
    provider: Mapping[str, Any] | None = None,
    dependencies: list[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """A graph resource in the plan JSON shape; provider and dependencies are other such dicts."""
    return {
        "urn": urn(type_token, name),
        "type": type_token,
        "name": name,
        "inputs": dict(inputs),
        "provider": provider["urn"] if provider else None,
        "dependencies": [d["urn"] for d in dependencies or []],
    }


def aws_provider(tags: Mapping[str, str] | None = None, name: str = "aws") -> dict[str, Any]:
    """An AWS provider with default tags, JSON-encoded as the engine receives provider config."""
    default_tags = json.dumps({"tags": dict(REQUIRED_TAGS if tags is None else tags)})
    return resource("pulumi:providers:aws", name, {"region": "us-east-1", "defaultTags": default_tags})


def gcp_provider(labels: Mapping[str, str] | None = None, name: str = "gcp") -> dict[str, Any]:
    default_labels = json.dumps(dict(REQUIRED_TAGS if labels is None else labels))
    inputs = {"project": "p", "region": "us-central1", "defaultLabels": default_labels}
    return resource("pulumi:providers:gcp", name, inputs)


def azure_provider(name: str = "azure") -> dict[str, Any]:
    return resource("pulumi:providers:azure-native", name, {"location": "swedencentral"})


def analyze(
    pack: RunningPolicyPack, *resources: Mapping[str, Any], config: Mapping[str, Any] | None = None
) -> list[Violation]:
    """Every violation the pack reports for a graph of these resources (providers included by the caller)."""
    pack.configure(config or {})
    plan = plan_from_json({"project": "mlplatform", "stack": STACK, "resources": list(resources)}, "test graph")
    return pack.analyze(plan)


def policies(violations: list[Violation], about: Mapping[str, Any] | None = None) -> set[str]:
    """The names of the policies violated (by one resource, when `about` is given)."""
    return {v.policy for v in violations if about is None or v.urn == about["urn"]}
