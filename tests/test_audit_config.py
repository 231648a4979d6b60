"""mlplatform:audit: on in prod (and not to be turned off), off in dev unless asked; one retention every cloud takes."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import ConfigError, StackConfig, parse_stack_config
from tests.test_config import GOOD, engine_config

AWS = {"cloud": "aws", "region": "us-east-1"}
GCP = {"cloud": "gcp", "region": "us-central1", "project": "ml-test-123"}
AZURE = {"cloud": "azure", "region": "swedencentral"}


def parse(targets: list[dict[str, Any]] | None = None, **changes: Any) -> StackConfig:
    """GOOD with these changes; a change to None leaves that key out."""
    values = {**GOOD, "targets": targets or [AWS, GCP, AZURE], **changes}
    return parse_stack_config(engine_config({k: v for k, v in values.items() if v is not None}), stack="t")


def dev(targets: list[dict[str, Any]], audit: dict[str, Any]) -> StackConfig:
    """A dev stack with the trail turned on: the retention rules are the same, prod's other requirements are not."""
    return parse(targets, environment="dev", apiAllowedCidrs=[], audit=audit, modelPublishing=None)


def test_prod_keeps_a_year_of_audit_trail_and_dev_none_by_default() -> None:
    prod = parse()
    assert prod.audit.enabled and prod.audit.retention_days == 365
    dev = parse(environment="dev", apiAllowedCidrs=[])
    assert not dev.audit.enabled
    assert parse(environment="dev", apiAllowedCidrs=[], audit={"enabled": True, "retentionDays": 30}).audit.enabled


# 400 is a CloudWatch value and within Log Analytics' 30-730; 731 is CloudWatch's but past Log Analytics';
# 100 is neither CloudWatch's nor refused elsewhere; 3653 is CloudWatch's but past Cloud Logging's 3650.
@pytest.mark.parametrize(
    ("targets", "days", "problem"),
    [
        ([AWS, GCP, AZURE], 100, "CloudWatch Logs keeps logs only for"),
        ([AWS, AZURE], 731, "a Log Analytics workspace keeps 30 to 730 days"),
        ([AZURE], 14, "a Log Analytics workspace keeps 30 to 730 days"),
        ([GCP], 3653, "a Cloud Logging bucket keeps 1 to 3650 days"),
        ([AWS], 0, "between 1 and 3653"),
    ],
)
def test_a_retention_one_cloud_refuses_names_the_key_and_the_cloud(
    targets: list[dict[str, Any]], days: int, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        dev(targets, {"enabled": True, "retentionDays": days})
    assert caught.value.key == "mlplatform:audit.retentionDays"
    assert problem in caught.value.problem


def test_a_retention_only_some_clouds_take_is_fine_without_the_others() -> None:
    assert dev([GCP], {"enabled": True, "retentionDays": 100}).audit.retention_days == 100
    assert dev([AWS, AZURE], {"enabled": True, "retentionDays": 400}).audit.retention_days == 400


@pytest.mark.parametrize(
    ("audit", "key", "problem"),
    [
        ({"enabled": False}, "mlplatform:audit.enabled", "cannot be turned off"),
        ({"retentionDays": "a year"}, "mlplatform:audit.retentionDays", "whole number"),
        ({"retentionDays": True}, "mlplatform:audit.retentionDays", "whole number"),
        ({"keepDays": 30}, "mlplatform:audit.keepDays", "unknown key"),
    ],
)
def test_bad_audit_settings_name_the_key(audit: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(audit=audit)
    assert caught.value.key == key and problem in caught.value.problem
