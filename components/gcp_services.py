"""The Google APIs a GCP target uses, enabled in its project before anything is made there.

A new project has almost none of them on: creating a network, a cluster or a Cloud SQL server
there fails with "API has not been used in project ... or it is disabled". Each API is one
`gcp.projects.Service`, and the target carries them so that every resource made through it
depends on them (components.target.Target.child_options).

Facts (read 2026-12):
- Projects created with the console or gcloud start with a few APIs on, among them Service
  Usage and Cloud Storage; none of the others below (cloud.google.com/service-usage/docs/
  enabled-service). Enabling needs serviceusage.services.enable (roles/serviceusage.serviceUsageAdmin).
- `disable_on_destroy` is False: a destroy leaves the APIs on, because other stacks (dev and prod
  may share a project) and other teams use them, and disabling compute would stop every VM.
- Enabling the IAM API also enables IAM Service Account Credentials, but not the other way round
  (cloud.google.com/iam/docs/reference/credentials/rest); both are listed so that neither depends
  on the other's side effect.
- Artifact Analysis scans pushed images only when the Container Scanning API is on (the repository
  inherits the project's setting); the CIS GKE benchmark recommends it. Scans are billed per image.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

# API -> why this platform needs it.
REQUIRED_SERVICES: dict[str, str] = {
    "serviceusage.googleapis.com": "enabling the others (on by default in new projects)",
    "cloudresourcemanager.googleapis.com": "project IAM grants (the nodes' roles) and the project number lookups",
    "compute.googleapis.com": "the VPC, subnet, Cloud NAT, firewall and the nodes' VMs",
    "container.googleapis.com": "the GKE cluster and its node pools",
    "iam.googleapis.com": "the nodes' service account and the model sync's workload identity pool",
    "iamcredentials.googleapis.com": "GKE Workload Identity Federation tokens for pods (Triton, model sync)",
    "sts.googleapis.com": "Workload Identity Federation token exchange (GKE pods, the model sync from other clouds)",
    "storage.googleapis.com": "the model bucket (on by default)",
    "artifactregistry.googleapis.com": "the image repository",
    "containerscanning.googleapis.com": "vulnerability scans of pushed images",
    "sqladmin.googleapis.com": "the Cloud SQL server, database and user",
    "servicenetworking.googleapis.com": "the private services access peering Cloud SQL's private IP needs",
    "cloudkms.googleapis.com": "the customer-managed keys of GKE Secrets and Cloud SQL (mlplatform:encryption)",
}


def enable_services(
    parent: pulumi.Resource, name: str, project: str, provider: pulumi.ProviderResource
) -> tuple[gcp.projects.Service, ...]:
    """One Service per required API in `project`, left enabled when the stack is destroyed."""
    return tuple(
        gcp.projects.Service(
            f"{name}-api-{service.split('.')[0]}",
            project=project,
            service=service,
            disable_on_destroy=False,
            disable_dependent_services=False,
            opts=pulumi.ResourceOptions(parent=parent, provider=provider),
        )
        for service in REQUIRED_SERVICES
    )
