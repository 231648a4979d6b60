"""Read Pulumi.yaml and Pulumi.<stack>.yaml into the config mapping the engine would send."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from preflight.errors import InputError

SECRET_PLACEHOLDER = "[secret]"


@dataclass(frozen=True)
class StackFile:
    project: str
    stack: str
    config: dict[str, str]
    """`project:key` -> string, structured values JSON-encoded: what `pulumi up` hands a program."""
    masked: tuple[str, ...]
    """Keys holding `secure:` values, which cannot be decrypted offline and are placeholders."""


def load_stack(project_dir: Path, stack: str) -> StackFile:
    project, defaults = _project(project_dir / "Pulumi.yaml")
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))
        raise InputError(f"{path.name}: no such stack file (stacks here: {', '.join(known) or 'none'})")
    document = _read_yaml(path)
    raw = document.get("config") or {}
    if not isinstance(raw, dict):
        raise InputError(f"{path.name}: config: expected a map of keys to values")
    config: dict[str, str] = {}
    masked: list[str] = []
    for key, value in raw.items():
        full_key = key if ":" in str(key) else f"{project}:{key}"
        value, had_secret = _mask_secure(value)
        if had_secret:
            masked.append(full_key)
        config[full_key] = engine_string(value)
    # As the CLI does: project-level values and declared defaults fill what the stack leaves out.
    for key, value in defaults.items():
        config.setdefault(key, value)
    return StackFile(project=project, stack=stack, config=config, masked=tuple(masked))


def config_from_mapping(project: str, stack: str, values: dict[str, Any]) -> StackFile:
    """A stack made in memory (benchmarks, tests): values as they would appear in a stack file."""
    config = {(k if ":" in k else f"{project}:{k}"): engine_string(v) for k, v in values.items()}
    return StackFile(project=project, stack=stack, config=config, masked=())


def engine_string(value: Any) -> str:
    """How the CLI passes a config value: scalars as text, structures as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if value is None:
        return ""
    return json.dumps(value)


def _mask_secure(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER, True
        found = False
        masked: dict[str, Any] = {}
        for key, item in value.items():
            masked[key], had = _mask_secure(item)
            found = found or had
        return masked, found
    if isinstance(value, list):
        items = [_mask_secure(item) for item in value]
        return [item for item, _ in items], any(had for _, had in items)
    return value, False


def _project(path: Path) -> tuple[str, dict[str, str]]:
    """The project name, and the config values Pulumi.yaml supplies when a stack does not."""
    document = _read_yaml(path)
    name = document.get("name")
    if not isinstance(name, str) or not name:
        raise InputError(f"{path.name}: name: missing; the project needs a name")
    defaults: dict[str, str] = {}
    for key, declared in (document.get("config") or {}).items():
        full_key = key if ":" in str(key) else f"{name}:{key}"
        if isinstance(declared, dict) and ("type" in declared or "description" in declared):
            if "default" in declared:
                defaults[full_key] = engine_string(declared["default"])
        else:
            defaults[full_key] = engine_string(declared)
    return name, defaults


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError(f"{path.name}: not found") from None
    except OSError as error:
        raise InputError(f"{path.name}: cannot be read ({error.strerror})") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"{path.name}: not valid YAML{where}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise InputError(f"{path.name}: expected a YAML map at the top level")
    return document
