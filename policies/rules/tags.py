"""A resource's effective tags or labels: its own, over its provider's default tags or labels.

AWS and GCP providers can carry default tags (`defaultTags.tags`) and default labels
(`defaultLabels`) that the provider adds to every resource with a top-level tags or labels
input; azure-native has none. The analyzer request carries the provider's inputs, so the
effective set is knowable here. A type whose labels sit in a nested input (Cloud SQL's
`settings.userLabels`) gets nothing from the provider: only its own labels count.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pulumi_policy import PolicyProviderResource

from rules.props import field, mapping

DEFAULT_REQUIRED_TAGS = ("project", "environment", "owner", "cost-center", "managed-by")

_TAGGABLE_TYPES = Path(__file__).with_name("taggable_types.json")
_GCP_LABEL_ILLEGAL = re.compile(r"[^a-z0-9_-]")


@cache
def _taggable_table() -> dict[str, str | None]:
    table: dict[str, str | None] = json.loads(_TAGGABLE_TYPES.read_text())["types"]
    return table


def tag_input(resource_type: str, props: Mapping[str, Any]) -> str | None:
    """The input that holds a resource's tags ('tags', 'labels' or a dotted path such as
    'settings.userLabels'), or None if it takes none.

    Known types come from taggable_types.json (read from the pinned SDKs); for any other
    cloud type, an input named tags or labels is taken as the answer.
    """
    table = _taggable_table()
    if resource_type in table:
        return table[resource_type]
    if not resource_type.startswith(("aws:", "gcp:", "azure-native:")):
        return None
    for candidate in ("tags", "labels"):
        if candidate in props:
            return candidate
    return None


def provider_defaults(provider: PolicyProviderResource | None) -> dict[str, str]:
    """The default tags (AWS) or labels (GCP) a provider adds; nested config arrives as JSON text."""
    if provider is None:
        return {}
    if provider.resource_type == "pulumi:providers:aws":
        defaults = mapping(mapping(provider.props.get("defaultTags")).get("tags"))
    elif provider.resource_type == "pulumi:providers:gcp":
        defaults = mapping(provider.props.get("defaultLabels"))
    else:
        return {}
    return {str(key): str(value) for key, value in defaults.items()}


def effective_tags(
    resource_type: str, props: Mapping[str, Any], provider: PolicyProviderResource | None
) -> dict[str, str] | None:
    """Own tags over the provider's defaults, or None for a resource that takes no tags.

    Provider defaults reach only a top-level tags or labels input, never a nested one.
    """
    name = tag_input(resource_type, props)
    if name is None:
        return None
    own = mapping(field(props, *name.split(".")))
    merged = provider_defaults(provider) if "." not in name else {}
    merged.update({str(key): "" if value is None else str(value) for key, value in own.items()})
    return merged


def label_key(key: str) -> str:
    """A tag key as GCP would accept it as a label key (lowercase, '_' for anything illegal)."""
    return _GCP_LABEL_ILLEGAL.sub("_", key.lower())[:63]


def environment_of(resource_type: str, props: Mapping[str, Any], provider: PolicyProviderResource | None) -> str:
    """The environment tag or label of a resource ('' when it has none)."""
    own = effective_tags(resource_type, props, provider) or {}
    if own.get("environment"):
        return str(own["environment"])
    # Untagged here: the stack's environment as the provider labels everything else.
    return str(provider_defaults(provider).get("environment", ""))
