"""Model integrity as planned: who may write each model bucket, published versions kept, signatures checked by the
sync and by every model pod before Triton starts, and Triton limited to the configured backends.

The signature check itself runs for real against the storage emulators (tests/test_model_wait_emulators.py,
tests/test_model_sync_emulators.py); here: that the plan runs it everywhere it must, with the stack's key."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_azure_native as azure_native
import pulumi_gcp as gcp
import pytest
import yaml
from pulumi_azure_native import resources

from components import model_signature
from components.model_bucket import ModelBucket, ModelBucketArgs
from components.target import Target
from preflight.plan import Plan
from stacks.publishing_config import parse_publishing
from stacks.validate import ConfigError
from tests.helpers import every, program_plan

ROOT = Path(__file__).resolve().parent.parent
PROD = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]
PUBLISHING = PROD["mlplatform:modelPublishing"]
PUBLISHER = PUBLISHING["publishers"]["aws"][0]
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
WRITES = {"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"}


def bucket_policy(plan: Plan, target: str) -> list[dict[str, Any]]:
    (policy,) = [r for r in plan.of_type(BUCKET_POLICY) if r.name == f"{target}-models-tls-only"]
    document = policy.inputs["policy"]
    return list((json.loads(document) if isinstance(document, str) else document)["Statement"])


def may_write(statements: list[dict[str, Any]], principal_arn: str) -> bool:
    """Whether a principal with an IAM Allow gets PutObject of a model version through the bucket policy's Deny
    statements (a Deny naming whom it applies to, ArnLike, is the training roles' outside checkpoints/)."""
    for statement in statements:
        actions = set(statement["Action"]) if isinstance(statement["Action"], list) else {statement["Action"]}
        if statement["Effect"] != "Deny" or not actions >= WRITES or "aws:SecureTransport" in json.dumps(statement):
            continue
        applies_to = statement.get("Condition", {}).get("ArnLike", {}).get("aws:PrincipalArn")
        if applies_to is not None:
            if any(fnmatch.fnmatchcase(principal_arn, pattern) for pattern in applies_to):
                return False
            continue
        exempt = statement.get("Condition", {}).get("ArnNotLike", {}).get("aws:PrincipalArn", [])
        if not any(fnmatch.fnmatchcase(principal_arn, pattern) for pattern in exempt):
            return False
    return True


def test_only_the_publisher_writes_the_primary_bucket_and_only_the_sync_writes_a_replica(prod_plan: Plan) -> None:
    primary = prod_plan.outputs["modelSync"]["primary"]
    (replica,) = [n for n, t in prod_plan.outputs["targets"].items() if t["cloud"] == "aws" and n != primary]
    intruder = "arn:aws:iam::111122223333:role/ci-runner"
    (sync_role,) = [
        r for r in prod_plan.of_type("aws:iam/role:Role") if r.name == f"models-{replica}"
    ]  # the sync's writer role for the replica (components/model_sync/identity_aws.py)
    sync_arn = f"arn:aws:iam::111122223333:role{sync_role.inputs['path']}models-{replica}-abc123"

    primary_policy = bucket_policy(prod_plan, primary)
    assert may_write(primary_policy, PUBLISHER)
    assert not may_write(primary_policy, intruder)
    assert not may_write(primary_policy, sync_arn)  # the sync only reads the primary
    trainer = f"arn:aws:iam::111122223333:role/mlplatform/training/{primary}/{primary}-training-ml-trainer-abc"
    assert not may_write(primary_policy, trainer)  # checkpoints/ only (tests/test_training_identity.py)

    replica_policy = bucket_policy(prod_plan, replica)
    assert may_write(replica_policy, sync_arn)
    assert not may_write(replica_policy, PUBLISHER)  # publishers publish to the primary only
    assert not may_write(replica_policy, intruder)


def test_dev_without_publishers_keeps_the_tls_only_policy(dev_plan: Plan) -> None:
    for policy in every(dev_plan, BUCKET_POLICY):
        if policy.name.endswith("-models-tls-only"):
            target = policy.name.removesuffix("-models-tls-only")
            assert [s["Sid"] for s in bucket_policy(dev_plan, target)] == ["DenyInsecureTransport"]


def test_prod_aws_buckets_keep_every_object_version_for_30_days_in_governance_mode(
    prod_plan: Plan, dev_plan: Plan
) -> None:
    aws_targets = [n for n, t in prod_plan.outputs["targets"].items() if t["cloud"] == "aws"]
    locks = every(prod_plan, OBJECT_LOCK)
    assert sorted(lock.name for lock in locks) == sorted(f"{t}-models-object-lock" for t in aws_targets)
    for lock in locks:
        assert lock.inputs["objectLockEnabled"] == "Enabled"
        assert lock.inputs["rule"]["defaultRetention"] == {"mode": "GOVERNANCE", "days": 30}
    assert dev_plan.of_type(OBJECT_LOCK) == []  # dev buckets are force-destroyed: a lock would block that


def init_containers(plan: Plan) -> dict[str, list[dict[str, Any]]]:
    return {
        r.inputs["metadata"]["name"] + "@" + r.name: r.inputs["spec"]["template"]["spec"]["initContainers"]
        for r in plan.of_type(DEPLOYMENT)
        if r.inputs["spec"]["template"]["spec"]["containers"][0]["name"] == "triton"
    }


def test_every_prod_model_pod_checks_the_signature_for_its_own_version_before_triton_starts(prod_plan: Plan) -> None:
    paths = {
        version["name"]: version["path"]
        for model in PROD["mlplatform:models"]
        for version in (model["stable"], model.get("canary"))
        if version
    }
    pods = init_containers(prod_plan)
    assert pods
    for name, containers in pods.items():
        assert [c["name"] for c in containers] == ["triton-backends", "wait-for-model", "verify-model"], name
        verify = containers[2]
        command = verify["command"]
        assert command[:2] == ["python3", "-c"] and command[2] == model_signature.script()
        version = name.split("@")[0].split("-")[2]  # fraud-detection-<version>[-floor]
        assert command[3:] == [
            "version",
            PUBLISHING["publicKey"],
            paths[version],
            "/var/run/mlplatform/manifest/.complete",
            "/var/run/mlplatform/manifest/.complete.sig",
        ], name
        assert verify["image"].startswith("python:3.13-alpine@sha256:")
        assert verify["securityContext"]["runAsNonRoot"] is True
        assert verify["securityContext"]["readOnlyRootFilesystem"] is True


def test_triton_loads_backends_only_from_the_configured_set(prod_plan: Plan, dev_plan: Plan) -> None:
    for plan in (prod_plan, dev_plan):
        for deployment in every(plan, DEPLOYMENT):
            spec = deployment.inputs["spec"]["template"]["spec"]
            if spec["containers"][0]["name"] != "triton":
                continue
            triton = spec["containers"][0]
            assert "--backend-directory=/var/run/mlplatform/backends" in triton["args"]
            links = spec["initContainers"][0]["command"][-1]
            assert "ln -s /opt/tritonserver/backends/onnxruntime /var/run/mlplatform/backends/onnxruntime" in links
            assert "ln -s /opt/tritonserver/backends/tensorrt /var/run/mlplatform/backends/tensorrt" in links
            assert "python" not in links  # the Python backend runs a version's model.py
            mounts = {m["name"]: m for m in triton["volumeMounts"]}
            assert mounts["backends"]["readOnly"] is True


def test_dev_without_a_key_serves_without_the_signature_step(dev_plan: Plan) -> None:
    for name, containers in init_containers(dev_plan).items():
        assert [c["name"] for c in containers] == ["triton-backends", "wait-for-model"], name


def test_the_prod_sync_fetches_verifies_then_copies(prod_plan: Plan) -> None:
    (cronjob,) = [  # the model sync's; the training clusters run a fallback CronJob each (components/training)
        r for r in prod_plan.of_type("kubernetes:batch/v1:CronJob") if "training" not in r.inputs["metadata"]["name"]
    ]
    pod = cronjob.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    fetch, verify = pod["initContainers"]
    assert (fetch["name"], verify["name"]) == ("fetch-manifests", "verify-manifests")
    assert verify["command"] == [
        "python3",
        "/etc/model-sync/model_signature.py",
        "tree",
        PUBLISHING["publicKey"],
        "/var/run/model-sync/manifests",
    ]
    (config,) = [r for r in prod_plan.of_type("kubernetes:core/v1:ConfigMap") if r.name.startswith("models-")]
    assert config.inputs["data"]["model_signature.py"] == model_signature.script()
    manifests = {"name": "manifests", "mountPath": "/var/run/model-sync/manifests"}
    assert manifests in fetch["volumeMounts"] and manifests in pod["containers"][0]["volumeMounts"]


def one_bucket(cloud: str, publishers: tuple[str, ...]) -> Plan:
    def program() -> None:
        if cloud == "gcp":
            target = Target("t", "gcp", "europe-west4", gcp.Provider("t", project="p-12345"), gcp_project="p-12345")
        else:
            provider = azure_native.Provider("t", location="westeurope")
            group = resources.ResourceGroup("rg", opts=pulumi.ResourceOptions(provider=provider))
            target = Target("t", "azure", "westeurope", provider, azure_resource_group=group.name)
        ModelBucket("models", ModelBucketArgs(target=target, publishers=publishers, restrict_writes=True))

    return program_plan(program)


def test_a_gcs_publisher_may_add_objects_but_not_overwrite_or_delete_them() -> None:
    plan = one_bucket("gcp", ("serviceAccount:publisher@p-12345.iam.gserviceaccount.com",))
    grants = every(plan, "gcp:storage/bucketIAMMember:BucketIAMMember")
    assert {(g.inputs["role"], g.inputs["member"]) for g in grants} == {
        ("roles/storage.objectCreator", "serviceAccount:publisher@p-12345.iam.gserviceaccount.com"),
        ("roles/storage.objectViewer", "serviceAccount:publisher@p-12345.iam.gserviceaccount.com"),
    }


def test_an_azure_publisher_gets_blob_contributor_on_the_models_container_only() -> None:
    plan = one_bucket("azure", ("3f2504e0-4f89-41d3-9a0c-0305e82c3301", "group:6ba7b810-9dad-11d1-80b4-00c04fd430c8"))
    grants = every(plan, "azure-native:authorization:RoleAssignment")
    assert {(g.inputs["principalId"], g.inputs["principalType"]) for g in grants} == {
        ("3f2504e0-4f89-41d3-9a0c-0305e82c3301", "ServicePrincipal"),
        ("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "Group"),
    }
    for grant in grants:
        assert grant.inputs["roleDefinitionId"].endswith("/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe")
        assert grant.inputs["scope"].endswith("/blobServices/default/containers/models")
    (account,) = plan.of_type("azure-native:storage:StorageAccount")
    assert account.inputs["allowSharedKeyAccess"] is False  # a key would write around every role assignment


KEY = "0gC9MD/yaQGnC4QYY99fFihsGHmYJ4ud7htCB36eBXw="
TARGETS = [("aws-us-east-1", "aws"), ("gcp-us-central1", "gcp")]


@pytest.mark.parametrize(
    ("value", "key", "problem"),
    [
        ({"publishers": {"aws": [PUBLISHER]}}, "publicKey", "prod must verify"),
        ({"publicKey": "abc", "publishers": {"aws": [PUBLISHER]}}, "publicKey", "not an Ed25519 public key"),
        ({"publicKey": KEY}, "publishers.aws", "prod must name who may publish"),
        ({"publicKey": KEY, "publishers": {"aws": ["model-publisher"]}}, "publishers.aws[0]", "IAM role or user ARN"),
        ({"publicKey": KEY, "publishers": {"aws": [PUBLISHER], "azure": ["x"]}}, "publishers.azure", "no azure"),
        ({"publicKey": KEY, "publishers": {"aws": [PUBLISHER]}, "backends": []}, "backends", "at least one"),
        ({"publicKey": KEY, "publishers": {"aws": [PUBLISHER]}, "lockDays": -1}, "lockDays", ""),
    ],
)
def test_bad_publishing_config_names_its_key(value: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_publishing("mlplatform:modelPublishing", value, "prod", TARGETS, ["aws-us-east-1"])
    assert str(error.value).startswith(f"mlplatform:modelPublishing.{key}: ") and problem in str(error.value)
    assert "\n" not in str(error.value)


def test_a_gcp_publisher_needs_no_aws_entry_when_the_primary_is_on_gcp() -> None:
    config = parse_publishing(
        "k",
        {"publicKey": KEY, "publishers": {"gcp": ["serviceAccount:p@x.iam.gserviceaccount.com"]}},
        "prod",
        TARGETS,
        ["gcp-us-central1"],
    )
    assert config.publishers_for("gcp") == ("serviceAccount:p@x.iam.gserviceaccount.com",)
    assert config.backends == ("onnxruntime", "tensorrt") and config.lock_days == 30
