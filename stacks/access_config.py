"""Who may use the EKS clusters' Kubernetes API: `mlplatform:eksAccess`, turned into access entries.

EKS clusters here authenticate through access entries only. EKS gives the principal that creates
a cluster admin by itself, and pulumi-eks always asks it to (pulumi/pulumi-eks#2373, read
2026-12), so that principal must get no entry of its own: a second entry for it fails with
ResourceInUseException. Everyone else needs one, or every Kubernetes and Helm call they make is
Unauthorized: the pull-request workflow's preview role, and the deploy role whenever someone
other than it made the clusters.

    mlplatform:eksAccess:
      deployRole: arn:aws:iam::111122223333:role/mlplatform-deploy    # cluster admin
      previewRole: arn:aws:iam::111122223333:role/mlplatform-preview  # reads everything, Secrets too
      operatorRoles: [arn:aws:iam::111122223333:role/platform-oncall] # cluster admin
      creator: deploy   # who runs the first `pulumi up`: deploy (default), or an operator role's ARN

Prod stacks with an AWS target must name the deploy and preview roles.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from components.gpu_cluster.contract import ClusterAccess
from stacks.validate import ConfigError, mapping, string, string_list

KEYS = {"deployRole", "previewRole", "operatorRoles", "creator"}
# An IAM role ARN, its path included (SSO roles live under aws-reserved/sso.amazonaws.com/).
_ROLE_ARN = re.compile(r"^arn:aws:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$")


def parse_eks_access(key: str, value: Any, required: bool) -> tuple[ClusterAccess, ...]:
    """The access entries every EKS cluster of the stack gets; `required`: prod with an AWS target."""
    fields = mapping(key, value if value is not None else {}, KEYS)
    if required:
        for role in ("deployRole", "previewRole"):
            if role not in fields:
                raise ConfigError(
                    f"{key}.{role}", "prod must name it, or its pulumi runs get Unauthorized from every EKS cluster"
                )
    entries: list[ClusterAccess] = []
    if "deployRole" in fields:
        entries.append(ClusterAccess("deploy", _role(f"{key}.deployRole", fields["deployRole"]), admin=True))
    if "previewRole" in fields:
        entries.append(ClusterAccess("preview", _role(f"{key}.previewRole", fields["previewRole"]), admin=False))
    operators = string_list(f"{key}.operatorRoles", fields.get("operatorRoles", []))
    for i, arn in enumerate(operators):
        entries.append(ClusterAccess(f"operator-{i + 1}", _role(f"{key}.operatorRoles[{i}]", arn), admin=True))
    _unique(key, entries)
    return tuple(entry for entry in entries if entry.principal_arn != _creator(key, fields, entries))


def _role(key: str, value: Any) -> str:
    arn = string(key, value)
    if not _ROLE_ARN.fullmatch(arn):
        raise ConfigError(key, f"{arn!r} is not an IAM role ARN such as arn:aws:iam::111122223333:role/name")
    return arn


def _unique(key: str, entries: Sequence[ClusterAccess]) -> None:
    seen: dict[str, str] = {}
    for entry in entries:
        if entry.principal_arn in seen:
            raise ConfigError(key, f"{entry.principal_arn} is both {seen[entry.principal_arn]} and {entry.name}")
        seen[entry.principal_arn] = entry.name


def _creator(key: str, fields: dict[str, Any], entries: Sequence[ClusterAccess]) -> str | None:
    """The ARN that creates the clusters, which EKS itself makes admin; it must be an admin here."""
    creator = string(f"{key}.creator", fields.get("creator", "deploy"))
    admins = {entry.name: entry.principal_arn for entry in entries if entry.admin}
    if creator == "deploy":
        return admins.get("deploy")
    if creator not in admins.values():
        raise ConfigError(f"{key}.creator", "must be deploy or one of operatorRoles (the cluster's creator is admin)")
    return creator
