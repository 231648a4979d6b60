"""Azure implementation: a locked-down StorageV2 account and a private container.

Shared-key access is off, so readers authenticate with Entra ID (workload identity); that
is also why Triton reads it as as://ACCOUNT/CONTAINER through the default credential chain.

Publishers get Storage Blob Data Contributor on the container only (role assignments are additive: there is no
user-made deny; a principal with a data role at the account, group or subscription scope also writes). With shared
keys off, management roles such as Owner or Contributor cannot write blobs without a data role.

Retained accounts (prod) also carry a CanNotDelete management lock: Pulumi's protect guards only
this program, the lock guards the account (and its containers) against anyone, including a
deletion of the resource group. The lock sits on the account, not the group: a group lock would be
inherited by the cluster's pools and subnets and block every replacement Pulumi makes there.
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization, storage

from components.azure_lock import delete_lock
from components.global_names import unique_name
from components.model_bucket.contract import BucketOutputs, ModelBucketArgs

CONTAINER = "models"
MAX_SOFT_DELETE_DAYS = 365  # Azure's limit for blob and container soft delete
BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"  # Storage Blob Data Contributor (built-in roles, storage)
# A publisher's kind, from its config prefix: none (a service principal or managed identity), group: or user:.
PRINCIPAL_TYPES = {
    "": authorization.PrincipalType.SERVICE_PRINCIPAL,
    "group": authorization.PrincipalType.GROUP,
    "user": authorization.PrincipalType.USER,
}


def build(parent: pulumi.ComponentResource, name: str, args: ModelBucketArgs) -> BucketOutputs:
    target = args.target
    resource_group = target.require_resource_group()
    opts = target.child_options(parent)
    kept = target.child_options(parent, keep=args.retain)

    # Account names are global, 3-24 lowercase letters and digits: a stable random suffix.
    account_name = unique_name(parent, name, "models", 12)
    account = storage.StorageAccount(
        name,
        account_name=account_name,
        resource_group_name=resource_group,
        location=target.region,
        kind="StorageV2",
        sku={"name": "Standard_ZRS" if args.zone_redundant else "Standard_LRS"},
        access_tier=storage.AccessTier.HOT,
        enable_https_traffic_only=True,
        minimum_tls_version="TLS1_2",
        allow_blob_public_access=False,
        allow_shared_key_access=False,
        default_to_o_auth_authentication=True,
        allow_cross_tenant_replication=False,
        encryption={
            "key_source": "Microsoft.Storage",
            "require_infrastructure_encryption": True,
            "services": {"blob": {"enabled": True, "key_type": "Account"}},
        },
        opts=kept,
    )
    if args.retain:
        # Blobs stay deletable: versioning and soft delete cover those.
        delete_lock(parent, name, target, account.id, "the model bucket is retained")
    soft_delete_days = min(args.noncurrent_version_days, MAX_SOFT_DELETE_DAYS)
    storage.BlobServiceProperties(
        f"{name}-blob-service",
        account_name=account.name,
        resource_group_name=resource_group,
        blob_services_name="default",
        is_versioning_enabled=True,
        delete_retention_policy={"enabled": True, "days": soft_delete_days},
        container_delete_retention_policy={"enabled": True, "days": soft_delete_days},
        opts=opts,
    )
    container = storage.BlobContainer(
        f"{name}-container",
        account_name=account.name,
        resource_group_name=resource_group,
        container_name=CONTAINER,
        public_access=storage.PublicAccess.NONE,
        opts=kept,
    )
    for index, publisher in enumerate(args.publishers):
        kind, _, object_id = publisher.rpartition(":")
        authorization.RoleAssignment(
            f"{name}-publisher-{index}",
            principal_id=object_id,
            principal_type=PRINCIPAL_TYPES[kind],
            role_definition_id=account.id.apply(lambda account_id: _role_definition(account_id, BLOB_CONTRIBUTOR)),
            scope=container.id,
            opts=opts,
        )
    storage.ManagementPolicy(
        f"{name}-lifecycle",
        account_name=account.name,
        resource_group_name=resource_group,
        management_policy_name="default",
        policy={
            "rules": [
                {
                    "name": "expire-noncurrent-versions",
                    "enabled": True,
                    "type": "Lifecycle",
                    "definition": {
                        "filters": {"blob_types": ["blockBlob"]},
                        "actions": {
                            "version": {"delete": {"days_after_creation_greater_than": args.noncurrent_version_days}}
                        },
                    },
                }
            ]
        },
        opts=opts,
    )

    return BucketOutputs(
        uri=pulumi.Output.concat("https://", account.name, ".blob.core.windows.net/", container.name),
        serving_uri=pulumi.Output.concat("as://", account.name, "/", container.name),
        bucket_name=container.name,
        resource_id=account.id,
    )


def _role_definition(account_id: str, role: str) -> str:
    """A built-in role's definition id, addressed in the storage account's subscription."""
    subscription = account_id.split("/")[2]
    return f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role}"
