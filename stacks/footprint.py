"""One cloud target -> its provider and its components, wired through typed outputs."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native
import pulumi_gcp as gcp
from pulumi_azure_native import resources

from components.model_bucket import ModelBucket, ModelBucketArgs
from components.tags import azure_tags_transform, gcp_labels
from components.target import Target
from stacks.config import StackConfig, TargetConfig


class Footprint(pulumi.ComponentResource):
    """Everything the platform runs in one cloud region. Later components join here."""

    target: Target
    bucket: ModelBucket

    def __init__(
        self,
        config: TargetConfig,
        stack: StackConfig,
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if config.cloud == "azure":
            # azure-native has no provider default tags: tag every azure resource below here.
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(transforms=[azure_tags_transform(tags)]))
        placement = {"cloud": config.cloud, "region": config.region}
        super().__init__("mlplatform:platform:Footprint", config.name, placement, opts)
        self.target = _target(self, config, tags)

        env = stack.environment
        self.bucket = ModelBucket(
            f"{config.name}-models",
            ModelBucketArgs(
                target=self.target,
                noncurrent_version_days=stack.noncurrent_version_days,
                force_destroy=env.force_destroy_buckets,
                retain=env.protect_stateful,
                zone_redundant=env.zone_redundant_storage,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"bucketUri": self.bucket.uri})


def _target(parent: pulumi.Resource, config: TargetConfig, tags: Mapping[str, str]) -> Target:
    """The target's explicit provider, carrying the required tags wherever the provider can."""
    opts = pulumi.ResourceOptions(parent=parent)
    if config.cloud == "aws":
        provider: pulumi.ProviderResource = aws.Provider(
            config.name, region=config.region, default_tags={"tags": dict(tags)}, opts=opts
        )
        return Target(config.name, "aws", config.region, provider)
    if config.cloud == "gcp":
        provider = gcp.Provider(
            config.name,
            project=config.gcp_project,
            region=config.region,
            default_labels=gcp_labels(tags),
            opts=opts,
        )
        return Target(config.name, "gcp", config.region, provider, gcp_project=config.gcp_project)
    provider = azure_native.Provider(
        config.name, location=config.region, subscription_id=config.azure_subscription_id, opts=opts
    )
    group = resources.ResourceGroup(
        f"{config.name}-rg", location=config.region, opts=pulumi.ResourceOptions(parent=parent, provider=provider)
    )
    return Target(config.name, "azure", config.region, provider, azure_resource_group=group.name)
