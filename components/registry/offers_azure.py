"""What Azure Container Registry offers, as plain data: the stack config validates against it.

No SDK imports here, so config can be checked before any resource is made.

Sources (read 2026-11):
- Service tiers: learn.microsoft.com/azure/container-registry/container-registry-skus
- Zone redundancy: learn.microsoft.com/azure/container-registry/zone-redundancy (2026-02-04): every
  registry in a region with availability zones is now zone-redundant by default, whatever its tier;
  asking for it explicitly (`zoneRedundancy: Enabled`) is still a Premium setting.
- Retention of untagged manifests: learn.microsoft.com/azure/container-registry/container-registry-retention-policy
  (a preview feature of Premium registries; 0 to 365 days).
"""

from __future__ import annotations

ACR_SKUS: frozenset[str] = frozenset({"Basic", "Standard", "Premium"})

PREMIUM = "Premium"
ZONE_REDUNDANT_SKUS: frozenset[str] = frozenset({PREMIUM})
RETENTION_POLICY_SKUS: frozenset[str] = frozenset({PREMIUM})
UNTAGGED_RETENTION_DAYS: tuple[int, int] = (0, 365)

SOURCES: tuple[str, ...] = (
    "https://learn.microsoft.com/azure/container-registry/container-registry-skus",
    "https://learn.microsoft.com/azure/container-registry/zone-redundancy",
    "https://learn.microsoft.com/azure/container-registry/container-registry-retention-policy",
)
