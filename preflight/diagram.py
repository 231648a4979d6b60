"""`preflight diagram`: the platform as a picture, drawn from the Plan rather than from config.

Reading the plan means the picture shows what the program actually builds: one box per target (its footprint),
the components inside it, the stack-wide components (GlobalDns) outside, and the edges between them as the
engine would see them (providers and dependencies), so a coupling nobody meant shows up as an arrow.

A component is an `mlplatform:*` component resource (other than the Footprint) with no other such component
above it; nested `mlplatform:*` components are folded into the outermost one. Its subtree is every resource
whose parent chain reaches it. Unknown component types are drawn like the known ones, with a generic label.
Resources that belong to no component (the footprint's provider, Azure's resource group) are not drawn.

Arrows run from what is read to what reads it (the order `pulumi up` creates them). Edges that cross targets
(stack-wide counting as a place of its own, as in preflight/edges.py) are drawn thick and labelled with the
design rule that allows them, or in red as "not allowed".

`diagram_source` is a pure function (plan -> DOT); `render` runs a Graphviz renderer on it: graphviz-pure, a Rust
port of Graphviz 16.1 whose wheel (requirements.txt) carries the binary, so the picture is the same bytes on every
machine and needs no system package; Graphviz's own `dot` where graphviz-pure is not installed. The `graphviz`
package only writes the DOT source: it runs `dot` by that name and cannot be pointed at another binary.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sysconfig
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import graphviz  # type: ignore[import-untyped]

from preflight.edges import allowance, edges_between_targets
from preflight.node_pools import pools_of
from preflight.plan import FOOTPRINT_TYPE, Plan, PlannedResource

COMPONENT_PREFIX = "mlplatform:"
FORMATS = ("svg", "png")
NOT_ALLOWED = "not allowed"
# Renderers, preferred first; both take `dot`'s flags.
RENDERERS = ("graphviz-pure", "dot")
MISSING_RENDERER = (
    "no Graphviz renderer: neither graphviz-pure nor dot is installed "
    "(pip install -r requirements.txt installs graphviz-pure; make plan does)"
)

# Border and fill per cloud: the providers' own brand colours, lightened for the fill.
CLOUD_COLOURS: Mapping[str, tuple[str, str]] = {
    "aws": ("#FF9900", "#FFF5E6"),
    "gcp": ("#4285F4", "#ECF3FE"),
    "azure": ("#0078D4", "#E6F2FB"),
}
OTHER_CLOUD = ("#777777", "#F2F2F2")
STACK_WIDE_FILL = "#F3E8F7"
CROSS_COLOUR = "#6A1B9A"
NOT_ALLOWED_COLOUR = "#D32F2F"


class DiagramError(Exception):
    """The picture could not be drawn (no renderer, or it failed): one line for the user."""


@dataclass(frozen=True)
class Component:
    """One box in the picture: an mlplatform component and its subtree."""

    resource: PlannedResource
    target: str | None
    members: tuple[PlannedResource, ...]

    @property
    def node_id(self) -> str:
        return f"{short_type(self.resource.type)}/{self.resource.name}"

    @property
    def facts(self) -> list[str]:
        return component_facts(self)


@dataclass(frozen=True)
class Target:
    """One footprint: a cluster of components drawn in its cloud's colour."""

    name: str
    cloud: str
    region: str
    components: tuple[Component, ...]

    @property
    def cluster_id(self) -> str:
        return f"cluster_{self.name}"


@dataclass(frozen=True)
class Edge:
    """Every provider and dependency reference from `sink`'s subtree into `source`'s, as one arrow."""

    source: Component
    sink: Component
    references: Counter[str]
    rules: frozenset[str]

    @property
    def crosses_targets(self) -> bool:
        return self.source.target != self.sink.target

    @property
    def allowed(self) -> bool:
        """Inside a target, always; across targets, only if a design rule allows every reference in it."""
        return not self.crosses_targets or (bool(self.rules) and NOT_ALLOWED not in self.rules)

    @property
    def label(self) -> str:
        """The rules that allow a cross-target edge ('' inside a target)."""
        if not self.crosses_targets:
            return ""
        return ", ".join(sorted(self.rules - {NOT_ALLOWED})) if self.allowed else NOT_ALLOWED


@dataclass(frozen=True)
class Diagram:
    project: str
    stack: str
    targets: tuple[Target, ...]
    stack_wide: tuple[Component, ...]
    edges: tuple[Edge, ...]

    @property
    def components(self) -> list[Component]:
        return [*(c for t in self.targets for c in t.components), *self.stack_wide]


def short_type(type_token: str) -> str:
    """`mlplatform:compute:GpuCluster` -> `GpuCluster`."""
    return type_token.rsplit(":", 1)[-1]


def build_diagram(plan: Plan) -> Diagram:
    """The picture's content: targets with their components, stack-wide components, aggregated edges."""
    owner = _component_of_each(plan)
    members: dict[str, list[PlannedResource]] = {}
    for resource in plan.resources:
        top = owner.get(resource.urn)
        if top is not None and top != resource.urn:
            members.setdefault(top, []).append(resource)
    components = {
        urn: Component(resource, plan.target_of(resource), tuple(members.get(urn, ())))
        for urn, resource in ((r.urn, r) for r in plan.resources if owner.get(r.urn) == r.urn)
    }
    targets = []
    for footprint in sorted(plan.of_type(FOOTPRINT_TYPE), key=lambda f: f.name):
        inside = tuple(c for c in components.values() if c.target == footprint.name)
        cloud, region = str(footprint.inputs.get("cloud", "")), str(footprint.inputs.get("region", ""))
        targets.append(Target(footprint.name, cloud, region, inside))
    stack_wide = tuple(c for c in components.values() if c.target is None)
    edges = _edges(plan, owner, components)
    return Diagram(plan.project, plan.stack, tuple(targets), stack_wide, tuple(edges))


def diagram_source(plan: Plan) -> str:
    """The DOT source of the plan's picture (pure: no Graphviz binary needed)."""
    diagram = build_diagram(plan)
    graph = graphviz.Digraph(
        name=f"{diagram.project}-{diagram.stack}",
        graph_attr={
            "rankdir": "LR",
            "newrank": "true",
            "nodesep": "0.3",
            "ranksep": "1.1",
            "fontname": "Helvetica",
            "fontsize": "12",
            "labelloc": "t",
            "label": _html(
                [f"<b>{_e(diagram.project)}/{_e(diagram.stack)}</b>"],
                [
                    f"{len(diagram.targets)} targets, {len(diagram.components)} components. "
                    "Arrows run from what is read to what reads it (dashed: provider only).",
                    "Thick labelled arrows cross targets: the rule that allows them (docs/ARCHITECTURE.md, "
                    '"Edges between clouds").',
                ],
            ),
        },
        node_attr={"shape": "box", "style": "rounded,filled", "fillcolor": "white", "fontname": "Helvetica"},
        edge_attr={"fontname": "Helvetica", "fontsize": "10", "color": "#555555"},
    )
    for target in diagram.targets:
        border, fill = CLOUD_COLOURS.get(target.cloud, OTHER_CLOUD)
        with graph.subgraph(name=target.cluster_id) as cluster:
            cluster.attr(
                label=_html([f"<b>{_e(target.name)}</b>"], [f"{target.cloud} {target.region}"]),
                style="rounded,filled",
                color=border,
                fillcolor=fill,
                penwidth="2",
            )
            for component in target.components:
                cluster.node(component.node_id, label=_node_label(component), color=border)
    for component in diagram.stack_wide:
        graph.node(
            component.node_id, label=_node_label(component), fillcolor=STACK_WIDE_FILL, color=CROSS_COLOUR, penwidth="2"
        )
    for edge in diagram.edges:
        graph.edge(edge.source.node_id, edge.sink.node_id, **_edge_attributes(edge))
    return str(graph.source)


def require_renderer() -> str:
    """The renderer to run, found before the synthesis so a missing one costs one line and no wait.

    Looked up in the running Python's scripts directory (a venv's bin, where pip put graphviz-pure) and then on PATH,
    so `.venv/bin/python -m preflight diagram` finds it without an activated venv.
    """
    search = os.pathsep.join([sysconfig.get_path("scripts"), os.environ.get("PATH", os.defpath)])
    for name in RENDERERS:
        found = shutil.which(name, path=search)
        if found:
            return found
    raise DiagramError(MISSING_RENDERER)


def render(source: str, fmt: str) -> bytes:
    """Draw DOT source as svg or png bytes with the renderer (dot's layout engine)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    program = require_renderer()
    name = os.path.basename(program)
    try:
        done = subprocess.run([program, "-Kdot", f"-T{fmt}"], input=source.encode(), capture_output=True, check=False)
    except OSError as error:
        raise DiagramError(f"{name}: {error.strerror}") from None
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise DiagramError(f"`{name} -T{fmt}` failed: {detail[0] if detail else f'exit {done.returncode}'}")
    return done.stdout


# --- components and edges -------------------------------------------------------------------------------------


def _is_component(resource: PlannedResource) -> bool:
    return resource.type.startswith(COMPONENT_PREFIX) and resource.type != FOOTPRINT_TYPE and not resource.custom


def _component_of_each(plan: Plan) -> dict[str, str]:
    """Each resource's outermost component (its URN), for resources under one."""
    owner: dict[str, str] = {}
    for resource in plan.resources:
        chain: list[PlannedResource] = []
        current: PlannedResource | None = resource
        while current is not None:
            chain.append(current)
            current = plan.get(current.parent) if current.parent else None
        tops = [r for r in chain if _is_component(r)]
        if tops:
            owner[resource.urn] = tops[-1].urn
    return owner


def _edges(plan: Plan, owner: Mapping[str, str], components: Mapping[str, Component]) -> list[Edge]:
    rules: dict[tuple[str, str, str], str] = {
        (e.from_urn, e.to_urn, e.kind): allowance(plan, e) or NOT_ALLOWED for e in edges_between_targets(plan)
    }
    references: dict[tuple[str, str], Counter[str]] = {}
    found_rules: dict[tuple[str, str], set[str]] = {}
    for resource in plan.resources:
        sink = owner.get(resource.urn)
        if sink is None:
            continue
        outgoing = [("provider", resource.provider)] if resource.provider else []
        outgoing.extend(("dependency", dependency) for dependency in resource.dependencies)
        for kind, reference in outgoing:
            source = owner.get(reference)
            if source is None or source == sink:
                continue
            key = (source, sink)
            references.setdefault(key, Counter())[kind] += 1
            rule = rules.get((resource.urn, reference, kind))
            if rule is not None:
                found_rules.setdefault(key, set()).add(rule)
    return [
        Edge(components[source], components[sink], counts, frozenset(found_rules.get((source, sink), ())))
        for (source, sink), counts in references.items()
    ]


def _edge_attributes(edge: Edge) -> dict[str, str]:
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(edge.references.items()))
    attributes = {"tooltip": f"{edge.sink.node_id} reads {edge.source.node_id} ({counts})"}
    if set(edge.references) == {"provider"}:
        attributes["style"] = "dashed"
    if edge.crosses_targets:
        colour = CROSS_COLOUR if edge.allowed else NOT_ALLOWED_COLOUR
        attributes.update({"color": colour, "fontcolor": colour, "penwidth": "2.5", "label": edge.label})
    return attributes


# --- labels: a few key facts read from each component's children ---------------------------------------------

FactReader = Callable[[PlannedResource], list[str]]


def _get(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _size(value: float) -> str:
    return f"{value:g}"


def _rds(r: PlannedResource) -> list[str]:
    ha = ", Multi-AZ (HA)" if r.inputs.get("multiAz") else ", single-AZ"
    return [f"RDS PostgreSQL {r.inputs.get('engineVersion')}", f"{r.inputs.get('instanceClass')}{ha}"]


def _cloud_sql(r: PlannedResource) -> list[str]:
    availability = _get(r.inputs, "settings", "availabilityType")
    ha = ", REGIONAL (HA)" if availability == "REGIONAL" else f", {availability or 'ZONAL'}"
    return [f"Cloud SQL {r.inputs.get('databaseVersion')}", f"{_get(r.inputs, 'settings', 'tier')}{ha}"]


def _flexible_server(r: PlannedResource) -> list[str]:
    mode = _get(r.inputs, "highAvailability", "mode")
    ha = f", {mode} (HA)" if mode and mode != "Disabled" else ", no HA"
    return [f"Flexible Server PostgreSQL {r.inputs.get('version')}", f"{_get(r.inputs, 'sku', 'name')}{ha}"]


def _gke(r: PlannedResource) -> list[str]:
    channel = _get(r.inputs, "releaseChannel", "channel")
    return [f"GKE {r.inputs.get('minMasterVersion')}{f' ({channel})' if channel else ''}"]


def _aks(r: PlannedResource) -> list[str]:
    return [f"AKS {r.inputs.get('kubernetesVersion')}, {_get(r.inputs, 'sku', 'tier') or 'Free'} tier"]


def _gcs(r: PlannedResource) -> list[str]:
    return [f"GCS bucket, {r.inputs.get('storageClass') or 'STANDARD'} {r.inputs.get('location') or ''}".rstrip()]


def _storage_account(r: PlannedResource) -> list[str]:
    return [f"Storage account {r.inputs.get('kind')}, {_get(r.inputs, 'sku', 'name')}"]


def _ecr(r: PlannedResource) -> list[str]:
    return [f"ECR creation template, {str(r.inputs.get('imageTagMutability', 'MUTABLE')).lower()} tags"]


def _artifact_registry(r: PlannedResource) -> list[str]:
    return [f"Artifact Registry, {r.inputs.get('format')}"]


def _acr(r: PlannedResource) -> list[str]:
    zones = ", zone-redundant" if r.inputs.get("zoneRedundancy") == "Enabled" else ""
    return [f"ACR {_get(r.inputs, 'sku', 'name')}{zones}"]


# One reader per child type whose facts say what a component is; a type not listed adds nothing of its own.
FACT_READERS: Mapping[str, FactReader] = {
    "eks:index:Cluster": lambda r: [f"EKS {r.inputs.get('version')}"],
    "gcp:container/cluster:Cluster": _gke,
    "azure-native:containerservice:ManagedCluster": _aks,
    "aws:rds/instance:Instance": _rds,
    "gcp:sql/databaseInstance:DatabaseInstance": _cloud_sql,
    "azure-native:dbforpostgresql:Server": _flexible_server,
    "aws:s3/bucket:Bucket": lambda r: ["S3 bucket"],
    "gcp:storage/bucket:Bucket": _gcs,
    "azure-native:storage:StorageAccount": _storage_account,
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": _ecr,
    "gcp:artifactregistry/repository:Repository": _artifact_registry,
    "azure-native:containerregistry:Registry": _acr,
}
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
ROUTE53_RECORD = "aws:route53/record:Record"
ROUTE53_HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
# aws.route53.Record's routing inputs: latencyRoutingPolicies, failoverRoutingPolicies, weightedRoutingPolicies,
# geolocationRoutingPolicies, geoproximityRoutingPolicy, cidrRoutingPolicy, multivalueAnswerRoutingPolicy.
_ROUTING_POLICY = re.compile(r"RoutingPolic(y|ies)$")


def component_facts(component: Component) -> list[str]:
    """Short lines for the component's box: what it is, its node pools (spot or on-demand), HA, charts, models,
    DNS routing; a component with none of those gets its most common child types."""
    members = component.members
    facts: list[str] = []
    for member in members:
        reader = FACT_READERS.get(member.type)
        if reader is not None:
            facts.extend(reader(member))
    facts.extend(_pool_facts(members))
    charts = sorted({str(m.inputs.get("chart")) for m in members if m.type == HELM_RELEASE and m.inputs.get("chart")})
    if charts:
        facts.extend(_wrapped("charts: ", charts))
    models = sorted(
        {str(app) for m in members if m.type == DEPLOYMENT if (app := _get(m.inputs, "metadata", "labels", "app"))}
    )
    if models:
        facts.extend(_wrapped("models: ", models))
    facts.extend(_dns_facts(members))
    if not facts:
        common = sorted(Counter(short_type(m.type) for m in members).items(), key=lambda item: (-item[1], item[0]))
        facts.extend(f"{count} {kind}" for kind, count in common[:3])
    facts.append(f"{len(members)} resource{'' if len(members) == 1 else 's'}")
    return facts


def _pool_facts(members: Iterable[PlannedResource]) -> list[str]:
    """One line per node pool, system pools first: name, machine types, spot or on-demand, min-max nodes."""
    lines = []
    pools = [pool for member in members for pool in pools_of(member.type, member.inputs, member.name)]
    for pool in sorted(pools, key=lambda pool: pool.gpu):
        name = pool.labels.get("mlplatform.io/pool") or pool.labels.get("mlplatform.io/role") or pool.name
        capacity = "spot" if pool.spot else "on-demand"
        fallback = " (fallback)" if pool.marked_fallback() else ""
        sizes = f"{_size(pool.min_size)}-{_size(pool.max_size)}"
        lines.append(f"{name}: {'/'.join(pool.machine_types)} {capacity} {sizes}{fallback}")
    return lines


def _dns_facts(members: Iterable[PlannedResource]) -> list[str]:
    """Route 53 names served by routed record sets (latency, failover, ...) and the health checks behind them."""
    routed: Counter[tuple[str, str]] = Counter()
    for record in (m for m in members if m.type == ROUTE53_RECORD and m.inputs.get("setIdentifier")):
        policies = [
            _ROUTING_POLICY.sub("", key)
            for key, value in record.inputs.items()
            if _ROUTING_POLICY.search(key) and value
        ]
        routed[(str(record.inputs.get("name")), "/".join(sorted(policies)) or "routed")] += 1
    lines = [f"Route 53 {name}: {count} {policy} records" for (name, policy), count in sorted(routed.items())]
    checks = Counter(str(m.inputs.get("type")) for m in members if m.type == ROUTE53_HEALTH_CHECK)
    lines.extend(f"{count} {kind} health checks" for kind, count in sorted(checks.items()))
    return lines


def _wrapped(prefix: str, words: list[str], width: int = 40) -> list[str]:
    lines, line = [], prefix
    for word in words:
        piece = word if line == prefix else f", {word}"
        if len(line) + len(piece) > width and line != prefix:
            lines.append(line + ",")
            line, piece = "  ", word
        line += piece
    lines.append(line)
    return lines


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _html(bold: list[str], plain: list[str]) -> str:
    """An HTML-like Graphviz label: pre-escaped bold lines, then plain lines (escaped here), centred."""
    lines = [*bold, *(_e(line) for line in plain)]
    return "<" + "<br/>".join(lines) + ">"


def _node_label(component: Component) -> str:
    title = f"<b>{_e(short_type(component.resource.type))}</b>"
    facts = "".join(f'{_e(fact)}<br align="left"/>' for fact in component.facts)
    return f'<{title}<br/>{_e(component.resource.name)}<br/><font point-size="10">{facts}</font>>'
