"""Names that must be unique across a whole cloud (storage accounts, registries, servers)."""

from __future__ import annotations

import pulumi
import pulumi_random as random


def unique_name(parent: pulumi.Resource, name: str, prefix: str, length: int) -> pulumi.Output[str]:
    """`prefix` plus a random suffix of lowercase letters and digits, kept in the stack's state so
    it never changes, unlike a hash of the stack's name that a second deployment would repeat."""
    suffix = random.RandomString(
        f"{name}-suffix",
        length=length,
        upper=False,
        special=False,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return suffix.result.apply(lambda text: f"{prefix}{text}")
