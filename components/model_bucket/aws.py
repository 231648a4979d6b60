"""S3 implementation: KMS-encrypted, versioned, private, TLS-only, with noncurrent versions expiring."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components.model_bucket.contract import BucketOutputs, ModelBucketArgs

ABORT_MULTIPART_AFTER_DAYS = 7


def build(parent: pulumi.ComponentResource, name: str, args: ModelBucketArgs) -> BucketOutputs:
    target = args.target
    opts = target.child_options(parent)
    kept = target.child_options(parent, keep=args.retain)

    key = aws.kms.Key(
        f"{name}-key",
        description=f"Encrypts the model bucket {name}",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        opts=kept,
    )
    bucket = aws.s3.Bucket(name, force_destroy=args.force_destroy, opts=kept)

    aws.s3.BucketOwnershipControls(
        f"{name}-ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts
    )
    public_access = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn},
                "bucket_key_enabled": True,  # one KMS call per object instead of per request
            }
        ],
        opts=opts,
    )
    versioning = aws.s3.BucketVersioning(
        f"{name}-versioning", bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=opts
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle",
        bucket=bucket.id,
        rules=[
            {
                "id": "expire-noncurrent-versions",
                "status": "Enabled",
                "filter": {"prefix": ""},
                "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_version_days},
                "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_MULTIPART_AFTER_DAYS},
            }
        ],
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[versioning])),
    )
    aws.s3.BucketPolicy(
        f"{name}-tls-only",
        bucket=bucket.id,
        policy=bucket.arn.apply(_deny_insecure_transport),
        # The public access block must exist first, or S3 may judge the policy public.
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[public_access])),
    )

    return BucketOutputs(
        uri=pulumi.Output.concat("s3://", bucket.bucket),
        serving_uri=pulumi.Output.concat("s3://", bucket.bucket),
        bucket_name=bucket.bucket,
        resource_id=bucket.arn,
        encryption_key_arn=key.arn,
    )


def _deny_insecure_transport(bucket_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )
