"""Run real policy packs over a plan through Pulumi's Analyzer gRPC protocol, as the engine does.

Each pack runs as its own process (`python -m pulumi.policy`, the launcher the CLI uses for
Python packs), binds a loopback port and prints it. preflight then does what `pulumi
preview --policy-pack` does with it: GetAnalyzerInfo, Configure with the reconciled policy
config (schema defaults, the pack's initial config, the user's config file, validated
against each policy's schema), Analyze once per resource with its provider, and
AnalyzeStack once with every resource, its parent and its dependencies.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import jsonschema
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from preflight.errors import InputError, read_json
from preflight.plan import Plan, PlannedResource
from preflight.policy_report import PolicyReport, Violation

START_TIMEOUT_SECONDS = 60.0
CALL_TIMEOUT = START_TIMEOUT_SECONDS
# Analyze calls outstanding at once: the pack's gRPC server answers on 4 threads (pulumi-policy 1.21.0); a few more
# in flight keep it busy while this process builds the next requests (benchmarks/policy.py: 8 was the knee).
IN_FLIGHT = 8
LEVELS = {"advisory": analyzer_pb2.ADVISORY, "mandatory": analyzer_pb2.MANDATORY, "disabled": analyzer_pb2.DISABLED}
LEVEL_NAMES = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.REMEDIATE: "mandatory",  # a violation left after remediation blocks like a mandatory one
    analyzer_pb2.DISABLED: "disabled",
}


class PolicyPackError(Exception):
    """A pack that would not start or answer: str() is the one line to print."""


def run_policy_packs(plan: Plan, pack_dirs: list[Path], config: Mapping[str, Any] | None = None) -> PolicyReport:
    """Analyze the plan with every pack (in parallel, one process each) and gather the violations."""
    for pack_dir in pack_dirs:
        if not (pack_dir / "PulumiPolicy.yaml").is_file():
            raise InputError(f"{pack_dir}: not a policy pack (no PulumiPolicy.yaml)")
    with ThreadPoolExecutor(max_workers=max(len(pack_dirs), 1)) as pool:
        results = list(pool.map(lambda pack_dir: _run_pack(plan, pack_dir, config or {}), pack_dirs))
    names = tuple(name for name, _ in results)
    violations = tuple(violation for _, found in results for violation in found)
    return PolicyReport(packs=names, resources=len(plan.resources), violations=violations)


def load_policy_config(path: Path) -> dict[str, Any]:
    """A policy config file as `pulumi preview --policy-pack-config` takes it: JSON, policy name to level or object."""
    document = read_json(path, "policy config")
    if not isinstance(document, dict):
        raise InputError(f"{path}: a policy config is a JSON object of policy name to level or settings")
    return document


def _run_pack(plan: Plan, pack_dir: Path, config: Mapping[str, Any]) -> tuple[str, list[Violation]]:
    with RunningPolicyPack(pack_dir, plan.project, plan.stack) as pack:
        pack.configure(config)
        return pack.name, pack.analyze(plan)


class RunningPolicyPack:
    """One policy pack process, started the way the engine starts it, and a client on its port.

    Used as a context manager; the process is killed on exit. One process can analyze many
    plans (the tests do), each after a configure().
    """

    def __init__(self, pack_dir: Path, project: str, stack: str) -> None:
        self._pack_dir = pack_dir
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close(), after the process
        environment = {**os.environ, "PULUMI_PROJECT": project, "PULUMI_STACK": stack, "PULUMI_DRY_RUN": "true"}
        self._process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(pack_dir.resolve())],
            cwd=pack_dir,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=self._errors,
        )
        try:
            self._channel = grpc.insecure_channel(f"127.0.0.1:{self._read_port()}")
            self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
            self.info: analyzer_pb2.AnalyzerInfo = self._call(self._stub.GetAnalyzerInfo, empty_pb2.Empty())
        except BaseException:
            self.close()
            raise

    @property
    def name(self) -> str:
        return str(self.info.name)

    def __enter__(self) -> RunningPolicyPack:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if hasattr(self, "_channel"):
            self._channel.close()
        self._process.kill()
        self._process.wait()
        if self._process.stdout:
            self._process.stdout.close()
        self._errors.close()

    def configure(self, config: Mapping[str, Any]) -> None:
        """Send every policy's level and properties, reconciled from the user's config."""
        request = analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=reconcile_config(self.info, config))
        self._call(self._stub.Configure, request)

    def analyze(self, plan: Plan) -> list[Violation]:
        """Analyze per resource with its provider, then AnalyzeStack once, as a preview does.

        Up to IN_FLIGHT Analyze calls are outstanding at once, as the engine sends them while resources register:
        the pack works on one while this process builds and sends the next, instead of each side waiting for the
        other's round trip. Answers are read in the plan's order, so the report's order does not change.
        """
        requests = _Requests(plan)
        found: list[tuple[str, Any]] = []
        pending: deque[tuple[PlannedResource, Any]] = deque()

        def settle() -> None:
            resource, call = pending.popleft()
            response = self._answer(call.result)
            # A violation reported without a URN is about the resource analyzed, as the engine reads it.
            found.extend((d.urn or resource.urn, d) for d in response.diagnostics)

        try:
            for resource in plan.resources:
                pending.append((resource, self._stub.Analyze.future(requests.analyze(resource), timeout=CALL_TIMEOUT)))
                if len(pending) >= IN_FLIGHT:
                    settle()
            while pending:
                settle()
        finally:
            for _, call in pending:  # after a failure: the rest are not waited for
                call.cancel()
        response = self._call(self._stub.AnalyzeStack, requests.analyze_stack())
        found += [(d.urn, d) for d in response.diagnostics]
        return [
            Violation(
                pack=d.policyPackName or self.name,
                policy=d.policyName,
                urn=urn,
                message=d.message,
                level=LEVEL_NAMES.get(d.enforcementLevel, "advisory"),
            )
            for urn, d in found
        ]

    def _call(self, method: Any, request: Any) -> Any:
        return self._answer(lambda: method(request, timeout=CALL_TIMEOUT))

    def _answer(self, call: Callable[[], Any]) -> Any:
        """What `call` returns (a gRPC call, or a future's result), or the pack's failure as one line."""
        try:
            return call()
        except grpc.RpcError as error:
            raise PolicyPackError(f"{self._pack_dir}: the policy pack failed: {_rpc_message(error)}") from None

    def _read_port(self) -> int:
        stdout = self._process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], START_TIMEOUT_SECONDS)
        line = stdout.readline().decode().strip() if ready else ""
        if line.isdigit():
            return int(line)
        self._process.kill()
        self._process.wait()
        self._errors.seek(0)
        errors = self._errors.read().decode().strip().splitlines()
        reason = errors[-1] if errors else f"no port printed within {START_TIMEOUT_SECONDS:.0f} s"
        raise PolicyPackError(f"{self._pack_dir}: the policy pack did not start: {reason}")


def _rpc_message(error: grpc.RpcError) -> str:
    details = getattr(error, "details", lambda: None)()
    return str(details or error).strip().splitlines()[-1]


# --- policy config, reconciled as the engine does ---------------------------------------------


def reconcile_config(info: analyzer_pb2.AnalyzerInfo, user: Mapping[str, Any]) -> dict[str, analyzer_pb2.PolicyConfig]:
    """Every policy's level and properties: schema defaults < pack initial config < the user's file.

    The key "all" sets the level of every policy, as in Pulumi's policy config files.
    Properties are validated against the policy's schema; a bad value is an InputError.
    """
    policies = {policy.name: policy for policy in info.policies}
    unknown = sorted(set(user) - set(policies) - {"all"})
    if unknown:
        raise InputError(f"policy config: pack '{info.name}' has no policy named {', '.join(unknown)}")
    configured: dict[str, analyzer_pb2.PolicyConfig] = {}
    for name, policy in policies.items():
        level = policy.enforcementLevel
        schema = _schema_of(policy)
        properties = {key: spec["default"] for key, spec in schema["properties"].items() if "default" in spec}
        for layer in (_initial_config(info, name), _as_layer(user.get("all"), "all"), _as_layer(user.get(name), name)):
            level_name = layer.pop("enforcementLevel", None)
            if level_name is not None:
                level = LEVELS[level_name]
            properties.update(layer)
        try:
            jsonschema.validate(properties, schema)
        except jsonschema.ValidationError as error:
            where = ".".join(str(part) for part in error.absolute_path)
            raise InputError(f"policy config: {name}.{where}: {error.message}") from None
        struct = struct_pb2.Struct()
        struct.update(properties)
        configured[name] = analyzer_pb2.PolicyConfig(enforcementLevel=level, properties=struct)
    return configured


def _schema_of(policy: analyzer_pb2.PolicyInfo) -> dict[str, Any]:
    properties = {key: _plain(value) for key, value in policy.configSchema.properties.items()}
    return {"type": "object", "properties": properties, "required": list(policy.configSchema.required)}


def _initial_config(info: analyzer_pb2.AnalyzerInfo, name: str) -> dict[str, Any]:
    if name not in info.initialConfig:
        return {}
    initial = info.initialConfig[name]
    layer: dict[str, Any] = {key: _plain(value) for key, value in initial.properties.items()}
    if initial.enforcementLevel != analyzer_pb2.ADVISORY:  # proto3: 0 (advisory) is also "not set"
        layer["enforcementLevel"] = LEVEL_NAMES[initial.enforcementLevel]
    return layer


def _as_layer(value: Any, name: str) -> dict[str, Any]:
    """A user config entry: a level name, or an object with an optional enforcementLevel."""
    if value is None:
        return {}
    if isinstance(value, str):
        value = {"enforcementLevel": value}
    if not isinstance(value, dict):
        raise InputError(f"policy config: {name}: expected a level or an object, got {type(value).__name__}")
    level = value.get("enforcementLevel")
    if level is not None and level not in LEVELS:
        raise InputError(f"policy config: {name}.enforcementLevel: '{level}' is not one of {', '.join(LEVELS)}")
    if name == "all" and set(value) - {"enforcementLevel"}:
        raise InputError("policy config: all: only enforcementLevel can be set for every policy")
    return dict(value)


def _plain(value: Any) -> Any:
    """A protobuf Struct/ListValue/Value as plain Python."""
    if isinstance(value, struct_pb2.Struct):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, struct_pb2.ListValue):
        return [_plain(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# --- requests ------------------------------------------------------------------------------------------


class _Requests:
    """The Analyze and AnalyzeStack messages for a plan; each resource's Struct is built once."""

    def __init__(self, plan: Plan) -> None:
        self._plan = plan
        self._structs: dict[str, struct_pb2.Struct] = {}

    def _struct(self, resource: PlannedResource) -> struct_pb2.Struct:
        struct = self._structs.get(resource.urn)
        if struct is None:
            struct = struct_pb2.Struct()
            struct.update(resource.inputs)
            self._structs[resource.urn] = struct
        return struct

    def _provider(self, resource: PlannedResource) -> analyzer_pb2.AnalyzerProviderResource | None:
        provider = self._plan.get(resource.provider) if resource.provider else None
        if provider is None:
            return None
        return analyzer_pb2.AnalyzerProviderResource(
            type=provider.type, properties=self._struct(provider), urn=provider.urn, name=provider.name
        )

    def _fields(self, resource: PlannedResource) -> dict[str, Any]:
        """What Analyze and AnalyzeStack both send about a resource."""
        return {
            "type": resource.type,
            "properties": self._struct(resource),
            "urn": resource.urn,
            "name": resource.name,
            "options": analyzer_pb2.AnalyzerResourceOptions(protect=resource.protect, parent=resource.parent or ""),
            "provider": self._provider(resource),
        }

    def analyze(self, resource: PlannedResource) -> analyzer_pb2.AnalyzeRequest:
        return analyzer_pb2.AnalyzeRequest(**self._fields(resource))

    def analyze_stack(self) -> analyzer_pb2.AnalyzeStackRequest:
        resources = [
            analyzer_pb2.AnalyzerResource(
                **self._fields(resource), parent=resource.parent or "", dependencies=list(resource.dependencies)
            )
            for resource in self._plan.resources
        ]
        return analyzer_pb2.AnalyzeStackRequest(resources=resources)
