"""The client's copy of the region tables stays equal to what GlobalDns and the failover drill use.

The client cannot import the Pulumi program, so it carries the data itself (client/src/mlplatform_client/
regions.py); if a table here changes, the client's geo strategy must change with it.
"""

from __future__ import annotations

from mlplatform_client import regions as client_regions

from components.global_dns import regions as dns_regions
from preflight import drill


def test_the_region_tables_are_the_ones_global_dns_routes_by() -> None:
    assert client_regions.GCP_TO_AWS == dns_regions.GCP_TO_AWS
    assert client_regions.AZURE_TO_AWS == dns_regions.AZURE_TO_AWS
    for cloud, table in (("gcp", dns_regions.GCP_TO_AWS), ("azure", dns_regions.AZURE_TO_AWS)):
        for region in table:
            assert client_regions.aws_region(cloud, region) == dns_regions.aws_latency_region(cloud, region)


def test_the_locations_and_distances_are_the_drills() -> None:
    assert client_regions.AWS_REGION_LOCATIONS == drill.AWS_REGION_LOCATIONS
    assert client_regions.EARTH_RADIUS_KM == drill.EARTH_RADIUS_KM
    regions = sorted(drill.AWS_REGION_LOCATIONS)
    for a in regions:
        assert client_regions.continent(a) == dns_regions.continent(a)
        for b in regions:
            assert client_regions.great_circle_km(a, b) == drill.great_circle_km(a, b)
