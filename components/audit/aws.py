"""AWS: CloudTrail data events for the model bucket's objects, delivered to a log bucket of their own.

Why CloudTrail data events rather than S3 server access logs: the trail names the IAM principal
(role session, IRSA web identity) of each GetObject and PutObject, its delivery is not best-effort,
and log file validation lets an auditor prove the files were not edited. It costs $0.10 per
100,000 data events (CloudTrail pricing, read 2026-12); the model bucket sees the sync's few
thousand requests a day and the pods' reads at start, cents a month. Server access logs cost only
their storage but are delivered "on a best-effort basis" (S3 User Guide, "Logging requests with
server access logging", read 2026-12), which an audit trail cannot be.

The trail records no management events: the account's own (organization) trail has those, and a
second copy of management events is billed ($2.00 per 100,000). EKS control-plane logs go to
CloudWatch Logs from the cluster itself (components/gpu_cluster/aws.py keeps their retention).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components.audit.contract import AuditOutputs, AuditTrailArgs
from components.model_bucket.aws import owned_and_private

CLOUDTRAIL = "cloudtrail.amazonaws.com"


def build(parent: pulumi.ComponentResource, name: str, args: AuditTrailArgs) -> AuditOutputs:
    target = args.target
    opts = target.child_options(parent)
    kept = target.child_options(parent, keep=args.retain)
    account = aws.get_caller_identity_output(opts=target.invoke_options(parent)).account_id
    # The bucket policy must name the trail before the trail exists (CloudTrail checks the policy when
    # the trail is made), so the trail's ARN is composed from its fixed name, not read from its output.
    trail_name = f"{name}-model-access"
    trail_arn = pulumi.Output.concat("arn:aws:cloudtrail:", target.region, ":", account, ":trail/", trail_name)

    logs = aws.s3.Bucket(f"{name}-logs", force_destroy=args.force_destroy, opts=kept)
    public_access = owned_and_private(f"{name}-logs", logs, opts)
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-logs-encryption",
        bucket=logs.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
        opts=opts,
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-logs-retention",
        bucket=logs.id,
        rules=[
            {
                "id": "expire-audit-logs",
                "status": "Enabled",
                "filter": {"prefix": ""},
                "expiration": {"days": args.retention_days},
            }
        ],
        opts=opts,
    )
    policy = aws.s3.BucketPolicy(
        f"{name}-logs-policy",
        bucket=logs.id,
        policy=pulumi.Output.all(logs.arn, account, trail_arn).apply(lambda v: _log_bucket_policy(*v)),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[public_access])),
    )
    aws.cloudtrail.Trail(
        f"{name}-model-access",
        name=trail_name,
        s3_bucket_name=logs.id,
        is_multi_region_trail=False,
        include_global_service_events=False,
        enable_log_file_validation=True,
        advanced_event_selectors=[
            {
                "name": "Model bucket object reads and writes",
                "field_selectors": [
                    {"field": "eventCategory", "equals": ["Data"]},
                    {"field": "resources.type", "equals": ["AWS::S3::Object"]},
                    {"field": "resources.ARN", "starts_withs": [pulumi.Output.concat(args.bucket_resource_id, "/")]},
                ],
            }
        ],
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[policy])),
    )
    return AuditOutputs(log_location=pulumi.Output.concat("s3://", logs.bucket, "/AWSLogs/", account, "/"))


def _log_bucket_policy(bucket_arn: str, account: str, trail_arn: str) -> str:
    """CloudTrail may check the ACL and write under AWSLogs/<account>/, for this trail only; nothing over plain HTTP.

    The statements follow "Amazon S3 bucket policy for CloudTrail" (CloudTrail User Guide, read 2026-12).
    """
    this_trail = {"aws:SourceArn": trail_arn}
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AWSCloudTrailAclCheck",
                    "Effect": "Allow",
                    "Principal": {"Service": CLOUDTRAIL},
                    "Action": "s3:GetBucketAcl",
                    "Resource": bucket_arn,
                    "Condition": {"StringEquals": this_trail},
                },
                {
                    "Sid": "AWSCloudTrailWrite",
                    "Effect": "Allow",
                    "Principal": {"Service": CLOUDTRAIL},
                    "Action": "s3:PutObject",
                    "Resource": f"{bucket_arn}/AWSLogs/{account}/*",
                    "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **this_trail}},
                },
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ],
        }
    )
