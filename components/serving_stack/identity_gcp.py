"""GKE: the model server reads the GCS model bucket through Workload Identity Federation for GKE,
granted directly to the Kubernetes service account (no Google service account, no key).

Why direct federation and not a Google service account to impersonate: Triton's GCS client
(google-cloud-cpp ComputeEngineCredentials, chosen when no credential file is set:
triton-inference-server/core src/filesystem/implementations/gcs.h) asks the GKE metadata
server for `service-accounts/default/` and then for that account's token. Without the
`iam.gke.io/gcp-service-account` annotation the metadata server answers with the federated
identity `<project>.svc.id.goog` and serves its token, which Cloud Storage accepts for
`principal://` members of a bucket's IAM policy. So the client works either way, and direct
federation needs fewer moving parts: no service account, no impersonation grant, no
annotation, and the grant itself names `serving/triton` (the KSA) rather than a proxy.

The grant is two bucket-level roles on this bucket only:
- roles/storage.objectViewer: storage.objects.get and storage.objects.list (read the models);
- roles/storage.legacyBucketReader: storage.buckets.get (+ objects.list). Triton calls
  GetBucketMetadata before it lists a directory (gcs.h, IsDirectory) and fails with "Could not
  get MetaData for bucket" without it (triton-inference-server/server#2253); objectViewer does
  not carry storage.buckets.get. Legacy *bucket* roles may be granted on uniform-access buckets.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.rclone import gcs_remote
from components.serving_stack.contract import (
    NAMESPACE,
    READER_REMOTE,
    SERVICE_ACCOUNT,
    ReaderIdentity,
    ServingStackArgs,
)

# rclone (the pods' init step) asks the GKE metadata server too, through Google's default credentials.
RCLONE_AUTH = {"env_auth": "true"}
READER_ROLES = {
    "objects": "roles/storage.objectViewer",
    "bucket": "roles/storage.legacyBucketReader",
}


def bind(parent: pulumi.Resource, name: str, args: ServingStackArgs) -> ReaderIdentity:
    """Read-only roles on the footprint's bucket for the principal that is `serving/triton`."""
    project = args.target.gcp_project
    if project is None:
        raise ValueError(f"target {args.target.name}: a GCP target needs its project")
    pool = args.identity.workload_pool
    if pool is None:
        raise ValueError(f"target {args.target.name}: GKE workload identity needs the cluster's workload pool")

    # The principal names the project by number; the provider's own credentials look it up.
    found = gcp.organizations.get_project_output(project_id=project, opts=args.target.invoke_options(parent))
    member = pulumi.Output.all(found.number, pool).apply(lambda values: principal(values[0], values[1]))
    grants: list[pulumi.Resource] = [
        gcp.storage.BucketIAMMember(
            f"{name}-reader-{purpose}",
            bucket=args.bucket.bucket_name,
            role=role,
            member=member,
            opts=args.target.child_options(parent),
        )
        for purpose, role in READER_ROLES.items()
    ]
    return ReaderIdentity(
        remote=args.bucket.bucket_name.apply(lambda bucket: gcs_remote(READER_REMOTE, bucket, RCLONE_AUTH)),
        resources=grants,
    )


def principal(project_number: str, workload_pool: str) -> str:
    """The IAM principal of one Kubernetes service account in the project's GKE workload pool.

    Format: cloud.google.com/kubernetes-engine/docs/how-to/workload-identity (principal identifiers).
    """
    if not project_number.isdigit():
        raise ValueError(f"not a GCP project number: {project_number!r}")
    return (
        f"principal://iam.googleapis.com/projects/{project_number}/locations/global/"
        f"workloadIdentityPools/{workload_pool}/subject/ns/{NAMESPACE}/sa/{SERVICE_ACCOUNT}"
    )
