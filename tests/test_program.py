"""The program itself (what `pulumi up` runs): bad config stops it before any resource is made."""

from __future__ import annotations

import pytest

from preflight.errors import InputError
from preflight.recorder import RecordingMonitor
from preflight.stack_files import config_from_mapping
from preflight.synthesize import run_program
from tests.helpers import BASE_CONFIG, every, stack_plan


def test_bad_config_is_a_one_line_run_error_and_nothing_is_made() -> None:
    """Skips preflight's own check: this is the path `pulumi up` takes."""
    stack = config_from_mapping(
        "mlplatform", "broken", {**BASE_CONFIG, "targets": [{"cloud": "aws", "region": "moon-1"}]}
    )
    monitor = RecordingMonitor()
    with pytest.raises(InputError) as caught:  # preflight's name for the program's pulumi.RunError
        run_program(stack, monitor)
    assert str(caught.value) == "Pulumi.broken.yaml: mlplatform:targets[0].region: unknown aws region 'moon-1'"
    assert [r.type for r in monitor.recording.registrations.values()] == ["pulumi:pulumi:Stack"]


def test_two_regions_of_one_cloud_get_separate_providers_and_buckets() -> None:
    plan = stack_plan(
        [
            {"cloud": "aws", "region": "us-east-1"},
            {"cloud": "aws", "region": "us-west-2"},
            {"cloud": "gcp", "region": "europe-west4", "project": "ml-test-123"},
        ]
    )
    providers = {p.name: p.inputs["region"] for p in plan.of_type("pulumi:providers:aws")}
    assert providers == {"aws-us-east-1": "us-east-1", "aws-us-west-2": "us-west-2"}
    for bucket in every(plan, "aws:s3/bucket:Bucket"):
        provider = plan.get(bucket.provider or "")
        assert provider is not None and provider.name == plan.target_of(bucket)
    assert sorted(plan.outputs["bucketUris"]) == ["aws-us-east-1", "aws-us-west-2", "gcp-europe-west4"]


def test_no_edge_joins_two_targets() -> None:
    plan = stack_plan(
        [
            {"cloud": "aws", "region": "us-east-1"},
            {"cloud": "gcp", "region": "us-central1", "project": "ml-test-123"},
            {"cloud": "azure", "region": "westeurope"},
        ]
    )
    edges = [
        (resource, other)
        for resource in plan.resources
        for reference in [resource.provider, *resource.dependencies]
        if plan.target_of(resource) and (other := plan.get(reference) if reference else None)
    ]
    homes = {plan.target_of(resource) for resource, _ in edges}
    assert homes == {"aws-us-east-1", "gcp-us-central1", "azure-westeurope"}  # edges checked in every target
    for resource, other in edges:
        assert plan.target_of(other) == plan.target_of(resource), f"{resource.urn} -> {other.urn}"
