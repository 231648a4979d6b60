"""Registry and database config: what a cloud does not offer fails with one line naming the key."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import ConfigError, StackConfig, parse_stack_config
from tests.test_config import GOOD, engine_config

ALL_CLOUDS = [
    {"cloud": "aws", "region": "us-east-1"},
    {"cloud": "gcp", "region": "us-central1", "project": "ml-test-123"},
    {"cloud": "azure", "region": "swedencentral"},
]


def parse(targets: list[dict[str, Any]] | None = None, **changes: Any) -> StackConfig:
    return parse_stack_config(engine_config({**GOOD, "targets": targets or ALL_CLOUDS, **changes}), stack="test")


def test_environment_defaults() -> None:
    prod = parse()
    assert prod.registry.acr_sku == "Premium" and prod.registry.zone_redundant
    assert prod.database.high_availability and prod.database.backup_days == 7
    assert dict(prod.database.tiers) == {"aws": "db.m7g.large", "gcp": "db-custom-2-7680", "azure": "Standard_D2ds_v5"}
    dev = parse(environment="dev", apiAllowedCidrs=[])
    assert dev.registry.acr_sku == "Basic" and not dev.registry.zone_redundant
    assert not dev.database.high_availability
    assert dev.database.tiers["azure"] == "Standard_B1ms"


def test_geo_redundant_backup_where_the_region_allows_it_with_zone_ha() -> None:
    database = parse().database
    assert database.geo_backup_for("swedencentral") is True
    assert database.geo_backup_for("canadaeast") is False  # no zone-redundant HA with geo backup there
    assert parse(environment="dev", apiAllowedCidrs=[]).database.geo_backup_for("swedencentral") is False


BAD = [
    ({"database": {"version": "12"}}, "mlplatform:database.version", "offers no PostgreSQL 12"),
    ({"database": {"version": "18"}}, "mlplatform:database.version", "azure offers no PostgreSQL 18"),
    ({"database": {"tiers": {"aws": "db.x9.huge"}}}, "mlplatform:database.tiers.aws", "not a aws tier"),
    ({"database": {"tiers": {"azure": "Standard_B1ms"}}}, "mlplatform:database.tiers.azure", "highly available"),
    ({"database": {"backupDays": 3}}, "mlplatform:database.backupDays", "between 7 and 35"),
    ({"database": {"backupDays": 40}}, "mlplatform:database.backupDays", "between 7 and 35"),
    ({"database": {"storageGb": 100}}, "mlplatform:database.storageGb", "come in 32, 64"),
    ({"database": {"engine": "mysql"}}, "mlplatform:database.engine", "unknown key"),
    ({"registry": {"acrSku": "Ultra"}}, "mlplatform:registry.acrSku", "not an ACR SKU"),
    ({"registry": {"acrSku": "Basic"}}, "mlplatform:registry.acrSku", "prod needs Premium"),
    ({"registry": {"keepImages": 0}}, "mlplatform:registry.keepImages", "between 1"),
]


@pytest.mark.parametrize(("changes", "key", "problem"), BAD, ids=[f"{i}-{case[1]}" for i, case in enumerate(BAD)])
def test_bad_data_settings_name_the_key(changes: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(**changes)
    assert caught.value.key == key
    assert problem in str(caught.value) and "\n" not in str(caught.value)


def test_geo_backup_refused_where_the_region_cannot_pair_it_with_zone_ha() -> None:
    targets = [{"cloud": "azure", "region": "canadaeast"}]
    with pytest.raises(ConfigError) as caught:
        parse(targets=targets, database={"geoRedundantBackup": True, "tiers": {"azure": "Standard_D2ds_v5"}})
    assert caught.value.key == "mlplatform:database.geoRedundantBackup"
    assert "canadaeast (target azure-canadaeast)" in str(caught.value)


def test_a_version_only_some_clouds_offer_is_fine_without_the_others() -> None:
    assert parse(targets=[ALL_CLOUDS[0]], database={"version": 18}).database.version == "18"
