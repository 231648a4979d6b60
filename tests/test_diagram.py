"""`python -m preflight diagram`: the platform as a picture, drawn from the plan with Graphviz.

The picture is checked as drawn (the SVG the renderer writes: clusters, nodes, edges, where they sit), on the session's
prod plan; only the bad-input path runs the CLI as a subprocess.
"""

from __future__ import annotations

import re
import struct
import sysconfig
import xml.etree.ElementTree as ET
from pathlib import Path

import pulumi
import pulumi_random as random
import pytest

from preflight import cli
from preflight.diagram import (
    CLOUD_COLOURS,
    Diagram,
    build_diagram,
    diagram_source,
    render,
    short_type,
)
from preflight.edges import DNS01_FEDERATION, GLOBAL_DNS_TYPE, INTO_GLOBAL_DNS
from preflight.node_pools import pools_of
from preflight.plan import FOOTPRINT_TYPE, Plan, PlannedResource
from tests.helpers import only, program_plan
from tests.test_preflight_cli import run_preflight

ROOT = Path(__file__).resolve().parent.parent
DOCS_SVG = ROOT / "docs" / "platform.svg"
SVG = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BUCKET_KINDS = {"aws": "S3 bucket", "gcp": "GCS bucket", "azure": "Storage account"}


class Drawing:
    """What an SVG from `dot` shows: cluster, node and edge groups by their titles, and their bounding boxes."""

    def __init__(self, svg: bytes) -> None:
        self.root = ET.fromstring(svg)
        assert self.root.tag == f"{SVG}svg"
        self.groups = {
            kind: {self._title(g): g for g in self.root.iter(f"{SVG}g") if g.get("class") == kind}
            for kind in ("cluster", "node", "edge")
        }

    @staticmethod
    def _title(group: ET.Element) -> str:
        title = group.find(f"{SVG}title")
        assert title is not None and title.text
        return title.text

    def text(self, kind: str, title: str) -> str:
        return " ".join(t.text or "" for t in self.groups[kind][title].iter(f"{SVG}text"))

    def box(self, kind: str, title: str) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of the group's outline (its first path or polygon)."""
        group = self.groups[kind][title]
        shape = next(e for e in group.iter() if e.tag in (f"{SVG}path", f"{SVG}polygon"))
        points = re.findall(r"(-?[\d.]+),(-?[\d.]+)", shape.get("d") or shape.get("points") or "")
        xs, ys = [float(x) for x, _ in points], [float(y) for _, y in points]
        return min(xs), min(ys), max(xs), max(ys)

    def inside(self, node: str, cluster: str) -> bool:
        left, top, right, bottom = self.box("node", node)
        c_left, c_top, c_right, c_bottom = self.box("cluster", cluster)
        return c_left <= left and c_top <= top and right <= c_right and bottom <= c_bottom


@pytest.fixture(scope="module")
def diagram(prod_plan: Plan) -> Diagram:
    return build_diagram(prod_plan)


@pytest.fixture(scope="module")
def drawing(prod_plan: Plan) -> Drawing:
    return Drawing(render(diagram_source(prod_plan), "svg"))


def footprints(plan: Plan) -> list[PlannedResource]:
    return plan.of_type(FOOTPRINT_TYPE)


def top_components(plan: Plan) -> list[PlannedResource]:
    """mlplatform components made by the stack or directly in a footprint: what the picture must show."""
    return [
        r
        for r in plan.resources
        if r.type.startswith("mlplatform:")
        and r.type != FOOTPRINT_TYPE
        and r.parent
        and (parent := plan.get(r.parent)) is not None
        and (parent.type == FOOTPRINT_TYPE or not parent.type.startswith("mlplatform:"))
    ]


def node_id(resource: PlannedResource) -> str:
    return f"{short_type(resource.type)}/{resource.name}"


def in_target(plan: Plan, type_token: str, target: str) -> PlannedResource:
    matches = [r for r in plan.of_type(type_token) if plan.target_of(r) == target]
    assert len(matches) == 1, f"expected one {type_token} in {target}"
    return matches[0]


def test_every_target_is_a_box_in_its_clouds_colour(prod_plan: Plan, drawing: Drawing) -> None:
    expected = {f"cluster_{f.name}": str(f.inputs["cloud"]) for f in footprints(prod_plan)}
    assert set(drawing.groups["cluster"]) == set(expected)
    for title, cloud in expected.items():
        outline = next(drawing.groups["cluster"][title].iter(f"{SVG}path"))
        assert outline.get("stroke", "").lower() == CLOUD_COLOURS[cloud][0].lower()
        assert cloud in drawing.text("cluster", title)


def test_every_component_is_drawn_inside_its_target_and_global_dns_outside(prod_plan: Plan, drawing: Drawing) -> None:
    components = top_components(prod_plan)
    assert {node_id(c) for c in components} == set(drawing.groups["node"])
    core = ("GpuCluster", "ModelBucket", "Registry", "ServingStack")
    for footprint in footprints(prod_plan):
        drawn = {c.type.rsplit(":", 1)[-1] for c in components if prod_plan.target_of(c) == footprint.name}
        assert set(core) <= drawn, footprint.name
        assert ("MetadataDb" in drawn) == (footprint.name in prod_plan.outputs["databases"]), footprint.name
    for component in components:
        target = prod_plan.target_of(component)
        title = node_id(component)
        assert component.name in drawing.text("node", title)
        holders = [c for c in drawing.groups["cluster"] if drawing.inside(title, c)]
        assert holders == ([f"cluster_{target}"] if target else []), title
    assert only(prod_plan, GLOBAL_DNS_TYPE).type == GLOBAL_DNS_TYPE


def test_each_target_reaches_global_dns_only_through_the_allowed_edges(prod_plan: Plan, drawing: Drawing) -> None:
    dns = node_id(only(prod_plan, GLOBAL_DNS_TYPE))
    for footprint in footprints(prod_plan):
        serving = node_id(in_target(prod_plan, "mlplatform:serving:ServingStack", footprint.name))
        cluster = node_id(in_target(prod_plan, "mlplatform:compute:GpuCluster", footprint.name))
        # GlobalDns reads the gateway address; the ClusterIssuer reads its role; the roles trust the OIDC issuer.
        assert drawing.text("edge", f"{serving}->{dns}") == INTO_GLOBAL_DNS
        assert drawing.text("edge", f"{dns}->{serving}") == DNS01_FEDERATION
        assert drawing.text("edge", f"{cluster}->{dns}") == DNS01_FEDERATION
        outline = next(drawing.groups["edge"][f"{serving}->{dns}"].iter(f"{SVG}path"))
        assert float(outline.get("stroke-width", "1")) > 1


def test_edges_are_every_reference_between_components_once(prod_plan: Plan, diagram: Diagram) -> None:
    def outermost(resource: PlannedResource | None) -> str | None:
        found = None
        while resource is not None:
            if resource.type.startswith("mlplatform:") and resource.type != FOOTPRINT_TYPE:
                found = node_id(resource)
            resource = prod_plan.get(resource.parent) if resource.parent else None
        return found

    expected = set()
    for resource in prod_plan.resources:
        for reference in [resource.provider, *resource.dependencies]:
            source, sink = outermost(prod_plan.get(reference) if reference else None), outermost(resource)
            if source and sink and source != sink:
                expected.add((source, sink))
    drawn = [(e.source.node_id, e.sink.node_id) for e in diagram.edges]
    assert sorted(drawn) == sorted(expected)
    for edge in diagram.edges:
        assert edge.allowed, f"{edge.source.node_id} -> {edge.sink.node_id}"
        # Two targets meet only through a stack-wide component, never directly.
        assert None in (edge.source.target, edge.sink.target) or edge.source.target == edge.sink.target
        assert bool(edge.label) == edge.crosses_targets


def test_in_target_edges_follow_the_data_flow(prod_plan: Plan, drawing: Drawing) -> None:
    """docs/ARCHITECTURE.md, Data flow: serving reads the cluster and the bucket; the database the cluster's network."""
    for footprint in footprints(prod_plan):
        kinds = ["compute:GpuCluster", "storage:ModelBucket", "serving:ServingStack"]
        edges = [("compute:GpuCluster", "serving:ServingStack"), ("storage:ModelBucket", "serving:ServingStack")]
        if footprint.name in prod_plan.outputs["databases"]:  # the primary's (mlplatform:costSavings.databases)
            kinds.append("database:MetadataDb")
            edges.append(("compute:GpuCluster", "database:MetadataDb"))
        ids = {kind: node_id(in_target(prod_plan, f"mlplatform:{kind}", footprint.name)) for kind in kinds}
        for source, sink in edges:
            assert f"{ids[source]}->{ids[sink]}" in drawing.groups["edge"]


def test_labels_state_pools_capacity_ha_and_storage(prod_plan: Plan, diagram: Diagram) -> None:
    by_id = {c.node_id: c for c in diagram.components}
    for footprint in footprints(prod_plan):
        cloud = str(footprint.inputs["cloud"])
        cluster = by_id[node_id(in_target(prod_plan, "mlplatform:compute:GpuCluster", footprint.name))]
        pools = [
            pool
            for r in prod_plan.resources
            if prod_plan.target_of(r) == footprint.name
            for pool in pools_of(r.type, r.inputs, r.name)
            if pool.gpu
        ]
        assert {p.spot for p in pools} == {True, False}, "prod has spot pools and on-demand fallbacks"
        for pool in pools:
            line = next(f for f in cluster.facts if f.startswith(f"{pool.labels['mlplatform.io/pool']}: "))
            assert ("spot" if pool.spot else "on-demand") in line and pool.machine_types[0] in line
            assert line.endswith("(fallback)") == pool.marked_fallback()
        if footprint.name in prod_plan.outputs["databases"]:
            database = by_id[node_id(in_target(prod_plan, "mlplatform:database:MetadataDb", footprint.name))]
            assert any(f.endswith("(HA)") for f in database.facts), "prod databases are highly available"
        bucket = by_id[node_id(in_target(prod_plan, "mlplatform:storage:ModelBucket", footprint.name))]
        assert bucket.facts[0].startswith(BUCKET_KINDS[cloud])
    dns = by_id[node_id(only(prod_plan, GLOBAL_DNS_TYPE))]
    host = str(prod_plan.outputs["globalUrl"]).removeprefix("https://")
    assert f"Route 53 {host}: {len(footprints(prod_plan))} latency records" in dns.facts


class _Component(pulumi.ComponentResource):
    def __init__(self, type_token: str, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token, name, None, opts)


def test_unknown_component_types_are_drawn_generically() -> None:
    def program() -> None:
        observability = _Component("mlplatform:observability:Grafana", "grafana")
        inner = _Component(
            "mlplatform:observability:Dashboards", "boards", pulumi.ResourceOptions(parent=observability)
        )
        pet = random.RandomPet("pet", opts=pulumi.ResourceOptions(parent=inner))
        sync = _Component("mlplatform:sync:ModelSync", "sync")
        random.RandomId("id", byte_length=4, opts=pulumi.ResourceOptions(parent=sync, depends_on=[pet]))

    plan = program_plan(program)
    diagram = build_diagram(plan)
    nodes = {c.node_id: c for c in diagram.components}
    assert set(nodes) == {"Grafana/grafana", "ModelSync/sync"}, "nested components fold into the outer one"
    assert nodes["Grafana/grafana"].facts == ["1 Dashboards", "1 RandomPet", "2 resources"]
    assert [(e.source.node_id, e.sink.node_id) for e in diagram.edges] == [("Grafana/grafana", "ModelSync/sync")]
    assert not diagram.targets and not diagram.edges[0].crosses_targets
    drawing = Drawing(render(diagram_source(plan), "svg"))
    assert set(drawing.groups["node"]) == set(nodes) and not drawing.groups["cluster"]


def test_png_is_a_png(prod_plan: Plan) -> None:
    png = render(diagram_source(prod_plan), "png")
    assert png.startswith(PNG_SIGNATURE) and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert width > 0 and height > 0


def test_cli_writes_the_picture_whole(
    prod_plan: Plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "plan_stack", lambda project_dir, stack: prod_plan)
    out = tmp_path / "platform.svg"
    assert cli.main(["diagram", "--stack", "prod", "--out", str(out)]) == 0
    assert set(Drawing(out.read_bytes()).groups["node"]) == {node_id(c) for c in top_components(prod_plan)}
    assert list(tmp_path.iterdir()) == [out]
    assert capsys.readouterr().out.strip() == f"Diagram written to {out}"


@pytest.mark.parametrize("where", ["missing/p.svg", "taken.svg"])
def test_cli_unwritable_out_is_bad_input(
    prod_plan: Plan, where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "plan_stack", lambda project_dir, stack: prod_plan)
    (tmp_path / "taken.svg").mkdir()
    assert cli.main(["diagram", "--stack", "prod", "--out", str(tmp_path / where)]) == cli.EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith(f"preflight: {tmp_path / where}: cannot write the diagram")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.svg"]


def test_cli_without_a_renderer_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def unreachable(project_dir: Path, stack: str) -> Plan:
        raise AssertionError("the stack was synthesized before checking for a renderer")

    monkeypatch.setattr(cli, "plan_stack", unreachable)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sysconfig, "get_path", lambda name, *args, **kwargs: str(tmp_path))
    assert cli.main(["diagram", "--stack", "prod", "--out", str(tmp_path / "p.svg")]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "pip install -r requirements.txt installs graphviz-pure" in error
    assert not list(tmp_path.iterdir())


def test_an_unactivated_venv_draws_with_its_own_graphviz_pure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`.venv/bin/python -m preflight diagram` with nothing on PATH: the pinned renderer beside the interpreter."""
    monkeypatch.setenv("PATH", str(tmp_path))
    svg = render("digraph { a -> b }", "svg")
    assert b"(graphviz-pure)" in svg.split(b"<svg", 1)[0], "drawn by graphviz-pure (its SVG header names it)"
    assert set(Drawing(svg).groups["edge"]) == {"a->b"}


def test_cli_bad_suffix_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run_preflight("diagram", "--stack", "prod", "--out", str(tmp_path / "platform.jpg"))
    assert result.returncode == 2
    assert result.stderr == f"preflight: {tmp_path / 'platform.jpg'}: --out must end in .svg or .png\n"
    assert not list(tmp_path.iterdir())


def test_docs_picture_is_current(drawing: Drawing) -> None:
    """docs/platform.svg shows what the prod plan has (compared as drawn titles: dot versions lay out differently)."""
    docs = Drawing(DOCS_SVG.read_bytes())
    stale = "docs/platform.svg is stale: python -m preflight diagram --stack prod --out docs/platform.svg"
    for kind in ("cluster", "node", "edge"):
        assert set(docs.groups[kind]) == set(drawing.groups[kind]), stale
