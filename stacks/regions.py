"""Regions each cloud offers, so a typo fails at config time rather than at the cloud.

Sources (read 2026-11): AWS "Regions and Availability Zones" (docs.aws.amazon.com/global-infrastructure),
Google Cloud "Geography and regions" (cloud.google.com/about/locations), Azure "Azure geographies"
(learn.microsoft.com/azure/reliability/regions-list). Regions that need an opt-in or a sovereign
cloud account (GovCloud, China, Azure Government) are left out on purpose.
"""

from __future__ import annotations

AWS_REGIONS: frozenset[str] = frozenset(
    {
        "us-east-1", "us-east-2", "us-west-1", "us-west-2",
        "ca-central-1", "ca-west-1", "mx-central-1", "sa-east-1",
        "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-central-2",
        "eu-north-1", "eu-south-1", "eu-south-2",
        "il-central-1", "me-south-1", "me-central-1", "af-south-1",
        "ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2",
        "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
        "ap-southeast-5", "ap-southeast-7",
        "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    }
)  # fmt: skip

GCP_REGIONS: frozenset[str] = frozenset(
    {
        "us-central1", "us-east1", "us-east4", "us-east5", "us-south1",
        "us-west1", "us-west2", "us-west3", "us-west4",
        "northamerica-northeast1", "northamerica-northeast2", "northamerica-south1",
        "southamerica-east1", "southamerica-west1",
        "europe-west1", "europe-west2", "europe-west3", "europe-west4", "europe-west6",
        "europe-west8", "europe-west9", "europe-west10", "europe-west12",
        "europe-north1", "europe-north2", "europe-central2", "europe-southwest1",
        "me-west1", "me-central1", "me-central2", "africa-south1",
        "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3",
        "asia-south1", "asia-south2", "asia-southeast1", "asia-southeast2",
        "australia-southeast1", "australia-southeast2",
    }
)  # fmt: skip

AZURE_REGIONS: frozenset[str] = frozenset(
    {
        "eastus", "eastus2", "centralus", "northcentralus", "southcentralus",
        "westcentralus", "westus", "westus2", "westus3",
        "canadacentral", "canadaeast", "brazilsouth", "mexicocentral",
        "northeurope", "westeurope", "uksouth", "ukwest", "francecentral",
        "germanywestcentral", "swedencentral", "switzerlandnorth", "norwayeast",
        "polandcentral", "italynorth", "spaincentral",
        "uaenorth", "qatarcentral", "israelcentral", "southafricanorth",
        "centralindia", "southindia", "westindia",
        "eastasia", "southeastasia", "japaneast", "japanwest", "koreacentral", "koreasouth",
        "australiaeast", "australiasoutheast", "australiacentral",
        "newzealandnorth", "indonesiacentral", "malaysiawest",
    }
)  # fmt: skip

REGIONS: dict[str, frozenset[str]] = {
    "aws": AWS_REGIONS,
    "gcp": GCP_REGIONS,
    "azure": AZURE_REGIONS,
}

# Azure regions without availability zones: AKS pools there must not ask for zones.
# Source: learn.microsoft.com/azure/reliability/regions-list (read 2026-11).
AZURE_REGIONS_WITHOUT_ZONES: frozenset[str] = frozenset(
    {
        "northcentralus", "westcentralus", "westus", "canadaeast", "ukwest",
        "koreasouth", "southindia", "westindia", "australiasoutheast", "australiacentral",
    }
)  # fmt: skip
