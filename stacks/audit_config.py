"""The audit trail's config (`mlplatform:audit`): on or off, and how long each cloud keeps it.

One retention figure serves every cloud, so it must be a value each cloud of the stack accepts:
CloudWatch Logs takes only a fixed list of day counts, a Log Analytics workspace 30 to 730 days,
a Cloud Logging bucket 1 to 3650. Prod cannot turn the trail off (the policy pack refuses a prod
target without it as well, policies/rules/audit.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.target import Cloud
from stacks.validate import ConfigError, boolean, integer, mapping

AUDIT_KEYS = {"enabled", "retentionDays"}
DEFAULT_RETENTION_DAYS = 365  # a year: what SOC 2 auditors commonly ask to see; legal on every cloud

# CloudWatch Logs PutRetentionPolicy, "Possible values" (CloudWatch Logs API Reference, read 2026-12:
# docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html).
CLOUDWATCH_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
# Log Analytics workspace retentionInDays on the PerGB2018 SKU: 30 to 730 (azurerm
# log_analytics_workspace docs and the Azure Monitor "Manage data retention" page, read 2026-12).
LOG_ANALYTICS_RETENTION = (30, 730)
# Cloud Logging bucket retention: 1 to 3650 days ("Configure log buckets", Cloud Logging docs, read 2026-12).
CLOUD_LOGGING_RETENTION = (1, 3650)


@dataclass(frozen=True)
class AuditConfig:
    """Control-plane audit logs and object-level access logs on the model buckets, kept `retention_days`."""

    enabled: bool = False
    retention_days: int = DEFAULT_RETENTION_DAYS


def parse_audit(key: str, value: Any, environment: str, clouds: Sequence[Cloud]) -> AuditConfig:
    """`clouds`: the clouds of the stack's targets; the retention must suit each of them."""
    fields = mapping(key, value if value is not None else {}, AUDIT_KEYS)
    prod = environment == "prod"
    enabled = boolean(f"{key}.enabled", fields.get("enabled", prod))
    if prod and not enabled:
        raise ConfigError(f"{key}.enabled", "prod keeps an audit trail on every cloud; it cannot be turned off")
    days = integer(f"{key}.retentionDays", fields.get("retentionDays", DEFAULT_RETENTION_DAYS), 1, 3653)
    if "aws" in clouds and days not in CLOUDWATCH_RETENTION_DAYS:
        legal = ", ".join(str(d) for d in CLOUDWATCH_RETENTION_DAYS)
        raise ConfigError(f"{key}.retentionDays", f"CloudWatch Logs keeps logs only for {legal} days, not {days}")
    low, high = LOG_ANALYTICS_RETENTION
    if "azure" in clouds and not low <= days <= high:
        raise ConfigError(f"{key}.retentionDays", f"a Log Analytics workspace keeps {low} to {high} days, not {days}")
    low, high = CLOUD_LOGGING_RETENTION
    if "gcp" in clouds and not low <= days <= high:
        raise ConfigError(f"{key}.retentionDays", f"a Cloud Logging bucket keeps {low} to {high} days, not {days}")
    return AuditConfig(enabled=enabled, retention_days=days)
