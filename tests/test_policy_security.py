"""The security baseline, asked of the running pack over the analyzer protocol, cloud by cloud.

Every policy here is mandatory: a violation blocks `pulumi up`. Users rely on each one to
refuse the unsafe setting on every cloud and resource shape it lists, and to let the
project's own shapes (copied from the prod plan) through. Inputs are camelCase, as the engine sends.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import pytest

from preflight.policy_packs import RunningPolicyPack
from tests.policy_helpers import (
    REQUIRED_TAGS,
    STACK,
    analyze,
    aws_provider,
    azure_provider,
    gcp_provider,
    policies,
    resource,
)

AWS, GCP, AZURE = aws_provider(), gcp_provider(), azure_provider()
PROVIDERS = {"aws": AWS, "gcp": GCP, "azure-native": AZURE}
DROP = object()  # with_(): remove the input


def with_(base: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of base with inputs set (a__b is the nested path a.b), or removed with DROP."""
    result = copy.deepcopy(dict(base))
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = result
        for key in parents:
            node = node.setdefault(key, {})
        if value is DROP:
            node.pop(last, None)
        else:
            node[last] = value
    return result


def subject(type_token: str, inputs: Mapping[str, Any], name: str = "subject", **options: Any) -> dict[str, Any]:
    """The resource under test, on its cloud's provider (pulumi-eks and Kubernetes resources take none here)."""
    return resource(type_token, name, inputs, provider=PROVIDERS.get(type_token.split(":")[0]), **options)


def check(
    pack: RunningPolicyPack,
    policy: str,
    res: Mapping[str, Any],
    problem: str | None,
    *others: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
) -> None:
    """`problem is None`: the policy is silent about res; otherwise a mandatory violation of it says `problem`."""
    graph = {r["urn"]: r for r in (*PROVIDERS.values(), *others, res)}
    violations = analyze(pack, *graph.values(), config=config)
    messages = [v.message for v in violations if v.urn == res["urn"] and v.policy == policy]
    if problem is None:
        assert policy not in policies(violations, about=res), messages
        return
    assert policy in policies(violations, about=res)
    assert any(problem in message for message in messages), messages
    assert {v.level for v in violations if v.policy == policy} == {"mandatory"}


def case(case_id: str, type_token: str, inputs: Mapping[str, Any], problem: str | None = None) -> Any:
    return pytest.param(type_token, inputs, problem, id=case_id)


CASE = ("type_token", "inputs", "problem")

# --- resource types ----------------------------------------------------------------------------------

PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3, S3_V2 = "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"
S3_ACL, S3_ACL_V2 = "aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2"
S3_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
SSE_V2 = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
EBS = "aws:ebs/volume:Volume"
RDS, AURORA = "aws:rds/instance:Instance", "aws:rds/cluster:Cluster"
PARAMS, CLUSTER_PARAMS = "aws:rds/parameterGroup:ParameterGroup", "aws:rds/clusterParameterGroup:ClusterParameterGroup"
ECR_REPO, ECR_REGISTRY = "aws:ecr/repositoryPolicy:RepositoryPolicy", "aws:ecr/registryPolicy:RegistryPolicy"
EKS = "eks:index:Cluster"
GCS, GCS_MEMBER = "gcp:storage/bucket:Bucket", "gcp:storage/bucketIAMMember:BucketIAMMember"
GCS_BINDING = "gcp:storage/bucketIAMBinding:BucketIAMBinding"
SQL = "gcp:sql/databaseInstance:DatabaseInstance"
AR_MEMBER = "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"
AR_BINDING = "gcp:artifactregistry/repositoryIamBinding:RepositoryIamBinding"
GKE, POOL = "gcp:container/cluster:Cluster", "gcp:container/nodePool:NodePool"
ACCOUNT, CONTAINER = "azure-native:storage:StorageAccount", "azure-native:storage:BlobContainer"
FLEX, FIREWALL = "azure-native:dbforpostgresql:Server", "azure-native:dbforpostgresql:FirewallRule"
PG_CONFIG = "azure-native:dbforpostgresql:Configuration"
ACR = "azure-native:containerregistry:Registry"
AKS = "azure-native:containerservice:ManagedCluster"
GATEWAY = "kubernetes:networking.istio.io/v1:Gateway"

# --- inputs, shaped as in the prod plan ------------------------------------------------------------------

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
RG = "mlplatform-prod-rg-92025b8"
RG_ID = f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/{RG}"
SERVER_NAME = "metadata-16sx3275"
SERVER_ID = f"{RG_ID}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{SERVER_NAME}"
NODE_SA = "serviceAccount:nodes-f827ca@mlplatform-prod.iam.gserviceaccount.com"
DEV_TAGS = {**REQUIRED_TAGS, "environment": "dev"}

FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
PUBLIC_ACCESS_BLOCK = {"bucket": "models-10e625d", **dict.fromkeys(FLAGS, True)}
OWNER_GRANT = {"grantee": {"type": "CanonicalUser", "id": "79a59df9"}, "permission": "FULL_CONTROL"}
PUBLIC_GRANT = {"grantee": {"type": "Group", "uri": ALL_USERS}, "permission": "READ"}
BUCKET_ACL = {"bucket": "models-10e625d", "accessControlPolicy": {"owner": {"id": "79a59df9"}, "grants": [OWNER_GRANT]}}
PUBLIC_ACL = with_(BUCKET_ACL, accessControlPolicy__grants=[OWNER_GRANT, PUBLIC_GRANT])
PUBLIC_BUCKET_GRANT = {"type": "Group", "uri": ALL_USERS, "permissions": ["READ"]}  # a Bucket's own grants input


def statement(effect: str, principal: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": effect, "Principal": principal, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", **extra}


def policy_doc(*statements: Mapping[str, Any], **inputs: str) -> dict[str, Any]:
    """A resource's inputs with its IAM policy document, JSON-encoded as the SDKs send it."""
    return {**inputs, "policy": json.dumps({"Version": "2012-10-17", "Statement": list(statements)})}


TLS_ONLY = statement("Deny", "*", Sid="DenyInsecureTransport", Condition={"Bool": {"aws:SecureTransport": "false"}})
PUBLIC_READ = statement("Allow", "*", Sid="PublicRead")
FROM_VPC_ENDPOINT = with_(PUBLIC_READ, Condition={"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c"}})
NAMED_ACCOUNT = statement("Allow", {"AWS": "arn:aws:iam::123456789012:root"}, Sid="Pull", Action="ecr:BatchGetImage")
ANY_AWS_ACCOUNT = with_(NAMED_ACCOUNT, Principal={"AWS": ["*"]})
PUBLIC_PULL = statement("Allow", "*", Sid="PublicPull", Action="ecr:BatchGetImage")

GCS_BUCKET = {
    "location": "US-CENTRAL1",
    "project": "mlplatform-prod",
    "publicAccessPrevention": "enforced",
    "storageClass": "STANDARD",
    "uniformBucketLevelAccess": True,
}
SA_AND_GOOGLE = [NODE_SA, "allAuthenticatedUsers"]  # any Google account
OBJECT_VIEWER = {"bucket": "models-4a0dfd9", "role": "roles/storage.objectViewer"}
STORAGE_ACCOUNT = {
    "accountName": "modelsodv3lm1gayz8",
    "resourceGroupName": RG,
    "kind": "StorageV2",
    "sku": {"name": "Standard_ZRS"},
    "allowBlobPublicAccess": False,
    "enableHttpsTrafficOnly": True,
    "minimumTlsVersion": "TLS1_2",
    "encryption": {"keySource": "Microsoft.Storage", "services": {"blob": {"enabled": True, "keyType": "Account"}}},
    "tags": REQUIRED_TAGS,
}
BLOB_CONTAINER = {"accountName": "modelsodv3lm1gayz8", "containerName": "models", "resourceGroupName": RG}
KMS_RULE = {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}, "bucketKeyEnabled": True}
AES_RULE = {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}
VOLUME = {"availabilityZone": "eu-west-1a", "size": 100, "type": "gp3", "encrypted": True}
POSTGRES = {
    "engine": "postgres",
    "engineVersion": "16",
    "instanceClass": "db.m7g.large",
    "allocatedStorage": 32,
    "dbSubnetGroupName": "metadata-subnets-30e5366",
    "deletionProtection": True,
    "publiclyAccessible": False,
    "storageEncrypted": True,
    "username": "platform",
}
AURORA_POSTGRES = {
    "engine": "aurora-postgresql",
    "engineVersion": "16.4",
    "masterUsername": "platform",
    "dbSubnetGroupName": "metadata-subnets-30e5366",
    "deletionProtection": True,
    "storageEncrypted": True,
}
CLOUD_SQL = {
    "databaseVersion": "POSTGRES_16",
    "project": "mlplatform-prod",
    "region": "us-central1",
    "deletionProtection": True,
    "settings": {
        "tier": "db-custom-2-7680",
        "deletionProtectionEnabled": True,
        "ipConfiguration": {
            "ipv4Enabled": False,
            "privateNetwork": "https://www.googleapis.com/compute/v1/projects/mlplatform-prod/global/networks/vpc",
            "sslMode": "ENCRYPTED_ONLY",
        },
    },
}
IP = "settings__ipConfiguration__"
FLEXIBLE_SERVER = {
    "administratorLogin": "platform",
    "resourceGroupName": RG,
    "serverName": SERVER_NAME,
    "sku": {"name": "Standard_D2ds_v5", "tier": "GeneralPurpose"},
    "version": "16",
    "network": {
        "delegatedSubnetResourceId": f"{RG_ID}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/db",
        "publicNetworkAccess": "Disabled",
    },
    "tags": REQUIRED_TAGS,
}
RULE = {"firewallRuleName": "office", "resourceGroupName": RG, "serverName": SERVER_NAME}
REGISTRY = {
    "registryName": "mlplatformimagespch6",
    "resourceGroupName": RG,
    "sku": {"name": "Premium"},
    "adminUserEnabled": False,
    "anonymousPullEnabled": False,
    "tags": REQUIRED_TAGS,
}
AR_READER = {
    "location": "us-central1",
    "project": "mlplatform-prod",
    "repository": "images-prod",
    "role": "roles/artifactregistry.reader",
}
EKS_CLUSTER = {
    "name": "mlplatform-prod-eu-west-1",
    "version": "1.33",
    "authenticationMode": "API",
    "createOidcProvider": True,
}
GKE_CLUSTER = {
    "location": "us-central1",
    "project": "mlplatform-prod",
    "removeDefaultNodePool": True,
    "initialNodeCount": 1,
    "workloadIdentityConfig": {"workloadPool": "mlplatform-prod.svc.id.goog"},
}
NODE_POOL = {
    "cluster": "gcp-us-central1-e51e203",
    "location": "us-central1",
    "name": "l4",
    "nodeConfig": {"machineType": "g2-standard-4", "spot": True, "workloadMetadataConfig": {"mode": "GKE_METADATA"}},
}
MODE = "nodeConfig__workloadMetadataConfig__mode"
AKS_CLUSTER = {
    "resourceGroupName": RG,
    "resourceName": "azure-swedencentral",
    "dnsPrefix": "azure-swedencentral",
    "oidcIssuerProfile": {"enabled": True},
    "securityProfile": {"workloadIdentity": {"enabled": True}},
    "tags": REQUIRED_TAGS,
}


def rds_params(name: str, value: str, family: str = "postgres16") -> dict[str, Any]:
    return {"family": family, "parameters": [{"name": name, "value": value, "applyMethod": "pending-reboot"}]}


def pg_config(name: str, value: str) -> dict[str, str]:
    return {"configurationName": name, "value": value, "source": "user-override", "resourceGroupName": RG}


def gateway(min_version: str | None, api_version: str = "v1") -> dict[str, Any]:
    """The serving gateway: HTTPS with this minimum TLS version (None: Istio's default), HTTP redirecting."""
    tls = {"credentialName": "global-host-tls", "mode": "SIMPLE", "minProtocolVersion": min_version}
    if min_version is None:
        del tls["minProtocolVersion"]
    https = {"hosts": ["*"], "port": {"name": "https", "number": 443, "protocol": "HTTPS"}, "tls": tls}
    http = {"hosts": ["*"], "port": {"name": "http", "number": 80, "protocol": "HTTP"}, "tls": {"httpsRedirect": True}}
    return {
        "apiVersion": f"networking.istio.io/{api_version}",
        "kind": "Gateway",
        "metadata": {"name": "models", "namespace": "serving"},
        "spec": {"selector": {"istio": "ingressgateway"}, "servers": [https, http]},
    }


# --- no-public-storage ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    CASE,
    [
        case("s3-public-access-block-all-true", PAB, PUBLIC_ACCESS_BLOCK),
        *[case(f"s3-{f}-false", PAB, with_(PUBLIC_ACCESS_BLOCK, **{f: False}), f"leaves {f} off") for f in FLAGS],
        case("s3-flag-unset", PAB, with_(PUBLIC_ACCESS_BLOCK, ignorePublicAcls=DROP), "leaves ignorePublicAcls off"),
        case("s3-bucket-private", S3, {"acl": "private", "forceDestroy": False}),
        case("s3-bucket-public-read", S3, {"acl": "public-read"}, "canned ACL 'public-read'"),
        case("s3-bucket-grant-all-users", S3, {"grants": [PUBLIC_BUCKET_GRANT]}, f"grants READ to {ALL_USERS}"),
        case("s3-bucket-inline-policy", S3, policy_doc(PUBLIC_READ), "'PublicRead' allows every principal"),
        case("s3-bucketv2-public-read-write", S3_V2, {"acl": "public-read-write"}, "'public-read-write'"),
        case("s3-acl-v2-owner-only", S3_ACL_V2, BUCKET_ACL),
        case("s3-acl-v2-all-users", S3_ACL_V2, PUBLIC_ACL, f"ACL grants READ to {ALL_USERS}"),
        case("s3-acl-all-users", S3_ACL, PUBLIC_ACL, f"ACL grants READ to {ALL_USERS}"),
        case("s3-acl-authenticated-read", S3_ACL, {"bucket": "b", "acl": "authenticated-read"}, "authenticated-read"),
        case("s3-policy-tls-only-deny", S3_POLICY, policy_doc(TLS_ONLY, bucket="models-10e625d")),
        case("s3-policy-allow-star", S3_POLICY, policy_doc(TLS_ONLY, PUBLIC_READ), "('*') with no condition"),
        case("s3-policy-allow-aws-star", S3_POLICY, policy_doc(statement("Allow", {"AWS": "*"})), "every principal"),
        case("s3-policy-allow-star-with-condition", S3_POLICY, policy_doc(FROM_VPC_ENDPOINT)),
        case("gcs-prevention-enforced", GCS, GCS_BUCKET),
        case("gcs-prevention-inherited", GCS, with_(GCS_BUCKET, publicAccessPrevention="inherited"), "'enforced'"),
        case("gcs-prevention-unset", GCS, with_(GCS_BUCKET, publicAccessPrevention=DROP), "publicAccessPrevention"),
        case("gcs-member-service-account", GCS_MEMBER, {**OBJECT_VIEWER, "member": NODE_SA}),
        case("gcs-member-all-users", GCS_MEMBER, {**OBJECT_VIEWER, "member": "allUsers"}, "objectViewer to allUsers"),
        case("gcs-binding-all-authenticated", GCS_BINDING, {**OBJECT_VIEWER, "members": SA_AND_GOOGLE}, "to allAuth"),
        case("azure-account-private", ACCOUNT, STORAGE_ACCOUNT),
        case(
            "azure-account-blob-public",
            ACCOUNT,
            with_(STORAGE_ACCOUNT, allowBlobPublicAccess=True),
            "allowBlobPublicAccess is true",
        ),
        case("azure-container-none", CONTAINER, {**BLOB_CONTAINER, "publicAccess": "None"}),
        case("azure-container-blob", CONTAINER, {**BLOB_CONTAINER, "publicAccess": "Blob"}, "publicAccess is 'Blob'"),
        case("azure-container-container", CONTAINER, {**BLOB_CONTAINER, "publicAccess": "Container"}, "'Container'"),
    ],
)
def test_no_public_storage(policy_pack: RunningPolicyPack, type_token: str, inputs: dict, problem: str | None) -> None:
    """No bucket, container or object anywhere is readable by anonymous users."""
    check(policy_pack, "no-public-storage", subject(type_token, inputs), problem)


# --- storage-encrypted ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    CASE,
    [
        case("s3-sse-kms", SSE, {"bucket": "models-10e625d", "rules": [KMS_RULE]}),
        case("s3-sse-aes256", SSE, {"bucket": "models-10e625d", "rules": [AES_RULE]}),
        case("s3-sse-no-rules", SSE, {"bucket": "models-10e625d", "rules": []}, "default encryption must use"),
        case("s3-sse-rules-unset", SSE, {"bucket": "models-10e625d"}, "default encryption must use"),
        case("s3-sse-v2-no-rules", SSE_V2, {"bucket": "models-10e625d", "rules": []}, "default encryption must use"),
        case("ebs-encrypted", EBS, VOLUME),
        case("ebs-unencrypted", EBS, with_(VOLUME, encrypted=False), "the volume is not encrypted"),
        case("ebs-encrypted-unset", EBS, with_(VOLUME, encrypted=DROP), "the volume is not encrypted"),
        case("azure-blob-encryption-on", ACCOUNT, STORAGE_ACCOUNT),
        case(
            "azure-blob-encryption-off",
            ACCOUNT,
            with_(STORAGE_ACCOUNT, encryption__services__blob__enabled=False),
            "encryption is turned off for blob",
        ),
    ],
)
def test_storage_encrypted(policy_pack: RunningPolicyPack, type_token: str, inputs: dict, problem: str | None) -> None:
    """Buckets, volumes and storage accounts are encrypted at rest (GCP encrypts everything: nothing to check)."""
    check(policy_pack, "storage-encrypted", subject(type_token, inputs), problem)


# --- databases-private-and-encrypted -------------------------------------------------------------------------

ANYWHERE = [{"name": "anywhere", "value": "0.0.0.0/0"}]


@pytest.mark.parametrize(
    CASE,
    [
        case("rds-private-encrypted", RDS, POSTGRES),
        case("rds-public", RDS, with_(POSTGRES, publiclyAccessible=True), "publiclyAccessible is true"),
        case("rds-unencrypted", RDS, with_(POSTGRES, storageEncrypted=False), "storageEncrypted must be true"),
        case("aurora-encrypted", AURORA, AURORA_POSTGRES),
        case("aurora-unencrypted", AURORA, with_(AURORA_POSTGRES, storageEncrypted=False), "storageEncrypted"),
        case("cloud-sql-private-encrypted-only", SQL, CLOUD_SQL),
        case("cloud-sql-public-ip", SQL, with_(CLOUD_SQL, **{f"{IP}ipv4Enabled": True}), "ipv4Enabled must be false"),
        case("cloud-sql-public-ip-default", SQL, with_(CLOUD_SQL, **{f"{IP}ipv4Enabled": DROP}), "ipv4Enabled"),
        case(
            "cloud-sql-plaintext-allowed",
            SQL,
            with_(CLOUD_SQL, **{f"{IP}sslMode": "ALLOW_UNENCRYPTED_AND_ENCRYPTED"}),
            "sslMode must be ENCRYPTED_ONLY",
        ),
        case(
            "cloud-sql-authorized-anywhere",
            SQL,
            with_(CLOUD_SQL, **{f"{IP}ipv4Enabled": True, f"{IP}authorizedNetworks": ANYWHERE}),
            "an authorized network admits the whole internet",
        ),
        case("azure-flexible-server-public-disabled", FLEX, FLEXIBLE_SERVER),
        case("azure-flexible-server-delegated", FLEX, with_(FLEXIBLE_SERVER, network__publicNetworkAccess=DROP)),
        case(
            "azure-flexible-server-public-enabled",
            FLEX,
            with_(FLEXIBLE_SERVER, network={"publicNetworkAccess": "Enabled"}),
            "network.publicNetworkAccess must be 'Disabled'",
        ),
        case("azure-flexible-server-no-network", FLEX, with_(FLEXIBLE_SERVER, network=DROP), "publicNetworkAccess"),
        case(
            "azure-firewall-office",
            FIREWALL,
            {**RULE, "startIpAddress": "203.0.113.0", "endIpAddress": "203.0.113.255"},
        ),
        case(
            "azure-firewall-everyone",
            FIREWALL,
            {**RULE, "startIpAddress": "0.0.0.0", "endIpAddress": "255.255.255.255"},
            "the firewall rule admits every IPv4 address",
        ),
    ],
)
def test_databases_private_and_encrypted(
    policy_pack: RunningPolicyPack, type_token: str, inputs: dict, problem: str | None
) -> None:
    """Databases have no public address, encrypt at rest, and (Cloud SQL) refuse plaintext connections."""
    check(policy_pack, "databases-private-and-encrypted", subject(type_token, inputs), problem)


# --- registry-no-admin-or-anonymous-access -------------------------------------------------------------------


@pytest.mark.parametrize(
    CASE,
    [
        case("acr-identities-only", ACR, REGISTRY),
        case("acr-admin-user", ACR, with_(REGISTRY, adminUserEnabled=True), "adminUserEnabled is true"),
        case("acr-anonymous-pull", ACR, with_(REGISTRY, anonymousPullEnabled=True), "anonymousPullEnabled is true"),
        case("artifact-registry-node-sa", AR_MEMBER, {**AR_READER, "member": NODE_SA}),
        case("artifact-registry-all-users", AR_MEMBER, {**AR_READER, "member": "allUsers"}, "reader to allUsers"),
        case(
            "artifact-registry-binding",
            AR_BINDING,
            {**AR_READER, "members": ["allAuthenticatedUsers"]},
            "to allAuthenticatedUsers",
        ),
        case("ecr-repository-named-account", ECR_REPO, policy_doc(NAMED_ACCOUNT, repository="models")),
        case("ecr-repository-star", ECR_REPO, policy_doc(PUBLIC_PULL, repository="models"), "'PublicPull' allows"),
        case("ecr-registry-named-account", ECR_REGISTRY, policy_doc(NAMED_ACCOUNT)),
        case("ecr-registry-aws-star", ECR_REGISTRY, policy_doc(ANY_AWS_ACCOUNT), "allows every principal ('*')"),
    ],
)
def test_registry_no_admin_or_anonymous_access(
    policy_pack: RunningPolicyPack, type_token: str, inputs: dict, problem: str | None
) -> None:
    """Images are pulled by identities: no shared admin password, no anonymous or public pull."""
    check(policy_pack, "registry-no-admin-or-anonymous-access", subject(type_token, inputs), problem)


# --- clusters-use-workload-identity --------------------------------------------------------------------------


@pytest.mark.parametrize(
    CASE,
    [
        case("eks-oidc-provider", EKS, EKS_CLUSTER),
        case("eks-no-oidc-provider", EKS, with_(EKS_CLUSTER, createOidcProvider=False), "createOidcProvider must be"),
        case("eks-oidc-provider-unset", EKS, with_(EKS_CLUSTER, createOidcProvider=DROP), "createOidcProvider"),
        case("gke-workload-pool", GKE, GKE_CLUSTER),
        case("gke-no-workload-identity", GKE, with_(GKE_CLUSTER, workloadIdentityConfig=DROP), "workloadPool must"),
        case("gke-autopilot", GKE, {"location": "us-central1", "project": "mlplatform-prod", "enableAutopilot": True}),
        case("gke-pool-gke-metadata", POOL, NODE_POOL),
        case("gke-pool-inherits-cluster", POOL, with_(NODE_POOL, nodeConfig__workloadMetadataConfig=DROP)),
        case("gke-pool-gce-metadata", POOL, with_(NODE_POOL, **{MODE: "GCE_METADATA"}), "mode is GCE_METADATA"),
        case("aks-workload-identity", AKS, AKS_CLUSTER),
        case("aks-no-oidc-issuer", AKS, with_(AKS_CLUSTER, oidcIssuerProfile=DROP), "oidcIssuerProfile.enabled"),
        case(
            "aks-workload-identity-off",
            AKS,
            with_(AKS_CLUSTER, securityProfile__workloadIdentity__enabled=False),
            "securityProfile.workloadIdentity.enabled must be true",
        ),
    ],
)
def test_clusters_use_workload_identity(
    policy_pack: RunningPolicyPack, type_token: str, inputs: dict, problem: str | None
) -> None:
    """Pods get cloud identities through workload identity, never the node's credentials."""
    check(policy_pack, "clusters-use-workload-identity", subject(type_token, inputs), problem)


# --- minimum-tls-1-2 -----------------------------------------------------------------------------------------

MIN_TLS = "ssl_min_protocol_version"
SECURE_TRANSPORT = "require_secure_transport"


@pytest.mark.parametrize(
    CASE,
    [
        case("azure-account-tls1_2", ACCOUNT, STORAGE_ACCOUNT),
        case("azure-account-tls1_0", ACCOUNT, with_(STORAGE_ACCOUNT, minimumTlsVersion="TLS1_0"), "is TLS1_0"),
        case(
            "azure-account-http",
            ACCOUNT,
            with_(STORAGE_ACCOUNT, enableHttpsTrafficOnly=False),
            "enableHttpsTrafficOnly is false",
        ),
        case("rds-force-ssl-1", PARAMS, rds_params("rds.force_ssl", "1")),
        case("rds-force-ssl-0", PARAMS, rds_params("rds.force_ssl", "0"), "rds.force_ssl = 0 accepts connections"),
        case("rds-min-tlsv1.2", PARAMS, rds_params(MIN_TLS, "TLSv1.2")),
        case("rds-min-tlsv1.1", PARAMS, rds_params(MIN_TLS, "TLSv1.1"), "ssl_min_protocol_version is TLSv1.1"),
        case("aurora-force-ssl-1", CLUSTER_PARAMS, rds_params("rds.force_ssl", "1", "aurora-postgresql16")),
        case(
            "aurora-force-ssl-0",
            CLUSTER_PARAMS,
            rds_params("rds.force_ssl", "0", "aurora-postgresql16"),
            "rds.force_ssl = 0",
        ),
        case("azure-pg-min-tlsv1.2", PG_CONFIG, pg_config(MIN_TLS, "TLSv1.2")),
        case("azure-pg-min-tlsv1.1", PG_CONFIG, pg_config(MIN_TLS, "TLSv1.1"), "ssl_min_protocol_version is TLSv1.1"),
        case("azure-pg-secure-transport-on", PG_CONFIG, pg_config(SECURE_TRANSPORT, "on")),
        case("azure-pg-secure-transport-off", PG_CONFIG, pg_config(SECURE_TRANSPORT, "off"), "transport = off"),
        case("istio-tlsv1_2", GATEWAY, gateway("TLSV1_2")),
        case("istio-default-min-version", GATEWAY, gateway(None)),
        case("istio-tlsv1_1", GATEWAY, gateway("TLSV1_1"), "server(s) https accept TLS below 1.2"),
        *[
            case(
                f"istio-{v}-tlsv1_0",
                f"kubernetes:networking.istio.io/{v}:Gateway",
                gateway("TLSV1_0", v),
                "server(s) https",
            )
            for v in ("v1beta1", "v1alpha3")
        ],
    ],
)
def test_minimum_tls_1_2(policy_pack: RunningPolicyPack, type_token: str, inputs: dict, problem: str | None) -> None:
    """Every endpoint the platform configures refuses TLS below 1.2 (and plaintext where that is a setting)."""
    check(policy_pack, "minimum-tls-1-2", subject(type_token, inputs), problem)


# --- prod-databases-deletion-protected (a stack policy) ------------------------------------------------------

PROTECTED = "prod-databases-deletion-protected"
UNPROTECTED_RDS = with_(POSTGRES, deletionProtection=False)


def aws_in(environment: str | None) -> dict[str, Any]:
    """An AWS provider whose default tags put resources in this environment (None: no environment tag)."""
    tags = with_(REQUIRED_TAGS, environment=environment if environment else DROP)
    return aws_provider(tags, name=f"aws-{environment or 'untagged'}")


def protecting(*environments: str) -> dict[str, Any]:
    return {PROTECTED: {"protectedEnvironments": list(environments)}}


@pytest.mark.parametrize(
    ("environment", "config", "violates"),
    [
        pytest.param("prod", None, True, id="prod-by-default"),
        pytest.param("production", None, True, id="production-by-default"),
        pytest.param("dev", None, False, id="dev-not-protected"),
        pytest.param("staging", protecting("prod", "staging"), True, id="staging-when-configured"),
        pytest.param("prod", protecting("staging"), False, id="prod-when-config-leaves-it-out"),
        pytest.param(None, protecting(STACK), True, id="untagged-falls-back-to-stack-name"),
        pytest.param(None, None, False, id="untagged-in-unprotected-stack"),
    ],
)
def test_protected_environments_come_from_tags_and_config(
    policy_pack: RunningPolicyPack, environment: str | None, config: dict | None, violates: bool
) -> None:
    """The environment is the provider's default tag (else the stack name); protectedEnvironments picks which count."""
    provider = aws_in(environment)
    db = resource(RDS, "metadata", UNPROTECTED_RDS, provider=provider)
    problem = f"metadata ({environment or STACK}): deletionProtection must be true." if violates else None
    check(policy_pack, PROTECTED, db, problem, provider, config=config)


DEV_AWS, DEV_GCP = aws_provider(DEV_TAGS, name="aws-dev"), gcp_provider(DEV_TAGS, name="gcp-dev")
SQL_UNPROTECTED = with_(CLOUD_SQL, settings__deletionProtectionEnabled=False)


@pytest.mark.parametrize(
    ("type_token", "inputs", "provider", "problem"),
    [
        pytest.param(RDS, POSTGRES, AWS, None, id="rds-protected"),
        pytest.param(RDS, UNPROTECTED_RDS, AWS, "subject (prod): deletionProtection must be true", id="rds-prod"),
        pytest.param(RDS, UNPROTECTED_RDS, DEV_AWS, None, id="rds-dev"),
        pytest.param(RDS, {**UNPROTECTED_RDS, "tags": {"environment": "prod"}}, DEV_AWS, "(prod)", id="rds-own-tag"),
        pytest.param(AURORA, AURORA_POSTGRES, AWS, None, id="aurora-protected"),
        pytest.param(AURORA, with_(AURORA_POSTGRES, deletionProtection=DROP), AWS, "deletionProtection", id="aurora"),
        pytest.param(SQL, CLOUD_SQL, GCP, None, id="cloud-sql-protected"),
        pytest.param(SQL, SQL_UNPROTECTED, GCP, "settings.deletionProtectionEnabled must be true", id="cloud-sql-prod"),
        pytest.param(SQL, with_(CLOUD_SQL, deletionProtection=False), GCP, "not false", id="cloud-sql-pulumi-flag"),
        pytest.param(SQL, SQL_UNPROTECTED, DEV_GCP, None, id="cloud-sql-dev"),
        pytest.param(
            SQL,
            with_(SQL_UNPROTECTED, settings__userLabels={"environment": "prod"}),
            DEV_GCP,
            "subject (prod)",
            id="cloud-sql-own-label",
        ),
    ],
)
def test_aws_and_gcp_databases_deletion_protected(
    policy_pack: RunningPolicyPack, type_token: str, inputs: dict, provider: dict, problem: str | None
) -> None:
    """Prod RDS, Aurora and Cloud SQL carry their cloud's deletion protection; the resource's own tag wins."""
    check(policy_pack, PROTECTED, resource(type_token, "subject", inputs, provider=provider), problem, provider)


SERVER = subject(FLEX, FLEXIBLE_SERVER, name="metadata")
AUTONAMED = subject(FLEX, with_(FLEXIBLE_SERVER, serverName=DROP), name="metadata")
DEV_SERVER = subject(FLEX, with_(FLEXIBLE_SERVER, tags=DEV_TAGS), name="metadata")
OTHER = subject(FLEX, with_(FLEXIBLE_SERVER, serverName="other-9a8b7c"), name="other")
OTHER_ID = SERVER_ID.replace(SERVER_NAME, "other-9a8b7c")
SERVER_TYPE = {"resourceProviderNamespace": "Microsoft.DBforPostgreSQL", "resourceType": "flexibleServers"}


def lock(kind: str, level: str = "CanNotDelete", on: dict | None = None, **inputs: str) -> dict[str, Any]:
    """An azure-native ManagementLock{kind}: ByScope, AtResourceLevel or AtResourceGroupLevel."""
    props = {"level": level, "lockName": "do-not-delete", "notes": "mlplatform: deletion-protected", **inputs}
    lock_type = f"azure-native:authorization:ManagementLock{kind}"
    return subject(lock_type, props, name=f"lock-{kind}-{level}", dependencies=[on] if on else [])


@pytest.mark.parametrize(
    ("server", "locks", "protected"),
    [
        pytest.param(SERVER, [lock("ByScope", on=SERVER, scope=SERVER_ID)], True, id="by-scope-as-in-prod"),
        pytest.param(AUTONAMED, [lock("ByScope", on=AUTONAMED, scope=SERVER_ID)], True, id="depends-on-autonamed"),
        pytest.param(SERVER, [lock("ByScope", scope=SERVER_ID.upper())], True, id="scope-names-server-id"),
        pytest.param(SERVER, [lock("ByScope", scope=RG_ID)], True, id="scope-is-resource-group"),
        pytest.param(SERVER, [lock("ByScope", "ReadOnly", on=SERVER, scope=SERVER_ID)], True, id="read-only-lock"),
        pytest.param(SERVER, [lock("AtResourceGroupLevel", resourceGroupName=RG)], True, id="resource-group-lock"),
        pytest.param(
            SERVER,
            [lock("AtResourceLevel", resourceGroupName=RG, resourceName=SERVER_NAME, **SERVER_TYPE)],
            True,
            id="resource-level-lock",
        ),
        pytest.param(DEV_SERVER, [], True, id="dev-server-needs-no-lock"),
        pytest.param(SERVER, [], False, id="no-lock"),
        pytest.param(SERVER, [lock("ByScope", on=OTHER, scope=OTHER_ID)], False, id="lock-on-another-server"),
        pytest.param(SERVER, [lock("ByScope", "NotSpecified", on=SERVER, scope=SERVER_ID)], False, id="level-unset"),
        pytest.param(SERVER, [lock("AtResourceGroupLevel", resourceGroupName="other-rg")], False, id="other-group"),
        pytest.param(
            SERVER,
            [lock("AtResourceLevel", resourceGroupName=RG, resourceName="other-9a8b7c", **SERVER_TYPE)],
            False,
            id="resource-level-lock-on-another-server",
        ),
    ],
)
def test_azure_flexible_server_deletion_protected_by_a_lock(
    policy_pack: RunningPolicyPack, server: dict, locks: list[dict], protected: bool
) -> None:
    """Azure has no deletion-protection flag: a prod server needs a CanNotDelete (or ReadOnly) lock over it."""
    problem = None if protected else "metadata (prod): no CanNotDelete (or ReadOnly) management lock covers the server."
    check(policy_pack, PROTECTED, server, problem, OTHER, *locks)
