"""Reading resource inputs as the analyzer hands them over: nested Mappings and Sequences.

Inputs arrive through pulumi-policy's unknown-checking proxies, not dicts and lists, and
numbers arrive as floats; these helpers take either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def field(props: Mapping[str, Any] | None, *path: str) -> Any:
    """The value at a dotted path, or None when any step is missing."""
    current: Any = props
    for key in path:
        if not isinstance(current, Mapping) or key not in current:
            return None
        current = current[key]
    return current


def mapping(value: Any) -> Mapping[str, Any]:
    """A Mapping, also from the JSON string a provider's nested config arrives as."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, Mapping) else {}


def items(value: Any) -> list[Any]:
    """A list of the elements of a Sequence (never of a string's characters)."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [value[index] for index in range(len(value))]
    return []


def number(value: Any, default: float = 0.0) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return default
    return default


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def cloud_of(type_token: str) -> str | None:
    """'aws', 'gcp' or 'azure' for a resource or provider type of the three clouds (pulumi-eks counts as AWS)."""
    package = type_token.split(":")[0]
    if package == "pulumi" and type_token.startswith("pulumi:providers:"):
        package = type_token.split(":")[2]
    return {"aws": "aws", "eks": "aws", "gcp": "gcp", "azure-native": "azure"}.get(package)


def size(count: float) -> str:
    return str(int(count)) if count == int(count) else str(count)
