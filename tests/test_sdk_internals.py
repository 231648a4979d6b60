"""The Pulumi SDK internals preflight stands on, each checked in one place against the pinned SDK.

preflight plays the engine's part under the SDK's mock mode (preflight/recorder.py, preflight/synthesize.py,
preflight/quiescence.py), and the program reads its config the way the SDK stores it (stacks/platform.py). To do
that it uses names the SDK does not publish as API: `_resolve_callbacks`, `rpc._special_*`, `_get_rpc_manager`,
`SETTINGS.outputs`, `MockMonitor._stack_transforms` and a few module functions. `requirements.txt` pins the SDK; when
the pin moves, this test says which of those names changed and who uses it, instead of a synthesis failing somewhere
deep in a plan or, worse, recording secrets and references wrongly.

The signature values are the engine's wire format, not the SDK's choice: pulumi/pulumi
sdk/go/common/resource/sig/sig.go (Key, Secret, ResourceReference, OutputValue, AssetSig, ArchiveSig) and
sdk/go/common/resource/plugin/rpc.go (UnknownStringValue), read 2026-12.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import config as runtime_config
from pulumi.runtime import mocks, rpc, settings, stack
from pulumi.runtime.proto import callback_pb2, resource_pb2

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements.txt"
RECORDER = "preflight/recorder.py"
SYNTHESIZE = "preflight/synthesize.py"
QUIESCENCE = "preflight/quiescence.py"
PLATFORM = "stacks/platform.py"

# The engine's signatures (sig.go) and its unknown sentinel (plugin/rpc.go): what a RegisterResource request carries.
ENGINE_SIGNATURES = {
    "_special_sig_key": "4dabf18193072939515e22adb298388d",
    "_special_secret_sig": "1b47061264138c4ac30d75fd1eb44270",
    "_special_resource_sig": "5cf8f73096256a8f31e491e813e4eb8e",
    "_special_output_value_sig": "d0e6a833031e9bbcd3f4e8bde6ca49a4",
    "_special_asset_sig": "c44067f5952c0a294b673a41bacd8c17",
    "_special_archive_sig": "0def7320c3a5731c473e5ecbe6d01bc7",
}
UNKNOWN_STRING_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

# Request and response fields the recorder reads or sets (resource.proto).
PROTO_FIELDS = {
    "RegisterResourceRequest": {
        "parent", "type", "name", "custom", "provider", "providers", "dependencies", "protect", "retainOnDelete",
        "object", "transforms", "additionalSecretOutputs",
    },
    "ReadResourceRequest": {"parent", "type", "name", "id", "provider", "dependencies", "properties"},
    "RegisterResourceOutputsRequest": {"urn", "outputs"},
    "RegisterResourceResponse": {"urn", "id", "object"},
    "ReadResourceResponse": {"urn", "properties"},
}  # fmt: skip


@dataclass(frozen=True)
class Internal:
    """One name the SDK does not publish, who uses it, and a check of the shape they rely on."""

    name: str
    used_by: str
    check: Callable[[], str | None]  # None when the shape is as used, else what differs


class _NoAnswers(mocks.Mocks):
    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        return None, {}

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        return {}, []


def _accepts(function: Callable[..., Any], *args: Any, **kwargs: Any) -> str | None:
    try:
        inspect.signature(function).bind(*args, **kwargs)
    except TypeError as error:
        return f"no longer accepts the call used ({error}); signature is {inspect.signature(function)}"
    return None


def _resolve_callbacks() -> str | None:
    # The recorder hands it a request's repeated Callback field and expects the program's transform functions back
    # (none here: no callback server registered this token).
    request = resource_pb2.RegisterResourceRequest(transforms=[callback_pb2.Callback(token="t", target="x")])
    result = mocks._resolve_callbacks(request.transforms)
    return None if result == [] else f"returned {result!r} for an unregistered token, expected []"


def _stack_transforms() -> str | None:
    monitor = mocks.MockMonitor(_NoAnswers())
    value = getattr(monitor, "_stack_transforms", None)
    if not isinstance(value, list):
        return f"a new MockMonitor has {value!r}, expected the list RegisterStackTransform appends to"
    source = inspect.getsource(mocks.MockMonitor.RegisterStackTransform)
    return None if "self._stack_transforms.append" in source else "RegisterStackTransform no longer appends to it"


def _make_urn() -> str | None:
    monitor = mocks.MockMonitor(_NoAnswers())
    problem = _accepts(monitor.make_urn, "", "test:index:Thing", "thing")
    return problem or (None if monitor.make_urn("", "test:index:Thing", "thing").startswith("urn:pulumi:") else "bad")


def _signature(attribute: str) -> Callable[[], str | None]:
    def check() -> str | None:
        value = getattr(rpc, attribute)
        expected = ENGINE_SIGNATURES[attribute]
        return None if value == expected else f"is {value!r}, the engine sends {expected!r}"

    return check


def _unknown() -> str | None:
    return None if rpc.UNKNOWN == UNKNOWN_STRING_VALUE else f"is {rpc.UNKNOWN!r}, the engine sends the sentinel"


def _rpc_manager() -> str | None:
    manager = settings._get_rpc_manager()
    missing = [name for name in ("rpcs", "unhandled_exception", "exception_traceback") if not hasattr(manager, name)]
    if missing:
        return f"its RPCManager has no {', '.join(missing)}"
    return None if isinstance(manager.rpcs, list) else f"rpcs is a {type(manager.rpcs).__name__}, popped as a list"


def _settings_outputs() -> str | None:
    lock, outputs = getattr(settings.SETTINGS, "lock", None), getattr(settings.SETTINGS, "outputs", None)
    if not isinstance(lock, type(threading.Lock())):
        return f"SETTINGS.lock is {lock!r}, expected a threading.Lock"
    return None if isinstance(outputs, set) else f"SETTINGS.outputs is {outputs!r}, expected the set of Output tasks"


def _wait_for_rpcs() -> str | None:
    # fast_quiescence swaps the module attribute; that only works while run_pulumi_func looks it up by name.
    if not inspect.iscoroutinefunction(stack.wait_for_rpcs):
        return "is no longer a coroutine function"
    if list(inspect.signature(stack.wait_for_rpcs).parameters) != ["await_all_outstanding_tasks"]:
        return (
            f"signature is {inspect.signature(stack.wait_for_rpcs)}, replaced by one taking await_all_outstanding_tasks"
        )
    if "wait_for_rpcs" not in stack.run_pulumi_func.__code__.co_names:
        return "run_pulumi_func no longer calls it through the module, so replacing it has no effect"
    return None


def _mock_settings() -> str | None:
    used = ("monitor", "monitor_features", "engine", "project", "stack", "dry_run", "organization", "callbacks")
    # Read from the class: building a Settings writes the ambient settings (its properties are context variables).
    source = inspect.getsource(settings.Settings)
    missing = [key for key in used if not re.search(rf"self\.{key} =|def {key}\(self\)", source)]
    return f"Settings no longer has {', '.join(missing)} (MockSettings sets them by keyword)" if missing else None


def _mock_engine() -> str | None:
    return _accepts(mocks.MockEngine, None)


def _deployment_info() -> str | None:
    monitor = mocks.MockMonitor(_NoAnswers())
    features = monitor.GetDeploymentInfo(None).supportedFeatures
    wanted = {resource_pb2.RESOURCE_MONITOR_FEATURE_SECRETS, resource_pb2.RESOURCE_MONITOR_FEATURE_TRANSFORMS}
    return None if wanted <= set(features) else f"supportedFeatures {list(features)} lacks secrets or transforms"


def _configure() -> str | None:
    return _accepts(settings.configure, object())


def _set_all_config() -> str | None:
    return _accepts(runtime_config.set_all_config, {"p:k": "v"}, ["p:k"])


def _run_in_stack() -> str | None:
    if not inspect.iscoroutinefunction(stack.run_in_stack):
        return "is no longer a coroutine function (synthesize runs it with loop.run_until_complete)"
    return _accepts(stack.run_in_stack, lambda: None)


def _transform_args() -> str | None:
    return _accepts(
        pulumi.ResourceTransformArgs, custom=True, type_="t", name="n", props={}, opts=pulumi.ResourceOptions()
    )


def _proto_fields(message: str) -> Callable[[], str | None]:
    def check() -> str | None:
        present = set(getattr(resource_pb2, message).DESCRIPTOR.fields_by_name)
        missing = sorted(PROTO_FIELDS[message] - present)
        return f"has no field {', '.join(missing)}" if missing else None

    return check


def _config_functions() -> str | None:
    calls = {
        "get_config_env": (),
        "get_config_secret_keys_env": (),
        "is_config_secret": ("p:k",),
    }
    for name, args in calls.items():
        function = getattr(runtime_config, name, None)
        if function is None:
            return f"{name} is gone"
        if problem := _accepts(function, *args):
            return f"{name} {problem}"
    return None if hasattr(runtime_config.CONFIG, "get") else "CONFIG is no longer a ContextVar of the config map"


INTERNALS = [
    Internal("pulumi.runtime.mocks._resolve_callbacks", RECORDER, _resolve_callbacks),
    Internal("pulumi.runtime.mocks.MockMonitor._stack_transforms", RECORDER, _stack_transforms),
    Internal("pulumi.runtime.mocks.MockMonitor.make_urn", RECORDER, _make_urn),
    *[Internal(f"pulumi.runtime.rpc.{name}", RECORDER, _signature(name)) for name in ENGINE_SIGNATURES],
    Internal("pulumi.runtime.rpc.UNKNOWN", RECORDER, _unknown),
    *[Internal(f"pulumi.runtime.proto.resource_pb2.{m}", RECORDER, _proto_fields(m)) for m in PROTO_FIELDS],
    Internal("pulumi.ResourceTransformArgs", RECORDER, _transform_args),
    Internal("pulumi.runtime.settings._get_rpc_manager", QUIESCENCE, _rpc_manager),
    Internal("pulumi.runtime.settings.SETTINGS.lock/outputs", QUIESCENCE, _settings_outputs),
    Internal("pulumi.runtime.stack.wait_for_rpcs", QUIESCENCE, _wait_for_rpcs),
    Internal("pulumi.runtime.mocks.MockSettings", SYNTHESIZE, _mock_settings),
    Internal("pulumi.runtime.mocks.MockEngine", SYNTHESIZE, _mock_engine),
    Internal("pulumi.runtime.mocks.MockMonitor.GetDeploymentInfo", SYNTHESIZE, _deployment_info),
    Internal("pulumi.runtime.settings.configure", SYNTHESIZE, _configure),
    Internal("pulumi.runtime.config.set_all_config", SYNTHESIZE, _set_all_config),
    Internal("pulumi.runtime.stack.run_in_stack", SYNTHESIZE, _run_in_stack),
    Internal("pulumi.runtime.config (get_config_env, CONFIG, ...)", PLATFORM, _config_functions),
]


def changed_internals() -> list[str]:
    """One line per internal whose shape differs from the one its user relies on."""
    problems = []
    for internal in INTERNALS:
        try:
            problem = internal.check()
        except Exception as error:  # a missing name or a changed type: reported with the name, not a traceback
            problem = f"{type(error).__name__}: {error}"
        if problem:
            problems.append(f"{internal.name} (used by {internal.used_by}): {problem}")
    return problems


def pinned_sdk() -> str:
    match = re.search(r"^pulumi==(\S+)$", REQUIREMENTS.read_text(), re.MULTILINE)
    assert match, "requirements.txt must pin the Pulumi SDK exactly (pulumi==X.Y.Z): preflight uses its internals"
    return match.group(1)


def test_every_sdk_internal_preflight_uses_has_the_shape_it_relies_on() -> None:
    problems = changed_internals()
    assert not problems, (
        f"the Pulumi SDK ({metadata.version('pulumi')}) changed what preflight relies on; adapt the user named, "
        "then re-run this test:\n  " + "\n  ".join(problems)
    )


def test_the_installed_sdk_is_the_pinned_one() -> None:
    """The checks above ran against the SDK requirements.txt pins, not another one left in the venv."""
    assert metadata.version("pulumi") == pinned_sdk()


def test_a_changed_internal_is_named_with_its_user(monkeypatch: pytest.MonkeyPatch) -> None:
    """What an upgrade that renames or reshapes an internal looks like: one line naming it and its user."""
    monkeypatch.delattr(rpc, "_special_secret_sig")
    monkeypatch.setattr(settings.SETTINGS, "outputs", [])

    async def one_argument(first: bool, second: bool) -> None:
        await asyncio.sleep(0)

    monkeypatch.setattr(stack, "wait_for_rpcs", one_argument)
    problems = changed_internals()
    assert len(problems) == 3, problems
    assert problems[0].startswith("pulumi.runtime.rpc._special_secret_sig (used by preflight/recorder.py): ")
    assert problems[1].startswith("pulumi.runtime.settings.SETTINGS.lock/outputs (used by preflight/quiescence.py)")
    assert problems[2].startswith("pulumi.runtime.stack.wait_for_rpcs (used by preflight/quiescence.py): signature")
