"""ModelBucket: private, versioned, encrypted object storage for model repositories."""

from __future__ import annotations

from collections.abc import Callable

import pulumi

from components.model_bucket.contract import BucketOutputs, ModelBucketArgs
from components.per_cloud import implementation
from components.target import Cloud

__all__ = ["ModelBucket", "ModelBucketArgs"]

Build = Callable[[pulumi.ComponentResource, str, ModelBucketArgs], BucketOutputs]
IMPLEMENTATIONS: dict[Cloud, str] = {
    "aws": "components.model_bucket.aws",
    "gcp": "components.model_bucket.gcp",
    "azure": "components.model_bucket.azure",
}


class ModelBucket(pulumi.ComponentResource):
    """One bucket per target; the cloud is chosen by ``args.target``, the contract is the same."""

    uri: pulumi.Output[str]
    serving_uri: pulumi.Output[str]
    bucket_name: pulumi.Output[str]
    resource_id: pulumi.Output[str]
    encryption_key_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: ModelBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplatform:storage:ModelBucket", name, None, opts)
        build: Build = implementation("ModelBucket", IMPLEMENTATIONS, args.target.cloud).build
        outputs = build(self, name, args)
        self.uri = outputs.uri
        self.serving_uri = outputs.serving_uri
        self.bucket_name = outputs.bucket_name
        self.resource_id = outputs.resource_id
        self.encryption_key_arn = outputs.encryption_key_arn
        self.register_outputs(
            {
                "uri": self.uri,
                "servingUri": self.serving_uri,
                "bucketName": self.bucket_name,
                "resourceId": self.resource_id,
            }
        )
