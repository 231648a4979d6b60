"""Where targets and callers are: the region tables GlobalDns routes by, the drill and the geo strategy rank by.

The tables live once, in this package's data file `data/regions.toml` (with their sources): the client is
installed on its own, and the Pulumi program and preflight, which install the client, read the same tables
through this module. Each GCP or Azure region stands for the AWS region nearest its data centres, as in
Route 53's latency records; each AWS region is placed at the city AWS names it for, to rank by distance.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType
from typing import Any

EARTH_RADIUS_KM = 6371.0
CLOUDS = ("aws", "gcp", "azure")
DATA_FILE = "regions.toml"

_OCEANIA = {"ap-southeast-2", "ap-southeast-4"}


def _location(region: str, entry: Any) -> tuple[str, float, float]:
    entry = entry if isinstance(entry, dict) else {}
    city, lat, lon = entry.get("city"), entry.get("lat"), entry.get("lon")
    degrees = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (lat, lon))
    if not (isinstance(city, str) and city and degrees):
        raise ValueError(f"{DATA_FILE}: aws.{region} needs city (text), lat and lon (degrees)")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"{DATA_FILE}: aws.{region} is at ({lat}, {lon}), not on Earth")
    return city, float(lat), float(lon)


def _nearest(cloud: str, table: Any, aws: Mapping[str, object]) -> dict[str, str]:
    if not isinstance(table, dict) or not table:
        raise ValueError(f"{DATA_FILE}: [{cloud}] is missing or empty")
    for region, nearest in table.items():
        if nearest not in aws:
            raise ValueError(f"{DATA_FILE}: {cloud}.{region} names {nearest!r}, which is not a region of [aws]")
    return dict(table)


def parse_regions(
    text: str,
) -> tuple[Mapping[str, tuple[str, float, float]], Mapping[str, str], Mapping[str, str]]:
    """(AWS region -> (city, lat, lon), GCP region -> AWS region, Azure region -> AWS region) from the TOML text."""
    data = tomllib.loads(text)
    aws = data.get("aws")
    if not isinstance(aws, dict) or not aws:
        raise ValueError(f"{DATA_FILE}: [aws] is missing or empty")
    locations = {region: _location(region, entry) for region, entry in aws.items()}
    gcp, azure = _nearest("gcp", data.get("gcp"), locations), _nearest("azure", data.get("azure"), locations)
    return MappingProxyType(locations), MappingProxyType(gcp), MappingProxyType(azure)


AWS_REGION_LOCATIONS, GCP_TO_AWS, AZURE_TO_AWS = parse_regions(
    resources.files("mlplatform_client").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
)

# The regions each cloud offers that a stack may name: the keys of the tables above.
REGIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {"aws": frozenset(AWS_REGION_LOCATIONS), "gcp": frozenset(GCP_TO_AWS), "azure": frozenset(AZURE_TO_AWS)}
)


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
    """Distance between two AWS regions' cities (haversine on a spherical Earth); it stands in for latency."""
    _, lat1, lon1 = AWS_REGION_LOCATIONS[a]
    _, lat2, lon2 = AWS_REGION_LOCATIONS[b]
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
