"""AuditTrail: object-level access logs on the model bucket and control-plane audit logs, kept as configured."""

from __future__ import annotations

from collections.abc import Callable

import pulumi

from components.audit.contract import AuditOutputs, AuditTrailArgs
from components.per_cloud import implementation
from components.target import Cloud

__all__ = ["AuditTrail", "AuditTrailArgs"]

Build = Callable[[pulumi.ComponentResource, str, AuditTrailArgs], AuditOutputs]
IMPLEMENTATIONS: dict[Cloud, str] = {
    "aws": "components.audit.aws",
    "gcp": "components.audit.gcp",
    "azure": "components.audit.azure",
}


class AuditTrail(pulumi.ComponentResource):
    """One audit trail per target; the cloud is chosen by ``args.target``."""

    log_location: pulumi.Output[str]

    def __init__(self, name: str, args: AuditTrailArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplatform:security:AuditTrail", name, None, opts)
        build: Build = implementation("AuditTrail", IMPLEMENTATIONS, args.target.cloud).build
        outputs = build(self, name, args)
        self.log_location = outputs.log_location
        self.register_outputs({"logLocation": self.log_location})
