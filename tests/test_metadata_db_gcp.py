"""MetadataDb on GCP: Cloud SQL for PostgreSQL on private IP only (private services access on the
cluster's VPC), TLS required, backups with point-in-time recovery, guarded and kept in prod, and
a password that is a secret everywhere."""

from __future__ import annotations

import ast
import inspect
import json
import re
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pytest

from components.gpu_cluster.contract import ClusterNetwork
from components.maintenance import MaintenanceWindow
from components.metadata_db import MetadataDb, MetadataDbArgs, offers_gcp
from components.target import Target
from preflight.plan import Plan, PlannedResource
from preflight.synthesize import ProgramError
from tests.helpers import mock_passwords, only, program_plan

INSTANCE = "gcp:sql/databaseInstance:DatabaseInstance"
ADDRESS = "gcp:compute/globalAddress:GlobalAddress"
CONNECTION = "gcp:servicenetworking/connection:Connection"
DATABASE = "gcp:sql/database:Database"
USER = "gcp:sql/user:User"
PASSWORD = "random:index/randomPassword:RandomPassword"
PROJECT = "p-12345"
REGION = "us-central1"
URL_UNRESERVED = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
PROD = {
    "tier": "db-custom-2-7680",
    "version": "17",
    "storage_gb": 100,
    "backup_days": 30,
    "high_availability": True,
    "deletion_protection": True,
}


def db_plan(project: str | None = PROJECT, reveal: bool = False, **overrides: Any) -> Plan:
    """A VPC with a node subnet (as GpuCluster makes it) and one MetadataDb on it, through the public API.

    reveal exports the connection string unsecreted, to check its shape; plans that check for
    leaks never do.
    """

    def program() -> None:
        provider = gcp.Provider("t", project=PROJECT, region=REGION)
        opts = pulumi.ResourceOptions(provider=provider)
        vpc = gcp.compute.Network("vpc", project=PROJECT, auto_create_subnetworks=False, opts=opts)
        subnet = gcp.compute.Subnetwork(
            "nodes", project=PROJECT, region=REGION, network=vpc.id, ip_cidr_range="10.16.0.0/20", opts=opts
        )
        network = ClusterNetwork(
            network_id=vpc.self_link, private_subnet_ids=pulumi.Output.all(subnet.self_link).apply(list)
        )
        target = Target("t", "gcp", REGION, provider, gcp_project=project)
        db = MetadataDb("meta", MetadataDbArgs(target=target, network=network, **overrides))
        pulumi.export("networkId", network.network_id)
        pulumi.export("host", db.host)
        pulumi.export("port", db.port)
        pulumi.export("database", db.database)
        pulumi.export("connectionString", db.connection_string)
        pulumi.export("caBundle", db.ca_bundle)
        if reveal:
            pulumi.export("connectionText", pulumi.Output.unsecret(db.connection_string))

    return program_plan(program)


@pytest.fixture(scope="module")
def dev() -> Plan:
    return db_plan()


@pytest.fixture(scope="module")
def prod() -> Plan:
    return db_plan(**PROD)


@pytest.fixture(scope="module", params=["dev", "prod"])
def plan(request: pytest.FixtureRequest, dev: Plan, prod: Plan) -> Plan:
    return dev if request.param == "dev" else prod


@pytest.fixture(scope="module")
def revealed() -> Plan:
    return db_plan(reveal=True)


def instance(plan: Plan) -> PlannedResource:
    return only(plan, INSTANCE)


def settings(plan: Plan) -> dict[str, Any]:
    return instance(plan).inputs["settings"]


def mock_password(plan: Plan) -> str:
    (password,) = mock_passwords(plan)
    return password


def test_private_services_access_reserves_a_range_on_the_clusters_vpc(plan: Plan) -> None:
    address = only(plan, ADDRESS)
    connection = only(plan, CONNECTION)
    assert address.inputs["purpose"] == "VPC_PEERING" and address.inputs["addressType"] == "INTERNAL"
    assert address.inputs["prefixLength"] == 20
    assert "address" not in address.inputs  # Google picks a free block of the VPC
    assert address.inputs["network"] == plan.outputs["networkId"] == connection.inputs["network"]
    assert connection.inputs["service"] == "servicenetworking.googleapis.com"
    [range_name] = connection.inputs["reservedPeeringRanges"]
    assert range_name.startswith("meta-psa-range-")  # the range's generated name
    assert address.urn in connection.dependencies


def test_the_range_is_reserved_after_the_node_subnet_exists(plan: Plan) -> None:
    subnet = only(plan, "gcp:compute/subnetwork:Subnetwork")
    assert subnet.urn in only(plan, ADDRESS).dependencies


def test_the_server_has_a_private_address_only_and_requires_tls(plan: Plan) -> None:
    ip = settings(plan)["ipConfiguration"]
    assert ip == {
        "ipv4Enabled": False,
        "privateNetwork": plan.outputs["networkId"],
        "allocatedIpRange": only(plan, CONNECTION).inputs["reservedPeeringRanges"][0],  # the range reserved above
        "sslMode": "ENCRYPTED_ONLY",
        "serverCaMode": "GOOGLE_MANAGED_CAS_CA",  # certificates that name the host (verify-full)
    }
    assert only(plan, CONNECTION).urn in instance(plan).dependencies  # peering first, then the server


def test_version_tier_and_edition_are_explicit(dev: Plan, prod: Plan) -> None:
    assert instance(dev).inputs["databaseVersion"] == "POSTGRES_16"
    assert instance(prod).inputs["databaseVersion"] == "POSTGRES_17"
    assert settings(dev)["tier"] == offers_gcp.DEFAULT_TIERS["dev"] == "db-custom-1-3840"
    assert settings(prod)["tier"] == "db-custom-2-7680"
    for plan in (dev, prod):
        assert settings(plan)["edition"] == "ENTERPRISE"  # PostgreSQL 16+ would default to ENTERPRISE_PLUS
        assert instance(plan).inputs["region"] == REGION and instance(plan).inputs["project"] == PROJECT
        assert "name" not in instance(plan).inputs  # auto-named: names are not reusable for a week


def test_high_availability_is_regional_in_prod_and_zonal_in_dev(dev: Plan, prod: Plan) -> None:
    assert settings(dev)["availabilityType"] == "ZONAL"
    assert settings(prod)["availabilityType"] == "REGIONAL"


def test_backups_with_point_in_time_recovery_within_the_editions_limits(dev: Plan, prod: Plan) -> None:
    for plan, days, logs in ((dev, 7, 7), (prod, 30, 7)):
        backup = settings(plan)["backupConfiguration"]
        assert backup == {
            "enabled": True,
            "pointInTimeRecoveryEnabled": True,
            "transactionLogRetentionDays": logs,  # Enterprise edition keeps 1 to 7 days of logs
            "backupRetentionSettings": {"retainedBackups": days, "retentionUnit": "COUNT"},
        }
    short = settings(db_plan(backup_days=3))["backupConfiguration"]
    assert short["transactionLogRetentionDays"] == 3 and short["backupRetentionSettings"]["retainedBackups"] == 3


def test_disk_is_ssd_of_the_asked_size_and_grows_by_itself(dev: Plan, prod: Plan) -> None:
    for plan, size in ((dev, 20), (prod, 100)):
        assert settings(plan)["diskType"] == "PD_SSD"
        assert settings(plan)["diskSize"] == size
        assert settings(plan)["diskAutoresize"] is True


def test_deletion_is_guarded_in_prod_on_every_level_and_allowed_in_dev(dev: Plan, prod: Plan) -> None:
    server = instance(prod)
    assert server.protect and server.retain_on_delete
    assert server.inputs["deletionProtection"] is True  # the provider's guard
    assert settings(prod)["deletionProtectionEnabled"] is True  # the API's guard
    assert settings(prod)["retainBackupsOnDelete"] is True
    assert only(prod, CONNECTION).inputs["deletionPolicy"] == "ABANDON"  # the kept server stays reachable
    assert only(prod, ADDRESS).inputs["deletionPolicy"] == "ABANDON"

    server = instance(dev)
    assert not server.protect and not server.retain_on_delete
    assert server.inputs["deletionProtection"] is False  # the provider defaults to true: dev says false
    assert settings(dev)["deletionProtectionEnabled"] is False
    assert only(dev, CONNECTION).inputs["deletionPolicy"] == "REMOVE_PEERING"  # so the VPC can go too
    assert only(dev, ADDRESS).inputs["deletionPolicy"] == "DELETE"


def test_database_and_user_live_on_the_server(plan: Plan) -> None:
    server = instance(plan).urn
    database, user = only(plan, DATABASE), only(plan, USER)
    assert database.inputs["name"] == "metadata" and user.inputs["name"] == "platform"
    assert database.inputs["instance"] == user.inputs["instance"]
    assert database.inputs["instance"].startswith("meta-")  # the server's generated name
    assert server in database.dependencies and server in user.dependencies
    # Postgres will not drop a role that owns tables; the server's deletion removes both.
    assert database.inputs["deletionPolicy"] == user.inputs["deletionPolicy"] == "ABANDON"


def test_the_password_is_long_url_safe_and_secret_in_the_plan(plan: Plan) -> None:
    password = only(plan, PASSWORD)
    assert password.inputs["length"] >= 32
    assert password.inputs["special"] is True
    assert set(password.inputs["overrideSpecial"]) <= URL_UNRESERVED
    assert only(plan, USER).inputs["password"] == "[secret]"
    assert only(plan, USER).urn not in password.dependencies and password.urn in only(plan, USER).dependencies


def test_the_password_never_appears_in_clear_in_the_plan_or_the_outputs(plan: Plan) -> None:
    secret = mock_password(plan)
    assert len(secret) >= 32
    assert secret not in json.dumps(plan.to_json())
    assert plan.outputs["connectionString"] == "[secret]"


def test_the_leak_check_looks_for_the_value_the_program_really_used(revealed: Plan) -> None:
    """The unsecreted connection string carries exactly the mock password, so the check above is sound."""
    text = revealed.outputs["connectionText"]
    secret = mock_password(revealed)
    host = revealed.outputs["host"]
    assert (
        text
        == f"postgresql://platform:{secret}@{host}:5432/metadata?sslmode=verify-full&sslrootcert=/etc/mlplatform/database-ca.pem"
    )


def test_clients_verify_the_server_against_the_instance_s_own_ca(plan: Plan) -> None:
    """verify-full checks the host name, which Cloud SQL's shared CA puts in its server certificates; the
    bundle clients trust is the one the instance reports (the mock's placeholder PEM), not a rebuilt one."""
    settings = only(plan, INSTANCE).inputs["settings"]["ipConfiguration"]
    assert settings["serverCaMode"] == "GOOGLE_MANAGED_CAS_CA" and settings["sslMode"] == "ENCRYPTED_ONLY"
    bundle = plan.outputs["caBundle"]
    assert bundle.startswith("-----BEGIN CERTIFICATE-----\n") and bundle.endswith("-----END CERTIFICATE-----\n")


def test_outputs_name_the_private_host_port_and_database(plan: Plan) -> None:
    assert re.fullmatch(r"10\.\d+\.\d+\.\d+", plan.outputs["host"])  # the private address, not a secret
    assert plan.outputs["port"] == 5432
    assert plan.outputs["database"] == "metadata"


def test_every_cloud_resource_is_a_child_on_the_targets_provider(plan: Plan) -> None:
    component = only(plan, "mlplatform:database:MetadataDb")
    provider = only(plan, "pulumi:providers:gcp")
    mine = [r for r in plan.resources if r.parent == component.urn]
    assert {r.type for r in mine} == {ADDRESS, CONNECTION, INSTANCE, DATABASE, USER, PASSWORD}
    for resource in mine:
        if resource.type.startswith("gcp:"):
            assert resource.provider == provider.urn, resource.urn
            assert resource.inputs.get("project", PROJECT) == PROJECT
            assert "labels" not in resource.inputs  # required labels come from the provider's default_labels


def test_the_server_carries_the_required_labels_in_its_user_labels() -> None:
    """A DatabaseInstance has no top-level labels, so the provider's default labels never reach it:
    the required tags arrive in settings.userLabels, in GCP's label spelling."""
    tags = {"project": "mlplatform", "environment": "prod", "owner": "ML Platform", "cost-center": "ml.serving"}
    labels = settings(db_plan(tags={**tags, "managed-by": "pulumi"}))["userLabels"]
    assert labels == {
        "project": "mlplatform",
        "environment": "prod",
        "owner": "ml_platform",
        "cost-center": "ml_serving",
        "managed-by": "pulumi",
    }


def test_maintenance_hour_only_when_asked(dev: Plan) -> None:
    """Cloud SQL's weekly hour: the window's first day (Saturday is 6, Monday first) at its opening hour."""
    assert "maintenanceWindow" not in settings(dev)
    weekend = MaintenanceWindow(days=("SA", "SU"), start_hour=2, hours=8)
    window = settings(db_plan(maintenance_window=weekend))["maintenanceWindow"]
    assert window == {"day": 6, "hour": 2, "updateTrack": "stable"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"version": "13"}, "not offered for new servers"),
        ({"tier": "db-n1-standard-2"}, "not a supported Cloud SQL tier"),
        ({"tier": "db-g1-small", "high_availability": True}, "not offered highly available"),
        ({"backup_days": 0}, "backup_days must be between 1 and 365"),
        ({"backup_days": 366}, "backup_days must be between 1 and 365"),
        ({"storage_gb": 5}, "storage_gb must be at least 10"),
        ({"project": None}, "needs the target's gcp_project"),
    ],
)
def test_what_cloud_sql_would_refuse_is_refused_before_planning(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ProgramError, match=message):
        db_plan(**overrides)


def test_offers_are_consistent() -> None:
    assert set(offers_gcp.DEFAULT_TIERS) == {"dev", "prod"}
    assert set(offers_gcp.DEFAULT_TIERS.values()) <= set(offers_gcp.TIERS)
    assert all(offers_gcp.supports_ha(tier) for tier in offers_gcp.DEFAULT_TIERS.values())
    assert not offers_gcp.supports_ha("db-f1-micro") and not offers_gcp.supports_ha("db-unknown")
    assert offers_gcp.BACKUP_DAYS == (1, 365)
    assert {"16", "17"} <= offers_gcp.VERSIONS and "13" not in offers_gcp.VERSIONS
    assert offers_gcp.SOURCES and all(source.startswith("https://") for source in offers_gcp.SOURCES)


@pytest.mark.parametrize("tier", [t for t in offers_gcp.TIERS if t.startswith("db-custom-")])
def test_custom_tiers_follow_cloud_sqls_rules(tier: str) -> None:
    """1 or an even number of vCPUs; 0.9 to 6.5 GB per vCPU, a multiple of 256 MB, at least 3.75 GB."""
    cpus, mib = map(int, tier.removeprefix("db-custom-").split("-"))
    assert cpus == 1 or (cpus % 2 == 0 and cpus <= 96)
    assert mib % 256 == 0 and mib >= 3840
    assert 0.9 * 1024 <= mib / cpus <= 6.5 * 1024
    assert offers_gcp.TIERS[tier].startswith(f"{cpus} vCPU, ")


def test_offers_import_no_sdk() -> None:
    """The stack config reads it before any provider exists."""
    tree = ast.parse(inspect.getsource(offers_gcp))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__"}
