"""RDS for PostgreSQL implementation: private, encrypted, TLS-only, reachable from the cluster's nodes only.

Choices the contract leaves to each cloud:
- The password is a pulumi_random password, not RDS-managed (Secrets Manager): the contract's
  connection string must carry it, and with a managed secret the program would have to read the
  secret's value back (a data source per run, and the password in state all the same). It stays
  a Pulumi secret from end to end; its alphabet (letters, digits, `-_.~`) is both accepted by RDS
  and unreserved in URLs, so the connection string needs no escaping.
- IAM database authentication is on as well, so workloads can use IRSA tokens instead.
- The database sits in the cluster's private subnets; its security group admits 5432 from the
  EKS node security group only (pods on the VPC CNI use their node's security groups) and has
  no egress rule at all.
- The engine version is the major only ("16"): with automatic minor upgrades RDS takes the
  default minor and keeps it current; a major upgrade happens only when the config changes it.
- Highly available (prod) servers also grow their storage by themselves up to
  STORAGE_GROWTH x the allocated size, send the PostgreSQL and upgrade logs to CloudWatch Logs,
  and report OS metrics every minute (enhanced monitoring, through a role RDS assumes).
- A protected server's final snapshot is named with a random suffix made once per server, so a
  second server of the same name (after a destroy and a new `up`) never meets the first one's
  snapshot on its own destroy (RDS refuses a snapshot name that exists: DBSnapshotAlreadyExists).
"""

from __future__ import annotations

import json
import re

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.metadata_db import offers_aws as offers
from components.metadata_db.contract import DatabaseOutputs, MetadataDbArgs, connection_string

ENGINE = "postgres"
PORT = 5432
STORAGE_TYPE = "gp3"
# gp3 for RDS for PostgreSQL: 20 GiB to 64 TiB ("Amazon RDS DB instance storage", User Guide).
MIN_STORAGE_GB, MAX_STORAGE_GB = 20, 65536
# The current RDS CA (RSA 2048, SHA256) whose server certificates RDS rotates automatically
# ("Using SSL/TLS to encrypt a connection to a DB instance or cluster", User Guide).
CA_CERT = "rds-ca-rsa2048-g1"
# RDS publishes the CAs of each region as one PEM bundle; no API returns it, so the output is its address
# ("Certificate bundles by AWS Region", RDS User Guide, read 2026-12). The certificate names the
# instance's endpoint, which is the connection string's host: sslmode=verify-full holds.
CA_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/{region}/{region}-bundle.pem"
# Performance Insights' free retention; valid values are 7, 31 x months and 731 (CreateDBInstance).
# Its console becomes CloudWatch Database Insights (standard mode) in 2026; the API stays.
INSIGHTS_RETENTION_DAYS = 7
PASSWORD_LENGTH = 40  # RDS for PostgreSQL takes 8 to 128 characters
# Unreserved in URLs (RFC 3986) and none of the characters RDS refuses (/ " @ and space).
PASSWORD_SPECIALS = "-_.~"
# Database and master user names: a letter, then letters, digits or underscores, at most 63.
_PG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
# Pulumi names the instance `<name>-<7 hex>`; RDS identifiers are letters, digits and single
# hyphens, start with a letter and have at most 63 characters.
_IDENTIFIER_PREFIX = re.compile(r"^[a-z](?:-?[a-z0-9])*$")
MAX_IDENTIFIER_PREFIX = 63 - 8
# Storage autoscaling's ceiling as a multiple of the allocated size: a full disk stops PostgreSQL,
# and RDS bills only what it has grown to ("Managing capacity automatically with Amazon RDS
# storage autoscaling", User Guide; the ceiling must be at least 10 % above the allocation).
STORAGE_GROWTH = 4
# CloudWatch Logs exports RDS for PostgreSQL offers (CreateDBInstance EnableCloudwatchLogsExports).
LOG_EXPORTS = ("postgresql", "upgrade")
# Enhanced monitoring every 60 s (valid: 0, 1, 5, 10, 15, 30, 60); the role RDS assumes to publish
# it carries the AWS managed policy AmazonRDSEnhancedMonitoringRole ("Setting up and enabling
# Enhanced Monitoring", RDS User Guide; read 2026-12).
MONITORING_INTERVAL = 60
MONITORING_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"


def build(parent: pulumi.ComponentResource, name: str, args: MetadataDbArgs) -> DatabaseOutputs:
    tier = _validate(name, args)
    opts = args.target.child_options(parent)

    subnets = aws.rds.SubnetGroup(
        f"{name}-subnets",
        description=f"Private subnets of the metadata database {name}",
        subnet_ids=args.network.private_subnet_ids,
        opts=opts,
    )
    firewall = _security_group(name, args, opts)
    parameters = aws.rds.ParameterGroup(
        f"{name}-params",
        family=f"{ENGINE}{args.version}",
        description=f"TLS-only connections to the metadata database {name}",
        # 1 is already the default from PostgreSQL 15 on; set for every version so 14 is TLS-only too.
        parameters=[{"name": "rds.force_ssl", "value": "1", "apply_method": "pending-reboot"}],
        opts=opts,
    )
    password = random.RandomPassword(
        f"{name}-password",
        length=PASSWORD_LENGTH,
        special=True,
        override_special=PASSWORD_SPECIALS,
        # Not the target's provider: that one is for aws resources, and the SDK refuses it here.
        opts=pulumi.ResourceOptions(parent=parent),
    )
    server = _instance(parent, name, args, tier, subnets, firewall, parameters, password)

    url = connection_string(server.username, password.result, server.address, server.port, server.db_name)
    return DatabaseOutputs(
        host=server.address,
        port=server.port,
        database=server.db_name,
        connection_string=url,
        ca_bundle=pulumi.Output.from_input(CA_BUNDLE_URL.format(region=args.target.region)),
    )


def _validate(name: str, args: MetadataDbArgs) -> str:
    """Fails before anything is registered; returns the instance class to use."""
    tier = args.tier or offers.DEFAULT_TIERS["dev"]
    if tier not in offers.TIERS:
        raise ValueError(f"RDS instance class {tier!r} is not offered here; known: {', '.join(offers.TIERS)}")
    if args.version not in offers.VERSIONS:
        raise ValueError(f"PostgreSQL {args.version!r} is not offered on RDS; known: {sorted(offers.VERSIONS)}")
    low, high = offers.BACKUP_DAYS
    if not low <= args.backup_days <= high:
        raise ValueError(f"backup_days must be {low} to {high} on RDS, got {args.backup_days}")
    if not MIN_STORAGE_GB <= args.storage_gb <= MAX_STORAGE_GB:
        raise ValueError(f"gp3 storage must be {MIN_STORAGE_GB} to {MAX_STORAGE_GB} GiB, got {args.storage_gb}")
    if args.high_availability and not offers.supports_ha(tier):
        raise ValueError(f"{tier} cannot be Multi-AZ")
    for field, value in (("database_name", args.database_name), ("admin_user", args.admin_user)):
        if not _PG_NAME.match(value):
            raise ValueError(f"{field} {value!r}: a letter, then letters, digits or '_', at most 63")
    if args.network.node_security_group_id is None:
        raise ValueError("an RDS database needs the cluster's node security group (ClusterNetwork)")
    if not _IDENTIFIER_PREFIX.match(name) or len(name) > MAX_IDENTIFIER_PREFIX:
        raise ValueError(f"{name!r} cannot start an RDS identifier: lowercase letters, digits, single '-'")
    return tier


def _security_group(name: str, args: MetadataDbArgs, opts: pulumi.ResourceOptions) -> aws.ec2.SecurityGroup:
    """PostgreSQL from the cluster's nodes, nothing else; no egress (the database opens no connections)."""
    group = aws.ec2.SecurityGroup(
        f"{name}-db",
        # EC2 allows only a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$* here.
        description=f"PostgreSQL {name}: port {PORT} from the cluster nodes only",
        vpc_id=args.network.network_id,
        opts=opts,
    )
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-from-nodes",
        security_group_id=group.id,
        referenced_security_group_id=args.network.node_security_group_id,
        ip_protocol="tcp",
        from_port=PORT,
        to_port=PORT,
        description="PostgreSQL from the EKS nodes and their pods",
        opts=opts,
    )
    return group


def _instance(
    parent: pulumi.ComponentResource,
    name: str,
    args: MetadataDbArgs,
    tier: str,
    subnets: aws.rds.SubnetGroup,
    firewall: aws.ec2.SecurityGroup,
    parameters: aws.rds.ParameterGroup,
    password: random.RandomPassword,
) -> aws.rds.Instance:
    protected = args.deletion_protection
    prod = args.high_availability
    monitoring_role = _monitoring_role(parent, name, args) if prod else None
    final_snapshot = _final_snapshot_name(parent, name) if protected else None
    return aws.rds.Instance(
        name,
        engine=ENGINE,
        engine_version=args.version,
        allow_major_version_upgrade=True,  # only a config change asks for one
        auto_minor_version_upgrade=True,
        instance_class=tier,
        allocated_storage=args.storage_gb,
        max_allocated_storage=min(args.storage_gb * STORAGE_GROWTH, MAX_STORAGE_GB) if prod else None,
        storage_type=STORAGE_TYPE,
        storage_encrypted=True,  # with the account's aws/rds key, or the server's own (customer_managed_key)
        kms_key_id=_storage_key(parent, name, args).arn if args.customer_managed_key else None,
        db_name=args.database_name,
        username=args.admin_user,
        password=password.result,
        iam_database_authentication_enabled=True,
        port=PORT,
        db_subnet_group_name=subnets.name,
        vpc_security_group_ids=[firewall.id],
        publicly_accessible=False,
        parameter_group_name=parameters.name,
        ca_cert_identifier=CA_CERT,
        multi_az=args.high_availability,
        performance_insights_enabled=args.high_availability,
        performance_insights_retention_period=INSIGHTS_RETENTION_DAYS if args.high_availability else None,
        enabled_cloudwatch_logs_exports=list(LOG_EXPORTS) if prod else None,
        monitoring_interval=MONITORING_INTERVAL if prod else 0,
        monitoring_role_arn=monitoring_role,
        backup_retention_period=args.backup_days,
        copy_tags_to_snapshot=True,
        deletion_protection=protected,
        # A protected database leaves a final snapshot and its automated backups when deleted.
        skip_final_snapshot=not protected,
        final_snapshot_identifier=final_snapshot,
        delete_automated_backups=not protected,
        opts=args.target.child_options(parent, keep=protected),
    )


def _storage_key(parent: pulumi.ComponentResource, name: str, args: MetadataDbArgs) -> aws.kms.Key:
    """The server's own storage key. KMS's default key policy (the account's IAM policies decide): RDS uses the
    key through grants it makes with the creating principal's kms:CreateGrant ("Amazon RDS encryption",
    RDS User Guide, read 2026-12). Its snapshots and automated backups need it too: kept with the server."""
    return aws.kms.Key(
        f"{name}-storage-key",
        description=f"Storage encryption of the metadata database {name}",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        opts=args.target.child_options(parent, keep=args.deletion_protection),
    )


def _monitoring_role(parent: pulumi.ComponentResource, name: str, args: MetadataDbArgs) -> pulumi.Output[str]:
    """The role RDS assumes to publish enhanced monitoring; its ARN once the policy is attached."""
    opts = args.target.child_options(parent)
    role = aws.iam.Role(
        f"{name}-monitoring",
        description=f"RDS enhanced monitoring of the metadata database {name}",
        assume_role_policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "monitoring.rds.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
        opts=opts,
    )
    attachment = aws.iam.RolePolicyAttachment(
        f"{name}-monitoring", role=role.name, policy_arn=MONITORING_POLICY, opts=opts
    )
    return pulumi.Output.all(role.arn, attachment.id).apply(lambda v: str(v[0]))


def _final_snapshot_name(parent: pulumi.ComponentResource, name: str) -> pulumi.Output[str]:
    """`<project>-<stack>-<name>-final-<8 hex>`: the suffix is made with the server and lives as long."""
    suffix = random.RandomId(f"{name}-final-snapshot", byte_length=4, opts=pulumi.ResourceOptions(parent=parent))
    return suffix.hex.apply(lambda hex_suffix: f"{final_snapshot_identifier(name)}-{hex_suffix}")


def final_snapshot_identifier(name: str) -> str:
    """`<project>-<stack>-<name>-final`, the final snapshot's name before its random suffix: unique
    per account and region across this project's stacks.

    Snapshot identifiers are letters, digits and single hyphens and start with a letter.
    """
    raw = f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}-final".lower()
    identifier = re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", raw)).strip("-")
    if not identifier[:1].isalpha():
        identifier = f"db-{identifier}"
    return identifier[: 255 - 9].rstrip("-")  # room for the random suffix
