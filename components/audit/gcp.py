"""GCP: Data Access audit logs for Cloud Storage, and a log bucket that keeps the trail as long as configured.

Cloud Storage writes Data Access audit logs (who read, wrote or deleted an object) only when the
project's audit config asks for them: DATA_READ and DATA_WRITE for storage.googleapis.com.
`gcp.projects.IAMAuditConfig` is authoritative for one service in one project: it replaces the
project's audit config for Cloud Storage (its log types and exempted members), leaves every other
service alone, and is unioned with any `allServices` config and with configs set on the folder or
organization above (IAM AuditConfig docs, read 2026-12). A project shared with other teams therefore
gets Cloud Storage data access logs for all its buckets; docs/SECURITY.md says so.

GKE's control-plane audit trail needs nothing here: Admin Activity audit logs (every change through
the Kubernetes API) are always written and kept 400 days in the project's _Required bucket, free;
the cluster adds its API server logs by its logging components (components/gpu_cluster/gcp.py).

Data Access logs land in the _Default bucket (30 days). A sink copies those of the model bucket, and
the cluster's audit logs, into a log bucket of the trail's own with the configured retention; the
_Default bucket's retention is left as it is, being the project's, not this program's.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.audit.contract import AuditOutputs, AuditTrailArgs

STORAGE_SERVICE = "storage.googleapis.com"
DATA_ACCESS_LOG_TYPES = ("DATA_READ", "DATA_WRITE")


def build(parent: pulumi.ComponentResource, name: str, args: AuditTrailArgs) -> AuditOutputs:
    target = args.target
    project = target.gcp_project
    opts = target.child_options(parent)
    if args.manage_project_audit_config:
        gcp.projects.IAMAuditConfig(
            f"{name}-storage-data-access",
            project=project,
            service=STORAGE_SERVICE,
            audit_log_configs=[{"log_type": log_type} for log_type in DATA_ACCESS_LOG_TYPES],
            opts=opts,
        )
    logs = gcp.logging.ProjectBucketConfig(
        f"{name}-logs",
        project=project,
        location=target.region,
        bucket_id=name,  # 1-100 characters: letters, digits, _ and -; unique per project and location
        retention_days=args.retention_days,
        description="Audit logs of the model bucket and the cluster, kept as mlplatform:audit says",
        opts=target.child_options(parent, keep=args.retain),
    )
    gcp.logging.ProjectSink(
        f"{name}-sink",
        project=project,
        destination=pulumi.Output.concat("logging.googleapis.com/", logs.id),
        filter=pulumi.Output.all(args.bucket_name, args.cluster_name).apply(lambda v: audit_filter(*v)),
        # A log bucket in the sink's own project needs no grant to the sink's writer identity.
        unique_writer_identity=True,
        description="Copies the model bucket's and the cluster's audit logs into the audit log bucket",
        opts=opts,
    )
    return AuditOutputs(log_location=logs.id)


def audit_filter(bucket: str, cluster: str) -> str:
    """Cloud Audit Logs of this bucket's objects and of this cluster's Kubernetes API, in the Logging query language."""
    return (
        'logName:"cloudaudit.googleapis.com" AND ('
        f'(resource.type="gcs_bucket" AND resource.labels.bucket_name="{bucket}") OR '
        f'(resource.type="k8s_cluster" AND resource.labels.cluster_name="{cluster}"))'
    )
