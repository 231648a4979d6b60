"""The training identity: what lets a team's jobs write checkpoints under `checkpoints/<team>/` of the target's model
bucket, and nothing else there (docs/SECURITY.md, "Model integrity"; docs/TRAINING.md, "The checkpoint contract").

One cloud identity per team and target, federated to the team's `train-<team>/trainer` service account by the
cluster's OIDC issuer, the way the model reader is (components/serving_stack/identity_<cloud>.py):
- EKS: an IAM role under the path /mlplatform/training/<target>/ trusting only that service account (IRSA), with
  read, write and list on the team's prefix; the bucket's write fence lets roles under that path write under
  `checkpoints/` only (components/model_bucket/aws.py);
- GKE: the service account's Workload Identity principal gets roles/storage.objectUser on the bucket with an IAM
  condition on the object name (and the list prefix), so nothing outside the team's prefix;
- AKS: a user-assigned identity with a federated credential for that service account, Storage Blob Data Contributor
  on the models container with an ABAC condition on the blob path (and the list prefix).
Per cloud: identity_aws.py, identity_gcp.py, identity_azure.py; the jobs get the service account's annotation, the
pod labels and environment the cloud's webhook or SDK needs (the `trainingOffers` output, rendered by the client).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi

from components.gpu_cluster.contract import WorkloadIdentity
from components.per_cloud import implementation
from components.serving_stack.contract import BucketAccess
from components.target import Cloud, Target

SERVICE_ACCOUNT = "trainer"
"""The service account a team's jobs run as, in its namespace (components/training makes one per team)."""
CHECKPOINT_PREFIX = "checkpoints"
"""Under the target's model bucket: checkpoints/<team>/<job>/..."""
TRAINING_ROLE_PATH = "/mlplatform/training/"
MODULES: dict[Cloud, str] = {
    "aws": "components.training.identity_aws",
    "gcp": "components.training.identity_gcp",
    "azure": "components.training.identity_azure",
}


def team_prefix(team: str) -> str:
    """The object-name prefix a team's jobs may write: `checkpoints/<team>/` (the slash keeps `ml` off `ml2`)."""
    return f"{CHECKPOINT_PREFIX}/{team}/"


def role_path(target: str) -> str:
    """AWS: the IAM path of a target's training roles, which the bucket's write fence names (ArnLike)."""
    return f"{TRAINING_ROLE_PATH}{target}/"


def role_pattern(target: str) -> str:
    """Every training role of a target, in any account (only this account's roles are granted anything on the
    bucket): what the bucket policy lets write under `checkpoints/` only, without waiting on the roles."""
    return f"arn:aws:iam::*:role{role_path(target)}*"


@dataclass(frozen=True)
class TrainerAccess:
    """What the training identity needs: the target, the cluster's workload identity facts and the bucket."""

    target: Target
    identity: WorkloadIdentity
    bucket: BucketAccess


@dataclass(frozen=True)
class TrainerIdentity:
    """One team's identity as its service account and its jobs' pods carry it."""

    service_account_annotations: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    pod_labels: dict[str, str] = field(default_factory=dict)
    """Labels the cloud's webhook needs on each pod (AKS: azure.workload.identity/use)."""
    env: dict[str, str] = field(default_factory=dict)
    """Environment the cloud SDKs need (AWS: the region)."""
    resources: Sequence[pulumi.Resource] = ()


def bind(parent: pulumi.Resource, name: str, access: TrainerAccess, team: str, namespace: str) -> TrainerIdentity:
    """The team's identity on the target's cloud."""
    module = implementation("training identity", MODULES, access.target.cloud)
    identity: TrainerIdentity = module.bind(parent, name, access, team, namespace)
    return identity
