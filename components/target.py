"""Where a component is built: one cloud target, reached through its own explicit provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi

Cloud = Literal["aws", "gcp", "azure"]


@dataclass(frozen=True)
class Target:
    """A cloud and region with the provider every resource there is made with.

    Cloud-specific addressing rides along so that components never read global config:
    the GCP project, and the Azure resource group the footprint made for this target.
    `prerequisites` are what must exist before anything is made there (a GCP project's APIs):
    every child made with child_options, and every invoke made with invoke_options, waits for them.
    """

    name: str
    cloud: Cloud
    region: str
    provider: pulumi.ProviderResource
    gcp_project: str | None = None
    azure_resource_group: pulumi.Output[str] | None = None
    prerequisites: tuple[pulumi.Resource, ...] = ()

    def child_options(self, parent: pulumi.Resource, *, keep: bool = False) -> pulumi.ResourceOptions:
        """Options for a component's child: parented, on this target's provider.

        keep=True protects the resource and retains it in the cloud if it ever leaves the
        program: for stateful resources in environments that must not lose data.
        """
        return pulumi.ResourceOptions(
            parent=parent,
            provider=self.provider,
            protect=keep,
            retain_on_delete=keep,
            depends_on=list(self.prerequisites),
        )

    def invoke_options(self, parent: pulumi.Resource) -> pulumi.InvokeOutputOptions:
        """Options for a data-source call on this target's provider, after the prerequisites."""
        return pulumi.InvokeOutputOptions(parent=parent, provider=self.provider, depends_on=list(self.prerequisites))

    def require_resource_group(self) -> pulumi.Output[str]:
        if self.azure_resource_group is None:
            raise ValueError(f"target {self.name}: an azure component needs the target's resource group")
        return self.azure_resource_group
