"""Regions each cloud offers, so a typo fails at config time rather than at the cloud.

The region lists are the keys of the region tables GlobalDns routes by (mlplatform_client's data/regions.toml,
where their sources are named): a region a stack may name always has the AWS region its latency record needs.
Regions that need an opt-in or a sovereign cloud account (GovCloud, China, Azure Government) are left out on purpose.
"""

from __future__ import annotations

from mlplatform_client.regions import REGIONS

AWS_REGIONS: frozenset[str] = REGIONS["aws"]
GCP_REGIONS: frozenset[str] = REGIONS["gcp"]
AZURE_REGIONS: frozenset[str] = REGIONS["azure"]

# Azure regions without availability zones: AKS pools there must not ask for zones.
# Source: learn.microsoft.com/azure/reliability/regions-list (read 2026-11).
AZURE_REGIONS_WITHOUT_ZONES: frozenset[str] = frozenset(
    {
        "northcentralus", "westcentralus", "westus", "canadaeast", "ukwest",
        "koreasouth", "southindia", "westindia", "australiasoutheast", "australiacentral",
    }
)  # fmt: skip
