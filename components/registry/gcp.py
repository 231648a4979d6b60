"""Artifact Registry implementation: a regional Docker repository with immutable tags, scanning
as the project has it, cleanup that acts, and read-only pull access for the GKE nodes.

Choices the contract leaves to each cloud:
- Cleanup keeps the `keep_images` most recent versions of each image and deletes untagged
  versions older than `untagged_days`. A keep policy wins over a delete policy, and there is
  no delete policy for tagged versions, so tagged images are never deleted by cleanup.
- Scanning is INHERITED: Artifact Analysis scans pushes when the project has the Container
  Scanning API enabled (billed per image); the repository does not opt out.
- acr_sku and zone_redundant are Azure's; a regional repository has no such setting.
- Mirroring (`args.mirror_upstreams`): one remote repository (mode REMOTE_REPOSITORY, format DOCKER) per upstream,
  Docker Hub by its preset (`public_repository: DOCKER_HUB`), every other registry as a user-defined upstream
  (`custom_repository.uri`), which Artifact Registry accepts for Docker ("Remote repositories overview", read
  2026-12); the nodes get the same reader role on each. No upstream credentials: public images only (Docker Hub's
  anonymous pull limits then apply to the cache, not to each node).
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.gpu_cluster.gcp_network import gcp_name
from components.registry.contract import MIRROR_SLUGS, RegistryArgs, RegistryOutputs

PULL_ROLE = "roles/artifactregistry.reader"
MAX_REPOSITORY_ID = 63  # lowercase letters, digits and '-', starting with a letter
SECONDS_PER_DAY = 86_400


def build(parent: pulumi.ComponentResource, name: str, args: RegistryArgs) -> RegistryOutputs:
    project = _require_project(args)
    _validate(args)
    target = args.target
    repository = gcp.artifactregistry.Repository(
        name,
        project=project,
        location=target.region,
        repository_id=repository_id(name),
        format="DOCKER",
        description=f"Container images of the ML platform ({name})",
        docker_config={"immutable_tags": True},  # a tag, once pushed, always names the same image
        vulnerability_scanning_config={"enablement_config": "INHERITED"},
        cleanup_policies=_cleanup_policies(args),
        cleanup_policy_dry_run=False,  # true would only log what the policies match
        opts=target.child_options(parent, keep=args.retain),
    )
    gcp.artifactregistry.RepositoryIamMember(
        f"{name}-pull",
        project=repository.project,
        location=repository.location,
        repository=repository.name,
        role=PULL_ROLE,
        member=pulumi.Output.concat("serviceAccount:", args.puller),
        opts=target.child_options(parent),
    )
    # Built from the repository's own outputs (not registry_uri, which a preview does not know yet).
    image_prefix = pulumi.Output.concat(
        repository.location, "-docker.pkg.dev/", repository.project, "/", repository.repository_id
    )
    return RegistryOutputs(
        image_prefix=image_prefix, registry_id=repository.id, mirrors=_mirrors(parent, name, args, project)
    )


def _upstream(host: str) -> gcp.artifactregistry.RepositoryRemoteRepositoryConfigDockerRepositoryArgsDict:
    if host == "docker.io":
        return {"public_repository": "DOCKER_HUB"}
    return {"custom_repository": {"uri": f"https://{host}"}}


def _mirrors(
    parent: pulumi.ComponentResource, name: str, args: RegistryArgs, project: str
) -> dict[str, pulumi.Output[str]]:
    target = args.target
    mirrors: dict[str, pulumi.Output[str]] = {}
    for host in args.mirror_upstreams:
        slug = MIRROR_SLUGS[host]
        remote = gcp.artifactregistry.Repository(
            f"{name}-{slug}",
            project=project,
            location=target.region,
            repository_id=repository_id(f"{name}-{slug}"),
            format="DOCKER",
            mode="REMOTE_REPOSITORY",
            description=f"Pull-through cache of {host} for the ML platform ({name})",
            remote_repository_config={"description": host, "docker_repository": _upstream(host)},
            opts=target.child_options(parent),
        )
        gcp.artifactregistry.RepositoryIamMember(
            f"{name}-{slug}-pull",
            project=remote.project,
            location=remote.location,
            repository=remote.name,
            role=PULL_ROLE,
            member=pulumi.Output.concat("serviceAccount:", args.puller),
            opts=target.child_options(parent),
        )
        mirrors[host] = pulumi.Output.concat(
            remote.location, "-docker.pkg.dev/", remote.project, "/", remote.repository_id
        )
    return mirrors


def repository_id(name: str) -> str:
    """Unique per stack: dev and prod stacks may share a project and a region."""
    return gcp_name(f"{name}-{pulumi.get_stack()}", MAX_REPOSITORY_ID)


def _require_project(args: RegistryArgs) -> str:
    if not args.target.gcp_project:
        raise ValueError(f"target {args.target.name}: an Artifact Registry repository needs the target's gcp_project")
    return args.target.gcp_project


def _validate(args: RegistryArgs) -> None:
    if args.keep_images < 1:
        raise ValueError(f"keep_images must be at least 1, got {args.keep_images}")
    if args.untagged_days < 1:
        raise ValueError(f"untagged_days must be at least 1, got {args.untagged_days}")


def _cleanup_policies(args: RegistryArgs) -> list[gcp.artifactregistry.RepositoryCleanupPolicyArgsDict]:
    """The API takes durations in seconds only ("604800s"; "7d" is refused: pulumi-gcp#3344)."""
    return [
        {
            "id": "keep-recent",
            "action": "KEEP",
            "most_recent_versions": {"keep_count": args.keep_images},  # per image (package)
        },
        {
            "id": "delete-untagged",
            "action": "DELETE",
            "condition": {"tag_state": "UNTAGGED", "older_than": f"{args.untagged_days * SECONDS_PER_DAY}s"},
        },
    ]
