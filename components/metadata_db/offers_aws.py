"""What RDS for PostgreSQL offers this platform: pure data, read by the stack config before anything is made.

No SDK imports here: the config validates a stack against these figures first. Each figure
names the page it comes from (SOURCES).
"""

from __future__ import annotations

# Major versions under RDS standard support for new instances. 13 is left out: it is past its
# RDS end of standard support, so a new server would be enrolled (and billed) in RDS Extended
# Support. 18 is generally available on RDS (18.1 in the release notes' extension tables).
VERSIONS: frozenset[str] = frozenset({"14", "15", "16", "17", "18"})

# DB instance classes, vCPU and memory from "Hardware specifications for DB instance classes";
# Graviton classes, which RDS for PostgreSQL supports on every version above.
TIERS: dict[str, str] = {
    "db.t4g.micro": "2 vCPU (burstable), 1 GiB",
    "db.t4g.small": "2 vCPU (burstable), 2 GiB",
    "db.t4g.medium": "2 vCPU (burstable), 4 GiB",
    "db.m7g.large": "2 vCPU, 8 GiB",
    "db.m7g.xlarge": "4 vCPU, 16 GiB",
    "db.r7g.large": "2 vCPU, 16 GiB",
    "db.r7g.xlarge": "4 vCPU, 32 GiB",
}

DEFAULT_TIERS: dict[str, str] = {"dev": "db.t4g.micro", "prod": "db.m7g.large"}

# CreateDBInstance takes BackupRetentionPeriod 0-35, but 0 turns automated backups (and
# point-in-time recovery) off, so the range allowed here starts at 1.
BACKUP_DAYS: tuple[int, int] = (1, 35)


def supports_ha(tier: str) -> bool:
    """Multi-AZ DB instance deployments (one synchronous standby) have no instance-class
    restriction, unlike Multi-AZ DB clusters, which this platform does not use."""
    return tier in TIERS


SOURCES: tuple[str, ...] = (
    "https://docs.aws.amazon.com/AmazonRDS/latest/PostgreSQLReleaseNotes/postgresql-release-calendar.html",
    "https://docs.aws.amazon.com/AmazonRDS/latest/PostgreSQLReleaseNotes/postgresql-extensions.html",
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/extended-support-overview.html",
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.Summary.html",
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.Support.html",
    "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html",
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.MultiAZSingleStandby.html",
)
