"""Registry and MetadataDB in the shipped stacks: one of each per target, pull grants, no password in clear."""

from __future__ import annotations

import json
import re

from preflight.plan import Plan, PlannedResource
from tests.helpers import every, mock_passwords, nonempty

ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"  # built-in AcrPull role definition id


def per_target(plan: Plan, type_token: str) -> list[str]:
    return sorted(plan.target_of(r) or "" for r in plan.of_type(type_token))


def targets(plan: Plan) -> list[str]:
    return sorted(plan.outputs["targets"])


def test_a_registry_and_a_database_per_target(stack_plan: Plan) -> None:
    assert per_target(stack_plan, "mlplatform:registry:Registry") == targets(stack_plan)
    # one database, on the primary: the model registry's (mlplatform:costSavings.databases)
    databases = per_target(stack_plan, "mlplatform:database:MetadataDb")
    assert databases == sorted(stack_plan.outputs["databases"]) == [stack_plan.outputs["modelRegistry"]["target"]]
    assert sorted(stack_plan.outputs["imagePrefixes"]) == targets(stack_plan)
    for name, database in stack_plan.outputs["databases"].items():
        assert database["port"] == 5432 and database["database"] == "metadata", name


# What each cloud's push grant names (docs/SECURITY.md): ECR's repositories under the stack's namespace (a first push
# creates an image's repository there), the Artifact Registry repository, the ACR registry's resource id.
REGISTRY_IDS = {
    "aws": r"arn:aws:ecr:{region}:\d{{12}}:repository/mlplatform/{stack}/[a-z0-9-]+/\*",
    "gcp": r"projects/[a-z0-9-]+/locations/{region}/repositories/[a-z0-9-]+",
    "azure": r"/subscriptions/[0-9a-f-]+/resourceGroups/[\w-]+/providers/Microsoft\.ContainerRegistry/registries/\w+",
}


def test_each_target_exports_what_image_pushers_are_granted_on(stack_plan: Plan) -> None:
    registry_ids = stack_plan.outputs["registryIds"]
    assert sorted(registry_ids) == targets(stack_plan)
    for name, target in stack_plan.outputs["targets"].items():
        stack = stack_plan.outputs["environment"]
        pattern = REGISTRY_IDS[target["cloud"]].format(region=target["region"], stack=stack)
        assert re.fullmatch(pattern, registry_ids[name]), (name, registry_ids[name])


def test_every_cluster_can_pull_from_its_registry(stack_plan: Plan) -> None:
    for name, target in stack_plan.outputs["targets"].items():
        mine = [r for r in stack_plan.resources if stack_plan.target_of(r) == name]
        if target["cloud"] == "aws":
            grants = [r for r in mine if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"]
            assert any(g.inputs["policyArn"].endswith("/AmazonEC2ContainerRegistryReadOnly") for g in grants)
        elif target["cloud"] == "gcp":
            (grant,) = [r for r in mine if r.type.endswith("repositoryIamMember:RepositoryIamMember")]
            (nodes,) = [r for r in mine if r.type == "gcp:serviceaccount/account:Account"]
            assert grant.inputs["role"] == "roles/artifactregistry.reader"
            assert grant.inputs["member"].startswith(f"serviceAccount:{nodes.inputs['accountId']}@")
        else:
            grants = [r for r in mine if r.type == "azure-native:authorization:RoleAssignment"]
            (pull,) = [g for g in grants if g.inputs["roleDefinitionId"].endswith(ACR_PULL)]
            (registry,) = [r for r in mine if r.type == "azure-native:containerregistry:Registry"]
            assert "/Microsoft.ContainerRegistry/registries/" in pull.inputs["scope"]
            assert registry.inputs["adminUserEnabled"] is False


def test_databases_are_private_and_encrypted(prod_every_database_plan: Plan) -> None:
    for rds in every(prod_every_database_plan, "aws:rds/instance:Instance"):
        assert rds.inputs["publiclyAccessible"] is False and rds.inputs["storageEncrypted"] is True
    for sql in every(prod_every_database_plan, "gcp:sql/databaseInstance:DatabaseInstance"):
        ip = sql.inputs["settings"]["ipConfiguration"]
        assert ip["ipv4Enabled"] is False and ip["sslMode"] == "ENCRYPTED_ONLY"
    for server in every(prod_every_database_plan, "azure-native:dbforpostgresql:Server"):
        assert server.inputs["network"]["publicNetworkAccess"] == "Disabled"


def test_prod_databases_are_highly_available_and_protected(prod_every_database_plan: Plan) -> None:
    for rds in every(prod_every_database_plan, "aws:rds/instance:Instance"):
        assert rds.inputs["multiAz"] and rds.inputs["deletionProtection"] and rds.protect
    for sql in every(prod_every_database_plan, "gcp:sql/databaseInstance:DatabaseInstance"):
        assert sql.inputs["settings"]["availabilityType"] == "REGIONAL" and sql.protect
        assert sql.inputs["settings"]["deletionProtectionEnabled"] and sql.inputs["deletionProtection"]
    for server in every(prod_every_database_plan, "azure-native:dbforpostgresql:Server"):
        assert server.inputs["highAvailability"]["mode"] == "ZoneRedundant" and server.protect
        assert server.inputs["backup"]["geoRedundantBackup"] == "Enabled"  # swedencentral allows both


def test_no_password_in_clear_anywhere_in_the_plan(stack_plan: Plan) -> None:
    passwords = mock_passwords(stack_plan)  # every RandomPassword: the databases' and any other (Grafana, tokens)
    assert len(passwords) >= len(targets(stack_plan))
    document = json.dumps(stack_plan.to_json())
    assert not [p for p in passwords if p in document]
    assert set(stack_plan.outputs["databaseUrls"].values()) == {"[secret]"}


def password_inputs(plan: Plan) -> list[PlannedResource]:
    keys = ("password", "masterPassword", "administratorLoginPassword")
    return [r for r in plan.resources if any(k in r.inputs for k in keys)]


def test_database_passwords_reach_the_servers_as_secrets(stack_plan: Plan) -> None:
    for resource in nonempty(password_inputs(stack_plan), "resource taking a password"):
        for key in ("password", "masterPassword", "administratorLoginPassword"):
            if key in resource.inputs:
                assert resource.inputs[key] == "[secret]", resource.urn
