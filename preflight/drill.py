"""`python -m preflight drill`: what clients get when targets fail, worked out on the plan.

The routing set is read from the plan's Route 53 records (cross-checked with the stack's
`mlplatform:dns` config), the failed targets' health checks are taken as failing, and for
every AWS region as a client location the drill works out which targets Route 53 still
answers with, the worst-case time until clients move, and whether the targets still being
answered can carry the configured peak traffic at their maximum replicas.

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
from pathlib import Path
from typing import Any, NoReturn

from mlplatform_client.regions import continent, great_circle_km

from components.global_dns.contract import RoutingMode
from components.global_dns.regions import aws_latency_region
from preflight.errors import InputError
from preflight.plan import Plan, PlannedResource
from preflight.stack_files import load_stack
from preflight.synthesize import ProgramError
from stacks.config import StackConfig, TargetConfig, parse_stack_config
from stacks.dns_config import PROPAGATION_ALLOWANCE, DnsConfig
from stacks.regions import AWS_REGIONS
from stacks.serving_config import ModelConfig
from stacks.validate import ConfigError

EXIT_OK = 0
EXIT_CLIENTS_HURT = 1  # some client region has no answer, or the survivors cannot carry the peak

RECORD = "aws:route53/record:Record"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"

# Route 53 measures latency to AWS regions, so clients are placed in them: one per region.
CLIENT_REGIONS: tuple[str, ...] = tuple(sorted(AWS_REGIONS))


# --- the routing set, and what a client gets from it after the failures (pure functions) ---


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


# --- capacity ---


def model_replicas(model: ModelConfig) -> int:
    """Most replicas one target runs of a model: each version at its maximum, plus the on-demand floor."""
    versions = 2 if model.canary else 1
    return model.max_replicas * versions + model.on_demand_floor


def target_capacity_rps(models: Sequence[ModelConfig], rps_per_replica: int) -> int:
    """Requests per second one target carries at its maximum replicas (every model runs on every target)."""
    return sum(model_replicas(model) for model in models) * rps_per_replica


def capacity_formula(models: Sequence[ModelConfig], rps_per_replica: int) -> str:
    if not models:
        return "no models: 0 rps"
    parts = [
        f"{m.name} ({m.max_replicas} max x {2 if m.canary else 1} version{'s' if m.canary else ''}"
        f" + {m.on_demand_floor} floor)"
        for m in models
    ]
    return f"{' + '.join(parts)} x {rps_per_replica} rps = {target_capacity_rps(models, rps_per_replica)} rps"


# --- the report ---


@dataclass(frozen=True)
class DrillReport:
    project: str
    stack: str
    mode: RoutingMode
    targets: tuple[str, ...]
    failed: tuple[str, ...]
    dns: DnsConfig
    answers: Mapping[str, tuple[Answer, ...]]
    serving: tuple[str, ...]  # surviving targets Route 53 still answers with
    target_rps: int  # what one target carries at its maximum replicas
    formula: str
    notes: tuple[str, ...] = ()

    @property
    def no_answer(self) -> list[str]:
        return [region for region, given in self.answers.items() if not given]

    @property
    def idle(self) -> list[str]:
        return [t for t in self.targets if t not in self.failed and t not in self.serving]

    @property
    def capacity_rps(self) -> int:
        return self.target_rps * len(self.serving)

    @property
    def verdict(self) -> str:
        if self.no_answer:
            return "no-answer"
        if self.capacity_rps < self.dns.peak_rps:
            return "insufficient-capacity"
        return "ok"

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.verdict == "ok" else EXIT_CLIENTS_HURT

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "failed": list(self.failed),
            "mode": self.mode,
            "failoverSeconds": self.dns.failover_seconds,
            "failoverParts": {
                "healthCheckInterval": self.dns.health_check_interval,
                "failureThreshold": self.dns.failure_threshold,
                "ttl": self.dns.ttl,
                "propagation": PROPAGATION_ALLOWANCE,
            },
            "answers": {region: [a.target for a in given] for region, given in self.answers.items()},
            "shares": {region: {a.target: round(a.share, 4) for a in given} for region, given in self.answers.items()},
            "noAnswer": self.no_answer,
            "serving": list(self.serving),
            "idle": self.idle,
            "capacityRps": self.capacity_rps,
            "peakRps": self.dns.peak_rps,
            "verdict": self.verdict,
            "notes": list(self.notes),
        }


def render_text(report: DrillReport) -> str:
    dns = report.dns
    lost = ", ".join(report.failed)
    lines = [
        f"{report.project}/{report.stack}: drill, {lost} {'fails' if len(report.failed) == 1 else 'fail'}"
        f" ({report.mode} routing over {len(report.targets)} targets: {', '.join(report.targets)})",
        "",
        f"Clients move within {dns.failover_seconds} s (worst case) = health check every"
        f" {dns.health_check_interval} s x {dns.failure_threshold} failures + TTL {dns.ttl} s"
        f" + {PROPAGATION_ALLOWANCE} s for Route 53 to act on it",
        "",
        "Answers per client region after the failure:",
    ]
    width = max(len(region) for region in report.answers)
    for region, given in report.answers.items():
        where = f"{region:<{width}}  {continent(region)}"
        if not given:
            lines.append(f"  {where}  NO ANSWER")
            continue
        shown = "; ".join(
            f"{a.target} ({a.via})" if a.share == 1.0 else f"{a.target} {a.share:.0%} ({a.via})" for a in given
        )
        lines.append(f"  {where}  {shown}")
    lines.append("")
    if report.no_answer:
        lines.append(
            f"NO ANSWER for {len(report.no_answer)} of {len(report.answers)} client regions:"
            f" {', '.join(report.no_answer)}"
        )
    else:
        lines.append(f"Every client region ({len(report.answers)}) still gets an answer.")
    lines.append("")
    enough = "enough" if report.capacity_rps >= dns.peak_rps else "NOT ENOUGH"
    lines.append(f"Capacity: survivors carry {report.capacity_rps} rps, peak is {dns.peak_rps} rps: {enough}")
    lines.append(f"  per target: {report.formula}")
    lines.append(f"  answered survivors: {', '.join(report.serving) or 'none'}")
    if report.idle:
        lines.append(f"  not counted (alive but not answered under {report.mode} routing): {', '.join(report.idle)}")
    if report.notes:
        lines.append("")
        lines.extend(f"Note: {note}" for note in report.notes)
    lines.append("")
    lines.append(f"Verdict: {report.verdict}")
    return "\n".join(lines)


# --- from the stack and its plan ---


def drill_config(project_dir: Path, stack: str, fail: Sequence[str]) -> tuple[StackConfig, tuple[str, ...]]:
    """The stack's config and the targets to fail, checked before anything is synthesized."""
    stack_file = load_stack(project_dir, stack)
    try:
        config = parse_stack_config(stack_file.config, stack=stack, project=stack_file.project)
    except ConfigError as error:
        raise InputError(f"Pulumi.{stack}.yaml: {error}") from None
    if config.dns is None:
        raise InputError(f"Pulumi.{stack}.yaml: the stack has no global DNS to drill (mlplatform:dns is not set)")
    names = [target.name for target in config.targets]
    for name in fail:
        if name not in names:
            raise InputError(f"--fail {name}: not a target of stack {stack} (targets: {', '.join(names)})")
    return config, tuple(dict.fromkeys(fail))


def run_drill(plan: Plan, config: StackConfig, failed: Sequence[str]) -> DrillReport:
    dns = _dns(config)
    routing = read_routing(plan, config)
    given = answers(routing, failed)
    notes: list[str] = []
    if routing.mode == "latency":
        notes.append(
            "latency is approximated by the great-circle distance between region cities;"
            " Route 53 measures network latency, which may rank nearby regions differently"
        )
    countries = sorted(code for kind, code in routing.locations if kind == "country")
    if countries:
        notes.append(
            f"country records ({', '.join(countries)}) are not evaluated: a client region stands for its"
            " continent; clients in those countries get that target while it is healthy, then their"
            " continent's record, then the default"
        )
    if set(routing.targets) <= set(failed):
        notes.append(
            "every record is unhealthy, so Route 53 fails open and answers as if all were healthy:"
            " clients are sent to failed targets, which is no answer"
        )
    return DrillReport(
        project=config.project,
        stack=config.stack,
        mode=dns.mode,
        targets=tuple(t.name for t in config.targets),
        failed=tuple(failed),
        dns=dns,
        answers=given,
        serving=tuple(t.name for t in config.targets if t.name in serving_targets(routing, failed)),
        target_rps=target_capacity_rps(config.models, dns.rps_per_replica),
        formula=capacity_formula(config.models, dns.rps_per_replica),
        notes=tuple(notes),
    )


def read_routing(plan: Plan, config: StackConfig) -> Routing:
    """The routing set from the plan's Route 53 records, checked against the config.

    A disagreement means the program did not build what the config asks for: a ProgramError.
    """
    dns = _dns(config)
    targets = {t.name: t for t in config.targets}
    checks = _health_checks(plan)
    global_host = dns.global_host
    secondary_host = f"{dns.record_name}-secondary.{dns.zone}"
    records = [r for r in plan.of_type(RECORD) if r.inputs.get("name") in (global_host, secondary_host)]
    if not records:
        _mismatch(f"no Route 53 records named {global_host}")

    latency: dict[str, str] = {}
    weights: dict[str, int] = {}
    locations: dict[Location, str] = {}
    primary: str | None = None
    default: str | None = None
    secondary_alias = False
    for record in records:
        inputs = record.inputs
        if inputs.get("aliases"):
            secondary_alias = _check_secondary_alias(record, secondary_host)
            continue
        target = _record_target(record, dns, targets, checks)
        if inputs["name"] == secondary_host:
            weights[target] = int(_policy(record, "weightedRoutingPolicies")["weight"])
        elif dns.mode == "latency":
            latency[target] = str(_policy(record, "latencyRoutingPolicies")["region"])
        elif dns.mode == "weighted":
            weights[target] = int(_policy(record, "weightedRoutingPolicies")["weight"])
        elif dns.mode == "failover":
            role = _policy(record, "failoverRoutingPolicies")["type"]
            if role != "PRIMARY":
                _mismatch(f"record {record.name}: a non-alias {role} record; expected the primary only")
            primary = target
        else:
            where = _policy(record, "geolocationRoutingPolicies")
            if where.get("country") == "*":
                default = target
            else:
                (kind, code), *rest = [(k, str(v)) for k, v in where.items() if v]
                if rest or kind not in ("continent", "country"):
                    _mismatch(f"record {record.name}: geolocation {where} is not one continent or country")
                locations[kind, code] = target

    routing = Routing(dns.mode, latency, weights, primary, locations, default)
    _check_against_config(routing, dns, targets, secondary_alias)
    return routing


def _dns(config: StackConfig) -> DnsConfig:
    if config.dns is None:
        raise InputError(
            f"Pulumi.{config.stack}.yaml: the stack has no global DNS to drill (mlplatform:dns is not set)"
        )
    return config.dns


def _mismatch(problem: str) -> NoReturn:
    raise ProgramError(f"the plan's Route 53 records disagree with mlplatform:dns: {problem}")


def _health_checks(plan: Plan) -> dict[str, PlannedResource]:
    return {check.urn: check for check in plan.of_type(HEALTH_CHECK)}


def _policy(record: PlannedResource, key: str) -> dict[str, Any]:
    policies = record.inputs.get(key)
    if not isinstance(policies, list) or len(policies) != 1 or not isinstance(policies[0], dict):
        _mismatch(f"record {record.name}: expected one {key} entry, got {policies!r}")
    return dict(policies[0])


def _record_target(
    record: PlannedResource,
    dns: DnsConfig,
    targets: Mapping[str, TargetConfig],
    checks: Mapping[str, PlannedResource],
) -> str:
    """The target a routing CNAME answers with, tied to that target's own health check and the TTL."""
    values = record.inputs.get("records") or []
    suffix = f".{dns.zone}"
    name = values[0][: -len(suffix)] if len(values) == 1 and str(values[0]).endswith(suffix) else None
    if name is None or name not in targets:
        _mismatch(f"record {record.name}: answers {values!r}, not one target's name under {dns.zone}")
    if not record.inputs.get("healthCheckId"):
        _mismatch(f"record {record.name}: no health check, so a failed {name} would stay in the answers")
    tied = [checks[d] for d in record.dependencies if d in checks]
    if len(tied) != 1 or (tied[0].inputs.get("tags") or {}).get("Target") != name:
        _mismatch(f"record {record.name}: not tied to {name}'s own health check")
    check = tied[0].inputs
    if (check.get("requestInterval"), check.get("failureThreshold")) != (
        dns.health_check_interval,
        dns.failure_threshold,
    ):
        _mismatch(
            f"health check of {name}: every {check.get('requestInterval')} s, threshold"
            f" {check.get('failureThreshold')}; config says {dns.health_check_interval} s, {dns.failure_threshold}"
        )
    if record.inputs.get("ttl") != dns.ttl:
        _mismatch(f"record {record.name}: TTL {record.inputs.get('ttl')}, config says {dns.ttl}")
    return name


def _check_secondary_alias(record: PlannedResource, secondary_host: str) -> bool:
    role = _policy(record, "failoverRoutingPolicies")["type"]
    aliases = record.inputs["aliases"]
    alias = aliases[0] if isinstance(aliases, list) and len(aliases) == 1 else {}
    if role != "SECONDARY" or alias.get("name") != secondary_host or alias.get("evaluateTargetHealth") is not True:
        _mismatch(f"record {record.name}: expected a SECONDARY alias to {secondary_host} evaluating its health")
    return True


def _check_against_config(
    routing: Routing, dns: DnsConfig, targets: Mapping[str, TargetConfig], secondary_alias: bool
) -> None:
    if dns.mode == "latency":
        expected = {name: aws_latency_region(t.cloud, t.region) for name, t in targets.items()}
        if dict(routing.latency) != expected:
            _mismatch(f"latency records {dict(routing.latency)}, config implies {expected}")
    elif dns.mode == "weighted":
        if dict(routing.weights) != dict(dns.weights):
            _mismatch(f"weights {dict(routing.weights)}, config says {dict(dns.weights)}")
    elif dns.mode == "failover":
        standby = sorted(name for name in targets if name != dns.primary)
        if routing.primary != dns.primary or sorted(routing.weights) != standby or not secondary_alias:
            _mismatch(
                f"primary {routing.primary}, standbys {sorted(routing.weights)}"
                f"{'' if secondary_alias else ', no SECONDARY alias'}; config says primary {dns.primary}"
            )
    else:
        expected_locations: dict[Location, str] = {}
        for name, where in dns.geo.items():
            expected_locations.update({("continent", code): name for code in where.continents})
            expected_locations.update({("country", code): name for code in where.countries})
        if dict(routing.locations) != expected_locations or routing.default != dns.geo_default:
            _mismatch(
                f"geo records {_locations(routing.locations)} default {routing.default};"
                f" config says {_locations(expected_locations)} default {dns.geo_default}"
            )


def _locations(locations: Mapping[Location, str]) -> str:
    return "{" + ", ".join(f"{code}: {t}" for (_, code), t in sorted(locations.items())) + "}"
