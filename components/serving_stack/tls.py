"""TLS for the global host name on a ServingStack's gateway: cert-manager, Let's Encrypt, DNS-01 on Route 53.

Per cluster (all on the cluster's own kubernetes provider):
- a ServiceAccount `cert-manager/route53-dns01` that no pod runs as: cert-manager's controller asks the
  API server for a short-lived token of it (TokenRequest, audience `sts.amazonaws.com`) and trades it with
  STS for the DNS account's role (components/global_dns/acme_federation.py), which trusts exactly this
  service account of exactly this cluster's issuer. A Role and RoleBinding let the controller's own
  service account (`cert-manager/cert-manager`, the chart's name for release `cert-manager`) create
  tokens for that one service account and nothing else;
- a ClusterIssuer: ACME on Let's Encrypt's production directory, one DNS-01 solver on Route 53 with the
  zone id (so cert-manager never lists zones) and the role;
- a Certificate in the gateway's namespace: Istio reads a Gateway's `credentialName` Secret from the
  gateway workload's own namespace (istio-ingress), and cert-manager writes the Secret beside the
  Certificate.

Facts (read 2026-11):
- `route53.auth.kubernetes.serviceAccountRef` (name, optional audiences, default `sts.amazonaws.com`)
  first shipped in cert-manager v1.15.0 ("Update the Route53 provider to support fetching credentials
  using AssumeRoleWithWebIdentity", cert-manager#6878); for a ClusterIssuer the service account is looked
  up in the cluster resource namespace, the one cert-manager runs in (pkg/issuer/acme/dns/dns.go). It
  works outside AWS: cert-manager's Route53 page, "IAM Role with dedicated Kubernetes ServiceAccount".
  Since v1.21 the chart no longer grants the controller token creation for its own service account;
  the dedicated account with our own RBAC is the documented way.
- cert-manager's Route 53 solver writes a TXT record per challenge value (multivalue answer, the value
  as set identifier), so several clusters can prove the same name at once without overwriting each other.
- The Gateway may exist before the Secret: Istio serves credentialName Secrets over SDS without the
  zero initial-fetch timeout, "as this is used for credentialName SDS which may refer to secrets which
  do not exist" (istio pilot/pkg/security/model/authentication.go), and pushes the Secret once it appears.
- Let's Encrypt issues at most 5 certificates per exact set of names per 7 days, renewals included
  (letsencrypt.org/docs/rate-limits): every cluster gets its own certificate for the same global host,
  and clusters issued together renew together, so a stack of more than 5 targets, or clusters rebuilt
  within the week, run into it. The prod stack has 4.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.irsa import STS_AUDIENCE
from components.serving_stack.addons import CERT_MANAGER, CERT_MANAGER_NAMESPACE, GATEWAY_NAMESPACE
from components.serving_stack.contract import Addons, ServingStackArgs
from components.serving_stack.traffic import HttpsServer

CERT_MANAGER_API = "cert-manager.io/v1"
LETS_ENCRYPT_PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory"
ROUTE53_REGION = "us-east-1"  # Route 53's API (and the STS endpoint cert-manager derives from it) lives here

SOLVER_SERVICE_ACCOUNT = "route53-dns01"  # the identity the DNS account's role trusts
CONTROLLER_SERVICE_ACCOUNT = CERT_MANAGER.name  # the chart names it after the release, fixed to "cert-manager"
TOKEN_ROLE = f"{SOLVER_SERVICE_ACCOUNT}-tokenrequest"
CLUSTER_ISSUER = "letsencrypt-route53"
ACCOUNT_KEY_SECRET = f"{CLUSTER_ISSUER}-account"  # the ACME account's private key, made by cert-manager
CERTIFICATE = "global-host"
SECRET_NAME = "global-host-tls"  # the Gateway's credentialName
# RSA 2048 rather than ECDSA: Route 53's HTTPS health checkers are documented only by TLS version
# (1.0 to 1.2), not by signature algorithm, and every client takes RSA.
PRIVATE_KEY = {"algorithm": "RSA", "size": 2048, "rotationPolicy": "Always"}

_HOST = re.compile(r"^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class TlsSettings:
    """HTTPS on a ServingStack's gateway (the field `tls: TlsSettings | None = None` of ServingStackArgs).

    The certificate itself is issued by `issue_certificate`, after GlobalDns has its zone and the DNS
    account's role; the Gateway only needs the names and the Secret's name, both known up front.
    """

    hosts: tuple[str, ...]  # the names the certificate carries: the global host, e.g. api.ml.example.com

    def __post_init__(self) -> None:
        check_hosts(self.hosts)

    @property
    def server(self) -> HttpsServer:
        """What traffic.gateway needs for its HTTPS server."""
        return HttpsServer(hosts=self.hosts, credential_name=SECRET_NAME)


def check_hosts(hosts: Sequence[str]) -> None:
    if not hosts:
        raise ValueError("TLS needs at least one host name")
    for host in hosts:
        if not _HOST.match(host):
            raise ValueError(f"TLS host {host!r}: not a lowercase DNS name")


def gateway_namespace(addons: Addons) -> pulumi.Output[str]:
    """The gateway's namespace, read through its address: the gateway release creates the namespace, and
    `Addons.ready` does not hold that release, so a Certificate placed with this waits for it."""
    return addons.gateway_address.apply(lambda _: addons.gateway_namespace)


def issue_certificate(
    parent: pulumi.Resource,
    name: str,
    args: ServingStackArgs,
    hosts: Sequence[str],
    zone_id: pulumi.Input[str],
    role_arn: pulumi.Input[str],
    acme_email: str,
    depends_on: Sequence[pulumi.Resource],
    *,
    namespace: pulumi.Input[str] = GATEWAY_NAMESPACE,
) -> str:
    """The solver's service account and RBAC, the ClusterIssuer and the Certificate; returns the Secret's name.

    `depends_on` must hold the cert-manager release (Addons.ready with cert_manager=True): it brings the
    namespace, the CRDs and the webhook. `namespace` is where the Certificate and its Secret go; pass
    `gateway_namespace(addons)` so it waits for the gateway release that creates it.
    """
    check_hosts(hosts)
    if not _EMAIL.match(acme_email):
        raise ValueError(f"ACME account e-mail {acme_email!r} is not an address")
    base = pulumi.ResourceOptions(parent=parent, provider=args.k8s_provider, depends_on=list(depends_on))
    labels = {"app.kubernetes.io/part-of": "mlplatform", "app.kubernetes.io/component": "tls"}

    account = k8s.core.v1.ServiceAccount(
        f"{name}-dns01-account",
        metadata={"name": SOLVER_SERVICE_ACCOUNT, "namespace": CERT_MANAGER_NAMESPACE, "labels": labels},
        automount_service_account_token=False,  # no pod runs as it; cert-manager requests its tokens
        opts=base,
    )
    token_role = k8s.rbac.v1.Role(
        f"{name}-dns01-tokenrequest",
        metadata={"name": TOKEN_ROLE, "namespace": CERT_MANAGER_NAMESPACE, "labels": labels},
        rules=[
            {
                "api_groups": [""],
                "resources": ["serviceaccounts/token"],
                "resource_names": [SOLVER_SERVICE_ACCOUNT],
                "verbs": ["create"],
            }
        ],
        opts=base,
    )
    binding = k8s.rbac.v1.RoleBinding(
        f"{name}-dns01-tokenrequest",
        metadata={"name": f"cert-manager-{TOKEN_ROLE}", "namespace": CERT_MANAGER_NAMESPACE, "labels": labels},
        subjects=[{"kind": "ServiceAccount", "name": CONTROLLER_SERVICE_ACCOUNT, "namespace": CERT_MANAGER_NAMESPACE}],
        role_ref={"api_group": "rbac.authorization.k8s.io", "kind": "Role", "name": TOKEN_ROLE},
        opts=base,
    )
    issuer = k8s.apiextensions.CustomResource(
        f"{name}-cluster-issuer",
        api_version=CERT_MANAGER_API,
        kind="ClusterIssuer",
        metadata={"name": CLUSTER_ISSUER, "labels": labels},
        spec=cluster_issuer_spec(hosts, zone_id, role_arn, acme_email),
        opts=pulumi.ResourceOptions.merge(base, pulumi.ResourceOptions(depends_on=[account, token_role, binding])),
    )
    k8s.apiextensions.CustomResource(
        f"{name}-certificate",
        api_version=CERT_MANAGER_API,
        kind="Certificate",
        metadata={"name": CERTIFICATE, "namespace": namespace, "labels": labels},
        spec={
            "secretName": SECRET_NAME,
            "dnsNames": list(hosts),
            "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": CLUSTER_ISSUER},
            "privateKey": dict(PRIVATE_KEY),
        },
        opts=pulumi.ResourceOptions.merge(base, pulumi.ResourceOptions(depends_on=[issuer])),
    )
    return SECRET_NAME


def cluster_issuer_spec(
    hosts: Sequence[str], zone_id: pulumi.Input[str], role_arn: pulumi.Input[str], acme_email: str
) -> dict[str, object]:
    """ACME on Let's Encrypt production, answered by DNS-01 on Route 53 through the DNS account's role."""
    route53 = {
        "region": ROUTE53_REGION,
        "hostedZoneID": zone_id,
        "role": role_arn,
        "auth": {"kubernetes": {"serviceAccountRef": {"name": SOLVER_SERVICE_ACCOUNT, "audiences": [STS_AUDIENCE]}}},
    }
    return {
        "acme": {
            "server": LETS_ENCRYPT_PRODUCTION,
            "email": acme_email,
            "privateKeySecretRef": {"name": ACCOUNT_KEY_SECRET},
            # Only these names use this solver; the role could not answer for others anyway.
            "solvers": [{"selector": {"dnsNames": list(hosts)}, "dns01": {"route53": route53}}],
        }
    }
