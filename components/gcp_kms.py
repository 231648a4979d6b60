"""Cloud KMS keys the stack owns (mlplatform:encryption), shared by the GKE cluster and the Cloud SQL server.

One key ring per target and purpose, in the target's region (a key must be in the region of what it
encrypts: GKE application-layer secrets encryption and Cloud SQL CMEK both say so). Key rings cannot be
deleted in Cloud KMS; a key's versions are destroyed after `destroy_scheduled_duration`. Keys rotate every
90 days; older versions stay to decrypt what they encrypted. Only the service agent of the service that uses
the key gets roles/cloudkms.cryptoKeyEncrypterDecrypter on it, on that key alone
(cloud.google.com/kubernetes-engine/docs/how-to/encrypting-secrets and
cloud.google.com/sql/docs/postgres/configure-cmek, read 2026-12).
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.target import Target

ROTATION_PERIOD = f"{90 * 24 * 3600}s"
ENCRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"


def customer_key(
    parent: pulumi.Resource, name: str, target: Target, agent_email: pulumi.Input[str], *, keep: bool
) -> tuple[gcp.kms.CryptoKey, gcp.kms.CryptoKeyIAMMember]:
    """A key for one purpose and the grant that lets `agent_email` (a service agent, from an output) use it."""
    ring = gcp.kms.KeyRing(
        f"{name}-keys",
        project=target.gcp_project,
        location=target.region,
        opts=target.child_options(parent, keep=True),  # Cloud KMS never deletes a key ring
    )
    key = gcp.kms.CryptoKey(
        f"{name}-key",
        key_ring=ring.id,
        purpose="ENCRYPT_DECRYPT",
        rotation_period=ROTATION_PERIOD,
        opts=target.child_options(parent, keep=keep),
    )
    grant = gcp.kms.CryptoKeyIAMMember(
        f"{name}-key-user",
        crypto_key_id=key.id,
        role=ENCRYPTER,
        member=pulumi.Output.concat("serviceAccount:", agent_email),
        opts=target.child_options(parent),
    )
    return key, grant
