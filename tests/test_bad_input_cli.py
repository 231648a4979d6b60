"""Misusing preflight's command line: output paths checked before any work, numbers that are finite, JSON that
is JSON, a reader that goes away, and a base graph for `cost --against` whose every resource is accounted for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from preflight.cli import main
from preflight.cost import price_plan
from preflight.cost_diff import diff_costs
from preflight.outputs import NotJsonError, json_text
from preflight.plan_file import plan_from_json
from pricing.table import PriceTable
from tests.test_cost import HOURS, _footprint, _resource, table  # noqa: F401  (the fixture)
from tests.test_preflight_cli import ROOT, run_preflight


def strict_json(text: str) -> Any:
    """Parse as a strict JSON reader does (jq, JSON.parse): NaN and Infinity are not JSON."""

    def refuse(word: str) -> Any:
        raise ValueError(f"{word} is not JSON")

    return json.loads(text, parse_constant=refuse)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """preflight in-process: (exit code, stdout, stderr)."""
    try:
        code = main(list(args))
    except SystemExit as stop:  # argparse's own exit on a bad argument
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


# --- 7. output paths checked before any work ---


@pytest.mark.parametrize("where", ["missing-dir/out.json", "a-file/out.json", "."])
def test_an_unwritable_plan_json_is_refused_before_the_stack_is_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, where: str
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    out = tmp_path / where
    # The stack does not exist either: the old order read it (and would have synthesized it) first.
    code, stdout, err = cli(capsys, "plan", "--stack", "nosuchstack", "--json", str(out))
    assert (code, stdout) == (2, "")
    assert err.startswith(f"preflight: {out}: cannot write the plan (") and len(err.splitlines()) == 1


def test_an_unwritable_diagram_is_refused_before_the_stack_is_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "platform.svg"
    out.mkdir()
    code, _, err = cli(capsys, "diagram", "--stack", "nosuchstack", "--out", str(out))
    assert (code, err) == (2, f"preflight: {out}: cannot write the diagram (it is a directory)\n")


def test_doctor_output_paths_are_refused_before_the_stack_is_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    findings = tmp_path / "findings.json"
    findings.mkdir()
    code, _, err = cli(capsys, "doctor", "--stack", "nosuchstack", "--json", str(findings))
    assert (code, err) == (2, f"preflight: {findings}: cannot write the findings (it is a directory)\n")
    missing = tmp_path / "no-such-directory"
    code, _, err = cli(capsys, "doctor", "--stack", "nosuchstack", "--permissions", str(missing))
    assert code == 2 and err.startswith(f"preflight: {missing}/") and f"({missing} is not a directory)" in err


def test_a_missing_base_graph_is_refused_before_the_stack_is_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base = tmp_path / "base.json"
    code, _, err = cli(capsys, "cost", "--stack", "nosuchstack", "--against", str(base))
    assert code == 2 and err.startswith(f"preflight: {base}: cannot read the graph")


# --- 8. numbers: finite everywhere, and never NaN in JSON ---


@pytest.mark.parametrize("hours", ["nan", "inf", "-inf", "1e999", "0", "-3", "ten", "1e7"])
def test_compare_refuses_hours_that_are_not_a_finite_positive_number(
    capsys: pytest.CaptureFixture[str], hours: str
) -> None:
    code, out, err = cli(capsys, "compare", "--gpu", "T4", f"--hours={hours}", "--json")
    assert (code, out) == (2, "")
    assert f"argument --hours: '{hours}'" in err


@pytest.mark.parametrize("count", ["0", "-1", "1.5", "nan", "100001"])
def test_compare_refuses_a_count_that_is_not_a_whole_positive_number(
    capsys: pytest.CaptureFixture[str], count: str
) -> None:
    code, _, err = cli(capsys, "compare", "--gpu", "T4", "--hours", "10", f"--count={count}")
    assert code == 2 and f"argument --count: '{count}'" in err


def test_compare_nan_from_the_shell_exits_2_without_output() -> None:
    result = run_preflight("compare", "--gpu", "T4", "--hours", "nan", "--json")
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == "preflight compare: error: argument --hours: 'nan' is not a finite number"


def test_compare_json_at_the_largest_arguments_is_strict_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "compare", "--gpu", "T4", "--hours", "1000000", "--count", "100000", "--json")
    assert code == 0, err
    assert strict_json(out)["hours"] == 1_000_000


def test_the_json_writer_refuses_nan_rather_than_print_it() -> None:
    with pytest.raises(NotJsonError, match="cannot carry"):
        json_text({"total": float("nan")})
    assert json_text({"total": 1.5}) == '{\n  "total": 1.5\n}'


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_graph_with_non_finite_numbers_is_bad_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, number: str
) -> None:
    graph = tmp_path / "g.json"
    graph.write_text(
        '{"project": "p", "stack": "s", "resources": [{"urn": "urn:pulumi:s::p::t::n", "type": "t", "name": "n",'
        f' "inputs": {{"scalingConfig": {{"maxSize": {number}}}}}}}]}}'
    )
    code, _, err = cli(capsys, "policy", "--graph", str(graph), "--json")
    assert code == 2 and err.startswith(f"preflight: {graph}: not valid JSON")


# --- 9. a reader that goes away ---


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_a_closed_pipe_ends_quietly_with_141(json_flag: list[str]) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte: every write fails with EPIPE
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        result = subprocess.run(
            [sys.executable, "-m", "preflight", "compare", "--gpu", "T4", "--hours", "10", *json_flag],
            cwd=ROOT,
            env=env,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert (result.returncode, result.stderr) == (141, "")


# --- 10. every resource of every graph: priced, free by itself, or listed unpriced ---


def _graph(*resources: dict[str, Any]) -> Any:
    return plan_from_json({"project": "p", "stack": "t", "resources": list(resources)}, "test graph")


NO_PROVIDER_GRAPH = (
    # a hand-written base: no footprint, no provider; the cloud comes from the type
    _resource(
        "eks:index:ManagedNodeGroup",
        "gpu",
        {"capacityType": "SPOT", "instanceTypes": ["g4dn.xlarge"], "scalingConfig": {"minSize": 1, "maxSize": 3}},
    ),
    _resource("aws:s3/bucket:Bucket", "models", {}),
    _resource("aws:sagemaker/endpoint:Endpoint", "sm", {"endpointConfigName": "x"}),
    _resource("aws:iam/role:Role", "role", {}),  # no charge of its own
    _resource("kubernetes:apps/v1:Deployment", "app", {}),  # runs on the priced nodes
)


def test_a_graph_without_footprints_or_providers_is_priced_never_zero(table: PriceTable) -> None:  # noqa: F811
    report = price_plan(_graph(*NO_PROVIDER_GRAPH), table)
    lines = {item.resource: item for target in report.targets for item in target.items}
    # spot g4dn.xlarge at the default region (us-east-1): 0.20 x 1 x 730 idle, 0.20 x 3 x 730 peak; bucket 50 x 0.02
    assert (round(lines["gpu"].idle, 2), round(lines["gpu"].peak, 2)) == (
        round(0.20 * HOURS, 2),
        round(0.60 * HOURS, 2),
    )
    assert round(lines["models"].idle, 2) == 1.0
    assert round(report.idle, 2) == round(0.20 * HOURS + 1.0, 2)
    (unpriced,) = report.unpriced
    assert (unpriced.resource_type, unpriced.resource) == ("aws:sagemaker/endpoint:Endpoint", "sm")
    assert "no price rule for aws:sagemaker/endpoint:Endpoint" in unpriced.unpriced
    assert set(lines) == {"gpu", "models", "sm"}


def test_an_unknown_type_inside_a_target_is_listed_unpriced(table: PriceTable) -> None:  # noqa: F811
    footprint = _footprint("aws-us-east-1", "aws", "us-east-1")
    endpoint = _resource("aws:sagemaker/endpoint:Endpoint", "sm", {}, footprint["urn"])
    report = price_plan(_graph(footprint, endpoint), table)
    assert [item.resource for item in report.unpriced] == ["sm"]
    assert report.to_json()["unpriced"][0]["type"] == "aws:sagemaker/endpoint:Endpoint"


def test_the_provider_names_the_region_of_a_resource_outside_a_target(table: PriceTable) -> None:  # noqa: F811
    provider = _resource("pulumi:providers:aws", "ireland", {"region": "eu-west-1"})
    pool = dict(NO_PROVIDER_GRAPH[0], provider=f"{provider['urn']}::id")
    pool["inputs"] = {**pool["inputs"], "capacityType": "ON_DEMAND"}
    report = price_plan(_graph(provider, pool), table)
    (line,) = [item for target in report.targets for item in target.items]
    assert round(line.idle, 2) == round(0.60 * HOURS, 2)  # g4dn.xlarge on demand in eu-west-1: 0.60


def test_cost_against_a_provider_less_base_shows_the_real_difference(table: PriceTable) -> None:  # noqa: F811
    base = price_plan(_graph(*NO_PROVIDER_GRAPH), table)
    head = price_plan(_graph(*NO_PROVIDER_GRAPH[1:]), table)  # the GPU pool removed
    diff = diff_costs(base, head)
    assert round(diff.total.idle, 2) == round(-0.20 * HOURS, 2)
    assert round(diff.total.base_idle, 2) > 0
