"""GKE: a team's trainer service account writes its checkpoint prefix through Workload Identity Federation for GKE,
granted directly to the Kubernetes service account's principal (as the model reader is, serving_stack/identity_gcp.py).

roles/storage.objectUser (create, get, list, overwrite and delete objects) on the bucket, with an IAM condition
(GCS docs, "Use IAM Conditions on buckets", read 2026-12): an object's name `projects/_/buckets/B/objects/<prefix>...`,
or a list request whose prefix (`storage.googleapis.com/objectListPrefix`) starts with the team's prefix. Conditions
need uniform bucket-level access, which the model bucket has. The publishers' fence on GCS is additive (only those
granted may write), so this grant is the whole of the trainer's write access.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.training.identity import SERVICE_ACCOUNT, TrainerAccess, TrainerIdentity, team_prefix

ROLE = "roles/storage.objectUser"


def bind(parent: pulumi.Resource, name: str, access: TrainerAccess, team: str, namespace: str) -> TrainerIdentity:
    target = access.target
    pool = access.identity.workload_pool
    if target.gcp_project is None or pool is None:
        raise ValueError(f"target {target.name}: the training grant needs the project and the cluster's workload pool")
    found = gcp.organizations.get_project_output(project_id=target.gcp_project, opts=target.invoke_options(parent))
    grant = gcp.storage.BucketIAMMember(
        f"{name}-trainer",
        bucket=access.bucket.bucket_name,
        role=ROLE,
        member=pulumi.Output.all(found.number, pool).apply(lambda v: principal(v[0], v[1], namespace)),
        condition=access.bucket.bucket_name.apply(
            lambda bucket: {
                "title": f"checkpoints-{team}",
                "description": f"{namespace}/{SERVICE_ACCOUNT} writes under {team_prefix(team)} only",
                "expression": prefix_condition(bucket, team_prefix(team)),
            }
        ),
        opts=target.child_options(parent),
    )
    return TrainerIdentity(resources=[grant])


def prefix_condition(bucket: str, prefix: str) -> str:
    """Objects under the prefix, and lists of it (CEL, as GCS evaluates it)."""
    return (
        f'resource.name.startsWith("projects/_/buckets/{bucket}/objects/{prefix}")'
        f' || api.getAttribute("storage.googleapis.com/objectListPrefix", "").startsWith("{prefix}")'
    )


def principal(project_number: str, workload_pool: str, namespace: str) -> str:
    """The IAM principal of the namespace's trainer service account (GKE docs, "Workload Identity Federation for
    GKE", principal identifiers)."""
    if not project_number.isdigit():
        raise ValueError(f"not a GCP project number: {project_number!r}")
    return (
        f"principal://iam.googleapis.com/projects/{project_number}/locations/global/"
        f"workloadIdentityPools/{workload_pool}/subject/ns/{namespace}/sa/{SERVICE_ACCOUNT}"
    )
