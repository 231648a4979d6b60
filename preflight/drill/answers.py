"""What Route 53 answers a client with once some targets fail: pure functions over the routing set.

How Route 53 chooses among health-checked records (Route 53 Developer Guide, "How Amazon
Route 53 chooses records when health checking is configured",
docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-how-route-53-chooses-records.html):
an unhealthy record leaves the answers and the next record by the routing policy is tried;
zero-weight records are considered only when every non-zero one is unhealthy; a failover
SECONDARY alias with Evaluate Target Health is healthy while any record it points to is.
Geolocation ("Values specific for geolocation records", Health check,
docs.aws.amazon.com/Route53/latest/DeveloperGuide/resource-record-sets-values-geo.html): "if an
endpoint is unhealthy, Route 53 looks for a record for the larger, associated geographic
region", down to the default record, until it finds a healthy one. When every record of the
set is unhealthy Route 53 fails open and answers as if all were healthy: clients are then
sent to failed targets, which the drill counts as no answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from mlplatform_client.regions import continent, great_circle_km

from components.global_dns.contract import RoutingMode
from stacks.regions import AWS_REGIONS

# Route 53 measures latency to AWS regions, so clients are placed in them: one per region.
CLIENT_REGIONS: tuple[str, ...] = tuple(sorted(AWS_REGIONS))


@dataclass(frozen=True)
class Answer:
    """One target Route 53 answers a client with, the share of that client's queries, and why."""

    target: str
    share: float
    via: str


Location = tuple[str, str]  # ("continent", "EU") or ("country", "DE"), as Route 53's policy names it


@dataclass(frozen=True)
class Routing:
    """The routing set at <record>.<zone>, as the plan's records make it."""

    mode: RoutingMode
    latency: Mapping[str, str] = field(default_factory=dict)  # target -> AWS region of its latency record
    weights: Mapping[str, int] = field(default_factory=dict)  # weighted; failover: the standby set's weights
    primary: str | None = None  # failover
    locations: Mapping[Location, str] = field(default_factory=dict)  # geo: location -> target
    default: str | None = None  # geo: the target of the default record, if any

    @property
    def targets(self) -> tuple[str, ...]:
        """Every target some record of the set answers with."""
        named = [*self.latency, *self.weights, *self.locations.values()]
        named += [t for t in (self.primary, self.default) if t]
        return tuple(dict.fromkeys(named))


def latency_answer(latency: Mapping[str, str], failed: Iterable[str], client: str) -> tuple[Answer, ...]:
    """The healthy latency record nearest the client; great-circle distance stands in for latency."""
    down = set(failed)
    healthy = [(great_circle_km(client, region), region, target) for target, region in latency.items()]
    healthy = sorted(entry for entry in healthy if entry[2] not in down)
    if not healthy:
        return ()
    distance, region, target = healthy[0]
    return (Answer(target, 1.0, f"latency record {region}, {distance:,.0f} km"),)


def weighted_answer(weights: Mapping[str, int], failed: Iterable[str]) -> tuple[Answer, ...]:
    """Healthy records in proportion to their weights; zero weights only when no non-zero one is healthy."""
    down = set(failed)
    healthy = {target: weight for target, weight in weights.items() if target not in down}
    chosen = {target: weight for target, weight in healthy.items() if weight > 0}
    if not chosen:  # all-zero weights share equally (Route 53 "Weighted routing")
        chosen = dict.fromkeys(healthy, 1)
    total = sum(chosen.values())
    return tuple(
        Answer(target, weight / total, f"weight {weights[target]}")
        for target, weight in sorted(chosen.items(), key=lambda item: (-item[1], item[0]))
    )


def failover_answer(primary: str, standby: Mapping[str, int], failed: Iterable[str]) -> tuple[Answer, ...]:
    """PRIMARY while healthy; then the SECONDARY alias, healthy while any standby record is."""
    down = set(failed)
    if primary not in down:
        return (Answer(primary, 1.0, "primary"),)
    return tuple(Answer(a.target, a.share, f"secondary, {a.via}") for a in weighted_answer(standby, down))


def geo_answer(
    locations: Mapping[Location, str], default: str | None, failed: Iterable[str], client: str
) -> tuple[Answer, ...]:
    """The client's continent record if its target is healthy, else the default record if healthy.

    Route 53 walks from the most specific matching location to the larger ones and then the
    default, answering with the first healthy record. A client region stands for its continent
    only: country records cannot be matched from a region and are left out here.
    """
    down = set(failed)
    code = continent(client)
    owner = locations.get(("continent", code))
    if owner is not None and owner not in down:
        return (Answer(owner, 1.0, f"continent {code}"),)
    if default is not None and default not in down:
        why = f"{code} record's target failed" if owner is not None else f"no {code} record"
        return (Answer(default, 1.0, f"default record: {why}"),)
    return ()


def answers(
    routing: Routing, failed: Iterable[str], clients: Sequence[str] = CLIENT_REGIONS
) -> dict[str, tuple[Answer, ...]]:
    """Client region -> the answers Route 53 gives it once `failed` are down (empty: no answer)."""
    down = set(failed)
    result: dict[str, tuple[Answer, ...]] = {}
    for client in clients:
        if routing.mode == "latency":
            result[client] = latency_answer(routing.latency, down, client)
        elif routing.mode == "weighted":
            result[client] = weighted_answer(routing.weights, down)
        elif routing.mode == "failover":
            result[client] = failover_answer(str(routing.primary), routing.weights, down)
        else:
            result[client] = geo_answer(routing.locations, routing.default, down, client)
    return result


def serving_targets(routing: Routing, failed: Iterable[str]) -> tuple[str, ...]:
    """The surviving targets Route 53 still sends some client to, wherever the client is.

    Not every survivor takes traffic: a failover standby idles while the primary is healthy, a
    zero-weight target while a non-zero one is, and a geo target without a location record always.
    Geo counts a target owning a country record, which the per-region answers cannot show.
    """
    down = set(failed)
    if routing.mode == "latency":
        chosen: Iterable[str] = routing.latency
    elif routing.mode == "weighted":
        chosen = [a.target for a in weighted_answer(routing.weights, down)]
    elif routing.mode == "failover":
        chosen = [a.target for a in failover_answer(str(routing.primary), routing.weights, down)]
    else:
        chosen = routing.targets
    return tuple(target for target in dict.fromkeys(chosen) if target not in down)
