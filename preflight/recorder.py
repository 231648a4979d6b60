"""A mock resource monitor that records every registration the way the engine would see it.

It stands where the Pulumi engine stands under `pulumi preview`: it receives each
RegisterResource request from the real SDK, runs the resource transforms the engine would
run (the resource's own, then its ancestors', then the stack's), records the result, and
answers with plausible outputs so dependent resources get realistic inputs.

Inputs are converted straight from the request's protobuf, without the SDK's
deserializer: secrets become "[secret]" and resource references their URN, and no
resource is rehydrated, which keeps a registration about as cheap as the bare SDK's.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2

from preflight.mock_outputs import MockContext, plausible_outputs
from preflight.plan import PlannedResource

SECRET = "[secret]"
UNKNOWN = "[unknown]"
STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass
class Recording:
    registrations: dict[str, PlannedResource] = field(default_factory=dict)
    stack_outputs: dict[str, Any] = field(default_factory=dict)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's MockMonitor, recording what it is sent and running transforms like the engine."""

    def __init__(self) -> None:
        super().__init__(_NoMocks())
        self.recording = Recording()
        self._transforms: dict[str, list[Callable[..., Any]]] = {}
        self._lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        urn = self.make_urn(request.parent, request.type, request.name)
        parent = request.parent or None
        chain = self._transform_chain(request, parent)
        is_stack = request.type == STACK_TYPE
        original: dict[str, Any] = {} if is_stack else _plain_struct(request.object)
        inputs = original if is_stack else self._apply_transforms(chain, request, original)
        with self._lock:
            self._transforms[urn] = chain
            self.recording.registrations[urn] = PlannedResource(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=parent,
                provider=_provider_urn(request.provider),
                dependencies=tuple(sorted(set(request.dependencies))),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                inputs=inputs,
            )
        if is_stack:
            return resource_pb2.RegisterResourceResponse(urn=urn)

        provider = self.recording.registrations.get(_provider_urn(_cloud_provider(request)) or "")
        context = MockContext(
            urn=urn,
            type=request.type,
            name=request.name,
            inputs=inputs,
            provider_inputs=provider.inputs if provider else {},
        )
        resource_id, extra = plausible_outputs(context)
        state = struct_pb2.Struct()
        state.CopyFrom(request.object)
        # What a transform changed goes back to the program too, as the engine would send it.
        changed = {} if inputs is original else {k: v for k, v in inputs.items() if original.get(k) != v}
        state.update({**changed, **extra})
        _mark_secret(state, request.additionalSecretOutputs)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id if request.custom else "", object=state)

    def ReadResource(self, request: Any) -> Any:  # noqa: N802
        """`Resource.get(...)`: the engine reads an existing resource; we answer from the tables."""
        urn = self.make_urn(request.parent, request.type, request.name)
        properties = _plain_struct(request.properties)
        with self._lock:
            self.recording.registrations[urn] = PlannedResource(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=True,
                parent=request.parent or None,
                provider=_provider_urn(request.provider),
                dependencies=tuple(sorted(set(request.dependencies))),
                protect=False,
                retain_on_delete=False,
                inputs={"id": request.id, **properties},
            )
        provider = self.recording.registrations.get(_provider_urn(request.provider) or "")
        context = MockContext(
            urn=urn,
            type=request.type,
            name=request.name,
            inputs={"id": request.id, **properties},
            provider_inputs=provider.inputs if provider else {},
        )
        _, extra = plausible_outputs(context)
        state = struct_pb2.Struct()
        state.CopyFrom(request.properties)
        state.update(extra)
        return resource_pb2.ReadResourceResponse(urn=urn, properties=state)

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802
        if request.urn.split("::")[2] == STACK_TYPE:
            self.recording.stack_outputs = _plain_struct(request.outputs)
        return super().RegisterResourceOutputs(request)

    def _transform_chain(self, request: Any, parent: str | None) -> list[Callable[..., Any]]:
        own = pulumi_mocks._resolve_callbacks(request.transforms)
        inherited = self._transforms.get(parent, []) if parent else []
        return [*own, *inherited]

    def _apply_transforms(
        self, chain: list[Callable[..., Any]], request: Any, inputs: dict[str, Any]
    ) -> dict[str, Any]:
        for transform in [*chain, *self._stack_transforms]:
            args = pulumi.ResourceTransformArgs(
                custom=bool(request.custom),
                type_=request.type,
                name=request.name,
                props=inputs,
                opts=pulumi.ResourceOptions(),
            )
            result = transform(args)
            if inspect.isawaitable(result):
                result = asyncio.run(_awaited(result))  # monitor calls run on worker threads
            if result is not None:
                inputs = dict(result.props)
        return inputs


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


class _NoMocks(pulumi_mocks.Mocks):
    """Invokes answer from the plausible-output tables; resources never reach here."""

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict]:
        raise AssertionError("RecordingMonitor answers RegisterResource itself")

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list[tuple[str, str]]]:
        from preflight.mock_outputs import invoke_result

        return invoke_result(args.token, args.args), []  # the SDK iterates the failures


def _mark_secret(state: struct_pb2.Struct, keys: Any) -> None:
    """The engine, not the SDK, wraps a resource's additionalSecretOutputs as secrets."""
    for key in keys:
        if key in state.fields and not _is_secret(state.fields[key]):
            value = struct_pb2.Value()
            value.CopyFrom(state.fields[key])
            wrapper = state.fields[key].struct_value
            wrapper.Clear()
            wrapper.fields[rpc._special_sig_key].string_value = rpc._special_secret_sig
            wrapper.fields["value"].CopyFrom(value)


def _is_secret(value: struct_pb2.Value) -> bool:
    fields = value.struct_value.fields if value.WhichOneof("kind") == "struct_value" else {}
    return rpc._special_sig_key in fields and fields[rpc._special_sig_key].string_value == rpc._special_secret_sig


def _cloud_provider(request: Any) -> str:
    """The provider whose region the mocks should use: a component (pulumi-eks's Cluster) has
    no provider of its own, only the map of providers it passes to its children."""
    if request.provider:
        return str(request.provider)
    for package in (request.type.split(":")[0], "aws", "gcp", "azure-native"):
        if package in request.providers:
            return str(request.providers[package])
    return ""


def _provider_urn(reference: str) -> str | None:
    """A provider reference is 'URN::ID'; the plan names providers by URN."""
    if not reference:
        return None
    return reference.rsplit("::", 1)[0]


def _plain_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    return {key: _plain(value) for key, value in struct.fields.items()}


def _plain(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return UNKNOWN if value.string_value == rpc.UNKNOWN else value.string_value
    if kind == "number_value":
        number = value.number_value
        return int(number) if number.is_integer() else number
    if kind == "bool_value":
        return value.bool_value
    if kind == "list_value":
        return [_plain(item) for item in value.list_value.values]
    if kind == "struct_value":
        fields = value.struct_value.fields
        if rpc._special_sig_key in fields:
            return _special(fields)
        return {key: _plain(item) for key, item in fields.items()}
    return None


def _special(fields: Any) -> Any:
    """Pulumi's tagged values: secrets, resource references, output values, assets."""
    sig = fields[rpc._special_sig_key].string_value
    if sig == rpc._special_secret_sig:
        return SECRET
    if sig == rpc._special_resource_sig:
        return fields["urn"].string_value
    if sig == rpc._special_output_value_sig:
        if "secret" in fields and fields["secret"].bool_value:
            return SECRET
        return _plain(fields["value"]) if "value" in fields else UNKNOWN
    if sig in (rpc._special_asset_sig, rpc._special_archive_sig):
        for key in ("path", "uri", "text"):
            if key in fields:
                return {"asset": key, "value": _plain(fields[key])}
        return {"archive": sorted(fields["assets"].struct_value.fields) if "assets" in fields else []}
    return {key: _plain(item) for key, item in fields.items() if key != rpc._special_sig_key}
