"""The training identity in the prod plan: each team's trainer writes its checkpoints under `checkpoints/<team>/` of
its target's model bucket and nowhere else, on every cloud, through the publishers' write fence (docs/SECURITY.md,
"Model integrity"); the jobs carry what each cloud's webhook or SDK needs."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from preflight.plan import Plan, PlannedResource

AWS, GCP, AZURE = "aws-us-east-1", "gcp-us-central1", "azure-swedencentral"  # prod's training targets
PREFIX = "checkpoints/ml/"  # the one team, `ml`


def _named(plan: Plan, type_token: str, name: str) -> PlannedResource:
    [found] = [r for r in plan.of_type(type_token) if r.name == name]
    return found


def _denied(policy: dict[str, Any], principal: str, key: str, bucket_arn: str) -> bool:
    """Whether the bucket policy's Deny statements refuse `principal` an s3:PutObject on `key` (the IAM logic of the
    statements the program writes: Resource/NotResource with wildcards, ArnLike/ArnNotLike on aws:PrincipalArn)."""
    arn = f"{bucket_arn}/{key}"
    for statement in policy["Statement"]:
        if statement["Effect"] != "Deny" or "s3:PutObject" not in statement["Action"]:
            continue
        if "Resource" in statement and not fnmatch.fnmatchcase(arn, statement["Resource"]):
            continue
        if "NotResource" in statement and fnmatch.fnmatchcase(arn, statement["NotResource"]):
            continue
        condition = statement.get("Condition", {})
        if "ArnNotLike" in condition:
            patterns = condition["ArnNotLike"]["aws:PrincipalArn"]
            if any(fnmatch.fnmatchcase(principal, p) for p in patterns):
                continue
        if "ArnLike" in condition:
            patterns = condition["ArnLike"]["aws:PrincipalArn"]
            if not any(fnmatch.fnmatchcase(principal, p) for p in patterns):
                continue
        return True
    return False


def test_the_aws_trainer_writes_its_prefix_only_and_the_fence_lets_it_nowhere_else(prod_plan: Plan) -> None:
    role = _named(prod_plan, "aws:iam/role:Role", f"{AWS}-training-ml-trainer")
    assert role.inputs["path"] == f"/mlplatform/training/{AWS}/"
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert "system:serviceaccount:train-ml:trainer" in trust.values()
    grants = json.loads(
        _named(prod_plan, "aws:iam/rolePolicy:RolePolicy", f"{AWS}-training-ml-trainer").inputs["policy"]
    )
    writes = next(s for s in grants["Statement"] if s["Sid"] == "WriteCheckpoints")
    assert writes["Resource"].endswith(f"/{PREFIX}*") and "s3:PutObject" in writes["Action"]
    listing = next(s for s in grants["Statement"] if s["Sid"] == "ListCheckpoints")
    assert listing["Condition"] == {"StringLike": {"s3:prefix": [f"{PREFIX}*"]}}

    [bucket_policy] = [
        r for r in prod_plan.of_type("aws:s3/bucketPolicy:BucketPolicy") if r.name.startswith(f"{AWS}-models")
    ]
    policy = json.loads(bucket_policy.inputs["policy"])
    bucket_arn = policy["Statement"][0]["Resource"][0]
    trainer = f"arn:aws:iam::123456789012:role/mlplatform/training/{AWS}/{AWS}-training-ml-trainer-1a2b"
    assert not _denied(policy, trainer, f"{PREFIX}job/step-1/state.pt", bucket_arn)
    assert _denied(policy, trainer, "fraud-detection/3/model.onnx", bucket_arn)  # a model version: refused
    assert _denied(policy, trainer, "fraud-detection/3/.complete", bucket_arn)
    anyone = "arn:aws:iam::123456789012:role/someone-else"
    assert _denied(policy, anyone, f"{PREFIX}job/latest", bucket_arn)  # the prefix is not open to all
    publisher = next(
        p
        for s in policy["Statement"]
        if s.get("Sid") == "DenyWritesButPublishers"
        for p in s["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
        if "training" not in p
    )
    assert not _denied(policy, publisher, "fraud-detection/3/model.onnx", bucket_arn)  # publishing unchanged


def test_the_gcp_trainer_is_granted_on_its_prefix_by_an_iam_condition(prod_plan: Plan) -> None:
    grant = _named(prod_plan, "gcp:storage/bucketIAMMember:BucketIAMMember", f"{GCP}-training-ml-trainer")
    assert grant.inputs["role"] == "roles/storage.objectUser"
    assert grant.inputs["member"].endswith("/subject/ns/train-ml/sa/trainer")
    expression = grant.inputs["condition"]["expression"]
    assert f'/objects/{PREFIX}")' in expression
    assert f'objectListPrefix", "").startsWith("{PREFIX}")' in expression
    # No other grant in the target names the trainer.
    others = [
        r
        for r in prod_plan.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
        if "train-ml" in str(r.inputs.get("member")) and r is not grant
    ]
    assert others == []


def test_the_azure_trainer_is_a_contributor_on_its_prefix_by_an_abac_condition(prod_plan: Plan) -> None:
    grant = _named(prod_plan, "azure-native:authorization:RoleAssignment", f"{AZURE}-training-ml-trainer")
    assert grant.inputs["roleDefinitionId"].endswith("/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe")
    assert "/blobServices/default/containers/" in grant.inputs["scope"]  # the models container, not the account
    assert grant.inputs["conditionVersion"] == "2.0"
    condition = grant.inputs["condition"]
    assert f"blobs:path] StringStartsWith '{PREFIX}'" in condition
    assert f"blobs:prefix] StringStartsWith '{PREFIX}'" in condition
    for action in ("blobs/write", "blobs/add/action", "blobs/delete"):
        assert f"!(ActionMatches{{'Microsoft.Storage/storageAccounts/blobServices/containers/{action}'}})" in condition
    credential = _named(
        prod_plan, "azure-native:managedidentity:FederatedIdentityCredential", f"{AZURE}-training-ml-trainer"
    )
    assert credential.inputs["subject"] == "system:serviceaccount:train-ml:trainer"


def test_each_trainer_service_account_names_its_identity_and_the_offers_say_what_pods_carry(prod_plan: Plan) -> None:
    accounts = {
        r.name.removesuffix("-training-ml-trainer"): r.inputs["metadata"].get("annotations") or {}
        for r in prod_plan.of_type("kubernetes:core/v1:ServiceAccount")
        if r.inputs["metadata"]["name"] == "trainer"
    }
    assert set(accounts) == {AWS, GCP, AZURE}
    assert "eks.amazonaws.com/role-arn" in accounts[AWS]
    assert "azure.workload.identity/client-id" in accounts[AZURE]
    assert accounts[GCP] == {}  # direct federation: no annotation
    offers = prod_plan.outputs["trainingOffers"]
    assert offers[AZURE]["teams"]["ml"]["podLabels"] == {"azure.workload.identity/use": "true"}
    assert offers[AWS]["teams"]["ml"]["env"] == {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}
    assert offers[GCP]["teams"]["ml"] == {"namespace": "train-ml", "queue": "ml", "podLabels": {}, "env": {}}


def test_a_job_placed_on_aks_carries_the_workload_identity_label_and_its_teams_checkpoint_prefix(
    prod_plan: Plan,
) -> None:
    from mlplatform_client.jobs.manifest import render_job
    from mlplatform_client.jobs.offers import offers_from_outputs
    from mlplatform_client.jobs.placement import JobRequest, place

    offers = offers_from_outputs(json.loads(json.dumps(prod_plan.outputs)))
    request = JobRequest("trainer@sha256:" + "0" * 64, 1, "T4", 2, ("python", "train.py"), use_spot=True)
    placement = place(request, offers)
    assert placement.offer.target == AZURE  # the cheapest T4 spot (prices.yaml)
    job = render_job(request, placement, "j", placement.offer.teams[0])
    template = job["spec"]["template"]
    assert template["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    env = {e["name"]: e["value"] for e in template["spec"]["containers"][0]["env"]}
    assert env["MLPLATFORM_CHECKPOINT_URI"].endswith(f"/{PREFIX}j")
