"""`preflight doctor`'s generated deploy and preview identities, from the plan's resource types.

The expected actions are the ones a first deploy was found to need beyond the obvious (access entries, add-ons, the
S3 endpoint, the zone and add-on lookups, PassRole: the list docs/CI.md carried by hand before the identities were
generated) and the Azure lock docs'.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from preflight.cli import main
from preflight.doctor.permissions import identities, load_permissions, stale_from
from preflight.plan import Plan, PlannedResource


def _actions(document: dict[str, Any]) -> set[str]:
    if "Statement" in document:
        return {action for statement in document["Statement"] for action in statement["Action"]}
    return set(document["Actions"])


def test_every_resource_type_of_dev_and_prod_is_mapped(stack_plan: Plan) -> None:
    generated = identities(stack_plan)
    assert generated.unmapped == (), f"add to preflight/data/permissions.yaml: {', '.join(generated.unmapped)}"
    assert set(generated.documents) == {"aws", "gcp", "azure"}


def test_the_aws_deploy_policy_has_what_docs_ci_names_and_the_preview_policy_writes_nothing(prod_plan: Plan) -> None:
    aws = identities(prod_plan).documents["aws"]
    deploy, preview = _actions(aws["deploy"]), _actions(aws["preview"])
    assert {
        "eks:CreateAccessEntry",
        "eks:AssociateAccessPolicy",
        "eks:CreateAddon",
        "ec2:CreateVpcEndpoint",
        "ec2:DescribeInstanceTypeOfferings",
        "eks:DescribeAddonVersions",
        "iam:PassRole",
    } <= deploy
    assert preview <= deploy
    verbs = ("Create", "Delete", "Put", "Update", "Modify", "Attach", "Detach", "Tag", "Untag", "Pass", "Authorize")
    assert not [a for a in preview if a.split(":")[1].startswith(verbs)]
    assert aws["deploy"]["Version"] == "2012-10-17"


def test_both_aws_identities_may_run_doctor_live_before_they_preview_or_deploy(prod_plan: Plan) -> None:
    """The deploy workflow runs `doctor --live` with the deploy role: Service Quotas and the hosted zone lookup are
    no resource's permissions, so the generated policies must add them."""
    aws = identities(prod_plan).documents["aws"]
    live = {"servicequotas:GetServiceQuota", "servicequotas:GetAWSDefaultServiceQuota", "route53:ListHostedZonesByName"}
    assert live <= _actions(aws["deploy"]) and live <= _actions(aws["preview"])


def test_the_azure_deploy_role_can_lock_and_the_preview_role_only_reads(prod_plan: Plan) -> None:
    azure = identities(prod_plan).documents["azure"]
    assert "Microsoft.Authorization/locks/*" in azure["deploy"]["Actions"]  # prod's CanNotDelete locks
    assert not [a for a in azure["preview"]["Actions"] if a.endswith(("/write", "/delete", "/*"))]
    assert azure["deploy"]["IsCustom"] is True and azure["deploy"]["AssignableScopes"]


def test_the_gcp_identities_are_predefined_roles(prod_every_database_plan: Plan) -> None:
    gcp = identities(prod_every_database_plan).documents["gcp"]  # with Cloud SQL (costSavings.databases: every-target)
    assert "roles/container.admin" in gcp["deploy"]["roles"] and "roles/cloudsql.admin" in gcp["deploy"]["roles"]
    assert "roles/container.viewer" in gcp["preview"]["roles"]
    assert not [role for role in gcp["preview"]["roles"] if role.endswith("admin") or role.endswith("Admin")]


def _resource(type_token: str, name: str) -> PlannedResource:
    return PlannedResource(
        urn=f"urn:pulumi:s::p::{type_token}::{name}",
        type=type_token,
        name=name,
        custom=True,
        parent=None,
        provider=None,
        dependencies=(),
        protect=False,
        retain_on_delete=False,
        inputs={},
    )


def test_an_unmapped_type_blocks_and_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = Plan("p", "s", (_resource("aws:sqs/queue:Queue", "q"), _resource("aws:s3/bucket:Bucket", "b")), {})
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan.to_json()))
    assert main(["doctor", "--plan", str(path), "--json", "-"]) == 1
    document = json.loads(capsys.readouterr().out)
    (blocked,) = [f for f in document["findings"] if f["verdict"] == "block"]
    assert blocked["section"] == "permission" and blocked["needed"] == "aws:sqs/queue:Queue"
    # The mapped type still gets its permissions.
    assert "s3:CreateBucket" in _actions(document["permissions"]["aws"]["deploy"])


def test_permissions_dir_gets_the_six_documents(prod_plan: Plan, tmp_path: Path) -> None:
    plan_file = tmp_path / "prod.json"
    plan_file.write_text(json.dumps(prod_plan.to_json()))
    out = tmp_path / "identities"
    out.mkdir()
    main(["doctor", "--plan", str(plan_file), "--permissions", str(out), "--summary"])
    names = sorted(path.name for path in out.iterdir())
    assert names == [
        "aws-deploy-policy.json",
        "aws-preview-policy.json",
        "azure-deploy-role.json",
        "azure-preview-role.json",
        "gcp-deploy-roles.json",
        "gcp-preview-roles.json",
    ]
    assert json.loads((out / "aws-deploy-policy.json").read_text())["Statement"][0]["Effect"] == "Allow"
    assert main(["doctor", "--plan", str(plan_file), "--permissions", str(tmp_path / "missing")]) == 2


def test_the_permission_table_is_sourced_and_fresh() -> None:
    table = load_permissions()
    assert date.today() < stale_from(table), "re-read the sources of preflight/data/permissions.yaml"
    assert stale_from(table) == date(2027, 5, 1)  # read 2026-12: fresh through April 2027
