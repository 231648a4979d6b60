"""IAM roles for Kubernetes service accounts (IRSA) on EKS: who may assume a role, in one place."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

STS_AUDIENCE = "sts.amazonaws.com"


def issuer_host(issuer_url: str) -> str:
    """'https://oidc.eks.R.amazonaws.com/id/X' -> 'oidc.eks.R.amazonaws.com/id/X', the prefix of
    IRSA's condition keys (IAM names them by the provider URL without its scheme)."""
    parts = urlsplit(issuer_url)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(f"not an https OIDC issuer URL: {issuer_url!r}")
    return parts.netloc + parts.path.rstrip("/")


def trust_policy(oidc_provider_arn: str, issuer: str, namespace: str, service_account: str) -> str:
    """Web identity from one cluster's OIDC provider, for one service account, with STS's audience.

    `issuer` is the provider URL without its scheme (see issuer_host)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": oidc_provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                            f"{issuer}:aud": STS_AUDIENCE,
                        }
                    },
                }
            ],
        }
    )
