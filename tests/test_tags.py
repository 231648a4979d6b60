"""Required tags reach every taggable resource on every cloud through one mechanism per cloud."""

from __future__ import annotations

import pytest

from components.tags import (
    REQUIRED_TAG_KEYS,
    gcp_label,
    gcp_labels,
    provider_defaults_reach,
    required_tags,
    tag_input_name,
)
from preflight.plan import Plan, PlannedResource
from tests.helpers import provider_json


def own_tags(resource: PlannedResource) -> dict[str, str]:
    """The tags a resource sets itself, at its (possibly nested) tag input."""
    value: object = resource.inputs
    for step in (tag_input_name(resource.type) or "").split("."):
        value = value.get(step) if isinstance(value, dict) else None
    return dict(value) if isinstance(value, dict) else {}


def effective_tags(plan: Plan, resource: PlannedResource) -> dict[str, str]:
    """Tags the cloud will store: the resource's own, merged over its provider's defaults
    where those reach it (a top-level tags or labels input only)."""
    own = own_tags(resource)
    if not provider_defaults_reach(resource.type):
        defaults = {}
    elif resource.type.startswith("aws:"):
        defaults = (provider_json(plan, resource, "defaultTags") or {}).get("tags", {})
    elif resource.type.startswith("gcp:"):
        defaults = provider_json(plan, resource, "defaultLabels") or {}
    else:
        defaults = {}
    return {**defaults, **own}


def taggable(plan: Plan) -> list[PlannedResource]:
    return [r for r in plan.resources if r.custom and tag_input_name(r.type) is not None]


def test_taggability_is_read_from_the_sdk() -> None:
    assert tag_input_name("aws:s3/bucket:Bucket") == "tags"
    assert tag_input_name("aws:s3/bucketVersioning:BucketVersioning") is None
    assert tag_input_name("gcp:storage/bucket:Bucket") == "labels"
    assert tag_input_name("azure-native:storage:StorageAccount") == "tags"
    assert tag_input_name("azure-native:storage:BlobContainer") is None
    assert tag_input_name("mlplatform:storage:ModelBucket") is None
    # Cloud SQL has no top-level labels: they are settings.user_labels, out of the provider's reach.
    assert tag_input_name("gcp:sql/databaseInstance:DatabaseInstance") == "settings.userLabels"
    assert provider_defaults_reach("gcp:storage/bucket:Bucket")
    assert not provider_defaults_reach("gcp:sql/databaseInstance:DatabaseInstance")


def test_every_taggable_resource_carries_the_required_tags(stack_plan: Plan) -> None:
    resources = taggable(stack_plan)
    clouds = {r.type.split(":")[0] for r in resources}
    assert clouds == {"aws", "gcp", "azure-native"}
    environment = stack_plan.outputs["environment"]
    for resource in resources:
        tags = effective_tags(stack_plan, resource)
        missing = [k for k in REQUIRED_TAG_KEYS if not tags.get(k)]
        assert not missing, f"{resource.urn} lacks {missing}"
        assert tags["environment"] == environment
        assert tags["managed-by"] == "pulumi"


def test_no_resource_sets_required_tags_by_hand(stack_plan: Plan) -> None:
    """On AWS and GCP the required tags come only from the provider (functional tags such as
    subnet roles are fine) wherever the provider's defaults reach; on Azure only the footprint's
    transform writes them."""
    for resource in taggable(stack_plan):
        if not resource.type.startswith("azure-native:") and provider_defaults_reach(resource.type):
            assert not set(REQUIRED_TAG_KEYS) & set(own_tags(resource)), resource.urn


def test_cloud_sql_carries_the_required_labels_itself(prod_every_database_plan: Plan) -> None:
    """The provider's default labels never reach Cloud SQL, so the server sets them in its user labels (prod with a
    database on every target: the shipped stacks keep theirs on the primary target, on AWS)."""
    plan = prod_every_database_plan
    [server] = plan.of_type("gcp:sql/databaseInstance:DatabaseInstance")
    labels = server.inputs["settings"]["userLabels"]
    assert labels == provider_json(plan, server, "defaultLabels")
    assert labels["environment"] == plan.outputs["environment"] and labels["managed-by"] == "pulumi"


@pytest.mark.parametrize(
    ("text", "label"),
    [("ML Platform", "ml_platform"), ("cost.center/42", "cost_center_42"), ("x" * 70, "x" * 63)],
)
def test_gcp_labels_follow_gcp_character_rules(text: str, label: str) -> None:
    assert gcp_label(text) == label


def test_gcp_label_keys_start_with_a_letter() -> None:
    labels = gcp_labels({"9lives": "Cat", **required_tags("mlplatform", "prod", "Team A", "CC-1")})
    assert labels["k9lives"] == "cat"
    assert labels["owner"] == "team_a" and labels["cost-center"] == "cc-1"
