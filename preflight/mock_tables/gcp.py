"""Plausible GCP outputs: generated names, self links, the GKE endpoint and CA, service account emails."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from preflight.mock_tables.context import InvokeTable, MockContext, Outputs, OutputTable

COMPUTE = "https://www.googleapis.com/compute/v1"
DEFAULT_REGION = "us-central1"


def _project(ctx: MockContext) -> str:
    return str(ctx.inputs.get("project") or ctx.provider_inputs.get("project") or "preflight-project")


def _region(ctx: MockContext) -> str:
    return str(ctx.inputs.get("region") or ctx.provider_inputs.get("region") or DEFAULT_REGION)


def _gcs_bucket(ctx: MockContext) -> Outputs:
    name = ctx.inputs.get("name") or ctx.auto_name()
    return {"name": name, "url": f"gs://{name}", "selfLink": f"https://www.googleapis.com/storage/v1/b/{name}"}


def _network(ctx: MockContext) -> Outputs:
    name = ctx.inputs.get("name") or ctx.auto_name()
    path = f"projects/{_project(ctx)}/global/networks/{name}"
    return {"name": name, "id": path, "selfLink": f"{COMPUTE}/{path}"}


def _regional(collection: str) -> Callable[[MockContext], Outputs]:
    """Subnetworks and routers: projects/P/regions/R/<collection>/N."""

    def outputs(ctx: MockContext) -> Outputs:
        name = ctx.inputs.get("name") or ctx.auto_name()
        path = f"projects/{_project(ctx)}/regions/{_region(ctx)}/{collection}/{name}"
        return {"name": name, "id": path, "selfLink": f"{COMPUTE}/{path}", "region": _region(ctx)}

    return outputs


def _router_nat(ctx: MockContext) -> Outputs:
    name = ctx.inputs.get("name") or ctx.auto_name()
    return {"name": name, "id": f"{_project(ctx)}/{_region(ctx)}/{ctx.inputs.get('router')}/{name}"}


def _service_account(ctx: MockContext) -> Outputs:
    email = f"{ctx.inputs.get('accountId') or ctx.name}@{_project(ctx)}.iam.gserviceaccount.com"
    unique_id = str(int(ctx.digest(12), 16)).zfill(21)[:21]
    return {
        "email": email,
        "member": f"serviceAccount:{email}",
        "name": f"projects/{_project(ctx)}/serviceAccounts/{email}",
        "uniqueId": unique_id,
    }


def _iam_member(ctx: MockContext) -> Outputs:
    return {"etag": f"BwY{ctx.digest(9)}="}


def _gke_cluster(ctx: MockContext) -> Outputs:
    name = ctx.inputs.get("name") or ctx.auto_name(max_length=40)
    location = ctx.inputs.get("location") or DEFAULT_REGION
    path = f"projects/{_project(ctx)}/locations/{location}/clusters/{name}"
    digest = int(ctx.digest(6), 16)
    pem = f"-----BEGIN CERTIFICATE-----\nMIIpreflight{ctx.digest(32)}\n-----END CERTIFICATE-----\n"
    return {
        "name": name,
        "id": path,
        "selfLink": f"https://container.googleapis.com/v1/{path}",
        "endpoint": f"34.{digest % 256}.{(digest >> 8) % 256}.{(digest >> 16) % 256}",
        "masterAuth": {
            "clusterCaCertificate": base64.b64encode(pem.encode()).decode(),
            "clientCertificateConfigs": [{"issueClientCertificate": False}],
        },
        "masterVersion": f"{ctx.inputs.get('minMasterVersion') or '1.33'}.5-gke.1080000",
    }


def _gke_node_pool(ctx: MockContext) -> Outputs:
    name = ctx.inputs.get("name") or ctx.auto_name(max_length=40)
    cluster, location = ctx.inputs.get("cluster"), ctx.inputs.get("location") or DEFAULT_REGION
    return {"name": name, "id": f"projects/{_project(ctx)}/locations/{location}/clusters/{cluster}/nodePools/{name}"}


def _zones(args: dict[str, Any]) -> Outputs:
    """Three zones, as most regions have; real regions differ (us-central1 has a, b, c and f)."""
    region = str(args.get("region") or DEFAULT_REGION)
    project = str(args.get("project") or "preflight-project")
    names = [f"{region}-{suffix}" for suffix in "abc"]
    return {"id": f"projects/{project}/regions/{region}", "names": names, "project": project, "region": region}


OUTPUTS: OutputTable = {
    "gcp:storage/bucket:Bucket": _gcs_bucket,
    "gcp:compute/network:Network": _network,
    "gcp:compute/subnetwork:Subnetwork": _regional("subnetworks"),
    "gcp:compute/router:Router": _regional("routers"),
    "gcp:compute/routerNat:RouterNat": _router_nat,
    "gcp:serviceaccount/account:Account": _service_account,
    "gcp:projects/iAMMember:IAMMember": _iam_member,
    "gcp:container/cluster:Cluster": _gke_cluster,
    "gcp:container/nodePool:NodePool": _gke_node_pool,
}
INVOKES: InvokeTable = {
    "gcp:compute/getZones:getZones": _zones,
}
