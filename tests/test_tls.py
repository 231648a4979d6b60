"""TLS for the global host: the DNS-01 federation in the DNS account (an IAM OIDC provider per cluster
issuer, a role trusting one service account, a Route 53 policy for the challenge records only), cert-manager
and its objects on each cluster, the Gateway's HTTPS server, and the edges the wiring adds between clouds."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import pulumi_random as random
import pytest

from components.global_dns import GlobalDns, GlobalDnsArgs
from components.global_dns.acme_federation import (
    acme_role,
    challenge_name,
    check_challenge_names,
    dns01_policy,
)
from components.global_dns.contract import DnsEndpoint
from components.gpu_cluster.contract import WorkloadIdentity
from components.oidc_providers import OidcProviders
from components.serving_stack import addons, tls, traffic
from components.serving_stack.contract import (
    TLS_SECRET_NAME,
    Addons,
    BucketAccess,
    HttpsServer,
    ServingStackArgs,
    TlsSettings,
)
from components.target import Cloud, Target
from preflight.mock_tables.aws import _route53_get_zone
from preflight.mock_tables.context import ACCOUNT_ID
from preflight.plan import Plan, PlannedResource
from preflight.synthesize import ProgramError
from tests import k8s_schemas
from tests.helpers import every, only, program_plan
from tests.test_global_dns_stack import cross_target_edges

ZONE = "ml.example.com"
ZONE_ID = "Z0123456789ABC"
HOST = f"api.{ZONE}"
CHALLENGE = f"_acme-challenge.{HOST}"
SUBJECT = "system:serviceaccount:cert-manager:route53-dns01"
EMAIL = "ml-platform@example.com"

OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
RELEASE = "kubernetes:helm.sh/v3:Release"
CLUSTER_ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
GATEWAY = "kubernetes:networking.istio.io/v1:Gateway"
GLOBAL_DNS = "mlplatform:dns:GlobalDns"
FOOTPRINT = "mlplatform:platform:Footprint"

EKS_HOST = "oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
EKS_OTHER_HOST = "oidc.eks.eu-west-1.amazonaws.com/id/FEDCBA9876543210FEDCBA9876543210"
GKE_ISSUER = "https://container.googleapis.com/v1/projects/ml-prod/locations/us-central1/clusters/ml"
AKS_ISSUER = (
    "https://swedencentral.oic.prod-aks.azure.com/"
    "00000000-0000-0000-0000-000000000001/11111111-2222-3333-4444-555555555555/"
)
IRSA_PROVIDER = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{EKS_HOST}"
# target -> (cloud, issuer, the IRSA provider reused when the DNS account is the cluster's own)
CLUSTERS: dict[str, tuple[str, str, str | None]] = {
    "gcp-us-central1": ("gcp", GKE_ISSUER, None),
    "azure-swedencentral": ("azure", AKS_ISSUER, None),
    "aws-us-east-1": ("aws", f"https://{EKS_HOST}", IRSA_PROVIDER),
    "aws-eu-west-1": ("aws", f"https://{EKS_OTHER_HOST}", None),  # as if the DNS account were another account
}


def out(value: str) -> pulumi.Output[str]:
    return pulumi.Output.from_input(value)


# --- the federation in the DNS account -------------------------------------------------------------


def federation_plan() -> Plan:
    """One acme_role per cluster under a stand-in GlobalDns, on the DNS account's provider."""

    def program() -> None:
        dns = aws.Provider("global-dns", region="us-east-1")
        parent = pulumi.ComponentResource(GLOBAL_DNS, "global")
        providers = OidcProviders()
        for target, (cloud, issuer, reuse) in CLUSTERS.items():
            acme = acme_role(
                parent,
                f"global-{target}-dns01",
                dns,
                out(ZONE_ID),
                ZONE,
                [challenge_name(HOST)],
                target,
                cloud,
                WorkloadIdentity(out(issuer), out(reuse) if reuse else None),
                "cert-manager",
                "route53-dns01",
                providers,
            )
            pulumi.export(target, acme.arn)

    return program_plan(program)


@pytest.fixture(scope="module")
def federation() -> Plan:
    return federation_plan()


def role_of(plan: Plan, target: str) -> PlannedResource:
    (role,) = [r for r in plan.of_type(ROLE) if r.name == f"global-{target}-dns01"]
    return role


def policy_of(plan: Plan, target: str) -> dict[str, Any]:
    (policy,) = [r for r in plan.of_type(ROLE_POLICY) if r.name == f"global-{target}-dns01"]
    document: dict[str, Any] = json.loads(policy.inputs["policy"])
    return document


def test_an_oidc_provider_per_cluster_issuer_not_already_in_the_dns_account(federation: Plan) -> None:
    providers = {p.inputs["url"]: p for p in federation.of_type(OIDC_PROVIDER)}
    # GKE, AKS (trailing slash kept: it is the tokens' iss) and the EKS cluster whose IRSA provider is elsewhere.
    assert set(providers) == {GKE_ISSUER, AKS_ISSUER, f"https://{EKS_OTHER_HOST}"}
    dns = only(federation, "pulumi:providers:aws")
    for provider in providers.values():
        assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
        assert "thumbprintLists" not in provider.inputs  # optional; IAM trusts the issuers' public CAs
        assert provider.provider == dns.urn
        assert provider.parent == only(federation, GLOBAL_DNS).urn


def test_each_role_trusts_only_its_clusters_issuer_for_one_service_account_and_sts(federation: Plan) -> None:
    expected_provider = {
        target: reuse or f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{issuer.removeprefix('https://')}"
        for target, (_, issuer, reuse) in CLUSTERS.items()
    }
    for target, arn in expected_provider.items():
        trust = json.loads(role_of(federation, target).inputs["assumeRolePolicy"])
        (statement,) = trust["Statement"]
        host = arn.split(":oidc-provider/", 1)[1]
        assert statement["Principal"] == {"Federated": arn}, target
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Effect"] == "Allow"
        assert statement["Condition"] == {
            "StringEquals": {f"{host}:sub": SUBJECT, f"{host}:aud": "sts.amazonaws.com"}
        }, target
    aks = json.loads(role_of(federation, "azure-swedencentral").inputs["assumeRolePolicy"])
    # The condition keys are named after the provider as IAM names it: AKS's trailing slash included.
    assert f"{AKS_ISSUER.removeprefix('https://')}:sub" in aks["Statement"][0]["Condition"]["StringEquals"]


def test_an_eks_cluster_in_the_dns_account_reuses_its_irsa_provider(federation: Plan) -> None:
    urls = [p.inputs["url"] for p in federation.of_type(OIDC_PROVIDER)]
    assert f"https://{EKS_HOST}" not in urls  # IAM allows one provider per URL and account
    assert federation.outputs["aws-us-east-1"].startswith(f"arn:aws:iam::{ACCOUNT_ID}:role/")


def test_every_federation_resource_is_in_the_dns_account_under_its_parent(federation: Plan) -> None:
    dns, parent = only(federation, "pulumi:providers:aws"), only(federation, GLOBAL_DNS)
    made = [*federation.of_type(OIDC_PROVIDER), *federation.of_type(ROLE), *federation.of_type(ROLE_POLICY)]
    assert len(made) == 3 + 4 + 4
    assert all(r.provider == dns.urn and r.parent == parent.urn for r in made)


def test_the_policy_is_the_challenge_records_of_this_zone_only(federation: Plan) -> None:
    zone = f"arn:aws:route53:::hostedzone/{ZONE_ID}"
    for target in CLUSTERS:
        statements = {s["Sid"]: s for s in policy_of(federation, target)["Statement"]}
        assert statements == {
            "AnswerChallenges": {
                "Sid": "AnswerChallenges",
                "Effect": "Allow",
                "Action": "route53:ChangeResourceRecordSets",
                "Resource": zone,
                "Condition": {
                    "ForAllValues:StringEquals": {
                        "route53:ChangeResourceRecordSetsNormalizedRecordNames": [CHALLENGE],
                        "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"],
                        "route53:ChangeResourceRecordSetsActions": ["UPSERT", "DELETE"],
                    }
                },
            },
            "ReadZone": {
                "Sid": "ReadZone",
                "Effect": "Allow",
                "Action": "route53:ListResourceRecordSets",
                "Resource": zone,
            },
            "WaitForChange": {
                "Sid": "WaitForChange",
                "Effect": "Allow",
                "Action": "route53:GetChange",
                "Resource": "arn:aws:route53:::change/*",
            },
        }, target


def allows(policy: dict[str, Any], action: str, resource: str, changes: Sequence[tuple[str, str, str]] = ()) -> bool:
    """IAM's answer for one request: an Allow whose action, resource and conditions all match.

    `changes` is the change batch as (action, type, record name); ForAllValues:StringEquals holds when
    every value of the key in the request is among the policy's values.
    """
    context = {
        "route53:ChangeResourceRecordSetsActions": {c[0] for c in changes},
        "route53:ChangeResourceRecordSetsRecordTypes": {c[1] for c in changes},
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": {c[2] for c in changes},
    }
    for statement in policy["Statement"]:
        if statement["Action"] != action or not fnmatchcase(resource, statement["Resource"]):
            continue
        conditions = statement.get("Condition", {})
        assert set(conditions) <= {"ForAllValues:StringEquals"}
        keys = conditions.get("ForAllValues:StringEquals", {})
        if all(context[key] <= set(values) for key, values in keys.items()):
            return True
    return False


def test_the_policy_refuses_every_other_record_type_name_action_and_zone() -> None:
    policy = json.loads(dns01_policy(ZONE_ID, [CHALLENGE]))
    zone, other_zone = f"arn:aws:route53:::hostedzone/{ZONE_ID}", "arn:aws:route53:::hostedzone/ZOTHER"
    change = "route53:ChangeResourceRecordSets"
    assert allows(policy, change, zone, [("UPSERT", "TXT", CHALLENGE)])
    assert allows(policy, change, zone, [("DELETE", "TXT", CHALLENGE)])
    assert not allows(policy, change, other_zone, [("UPSERT", "TXT", CHALLENGE)])
    assert not allows(policy, change, zone, [("UPSERT", "CNAME", CHALLENGE)])
    assert not allows(policy, change, zone, [("UPSERT", "TXT", HOST)])  # the global name itself
    assert not allows(policy, change, zone, [("UPSERT", "TXT", f"_acme-challenge.www.{ZONE}")])
    assert not allows(policy, change, zone, [("CREATE", "TXT", CHALLENGE)])  # cert-manager only upserts
    # One bad change spoils the batch: the challenge cannot carry a rewrite of the global name along.
    assert not allows(policy, change, zone, [("UPSERT", "TXT", CHALLENGE), ("UPSERT", "A", HOST)])
    assert allows(policy, "route53:ListResourceRecordSets", zone)
    assert not allows(policy, "route53:ListResourceRecordSets", other_zone)
    assert allows(policy, "route53:GetChange", "arn:aws:route53:::change/C0123456789")
    assert not allows(policy, "route53:ListHostedZonesByName", "*")  # hostedZoneID is set: no zone lookup
    assert not allows(policy, "route53:ChangeResourceRecordSets", "*", [("UPSERT", "TXT", CHALLENGE)])


def test_challenge_names_are_normalized_as_route53_compares_them_and_kept_inside_the_zone() -> None:
    assert challenge_name("API.ml.example.com.") == CHALLENGE
    assert challenge_name(f"*.{HOST}") == CHALLENGE  # a wildcard is proven on its base name
    assert check_challenge_names([CHALLENGE.upper() + ".", CHALLENGE], ZONE) == [CHALLENGE]
    with pytest.raises(ValueError, match="outside the zone"):
        check_challenge_names(["_acme-challenge.api.example.org"], ZONE)
    with pytest.raises(ValueError, match="must start with"):
        check_challenge_names([HOST], ZONE)
    with pytest.raises(ValueError, match="at least one"):
        check_challenge_names([], ZONE)
    with pytest.raises(ValueError, match="normalize"):
        check_challenge_names([f"_acme-challenge.a*b.{ZONE}"], ZONE)


def test_a_reused_provider_must_be_the_clusters_own() -> None:
    def program() -> None:
        dns = aws.Provider("global-dns", region="us-east-1")
        parent = pulumi.ComponentResource(GLOBAL_DNS, "global")
        acme_role(
            parent,
            "wrong",
            dns,
            out(ZONE_ID),
            ZONE,
            [CHALLENGE],
            "aws-eu-west-1",
            "aws",
            WorkloadIdentity(out(f"https://{EKS_OTHER_HOST}"), out(IRSA_PROVIDER)),
            "cert-manager",
            "route53-dns01",
            OidcProviders(),
        )

    with pytest.raises(ProgramError, match="is not for the cluster's issuer"):
        program_plan(program)


def test_only_an_eks_provider_may_be_reused() -> None:
    def program() -> None:
        dns = aws.Provider("global-dns", region="us-east-1")
        gke = WorkloadIdentity(out(GKE_ISSUER), out("y"))
        acme_role(dns, "x", dns, out(ZONE_ID), ZONE, [CHALLENGE], "gke", "gcp", gke, "a", "b", OidcProviders())

    with pytest.raises(ProgramError, match="only an EKS cluster's IRSA provider"):
        program_plan(program)


# --- cert-manager and its objects on a cluster -----------------------------------------------------


def serving_args(target: Target, provider: k8s.Provider) -> ServingStackArgs:
    return ServingStackArgs(
        target=target,
        k8s_provider=provider,
        cluster_name=out("ml"),
        identity=WorkloadIdentity(oidc_issuer_url=out(GKE_ISSUER)),
        bucket=BucketAccess(serving_uri=out("gs://models"), bucket_name=out("models"), resource_id=out("models")),
        models=(),
    )


def certificate_plan() -> Plan:
    """issue_certificate under a stand-in ServingStack, waiting for a stand-in cert-manager release."""

    def program() -> None:
        parent = pulumi.ComponentResource("mlplatform:serving:ServingStack", "serving")
        provider = k8s.Provider("cluster", kubeconfig="{}")
        target = Target("t", "gcp", "us-central1", gcp.Provider("t", project="p-1"), gcp_project="p-1")
        release = k8s.helm.v3.Release(
            "cert-manager", chart="cert-manager", opts=pulumi.ResourceOptions(provider=provider)
        )
        secret = tls.issue_certificate(
            parent,
            "serving",
            serving_args(target, provider),
            [HOST],
            out(ZONE_ID),
            out(f"arn:aws:iam::{ACCOUNT_ID}:role/global-gcp-dns01"),
            EMAIL,
            [release],
        )
        pulumi.export("secret", secret)

    return program_plan(program)


@pytest.fixture(scope="module")
def certificate() -> Plan:
    return certificate_plan()


def kube(plan: Plan, kind: str) -> dict[str, Any]:
    (resource,) = [r for r in plan.resources if r.type.startswith("kubernetes:") and r.inputs.get("kind") == kind]
    return resource.inputs


def test_the_cluster_issuer_answers_dns01_on_the_zone_through_the_role(certificate: Plan) -> None:
    issuer = kube(certificate, "ClusterIssuer")
    assert issuer["apiVersion"] == "cert-manager.io/v1" and "namespace" not in issuer["metadata"]
    acme = issuer["spec"]["acme"]
    assert acme["server"] == "https://acme-v02.api.letsencrypt.org/directory"  # production
    assert acme["email"] == EMAIL
    assert acme["privateKeySecretRef"] == {"name": "letsencrypt-route53-account"}
    (solver,) = acme["solvers"]
    assert solver["selector"] == {"dnsNames": [HOST]}
    assert solver["dns01"] == {
        "route53": {
            "region": "us-east-1",
            "hostedZoneID": ZONE_ID,
            "role": f"arn:aws:iam::{ACCOUNT_ID}:role/global-gcp-dns01",
            "auth": {
                "kubernetes": {"serviceAccountRef": {"name": "route53-dns01", "audiences": ["sts.amazonaws.com"]}}
            },
        }
    }
    # No key anywhere: no access key id, no secret reference.
    assert "accessKeyID" not in json.dumps(issuer) and "SecretRef" not in json.dumps(solver)


def test_the_certificate_lands_beside_the_gateway_in_the_secret_the_gateway_names(certificate: Plan) -> None:
    cert = kube(certificate, "Certificate")
    assert cert["metadata"]["namespace"] == "istio-ingress"  # Istio reads credentialName from the gateway's namespace
    spec = cert["spec"]
    assert (
        spec["secretName"]
        == certificate.outputs["secret"]
        == TLS_SECRET_NAME
        == TlsSettings((HOST,)).server.credential_name
    )
    assert spec["dnsNames"] == [HOST]
    assert spec["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "letsencrypt-route53"}
    assert spec["privateKey"] == {"algorithm": "RSA", "size": 2048, "rotationPolicy": "Always"}


def test_cert_manager_may_request_tokens_for_the_solver_account_and_nothing_else(certificate: Plan) -> None:
    account, role, binding = (kube(certificate, kind) for kind in ("ServiceAccount", "Role", "RoleBinding"))
    assert account["metadata"]["name"] == "route53-dns01" and account["metadata"]["namespace"] == "cert-manager"
    assert account["automountServiceAccountToken"] is False
    assert role["metadata"]["namespace"] == "cert-manager"
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["serviceaccounts/token"],
            "resourceNames": ["route53-dns01"],
            "verbs": ["create"],
        }
    ]
    # The chart names the controller's service account after the release, fixed to "cert-manager".
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "cert-manager", "namespace": "cert-manager"}]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    assert tls.CERT_MANAGER.name == tls.CONTROLLER_SERVICE_ACCOUNT


def test_objects_wait_for_cert_manager_and_the_issuer_for_its_rbac(certificate: Plan) -> None:
    release = only(certificate, RELEASE)
    provider = only(certificate, "pulumi:providers:kubernetes")
    made = [r for r in certificate.resources if r.type.startswith("kubernetes:") and r.custom and r.type != RELEASE]
    assert len(made) == 5
    for resource in made:
        assert release.urn in resource.dependencies, resource.urn
        assert resource.provider == provider.urn
    issuer, cert = only(certificate, CLUSTER_ISSUER), only(certificate, CERTIFICATE)
    rbac = {r.urn for r in made if r.inputs["kind"] in ("ServiceAccount", "Role", "RoleBinding")}
    assert rbac <= set(issuer.dependencies)
    assert issuer.urn in cert.dependencies


def test_builtin_objects_are_valid_kubernetes_1_33(certificate: Plan) -> None:
    objects = k8s_schemas.manifests(certificate)
    assert not k8s_schemas.placeholders(objects)
    errors, custom = k8s_schemas.split(objects)
    assert errors == []
    assert sorted(m["kind"] for m in objects if m not in custom) == ["Role", "RoleBinding", "ServiceAccount"]


def test_cert_manager_objects_carry_what_their_crds_require(certificate: Plan) -> None:
    """Checked by hand: tests/k8s_schemas does not install a cert-manager schema package (the required
    fields below are those of the v1.21.1 CRDs, deploy/crds/cert-manager.io_{clusterissuers,certificates}.yaml)."""
    objects = k8s_schemas.manifests(certificate)
    _, custom = k8s_schemas.split(objects)
    assert sorted(m["kind"] for m in custom) == ["Certificate", "ClusterIssuer"]
    acme = kube(certificate, "ClusterIssuer")["spec"]["acme"]
    assert {"server", "privateKeySecretRef"} <= acme.keys() and acme["privateKeySecretRef"]["name"]
    assert acme["solvers"][0]["dns01"]["route53"]["auth"]["kubernetes"]["serviceAccountRef"]["name"]
    spec = kube(certificate, "Certificate")["spec"]
    assert {"issuerRef", "secretName"} <= spec.keys() and spec["issuerRef"]["name"]
    assert spec["privateKey"]["algorithm"] in ("RSA", "ECDSA", "Ed25519")
    assert spec["privateKey"]["rotationPolicy"] in ("Never", "Always")


def test_bad_tls_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one host"):
        TlsSettings(())
    with pytest.raises(ValueError, match="not a lowercase DNS name"):
        TlsSettings(("API.ml.example.com",))
    assert TlsSettings((f"*.{ZONE}",)).hosts == (f"*.{ZONE}",)

    def program() -> None:
        provider = k8s.Provider("cluster", kubeconfig="{}")
        target = Target("t", "gcp", "us-central1", gcp.Provider("t", project="p-1"), gcp_project="p-1")
        tls.issue_certificate(provider, "s", serving_args(target, provider), [HOST], "Z", "arn", "nobody", [])

    with pytest.raises(ProgramError, match="is not an address"):
        program_plan(program)


# --- the cert-manager release ----------------------------------------------------------------------


def addons_plan(cert_manager: bool) -> Plan:
    def program() -> None:
        parent = pulumi.ComponentResource("mlplatform:serving:ServingStack", "serving")
        provider = k8s.Provider("cluster", kubeconfig="{}")
        target = Target("t", "aws", "us-east-1", aws.Provider("t", region="us-east-1"))
        args = serving_args(target, provider)
        installed = addons.install(parent, "serving", args)
        if cert_manager:
            installed = tls.install_cert_manager(parent, "serving", args, installed)
        pulumi.export("ready", pulumi.Output.all(*[r.urn for r in installed.ready]))

    return program_plan(program)


def test_cert_manager_is_pinned_installs_its_crds_and_is_ready_for_the_tls_objects() -> None:
    plan = addons_plan(cert_manager=True)
    (release,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "cert-manager"]
    assert release.inputs["version"] == "v1.21.1"  # cert-manager 1.21: Kubernetes 1.33 to 1.36
    assert release.inputs["repositoryOpts"] == {"repo": "https://charts.jetstack.io"}
    assert (release.inputs["name"], release.inputs["namespace"]) == ("cert-manager", "cert-manager")
    # The namespace is the program's, with its Pod Security labels, made before the chart (components/pod_security.py)
    assert release.inputs["createNamespace"] is False
    (space,) = [
        r for r in plan.of_type("kubernetes:core/v1:Namespace") if r.inputs["metadata"]["name"] == "cert-manager"
    ]
    assert "pod-security.kubernetes.io/enforce" in space.inputs["metadata"]["labels"]
    values = release.inputs["values"]
    assert values["crds"] == {"enabled": True, "keep": True}
    for component, placement in {
        "controller": values,
        **{k: values[k] for k in ("webhook", "cainjector", "startupapicheck")},
    }.items():
        assert placement["nodeSelector"] == {"mlplatform.io/role": "system"}, component
        assert placement["tolerations"] == [{"key": "CriticalAddonsOnly", "operator": "Exists"}], component
    assert plan.outputs["ready"][-1] == release.urn


def test_without_tls_there_is_no_cert_manager() -> None:
    plan = addons_plan(cert_manager=False)
    assert "cert-manager" not in {r.inputs["chart"] for r in plan.of_type(RELEASE)}
    assert len(plan.outputs["ready"]) == 5  # Istio CNI, istiod, the gateway, KEDA, the Prometheus stack


# --- the Gateway ----------------------------------------------------------------------------------


def gateway_spec(https: HttpsServer | None) -> dict[str, Any]:
    def program() -> None:
        provider = k8s.Provider("cluster", kubeconfig="{}")
        installed = Addons(
            gateway_address=out("203.0.113.10"),
            gateway_namespace="istio-ingress",
            gateway_selector={"istio": "ingressgateway"},
            monitoring_namespace="monitoring",
            prometheus_url="http://prometheus:9090",
            pod_monitor_labels={},
        )
        traffic.gateway("gateway", installed, pulumi.ResourceOptions(provider=provider), https)

    spec: dict[str, Any] = only(program_plan(program), GATEWAY).inputs["spec"]
    return spec


def test_the_gateway_serves_https_for_the_global_host_and_any_sni_and_only_redirects_http() -> None:
    spec = gateway_spec(TlsSettings((HOST,)).server)
    https, http = spec["servers"]
    assert https == {
        "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
        # "*" drops Envoy's SNI match: Route 53's checkers (NLB name, then no SNI) still get a handshake.
        "hosts": [HOST, "*"],
        "tls": {"mode": "SIMPLE", "credentialName": "global-host-tls", "minProtocolVersion": "TLSV1_2"},
    }
    assert http == {
        "port": {"number": 80, "name": "http", "protocol": "HTTP"},
        "hosts": ["*"],
        "tls": {"httpsRedirect": True},
    }


def test_without_tls_the_gateway_is_unchanged() -> None:
    assert gateway_spec(None)["servers"] == [
        {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}
    ]


def test_the_https_gateway_is_valid_against_istios_crd() -> None:
    reason = k8s_schemas.custom_validator_missing()
    if reason:
        pytest.fail(reason)
    manifest = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "models", "namespace": "serving"},
        "spec": gateway_spec(TlsSettings((HOST,)).server),
    }
    assert k8s_schemas.custom_errors([manifest]) == []
    broken = json.loads(json.dumps(manifest))
    broken["spec"]["servers"][0]["tls"]["mode"] = "STRICT"
    assert len(k8s_schemas.custom_errors([broken])) == 1


# --- the wiring: which edges cross clouds ----------------------------------------------------------


@dataclass(frozen=True)
class _Footprint:
    """What the wiring needs from one footprint: its cluster's issuer, its ServingStack and add-ons."""

    target: str
    cloud: Cloud
    region: str
    issuer: pulumi.Output[str]
    args: ServingStackArgs
    serving: pulumi.ComponentResource
    installed: Addons


def _footprint(target: str, cloud: Cloud, region: str, issuer: str) -> _Footprint:
    """A stand-in Footprint: its provider, a cluster (a random string whose result yields the issuer),
    and a ServingStack with the TLS add-ons and the HTTPS Gateway, as ServingStack would make them."""
    footprint = pulumi.ComponentResource(FOOTPRINT, target)
    inside = pulumi.ResourceOptions(parent=footprint)
    provider: pulumi.ProviderResource
    if cloud == "gcp":
        provider = gcp.Provider(target, project="p-1", opts=inside)
    else:
        provider = azure_native.Provider(target, location=region, opts=inside)
    cluster = random.RandomString(f"{target}-cluster", length=8, opts=inside)
    kube_provider = k8s.Provider(f"{target}-k8s", kubeconfig="{}", opts=inside)
    args = serving_args(Target(target, cloud, region, provider), kube_provider)
    serving = pulumi.ComponentResource("mlplatform:serving:ServingStack", f"{target}-serving", opts=inside)
    installed = tls.install_cert_manager(
        serving, f"{target}-serving", args, addons.install(serving, f"{target}-serving", args)
    )
    traffic.gateway(
        f"{target}-serving-gateway",
        installed,
        pulumi.ResourceOptions(parent=serving, provider=kube_provider),
        TlsSettings((HOST,)).server,
    )
    return _Footprint(target, cloud, region, cluster.result.apply(lambda _: issuer), args, serving, installed)


def wiring_plan() -> Plan:
    """The integration this module asks for, in small: two footprints (GKE, AKS) with TLS-enabled add-ons,
    GlobalDns on their gateways, then per footprint the DNS-01 role under GlobalDns and the certificate."""

    def program() -> None:
        footprints = [
            _footprint("gcp-us-central1", "gcp", "us-central1", GKE_ISSUER),
            _footprint("azure-swedencentral", "azure", "swedencentral", AKS_ISSUER),
        ]
        dns = aws.Provider("global-dns", region="us-east-1")
        endpoints = tuple(
            DnsEndpoint(fp.target, fp.cloud, fp.region, fp.installed.gateway_address, "/v2/health/ready")
            for fp in footprints
        )
        global_dns = GlobalDns(
            "global",
            GlobalDnsArgs(provider=dns, zone_name=ZONE, create_zone=False, mode="weighted", endpoints=endpoints),
        )
        providers = OidcProviders()
        for fp in footprints:
            acme = acme_role(
                global_dns,
                f"global-{fp.target}-dns01",
                dns,
                global_dns.zone_id,
                ZONE,
                [challenge_name(HOST)],
                fp.target,
                fp.cloud,
                WorkloadIdentity(fp.issuer),
                tls.CERT_MANAGER_NAMESPACE,
                tls.SOLVER_SERVICE_ACCOUNT,
                providers,
            )
            tls.issue_certificate(
                fp.serving,
                f"{fp.target}-serving",
                fp.args,
                [HOST],
                global_dns.zone_id,
                acme.arn,
                EMAIL,
                fp.installed.ready,
                namespace=addons.gateway_namespace(fp.installed),
            )

    return program_plan(program)


@pytest.fixture(scope="module")
def wiring() -> Plan:
    return wiring_plan()


def test_the_wiring_adds_edges_only_into_and_out_of_global_dns(wiring: Plan) -> None:
    assert cross_target_edges(wiring) == []  # the rule of tests/test_global_dns_stack.py
    edges = [
        (resource, other)
        for resource in wiring.resources
        for reference in [resource.parent, resource.provider, *resource.dependencies]
        if wiring.target_of(resource) and (other := wiring.get(reference) if reference else None)
    ]
    within = [(resource, other) for resource, other in edges if wiring.target_of(other)]
    assert within  # each target's resources depend on one another: those are the edges checked
    for resource, other in within:  # and no edge joins two targets
        assert wiring.target_of(other) == wiring.target_of(resource), f"{resource.urn} -> {other.urn}"


def test_the_edges_that_cross_are_the_dns01_ones(wiring: Plan) -> None:
    """Into GlobalDns: each role reads its cluster's issuer. Out of it: each ClusterIssuer reads the zone
    (GlobalDns's lookup) and its role; nothing else in a target reads anything stack-wide."""
    crossing: set[tuple[str, str]] = set()
    for resource in wiring.resources:
        for dependency in resource.dependencies:
            other = wiring.get(dependency)
            if other is not None and wiring.target_of(other) != wiring.target_of(resource):
                crossing.add((resource.type, other.type))
    cluster = "random:index/randomString:RandomString"  # the stand-in for each cluster (its OIDC issuer)
    assert crossing == {
        ("aws:route53/healthCheck:HealthCheck", "kubernetes:core/v1:Service"),  # GlobalDns reads the gateways
        ("aws:route53/record:Record", "kubernetes:core/v1:Service"),
        (OIDC_PROVIDER, cluster),  # the DNS account trusts the cluster's issuer
        (ROLE, cluster),
        (CLUSTER_ISSUER, ROLE),  # the ClusterIssuer names the role, read once its policy exists
        (CLUSTER_ISSUER, ROLE_POLICY),
    }
    zone_id = _route53_get_zone({"name": ZONE})["zoneId"]  # GlobalDns's lookup of the existing zone
    for issuer in every(wiring, CLUSTER_ISSUER):
        assert issuer.inputs["spec"]["acme"]["solvers"][0]["dns01"]["route53"]["hostedZoneID"] == zone_id
    for cert in every(wiring, CERTIFICATE):  # it waits for the gateway release that makes its namespace
        waits_for = [wiring.get(d) for d in cert.dependencies]
        assert "kubernetes:core/v1:Service" in {r.type for r in waits_for if r is not None}
