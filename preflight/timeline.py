"""How long `pulumi up` of a fresh stack takes: the plan's critical path, timed with typical create times.

The times come from preflight/data/create_times.yaml (each figure with its source and the month it was read). The
graph is the plan's, read the way the Pulumi engine schedules a create:

- a resource starts when its dependencies and its provider are done, and takes its typical create time;
- waiting on a local component (custom=False) means waiting on everything under it: its children, and through child
  components their children, but not what lies under a custom resource or a remote component, nor the component's
  own dependencies. That is how the SDK expands a dependency on a component (pulumi/runtime/rpc.py,
  `_add_dependency`); recorded plans hold the expanded list already, hand-made graphs may not;
- remote components whose children exist only inside the engine (eks:index:Cluster, eks:index:ManagedNodeGroup) are
  timed as units: a component type with an entry in the table is one of them;
- a child does not wait for its parent: the parents here are components, registered at once. (The plans hold no
  child of a custom resource, which would wait for its parent's URN.) Local components take 0 minutes.

Finish times are memoized, so the longest path costs one pass over the edges. Cycles cannot occur in a plan the
engine accepted (the SDK refuses them), but a hand-made graph can have one: it raises ValueError naming a resource.
The critical path lists only the steps that take time; providers and components on it are left out.

The same pass reports the edges between clouds (preflight/edges.py): the targets deploy in parallel only if the
sole edges between them are the ones docs/ARCHITECTURE.md allows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from components.cold_start import COLD_START_ANNOTATION, NEW_NODE_ANNOTATION
from preflight.edges import CrossEdge, partition_cross_target_edges
from preflight.plan import Plan, PlannedResource

CREATE_TIMES_FILE = Path(__file__).resolve().parent / "data" / "create_times.yaml"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
_ENTRY_KEYS = frozenset({"minutes", "source", "read", "note"})
_READ = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_TYPE_KEY = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9._/-]+:[A-Za-z0-9_-]+(/[A-Za-z0-9._-]+)?$")
_ZONE = re.compile(r"-[a-z]$")  # us-central1-a is a zone, us-central1 a region


@dataclass(frozen=True)
class CreateTime:
    minutes: float
    source: str
    read: str
    note: str


@dataclass(frozen=True)
class CreateTimes:
    default: CreateTime
    times: Mapping[str, CreateTime]

    def lookup(self, resource: PlannedResource) -> tuple[str | None, CreateTime]:
        """(the key used, its entry); the key is None when the default applied."""
        variant = variant_of(resource)
        for key in ([f"{resource.type}/{variant}"] if variant else []) + [resource.type]:
            if key in self.times:
                return key, self.times[key]
        return None, self.default


@dataclass(frozen=True)
class Step:
    urn: str
    type: str
    name: str
    target: str | None
    minutes: float
    finishes_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "target": self.target,
            "minutes": self.minutes,
            "finishesAt": self.finishes_at,
        }


@dataclass(frozen=True)
class DefaultUse:
    """The resources no table entry covers: timed with the default, and named so the table can grow."""

    count: int
    types: tuple[str, ...]
    minutes: float


@dataclass(frozen=True)
class Timeline:
    project: str
    stack: str
    critical_path: tuple[Step, ...]
    critical_minutes: float
    serial_minutes: float
    target_finish: Mapping[str, float]
    stack_wide_finish: float | None
    resources_using_default: DefaultUse
    cross_cloud_edges_allowed: int
    cross_cloud_edges_other: tuple[CrossEdge, ...]

    @property
    def parallel(self) -> bool:
        return not self.cross_cloud_edges_other

    def to_json(self) -> dict[str, Any]:
        return {
            "criticalPath": [step.to_json() for step in self.critical_path],
            "criticalMinutes": self.critical_minutes,
            "serialMinutes": self.serial_minutes,
            "targetFinishMinutes": dict(self.target_finish),
            "stackWideFinishMinutes": self.stack_wide_finish,
            "resourcesUsingDefault": {
                "count": self.resources_using_default.count,
                "types": list(self.resources_using_default.types),
                "minutes": self.resources_using_default.minutes,
            },
            "crossCloudEdgesAllowed": self.cross_cloud_edges_allowed,
            "crossCloudEdgesOther": [edge.to_json() for edge in self.cross_cloud_edges_other],
            "parallel": self.parallel,
        }


def variant_of(resource: PlannedResource) -> str | None:
    """The part of the inputs that changes a type's create time (see the header of create_times.yaml)."""
    inputs = resource.inputs
    if resource.type == HELM_RELEASE:
        chart = inputs.get("chart")
        return chart.rstrip("/").rsplit("/", 1)[-1] if isinstance(chart, str) and chart else None
    if resource.type == "aws:rds/instance:Instance":
        return "multi-az" if inputs.get("multiAz") else None
    if resource.type == "gcp:container/cluster:Cluster":
        location = inputs.get("location")
        return "zonal" if isinstance(location, str) and _ZONE.search(location) else None
    if resource.type == "gcp:sql/databaseInstance:DatabaseInstance":
        settings = inputs.get("settings")
        return "regional" if isinstance(settings, dict) and settings.get("availabilityType") == "REGIONAL" else None
    if resource.type == "azure-native:dbforpostgresql:Server":
        availability = inputs.get("highAvailability")
        mode = availability.get("mode") if isinstance(availability, dict) else None
        return "ha" if mode in ("ZoneRedundant", "SameZone") else None
    if resource.type == "kubernetes:apps/v1:Deployment":
        if _skips_await(inputs):  # Pulumi does not wait for it (warm spare placeholders)
            return "unawaited"
        return "gpu" if _requests_gpu(inputs) else None
    return None


def _skips_await(inputs: Mapping[str, Any]) -> bool:
    metadata = inputs.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    return isinstance(annotations, dict) and annotations.get("pulumi.com/skipAwait") == "true"


@cache
def load_create_times(path: Path = CREATE_TIMES_FILE) -> CreateTimes:
    """Load and validate strictly: a bad entry raises ValueError naming its key."""
    return parse_create_times(yaml.safe_load(path.read_text()), path.name)


def parse_create_times(document: Any, source: str) -> CreateTimes:
    if not isinstance(document, dict) or set(document) != {"default", "times"}:
        raise ValueError(f"{source}: expected a mapping with exactly 'default' and 'times'")
    times = document["times"]
    if not isinstance(times, dict) or not times:
        raise ValueError(f"{source}: times: expected a non-empty mapping of type token to entry")
    for key in times:
        if not isinstance(key, str) or not _TYPE_KEY.match(key):
            raise ValueError(f"{source}: times: {key!r} is not a type token (pkg:module:Type, optionally /variant)")
    return CreateTimes(
        default=_entry(document["default"], f"{source}: default"),
        times={key: _entry(value, f"{source}: times: {key}") for key, value in times.items()},
    )


def build_timeline(plan: Plan, times: CreateTimes | None = None) -> Timeline:
    times = load_create_times() if times is None else times
    children: dict[str, list[str]] = {}
    for resource in plan.resources:
        if resource.parent and plan.get(resource.parent) is not None:
            children.setdefault(resource.parent, []).append(resource.urn)

    minutes: dict[str, float] = {}
    local_components: set[str] = set()
    defaulted: list[PlannedResource] = []
    for resource in plan.resources:
        key, entry = times.lookup(resource)
        if resource.custom or key is not None:  # a custom resource, or a remote component timed as a unit
            minutes[resource.urn] = _cold_start_minutes(resource) or entry.minutes
            if key is None:
                defaulted.append(resource)
        else:
            minutes[resource.urn] = 0.0
            local_components.add(resource.urn)

    def waits(resource: PlannedResource) -> list[str]:
        if resource.urn in local_components:
            return children.get(resource.urn, [])  # a local component is done when everything under it is
        references = [*resource.dependencies, *([resource.provider] if resource.provider else [])]
        if not resource.custom:  # a remote component: the SDK leaves its resource references out of its dependencies
            references += [urn for urn in _referenced_urns(resource.inputs) if urn not in references and plan.get(urn)]
        for reference in references:
            if plan.get(reference) is None:
                raise ValueError(f"{resource.urn} waits on {reference}, which is not in the plan")
        return references

    finish, via = _longest_paths(plan, waits, minutes)
    targets = {resource.urn: plan.target_of(resource) for resource in plan.resources}
    timed = [resource for resource in plan.resources if resource.urn not in local_components]
    allowed, other = partition_cross_target_edges(plan)
    return Timeline(
        project=plan.project,
        stack=plan.stack,
        critical_path=_critical_path(plan, finish, via, minutes, targets),
        critical_minutes=max(finish.values(), default=0.0),
        serial_minutes=round(sum(minutes.values()), 2),
        target_finish=_finish_by_target(timed, finish, targets),
        stack_wide_finish=max((finish[r.urn] for r in timed if targets[r.urn] is None), default=None),
        resources_using_default=DefaultUse(
            count=len(defaulted),
            types=tuple(sorted({resource.type for resource in defaulted})),
            minutes=times.default.minutes,
        ),
        cross_cloud_edges_allowed=len(allowed),
        cross_cloud_edges_other=tuple(other),
    )


def render_text(timeline: Timeline) -> str:
    """The critical path step by step, the serial total, when each target is done, and whether clouds overlap."""
    lines = [
        f"{timeline.project}/{timeline.stack}: about {_fmt(timeline.critical_minutes)} min on the critical path "
        f"({_fmt(timeline.serial_minutes)} min if everything ran one after another)",
        "",
        "Critical path (finishes at, takes, in minutes; typical create times from create_times.yaml, following the",
        "plan's edges only: a pod waiting for a node the plan does not wait on is not counted):",
    ]
    for step in timeline.critical_path:
        lines.append(
            f"  {_fmt(step.finishes_at):>6}  {_fmt(step.minutes):>5}  {step.type}  {step.name}"
            f"  [{step.target or 'stack-wide'}]"
        )
    lines += ["", "Finished at:"]
    width = max((len(name) for name in timeline.target_finish), default=10)
    for name, done in timeline.target_finish.items():
        lines.append(f"  {name:<{width}}  {_fmt(done):>6} min")
    if timeline.stack_wide_finish is not None:
        lines.append(f"  {'stack-wide':<{width}}  {_fmt(timeline.stack_wide_finish):>6} min")
    lines += ["", _verdict(timeline)]
    lines += [f"  {edge.describe()}" for edge in timeline.cross_cloud_edges_other]
    default = timeline.resources_using_default
    if default.count:
        lines += [
            "",
            f"{default.count} resource(s) timed with the default {_fmt(default.minutes)} min (no entry in "
            f"create_times.yaml): {', '.join(default.types)}",
        ]
    else:
        lines += ["", "Every resource is timed from its own entry in create_times.yaml (none with the default)."]
    return "\n".join(lines)


def _verdict(timeline: Timeline) -> str:
    count = len(timeline.target_finish)
    noun = "target deploys" if count == 1 else f"{count} targets deploy"
    if timeline.parallel and not timeline.cross_cloud_edges_allowed:
        return f"Parallel: the {noun} in parallel: no edge between clouds"
    if timeline.parallel:
        return (
            f"Parallel: the {noun} in parallel: no edge between clouds except "
            f"{timeline.cross_cloud_edges_allowed} allowed ones (docs/ARCHITECTURE.md, Edges between clouds)"
        )
    return (
        f"NOT parallel: {len(timeline.cross_cloud_edges_other)} edge(s) between clouds that the design does not "
        f"allow (docs/ARCHITECTURE.md, Edges between clouds), besides {timeline.cross_cloud_edges_allowed} allowed:"
    )


def _referenced_urns(value: Any) -> list[str]:
    """URNs among a resource's inputs: the plan records a resource reference as its URN."""
    if isinstance(value, str):
        return [value] if value.startswith("urn:pulumi:") else []
    if isinstance(value, dict):
        return [urn for item in value.values() for urn in _referenced_urns(item)]
    if isinstance(value, list):
        return [urn for item in value for urn in _referenced_urns(item)]
    return []


def _longest_paths(
    plan: Plan, waits: Callable[[PlannedResource], list[str]], minutes: Mapping[str, float]
) -> tuple[dict[str, float], dict[str, str | None]]:
    """Finish time of every resource, and the wait that decided it; iterative DFS, so deep chains are fine."""
    finish: dict[str, float] = {}
    via: dict[str, str | None] = {}
    in_progress: set[str] = set()
    for root in plan.resources:
        if root.urn in finish:
            continue
        stack: list[tuple[PlannedResource, list[str] | None]] = [(root, None)]
        while stack:
            resource, pending = stack.pop()
            if pending is None:
                if resource.urn in finish:
                    continue
                if resource.urn in in_progress:
                    raise ValueError(f"dependency cycle through {resource.urn}")
                in_progress.add(resource.urn)
                pending = waits(resource)
                stack.append((resource, pending))
                for reference in reversed(pending):
                    if reference not in finish:
                        if reference in in_progress:
                            raise ValueError(f"dependency cycle through {reference}")
                        other = plan.get(reference)
                        assert other is not None  # waits() checked it
                        stack.append((other, None))
                continue
            start, decided_by = 0.0, None
            for reference in pending:
                if finish[reference] > start:
                    start, decided_by = finish[reference], reference
            finish[resource.urn] = round(start + minutes[resource.urn], 2)
            via[resource.urn] = decided_by
            in_progress.discard(resource.urn)
    return finish, via


def _critical_path(
    plan: Plan,
    finish: Mapping[str, float],
    via: Mapping[str, str | None],
    minutes: Mapping[str, float],
    targets: Mapping[str, str | None],
) -> tuple[Step, ...]:
    if not finish:
        return ()
    end = max(plan.resources, key=lambda resource: finish[resource.urn]).urn  # the first of the latest, in plan order
    steps: list[Step] = []
    current: str | None = end
    while current is not None:
        resource = plan.get(current)
        assert resource is not None
        if minutes[current] > 0:
            steps.append(
                Step(current, resource.type, resource.name, targets[current], minutes[current], finish[current])
            )
        current = via[current]
    return tuple(reversed(steps))


def _finish_by_target(
    timed: list[PlannedResource], finish: Mapping[str, float], targets: Mapping[str, str | None]
) -> dict[str, float]:
    done = {name: 0.0 for name in sorted({name for name in targets.values() if name is not None})}
    for resource in timed:
        name = targets[resource.urn]
        if name is not None:
            done[name] = max(done[name], finish[resource.urn])
    return done


def _entry(value: Any, where: str) -> CreateTime:
    if not isinstance(value, dict) or set(value) != _ENTRY_KEYS:
        raise ValueError(f"{where}: expected exactly the keys {', '.join(sorted(_ENTRY_KEYS))}")
    minutes, source, read, note = value["minutes"], value["source"], value["read"], value["note"]
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or not 0 <= minutes <= 240:
        raise ValueError(f"{where}: minutes: expected a number of minutes from 0 to 240, got {minutes!r}")
    if not isinstance(source, str) or not source.startswith("https://"):
        raise ValueError(f"{where}: source: expected an https:// URL, got {source!r}")
    if not isinstance(read, str) or not _READ.match(read):
        raise ValueError(f"{where}: read: expected the month read as YYYY-MM (quoted), got {read!r}")
    if not isinstance(note, str) or not note.strip():
        raise ValueError(f"{where}: note: expected a non-empty string")
    return CreateTime(minutes=float(minutes), source=source, read=read, note=note.strip())


def _cold_start_minutes(resource: PlannedResource) -> float | None:
    """A model Deployment's own cold start, as the program computed it from the sourced phases
    (components/cold_start.py) and wrote on it: what its rollout waits for, rather than the table's one estimate
    for every GPU Deployment. With warm spares the figure on a new node: a first rollout's replicas need new nodes
    (the spares are kept for scale-ups), so the spare's figure would understate it."""
    metadata = resource.inputs.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    found = annotations if isinstance(annotations, dict) else {}
    seconds = found.get(NEW_NODE_ANNOTATION, found.get(COLD_START_ANNOTATION))
    try:
        value = float(seconds) if seconds is not None else math.nan
    except (TypeError, ValueError):
        return None
    return value / 60 if math.isfinite(value) and value > 0 else None


def _requests_gpu(inputs: Mapping[str, Any]) -> bool:
    spec = inputs.get("spec")
    template = spec.get("template") if isinstance(spec, dict) else None
    pod = template.get("spec") if isinstance(template, dict) else None
    containers = pod.get("containers") if isinstance(pod, dict) else None
    for container in containers if isinstance(containers, list) else []:
        resources = container.get("resources") if isinstance(container, dict) else None
        for section in ("limits", "requests"):
            amounts = resources.get(section) if isinstance(resources, dict) else None
            if isinstance(amounts, dict) and any(name.endswith("/gpu") for name in amounts):
                return True
    return False


def _fmt(minutes: float) -> str:
    return f"{minutes:.2f}".rstrip("0").rstrip(".")
