"""The MetadataDB contract: private PostgreSQL beside the cluster (e.g. an MLflow backend store)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

import pulumi

from components.gpu_cluster.contract import ClusterNetwork
from components.maintenance import MaintenanceWindow
from components.target import Target


@dataclass(frozen=True)
class MetadataDbArgs:
    """Defaults are cheap (dev); prod turns on HA, deletion protection and retention."""

    target: Target
    network: ClusterNetwork
    """The cluster's network: the database goes in its private subnets (AWS), on its VPC through
    private service access (GCP), or in its PostgreSQL-delegated subnet (Azure)."""
    version: str = "16"
    """PostgreSQL major version."""
    tier: str = ""
    """The cloud's size: an RDS instance class (db.t4g.micro), a Cloud SQL tier
    (db-custom-1-3840), an Azure Flexible Server SKU (Standard_B1ms)."""
    storage_gb: int = 20
    backup_days: int = 7
    high_availability: bool = False
    """Multi-AZ (AWS), REGIONAL (GCP), zone-redundant HA (Azure)."""
    deletion_protection: bool = False
    """The cloud API's own guard (RDS, Cloud SQL) as well as Pulumi's protect and retain."""
    geo_redundant_backup: bool = False
    """Azure only; chosen at creation, and only where the region allows it with zone-redundant HA."""
    database_name: str = "metadata"
    admin_user: str = "platform"
    tags: Mapping[str, str] = field(default_factory=dict)
    """The required tags, for a cloud whose provider defaults cannot reach the server: Cloud SQL
    takes labels only in settings.user_labels, which the GCP provider's default labels skip."""
    customer_managed_key: bool = False
    """Storage encrypted under a key the stack owns (RDS kms_key_id, Cloud SQL CMEK; mlplatform:encryption).
    Chosen at creation only: turning it on for an existing server replaces it (docs/OPERATIONS.md). Azure: not yet."""
    maintenance_window: MaintenanceWindow | None = None
    """GCP: the weekly hour Cloud SQL may restart for updates (the window's first day); None: any time."""


# Where a client keeps the server's CA bundle: every connection string names it (sslrootcert), so a
# client verifies the server's certificate and host name (sslmode=verify-full) with the cloud's CAs,
# not the system's. What goes in the file is per cloud: DatabaseOutputs.ca_bundle and docs/SECURITY.md.
CA_FILE = "/etc/mlplatform/database-ca.pem"
TLS_PARAMETERS = f"sslmode=verify-full&sslrootcert={CA_FILE}"


@dataclass(frozen=True)
class DatabaseOutputs:
    host: pulumi.Output[str]
    port: pulumi.Output[int]
    database: pulumi.Output[str]
    connection_string: pulumi.Output[str]
    """postgresql://USER:PASSWORD@HOST:PORT/DB?sslmode=verify-full&sslrootcert=CA_FILE: a Pulumi secret, always."""
    ca_bundle: pulumi.Output[str]
    """What belongs in CA_FILE: the PEM text where the cloud's API returns it (Cloud SQL's server CAs),
    else the https address the cloud publishes its bundle at (RDS per region; Azure's two roots)."""


def connection_string(
    user: pulumi.Input[str],
    password: pulumi.Input[str],
    host: pulumi.Input[str],
    port: pulumi.Input[int],
    database: pulumi.Input[str],
) -> pulumi.Output[str]:
    """postgresql://USER:PASSWORD@HOST:PORT/DB?sslmode=verify-full&sslrootcert=CA_FILE, user and password
    URL-encoded, a secret whatever its parts are. HOST must be a name (or address) the server's certificate
    carries, or verify-full refuses the connection."""

    def render(values: list[object]) -> str:
        name, secret, address, number, db = (str(v) for v in values)
        userinfo = f"{quote(name, safe='')}:{quote(secret, safe='')}"
        return f"postgresql://{userinfo}@{address}:{number}/{db}?{TLS_PARAMETERS}"

    return pulumi.Output.secret(pulumi.Output.all(user, password, host, port, database).apply(render))
