"""Plausible GCP outputs: generated names, self links, the GKE endpoint and CA, service account emails,
Artifact Registry paths, private service access ranges and Cloud SQL private addresses."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

from preflight.mock_tables.context import InvokeTable, MockContext, Outputs, OutputTable

COMPUTE = "https://www.googleapis.com/compute/v1"
DEFAULT_REGION = "us-central1"
SQL_AGENTS = "gcp-sa-cloud-sql.iam.gserviceaccount.com"


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


def _project_info(args: dict[str, Any]) -> Outputs:
    """getProject: a stable 12-digit project number derived from the project id."""
    project = str(args.get("projectId") or "preflight-project")
    number = str(100000000000 + int(hashlib.sha1(project.encode()).hexdigest()[:10], 16) % 900000000000)
    return {"id": f"projects/{project}", "projectId": project, "name": project, "number": number}


def _artifact_repository(ctx: MockContext) -> Outputs:
    location = str(ctx.inputs.get("location") or _region(ctx))
    repository = ctx.inputs.get("repositoryId") or ctx.auto_name()
    path = f"projects/{_project(ctx)}/locations/{location}/repositories/{repository}"
    return {
        "id": path,
        "name": repository,
        "project": _project(ctx),
        "location": location,
        "registryUri": f"{location}-docker.pkg.dev/{_project(ctx)}/{repository}",
        "createTime": "2025-01-01T00:00:00Z",
    }


def _global_address(ctx: MockContext) -> Outputs:
    """A reserved range Google picked: a free block of 10/8 of the asked prefix length."""
    name = ctx.inputs.get("name") or ctx.auto_name()
    path = f"projects/{_project(ctx)}/global/addresses/{name}"
    return {
        "name": name,
        "id": path,
        "selfLink": f"{COMPUTE}/{path}",
        "address": f"10.{100 + int(ctx.digest(2), 16) % 100}.0.0",
        "project": _project(ctx),
    }


def _psa_connection(ctx: MockContext) -> Outputs:
    network = str(ctx.inputs.get("network") or "default").rsplit("/", 1)[-1]
    service = ctx.inputs.get("service") or "servicenetworking.googleapis.com"
    return {"id": f"{network}:{service}", "peering": str(service).split(".")[0] + "-googleapis-com"}


_MOCK_CA_PEM = "-----BEGIN CERTIFICATE-----\nbW9jayBzZXJ2ZXIgQ0E=\n-----END CERTIFICATE-----\n"


def _sql_instance(ctx: MockContext) -> Outputs:
    """A private-only server: its address sits in the peered range, no public IP."""
    name = ctx.inputs.get("name") or ctx.auto_name(max_length=98)
    digest = int(ctx.digest(4), 16)
    private_ip = f"10.{100 + digest % 100}.{(digest >> 8) % 16}.{2 + (digest >> 12) % 250}"
    project, region = _project(ctx), _region(ctx)
    return {
        "name": name,
        "id": name,
        "connectionName": f"{project}:{region}:{name}",
        "privateIpAddress": private_ip,
        "ipAddresses": [{"ipAddress": private_ip, "type": "PRIVATE"}],
        "selfLink": f"https://sqladmin.googleapis.com/sql/v1beta4/projects/{project}/instances/{name}",
        "serviceAccountEmailAddress": f"p{int(ctx.digest(10), 16) % 10**12}-{ctx.digest(6)}@{SQL_AGENTS}",
        # The server CA(s) the instance reports; a placeholder PEM (clients put the real one in their CA file).
        "serverCaCerts": [{"cert": _MOCK_CA_PEM, "commonName": f"mock server CA {region}", "sha1Fingerprint": digest}],
    }


def _sql_database(ctx: MockContext) -> Outputs:
    name, instance = ctx.inputs.get("name") or ctx.name, ctx.inputs.get("instance")
    path = f"projects/{_project(ctx)}/instances/{instance}/databases/{name}"
    return {"name": name, "id": path, "selfLink": f"https://sqladmin.googleapis.com/sql/v1beta4/{path}"}


def _sql_user(ctx: MockContext) -> Outputs:
    """The provider's id for a PostgreSQL user is NAME//INSTANCE (no host)."""
    name = ctx.inputs.get("name") or ctx.name
    return {"name": name, "id": f"{name}//{ctx.inputs.get('instance')}"}


def _project_service(ctx: MockContext) -> Outputs:
    """An enabled API: the provider's id is PROJECT/SERVICE."""
    return {"id": f"{_project(ctx)}/{ctx.inputs.get('service')}", "project": _project(ctx)}


def _service_identity(ctx: MockContext) -> Outputs:
    """A service agent: service-<project number>@gcp-sa-<service>.iam.gserviceaccount.com."""
    number = _project_info({"projectId": _project(ctx)})["number"]
    service = str(ctx.inputs.get("service", "service")).split(".")[0]
    agent = SQL_AGENTS if service == "sqladmin" else f"gcp-sa-{service}.iam.gserviceaccount.com"
    email = f"service-{number}@{agent}"
    return {"email": email, "member": f"serviceAccount:{email}"}


def _log_bucket(ctx: MockContext) -> Outputs:
    """A Cloud Logging bucket's id is its resource name, which a sink's destination is made from."""
    bucket = ctx.inputs.get("bucketId") or ctx.auto_name()
    path = f"projects/{_project(ctx)}/locations/{ctx.inputs.get('location', 'global')}/buckets/{bucket}"
    return {"id": path, "name": path}


OUTPUTS: OutputTable = {
    "gcp:projects/service:Service": _project_service,
    "gcp:storage/bucket:Bucket": _gcs_bucket,
    "gcp:compute/network:Network": _network,
    "gcp:compute/subnetwork:Subnetwork": _regional("subnetworks"),
    "gcp:compute/router:Router": _regional("routers"),
    "gcp:compute/routerNat:RouterNat": _router_nat,
    "gcp:serviceaccount/account:Account": _service_account,
    "gcp:projects/iAMMember:IAMMember": _iam_member,
    "gcp:container/cluster:Cluster": _gke_cluster,
    "gcp:container/nodePool:NodePool": _gke_node_pool,
    "gcp:storage/bucketIAMMember:BucketIAMMember": _iam_member,
    "gcp:artifactregistry/repository:Repository": _artifact_repository,
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": _iam_member,
    "gcp:compute/globalAddress:GlobalAddress": _global_address,
    "gcp:servicenetworking/connection:Connection": _psa_connection,
    "gcp:sql/databaseInstance:DatabaseInstance": _sql_instance,
    "gcp:sql/database:Database": _sql_database,
    "gcp:sql/user:User": _sql_user,
    "gcp:logging/projectBucketConfig:ProjectBucketConfig": _log_bucket,
    "gcp:projects/serviceIdentity:ServiceIdentity": _service_identity,
}
INVOKES: InvokeTable = {
    "gcp:compute/getZones:getZones": _zones,
    "gcp:organizations/getProject:getProject": _project_info,
}
