"""MetadataDB on AWS: RDS for PostgreSQL in the cluster's private subnets, TLS-only, its password never in clear."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.gpu_cluster.contract import ClusterNetwork
from components.metadata_db import MetadataDb, MetadataDbArgs, offers_aws
from components.metadata_db.aws import final_snapshot_identifier
from components.target import Target
from preflight.plan import Plan
from preflight.synthesize import ProgramError
from tests.helpers import mock_passwords, only, program_plan

INSTANCE = "aws:rds/instance:Instance"
PASSWORD = "random:index/randomPassword:RandomPassword"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
VPC = "vpc-0123456789abcdef0"
SUBNETS = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
NODE_SG = "sg-0123456789abcdef0"
URL_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~")


def db_plan(node_security_group: bool = True, **args: Any) -> Plan:
    """One MetadataDb on an AWS target beside a cluster network, built through the public API."""

    def program() -> None:
        target = Target("t", "aws", "us-east-1", aws.Provider("t", region="us-east-1"))
        network = ClusterNetwork(
            network_id=pulumi.Output.from_input(VPC),
            private_subnet_ids=pulumi.Output.from_input(SUBNETS),
            node_security_group_id=pulumi.Output.from_input(NODE_SG) if node_security_group else None,
        )
        db = MetadataDb("meta", MetadataDbArgs(target=target, network=network, **args))
        pulumi.export("host", db.host)
        pulumi.export("port", db.port)
        pulumi.export("database", db.database)
        pulumi.export("connectionString", db.connection_string)
        pulumi.export("caBundle", db.ca_bundle)
        pulumi.export("tlsParameters", pulumi.Output.unsecret(db.connection_string).apply(lambda u: u.split("?")[1]))
        # A digest of the password the program really used, to prove the leak check's value right.
        password = pulumi.Output.unsecret(db.connection_string).apply(lambda url: url.split(":")[2].split("@")[0])
        pulumi.export("passwordDigest", password.apply(lambda p: hashlib.sha256(p.encode()).hexdigest()))

    return program_plan(program)


@pytest.fixture(scope="module")
def dev() -> Plan:
    return db_plan()


@pytest.fixture(scope="module")
def prod() -> Plan:
    return db_plan(
        version="17",
        tier="db.m7g.large",
        storage_gb=100,
        backup_days=14,
        high_availability=True,
        deletion_protection=True,
    )


@pytest.fixture(scope="module", params=["dev", "prod"])
def plan(request: pytest.FixtureRequest, dev: Plan, prod: Plan) -> Plan:
    return dev if request.param == "dev" else prod


def mock_password(plan: Plan) -> str:
    (password,) = mock_passwords(plan)
    return password


# --- the password -------------------------------------------------------------------------


def test_the_password_never_appears_in_clear(plan: Plan) -> None:
    password = mock_password(plan)
    assert plan.outputs["passwordDigest"] == hashlib.sha256(password.encode()).hexdigest()  # the real one
    assert password not in json.dumps(plan.to_json())
    assert only(plan, INSTANCE).inputs["password"] == "[secret]"
    assert plan.outputs["connectionString"] == "[secret]"


def test_the_password_is_long_and_safe_in_a_url(dev: Plan) -> None:
    password = only(dev, PASSWORD).inputs
    assert password["length"] >= 32
    assert password["special"] is True
    assert set(password["overrideSpecial"]) <= URL_SAFE


def test_outputs_name_the_endpoint(dev: Plan) -> None:
    assert dev.outputs["host"].endswith(".us-east-1.rds.amazonaws.com")
    assert dev.outputs["host"].startswith("meta-")
    assert dev.outputs["port"] == 5432
    assert dev.outputs["database"] == "metadata"


# --- the server -----------------------------------------------------------------------------


def test_the_server_is_private_encrypted_and_tls_only(plan: Plan) -> None:
    server = only(plan, INSTANCE).inputs
    assert server["engine"] == "postgres"
    assert server["publiclyAccessible"] is False
    assert server["storageEncrypted"] is True
    assert server["storageType"] == "gp3"
    assert server["iamDatabaseAuthenticationEnabled"] is True
    assert server["caCertIdentifier"] == "rds-ca-rsa2048-g1"
    assert server["autoMinorVersionUpgrade"] is True
    assert server["copyTagsToSnapshot"] is True
    (parameters,) = plan.of_type("aws:rds/parameterGroup:ParameterGroup")
    assert parameters.inputs["parameters"] == [{"name": "rds.force_ssl", "value": "1", "applyMethod": "pending-reboot"}]
    assert server["parameterGroupName"].startswith("meta-params-")


def test_engine_version_is_the_major_and_the_parameter_family_follows_it(dev: Plan, prod: Plan) -> None:
    for plan, version in ((dev, "16"), (prod, "17")):
        assert only(plan, INSTANCE).inputs["engineVersion"] == version
        assert only(plan, "aws:rds/parameterGroup:ParameterGroup").inputs["family"] == f"postgres{version}"


def test_dev_is_cheap_and_disposable_prod_is_ha_protected_and_kept(dev: Plan, prod: Plan) -> None:
    d, p = only(dev, INSTANCE), only(prod, INSTANCE)
    assert (d.inputs["instanceClass"], p.inputs["instanceClass"]) == ("db.t4g.micro", "db.m7g.large")
    assert (d.inputs["allocatedStorage"], p.inputs["allocatedStorage"]) == (20, 100)
    assert (d.inputs["multiAz"], p.inputs["multiAz"]) == (False, True)
    assert (d.inputs["backupRetentionPeriod"], p.inputs["backupRetentionPeriod"]) == (7, 14)
    assert (d.inputs["deletionProtection"], p.inputs["deletionProtection"]) == (False, True)
    assert d.inputs["skipFinalSnapshot"] is True and "finalSnapshotIdentifier" not in d.inputs
    assert p.inputs["skipFinalSnapshot"] is False
    assert (d.inputs["deleteAutomatedBackups"], p.inputs["deleteAutomatedBackups"]) == (True, False)
    assert d.inputs["performanceInsightsEnabled"] is False
    assert p.inputs["performanceInsightsEnabled"] is True
    assert p.inputs["performanceInsightsRetentionPeriod"] == 7
    assert not (d.protect or d.retain_on_delete)
    assert p.protect and p.retain_on_delete


def test_a_second_destroy_never_meets_the_first_ones_final_snapshot(prod: Plan) -> None:
    # The name carries a suffix made once per server (RandomId, 4 bytes: 8 hex digits): a server made
    # again under the same name after a destroy gets a new suffix, so its final snapshot is new too.
    name = only(prod, INSTANCE).inputs["finalSnapshotIdentifier"]
    assert re.fullmatch(r"mlplatform-test-meta-final-[0-9a-f]{8}", name), name
    suffix = only(prod, "random:index/randomId:RandomId")
    assert suffix.inputs["byteLength"] == 4 and suffix.urn in only(prod, INSTANCE).dependencies


def test_prod_storage_grows_by_itself_logs_go_to_cloudwatch_and_the_os_is_monitored(dev: Plan, prod: Plan) -> None:
    p = only(prod, INSTANCE).inputs
    assert p["maxAllocatedStorage"] == 400  # 4 x the 100 GiB allocated
    assert p["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert p["monitoringInterval"] == 60
    role = next(r for r in prod.of_type("aws:iam/role:Role") if r.name == "meta-monitoring")
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    (attached,) = prod.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attached.inputs["policyArn"] == "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    assert p["monitoringRoleArn"].startswith("arn:aws:iam::123456789012:role/meta-monitoring")
    assert attached.urn in only(prod, INSTANCE).dependencies  # the role can publish before RDS uses it

    d = only(dev, INSTANCE).inputs
    assert "maxAllocatedStorage" not in d and not d.get("enabledCloudwatchLogsExports")
    assert d["monitoringInterval"] == 0 and "monitoringRoleArn" not in d


# --- the network ----------------------------------------------------------------------------


def test_the_server_lives_in_the_clusters_private_subnets(plan: Plan) -> None:
    subnets = only(plan, "aws:rds/subnetGroup:SubnetGroup")
    assert subnets.inputs["subnetIds"] == SUBNETS
    assert only(plan, INSTANCE).inputs["dbSubnetGroupName"].startswith("meta-subnets-")


def test_only_the_clusters_nodes_reach_5432_and_nothing_leaves(plan: Plan) -> None:
    group = only(plan, SECURITY_GROUP)
    assert group.inputs["vpcId"] == VPC
    assert not group.inputs.get("ingress") and not group.inputs.get("egress")
    (rule,) = plan.of_type(INGRESS)
    assert rule.inputs["referencedSecurityGroupId"] == NODE_SG
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 5432, 5432)
    assert "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs
    (security_group_id,) = only(plan, INSTANCE).inputs["vpcSecurityGroupIds"]
    assert security_group_id == rule.inputs["securityGroupId"]
    assert security_group_id.startswith("sg-")


def test_every_child_is_parented_here_and_made_with_the_targets_provider(dev: Plan) -> None:
    component = only(dev, "mlplatform:database:MetadataDb")
    provider = only(dev, "pulumi:providers:aws")
    children = [r for r in dev.resources if r.parent == component.urn]
    assert {r.type for r in children} == {
        INSTANCE,
        PASSWORD,
        SECURITY_GROUP,
        INGRESS,
        "aws:rds/subnetGroup:SubnetGroup",
        "aws:rds/parameterGroup:ParameterGroup",
    }
    for child in children:
        if child.type.startswith("aws:"):
            assert child.provider == provider.urn, child.urn


# --- offers and refusals -------------------------------------------------------------------


def test_offers_are_consistent() -> None:
    assert set(offers_aws.DEFAULT_TIERS) == {"dev", "prod"}
    assert set(offers_aws.DEFAULT_TIERS.values()) <= set(offers_aws.TIERS)
    assert all(offers_aws.supports_ha(tier) for tier in offers_aws.TIERS)
    assert not offers_aws.supports_ha("db.x1.huge")
    assert offers_aws.BACKUP_DAYS == (1, 35)
    assert "16" in offers_aws.VERSIONS and "13" not in offers_aws.VERSIONS
    assert all(source.startswith("https://docs.aws.amazon.com/") for source in offers_aws.SOURCES)


def test_final_snapshot_identifiers_are_valid_rds_identifiers() -> None:
    def program() -> None:
        pulumi.export("id", final_snapshot_identifier("a--b_c"))

    assert program_plan(program, stack="Team.Dev").outputs["id"] == "mlplatform-team-dev-a-b-c-final"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"version": "13"}, "PostgreSQL '13'"),
        ({"tier": "db.t2.micro"}, "instance class"),
        ({"backup_days": 0}, "backup_days"),
        ({"backup_days": 36}, "backup_days"),
        ({"storage_gb": 10}, "gp3 storage"),
        ({"admin_user": "plat form"}, "admin_user"),
    ],
)
def test_settings_rds_would_refuse_are_refused_before_anything_is_made(args: dict[str, Any], message: str) -> None:
    with pytest.raises(ProgramError, match=message):
        db_plan(**args)


def test_a_network_without_the_node_security_group_is_refused() -> None:
    with pytest.raises(ProgramError, match="node security group"):
        db_plan(node_security_group=False)


def test_clients_verify_the_endpoint_against_the_region_s_rds_bundle(plan: Plan) -> None:
    """The RDS CA bundle for us-east-1 ("Certificate bundles by AWS Region", RDS User Guide)."""
    assert plan.outputs["tlsParameters"] == "sslmode=verify-full&sslrootcert=/etc/mlplatform/database-ca.pem"
    assert plan.outputs["caBundle"] == "https://truststore.pki.rds.amazonaws.com/us-east-1/us-east-1-bundle.pem"
