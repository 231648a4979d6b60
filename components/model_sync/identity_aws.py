"""S3 buckets for the model sync: one IAM role per bucket, assumed with the job's projected token, no key anywhere.

Each role trusts the IAM OIDC provider of the primary cluster's issuer for the job's service account only
(`system:serviceaccount:model-sync:model-sync`, audience sts.amazonaws.com) and may touch only its bucket:
- the primary's own bucket (EKS): read, the same grant Triton's reader has (ListBucket, GetObject, kms:Decrypt);
- a replica's bucket: ListBucket; GetObject (HeadObject reads rclone's MD5), PutObject, DeleteObject (the marker,
  stray files) and AbortMultipartUpload (rclone cleans up a failed large upload) on its objects; kms:GenerateDataKey
  (a PUT under SSE-KMS) and kms:Decrypt (multipart uploads and reading the marker back), through S3 only.

rclone holds several AWS roles in one process through profiles of an AWS config file (rclone.py), each with
`role_arn` and `web_identity_token_file`: AssumeRoleWithWebIdentity per profile.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components.global_dns.acme_federation import federation_host
from components.irsa import STS_AUDIENCE, trust_policy
from components.model_sync.contract import (
    CONFIG_DIR,
    NAMESPACE,
    SERVICE_ACCOUNT,
    Access,
    SyncBucket,
    Token,
    writer_role_path,
)
from components.rclone import s3_remote
from components.serving_stack.identity_aws import read_policy

TOKEN = Token("aws/token", STS_AUDIENCE)
CONFIG_FILE = "aws-config"  # ConfigMap key; rclone's shared_credentials_file (loaded as an AWS config file)


def role(
    parent: pulumi.Resource,
    name: str,
    bucket: SyncBucket,
    oidc_provider_arn: pulumi.Input[str],
    issuer_url: pulumi.Input[str],
    *,
    writer: bool,
) -> Access:
    """The role for one S3 bucket (reader of the primary's, or writer of a replica's) and its rclone remote."""
    key_arn = bucket.encryption_key_arn
    if key_arn is None:
        raise ValueError(f"model sync {name}: the S3 model bucket is SSE-KMS, its key ARN is required")
    target = bucket.target
    opts = target.child_options(parent)
    purpose = "writes" if writer else "reads"
    iam_role = aws.iam.Role(
        name,
        description=f"Model sync {purpose} {target.name}'s model bucket: {NAMESPACE}/{SERVICE_ACCOUNT} of the primary",
        # A writer's path is what its bucket's write fence lets through (contract.writer_role_path).
        path=writer_role_path(target.name) if writer else "/",
        assume_role_policy=pulumi.Output.all(oidc_provider_arn, issuer_url).apply(
            lambda values: trust_policy(values[0], federation_host(values[0], values[1]), NAMESPACE, SERVICE_ACCOUNT)
        ),
        opts=opts,
    )
    policy = aws.iam.RolePolicy(
        name,
        role=iam_role.id,
        policy=pulumi.Output.all(bucket.resource_id, key_arn).apply(
            lambda values: (write_policy if writer else read_policy)(values[0], values[1], target.region)
        ),
        opts=opts,
    )
    remote = pulumi.Output.all(bucket.bucket_name, key_arn).apply(
        lambda values: s3_remote(target.name, values[0], target.region, values[1], web_identity_auth(target.name))
    )
    return Access(
        remote=remote,
        aws_profile=iam_role.arn.apply(lambda arn: (target.name, arn, target.region)),
        tokens=[TOKEN],
        resources=[iam_role, policy],
    )


def web_identity_auth(profile: str) -> dict[str, str]:
    """rclone's s3 auth in the cluster: the AWS SDK's default chain, with this profile of the config file."""
    return {"env_auth": "true", "profile": profile, "shared_credentials_file": f"{CONFIG_DIR}/{CONFIG_FILE}"}


def write_policy(bucket_arn: str, key_arn: str, region: str) -> str:
    """What `rclone sync`, `checksum`, `cat`, `copyto` and `deletefile` call on one replica bucket, and no more."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "ListModels", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn},
                {
                    "Sid": "WriteModels",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                    "Resource": f"{bucket_arn}/*",
                },
                {
                    "Sid": "EncryptModels",
                    "Effect": "Allow",
                    "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                    "Resource": key_arn,
                    # kms:ViaService: the key serves this role only through S3 in the bucket's region.
                    "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
                },
            ],
        }
    )
