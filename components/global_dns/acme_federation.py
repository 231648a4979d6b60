"""DNS-01 federation: a role in the DNS account that one cluster's cert-manager assumes with no key.

cert-manager (components/serving_stack/tls.py) asks its own cluster's API server for a token of a
dedicated service account, audience `sts.amazonaws.com`, and trades it with STS
(AssumeRoleWithWebIdentity) for this role. IAM takes the token because the DNS account holds an IAM
OIDC identity provider for the cluster's issuer (EKS, GKE and AKS publish their issuers' discovery
documents and signing keys on public HTTPS endpoints) and the role trusts that provider for that one
service account and that audience only. The role may then, and only then:

- read the status of a change it made (`route53:GetChange` on `change/*`; change ids belong to no zone);
- list the records of this one zone (`route53:ListResourceRecordSets`, which cert-manager's Route53
  page lists; read-only);
- change records of this one zone, only TXT records named exactly `_acme-challenge.<host>` for the
  given hosts, only by UPSERT or DELETE: what cert-manager sends to present and clean up a challenge
  (cert-manager pkg/issuer/acme/dns/route53/route53.go, v1.21). With `hostedZoneID` set on the solver,
  cert-manager never calls `ListHostedZonesByName`, so that (account-wide) permission is not granted.

Facts this relies on (read 2026-11):
- Route 53 condition keys for ChangeResourceRecordSets (Route 53 Developer Guide, "Using IAM policy
  conditions for fine-grained access control"): `route53:ChangeResourceRecordSetsNormalizedRecordNames`
  (lowercase, no trailing dot, characters other than a-z 0-9 - _ . octal-escaped),
  `route53:ChangeResourceRecordSetsRecordTypes` (uppercase types) and
  `route53:ChangeResourceRecordSetsActions` (CREATE, UPSERT, DELETE). They are multivalued (one value per
  change in the batch), so `ForAllValues:StringEquals` makes every change in a batch match.
- Thumbprints: CreateOpenIDConnectProvider's ThumbprintList is optional (IAM API reference); IAM
  verifies the issuer's JWKS endpoint against its library of trusted root CAs and uses thumbprints only
  for an endpoint whose certificate does not chain to one. The issuers here are served with public CA
  certificates (Amazon, Google Trust Services, Microsoft/DigiCert), so none is set and nothing needs
  rotating when those certificates renew.
- A provider is found by the token's `iss` claim, compared exactly, and IAM names the provider (its ARN
  and the prefix of its `:sub` and `:aud` condition keys) after the URL without `https://`, keeping a
  trailing slash (aws/aws-sam-cli#7432: a provider made as `own-gitlab.com/` does not match tokens
  issued as `https://own-gitlab.com`). AKS issuers end in `/`, so the provider URL is the issuer exactly
  as the cluster reports it and the condition keys take the provider's own name from its ARN
  (components/irsa.py's issuer_host would drop that slash).
- One account may hold only one provider per URL. The stack's OidcProviders (components/oidc_providers.py)
  hands out the one provider per cluster issuer: an EKS cluster's own IRSA provider, or one made here for
  a GKE or AKS cluster (or found, when the model sync asked first).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.gpu_cluster.contract import WorkloadIdentity
from components.irsa import trust_policy
from components.oidc_providers import OidcProviders

CHALLENGE_PREFIX = "_acme-challenge."  # RFC 8555 section 8.4: the DNS-01 TXT record's name
CHALLENGE_ACTIONS = ("UPSERT", "DELETE")  # cert-manager's Present and CleanUp
CHANGES = "arn:aws:route53:::change/*"
CLOUDS = ("aws", "gcp", "azure")
_PROVIDER_MARK = ":oidc-provider/"
_NORMALIZED_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class AcmeRole:
    """The federation made for one cluster; `arn` is what its ClusterIssuer names."""

    role: aws.iam.Role
    policy: aws.iam.RolePolicy

    @property
    def arn(self) -> pulumi.Output[str]:
        """The role's ARN, resolved only once its Route 53 policy is in place (so no first try is refused)."""
        return pulumi.Output.all(self.role.arn, self.policy.id).apply(lambda values: str(values[0]))


def challenge_name(host: str) -> str:
    """`api.ml.example.com` -> `_acme-challenge.api.ml.example.com`; a wildcard's challenge is its base name's."""
    return CHALLENGE_PREFIX + host.strip().rstrip(".").lower().removeprefix("*.")


def check_challenge_names(challenge_names: Sequence[str], zone_name: str) -> list[str]:
    """The names as Route 53's condition key sees them (lowercase, no trailing dot), each inside the zone."""
    zone = zone_name.strip().rstrip(".").lower()
    names: list[str] = []
    for raw in challenge_names:
        name = raw.strip().rstrip(".").lower()
        if not name.startswith(CHALLENGE_PREFIX):
            raise ValueError(f"DNS-01 record {raw!r}: must start with {CHALLENGE_PREFIX!r}")
        if not name.endswith(f".{zone}"):
            raise ValueError(f"DNS-01 record {raw!r} is outside the zone {zone_name!r}")
        if not _NORMALIZED_NAME.match(name):
            raise ValueError(f"DNS-01 record {raw!r}: not a host name Route 53 would normalize to itself")
        if name not in names:
            names.append(name)
    if not names:
        raise ValueError("DNS-01 federation needs at least one challenge record name")
    return names


def acme_role(
    parent: pulumi.Resource,
    name: str,
    provider: pulumi.ProviderResource,
    zone_id: pulumi.Input[str],
    zone_name: str,
    challenge_names: Sequence[str],
    target: str,
    cloud: str,
    identity: WorkloadIdentity,
    namespace: str,
    service_account: str,
    oidc_providers: OidcProviders,
) -> AcmeRole:
    """The role for `target`'s cluster and its Route 53 policy, trusting the stack's IAM OIDC provider for the
    cluster's issuer (made here as `<name>-oidc` if no one has it yet: `oidc_providers`).

    `provider` is the DNS account's aws.Provider; every resource is made with it, under `parent`.
    """
    if cloud not in CLOUDS:
        raise ValueError(f"DNS-01 federation {name}: unknown cloud {cloud!r}")
    if identity.oidc_provider_arn is not None and cloud != "aws":
        raise ValueError(f"DNS-01 federation {name}: only an EKS cluster's IRSA provider can be reused, not {cloud}'s")
    names = check_challenge_names(challenge_names, zone_name)
    opts = pulumi.ResourceOptions(parent=parent, provider=provider)
    tags = {"Name": f"{name} DNS-01", "Cloud": cloud}
    # The audience is STS's, the one cert-manager requests (its default).
    oidc_provider_arn = oidc_providers.for_issuer(target, identity, name=f"{name}-oidc", tags=tags, opts=opts)
    issuer_url = identity.oidc_issuer_url
    role = aws.iam.Role(
        name,
        description=f"DNS-01 for {name}: {namespace}/{service_account} of a {cloud} cluster may answer ACME challenges",
        assume_role_policy=pulumi.Output.all(oidc_provider_arn, issuer_url).apply(
            lambda values: trust_policy(values[0], federation_host(values[0], values[1]), namespace, service_account)
        ),
        tags=tags,
        opts=opts,
    )
    policy = aws.iam.RolePolicy(
        name,
        role=role.id,
        policy=pulumi.Output.from_input(zone_id).apply(lambda zone: dns01_policy(zone, names)),
        opts=opts,
    )
    return AcmeRole(role=role, policy=policy)


def provider_name(oidc_provider_arn: str) -> str:
    """'arn:aws:iam::A:oidc-provider/oidc.eks.R.amazonaws.com/id/X' -> 'oidc.eks.R.amazonaws.com/id/X':
    the prefix IAM gives the provider's condition keys."""
    if _PROVIDER_MARK not in oidc_provider_arn:
        raise ValueError(f"not an IAM OIDC provider ARN: {oidc_provider_arn!r}")
    return oidc_provider_arn.split(_PROVIDER_MARK, 1)[1]


def federation_host(oidc_provider_arn: str, issuer_url: str) -> str:
    """The provider's name, after checking it is the cluster's issuer (a reused ARN could be another cluster's)."""
    host = provider_name(oidc_provider_arn)
    issuer = issuer_url.removeprefix("https://")
    if not issuer_url.startswith("https://") or host.rstrip("/") != issuer.rstrip("/"):
        raise ValueError(f"IAM OIDC provider {oidc_provider_arn} is not for the cluster's issuer {issuer_url}")
    return host


def zone_arn(zone_id: str) -> str:
    return f"arn:aws:route53:::hostedzone/{zone_id.removeprefix('/hostedzone/')}"


def dns01_policy(zone_id: str, challenge_names: Sequence[str]) -> str:
    """What cert-manager's Route 53 solver calls with `hostedZoneID` set, on this zone's challenge records only."""
    zone = zone_arn(zone_id)
    change: dict[str, Any] = {
        "Sid": "AnswerChallenges",
        "Effect": "Allow",
        "Action": "route53:ChangeResourceRecordSets",
        "Resource": zone,
        "Condition": {
            "ForAllValues:StringEquals": {
                "route53:ChangeResourceRecordSetsNormalizedRecordNames": list(challenge_names),
                "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"],
                "route53:ChangeResourceRecordSetsActions": list(CHALLENGE_ACTIONS),
            }
        },
    }
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                change,
                {"Sid": "ReadZone", "Effect": "Allow", "Action": "route53:ListResourceRecordSets", "Resource": zone},
                # GetChange takes a change id, which no zone owns: it cannot be narrowed further.
                {"Sid": "WaitForChange", "Effect": "Allow", "Action": "route53:GetChange", "Resource": CHANGES},
            ],
        }
    )
