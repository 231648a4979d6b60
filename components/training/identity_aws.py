"""EKS: a team's training role (IRSA), read, write and list on its checkpoint prefix only.

The role sits under the target's training IAM path (identity.role_path), which the model bucket's write fence lets
write under `checkpoints/` and nowhere else (components/model_bucket/aws.py, bucket_policy). SSE-KMS: a write needs
kms:GenerateDataKey and a read kms:Decrypt, each only through S3 in the bucket's region.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components.irsa import issuer_host, trust_policy
from components.training.identity import SERVICE_ACCOUNT, TrainerAccess, TrainerIdentity, role_path, team_prefix

ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
REGION_ENV = ("AWS_REGION", "AWS_DEFAULT_REGION")  # boto3 and the CLI take the region from either


def bind(parent: pulumi.Resource, name: str, access: TrainerAccess, team: str, namespace: str) -> TrainerIdentity:
    target = access.target
    provider_arn = access.identity.oidc_provider_arn
    key_arn = access.bucket.encryption_key_arn
    if provider_arn is None or key_arn is None:
        raise ValueError(f"target {target.name}: the training role needs the cluster's OIDC provider and the KMS key")
    opts = target.child_options(parent)
    role = aws.iam.Role(
        f"{name}-trainer",
        path=role_path(target.name),
        description=f"Training of {namespace}/{SERVICE_ACCOUNT}: writes checkpoints under {team_prefix(team)}",
        assume_role_policy=pulumi.Output.all(provider_arn, access.identity.oidc_issuer_url).apply(
            lambda v: trust_policy(v[0], issuer_host(v[1]), namespace, SERVICE_ACCOUNT)
        ),
        opts=opts,
    )
    policy = aws.iam.RolePolicy(
        f"{name}-trainer",
        role=role.id,
        policy=pulumi.Output.all(access.bucket.resource_id, key_arn).apply(
            lambda v: checkpoint_policy(v[0], v[1], target.region, team_prefix(team))
        ),
        opts=opts,
    )
    return TrainerIdentity(
        service_account_annotations={ROLE_ANNOTATION: role.arn},
        env=dict.fromkeys(REGION_ENV, target.region),
        resources=[role, policy],
    )


def checkpoint_policy(bucket_arn: str, key_arn: str, region: str, prefix: str) -> str:
    """List the prefix; get, put and delete objects under it (a multipart upload's abort too); the key via S3."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ListCheckpoints",
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": bucket_arn,
                    "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
                },
                {
                    "Sid": "WriteCheckpoints",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                    "Resource": f"{bucket_arn}/{prefix}*",
                },
                {
                    "Sid": "EncryptCheckpoints",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": key_arn,
                    "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
                },
            ],
        }
    )
