"""Property-based tests over bad input: any YAML value at any key of a valid stack file is either a valid
config or one line naming a key, never another exception; any text as a numeric argument of the command line is
either a finite number in range or exit 2.

Hypothesis runs derandomized (the same examples on every run and in CI) with a bounded number of examples; the
stack file goes through preflight's reader and the config parser in-process, without synthesis, so the whole
module stays within a few seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preflight.cli import MAX_GPUS, MAX_HOURS, _parser
from preflight.errors import InputError
from preflight.stack_files import load_stack
from stacks.config import ConfigError, StackConfig, parse_stack_config
from tests.test_preflight_cli import ROOT

DAY = date(2026, 12, 2)
SETTINGS = settings(
    max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)

# A valid dev stack that reaches every config module: two clouds, a pool with an Azure-style cap kept off (dev, aws
# and gcp), a model with a canary, failover DNS, observability, model sync, registry and database settings.
VALID: dict[str, Any] = {
    "environment": "dev",
    "owner": "ml-platform",
    "costCenter": "ml-serving",
    "targets": [
        {"cloud": "aws", "region": "us-east-1"},
        {"cloud": "gcp", "region": "us-central1", "project": "ml-test-123"},
    ],
    "kubernetesVersion": "1.35",
    "systemPool": {"minNodes": 1, "maxNodes": 2},
    "gpuPools": [{"name": "t4", "accelerator": "T4", "minNodes": 0, "maxNodes": 2, "fallbackMaxNodes": 1}],
    "models": [
        {
            "name": "fraud",
            "accelerator": "T4",
            "minReplicas": 1,
            "maxReplicas": 3,
            "stable": {"name": "v1", "path": "fraud/v1", "weight": 90},
            "canary": {"name": "v2", "path": "fraud/v2", "weight": 10},
        }
    ],
    "dns": {"zone": "ml.example.com", "mode": "failover", "primary": "aws-us-east-1", "ttl": 60, "peakRps": 50},
    "observability": {"retentionDays": 15},
    "modelSync": {"schedule": "*/10 * * * *"},
    "registry": {"keepImages": 30, "untaggedDays": 7},
    "database": {"storageGb": 32, "backupDays": 7},
    "auth": {"enabled": False},
}


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in the stack, each list element and map entry included, and a new key in every map."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        found.append((*prefix, "extraKey"))
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


PATHS = paths(VALID)


def replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, *rest = path
    if isinstance(document, dict):
        return {**document, head: replaced(document.get(head), tuple(rest), value)}
    copy = list(document)
    copy[head] = replaced(copy[head], tuple(rest), value)
    return copy


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["aws", "gcp", "azure", "T4", "1.30", "prod", "failover", "latency", "", "api", "*"])
    | st.dates()
    | st.binary(max_size=6)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def read_stack(directory: Path, document: dict[str, Any]) -> StackConfig:
    """The stack file as a user would write it, read by preflight's reader and validated."""
    config = {f"mlplatform:{key}": value for key, value in document.items()}
    (directory / "Pulumi.p.yaml").write_text(yaml.safe_dump({"config": config}, allow_unicode=True))
    stack = load_stack(directory, "p")
    return parse_stack_config(stack.config, stack="p", project=stack.project, today=DAY)


@pytest.fixture(scope="module")
def project_dir() -> Any:
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
        yield Path(directory)


def test_the_base_stack_is_valid(project_dir: Path) -> None:
    config = read_stack(project_dir, VALID)
    assert [t.name for t in config.targets] == ["aws-us-east-1", "gcp-us-central1"] and config.model_sync


@SETTINGS
@given(path=st.sampled_from(PATHS), value=VALUES)
def test_any_value_at_any_key_is_valid_or_one_line_naming_a_key(
    project_dir: Path, path: tuple[Any, ...], value: Any
) -> None:
    document = replaced(VALID, path, value)
    try:
        read_stack(project_dir, document)
    except ConfigError as error:
        assert error.key.startswith("mlplatform:") and "\n" not in str(error)
    except InputError as error:  # the reader's refusals name the file (and the key where there is one)
        assert str(error).startswith("Pulumi.p.yaml: ") and "\n" not in str(error)


@SETTINGS
@given(path=st.sampled_from([p for p in PATHS if len(p) > 1]), value=VALUES)
def test_a_nested_value_that_is_refused_names_its_own_key_or_a_neighbour(
    project_dir: Path, path: tuple[Any, ...], value: Any
) -> None:
    """A refusal names the top-level key the value was put under, unless that value changed what another key
    must be (a target's cloud decides what the pools and models may ask for)."""
    document = replaced(VALID, path, value)
    try:
        read_stack(project_dir, document)
    except (ConfigError, InputError) as error:
        message = str(error)
        cross_key = path[0] in ("targets", "gpuPools", "dns", "observability")
        assert cross_key or f"mlplatform:{path[0]}" in message, message


def parsed(*args: str) -> argparse.Namespace | None:
    """The parsed arguments, or None when argparse refused them (exit 2)."""
    with contextlib.redirect_stderr(io.StringIO()):
        try:
            return _parser().parse_args(list(args))
        except SystemExit as stop:
            assert stop.code == 2
            return None


NUMBER_TEXT = (
    st.text(max_size=10)
    | st.floats(allow_nan=True, allow_infinity=True).map(repr)
    | st.floats(allow_nan=True, allow_infinity=True).map(str)
    | st.integers(min_value=-(10**30), max_value=10**30).map(str)
    | st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "1e999", "1e308", "0", "-0", "1_000", " 5 "])
)


@SETTINGS
@given(text=NUMBER_TEXT)
def test_hours_are_a_finite_number_in_range_or_exit_2(text: str) -> None:
    args = parsed("compare", "--gpu", "T4", f"--hours={text}")
    if args is not None:
        assert math.isfinite(args.hours) and 0 < args.hours <= MAX_HOURS


@SETTINGS
@given(text=NUMBER_TEXT)
def test_count_is_a_whole_number_in_range_or_exit_2(text: str) -> None:
    args = parsed("compare", "--gpu", "T4", "--hours", "1", f"--count={text}")
    if args is not None:
        assert isinstance(args.count, int) and 1 <= args.count <= MAX_GPUS
