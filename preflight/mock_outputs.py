"""Plausible outputs for mocked resources and invokes.

A resource's outputs start as its inputs (what the SDK sent); this module adds what the
cloud would compute: auto-generated physical names, ARNs, Azure resource ids. Values are
derived from the URN, so two syntheses of the same program give the same plan.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ACCOUNT_ID = "123456789012"
SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
TENANT_ID = "00000000-0000-0000-0000-000000000001"


@dataclass(frozen=True)
class MockContext:
    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    provider_inputs: dict[str, Any]

    def digest(self, length: int = 7) -> str:
        return hashlib.sha1(self.urn.encode()).hexdigest()[:length]

    def auto_name(self, max_length: int = 63) -> str:
        """Pulumi auto-naming: the resource name plus a random-looking suffix."""
        return f"{self.name[: max_length - 8]}-{self.digest()}"

    @property
    def region(self) -> str:
        return str(self.provider_inputs.get("region") or self.provider_inputs.get("location") or "us-east-1")


Outputs = dict[str, Any]


def _aws_s3_bucket(ctx: MockContext) -> Outputs:
    bucket = ctx.inputs.get("bucket") or ctx.auto_name()
    return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "region": ctx.region}


def _aws_kms_key(ctx: MockContext) -> Outputs:
    key_id = _uuid(ctx)
    return {"keyId": key_id, "arn": f"arn:aws:kms:{ctx.region}:{ACCOUNT_ID}:key/{key_id}"}


def _random_string(ctx: MockContext) -> Outputs:
    length = int(ctx.inputs.get("length", 16))
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    seed = hashlib.sha256(ctx.urn.encode()).digest()
    return {"result": "".join(alphabet[seed[i % len(seed)] % len(alphabet)] for i in range(length))}


def _gcs_bucket(ctx: MockContext) -> Outputs:
    name = ctx.inputs.get("name") or ctx.auto_name()
    return {"name": name, "url": f"gs://{name}", "selfLink": f"https://www.googleapis.com/storage/v1/b/{name}"}


def _azure_named(name_input: str, provider_path: str) -> Callable[[MockContext], Outputs]:
    """azure-native resources are named by an input of their own (accountName, ...)."""

    def outputs(ctx: MockContext) -> Outputs:
        name = ctx.inputs.get(name_input) or ctx.auto_name().replace("-", "")
        group = ctx.inputs.get("resourceGroupName", "rg")
        resource_id = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{group}/providers/{provider_path}/{name}"
        return {"name": name, "id": resource_id}

    return outputs


def _azure_resource_group(ctx: MockContext) -> Outputs:
    name = ctx.inputs.get("resourceGroupName") or ctx.auto_name(90)
    return {"name": name, "id": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{name}"}


_BY_TYPE: dict[str, Callable[[MockContext], Outputs]] = {
    "aws:s3/bucket:Bucket": _aws_s3_bucket,
    "aws:kms/key:Key": _aws_kms_key,
    "random:index/randomString:RandomString": _random_string,
    "random:index/randomPassword:RandomPassword": _random_string,
    "gcp:storage/bucket:Bucket": _gcs_bucket,
    "azure-native:resources:ResourceGroup": _azure_resource_group,
    "azure-native:storage:StorageAccount": _azure_named("accountName", "Microsoft.Storage/storageAccounts"),
    "azure-native:storage:BlobContainer": _azure_named(
        "containerName", "Microsoft.Storage/storageAccounts/blobServices/default/containers"
    ),
}


def plausible_outputs(ctx: MockContext) -> tuple[str, Outputs]:
    """The id and the outputs to add to a resource's inputs."""
    extra = _BY_TYPE.get(ctx.type, _generic)(ctx)
    resource_id = str(extra.get("id") or extra.get("bucket") or extra.get("name") or f"{ctx.name}-{ctx.digest()}")
    return resource_id, extra


def _generic(ctx: MockContext) -> Outputs:
    package = ctx.type.split(":")[0]
    if package == "aws":
        service = ctx.type.split(":")[1].split("/")[0]
        return {"arn": f"arn:aws:{service}:{ctx.region}:{ACCOUNT_ID}:{ctx.name}"}
    if package == "azure-native":
        return _azure_named("name", ctx.type.split(":")[1])(ctx)
    return {}


def invoke_result(token: str, args: dict[str, Any]) -> dict[str, Any]:
    """Data-source answers a fresh account would give."""
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/preflight", "userId": "preflight"}
    if token == "azure-native:authorization:getClientConfig":
        return {"subscriptionId": SUBSCRIPTION_ID, "tenantId": TENANT_ID, "objectId": TENANT_ID, "clientId": TENANT_ID}
    return {}


def _uuid(ctx: MockContext) -> str:
    h = hashlib.sha1(ctx.urn.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
