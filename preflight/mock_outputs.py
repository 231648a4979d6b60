"""Plausible outputs for mocked resources and invokes.

A resource's outputs start as its inputs (what the SDK sent); the per-cloud tables in
preflight/mock_tables add what the cloud would compute: generated physical names, ARNs,
Azure resource ids. Values derive from the URN, so two syntheses give the same plan.
"""

from __future__ import annotations

from typing import Any

from preflight.mock_tables import aws, azure, common, gcp
from preflight.mock_tables.context import MockContext, Outputs, OutputTable

__all__ = ["MockContext", "invoke_result", "plausible_outputs"]

_OUTPUTS: OutputTable = {**aws.OUTPUTS, **gcp.OUTPUTS, **azure.OUTPUTS, **common.OUTPUTS}
_INVOKES = {**aws.INVOKES, **gcp.INVOKES, **azure.INVOKES, **common.INVOKES}
_GENERIC = {"aws": aws.generic, "azure-native": azure.generic}


def plausible_outputs(ctx: MockContext) -> tuple[str, Outputs]:
    """The id and the outputs to add to a resource's inputs."""
    package = ctx.type.split(":")[0]
    produce = _OUTPUTS.get(ctx.type) or _GENERIC.get(package)
    extra = produce(ctx) if produce else {}
    resource_id = str(extra.get("id") or extra.get("bucket") or extra.get("name") or f"{ctx.name}-{ctx.digest()}")
    return resource_id, extra


def invoke_result(token: str, args: dict[str, Any]) -> dict[str, Any]:
    """Data-source answers a fresh account would give."""
    answer = _INVOKES.get(token)
    return answer(args) if answer else {}
