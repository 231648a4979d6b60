"""Validate a plan's Kubernetes objects against official schemas, since mocks accept anything.

- Built-in kinds: the OpenAPI schemas of the clusters' default Kubernetes minor in `kubernetes-validate`
  (requirements-dev.txt), in strict mode, so an unknown or misspelled field fails too.
- Custom resources (Istio, KEDA, prometheus-operator): the JSON schemas of their CRDs, through the
  pinned @kubernetes-models packages in tests/k8s_schemas/package.json, run by validate.mjs on Node.
  Their validators check types, enums and required fields; like a CRD's structural schema they do
  not reject unknown fields. CRDs with no such package (Kyverno's ClusterPolicy) have their schema vendored in
  tests/k8s_schemas/crds from the chart's tag and are checked with jsonschema (VENDORED_DIR).
- Helm releases are left out: what a chart renders is the chart's business.

A planned `kubernetes:<group>/<version>:<Kind>` resource records its inputs as the object itself
(apiVersion, kind, metadata, spec, ...) in camelCase, so the inputs are the manifest.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate  # type: ignore[import-untyped]

from components.kubernetes_support import DEFAULT_VERSION
from preflight.plan import Plan

KUBERNETES_VERSION = DEFAULT_VERSION  # the minor the clusters run
SCHEMA_DIR = Path(__file__).with_name("k8s_schemas")
VALIDATOR = SCHEMA_DIR / "validate.mjs"
PACKAGES = ("istio", "keda", "prometheus-operator", "cert-manager")
INSTALL = "npm install --prefix tests/k8s_schemas --no-audit --no-fund --no-package-lock"
NOT_MANIFESTS = ("kubernetes:helm.sh/",)  # Helm releases
PLACEHOLDERS = ("[unknown]", "[secret]")  # what the recorder writes for values it cannot know


def manifests(plan: Plan) -> list[dict[str, Any]]:
    """Every Kubernetes object the plan would apply, as a manifest."""
    found = []
    for resource in plan.resources:
        if not resource.custom or not resource.type.startswith("kubernetes:"):
            continue
        if resource.type.startswith(NOT_MANIFESTS) or not {"apiVersion", "kind"} <= resource.inputs.keys():
            continue
        manifest = dict(resource.inputs)
        for key in ("data", "stringData"):
            if manifest.get("kind") == "Secret" and manifest.get(key) == "[secret]":
                # A Secret's data is a secret as a whole in the plan; the real value is a map of strings.
                manifest[key] = {"masked": "[secret]"}
        found.append(manifest)
    return found


def describe(manifest: dict[str, Any]) -> str:
    meta = manifest.get("metadata") or {}
    return f"{manifest.get('apiVersion')} {manifest.get('kind')} {meta.get('namespace', '')}/{meta.get('name', '')}"


def builtin_error(manifest: dict[str, Any]) -> str | None:
    """The schema's complaint about a built-in object, or None if it is valid.

    Raises kubernetes_validate.SchemaNotFoundError for a kind Kubernetes does not define (a custom resource).
    """
    try:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        where = ".".join(str(part) for part in error.path) or "(root)"
        return f"{describe(manifest)}: {where}: {error.message}"
    return None


def split(objects: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """Validate the built-in objects; return their errors and the custom resources left over."""
    errors, custom = [], []
    for manifest in objects:
        try:
            error = builtin_error(manifest)
        except kubernetes_validate.SchemaNotFoundError:
            custom.append(manifest)
            continue
        if error:
            errors.append(error)
    return errors, custom


def custom_validator_missing() -> str | None:
    """Why custom resources cannot be checked here (the tests fail with it, never skip), or None when they can."""
    if shutil.which("node") is None:
        return "node is not installed (the CRD validators run on Node)"
    missing = [p for p in PACKAGES if not (SCHEMA_DIR / "node_modules" / "@kubernetes-models" / p).is_dir()]
    if missing:
        return f"@kubernetes-models/{', '.join(missing)} not installed: run `{INSTALL}`"
    return None


# @kubernetes-models/prometheus-operator 6.0.0 models a Prometheus's storage.volumeClaimTemplate as a kind of its own
# and requires `apiVersion: monitoring.coreos.com/v1, kind: EmbeddedPersistentVolumeClaim`; the CRD itself
# (kube-prometheus-stack 88.5.3, crd-prometheuses.yaml) declares both as optional strings, and the operator copies
# them into the StatefulSet's claim. Where an object leaves them out, what the package wants is filled in so the rest
# of the template is still checked.
EMBEDDED_CLAIM = {"apiVersion": "monitoring.coreos.com/v1", "kind": "EmbeddedPersistentVolumeClaim"}


def _without_package_gaps(manifest: dict[str, Any]) -> dict[str, Any]:
    template = (manifest.get("spec") or {}).get("storage", {}).get("volumeClaimTemplate")
    if manifest.get("apiVersion") != "monitoring.coreos.com/v1" or not isinstance(template, dict):
        return manifest
    filled = json.loads(json.dumps(manifest))
    filled["spec"]["storage"]["volumeClaimTemplate"] = {**EMBEDDED_CLAIM, **template}
    return filled


# CRDs with no @kubernetes-models package: their openAPIV3Schema vendored as JSON (tests/k8s_schemas/crds, each file
# naming its source tag and path), checked here with jsonschema. Like the packages' validators, they check types,
# enums and required fields; unknown fields pass, as a structural schema would prune them.
VENDORED_DIR = SCHEMA_DIR / "crds"


def _vendored_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for path in sorted(VENDORED_DIR.glob("*.json")):
        document = json.loads(path.read_text())
        found[(document["apiVersion"], document["kind"])] = document["openAPIV3Schema"]
    return found


def vendored_errors(manifest: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{describe(manifest)}: {'.'.join(str(p) for p in error.path) or '(root)'}: {error.message}"
        for error in validator.iter_errors(manifest)
    ]


def custom_errors(objects: list[dict[str, Any]]) -> list[str]:
    """Each custom resource against its CRD's schema; an object with no schema there is an error too."""
    vendored = _vendored_schemas()
    local = [m for m in objects if (m.get("apiVersion"), m.get("kind")) in vendored]
    objects = [m for m in objects if (m.get("apiVersion"), m.get("kind")) not in vendored]
    found = [error for m in local for error in vendored_errors(m, vendored[(m["apiVersion"], m["kind"])])]
    if not objects:
        return found
    return found + _package_errors(objects)


def _package_errors(objects: list[dict[str, Any]]) -> list[str]:
    objects = [_without_package_gaps(manifest) for manifest in objects]
    result = subprocess.run(
        ["node", str(VALIDATOR)],
        input=json.dumps(objects),
        capture_output=True,
        text=True,
        cwd=SCHEMA_DIR,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"validate.mjs failed ({result.returncode}): {result.stderr.strip()}")
    return [f"{problem['object']}: {problem['error']}" for problem in json.loads(result.stdout)]


def placeholders(objects: list[dict[str, Any]]) -> list[str]:
    """Objects carrying values the plan could not know: their schema check would prove little."""
    return [describe(m) for m in objects if any(p in json.dumps(m) for p in PLACEHOLDERS)]
