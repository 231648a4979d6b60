"""The registry server in the serving namespace: MLflow's official `-full` image, its backend store in a Secret.

`mlflow server` flags (MLflow 3.17, `mlflow server --help`, and mlflow.org "Tracking Server Security", read 2026-12):
- `--backend-store-uri` (env MLFLOW_BACKEND_STORE_URI): the MetadataDB's connection string, taken from a Secret so
  the password never appears in the pod spec; the registry store defaults to the same database;
- `--no-serve-artifacts`: the server proxies no artifact reads or writes, so it needs no grant on the bucket;
  `--default-artifact-root` only names where a client would write a run's artifacts itself (the primary bucket's
  `mlflow/` prefix: only the publishers may write there);
- `--static-prefix /mlflow`: every route, the REST API and /health included, lives under the gateway's path;
- `--allowed-hosts` (env MLFLOW_SERVER_ALLOWED_HOSTS): 3.5+'s DNS-rebinding guard checks the Host header against
  this list (default: localhost and private addresses), so the global host and the gateway's address are listed;
  CORS stays at its default (localhost origins only): the registry's callers are programs, not pages;
- uvicorn (3.x's default server) with `--workers 2`.

TLS to the database: the connection string asks for `sslmode=verify-full` with the CA file at CA_FILE. An init
container writes that file: Cloud SQL's PEM as the MetadataDB reports it, or the bundle downloaded from the address
the cloud publishes (RDS's regional bundle; Azure's two roots, DER converted to PEM). It runs as Istio's proxy uid,
which the sidecar's redirect leaves alone (the sidecar is not up yet), over the namespace's HTTPS egress.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import images
from components.metadata_db.contract import CA_FILE
from components.model_registry.contract import (
    DATABASE_PORT,
    HEALTH_PATH,
    NAME,
    NAMESPACE,
    PATH_PREFIX,
    PORT,
    SECRET,
    SECRET_CA_KEY,
    SECRET_URI_KEY,
    ModelRegistryArgs,
)
from components.serving_stack.triton import ISTIO_PROXY_UID, container_security

MLFLOW = images.image("mlflow")
SERVER_UID = 10001  # any non-root uid: the image's files are world-readable
WORKERS = 2
CA_DIR = CA_FILE.rsplit("/", 1)[0]
LABELS = {"app": NAME, "app.kubernetes.io/part-of": "mlplatform"}
NETWORKING = "networking.istio.io/v1"

CA_SCRIPT = f"""
import os, ssl, urllib.request
bundle = os.environ["CA_BUNDLE"].strip()
if bundle.startswith("-----BEGIN"):
    pem = bundle + "\\n"
else:
    parts = []
    for url in bundle.split():
        data = urllib.request.urlopen(url, timeout=30).read()
        parts.append(data.decode() if data.lstrip().startswith(b"-----BEGIN") else ssl.DER_cert_to_PEM_cert(data))
    pem = "\\n".join(parts)
with open("{CA_FILE}", "w") as out:
    out.write(pem)
print("database CA bundle written:", pem.count("BEGIN CERTIFICATE"), "certificates")
"""


def server_arguments(
    host: str = "0.0.0.0",
    port: int = PORT,
    artifact_root: str | None = None,
    allowed_hosts: Sequence[str] = (),
    workers: int = WORKERS,
) -> list[str]:
    """`mlflow server`'s arguments; the backend store comes from MLFLOW_BACKEND_STORE_URI (the Secret)."""
    arguments = ["server", "--host", host, "--port", str(port), "--workers", str(workers)]
    arguments += ["--static-prefix", PATH_PREFIX, "--no-serve-artifacts"]
    if artifact_root is not None:
        arguments += ["--default-artifact-root", artifact_root]
    if allowed_hosts:
        arguments += ["--allowed-hosts", ",".join(allowed_hosts)]
    return arguments


def _security(uid: int) -> k8s.core.v1.SecurityContextArgsDict:
    """Triton's restricted container context (read-only root; /tmp and the CA directory are emptyDirs), as `uid`."""
    return {**container_security(), "run_as_user": uid, "run_as_group": uid}


def allowed_hosts(args: ModelRegistryArgs) -> pulumi.Output[str]:
    """The in-cluster names (with and without the port) and the gateway's hosts."""
    local = [f"{NAME}.{NAMESPACE}.svc.cluster.local", f"{NAME}.{NAMESPACE}", NAME]
    names: list[pulumi.Input[str]] = [*local, *(f"{n}:{PORT}" for n in local)]
    if args.gateway is not None:
        names += list(args.gateway.hosts)
    return pulumi.Output.all(*names).apply(lambda hosts: ",".join(str(h) for h in hosts if h))


def _probe(period: int, failures: int) -> dict[str, Any]:
    return {
        "http_get": {"path": HEALTH_PATH, "port": PORT},
        "period_seconds": period,
        "timeout_seconds": 5,
        "failure_threshold": failures,
    }


def pod_spec(args: ModelRegistryArgs, image: pulumi.Input[str], artifact_root: pulumi.Input[str]) -> dict[str, Any]:
    secret_env = [
        {"name": "MLFLOW_BACKEND_STORE_URI", "value_from": {"secret_key_ref": {"name": SECRET, "key": SECRET_URI_KEY}}},
    ]
    mounts = [{"name": "tmp", "mount_path": "/tmp"}, {"name": "database-ca", "mount_path": CA_DIR, "read_only": True}]
    return {
        "automount_service_account_token": False,  # the server calls no Kubernetes API
        "security_context": {"run_as_non_root": True, "seccomp_profile": {"type": "RuntimeDefault"}},
        "init_containers": [
            {
                "name": "database-ca",
                "image": image,
                "command": ["python", "-c", CA_SCRIPT],
                "env": [
                    {"name": "CA_BUNDLE", "value_from": {"secret_key_ref": {"name": SECRET, "key": SECRET_CA_KEY}}}
                ],
                "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
                "security_context": _security(ISTIO_PROXY_UID),
                "volume_mounts": [{"name": "database-ca", "mount_path": CA_DIR}],
            }
        ],
        "containers": [
            {
                "name": NAME,
                "image": image,
                "command": ["mlflow"],
                "args": [*server_arguments(), "--default-artifact-root", artifact_root],
                "ports": [{"name": "http", "container_port": PORT}],
                "env": [
                    {"name": "HOME", "value": "/tmp"},
                    {"name": "MLFLOW_SERVER_ALLOWED_HOSTS", "value": allowed_hosts(args)},
                    *secret_env,
                ],
                "resources": {"requests": {"cpu": "100m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
                "security_context": _security(SERVER_UID),
                "volume_mounts": mounts,
                "startup_probe": _probe(5, 36),  # up to 3 minutes: the first start creates the tables
                "readiness_probe": _probe(10, 3),
                "liveness_probe": _probe(20, 3),
            }
        ],
        "volumes": [{"name": "tmp", "empty_dir": {}}, {"name": "database-ca", "empty_dir": {"medium": "Memory"}}],
    }


def secret(name: str, args: ModelRegistryArgs, opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret:
    """The backend store's URI (with the password) and the CA bundle; a Pulumi secret, so masked in state and plans."""
    data: dict[str, pulumi.Input[str]] = {
        SECRET_URI_KEY: args.database.connection_string,  # the MetadataDb's output: a Pulumi secret already
        SECRET_CA_KEY: args.database.ca_bundle,
    }
    return k8s.core.v1.Secret(
        f"{name}-backend-store",
        metadata={"name": SECRET, "namespace": NAMESPACE, "labels": LABELS},
        type="Opaque",
        string_data=data,
        opts=opts,
    )


def database_entry_spec(args: ModelRegistryArgs) -> pulumi.Output[dict[str, Any]]:
    """REGISTRY_ONLY outbound traffic: the MetadataDB as a mesh-external TCP service, seen by the serving namespace
    only. Cloud SQL reports an address (STATIC, under a name of ours); RDS and Azure a DNS name (DNS)."""
    port = {"number": DATABASE_PORT, "name": "tcp-postgres", "protocol": "TCP"}

    def spec(host: str) -> dict[str, Any]:
        common = {"location": "MESH_EXTERNAL", "ports": [port], "exportTo": ["."]}
        if args.cloud == "gcp":
            name = f"metadata-db.{NAMESPACE}.mlplatform.internal"
            return {**common, "hosts": [name], "addresses": [f"{host}/32"], "resolution": "STATIC",
                    "endpoints": [{"address": host}]}  # fmt: skip
        return {**common, "hosts": [host], "resolution": "DNS"}

    return args.database.host.apply(spec)


def install(parent: pulumi.Resource, name: str, args: ModelRegistryArgs, opts: pulumi.ResourceOptions) -> None:
    """The Secret, the database's ServiceEntry, the NetworkPolicy, the Service and the Deployment."""
    backend = secret(name, args, opts)
    entry = k8s.apiextensions.CustomResource(
        f"{name}-database-egress",
        api_version=NETWORKING,
        kind="ServiceEntry",
        metadata={"name": "metadata-db", "namespace": NAMESPACE},
        spec=database_entry_spec(args),
        opts=opts,
    )
    network_policy(name, args, opts)
    k8s.core.v1.Service(
        f"{name}-service",
        metadata={"name": NAME, "namespace": NAMESPACE, "labels": LABELS},
        spec={
            "type": "ClusterIP",
            "selector": {"app": NAME},
            "ports": [{"name": "http", "port": PORT, "target_port": "http", "protocol": "TCP"}],
        },
        opts=opts,
    )
    image = MLFLOW.ref_via(args.image_mirrors)
    artifact_root = pulumi.Output.concat(args.artifact_root, "/mlflow")
    spec: Any = {
        "replicas": args.replicas,
        "selector": {"match_labels": {"app": NAME}},
        "template": {
            "metadata": {
                "labels": LABELS,
                # The server connects to the database at start: only once its sidecar passes traffic.
                "annotations": {"proxy.istio.io/config": '{"holdApplicationUntilProxyStarts": true}'},
            },
            "spec": pod_spec(args, image, artifact_root),
        },
    }
    k8s.apps.v1.Deployment(
        f"{name}-server",
        metadata={"name": NAME, "namespace": NAMESPACE, "labels": LABELS},
        spec=spec,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[backend, entry])),
    )


def network_policy(name: str, args: ModelRegistryArgs, opts: pulumi.ResourceOptions) -> None:
    """Beside the namespace's default-deny: in, the gateway's pods on PORT; out, PostgreSQL (the MetadataDB is a
    private address of the cloud's network, outside the pod network)."""
    ingress: list[Any] = []
    if args.gateway is not None:
        gateway = {"namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": args.gateway.namespace}}}
        ingress.append({"from_": [gateway], "ports": [{"protocol": "TCP", "port": PORT}]})
    spec: Any = {
        "pod_selector": {"match_labels": {"app": NAME}},
        "policy_types": ["Ingress", "Egress"],
        "ingress": ingress,
        "egress": [
            {"to": [{"ip_block": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": DATABASE_PORT}]}
        ],
    }
    k8s.networking.v1.NetworkPolicy(
        f"{name}-network-policy", metadata={"name": NAME, "namespace": NAMESPACE}, spec=spec, opts=opts
    )
