"""`mlplatform:gateway`: what one request may carry through every gateway, with or without authentication.

    mlplatform:gateway:
      maxRequestBodyMiB: 16      # a bigger body gets 413 at the gateway (default 16)
      maxRequestHeadersKiB: 32   # bigger headers get 431 (default 32)

Whole numbers only: Envoy takes the body limit in bytes (at most 4 GiB - 1, so at most 4095 MiB here) and the
header limit in KiB (at most 8192). docs/SECURITY.md says why the defaults are what they are.
"""

from __future__ import annotations

from typing import Any

from components.serving_stack.contract import MAX_HEADERS_KIB, MIB, RequestLimits
from stacks.validate import integer, mapping

GATEWAY_KEYS = {"maxRequestBodyMiB", "maxRequestHeadersKiB"}
MAX_BODY_MIB = 4095  # the largest whole MiB under the buffer filter's uint32 byte count
DEFAULT = RequestLimits()


def parse_gateway(key: str, value: Any) -> RequestLimits:
    """The request limits every gateway of the stack applies; the defaults when the key is left out."""
    if value is None:
        return DEFAULT
    fields = mapping(key, value, GATEWAY_KEYS)
    body = integer(
        f"{key}.maxRequestBodyMiB", fields.get("maxRequestBodyMiB", DEFAULT.max_body_bytes // MIB), 1, MAX_BODY_MIB
    )
    headers = integer(
        f"{key}.maxRequestHeadersKiB", fields.get("maxRequestHeadersKiB", DEFAULT.max_headers_kib), 1, MAX_HEADERS_KIB
    )
    return RequestLimits(max_body_bytes=body * MIB, max_headers_kib=headers)
