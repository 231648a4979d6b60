"""The AuditTrail contract: the same Args and outputs on every cloud."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.target import Target


@dataclass(frozen=True)
class AuditTrailArgs:
    """Who read or wrote the models, and who changed the cluster, kept for `retention_days`.

    The control-plane logs themselves are turned on by the cluster (GpuClusterArgs.control_plane_logs);
    this component adds what the cluster cannot: object-level access logs on the model bucket, a
    destination with the stack's retention, and (AKS) the diagnostic setting that ships the
    control plane's audit log there.
    """

    target: Target
    retention_days: int
    bucket_name: pulumi.Output[str]
    """The model bucket (S3 bucket, GCS bucket); on Azure the container, for the reader of the logs."""
    bucket_resource_id: pulumi.Output[str]
    """The S3 bucket ARN, the GCS bucket name, the Azure storage account id (from ModelBucket.resource_id)."""
    cluster_name: pulumi.Output[str]
    cluster_resource_id: pulumi.Output[str] | None = None
    """Azure: the AKS cluster's ARM id, which the diagnostic setting hangs off."""
    manage_project_audit_config: bool = True
    """GCP: write the project's Data Access audit config for Cloud Storage. A project's audit config is
    one per service, so only the first target in a project writes it (two would overwrite each other)."""
    retain: bool = False
    """Protect the logs' store and keep it if it leaves the program (prod)."""
    force_destroy: bool = False
    """Let `pulumi destroy` delete a log bucket that still holds logs (dev only)."""


@dataclass(frozen=True)
class AuditOutputs:
    log_location: pulumi.Output[str]
    """Where an operator reads the trail: the CloudTrail log bucket (s3://...), the Cloud Logging
    bucket's resource name, the Log Analytics workspace id."""
