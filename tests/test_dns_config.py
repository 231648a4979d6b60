"""GlobalDns config: routing modes, the failover-time arithmetic and its prod bound."""

from __future__ import annotations

from typing import Any

import pytest
from mlplatform_client.regions import continent

from components.global_dns.regions import aws_latency_region
from stacks.config import ConfigError, StackConfig, parse_stack_config
from stacks.dns_config import PROPAGATION_ALLOWANCE, failover_seconds
from tests.test_config import GOOD, engine_config

FOUR = [
    {"cloud": "aws", "region": "us-east-1"},
    {"cloud": "aws", "region": "eu-west-1"},
    {"cloud": "gcp", "region": "us-central1", "project": "ml-test-123"},
    {"cloud": "azure", "region": "swedencentral"},
]


def parse(dns: dict[str, Any] | None, targets: list[dict[str, Any]] | None = None, **changes: Any) -> StackConfig:
    values: dict[str, Any] = {**GOOD, "targets": targets or FOUR, **changes}
    if dns is None:
        values.pop("dns")
    else:
        values["dns"] = dns
    return parse_stack_config(engine_config(values), stack="test")


def test_failover_time_is_interval_times_threshold_plus_ttl_plus_allowance() -> None:
    assert failover_seconds(10, 2, 20) == 10 * 2 + 20 + PROPAGATION_ALLOWANCE == 50
    assert failover_seconds(30, 3, 60) == 160  # Route 53's defaults: why prod needs fast checks


def test_prod_defaults_fail_over_within_a_minute() -> None:
    dns = parse({"zone": "ml.example.com"}).dns
    assert dns is not None
    assert (dns.health_check_interval, dns.failure_threshold, dns.ttl) == (10, 2, 20)
    assert dns.failover_seconds == 50 and dns.global_host == "api.ml.example.com"


def test_dev_may_run_without_dns_and_uses_cheap_checks() -> None:
    assert parse(None, environment="dev", apiAllowedCidrs=[]).dns is None
    dev = parse({"zone": "ml.example.com"}, environment="dev", apiAllowedCidrs=[]).dns
    assert dev is not None and dev.failover_seconds == 160


@pytest.mark.parametrize("count", [2, 3, 4])
def test_every_mode_with_two_to_four_targets(count: int) -> None:
    targets = FOUR[:count]
    names = [f"{t['cloud']}-{t['region']}" for t in targets]
    assert parse({"zone": "ml.example.com", "mode": "latency"}, targets).dns is not None
    failover = parse({"zone": "ml.example.com", "mode": "failover", "primary": names[1]}, targets).dns
    assert failover is not None and failover.primary == names[1]
    weighted = parse({"zone": "ml.example.com", "mode": "weighted", "weights": {names[0]: 3}}, targets).dns
    assert weighted is not None and weighted.weights[names[0]] == 3 and weighted.weights[names[-1]] == 1
    geo = {names[0]: {"continents": ["NA"]}, names[1]: {"countries": ["US"]}}  # a country inside a continent
    geo_dns = parse({"zone": "ml.example.com", "mode": "geo", "geo": geo, "default": names[0]}, targets).dns
    assert geo_dns is not None and geo_dns.geo[names[1]].countries == ("US",)


BAD = [
    ({"zone": "ml.example.com", "mode": "failover", "primary": "aws-mars-1"}, "mlplatform:dns.primary", "not a target"),
    ({"zone": "ml.example.com", "mode": "weighted", "weights": dict.fromkeys(
        ["aws-us-east-1", "aws-eu-west-1", "gcp-us-central1", "azure-swedencentral"], 0
    )}, "mlplatform:dns.weights", "all weights are zero"),
    ({"zone": "ml.example.com", "mode": "geo", "default": "aws-us-east-1", "geo": {
        "aws-us-east-1": {"continents": ["EU"]}, "aws-eu-west-1": {"continents": ["EU"]}
    }}, "mlplatform:dns.geo.aws-eu-west-1", "continent EU is already routed to aws-us-east-1"),
    ({"zone": "ml.example.com", "mode": "geo", "default": "aws-us-east-1", "geo": {
        "aws-us-east-1": {"continents": ["XX"]}}}, "mlplatform:dns.geo.aws-us-east-1.continents", "not a continent"),
    ({"zone": "ml.example.com", "ttl": 60}, "mlplatform:dns", "above prod's 60 s"),
    ({"zone": "ml.example.com", "healthCheckInterval": 20}, "mlplatform:dns.healthCheckInterval", "10 or 30"),
    ({"zone": "ml.example.com", "mode": "round-robin"}, "mlplatform:dns.mode", "unknown routing mode"),
    ({"zone": "not a zone"}, "mlplatform:dns.zone", "not a DNS zone"),
    (None, "mlplatform:dns", "prod needs global DNS"),
]  # fmt: skip


@pytest.mark.parametrize(("dns", "key", "problem"), BAD, ids=[f"{i}-{case[1]}" for i, case in enumerate(BAD)])
def test_bad_dns_config_names_the_key(dns: dict[str, Any] | None, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(dns)
    assert caught.value.key == key
    assert problem in str(caught.value) and "\n" not in str(caught.value)


def test_two_latency_targets_in_one_aws_region_are_rejected() -> None:
    targets = [{"cloud": "aws", "region": "us-east-1"}, {"cloud": "azure", "region": "eastus"}]
    with pytest.raises(ConfigError) as caught:
        parse({"zone": "ml.example.com"}, targets)
    assert caught.value.key == "mlplatform:dns.mode"
    assert "azure-eastus and aws-us-east-1 both map to us-east-1" in str(caught.value)


# Worked examples from the clouds' published region locations (cloud.google.com/about/locations,
# learn.microsoft.com/azure/reliability/regions-list, docs.aws.amazon.com/global-infrastructure "Regions"), read
# 2026-12: a GCP or Azure target owns the latency record of the AWS region nearest its city (great-circle km).
NEAREST_AWS_REGION = [
    ("gcp", "us-central1", "us-east-2"),  # Council Bluffs, Iowa: Ohio ~1,090 km; N. Virginia ~1,580; Oregon ~1,980
    ("gcp", "asia-northeast2", "ap-northeast-3"),  # Osaka: AWS Osaka
    ("gcp", "australia-southeast2", "ap-southeast-4"),  # Melbourne: AWS Melbourne
    ("gcp", "me-west1", "il-central-1"),  # Tel Aviv: AWS Tel Aviv
    ("azure", "swedencentral", "eu-north-1"),  # Gavle: Stockholm ~160 km; Frankfurt ~1,290
    ("azure", "japanwest", "ap-northeast-3"),  # Osaka: AWS Osaka
    ("aws", "eu-west-1", "eu-west-1"),  # an AWS target owns its own region's record
]
# Route 53's continent codes (API GeoLocation: AF, AN, AS, EU, NA, OC, SA) for the AWS regions' cities.
CONTINENT_OF = [
    ("us-east-1", "NA"),  # N. Virginia
    ("eu-west-1", "EU"),  # Ireland
    ("ap-southeast-2", "OC"),  # Sydney
    ("sa-east-1", "SA"),  # Sao Paulo
    ("me-central-1", "AS"),  # UAE: the Middle East is in Asia
    ("af-south-1", "AF"),  # Cape Town
]


@pytest.mark.parametrize(("cloud", "region", "aws_region"), NEAREST_AWS_REGION)
def test_a_target_owns_the_latency_record_of_the_aws_region_nearest_its_city(
    cloud: str, region: str, aws_region: str
) -> None:
    assert aws_latency_region(cloud, region) == aws_region


@pytest.mark.parametrize(("aws_region", "code"), CONTINENT_OF)
def test_an_aws_region_is_on_its_citys_route_53_continent(aws_region: str, code: str) -> None:
    assert continent(aws_region) == code
