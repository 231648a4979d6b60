"""Where targets and callers are, for the geo strategy: the tables GlobalDns itself routes by.

The client must not import the Pulumi program, so the data is copied here, unchanged:
- GCP_TO_AWS, AZURE_TO_AWS and `continent` from components/global_dns/regions.py (each GCP or Azure
  region stands for the AWS region nearest its data centres, as in Route 53's latency records);
- AWS_REGION_LOCATIONS from preflight/drill.py (the city each AWS region is named for, to rank by distance).
tests/test_client_regions.py fails when a copy drifts from its source.
"""

from __future__ import annotations

import math

EARTH_RADIUS_KM = 6371.0

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

# Where each AWS region is: the city or area AWS's region list names (docs.aws.amazon.com/
# global-infrastructure/latest/regions/aws-regions.html, read 2026-11), at that city's centre.
AWS_REGION_LOCATIONS: dict[str, tuple[str, float, float]] = {
    "us-east-1": ("N. Virginia (Ashburn)", 39.04, -77.49),
    "us-east-2": ("Ohio (Columbus)", 39.96, -83.00),
    "us-west-1": ("N. California (San Francisco)", 37.77, -122.42),
    "us-west-2": ("Oregon (Boardman)", 45.84, -119.70),
    "ca-central-1": ("Canada Central (Montreal)", 45.50, -73.57),
    "ca-west-1": ("Calgary", 51.05, -114.07),
    "mx-central-1": ("Mexico (Queretaro)", 20.59, -100.39),
    "sa-east-1": ("Sao Paulo", -23.55, -46.63),
    "eu-west-1": ("Ireland (Dublin)", 53.35, -6.26),
    "eu-west-2": ("London", 51.51, -0.13),
    "eu-west-3": ("Paris", 48.86, 2.35),
    "eu-central-1": ("Frankfurt", 50.11, 8.68),
    "eu-central-2": ("Zurich", 47.37, 8.54),
    "eu-north-1": ("Stockholm", 59.33, 18.07),
    "eu-south-1": ("Milan", 45.46, 9.19),
    "eu-south-2": ("Spain (Zaragoza, Aragon)", 41.65, -0.88),
    "il-central-1": ("Tel Aviv", 32.09, 34.78),
    "me-south-1": ("Bahrain (Manama)", 26.23, 50.59),
    "me-central-1": ("UAE (Dubai)", 25.20, 55.27),
    "af-south-1": ("Cape Town", -33.92, 18.42),
    "ap-east-1": ("Hong Kong", 22.32, 114.17),
    "ap-east-2": ("Taipei", 25.03, 121.57),
    "ap-south-1": ("Mumbai", 19.08, 72.88),
    "ap-south-2": ("Hyderabad", 17.39, 78.49),
    "ap-southeast-1": ("Singapore", 1.35, 103.82),
    "ap-southeast-2": ("Sydney", -33.87, 151.21),
    "ap-southeast-3": ("Jakarta", -6.21, 106.85),
    "ap-southeast-4": ("Melbourne", -37.81, 144.96),
    "ap-southeast-5": ("Malaysia (Kuala Lumpur)", 3.14, 101.69),
    "ap-southeast-7": ("Thailand (Bangkok)", 13.76, 100.50),
    "ap-northeast-1": ("Tokyo", 35.68, 139.69),
    "ap-northeast-2": ("Seoul", 37.57, 126.98),
    "ap-northeast-3": ("Osaka", 34.69, 135.50),
}

_OCEANIA = {"ap-southeast-2", "ap-southeast-4"}
CLOUDS = ("aws", "gcp", "azure")


def aws_region(cloud: str, region: str) -> str:
    """The AWS region that stands for (cloud, region); KeyError when the tables do not know it."""
    if cloud == "aws":
        if region not in AWS_REGION_LOCATIONS:
            raise KeyError(region)
        return region
    if cloud == "gcp":
        return GCP_TO_AWS[region]
    if cloud == "azure":
        return AZURE_TO_AWS[region]
    raise KeyError(cloud)


def continent(aws_region: str) -> str:
    """The Route 53 continent code of an AWS region (Israel and the Middle East count as Asia)."""
    if aws_region in _OCEANIA:
        return "OC"
    prefix = aws_region.split("-")[0]
    return {"us": "NA", "ca": "NA", "mx": "NA", "sa": "SA", "eu": "EU", "af": "AF"}.get(prefix, "AS")


def great_circle_km(a: str, b: str) -> float:
    """Distance between two AWS regions' cities; it stands in for network latency, as in the failover drill."""
    _, lat1, lon1 = AWS_REGION_LOCATIONS[a]
    _, lat2, lon2 = AWS_REGION_LOCATIONS[b]
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
