"""The pack warns (advisory) on a prod image pinned by tag only, over the analyzer protocol, as
`pulumi preview --policy-pack` would run it (issue 19, finding 6)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from preflight.plan import Plan
from preflight.policy_packs import RunningPolicyPack
from tests.policy_helpers import PACK_DIR, REQUIRED_TAGS, analyze, aws_provider, resource

POLICY = "prod-images-pinned-by-digest"
# Kubernetes objects carry no environment tag: a tagged cloud resource in the graph says which environment it is.
PROD_PROVIDER = aws_provider(name="aws-prod")
DEV_PROVIDER = aws_provider({**REQUIRED_TAGS, "environment": "dev"}, name="aws-dev")
PROD = [PROD_PROVIDER, resource("aws:s3/bucket:Bucket", "models", {"bucket": "m-1"}, provider=PROD_PROVIDER)]
DEV = [DEV_PROVIDER, resource("aws:s3/bucket:Bucket", "models", {"bucket": "m-1"}, provider=DEV_PROVIDER)]
DIGEST = "sha256:" + "0123456789abcdef" * 4
TAGGED = "nvcr.io/nvidia/tritonserver:26.05-py3"
PINNED = f"rclone/rclone:1.75.0@{DIGEST}"


def violations(pack: RunningPolicyPack, *objects: dict[str, Any]) -> dict[str, str]:
    found = [v for v in analyze(pack, *objects) if v.policy == POLICY]
    assert {v.level for v in found} <= {"advisory"}
    return {v.urn.rsplit("::", 1)[1]: v.message for v in found}


def pod(image: str, init: str = PINNED) -> dict[str, Any]:
    return {"initContainers": [{"name": "wait", "image": init}], "containers": [{"name": "main", "image": image}]}


def deployment(image: str, init: str = PINNED) -> dict[str, Any]:
    spec = {"template": {"spec": pod(image, init)}}
    return resource("kubernetes:apps/v1:Deployment", "server", {"spec": spec})


def test_a_tag_only_container_in_prod_is_named(policy_pack: RunningPolicyPack) -> None:
    found = violations(policy_pack, *PROD, deployment(TAGGED))
    assert set(found) == {"server"}
    assert TAGGED in found["server"] and "pinned by tag only" in found["server"]


def test_an_init_container_counts_too(policy_pack: RunningPolicyPack) -> None:
    found = violations(policy_pack, *PROD, deployment(PINNED, init="busybox:1.38"))
    assert "busybox:1.38" in found["server"]


def test_images_pinned_by_digest_pass(policy_pack: RunningPolicyPack) -> None:
    assert violations(policy_pack, *PROD, deployment(PINNED)) == {}
    assert violations(policy_pack, *PROD, deployment(f"nvcr.io/nvidia/tritonserver@{DIGEST}")) == {}


def test_dev_is_not_held_to_it(policy_pack: RunningPolicyPack) -> None:
    assert violations(policy_pack, *DEV, deployment(TAGGED)) == {}


@pytest.mark.parametrize(
    ("type_token", "inputs"),
    [
        ("kubernetes:batch/v1:CronJob", {"spec": {"jobTemplate": {"spec": {"template": {"spec": pod(TAGGED)}}}}}),
        ("kubernetes:apps/v1:DaemonSet", {"spec": {"template": {"spec": pod(TAGGED)}}}),
        ("kubernetes:core/v1:Pod", {"spec": pod(TAGGED)}),
        ("kubernetes:monitoring.coreos.com/v1:Prometheus", {"spec": {"image": TAGGED}}),
        ("kubernetes:helm.sh/v3:Release", {"chart": "x", "values": {"sidecar": {"image": TAGGED}}}),
    ],
)
def test_every_kind_that_names_an_image_is_read(
    policy_pack: RunningPolicyPack, type_token: str, inputs: dict[str, Any]
) -> None:
    found = violations(policy_pack, *PROD, resource(type_token, "thing", inputs))
    assert TAGGED in found["thing"]


def test_the_prod_plan_names_exactly_its_tag_only_images(prod_plan: Plan) -> None:
    """Triton (no citable digest) is named on every model Deployment; rclone, pinned by digest, never is."""
    with RunningPolicyPack(PACK_DIR, "mlplatform", "prod") as pack:
        pack.configure({})
        found = [v for v in pack.analyze(prod_plan) if v.policy == POLICY]
    assert found and {v.level for v in found} == {"advisory"}
    assert all("rclone/rclone" not in v.message for v in found)
    named = {match.group(1) for v in found if (match := re.search(r"\): image (\S+) is pinned by tag only", v.message))}
    assert "nvcr.io/nvidia/tritonserver:26.05-py3" in named
    deployments = {r.urn for r in prod_plan.of_type("kubernetes:apps/v1:Deployment") if "serving-" in r.name}
    assert deployments <= {v.urn for v in found}
