"""ModelSync: models are published to the primary target's bucket, and a CronJob in the primary cluster copies every
complete version to every other target's bucket, verified by checksum, with no long-lived key anywhere.

Stack-wide like GlobalDns (it reads every target's bucket), but every cloud resource is made with its own target's
explicit provider, and the CronJob goes into the primary cluster through that cluster's Kubernetes provider:
- the primary's bucket is read with the primary cloud's own workload identity;
- each replica's bucket is written by an identity that trusts the primary cluster's OIDC issuer for the job's
  service account only and may write that bucket only (identity_<cloud>.py);
- rclone's config, the AWS profiles, GCP credential configurations and the script are built by rclone.py, the
  same functions the emulator test runs.
docs/MODEL_SYNC.md explains the single writer, the version marker and the verification.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
from pulumi_azure_native import managedidentity

from components import model_signature
from components.model_sync import cronjob, identity_aws, identity_azure, identity_gcp
from components.model_sync.contract import (
    DEFAULT_SCHEDULE,
    NAMESPACE,
    SERVICE_ACCOUNT,
    SUBJECT,
    Access,
    ModelSyncArgs,
    SyncBucket,
)
from components.model_sync.rclone import aws_web_identity_config, fetch_manifests_script, sync_script
from components.rclone import IMAGE, Remote, rclone_config

__all__ = ["DEFAULT_SCHEDULE", "NAMESPACE", "SERVICE_ACCOUNT", "SUBJECT", "ModelSync", "ModelSyncArgs", "SyncBucket"]


class ModelSync(pulumi.ComponentResource):
    """The writer identities per replica, the primary's reader identity, and the CronJob that uses them."""

    replicas: list[str]

    def __init__(self, name: str, args: ModelSyncArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplatform:sync:ModelSync", name, {"primary": args.primary.target.name}, opts)
        if not args.replicas:
            raise ValueError(f"model sync {name}: there is no other target to copy to")
        names = [args.primary.target.name, *(replica.target.name for replica in args.replicas)]
        if len(set(names)) != len(names):
            raise ValueError(f"model sync {name}: targets must be distinct, got {names}")

        source, primary_identity = self._source(name, args)
        replicas = [self._replica(name, args, replica, primary_identity) for replica in args.replicas]
        accesses = [source, *replicas]

        files: dict[str, pulumi.Input[str]] = {
            cronjob.CONFIG: pulumi.Output.all(*(access.remote for access in accesses)).apply(_config),
            cronjob.SCRIPT: pulumi.Output.all(*(access.remote for access in accesses)).apply(_script),
            cronjob.FETCH_SCRIPT: source.remote.apply(fetch_manifests_script),
        }
        if args.public_key is not None:
            files[cronjob.VERIFY_SCRIPT] = model_signature.script()
        profiles = [access.aws_profile for access in accesses if access.aws_profile is not None]
        if profiles:
            files[identity_aws.CONFIG_FILE] = pulumi.Output.all(*profiles).apply(_aws_config)
        for access in accesses:
            files.update(access.files)

        cronjob.deploy(  # the CronJob is named for its namespace, model-sync (README: the first copy)
            self,
            name,
            args.k8s_provider,
            files,
            [token for access in accesses for token in access.tokens],
            {key: value for access in accesses for key, value in access.pod_env.items()},
            args.schedule,
            args.image or IMAGE,
            [resource for access in accesses for resource in access.resources],
            args.public_key,
        )
        self.replicas = [replica.target.name for replica in args.replicas]
        self.register_outputs({"primary": args.primary.target.name, "replicas": self.replicas})

    def _source(self, name: str, args: ModelSyncArgs) -> tuple[Access, managedidentity.UserAssignedIdentity | None]:
        """Read access to the primary's own bucket, with the primary cloud's own workload identity."""
        primary, identity = args.primary, args.cluster_identity
        cloud = primary.target.cloud
        if cloud == "aws":
            if identity.oidc_provider_arn is None:
                raise ValueError(f"model sync {name}: an EKS primary needs its IRSA provider ARN")
            access = identity_aws.role(
                self, f"{name}-source", primary, identity.oidc_provider_arn, identity.oidc_issuer_url, writer=False
            )
            return access, None
        if cloud == "gcp":
            if identity.workload_pool is None:
                raise ValueError(f"model sync {name}: a GKE primary needs its workload pool")
            return identity_gcp.gke_access(self, f"{name}-source", primary, identity.workload_pool, writer=False), None
        access, uai = identity_azure.primary_access(self, f"{name}-source", primary, identity.oidc_issuer_url)
        return access, uai

    def _replica(
        self,
        name: str,
        args: ModelSyncArgs,
        replica: SyncBucket,
        primary_identity: managedidentity.UserAssignedIdentity | None,
    ) -> Access:
        """Write access to one replica's bucket, for the job's service account of the primary cluster only."""
        resource = f"{name}-{replica.target.name}"
        issuer = args.cluster_identity.oidc_issuer_url
        primary_cloud = args.primary.target.cloud
        if replica.target.cloud == "aws":
            return identity_aws.role(
                self, resource, replica, self._aws_oidc_provider(name, args, replica), issuer, writer=True
            )
        if replica.target.cloud == "gcp":
            pool = args.cluster_identity.workload_pool
            if primary_cloud == "gcp" and pool is not None:
                return identity_gcp.gke_access(self, resource, replica, pool, writer=True)
            return identity_gcp.federated_writer(self, resource, replica, issuer)
        return identity_azure.replica_access(self, resource, replica, issuer, primary_identity)

    def _aws_oidc_provider(self, name: str, args: ModelSyncArgs, replica: SyncBucket) -> pulumi.Output[str]:
        """The stack's IAM OIDC provider for the primary's issuer: EKS's own, one another user made, or one made here
        (with this replica's AWS provider) for every replica and every later user."""
        return args.oidc_providers.for_issuer(
            args.primary.target.name,
            args.cluster_identity,
            name=f"{name}-oidc",
            tags={"Name": f"{name} model sync issuer"},
            opts=replica.target.child_options(self),
        )


def _config(remotes: Sequence[Remote]) -> str:
    return rclone_config(list(remotes))


def _script(remotes: Sequence[Remote]) -> str:
    return sync_script(remotes[0], list(remotes[1:]))


def _aws_config(profiles: Sequence[tuple[str, str, str]]) -> str:
    return aws_web_identity_config(
        {profile: (role_arn, region) for profile, role_arn, region in profiles}, identity_aws.TOKEN.file
    )
