"""AKS: the model server reads the model container through Microsoft Entra Workload ID, with no
account key (the ModelBucket's account has shared keys off anyway).

A user-assigned managed identity trusts tokens the cluster's OIDC issuer signs for
`system:serviceaccount:serving:triton` (a federated identity credential). The AKS workload
identity webhook mutates pods labelled `azure.workload.identity/use: "true"` whose
ServiceAccount carries the identity's client id: it projects the token and sets
AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST.

Triton reads as:// with a token credential only from release 26.05 (server 2.69.0; "Azure
Managed Identity" in its release notes): AZURE_STORAGE_AUTH_TYPE=default selects the Azure SDK's
DefaultAzureCredential (core src/filesystem/implementations/as.h), whose chain includes the
WorkloadIdentityCredential since azure-identity-cpp 1.6.0. The other value, "managed_identity",
asks IMDS and would get the node's identity, not this one.
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization, managedidentity

from components.rclone import azure_remote
from components.serving_stack.contract import (
    NAMESPACE,
    READER_REMOTE,
    SERVICE_ACCOUNT,
    ReaderIdentity,
    ServingStackArgs,
)

CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
USE_LABEL = "azure.workload.identity/use"
TOKEN_AUDIENCE = "api://AzureADTokenExchange"  # the audience Entra ID expects for workload identity
# Built-in "Storage Blob Data Reader": read and list blobs, nothing else.
# learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage#storage-blob-data-reader
BLOB_READER_ROLE = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
TRITON_AUTH_ENV = {"AZURE_STORAGE_AUTH_TYPE": "default"}
# rclone (the pods' init step): DefaultAzureCredential as well; the webhook mutates init containers too
# (azure-workload-identity pkg/webhook: mutateContainers runs over InitContainers and Containers). The container
# exists (ModelBucket), and the reader may not create one.
RCLONE_AUTH = {"env_auth": "true", "no_check_container": "true"}


def bind(parent: pulumi.Resource, name: str, args: ServingStackArgs) -> ReaderIdentity:
    """An identity only `serving:triton` can federate into, reader of the model container only."""
    group = args.target.require_resource_group()
    opts = args.target.child_options(parent)
    identity = managedidentity.UserAssignedIdentity(
        f"{name}-reader", resource_group_name=group, location=args.target.region, opts=opts
    )
    credential = managedidentity.FederatedIdentityCredential(
        f"{name}-reader",
        resource_group_name=group,
        resource_name_=identity.name,
        federated_identity_credential_resource_name=f"{NAMESPACE}-{SERVICE_ACCOUNT}",
        issuer=args.identity.oidc_issuer_url,  # exactly as AKS reports it, trailing slash included
        subject=f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}",
        audiences=[TOKEN_AUDIENCE],
        opts=opts,
    )
    scope = pulumi.Output.all(args.bucket.resource_id, args.bucket.bucket_name).apply(
        lambda values: container_scope(values[0], values[1])
    )
    grant = authorization.RoleAssignment(
        f"{name}-reader",
        principal_id=identity.principal_id,
        principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,  # the SDK's default is User
        role_definition_id=args.bucket.resource_id.apply(blob_reader_role),
        scope=scope,
        opts=opts,
    )
    return ReaderIdentity(
        remote=pulumi.Output.all(args.bucket.resource_id, args.bucket.bucket_name).apply(
            lambda values: azure_remote(READER_REMOTE, account_name(values[0]), values[1], RCLONE_AUTH)
        ),
        service_account_annotations={CLIENT_ID_ANNOTATION: identity.client_id},
        pod_labels={USE_LABEL: "true"},
        env=dict(TRITON_AUTH_ENV),
        resources=[identity, credential, grant],
    )


def container_scope(account_id: str, container: str) -> str:
    """The ARM scope of one blob container, so the grant covers nothing else in the account."""
    _subscription_of(account_id)
    if not container or "/" in container:
        raise ValueError(f"not a blob container name: {container!r}")
    return f"{account_id.rstrip('/')}/blobServices/default/containers/{container}"


def blob_reader_role(account_id: str) -> str:
    """The Storage Blob Data Reader definition, addressed in the account's subscription."""
    return (
        f"/subscriptions/{_subscription_of(account_id)}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{BLOB_READER_ROLE}"
    )


def account_name(account_id: str) -> str:
    """'/subscriptions/S/resourceGroups/G/providers/Microsoft.Storage/storageAccounts/A' -> 'A'."""
    parts = account_id.rstrip("/").split("/")
    if len(parts) < 2 or parts[-2] != "storageAccounts":
        raise ValueError(f"not an Azure storage account id: {account_id!r}")
    return parts[-1]


def _subscription_of(resource_id: str) -> str:
    """'/subscriptions/S/resourceGroups/.../storageAccounts/A' -> 'S'."""
    parts = resource_id.split("/")
    if len(parts) < 3 or parts[1].lower() != "subscriptions" or "Microsoft.Storage/storageAccounts" not in resource_id:
        raise ValueError(f"not an Azure storage account id: {resource_id!r}")
    return parts[2]
