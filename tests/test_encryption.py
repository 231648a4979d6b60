"""mlplatform:encryption: Kubernetes Secrets and the metadata databases under keys the stack owns."""

from __future__ import annotations

import pytest

from preflight.plan import Plan, PlannedResource
from stacks.config import ConfigError
from tests.helpers import every, only, stack_plan
from tests.test_audit_config import parse

AWS = {"cloud": "aws", "region": "us-east-1"}
GCP = {"cloud": "gcp", "region": "us-central1", "project": "ml-keys-123"}
AZURE = {"cloud": "azure", "region": "swedencentral"}
GKE_AGENT = "@container-engine-robot.iam.gserviceaccount.com"  # the GKE service agent's domain (GKE docs)


@pytest.fixture(scope="module")
def keyed() -> Plan:
    every_database = {"databases": "every-target"}  # dev's default keeps one, on the primary
    return stack_plan([AWS, GCP, AZURE], encryption={"customerManagedKeys": True}, costSavings=every_database)


def named(plan: Plan, type_token: str, part: str) -> PlannedResource:
    (found,) = [r for r in plan.of_type(type_token) if part in r.name]
    return found


def test_off_by_default_and_a_bad_value_names_the_key(dev_plan: Plan) -> None:
    assert not dev_plan.of_type("gcp:kms/cryptoKey:CryptoKey")
    assert "encryptionConfigKeyArn" not in only(dev_plan, "eks:index:Cluster").inputs
    with pytest.raises(ConfigError) as caught:
        parse(encryption={"customerManagedKeys": "yes"})
    assert caught.value.key == "mlplatform:encryption.customerManagedKeys"


def test_prod_turns_them_on(prod_plan: Plan) -> None:
    assert all(c.inputs.get("encryptionConfigKeyArn") for c in every(prod_plan, "eks:index:Cluster"))
    assert all(i.inputs.get("kmsKeyId") for i in every(prod_plan, "aws:rds/instance:Instance"))


def test_eks_secrets_and_rds_storage_use_keys_of_their_own(keyed: Plan) -> None:
    secrets = named(keyed, "aws:kms/key:Key", "secrets-key")
    storage = named(keyed, "aws:kms/key:Key", "storage-key")
    assert secrets.inputs["enableKeyRotation"] and storage.inputs["enableKeyRotation"]
    assert secrets.urn in only(keyed, "eks:index:Cluster").dependencies
    assert storage.urn in only(keyed, "aws:rds/instance:Instance").dependencies
    assert only(keyed, "aws:rds/instance:Instance").inputs["kmsKeyId"].startswith("arn:aws:kms:us-east-1:")


def test_gke_secrets_are_encrypted_with_a_key_only_the_gke_agent_may_use(keyed: Plan) -> None:
    cluster = only(keyed, "gcp:container/cluster:Cluster")
    key = named(keyed, "gcp:kms/cryptoKey:CryptoKey", "secrets")
    grant = named(keyed, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "secrets")
    assert cluster.inputs["databaseEncryption"]["state"] == "ENCRYPTED"
    assert key.urn in cluster.dependencies and grant.urn in cluster.dependencies  # the grant before the cluster
    assert grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    assert grant.inputs["member"].startswith("serviceAccount:service-") and grant.inputs["member"].endswith(GKE_AGENT)
    assert key.urn in grant.dependencies


def test_cloud_sql_storage_key_is_granted_to_the_sql_service_identity(keyed: Plan) -> None:
    instance = only(keyed, "gcp:sql/databaseInstance:DatabaseInstance")
    agent = only(keyed, "gcp:projects/serviceIdentity:ServiceIdentity")
    grant = named(keyed, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "storage")
    assert agent.inputs["service"] == "sqladmin.googleapis.com"
    assert agent.urn in grant.dependencies  # the member comes from the identity's output, not a rebuilt string
    assert instance.inputs["encryptionKeyName"] and grant.urn in instance.dependencies


def test_azure_is_not_covered_yet(keyed: Plan) -> None:
    cluster = only(keyed, "azure-native:containerservice:ManagedCluster")
    assert "azureKeyVaultKms" not in (cluster.inputs.get("securityProfile") or {})
