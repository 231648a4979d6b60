"""AKS: a team's trainer writes its checkpoint prefix through Microsoft Entra Workload ID.

A user-assigned identity trusts the cluster's issuer for `train-<team>/trainer` only (a federated credential), and
holds Storage Blob Data Contributor on the models container with a role assignment condition (Azure ABAC, version
2.0): reads, writes and deletes only of blobs whose path starts with the team's prefix, lists only of that prefix.
The condition follows Microsoft's example "Read or list blobs in named containers with a path"
(learn.microsoft.com/azure/storage/blobs/storage-auth-abac-examples, read 2026-12), widened to the write actions.
The publishers' fence on Azure is additive (only those granted may write), so this grant is the trainer's only one.
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization, managedidentity

from components.serving_stack.identity_azure import (
    CLIENT_ID_ANNOTATION,
    TOKEN_AUDIENCE,
    USE_LABEL,
    container_scope,
)
from components.training.identity import SERVICE_ACCOUNT, TrainerAccess, TrainerIdentity, team_prefix

# Built-in "Storage Blob Data Contributor": read, write, delete blobs.
# learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage#storage-blob-data-contributor
BLOB_CONTRIBUTOR_ROLE = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
CONDITION_VERSION = "2.0"
_BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
_ACTIONS = (f"{_BLOBS}/write", f"{_BLOBS}/add/action", f"{_BLOBS}/delete")


def bind(parent: pulumi.Resource, name: str, access: TrainerAccess, team: str, namespace: str) -> TrainerIdentity:
    target = access.target
    group = target.require_resource_group()
    opts = target.child_options(parent)
    identity = managedidentity.UserAssignedIdentity(
        f"{name}-trainer", resource_group_name=group, location=target.region, opts=opts
    )
    credential = managedidentity.FederatedIdentityCredential(
        f"{name}-trainer",
        resource_group_name=group,
        resource_name_=identity.name,
        federated_identity_credential_resource_name=f"{namespace}-{SERVICE_ACCOUNT}",
        issuer=access.identity.oidc_issuer_url,
        subject=f"system:serviceaccount:{namespace}:{SERVICE_ACCOUNT}",
        audiences=[TOKEN_AUDIENCE],
        opts=opts,
    )
    grant = authorization.RoleAssignment(
        f"{name}-trainer",
        principal_id=identity.principal_id,
        principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
        role_definition_id=access.bucket.resource_id.apply(blob_contributor_role),
        scope=pulumi.Output.all(access.bucket.resource_id, access.bucket.bucket_name).apply(
            lambda v: container_scope(v[0], v[1])
        ),
        condition=prefix_condition(team_prefix(team)),
        condition_version=CONDITION_VERSION,
        opts=opts,
    )
    return TrainerIdentity(
        service_account_annotations={CLIENT_ID_ANNOTATION: identity.client_id},
        pod_labels={USE_LABEL: "true"},
        resources=[identity, credential, grant],
    )


def prefix_condition(prefix: str) -> str:
    """Reads (not lists), writes and deletes only under the prefix; lists only of the prefix."""
    others = " AND ".join(f"!(ActionMatches{{'{action}'}})" for action in _ACTIONS)
    return (
        f"(({others} AND !(ActionMatches{{'{_BLOBS}/read'}} AND NOT SubOperationMatches{{'Blob.List'}}))"
        f" OR @Resource[{_BLOBS}:path] StringStartsWith '{prefix}')"
        f" AND ((!(ActionMatches{{'{_BLOBS}/read'}} AND SubOperationMatches{{'Blob.List'}}))"
        f" OR @Request[{_BLOBS}:prefix] StringStartsWith '{prefix}')"
    )


def blob_contributor_role(account_id: str) -> str:
    """The Storage Blob Data Contributor definition, addressed in the account's subscription."""
    subscription = account_id.split("/")[2] if account_id.lower().startswith("/subscriptions/") else ""
    if not subscription:
        raise ValueError(f"not an Azure storage account id: {account_id!r}")
    return f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{BLOB_CONTRIBUTOR_ROLE}"
