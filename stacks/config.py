"""The stack config as typed, frozen dataclasses.

Every value arrives the way the Pulumi engine hands it to a program: a mapping of
``project:key`` to a string (structured values JSON-encoded). The same parser therefore
serves `pulumi up` and the offline preflight, and every error names the key it is about,
so a bad stack file fails before any resource is made.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from components.target import Cloud
from stacks.regions import REGIONS

PROJECT = "mlplatform"
CLOUDS: tuple[Cloud, ...] = ("aws", "gcp", "azure")
ENVIRONMENTS = ("dev", "prod")


class ConfigError(ValueError):
    """A stack config value that cannot be used; str() is one line naming the key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class EnvironmentProfile:
    """What an environment means, decided once: dev is cheap, prod is highly available."""

    name: str
    protect_stateful: bool  # protect + retain buckets, keys, databases
    force_destroy_buckets: bool  # let `pulumi destroy` empty a bucket
    noncurrent_version_days: int  # how long overwritten model files stay recoverable
    zone_redundant_storage: bool  # ZRS on Azure (S3 and GCS regional buckets span zones already)


PROFILES: dict[str, EnvironmentProfile] = {
    "dev": EnvironmentProfile(
        name="dev",
        protect_stateful=False,
        force_destroy_buckets=True,
        noncurrent_version_days=7,
        zone_redundant_storage=False,
    ),
    "prod": EnvironmentProfile(
        name="prod",
        protect_stateful=True,
        force_destroy_buckets=False,
        noncurrent_version_days=30,
        zone_redundant_storage=True,
    ),
}


@dataclass(frozen=True)
class TargetConfig:
    """One cloud target: a cloud and a region, with what that cloud needs to address it."""

    name: str
    cloud: Cloud
    region: str
    gcp_project: str | None = None
    azure_subscription_id: str | None = None


@dataclass(frozen=True)
class StackConfig:
    project: str
    stack: str
    environment: EnvironmentProfile
    owner: str
    cost_center: str
    targets: tuple[TargetConfig, ...]
    noncurrent_version_days: int


@dataclass(frozen=True)
class KeySpec:
    """A top-level config key: its type for Pulumi.yaml, and whether a stack must set it."""

    type: Literal["string", "integer", "boolean", "object"]
    description: str
    required: bool = False


# Scalar keys are declared in Pulumi.yaml too (a test keeps both in step); `targets` is a
# list of objects, which Pulumi.yaml's schema cannot express, so it is declared only here.
KEYS: dict[str, KeySpec] = {
    "environment": KeySpec("string", "Environment profile: dev (cheap) or prod (highly available).", True),
    "owner": KeySpec("string", "Team or person that owns the stack (the `owner` tag).", True),
    "costCenter": KeySpec("string", "Cost center billed for the stack (the `cost-center` tag).", True),
    "noncurrentVersionDays": KeySpec(
        "integer", "Days an overwritten model file stays recoverable; 0: the environment's default (7 dev, 30 prod)."
    ),
    "targets": KeySpec("object", "Cloud targets: a list of {cloud, region, name?, project?, subscriptionId?}.", True),
}  # fmt: skip

TARGET_KEYS = {"cloud", "region", "name", "project", "subscriptionId"}
_TARGET_NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
_GCP_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_TAG_VALUE = re.compile(r"^[A-Za-z0-9 _.:/=+@-]{1,63}$")


def parse_stack_config(raw: Mapping[str, Any], stack: str, project: str = PROJECT) -> StackConfig:
    """Validate the engine's config mapping (``project:key`` -> string) into a StackConfig."""
    prefix = f"{project}:"
    values: dict[str, Any] = {}
    for full_key, text in raw.items():
        if not full_key.startswith(prefix):
            continue  # provider namespaces (aws:, gcp:, ...) are not ours to judge
        key = full_key[len(prefix) :]
        spec = KEYS.get(key)
        if spec is None:
            raise ConfigError(full_key, f"unknown key (known: {', '.join(sorted(KEYS))})")
        values[key] = _decode(full_key, spec, text)
    for key, spec in KEYS.items():
        if spec.required and key not in values:
            raise ConfigError(f"{prefix}{key}", "missing; it is required")

    env_name = _string(f"{prefix}environment", values["environment"])
    if env_name not in PROFILES:
        raise ConfigError(f"{prefix}environment", f"unknown environment {env_name!r} (expected dev or prod)")
    profile = PROFILES[env_name]

    days = values.get("noncurrentVersionDays") or profile.noncurrent_version_days
    if days < 1 or days > 3650:
        raise ConfigError(
            f"{prefix}noncurrentVersionDays", f"must be between 1 and 3650 (or 0 for the default), got {days}"
        )

    return StackConfig(
        project=project,
        stack=stack,
        environment=profile,
        owner=_tag_value(f"{prefix}owner", values["owner"]),
        cost_center=_tag_value(f"{prefix}costCenter", values["costCenter"]),
        targets=_targets(f"{prefix}targets", values["targets"]),
        noncurrent_version_days=days,
    )


def _decode(key: str, spec: KeySpec, text: Any) -> Any:
    """Turn the engine's string into the declared type; YAML scalars may arrive typed."""
    if spec.type == "string":
        return _string(key, text)
    if spec.type == "integer":
        if isinstance(text, bool):
            raise ConfigError(key, f"expected an integer, got {text!r}")
        if isinstance(text, int):
            return text
        if isinstance(text, str) and re.fullmatch(r"-?[0-9]+", text.strip()):
            return int(text)
        raise ConfigError(key, f"expected an integer, got {text!r}")
    if spec.type == "boolean":
        if isinstance(text, bool):
            return text
        if isinstance(text, str) and text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise ConfigError(key, f"expected true or false, got {text!r}")
    if isinstance(text, str):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ConfigError(key, "expected a structured value (a YAML list or map), got a plain string") from None
    return text


def _string(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(key, f"expected a string, got {_kind(value)}")
    if not value.strip():
        raise ConfigError(key, "must not be empty")
    return value


def _tag_value(key: str, value: Any) -> str:
    text = _string(key, value)
    if not _TAG_VALUE.match(text):
        raise ConfigError(key, f"{text!r} cannot be a tag on every cloud (1-63 letters, digits, spaces and _.:/=+@-)")
    return text


def _targets(key: str, value: Any) -> tuple[TargetConfig, ...]:
    if not isinstance(value, list):
        raise ConfigError(key, f"expected a list of targets, got {_kind(value)}")
    if not value:
        raise ConfigError(key, "must list at least one target")
    targets = tuple(_target(f"{key}[{i}]", item) for i, item in enumerate(value))
    seen: dict[str, int] = {}
    for i, target in enumerate(targets):
        if target.name in seen:
            raise ConfigError(
                f"{key}[{i}].name",
                f"target name {target.name!r} is already used by {key}[{seen[target.name]}]",
            )
        seen[target.name] = i
    return targets


def _target(key: str, item: Any) -> TargetConfig:
    if not isinstance(item, dict):
        raise ConfigError(key, f"expected a map with cloud and region, got {_kind(item)}")
    for field in item:
        if field not in TARGET_KEYS:
            raise ConfigError(f"{key}.{field}", f"unknown key (known: {', '.join(sorted(TARGET_KEYS))})")
    if "cloud" not in item:
        raise ConfigError(f"{key}.cloud", "missing; expected one of aws, gcp, azure")
    cloud = _string(f"{key}.cloud", item["cloud"])
    if cloud not in CLOUDS:
        raise ConfigError(f"{key}.cloud", f"unknown cloud {cloud!r} (expected one of aws, gcp, azure)")
    if "region" not in item:
        raise ConfigError(f"{key}.region", f"missing; every {cloud} target needs a region")
    region = _string(f"{key}.region", item["region"])
    if region not in REGIONS[cloud]:
        raise ConfigError(f"{key}.region", f"unknown {cloud} region {region!r}")

    name = _string(f"{key}.name", item.get("name", f"{cloud}-{region}"))
    if not _TARGET_NAME.match(name):
        raise ConfigError(f"{key}.name", f"{name!r} must be 3-32 lowercase letters, digits or '-'")

    gcp_project = item.get("project")
    if cloud == "gcp":
        if gcp_project is None:
            raise ConfigError(f"{key}.project", "missing; a gcp target needs its project id")
        gcp_project = _string(f"{key}.project", gcp_project)
        if not _GCP_PROJECT.match(gcp_project):
            raise ConfigError(f"{key}.project", f"{gcp_project!r} is not a valid GCP project id")
    elif gcp_project is not None:
        raise ConfigError(f"{key}.project", f"only gcp targets take a project, not {cloud}")

    subscription = item.get("subscriptionId")
    if subscription is not None:
        if cloud != "azure":
            raise ConfigError(f"{key}.subscriptionId", f"only azure targets take a subscriptionId, not {cloud}")
        subscription = _string(f"{key}.subscriptionId", subscription)
        if not _UUID.match(subscription):
            raise ConfigError(f"{key}.subscriptionId", f"{subscription!r} is not a subscription id (a UUID)")

    return TargetConfig(
        name=name,
        cloud=cloud,
        region=region,
        gcp_project=gcp_project,
        azure_subscription_id=subscription,
    )


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a map"
    if value is None:
        return "nothing"
    return f"{value!r}"
