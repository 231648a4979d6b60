// Validates custom resources against their CRDs' JSON schemas, as shipped by the pinned
// @kubernetes-models packages (package.json): each model class carries a validator generated
// from the CRD, and `validate()` throws on an object the schema refuses.
//
// Reads a JSON array of objects on stdin; writes a JSON array of {object, error} for every
// object that is invalid or has no schema here. tests/k8s_schemas.py runs it.
import { readFileSync } from "node:fs";

// API group -> the package whose subpath "<group>/<version>" exports one class per kind.
const PACKAGES = {
  "networking.istio.io": "@kubernetes-models/istio",
  "security.istio.io": "@kubernetes-models/istio",
  "telemetry.istio.io": "@kubernetes-models/istio",
  "keda.sh": "@kubernetes-models/keda",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
  "cert-manager.io": "@kubernetes-models/cert-manager",
};

async function modelClass(apiVersion, kind) {
  const [group, version] = String(apiVersion).split("/");
  if (!PACKAGES[group] || !version) return undefined;
  try {
    const module = await import(`${PACKAGES[group]}/${apiVersion}`);
    return module[kind];
  } catch {
    return undefined; // no such version in the package
  }
}

function describe(object) {
  const meta = object.metadata ?? {};
  return `${object.apiVersion} ${object.kind} ${meta.namespace ?? ""}/${meta.name ?? ""}`;
}

const objects = JSON.parse(readFileSync(0, "utf8"));
const problems = [];
for (const object of objects) {
  const Model = await modelClass(object.apiVersion, object.kind);
  if (!Model) {
    problems.push({ object: describe(object), error: "no CRD schema for this apiVersion and kind" });
    continue;
  }
  try {
    new Model(object).validate();
  } catch (error) {
    problems.push({ object: describe(object), error: error.message });
  }
}
process.stdout.write(JSON.stringify(problems));
