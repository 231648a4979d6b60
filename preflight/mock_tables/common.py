"""Plausible outputs of the cloud-neutral packages (random, kubernetes)."""

from __future__ import annotations

import hashlib

from preflight.mock_tables.context import InvokeTable, MockContext, Outputs, OutputTable


def _random_string(ctx: MockContext) -> Outputs:
    length = int(ctx.inputs.get("length", 16))
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    seed = hashlib.sha256(ctx.urn.encode()).digest()
    return {"result": "".join(alphabet[seed[i % len(seed)] % len(alphabet)] for i in range(length))}


def _random_id(ctx: MockContext) -> Outputs:
    """RandomId: `byteLength` random bytes, as hex (and the provider's other encodings of them)."""
    digest = hashlib.sha256(ctx.urn.encode()).digest()[: int(ctx.inputs.get("byteLength", 8))]
    return {"hex": digest.hex(), "dec": str(int.from_bytes(digest, "big")), "id": digest.hex()}


def _helm_release(ctx: MockContext) -> Outputs:
    """What Helm reports after an install: the release's name and namespace (what later reads need)."""
    return {
        "status": {
            "name": ctx.inputs.get("name") or ctx.auto_name(53),  # Helm release names: at most 53
            "namespace": ctx.inputs.get("namespace") or "default",
            "chart": ctx.inputs.get("chart", ""),
            "version": ctx.inputs.get("version", ""),
            "status": "deployed",
            "revision": 1,
        }
    }


def _service(ctx: MockContext) -> Outputs:
    """A LoadBalancer Service's address, as the cloud's controller would fill it in.

    A read (`Service.get`) carries only the id "<namespace>/<name>", not the spec: this program
    reads a Service only for its load balancer address, so a read is taken to be a LoadBalancer.
    The address is an IP from TEST-NET-3 (RFC 5737) derived from the URN. EKS would give a
    hostname, but the mock cannot tell the cloud (the provider's kubeconfig is a secret).
    """
    spec = ctx.inputs.get("spec")
    if "spec" in ctx.inputs and not (isinstance(spec, dict) and spec.get("type") == "LoadBalancer"):
        return {}
    outputs: Outputs = {
        "status": {"loadBalancer": {"ingress": [{"ip": f"203.0.113.{int(ctx.digest(4), 16) % 254 + 1}"}]}}
    }
    namespace, _, name = str(ctx.inputs.get("id", "")).rpartition("/")
    if name:
        outputs["metadata"] = {"name": name, "namespace": namespace or "default"}
    return outputs


OUTPUTS: OutputTable = {
    "random:index/randomString:RandomString": _random_string,
    "random:index/randomPassword:RandomPassword": _random_string,
    "random:index/randomId:RandomId": _random_id,
    "kubernetes:helm.sh/v3:Release": _helm_release,
    "kubernetes:core/v1:Service": _service,
}
INVOKES: InvokeTable = {}
