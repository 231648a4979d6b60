"""`mlplatform:gateway`: the request limits every gateway applies; bad input is one line naming the key."""

from __future__ import annotations

from typing import Any

import pytest

from components.serving_stack.contract import RequestLimits
from stacks.gateway_config import parse_gateway
from stacks.validate import ConfigError

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
