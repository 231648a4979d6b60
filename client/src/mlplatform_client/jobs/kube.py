"""The target's Kubernetes API over HTTPS with httpx, from the kubeconfig in the stack outputs: no kubectl.

A kubeconfig names the server, its CA and how to authenticate. The platform's clusters use three ways: an exec
credential plugin (EKS: `aws eks get-token`; GKE: gke-gcloud-auth-plugin; AKS with Entra ID: kubelogin), a bearer
token, or a client certificate (AKS with local accounts, dev). The exec plugin's protocol: run the command with its
args and env, read an ExecCredential (client.authentication.k8s.io/v1 or v1beta1) from its stdout and use
`status.token` or `status.clientCertificateData`/`clientKeyData` (kubernetes.io/docs/reference/access-authn-authz/
authentication/#client-go-credential-plugins, read 2026-12). The kubeconfig is YAML (AKS) or JSON (EKS, GKE):
PyYAML reads both (the `jobs` extra).
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

Runner = Callable[..., Any]  # subprocess.run's signature


class KubeError(Exception):
    """A kubeconfig the client cannot use, or an API call that failed (the message is one line)."""


@dataclass(frozen=True)
class Credentials:
    token: str | None = None
    cert_pem: str | None = None
    key_pem: str | None = None


@dataclass(frozen=True)
class Cluster:
    server: str
    ca_pem: str | None
    user: Mapping[str, Any]


def _decode(value: str, what: str) -> str:
    try:
        return base64.b64decode(value).decode()
    except ValueError:
        raise KubeError(f"the kubeconfig's {what} is not base64") from None


def parse(text: str) -> Cluster:
    """The current context's cluster and user."""
    try:
        import yaml  # the jobs extra
    except ImportError:
        raise KubeError("reading a kubeconfig needs PyYAML: pip install 'mlplatform-client[jobs]'") from None
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError:
        raise KubeError("the kubeconfig is neither YAML nor JSON") from None
    if not isinstance(config, dict):
        raise KubeError("the kubeconfig is not a map")

    def named(kind: str, name: Any) -> dict[str, Any]:
        for entry in config.get(kind) or []:
            if isinstance(entry, dict) and entry.get("name") == name:
                return dict(entry.get(kind[:-1]) or {})
        raise KubeError(f"the kubeconfig has no {kind[:-1]} {name!r}")

    context = named("contexts", config.get("current-context"))
    cluster, user = named("clusters", context.get("cluster")), named("users", context.get("user"))
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith("https://"):
        raise KubeError("the kubeconfig's cluster has no https server")
    ca = cluster.get("certificate-authority-data")
    return Cluster(server.rstrip("/"), _decode(ca, "certificate-authority-data") if ca else None, user)


def exec_env(exec_config: Mapping[str, Any]) -> dict[str, str]:
    """The plugin's environment: ours, its `env` entries, and KUBERNETES_EXEC_INFO (not interactive)."""
    env = dict(os.environ)
    env.update({str(e["name"]): str(e["value"]) for e in exec_config.get("env") or [] if isinstance(e, dict)})
    api_version = exec_config.get("apiVersion", "client.authentication.k8s.io/v1beta1")
    info = {"apiVersion": api_version, "kind": "ExecCredential", "spec": {"interactive": False}}
    env["KUBERNETES_EXEC_INFO"] = json.dumps(info)
    return env


def credentials(cluster: Cluster, run: Runner) -> Credentials:
    user = cluster.user
    if isinstance(user.get("token"), str):
        return Credentials(token=user["token"])
    if user.get("client-certificate-data") and user.get("client-key-data"):
        return Credentials(
            cert_pem=_decode(user["client-certificate-data"], "client-certificate-data"),
            key_pem=_decode(user["client-key-data"], "client-key-data"),
        )
    exec_config = user.get("exec")
    if not isinstance(exec_config, dict) or not isinstance(exec_config.get("command"), str):
        raise KubeError("the kubeconfig's user has no token, client certificate or exec plugin")
    command = [exec_config["command"], *[str(a) for a in exec_config.get("args") or []]]
    try:
        done = run(command, capture_output=True, text=True, check=False, env=exec_env(exec_config), timeout=60)
    except OSError as error:
        hint = exec_config.get("installHint") or ""
        raise KubeError(f"cannot run {command[0]} ({error.strerror}); {hint}".strip().rstrip(";")) from None
    if done.returncode != 0:
        last = (done.stderr or "").strip().splitlines()[-1:] or ["no message"]
        raise KubeError(f"{command[0]} failed: {last[0]}")
    try:
        status = json.loads(done.stdout)["status"]
    except (ValueError, KeyError, TypeError):
        raise KubeError(f"{command[0]} printed no ExecCredential") from None
    if status.get("token"):
        return Credentials(token=status["token"])
    if status.get("clientCertificateData") and status.get("clientKeyData"):
        return Credentials(cert_pem=status["clientCertificateData"], key_pem=status["clientKeyData"])
    raise KubeError(f"{command[0]}'s ExecCredential has neither a token nor a client certificate")


@contextmanager
def client(cluster: Cluster, creds: Credentials, timeout: float = 30) -> Iterator[httpx.Client]:
    """An httpx client for the API server: its CA trusted, the credentials attached (a client key only in a private
    temporary file, removed on exit: ssl loads certificate chains from files)."""
    tls = ssl.create_default_context(cadata=cluster.ca_pem) if cluster.ca_pem else ssl.create_default_context()
    paths: list[str] = []
    try:
        if creds.cert_pem and creds.key_pem:
            for pem in (creds.cert_pem, creds.key_pem):
                handle, path = tempfile.mkstemp(suffix=".pem")
                with os.fdopen(handle, "w") as out:
                    out.write(pem)
                paths.append(path)
            tls.load_cert_chain(paths[0], paths[1])
        headers = {"Authorization": f"Bearer {creds.token}"} if creds.token else {}
        with httpx.Client(base_url=cluster.server, verify=tls, headers=headers, timeout=timeout) as http:
            yield http
    finally:
        for path in paths:
            os.unlink(path)


def job_path(namespace: str, name: str = "") -> str:
    return f"/apis/batch/v1/namespaces/{namespace}/jobs" + (f"/{name}" if name else "")


def workloads_path(namespace: str) -> str:
    return f"/apis/kueue.x-k8s.io/v1beta2/namespaces/{namespace}/workloads"


def pods_path(namespace: str) -> str:
    return f"/api/v1/namespaces/{namespace}/pods"


def pods_of(name: str) -> dict[str, str]:
    """The query that lists a Job's pods (the Job controller labels each with the Job's name)."""
    return {"labelSelector": f"batch.kubernetes.io/job-name={name}"}


# Cancelling deletes the Job and, in the background, its pods (Kueue deletes the Workload it owns with it).
DELETE_BACKGROUND = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"}


def checked(response: httpx.Response) -> dict[str, Any]:
    """The response's object, or KubeError with the API's own message."""
    if response.status_code >= 400:
        try:
            message = response.json().get("message") or response.reason_phrase
        except ValueError:
            message = response.reason_phrase
        raise KubeError(f"{response.request.method} {response.request.url.path}: {response.status_code} {message}")
    result: dict[str, Any] = response.json()
    return result
