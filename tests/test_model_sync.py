"""Model sync as planned: one writer (the primary's bucket), one writer identity per replica scoped to its bucket and
trusting only the sync job of the primary cluster, and the CronJob in the primary cluster only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from components.model_sync import SUBJECT
from components.rclone import IMAGE
from preflight.edges import INTO_MODEL_SYNC, allowance, edges_between_targets, in_model_sync
from preflight.plan import Plan, PlannedResource
from stacks.sync_config import SyncConfig, parse_sync, schedule_problem
from stacks.validate import ConfigError
from tests import k8s_schemas
from tests.helpers import stack_plan

MODEL_SYNC = "mlplatform:sync:ModelSync"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
POOL_PROVIDER = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"
BUCKET_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
FEDERATED_CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
CRONJOB = "kubernetes:batch/v1:CronJob"
BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"


def sync_resources(plan: Plan) -> list[PlannedResource]:
    return [resource for resource in plan.resources if resource.custom and in_model_sync(plan, resource)]


def made_in(plan: Plan, resource: PlannedResource) -> str | None:
    """The target whose explicit provider made the resource."""
    provider = plan.get(resource.provider) if resource.provider else None
    return plan.target_of(provider) if provider is not None else None


def of_type(resources: list[PlannedResource], type_token: str) -> Iterator[PlannedResource]:
    return (resource for resource in resources if resource.type == type_token)


def bucket_name(plan: Plan, target: str) -> str:
    return str(plan.outputs["bucketUris"][target]).split("://", 1)[1].split("/")[0]


def statements(policy: Any) -> list[dict[str, Any]]:
    document = json.loads(policy) if isinstance(policy, str) else policy
    return list(document["Statement"])


def test_prod_syncs_from_the_first_target_to_every_other(prod_plan: Plan) -> None:
    assert len(prod_plan.of_type(MODEL_SYNC)) == 1
    targets = list(prod_plan.outputs["targets"])
    sync = prod_plan.outputs["modelSync"]
    assert sync["primary"] == "aws-us-east-1" and sorted(sync["replicas"]) == sorted(set(targets) - {"aws-us-east-1"})


def test_the_cronjob_runs_in_the_primary_cluster_only_and_is_valid(stack_plan: Plan) -> None:
    primary = stack_plan.outputs["modelSync"]["primary"]
    kube = [r for r in sync_resources(stack_plan) if r.type.startswith("kubernetes:")]
    assert {made_in(stack_plan, r) for r in kube} == {primary}
    assert [r.type for r in kube].count(CRONJOB) == 1
    manifests = [dict(r.inputs) for r in kube]
    assert not k8s_schemas.placeholders(manifests)
    errors, custom = k8s_schemas.split(manifests)
    assert errors == [] and custom == []


def test_the_job_is_one_writer_at_a_time_bounded_and_locked_down(prod_plan: Plan) -> None:
    cronjob = next(of_type(sync_resources(prod_plan), CRONJOB)).inputs["spec"]
    job = cronjob["jobTemplate"]["spec"]
    pod = job["template"]["spec"]
    (container,) = pod["containers"]
    assert cronjob["concurrencyPolicy"] == "Forbid" and cronjob["schedule"] == "*/10 * * * *"
    assert job["activeDeadlineSeconds"] > 0 and job["backoffLimit"] >= 1
    assert pod["restartPolicy"] == "Never" and pod["nodeSelector"] == {"mlplatform.io/role": "system"}
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["image"] == IMAGE and IMAGE.startswith("rclone/rclone:") and "@sha256:" in IMAGE
    assert {"requests", "limits"} <= container["resources"].keys()


def test_each_aws_replica_has_a_role_trusting_only_the_job_and_writing_only_its_bucket(prod_plan: Plan) -> None:
    primary = prod_plan.outputs["modelSync"]["primary"]
    issuer = prod_plan.outputs["clusters"][primary]["oidcIssuer"].removeprefix("https://")
    resources = sync_resources(prod_plan)
    roles = {made_in(prod_plan, r): r for r in of_type(resources, ROLE)}
    policies = {made_in(prod_plan, r): r for r in of_type(resources, ROLE_POLICY)}
    aws_targets = [name for name, t in prod_plan.outputs["targets"].items() if t["cloud"] == "aws"]
    assert set(roles) == set(policies) == set(aws_targets)
    for target, role in roles.items():
        (trust,) = statements(role.inputs["assumeRolePolicy"])
        assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert trust["Principal"]["Federated"].endswith(f":oidc-provider/{issuer}")
        assert trust["Condition"]["StringEquals"] == {f"{issuer}:sub": SUBJECT, f"{issuer}:aud": "sts.amazonaws.com"}
        bucket_arn = f"arn:aws:s3:::{bucket_name(prod_plan, target)}"
        granted = statements(policies[target].inputs["policy"])
        s3_resources = {r for s in granted if _list(s["Action"])[0].startswith("s3:") for r in _list(s["Resource"])}
        assert s3_resources == {bucket_arn, f"{bucket_arn}/*"}  # this target's bucket, nothing else
        region = prod_plan.outputs["targets"][target]["region"]
        kms = [s for s in granted if _list(s["Action"])[0].startswith("kms:")]
        assert len(kms) == 1 and str(kms[0]["Resource"]).startswith(f"arn:aws:kms:{region}:")
        assert kms[0]["Condition"] == {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}
        actions = {a for s in granted for a in _list(s["Action"])}
        if target == primary:  # the source is only read
            assert actions == {"s3:ListBucket", "s3:GetObject", "kms:Decrypt"}
        else:
            assert {"s3:PutObject", "s3:DeleteObject", "kms:GenerateDataKey"} <= actions
            assert not any(a.endswith("*") for a in actions)


def test_the_gcp_replica_federates_the_primary_issuer_for_the_job_only(prod_plan: Plan) -> None:
    primary = prod_plan.outputs["modelSync"]["primary"]
    resources = sync_resources(prod_plan)
    (provider,) = of_type(resources, POOL_PROVIDER)
    assert provider.inputs["oidc"]["issuerUri"] == prod_plan.outputs["clusters"][primary]["oidcIssuer"]
    assert provider.inputs["attributeCondition"] == f"assertion.sub == '{SUBJECT}'"
    assert provider.inputs["attributeMapping"] == {"google.subject": "assertion.sub"}
    (grant,) = of_type(resources, BUCKET_MEMBER)
    gcp_target = made_in(prod_plan, grant)
    assert gcp_target is not None and prod_plan.outputs["targets"][gcp_target]["cloud"] == "gcp"
    assert grant.inputs["bucket"] == bucket_name(prod_plan, gcp_target)
    assert grant.inputs["role"] == "roles/storage.objectUser"
    assert grant.inputs["member"].startswith("principal://iam.googleapis.com/projects/")
    assert grant.inputs["member"].endswith(f"/subject/{SUBJECT}")


def test_the_azure_replica_trusts_the_primary_issuer_and_writes_only_its_container(prod_plan: Plan) -> None:
    primary = prod_plan.outputs["modelSync"]["primary"]
    resources = sync_resources(prod_plan)
    (credential,) = of_type(resources, FEDERATED_CREDENTIAL)
    assert credential.inputs["issuer"] == prod_plan.outputs["clusters"][primary]["oidcIssuer"]
    assert (credential.inputs["subject"], credential.inputs["audiences"]) == (SUBJECT, ["api://AzureADTokenExchange"])
    (grant,) = of_type(resources, ROLE_ASSIGNMENT)
    azure_target = made_in(prod_plan, grant)
    account = str(prod_plan.outputs["servingUris"][azure_target]).removeprefix("as://").split("/")[0]
    assert grant.inputs["scope"].endswith(f"/storageAccounts/{account}/blobServices/default/containers/models")
    assert grant.inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{BLOB_CONTRIBUTOR}")


def test_edges_leave_model_sync_only_toward_the_primary_and_each_writers_own_target(stack_plan: Plan) -> None:
    """Each writer identity is made in its replica and reads only the primary (its issuer): no third cloud, and
    nothing in a target waits on ModelSync, so the clouds still deploy in parallel."""
    primary = stack_plan.outputs["modelSync"]["primary"]
    edges = [e for e in edges_between_targets(stack_plan) if in_model_sync(stack_plan, stack_plan.get(e.from_urn))]
    assert edges and {allowance(stack_plan, e) for e in edges} == {INTO_MODEL_SYNC}
    into_sync = [
        e for e in edges_between_targets(stack_plan) if e.from_target is not None and e.kind != "parent"
        and in_model_sync(stack_plan, stack_plan.get(e.to_urn))
    ]  # fmt: skip
    assert into_sync == []
    for resource in sync_resources(stack_plan):
        home = made_in(stack_plan, resource)
        reached = {e.to_target for e in edges if e.from_urn == resource.urn}
        if resource.type != CRONJOB and not resource.type.startswith("kubernetes:"):
            assert reached <= {home, primary}, resource.urn


def _list(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


# --- other primaries ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gke_primary_plan() -> Plan:
    """GKE is the primary and GlobalDns is on: the AWS writer reuses GlobalDns's IAM OIDC provider for the issuer."""
    return stack_plan(
        [
            {"cloud": "gcp", "region": "us-central1", "project": "mlplatform-dev"},
            {"cloud": "aws", "region": "us-east-1"},
        ],
        dns={"zone": "ml.example.com", "mode": "latency"},
    )


@pytest.fixture(scope="module")
def aks_primary_plan() -> Plan:
    """AKS is the primary and there is no GlobalDns: ModelSync makes the one IAM OIDC provider for its issuer."""
    return stack_plan([{"cloud": "azure", "region": "eastus"}, {"cloud": "aws", "region": "us-east-1"}])


def test_a_gke_primary_reads_its_bucket_by_gke_workload_identity(gke_primary_plan: Plan) -> None:
    resources = sync_resources(gke_primary_plan)
    (grant,) = of_type(resources, BUCKET_MEMBER)
    assert grant.inputs["role"] == "roles/storage.objectViewer"
    assert grant.inputs["member"].endswith("/subject/ns/model-sync/sa/model-sync")
    assert list(of_type(resources, POOL_PROVIDER)) == []  # no pool: the cluster's own workload pool


def test_one_iam_oidc_provider_per_issuer_when_global_dns_has_one(gke_primary_plan: Plan) -> None:
    issuer = gke_primary_plan.outputs["clusters"]["gcp-us-central1"]["oidcIssuer"]
    providers = [r for r in gke_primary_plan.of_type(OIDC_PROVIDER) if r.inputs["url"] == issuer]
    assert len(providers) == 1 and not in_model_sync(gke_primary_plan, providers[0])
    (writer,) = of_type(sync_resources(gke_primary_plan), ROLE)
    (trust,) = statements(writer.inputs["assumeRolePolicy"])
    assert providers[0].urn in writer.dependencies
    assert trust["Principal"]["Federated"].endswith(f":oidc-provider/{issuer.removeprefix('https://')}")


def test_an_aks_primary_without_global_dns_gets_one_iam_oidc_provider_from_model_sync(aks_primary_plan: Plan) -> None:
    issuer = aks_primary_plan.outputs["clusters"]["azure-eastus"]["oidcIssuer"]
    providers = [r for r in aks_primary_plan.of_type(OIDC_PROVIDER) if r.inputs["url"] == issuer]
    assert len(providers) == 1 and in_model_sync(aks_primary_plan, providers[0])
    resources = sync_resources(aks_primary_plan)
    (reader,) = of_type(resources, ROLE_ASSIGNMENT)  # the primary's own identity reads its container
    assert reader.inputs["roleDefinitionId"].endswith("/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1")
    cronjob = next(of_type(resources, CRONJOB)).inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    env = {item["name"] for item in cronjob["containers"][0]["env"]}
    assert {"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE"} <= env


def test_a_single_target_stack_has_no_sync() -> None:
    plan = stack_plan([{"cloud": "aws", "region": "us-east-1"}])
    assert plan.of_type(MODEL_SYNC) == [] and "modelSync" not in plan.outputs


# --- config ---------------------------------------------------------------------------------------------------

TARGETS = ["aws-us-east-1", "gcp-us-central1", "azure-eastus"]


def test_config_defaults_to_the_first_target_every_ten_minutes() -> None:
    assert parse_sync("mlplatform:modelSync", None, TARGETS) == SyncConfig("aws-us-east-1", "*/10 * * * *")
    assert parse_sync("k", {"primary": "azure-eastus", "schedule": "@hourly"}, TARGETS) == SyncConfig(
        "azure-eastus", "@hourly"
    )
    assert parse_sync("k", {"enabled": False}, TARGETS) is None
    assert parse_sync("k", None, TARGETS[:1]) is None


@pytest.mark.parametrize(
    ("value", "key", "message"),
    [
        ({"primary": "nowhere"}, "k.primary", "not a target"),
        ({"schedule": "*/10 * * *"}, "k.schedule", "five fields"),
        ({"schedule": "61 * * * *"}, "k.schedule", "minute"),
        ({"schedule": "@every 5m"}, "k.schedule", "unknown macro"),
        ({"scheduel": "@daily"}, "k.scheduel", "unknown key"),
        ({"enabled": "yes"}, "k.enabled", "true or false"),
    ],
)
def test_config_errors_name_their_key(value: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_sync("k", value, TARGETS)
    assert error.value.key == key and message in error.value.problem


def test_a_single_target_refuses_sync_settings() -> None:
    with pytest.raises(ConfigError, match="one target"):
        parse_sync("k", {"schedule": "@daily"}, TARGETS[:1])


@pytest.mark.parametrize("schedule", ["*/10 * * * *", "0 3 * * MON-FRI", "5,35 */2 1-15 JAN,JUL 0", "@daily"])
def test_kubernetes_schedules_are_accepted(schedule: str) -> None:
    assert schedule_problem(schedule) is None
