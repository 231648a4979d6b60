"""What the sync and asyncio clients share besides the Router: building requests and reading answers."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mlplatform_client.attempts import Attempt
from mlplatform_client.tensors import InferResult, ModelMetadata, Tensor, as_tensor
from mlplatform_client.transport import Request, infer_request, model_path

log = logging.getLogger("mlplatform_client")

Listener = Callable[[Attempt], None]
Inputs = Sequence[Tensor | Mapping[str, Any]]


def predict_request(
    model: str,
    inputs: Inputs,
    outputs: Sequence[str] | None,
    parameters: Mapping[str, Any] | None,
    version: str | None,
    request_id: str | None,
) -> Request:
    """The V2 inference request; one id for every attempt, so a hedged duplicate is recognisable in server logs."""
    if isinstance(inputs, (Tensor, Mapping)) or not inputs:
        raise TypeError("inputs must be a non-empty list of Tensor (or V2 tensor dicts)")
    body: dict[str, Any] = {"id": request_id or uuid.uuid4().hex, "inputs": [as_tensor(t).to_json() for t in inputs]}
    if outputs:
        body["outputs"] = [{"name": name} for name in outputs]
    if parameters:
        body["parameters"] = dict(parameters)
    return infer_request(model, body, version)


def metadata_request(model: str, version: str | None) -> Request:
    return Request("GET", model_path(model, version))


def ready_request(model: str, version: str | None) -> Request:
    return Request("GET", f"{model_path(model, version)}/ready")


def infer_result(payload: Any, target: str, attempts: Sequence[Attempt]) -> InferResult:
    return InferResult.from_json(payload if isinstance(payload, Mapping) else {}, target, attempts)


def model_metadata(payload: Any, target: str) -> ModelMetadata:
    return ModelMetadata.from_json(payload if isinstance(payload, Mapping) else {}, target)


def notify(listener: Listener | None, attempt: Attempt) -> None:
    """Tell the caller's listener; its failure must not fail the call."""
    if listener is None:
        return
    try:
        listener(attempt)
    except Exception:
        log.exception("attempt listener failed on %s", attempt)
