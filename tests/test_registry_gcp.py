"""Registry on GCP: a regional Artifact Registry Docker repository with immutable tags, scanning,
cleanup that acts, read access for the GKE nodes on this repository only, and kept in prod."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp
import pytest

from components.registry import Registry, RegistryArgs
from components.target import Target
from preflight.plan import Plan, PlannedResource
from preflight.synthesize import ProgramError
from tests.helpers import only, program_plan

REPOSITORY = "gcp:artifactregistry/repository:Repository"
PULL_GRANT = "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"
PROJECT = "p-12345"
REGION = "europe-west4"
NODES = f"ml-nodes-abc123@{PROJECT}.iam.gserviceaccount.com"
DAY = 86_400


def registry_plan(project: str | None = PROJECT, **overrides: Any) -> Plan:
    """One Registry on a GCP target, through the public API, with its outputs exported."""

    def program() -> None:
        provider = gcp.Provider("t", project=PROJECT, region=REGION)
        target = Target("t", "gcp", REGION, provider, gcp_project=project)
        puller = pulumi.Output.from_input(NODES)
        registry = Registry("images", RegistryArgs(target=target, puller=puller, **overrides))
        pulumi.export("imagePrefix", registry.image_prefix)
        pulumi.export("registryId", registry.registry_id)

    return program_plan(program)


@pytest.fixture(scope="module")
def dev() -> Plan:
    return registry_plan()


@pytest.fixture(scope="module")
def prod() -> Plan:
    return registry_plan(retain=True, keep_images=50, untagged_days=14)


@pytest.fixture(scope="module", params=["dev", "prod"])
def plan(request: pytest.FixtureRequest, dev: Plan, prod: Plan) -> Plan:
    return dev if request.param == "dev" else prod


def repository(plan: Plan) -> PlannedResource:
    return only(plan, REPOSITORY)


def test_a_regional_docker_repository_named_per_stack(plan: Plan) -> None:
    inputs = repository(plan).inputs
    assert inputs["format"] == "DOCKER"
    assert inputs["location"] == REGION and inputs["project"] == PROJECT
    assert inputs["repositoryId"] == "images-test"  # program_plan's stack is "test"


def test_image_prefix_and_registry_id_name_the_repository(plan: Plan) -> None:
    repo_id = repository(plan).inputs["repositoryId"]
    assert plan.outputs["imagePrefix"] == f"{REGION}-docker.pkg.dev/{PROJECT}/{repo_id}"
    assert plan.outputs["registryId"] == f"projects/{PROJECT}/locations/{REGION}/repositories/{repo_id}"


def test_tags_are_immutable_and_scanning_follows_the_project(plan: Plan) -> None:
    inputs = repository(plan).inputs
    assert inputs["dockerConfig"] == {"immutableTags": True}
    assert inputs["vulnerabilityScanningConfig"] == {"enablementConfig": "INHERITED"}


def test_cleanup_keeps_recent_versions_and_deletes_old_untagged_ones(dev: Plan, prod: Plan) -> None:
    for plan, keep, days in ((dev, 30, 7), (prod, 50, 14)):
        inputs = repository(plan).inputs
        assert inputs["cleanupPolicyDryRun"] is False  # dry run would only log matches
        policies = {policy["id"]: policy for policy in inputs["cleanupPolicies"]}
        assert policies["keep-recent"] == {
            "id": "keep-recent",
            "action": "KEEP",
            "mostRecentVersions": {"keepCount": keep},
        }
        assert policies["delete-untagged"] == {
            "id": "delete-untagged",
            "action": "DELETE",
            "condition": {"tagState": "UNTAGGED", "olderThan": f"{days * DAY}s"},  # seconds only
        }
        assert len(policies) == 2  # no delete policy reaches tagged images


def test_the_nodes_may_only_pull_and_only_from_this_repository(plan: Plan) -> None:
    grant = only(plan, PULL_GRANT)
    repo = repository(plan)
    assert grant.inputs["role"] == "roles/artifactregistry.reader"
    assert grant.inputs["member"] == f"serviceAccount:{NODES}"
    assert grant.inputs["repository"] == repo.inputs["repositoryId"]  # the repository's name
    assert grant.inputs["location"] == REGION and grant.inputs["project"] == PROJECT
    assert repo.urn in grant.dependencies
    assert not plan.of_type("gcp:projects/iAMMember:IAMMember")  # nothing project-wide


def test_prod_keeps_the_repository_and_dev_does_not(dev: Plan, prod: Plan) -> None:
    assert repository(prod).protect and repository(prod).retain_on_delete
    assert not repository(dev).protect and not repository(dev).retain_on_delete
    assert not only(prod, PULL_GRANT).protect  # a grant is recreated at will


def test_every_cloud_resource_is_a_child_on_the_targets_provider(plan: Plan) -> None:
    component = only(plan, "mlplatform:registry:Registry")
    provider = only(plan, "pulumi:providers:gcp")
    cloud = [r for r in plan.resources if r.type.startswith("gcp:")]
    assert {r.type for r in cloud} == {REPOSITORY, PULL_GRANT}
    for resource in cloud:
        assert resource.parent == component.urn, resource.urn
        assert resource.provider == provider.urn, resource.urn
        assert "labels" not in resource.inputs  # required labels come from the provider's default_labels


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"keep_images": 0}, "keep_images must be at least 1"),
        ({"untagged_days": 0}, "untagged_days must be at least 1"),
        ({"project": None}, "needs the target's gcp_project"),
    ],
)
def test_what_the_api_would_refuse_is_refused_before_planning(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ProgramError, match=message):
        registry_plan(**overrides)
