"""ModelBucket on every cloud: private, encrypted, versioned, expiring old versions, kept in prod."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native
import pulumi_gcp as gcp
import pytest
from pulumi_azure_native import resources

from components.model_bucket import ModelBucket, ModelBucketArgs
from components.target import Target
from preflight.plan import Plan, PlannedResource
from tests.helpers import every, only, program_plan

BUCKET_TYPES = {
    "aws": "aws:s3/bucket:Bucket",
    "gcp": "gcp:storage/bucket:Bucket",
    "azure": "azure-native:storage:StorageAccount",
}


def bucket_program(cloud: str, **args: object) -> Plan:
    """One ModelBucket on one cloud, built through the public component API."""

    def program() -> None:
        if cloud == "aws":
            target = Target("t", "aws", "eu-west-1", aws.Provider("t", region="eu-west-1"))
        elif cloud == "gcp":
            target = Target("t", "gcp", "europe-west4", gcp.Provider("t", project="p-12345"), gcp_project="p-12345")
        else:
            provider = azure_native.Provider("t", location="westeurope")
            group = resources.ResourceGroup("rg", opts=pulumi.ResourceOptions(provider=provider))
            target = Target("t", "azure", "westeurope", provider, azure_resource_group=group.name)
        bucket = ModelBucket("models", ModelBucketArgs(target=target, **args))  # type: ignore[arg-type]
        pulumi.export("uri", bucket.uri)
        pulumi.export("servingUri", bucket.serving_uri)

    return program_plan(program)


@pytest.fixture(scope="module", params=["aws", "gcp", "azure"])
def default_bucket(request: pytest.FixtureRequest) -> tuple[str, Plan]:
    return request.param, bucket_program(request.param)


def test_uris_name_the_bucket_as_each_cloud_and_triton_do(default_bucket: tuple[str, Plan]) -> None:
    cloud, plan = default_bucket
    uri, serving = plan.outputs["uri"], plan.outputs["servingUri"]
    if cloud == "aws":
        bucket = only(plan, BUCKET_TYPES["aws"])
        assert uri == serving
        assert uri.startswith("s3://models-")
        assert bucket.custom
    elif cloud == "gcp":
        assert uri == serving
        assert uri.startswith("gs://models-")
    else:
        account = only(plan, BUCKET_TYPES["azure"]).inputs["accountName"]
        assert uri == f"https://{account}.blob.core.windows.net/models"
        assert serving == f"as://{account}/models"
        assert 3 <= len(account) <= 24 and account.isalnum() and account.islower()


def test_defaults_are_safe(default_bucket: tuple[str, Plan]) -> None:
    cloud, plan = default_bucket
    bucket = only(plan, BUCKET_TYPES[cloud])
    assert bucket.inputs.get("forceDestroy", False) is False
    assert not bucket.protect  # protection is the caller's choice (prod), see test_prod_keeps_data
    if cloud == "azure":
        assert bucket.inputs["sku"]["name"] == "Standard_LRS"


def test_s3_is_private_encrypted_versioned_and_tls_only() -> None:
    plan = bucket_program("aws", noncurrent_version_days=9)
    block = only(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(
        block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    ownership = only(plan, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"

    encryption = only(
        plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ).inputs["rules"][0]
    key = only(plan, "aws:kms/key:Key")
    assert encryption["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert encryption["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"].startswith("arn:aws:kms:eu-west-1:")
    assert key.inputs["enableKeyRotation"] is True

    versioning = only(plan, "aws:s3/bucketVersioning:BucketVersioning").inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    lifecycle = only(plan, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    rule = lifecycle.inputs["rules"][0]
    assert rule["status"] == "Enabled"
    assert rule["noncurrentVersionExpiration"]["noncurrentDays"] == 9
    assert only(plan, "aws:s3/bucketVersioning:BucketVersioning").urn in lifecycle.dependencies

    policy = json.loads(only(plan, "aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    deny = policy["Statement"][0]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_gcs_is_uniform_private_versioned() -> None:
    plan = bucket_program("gcp", noncurrent_version_days=9)
    bucket = only(plan, BUCKET_TYPES["gcp"]).inputs
    assert bucket["uniformBucketLevelAccess"] is True
    assert bucket["publicAccessPrevention"] == "enforced"
    assert bucket["versioning"] == {"enabled": True}
    assert bucket["location"] == "EUROPE-WEST4"
    assert bucket["project"] == "p-12345"
    delete = [r for r in bucket["lifecycleRules"] if r["action"]["type"] == "Delete"]
    assert delete[0]["condition"]["daysSinceNoncurrentTime"] == 9


def test_azure_account_is_locked_down_and_container_private() -> None:
    plan = bucket_program("azure", noncurrent_version_days=9, zone_redundant=True)
    account = only(plan, BUCKET_TYPES["azure"]).inputs
    assert account["enableHttpsTrafficOnly"] is True
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["allowBlobPublicAccess"] is False
    assert account["allowSharedKeyAccess"] is False
    assert account["encryption"]["services"]["blob"]["enabled"] is True
    assert account["sku"]["name"] == "Standard_ZRS"

    service = only(plan, "azure-native:storage:BlobServiceProperties").inputs
    assert service["isVersioningEnabled"] is True
    assert service["deleteRetentionPolicy"] == {"enabled": True, "days": 9}
    assert only(plan, "azure-native:storage:BlobContainer").inputs["publicAccess"] == "None"
    policy = only(plan, "azure-native:storage:ManagementPolicy").inputs["policy"]
    delete = policy["rules"][0]["definition"]["actions"]["version"]["delete"]
    assert delete == {"daysAfterCreationGreaterThan": 9}


LOCK = "azure-native:authorization:ManagementLockByScope"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"


def test_retained_azure_account_is_locked_against_deletion() -> None:
    """Pulumi's protect guards this program only; a CanNotDelete lock guards the account from anyone."""
    retained = bucket_program("azure", retain=True)
    account = only(retained, BUCKET_TYPES["azure"])
    lock = only(retained, LOCK)
    assert lock.inputs["level"] == "CanNotDelete"
    assert lock.inputs["scope"].endswith(
        f"/providers/Microsoft.Storage/storageAccounts/{account.inputs['accountName']}"
    )
    assert account.urn in lock.dependencies
    assert not lock.protect  # turning retention off must be able to remove it
    assert not bucket_program("azure").of_type(LOCK)


def test_prod_keeps_the_azure_resource_group_and_locks_what_is_in_it_not_the_group(
    dev_plan: Plan, prod_every_database_plan: Plan
) -> None:
    """Deleting the group deletes its databases and buckets; a lock on the group would block every
    replacement of a node pool or subnet in it, so the group is protected and its data locked (prod with a database
    on every target: the shipped prod keeps one, on AWS)."""
    (group,) = prod_every_database_plan.of_type(RESOURCE_GROUP)
    assert group.protect and group.retain_on_delete
    assert not any(r.protect or r.retain_on_delete for r in dev_plan.of_type(RESOURCE_GROUP))
    scopes = [lock.inputs["scope"] for lock in prod_every_database_plan.of_type(LOCK)]
    assert all("/providers/" in scope for scope in scopes)  # resource locks, none on a group
    locked = {scope.split("/providers/", 1)[1].rsplit("/", 1)[0] for scope in scopes}
    assert {"Microsoft.Storage/storageAccounts", "Microsoft.DBforPostgreSQL/flexibleServers"} <= locked
    assert not dev_plan.of_type(LOCK)


def stateful(plan: Plan) -> list[PlannedResource]:
    kept_types = {*BUCKET_TYPES.values(), "aws:kms/key:Key", "azure-native:storage:BlobContainer"}
    return [r for r in plan.resources if r.type in kept_types]


def test_prod_keeps_data(prod_plan: Plan) -> None:
    kept = stateful(prod_plan)
    assert {prod_plan.target_of(r) for r in kept} == {
        "aws-us-east-1",
        "aws-eu-west-1",
        "gcp-us-central1",
        "azure-swedencentral",
    }
    assert all(r.protect and r.retain_on_delete for r in kept)
    assert all(r.inputs.get("forceDestroy", False) is False for r in kept)


def test_dev_can_be_torn_down(dev_plan: Plan) -> None:
    kept = stateful(dev_plan)
    assert kept and not any(r.protect or r.retain_on_delete for r in kept)
    buckets = [r for r in kept if r.type in (BUCKET_TYPES["aws"], BUCKET_TYPES["gcp"])]
    assert all(r.inputs["forceDestroy"] is True for r in buckets)


def test_every_target_has_a_bucket_and_an_output(stack_plan: Plan) -> None:
    footprints = [r.name for r in stack_plan.of_type("mlplatform:platform:Footprint")]
    buckets = stack_plan.of_type("mlplatform:storage:ModelBucket")
    assert sorted(stack_plan.target_of(b) for b in buckets) == sorted(footprints)
    assert sorted(stack_plan.outputs["bucketUris"]) == sorted(footprints)
    for name, uri in stack_plan.outputs["bucketUris"].items():
        cloud = stack_plan.outputs["targets"][name]["cloud"]
        assert uri.startswith({"aws": "s3://", "gcp": "gs://", "azure": "https://"}[cloud])


def test_noncurrent_version_expiry_follows_the_environment(dev_plan: Plan, prod_plan: Plan) -> None:
    """Pulumi.yaml's default (0) stands for the environment's own: 7 days in dev, 30 in prod."""
    for plan, days in ((dev_plan, 7), (prod_plan, 30)):
        lifecycles = every(plan, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
        # The model buckets' rules (the audit trail's log bucket expires its logs instead).
        for lifecycle in [rule for rule in lifecycles if rule.name.endswith("-models-lifecycle")]:
            assert lifecycle.inputs["rules"][0]["noncurrentVersionExpiration"]["noncurrentDays"] == days
        for bucket in every(plan, BUCKET_TYPES["gcp"]):
            assert bucket.inputs["lifecycleRules"][0]["condition"]["daysSinceNoncurrentTime"] == days
