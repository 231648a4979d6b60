"""Kueue in every prod cluster, over the training pools: flavors that select those pools' nodes, spot tried first,
every object valid against Kueue's CRD schemas at the pinned version, namespaces restricted and fenced; and the
`trainingOffers` output placing a job where the price table says it is cheapest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from mlplatform_client.jobs.manifest import render_job
from mlplatform_client.jobs.offers import offers_from_outputs
from mlplatform_client.jobs.placement import JobRequest, place

from preflight.plan import Plan
from tests.helpers import isolated_namespaces
from tests.k8s_schemas import builtin_error, custom_errors

KUEUE = "kubernetes:kueue.x-k8s.io/v1beta2:"
TRAINING_TOLERATION = {"key": "mlplatform.io/training", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
TARGETS = {"aws-us-east-1", "gcp-us-central1", "azure-swedencentral"}  # prod's trainingPools targets (t4t)


def _kueue_objects(plan: Plan, kind: str) -> list[dict[str, Any]]:
    return [dict(r.inputs) for r in plan.of_type(f"{KUEUE}{kind}")]


def _pool_labels(value: Any) -> Iterator[dict[str, str]]:
    """Every label map in a planned resource's inputs that names a pool (node groups, node pools, agent pools)."""
    if isinstance(value, dict):
        if "mlplatform.io/pool" in value:
            yield value
        for inner in value.values():
            yield from _pool_labels(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _pool_labels(inner)


def test_every_prod_cluster_runs_the_pinned_kueue_chart(prod_plan: Plan) -> None:
    releases = [r for r in prod_plan.of_type("kubernetes:helm.sh/v3:Release") if "kueue" in r.inputs["chart"]]
    assert {r.name.removesuffix("-training-kueue") for r in releases} == TARGETS
    for release in releases:
        assert (release.inputs["chart"], release.inputs["version"]) == (
            "oci://registry.k8s.io/kueue/charts/kueue",
            "0.19.2",
        )
        config = release.inputs["values"]["managerConfig"]["controllerManagerConfigYaml"]
        assert "waitForPodsReady:" in config and '- "batch/job"' in config


def test_each_team_queue_tries_every_spot_flavor_before_on_demand_and_borrows_the_cohorts_capacity(
    prod_plan: Plan,
) -> None:
    queues = _kueue_objects(prod_plan, "ClusterQueue")
    assert len(queues) == len(TARGETS)  # one team, `ml`, per cluster
    # Pulumi.prod.yaml: t4t on three targets (2 spot nodes, 1 on demand), l4t also on gcp-us-central1.
    flavors = sorted([f["name"] for f in q["spec"]["resourceGroups"][0]["flavors"]] for q in queues)
    assert flavors == sorted(
        [["t4t-spot", "t4t-on-demand"]] * 2 + [["t4t-spot", "l4t-spot", "t4t-on-demand", "l4t-on-demand"]]
    )
    for queue in queues:
        assert queue["metadata"]["name"] == "train-ml" and queue["spec"]["cohortName"] == "training"
        assert queue["spec"]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "train-ml"}}
    cohorts = _kueue_objects(prod_plan, "Cohort")
    assert len(cohorts) == len(TARGETS)
    # `ml` is guaranteed nothing (no gpus in prod's trainingTeams): the pools' whole capacity is the Cohort's to lend.
    quotas = {
        flavor["name"]: {r["name"]: r["nominalQuota"] for r in flavor["resources"]}
        for flavor in cohorts[0]["spec"]["resourceGroups"][0]["flavors"]
    }
    assert quotas["t4t-spot"]["nvidia.com/gpu"] == 2 and quotas["t4t-on-demand"]["nvidia.com/gpu"] == 1


def test_each_flavor_selects_a_training_pool_the_cluster_has(prod_plan: Plan) -> None:
    planned = [labels for r in prod_plan.resources for labels in _pool_labels(r.inputs)]
    for flavor in _kueue_objects(prod_plan, "ResourceFlavor"):
        wanted = flavor["spec"]["nodeLabels"]
        matches = [labels for labels in planned if all(labels.get(k) == v for k, v in wanted.items())]
        assert matches, f"no node pool carries {wanted}"
        capacity = "spot" if flavor["metadata"]["name"].endswith("-spot") else "on-demand"
        assert wanted["mlplatform.io/capacity"] == capacity


def test_every_kueue_object_validates_against_its_crd_at_the_pinned_version(prod_plan: Plan) -> None:
    kinds = ("ResourceFlavor", "Cohort", "ClusterQueue", "LocalQueue")
    objects = [o for kind in kinds for o in _kueue_objects(prod_plan, kind)]
    # 2 flavors per pool (t4t on 3 targets, l4t on 1), a Cohort, a ClusterQueue and a LocalQueue per target
    assert len(objects) == 2 * 4 + 3 * len(TARGETS)
    assert custom_errors(objects) == []


def test_the_training_namespaces_are_restricted_and_fenced(prod_plan: Plan) -> None:
    for namespace in ("train-ml", "kueue-system"):  # the one team `ml` (no mlplatform:trainingTeams in prod)
        found = [
            r for r in prod_plan.of_type("kubernetes:core/v1:Namespace") if r.inputs["metadata"]["name"] == namespace
        ]
        assert len(found) == len(TARGETS)
        assert all(r.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted" for r in found)
        policies = [
            r
            for r in prod_plan.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
            if r.inputs["metadata"].get("namespace") == namespace
        ]
        # every cluster's copy of the namespace denies both ways by default (network_fence: one policy, its allows)
        isolating = {r.provider for r in policies if isolated_namespaces([r]) == {namespace}}
        assert isolating == {r.provider for r in found}


def test_the_stack_outputs_place_a_spot_job_on_the_cheapest_cloud(prod_plan: Plan) -> None:
    offers = offers_from_outputs(json.loads(json.dumps(prod_plan.outputs)))
    # prices.yaml: T4 spot per GPU-hour: Azure NC4as_T4_v3 $0.0627, AWS g4dn.xlarge $0.20 (us-east-1), GCP higher.
    t4 = JobRequest("trainer:1", 1, "T4", 10, ("python", "train.py"), use_spot=True, max_price_per_gpu_hour=0.5)
    assert place(t4, offers).offer.target == "azure-swedencentral"
    # L4 under a $0.30 cap: GCP's g2-standard-4 spot at $0.28184; AWS's g6.xlarge at $0.38 is over it.
    l4 = JobRequest("trainer:1", 1, "L4", 10, ("python", "train.py"), use_spot=True, max_price_per_gpu_hour=0.30)
    placement = place(l4, offers)
    assert placement.offer.target == "gcp-us-central1"
    job = render_job(l4, placement, "train-example", placement.offer.teams[0])
    assert builtin_error(job) is None
    env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MLPLATFORM_CHECKPOINT_URI"].startswith("gs://") and env["MLPLATFORM_CHECKPOINT_URI"].endswith(
        "/checkpoints/ml/train-example"
    )


def _taints(value: Any) -> Iterator[dict[str, Any]]:
    """Every taint declared in a planned resource's inputs (node groups, node pools; AKS's as key=value:effect)."""
    if isinstance(value, dict):
        for key in ("taints", "nodeTaints"):
            for taint in value.get(key) or []:
                if isinstance(taint, str):  # AKS: "key=value:Effect"
                    key_value, _, effect = taint.partition(":")
                    name, _, val = key_value.partition("=")
                    yield {"key": name, "value": val, "effect": effect}
                elif isinstance(taint, dict):
                    yield taint
        for inner in value.values():
            yield from _taints(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _taints(inner)


def test_an_admitted_job_tolerates_every_taint_of_the_training_pools_and_serving_tolerates_none_of_theirs(
    prod_plan: Plan,
) -> None:
    training = [r for r in prod_plan.resources if any(p in r.name for p in ("-t4t", "-l4t"))]
    taints = {(t["key"], str(t.get("effect", ""))) for r in training for t in _taints(r.inputs)}
    assert ("mlplatform.io/training", "NoSchedule") in taints or ("mlplatform.io/training", "NO_SCHEDULE") in taints
    offers = offers_from_outputs(json.loads(json.dumps(prod_plan.outputs)))
    request = JobRequest("trainer:1", 1, "T4", 1, ("train",), use_spot=True)
    placement = place(request, offers)
    job = render_job(request, placement, "j", placement.offer.teams[0])
    # Kueue adds the admitting flavor's tolerations to the pod (the training taint's): the Job itself does not carry it.
    flavors = _kueue_objects(prod_plan, "ResourceFlavor")
    assert all(f["spec"]["tolerations"] == [TRAINING_TOLERATION] for f in flavors)
    tolerated = {t["key"] for t in job["spec"]["template"]["spec"]["tolerations"]} | {TRAINING_TOLERATION["key"]}
    assert {key for key, _ in taints} <= tolerated
    assert "mlplatform.io/training" not in json.dumps(job)
    # No serving pod tolerates it; the device plugin (which advertises the training nodes' GPUs) does.
    for deployment in prod_plan.of_type("kubernetes:apps/v1:Deployment"):
        tolerations = deployment.inputs["spec"]["template"]["spec"].get("tolerations") or []
        assert all(t.get("key") != "mlplatform.io/training" and t.get("key") for t in tolerations if t), deployment.name
    plugins = [r for r in prod_plan.of_type("kubernetes:helm.sh/v3:Release") if "device-plugin" in r.inputs["chart"]]
    assert plugins
    for plugin in plugins:
        assert {"key": "mlplatform.io/training", "operator": "Exists", "effect": "NoSchedule"} in plugin.inputs[
            "values"
        ]["tolerations"]


def test_the_gke_control_plane_reaches_kueues_webhook_and_visibility_api(prod_plan: Plan) -> None:
    # A private GKE control plane reaches nodes on 443 and 10250 only; Kueue listens on 9443 (webhooks) and 8082 (the
    # visibility APIService, whose absence fails API discovery): charts/kueue/templates/manager/manager.yaml, v0.19.2.
    [firewall] = [r for r in prod_plan.of_type("gcp:compute/firewall:Firewall") if "webhooks" in r.name]
    ports = {port for allow in firewall.inputs["allows"] for port in allow["ports"]}
    assert {"9443", "8082"} <= ports


def test_kyvernos_image_and_pod_security_policies_cover_the_training_namespaces(prod_plan: Plan) -> None:
    policies = [
        p
        for p in prod_plan.of_type("kubernetes:kyverno.io/v1:ClusterPolicy")
        if p.name.split("-baseline-")[0] in TARGETS
    ]
    assert len(policies) == 2 * len(TARGETS)
    for policy in policies:
        covered = {
            namespace
            for rule in policy.inputs["spec"]["rules"]
            for match in rule["match"]["any"]
            for namespace in match["resources"]["namespaces"]
        }
        assert {"kueue-system", "train-ml"} <= covered, policy.name
