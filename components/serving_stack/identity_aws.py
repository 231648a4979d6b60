"""EKS: the model server reads the S3 model bucket through IRSA, with no access key anywhere.

The EKS pod identity webhook sees the `eks.amazonaws.com/role-arn` annotation on the
ServiceAccount and gives its pods a projected web-identity token plus AWS_ROLE_ARN and
AWS_WEB_IDENTITY_TOKEN_FILE; Triton's S3 client (aws-sdk-cpp's default credential chain,
used whenever no key is set: triton-inference-server/core src/filesystem/implementations/s3.h)
exchanges that token with STS for this role. The role trusts only `serving:triton` and may
only list the bucket, read its objects and decrypt them with the bucket's KMS key via S3.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components.irsa import issuer_host, trust_policy
from components.rclone import s3_remote
from components.serving_stack.contract import (
    NAMESPACE,
    READER_REMOTE,
    SERVICE_ACCOUNT,
    ReaderIdentity,
    ServingStackArgs,
)

ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
# aws-sdk-cpp takes the client's region from AWS_DEFAULT_REGION, then AWS_REGION, and its
# web-identity provider builds the STS endpoint from AWS_DEFAULT_REGION only; Triton's docs
# point to the AWS CLI variables (docs/user_guide/model_repository.md, "S3"). Set both.
REGION_ENV = ("AWS_REGION", "AWS_DEFAULT_REGION")
# rclone (the pods' init step) takes the same default chain: the webhook mutates init containers too
# (amazon-eks-pod-identity-webhook, pkg/handler: updatePodSpec adds the token and variables to each).
RCLONE_AUTH = {"env_auth": "true"}


def bind(parent: pulumi.Resource, name: str, args: ServingStackArgs) -> ReaderIdentity:
    """An IAM role only `serving:triton` can assume, allowed to read the footprint's bucket only."""
    provider_arn = args.identity.oidc_provider_arn
    if provider_arn is None:
        raise ValueError(f"target {args.target.name}: IRSA needs the cluster's IAM OIDC provider ARN")
    key_arn = args.bucket.encryption_key_arn
    if key_arn is None:
        raise ValueError(f"target {args.target.name}: the S3 model bucket is SSE-KMS, its key ARN is required")

    opts = args.target.child_options(parent)
    role = aws.iam.Role(
        f"{name}-reader",
        description=f"Model reader of {name}: {NAMESPACE}/{SERVICE_ACCOUNT} reads the model bucket",
        assume_role_policy=pulumi.Output.all(provider_arn, args.identity.oidc_issuer_url).apply(
            lambda values: trust_policy(values[0], issuer_host(values[1]), NAMESPACE, SERVICE_ACCOUNT)
        ),
        opts=opts,
    )
    policy = aws.iam.RolePolicy(
        f"{name}-reader",
        role=role.id,
        policy=pulumi.Output.all(args.bucket.resource_id, key_arn).apply(
            lambda values: read_policy(values[0], values[1], args.target.region)
        ),
        opts=opts,
    )
    region = args.target.region
    return ReaderIdentity(
        remote=pulumi.Output.all(args.bucket.bucket_name, key_arn).apply(
            lambda values: s3_remote(READER_REMOTE, values[0], region, values[1], RCLONE_AUTH)
        ),
        service_account_annotations={ROLE_ANNOTATION: role.arn},
        env=dict.fromkeys(REGION_ENV, args.target.region),
        resources=[role, policy],
    )


def read_policy(bucket_arn: str, key_arn: str, region: str) -> str:
    """What Triton's S3 client calls: HeadBucket and ListObjectsV2 (s3:ListBucket), HeadObject and
    GetObject (s3:GetObject); SSE-KMS objects also need kms:Decrypt, here only when S3 asks."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "ListModels", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn},
                {"Sid": "ReadModels", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{bucket_arn}/*"},
                {
                    "Sid": "DecryptModels",
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": key_arn,
                    # kms:ViaService: the key serves this role only through S3 in the bucket's region.
                    "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
                },
            ],
        }
    )
