"""`spot: false` means one thing in the README, the config and the pack: an on-demand GPU pool that says why.

The stack's pool must give `onDemandReason`; the cluster carries it as the node label
mlplatform.io/on-demand-reason; the real policy pack (over the analyzer protocol) admits such a
pool, lists it with its reason as advisory, and still refuses an on-demand pool that says nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from components.gpu_cluster.contract import GpuPool
from components.target import Target
from preflight.policy_packs import RunningPolicyPack
from stacks.config import ConfigError, parse_stack_config
from stacks.footprint import cluster_args
from tests.policy_helpers import analyze
from tests.test_config import GOOD, engine_config
from tests.test_policy_spot_cost_tags import SHAPES, Pool, found

REASON_LABEL = "mlplatform.io/on-demand-reason"
DAY = date(2026, 12, 2)


@dataclass(frozen=True)
class ReasonPool(Pool):
    reason: str = ""

    def labels(self) -> dict[str, str]:
        return {**super().labels(), REASON_LABEL: self.reason} if self.reason else super().labels()


def stack(pool: dict[str, Any]) -> Any:
    values = {**GOOD, "environment": "dev", "gpuPools": [pool]}
    return parse_stack_config(engine_config(values), stack="t", today=DAY)


# --- config ---


def test_spot_false_without_a_reason_is_refused_with_the_key() -> None:
    with pytest.raises(ConfigError) as caught:
        stack({"name": "t4", "accelerator": "T4", "spot": False})
    assert caught.value.key == "mlplatform:gpuPools[0].onDemandReason"
    assert "must say why it runs on demand" in caught.value.problem


@pytest.mark.parametrize(
    ("pool", "problem"),
    [
        ({"spot": True, "onDemandReason": "x"}, "only an on-demand pool (spot: false) takes a reason"),
        ({"spot": False, "onDemandReason": "needs a steady latency"}, "must be a label value"),
    ],
)
def test_a_reason_that_cannot_be_used_is_refused(pool: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        stack({"name": "t4", "accelerator": "T4", **pool})
    assert caught.value.key == "mlplatform:gpuPools[0].onDemandReason" and problem in caught.value.problem


def test_a_spot_false_pool_reaches_its_nodes_with_its_reason_and_no_fallback() -> None:
    config = stack({"name": "t4", "accelerator": "T4", "spot": False, "onDemandReason": "latency-slo"})
    target = config.targets[0]
    no_provider: Any = None  # the args are built from config alone; no resource is made here
    args = cluster_args(Target(target.name, target.cloud, target.region, no_provider), config, "10.0.0.0/16")
    (pool,) = args.gpu_pools  # on demand already: no fallback pool beside it
    assert (pool.spot, pool.fallback, pool.labels[REASON_LABEL]) == (False, False, "latency-slo")
    assert pool.labels["mlplatform.io/capacity"] == "on-demand"


def test_a_spot_pool_carries_no_reason_label() -> None:
    assert REASON_LABEL not in GpuPool("t4", "T4", ("g4dn.xlarge",), on_demand_reason="ignored").labels


# --- the pack, over the analyzer protocol ---


@pytest.mark.parametrize("shape", SHAPES)
def test_an_on_demand_pool_with_a_reason_passes_and_is_listed(policy_pack: RunningPolicyPack, shape: str) -> None:
    *_, subject = graph = SHAPES[shape](ReasonPool("t4", spot=False, min_nodes=1, reason="latency-slo"))
    violations = analyze(policy_pack, *graph)
    assert not found(violations, "gpu-pools-use-spot", about=subject)
    [listed] = found(violations, "on-demand-gpu-pools", about=subject)
    assert listed.level == "advisory" and "because: latency-slo" in listed.message


@pytest.mark.parametrize("shape", ["eks-ManagedNodeGroup", "gcp-NodePool-n1-t4-spot", "azure-AgentPool"])
def test_an_on_demand_pool_without_a_reason_is_still_refused(policy_pack: RunningPolicyPack, shape: str) -> None:
    *_, subject = graph = SHAPES[shape](Pool("t4", spot=False))
    violations = analyze(policy_pack, *graph)
    [violation] = found(violations, "gpu-pools-use-spot", about=subject)
    assert violation.level == "mandatory" and "onDemandReason" in violation.message
    assert not found(violations, "on-demand-gpu-pools")


@pytest.mark.parametrize("shape", ["eks-ManagedNodeGroup", "azure-AgentPool"])
def test_spot_pools_and_fallbacks_are_not_listed(policy_pack: RunningPolicyPack, shape: str) -> None:
    for pool in (Pool("t4"), Pool("t4od", spot=False, fallback=True)):
        assert not found(analyze(policy_pack, *SHAPES[shape](pool)), "on-demand-gpu-pools")
