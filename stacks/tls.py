"""HTTPS for the global host, wired in one place: when it is on, which names each gateway's certificate
carries, and how each cluster proves them.

TLS is on whenever the stack has GlobalDns (its health checks probe HTTPS on 443). The parts it wires:
- what TLS puts in a cluster, components/serving_stack/tls.py: cert-manager (installed by ServingStack when
  ServingStackArgs.tls is set), the ClusterIssuer and the Certificate; the Gateway's HTTPS server follows
  the same settings (components/serving_stack/traffic.py);
- what it needs in the DNS account, components/global_dns/acme_federation.py: a role per cluster, trusting
  the stack's IAM OIDC provider for that cluster's issuer (components/oidc_providers.py).
The platform hands each footprint its settings (`tls_settings`) and calls `issue_certificates` once
GlobalDns has its zone.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi_aws as aws

from components.global_dns import GlobalDns
from components.global_dns.acme_federation import acme_role, challenge_name
from components.oidc_providers import OidcProviders
from components.serving_stack.addons import gateway_namespace
from components.serving_stack.contract import TlsSettings
from components.serving_stack.tls import CERT_MANAGER_NAMESPACE, SOLVER_SERVICE_ACCOUNT, issue_certificate
from stacks.config import StackConfig
from stacks.dns_config import DnsConfig
from stacks.footprint import Footprint


def tls_hosts(target: str, stack: StackConfig) -> tuple[str, ...]:
    """The names a gateway's certificate carries: the global host, and on the central footprint the metrics host."""
    if stack.dns is None:
        return ()
    if target != stack.observability.central:
        return (stack.dns.global_host,)
    return (stack.dns.global_host, f"{stack.observability.record_name}.{stack.dns.zone}")


def tls_settings(target: str, stack: StackConfig) -> TlsSettings | None:
    """A footprint's ServingStackArgs.tls: HTTPS whenever there is global DNS, none without."""
    return TlsSettings(tls_hosts(target, stack)) if stack.dns is not None else None


def issue_certificates(
    dns: DnsConfig,
    footprints: Mapping[str, Footprint],
    global_dns: GlobalDns,
    provider: aws.Provider,
    oidc_providers: OidcProviders,
) -> None:
    """Every gateway proves its names by DNS-01 on the zone, with no AWS key in any cluster: an AWS role per
    cluster trusts that cluster's OIDC issuer (the DNS-01 edges between clouds)."""
    for name, fp in footprints.items():
        settings = fp.serving_args.tls
        if settings is None:
            raise ValueError(f"target {name}: the stack has global DNS but its gateway has no TLS settings")
        acme = acme_role(
            global_dns,
            f"global-{name}-dns01",
            provider,
            global_dns.zone_id,
            dns.zone,
            [challenge_name(host) for host in settings.hosts],
            name,
            fp.target.cloud,
            fp.cluster.identity,
            CERT_MANAGER_NAMESPACE,
            SOLVER_SERVICE_ACCOUNT,
            oidc_providers,
        )
        issue_certificate(
            fp.serving,
            f"{name}-serving",
            fp.serving_args,
            settings.hosts,
            global_dns.zone_id,
            acme.arn,
            dns.acme_email,
            fp.serving.addons.ready,
            namespace=gateway_namespace(fp.serving.addons),
        )
