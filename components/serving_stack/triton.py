"""NVIDIA Triton Inference Server as the model server: the pod template of every model Deployment.

One template per model version, the same on every cloud except for what a cloud adds to its GPU
nodes (components/scheduling.py): AKS taints its spot pools, GKE taints the pools of
a compute class and wants the class in the node selector.

Facts, with where they were read (2026-11):
- Image: ``nvcr.io/nvidia/tritonserver:26.05-py3``. Release 2.69.0 (NGC 26.05) is the first whose
  release notes list "Azure Managed Identity" for as:// model repositories (GitHub release
  v2.69.0; server PR 8652, core PR 468, both in r26.05 and not in r26.04): with
  ``AZURE_STORAGE_AUTH_TYPE=default`` Triton uses the Azure SDK's DefaultAzureCredential, whose
  chain has the WorkloadIdentityCredential (azure-identity-cpp 1.6.0 and later). s3:// (IRSA)
  and gs:// (GKE Workload Identity) go through the AWS and Google SDKs' default chains.
- The image's ``triton-server`` user is uid 1000 and gid 1000 (server build.py asserts both) and
  has no home directory (``useradd`` without ``-m``).
- Flags (server src/command_line_parser.cc, v2.69.0): ``--model-repository``, ``--http-port``,
  ``--grpc-port``, ``--metrics-port``, ``--strict-readiness`` (a bool: true/false),
  ``--exit-timeout-secs`` ("when exiting, wait for in-flight inferences to finish"),
  ``--http-restricted-api`` and ``--grpc-restricted-protocol`` (see RESTRICTED_APIS).
- A remote repository is copied into a temporary directory under /tmp before loading (core
  src/filesystem/implementations/common.h, ``kDefaultMountDirectory``), so /tmp must be writable
  and as large as the model; the Python backend exchanges tensors through /dev/shm.
- Health: ``/v2/health/live`` and ``/v2/health/ready`` on the HTTP port (KServe v2 protocol); with
  strict readiness, ready means every model in the repository is loaded.
- Triton exits at start when the repository path holds nothing ("repository path is not a valid
  directory"), and copies whatever is there when it starts, complete or not. So an init container
  waits first: rclone (the image the model sync pins) checks ``<path>/.complete`` and the files
  against it with the pod's own reader identity, for at most MODEL_WAIT_SECONDS, then fails with
  one line naming the marker and the kubelet tries again with its back-off (components/rclone.py,
  wait_script). It runs as Istio's proxy uid 1337, whose traffic the sidecar's redirect leaves
  alone (istio.io, "Istio CNI", "Compatibility with application init containers"), so it reaches
  the bucket whether istiod injects a native sidecar (the default since Istio 1.27 when every node
  runs Kubernetes 1.33 or later: ENABLE_NATIVE_SIDECARS=auto) or a classic one, which would start
  only after the init containers.
- Signed versions: with the publishers' public key in the stack, a second init container, ``verify-model``, checks
  the manifest wait-for-model copied (and the files matched) against its Ed25519 signature with the standard
  library only (components/model_signature.py, in the pinned python image); Triton starts only if it verifies.
- Backends: Triton loads a model's backend from ``--backend-directory`` (default /opt/tritonserver/backends; server
  src/command_line_parser.cc, v2.69.0). With ``triton_backends`` set, an init container links only those backends of
  the image into an emptyDir and Triton is pointed there, so a model whose config names any other backend (the
  Python backend's ``model.py`` above all) fails to load instead of running code from the bucket. Triton looks
  in the model's own directories first (Triton C API docs, TRITONSERVER_ServerOptionsSetBackendDirectory: "searched
  last after the version and model directory"), so verify-model also refuses a version that ships a shared library.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import model_signature
from components.images import image as platform_image
from components.rclone import IMAGE as RCLONE_IMAGE
from components.rclone import (
    MARKER,
    SIGNATURE,
    WAIT_MANIFEST_DIR,
    WAIT_POLL_SECONDS,
    WAIT_REPOSITORY,
    WAIT_SECONDS,
    WAIT_VERSION,
    Remote,
    remote_env,
    wait_script,
)
from components.scheduling import (
    AKS_SPOT_TAINT,
    COMPUTE_CLASS_LABEL,
    GPU_TAINT_EFFECT,
    GPU_TAINT_KEY,
    GPU_TAINT_VALUE,
    LABEL_ACCELERATOR,
    LABEL_CAPACITY,
    LABEL_ROLE,
    compute_class_name,
)
from components.serving_stack.contract import (
    HEALTH_PATH,
    SERVICE_ACCOUNT,
    ModelSpec,
    ModelVersion,
    ReaderIdentity,
    ServingStackArgs,
)
from components.target import Cloud

TRITON = platform_image("triton")  # tag 26.05-py3; no public source gives its digest (components/data/images.yaml)
RCLONE = platform_image("rclone")
PYTHON = platform_image("python")  # runs the signature check
CONTAINER = "triton"
TRITON_UID = 1000  # the image's triton-server user and group

HTTP_PORT, GRPC_PORT, METRICS_PORT = 8000, 8001, 8002
# Container port names (at most 15 characters); the PodMonitor scrapes "metrics".
PORT_NAMES = {HTTP_PORT: "http", GRPC_PORT: "grpc", METRICS_PORT: "metrics"}
READY_PATH = HEALTH_PATH  # /v2/health/ready, also what GlobalDns probes through the gateway
LIVE_PATH = "/v2/health/live"

# Pod labels: Istio's conventional app/version (subsets match on version), and the Deployment a
# pod belongs to, which the PodMonitor copies onto Triton's metrics for the autoscaler's query.
LABEL_APP = "app"
LABEL_VERSION = "version"
LABEL_TEAM = "mlplatform.io/team"  # the model's team from config: cost per team (observability/rules/cost.yaml)
LABEL_DEPLOYMENT = "mlplatform.io/deployment"

# Per GPU, sized so one replica fits the smallest catalogued GPU machine (4 vCPUs, 15 GiB: GCP's
# n1-standard-4 with a T4) beside the DaemonSets and the Istio sidecar. Memory limit = request:
# a GPU pod that outgrows its memory should fail alone, not push its node into eviction.
CPU_REQUEST_PER_GPU = 2
CPU_LIMIT_PER_GPU = 3
MEMORY_GIB_PER_GPU = 8
SHM_SIZE = "1Gi"

ENDPOINT_GRACE_SECONDS = 10  # preStop: the gateway's Envoy and kube-proxy drop the pod before SIGTERM
TERMINATION_MARGIN_SECONDS = 10  # after Triton's own exit timeout, before SIGKILL
STARTUP_BUDGET_SECONDS = 900  # copying and loading a large model from the bucket
PROGRESS_DEADLINE_SECONDS = 1800  # a GPU node from zero, a ~10 GB image pull, then the model

WAIT_CONTAINER = "wait-for-model"
# One attempt waits 15 minutes (a sync run copying a large version to this bucket), looking every 15 s (one
# LIST per look); then it fails and the kubelet restarts it with its back-off (10 s doubling to 5 minutes).
MODEL_WAIT_SECONDS = 900
MODEL_POLL_SECONDS = 15
# Istio's pod annotation (istio.io, Resource Annotations, read 2026-12; Alpha): "Takes precedence over the
# ENABLE_NATIVE_SIDECARS environment variable": the proxy is injected as a Kubernetes sidecar container (an init
# container with restartPolicy Always, GA in Kubernetes 1.33), started before and stopped after the app containers.
NATIVE_SIDECAR_ANNOTATION = "sidecar.istio.io/nativeSidecar"
ISTIO_PROXY_UID = 1337  # Istio's sidecar uid: its traffic is never redirected to the proxy
VERIFY_CONTAINER = "verify-model"
BACKENDS_CONTAINER = "triton-backends"
MANIFEST_MOUNT = "/var/run/mlplatform/manifest"  # wait-for-model's copy of the marker and signature
BACKENDS_MOUNT = "/var/run/mlplatform/backends"  # links to the allowed backends of the image
IMAGE_BACKENDS = "/opt/tritonserver/backends"  # where the image keeps every backend
VERIFY_UID = 65532  # any non-root uid: the python image needs none of its own
WAIT_RESOURCES: k8s.core.v1.ResourceRequirementsArgsDict = {
    "requests": {"cpu": "50m", "memory": "64Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},  # a listing and a few HEADs
}


@dataclass(frozen=True)
class Workload:
    """One Deployment of a model: a version's autoscaled replicas, or the stable version's floor."""

    model: ModelSpec
    version: ModelVersion
    floor: bool = False

    @property
    def name(self) -> str:
        suffix = "-floor" if self.floor else ""
        return f"{self.model.name}-{self.version.name}{suffix}"

    @property
    def selector(self) -> dict[str, str]:
        """Immutable in a Deployment: the model and the Deployment, never the version it serves."""
        return {LABEL_APP: self.model.name, LABEL_DEPLOYMENT: self.name}

    def labels(self, reader: ReaderIdentity) -> dict[str, str]:
        return {**reader.pod_labels, **self.selector, LABEL_VERSION: self.version.name, LABEL_TEAM: self.model.team}


def image(args: ServingStackArgs) -> pulumi.Input[str]:
    """The stack's Triton image, or the table's, through the footprint's registry when it mirrors nvcr.io."""
    return args.triton_image or TRITON.ref_via(args.image_mirrors)


def repository(args: ServingStackArgs, version: ModelVersion) -> pulumi.Output[str]:
    """``<serving_uri>/<path>``: s3://B/p, gs://B/p or as://A/C/p."""
    return args.bucket.serving_uri.apply(lambda uri: f"{uri.rstrip('/')}/{version.path.strip('/')}")


def version_path(remote: Remote, version: ModelVersion) -> str:
    """The same place as repository(), as rclone names it: ``<remote>:<bucket>/<path>``."""
    return f"{remote.root}/{version.path.strip('/')}"


# Triton's control and statistics APIs answer only a request carrying ADMIN_HEADER with the key from the
# ADMIN_SECRET Secret (Triton docs, "Inference Protocols and APIs", Limit Endpoint Access (BETA), read 2026-12:
# --http-restricted-api=<api>,...:<key>=<value>, and --grpc-restricted-protocol with the same groups). The
# gateway routes none of their paths and strips the header from what it forwards (traffic.py), so only someone
# who can read the Secret in the serving namespace, calling from inside the mesh, can use them.
RESTRICTED_APIS = ("model-config", "model-repository", "statistics", "trace", "logging", "shared-memory")
ADMIN_HEADER = "x-mlplatform-triton-admin"
ADMIN_SECRET = "triton-admin"
ADMIN_SECRET_KEY = "key"
ADMIN_KEY_ENV = "TRITON_ADMIN_KEY"  # the kubelet expands $(TRITON_ADMIN_KEY) in args from the container's env


def restricted_api_args() -> list[str]:
    group = f"{','.join(RESTRICTED_APIS)}:{ADMIN_HEADER}=$({ADMIN_KEY_ENV})"
    return [f"--http-restricted-api={group}", f"--grpc-restricted-protocol={group}"]


def server_args(args: ServingStackArgs, version: ModelVersion) -> list[pulumi.Input[str]]:
    backends = [f"--backend-directory={BACKENDS_MOUNT}"] if args.triton_backends else []
    return [
        pulumi.Output.concat("--model-repository=", repository(args, version)),
        f"--http-port={HTTP_PORT}",
        f"--grpc-port={GRPC_PORT}",
        f"--metrics-port={METRICS_PORT}",
        "--strict-readiness=true",  # ready only once every model is loaded
        f"--exit-timeout-secs={args.drain_seconds}",  # in-flight requests finish after SIGTERM
        *restricted_api_args(),
        *args.triton_trace_args,
        *backends,
    ]


def termination_grace_seconds(args: ServingStackArgs) -> int:
    """Longer than the preStop wait plus Triton's drain, so the kubelet never cuts the drain short."""
    return ENDPOINT_GRACE_SECONDS + args.drain_seconds + TERMINATION_MARGIN_SECONDS


def resources(gpus: int) -> k8s.core.v1.ResourceRequirementsArgsDict:
    """GPUs are requested whole (requests = limits is the only form Kubernetes allows for them)."""
    memory = f"{MEMORY_GIB_PER_GPU * gpus}Gi"
    return {
        "requests": {"cpu": str(CPU_REQUEST_PER_GPU * gpus), "memory": memory, "nvidia.com/gpu": str(gpus)},
        "limits": {"cpu": str(CPU_LIMIT_PER_GPU * gpus), "memory": memory, "nvidia.com/gpu": str(gpus)},
    }


def probe(path: str, *, period: int, timeout: int, failures: int = 3) -> k8s.core.v1.ProbeArgsDict:
    return {
        "http_get": {"path": path, "port": PORT_NAMES[HTTP_PORT]},
        "period_seconds": period,
        "timeout_seconds": timeout,
        "failure_threshold": failures,
    }


def container_security() -> k8s.core.v1.SecurityContextArgsDict:
    """Restricted Pod Security: non-root, no escalation, no capabilities, the runtime's seccomp profile."""
    return {
        "run_as_non_root": True,
        "run_as_user": TRITON_UID,
        "run_as_group": TRITON_UID,
        "allow_privilege_escalation": False,
        "capabilities": {"drop": ["ALL"]},
        "read_only_root_filesystem": True,  # /tmp and /dev/shm are emptyDirs
        "seccomp_profile": {"type": "RuntimeDefault"},
    }


def environment(reader: ReaderIdentity) -> list[k8s.core.v1.EnvVarArgsDict]:
    """The identity's variables, and HOME on the writable /tmp (the image's user has no home)."""
    env: dict[str, pulumi.Input[str]] = {"HOME": "/tmp", **reader.env}
    admin: k8s.core.v1.EnvVarArgsDict = {
        "name": ADMIN_KEY_ENV,
        "value_from": {"secret_key_ref": {"name": ADMIN_SECRET, "key": ADMIN_SECRET_KEY}},
    }
    plain: list[k8s.core.v1.EnvVarArgsDict] = [{"name": key, "value": value} for key, value in sorted(env.items())]
    return [*plain, admin]


def container(args: ServingStackArgs, workload: Workload, reader: ReaderIdentity) -> k8s.core.v1.ContainerArgsDict:
    mounts: list[k8s.core.v1.VolumeMountArgsDict] = [
        {"name": "tmp", "mount_path": "/tmp"},
        {"name": "dshm", "mount_path": "/dev/shm"},
    ]
    if args.triton_backends:
        mounts.append({"name": "backends", "mount_path": BACKENDS_MOUNT, "read_only": True})
    return {
        "name": CONTAINER,
        "image": image(args),
        "command": ["tritonserver"],
        "args": server_args(args, workload.version),
        "ports": [{"name": port_name, "container_port": port} for port, port_name in PORT_NAMES.items()],
        "env": environment(reader),
        "resources": resources(workload.model.gpus_per_replica),
        "security_context": container_security(),
        "volume_mounts": mounts,
        # The image has coreutils; an exec sleep works whether or not the kubelet's sleep action is on.
        "lifecycle": {"pre_stop": {"exec_": {"command": ["sleep", str(ENDPOINT_GRACE_SECONDS)]}}},
        # Startup waits out the model's copy and load; then readiness gates traffic and liveness
        # restarts a server that stopped answering.
        "startup_probe": probe(READY_PATH, period=10, timeout=5, failures=STARTUP_BUDGET_SECONDS // 10),
        "readiness_probe": probe(READY_PATH, period=5, timeout=3),
        "liveness_probe": probe(LIVE_PATH, period=10, timeout=5),
    }


def wait_environment(
    args: ServingStackArgs, version: ModelVersion, reader: ReaderIdentity
) -> pulumi.Output[list[k8s.core.v1.EnvVarArgsDict]]:
    """The reader's bucket as an rclone remote in the environment (no config file to mount), the version, and
    the identity's own variables (the region on AWS), as Triton gets them."""

    def variables(remote: Remote, shown: str, identity_env: dict[str, str]) -> list[k8s.core.v1.EnvVarArgsDict]:
        env = {
            "HOME": "/tmp",
            **identity_env,
            **remote_env(remote),
            WAIT_VERSION: version_path(remote, version),
            WAIT_REPOSITORY: shown,
            WAIT_SECONDS: str(MODEL_WAIT_SECONDS),
            WAIT_POLL_SECONDS: str(MODEL_POLL_SECONDS),
            WAIT_MANIFEST_DIR: MANIFEST_MOUNT,
        }
        return [{"name": key, "value": value} for key, value in sorted(env.items())]

    return pulumi.Output.all(reader.remote, repository(args, version), pulumi.Output.from_input(reader.env)).apply(
        lambda values: variables(values[0], values[1], values[2])
    )


def wait_container(args: ServingStackArgs, workload: Workload, reader: ReaderIdentity) -> k8s.core.v1.ContainerArgsDict:
    """Before Triton: wait until the version is complete in the bucket (its marker, and files that match it)."""
    return {
        "name": WAIT_CONTAINER,
        "image": RCLONE_IMAGE,
        "command": ["/bin/sh", "-c", wait_script()],
        "env": wait_environment(args, workload.version, reader),
        "resources": WAIT_RESOURCES,
        "security_context": {**container_security(), "run_as_user": ISTIO_PROXY_UID, "run_as_group": ISTIO_PROXY_UID},
        "volume_mounts": [{"name": "tmp", "mount_path": "/tmp"}, {"name": "manifest", "mount_path": MANIFEST_MOUNT}],
    }


def verify_container(public_key: str, version: ModelVersion) -> k8s.core.v1.ContainerArgsDict:
    """After wait-for-model: the copied manifest's signature, for this version's path, with the stack's key."""
    return {
        "name": VERIFY_CONTAINER,
        "image": PYTHON.ref,
        "command": [
            "python3",
            "-c",
            model_signature.script(),
            "version",
            public_key,
            version.path.strip("/"),
            f"{MANIFEST_MOUNT}/{MARKER}",
            f"{MANIFEST_MOUNT}/{SIGNATURE}",
        ],
        "resources": WAIT_RESOURCES,
        "security_context": {**container_security(), "run_as_user": VERIFY_UID, "run_as_group": VERIFY_UID},
        "volume_mounts": [{"name": "manifest", "mount_path": MANIFEST_MOUNT, "read_only": True}],
    }


def backends_container(backends: tuple[str, ...]) -> k8s.core.v1.ContainerArgsDict:
    """Links the allowed backends of Triton's image into the directory Triton is told to load backends from (the
    links resolve in Triton's container, which has the same image; nothing is copied)."""
    links = " && ".join(f"ln -s {IMAGE_BACKENDS}/{name} {BACKENDS_MOUNT}/{name}" for name in backends)
    return {
        "name": BACKENDS_CONTAINER,
        "image": RCLONE_IMAGE,  # any image with a shell: this one is on the node already for wait-for-model
        "command": ["/bin/sh", "-c", f"rm -f {BACKENDS_MOUNT}/* && {links}"],
        "resources": WAIT_RESOURCES,
        "security_context": {**container_security(), "run_as_user": VERIFY_UID, "run_as_group": VERIFY_UID},
        "volume_mounts": [{"name": "backends", "mount_path": BACKENDS_MOUNT}],
    }


def init_containers(
    args: ServingStackArgs, workload: Workload, reader: ReaderIdentity
) -> list[k8s.core.v1.ContainerArgsDict]:
    """In order: the allowed backends, the wait for a complete version, its signature."""
    found = [backends_container(args.triton_backends)] if args.triton_backends else []
    found.append(wait_container(args, workload, reader))
    if args.model_public_key is not None:
        found.append(verify_container(args.model_public_key, workload.version))
    # rclone and python through the footprint's registry where it mirrors Docker Hub (`mlplatform:mirrorImages`).
    via = {RCLONE_IMAGE: RCLONE.ref_via(args.image_mirrors), PYTHON.ref: PYTHON.ref_via(args.image_mirrors)}
    return [{**c, "image": via.get(str(c.get("image")), c.get("image"))} for c in found]


def node_selector(cloud: Cloud, accelerator: str) -> dict[str, str]:
    """GPU nodes of the model's accelerator; on GKE also its compute class (spot first, then fallback)."""
    selector = {LABEL_ROLE: "gpu", LABEL_ACCELERATOR: accelerator.lower()}
    if cloud == "gcp":
        selector[COMPUTE_CLASS_LABEL] = compute_class_name(accelerator)
    return selector


def tolerations(cloud: Cloud, accelerator: str, *, spot: bool) -> list[k8s.core.v1.TolerationArgsDict]:
    """The GPU taint everywhere, the taints a cloud adds itself, and AKS's spot taint only where spot is allowed."""
    found: list[k8s.core.v1.TolerationArgsDict] = [
        {"key": GPU_TAINT_KEY, "operator": "Equal", "value": GPU_TAINT_VALUE, "effect": GPU_TAINT_EFFECT}
    ]
    if cloud == "azure" and spot:
        key, value, effect = AKS_SPOT_TAINT
        found.append({"key": key, "operator": "Equal", "value": value, "effect": effect})
    if cloud == "gcp":
        found.append(
            {
                "key": COMPUTE_CLASS_LABEL,
                "operator": "Equal",
                "value": compute_class_name(accelerator),
                "effect": "NoSchedule",
            }
        )
    return found


def affinity(*, floor: bool) -> k8s.core.v1.AffinityArgsDict:
    """The floor must run on on-demand nodes; the versions prefer spot but may take on-demand (fallback) nodes."""
    if floor:
        term: k8s.core.v1.NodeSelectorTermArgsDict = {
            "match_expressions": [{"key": LABEL_CAPACITY, "operator": "In", "values": ["on-demand"]}]
        }
        return {
            "node_affinity": {"required_during_scheduling_ignored_during_execution": {"node_selector_terms": [term]}}
        }
    preferred: k8s.core.v1.PreferredSchedulingTermArgsDict = {
        "weight": 100,
        "preference": {"match_expressions": [{"key": LABEL_CAPACITY, "operator": "In", "values": ["spot"]}]},
    }
    return {"node_affinity": {"preferred_during_scheduling_ignored_during_execution": [preferred]}}


def zone_spread(workload: Workload) -> k8s.core.v1.TopologySpreadConstraintArgsDict:
    """Across zones when capacity allows; never left Pending for it (GPU capacity is what it is)."""
    return {
        "max_skew": 1,
        "topology_key": "topology.kubernetes.io/zone",
        "when_unsatisfiable": "ScheduleAnyway",
        "label_selector": {"match_labels": workload.selector},
    }


def volumes(args: ServingStackArgs) -> list[k8s.core.v1.VolumeArgsDict]:
    found: list[k8s.core.v1.VolumeArgsDict] = [
        {"name": "tmp", "empty_dir": {}},  # the local copy of the model repository
        {"name": "dshm", "empty_dir": {"medium": "Memory", "size_limit": SHM_SIZE}},
        {"name": "manifest", "empty_dir": {"size_limit": "16Mi"}},  # wait-for-model's copy, for verify-model
    ]
    if args.triton_backends:
        found.append({"name": "backends", "empty_dir": {"size_limit": "1Mi"}})  # links only
    return found


def pod_template(
    args: ServingStackArgs, workload: Workload, reader: ReaderIdentity
) -> k8s.core.v1.PodTemplateSpecArgsDict:
    accelerator, cloud = workload.model.accelerator, args.target.cloud
    return {
        "metadata": {
            "labels": workload.labels(reader),
            # kubectl logs/exec pick Triton rather than the injected Istio proxy. The proxy as a native sidecar
            # whatever istiod's default: the kubelet stops it only after Triton has exited, so Triton's drain
            # (--exit-timeout-secs) is never cut short by a classic sidecar's own, shorter, drain.
            "annotations": {"kubectl.kubernetes.io/default-container": CONTAINER, NATIVE_SIDECAR_ANNOTATION: "true"},
        },
        "spec": {
            "service_account_name": SERVICE_ACCOUNT,
            # Workload identity comes through its own projected token (IRSA, Azure) or the GKE
            # metadata server, and Istio mounts its own: Triton never talks to the Kubernetes API.
            "automount_service_account_token": False,
            "security_context": {
                "run_as_non_root": True,
                "run_as_user": TRITON_UID,
                "run_as_group": TRITON_UID,
                "fs_group": TRITON_UID,
                "seccomp_profile": {"type": "RuntimeDefault"},
            },
            "init_containers": init_containers(args, workload, reader),
            "containers": [container(args, workload, reader)],
            "volumes": volumes(args),
            "node_selector": node_selector(cloud, accelerator),
            "tolerations": tolerations(cloud, accelerator, spot=not workload.floor),
            "affinity": affinity(floor=workload.floor),
            "topology_spread_constraints": [zone_spread(workload)],
            "termination_grace_period_seconds": termination_grace_seconds(args),
        },
    }


def deployment_spec(
    args: ServingStackArgs, workload: Workload, reader: ReaderIdentity, replicas: int | None
) -> k8s.apps.v1.DeploymentSpecArgsDict:
    """replicas=None leaves the count to the autoscaler (KEDA's HPA owns it; Pulumi must not reset it)."""
    spec: k8s.apps.v1.DeploymentSpecArgsDict = {
        "selector": {"match_labels": workload.selector},
        "template": pod_template(args, workload, reader),
        # A new pod is ready before an old one goes: serving capacity never dips during a rollout.
        "strategy": {"type": "RollingUpdate", "rolling_update": {"max_surge": 1, "max_unavailable": 0}},
        "progress_deadline_seconds": PROGRESS_DEADLINE_SECONDS,
        "revision_history_limit": 3,
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return spec
