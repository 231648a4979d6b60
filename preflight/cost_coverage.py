"""Which resources cost nothing by themselves, and which are billed by use: so that every other resource
without a price rule is listed as unpriced, never counted as zero.

`preflight cost` prices a resource by a rule for its type (preflight/cost.py). A resource with no rule is
one of three things:
- no charge of its own: IAM, networks and their routing, settings of a priced resource, Kubernetes objects
  (they run on the priced nodes), components (their children are priced), Pulumi's own resources;
- billed by use (logs ingested, task run time): listed as unpriced with what the bill depends on;
- anything else, such as a type this table has never seen: listed as unpriced, "no price rule".

Facts, as known 2026-12 and not re-read on these pages here (confirm them when the price table is
refreshed): IAM has no charge (aws.amazon.com/iam/faqs, "Cost"); a VPC, its subnets, route
tables, internet gateway, security groups and gateway endpoints for S3 cost nothing, interface endpoints
do (aws.amazon.com/vpc/pricing, aws.amazon.com/privatelink/pricing); Google Cloud's VPC networks, subnets,
firewall rules, Cloud Router and IAM have no charge of their own, a private services access range neither
(cloud.google.com/vpc/pricing, cloud.google.com/vpc/docs/configure-private-services-access); Azure's
virtual networks, subnets, resource groups, role assignments, managed identities and locks have none
(azure.microsoft.com/pricing/details/virtual-network, learn.microsoft.com/entra/identity/managed-identities-
azure-resources/overview "no additional cost").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NO_CHARGE_PREFIXES: dict[str, str] = {
    "kubernetes:": "a Kubernetes object: runs on the cluster's nodes, which are priced with the node pools",
    "random:": "made by Pulumi; no cloud resource",
    "pulumi:": "Pulumi's own (the stack, providers)",
    "mlplatform:": "a component: its resources are priced one by one",
}

_NETWORK = "a network, subnet, route or firewall rule: no charge of its own"
_IAM = "an identity or permission: no charge"
_SETTING = "a setting of a priced resource"
_SERVICE = "turning an API on or connecting a service: no charge of its own"
_RECORD = "a DNS record: the routing set's queries are priced once, stack-wide"

NO_CHARGE: dict[str, str] = {
    # AWS
    "aws:ec2/vpc:Vpc": _NETWORK,
    "aws:ec2/subnet:Subnet": _NETWORK,
    "aws:ec2/routeTable:RouteTable": _NETWORK,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _NETWORK,
    "aws:ec2/internetGateway:InternetGateway": _NETWORK,
    "aws:ec2/securityGroup:SecurityGroup": _NETWORK,
    "aws:ec2/launchTemplate:LaunchTemplate": _SETTING,  # a node group's settings; its instances are the pool's
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _NETWORK,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _NETWORK,
    "aws:iam/role:Role": _IAM,
    "aws:iam/rolePolicy:RolePolicy": _IAM,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _IAM,
    "aws:iam/policy:Policy": _IAM,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _IAM,
    "aws:autoscaling/tag:Tag": "a tag on a node group's Auto Scaling group",
    "aws:eks/addon:Addon": "an EKS add-on: runs on the cluster's priced nodes",
    "aws:rds/parameterGroup:ParameterGroup": _SETTING,
    "aws:rds/subnetGroup:SubnetGroup": _SETTING,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _SETTING,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _SETTING,
    "aws:s3/bucketPolicy:BucketPolicy": _SETTING,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _SETTING,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _SETTING,
    "aws:s3/bucketVersioning:BucketVersioning": _SETTING,
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": _SETTING,
    "aws:ecr/repositoryPolicy:RepositoryPolicy": _SETTING,
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": _SETTING,
    "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration": _SETTING,
    "aws:kms/alias:Alias": _SETTING,
    "aws:route53/record:Record": _RECORD,
    # Google Cloud
    "gcp:compute/network:Network": _NETWORK,
    "gcp:compute/subnetwork:Subnetwork": _NETWORK,
    "gcp:compute/firewall:Firewall": _NETWORK,
    "gcp:compute/router:Router": _NETWORK,
    "gcp:compute/globalAddress:GlobalAddress": "the private services access range: no charge",
    "gcp:servicenetworking/connection:Connection": _SERVICE,
    "gcp:projects/service:Service": _SERVICE,
    "gcp:projects/iAMMember:IAMMember": _IAM,
    "gcp:serviceaccount/account:Account": _IAM,
    "gcp:serviceaccount/iAMMember:IAMMember": _IAM,
    "gcp:storage/bucketIAMMember:BucketIAMMember": _IAM,
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": _IAM,
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": _IAM,
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": _IAM,
    "gcp:sql/database:Database": _SETTING,
    "gcp:kms/keyRing:KeyRing": "a key ring: no charge (its keys are priced)",
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": _IAM,
    "gcp:projects/serviceIdentity:ServiceIdentity": _IAM,
    "gcp:sql/user:User": _SETTING,
    # Azure
    "azure-native:resources:ResourceGroup": "a resource group: no charge",
    "azure-native:network:VirtualNetwork": _NETWORK,
    "azure-native:network:Subnet": _NETWORK,
    "azure-native:authorization:RoleAssignment": _IAM,
    "azure-native:authorization:ManagementLockByScope": "a lock: no charge",
    "azure-native:managedidentity:UserAssignedIdentity": _IAM,
    "azure-native:managedidentity:FederatedIdentityCredential": _IAM,
    "azure-native:privatedns:VirtualNetworkLink": "a private zone's link to the network: the zone is priced",
    "azure-native:privatedns:PrivateRecordSet": _RECORD,
    "azure-native:dbforpostgresql:Database": _SETTING,
    "azure-native:dbforpostgresql:Configuration": _SETTING,
    "azure-native:dbforpostgresql:FirewallRule": _SETTING,
    "azure-native:storage:BlobContainer": _SETTING,
    "azure-native:storage:BlobServiceProperties": _SETTING,
    "azure-native:storage:ManagementPolicy": _SETTING,
    "azure-native:monitor:DiagnosticSetting": "routes logs: billed where they land (the workspace or bucket)",
}

BILLED_BY_USE: dict[str, str] = {
    "aws:cloudtrail/trail:Trail": "data events recorded",
    "aws:cloudwatch/logGroup:LogGroup": "log data ingested and stored",
    "gcp:logging/projectBucketConfig:ProjectBucketConfig": "log data stored past the free retention",
    "gcp:logging/projectSink:ProjectSink": "log data routed to its destination",
    "gcp:projects/iAMAuditConfig:IAMAuditConfig": "Data Access audit logs ingested",
    "azure-native:operationalinsights:Workspace": "log data ingested and retained",
    "azure-native:containerregistry:Task": "run time of its tasks: the image purge",
}


def no_charge_reason(type_token: str, inputs: Mapping[str, Any]) -> str | None:
    """Why a resource with no price rule costs nothing by itself, or None when it may cost something."""
    if type_token == "aws:ec2/vpcEndpoint:VpcEndpoint":
        # Gateway endpoints (S3, DynamoDB) cost nothing; interface endpoints are billed by the hour.
        return "a gateway endpoint: no charge" if inputs.get("vpcEndpointType") == "Gateway" else None
    for prefix, reason in NO_CHARGE_PREFIXES.items():
        if type_token.startswith(prefix):
            return reason
    return NO_CHARGE.get(type_token)


def unpriced_reason(type_token: str) -> str:
    """What the report says of a resource that may cost something and has no price rule."""
    if type_token in BILLED_BY_USE:
        return f"billed by use ({BILLED_BY_USE[type_token]}): not estimated"
    return f"no price rule for {type_token} (preflight/cost.py)"
