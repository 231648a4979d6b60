"""GCS implementation: uniform access, public access prevented, versioned, noncurrent versions expiring."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.model_bucket.contract import BucketOutputs, ModelBucketArgs

ABORT_MULTIPART_AFTER_DAYS = 7


def build(parent: pulumi.ComponentResource, name: str, args: ModelBucketArgs) -> BucketOutputs:
    target = args.target
    bucket = gcp.storage.Bucket(
        name,
        project=target.gcp_project,
        location=target.region.upper(),  # a regional bucket spans the region's zones
        storage_class="STANDARD",
        uniform_bucket_level_access=True,
        public_access_prevention="enforced",
        versioning={"enabled": True},
        lifecycle_rules=[
            {
                "action": {"type": "Delete"},
                "condition": {"days_since_noncurrent_time": args.noncurrent_version_days},
            },
            {
                "action": {"type": "AbortIncompleteMultipartUpload"},
                "condition": {"age": ABORT_MULTIPART_AFTER_DAYS},
            },
        ],
        force_destroy=args.force_destroy,
        opts=target.child_options(parent, keep=args.retain),
    )
    uri = pulumi.Output.concat("gs://", bucket.name)
    return BucketOutputs(uri=uri, serving_uri=uri, bucket_name=bucket.name, resource_id=bucket.name)
