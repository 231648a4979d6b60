"""The ModelRegistry contract: MLflow's registry on the primary target, backed by its MetadataDB, behind the gateway.

Shared by the component's modules (workload.py: the server's Deployment; routes.py: the gateway's route and who may
use it); creates no resource and imports none of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.serving_stack.contract import NAMESPACE as SERVING_NAMESPACE
from components.serving_stack.contract import GatewayAuth, ModelCallers
from components.target import Cloud

NAMESPACE = SERVING_NAMESPACE  # restricted Pod Security, Istio sidecars, STRICT mTLS, default-deny: nothing new needed
NAME = "mlflow"
PORT = 5000  # MLflow's default
PATH_PREFIX = "/mlflow"  # the gateway's path, and the server's --static-prefix (no rewrite in between)
HEALTH_PATH = f"{PATH_PREFIX}/health"
SECRET = "mlflow-backend-store"
SECRET_URI_KEY = "uri"  # postgresql://USER:PASSWORD@HOST:PORT/DB?sslmode=verify-full&sslrootcert=...
SECRET_CA_KEY = "ca-bundle"  # the database's CA: PEM (Cloud SQL) or the https address(es) of the bundle (RDS, Azure)
DATABASE_PORT = 5432


@dataclass(frozen=True)
class RegistryDatabase:
    """The primary target's MetadataDB, as its outputs give it (never rebuilt from config)."""

    host: pulumi.Output[str]
    port: pulumi.Output[int]
    connection_string: pulumi.Output[str]  # a Pulumi secret: the password is in it
    ca_bundle: pulumi.Output[str]


@dataclass(frozen=True)
class RegistryGateway:
    """The ingress gateway the registry is reached through, and who may use it there."""

    namespace: str
    selector: Mapping[str, str]
    auth: GatewayAuth
    callers: ModelCallers  # `mlplatform:auth.registry`: subjects, groups or scopes (the model field unused)
    hosts: tuple[pulumi.Input[str], ...] = ()
    """Host headers the server accepts besides its in-cluster names (the global host, the gateway's address)."""


@dataclass(frozen=True)
class ModelRegistryArgs:
    cloud: Cloud
    k8s_provider: k8s.Provider
    database: RegistryDatabase
    artifact_root: pulumi.Input[str]
    """The primary bucket's URI: where a version's `source` points; MLflow only records it (--no-serve-artifacts)."""
    gateway: RegistryGateway | None = None
    """None: no route through the gateway (a stack without authentication, or nobody listed for the registry);
    reach it with `kubectl -n serving port-forward svc/mlflow 5000`."""
    image_mirrors: Mapping[str, pulumi.Output[str] | str] = field(default_factory=dict)
    replicas: int = 1
    after: tuple[pulumi.Resource, ...] = ()
    """What must exist first: the ServingStack (its namespace, sidecar injector, Gateway and CRDs)."""
