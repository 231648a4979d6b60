"""MetadataDB on Azure: a private PostgreSQL flexible server in the cluster's delegated subnet."""

from __future__ import annotations

import ast
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pulumi
import pulumi_azure_native as azure_native
import pytest
from pulumi_azure_native import resources

from components.gpu_cluster.contract import ClusterNetwork
from components.metadata_db import MetadataDb, MetadataDbArgs, offers_azure
from components.target import Target
from preflight.plan import Plan
from preflight.synthesize import ProgramError
from stacks.regions import AZURE_REGIONS
from tests.helpers import mock_passwords, only, program_plan

SERVER = "azure-native:dbforpostgresql:Server"
DATABASE = "azure-native:dbforpostgresql:Database"
ZONE = "azure-native:privatedns:PrivateZone"
LINK = "azure-native:privatedns:VirtualNetworkLink"
LOCK = "azure-native:authorization:ManagementLockByScope"
PASSWORD = "random:index/randomPassword:RandomPassword"
GROUP = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg"
VNET = f"{GROUP}/providers/Microsoft.Network/virtualNetworks/mlp-vnet"
SUBNET = f"{VNET}/subnets/database"
_USERINFO = re.compile(r"^postgresql://([^:/@]+):([^@]+)@")


def dev_args(target: Target, network: ClusterNetwork) -> MetadataDbArgs:
    return MetadataDbArgs(target=target, network=network, tier="Standard_B1ms")


def prod_args(target: Target, network: ClusterNetwork) -> MetadataDbArgs:
    return MetadataDbArgs(
        target=target,
        network=network,
        tier="Standard_D2ds_v5",
        storage_gb=128,
        backup_days=35,
        high_availability=True,
        deletion_protection=True,
        geo_redundant_backup=True,
    )


def db_program(make_args: Any, region: str = "westeurope") -> Plan:
    """One MetadataDb on an Azure target, in a network shaped like the AKS cluster's."""

    def program() -> None:
        provider = azure_native.Provider("t", location=region)
        group = resources.ResourceGroup("rg", opts=pulumi.ResourceOptions(provider=provider))
        target = Target("t", "azure", region, provider, azure_resource_group=group.name)
        network = ClusterNetwork(
            network_id=pulumi.Output.from_input(VNET), private_subnet_ids=pulumi.Output.from_input([SUBNET])
        )
        db = MetadataDb("mlp-meta", make_args(target, network))
        pulumi.export("host", db.host)
        pulumi.export("port", db.port)
        pulumi.export("database", db.database)
        pulumi.export("connectionString", db.connection_string)
        pulumi.export("caBundle", db.ca_bundle)
        # What the connection string looks like, and a digest of its password, without the password.
        plain = pulumi.Output.unsecret(db.connection_string)
        pulumi.export("connectionShape", plain.apply(lambda s: _USERINFO.sub(r"postgresql://\1:PASSWORD@", s)))
        pulumi.export("passwordDigest", plain.apply(lambda s: _digest(_password_in(s))))

    return program_plan(program)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _password_in(connection_string: str) -> str:
    match = _USERINFO.match(connection_string)
    assert match, "not a postgresql://USER:PASSWORD@ URL"
    return match.group(2)


@pytest.fixture(scope="module")
def dev() -> Plan:
    return db_program(dev_args)


@pytest.fixture(scope="module")
def prod() -> Plan:
    return db_program(prod_args)


@pytest.fixture(scope="module", params=["dev", "prod"])
def plan(request: pytest.FixtureRequest, dev: Plan, prod: Plan) -> Plan:
    return dev if request.param == "dev" else prod


def server(plan: Plan) -> dict[str, Any]:
    return only(plan, SERVER).inputs


def mock_password(plan: Plan) -> str:
    (password,) = mock_passwords(plan)
    return password


def test_every_azure_child_is_parented_on_the_target_provider_in_the_resource_group(plan: Plan) -> None:
    component = only(plan, "mlplatform:database:MetadataDb")
    provider = only(plan, "pulumi:providers:azure-native")
    children = [r for r in plan.resources if r.parent == component.urn and r.type.startswith("azure-native:")]
    assert {SERVER, DATABASE, ZONE, LINK} <= {r.type for r in children}
    assert all(r.provider == provider.urn for r in children)
    grouped = [r for r in children if r.type != LOCK]  # the lock is scoped by id
    assert {r.inputs["resourceGroupName"] for r in grouped} == {server(plan)["resourceGroupName"]}
    assert server(plan)["resourceGroupName"].startswith("rg-")  # the target's group
    assert server(plan)["location"] == "westeurope"
    assert only(plan, ZONE).inputs["location"] == only(plan, LINK).inputs["location"] == "global"
    assert not any("tags" in r.inputs for r in children)  # the footprint's transform adds them


def test_server_has_private_access_only_in_the_delegated_subnet(plan: Plan) -> None:
    network = server(plan)["network"]
    assert network["delegatedSubnetResourceId"] == SUBNET
    assert network["publicNetworkAccess"] == "Disabled"
    zone = only(plan, ZONE)
    assert zone.inputs["privateZoneName"] == "mlp-meta.private.postgres.database.azure.com"
    assert network["privateDnsZoneArmResourceId"].endswith(
        "/privateDnsZones/mlp-meta.private.postgres.database.azure.com"
    )


def test_dns_zone_is_linked_to_the_cluster_vnet_before_the_server_exists(plan: Plan) -> None:
    link = only(plan, LINK)
    assert link.inputs["virtualNetwork"] == {"id": VNET}
    assert link.inputs["registrationEnabled"] is False
    assert link.inputs["privateZoneName"] == only(plan, ZONE).inputs["privateZoneName"]
    assert link.urn in only(plan, SERVER).dependencies


def test_server_name_is_global_and_derived_from_the_component_name(dev: Plan) -> None:
    name = server(dev)["serverName"]
    assert re.fullmatch(r"mlp-meta-[a-z0-9]{8}", name)
    assert server(db_program(dev_args))["serverName"] == name  # the same on every synthesis


def test_size_version_and_storage_follow_the_args(dev: Plan, prod: Plan) -> None:
    assert server(dev)["sku"] == {"name": "Standard_B1ms", "tier": "Burstable"}
    assert server(prod)["sku"] == {"name": "Standard_D2ds_v5", "tier": "GeneralPurpose"}
    assert server(dev)["version"] == server(prod)["version"] == "16"
    # 20 GiB is not a Premium SSD size: the next one up is.
    assert server(dev)["storage"] == {"storageSizeGB": 32, "type": "Premium_LRS", "autoGrow": "Disabled"}
    assert server(prod)["storage"]["storageSizeGB"] == 128


def test_backups_and_high_availability_follow_the_args(dev: Plan, prod: Plan) -> None:
    assert server(dev)["backup"] == {"backupRetentionDays": 7, "geoRedundantBackup": "Disabled"}
    assert server(prod)["backup"] == {"backupRetentionDays": 35, "geoRedundantBackup": "Enabled"}
    assert server(dev)["highAvailability"] == {"mode": "Disabled"}
    assert server(prod)["highAvailability"] == {"mode": "ZoneRedundant"}


def test_the_database_is_created_on_the_server(plan: Plan) -> None:
    database = only(plan, DATABASE).inputs
    assert database["databaseName"] == plan.outputs["database"] == "metadata"
    assert database["serverName"] == server(plan)["serverName"]
    assert (database["charset"], database["collation"]) == ("UTF8", "en_US.utf8")


def test_outputs_name_the_private_host_and_a_connection_string_that_verifies_it(plan: Plan) -> None:
    host = f"{server(plan)['serverName']}.postgres.database.azure.com"  # the name the server's certificate carries
    assert plan.outputs["host"] == host
    assert plan.outputs["port"] == 5432
    assert (
        plan.outputs["connectionShape"]
        == f"postgresql://platform:PASSWORD@{host}:5432/metadata?sslmode=verify-full&sslrootcert=/etc/mlplatform/database-ca.pem"
    )
    # The two roots Azure's PostgreSQL certificates chain to (Azure's "Secure connectivity with TLS" page).
    assert "DigiCertGlobalRootG2" in plan.outputs["caBundle"]
    assert "Microsoft%20RSA%20Root%20Certificate%20Authority%202017" in plan.outputs["caBundle"]


def test_admin_password_is_a_url_safe_secret_that_never_appears_in_the_plan(plan: Plan) -> None:
    generator = only(plan, PASSWORD).inputs
    assert generator["length"] >= 32
    assert set(generator["overrideSpecial"]) <= set("-_.~")  # RFC 3986 unreserved: no escaping in the URL
    assert server(plan)["administratorLogin"] == "platform"
    assert server(plan)["administratorLoginPassword"] == "[secret]"
    assert plan.outputs["connectionString"] == "[secret]"
    password = mock_password(plan)
    assert plan.outputs["passwordDigest"] == _digest(password)  # it is the password that flowed
    assert password not in json.dumps(plan.to_json())


def test_deletion_protection_locks_and_keeps_the_server_its_database_and_its_dns(dev: Plan, prod: Plan) -> None:
    kept = {r.type for r in prod.resources if r.protect and r.retain_on_delete}
    assert kept == {SERVER, DATABASE, ZONE, LINK}
    lock = only(prod, LOCK)
    assert lock.inputs["level"] == "CanNotDelete"
    assert lock.inputs["scope"].endswith(f"/flexibleServers/{server(prod)['serverName']}")
    assert not lock.protect  # turning protection off must be able to remove it
    assert not dev.of_type(LOCK)
    assert not any(r.protect or r.retain_on_delete for r in dev.resources)


def lock_role_from_ci_docs() -> dict[str, Any]:
    """The custom role docs/CI.md tells users to create for the deploy app (its heredoc JSON)."""
    text = (Path(__file__).parent.parent / "docs" / "CI.md").read_text()
    body = text.split("cat > mlplatform-locks.json <<'EOF'\n", 1)[1].split("\n    EOF\n", 1)[0]
    return dict(json.loads(body))


def test_the_deploy_identity_is_documented_with_the_rights_prod_locks_need(prod_plan: Plan) -> None:
    """Contributor cannot create locks (Microsoft.Authorization/*/Write is among its NotActions)."""
    assert prod_plan.of_type(LOCK)  # prod makes locks, so the deploy app needs the role
    role = lock_role_from_ci_docs()
    assert role["IsCustom"] is True
    assert {"Microsoft.Authorization/locks/write", "Microsoft.Authorization/locks/delete"} <= set(role["Actions"])
    assert all(action.startswith("Microsoft.Authorization/locks/") for action in role["Actions"])  # nothing else
    assert role["AssignableScopes"] == ["/subscriptions/SUBSCRIPTION_ID"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tier": "Standard_B1ms", "high_availability": True}, "Burstable, which has no high availability"),
        ({"version": "13"}, "not offered for new servers"),
        ({"backup_days": 40}, "backup_days must be 7..35"),
        ({"tier": "db-custom-1-3840"}, "not a flexible server size"),
        ({"admin_user": "admin"}, "admin_user 'admin' is reserved"),
        ({"admin_user": "pg_owner"}, "admin_user 'pg_owner' is reserved"),
        ({"database_name": "postgres"}, "database_name 'postgres' is reserved"),
        ({"storage_gb": 40000}, "storage_gb must be"),
    ],
)
def test_settings_the_service_would_refuse_fail_before_planning(changes: dict[str, Any], message: str) -> None:
    def broken(target: Target, network: ClusterNetwork) -> MetadataDbArgs:
        return MetadataDbArgs(**{"target": target, "network": network, "tier": "Standard_D2ds_v5", **changes})

    with pytest.raises(ProgramError, match=message):
        db_program(broken)


def test_geo_backup_with_zone_ha_is_refused_where_the_region_lacks_the_pair() -> None:
    with pytest.raises(ProgramError, match="westus3 does not offer zone-redundant HA with geo-redundant backup"):
        db_program(prod_args, region="westus3")  # zone-redundant HA, but no geo-redundant backup


def test_offers_are_plain_data_with_consistent_defaults() -> None:
    source = Path(offers_azure.__file__).read_text()
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported == {"__future__"}
    assert set(offers_azure.DEFAULT_TIERS) == {"dev", "prod"}
    assert set(offers_azure.DEFAULT_TIERS.values()) <= set(offers_azure.TIERS)
    assert not offers_azure.supports_ha(offers_azure.DEFAULT_TIERS["dev"])
    assert offers_azure.supports_ha(offers_azure.DEFAULT_TIERS["prod"])
    assert offers_azure.BACKUP_DAYS == (7, 35)
    assert {"14", "15", "16", "17"} == offers_azure.VERSIONS
    assert offers_azure.GEO_BACKUP_WITH_ZONE_HA_REGIONS <= AZURE_REGIONS
    assert {"westeurope", "eastus"} <= offers_azure.GEO_BACKUP_WITH_ZONE_HA_REGIONS
    assert all(page.startswith("https://learn.microsoft.com/") for page in offers_azure.SOURCES)
