"""AWS account-level choices in the stack config: who reaches the EKS clusters, and ECR scanning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.gpu_cluster.contract import ClusterAccess
from preflight.stack_files import engine_string
from stacks.config import ConfigError, parse_stack_config

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = "arn:aws:iam::111122223333:role/mlplatform-deploy"
PREVIEW = "arn:aws:iam::111122223333:role/mlplatform-preview"
ONCALL = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_OnCall_0123456789abcdef"
DEV: dict[str, Any] = {
    "environment": "dev",
    "owner": "ml-platform",
    "costCenter": "ml-research",
    "targets": [{"cloud": "aws", "region": "us-east-1"}],
}


def parse(**changes: Any) -> Any:
    values = {**DEV, **changes}
    return parse_stack_config({f"mlplatform:{k}": engine_string(v) for k, v in values.items()}, "test")


def test_every_role_but_the_clusters_creator_gets_an_access_entry() -> None:
    # EKS makes the creator (the deploy role by default) admin by itself, and pulumi-eks always asks
    # it to; a second entry for the same role fails with ResourceInUseException.
    access = parse(eksAccess={"deployRole": DEPLOY, "previewRole": PREVIEW, "operatorRoles": [ONCALL]}).eks_access
    assert access == (ClusterAccess("preview", PREVIEW, admin=False), ClusterAccess("operator-1", ONCALL, admin=True))


def test_when_an_operator_creates_the_clusters_the_deploy_role_gets_its_entry() -> None:
    config = parse(
        eksAccess={"deployRole": DEPLOY, "previewRole": PREVIEW, "operatorRoles": [ONCALL], "creator": ONCALL}
    )
    assert config.eks_access == (
        ClusterAccess("deploy", DEPLOY, admin=True),
        ClusterAccess("preview", PREVIEW, admin=False),
    )


def test_the_prod_stack_file_names_the_workflows_roles() -> None:
    document = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]
    config = parse_stack_config({k: engine_string(v) for k, v in document.items()}, "prod")
    assert [entry.name for entry in config.eks_access] == ["preview"]  # the deploy role creates the clusters
    assert document["mlplatform:eksAccess"]["deployRole"].endswith(":role/mlplatform-deploy")


@pytest.mark.parametrize(
    ("access", "key", "message"),
    [
        ({"deployRole": "mlplatform-deploy"}, "eksAccess.deployRole", "not an IAM role ARN"),
        ({"deployRole": DEPLOY, "previewRole": DEPLOY}, "eksAccess", "both deploy and preview"),
        ({"deployRole": DEPLOY, "creator": PREVIEW}, "eksAccess.creator", "must be deploy or one of operatorRoles"),
        ({"deployRole": DEPLOY, "readers": [PREVIEW]}, "eksAccess.readers", "unknown"),
    ],
)
def test_bad_access_config_names_its_key(access: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        parse(eksAccess=access)
    assert raised.value.key == f"mlplatform:{key}"


def test_prod_with_an_aws_target_must_name_the_deploy_and_preview_roles() -> None:
    prod = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]
    prod["mlplatform:eksAccess"] = {"deployRole": DEPLOY}
    with pytest.raises(ConfigError, match="Unauthorized") as raised:
        parse_stack_config({k: engine_string(v) for k, v in prod.items()}, "prod")
    assert raised.value.key == "mlplatform:eksAccess.previewRole"


def test_ecr_scanning_is_left_to_the_account_unless_the_stack_asks_for_it() -> None:
    assert parse().registry.manage_scanning is False
    assert parse(registry={"manageScanning": True}).registry.manage_scanning is True
    with pytest.raises(ConfigError, match="manageScanning"):
        parse(registry={"manageScanning": "yes"})
