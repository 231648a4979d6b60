"""What a plausible-output function is given, and helpers shared by every cloud's table."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ACCOUNT_ID = "123456789012"
SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
TENANT_ID = "00000000-0000-0000-0000-000000000001"

Outputs = dict[str, Any]


@dataclass(frozen=True)
class MockContext:
    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    provider_inputs: dict[str, Any]

    def digest(self, length: int = 7) -> str:
        return hashlib.sha1(self.urn.encode()).hexdigest()[:length]

    def auto_name(self, max_length: int = 63) -> str:
        """Pulumi auto-naming: the resource name plus a random-looking suffix."""
        return f"{self.name[: max_length - 8]}-{self.digest()}"

    def uuid(self) -> str:
        h = hashlib.sha1(self.urn.encode()).hexdigest()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"

    @property
    def region(self) -> str:
        return str(self.provider_inputs.get("region") or self.provider_inputs.get("location") or "us-east-1")


OutputTable = dict[str, Callable[[MockContext], Outputs]]
InvokeTable = dict[str, Callable[[dict[str, Any]], Outputs]]
