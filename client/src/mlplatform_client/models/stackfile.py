"""Apply a promotion decision to the stack file (Pulumi.<stack>.yaml) for a pull request, comments kept.

ruamel.yaml's round-trip mode keeps comments, key order and flow style; only the model's `stable` and `canary`
entries under `mlplatform:models` change. `pulumi up` from the merged pull request moves the Istio weights.
"""

from __future__ import annotations

import io
from typing import Any

from mlplatform_client.models.errors import ModelsError
from mlplatform_client.models.promotion import Decision

MODELS_KEY = "mlplatform:models"
PROMOTION_KEY = "mlplatform:promotion"


def _yaml() -> Any:
    try:
        from ruamel.yaml import YAML
    except ImportError:
        raise ModelsError("editing the stack file needs ruamel.yaml: pip install 'mlplatform-client[models]'") from None
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line
    yaml.indent(mapping=2, sequence=4, offset=2)  # the stack files' layout: list dashes indented under their key
    return yaml


def _entry(document: Any, model: str) -> Any:
    models = (document or {}).get("config", {}).get(MODELS_KEY)
    entry = next((m for m in models or [] if isinstance(m, dict) and m.get("name") == model), None)
    if entry is None:
        raise ModelsError(f"{MODELS_KEY}: no model named {model}")
    if entry.get("canary") is None:
        raise ModelsError(f"{MODELS_KEY}: {model} has no canary to promote or roll back")
    return entry


def settings(text: str, model: str) -> tuple[dict[str, Any], str]:
    """The promotion bounds the stack file sets for `model` (`mlplatform:promotion`, then the model's own
    `promotion`, key by key: unchecked here, see moves.bounds) and its routing mode (default canary)."""
    document = _yaml().load(text)
    config = (document or {}).get("config", {})
    entry = _entry(document, model)
    found: dict[str, Any] = {}
    for layer in (config.get(PROMOTION_KEY), entry.get("promotion")):
        if layer is not None and not isinstance(layer, dict):
            raise ModelsError(f"{PROMOTION_KEY}: expected a map of bounds for {model}")
        found.update(layer or {})
    return found, str(entry.get("routing", "canary"))


def canary(text: str, model: str) -> tuple[str, int]:
    """The canary's version name and weight in the stack file."""
    found = _entry(_yaml().load(text), model)["canary"]
    return str(found.get("name")), int(found.get("weight", 0))


def apply(text: str, model: str, decision: Decision) -> str:
    """The stack file's text with the decision applied to `model` (hold: unchanged)."""
    yaml = _yaml()
    document = yaml.load(text)
    entry = _entry(document, model)
    canary = entry["canary"]
    if decision.action == "hold":
        return text
    if decision.action == "promote":
        canary["weight"] = 100
        entry["stable"] = canary
        del entry["canary"]
    else:
        canary["weight"] = decision.weight
        entry["stable"]["weight"] = 100 - decision.weight
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()
