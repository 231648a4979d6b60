"""Registry and metadata database config, validated against what each cloud offers.

The facts live beside each implementation (components/metadata_db/offers_<cloud>.py,
components/registry/offers_azure.py), without SDK imports, so a stack is checked before
anything is made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from components.metadata_db import offers_aws, offers_azure, offers_gcp
from components.registry.offers_azure import ACR_SKUS
from components.target import Cloud
from stacks.validate import ConfigError, boolean, integer, mapping, string

OFFERS: dict[Cloud, ModuleType] = {"aws": offers_aws, "gcp": offers_gcp, "azure": offers_azure}
REGISTRY_KEYS = {"keepImages", "untaggedDays", "acrSku", "manageScanning"}
DATABASE_KEYS = {"version", "tiers", "storageGb", "backupDays", "geoRedundantBackup"}
# Azure Database for PostgreSQL flexible server storage comes in these sizes (GiB); RDS gp3
# needs at least 20 and Cloud SQL at least 10, so every size here fits every cloud.
# Source: learn.microsoft.com/azure/postgresql/flexible-server/concepts-storage (read 2026-11).
STORAGE_SIZES_GB = (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384)
MIN_PROD_BACKUP_DAYS = 7


@dataclass(frozen=True)
class RegistryConfig:
    keep_images: int
    untagged_days: int
    acr_sku: str
    zone_redundant: bool
    manage_scanning: bool = False
    """AWS: write the account's ECR scanning setting (one per account and region); off by default."""


@dataclass(frozen=True)
class DatabaseConfig:
    version: str
    tiers: Mapping[Cloud, str]
    storage_gb: int
    backup_days: int
    high_availability: bool
    geo_redundant_backup: bool | None
    """Azure: None picks it wherever the region allows it (prod); True insists on it."""

    def geo_backup_for(self, region: str) -> bool:
        """Geo-redundant backup for an Azure server in this region."""
        allowed = not self.high_availability or region in offers_azure.GEO_BACKUP_WITH_ZONE_HA_REGIONS
        if self.geo_redundant_backup is None:
            return self.high_availability and allowed
        return self.geo_redundant_backup


@dataclass(frozen=True)
class DataDefaults:
    """What an environment means for registries and databases; see stacks.config.PROFILES."""

    environment: str
    acr_sku: str
    highly_available: bool


def parse_registry(key: str, value: Any, defaults: DataDefaults) -> RegistryConfig:
    fields = mapping(key, value, REGISTRY_KEYS)
    sku = string(f"{key}.acrSku", fields.get("acrSku", defaults.acr_sku))
    if sku not in ACR_SKUS:
        raise ConfigError(f"{key}.acrSku", f"{sku!r} is not an ACR SKU (one of {', '.join(sorted(ACR_SKUS))})")
    if defaults.highly_available and sku != "Premium":
        raise ConfigError(f"{key}.acrSku", f"prod needs Premium, the only SKU with zone redundancy, not {sku}")
    return RegistryConfig(
        keep_images=integer(f"{key}.keepImages", fields.get("keepImages", 30), 1, 1000),
        untagged_days=integer(f"{key}.untaggedDays", fields.get("untaggedDays", 7), 1, 365),
        acr_sku=sku,
        zone_redundant=sku == "Premium" and defaults.highly_available,
        manage_scanning=boolean(f"{key}.manageScanning", fields.get("manageScanning", False)),
    )


def parse_database(
    key: str, value: Any, defaults: DataDefaults, targets: Sequence[tuple[str, Cloud, str]]
) -> DatabaseConfig:
    """`targets` is (name, cloud, region) per target, to name the one a value does not fit."""
    fields = mapping(key, value, DATABASE_KEYS)
    clouds = [cloud for cloud in OFFERS if any(c == cloud for _, c, _ in targets)]
    high_availability = defaults.highly_available

    version = fields.get("version", "16")
    version = str(version) if isinstance(version, int) and not isinstance(version, bool) else version
    version = string(f"{key}.version", version)
    for cloud in clouds:
        offered = OFFERS[cloud].VERSIONS
        if version not in offered:
            raise ConfigError(
                f"{key}.version",
                f"{cloud} offers no PostgreSQL {version} for new servers (offers {', '.join(sorted(offered))})",
            )

    tiers = _tiers(f"{key}.tiers", fields.get("tiers", {}), clouds, defaults)

    storage = integer(f"{key}.storageGb", fields.get("storageGb", STORAGE_SIZES_GB[0]), 20, 65536)
    if "azure" in clouds and storage not in STORAGE_SIZES_GB:
        sizes = ", ".join(str(size) for size in STORAGE_SIZES_GB)
        raise ConfigError(f"{key}.storageGb", f"Azure flexible servers come in {sizes} GiB, not {storage}")

    days = fields.get("backupDays", MIN_PROD_BACKUP_DAYS)
    low = max(OFFERS[cloud].BACKUP_DAYS[0] for cloud in clouds)
    high = min(OFFERS[cloud].BACKUP_DAYS[1] for cloud in clouds)
    if high_availability:
        low = max(low, MIN_PROD_BACKUP_DAYS)
    days = integer(f"{key}.backupDays", days, low, high)

    geo = fields.get("geoRedundantBackup")
    if geo is not None:
        geo = boolean(f"{key}.geoRedundantBackup", geo)
        if geo and "azure" not in clouds:
            raise ConfigError(f"{key}.geoRedundantBackup", "only Azure flexible servers take this setting")
        if geo and high_availability:
            for name, cloud, region in targets:
                if cloud == "azure" and region not in offers_azure.GEO_BACKUP_WITH_ZONE_HA_REGIONS:
                    raise ConfigError(
                        f"{key}.geoRedundantBackup",
                        f"{region} (target {name}) cannot have geo-redundant backup together with"
                        " zone-redundant HA; set it false or pick another region",
                    )

    return DatabaseConfig(
        version=version,
        tiers=tiers,
        storage_gb=storage,
        backup_days=days,
        high_availability=high_availability,
        geo_redundant_backup=geo,
    )


def _tiers(key: str, value: Any, clouds: Sequence[Cloud], defaults: DataDefaults) -> dict[Cloud, str]:
    explicit = mapping(key, value, set(OFFERS))
    tiers: dict[Cloud, str] = {}
    for cloud in clouds:
        offers = OFFERS[cloud]
        tier = string(f"{key}.{cloud}", explicit.get(cloud, offers.DEFAULT_TIERS[defaults.environment]))
        if tier not in offers.TIERS:
            raise ConfigError(
                f"{key}.{cloud}", f"{tier!r} is not a {cloud} tier we support ({', '.join(offers.TIERS)})"
            )
        if defaults.highly_available and not offers.supports_ha(tier):
            raise ConfigError(f"{key}.{cloud}", f"{tier} cannot be highly available, which prod needs")
        tiers[cloud] = tier
    return tiers
