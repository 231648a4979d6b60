"""`mlplatform jobs status|logs|cancel`: arguments, the kubeconfig's credentials (token, client certificate, exec
plugin), the API client's TLS and headers, and what status prints from a Job, its Workload and pods. No Kubernetes API
server installs from a registry here (PyPI, npm and Debian have kubectl, not kube-apiserver), so the calls themselves
are not exercised against one."""

from __future__ import annotations

import base64
import datetime
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mlplatform_client.jobs import kube
from mlplatform_client.jobs.cli import main
from mlplatform_client.jobs.status import describe, newest_pod, state

from tests.test_jobs_cli import OUTPUTS


def _pem_pair() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


CERT, KEY = _pem_pair()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _kubeconfig(user: dict[str, Any]) -> str:
    """A GKE-style JSON kubeconfig (EKS's is JSON too; AKS's YAML is read by the same parser)."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "c",
            "clusters": [
                {"name": "c", "cluster": {"server": "https://10.0.0.1", "certificate-authority-data": _b64(CERT)}}
            ],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            "users": [{"name": "u", "user": user}],
        }
    )


class Plugin:
    """Stands in for subprocess.run running an exec credential plugin: records the call, prints `stdout`."""

    def __init__(self, stdout: str, returncode: int = 0) -> None:
        self.stdout, self.returncode = stdout, returncode
        self.calls: list[tuple[list[str], dict[str, str]]] = []

    def __call__(self, command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append((command, kwargs.get("env") or {}))
        return subprocess.CompletedProcess(command, self.returncode, self.stdout, "token expired\n")


EXEC = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws", "args": ["eks", "get-token"],
                 "env": [{"name": "AWS_PROFILE", "value": "ml"}]}}  # fmt: skip
CREDENTIAL = json.dumps({"kind": "ExecCredential", "status": {"token": "k8s-aws-v1.abc"}})


def test_an_exec_plugin_is_run_with_its_args_env_and_exec_info_and_its_token_used() -> None:
    cluster = kube.parse(_kubeconfig(EXEC))
    plugin = Plugin(CREDENTIAL)
    creds = kube.credentials(cluster, plugin)
    assert creds.token == "k8s-aws-v1.abc"
    [(command, env)] = plugin.calls
    assert command == ["aws", "eks", "get-token"] and env["AWS_PROFILE"] == "ml"
    assert json.loads(env["KUBERNETES_EXEC_INFO"])["spec"] == {"interactive": False}
    with kube.client(cluster, creds) as api:
        assert str(api.base_url) == "https://10.0.0.1" and api.headers["Authorization"] == "Bearer k8s-aws-v1.abc"


def test_a_yaml_kubeconfig_with_a_client_certificate_loads_it_and_removes_the_key_file(tmp_path: Path) -> None:
    text = (
        "apiVersion: v1\nkind: Config\ncurrent-context: aks\n"
        f"clusters:\n- name: aks\n  cluster:\n    server: https://aks.example:443\n"
        f"    certificate-authority-data: {_b64(CERT)}\n"
        "contexts:\n- name: aks\n  context: {cluster: aks, user: admin}\n"
        f"users:\n- name: admin\n  user:\n    client-certificate-data: {_b64(CERT)}\n"
        f"    client-key-data: {_b64(KEY)}\n"
    )
    cluster = kube.parse(text)
    creds = kube.credentials(cluster, Plugin(""))
    assert creds.cert_pem == CERT and creds.token is None
    with kube.client(cluster, creds) as api:
        assert "Authorization" not in api.headers


@pytest.mark.parametrize(
    ("kubeconfig", "plugin", "message"),
    [
        (_kubeconfig(EXEC), Plugin("", returncode=1), "aws failed: token expired"),
        (_kubeconfig(EXEC), Plugin("not json"), "aws printed no ExecCredential"),
        (_kubeconfig({}), Plugin(""), "the kubeconfig's user has no token, client certificate or exec plugin"),
        ("[1, 2]", Plugin(""), "the kubeconfig is not a map"),
    ],
)
def test_a_cluster_the_client_cannot_reach_is_one_line_exit_1(
    kubeconfig: str, plugin: Plugin, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({**OUTPUTS, "kubeconfigs": {"aws-east": kubeconfig, "gcp-cent": kubeconfig}}))
    code = main(["jobs", "status", "train-1", "--target", "aws-east", "--stack-outputs", str(outputs)], run=plugin)
    err = capsys.readouterr().err
    assert (code, err) == (1, f"mlplatform: {message}\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["status", "Train_1"], "NAME: 'Train_1' is not a Job name"),
        (["logs", "train-1", "--target", "azure-x"], "--target: unknown target 'azure-x' (training targets: aws-east,"),
        (["cancel", "train-1", "--team", "vision"], "--team: unknown team 'vision' (teams: ml)"),
        (["cancel", "train-1", "--", "rm"], "cancel takes no command after --"),
        (["status"], "the following arguments are required: name"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_reaches_no_cluster(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({**OUTPUTS, "kubeconfigs": {"aws-east": _kubeconfig(EXEC)}}))
    plugin = Plugin(CREDENTIAL)
    code = main(["jobs", *argv, "--stack-outputs", str(outputs)], run=plugin)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"mlplatform: {message}") and err.count("\n") == 1
    assert plugin.calls == []


JOB = {
    "metadata": {"name": "train-1", "namespace": "train-ml", "annotations": {"mlplatform.io/moved-to-on-demand": "x"}},
    "spec": {"suspend": False, "template": {"spec": {"nodeSelector": {"mlplatform.io/capacity": "on-demand"}}}},
    "status": {"active": 1},
}
WORKLOAD = {
    "metadata": {"ownerReferences": [{"kind": "Job", "name": "train-1"}]},
    "status": {
        "admission": {"podSetAssignments": [{"name": "main", "flavors": {"nvidia.com/gpu": "t4t-on-demand"}}]},
        "conditions": [{"type": "Admitted", "status": "True"}],
        "requeueState": {"count": 2},
    },
}
PODS: list[dict[str, Any]] = [
    {"metadata": {"name": "train-1-a", "creationTimestamp": "2026-12-02T10:00:00Z"}, "spec": {"nodeName": "n1"},
     "status": {"phase": "Failed", "conditions": [{"type": "DisruptionTarget", "status": "True"}]}},
    {"metadata": {"name": "train-1-b", "creationTimestamp": "2026-12-02T11:00:00Z"}, "spec": {"nodeName": "n2"},
     "status": {"phase": "Running"}},
]  # fmt: skip


def test_status_says_where_kueue_admitted_the_job_why_it_moved_and_which_pod_was_reclaimed() -> None:
    assert describe(JOB, WORKLOAD, PODS) == [
        "job train-ml/train-1: running",
        "capacity: on-demand",
        "pods: 1 active, 0 succeeded, 0 failed",
        "moved to on demand: x",
        "kueue: admitted on t4t-on-demand",
        "evicted waiting for nodes: 2 times",
        "pod train-1-a: Failed on n1 (reclaimed)",
        "pod train-1-b: Running on n2",
    ]
    assert newest_pod(PODS) == "train-1-b"  # logs: the replacement, not the reclaimed pod
    assert state({**JOB, "spec": {"suspend": True}}) == "queued"
    assert state({"status": {"conditions": [{"type": "Complete", "status": "True"}]}}) == "succeeded"
    assert describe(JOB, None, [])[-1] == "kueue: no workload yet"


def test_the_api_paths_name_the_jobs_pods_and_cancel_in_the_background() -> None:
    assert kube.job_path("train-ml", "train-1") == "/apis/batch/v1/namespaces/train-ml/jobs/train-1"
    assert kube.workloads_path("train-ml") == "/apis/kueue.x-k8s.io/v1beta2/namespaces/train-ml/workloads"
    assert kube.pods_of("train-1") == {"labelSelector": "batch.kubernetes.io/job-name=train-1"}
    assert kube.DELETE_BACKGROUND["propagationPolicy"] == "Background"
