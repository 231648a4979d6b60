"""Which AWS region stands for each target region, for Route 53 latency records and the drill.

Route 53 measures latency to AWS regions only, so a GCP or Azure target owns the latency
record of the AWS region nearest its data centres (by city, from each cloud's published
region locations, read 2026-11). The same table answers "which continent" for geo routing
and for the failover drill's client regions.
"""

from __future__ import annotations

# GCP region -> nearest AWS region (cloud.google.com/about/locations; aws.amazon.com/about-aws/global-infrastructure)
GCP_TO_AWS: dict[str, str] = {
    "us-central1": "us-east-2", "us-east1": "us-east-1", "us-east4": "us-east-1", "us-east5": "us-east-2",
    "us-south1": "us-east-2", "us-west1": "us-west-2", "us-west2": "us-west-1", "us-west3": "us-west-2",
    "us-west4": "us-west-1", "northamerica-northeast1": "ca-central-1", "northamerica-northeast2": "ca-central-1",
    "northamerica-south1": "mx-central-1", "southamerica-east1": "sa-east-1", "southamerica-west1": "sa-east-1",
    "europe-west1": "eu-west-3", "europe-west2": "eu-west-2", "europe-west3": "eu-central-1",
    "europe-west4": "eu-central-1", "europe-west6": "eu-central-2", "europe-west8": "eu-south-1",
    "europe-west9": "eu-west-3", "europe-west10": "eu-central-1", "europe-west12": "eu-south-1",
    "europe-north1": "eu-north-1", "europe-north2": "eu-north-1", "europe-central2": "eu-central-1",
    "europe-southwest1": "eu-south-2", "me-west1": "il-central-1", "me-central1": "me-central-1",
    "me-central2": "me-south-1", "africa-south1": "af-south-1", "asia-east1": "ap-east-2",
    "asia-east2": "ap-east-1", "asia-northeast1": "ap-northeast-1", "asia-northeast2": "ap-northeast-3",
    "asia-northeast3": "ap-northeast-2", "asia-south1": "ap-south-1", "asia-south2": "ap-south-1",
    "asia-southeast1": "ap-southeast-1", "asia-southeast2": "ap-southeast-3",
    "australia-southeast1": "ap-southeast-2", "australia-southeast2": "ap-southeast-4",
}  # fmt: skip

# Azure region -> nearest AWS region (learn.microsoft.com/azure/reliability/regions-list)
AZURE_TO_AWS: dict[str, str] = {
    "eastus": "us-east-1", "eastus2": "us-east-1", "centralus": "us-east-2", "northcentralus": "us-east-2",
    "southcentralus": "us-east-2", "westcentralus": "us-west-2", "westus": "us-west-1", "westus2": "us-west-2",
    "westus3": "us-west-1", "canadacentral": "ca-central-1", "canadaeast": "ca-central-1",
    "brazilsouth": "sa-east-1", "mexicocentral": "mx-central-1", "northeurope": "eu-west-1",
    "westeurope": "eu-central-1", "uksouth": "eu-west-2", "ukwest": "eu-west-2", "francecentral": "eu-west-3",
    "germanywestcentral": "eu-central-1", "swedencentral": "eu-north-1", "switzerlandnorth": "eu-central-2",
    "norwayeast": "eu-north-1", "polandcentral": "eu-central-1", "italynorth": "eu-south-1",
    "spaincentral": "eu-south-2", "uaenorth": "me-central-1", "qatarcentral": "me-south-1",
    "israelcentral": "il-central-1", "southafricanorth": "af-south-1", "centralindia": "ap-south-1",
    "southindia": "ap-south-2", "westindia": "ap-south-1", "eastasia": "ap-east-1",
    "southeastasia": "ap-southeast-1", "japaneast": "ap-northeast-1", "japanwest": "ap-northeast-3",
    "koreacentral": "ap-northeast-2", "koreasouth": "ap-northeast-2", "australiaeast": "ap-southeast-2",
    "australiasoutheast": "ap-southeast-4", "australiacentral": "ap-southeast-2",
    "newzealandnorth": "ap-southeast-2", "indonesiacentral": "ap-southeast-3", "malaysiawest": "ap-southeast-5",
}  # fmt: skip

# Route 53 continent codes: AF, AN, AS, EU, NA, OC, SA (Route 53 API GeoLocation).
CONTINENTS: frozenset[str] = frozenset({"AF", "AN", "AS", "EU", "NA", "OC", "SA"})
_OCEANIA = {"ap-southeast-2", "ap-southeast-4"}


def aws_latency_region(cloud: str, region: str) -> str:
    """The AWS region whose latency record a target in (cloud, region) owns."""
    if cloud == "aws":
        return region
    table = GCP_TO_AWS if cloud == "gcp" else AZURE_TO_AWS
    return table[region]


def continent(aws_region: str) -> str:
    """The Route 53 continent code of an AWS region (Israel and the Middle East count as Asia)."""
    if aws_region in _OCEANIA:
        return "OC"
    prefix = aws_region.split("-")[0]
    return {"us": "NA", "ca": "NA", "mx": "NA", "sa": "SA", "eu": "EU", "af": "AF"}.get(prefix, "AS")
