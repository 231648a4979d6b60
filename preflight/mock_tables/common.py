"""Plausible outputs of the cloud-neutral packages (random, kubernetes)."""

from __future__ import annotations

import hashlib

from preflight.mock_tables.context import InvokeTable, MockContext, Outputs, OutputTable


def _random_string(ctx: MockContext) -> Outputs:
    length = int(ctx.inputs.get("length", 16))
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    seed = hashlib.sha256(ctx.urn.encode()).digest()
    return {"result": "".join(alphabet[seed[i % len(seed)] % len(alphabet)] for i in range(length))}


OUTPUTS: OutputTable = {
    "random:index/randomString:RandomString": _random_string,
    "random:index/randomPassword:RandomPassword": _random_string,
}
INVOKES: InvokeTable = {}
