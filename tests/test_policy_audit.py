"""The pack refuses a prod cluster or bucket without an audit trail (issue 19, finding 4), over the analyzer
protocol, as `pulumi preview --policy-pack` would run it; the prod plan passes."""

from __future__ import annotations

from typing import Any

import pytest

from preflight.plan import Plan
from preflight.policy_packs import RunningPolicyPack
from tests.policy_helpers import PACK_DIR, REQUIRED_TAGS, analyze, aws_provider, azure_provider, gcp_provider, resource

POLICY = "prod-audit-trail"
PROD = aws_provider(name="aws-prod")
DEV = aws_provider({**REQUIRED_TAGS, "environment": "dev"}, name="aws-dev")
GCP = gcp_provider()
AZURE = azure_provider()
# azure-native has no provider default tags: Azure resources carry their own (the footprint's transform adds them).
AZURE_TAGS = {"tags": dict(REQUIRED_TAGS)}
DATA_SELECTOR = [
    {"field": "eventCategory", "equals": ["Data"]},
    {"field": "resources.type", "equals": ["AWS::S3::Object"]},
]


def violations(pack: RunningPolicyPack, *objects: dict[str, Any]) -> dict[str, str]:
    found = [v for v in analyze(pack, *objects) if v.policy == POLICY]
    assert {v.level for v in found} <= {"mandatory"}
    return {v.urn.rsplit("::", 1)[1]: v.message for v in found}


def eks(provider: dict[str, Any], log_types: list[str]) -> dict[str, Any]:
    return resource("eks:index:Cluster", "eks", {"enabledClusterLogTypes": log_types}, provider=provider)


def bucket(name: str = "models", provider: dict[str, Any] = PROD) -> dict[str, Any]:
    return resource("aws:s3/bucket:Bucket", name, {"bucket": f"{name}-1234"}, provider=provider)


def trail(*buckets: dict[str, Any], arn_filter: bool = True) -> dict[str, Any]:
    fields = [*DATA_SELECTOR]
    if arn_filter:
        fields.append({"field": "resources.ARN", "startsWiths": [f"arn:aws:s3:::{buckets[-1]['name']}-1234/"]})
    inputs = {"s3BucketName": "audit-logs-1234", "advancedEventSelectors": [{"fieldSelectors": fields}]}
    return resource("aws:cloudtrail/trail:Trail", "trail", inputs, provider=PROD, dependencies=list(buckets))


def test_eks_needs_the_audit_and_authenticator_logs(policy_pack: RunningPolicyPack) -> None:
    assert violations(policy_pack, PROD, eks(PROD, ["api", "audit", "authenticator"])) == {}
    found = violations(policy_pack, PROD, eks(PROD, ["api"]))
    assert "EKS control-plane logs audit, authenticator are off" in found["eks"]
    assert violations(policy_pack, DEV, eks(DEV, [])) == {}  # dev is not held to it


def test_an_s3_bucket_needs_object_data_events_that_cover_it(policy_pack: RunningPolicyPack) -> None:
    models, logs, other = bucket(), bucket("audit-logs"), bucket("other")
    assert violations(policy_pack, PROD, models, logs, trail(logs, models)) == {}
    found = violations(policy_pack, PROD, models, logs, other, trail(logs, models))
    assert set(found) == {"other"} and "object reads and writes" in found["other"]
    # A trail recording every bucket's objects covers a bucket it does not name.
    assert violations(policy_pack, PROD, models, other, trail(models, arn_filter=False)) == {}


def test_s3_server_access_logging_also_counts(policy_pack: RunningPolicyPack) -> None:
    models = bucket()
    logging = resource(
        "aws:s3/bucketLogging:BucketLogging",
        "access-log",
        {"targetBucket": "logs"},
        provider=PROD,
        dependencies=[models],
    )
    assert violations(policy_pack, PROD, models, logging) == {}
    assert set(violations(policy_pack, PROD, models)) == {"models"}


def test_a_gcs_bucket_needs_data_access_logs_in_its_project(policy_pack: RunningPolicyPack) -> None:
    gcs = resource("gcp:storage/bucket:Bucket", "gcs", {"project": "p", "name": "models"}, provider=GCP)

    def audit_config(project: str, log_types: list[str], service: str = "storage.googleapis.com") -> dict[str, Any]:
        configs = [{"logType": t} for t in log_types]
        inputs = {"project": project, "service": service, "auditLogConfigs": configs}
        return resource("gcp:projects/iAMAuditConfig:IAMAuditConfig", "audit", inputs, provider=GCP)

    assert violations(policy_pack, GCP, gcs, audit_config("p", ["DATA_READ", "DATA_WRITE"])) == {}
    assert violations(policy_pack, GCP, gcs, audit_config("p", ["DATA_READ", "DATA_WRITE"], "allServices")) == {}
    assert "Data Access audit config" in violations(policy_pack, GCP, gcs, audit_config("p", ["DATA_READ"]))["gcs"]
    assert "gcs" in violations(policy_pack, GCP, gcs, audit_config("another", ["DATA_READ", "DATA_WRITE"]))


def diagnostic(target: dict[str, Any], categories: list[str], workspace: str | None = "ws") -> dict[str, Any]:
    inputs: dict[str, Any] = {"resourceUri": "id", "logs": [{"category": c, "enabled": True} for c in categories]}
    if workspace:
        inputs["workspaceId"] = workspace
    name = f"{target['name']}-diagnostics"
    return resource("azure-native:monitor:DiagnosticSetting", name, inputs, provider=AZURE, dependencies=[target])


def test_aks_needs_a_diagnostic_setting_that_ships_its_audit_log(policy_pack: RunningPolicyPack) -> None:
    aks = resource(
        "azure-native:containerservice:ManagedCluster", "aks", {"resourceName": "aks", **AZURE_TAGS}, provider=AZURE
    )
    assert violations(policy_pack, AZURE, aks, diagnostic(aks, ["kube-audit-admin", "guard"])) == {}
    assert "kube-audit-admin" in violations(policy_pack, AZURE, aks)["aks"]
    assert "aks" in violations(policy_pack, AZURE, aks, diagnostic(aks, ["kube-apiserver"]))
    assert "aks" in violations(policy_pack, AZURE, aks, diagnostic(aks, ["kube-audit"], workspace=None))


def test_a_storage_account_needs_read_write_and_delete_logs(policy_pack: RunningPolicyPack) -> None:
    account = resource(
        "azure-native:storage:StorageAccount", "account", {"accountName": "a", **AZURE_TAGS}, provider=AZURE
    )
    every = ["StorageRead", "StorageWrite", "StorageDelete"]
    assert violations(policy_pack, AZURE, account, diagnostic(account, every)) == {}
    assert violations(policy_pack, AZURE, account, diagnostic(account, ["audit"])) == {}
    found = violations(policy_pack, AZURE, account, diagnostic(account, ["StorageWrite"]))
    assert "records StorageDelete, StorageRead" in found["account"]


@pytest.mark.parametrize(
    "type_token",
    [
        "aws:cloudtrail/trail:Trail",
        "aws:cloudwatch/logGroup:LogGroup",
        "gcp:projects/iAMAuditConfig:IAMAuditConfig",
        "gcp:logging/projectSink:ProjectSink",
        "azure-native:monitor:DiagnosticSetting",
    ],
)
def test_the_prod_plan_has_the_audit_resources(prod_plan: Plan, type_token: str) -> None:
    assert prod_plan.of_type(type_token)


def test_the_prod_plan_passes(prod_plan: Plan) -> None:
    with RunningPolicyPack(PACK_DIR, "mlplatform", "prod") as pack:
        pack.configure({})
        found = [v.message for v in pack.analyze(prod_plan) if v.policy == POLICY]
    assert found == []
