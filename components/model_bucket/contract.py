"""The ModelBucket contract: the same Args and outputs on every cloud."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from components.target import Target


@dataclass(frozen=True)
class ModelBucketArgs:
    """Where model repositories live. Defaults are safe: nothing is force-deleted."""

    target: Target
    noncurrent_version_days: int = 30
    """Days an overwritten or deleted model file stays recoverable before it expires."""
    force_destroy: bool = False
    """Let `pulumi destroy` delete a bucket that still holds objects (dev only)."""
    retain: bool = False
    """Protect the bucket in Pulumi and keep it in the cloud if it leaves the program (prod)."""
    zone_redundant: bool = False
    """Replicate across zones where the cloud makes that a choice (Azure ZRS)."""
    publishers: tuple[str, ...] = ()
    """Who may publish model versions here, in the bucket's cloud's form (an IAM role ARN; a GCP IAM member; an Entra
    object id, `group:`/`user:` prefixed for those kinds). Each gets the narrowest write grant its cloud has."""
    restrict_writes: bool = False
    """Fence object writes to `publishers` and `sync_writers` only. AWS: a bucket-policy Deny for every other
    principal (IAM grants elsewhere in the account cannot override it). GCP and Azure grants are additive: there only
    the identities granted here and by the model sync may write (docs/SECURITY.md, "Model integrity")."""
    sync_writers: pulumi.Input[Sequence[str]] | None = None
    """AWS: the model sync's writer role(s) for this bucket (a replica), exempt from the Deny."""
    checkpoint_writers: tuple[str, ...] = ()
    """AWS: role ARN patterns (the training roles' path, components/training/identity.py) the write fence lets write
    under `checkpoint_prefix` and nowhere else. GCP and Azure grant the trainers on the prefix themselves."""
    checkpoint_prefix: str = "checkpoints"
    lock_days: int = 0
    """AWS: S3 Object Lock default retention in GOVERNANCE mode; 0: no lock. Every object version written stays
    undeletable for that long (a new version may still be put over it; the old one stays)."""


@dataclass(frozen=True)
class BucketOutputs:
    uri: pulumi.Output[str]
    """The bucket as its cloud names it: s3://B, gs://B, https://A.blob.core.windows.net/C."""
    serving_uri: pulumi.Output[str]
    """The model repository as Triton reads it: s3://B, gs://B, as://A/C."""
    bucket_name: pulumi.Output[str]
    """The bucket (or Azure container) name, for grants and sync jobs."""
    resource_id: pulumi.Output[str]
    """What a cloud IAM grant points at: the S3 ARN, the GCS bucket, the storage account id."""
    encryption_key_arn: pulumi.Output[str] | None = None
    """AWS: the customer KMS key; a reader needs kms:Decrypt on it. None where the cloud's key suffices."""
