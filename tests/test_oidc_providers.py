"""One IAM OIDC provider per cluster issuer in the stack's AWS account, whichever user asks first.

IAM refuses a second provider for the same URL (CreateOpenIDConnectProvider: EntityAlreadyExists), so the DNS-01
federation of a GKE cluster and the model sync whose primary is that cluster must trust one provider, in either
order of construction."""

from __future__ import annotations

import json
from collections.abc import Callable

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import pytest

from components.global_dns.acme_federation import acme_role, challenge_name
from components.gpu_cluster.contract import WorkloadIdentity
from components.model_sync import ModelSync, ModelSyncArgs, SyncBucket
from components.oidc_providers import OidcProviders
from components.target import Target
from preflight.mock_tables.context import ACCOUNT_ID
from preflight.plan import Plan
from tests.helpers import program_plan

OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
ROLE = "aws:iam/role:Role"
GKE = "gcp-us-central1"
GKE_ISSUER = "https://container.googleapis.com/v1/projects/ml-prod/locations/us-central1/clusters/ml"
# IAM names a provider after its URL without the scheme (IAM User Guide, "Create an OpenID Connect identity provider").
GKE_PROVIDER_ARN = (
    f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/"
    "container.googleapis.com/v1/projects/ml-prod/locations/us-central1/clusters/ml"
)
ZONE = "ml.example.com"


def out(value: str) -> pulumi.Output[str]:
    return pulumi.Output.from_input(value)


def gke_identity() -> WorkloadIdentity:
    return WorkloadIdentity(oidc_issuer_url=out(GKE_ISSUER), workload_pool=out("ml-prod.svc.id.goog"))


def dns01(providers: OidcProviders) -> None:
    dns = aws.Provider("global-dns", region="us-east-1")
    parent = pulumi.ComponentResource("mlplatform:dns:GlobalDns", "global")
    acme_role(
        parent,
        f"global-{GKE}-dns01",
        dns,
        out("Z0123456789ABC"),
        ZONE,
        [challenge_name(f"api.{ZONE}")],
        GKE,
        "gcp",
        gke_identity(),
        "cert-manager",
        "route53-dns01",
        providers,
    )


def model_sync(providers: OidcProviders) -> None:
    """A GKE primary copying to two S3 buckets: both writer roles trust the primary's issuer."""
    gke = Target(GKE, "gcp", "us-central1", gcp.Provider(GKE, project="ml-prod"), gcp_project="ml-prod")

    def s3(region: str) -> SyncBucket:
        target = Target(f"aws-{region}", "aws", region, aws.Provider(f"aws-{region}", region=region))
        key = out(f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/k")
        return SyncBucket(target, out(f"models-{region}"), out(f"arn:aws:s3:::models-{region}"), key)

    ModelSync(
        "models",
        ModelSyncArgs(
            primary=SyncBucket(gke, out("models-gke"), out("models-gke")),
            replicas=(s3("us-east-1"), s3("eu-west-1")),
            k8s_provider=k8s.Provider("gke-k8s", kubeconfig="{}"),
            cluster_identity=gke_identity(),
            oidc_providers=providers,
        ),
    )


@pytest.mark.parametrize("users", [(dns01, model_sync), (model_sync, dns01)], ids=["dns-first", "sync-first"])
def test_two_users_of_one_issuer_get_one_provider_in_either_order(users: tuple[Callable[..., None], ...]) -> None:
    def program() -> None:
        providers = OidcProviders()
        for user in users:
            user(providers)

    plan: Plan = program_plan(program)
    (provider,) = plan.of_type(OIDC_PROVIDER)
    assert provider.inputs["url"] == GKE_ISSUER
    roles = plan.of_type(ROLE)
    assert len(roles) == 3  # the DNS-01 role and two S3 writers
    for role in roles:
        (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert statement["Principal"] == {"Federated": GKE_PROVIDER_ARN}, role.name
        assert provider.urn in role.dependencies, role.name


def test_an_eks_clusters_own_irsa_provider_is_the_one_for_its_issuer() -> None:
    irsa = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"

    def program() -> None:
        providers = OidcProviders()
        eks = WorkloadIdentity(out("https://oidc.eks.us-east-1.amazonaws.com/id/ABC"), out(irsa))
        opts = pulumi.ResourceOptions(provider=aws.Provider("aws", region="us-east-1"))
        arn = providers.for_issuer("aws-us-east-1", eks, name="eks-oidc", tags={}, opts=opts)
        pulumi.export("arn", arn)

    plan = program_plan(program)
    assert plan.of_type(OIDC_PROVIDER) == []
    assert plan.outputs["arn"] == irsa
