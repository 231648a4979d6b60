"""S3 implementation: KMS-encrypted, versioned, private, TLS-only, with noncurrent versions expiring.

Writes fenced (with `restrict_writes`): the bucket policy denies PutObject, DeleteObject and every other
object-changing action to any principal whose `aws:PrincipalArn` (a role's ARN, also for its sessions; IAM User
Guide, "AWS global condition context keys") is not a publisher or the model sync's writer: an explicit Deny in a
resource policy wins over any Allow in the account. Training roles (`checkpoint_writers`) pass that Deny and meet a
second one everywhere outside `checkpoints/`. Lifecycle expiration is S3's own and is not affected.

Object Lock (`lock_days`): default retention in GOVERNANCE mode through PutObjectLockConfiguration, which S3 allows
on an existing versioned bucket since 2023-11 (S3 User Guide, "Configuring S3 Object Lock": "enable Object Lock on
existing buckets"), so the bucket is not replaced (`Bucket.object_lock_enabled` would force a new one). GOVERNANCE,
not COMPLIANCE: an operator with s3:BypassGovernanceRetention can still remove a version planted by mistake or retire
the bucket; COMPLIANCE would make even the account root wait out every version's retention.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.model_bucket.contract import BucketOutputs, ModelBucketArgs

ABORT_MULTIPART_AFTER_DAYS = 7


def owned_and_private(name: str, bucket: aws.s3.Bucket, opts: pulumi.ResourceOptions) -> aws.s3.BucketPublicAccessBlock:
    """No ACLs (the bucket owner owns every object) and every public access blocked: what every bucket the platform
    makes starts with. A bucket policy must wait for the returned block (S3 refuses a policy while it is applied)."""
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts
    )
    return aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )


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

    public_access = owned_and_private(name, bucket, opts)
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
    if args.lock_days:
        aws.s3.BucketObjectLockConfiguration(
            f"{name}-object-lock",
            bucket=bucket.id,
            object_lock_enabled="Enabled",
            rule={"default_retention": {"mode": LOCK_MODE, "days": args.lock_days}},
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[versioning])),
        )
    writers: pulumi.Output[list[str]] | None = None
    if args.restrict_writes:
        writers = pulumi.Output.from_input(args.sync_writers or []).apply(
            lambda sync: sorted({*args.publishers, *sync})
        )
    aws.s3.BucketPolicy(
        f"{name}-tls-only",
        bucket=bucket.id,
        policy=pulumi.Output.all(bucket.arn, writers).apply(
            lambda v: bucket_policy(v[0], v[1], args.checkpoint_writers, args.checkpoint_prefix)
        ),
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


LOCK_MODE = "GOVERNANCE"
# Every action that writes, overwrites, deletes or unprotects an object (Service Authorization Reference, Amazon S3).
WRITE_ACTIONS = [
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:BypassGovernanceRetention",
    "s3:PutObjectAcl",
    "s3:PutObjectVersionAcl",
]


def bucket_policy(
    bucket_arn: str, writers: Sequence[str] | None, trainers: Sequence[str] = (), checkpoints: str = "checkpoints"
) -> str:
    """TLS only; with `writers`, object writes only by those principals (an empty list: by nobody), and by the
    `trainers` under `<checkpoints>/` only: a second Deny refuses them every write anywhere else in the bucket."""
    statements: list[dict[str, object]] = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    if writers is not None:
        statement: dict[str, object] = {
            "Sid": "DenyWritesButPublishers",
            "Effect": "Deny",
            "Principal": "*",
            "Action": WRITE_ACTIONS,
            "Resource": f"{bucket_arn}/*",
        }
        if writers or trainers:
            statement["Condition"] = {"ArnNotLike": {"aws:PrincipalArn": [*writers, *trainers]}}
        statements.append(statement)
        if trainers:
            statements.append(
                {
                    "Sid": "DenyTrainersOutsideCheckpoints",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": WRITE_ACTIONS,
                    "NotResource": f"{bucket_arn}/{checkpoints}/*",
                    "Condition": {"ArnLike": {"aws:PrincipalArn": list(trainers)}},
                }
            )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})
