"""What Azure Database for PostgreSQL flexible server offers, as plain data.

No SDK imports here: the stack config validates against these values before anything is made.
Every figure was read in 2026-11 from the pages in SOURCES; the comments say which page.
"""

from __future__ import annotations

# Majors a NEW server can be created with: those in Azure standard support (version policy page,
# 2026-01-20). 11, 12 and 13 left standard support on 2026-07-31 and are in paid extended support
# (extended-support page, 2026-03-26); 14 leaves it on 2026-12-11. 18 is listed by the API but the
# version policy still calls it a preview, first in East Asia only, so it is not offered here.
VERSIONS: frozenset[str] = frozenset({"14", "15", "16", "17"})

# Compute sizes as the API names them (`sku.name`), from the compute options page.
TIERS: dict[str, str] = {
    "Standard_B1ms": "Burstable, 1 vCore, 2 GiB",
    "Standard_B2s": "Burstable, 2 vCores, 4 GiB",
    "Standard_D2ds_v5": "General Purpose, 2 vCores, 8 GiB",
    "Standard_D4ds_v5": "General Purpose, 4 vCores, 16 GiB",
    "Standard_E2ds_v5": "Memory Optimized, 2 vCores, 16 GiB",
}
DEFAULT_TIERS: dict[str, str] = {"dev": "Standard_B1ms", "prod": "Standard_D2ds_v5"}

# Automated backup retention, days (compute options page: "7 to 35 days" in every tier).
BACKUP_DAYS: tuple[int, int] = (7, 35)

# The API's `sku.tier` for each VM series (compute options page: Burstable = B-series,
# General Purpose = D-series, Memory Optimized = E-series).
_SERIES_TIERS: dict[str, str] = {"B": "Burstable", "D": "GeneralPurpose", "E": "MemoryOptimized"}


def compute_tier(tier: str) -> str:
    """The API's compute tier for a size: Standard_B1ms -> Burstable, Standard_D2ds_v5 -> GeneralPurpose."""
    prefix = "Standard_"
    series = tier[len(prefix) : len(prefix) + 1] if tier.startswith(prefix) else ""
    if series not in _SERIES_TIERS:
        raise ValueError(f"{tier!r} is not a flexible server size (Standard_B..., Standard_D... or Standard_E...)")
    return _SERIES_TIERS[series]


def supports_ha(tier: str) -> bool:
    """Zone-redundant HA is not offered on the Burstable tier (high availability concepts page)."""
    try:
        return compute_tier(tier) != "Burstable"
    except ValueError:
        return False


# Regions (programmatic names) where a new server can have zone-redundant HA and geo-redundant
# backup together: both columns ticked in the regions table of the overview page
# (includes/regions-table.md, dated 2025-12-22, read 2026-11). Left out: sovereign clouds (China,
# US Gov), which a public-cloud provider does not reach. Caveats from the same table:
# - "$": new zone-redundant HA deployments are temporarily blocked in centralindia, eastasia,
#   eastus, eastus2, germanywestcentral, northeurope, southcentralus, southeastasia, westeurope
#   and westus2. They stay listed (the block is temporary), but a new HA server there can fail.
# - "*": norwayeast is access-restricted, available on request.
# - southindia: the table ticks zone-redundant HA although stacks/regions.py lists it without zones.
# - The same table shows Intel v5 sizes (Standard_D2ds_v5, ...) missing in eastus2, japaneast,
#   southcentralus, southeastasia and westus2 (v3/v4 only).
GEO_BACKUP_WITH_ZONE_HA_REGIONS: frozenset[str] = frozenset(
    {
        "australiaeast", "canadacentral", "centralindia", "centralus", "eastasia", "eastus",
        "eastus2", "francecentral", "germanywestcentral", "japaneast", "koreacentral",
        "northeurope", "norwayeast", "southafricanorth", "southcentralus", "southeastasia",
        "southindia", "swedencentral", "switzerlandnorth", "uaenorth", "uksouth", "westeurope",
        "westus2",
    }
)  # fmt: skip

SOURCES: tuple[str, ...] = (
    "https://learn.microsoft.com/azure/postgresql/configure-maintain/concepts-version-policy",
    "https://learn.microsoft.com/azure/postgresql/configure-maintain/extended-support",
    "https://learn.microsoft.com/azure/postgresql/configure-maintain/concepts-supported-versions",
    "https://learn.microsoft.com/azure/postgresql/configure-maintain/concepts-compute",
    "https://learn.microsoft.com/azure/postgresql/high-availability/concepts-high-availability",
    "https://learn.microsoft.com/azure/postgresql/overview#azure-regions",
)
