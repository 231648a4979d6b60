"""Plausible AWS outputs: generated bucket names, ARNs, ids."""

from __future__ import annotations

from typing import Any

from preflight.mock_tables.context import ACCOUNT_ID, InvokeTable, MockContext, Outputs, OutputTable


def _s3_bucket(ctx: MockContext) -> Outputs:
    bucket = ctx.inputs.get("bucket") or ctx.auto_name()
    return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "region": ctx.region}


def _kms_key(ctx: MockContext) -> Outputs:
    key_id = ctx.uuid()
    return {"keyId": key_id, "arn": f"arn:aws:kms:{ctx.region}:{ACCOUNT_ID}:key/{key_id}"}


def generic(ctx: MockContext) -> Outputs:
    service = ctx.type.split(":")[1].split("/")[0]
    return {"arn": f"arn:aws:{service}:{ctx.region}:{ACCOUNT_ID}:{ctx.name}"}


def _caller_identity(args: dict[str, Any]) -> Outputs:
    return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/preflight", "userId": "preflight"}


OUTPUTS: OutputTable = {
    "aws:s3/bucket:Bucket": _s3_bucket,
    "aws:kms/key:Key": _kms_key,
}
INVOKES: InvokeTable = {
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
}
