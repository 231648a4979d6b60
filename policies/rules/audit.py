"""An audit trail on every cloud of a prod stack (mandatory): who changed the clusters, who read or wrote the models.

- EKS: the control plane's `audit` and `authenticator` logs are on.
- AKS: a diagnostic setting on the cluster sends `kube-audit` or `kube-audit-admin` somewhere; AKS writes its
  audit log nowhere else.
- S3: every bucket's object reads and writes are recorded, by a CloudTrail trail with S3 object data events
  (all buckets, or one that names this bucket: the trail depends on it) or by server access logging.
- GCS: the bucket's project turns on Data Access audit logs (DATA_READ and DATA_WRITE) for Cloud Storage.
- Azure Storage: a diagnostic setting on the account's blob service records StorageRead, StorageWrite and
  StorageDelete.

GKE needs no check: its Admin Activity audit logs cannot be turned off. A Data Access config set on a GCP folder
or organization is not visible to the plan; a stack relying on one configures this policy off for itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from rules.environments import protected_environments_schema, protected_in_stack
from rules.props import is_false, items, mapping

EKS_CLUSTERS = ("eks:index:Cluster", "aws:eks/cluster:Cluster")
EKS_AUDIT_LOGS = ("audit", "authenticator")
TRAIL = "aws:cloudtrail/trail:Trail"
S3_BUCKET = "aws:s3/bucket:Bucket"
S3_ACCESS_LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
GCS_BUCKET = "gcp:storage/bucket:Bucket"
GCP_AUDIT_CONFIG = "gcp:projects/iAMAuditConfig:IAMAuditConfig"
GCS_SERVICES = ("storage.googleapis.com", "allServices")
AKS_CLUSTER = "azure-native:containerservice:ManagedCluster"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
DIAGNOSTIC_SETTINGS = ("azure-native:monitor:DiagnosticSetting", "azure-native:insights:DiagnosticSetting")
AKS_AUDIT_CATEGORIES = {"kube-audit", "kube-audit-admin"}
BLOB_CATEGORIES = {"StorageRead", "StorageWrite", "StorageDelete"}
ALL_CATEGORIES = {"audit", "allLogs"}  # category groups that include the audit categories


def _depends_on(resource: PolicyResource, other: PolicyResource) -> bool:
    return any(dependency.urn == other.urn for dependency in resource.dependencies)


def _enabled_categories(setting: PolicyResource) -> set[str]:
    """The log categories (or category groups) a diagnostic setting turns on, if it sends them anywhere."""
    props = setting.props
    if not any(props.get(k) for k in ("workspaceId", "storageAccountId", "eventHubAuthorizationRuleId")):
        return set()
    found: set[str] = set()
    for log in items(props.get("logs")):
        entry = mapping(log)
        if is_false(entry.get("enabled")):
            continue
        found.update(str(entry[k]) for k in ("category", "categoryGroup") if entry.get(k))
    return found


def _diagnostics_of(target: PolicyResource, resources: Iterable[PolicyResource]) -> set[str]:
    settings = [r for r in resources if r.resource_type in DIAGNOSTIC_SETTINGS and _depends_on(r, target)]
    return set().union(*(_enabled_categories(s) for s in settings))


def _logs_s3_objects(trail: PolicyResource) -> tuple[bool, bool]:
    """(records S3 object data events, for every bucket) from the trail's advanced or basic event selectors."""
    for selector in items(trail.props.get("advancedEventSelectors")):
        fields = {str(mapping(f).get("field")): mapping(f) for f in items(mapping(selector).get("fieldSelectors"))}
        data = "Data" in items(fields.get("eventCategory", {}).get("equals"))
        objects = "AWS::S3::Object" in items(fields.get("resources.type", {}).get("equals"))
        if data and objects:
            return True, "resources.ARN" not in fields
    for selector in items(trail.props.get("eventSelectors")):
        for data in items(mapping(selector).get("dataResources")):
            if mapping(data).get("type") == "AWS::S3::Object":
                every = any(str(v) in ("arn:aws:s3", "arn:aws:s3:::") for v in items(mapping(data).get("values")))
                return True, every
    return False, False


def _same_provider(a: PolicyResource, b: PolicyResource) -> bool:
    return (a.provider.urn if a.provider else "") == (b.provider.urn if b.provider else "")


def _s3_bucket_logged(bucket: PolicyResource, resources: list[PolicyResource]) -> bool:
    for other in resources:
        if other.resource_type in S3_ACCESS_LOGGING and _depends_on(other, bucket):
            return True
        if other.resource_type == TRAIL and _same_provider(other, bucket):
            logs, every = _logs_s3_objects(other)
            if logs and (every or _depends_on(other, bucket)):
                return True
    return False


def _project(resource: PolicyResource) -> str:
    own = resource.props.get("project")
    if own:
        return str(own)
    return str((resource.provider.props if resource.provider else {}).get("project") or "")


def _gcs_audited_projects(resources: list[PolicyResource]) -> set[str]:
    projects = set()
    for config in resources:
        if config.resource_type != GCP_AUDIT_CONFIG or config.props.get("service") not in GCS_SERVICES:
            continue
        types = {str(mapping(c).get("logType")) for c in items(config.props.get("auditLogConfigs"))}
        if {"DATA_READ", "DATA_WRITE"} <= types:
            projects.add(_project(config))
    return projects


def _problems(resource: PolicyResource, resources: list[PolicyResource], gcs_projects: set[str]) -> str | None:
    kind = resource.resource_type
    if kind in EKS_CLUSTERS:
        on = {str(t) for t in items(resource.props.get("enabledClusterLogTypes"))}
        missing = [t for t in EKS_AUDIT_LOGS if t not in on]
        return f"EKS control-plane logs {', '.join(missing)} are off" if missing else None
    if kind == AKS_CLUSTER:
        shipped = _diagnostics_of(resource, resources) & (AKS_AUDIT_CATEGORIES | ALL_CATEGORIES)
        return None if shipped else "no diagnostic setting sends the AKS audit log (kube-audit-admin) anywhere"
    if kind == S3_BUCKET:
        if _s3_bucket_logged(resource, resources):
            return None
        return "no CloudTrail S3 data events or server access logs record its object reads and writes"
    if kind == GCS_BUCKET:
        if _project(resource) in gcs_projects:
            return None
        return "its project has no Data Access audit config (DATA_READ, DATA_WRITE) for Cloud Storage"
    if kind == STORAGE_ACCOUNT:
        found = _diagnostics_of(resource, resources)
        missing = sorted(BLOB_CATEGORIES - found) if not found & ALL_CATEGORIES else []
        return f"no diagnostic setting on its blob service records {', '.join(missing)}" if missing else None
    return None


def _check(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    prod = protected_in_stack(args)
    if not prod:
        return
    gcs_projects = _gcs_audited_projects(args.resources)
    for resource in args.resources:
        problem = _problems(resource, args.resources, gcs_projects)
        if problem:
            report_violation(
                f"{resource.name} ({prod[0]}): {problem}; a prod target keeps an audit trail (mlplatform:audit).",
                resource.urn,
            )


prod_audit_trail = StackValidationPolicy(
    name="prod-audit-trail",
    description="Every prod cluster writes its control-plane audit log and every prod bucket its object access log.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_check,
    config_schema=protected_environments_schema("clusters and buckets must keep an audit trail"),
)

POLICIES = [prod_audit_trail]
