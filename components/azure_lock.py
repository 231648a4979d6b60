"""A CanNotDelete lock on one stateful Azure resource: Azure's own guard beside Pulumi's protect.

Locks go on the stateful resources (storage account, database server), never on the resource
group: a group's lock is inherited by everything in it and would block every replace or
delete Pulumi makes there (node pools, subnets). The lock is not kept itself, so turning the
protection off removes it. Creating one needs Microsoft.Authorization/locks/*, which
Contributor lacks: docs/CI.md gives the deploy identity a custom role for it.
Source: learn.microsoft.com/azure/azure-resource-manager/management/lock-resources (read 2026-12).
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization

from components.target import Target


def delete_lock(
    parent: pulumi.Resource, name: str, target: Target, scope: pulumi.Input[str], why: str
) -> authorization.ManagementLockByScope:
    """Nobody deletes the resource at `scope` (nor its children) until the lock is removed."""
    return authorization.ManagementLockByScope(
        f"{name}-delete-lock",
        lock_name=f"{name}-do-not-delete",
        level=authorization.LockLevel.CAN_NOT_DELETE,
        scope=scope,
        notes=f"mlplatform: {why}",
        opts=target.child_options(parent),
    )
