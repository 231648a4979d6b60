"""Property-based tests (hypothesis) of what the client sends and what it accepts.

Request encoding: whatever a caller passes to predict() (nested lists of any values, numpy-like arrays, V2 dicts
with any keys, any model name, deadline, outputs or parameters), the call either raises the client's own
InvalidRequestError before sending anything, or sends a request that is a valid V2 inference request.
Response decoding: whatever a target answers with a 200 (any JSON value, any bytes, any Content-Type), the call
returns that target's answer exactly when it is a valid V2 answer, and otherwise moves on to the next target
(which answers well here), having counted a malformed answer; never another exception.

"Valid" is judged here, by an oracle written from the KServe V2 protocol's JSON rules (the inference request
and response objects, tensor data types), not by the client's code. Both targets are real HTTP servers on
loopback answering fixed bytes (tests/client_fixed_server.py). The examples are bounded and derandomized:
the same examples on every run, a few seconds in all.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from mlplatform_client import (
    AsyncMultiCloudClient,
    Endpoint,
    InferResult,
    InvalidRequestError,
    MultiCloudClient,
    MultiCloudError,
    Outcome,
    Tensor,
)

from tests.client_fixed_server import Fixed, FixedServer

MODEL = "fraud-detection"
PROPERTY = settings(
    max_examples=150,
    derandomize=True,  # the same examples on every run: CI never meets a new one by chance
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- the oracle: KServe V2 JSON, from the protocol's text ---

# "Tensor Data Types": the integer types' ranges are those of their widths.
INTEGER_RANGES = {
    "INT8": (-(2**7), 2**7 - 1), "INT16": (-(2**15), 2**15 - 1), "INT32": (-(2**31), 2**31 - 1),
    "INT64": (-(2**63), 2**63 - 1), "UINT8": (0, 2**8 - 1), "UINT16": (0, 2**16 - 1), "UINT32": (0, 2**32 - 1),
    "UINT64": (0, 2**64 - 1),
}  # fmt: skip
FLOATS = ("FP16", "FP32", "FP64")
V2_DATATYPES = ("BOOL", *INTEGER_RANGES, *FLOATS, "BYTES")


class NotV2Error(Exception):
    """The oracle's verdict: not valid V2."""


def flat(data: Any) -> list[Any]:
    """Row-major values of V2 data: an array, flat or nested, with rows of equal shape."""

    def walk(value: Any) -> tuple[tuple[int, ...], list[Any]]:
        if not isinstance(value, list):
            return (), [value]
        parts = [walk(v) for v in value]
        shapes = {shape for shape, _ in parts}
        if len(shapes) > 1:
            raise NotV2Error("ragged")
        inner = shapes.pop() if shapes else ()
        return (len(value), *inner), [x for _, values in parts for x in values]

    if not isinstance(data, list):
        raise NotV2Error("data is not an array")
    return walk(data)[1]


def value_fits(datatype: str, x: Any) -> bool:
    if datatype == "BOOL":
        return isinstance(x, bool)
    if datatype in INTEGER_RANGES:
        low, high = INTEGER_RANGES[datatype]
        return type(x) is int and low <= x <= high
    if datatype in FLOATS:  # a JSON number a float can hold
        return type(x) is float or (type(x) is int and abs(x) <= 2**1024)
    return isinstance(x, str)


def tensor_values(obj: Any) -> tuple[str, list[int], str, list[Any]]:
    """A V2 tensor object's name, shape, datatype and flat data, or NotV2Error."""
    if not isinstance(obj, dict) or not {"name", "shape", "datatype", "data"} <= obj.keys():
        raise NotV2Error("a tensor is an object with name, shape, datatype and data")
    name, shape, datatype, data = obj["name"], obj["shape"], obj["datatype"], obj["data"]
    if not isinstance(name, str) or not name:
        raise NotV2Error("name")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise NotV2Error("shape")
    if datatype not in V2_DATATYPES:
        raise NotV2Error("datatype")
    values = flat(data)
    if len(values) != math.prod(shape) or not all(value_fits(datatype, x) for x in values):
        raise NotV2Error("data")
    if obj.get("parameters") is not None and not isinstance(obj["parameters"], dict):
        raise NotV2Error("parameters")
    return name, shape, datatype, values


def no_constants(name: str) -> Any:
    raise NotV2Error(f"{name} is not JSON")  # NaN, Infinity: Python's extension, not JSON (RFC 8259)


def check_request(body: bytes) -> dict[str, Any]:
    """An inference request object: an id string, a non-empty list of input tensors with distinct names, finite
    numbers only, optional parameters object and outputs list of {name}."""
    request = json.loads(body, parse_constant=no_constants)
    assert isinstance(request, dict) and isinstance(request.get("id"), str)
    inputs = request["inputs"]
    assert isinstance(inputs, list) and inputs
    names = [tensor_values(i)[0] for i in inputs]
    assert len(set(names)) == len(names)
    assert isinstance(request.get("parameters", {}), dict)
    for output in request.get("outputs", []):
        assert isinstance(output, dict) and isinstance(output["name"], str) and output["name"]
    return request


def judge_answer(content_type: str | None, body: bytes) -> list[tuple[str, list[int], str, list[Any]]]:
    """The outputs of a valid inference response, or NotV2Error: JSON (by Content-Type when one is given), an object
    whose outputs are a non-empty list of tensors, model_name/model_version/id strings and parameters an object
    when present."""
    if content_type is not None:
        media = content_type.split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise NotV2Error("not JSON by its Content-Type")
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):
        raise NotV2Error("not JSON") from None
    if not isinstance(answer, dict):
        raise NotV2Error("not an object")
    for key in ("model_name", "model_version", "id"):
        if answer.get(key) is not None and not isinstance(answer[key], str):
            raise NotV2Error(key)
    if answer.get("parameters") is not None and not isinstance(answer["parameters"], dict):
        raise NotV2Error("parameters")
    outputs = answer.get("outputs")
    if not isinstance(outputs, list) or not outputs:
        raise NotV2Error("outputs")
    return [tensor_values(o) for o in outputs]


# --- what callers pass ---

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities included
    | st.text(max_size=4)
    | st.binary(max_size=4)
)
NESTED = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner), max_leaves=12)
NAMES = st.sampled_from(["x", "y", "predict"]) | st.text(max_size=3) | st.none() | st.integers()
DATATYPES = st.none() | st.sampled_from([*V2_DATATYPES, "FLOAT", "BF16", ""])
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=10,
)


@dataclass(frozen=True)
class FakeDtype:
    name: str
    kind: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class FakeArray:
    """What Tensor.of reads of a numpy array (dtype, shape, ravel, tolist), without numpy."""

    dtype: FakeDtype
    shape: tuple[int, ...]
    values: tuple[Any, ...]

    def ravel(self) -> FakeArray:
        return FakeArray(self.dtype, (len(self.values),), self.values)

    def tolist(self) -> Any:
        def nest(values: tuple[Any, ...], shape: tuple[int, ...]) -> Any:
            if not shape:
                return values[0]
            size = math.prod(shape[1:])
            return [nest(values[i * size : (i + 1) * size], shape[1:]) for i in range(shape[0])]

        return nest(self.values, self.shape)


DTYPES = [("float32", "f"), ("float64", "f"), ("int64", "i"), ("uint8", "u"), ("bool", "b"), ("<U3", "U"),
          ("|S2", "S"), ("object", "O"), ("complex128", "c"), ("datetime64[s]", "M")]  # fmt: skip


@st.composite
def fake_arrays(draw: st.DrawFn) -> FakeArray:
    name, kind = draw(st.sampled_from(DTYPES))
    shape = tuple(draw(st.lists(st.integers(0, 3), max_size=3)))
    values = draw(st.lists(SCALARS, min_size=math.prod(shape), max_size=math.prod(shape)))
    return FakeArray(FakeDtype(name, kind), shape, tuple(values))


def values_of(datatype: str) -> st.SearchStrategy[Any]:
    """Values a tensor of `datatype` holds, as a caller or a server would write them."""
    if datatype == "BOOL":
        return st.booleans()
    if datatype in INTEGER_RANGES:
        return st.integers(*INTEGER_RANGES[datatype])
    if datatype in FLOATS:
        return st.floats(allow_nan=False, allow_infinity=False, width=32) | st.integers(-5, 5)
    return st.text(max_size=3)


def nest(values: list[Any], shape: list[int]) -> Any:
    """Flat row-major values as nested lists of `shape`."""
    if len(shape) <= 1:
        return list(values)
    size = math.prod(shape[1:])
    return [nest(values[i * size : (i + 1) * size], shape[1:]) for i in range(shape[0])]


@st.composite
def v2_tensors(draw: st.DrawFn, names: st.SearchStrategy[str] | None = None) -> dict[str, Any]:
    """A valid V2 tensor object (data flat or nested)."""
    datatype = draw(st.sampled_from(V2_DATATYPES))
    shape = draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    values = draw(st.lists(values_of(datatype), min_size=math.prod(shape), max_size=math.prod(shape)))
    data = nest(values, shape) if draw(st.booleans()) else values
    return {
        "name": draw(names if names is not None else st.sampled_from(["x", "y", "z"])),
        "shape": shape,
        "datatype": datatype,
        "data": data,
    }


@st.composite
def perturbed(draw: st.DrawFn, valid: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A valid object with one thing wrong (in one output, for answers): a key removed or replaced by any JSON
    value, a dimension added to the shape, or one value replaced by any JSON scalar."""
    obj = draw(valid)
    target = obj
    if isinstance(obj.get("outputs"), list) and obj["outputs"] and draw(st.integers(0, 3)):
        target = draw(st.sampled_from(obj["outputs"]))
    how = draw(st.sampled_from(["drop", "replace", "shape", "value"]))
    if how == "shape" and isinstance(target.get("shape"), list):
        target["shape"] = [*target["shape"], draw(st.integers(0, 2))]
    elif how == "value" and isinstance(target.get("data"), list) and flat(target["data"]):
        values = flat(target["data"])
        values[draw(st.integers(0, len(values) - 1))] = draw(JSON_SCALARS)
        target["data"] = values
    else:
        key = draw(st.sampled_from(sorted(target) or ["name"]))
        if how == "drop":
            target.pop(key, None)
        else:
            target[key] = draw(JSON_VALUES)
    return obj


V2_KEYS = st.sampled_from(["name", "shape", "datatype", "data", "parameters"])
V2_DICTS = st.dictionaries(
    V2_KEYS,
    st.one_of(NAMES, st.lists(st.integers(-1, 4), max_size=3), DATATYPES, NESTED, JSON_VALUES),
    max_size=5,
)


def as_array(tensor: dict[str, Any]) -> FakeArray:
    dtype = {"BYTES": ("<U3", "U"), "BOOL": ("bool", "b")}.get(tensor["datatype"])
    name, kind = dtype or (tensor["datatype"].lower().replace("fp", "float"), "f")
    return FakeArray(FakeDtype(name, kind), tuple(tensor["shape"]), tuple(flat(tensor["data"])))


WELL_FORMED = st.one_of(
    v2_tensors().map(lambda t: ("of", t["name"], t["data"], t["datatype"])),
    v2_tensors().map(lambda t: ("of", t["name"], nest(flat(t["data"]), t["shape"]), None)),
    v2_tensors().map(lambda t: ("array", t["name"], as_array(t), None)),
    v2_tensors().map(lambda t: ("dict", t)),
    perturbed(v2_tensors()).map(lambda t: ("dict", t)),
)
ITEMS = st.one_of(
    WELL_FORMED,
    WELL_FORMED,
    st.tuples(st.just("of"), NAMES, NESTED | st.lists(fake_arrays(), max_size=2), DATATYPES),
    st.tuples(st.just("array"), NAMES, fake_arrays(), DATATYPES),
    st.tuples(st.just("dict"), V2_DICTS),
    st.tuples(st.just("raw"), JSON_VALUES),
)
WILD_CALLS = st.fixed_dictionaries(
    {
        "model": st.just(MODEL) | NAMES,
        "inputs": st.lists(ITEMS, max_size=3) | st.tuples(st.just("raw"), JSON_VALUES),
        "outputs": st.none() | st.lists(st.just("predict") | NAMES, max_size=2) | st.text(max_size=3),
        "parameters": st.none() | st.dictionaries(st.text(max_size=3) | st.integers(), JSON_VALUES, max_size=2),
        # every deadline that must be refused, and valid ones long enough for loopback (a call cut off mid-flight
        # would leave its request to land during the next example)
        "deadline": st.none() | st.just(5.0) | st.floats().filter(lambda d: not 0 < d < 1) | st.integers(-1, 2),
        "version": st.none() | st.just("1") | NAMES,
    }
)


PLAIN_CALLS = st.fixed_dictionaries(
    {
        "model": st.just(MODEL),
        "inputs": st.lists(WELL_FORMED, min_size=1, max_size=2),
        "outputs": st.none() | st.just(["predict"]),
        "parameters": st.none() | st.dictionaries(st.text(max_size=3), JSON_VALUES, max_size=2),
        "deadline": st.none() | st.just(5.0),
        "version": st.none() | st.just("1"),
    }
)
CALLS = PLAIN_CALLS | WILD_CALLS  # calls as callers mostly make them (one thing wrong at most), and anything at all


def build_inputs(recipe: Any) -> Any:
    """The caller's inputs from a drawn recipe; building a Tensor may itself refuse (InvalidRequestError)."""
    if isinstance(recipe, tuple):  # inputs that are not a list at all
        return recipe[1]
    built = []
    for item in recipe:
        if item[0] in ("of", "array"):
            built.append(Tensor.of(item[1], item[2], item[3]))
        else:
            built.append(item[1])
    return built


GOOD_ANSWER = json.dumps(
    {"model_name": MODEL, "outputs": [{"name": "predict", "shape": [1], "datatype": "INT64", "data": [1]}]}
).encode()


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[FixedServer, FixedServer]]:
    with FixedServer(Fixed(200, GOOD_ANSWER)) as first, FixedServer(Fixed(200, GOOD_ANSWER)) as second:
        yield first, second


def endpoints(servers: tuple[FixedServer, FixedServer]) -> list[Endpoint]:
    return [Endpoint("first", servers[0].url), Endpoint("second", servers[1].url)]


# a breaker that never opens: every example meets both targets as they are
SETTINGS: dict[str, Any] = {"probe_interval": None, "failure_threshold": 10**9}


@pytest.fixture(scope="module")
def client(servers: tuple[FixedServer, FixedServer]) -> Iterator[MultiCloudClient]:
    oracle_refuses_what_v2_refuses()
    with MultiCloudClient(endpoints(servers), "failover", **SETTINGS) as made:
        yield made


# --- request encoding ---


@PROPERTY
@given(call=CALLS)
def test_any_call_is_refused_before_sending_or_sends_a_valid_v2_request(
    client: MultiCloudClient, servers: tuple[FixedServer, FixedServer], call: dict[str, Any]
) -> None:
    first, _ = servers
    first.answer = Fixed(200, GOOD_ANSWER)
    before = len(first.bodies)
    try:
        inputs = build_inputs(call["inputs"])
        result = client.predict(
            call["model"],
            inputs,
            outputs=call["outputs"],
            parameters=call["parameters"],
            version=call["version"],
            deadline=call["deadline"],
        )
    except InvalidRequestError as error:
        event("refused before sending")
        assert str(error)  # a message naming what is wrong
        assert len(first.bodies) == before  # refused before anything was sent
        return
    except MultiCloudError:
        pass  # the call was made and failed as a call may (a tiny deadline, an output the answer lacks)
    else:
        assert isinstance(result, InferResult) and result.target == "first"
    event("sent")
    assert len(first.bodies) == before + 1
    request = check_request(first.bodies[-1])
    if isinstance(call["inputs"], list) and all(item[0] == "of" for item in call["inputs"]):
        for item, sent in zip(call["inputs"], request["inputs"], strict=True):
            assert sent["name"] == item[1]  # what the caller named, carried as given


def oracle_refuses_what_v2_refuses() -> None:
    """The oracle itself, on worked examples, before it judges anything: it must not pass what V2 refuses."""
    good = {"id": "1", "inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [[1, 2.5]]}]}
    check_request(json.dumps(good).encode())
    for broken in (
        {**good, "inputs": []},
        {**good, "inputs": [{"name": "x", "shape": [3], "datatype": "FP32", "data": [1, 2]}]},
        {**good, "inputs": [{"name": "x", "shape": [1], "datatype": "INT64", "data": [1.5]}]},
        {**good, "inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [math.nan]}]},
        {**good, "inputs": [{"name": "x", "shape": [1], "datatype": "FP32"}]},
        {**good, "inputs": [good["inputs"][0], good["inputs"][0]]},
    ):
        with pytest.raises((NotV2Error, AssertionError, KeyError)):
            check_request(json.dumps(broken).encode())


# --- response decoding ---

TENSOR_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "name": NAMES,
        "shape": st.lists(st.integers(-1, 3), max_size=2) | JSON_VALUES,
        "datatype": st.sampled_from(V2_DATATYPES) | JSON_VALUES,
        "data": st.lists(st.integers(-2, 300) | st.floats() | st.booleans() | st.text(max_size=2), max_size=4)
        | JSON_VALUES,
        "parameters": st.none() | st.dictionaries(st.text(max_size=2), JSON_VALUES, max_size=2) | JSON_VALUES,
    },
)
ANSWER_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "model_name": st.just(MODEL) | JSON_VALUES,
        "model_version": st.none() | st.just("1") | JSON_VALUES,
        "id": st.none() | st.text(max_size=3) | JSON_VALUES,
        "parameters": st.none() | st.dictionaries(st.text(max_size=2), JSON_VALUES, max_size=2) | JSON_VALUES,
        "outputs": st.lists(TENSOR_LIKE, max_size=3) | JSON_VALUES,
    },
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json",
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/problem+json",
        "text/plain",
        "text/html; charset=utf-8",
        "",
        None,
    ]
)
V2_ANSWERS = st.fixed_dictionaries(
    {"outputs": st.lists(v2_tensors(st.sampled_from(["predict", "proba"])), min_size=1, max_size=2)},
    optional={"model_name": st.just(MODEL), "model_version": st.just("1") | st.none(), "id": st.text(max_size=3)},
)
BODIES = st.one_of(V2_ANSWERS, perturbed(V2_ANSWERS), perturbed(V2_ANSWERS), ANSWER_LIKE, JSON_VALUES).map(
    lambda v: json.dumps(v).encode()
) | st.binary(max_size=40)


def serve(server: FixedServer, content_type: str | None, body: bytes) -> None:
    server.answer = Fixed(200, body, [] if content_type is None else [("content-type", content_type)])


def check_verdict(
    result: InferResult, content_type: str | None, body: bytes, before: dict[str, int], after: Any
) -> None:
    """The client answered from the first target exactly when the oracle calls its answer valid, and then with
    exactly its outputs; otherwise it counted a malformed answer there and answered from the second."""
    try:
        expected = judge_answer(content_type, body)
    except NotV2Error as why:
        event(f"not V2: {why}")
        assert result.target == "second", (content_type, body)
        assert result.attempts[0].outcome is Outcome.MALFORMED and result.attempts[0].detail
        assert after.targets["first"].outcomes["malformed"] == before["malformed"] + 1
        return
    event("a valid V2 answer")
    assert result.target == "first", (content_type, body, result.attempts)
    got = [(t.name, list(t.shape), t.datatype, list(t.data)) for t in result.outputs]
    assert got == expected


@PROPERTY
@given(content_type=CONTENT_TYPES, body=BODIES)
def test_any_answer_is_the_result_exactly_when_it_is_valid_v2(
    client: MultiCloudClient, servers: tuple[FixedServer, FixedServer], content_type: str | None, body: bytes
) -> None:
    serve(servers[0], content_type, body)
    before = dict(client.stats().targets["first"].outcomes)
    result = client.predict(MODEL, [Tensor.of("x", [[0.1, 0.2]])])
    check_verdict(result, content_type, body, before, client.stats())


@pytest.fixture(scope="module")
def async_client(servers: tuple[FixedServer, FixedServer]) -> Iterator[tuple[asyncio.AbstractEventLoop, Any]]:
    loop = asyncio.new_event_loop()

    async def make() -> AsyncMultiCloudClient:
        return AsyncMultiCloudClient(endpoints(servers), "failover", **SETTINGS)

    made = loop.run_until_complete(make())
    yield loop, made
    loop.run_until_complete(made.aclose())
    loop.close()


@settings(PROPERTY, max_examples=60)
@given(content_type=CONTENT_TYPES, body=BODIES)
def test_the_asyncio_client_reads_answers_by_the_same_rule(
    async_client: tuple[asyncio.AbstractEventLoop, AsyncMultiCloudClient],
    servers: tuple[FixedServer, FixedServer],
    content_type: str | None,
    body: bytes,
) -> None:
    loop, aclient = async_client
    serve(servers[0], content_type, body)
    before = dict(aclient.stats().targets["first"].outcomes)
    result = loop.run_until_complete(aclient.predict(MODEL, [Tensor.of("x", [[0.1, 0.2]])]))
    check_verdict(result, content_type, body, before, aclient.stats())


@PROPERTY
@given(body=(JSON_VALUES | st.fixed_dictionaries({"name": NAMES}, optional={"inputs": JSON_VALUES})).map(
    lambda v: json.dumps(v).encode()
) | st.binary(max_size=20))  # fmt: skip
def test_any_metadata_answer_is_a_result_or_the_next_targets(
    client: MultiCloudClient, servers: tuple[FixedServer, FixedServer], body: bytes
) -> None:
    serve(servers[0], "application/json", body)
    servers[1].answer = Fixed(200, json.dumps({"name": MODEL, "platform": "sklearn"}).encode())
    try:
        metadata = client.metadata(MODEL)
    finally:
        servers[1].answer = Fixed(200, GOOD_ANSWER)
    try:
        answer = json.loads(body)
        valid = isinstance(answer, dict) and isinstance(answer.get("name"), str) and bool(answer["name"])
    except (ValueError, RecursionError):
        valid = False
    if metadata.target == "first":
        assert valid and metadata.name == answer["name"]
    else:
        assert metadata.name == MODEL  # the first was refused: at least its name was not a model name, or more
