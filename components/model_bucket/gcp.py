"""GCS implementation: uniform access, public access prevented, versioned, noncurrent versions expiring.

Publishers get roles/storage.objectCreator (create objects; no overwrite, which needs storage.objects.delete, and no
delete) and roles/storage.objectViewer (the list and reads the publish script's checksum makes) on this bucket only:
a publisher can add a version but not change or remove one. GCS has no bucket-level deny: project-level roles
(Owner, Editor, Storage Admin) still write, which is why the pods and the sync verify signatures.

No retention policy: a bucket retention policy blocks deleting or overwriting any object younger than its period
for everyone, the model sync's repair of a damaged replica included (it deletes and rewrites), and noncurrent
versions are kept by versioning already. docs/SECURITY.md, "Model integrity".
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.model_bucket.contract import BucketOutputs, ModelBucketArgs

ABORT_MULTIPART_AFTER_DAYS = 7
PUBLISHER_ROLES = ("roles/storage.objectCreator", "roles/storage.objectViewer")


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
    for index, member in enumerate(args.publishers):
        for role in PUBLISHER_ROLES:
            gcp.storage.BucketIAMMember(
                f"{name}-publisher-{index}-{role.rsplit('.', 1)[1].lower()}",
                bucket=bucket.name,
                role=role,
                member=member,
                opts=target.child_options(parent),
            )
    uri = pulumi.Output.concat("gs://", bucket.name)
    return BucketOutputs(uri=uri, serving_uri=uri, bucket_name=bucket.name, resource_id=bucket.name)
