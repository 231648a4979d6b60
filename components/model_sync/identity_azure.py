"""Azure Blob containers for the model sync: Microsoft Entra Workload ID, granted on the container only.

A user-assigned identity trusts tokens the primary cluster's issuer signs for the job's service account
(a federated identity credential: issuer exactly as the cluster reports it, subject
`system:serviceaccount:model-sync:model-sync`, audience api://AzureADTokenExchange). rclone's azureblob env_auth
(DefaultAzureCredential) picks it up from AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE, which
the job sets itself from a projected token (no dependency on AKS's webhook, so it works from any primary).

- Primary on AKS: one identity, in the primary's resource group, holds Storage Blob Data Reader on the primary's
  container and Storage Blob Data Contributor on each Azure replica's: a process has one Azure identity, and on its
  own cloud the primary's workload identity is enough (as on GKE). Set for the whole pod.
- Primary elsewhere: per Azure replica, an identity in the replica's resource group with Storage Blob Data
  Contributor on that container only; its variables are set only for that replica's rclone calls.
Built-in role ids: learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage.
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization, managedidentity

from components.model_sync.contract import NAMESPACE, SERVICE_ACCOUNT, SUBJECT, Access, SyncBucket, Token
from components.rclone import Remote, azure_remote
from components.serving_stack.identity_azure import TOKEN_AUDIENCE, account_name, container_scope

BLOB_READER_ROLE = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"  # Storage Blob Data Reader
BLOB_CONTRIBUTOR_ROLE = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"  # Storage Blob Data Contributor
AUTHORITY_HOST = "https://login.microsoftonline.com/"  # Entra ID, public cloud
TOKEN = Token("azure/token", TOKEN_AUDIENCE)
ENV_AUTH = {"env_auth": "true", "no_check_container": "true"}  # the container exists; creating it is not allowed


def identity(
    parent: pulumi.Resource, name: str, bucket: SyncBucket, issuer_url: pulumi.Input[str]
) -> tuple[managedidentity.UserAssignedIdentity, managedidentity.FederatedIdentityCredential]:
    """A user-assigned identity in the bucket's resource group that the job's service account federates into."""
    target = bucket.target
    group = target.require_resource_group()
    opts = target.child_options(parent)
    uai = managedidentity.UserAssignedIdentity(name, resource_group_name=group, location=target.region, opts=opts)
    credential = managedidentity.FederatedIdentityCredential(
        name,
        resource_group_name=group,
        resource_name_=uai.name,
        federated_identity_credential_resource_name=f"{NAMESPACE}-{SERVICE_ACCOUNT}",
        issuer=issuer_url,  # exactly the tokens' `iss` (AKS's trailing slash included)
        subject=SUBJECT,
        audiences=[TOKEN_AUDIENCE],
        opts=opts,
    )
    return uai, credential


def grant(
    parent: pulumi.Resource, name: str, bucket: SyncBucket, principal_id: pulumi.Input[str], *, writer: bool
) -> authorization.RoleAssignment:
    """Reader or Contributor on the bucket's container only."""
    role = BLOB_CONTRIBUTOR_ROLE if writer else BLOB_READER_ROLE
    return authorization.RoleAssignment(
        name,
        principal_id=principal_id,
        principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,  # the SDK's default is User
        role_definition_id=bucket.resource_id.apply(lambda account_id: role_definition(account_id, role)),
        scope=pulumi.Output.all(bucket.resource_id, bucket.bucket_name).apply(lambda v: container_scope(v[0], v[1])),
        opts=bucket.target.child_options(parent),
    )


def workload_env(uai: managedidentity.UserAssignedIdentity) -> dict[str, pulumi.Output[str]]:
    """What DefaultAzureCredential's workload identity credential reads."""
    return {
        "AZURE_CLIENT_ID": uai.client_id,
        "AZURE_TENANT_ID": uai.tenant_id,
        "AZURE_FEDERATED_TOKEN_FILE": pulumi.Output.from_input(TOKEN.file),
        "AZURE_AUTHORITY_HOST": pulumi.Output.from_input(AUTHORITY_HOST),
    }


def _remote(bucket: SyncBucket, env: dict[str, pulumi.Output[str]] | None = None) -> pulumi.Output[Remote]:
    target = bucket.target.name
    names = ["AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST"]
    values = [env[key] for key in names] if env else []
    return pulumi.Output.all(bucket.resource_id, bucket.bucket_name, *values).apply(
        lambda v: azure_remote(target, account_name(v[0]), v[1], ENV_AUTH, dict(zip(names, v[2:], strict=False)))
    )


def primary_access(
    parent: pulumi.Resource, name: str, bucket: SyncBucket, issuer_url: pulumi.Input[str]
) -> tuple[Access, managedidentity.UserAssignedIdentity]:
    """The AKS primary's own sync identity, reader of its container; the pod runs as it."""
    uai, credential = identity(parent, name, bucket, issuer_url)
    reader = grant(parent, f"{name}-reader", bucket, uai.principal_id, writer=False)
    access = Access(
        remote=_remote(bucket),
        tokens=[TOKEN],
        pod_env=dict(workload_env(uai)),
        resources=[uai, credential, reader],
    )
    return access, uai


def replica_access(
    parent: pulumi.Resource,
    name: str,
    bucket: SyncBucket,
    issuer_url: pulumi.Input[str],
    primary_identity: managedidentity.UserAssignedIdentity | None,
) -> Access:
    """Contributor on a replica's container: for the AKS primary's identity, or for one made for this replica."""
    if primary_identity is not None:
        return Access(
            remote=_remote(bucket),
            resources=[grant(parent, name, bucket, primary_identity.principal_id, writer=True)],
        )
    uai, credential = identity(parent, name, bucket, issuer_url)
    writer = grant(parent, name, bucket, uai.principal_id, writer=True)
    return Access(remote=_remote(bucket, workload_env(uai)), tokens=[TOKEN], resources=[uai, credential, writer])


def role_definition(account_id: str, role: str) -> str:
    """A built-in role's definition id, addressed in the storage account's subscription."""
    parts = account_id.split("/")
    if len(parts) < 3 or parts[1].lower() != "subscriptions":
        raise ValueError(f"not an Azure resource id: {account_id!r}")
    return f"/subscriptions/{parts[2]}/providers/Microsoft.Authorization/roleDefinitions/{role}"
