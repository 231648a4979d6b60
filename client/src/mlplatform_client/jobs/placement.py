"""Where a training job runs: the cheapest target per GPU-hour that may run it. Pure: no I/O, table-tested.

The rule (docs/TRAINING.md, "Placement"):
- a target qualifies when one of its training pools has the accelerator, the job's GPUs split evenly over its
  nodes, and the pool may grow far enough (spot: its maxNodes; a job without --use-spot: its on-demand fallback's);
- with --use-spot the price compared is the spot price, and the cap excludes a target whose spot price is above
  it; --fallback-to-on-demand also needs the on-demand fallback to be large enough, and the on-demand price is
  then the job's worst case;
- without --use-spot the job runs on demand and the cap, if any, applies to the on-demand price;
- the cheapest qualifying target wins; ties go to the first target name, so the choice is stable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlplatform_client.jobs.offers import PoolOffer, TargetOffer


class PlacementError(ValueError):
    """Bad input or no target that may run the job; one line, naming what is wrong."""


@dataclass(frozen=True)
class JobRequest:
    image: str
    gpus: int
    accelerator: str
    hours: float
    command: tuple[str, ...]
    use_spot: bool = False
    max_price_per_gpu_hour: float | None = None
    fallback_to_on_demand: bool = False
    target: str | None = None
    max_reclaims: int = 2
    """With fallback: evictions waiting for spot nodes (Kueue's requeue count) before the job moves to on demand."""
    max_wait_minutes: float = 60
    """With fallback: minutes unadmitted before the job moves to on demand."""


@dataclass(frozen=True)
class Placement:
    offer: TargetOffer
    pool: PoolOffer
    nodes: int
    spot: bool
    fallback: bool
    price_per_gpu_hour: float
    """What the job pays per GPU-hour on the capacity it asks first (spot with --use-spot)."""
    reasons: tuple[str, ...]
    """Why this target, then why each other target was passed over."""

    def cost(self, hours: float, gpus: int) -> float:
        return round(self.price_per_gpu_hour * gpus * hours, 2)

    def worst_case_cost(self, hours: float, gpus: int) -> float:
        """The cost if every hour ran on the on-demand fallback (the same as cost() without it)."""
        rate = self.pool.on_demand_per_gpu_hour if self.fallback else self.price_per_gpu_hour
        return round(rate * gpus * hours, 2)


def check_request(request: JobRequest, offers: tuple[TargetOffer, ...]) -> None:
    """Refuse input no placement can fix, before any price is compared."""
    if request.gpus < 1:
        raise PlacementError(f"--gpus: must be at least 1, got {request.gpus}")
    if not 0 < request.hours < math.inf:
        raise PlacementError(f"--hours: must be a number of hours above 0, got {request.hours}")
    if not request.image:
        raise PlacementError("--image: must name an image")
    if not request.command:
        raise PlacementError("the command to run is missing: put it after --")
    cap = request.max_price_per_gpu_hour
    if cap is not None and not cap > 0:
        raise PlacementError(f"--max-price-per-hour: must be above 0, got {cap}")
    if not 0 <= request.max_reclaims <= 100:
        raise PlacementError(f"--max-reclaims: must be between 0 and 100, got {request.max_reclaims}")
    if not 0 <= request.max_wait_minutes <= 10080:
        raise PlacementError(
            f"--max-wait-minutes: must be between 0 and 10080 (a week), got {request.max_wait_minutes}"
        )
    if request.fallback_to_on_demand and not request.use_spot:
        raise PlacementError("--fallback-to-on-demand: needs --use-spot (without it the job runs on demand already)")
    names = [offer.target for offer in offers]
    if request.target is not None and request.target not in names:
        raise PlacementError(f"--target: unknown target {request.target!r} (targets: {', '.join(names)})")
    have = sorted({pool.accelerator for offer in offers for pool in offer.pools})
    if request.accelerator.upper() not in have:
        raise PlacementError(
            f"--accelerator: no target has a {request.accelerator} training pool (training accelerators:"
            f" {', '.join(have) or 'none'})"
        )


def _judge(request: JobRequest, offer: TargetOffer) -> tuple[Placement | None, str]:
    """The target's best pool for the job, or None and why not."""
    accelerator = request.accelerator.upper()
    pools = [pool for pool in offer.pools if pool.accelerator == accelerator]
    if not pools:
        return None, f"{offer.target}: no {accelerator} training pool"
    why: list[str] = []
    fits: list[Placement] = []
    for pool in pools:
        nodes = pool.nodes_for(request.gpus)
        if nodes is None:
            why.append(f"{pool.pool} has {pool.gpus_per_node} GPUs a node, which {request.gpus} GPUs do not fill")
            continue
        # An on-demand job lands on the on-demand (fallback) nodes only: the spot nodes are spot.
        first_nodes = pool.max_nodes if request.use_spot else pool.fallback_max_nodes
        if nodes > first_nodes:
            kind = "spot" if request.use_spot else "on-demand"
            why.append(f"{pool.pool}'s {kind} nodes give {first_nodes * pool.gpus_per_node} GPUs, under {request.gpus}")
            continue
        if request.fallback_to_on_demand and nodes > pool.fallback_max_nodes:
            why.append(
                f"{pool.pool}'s on-demand fallback grows to {pool.fallback_max_nodes * pool.gpus_per_node} GPUs,"
                f" under {request.gpus}"
            )
            continue
        price = pool.spot_per_gpu_hour if request.use_spot else pool.on_demand_per_gpu_hour
        cap = request.max_price_per_gpu_hour
        if cap is not None and price > cap:
            kind = "spot" if request.use_spot else "on-demand"
            why.append(f"{pool.pool}'s {kind} ${price:.4f}/GPU-hour is above the cap ${cap:.4f}")
            continue
        fits.append(Placement(offer, pool, nodes, request.use_spot, request.fallback_to_on_demand, price, reasons=()))
    if not fits:
        return None, f"{offer.target}: {'; '.join(why)}"
    return min(fits, key=lambda p: (p.price_per_gpu_hour, p.pool.pool)), ""


def place(request: JobRequest, offers: tuple[TargetOffer, ...]) -> Placement:
    """The chosen target with its reasons, or PlacementError naming why no target may run the job."""
    check_request(request, offers)
    considered = [offer for offer in offers if request.target in (None, offer.target)]
    chosen: list[Placement] = []
    passed_over: list[str] = []
    for offer in considered:
        placement, why = _judge(request, offer)
        if placement is None:
            passed_over.append(why)
        else:
            chosen.append(placement)
    kind = "spot" if request.use_spot else "on-demand"
    if not chosen:
        cap = request.max_price_per_gpu_hour
        capped = f" at or under ${cap:.4f}/GPU-hour" if cap is not None else ""
        raise PlacementError(
            f"no target can run {request.gpus} x {request.accelerator.upper()} on {kind}{capped}: "
            + "; ".join(passed_over)
        )
    chosen.sort(key=lambda p: (p.price_per_gpu_hour, p.offer.target))
    best = chosen[0]
    reasons = [
        f"{best.offer.target} ({best.offer.cloud} {best.offer.region}): {kind} {best.pool.accelerator} at"
        f" ${best.price_per_gpu_hour:.4f}/GPU-hour on {best.pool.machine_type}, the cheapest allowed"
    ]
    reasons += [
        f"{other.offer.target}: {kind} ${other.price_per_gpu_hour:.4f}/GPU-hour, dearer" for other in chosen[1:]
    ]
    reasons += passed_over
    return Placement(
        best.offer, best.pool, best.nodes, best.spot, best.fallback, best.price_per_gpu_hour, tuple(reasons)
    )
