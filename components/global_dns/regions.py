"""Which AWS region's latency record a target owns, and the continents geo routing may name.

Route 53 measures latency to AWS regions only, so a GCP or Azure target owns the latency record of
the AWS region nearest its data centres. That table is the client package's (mlplatform_client's
data/regions.toml, loaded by `mlplatform_client.regions`), so the records GlobalDns makes, the failover
drill and the client's geo strategy read one table.
"""

from __future__ import annotations

from mlplatform_client.regions import aws_region

# Route 53 continent codes: AF, AN, AS, EU, NA, OC, SA (Route 53 API GeoLocation).
CONTINENTS: frozenset[str] = frozenset({"AF", "AN", "AS", "EU", "NA", "OC", "SA"})


def aws_latency_region(cloud: str, region: str) -> str:
    """The AWS region whose latency record a target in (cloud, region) owns."""
    return aws_region(cloud, region)
