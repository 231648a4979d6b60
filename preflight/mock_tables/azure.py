"""Plausible Azure outputs: names taken from each resource's own name input, ARM resource ids."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import yaml

from preflight.mock_tables.context import (
    SUBSCRIPTION_ID,
    TENANT_ID,
    InvokeTable,
    MockContext,
    Outputs,
    OutputTable,
)


def named(name_input: str, provider_path: str) -> Callable[[MockContext], Outputs]:
    """azure-native resources are named by an input of their own (accountName, ...)."""

    def outputs(ctx: MockContext) -> Outputs:
        name = ctx.inputs.get(name_input) or ctx.auto_name().replace("-", "")
        group = ctx.inputs.get("resourceGroupName", "rg")
        resource_id = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{group}/providers/{provider_path}/{name}"
        return {"name": name, "id": resource_id}

    return outputs


def _resource_group(ctx: MockContext) -> Outputs:
    name = ctx.inputs.get("resourceGroupName") or ctx.auto_name(90)
    return {"name": name, "id": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{name}"}


def generic(ctx: MockContext) -> Outputs:
    return named("name", ctx.type.split(":")[1])(ctx)


_MOCK_PEM = base64.b64encode(b"mock").decode()
_MOCK_DIGEST = "0a1b2c3d"
_AKS_AAD_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"  # the AKS Entra ID server application


def _arm_id(ctx: MockContext, path: str) -> str:
    group = ctx.inputs.get("resourceGroupName", "rg")
    return f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{group}/providers/{path}"


def _guid(ctx: MockContext, salt: str) -> str:
    """Distinct, stable GUIDs per resource and purpose (object ids, client ids)."""
    h = hashlib.sha1(f"{ctx.urn}#{salt}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _subnet(ctx: MockContext) -> Outputs:
    vnet = ctx.inputs.get("virtualNetworkName", "vnet")
    name = ctx.inputs.get("subnetName") or ctx.auto_name(80)
    return {"name": name, "id": _arm_id(ctx, f"Microsoft.Network/virtualNetworks/{vnet}/subnets/{name}")}


def _managed_cluster(ctx: MockContext) -> Outputs:
    """What AKS computes: FQDN, OIDC issuer, the control-plane and kubelet identities."""
    name = ctx.inputs.get("resourceName") or ctx.auto_name()
    location = ctx.inputs.get("location") or ctx.region
    group = ctx.inputs.get("resourceGroupName", "rg")
    node_group = f"MC_{group}_{name}_{location}"
    kubelet = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{node_group}/providers/"
    kubelet += f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}-agentpool"
    return {
        "name": name,
        "id": _arm_id(ctx, f"Microsoft.ContainerService/managedClusters/{name}"),
        "fqdn": f"{ctx.inputs.get('dnsPrefix', name)}-{ctx.digest(8)}.hcp.{location}.azmk8s.io",
        "nodeResourceGroup": node_group,
        "oidcIssuerProfile": {
            "enabled": True,
            "issuerURL": f"https://{location}.oic.prod-aks.azure.com/{TENANT_ID}/{_guid(ctx, 'issuer')}/",
        },
        "identity": _cluster_identity(ctx),
        "identityProfile": {
            "kubeletidentity": {
                "objectId": _guid(ctx, "kubelet-object"),
                "clientId": _guid(ctx, "kubelet-client"),
                "resourceId": kubelet,
            }
        },
    }


def _cluster_identity(ctx: MockContext) -> Outputs:
    """The SDK sends user-assigned identities as a list of ids; ARM answers with a map of id -> ids."""
    identity = dict(ctx.inputs.get("identity") or {})
    if identity.get("type") == "UserAssigned":
        ids = identity.get("userAssignedIdentities") or []
        identity["userAssignedIdentities"] = {
            resource_id: {
                "principalId": _guid(ctx, f"principal-{resource_id}"),
                "clientId": _guid(ctx, f"client-{resource_id}"),
            }
            for resource_id in ids
        }
        return identity  # no principalId of its own: that is the system-assigned identity's
    return {**identity, "principalId": _guid(ctx, "principal"), "tenantId": TENANT_ID}


def _agent_pool(ctx: MockContext) -> Outputs:
    cluster = ctx.inputs.get("resourceName", "aks")
    name = ctx.inputs.get("agentPoolName") or ctx.auto_name(12)
    return {"name": name, "id": _arm_id(ctx, f"Microsoft.ContainerService/managedClusters/{cluster}/agentPools/{name}")}


def _role_assignment(ctx: MockContext) -> Outputs:
    """Assignments live under their scope and are named by a GUID."""
    name = ctx.inputs.get("roleAssignmentName") or _guid(ctx, "assignment")
    scope = ctx.inputs.get("scope", f"/subscriptions/{SUBSCRIPTION_ID}")
    return {"name": name, "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"}


def _user_assigned_identity(ctx: MockContext) -> Outputs:
    """A managed identity: its service principal (principalId) and application (clientId) GUIDs."""
    name = ctx.inputs.get("resourceName") or ctx.auto_name(128)
    return {
        "name": name,
        "id": _arm_id(ctx, f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}"),
        "principalId": _guid(ctx, "principal"),
        "clientId": _guid(ctx, "client"),
        "tenantId": TENANT_ID,
    }


def _federated_credential(ctx: MockContext) -> Outputs:
    identity = ctx.inputs.get("resourceName", "identity")
    name = ctx.inputs.get("federatedIdentityCredentialResourceName") or ctx.auto_name(120)
    path = f"Microsoft.ManagedIdentity/userAssignedIdentities/{identity}/federatedIdentityCredentials/{name}"
    return {"name": name, "id": _arm_id(ctx, path)}


def _registry(ctx: MockContext) -> Outputs:
    """ACR: the login server is the lowercased registry name under azurecr.io."""
    name = ctx.inputs.get("registryName") or ctx.auto_name(50).replace("-", "")
    return {
        "name": name,
        "id": _arm_id(ctx, f"Microsoft.ContainerRegistry/registries/{name}"),
        "loginServer": f"{name.lower()}.azurecr.io",
    }


def _registry_task(ctx: MockContext) -> Outputs:
    registry = ctx.inputs.get("registryName", "acr")
    name = ctx.inputs.get("taskName") or ctx.auto_name(50)
    return {"name": name, "id": _arm_id(ctx, f"Microsoft.ContainerRegistry/registries/{registry}/tasks/{name}")}


def _postgres_server(ctx: MockContext) -> Outputs:
    """A flexible server answers on <name>.postgres.database.azure.com, privately resolved in its VNet."""
    name = ctx.inputs.get("serverName") or ctx.auto_name()
    return {
        "name": name,
        "id": _arm_id(ctx, f"Microsoft.DBforPostgreSQL/flexibleServers/{name}"),
        "fullyQualifiedDomainName": f"{name}.postgres.database.azure.com",
        "state": "Ready",
    }


def _postgres_database(ctx: MockContext) -> Outputs:
    server = ctx.inputs.get("serverName", "pg")
    name = ctx.inputs.get("databaseName") or ctx.name
    return {"name": name, "id": _arm_id(ctx, f"Microsoft.DBforPostgreSQL/flexibleServers/{server}/databases/{name}")}


def _dns_zone_link(ctx: MockContext) -> Outputs:
    zone = ctx.inputs.get("privateZoneName", "zone")
    name = ctx.inputs.get("virtualNetworkLinkName") or ctx.auto_name(80)
    return {"name": name, "id": _arm_id(ctx, f"Microsoft.Network/privateDnsZones/{zone}/virtualNetworkLinks/{name}")}


def _lock(ctx: MockContext) -> Outputs:
    """Locks live under the scope they lock, like role assignments."""
    name = ctx.inputs.get("lockName") or ctx.auto_name(90)
    scope = ctx.inputs.get("scope", f"/subscriptions/{SUBSCRIPTION_ID}")
    return {"name": name, "id": f"{scope}/providers/Microsoft.Authorization/locks/{name}"}


def _kubeconfig(cluster: str, user: str, credentials: dict[str, Any]) -> str:
    """A small kubeconfig, base64-encoded as AKS returns it."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster,
                "cluster": {
                    "server": f"https://{cluster}-{_MOCK_DIGEST}.hcp.westeurope.azmk8s.io:443",
                    "certificate-authority-data": _MOCK_PEM,
                },
            }
        ],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
        "current-context": cluster,
        "users": [{"name": user, "user": credentials}],
    }
    return base64.b64encode(yaml.safe_dump(config, sort_keys=False).encode()).decode()


def _admin_credentials(args: dict[str, Any]) -> Outputs:
    """With local accounts on: a certificate kubeconfig for the cluster admin."""
    cluster = args.get("resourceName", "aks")
    credentials = {"client-certificate-data": _MOCK_PEM, "client-key-data": _MOCK_PEM}
    return {
        "kubeconfigs": [{"name": "clusterAdmin", "value": _kubeconfig(cluster, f"clusterAdmin_{cluster}", credentials)}]
    }


def _user_credentials(args: dict[str, Any]) -> Outputs:
    """Entra ID clusters hand out an exec kubeconfig that runs kubelogin."""
    cluster = args.get("resourceName", "aks")
    exec_plugin = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": "kubelogin",
        "args": ["get-token", "--login", "devicecode", "--server-id", _AKS_AAD_SERVER_ID, "--tenant-id", TENANT_ID],
    }
    kubeconfig = _kubeconfig(cluster, f"clusterUser_{cluster}", {"exec": exec_plugin})
    return {"kubeconfigs": [{"name": "clusterUser", "value": kubeconfig}]}


def _client_config(args: dict[str, Any]) -> Outputs:
    return {"subscriptionId": SUBSCRIPTION_ID, "tenantId": TENANT_ID, "objectId": TENANT_ID, "clientId": TENANT_ID}


OUTPUTS: OutputTable = {
    "azure-native:resources:ResourceGroup": _resource_group,
    "azure-native:storage:StorageAccount": named("accountName", "Microsoft.Storage/storageAccounts"),
    "azure-native:storage:BlobContainer": named(
        "containerName", "Microsoft.Storage/storageAccounts/blobServices/default/containers"
    ),
    "azure-native:network:VirtualNetwork": named("virtualNetworkName", "Microsoft.Network/virtualNetworks"),
    "azure-native:network:Subnet": _subnet,
    "azure-native:containerservice:ManagedCluster": _managed_cluster,
    "azure-native:containerservice:AgentPool": _agent_pool,
    "azure-native:authorization:RoleAssignment": _role_assignment,
    "azure-native:managedidentity:UserAssignedIdentity": _user_assigned_identity,
    "azure-native:managedidentity:FederatedIdentityCredential": _federated_credential,
    "azure-native:authorization:ManagementLockByScope": _lock,
    "azure-native:containerregistry:Registry": _registry,
    "azure-native:containerregistry:Task": _registry_task,
    "azure-native:dbforpostgresql:Server": _postgres_server,
    "azure-native:dbforpostgresql:Database": _postgres_database,
    "azure-native:privatedns:PrivateZone": named("privateZoneName", "Microsoft.Network/privateDnsZones"),
    "azure-native:privatedns:VirtualNetworkLink": _dns_zone_link,
}
INVOKES: InvokeTable = {
    "azure-native:authorization:getClientConfig": _client_config,
    "azure-native:containerservice:listManagedClusterAdminCredentials": _admin_credentials,
    "azure-native:containerservice:listManagedClusterUserCredentials": _user_credentials,
}
