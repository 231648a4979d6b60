"""Small checkers for config values; each failure is a ConfigError naming the key."""

from __future__ import annotations

import math
from typing import Any


class ConfigError(ValueError):
    """A stack config value that cannot be used; str() is one line naming the key."""

    def __init__(self, key: str, problem: str) -> None:
        key, problem = one_line(key), one_line(problem)
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


def one_line(text: str) -> str:
    """A key or value from the file, shown without what would break the line (a newline in a map key)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


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


def number(key: str, value: Any, low: float, high: float = math.inf, *, above: bool = False) -> float:
    """A finite number in [low, high] (above `low` when `above`): NaN and infinity pass no range check of a
    component or a cloud API in a way anyone meant, so every numeric key refuses them here."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(key, f"expected a number, got {kind(value)}")
    problem = finite_problem(value)
    if problem:
        raise ConfigError(key, problem)
    if value < low or (above and value == low):
        raise ConfigError(key, f"must be {'above' if above else 'at least'} {low:g}, got {value}")
    if value > high:
        raise ConfigError(key, f"must be at most {high:g}, got {value}")
    return float(value)


def finite_problem(value: float) -> str | None:
    """Why a number cannot be used (NaN or infinite), or None: the one rule every numeric key and argument shares."""
    if isinstance(value, int):
        return None  # a whole number is finite (and may be too large for a float)
    if math.isnan(value):
        return "must be a number, got NaN (.nan)"
    if math.isinf(value):
        return f"must be finite, got {'-' if value < 0 else ''}infinity"
    return None


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
