"""The model reader's cloud identity: `serving/triton` reads the footprint's bucket and nothing else,
through each cloud's workload identity, with no key anywhere."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import pytest
from pulumi_azure_native import resources

from components import irsa
from components.gpu_cluster.contract import WorkloadIdentity
from components.serving_stack import identity_aws, identity_azure, identity_gcp
from components.serving_stack.contract import BucketAccess, ReaderIdentity, ServingStackArgs
from components.target import Target
from preflight.mock_tables.aws import _iam_role
from preflight.mock_tables.azure import _guid, _user_assigned_identity
from preflight.mock_tables.context import ACCOUNT_ID, SUBSCRIPTION_ID, MockContext
from preflight.mock_tables.gcp import _project_info
from preflight.plan import Plan, PlannedResource
from preflight.synthesize import ProgramError
from tests.helpers import only, program_plan

PARENT_TYPE = "mlplatform:test:ServingStack"
SUBJECT = "system:serviceaccount:serving:triton"

AWS_REGION = "eu-west-1"
EKS_ISSUER_HOST = f"oidc.eks.{AWS_REGION}.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
OIDC_PROVIDER = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{EKS_ISSUER_HOST}"
S3_BUCKET = "arn:aws:s3:::models-abc1234"
KMS_KEY = f"arn:aws:kms:{AWS_REGION}:{ACCOUNT_ID}:key/00000000-1111-2222-3333-444444444444"

GCP_PROJECT = "p-12345"
GCS_BUCKET = "models-abc1234"

AKS_ISSUER = "https://westeurope.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000001/1111/"
ACCOUNT_ID_AZ = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-ml/providers/Microsoft.Storage/storageAccounts/mlmodels01"
)
BLOB_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"

# What would mean a key or a secret somewhere: credential env names, key resources, secret values.
KEY_ENV = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_CLIENT_SECRET",
}
KEY_TYPES = ("accessKey", "serviceaccount/key", "hmacKey", "listStorageAccountKeys", "Secret")


def out(value: str) -> pulumi.Output[str]:
    return pulumi.Output.from_input(value)


def target_for(cloud: str) -> Target:
    if cloud == "aws":
        return Target("t", "aws", AWS_REGION, aws.Provider("t", region=AWS_REGION))
    if cloud == "gcp":
        return Target("t", "gcp", "europe-west4", gcp.Provider("t", project=GCP_PROJECT), gcp_project=GCP_PROJECT)
    provider = azure_native.Provider("t", location="westeurope")
    group = resources.ResourceGroup("rg", opts=pulumi.ResourceOptions(provider=provider))
    return Target("t", "azure", "westeurope", provider, azure_resource_group=group.name)


def identity_for(cloud: str) -> WorkloadIdentity:
    """What GpuCluster hands over on each cloud (see tests/test_gpu_cluster_*.py for the real values)."""
    if cloud == "aws":
        return WorkloadIdentity(oidc_issuer_url=out(f"https://{EKS_ISSUER_HOST}"), oidc_provider_arn=out(OIDC_PROVIDER))
    if cloud == "gcp":
        issuer = f"https://container.googleapis.com/v1/projects/{GCP_PROJECT}/locations/europe-west4/clusters/ml"
        return WorkloadIdentity(oidc_issuer_url=out(issuer), workload_pool=out(f"{GCP_PROJECT}.svc.id.goog"))
    return WorkloadIdentity(oidc_issuer_url=out(AKS_ISSUER))


def bucket_for(cloud: str) -> BucketAccess:
    """What ModelBucket hands over on each cloud (see tests/test_model_bucket.py)."""
    if cloud == "aws":
        name = S3_BUCKET.rsplit(":", 1)[-1]
        return BucketAccess(out(f"s3://{name}"), out(name), out(S3_BUCKET), encryption_key_arn=out(KMS_KEY))
    if cloud == "gcp":
        return BucketAccess(out(f"gs://{GCS_BUCKET}"), out(GCS_BUCKET), out(GCS_BUCKET))
    return BucketAccess(out("as://mlmodels01/models"), out("models"), out(ACCOUNT_ID_AZ))


BINDERS: dict[str, Callable[[pulumi.Resource, str, ServingStackArgs], ReaderIdentity]] = {
    "aws": identity_aws.bind,
    "gcp": identity_gcp.bind,
    "azure": identity_azure.bind,
}


def identity_plan(cloud: str, overrides: Callable[[], dict[str, Any]] = dict) -> Plan:
    """`bind` of one cloud inside a stand-in ServingStack component, its ReaderIdentity exported."""

    def program() -> None:
        target = target_for(cloud)
        args: dict[str, Any] = {
            "target": target,
            "k8s_provider": k8s.Provider("cluster", kubeconfig="{}"),
            "cluster_name": out("ml"),
            "identity": identity_for(cloud),
            "bucket": bucket_for(cloud),
            "models": (),
            **overrides(),
        }
        parent = pulumi.ComponentResource(PARENT_TYPE, "serving")
        reader = BINDERS[cloud](parent, "serving", ServingStackArgs(**args))
        parent.register_outputs({})
        pulumi.export("annotations", reader.service_account_annotations)
        pulumi.export("labels", reader.pod_labels)
        pulumi.export("env", reader.env)
        pulumi.export("resources", [resource.urn for resource in reader.resources])

    return program_plan(program)


@pytest.fixture(scope="module")
def aws_plan() -> Plan:
    return identity_plan("aws")


@pytest.fixture(scope="module")
def gcp_plan() -> Plan:
    return identity_plan("gcp")


@pytest.fixture(scope="module")
def azure_plan() -> Plan:
    return identity_plan("azure")


@pytest.fixture(scope="module", params=["aws", "gcp", "azure"])
def any_plan(request: pytest.FixtureRequest, aws_plan: Plan, gcp_plan: Plan, azure_plan: Plan) -> tuple[str, Plan]:
    return request.param, {"aws": aws_plan, "gcp": gcp_plan, "azure": azure_plan}[request.param]


def cloud_resources(plan: Plan, cloud: str) -> list[PlannedResource]:
    package = {"aws": "aws:", "gcp": "gcp:", "azure": "azure-native:"}[cloud]
    return [
        r for r in plan.resources if r.type.startswith(package) and r.type != "azure-native:resources:ResourceGroup"
    ]


# --- AWS: IRSA ---------------------------------------------------------------------------------


def test_aws_role_is_assumable_only_by_serving_triton_through_the_clusters_oidc_provider(aws_plan: Plan) -> None:
    role = only(aws_plan, "aws:iam/role:Role")
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Federated": OIDC_PROVIDER}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {f"{EKS_ISSUER_HOST}:sub": SUBJECT, f"{EKS_ISSUER_HOST}:aud": "sts.amazonaws.com"}
    }
    assert "managedPolicyArns" not in role.inputs and not aws_plan.of_type(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    )


def test_aws_policy_reads_only_this_bucket_and_decrypts_only_through_s3(aws_plan: Plan) -> None:
    policy = only(aws_plan, "aws:iam/rolePolicy:RolePolicy")
    role_arn = aws_plan.outputs["annotations"]["eks.amazonaws.com/role-arn"]
    assert policy.inputs["role"] == role_arn.rsplit("/", 1)[-1]  # inline on the role the pods assume
    assert only(aws_plan, "aws:iam/role:Role").urn in policy.dependencies
    statements = json.loads(policy.inputs["policy"])["Statement"]
    granted = {(s["Action"], s["Resource"]) for s in statements}
    assert granted == {
        ("s3:ListBucket", S3_BUCKET),
        ("s3:GetObject", f"{S3_BUCKET}/*"),
        ("kms:Decrypt", KMS_KEY),
    }
    assert all(s["Effect"] == "Allow" for s in statements)
    (kms,) = [s for s in statements if s["Action"] == "kms:Decrypt"]
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": f"s3.{AWS_REGION}.amazonaws.com"}}


def test_aws_service_account_names_the_role_and_triton_gets_the_region(aws_plan: Plan) -> None:
    role = only(aws_plan, "aws:iam/role:Role")
    role_name = _iam_role(MockContext(role.urn, role.type, role.name, role.inputs, {}))["name"]
    assert aws_plan.outputs["annotations"] == {
        "eks.amazonaws.com/role-arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{role_name}"
    }
    assert aws_plan.outputs["env"] == {"AWS_REGION": AWS_REGION, "AWS_DEFAULT_REGION": AWS_REGION}
    assert aws_plan.outputs["labels"] == {}


def test_aws_issuer_host_is_the_url_without_scheme_or_trailing_slash() -> None:
    assert irsa.issuer_host(f"https://{EKS_ISSUER_HOST}/") == EKS_ISSUER_HOST
    with pytest.raises(ValueError, match="https"):
        irsa.issuer_host(EKS_ISSUER_HOST)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        # Outputs belong to the program's event loop: made inside it, hence the lambdas.
        (lambda: {"identity": WorkloadIdentity(oidc_issuer_url=out(f"https://{EKS_ISSUER_HOST}"))}, "provider ARN"),
        (lambda: {"bucket": BucketAccess(out("s3://b"), out("b"), out("arn:aws:s3:::b"))}, "SSE-KMS"),
    ],
)
def test_aws_refuses_to_bind_without_the_provider_or_the_key(
    overrides: Callable[[], dict[str, Any]], message: str
) -> None:
    with pytest.raises(ProgramError, match=message):
        identity_plan("aws", overrides)


# --- GCP: Workload Identity Federation for GKE, direct principal --------------------------------


def gcp_member() -> str:
    number = _project_info({"projectId": GCP_PROJECT})["number"]
    return (
        f"principal://iam.googleapis.com/projects/{number}/locations/global/"
        f"workloadIdentityPools/{GCP_PROJECT}.svc.id.goog/subject/ns/serving/sa/triton"
    )


def test_gcp_grants_read_roles_on_this_bucket_to_the_serving_triton_principal(gcp_plan: Plan) -> None:
    grants = gcp_plan.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
    assert {g.inputs["role"] for g in grants} == {"roles/storage.objectViewer", "roles/storage.legacyBucketReader"}
    for grant in grants:
        assert grant.inputs["bucket"] == GCS_BUCKET
        assert grant.inputs["member"] == gcp_member()
        assert "condition" not in grant.inputs


def test_gcp_makes_no_service_account_and_no_project_wide_grant(gcp_plan: Plan) -> None:
    assert {r.type for r in cloud_resources(gcp_plan, "gcp")} == {"gcp:storage/bucketIAMMember:BucketIAMMember"}
    assert gcp_plan.outputs["annotations"] == {}  # direct federation: no iam.gke.io/gcp-service-account
    assert gcp_plan.outputs["labels"] == {} and gcp_plan.outputs["env"] == {}


def test_gcp_principal_needs_a_project_number() -> None:
    assert identity_gcp.principal("123456789012", "p.svc.id.goog").endswith("/subject/ns/serving/sa/triton")
    with pytest.raises(ValueError, match="project number"):
        identity_gcp.principal("p-12345", "p.svc.id.goog")


def test_gcp_refuses_to_bind_without_the_workload_pool() -> None:
    with pytest.raises(ProgramError, match="workload pool"):
        identity_plan("gcp", lambda: {"identity": WorkloadIdentity(oidc_issuer_url=out("https://issuer"))})


# --- Azure: Microsoft Entra Workload ID ---------------------------------------------------------


def test_azure_identity_federates_only_serving_triton_from_the_clusters_issuer(azure_plan: Plan) -> None:
    identity = only(azure_plan, "azure-native:managedidentity:UserAssignedIdentity")
    credential = only(azure_plan, "azure-native:managedidentity:FederatedIdentityCredential")
    assert identity.inputs["location"] == "westeurope"
    assert credential.inputs["issuer"] == AKS_ISSUER
    assert credential.inputs["subject"] == SUBJECT
    assert credential.inputs["audiences"] == ["api://AzureADTokenExchange"]
    context = MockContext(identity.urn, identity.type, identity.name, identity.inputs, {})
    assert credential.inputs["resourceName"] == _user_assigned_identity(context)["name"]  # on this identity
    assert credential.inputs["federatedIdentityCredentialResourceName"] == "serving-triton"
    assert identity.urn in credential.dependencies


def test_azure_grant_is_blob_data_reader_on_the_model_container_only(azure_plan: Plan) -> None:
    identity = only(azure_plan, "azure-native:managedidentity:UserAssignedIdentity")
    grant = only(azure_plan, "azure-native:authorization:RoleAssignment").inputs
    assert grant["scope"] == f"{ACCOUNT_ID_AZ}/blobServices/default/containers/models"
    assert grant["roleDefinitionId"] == (
        f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{BLOB_READER}"
    )
    assert grant["principalType"] == "ServicePrincipal"
    context = MockContext(identity.urn, identity.type, identity.name, identity.inputs, {})
    assert grant["principalId"] == _guid(context, "principal")
    assert azure_plan.outputs["annotations"] == {"azure.workload.identity/client-id": _guid(context, "client")}


def test_azure_pods_opt_in_to_the_webhook_and_triton_uses_the_default_credential_chain(azure_plan: Plan) -> None:
    assert azure_plan.outputs["labels"] == {"azure.workload.identity/use": "true"}
    assert azure_plan.outputs["env"] == {"AZURE_STORAGE_AUTH_TYPE": "default"}


def test_azure_scope_helpers_refuse_what_is_not_a_storage_account_or_container() -> None:
    with pytest.raises(ValueError, match="storage account"):
        identity_azure.container_scope("/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/x", "m")
    with pytest.raises(ValueError, match="container"):
        identity_azure.container_scope(ACCOUNT_ID_AZ, "")
    assert identity_azure.blob_reader_role(ACCOUNT_ID_AZ).endswith(BLOB_READER)


# --- every cloud ------------------------------------------------------------------------------


def test_every_cloud_resource_is_a_child_on_the_targets_provider_and_awaited_by_the_pods(
    any_plan: tuple[str, Plan],
) -> None:
    cloud, plan = any_plan
    parent = only(plan, PARENT_TYPE)
    provider = only(plan, f"pulumi:providers:{'azure-native' if cloud == 'azure' else cloud}")
    mine = cloud_resources(plan, cloud)
    assert mine
    for resource in mine:
        assert resource.parent == parent.urn, resource.urn
        assert resource.provider == provider.urn, resource.urn
    assert set(plan.outputs["resources"]) == {r.urn for r in mine}


def test_no_key_or_secret_anywhere(any_plan: tuple[str, Plan]) -> None:
    _, plan = any_plan
    assert not set(plan.outputs["env"]) & KEY_ENV
    assert not any(marker.lower() in r.type.lower() for r in plan.resources for marker in KEY_TYPES)
    text = json.dumps([r.inputs for r in plan.resources if r.type != "pulumi:providers:kubernetes"])
    assert "[secret]" not in text and "[secret]" not in json.dumps(plan.outputs)
    assert not any(name in text for name in KEY_ENV)
