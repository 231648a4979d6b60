"""The stack's IAM OIDC identity providers: one per cluster issuer, whoever needs it first.

IAM holds at most one OIDC provider per issuer URL in an account, and three users trust a cluster's
issuer there: EKS's IRSA (the provider pulumi-eks makes with the cluster), GlobalDns's DNS-01
federation (a role per cluster that cert-manager assumes, components/global_dns/acme_federation.py)
and the model sync's writer roles in AWS (they trust the primary cluster's issuer,
components/model_sync). One `OidcProviders` per stack is handed to each user explicitly; each asks
it for the provider of a target's issuer, and it makes the provider once, for the first asker,
under that asker's name, parent and AWS provider. Every later asker gets the same ARN, whatever the
order of the calls. An EKS cluster's own IRSA provider is always the one for its issuer.

The stack's AWS providers are assumed to be one account (the DNS provider and the EKS targets'
providers): docs/ARCHITECTURE.md, "Edges between clouds".

Made like this (read 2026-11, IAM API reference, CreateOpenIDConnectProvider): the URL exactly as
the cluster reports its issuer (AKS's trailing slash kept: IAM matches the tokens' `iss` exactly),
the audience STS's, and no thumbprint: it is optional, and IAM trusts issuers whose certificate
chains to a public CA, as all three clouds' do.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from components.gpu_cluster.contract import WorkloadIdentity
from components.irsa import STS_AUDIENCE


class OidcProviders:
    """Get-or-create of the IAM OIDC provider per target's cluster issuer, for every user in the stack."""

    def __init__(self) -> None:
        self._arns: dict[str, pulumi.Output[str]] = {}

    def for_issuer(
        self,
        target: str,
        identity: WorkloadIdentity,
        *,
        name: str,
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions,
    ) -> pulumi.Output[str]:
        """The ARN of the provider for `target`'s cluster issuer.

        EKS's own IRSA provider if the identity has one; else the one made for an earlier asker; else one
        made now, as resource `name` with `tags` under `opts` (the asker's parent and AWS provider).
        """
        if identity.oidc_provider_arn is not None:
            return identity.oidc_provider_arn
        if target not in self._arns:
            provider = aws.iam.OpenIdConnectProvider(
                name,
                url=identity.oidc_issuer_url,  # exactly the tokens' `iss`
                client_id_lists=[STS_AUDIENCE],
                tags=dict(tags),
                opts=opts,
            )
            self._arns[target] = provider.arn
        return self._arns[target]
