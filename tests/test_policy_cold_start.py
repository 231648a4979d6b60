"""The pack refuses a prod stack whose GPU replicas start slower than its cold-start budget (mandatory), and only
warns on a dev stack (advisory), over the analyzer protocol as `pulumi preview --policy-pack` runs it."""

from __future__ import annotations

from typing import Any

from preflight.plan import Plan
from preflight.policy_packs import RunningPolicyPack
from tests.policy_helpers import PACK_DIR, REQUIRED_TAGS, analyze, aws_provider, resource

MANDATORY, ADVISORY = "cold-start-within-budget", "cold-start-within-budget-advisory"
# Kubernetes objects carry no environment tag: a tagged cloud resource in the graph says which environment it is.
PROD_PROVIDER = aws_provider(name="aws-prod")
DEV_PROVIDER = aws_provider({**REQUIRED_TAGS, "environment": "dev"}, name="aws-dev")
PROD = [PROD_PROVIDER, resource("aws:s3/bucket:Bucket", "models", {"bucket": "m-1"}, provider=PROD_PROVIDER)]
DEV = [DEV_PROVIDER, resource("aws:s3/bucket:Bucket", "models", {"bucket": "m-1"}, provider=DEV_PROVIDER)]


def deployment(annotations: dict[str, str]) -> dict[str, Any]:
    metadata = {"name": "fraud-detection-v1", "annotations": annotations}
    return resource("kubernetes:apps/v1:Deployment", "fraud-detection-v1", {"metadata": metadata, "spec": {}})


def levels(pack: RunningPolicyPack, *objects: dict[str, Any]) -> dict[str, str]:
    return {v.policy: v.level for v in analyze(pack, *objects) if v.policy in (MANDATORY, ADVISORY)}


def slow(seconds: int, budget: int) -> dict[str, Any]:
    return deployment(
        {"mlplatform.io/cold-start-seconds": str(seconds), "mlplatform.io/cold-start-budget-seconds": str(budget)}
    )


def test_a_prod_replica_over_its_budget_is_refused(policy_pack: RunningPolicyPack) -> None:
    found = [v for v in analyze(policy_pack, *PROD, slow(429, 180)) if v.policy == MANDATORY]
    assert [v.level for v in found] == ["mandatory"]
    assert "429 s" in found[0].message and "180 s budget" in found[0].message


def test_a_replica_at_its_budget_passes(policy_pack: RunningPolicyPack) -> None:
    assert levels(policy_pack, *PROD, slow(180, 180)) == {}
    assert levels(policy_pack, *DEV, slow(180, 180)) == {}


def test_dev_only_hears_about_it(policy_pack: RunningPolicyPack) -> None:
    assert levels(policy_pack, *DEV, slow(429, 180)) == {ADVISORY: "advisory"}


def test_a_deployment_without_the_figure_is_not_judged(policy_pack: RunningPolicyPack) -> None:
    assert levels(policy_pack, *PROD, deployment({})) == {}


def test_the_real_plans_carry_the_figure_the_pack_judges(dev_plan: Plan, prod_plan: Plan) -> None:
    """dev keeps the 180 s default and hears about its 429-440 s replicas; prod keeps it too and passes: its first
    replicas start on warm spares in 20-21 s (tests/test_coldstart_warm_spares.py)."""
    with RunningPolicyPack(PACK_DIR, "mlplatform", "dev") as pack:
        pack.configure({})
        dev = {v.policy for v in pack.analyze(dev_plan)}
    with RunningPolicyPack(PACK_DIR, "mlplatform", "prod") as pack:
        pack.configure({})
        prod = {v.policy for v in pack.analyze(prod_plan)}
    assert ADVISORY in dev and MANDATORY not in dev
    assert not {MANDATORY, ADVISORY} & prod
