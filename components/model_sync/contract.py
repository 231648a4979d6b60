"""The ModelSync contract: the primary bucket, the replicas, and what each cloud's identity hands the CronJob."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.gpu_cluster.contract import WorkloadIdentity
from components.oidc_providers import OidcProviders
from components.rclone import Remote
from components.target import Target

NAMESPACE = "model-sync"
SERVICE_ACCOUNT = "model-sync"
SUBJECT = f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"  # the `sub` of the job's projected tokens
DEFAULT_SCHEDULE = "*/10 * * * *"


def writer_role_path(target: str) -> str:
    """The IAM path of the role that writes an AWS replica's bucket: that bucket's policy exempts roles under it from
    its write fence (ModelBucketArgs.sync_writers), with no edge from the bucket to ModelSync or the primary."""
    return f"/mlplatform/model-sync/{target}/"


CONFIG_DIR = "/etc/model-sync"  # the ConfigMap: rclone.conf, sync.sh, aws-config, google-<target>.json
TOKEN_DIR = "/var/run/secrets/model-sync"  # projected service account tokens, one per audience


@dataclass(frozen=True)
class SyncBucket:
    """One target's ModelBucket, as the sync reaches it (the same facts ServingStack's reader grant uses)."""

    target: Target
    bucket_name: pulumi.Output[str]  # S3/GCS bucket, Azure container
    resource_id: pulumi.Output[str]  # S3 ARN, GCS bucket, Azure storage account id
    encryption_key_arn: pulumi.Output[str] | None = None  # AWS: the bucket's KMS key


@dataclass(frozen=True)
class ModelSyncArgs:
    """One writer (the primary's bucket, where models are published) and the replicas it keeps identical."""

    primary: SyncBucket
    replicas: tuple[SyncBucket, ...]
    k8s_provider: k8s.Provider
    """The primary cluster's provider: the CronJob runs there."""
    cluster_identity: WorkloadIdentity
    """The primary cluster's OIDC issuer (and IRSA provider on EKS, workload pool on GKE)."""
    oidc_providers: OidcProviders
    """The stack's IAM OIDC providers, one per cluster issuer (AWS allows one per URL per account): an AWS replica's
    writer role trusts the one for the primary's issuer, made by the model sync only if no one has it yet."""
    schedule: str = DEFAULT_SCHEDULE
    image: str | None = None
    """None: the pinned rclone image (components/rclone.py)."""
    public_key: str | None = None
    """The publishers' Ed25519 public key (base64): only versions whose manifest's signature verifies are copied.
    None: every complete version is copied (dev without `mlplatform:modelPublishing`)."""


@dataclass(frozen=True)
class Token:
    """A projected service account token the pod gets: `<TOKEN_DIR>/<path>`, for one audience."""

    path: str
    audience: pulumi.Input[str]

    @property
    def file(self) -> str:
        return f"{TOKEN_DIR}/{self.path}"


@dataclass(frozen=True)
class Access:
    """How the job reaches one bucket, from one cloud's identity module."""

    remote: pulumi.Output[Remote]
    aws_profile: pulumi.Output[tuple[str, str, str]] | None = None
    """(profile, role ARN, region) for the AWS config file, on AWS."""
    files: dict[str, pulumi.Output[str]] = field(default_factory=dict)
    """More ConfigMap files (GCP credential configurations), by key."""
    tokens: list[Token] = field(default_factory=list)
    pod_env: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    """Environment for the whole pod (the primary's own identity where it is process-wide: AKS)."""
    resources: list[pulumi.Resource] = field(default_factory=list)
    """Cloud-side resources (roles, grants) the CronJob waits for, so its first run is not refused."""
