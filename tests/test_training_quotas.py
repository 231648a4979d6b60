"""Per-team training quotas (`trainingTeams[].gpus`): a ClusterQueue per team in the Cohort `training`, each team's
guarantee as its nominal quota in whole nodes, the rest of each pool on the Cohort to lend; valid against Kueue's CRD
schemas at the pinned version."""

from __future__ import annotations

from typing import Any

import pytest

from components.training.kueue import TrainingPool, TrainingTeam, cluster_queue, cohort, local_queue, team_nodes
from stacks.config import ConfigError
from tests.k8s_schemas import custom_errors
from tests.test_training_config import parse

# 4 spot nodes, 2 on demand, of a 1-GPU machine; a 4-GPU pool with 2 and 1.
L4 = TrainingPool("l4t", "l4tod", "L4", 1, 4, 16, 4, 2)
A100 = TrainingPool("a100t", "a100tod", "A100", 4, 48, 340, 2, 1)
TEAMS = (TrainingTeam("research", 3), TrainingTeam("fraud", 2), TrainingTeam("adhoc"))


def _gpus(manifest: dict[str, Any]) -> dict[str, Any]:
    return {
        f["name"]: next(r["nominalQuota"] for r in f["resources"] if r["name"] == "nvidia.com/gpu")
        for f in manifest["spec"]["resourceGroups"][0]["flavors"]
    }


@pytest.mark.parametrize(
    ("pool", "spot", "expected"),
    [
        (L4, True, {"research": 3, "fraud": 1, "adhoc": 0}),  # 4 nodes: research takes 3, fraud the one left
        (L4, False, {"research": 2, "fraud": 0, "adhoc": 0}),  # 2 on-demand nodes, research's first
        (A100, True, {"research": 1, "fraud": 1, "adhoc": 0}),  # whole 4-GPU nodes: 3 GPUs take one, 2 take one
        (A100, False, {"research": 1, "fraud": 0, "adhoc": 0}),
    ],
)
def test_teams_take_whole_nodes_in_their_order_while_the_pool_has_nodes_left(
    pool: TrainingPool, spot: bool, expected: dict[str, int]
) -> None:
    assert team_nodes(pool, spot, TEAMS) == expected


def test_the_cohort_lends_what_no_team_is_guaranteed_and_each_queue_admits_its_namespace_only() -> None:
    pools = (L4, A100)
    shared = cohort(pools, TEAMS)
    assert _gpus(shared) == {"l4t-spot": 0, "a100t-spot": 0, "l4t-on-demand": 0, "a100t-on-demand": 0}
    research = cluster_queue(pools, TEAMS, "research", "train-research")
    assert _gpus(research) == {"l4t-spot": 3, "a100t-spot": 4, "l4t-on-demand": 2, "a100t-on-demand": 4}
    assert research["spec"]["cohortName"] == "training"
    assert research["spec"]["preemption"] == {"reclaimWithinCohort": "Any", "withinClusterQueue": "Never"}
    assert research["spec"]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "train-research"}
    adhoc = cluster_queue(pools, TEAMS, "adhoc", "train-adhoc")
    assert set(_gpus(adhoc).values()) == {0}  # borrows only
    alone = cohort(pools, (TrainingTeam("ml"),))
    assert _gpus(alone) == {"l4t-spot": 4, "a100t-spot": 8, "l4t-on-demand": 2, "a100t-on-demand": 4}
    queue = local_queue("research", "train-research")
    assert queue["spec"]["clusterQueue"] == "train-research"
    assert custom_errors([shared, research, adhoc, alone, queue]) == []


def test_a_team_with_gpus_is_parsed_beside_a_plain_name() -> None:
    training = parse(
        [{"name": "t4t", "accelerator": "T4"}], trainingTeams=[{"name": "research", "gpus": 2}, "ml"]
    ).training
    assert training.teams == (TrainingTeam("research", 2), TrainingTeam("ml", 0))


@pytest.mark.parametrize(
    ("teams", "message"),
    [
        ([{"name": "research", "gpus": -1}], "mlplatform:trainingTeams[0].gpus: must be between 0 and 1024, got -1"),
        ([{"name": "research", "gpus": 1.5}], "mlplatform:trainingTeams[0].gpus: expected a whole number"),
        ([{"name": "research", "gpu": 1}], "mlplatform:trainingTeams[0].gpu: unknown key (known: gpus, name)"),
        ([{"gpus": 1}], "mlplatform:trainingTeams[0].name: expected a string, got nothing"),
        ([{"name": "Research"}], "mlplatform:trainingTeams[0].name: 'Research' must be 1-30 lowercase letters"),
        (["ml", {"name": "ml", "gpus": 1}], "mlplatform:trainingTeams[1]: 'ml' is listed twice"),
    ],
)
def test_a_bad_team_quota_is_one_line_naming_the_key(teams: Any, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse([{"name": "t4t", "accelerator": "T4"}], trainingTeams=teams)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)
