"""Cloud SQL for PostgreSQL implementation: private IP only, through private services access on
the cluster's VPC, TLS required, daily backups with point-in-time recovery, guarded in prod.

Choices the contract leaves to each cloud:
- Edition ENTERPRISE, set explicitly: new PostgreSQL 16+ servers default to ENTERPRISE_PLUS,
  which takes only db-perf-optimized tiers, so a db-custom tier would fail at creation.
- backup_days is the number of daily automated backups kept; transaction logs for
  point-in-time recovery are kept as many days, at most the 7 the edition allows.
- storage_gb is the initial disk; autoresize grows it and Pulumi ignores the grown size,
  because the provider would replace (delete) the server to shrink the disk back.
- The private services access range is a /20 that Google picks in the VPC (PSA_PREFIX_LENGTH);
  the contract's network carries no CIDR to carve it from.
- The required labels go in settings.user_labels: a DatabaseInstance has no top-level labels, so
  the provider's default labels never reach it (provider docs for DatabaseInstance, read 2026-12).
- maintenance_window, when given, is Cloud SQL's weekly hour on the "stable" track (updates two
  weeks after they are announced); without one, Cloud SQL picks any time.
- The server CA is the shared, Google-managed one (GOOGLE_MANAGED_CAS_CA): its server certificates
  name the instance's addresses, so clients verify the host (sslmode=verify-full) against the PEM the
  instance reports in server_ca_certs (the `ca_bundle` output). The default per-instance CA names the
  instance only as "<project>:<instance>", which a client reaching it by IP can check with verify-ca
  at most ("Authorize with SSL/TLS certificates", CA hierarchies, Cloud SQL docs, read 2026-12). The
  SAN contents were not seen on a live instance here: docs/SECURITY.md, "Data", says so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from components.gcp_kms import customer_key
from components.maintenance import MaintenanceWindow
from components.metadata_db import offers_gcp as offers
from components.metadata_db.contract import DatabaseOutputs, MetadataDbArgs, connection_string
from components.tags import gcp_labels

EDITION = "ENTERPRISE"
PORT = 5432
PSA_SERVICE = "servicenetworking.googleapis.com"
# Cloud SQL takes a /24 per region from the range; Google recommends /16 when many services
# share it. A /20 holds 16 such blocks and takes less of 10/8 from networks that may be peered.
PSA_PREFIX_LENGTH = 20
MIN_DISK_GB = 10  # PD_SSD minimum (provider docs for settings.disk_size)
MAX_LOG_DAYS = 7  # point-in-time recovery logs on Enterprise edition: 1 to 7 days
PASSWORD_LENGTH = 40
# RFC 3986 unreserved characters: a URL carries them as they are (quote() below changes nothing).
PASSWORD_SPECIALS = "-_.~"
MAX_NAME = 40  # auto-naming adds 8 characters; Compute names stop at 63
UPDATE_TRACK = "stable"
SERVER_CA_MODE = "GOOGLE_MANAGED_CAS_CA"
_NAME = re.compile(r"^[a-z](?:[-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class PrivateAccess:
    """The cluster's VPC as the server joins it: the network, the reserved range, the peering."""

    network: pulumi.Output[str]
    range_name: pulumi.Output[str]
    connection: gcp.servicenetworking.Connection


def build(parent: pulumi.ComponentResource, name: str, args: MetadataDbArgs) -> DatabaseOutputs:
    project = _require_project(args)
    tier = args.tier or offers.DEFAULT_TIERS["dev"]
    _validate(name, args, tier)
    access = _private_service_access(parent, name, args, project)
    key = _storage_key(parent, name, args, project) if args.customer_managed_key else None
    instance = _instance(parent, name, args, project, tier, access, key)
    database = gcp.sql.Database(
        f"{name}-db",
        project=project,
        instance=instance.name,
        name=args.database_name,
        # Dropping a database with live connections fails; deleting the server removes it anyway.
        deletion_policy="ABANDON",
        opts=args.target.child_options(parent),
    )
    password = random.RandomPassword(
        f"{name}-password",
        length=PASSWORD_LENGTH,
        special=True,
        override_special=PASSWORD_SPECIALS,
        opts=args.target.child_options(parent),
    )
    user = gcp.sql.User(
        f"{name}-user",
        project=project,
        instance=instance.name,
        name=args.admin_user,
        password=password.result,  # secret: RandomPassword marks its result as one
        # Postgres refuses to drop a role that owns tables; the server's deletion removes it.
        deletion_policy="ABANDON",
        opts=args.target.child_options(parent),
    )
    return DatabaseOutputs(
        host=instance.private_ip_address,
        port=pulumi.Output.from_input(PORT),
        database=database.name,
        connection_string=connection_string(
            user.name, password.result, instance.private_ip_address, PORT, database.name
        ),
        # The provider marks server_ca_certs secret as a whole; a CA certificate is public, and clients need it.
        ca_bundle=pulumi.Output.unsecret(instance.server_ca_certs).apply(_pem_bundle),
    )


def _pem_bundle(certificates: Sequence[Any] | None) -> str:
    """The instance's server CA certificates (the current and, during a rotation, the next) as one PEM file."""
    pems = [c.get("cert") if isinstance(c, dict) else getattr(c, "cert", None) for c in certificates or []]
    return "".join(pem if pem.endswith("\n") else f"{pem}\n" for pem in pems if pem)


def _storage_key(
    parent: pulumi.ComponentResource, name: str, args: MetadataDbArgs, project: str
) -> tuple[pulumi.Output[str], pulumi.Resource]:
    """A Cloud KMS key for the server's storage (CMEK) and its grant to Cloud SQL's service agent, whose email
    comes from the service identity Cloud SQL makes for the project (configure-cmek, Cloud SQL docs)."""
    agent = gcp.projects.ServiceIdentity(
        f"{name}-sql-agent", project=project, service="sqladmin.googleapis.com", opts=args.target.child_options(parent)
    )
    key, grant = customer_key(parent, f"{name}-storage", args.target, agent.email, keep=args.deletion_protection)
    return key.id, grant


def _require_project(args: MetadataDbArgs) -> str:
    if not args.target.gcp_project:
        raise ValueError(f"target {args.target.name}: a Cloud SQL server needs the target's gcp_project")
    return args.target.gcp_project


def _validate(name: str, args: MetadataDbArgs, tier: str) -> None:
    """Fail before anything is planned, with the reason, rather than at `pulumi up`."""
    if not _NAME.match(name) or len(name) > MAX_NAME:
        raise ValueError(f"MetadataDb {name!r}: lowercase letters, digits and '-', at most {MAX_NAME} on GCP")
    if args.version not in offers.VERSIONS:
        raise ValueError(
            f"PostgreSQL {args.version!r} is not offered for new servers; one of {sorted(offers.VERSIONS)}"
        )
    if tier not in offers.TIERS:
        raise ValueError(f"tier {tier!r} is not a supported Cloud SQL tier; one of {sorted(offers.TIERS)}")
    if args.high_availability and not offers.supports_ha(tier):
        raise ValueError(f"tier {tier!r} is not offered highly available; use a db-custom tier")
    low, high = offers.BACKUP_DAYS
    if not low <= args.backup_days <= high:
        raise ValueError(f"backup_days must be between {low} and {high}, got {args.backup_days}")
    if args.storage_gb < MIN_DISK_GB:
        raise ValueError(f"storage_gb must be at least {MIN_DISK_GB}, got {args.storage_gb}")


def _maintenance(window: MaintenanceWindow | None) -> gcp.sql.DatabaseInstanceSettingsMaintenanceWindowArgsDict | None:
    """Cloud SQL's weekly maintenance hour: the window's first day, at its opening hour (UTC)."""
    if window is None:
        return None
    return {"day": window.cloud_sql_day(), "hour": window.start_hour, "update_track": UPDATE_TRACK}


def _abandon_if(keep: bool) -> str:
    """What leaves the program with a kept server stays in the cloud, so the server stays reachable."""
    return "ABANDON" if keep else "DELETE"


def _private_service_access(
    parent: pulumi.ComponentResource, name: str, args: MetadataDbArgs, project: str
) -> PrivateAccess:
    """A range reserved on the cluster's VPC and the peering to Google's service network."""
    target = args.target
    keep = args.deletion_protection
    # Wait for the node subnet: a range Google picks before the subnet's secondary ranges exist
    # could take addresses the pods range needs.
    network: pulumi.Output[str] = pulumi.Output.all(args.network.network_id, args.network.private_subnet_ids).apply(
        lambda values: str(values[0])
    )
    address = gcp.compute.GlobalAddress(
        f"{name}-psa-range",
        project=project,
        purpose="VPC_PEERING",
        address_type="INTERNAL",
        prefix_length=PSA_PREFIX_LENGTH,  # no address: Google picks a free block of the VPC
        network=network,
        deletion_policy=_abandon_if(keep),
        opts=target.child_options(parent),
    )
    connection = gcp.servicenetworking.Connection(
        f"{name}-psa",
        network=network,
        service=PSA_SERVICE,
        reserved_peering_ranges=[address.name],
        # Cloud SQL holds its addresses for days after a server is deleted, so deleting the
        # connection fails and the peering would block deleting the VPC. Dev tears down: remove
        # the peering then. Prod keeps the connection for the retained server.
        deletion_policy="ABANDON" if keep else "REMOVE_PEERING",
        opts=target.child_options(parent),
    )
    return PrivateAccess(network=network, range_name=address.name, connection=connection)


def _instance(
    parent: pulumi.ComponentResource,
    name: str,
    args: MetadataDbArgs,
    project: str,
    tier: str,
    access: PrivateAccess,
    key: tuple[pulumi.Output[str], pulumi.Resource] | None = None,
) -> gcp.sql.DatabaseInstance:
    target = args.target
    protect = args.deletion_protection
    waits: list[pulumi.Resource] = [access.connection, *([key[1]] if key else [])]
    extra = pulumi.ResourceOptions(depends_on=waits, ignore_changes=["settings.diskSize"])
    return gcp.sql.DatabaseInstance(
        name,  # auto-named: a deleted instance's name cannot be reused for up to a week
        project=project,
        region=target.region,
        database_version=f"POSTGRES_{args.version}",
        deletion_protection=protect,  # the provider's guard; it defaults to true, so dev says false
        settings=_settings(args, tier, access),
        encryption_key_name=key[0] if key else None,
        opts=pulumi.ResourceOptions.merge(target.child_options(parent, keep=protect), extra),
    )


def _settings(args: MetadataDbArgs, tier: str, access: PrivateAccess) -> gcp.sql.DatabaseInstanceSettingsArgsDict:
    protect = args.deletion_protection
    settings: gcp.sql.DatabaseInstanceSettingsArgsDict = {
        "tier": tier,
        "edition": EDITION,
        "availability_type": "REGIONAL" if args.high_availability else "ZONAL",
        "disk_type": "PD_SSD",
        "disk_size": args.storage_gb,
        "disk_autoresize": True,
        "deletion_protection_enabled": protect,  # the API's guard, against every client
        "retain_backups_on_delete": protect,
        "ip_configuration": {
            "ipv4_enabled": False,  # no public IP
            "private_network": access.network,
            "allocated_ip_range": access.range_name,  # the server's address comes from our range
            "ssl_mode": "ENCRYPTED_ONLY",
            # The shared CA: its server certificates carry the instance's IP addresses, so clients can
            # verify the host name (sslmode=verify-full); the default per-instance CA names the instance
            # in the common name only, which allows verify-ca at most (see the module docstring).
            "server_ca_mode": SERVER_CA_MODE,
        },
        "backup_configuration": {
            "enabled": True,
            "point_in_time_recovery_enabled": True,
            "transaction_log_retention_days": min(args.backup_days, MAX_LOG_DAYS),
            "backup_retention_settings": {"retained_backups": args.backup_days, "retention_unit": "COUNT"},
        },
    }
    labels = gcp_labels(args.tags)
    if labels:
        settings["user_labels"] = labels  # the required labels (see the module docstring)
    window = _maintenance(args.maintenance_window)
    if window:
        settings["maintenance_window"] = window
    return settings
