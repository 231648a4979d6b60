"""The audit trail a user gets per cloud (mlplatform:audit): what each record covers and how long it is kept."""

from __future__ import annotations

import json

import pytest

from preflight.plan import Plan, PlannedResource
from tests.helpers import every, only, stack_plan

AWS = {"cloud": "aws", "region": "us-east-1"}
GCP_A = {"cloud": "gcp", "region": "us-central1", "project": "ml-audit-123", "name": "gcp-a"}
GCP_B = {"cloud": "gcp", "region": "europe-west4", "project": "ml-audit-123", "name": "gcp-b"}
AZURE = {"cloud": "azure", "region": "swedencentral"}
AUDITED = {"audit": {"enabled": True, "retentionDays": 90}}  # dev, turned on: 90 is legal on every cloud


@pytest.fixture(scope="module")
def audited() -> Plan:
    return stack_plan([AWS, GCP_A, GCP_B, AZURE], **AUDITED)


def named(plan: Plan, type_token: str, part: str) -> PlannedResource:
    found = [r for r in plan.of_type(type_token) if part in r.name]
    assert len(found) == 1, f"expected one {type_token} named *{part}*, found {[r.name for r in found]}"
    return found[0]


def test_dev_has_no_audit_trail_unless_asked(dev_plan: Plan) -> None:
    assert not dev_plan.of_type("mlplatform:security:AuditTrail")
    assert not dev_plan.of_type("aws:cloudtrail/trail:Trail")


def test_s3_object_reads_and_writes_of_the_model_bucket_go_to_a_private_log_bucket(audited: Plan) -> None:
    trail = only(audited, "aws:cloudtrail/trail:Trail")
    models = named(audited, "aws:s3/bucket:Bucket", "models")
    logs = named(audited, "aws:s3/bucket:Bucket", "audit-logs")
    fields = {f["field"]: f for f in trail.inputs["advancedEventSelectors"][0]["fieldSelectors"]}
    assert fields["eventCategory"]["equals"] == ["Data"]
    assert fields["resources.type"]["equals"] == ["AWS::S3::Object"]
    # Buckets are auto-named (the mock appends a suffix to the resource name): the model bucket's objects only.
    (prefix,) = fields["resources.ARN"]["startsWiths"]
    assert prefix.startswith(f"arn:aws:s3:::{models.name}-") and prefix.endswith("/")
    assert trail.inputs["s3BucketName"].startswith(f"{logs.name}-") and trail.inputs["enableLogFileValidation"]
    assert models.urn in trail.dependencies
    lifecycle = named(audited, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "audit-logs")
    assert lifecycle.inputs["rules"][0]["expiration"] == {"days": 90}
    policy = json.loads(named(audited, "aws:s3/bucketPolicy:BucketPolicy", "audit-logs").inputs["policy"])
    writes = next(s for s in policy["Statement"] if s["Sid"] == "AWSCloudTrailWrite")
    trail_arn = f"arn:aws:cloudtrail:us-east-1:{writes['Resource'].split('/')[2]}:trail/{trail.inputs['name']}"
    assert writes["Condition"]["StringEquals"]["aws:SourceArn"] == trail_arn  # this trail only


def test_eks_control_plane_logs_are_kept_as_configured_in_a_group_made_before_the_cluster(audited: Plan) -> None:
    group = only(audited, "aws:cloudwatch/logGroup:LogGroup")
    cluster = only(audited, "eks:index:Cluster")
    assert group.inputs["name"] == f"/aws/eks/{cluster.inputs['name']}/cluster"
    assert group.inputs["retentionInDays"] == 90
    assert group.urn in cluster.dependencies
    assert {"audit", "authenticator"} <= set(cluster.inputs["enabledClusterLogTypes"])


def test_gcs_data_access_logs_once_per_project_routed_to_a_retained_log_bucket(audited: Plan) -> None:
    config = only(audited, "gcp:projects/iAMAuditConfig:IAMAuditConfig")  # two targets, one project: one config
    assert config.inputs["service"] == "storage.googleapis.com"
    assert {c["logType"] for c in config.inputs["auditLogConfigs"]} == {"DATA_READ", "DATA_WRITE"}
    for target in ("gcp-a", "gcp-b"):
        bucket = named(audited, "gcp:logging/projectBucketConfig:ProjectBucketConfig", target)
        assert bucket.inputs["retentionDays"] == 90
        sink = named(audited, "gcp:logging/projectSink:ProjectSink", target)
        models = named(audited, "gcp:storage/bucket:Bucket", f"{target}-models")
        assert sink.inputs["destination"].endswith(f"/buckets/{bucket.inputs['bucketId']}")
        assert f'resource.labels.bucket_name="{models.name}-' in sink.inputs["filter"]  # auto-named: name + suffix
        assert 'resource.type="k8s_cluster"' in sink.inputs["filter"]


def test_aks_audit_and_blob_access_logs_go_to_a_workspace_keeping_them(audited: Plan) -> None:
    workspace = only(audited, "azure-native:operationalinsights:Workspace")
    assert workspace.inputs["retentionInDays"] == 90
    cluster = only(audited, "azure-native:containerservice:ManagedCluster")
    account = only(audited, "azure-native:storage:StorageAccount")
    settings = every(audited, "azure-native:monitor:DiagnosticSetting")
    by_target = {s.name.rsplit("-", 1)[1]: s for s in settings}
    assert {log["category"] for log in by_target["cluster"].inputs["logs"]} >= {"kube-audit-admin", "guard"}
    assert cluster.urn in by_target["cluster"].dependencies
    blob = by_target["blobs"]
    assert {log["category"] for log in blob.inputs["logs"]} == {"StorageRead", "StorageWrite", "StorageDelete"}
    assert blob.inputs["resourceUri"].endswith("/blobServices/default") and account.urn in blob.dependencies
    assert all(s.inputs["workspaceId"] for s in settings)


def test_what_is_made_first_on_purpose_is_no_hidden_dependency(audited: Plan) -> None:
    """The log group precedes its cluster and the bucket policy its trail, both named in advance: the cluster
    and the trail wait for them, which is the order the clouds need, not a lost edge."""
    from datetime import date

    from preflight.hidden_dependencies import hidden_dependencies

    flagged = [w.message for w in hidden_dependencies(audited, date(2026, 12, 2))]
    assert not [m for m in flagged if "logGroup" in m or "audit-logs-policy" in m]
