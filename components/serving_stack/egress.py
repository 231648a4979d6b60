"""What the model servers may call outside the cluster: Istio ServiceEntries for REGISTRY_ONLY outbound traffic.

istiod runs with `meshConfig.outboundTrafficPolicy.mode: REGISTRY_ONLY` (addons.py): a meshed pod's sidecar sends
traffic only to hosts the mesh knows, in-cluster Services and these entries; anything else gets a 502 from the
sidecar (istio.io, "Accessing External Services" and the ServiceEntry reference, read 2026-12).

Who calls out through a sidecar: only Triton (the serving namespace is the one with injection). It reads its model
repository from the footprint's bucket and gets its cloud identity first:
- AWS: S3 in the target's region (path and virtual-hosted style) and STS (IRSA's AssumeRoleWithWebIdentity; EKS's
  pod identity webhook sets AWS_STS_REGIONAL_ENDPOINTS=regional; the global endpoint stays for SDKs that ignore it);
- GCP: Cloud Storage's JSON API, and GKE's metadata server (Workload Identity hands out tokens at
  169.254.169.254:80 as metadata.google.internal, plain HTTP);
- Azure: Blob Storage and Entra ID's token endpoint (workload identity trades the projected token there).
The wait-for-model init container runs as Istio's proxy uid, which the redirect leaves alone (triton.py); it is
held by the namespace's NetworkPolicies instead. Remote write to the central metrics host leaves from `monitoring`,
which has no sidecars.

HTTPS entries are matched by SNI (protocol TLS, resolution NONE, which wildcard hosts need), and visible only to the
serving namespace (exportTo "."), so they open nothing for other namespaces.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.serving_stack.contract import NAMESPACE
from components.target import Cloud

NETWORKING = "networking.istio.io/v1"
GKE_METADATA_ADDRESS = "169.254.169.254"
GKE_METADATA_HOST = "metadata.google.internal"


def https_hosts(cloud: Cloud, region: str) -> list[str]:
    """The external HTTPS hosts a model server on `cloud` in `region` calls."""
    if cloud == "aws":
        return [
            f"s3.{region}.amazonaws.com",
            f"*.s3.{region}.amazonaws.com",
            f"sts.{region}.amazonaws.com",
            "sts.amazonaws.com",
        ]
    if cloud == "gcp":
        return ["storage.googleapis.com"]
    return ["*.blob.core.windows.net", "login.microsoftonline.com"]


def https_entry_spec(cloud: Cloud, region: str) -> dict[str, Any]:
    return {
        "hosts": https_hosts(cloud, region),
        "location": "MESH_EXTERNAL",
        "ports": [{"number": 443, "name": "tls", "protocol": "TLS"}],
        "resolution": "NONE",
        "exportTo": ["."],
    }


def metadata_entry_spec() -> dict[str, Any]:
    """GKE's metadata server, where Workload Identity's tokens come from (GKE only)."""
    return {
        "hosts": [GKE_METADATA_HOST],
        "addresses": [f"{GKE_METADATA_ADDRESS}/32"],
        "location": "MESH_EXTERNAL",
        "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}],
        "resolution": "STATIC",
        "endpoints": [{"address": GKE_METADATA_ADDRESS}],
        "exportTo": ["."],
    }


def service_entries(
    name: str, cloud: Cloud, region: str, opts: pulumi.ResourceOptions
) -> list[k8s.apiextensions.CustomResource]:
    """The serving namespace's external hosts; the model Deployments wait for them."""
    specs = {"cloud-apis": https_entry_spec(cloud, region)}
    if cloud == "gcp":
        specs["gke-metadata"] = metadata_entry_spec()
    return [
        k8s.apiextensions.CustomResource(
            f"{name}-egress-{entry}",
            api_version=NETWORKING,
            kind="ServiceEntry",
            metadata={"name": entry, "namespace": NAMESPACE},
            spec=spec,
            opts=opts,
        )
        for entry, spec in specs.items()
    ]
