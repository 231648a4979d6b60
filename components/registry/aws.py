"""ECR implementation: a repository creation template, so every image gets its own repository.

Choices the contract leaves to each cloud:
- Shape: not one repository per target but an ECR repository creation template (applied for
  CREATE_ON_PUSH) on the namespace `<project>/<stack>/<name>`. The first push of
  `<image_prefix>/<image>:<tag>` creates `<namespace>/<image>` with the template's settings:
  immutable tags, KMS encryption, the cleanup lifecycle policy, the provider's tags. Each image
  then keeps its own last `keep_images` tags, which one shared repository could not do, and
  images are addressed `<prefix>/<image>:<tag>` as on GCP and Azure.
- Scanning: templates carry no scan setting; scanning is the account's registry scanning
  configuration, one per account and region. Writing it replaces the whole setting: an account on
  Inspector's ENHANCED scanning would go back to BASIC and lose other teams' rules, and it can
  never be deleted, only overwritten. So it is written only when `args.manage_scanning` says so
  (an account this platform owns): then basic scan-on-push for `<project>/*`, the same rule from
  every stack, retained on destroy so that destroying one stack never turns scanning off for
  another. Otherwise the account's own setting applies (by default ECR scans nothing on push).
- Pull grant: none is added. `args.puller` (the EKS node role) already holds the managed policy
  AmazonEC2ContainerRegistryReadOnly, and within one account an identity policy is enough for
  ECR; a repository policy would only matter for other accounts.
- Mirroring (`args.mirror_upstreams`): one pull-through cache rule per upstream ECR can cache without
  credentials: Quay and the Kubernetes registry (and ECR Public, which the platform does not use). Docker Hub,
  GitHub's and GitLab's registries need an upstream login kept in Secrets Manager, which the program does not hold,
  and nvcr.io is not an upstream ECR supports ("Sync an upstream registry with an Amazon ECR private registry",
  ECR User Guide, read 2026-12): their images stay direct. A first pull through a rule imports the image and creates
  its repository, so the node role gets ecr:BatchImportUpstreamImage and ecr:CreateRepository on the rules'
  prefixes ("IAM permissions required to sync an upstream registry", same guide).
- Repositories are created by ECR, not by Pulumi: they outlive `pulumi destroy` and are removed
  with `aws ecr delete-repository --force`. A first push creates one, so pushers should be
  granted ecr:CreateRepository on `registry_id` besides the usual push actions.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pulumi
import pulumi_aws as aws

from components.registry.contract import MIRROR_SLUGS, RegistryArgs, RegistryOutputs

CREATE_ON_PUSH = "CREATE_ON_PUSH"
# ECR's repository name pattern (CreateRepository API); a template prefix follows it too.
_REPOSITORY_NAME = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
MAX_REPOSITORY_NAME = 256
# What ECR itself does for a template with KMS encryption or resource tags ("Create a custom
# policy for repository creation templates", ECR User Guide). ecr:ReplicateImage is left out:
# the template applies to create-on-push only.
CREATOR_ACTIONS = ("ecr:CreateRepository", "ecr:TagResource")
CREATOR_KEY_ACTIONS = ("kms:CreateGrant", "kms:RetireGrant", "kms:DescribeKey")
# Upstreams ECR caches without credentials (ECR User Guide, read 2026-12), by the URL a rule names.
ECR_UPSTREAMS = {"quay.io": "quay.io", "registry.k8s.io": "registry.k8s.io"}
MIRROR_PULL_ACTIONS = ("ecr:BatchImportUpstreamImage", "ecr:CreateRepository")


def build(parent: pulumi.ComponentResource, name: str, args: RegistryArgs) -> RegistryOutputs:
    _validate(args)
    namespace = repository_namespace(name)
    target = args.target
    kept = target.child_options(parent, keep=args.retain)
    invoke = pulumi.InvokeOutputOptions(provider=target.provider)
    account = aws.get_caller_identity_output(opts=invoke).account_id
    repositories_arn = account.apply(lambda a: f"arn:aws:ecr:{target.region}:{a}:repository/{namespace}/*")

    key = aws.kms.Key(
        f"{name}-key",
        description=f"Encrypts the images of the ECR namespace {namespace}",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        opts=kept,
    )
    creator_arn = _creator_role(name, namespace, repositories_arn, key, kept)
    template = aws.ecr.RepositoryCreationTemplate(
        name,
        prefix=namespace,
        applied_fors=[CREATE_ON_PUSH],
        description=f"Repositories pushed under {namespace}/: immutable, KMS-encrypted, cleaned up",
        custom_role_arn=creator_arn,
        encryption_configurations=[{"encryption_type": "KMS", "kms_key": key.arn}],
        image_tag_mutability="IMMUTABLE",
        lifecycle_policy=lifecycle_policy(args.keep_images, args.untagged_days),
        # ECR creates these repositories, so the provider's default tags would never reach them.
        resource_tags=aws.get_default_tags_output(opts=invoke).tags,
        opts=kept,
    )
    if args.manage_scanning:
        _scan_on_push(parent, name, args)

    host = account.apply(lambda a: f"{a}.dkr.ecr.{target.region}.amazonaws.com")
    return RegistryOutputs(
        # Read through the template so nobody pushes before it exists (the push would fail).
        image_prefix=pulumi.Output.concat(host, "/", template.prefix),
        registry_id=repositories_arn,
        mirrors=_mirrors(parent, name, args, namespace, account),
    )


def mirror_prefix(namespace: str, slug: str) -> str:
    """A rule's repository prefix, unique per registry and short (a digest of the registry's namespace)."""
    return f"mlp-{hashlib.sha256(namespace.encode()).hexdigest()[:8]}-{slug}"


def _mirrors(
    parent: pulumi.ComponentResource, name: str, args: RegistryArgs, namespace: str, account: pulumi.Output[str]
) -> dict[str, pulumi.Output[str]]:
    hosts = [host for host in args.mirror_upstreams if host in ECR_UPSTREAMS]
    if not hosts:
        return {}
    target = args.target
    mirrors: dict[str, pulumi.Output[str]] = {}
    rules = []
    for host in hosts:
        slug = MIRROR_SLUGS[host]
        rule = aws.ecr.PullThroughCacheRule(
            f"{name}-{slug}",
            ecr_repository_prefix=mirror_prefix(namespace, slug),
            upstream_registry_url=ECR_UPSTREAMS[host],
            opts=target.child_options(parent),
        )
        rules.append(rule)
        # The rule's own prefix output, so a pull waits for the rule; the account is the registry's (one per account).
        mirrors[host] = pulumi.Output.concat(
            account, f".dkr.ecr.{target.region}.amazonaws.com/", rule.ecr_repository_prefix
        )
    resources = pulumi.Output.all(account, *[r.ecr_repository_prefix for r in rules]).apply(
        lambda found: [f"arn:aws:ecr:{target.region}:{found[0]}:repository/{prefix}/*" for prefix in found[1:]]
    )
    aws.iam.RolePolicy(
        f"{name}-mirror-pull",
        # The node role's name is the last part of its ARN (arn:aws:iam::<account>:role/<name>).
        role=args.puller.apply(lambda arn: arn.rsplit("/", 1)[-1]),
        policy=resources.apply(
            lambda arns: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": list(MIRROR_PULL_ACTIONS), "Resource": arns}],
                }
            )
        ),
        opts=target.child_options(parent),
    )
    return mirrors


def _validate(args: RegistryArgs) -> None:
    if args.keep_images < 1:
        raise ValueError(f"keep_images must be at least 1, got {args.keep_images}")
    if args.untagged_days < 1:
        raise ValueError(f"untagged_days must be at least 1, got {args.untagged_days}")


def repository_namespace(name: str) -> str:
    """`<project>/<stack>/<name>`: a template prefix is unique per account and region, and two
    stacks (or two targets in one region) must not share one."""
    namespace = f"{pulumi.get_project()}/{pulumi.get_stack()}/{name}".lower()
    if not _REPOSITORY_NAME.match(namespace) or len(namespace) > MAX_REPOSITORY_NAME:
        raise ValueError(f"ECR namespace {namespace!r}: lowercase letters and digits, ._- or / between them")
    return namespace


def lifecycle_policy(keep_images: int, untagged_days: int) -> str:
    """Untagged images expire after `untagged_days`; of the tagged ones the newest `keep_images` stay.

    Rule fields from "Lifecycle policy properties in Amazon ECR": a `tagged` rule needs a
    tag pattern list, an `untagged` one must have none.
    """
    rules: list[dict[str, Any]] = [
        {
            "rulePriority": 1,
            "description": f"Expire untagged images after {untagged_days} days",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": untagged_days,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": f"Keep the newest {keep_images} tagged images",
            "selection": {
                "tagStatus": "tagged",
                "tagPatternList": ["*"],
                "countType": "imageCountMoreThan",
                "countNumber": keep_images,
            },
            "action": {"type": "expire"},
        },
    ]
    return json.dumps({"rules": rules})


def _creator_role(
    name: str,
    namespace: str,
    repositories_arn: pulumi.Output[str],
    key: aws.kms.Key,
    opts: pulumi.ResourceOptions,
) -> pulumi.Output[str]:
    """The role ECR assumes to create a repository: needed for KMS encryption and resource tags.

    Returns its ARN as known once its policy is attached, so the template (and thus a push)
    never meets a role that cannot create the repository yet.
    """
    role = aws.iam.Role(
        f"{name}-creator",
        description=f"Assumed by ECR to create repositories under {namespace}/",
        assume_role_policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "ecr.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
        opts=opts,
    )
    policy = aws.iam.RolePolicy(
        f"{name}-creator",
        role=role.id,
        policy=pulumi.Output.all(repositories_arn, key.arn).apply(lambda v: _creator_permissions(v[0], v[1])),
        opts=opts,
    )
    return pulumi.Output.all(role.arn, policy.id).apply(lambda v: str(v[0]))


def _creator_permissions(repositories_arn: str, key_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "CreateRepositories",
                    "Effect": "Allow",
                    "Action": list(CREATOR_ACTIONS),
                    "Resource": repositories_arn,
                },
                {
                    "Sid": "EncryptWithTheKey",
                    "Effect": "Allow",
                    "Action": list(CREATOR_KEY_ACTIONS),
                    "Resource": key_arn,
                },
            ],
        }
    )


def _scan_on_push(parent: pulumi.ComponentResource, name: str, args: RegistryArgs) -> None:
    """Basic scanning on push for every repository of this project in this account and region.

    The rule is the same for every stack and target, so the singleton is never fought over;
    it is retained on delete because other stacks may still rely on it.
    """
    project = pulumi.get_project().lower()
    aws.ecr.RegistryScanningConfiguration(
        f"{name}-scanning",
        scan_type="BASIC",
        rules=[
            {
                "scan_frequency": "SCAN_ON_PUSH",
                "repository_filters": [{"filter": f"{project}/*", "filter_type": "WILDCARD"}],
            }
        ],
        opts=pulumi.ResourceOptions.merge(
            args.target.child_options(parent), pulumi.ResourceOptions(retain_on_delete=True)
        ),
    )
