"""`mlplatform:gateway`: the request limits every gateway applies; bad input is one line naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.serving_stack.contract import RequestLimits
from preflight.stack_files import engine_string
from stacks.config import parse_stack_config
from stacks.gateway_config import parse_gateway
from stacks.validate import ConfigError

ROOT = Path(__file__).resolve().parent.parent

KEY = "mlplatform:gateway"


def test_defaults_when_the_key_is_left_out() -> None:
    """16 MiB of body and 32 KiB of headers (docs/SECURITY.md says why)."""
    assert parse_gateway(KEY, None) == RequestLimits(max_body_bytes=16 * 1024 * 1024, max_headers_kib=32)


def test_a_stack_sets_its_own_limits() -> None:
    limits = parse_gateway(KEY, {"maxRequestBodyMiB": 64, "maxRequestHeadersKiB": 60})
    assert limits == RequestLimits(max_body_bytes=64 * 1024 * 1024, max_headers_kib=60)
    assert parse_gateway(KEY, {"maxRequestBodyMiB": 4095}).max_body_bytes == 4095 * 1024 * 1024


@pytest.mark.parametrize(
    ("value", "where", "problem"),
    [
        ({"maxRequestBodyMiB": 0}, "maxRequestBodyMiB", "between 1 and 4095"),
        ({"maxRequestBodyMiB": -3}, "maxRequestBodyMiB", "between 1 and 4095"),
        ({"maxRequestBodyMiB": 4096}, "maxRequestBodyMiB", "between 1 and 4095"),  # 4 GiB: past Envoy's uint32
        ({"maxRequestBodyMiB": 1.5}, "maxRequestBodyMiB", "whole number"),
        ({"maxRequestBodyMiB": float("inf")}, "maxRequestBodyMiB", "whole number"),
        ({"maxRequestBodyMiB": float("nan")}, "maxRequestBodyMiB", "whole number"),
        ({"maxRequestBodyMiB": True}, "maxRequestBodyMiB", "whole number"),
        ({"maxRequestHeadersKiB": 0}, "maxRequestHeadersKiB", "between 1 and 8192"),
        ({"maxRequestHeadersKiB": 8193}, "maxRequestHeadersKiB", "between 1 and 8192"),  # Envoy refuses more
        ({"maxBodyMiB": 8}, "maxBodyMiB", "unknown key"),
    ],
)
def test_bad_input_is_one_line_naming_the_key(value: Any, where: str, problem: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_gateway(KEY, value)
    message = str(error.value)
    assert message.startswith(f"{KEY}.{where}: ") and problem in message and "\n" not in message


def test_not_a_map_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^mlplatform:gateway: expected a map"):
        parse_gateway(KEY, 16)


def test_a_stack_file_sets_the_key_and_a_typo_in_it_is_refused() -> None:
    raw = {k: engine_string(v) for k, v in yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"].items()}
    raw["mlplatform:gateway"] = engine_string({"maxRequestBodyMiB": 64})
    assert parse_stack_config(raw, "prod").gateway.max_body_bytes == 64 * 1024 * 1024
    raw["mlplatform:gateway"] = engine_string({"maxRequestBodyMB": 64})
    with pytest.raises(ConfigError, match=r"^mlplatform:gateway.maxRequestBodyMB: unknown key"):
        parse_stack_config(raw, "prod")
