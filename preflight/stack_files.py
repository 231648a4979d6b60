"""Read Pulumi.yaml and Pulumi.<stack>.yaml into the config mapping the engine would send.

The files are read the way the Pulumi CLI reads them (its YAML decoder is Go's gopkg.in/yaml.v2;
sdk/go/common/resource/config/value.go, read 2026-12): a top-level config value that is a scalar
is handed over as the text written (`1.30` stays "1.30", a date stays "2024-01-01"); a structured
value is decoded and sent as JSON, where a date is its text, `!!binary` its decoded text and a
`!!set` a map of nulls. What the CLI cannot send is refused with the file and key: text that is
not UTF-8, a key written twice in one map (PyYAML and Go's decoder would each keep one silently),
NaN or infinity inside a structured value (Go's JSON encoder refuses them).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from preflight.errors import InputError
from stacks.validate import one_line

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
        if full_key in config:  # `owner` and `mlplatform:owner` are the same key
            raise InputError(f"{path.name}: {full_key}: set twice; keep one")
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
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path.name}: not found") from None
    except OSError as error:
        raise InputError(f"{path.name}: cannot be read ({error.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(f"{path.name}: not UTF-8 text (byte {error.start + 1}, line {line})") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        document = _Reader(path.name).document(root)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"{path.name}: not valid YAML{where}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise InputError(f"{path.name}: expected a YAML map at the top level")
    return document


_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_BINARY = "tag:yaml.org,2002:binary"
_MAX_NODES = 100_000  # aliases can multiply a small file (a "billion laughs"); no stack comes near this


class _Reader:
    """YAML nodes to Python values as the Pulumi CLI sees them, with the key path of every problem."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.constructor = yaml.SafeLoader("")
        self.nodes = 0

    def fail(self, path: str, problem: str) -> InputError:
        return InputError(f"{self.file}: {one_line(path)}: {problem}")

    def document(self, root: yaml.Node | None) -> Any:
        """The whole file; under `config`, a scalar value stays the text written, as the CLI passes it."""
        if root is None:
            return None
        if not isinstance(root, yaml.MappingNode):
            return self.value(root, "(top level)", ())
        document: dict[str, Any] = {}
        for key, node in self.pairs(root, ""):
            if key == "config" and isinstance(node, yaml.MappingNode):
                document[key] = {
                    name: self.text(item, name) if isinstance(item, yaml.ScalarNode) else self.value(item, name, ())
                    for name, item in self.pairs(node, "")
                }
            else:
                document[key] = self.value(node, key, ())
        return document

    def pairs(self, node: yaml.MappingNode, prefix: str) -> Iterator[tuple[str, yaml.Node]]:
        """A map's keys and values; a key written twice is refused (the decoders keep one silently)."""
        self.constructor.flatten_mapping(node)  # `<<: *anchor` merge keys, as both decoders apply them
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(f"{prefix}(a key)", "a map or list as a key; keys are names")
            key = key_node.value  # Go's decoder names a non-string key by its text, as here
            if key in seen:
                raise self.fail(f"{prefix}{key}", "the key appears twice in one map; keep one")
            seen.add(key)
            yield key, value_node

    def text(self, node: yaml.ScalarNode, path: str) -> str:
        """A top-level scalar as the CLI hands it to the program: its text, `!!binary` decoded; null is ''."""
        if node.tag == _BINARY:
            return self.binary(node, path)
        if node.tag == "tag:yaml.org,2002:null":
            return ""
        return str(node.value)

    def binary(self, node: yaml.ScalarNode, path: str) -> str:
        data = self.constructor.construct_yaml_binary(node)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(path, "!!binary data that is not UTF-8 text cannot be a config value") from None

    def value(self, node: yaml.Node, path: str, open_nodes: tuple[int, ...]) -> Any:
        self.nodes += 1
        if self.nodes > _MAX_NODES:
            raise self.fail(path, f"more than {_MAX_NODES} values (aliases expanding?)")
        if id(node) in open_nodes:
            raise self.fail(path, "an alias that contains itself")
        inner = (*open_nodes, id(node))
        if isinstance(node, yaml.MappingNode):
            return {key: self.value(item, f"{path}.{key}", inner) for key, item in self.pairs(node, f"{path}.")}
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, f"{path}[{i}]", inner) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        if node.tag == _TIMESTAMP:
            return str(node.value)  # yaml.v2 hands a date to an untyped value as its text
        if node.tag == _BINARY:
            return self.binary(node, path)
        value = self.constructor.construct_object(node, deep=True)
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(path, f"{node.value} is not a number JSON can carry (NaN and infinity are refused)")
        return value
