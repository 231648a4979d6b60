"""Small checkers for config values; each failure is a ConfigError naming the key."""

from __future__ import annotations

from typing import Any


class ConfigError(ValueError):
    """A stack config value that cannot be used; str() is one line naming the key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


def kind(value: Any) -> str:
    """How a wrong value is described back to the user."""
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


def string(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(key, f"expected a string, got {kind(value)}")
    if not value.strip():
        raise ConfigError(key, "must not be empty")
    return value


def integer(key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, f"expected a whole number, got {kind(value)}")
    if not low <= value <= high:
        raise ConfigError(key, f"must be between {low} and {high}, got {value}")
    return value


def number(key: str, value: Any, low: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(key, f"expected a number, got {kind(value)}")
    if value < low:
        raise ConfigError(key, f"must be at least {low:g}, got {value:g}")
    return float(value)


def boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, f"expected true or false, got {kind(value)}")
    return value


def mapping(key: str, value: Any, allowed: set[str]) -> dict[str, Any]:
    """A map whose keys must all be known: a typo is an error, not a silently ignored setting."""
    if not isinstance(value, dict):
        raise ConfigError(key, f"expected a map, got {kind(value)}")
    for field in value:
        if field not in allowed:
            raise ConfigError(f"{key}.{field}", f"unknown key (known: {', '.join(sorted(allowed))})")
    return value


def string_list(key: str, value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ConfigError(key, f"expected a list, got {kind(value)}")
    return [string(f"{key}[{i}]", item) for i, item in enumerate(value)]
