"""The one place that knows the required tags, and the one mechanism per cloud that applies them.

AWS and GCP apply them as provider default tags / labels, so every taggable resource made
through a target's provider carries them. azure-native has no default tags, so an Azure
footprint carries a resource transform that adds them to every taggable azure-native
resource beneath it. No resource sets these tags by hand, with one kind of exception: a
resource whose labels sit in a nested input (Cloud SQL's settings.user_labels), which a
provider's default labels never reach; its component sets them (see NESTED_LABEL_INPUTS).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
from collections.abc import Mapping

import pulumi

REQUIRED_TAG_KEYS: tuple[str, ...] = ("project", "environment", "owner", "cost-center", "managed-by")


def required_tags(project: str, environment: str, owner: str, cost_center: str) -> dict[str, str]:
    return {
        "project": project,
        "environment": environment,
        "owner": owner,
        "cost-center": cost_center,
        "managed-by": "pulumi",
    }


_GCP_LABEL_ILLEGAL = re.compile(r"[^a-z0-9_-]")


def gcp_label(text: str) -> str:
    """GCP labels allow only lowercase letters, digits, '_' and '-', at most 63 characters."""
    return _GCP_LABEL_ILLEGAL.sub("_", text.lower())[:63]


def gcp_labels(tags: Mapping[str, str]) -> dict[str, str]:
    """Tags as GCP labels; keys must also start with a letter."""
    labels: dict[str, str] = {}
    for key, value in tags.items():
        label_key = gcp_label(key)
        if not label_key[:1].isalpha():
            label_key = f"k{label_key}"[:63]
        labels[label_key] = gcp_label(value)
    return labels


# Resource types whose labels are a field of a nested input, as (input, field) in the SDK's
# spelling. Provider default labels apply only to a top-level `labels` input, so they never reach
# these (pulumi-gcp default_labels; gcp.sql.DatabaseInstance has no top-level labels, read 2026-12).
NESTED_LABEL_INPUTS: dict[str, tuple[str, str]] = {
    "gcp:sql/databaseInstance:DatabaseInstance": ("settings", "user_labels"),
}


def tag_input_name(type_token: str) -> str | None:
    """The input a resource type carries its tags in ('tags', 'labels', or a dotted path such as
    'settings.userLabels' as the engine spells it), or None if untaggable.

    Read from the installed SDK's own constructor (and, for nested labels, the nested input's
    type), so the answer follows the pinned provider version instead of a hand-kept list.
    """
    return _tag_input_name(type_token)


def provider_defaults_reach(type_token: str) -> bool:
    """Whether the provider's default tags or labels reach this type: only a top-level input."""
    name = tag_input_name(type_token)
    return name is not None and "." not in name


@functools.cache
def _tag_input_name(type_token: str) -> str | None:
    resource_class = _sdk_class(type_token)
    if resource_class is None:
        return None
    params = inspect.signature(getattr(resource_class, "_internal_init")).parameters  # noqa: B009
    for candidate in ("tags", "labels"):
        if candidate in params:
            return candidate
    nested = NESTED_LABEL_INPUTS.get(type_token)
    if nested is not None and nested[0] in params:
        outer, inner = nested
        typed = getattr(
            importlib.import_module(resource_class.__module__.rsplit(".", 1)[0]),
            f"{resource_class.__name__}{_camel(outer, upper=True)}ArgsDict",
            None,
        )
        if typed is not None and inner in getattr(typed, "__annotations__", {}):
            return f"{_camel(outer)}.{_camel(inner)}"
    return None


def _camel(name: str, *, upper: bool = False) -> str:
    """user_labels -> userLabels (the engine's spelling); upper=True -> UserLabels."""
    first, *rest = name.split("_")
    text = first + "".join(part.title() for part in rest)
    return text[:1].upper() + text[1:] if upper else text


_PACKAGES = {"aws": "pulumi_aws", "gcp": "pulumi_gcp", "azure-native": "pulumi_azure_native"}


def _sdk_class(type_token: str) -> type | None:
    """`aws:s3/bucket:Bucket` -> pulumi_aws.s3.Bucket (None for components and unknown types)."""
    parts = type_token.split(":")
    if len(parts) != 3 or parts[0] not in _PACKAGES:
        return None
    package, module, class_name = parts
    module_path = _PACKAGES[package]
    module_name = module.split("/")[0]
    if module_name not in ("index", ""):
        module_path = f"{module_path}.{module_name}"
    try:
        return getattr(importlib.import_module(module_path), class_name, None)
    except ImportError:
        return None


def azure_tags_transform(tags: Mapping[str, str]) -> pulumi.ResourceTransform:
    """A transform that merges the required tags into every taggable azure-native resource.

    Tags the resource sets itself win over nothing: required keys are always ours, so a
    resource cannot drop or blank one.
    """
    required = dict(tags)

    def add_tags(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if not args.custom or not args.type_.startswith("azure-native:"):
            return None
        if tag_input_name(args.type_) != "tags":
            return None
        props = dict(args.props)
        own_tags = props.get("tags")
        props["tags"] = {**(own_tags if isinstance(own_tags, dict) else {}), **required}
        return pulumi.ResourceTransformResult(props=props, opts=args.opts)

    return add_tags
