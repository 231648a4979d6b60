"""GCS buckets for the model sync: Workload Identity Federation, granted on the bucket only, no key anywhere.

- Primary on GKE: the job's Kubernetes service account is a principal of the cluster's workload pool
  (`.../workloadIdentityPools/<project>.svc.id.goog/subject/ns/model-sync/sa/model-sync`); rclone's env_auth reaches
  it through the GKE metadata server, as Triton does (serving_stack/identity_gcp.py). It gets
  roles/storage.objectViewer on the primary's bucket and roles/storage.objectUser on each GCP replica's.
- Primary elsewhere (EKS, AKS): per GCP replica, a workload identity pool and an OIDC provider for the primary's
  issuer in the replica's project, which only admits tokens whose `sub` is the job's service account
  (attribute condition), and roles/storage.objectUser on the bucket for that one subject
  (`principal://.../workloadIdentityPools/<pool>/subject/system:serviceaccount:model-sync:model-sync`). The job
  trades a projected token (audience: the provider, its default allowed audience) at Google's STS through an
  `external_account` credential file that GOOGLE_APPLICATION_CREDENTIALS names for that replica's rclone calls
  (direct resource access: no service account to impersonate).

roles/storage.objectUser (create, delete, get, list, update objects and multipart uploads; no IAM, no ACLs) is the
narrowest predefined role rclone's sync can write with: overwriting an object needs storage.objects.delete too.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.global_names import unique_name
from components.model_sync.contract import CONFIG_DIR, NAMESPACE, SERVICE_ACCOUNT, SUBJECT, Access, SyncBucket, Token
from components.model_sync.rclone import gcp_external_account
from components.rclone import gcs_remote

READER_ROLE = "roles/storage.objectViewer"
WRITER_ROLE = "roles/storage.objectUser"
ENV_AUTH = {"env_auth": "true"}  # Google's default credentials: the metadata server, or the file the env names
STS_MAPPING = {"google.subject": "assertion.sub"}  # the principal:// subject is the token's `sub`


def _project_number(parent: pulumi.Resource, bucket: SyncBucket) -> pulumi.Output[str]:
    project = bucket.target.gcp_project
    if project is None:
        raise ValueError(f"target {bucket.target.name}: a GCP target needs its project")
    found = gcp.organizations.get_project_output(project_id=project, opts=bucket.target.invoke_options(parent))
    return found.number


def gke_principal(project_number: str, workload_pool: str) -> str:
    """The GKE workload pool's principal for the job's Kubernetes service account."""
    return (
        f"principal://iam.googleapis.com/projects/{project_number}/locations/global/"
        f"workloadIdentityPools/{workload_pool}/subject/ns/{NAMESPACE}/sa/{SERVICE_ACCOUNT}"
    )


def federated_principal(project_number: str, pool_id: str) -> str:
    """A federated pool's principal for one `google.subject` (cloud.google.com/iam/docs/principal-identifiers)."""
    return (
        f"principal://iam.googleapis.com/projects/{project_number}/locations/global/"
        f"workloadIdentityPools/{pool_id}/subject/{SUBJECT}"
    )


def provider_audience(project_number: str, pool_id: str, provider_id: str) -> str:
    """The provider's canonical name, which an OIDC provider without allowed_audiences accepts as `aud`."""
    return (
        f"//iam.googleapis.com/projects/{project_number}/locations/global/"
        f"workloadIdentityPools/{pool_id}/providers/{provider_id}"
    )


def gke_access(
    parent: pulumi.Resource, name: str, bucket: SyncBucket, workload_pool: pulumi.Output[str], *, writer: bool
) -> Access:
    """A bucket grant for the GKE primary's own principal (the primary's bucket, or a GCP replica's)."""
    project_number = _project_number(parent, bucket)
    member = pulumi.Output.all(project_number, workload_pool).apply(lambda v: gke_principal(v[0], v[1]))
    grant = gcp.storage.BucketIAMMember(
        name,
        bucket=bucket.bucket_name,
        role=WRITER_ROLE if writer else READER_ROLE,
        member=member,
        opts=bucket.target.child_options(parent),
    )
    target = bucket.target.name
    return Access(
        remote=bucket.bucket_name.apply(lambda bucket_name: gcs_remote(target, bucket_name, ENV_AUTH)),
        resources=[grant],
    )


def federated_writer(parent: pulumi.Resource, name: str, bucket: SyncBucket, issuer_url: pulumi.Input[str]) -> Access:
    """A pool and OIDC provider for the primary's issuer in the replica's project, and the bucket grant."""
    target = bucket.target
    opts = target.child_options(parent)
    project_number = _project_number(parent, bucket)
    # Pool and provider ids: 4-32 of [a-z0-9-], and a deleted id stays taken for 30 days, so a random suffix
    # kept in state (never a name a later stack would repeat).
    pool = gcp.iam.WorkloadIdentityPool(
        f"{name}-pool",
        project=target.gcp_project,
        workload_identity_pool_id=unique_name(parent, f"{name}-pool", "model-sync-", 8),
        display_name="model sync",
        description="The primary cluster's model sync job writes this project's model bucket",
        opts=opts,
    )
    provider = gcp.iam.WorkloadIdentityPoolProvider(
        f"{name}-oidc",
        project=target.gcp_project,
        workload_identity_pool_id=pool.workload_identity_pool_id,
        workload_identity_pool_provider_id=unique_name(parent, f"{name}-oidc", "primary-", 8),
        display_name="primary cluster",
        attribute_mapping=STS_MAPPING,
        # Only the sync job's service account of the primary cluster gets in; any other token is refused at STS.
        attribute_condition=f"assertion.sub == '{SUBJECT}'",
        oidc={"issuer_uri": issuer_url},
        opts=opts,
    )
    grant = gcp.storage.BucketIAMMember(
        name,
        bucket=bucket.bucket_name,
        role=WRITER_ROLE,
        member=pulumi.Output.all(project_number, pool.workload_identity_pool_id).apply(
            lambda v: federated_principal(v[0], v[1])
        ),
        opts=opts,
    )
    audience = pulumi.Output.all(
        project_number, pool.workload_identity_pool_id, provider.workload_identity_pool_provider_id
    ).apply(lambda v: provider_audience(v[0], v[1], v[2]))
    token = Token(f"google/{target.name}/token", audience.apply(lambda aud: f"https:{aud}"))
    credential_file = f"google-{target.name}.json"  # an external_account credential configuration
    return Access(
        remote=bucket.bucket_name.apply(
            lambda bucket_name: gcs_remote(
                target.name,
                bucket_name,
                ENV_AUTH,
                {"GOOGLE_APPLICATION_CREDENTIALS": f"{CONFIG_DIR}/{credential_file}"},
            )
        ),
        files={credential_file: audience.apply(lambda aud: gcp_external_account(aud, token.file))},
        tokens=[token],
        resources=[pool, provider, grant],
    )
