"""Registry on Azure: a locked-down ACR, purged by a daily ACR Task, pullable by the AKS kubelet identity."""

from __future__ import annotations

import ast
import base64
import re
from pathlib import Path
from typing import Any

import pulumi
import pulumi_azure_native as azure_native
import pytest
import yaml
from pulumi_azure_native import resources

from components.registry import Registry, RegistryArgs, offers_azure
from components.target import Target
from preflight.plan import Plan, PlannedResource
from preflight.synthesize import ProgramError
from tests.helpers import only, program_plan

REGISTRY = "azure-native:containerregistry:Registry"
TASK = "azure-native:containerregistry:Task"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
KUBELET = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"


def dev_args(target: Target) -> RegistryArgs:
    return RegistryArgs(target=target, puller=pulumi.Output.from_input(KUBELET))


def prod_args(target: Target) -> RegistryArgs:
    return RegistryArgs(
        target=target,
        puller=pulumi.Output.from_input(KUBELET),
        keep_images=50,
        untagged_days=14,
        acr_sku="Premium",
        zone_redundant=True,
        retain=True,
    )


def registry_program(make_args: Any) -> Plan:
    """One Registry on an Azure target with its resource group, through the public API."""

    def program() -> None:
        provider = azure_native.Provider("t", location="westeurope")
        group = resources.ResourceGroup("rg", opts=pulumi.ResourceOptions(provider=provider))
        target = Target("t", "azure", "westeurope", provider, azure_resource_group=group.name)
        registry = Registry("mlp-images", make_args(target))
        pulumi.export("imagePrefix", registry.image_prefix)
        pulumi.export("registryId", registry.registry_id)

    return program_plan(program)


@pytest.fixture(scope="module")
def dev() -> Plan:
    return registry_program(dev_args)


@pytest.fixture(scope="module")
def prod() -> Plan:
    return registry_program(prod_args)


@pytest.fixture(scope="module", params=["dev", "prod"])
def plan(request: pytest.FixtureRequest, dev: Plan, prod: Plan) -> Plan:
    return dev if request.param == "dev" else prod


def registry(plan: Plan) -> dict[str, Any]:
    return only(plan, REGISTRY).inputs


def purge_steps(plan: Plan) -> list[dict[str, Any]]:
    step = only(plan, TASK).inputs["step"]
    assert step["type"] == "EncodedTask"
    task = yaml.safe_load(base64.b64decode(step["encodedTaskContent"]))
    assert task["version"] == "v1.1.0"
    return list(task["steps"])


def test_every_azure_child_is_parented_on_the_target_provider_in_the_resource_group(plan: Plan) -> None:
    component = only(plan, "mlplatform:registry:Registry")
    provider = only(plan, "pulumi:providers:azure-native")
    children = [r for r in plan.resources if r.parent == component.urn and r.type.startswith("azure-native:")]
    assert {r.type for r in children} == {REGISTRY, TASK, ROLE_ASSIGNMENT}
    assert all(r.provider == provider.urn for r in children)
    grouped = [r for r in children if r.type != ROLE_ASSIGNMENT]  # the grant is scoped by id
    assert {r.inputs["resourceGroupName"] for r in grouped} == {grouped[0].inputs["resourceGroupName"]}
    assert grouped[0].inputs["resourceGroupName"].startswith("rg-")  # the target's group
    assert {r.inputs["location"] for r in grouped} == {"westeurope"}
    assert not any("tags" in r.inputs for r in children)  # the footprint's transform adds them


def test_registry_is_entra_only_with_its_public_endpoint_kept(plan: Plan) -> None:
    inputs = registry(plan)
    assert inputs["adminUserEnabled"] is False
    assert inputs["anonymousPullEnabled"] is False
    assert inputs["publicNetworkAccess"] == "Enabled"  # private endpoints are a later choice


def test_registry_name_is_global_alphanumeric_and_stable(dev: Plan) -> None:
    name = registry(dev)["registryName"]
    assert re.fullmatch(r"[a-z0-9]{5,50}", name)
    assert name.startswith("mlpimages")  # derived from the component name
    suffix = only(dev, "random:index/randomString:RandomString")
    assert suffix.parent == only(dev, "mlplatform:registry:Registry").urn
    assert registry(registry_program(dev_args))["registryName"] == name  # the same on every synthesis


def test_sku_and_zone_redundancy_follow_the_args(dev: Plan, prod: Plan) -> None:
    assert registry(dev)["sku"] == {"name": "Basic"}
    assert registry(dev)["zoneRedundancy"] == "Disabled"
    assert registry(prod)["sku"] == {"name": "Premium"}
    assert registry(prod)["zoneRedundancy"] == "Enabled"


def test_untagged_manifests_expire_by_policy_on_premium_and_by_the_task_elsewhere(dev: Plan, prod: Plan) -> None:
    assert registry(prod)["policies"] == {"retentionPolicy": {"days": 14, "status": "enabled"}}
    assert "policies" not in registry(dev)
    dev_commands = [step["cmd"] for step in purge_steps(dev)]
    prod_commands = [step["cmd"] for step in purge_steps(prod)]
    assert dev_commands[1] == "acr purge --filter 'mlplatform/.*:^$' --ago 7d --untagged"
    assert not any("--untagged" in command for command in prod_commands)


def test_purge_task_keeps_the_newest_tags_of_the_platform_repositories_daily(dev: Plan, prod: Plan) -> None:
    for plan, keep in ((dev, 30), (prod, 50)):
        steps = purge_steps(plan)
        assert steps[0]["cmd"] == f"acr purge --filter 'mlplatform/.*:.*' --ago 0d --keep {keep}"
        assert all(step["disableWorkingDirectoryOverride"] is True and step["timeout"] == 3600 for step in steps)
        task = only(plan, TASK).inputs
        assert task["registryName"] == registry(plan)["registryName"]
        assert task["platform"] == {"os": "Linux", "architecture": "amd64"}
        assert task["status"] == "Enabled"
        (timer,) = task["trigger"]["timerTriggers"]
        assert timer == {"name": "daily", "schedule": "0 3 * * *", "status": "Enabled"}


def test_kubelet_identity_may_only_pull_from_this_registry(plan: Plan) -> None:
    grant = only(plan, ROLE_ASSIGNMENT).inputs
    assert grant["principalId"] == KUBELET
    assert grant["principalType"] == "ServicePrincipal"
    assert grant["scope"] == plan.outputs["registryId"]
    subscription = plan.outputs["registryId"].split("/")[2]
    assert grant["roleDefinitionId"] == (
        f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL}"
    )


def test_outputs_are_the_login_server_prefix_and_the_registry_id(plan: Plan) -> None:
    name = registry(plan)["registryName"]
    assert plan.outputs["imagePrefix"] == f"{name}.azurecr.io/mlplatform"
    assert plan.outputs["registryId"].endswith(f"/providers/Microsoft.ContainerRegistry/registries/{name}")


def test_retain_protects_only_the_registry(dev: Plan, prod: Plan) -> None:
    kept: list[PlannedResource] = [r for r in prod.resources if r.protect]
    assert [r.type for r in kept] == [REGISTRY]
    assert kept[0].retain_on_delete
    assert not any(r.protect or r.retain_on_delete for r in dev.resources)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"acr_sku": "Classic"}, "acr_sku must be one of"),
        ({"zone_redundant": True}, "zone_redundant needs a Premium registry"),
        ({"keep_images": 0}, "keep_images must be at least 1"),
        ({"untagged_days": 400}, "untagged_days must be 0..365"),
    ],
)
def test_settings_acr_would_refuse_fail_before_planning(changes: dict[str, Any], message: str) -> None:
    def broken(target: Target) -> RegistryArgs:
        return RegistryArgs(target=target, puller=pulumi.Output.from_input(KUBELET), **changes)

    with pytest.raises(ProgramError, match=message):
        registry_program(broken)


def test_offers_are_plain_data_the_config_can_read_without_the_sdk() -> None:
    source = Path(offers_azure.__file__).read_text()
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported == {"__future__"}
    assert {"Basic", "Standard", "Premium"} == offers_azure.ACR_SKUS
