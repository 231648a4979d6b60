"""What Cloud SQL for PostgreSQL offers a new server, as plain data.

The stack config validates against this module before anything is made, so it imports no
SDK. Every figure comes from a page in SOURCES; the comments say which.
"""

from __future__ import annotations

# Major versions in regular support (db-versions page: extended support starts 2027-02-01 for 14,
# a year later for each next major). 13 and older are in paid extended support (13 since
# 2026-02-01), so new servers do not start there. 18 is newer than the db-versions snapshot read;
# the provider lists POSTGRES_18 (pulumi-gcp 10.2.0) and Google's Cloud SQL CLI reference
# (google/skills) creates it on Enterprise edition with a db-custom tier.
VERSIONS: frozenset[str] = frozenset({"14", "15", "16", "17", "18"})

# Enterprise edition tiers only (the implementation sets edition ENTERPRISE; Enterprise Plus
# takes only db-perf-optimized-N-* tiers). Custom tiers are db-custom-<vCPU>-<MiB>: 1 or an even
# number of vCPUs, 0.9 to 6.5 GB per vCPU, a multiple of 256 MB and at least 3.75 GB
# (instance-settings page). Shared-core memory: 0.6 GB (FAQ connection limits), 1.7 GB (Google's
# Cloud SQL core concepts).
TIERS: dict[str, str] = {
    "db-f1-micro": "shared vCPU, 0.6 GB; no SLA, throwaway stacks only",
    "db-g1-small": "shared vCPU, 1.7 GB; no SLA, throwaway stacks only",
    "db-custom-1-3840": "1 vCPU, 3.75 GB",
    "db-custom-2-7680": "2 vCPU, 7.5 GB",
    "db-custom-4-15360": "4 vCPU, 15 GB",
    "db-custom-8-30720": "8 vCPU, 30 GB",
}

# dev: the smallest dedicated core, so a dev stack behaves like prod and can be made HA as is.
DEFAULT_TIERS: dict[str, str] = {"dev": "db-custom-1-3840", "prod": "db-custom-2-7680"}

# Automated backups are daily; the implementation keeps backup_days of them (retention unit
# COUNT), and Cloud SQL retains 1 to 365 automated backups (backups page).
BACKUP_DAYS: tuple[int, int] = (1, 365)

_SHARED_CORE = frozenset({"db-f1-micro", "db-g1-small"})


def supports_ha(tier: str) -> bool:
    """Whether the tier is offered highly available (REGIONAL).

    Shared-core tiers are left out by choice: Cloud SQL's SLA covers only HA instances with
    at least one dedicated CPU (operational guidelines), so HA there would double the price
    without the guarantee that HA is for.
    """
    return tier in TIERS and tier not in _SHARED_CORE


SOURCES: tuple[str, ...] = (
    "https://cloud.google.com/sql/docs/postgres/db-versions",
    "https://cloud.google.com/sql/docs/postgres/instance-settings",
    "https://cloud.google.com/sql/docs/postgres/faq",
    "https://github.com/google/skills/blob/main/skills/cloud/cloud-sql-basics/references/core-concepts.md",
    "https://github.com/google/skills/blob/main/skills/cloud/cloud-sql-basics/references/cli-usage.md",
    "https://cloud.google.com/sql/docs/postgres/backup-recovery/backups",
    "https://cloud.google.com/sql/docs/postgres/operational-guidelines",
    "https://cloud.google.com/sql/docs/postgres/high-availability",
    "https://www.pulumi.com/registry/packages/gcp/api-docs/sql/databaseinstance/",
)
