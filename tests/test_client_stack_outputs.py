"""The client reads the outputs the stack really exports (stacks/platform.py), as `pulumi stack output --json`
prints them: one endpoint per target, plain HTTP without GlobalDns, HTTPS with the global host as SNI with it."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from mlplatform_client import MultiCloudClient

from preflight.plan import Plan


def test_a_client_for_every_target_of_the_stack(stack_plan: Plan, tmp_path: Path) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(stack_plan.outputs))  # secrets are "[secret]" here, as the CLI prints them
    with MultiCloudClient.from_stack_outputs(outputs, strategy="latency", probe_interval=None) as client:
        endpoints = {e.name: e for e in client.endpoints}
    exported = stack_plan.outputs["endpoints"]
    assert set(endpoints) == set(stack_plan.outputs["targets"]) == set(exported)
    global_url = stack_plan.outputs.get("globalUrl")
    for name, endpoint in endpoints.items():
        assert (endpoint.cloud, endpoint.region) == (exported[name]["cloud"], exported[name]["region"])
        assert endpoint.health_path == exported[name]["healthPath"]
        if global_url is None:
            assert endpoint.url == f"http://{exported[name]['address']}"
            assert endpoint.server_name is None
        else:
            assert endpoint.url == f"https://{exported[name]['address']}"
            assert endpoint.server_name == urlsplit(global_url).hostname
