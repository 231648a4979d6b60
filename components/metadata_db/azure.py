"""Azure implementation: a PostgreSQL flexible server with private access in the cluster's VNet.

Private access (VNet integration): the server lives in the subnet the cluster network delegated to
`Microsoft.DBforPostgreSQL/flexibleServers`, has no public endpoint, and its name resolves through
a private DNS zone linked to the VNet. Such a zone must end in `.postgres.database.azure.com`
and must not be named like a server (learn.microsoft.com/azure/postgresql/network/
concepts-networking-private). The admin password is a Pulumi secret from a random password.

Deletion protection is, as the docs propose, a CanNotDelete management lock on the server
(learn.microsoft.com/azure/postgresql/configure-maintain/how-to-enable-deletion-protection), plus
Pulumi protect/retain on the server, its database and the DNS names the server answers on.
"""

from __future__ import annotations

import re
from bisect import bisect_left

import pulumi
import pulumi_random as random
from pulumi_azure_native import dbforpostgresql, privatedns

from components.azure_lock import delete_lock
from components.global_names import unique_name
from components.metadata_db.contract import DatabaseOutputs, MetadataDbArgs, connection_string
from components.metadata_db.offers_azure import (
    BACKUP_DAYS,
    DEFAULT_TIERS,
    GEO_BACKUP_WITH_ZONE_HA_REGIONS,
    VERSIONS,
    compute_tier,
    supports_ha,
)

PORT = 5432
# The roots a flexible server's certificate chains to; they stay through Microsoft's intermediate
# rotations of 2025-2026 ("Secure connectivity with TLS", Azure Database for PostgreSQL docs, read 2026-12).
# Both are in the usual system trust stores too. The server's certificate names
# <server>.postgres.database.azure.com, the connection string's host: sslmode=verify-full holds.
ROOT_CA_URLS = (
    "https://cacerts.digicert.com/DigiCertGlobalRootG2.crt.pem",
    "https://www.microsoft.com/pkiops/certs/Microsoft%20RSA%20Root%20Certificate%20Authority%202017.crt",
)
DNS_ZONE_SUFFIX = ".private.postgres.database.azure.com"
# Premium SSD sizes a server takes, GiB; 32,767 is the largest (concepts-storage). Storage only grows.
STORAGE_SIZES_GB = (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767)
SUFFIX_LENGTH = 8
# Server names form <name>.postgres.database.azure.com, so they are global: 3-63 lowercase letters,
# digits and hyphens, not starting or ending with a hyphen (Azure resource name rules). The
# component name plus "-" and the random suffix must fit.
_NAME = re.compile(rf"^[a-z0-9](?:[a-z0-9-]{{0,{63 - SUFFIX_LENGTH - 3}}}[a-z0-9])?$")
# Logins the service refuses: "azure_superuser, azure_pg_admin, admin, administrator, root, guest,
# or public. It can't start with pg_." (quickstart-create-server).
_RESERVED_LOGINS = frozenset({"azure_superuser", "azure_pg_admin", "admin", "administrator", "root", "guest", "public"})
# Databases every server already has.
_RESERVED_DATABASES = frozenset({"postgres", "azure_maintenance", "azure_sys", "template0", "template1"})
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# The password's special characters: ones URL userinfo takes as they are (RFC 3986 unreserved), so
# the connection string needs no escaping. Three of four character classes are required; all four
# are guaranteed (quickstart-create-server: 8-128 characters).
PASSWORD_LENGTH = 40
PASSWORD_SPECIALS = "-_"


def build(parent: pulumi.ComponentResource, name: str, args: MetadataDbArgs) -> DatabaseOutputs:
    tier = args.tier or DEFAULT_TIERS["dev"]  # the contract's empty tier means the cheap default
    _check_args(name, args, tier)
    zone, link = _private_dns(parent, name, args)
    password = random.RandomPassword(
        f"{name}-admin-password",
        length=PASSWORD_LENGTH,
        special=True,
        override_special=PASSWORD_SPECIALS,
        min_upper=2,
        min_lower=2,
        min_numeric=2,
        min_special=1,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    server = _server(parent, name, args, tier, zone, link, password.result)
    database = dbforpostgresql.Database(
        f"{name}-database",
        database_name=args.database_name,
        server_name=server.name,
        resource_group_name=args.target.require_resource_group(),
        charset="UTF8",
        collation="en_US.utf8",
        opts=args.target.child_options(parent, keep=args.deletion_protection),
    )
    if args.deletion_protection:
        delete_lock(parent, name, args.target, server.id, "the metadata database is deletion-protected")

    host = server.fully_qualified_domain_name
    return DatabaseOutputs(
        host=host,
        port=pulumi.Output.from_input(PORT),
        database=database.name,
        connection_string=connection_string(args.admin_user, password.result, host, PORT, database.name),
        ca_bundle=pulumi.Output.from_input(" ".join(ROOT_CA_URLS)),
    )


def _check_args(name: str, args: MetadataDbArgs, tier: str) -> None:
    """Refuse what the service would refuse, with the reason, before anything is planned."""
    where = f"database {name!r}"
    if not _NAME.match(name):
        raise ValueError(f"{where}: use 1-{63 - SUFFIX_LENGTH - 1} lowercase letters, digits or inner hyphens")
    if args.version not in VERSIONS:
        raise ValueError(f"{where}: PostgreSQL {args.version!r} is not offered for new servers ({sorted(VERSIONS)})")
    compute_tier(tier)  # raises on a size that is not a flexible server size
    low, high = BACKUP_DAYS
    if not low <= args.backup_days <= high:
        raise ValueError(f"{where}: backup_days must be {low}..{high}, got {args.backup_days}")
    if not 0 < args.storage_gb <= STORAGE_SIZES_GB[-1]:
        raise ValueError(f"{where}: storage_gb must be 1..{STORAGE_SIZES_GB[-1]}, got {args.storage_gb}")
    if args.high_availability and not supports_ha(tier):
        raise ValueError(f"{where}: {tier} is Burstable, which has no high availability")
    both = args.high_availability and args.geo_redundant_backup
    if both and args.target.region not in GEO_BACKUP_WITH_ZONE_HA_REGIONS:
        raise ValueError(f"{where}: {args.target.region} does not offer zone-redundant HA with geo-redundant backup")
    login = args.admin_user
    if not _IDENTIFIER.match(login) or login in _RESERVED_LOGINS or login.startswith("pg_"):
        raise ValueError(f"{where}: admin_user {login!r} is reserved or not a plain PostgreSQL identifier")
    if not _IDENTIFIER.match(args.database_name) or args.database_name in _RESERVED_DATABASES:
        raise ValueError(f"{where}: database_name {args.database_name!r} is reserved or not a plain identifier")


def _storage_size(requested_gb: int) -> int:
    """The smallest Premium SSD size that holds the request (20 GiB -> 32 GiB)."""
    return STORAGE_SIZES_GB[bisect_left(STORAGE_SIZES_GB, requested_gb)]


def _private_dns(
    parent: pulumi.ComponentResource, name: str, args: MetadataDbArgs
) -> tuple[privatedns.PrivateZone, privatedns.VirtualNetworkLink]:
    """The zone the server registers its private address in, linked to the cluster's VNet.

    Kept with the server: a retained server whose zone is gone no longer resolves.
    """
    target = args.target
    group = target.require_resource_group()
    kept = target.child_options(parent, keep=args.deletion_protection)
    zone = privatedns.PrivateZone(
        f"{name}-dns",
        private_zone_name=f"{name}{DNS_ZONE_SUFFIX}",
        resource_group_name=group,
        location="global",  # private DNS zones are global resources
        opts=kept,
    )
    link = privatedns.VirtualNetworkLink(
        f"{name}-dns-link",
        virtual_network_link_name=f"{name}-vnet",
        private_zone_name=zone.name,
        resource_group_name=group,
        location="global",
        virtual_network={"id": args.network.network_id},
        registration_enabled=False,  # the server writes its own record; VMs must not
        opts=kept,
    )
    return zone, link


def _server(
    parent: pulumi.ComponentResource,
    name: str,
    args: MetadataDbArgs,
    tier: str,
    zone: privatedns.PrivateZone,
    link: privatedns.VirtualNetworkLink,
    password: pulumi.Output[str],
) -> dbforpostgresql.Server:
    target = args.target
    # The link first: the server's name must resolve in the VNet as soon as the server exists.
    opts = pulumi.ResourceOptions.merge(
        target.child_options(parent, keep=args.deletion_protection), pulumi.ResourceOptions(depends_on=[link])
    )
    return dbforpostgresql.Server(
        name,
        server_name=unique_name(parent, name, f"{name}-", SUFFIX_LENGTH),
        resource_group_name=target.require_resource_group(),
        location=target.region,
        version=dbforpostgresql.PostgresMajorVersion(args.version),
        sku={"name": tier, "tier": dbforpostgresql.SkuTier(compute_tier(tier))},
        administrator_login=args.admin_user,
        administrator_login_password=password,
        auth_config={
            "password_auth": dbforpostgresql.PasswordBasedAuth.ENABLED,
            "active_directory_auth": dbforpostgresql.MicrosoftEntraAuth.DISABLED,
        },
        # Autogrow stays off: the size is what the config says, so Pulumi and Azure agree.
        storage={
            "storage_size_gb": _storage_size(args.storage_gb),
            "type": dbforpostgresql.StorageType.PREMIUM_LRS,
            "auto_grow": dbforpostgresql.StorageAutoGrow.DISABLED,
        },
        backup={
            "backup_retention_days": args.backup_days,
            # Only settable when the server is created.
            "geo_redundant_backup": (
                dbforpostgresql.GeographicallyRedundantBackup.ENABLED
                if args.geo_redundant_backup
                else dbforpostgresql.GeographicallyRedundantBackup.DISABLED
            ),
        },
        high_availability={
            "mode": (
                dbforpostgresql.PostgreSqlFlexibleServerHighAvailabilityMode.ZONE_REDUNDANT
                if args.high_availability
                else dbforpostgresql.PostgreSqlFlexibleServerHighAvailabilityMode.DISABLED
            )
        },
        network={
            "delegated_subnet_resource_id": args.network.private_subnet_ids.apply(_first_subnet),
            "private_dns_zone_arm_resource_id": zone.id,
            "public_network_access": dbforpostgresql.ServerPublicNetworkAccessState.DISABLED,
        },
        opts=opts,
    )


def _first_subnet(subnet_ids: list[str]) -> str:
    """The cluster network exports one subnet here: the one delegated to flexible servers."""
    if not subnet_ids:
        raise ValueError("the cluster network has no subnet delegated to PostgreSQL")
    return subnet_ids[0]
