"""Registry on AWS: an ECR creation template, so every pushed image gets a scanned, immutable, encrypted repository."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.registry import Registry, RegistryArgs
from components.target import Target
from preflight.plan import Plan, PlannedResource
from preflight.synthesize import ProgramError
from tests.helpers import every, only, program_plan

TEMPLATE = "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"
SCANNING = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"
KEY = "aws:kms/key:Key"
ACCOUNT = "123456789012"  # the mock's caller identity
NODE_ROLE = "arn:aws:iam::123456789012:role/gpu-nodes-0000000"
NAMESPACE = "mlplatform/test/images"  # <project>/<stack>/<name>


def registry_plan(stack: str = "test", **args: Any) -> Plan:
    """One Registry on an AWS target, built through the public component API."""

    def program() -> None:
        target = Target("t", "aws", "eu-west-1", aws.Provider("t", region="eu-west-1"))
        registry = Registry("images", RegistryArgs(target=target, puller=pulumi.Output.from_input(NODE_ROLE), **args))
        pulumi.export("imagePrefix", registry.image_prefix)
        pulumi.export("registryId", registry.registry_id)

    return program_plan(program, stack=stack)


@pytest.fixture(scope="module")
def dev() -> Plan:
    return registry_plan()


@pytest.fixture(scope="module")
def prod() -> Plan:
    return registry_plan(keep_images=50, untagged_days=3, retain=True)


@pytest.fixture(scope="module", params=["dev", "prod"])
def plan(request: pytest.FixtureRequest, dev: Plan, prod: Plan) -> Plan:
    return dev if request.param == "dev" else prod


def creator_role(plan: Plan) -> PlannedResource:
    return next(r for r in plan.of_type("aws:iam/role:Role") if r.name == "images-creator")


def test_images_are_pushed_under_the_namespace_of_this_stack(dev: Plan) -> None:
    assert dev.outputs["imagePrefix"] == f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/{NAMESPACE}"
    assert dev.outputs["registryId"] == f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/{NAMESPACE}/*"
    assert only(dev, TEMPLATE).inputs["prefix"] == NAMESPACE


def test_pushed_repositories_are_created_immutable_and_encrypted_with_a_rotated_key(plan: Plan) -> None:
    template = only(plan, TEMPLATE).inputs
    assert template["appliedFors"] == ["CREATE_ON_PUSH"]
    assert template["imageTagMutability"] == "IMMUTABLE"
    key = only(plan, KEY)
    assert key.inputs["enableKeyRotation"] is True
    (encryption,) = template["encryptionConfigurations"]
    assert encryption == {"encryptionType": "KMS", "kmsKey": encryption["kmsKey"]}
    assert encryption["kmsKey"].startswith("arn:aws:kms:eu-west-1:")
    assert key.urn in only(plan, TEMPLATE).dependencies
    assert template["resourceTags"] == {}  # the provider's default tags, as the mock reports them


def test_lifecycle_keeps_the_newest_tagged_images_and_expires_untagged_ones(dev: Plan, prod: Plan) -> None:
    for plan, keep, days in ((dev, 30, 7), (prod, 50, 3)):
        rules = json.loads(only(plan, TEMPLATE).inputs["lifecyclePolicy"])["rules"]
        untagged, tagged = sorted(rules, key=lambda rule: rule["rulePriority"])
        assert untagged["selection"] == {
            "tagStatus": "untagged",
            "countType": "sinceImagePushed",
            "countUnit": "days",
            "countNumber": days,
        }
        assert tagged["selection"] == {
            "tagStatus": "tagged",
            "tagPatternList": ["*"],
            "countType": "imageCountMoreThan",
            "countNumber": keep,
        }
        assert all(rule["action"] == {"type": "expire"} for rule in rules)


def test_the_accounts_scanning_setting_is_left_alone_unless_the_stack_owns_it(plan: Plan) -> None:
    # One setting per account and region: writing it would replace another team's (Inspector's
    # ENHANCED scanning, their rules), and it cannot be deleted. Opt-in only.
    assert not plan.of_type(SCANNING)


def test_an_account_the_stack_owns_scans_every_repository_of_the_project_on_push() -> None:
    plan = registry_plan(manage_scanning=True)
    scanning = only(plan, SCANNING)
    assert scanning.inputs["scanType"] == "BASIC"
    assert scanning.inputs["rules"] == [
        {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "mlplatform/*", "filterType": "WILDCARD"}]}
    ]
    assert NAMESPACE.startswith("mlplatform/")
    # One setting per account and region, shared by every stack: never reset by a destroy.
    assert scanning.retain_on_delete and not scanning.protect


def test_ecr_creates_repositories_through_a_role_that_can_do_only_that(dev: Plan) -> None:
    role = creator_role(dev)
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust == {"Effect": "Allow", "Principal": {"Service": "ecr.amazonaws.com"}, "Action": "sts:AssumeRole"}
    policy = only(dev, "aws:iam/rolePolicy:RolePolicy")
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert statements["CreateRepositories"]["Action"] == ["ecr:CreateRepository", "ecr:TagResource"]
    assert statements["CreateRepositories"]["Resource"] == dev.outputs["registryId"]
    assert statements["EncryptWithTheKey"]["Action"] == ["kms:CreateGrant", "kms:RetireGrant", "kms:DescribeKey"]
    (encryption,) = only(dev, TEMPLATE).inputs["encryptionConfigurations"]
    assert statements["EncryptWithTheKey"]["Resource"] == encryption["kmsKey"]
    assert policy.urn in only(dev, TEMPLATE).dependencies  # the role can create repositories before any push


def test_template_uses_the_creator_role(dev: Plan) -> None:
    template = only(dev, TEMPLATE).inputs
    assert template["customRoleArn"].startswith(f"arn:aws:iam::{ACCOUNT}:role/images-creator-")


def test_no_repository_policy_the_node_role_pulls_with_its_managed_policy(plan: Plan) -> None:
    assert "repositoryPolicy" not in only(plan, TEMPLATE).inputs
    assert NODE_ROLE not in json.dumps(plan.to_json())


def test_prod_protects_and_retains_the_template_its_key_and_role(dev: Plan, prod: Plan) -> None:
    kept = (TEMPLATE, KEY, "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy")
    for type_token in kept:
        assert all(r.protect and r.retain_on_delete for r in every(prod, type_token)), type_token
        assert not any(r.protect or r.retain_on_delete for r in every(dev, type_token)), type_token


def test_every_child_is_parented_here_and_made_with_the_targets_provider(plan: Plan) -> None:
    component = only(plan, "mlplatform:registry:Registry")
    provider = only(plan, "pulumi:providers:aws")
    children = [r for r in plan.resources if r.parent == component.urn]
    assert {r.type for r in children} == {TEMPLATE, KEY, "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"}
    assert all(child.provider == provider.urn for child in children)


def test_the_namespace_is_lowercased_as_ecr_requires() -> None:
    plan = registry_plan(stack="Team.Dev")
    assert plan.outputs["imagePrefix"].endswith(".amazonaws.com/mlplatform/team.dev/images")


def test_a_stack_name_ecr_cannot_take_is_refused() -> None:
    with pytest.raises(ProgramError, match="ECR namespace"):
        registry_plan(stack="team..dev")


@pytest.mark.parametrize(("args", "message"), [({"keep_images": 0}, "keep_images"), ({"untagged_days": 0}, "untagged")])
def test_cleanup_that_would_delete_everything_is_refused(args: dict[str, int], message: str) -> None:
    with pytest.raises(ProgramError, match=message):
        registry_plan(**args)
