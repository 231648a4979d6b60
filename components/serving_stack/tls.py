"""TLS for the global host name on a ServingStack's gateway: cert-manager, Let's Encrypt, DNS-01 on Route 53.

Everything TLS puts in a cluster is made here; which hosts, and the DNS account's role per cluster, are
wired by stacks/tls.py. The settings (TlsSettings, the Secret's name) are data in contract.py.

Per cluster (all on the cluster's own kubernetes provider):
- cert-manager, installed with the other add-ons' release helper when ServingStackArgs.tls is set
  (`install_cert_manager`), so the model objects and the certificate wait for its CRDs and webhook;
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

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import pod_security
from components.irsa import STS_AUDIENCE
from components.serving_stack.addons import GATEWAY_NAMESPACE, Chart, helm_release, system_placement
from components.serving_stack.contract import TLS_SECRET_NAME, Addons, ServingStackArgs, check_hosts

# cert-manager 1.21 supports Kubernetes 1.33 to 1.36 (cert-manager.io, "Supported Releases"); v1.21.1
# (2026-07-29) is its newest patch. Route 53's serviceAccountRef auth, used here, exists since v1.15.0.
# The chart's versions carry the "v" (cert-manager/cert-manager deploy/charts, set by the release).
CERT_MANAGER = Chart("cert-manager", "v1.21.1", "https://charts.jetstack.io")
CERT_MANAGER_NAMESPACE = "cert-manager"
CERT_MANAGER_API = "cert-manager.io/v1"
LETS_ENCRYPT_PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory"
ROUTE53_REGION = "us-east-1"  # Route 53's API (and the STS endpoint cert-manager derives from it) lives here

SOLVER_SERVICE_ACCOUNT = "route53-dns01"  # the identity the DNS account's role trusts
CONTROLLER_SERVICE_ACCOUNT = CERT_MANAGER.name  # the chart names it after the release, fixed to "cert-manager"
TOKEN_ROLE = f"{SOLVER_SERVICE_ACCOUNT}-tokenrequest"
CLUSTER_ISSUER = "letsencrypt-route53"
ACCOUNT_KEY_SECRET = f"{CLUSTER_ISSUER}-account"  # the ACME account's private key, made by cert-manager
CERTIFICATE = "global-host"
# RSA 2048 rather than ECDSA: Route 53's HTTPS health checkers are documented only by TLS version
# (1.0 to 1.2), not by signature algorithm, and every client takes RSA.
PRIVATE_KEY = {"algorithm": "RSA", "size": 2048, "rotationPolicy": "Always"}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def install_cert_manager(parent: pulumi.Resource, name: str, args: ServingStackArgs, addons: Addons) -> Addons:
    """cert-manager beside the other add-ons, in `Addons.ready`: its CRDs and webhook serve the ClusterIssuer and
    the Certificate, which wait for it."""
    space = pod_security.namespace(
        f"{name}-namespace-{CERT_MANAGER_NAMESPACE}",
        CERT_MANAGER_NAMESPACE,
        pod_security.BASELINE,
        pulumi.ResourceOptions(parent=parent, provider=args.k8s_provider),
    )
    release = helm_release(
        parent,
        f"{name}-cert-manager",
        args,
        CERT_MANAGER,
        CERT_MANAGER_NAMESPACE,
        cert_manager_values(),
        namespace_resource=space,
    )
    return dataclasses.replace(addons, ready=[*addons.ready, release])


def cert_manager_values() -> dict[str, Any]:
    """CRDs from the chart (kept if the release goes), every component on the system nodes.

    Values checked against the chart's values.yaml and values.schema.json at v1.21.1: the top-level
    nodeSelector/tolerations are the controller's; webhook, cainjector and startupapicheck have their own.
    The webhook listens on 10250 (the chart's webhook.securePort), which GKE's private control plane may
    reach without a firewall rule (unlike istiod's 15017).
    """
    return {
        "crds": {"enabled": True, "keep": True},
        **system_placement(),
        "webhook": system_placement(),
        "cainjector": system_placement(),
        "startupapicheck": system_placement(),
    }


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

    `depends_on` must hold the cert-manager release (Addons.ready after install_cert_manager): it brings the
    namespace, the CRDs and the webhook. `namespace` is where the Certificate and its Secret go; pass
    `addons.gateway_namespace(installed)` so it waits for the gateway release that creates it.
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
            "secretName": TLS_SECRET_NAME,
            "dnsNames": list(hosts),
            "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": CLUSTER_ISSUER},
            "privateKey": dict(PRIVATE_KEY),
        },
        opts=pulumi.ResourceOptions.merge(base, pulumi.ResourceOptions(depends_on=[issuer])),
    )
    return TLS_SECRET_NAME


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
