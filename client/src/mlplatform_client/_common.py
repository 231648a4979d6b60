"""What the sync and asyncio clients share besides the Router: checking a call, building its request, reading answers.

A call's own arguments are checked here, once for both clients and before anything is sent: a mistake in them
is the caller's, the same on every target, so it raises InvalidRequestError naming the argument instead of
spending a request (or a retry on every target) to hear a 400. An answer is read here too, in the attempt
itself: a 200 that is not a V2 answer is that target failing (Outcome.MALFORMED), so the call moves on.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from mlplatform_client.attempts import Attempt, Outcome
from mlplatform_client.durations import seconds
from mlplatform_client.errors import InvalidRequestError
from mlplatform_client.tensors import FLOATS, InferResult, ModelMetadata, Tensor, as_tensor
from mlplatform_client.transport import Answer, Request, infer_request, model_path

log = logging.getLogger("mlplatform_client")

Listener = Callable[[Attempt], None]
Inputs = Sequence[Tensor | Mapping[str, Any]]
Decoder = Callable[[Any, str], Any]  # a 200's JSON and the target that sent it -> the call's result
MAX_JSON_DEPTH = 64  # parameters nested deeper than this are refused


def check_model(model: object) -> str:
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequestError(f"model must be a model name (a non-empty string), got {model!r}")
    return model


def check_version(version: object) -> str | None:
    if version is not None and (not isinstance(version, str) or not version.strip()):
        raise InvalidRequestError(f"version must be None or a non-empty string such as '1', got {version!r}")
    return version


def call_deadline(deadline: object, default: float) -> float:
    """A call's deadline: None is the client's `deadline`; otherwise the one rule of durations.py."""
    return default if deadline is None else seconds("deadline", deadline, InvalidRequestError)


def predict_request(
    model: str,
    inputs: Inputs,
    outputs: Sequence[str] | None,
    parameters: Mapping[str, Any] | None,
    version: str | None,
    request_id: str | None,
) -> Request:
    """The V2 inference request, checked whole; one id for every attempt, so a hedged duplicate is recognisable."""
    check_model(model)
    check_version(version)
    if request_id is not None and (not isinstance(request_id, str) or not request_id):
        raise InvalidRequestError(f"request_id must be None or a non-empty string, got {request_id!r}")
    body: dict[str, Any] = {"id": request_id or uuid.uuid4().hex, "inputs": _inputs(inputs)}
    names = _output_names(outputs)
    if names:
        body["outputs"] = [{"name": name} for name in names]
    if parameters is not None:
        if not isinstance(parameters, Mapping):
            raise InvalidRequestError(f"parameters must be a mapping, got {type(parameters).__name__}")
        check_json(parameters, "parameters")
        if parameters:
            body["parameters"] = dict(parameters)
    return infer_request(model, body, version)


def _inputs(inputs: Inputs) -> list[dict[str, Any]]:
    if not isinstance(inputs, (list, tuple)) or not inputs:
        got = "an empty list" if isinstance(inputs, (list, tuple)) else type(inputs).__name__
        raise InvalidRequestError(f"inputs must be a non-empty list of Tensor (or V2 tensor dicts), got {got}")
    encoded, seen = [], set()
    for i, item in enumerate(inputs):
        if not isinstance(item, (Tensor, Mapping)):
            raise InvalidRequestError(f"inputs[{i}] is {type(item).__name__}, not a Tensor or a V2 tensor dict")
        try:
            tensor = as_tensor(item)
            body = tensor.to_json()
        except InvalidRequestError as error:
            raise InvalidRequestError(f"inputs[{i}]: {error}") from None
        if tensor.name in seen:
            raise InvalidRequestError(f"inputs[{i}]: the name {tensor.name!r} is given twice")
        seen.add(tensor.name)
        if tensor.datatype in FLOATS:
            bad = next((j for j, x in enumerate(tensor.data) if isinstance(x, float) and not math.isfinite(x)), None)
            if bad is not None:
                raise InvalidRequestError(
                    f"inputs[{i}]: tensor {tensor.name}: value {bad} is {tensor.data[bad]}, which JSON cannot carry"
                )
        check_json(body.get("parameters", {}), f"inputs[{i}].parameters")
        encoded.append(body)
    return encoded


def _output_names(outputs: Sequence[str] | None) -> list[str]:
    if outputs is None:
        return []
    if not isinstance(outputs, (list, tuple)) or not all(isinstance(n, str) and n for n in outputs):
        raise InvalidRequestError(f"outputs must be None or a list of output names, got {outputs!r}")
    return list(outputs)


def check_json(value: Any, where: str, depth: int = 0) -> None:
    """`value` is something JSON carries as it is: null, booleans, finite numbers, strings, lists, objects
    with string keys. The first thing that is not is named by its path (`parameters.k[2]`)."""
    if depth > MAX_JSON_DEPTH:
        raise InvalidRequestError(f"{where}: nested deeper than {MAX_JSON_DEPTH} levels")
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidRequestError(f"{where} is {value}, which JSON cannot carry")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_json(item, f"{where}[{i}]", depth + 1)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidRequestError(f"{where}: key {key!r} is not a string")
            check_json(item, f"{where}.{key}", depth + 1)
        return
    raise InvalidRequestError(f"{where} is {type(value).__name__}, which JSON cannot carry")


def metadata_request(model: str, version: str | None) -> Request:
    return Request("GET", model_path(check_model(model), check_version(version)))


def ready_request(model: str, version: str | None) -> Request:
    return Request("GET", f"{model_path(check_model(model), check_version(version))}/ready")


def infer_decoder(outputs: Sequence[str] | None) -> Decoder:
    """Reads an inference answer; when the caller named outputs, an answer must carry each of them."""
    wanted = list(outputs or ())

    def decode(payload: Any, target: str) -> InferResult:
        result = InferResult.from_json(payload, target, ())
        missing = [name for name in wanted if name not in {t.name for t in result.outputs}]
        if missing:
            raise InvalidRequestError(f"the answer lacks the outputs asked for: {', '.join(missing)}")
        return result

    return decode


def metadata_decoder(payload: Any, target: str) -> ModelMetadata:
    return ModelMetadata.from_json(payload, target)


def decoded(answer: Answer, decode: Decoder) -> Answer:
    """A 200's JSON read by `decode`; one it refuses makes the attempt MALFORMED, a failure of its target."""
    if answer.attempt.outcome is not Outcome.OK:
        return answer
    try:
        return Answer(answer.attempt, decode(answer.payload, answer.attempt.target))
    except InvalidRequestError as error:  # here the "request" is the server's answer: it is the target's fault
        return Answer(replace(answer.attempt, outcome=Outcome.MALFORMED, detail=f"malformed answer: {error}"))


def with_attempts(result: InferResult, attempts: Sequence[Attempt]) -> InferResult:
    return replace(result, attempts=tuple(attempts))


def notify(listener: Listener | None, attempt: Attempt) -> None:
    """Tell the caller's listener; its failure must not fail the call."""
    if listener is None:
        return
    try:
        listener(attempt)
    except Exception:
        log.exception("attempt listener failed on %s", attempt)
