"""Where `mlplatform jobs submit` places a training job: table tests on a worked example of three targets.

The example (prices per GPU-hour, pools per target):
    aws-east  L4 g6.xlarge (1 GPU/node)   spot 0.38  on-demand 0.80  spot to 4 nodes, fallback to 2
    gcp-cent  L4 g2-standard-4 (1 GPU)    spot 0.28  on-demand 0.71  spot to 2 nodes, fallback to 1
    az-swe    A10 NV36ads (1 GPU)         spot 0.40  on-demand 1.60  spot to 2 nodes, no fallback
              A100 NC96 (4 GPUs/node)     spot 1.10  on-demand 3.67  spot to 2 nodes, fallback to 2
"""

from __future__ import annotations

import pytest
from mlplatform_client.jobs.offers import PoolOffer, TargetOffer, Team
from mlplatform_client.jobs.placement import JobRequest, PlacementError, place


def _offer(target: str, cloud: str, region: str, *pools: PoolOffer) -> TargetOffer:
    teams = (Team("ml", "train-ml", "ml"),)
    return TargetOffer(target, cloud, region, teams, "trainer", f"s3://{target}/checkpoints", pools)


OFFERS = (
    _offer("aws-east", "aws", "us-east-1", PoolOffer("l4t", "L4", "g6.xlarge", 1, 4, 2, 0.38, 0.80)),
    _offer("az-swe", "azure", "swedencentral",
           PoolOffer("a10t", "A10", "Standard_NV36ads_A10_v5", 1, 2, 0, 0.40, 1.60),
           PoolOffer("a100t", "A100", "Standard_NC96ads_A100_v4", 4, 2, 2, 1.10, 3.67)),
    _offer("gcp-cent", "gcp", "us-central1", PoolOffer("l4t", "L4", "g2-standard-4", 1, 2, 1, 0.28, 0.71)),
)  # fmt: skip


def _request(**fields: object) -> JobRequest:
    base: dict[str, object] = {"image": "trainer:1", "gpus": 1, "accelerator": "L4", "hours": 10, "command": ("t",)}
    return JobRequest(**{**base, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("case", "fields", "target", "price", "nodes"),
    [
        ("cheapest spot wins", {"use_spot": True}, "gcp-cent", 0.28, 1),
        ("the cap at the price still admits", {"use_spot": True, "max_price_per_gpu_hour": 0.28}, "gcp-cent", 0.28, 1),
        # gcp's spot pool stops at 2 GPUs: 3 GPUs go to AWS although its spot price is higher.
        ("capacity excludes a cloud", {"use_spot": True, "gpus": 3}, "aws-east", 0.38, 3),
        # gcp's fallback has 1 node: with fallback a 2-GPU job needs a target whose on-demand pool can take it.
        ("fallback needs on-demand room", {"use_spot": True, "gpus": 2, "fallback_to_on_demand": True}, "aws-east",
         0.38, 2),
        # Fallback off: gcp's small fallback does not matter, spot alone is asked.
        ("fallback off keeps spot only", {"use_spot": True, "gpus": 2}, "gcp-cent", 0.28, 2),
        ("on demand compares on-demand prices", {}, "gcp-cent", 0.71, 1),
        # On demand runs on the fallback nodes only: gcp's one node is too few for 2 GPUs.
        ("on demand counts on-demand nodes only", {"gpus": 2}, "aws-east", 0.80, 2),
        ("a named target is the only one", {"use_spot": True, "target": "aws-east"}, "aws-east", 0.38, 1),
        ("GPUs split over nodes of several GPUs", {"use_spot": True, "accelerator": "A100", "gpus": 8}, "az-swe",
         1.10, 2),
        ("accelerator case does not matter", {"use_spot": True, "accelerator": "a10"}, "az-swe", 0.40, 1),
    ],
)  # fmt: skip
def test_the_cheapest_allowed_target_is_chosen(
    case: str, fields: dict[str, object], target: str, price: float, nodes: int
) -> None:
    placement = place(_request(**fields), OFFERS)
    assert (placement.offer.target, placement.price_per_gpu_hour, placement.nodes) == (target, price, nodes), case
    assert placement.reasons[0].startswith(f"{target} ")


def test_the_cap_and_capacity_together_leave_no_target() -> None:
    # aws (0.38) is over the cap, gcp's spot pool too small for 3 GPUs: no capacity anywhere is a clear error.
    with pytest.raises(PlacementError) as error:
        place(_request(use_spot=True, max_price_per_gpu_hour=0.30, gpus=3), OFFERS)
    assert str(error.value) == (
        "no target can run 3 x L4 on spot at or under $0.3000/GPU-hour: aws-east: l4t's spot $0.3800/GPU-hour is above"
        " the cap $0.3000; az-swe: no L4 training pool; gcp-cent: l4t's spot nodes give 2 GPUs, under 3"
    )


def test_a_capped_cloud_is_passed_over_with_its_reason() -> None:
    placement = place(_request(use_spot=True, max_price_per_gpu_hour=0.30), OFFERS)
    assert placement.offer.target == "gcp-cent"
    assert "aws-east: l4t's spot $0.3800/GPU-hour is above the cap $0.3000" in placement.reasons


def test_the_expected_cost_is_gpus_times_hours_times_the_rate() -> None:
    placement = place(_request(use_spot=True, gpus=2, fallback_to_on_demand=True), OFFERS)
    # aws-east: 2 GPUs x 10 h x $0.38 = $7.60 on spot; all on demand 2 x 10 x $0.80 = $16.00.
    assert placement.cost(10, 2) == 7.60
    assert placement.worst_case_cost(10, 2) == 16.00


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"use_spot": True, "max_price_per_gpu_hour": 0.10},
         "no target can run 1 x L4 on spot at or under $0.1000/GPU-hour: aws-east: l4t's spot $0.3800/GPU-hour"
         " is above the cap $0.1000; az-swe: no L4 training pool; gcp-cent: l4t's spot $0.2800/GPU-hour is above"
         " the cap $0.1000"),
        ({"accelerator": "H100"}, "--accelerator: no target has a H100 training pool (training accelerators:"
         " A10, A100, L4)"),
        ({"gpus": 0}, "--gpus: must be at least 1, got 0"),
        ({"target": "aws-west"}, "--target: unknown target 'aws-west' (targets: aws-east, az-swe, gcp-cent)"),
        ({"use_spot": True, "gpus": 5},
         "no target can run 5 x L4 on spot: aws-east: l4t's spot nodes give 4 GPUs, under 5;"
         " az-swe: no L4 training pool; gcp-cent: l4t's spot nodes give 2 GPUs, under 5"),
        ({"accelerator": "A100", "gpus": 6}, "no target can run 6 x A100 on on-demand: aws-east: no A100 training"
         " pool; az-swe: a100t has 4 GPUs a node, which 6 GPUs do not fill; gcp-cent: no A100 training pool"),
        ({"fallback_to_on_demand": True}, "--fallback-to-on-demand: needs --use-spot"),
        ({"hours": 0}, "--hours: must be a number of hours above 0, got 0"),
        ({"hours": float("inf")}, "--hours: must be a number of hours above 0, got inf"),
    ],
)  # fmt: skip
def test_a_job_no_target_may_run_is_refused_naming_why(fields: dict[str, object], message: str) -> None:
    with pytest.raises(PlacementError) as error:
        place(_request(**fields), OFFERS)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)
