"""Azure implementation: a private Azure Container Registry, cleaned up by a scheduled ACR Task.

Access is Entra ID only: no admin user, no anonymous pull; the AKS kubelet identity gets AcrPull
on the registry. The public endpoint stays on (authenticated): a private endpoint needs Premium
and a private DNS zone, a later choice. Cleanup: ACR has no lifecycle rules, so a daily ACR Task
runs `acr purge` (learn.microsoft.com/azure/container-registry/container-registry-auto-purge);
untagged manifests expire through the retention policy on Premium, the only tier that has one,
and through the same task elsewhere.

Mirroring (`args.mirror_upstreams`): one artifact cache rule per upstream ACR caches without credentials, a
repository-level wildcard (`<host>/*` into `<slug>/*`), on every tier (Basic, Standard and Premium). The upstreams
ACR lists are Docker Hub (authenticated pulls only), Microsoft Artifact Registry, ECR Public, GitHub Container
Registry, Quay, registry.k8s.io and Google Container Registry ("Artifact cache" overview and its wildcard page,
MicrosoftDocs azure-docs, read 2026-12): Docker Hub needs a credential set in Key Vault that the program does not
hold, and nvcr.io is not listed, so their images stay direct. Cached repositories sit outside `mlplatform/` and the
purge task leaves them alone; the kubelet's AcrPull on the registry covers them.
"""

from __future__ import annotations

import base64
import re

import pulumi
from pulumi_azure_native import authorization, containerregistry

from components.global_names import unique_name
from components.registry.contract import MIRROR_SLUGS, RegistryArgs, RegistryOutputs
from components.registry.offers_azure import (
    ACR_SKUS,
    RETENTION_POLICY_SKUS,
    UNTAGGED_RETENTION_DAYS,
    ZONE_REDUNDANT_SKUS,
)

REPOSITORY_PREFIX = "mlplatform"
# Built-in "AcrPull" role, the same id in every tenant.
# Source: learn.microsoft.com/azure/role-based-access-control/built-in-roles/containers
ACR_PULL_ROLE = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
# Registry names are global, 5-50 letters and digits
# (learn.microsoft.com/rest/api/containerregistry/registries/check-name-availability).
MAX_NAME = 50
SUFFIX_LENGTH = 12
PURGE_TASK = "mlplatform-purge"
PURGE_SCHEDULE = "0 3 * * *"  # daily, 03:00 UTC
PURGE_TIMEOUT_SECONDS = 3600  # the scheduled-task default; a large purge can need all of it
ACR_UPSTREAMS = frozenset({"quay.io", "registry.k8s.io", "ghcr.io"})  # cached without credentials


def build(parent: pulumi.ComponentResource, name: str, args: RegistryArgs) -> RegistryOutputs:
    _check_args(name, args)
    registry = _registry(parent, name, args)
    _purge_task(parent, name, args, registry)
    _pull_grant(parent, name, args, registry)
    return RegistryOutputs(
        image_prefix=pulumi.Output.concat(registry.login_server, f"/{REPOSITORY_PREFIX}"),
        registry_id=registry.id,
        mirrors=_mirrors(parent, name, args, registry),
    )


def _mirrors(
    parent: pulumi.ComponentResource, name: str, args: RegistryArgs, registry: containerregistry.Registry
) -> dict[str, pulumi.Output[str]]:
    target = args.target
    mirrors: dict[str, pulumi.Output[str]] = {}
    for host in args.mirror_upstreams:
        if host not in ACR_UPSTREAMS:
            continue
        slug = MIRROR_SLUGS[host]
        rule = containerregistry.CacheRule(
            f"{name}-{slug}",
            cache_rule_name=slug,
            registry_name=registry.name,
            resource_group_name=target.require_resource_group(),
            source_repository=f"{host}/*",
            target_repository=f"{slug}/*",
            opts=target.child_options(parent),
        )
        mirrors[host] = pulumi.Output.concat(registry.login_server, "/", rule.target_repository.apply(_stem))
    return mirrors


def _stem(target_repository: str | None) -> str:
    """`quay/*` -> `quay`: where the rule's images live in the registry."""
    return (target_repository or "").removesuffix("/*")


def _check_args(name: str, args: RegistryArgs) -> None:
    """Refuse what ACR would refuse, or what would purge everything, before anything is planned."""
    where = f"registry {name!r}"
    if args.acr_sku not in ACR_SKUS:
        raise ValueError(f"{where}: acr_sku must be one of {sorted(ACR_SKUS)}, got {args.acr_sku!r}")
    if args.zone_redundant and args.acr_sku not in ZONE_REDUNDANT_SKUS:
        raise ValueError(
            f"{where}: zone_redundant needs a Premium registry (Azure makes every registry zone-redundant "
            "by default in regions with zones; the explicit setting is Premium's)"
        )
    if args.keep_images < 1:
        raise ValueError(f"{where}: keep_images must be at least 1, or the purge deletes every tag")
    low, high = UNTAGGED_RETENTION_DAYS
    if not low <= args.untagged_days <= high:
        raise ValueError(f"{where}: untagged_days must be {low}..{high}, got {args.untagged_days}")


def _name_prefix(name: str) -> str:
    """The component name reduced to what a registry name allows, leaving room for the suffix."""
    return re.sub(r"[^a-z0-9]", "", name.lower())[: MAX_NAME - SUFFIX_LENGTH] or "acr"


def _registry(parent: pulumi.ComponentResource, name: str, args: RegistryArgs) -> containerregistry.Registry:
    target = args.target
    # Registry names are global: a stable random suffix, as the model bucket's account has.
    prefix = _name_prefix(name)
    zone_redundancy = (
        containerregistry.ZoneRedundancy.ENABLED if args.zone_redundant else containerregistry.ZoneRedundancy.DISABLED
    )
    return containerregistry.Registry(
        name,
        registry_name=unique_name(parent, name, prefix, SUFFIX_LENGTH),
        resource_group_name=target.require_resource_group(),
        location=target.region,
        sku={"name": args.acr_sku},
        admin_user_enabled=False,
        anonymous_pull_enabled=False,
        public_network_access=containerregistry.PublicNetworkAccess.ENABLED,
        zone_redundancy=zone_redundancy,
        policies=_policies(args),
        opts=target.child_options(parent, keep=args.retain),
    )


def _policies(args: RegistryArgs) -> containerregistry.PoliciesArgsDict | None:
    """Untagged manifests expire after untagged_days where the tier has a retention policy (Premium).

    The policy covers manifests untagged after it is enabled; older ones are left to the purge task.
    """
    if args.acr_sku not in RETENTION_POLICY_SKUS:
        return None
    return {
        "retention_policy": {"days": args.untagged_days, "status": containerregistry.PolicyStatus.ENABLED},
    }


def _purge_commands(args: RegistryArgs) -> list[str]:
    """The `acr purge` runs of the daily task, limited to the platform's own repositories.

    `--ago 0d --keep N` keeps the newest N tags per repository and untags the rest. A filter whose
    tag pattern matches no tag (`:^$`) with `--untagged` deletes only untagged manifests older
    than `--ago` (which `--untagged` honours since acr-cli 0.17). Both forms are from the
    auto-purge page. Premium leaves untagged manifests to its retention policy.
    """
    repositories = f"{REPOSITORY_PREFIX}/.*"
    commands = [f"acr purge --filter '{repositories}:.*' --ago 0d --keep {args.keep_images}"]
    if args.acr_sku not in RETENTION_POLICY_SKUS:
        commands.append(f"acr purge --filter '{repositories}:^$' --ago {args.untagged_days}d --untagged")
    return commands


def _task_yaml(commands: list[str]) -> str:
    """An ACR multi-step task file, in the form `az acr task create --cmd` writes for one command."""
    lines = ["version: v1.1.0", "steps:"]
    for command in commands:
        lines += [
            f"  - cmd: {command}",
            "    disableWorkingDirectoryOverride: true",
            f"    timeout: {PURGE_TIMEOUT_SECONDS}",
        ]
    return "\n".join(lines) + "\n"


def _purge_task(
    parent: pulumi.ComponentResource, name: str, args: RegistryArgs, registry: containerregistry.Registry
) -> containerregistry.Task:
    """A scheduled task without source context; `acr purge` authenticates as the task run itself."""
    target = args.target
    encoded = base64.b64encode(_task_yaml(_purge_commands(args)).encode()).decode()
    return containerregistry.Task(
        f"{name}-purge",
        task_name=PURGE_TASK,
        registry_name=registry.name,
        resource_group_name=target.require_resource_group(),
        location=target.region,
        platform={"os": containerregistry.OS.LINUX, "architecture": containerregistry.Architecture.AMD64},
        step=containerregistry.EncodedTaskStepArgs(type="EncodedTask", encoded_task_content=encoded),
        trigger={
            "timer_triggers": [
                {"name": "daily", "schedule": PURGE_SCHEDULE, "status": containerregistry.TriggerStatus.ENABLED}
            ]
        },
        status=containerregistry.TaskStatus.ENABLED,
        timeout=PURGE_TIMEOUT_SECONDS,
        opts=target.child_options(parent),
    )


def _pull_grant(
    parent: pulumi.ComponentResource, name: str, args: RegistryArgs, registry: containerregistry.Registry
) -> authorization.RoleAssignment:
    """AcrPull on this registry only, for the AKS kubelet identity (a service principal)."""
    return authorization.RoleAssignment(
        f"{name}-acrpull",
        principal_id=args.puller,
        principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,  # the SDK's default is User
        role_definition_id=registry.id.apply(_acr_pull_role),
        scope=registry.id,
        opts=args.target.child_options(parent),
    )


def _acr_pull_role(registry_id: str) -> str:
    """'/subscriptions/S/resourceGroups/...' -> the AcrPull definition in subscription S."""
    parts = registry_id.split("/")
    if len(parts) < 3 or parts[1].lower() != "subscriptions":
        raise ValueError(f"not an Azure resource id: {registry_id!r}")
    return f"/subscriptions/{parts[2]}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL_ROLE}"
