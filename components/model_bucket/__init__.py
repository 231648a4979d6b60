"""ModelBucket: private, versioned, encrypted object storage for model repositories."""

from __future__ import annotations

from collections.abc import Callable

import pulumi

from components.model_bucket import aws, azure, gcp
from components.model_bucket.contract import BucketOutputs, ModelBucketArgs

__all__ = ["ModelBucket", "ModelBucketArgs"]

_IMPLEMENTATIONS: dict[str, Callable[[pulumi.ComponentResource, str, ModelBucketArgs], BucketOutputs]] = {
    "aws": aws.build,
    "gcp": gcp.build,
    "azure": azure.build,
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
        outputs = _IMPLEMENTATIONS[args.target.cloud](self, name, args)
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
