"""Azure: a Log Analytics workspace keeping the AKS audit log and the model account's blob access log.

AKS writes its control-plane logs only through a diagnostic setting on the cluster. kube-audit-admin
is the audit log without get and list (every change, far less volume than kube-audit), guard the Entra
ID and Azure RBAC decisions ("Monitor AKS", AKS docs; PSRule Azure.AKS.AuditLogs, read 2026-12).
Storage writes StorageRead, StorageWrite and StorageDelete for the blob service only through a diagnostic
setting on that service (`<account id>/blobServices/default`). Resource-specific tables (AKSAuditAdmin,
StorageBlobLogs) keep them queryable by column. The workspace's retention is the trail's: 30 to 730 days
on PerGB2018; ingestion is billed per GB (pricing/data/prices.yaml leaves logs unpriced, docs/OPERATIONS.md).
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import monitor, operationalinsights

from components.audit.contract import AuditOutputs, AuditTrailArgs

CLUSTER_LOG_CATEGORIES = ("kube-audit-admin", "guard")
BLOB_LOG_CATEGORIES = ("StorageRead", "StorageWrite", "StorageDelete")


def build(parent: pulumi.ComponentResource, name: str, args: AuditTrailArgs) -> AuditOutputs:
    target = args.target
    opts = target.child_options(parent)
    workspace = operationalinsights.Workspace(
        f"{name}-logs",
        resource_group_name=target.require_resource_group(),
        location=target.region,
        sku={"name": "PerGB2018"},
        retention_in_days=args.retention_days,
        opts=target.child_options(parent, keep=args.retain),
    )
    if args.cluster_resource_id is not None:
        monitor.DiagnosticSetting(
            f"{name}-cluster",
            name="audit",
            resource_uri=args.cluster_resource_id,
            workspace_id=workspace.id,
            log_analytics_destination_type="Dedicated",
            logs=[{"category": category, "enabled": True} for category in CLUSTER_LOG_CATEGORIES],
            opts=opts,
        )
    monitor.DiagnosticSetting(
        f"{name}-blobs",
        name="audit",
        resource_uri=pulumi.Output.concat(args.bucket_resource_id, "/blobServices/default"),
        workspace_id=workspace.id,
        log_analytics_destination_type="Dedicated",
        logs=[{"category": category, "enabled": True} for category in BLOB_LOG_CATEGORIES],
        opts=opts,
    )
    return AuditOutputs(log_location=workspace.id)
