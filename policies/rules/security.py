"""Security baseline (mandatory): nothing public, everything encrypted, identities not keys.

Each policy checks the resource shapes of all three clouds that can break its promise;
where a cloud makes the unsafe setting impossible (Google encrypts every disk, bucket and
database at rest with no way to opt out) there is nothing to check for that cloud.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from rules.environments import current_stack, protected_environments, protected_environments_schema
from rules.props import field, is_false, is_true, items, mapping
from rules.tags import environment_of

Check = Callable[[Mapping[str, Any]], list[str]]

_PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
_PUBLIC_S3_ACLS = ("public-read", "public-read-write", "authenticated-read")
_PUBLIC_S3_GRANTEES = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)
_WEAK_TLS = ("TLSv1", "TLSv1.1", "TLS1_0", "TLS1_1", "TLSV1_0", "TLSV1_1")


def _resource_policy(name: str, description: str, checks: dict[str, Check]) -> ResourceValidationPolicy:
    """A mandatory policy that runs the check registered for the resource's type."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        check = checks.get(args.resource_type)
        if check is None:
            return
        for problem in check(args.props):
            report_violation(problem, None)

    return ResourceValidationPolicy(
        name=name, description=description, enforcement_level=EnforcementLevel.MANDATORY, validate=validate
    )


def _members(props: Mapping[str, Any]) -> list[str]:
    return [str(m) for m in [props.get("member"), *items(props.get("members"))] if m]


def _public_members(props: Mapping[str, Any]) -> list[str]:
    public = [m for m in _members(props) if m in _PUBLIC_MEMBERS]
    return [f"grants {props.get('role')} to {', '.join(public)}: anyone on the internet."] if public else []


def _public_statements(document: Any) -> list[str]:
    """Allow statements for every principal ('*') that no condition narrows."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return []
    problems = []
    statements = mapping(document).get("Statement")
    for statement in items(statements) if not isinstance(statements, Mapping) else [statements]:
        statement = mapping(statement)
        principal = statement.get("Principal")
        aws_principals = [principal.get("AWS"), *items(principal.get("AWS"))] if isinstance(principal, Mapping) else []
        everyone = principal == "*" or "*" in aws_principals
        if statement.get("Effect") == "Allow" and everyone and not statement.get("Condition"):
            sid = f" '{statement.get('Sid')}'" if statement.get("Sid") else ""
            problems.append(f"policy statement{sid} allows every principal ('*') with no condition.")
    return problems


# --- no public buckets or containers -------------------------------------------------


def _s3_public_access_block(props: Mapping[str, Any]) -> list[str]:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    off = [flag for flag in flags if not is_true(props.get(flag))]
    return [f"public access block leaves {', '.join(off)} off: all four must be true."] if off else []


def _s3_acl(props: Mapping[str, Any]) -> list[str]:
    problems = []
    if props.get("acl") in _PUBLIC_S3_ACLS:
        problems.append(f"canned ACL '{props.get('acl')}' makes the bucket readable by anyone.")
    for grant in items(field(props, "accessControlPolicy", "grants")):
        if field(grant, "grantee", "uri") in _PUBLIC_S3_GRANTEES:
            problems.append(f"ACL grants {field(grant, 'permission')} to {field(grant, 'grantee', 'uri')}.")
    return problems


def _s3_bucket_policy(props: Mapping[str, Any]) -> list[str]:
    return _public_statements(props.get("policy"))


def _s3_bucket(props: Mapping[str, Any]) -> list[str]:
    """A Bucket's own canned ACL, its inline grants ({type, uri, permissions}) and its inline policy."""
    problems = _s3_acl(props)
    for grant in items(props.get("grants")):
        if field(grant, "uri") in _PUBLIC_S3_GRANTEES:
            permissions = ", ".join(str(p) for p in items(field(grant, "permissions")))
            problems.append(f"bucket grants {permissions} to {field(grant, 'uri')}.")
    return problems + _s3_bucket_policy(props)


def _gcs_bucket(props: Mapping[str, Any]) -> list[str]:
    if props.get("publicAccessPrevention") != "enforced":
        return ["publicAccessPrevention must be 'enforced' so no IAM grant or ACL can make the bucket public."]
    return []


def _azure_storage_account_public(props: Mapping[str, Any]) -> list[str]:
    if is_true(props.get("allowBlobPublicAccess")):
        return ["allowBlobPublicAccess is true: containers in this account may be made public."]
    return []


def _azure_container(props: Mapping[str, Any]) -> list[str]:
    access = str(props.get("publicAccess") or "None")
    return [f"publicAccess is '{access}': the container is readable anonymously."] if access != "None" else []


no_public_storage = _resource_policy(
    "no-public-storage",
    "No bucket, container or object is readable by the public.",
    {
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _s3_public_access_block,
        "aws:s3/bucket:Bucket": _s3_bucket,
        "aws:s3/bucketV2:BucketV2": _s3_bucket,
        "aws:s3/bucketAcl:BucketAcl": _s3_acl,
        "aws:s3/bucketAclV2:BucketAclV2": _s3_acl,
        "aws:s3/bucketPolicy:BucketPolicy": _s3_bucket_policy,
        "gcp:storage/bucket:Bucket": _gcs_bucket,
        "gcp:storage/bucketIAMMember:BucketIAMMember": _public_members,
        "gcp:storage/bucketIAMBinding:BucketIAMBinding": _public_members,
        "azure-native:storage:StorageAccount": _azure_storage_account_public,
        "azure-native:storage:BlobContainer": _azure_container,
    },
)


# --- storage encrypted -----------------------------------------------------------------


def _s3_encryption(props: Mapping[str, Any]) -> list[str]:
    rules = items(props.get("rules"))
    algorithms = [field(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm") for rule in rules]
    if not algorithms or any(a not in ("AES256", "aws:kms", "aws:kms:dsse") for a in algorithms):
        return ["default encryption must use AES256, aws:kms or aws:kms:dsse."]
    return []


def _ebs_volume(props: Mapping[str, Any]) -> list[str]:
    return [] if is_true(props.get("encrypted")) else ["the volume is not encrypted (encrypted: true)."]


def _azure_storage_encryption(props: Mapping[str, Any]) -> list[str]:
    services = mapping(field(props, "encryption", "services"))
    off = [name for name, service in services.items() if is_false(field(service, "enabled"))]
    return [f"encryption is turned off for {', '.join(off)}."] if off else []


storage_encrypted = _resource_policy(
    "storage-encrypted",
    "Buckets, storage accounts and volumes are encrypted at rest.",
    {
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _s3_encryption,
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": _s3_encryption,
        "aws:ebs/volume:Volume": _ebs_volume,
        "azure-native:storage:StorageAccount": _azure_storage_encryption,
    },
)


# --- databases private and encrypted -----------------------------------------------------


def _rds_instance(props: Mapping[str, Any]) -> list[str]:
    problems = []
    if is_true(props.get("publiclyAccessible")):
        problems.append("publiclyAccessible is true: the database gets a public address.")
    if not is_true(props.get("storageEncrypted")):
        problems.append("storageEncrypted must be true.")
    return problems


def _rds_cluster(props: Mapping[str, Any]) -> list[str]:
    return [] if is_true(props.get("storageEncrypted")) else ["storageEncrypted must be true."]


def _cloud_sql(props: Mapping[str, Any]) -> list[str]:
    problems = []
    ip = mapping(field(props, "settings", "ipConfiguration"))
    if not is_false(ip.get("ipv4Enabled")):
        problems.append("settings.ipConfiguration.ipv4Enabled must be false: the instance would get a public IP.")
    if any(field(n, "value") in ("0.0.0.0/0", "::/0") for n in items(ip.get("authorizedNetworks"))):
        problems.append("an authorized network admits the whole internet.")
    if ip.get("sslMode") not in ("ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"):
        problems.append(
            "settings.ipConfiguration.sslMode must be ENCRYPTED_ONLY or TRUSTED_CLIENT_CERTIFICATE_REQUIRED."
        )
    return problems


def _azure_postgres(props: Mapping[str, Any]) -> list[str]:
    network = mapping(props.get("network"))
    access = network.get("publicNetworkAccess")
    if access == "Enabled" or (access is None and not network.get("delegatedSubnetResourceId")):
        return ["network.publicNetworkAccess must be 'Disabled' (or the server placed in a delegated subnet)."]
    return []


def _azure_postgres_firewall(props: Mapping[str, Any]) -> list[str]:
    if props.get("startIpAddress") == "0.0.0.0" and props.get("endIpAddress") == "255.255.255.255":
        return ["the firewall rule admits every IPv4 address."]
    return []


databases_private_and_encrypted = _resource_policy(
    "databases-private-and-encrypted",
    "Databases have no public address and encrypt data at rest and in transit.",
    {
        "aws:rds/instance:Instance": _rds_instance,
        "aws:rds/cluster:Cluster": _rds_cluster,
        "gcp:sql/databaseInstance:DatabaseInstance": _cloud_sql,
        "azure-native:dbforpostgresql:Server": _azure_postgres,
        "azure-native:dbforpostgresql:FirewallRule": _azure_postgres_firewall,
    },
)


# --- registries: no admin user, no anonymous or public pull -------------------------------


def _acr(props: Mapping[str, Any]) -> list[str]:
    problems = []
    if is_true(props.get("adminUserEnabled")):
        problems.append("adminUserEnabled is true: a shared admin password bypasses identities.")
    if is_true(props.get("anonymousPullEnabled")):
        problems.append("anonymousPullEnabled is true: anyone can pull images.")
    return problems


def _ecr_policy(props: Mapping[str, Any]) -> list[str]:
    return _public_statements(props.get("policy"))


registry_access = _resource_policy(
    "registry-no-admin-or-anonymous-access",
    "Registries have no admin user and no anonymous or public pull.",
    {
        "azure-native:containerregistry:Registry": _acr,
        "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": _public_members,
        "gcp:artifactregistry/repositoryIamBinding:RepositoryIamBinding": _public_members,
        "aws:ecr/repositoryPolicy:RepositoryPolicy": _ecr_policy,
        "aws:ecr/registryPolicy:RegistryPolicy": _ecr_policy,
    },
)


# --- workload identity on clusters ------------------------------------------------------------


def _eks_cluster(props: Mapping[str, Any]) -> list[str]:
    if not is_true(props.get("createOidcProvider")):
        return ["createOidcProvider must be true: pods get AWS roles through IRSA, not node or static keys."]
    return []


def _gke_cluster(props: Mapping[str, Any]) -> list[str]:
    if is_true(props.get("enableAutopilot")) or field(props, "workloadIdentityConfig", "workloadPool"):
        return []
    return ["workloadIdentityConfig.workloadPool must be set (PROJECT.svc.id.goog)."]


def _gke_node_pool(props: Mapping[str, Any]) -> list[str]:
    mode = field(props, "nodeConfig", "workloadMetadataConfig", "mode")
    if mode is not None and mode != "GKE_METADATA":
        return [f"workloadMetadataConfig.mode is {mode}: pods would see the node's service account."]
    return []


def _aks_cluster(props: Mapping[str, Any]) -> list[str]:
    problems = []
    if not is_true(field(props, "oidcIssuerProfile", "enabled")):
        problems.append("oidcIssuerProfile.enabled must be true.")
    if not is_true(field(props, "securityProfile", "workloadIdentity", "enabled")):
        problems.append("securityProfile.workloadIdentity.enabled must be true.")
    return problems


clusters_use_workload_identity = _resource_policy(
    "clusters-use-workload-identity",
    "Clusters give pods cloud identities through workload identity, never node credentials or keys.",
    {
        "eks:index:Cluster": _eks_cluster,
        "gcp:container/cluster:Cluster": _gke_cluster,
        "gcp:container/nodePool:NodePool": _gke_node_pool,
        "azure-native:containerservice:ManagedCluster": _aks_cluster,
    },
)


# --- minimum TLS 1.2 ---------------------------------------------------------------------------


def _azure_storage_tls(props: Mapping[str, Any]) -> list[str]:
    problems = []
    if props.get("minimumTlsVersion") not in ("TLS1_2", "TLS1_3"):
        problems.append(f"minimumTlsVersion is {props.get('minimumTlsVersion') or 'unset'}: set TLS1_2 or later.")
    if is_false(props.get("enableHttpsTrafficOnly")):
        problems.append("enableHttpsTrafficOnly is false: plain HTTP is accepted.")
    return problems


def _postgres_parameter(name: str, value: Any) -> list[str]:
    if name == "ssl_min_protocol_version" and value in _WEAK_TLS:
        return [f"ssl_min_protocol_version is {value}: TLSv1.2 is the minimum."]
    if (name, str(value).lower()) in (("rds.force_ssl", "0"), ("require_secure_transport", "off")):
        return [f"{name} = {value} accepts connections without TLS."]
    return []


def _rds_parameters(props: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for parameter in items(props.get("parameters")):
        problems += _postgres_parameter(str(field(parameter, "name")), field(parameter, "value"))
    return problems


def _azure_postgres_configuration(props: Mapping[str, Any]) -> list[str]:
    return _postgres_parameter(str(props.get("configurationName")), props.get("value"))


def _istio_gateway(props: Mapping[str, Any]) -> list[str]:
    weak = [
        str(field(server, "port", "name") or field(server, "port", "number"))
        for server in items(field(props, "spec", "servers"))
        if field(server, "tls", "minProtocolVersion") in _WEAK_TLS
    ]
    return [f"server(s) {', '.join(weak)} accept TLS below 1.2."] if weak else []


minimum_tls = _resource_policy(
    "minimum-tls-1-2",
    "Every endpoint the platform configures refuses TLS below 1.2.",
    {
        "azure-native:storage:StorageAccount": _azure_storage_tls,
        "aws:rds/parameterGroup:ParameterGroup": _rds_parameters,
        "aws:rds/clusterParameterGroup:ClusterParameterGroup": _rds_parameters,
        "azure-native:dbforpostgresql:Configuration": _azure_postgres_configuration,
        **{f"kubernetes:networking.istio.io/{v}:Gateway": _istio_gateway for v in ("v1", "v1beta1", "v1alpha3")},
    },
)


# --- deletion protection on prod databases (a stack policy: Azure's is a lock beside the server) ---------

_AZURE_LOCKS = (
    "azure-native:authorization:ManagementLockByScope",
    "azure-native:authorization:ManagementLockAtResourceLevel",
    "azure-native:authorization:ManagementLockAtResourceGroupLevel",
)


_DELETE_BLOCKING_LEVELS = ("CanNotDelete", "ReadOnly")  # a ReadOnly lock forbids deletion too


def _locked(server: PolicyResource, locks: list[PolicyResource]) -> bool:
    """A CanNotDelete (or ReadOnly) lock on the server itself or on its resource group.

    A lock covers the server when it depends on it, when its scope is the server's or its
    resource group's ID, when it is a resource-level lock naming the server, or when it is a
    resource-group-level lock on the server's group. Azure resource IDs are case-insensitive.
    """
    name = str(server.props.get("serverName") or "").lower()
    group = str(server.props.get("resourceGroupName") or "").lower()
    for lock in locks:
        if lock.props.get("level") not in _DELETE_BLOCKING_LEVELS:
            continue
        if server in lock.dependencies:
            return True
        scope = str(lock.props.get("scope") or "").lower().rstrip("/")
        if name and scope.endswith(f"/flexibleservers/{name}"):
            return True
        if group and scope.endswith(f"/resourcegroups/{group}"):
            return True
        lock_group = str(lock.props.get("resourceGroupName") or "").lower()
        if not group or lock_group != group:
            continue
        if lock.resource_type.endswith("ResourceGroupLevel"):
            return True
        named = str(lock.props.get("resourceName") or "").lower()
        kind = str(lock.props.get("resourceType") or "").lower()
        if lock.resource_type.endswith("ResourceLevel") and name and named == name and kind == "flexibleservers":
            return True
    return False


def _unprotected(resource: PolicyResource, locks: list[PolicyResource]) -> str | None:
    props = resource.props
    if resource.resource_type in ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster"):
        return None if is_true(props.get("deletionProtection")) else "deletionProtection must be true."
    if resource.resource_type == "gcp:sql/databaseInstance:DatabaseInstance":
        guarded = is_true(field(props, "settings", "deletionProtectionEnabled"))
        if not guarded or is_false(props.get("deletionProtection")):
            return "settings.deletionProtectionEnabled must be true (and deletionProtection not false)."
        return None
    if resource.resource_type == "azure-native:dbforpostgresql:Server":
        return None if _locked(resource, locks) else "no CanNotDelete (or ReadOnly) management lock covers the server."
    return None


def _check_deletion_protection(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    protected = protected_environments(args)
    locks = [r for r in args.resources if r.resource_type in _AZURE_LOCKS]
    stack = current_stack()
    for resource in args.resources:
        environment = environment_of(resource.resource_type, resource.props, resource.provider) or stack
        if environment not in protected:
            continue
        problem = _unprotected(resource, locks)
        if problem:
            report_violation(f"{resource.name} ({environment}): {problem}", resource.urn)


prod_databases_deletion_protected = StackValidationPolicy(
    name="prod-databases-deletion-protected",
    description="Databases in protected environments (prod) cannot be deleted by accident.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_check_deletion_protection,
    config_schema=protected_environments_schema("databases need deletion protection"),
)

POLICIES = [
    no_public_storage,
    storage_encrypted,
    databases_private_and_encrypted,
    registry_access,
    clusters_use_workload_identity,
    minimum_tls,
    prod_databases_deletion_protected,
]
