"""Plausible Azure outputs: names taken from each resource's own name input, ARM resource ids."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from preflight.mock_tables.context import (
    SUBSCRIPTION_ID,
    TENANT_ID,
    InvokeTable,
    MockContext,
    Outputs,
    OutputTable,
)


def named(name_input: str, provider_path: str) -> Callable[[MockContext], Outputs]:
    """azure-native resources are named by an input of their own (accountName, ...)."""

    def outputs(ctx: MockContext) -> Outputs:
        name = ctx.inputs.get(name_input) or ctx.auto_name().replace("-", "")
        group = ctx.inputs.get("resourceGroupName", "rg")
        resource_id = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{group}/providers/{provider_path}/{name}"
        return {"name": name, "id": resource_id}

    return outputs


def _resource_group(ctx: MockContext) -> Outputs:
    name = ctx.inputs.get("resourceGroupName") or ctx.auto_name(90)
    return {"name": name, "id": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{name}"}


def generic(ctx: MockContext) -> Outputs:
    return named("name", ctx.type.split(":")[1])(ctx)


def _client_config(args: dict[str, Any]) -> Outputs:
    return {"subscriptionId": SUBSCRIPTION_ID, "tenantId": TENANT_ID, "objectId": TENANT_ID, "clientId": TENANT_ID}


OUTPUTS: OutputTable = {
    "azure-native:resources:ResourceGroup": _resource_group,
    "azure-native:storage:StorageAccount": named("accountName", "Microsoft.Storage/storageAccounts"),
    "azure-native:storage:BlobContainer": named(
        "containerName", "Microsoft.Storage/storageAccounts/blobServices/default/containers"
    ),
}
INVOKES: InvokeTable = {
    "azure-native:authorization:getClientConfig": _client_config,
}
