"""`mlplatform:observability`: which footprint is central, how long it keeps the fleet's series, and the metrics name;
bad values fail with one line naming the key. Also what the config means per footprint (the fleet plan)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.config import ConfigError, parse_stack_config
from stacks.observability_config import DEFAULT_RECORD_NAME, DEFAULT_RETENTION_DAYS, fleet_plan
from stacks.tls import tls_hosts

TARGETS = [
    {"cloud": "aws", "region": "us-east-1"},
    {"cloud": "gcp", "region": "us-central1", "project": "mlplatform-test"},
    {"cloud": "azure", "region": "swedencentral"},
]
BASE: dict[str, Any] = {"environment": "dev", "owner": "ml-platform", "costCenter": "ml", "targets": TARGETS}
DNS = {"dns": {"zone": "ml.example.com"}}


def parse(**changes: Any) -> Any:
    values = {**BASE, **changes}
    raw = {f"mlplatform:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
    return parse_stack_config(raw, stack="test")


def test_defaults_the_first_target_a_fortnight_and_metrics() -> None:
    config = parse().observability
    assert (config.central, config.retention_days, config.record_name) == (
        "aws-us-east-1",
        DEFAULT_RETENTION_DAYS,
        DEFAULT_RECORD_NAME,
    )
    assert config.host(None) is None


def test_a_stack_picks_its_central_footprint_and_name() -> None:
    config = parse(observability={"central": "gcp-us-central1", "retentionDays": 30, "recordName": "telemetry"}, **DNS)
    assert (config.observability.central, config.observability.retention_days) == ("gcp-us-central1", 30)
    assert config.observability.host(config.dns) == "telemetry.ml.example.com"


@pytest.mark.parametrize(
    ("observability", "dns", "key", "message"),
    [
        ({"central": "aws-eu-west-1"}, None, "mlplatform:observability.central", "not a target of this stack"),
        ({"retentionDays": 0}, None, "mlplatform:observability.retentionDays", "between 1 and 365"),
        ({"recordName": "Metrics!"}, None, "mlplatform:observability.recordName", "not a DNS label"),
        ({"recordName": "api"}, DNS["dns"], "mlplatform:observability.recordName", "already a name in the zone"),
        ({"recordName": "gcp-us-central1"}, None, "mlplatform:observability.recordName", "already a name"),
        ({"grafana": True}, None, "mlplatform:observability.grafana", "unknown key"),
        (["aws-us-east-1"], None, "mlplatform:observability", "expected a map"),
    ],
)
def test_bad_values_name_their_key(observability: Any, dns: Any, key: str, message: str) -> None:
    extra = {"dns": dns} if dns else {}
    with pytest.raises(ConfigError, match=message) as error:
        parse(observability=observability, **extra)
    assert error.value.key == key


def test_with_global_dns_every_target_writes_centrally_and_is_probed_through_its_name() -> None:
    config = parse(observability={"central": "gcp-us-central1"}, **DNS)
    fleet = fleet_plan(config.observability, config.dns, [(t.name, t.cloud, t.region) for t in config.targets], None)
    assert [(t.name, t.health_url) for t in fleet.fleet] == [
        (t.name, f"https://{t.name}.ml.example.com/v2/health/ready") for t in config.targets
    ]
    assert tls_hosts("gcp-us-central1", config) == ("api.ml.example.com", "metrics.ml.example.com")
    assert tls_hosts("aws-us-east-1", config) == ("api.ml.example.com",)


def test_without_global_dns_only_the_central_footprint_is_in_the_fleet() -> None:
    config = parse(observability={"central": "azure-swedencentral"})
    fleet = fleet_plan(config.observability, None, [(t.name, t.cloud, t.region) for t in config.targets], None)
    assert [(t.name, t.health_url) for t in fleet.fleet] == [("azure-swedencentral", None)]
    assert tls_hosts("azure-swedencentral", config) == ()
