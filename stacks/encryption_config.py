"""Customer-managed keys (`mlplatform:encryption`): Kubernetes Secrets and the metadata databases under keys
the stack owns, rather than the clouds' own keys.

Off by default: a key of one's own is a key policy to keep right, a monthly charge and a way to lock oneself
out of one's data (delete the key and the secrets and database are gone). Prod turns it on in Pulumi.prod.yaml:
its cost is small (docs/SECURITY.md, "Data"). What it covers today: EKS secrets encryption and RDS on AWS,
GKE application-layer secrets encryption and Cloud SQL on GCP; Azure is not covered yet (AKS KMS and a
flexible server's data encryption need a Key Vault; docs/SECURITY.md says what remains).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stacks.validate import boolean, mapping

ENCRYPTION_KEYS = {"customerManagedKeys"}


@dataclass(frozen=True)
class EncryptionConfig:
    customer_managed_keys: bool = False


def parse_encryption(key: str, value: Any) -> EncryptionConfig:
    fields = mapping(key, value if value is not None else {}, ENCRYPTION_KEYS)
    return EncryptionConfig(
        customer_managed_keys=boolean(f"{key}.customerManagedKeys", fields.get("customerManagedKeys", False))
    )
