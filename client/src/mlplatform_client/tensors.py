"""KServe V2 tensors, inference results and model metadata as plain, frozen Python data.

The client does not depend on numpy: tensors carry flat lists, as the V2 JSON protocol sends them
(row-major), and `Tensor.of` / `Tensor.to_numpy` convert from and to numpy arrays when numpy is there.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlplatform_client.attempts import Attempt
from mlplatform_client.errors import InvalidRequestError, OutputNotFoundError

# V2 datatypes and the numpy dtype names that carry them (KServe V2 protocol, "Tensor Data Types").
NUMPY_TO_V2: Mapping[str, str] = {
    "bool": "BOOL", "uint8": "UINT8", "uint16": "UINT16", "uint32": "UINT32", "uint64": "UINT64",
    "int8": "INT8", "int16": "INT16", "int32": "INT32", "int64": "INT64",
    "float16": "FP16", "float32": "FP32", "float64": "FP64",
}  # fmt: skip
V2_TO_NUMPY: Mapping[str, str] = {v2: np for np, v2 in NUMPY_TO_V2.items()}
DATATYPES = frozenset({*V2_TO_NUMPY, "BYTES"})


# The integer range each V2 integer type holds; a value outside it is refused rather than wrapped by the server.
INT_RANGES: Mapping[str, tuple[int, int]] = {
    **{f"INT{b}": (-(2 ** (b - 1)), 2 ** (b - 1) - 1) for b in (8, 16, 32, 64)},
    **{f"UINT{b}": (0, 2**b - 1) for b in (8, 16, 32, 64)},
}
FLOATS = frozenset({"FP16", "FP32", "FP64"})
_SCALARS = frozenset({bool, int, float, str, bytes, type(None)})
_FMAX = 2**1024  # an integer above this is no float (not even FP64's largest, about 1.8e308)
MAX_DEPTH = 64  # nesting deeper than this is refused (the recursion would otherwise fail as a RecursionError)


@dataclass(frozen=True)
class Tensor:
    """A named V2 tensor: shape, datatype and the data, flattened row-major.

    Built by the caller (the inputs) and from each answer (the outputs), with the same checks: a non-empty
    name, a known datatype, a shape of integers >= 0 whose product is the number of values, and values of the
    datatype (bools for BOOL, integers in range for INT*/UINT*, numbers for FP*, strings or bytes for BYTES).
    A tensor that breaks one raises InvalidRequestError naming the tensor and the rule.
    """

    name: str
    shape: tuple[int, ...]
    datatype: str
    data: tuple[Any, ...]
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidRequestError(f"tensor name must be a non-empty string, got {_short(self.name)}")
        if not isinstance(self.datatype, str) or self.datatype not in DATATYPES:
            raise InvalidRequestError(
                f"tensor {self.name}: unknown V2 datatype {_short(self.datatype)} "
                f"(one of {', '.join(sorted(DATATYPES))})"
            )
        object.__setattr__(self, "shape", _shape(self.name, self.shape))
        if not isinstance(self.data, (list, tuple)):
            raise InvalidRequestError(
                f"tensor {self.name}: data must be a flat list of values, got {_short(self.data)}"
            )
        object.__setattr__(self, "data", tuple(self.data))
        if not isinstance(self.parameters, Mapping):
            raise InvalidRequestError(
                f"tensor {self.name}: parameters must be a mapping, got {_short(self.parameters)}"
            )
        if math.prod(self.shape) != len(self.data):
            raise InvalidRequestError(f"tensor {self.name}: shape {list(self.shape)} needs {math.prod(self.shape)} "
                                      f"values, got {len(self.data)}")  # fmt: skip
        _check_values(self.name, self.datatype, self.data)

    @classmethod
    def of(cls, name: str, value: Any, datatype: str | None = None) -> Tensor:
        """A tensor from a numpy array or nested lists; Python floats become FP32, ints INT64, str BYTES."""
        if _is_array(value) and hasattr(value, "ravel"):
            kind = str(value.dtype)
            inferred = NUMPY_TO_V2.get(kind, "BYTES" if getattr(value.dtype, "kind", "") in ("O", "U", "S") else "")
            if not inferred and datatype is None:
                raise InvalidRequestError(f"tensor {name}: no V2 datatype for numpy dtype {kind}; pass datatype=")
            return cls(name, tuple(value.shape), datatype or inferred, tuple(value.ravel().tolist()))
        shape, flat = _flatten(name, value)
        return cls(name, shape, datatype or _datatype_of(name, flat), tuple(flat))

    @classmethod
    def from_json(cls, obj: Any) -> Tensor:
        """A tensor from its V2 JSON (`{name, shape, datatype, data[, parameters]}`; data flat or nested)."""
        if not isinstance(obj, Mapping):
            raise InvalidRequestError(
                f"a V2 tensor must be an object {{name, shape, datatype, data}}, got {_short(obj)}"
            )
        name = obj.get("name")
        label = name if isinstance(name, str) and name else "(no name)"
        missing = [key for key in ("name", "shape", "datatype", "data") if key not in obj]
        if missing:
            raise InvalidRequestError(
                f"tensor {label}: no {', '.join(missing)} (a V2 tensor has name, shape, datatype, data)"
            )
        if not isinstance(obj["shape"], (list, tuple)):
            raise InvalidRequestError(f"tensor {label}: shape must be a list of integers, got {_short(obj['shape'])}")
        if not isinstance(obj["data"], (list, tuple)):  # V2: an array, flat or nested row-major
            raise InvalidRequestError(f"tensor {label}: data must be a list of values, got {_short(obj['data'])}")
        _, flat = _flatten(label, obj["data"])
        parameters = obj.get("parameters")
        return cls(
            obj["name"], tuple(obj["shape"]), obj["datatype"], tuple(flat), {} if parameters is None else parameters
        )

    def to_json(self) -> dict[str, Any]:
        """The tensor's V2 JSON; BYTES values given as bytes are sent as the UTF-8 text they hold."""
        body: dict[str, Any] = {"name": self.name, "shape": list(self.shape), "datatype": self.datatype}
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        body["data"] = [_text(self.name, x) for x in self.data] if self.datatype == "BYTES" else list(self.data)
        return body

    def to_numpy(self) -> Any:
        """The data as a numpy array of the tensor's shape (needs numpy)."""
        np = importlib.import_module("numpy")  # optional: the client does not depend on numpy
        dtype = V2_TO_NUMPY.get(self.datatype, "object")
        return np.asarray(self.data, dtype=dtype).reshape(self.shape)


def _short(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def _is_array(value: Any) -> bool:
    """A numpy array or scalar (duck-typed: the client does not import numpy)."""
    return hasattr(value, "dtype") and hasattr(value, "shape") and hasattr(value, "tolist")


def _shape(name: str, shape: Any) -> tuple[int, ...]:
    if not isinstance(shape, (list, tuple)):
        raise InvalidRequestError(f"tensor {name}: shape must be a list of integers, got {_short(shape)}")
    for dim in shape:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 0:
            raise InvalidRequestError(f"tensor {name}: shape {list(shape)} holds {dim!r}, not an integer >= 0")
    return tuple(shape)


def _flatten(name: str, value: Any, depth: int = 0) -> tuple[tuple[int, ...], list[Any]]:
    """Shape and row-major values of nested lists; ragged lists are refused rather than guessed."""
    if depth > MAX_DEPTH:
        raise InvalidRequestError(f"tensor {name}: lists nested deeper than {MAX_DEPTH} levels")
    if _is_array(value):  # a numpy array or scalar inside nested lists
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        return (), [value]
    if all(type(x) in _SCALARS for x in value):  # the common innermost row, without a call per value
        return (len(value),), list(value)
    parts = [_flatten(name, item, depth + 1) for item in value]
    inner = parts[0][0] if parts else ()
    if any(shape != inner for shape, _ in parts):
        raise InvalidRequestError(f"tensor {name}: ragged nested lists, rows have different shapes")
    return (len(value), *inner), [x for _, flat in parts for x in flat]


def _datatype_of(name: str, flat: Sequence[Any]) -> str:
    if all(isinstance(x, bool) for x in flat):
        return "BOOL"
    if all(isinstance(x, int) and not isinstance(x, bool) for x in flat):
        return "INT64"
    if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in flat):
        return "FP32"  # what models take; pass datatype="FP64" (or a float64 array) for double precision
    if all(isinstance(x, (str, bytes)) for x in flat):
        return "BYTES"
    odd = next((x for x in flat if not isinstance(x, (bool, int, float, str, bytes))), None)
    if odd is not None:
        raise InvalidRequestError(f"tensor {name}: {_short(odd)} is not a number, a bool or a string")
    raise InvalidRequestError(f"tensor {name}: cannot tell the datatype of mixed values; pass datatype=")


def _check_values(name: str, datatype: str, data: Sequence[Any]) -> None:
    """Every value of the datatype's kind; the first one that is not is named."""
    if datatype == "BOOL":
        bad = next((i for i, x in enumerate(data) if not isinstance(x, bool)), None)
        kind = "a bool"
    elif datatype in INT_RANGES:
        low, high = INT_RANGES[datatype]
        bad = next(
            (i for i, x in enumerate(data) if isinstance(x, bool) or not isinstance(x, int) or not low <= x <= high),
            None,
        )
        kind = f"an integer in [{low}, {high}]"
    elif datatype in FLOATS:
        bad = next(
            (
                i
                for i, x in enumerate(data)
                if isinstance(x, bool) or not isinstance(x, (int, float)) or (isinstance(x, int) and abs(x) > _FMAX)
            ),
            None,
        )
        kind = "a number"
    else:
        bad = next((i for i, x in enumerate(data) if not isinstance(x, (str, bytes))), None)
        kind = "a string"
    if bad is not None:
        raise InvalidRequestError(f"tensor {name}: value {bad} is {_short(data[bad])}, not {kind} ({datatype})")


def _text(name: str, value: str | bytes) -> str:
    if isinstance(value, str):
        return value
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise InvalidRequestError(
            f"tensor {name}: BYTES value {value[:20]!r} is not UTF-8 text, which V2 JSON needs"
        ) from None


def as_tensor(item: Tensor | Mapping[str, Any]) -> Tensor:
    return item if isinstance(item, Tensor) else Tensor.from_json(item)


@dataclass(frozen=True)
class InferResult:
    """A model's answer, with the target that gave it and every attempt the call made."""

    model_name: str
    model_version: str | None
    id: str | None
    outputs: tuple[Tensor, ...]
    parameters: Mapping[str, Any]
    target: str
    attempts: tuple[Attempt, ...]

    def output(self, name: str) -> Tensor:
        for tensor in self.outputs:
            if tensor.name == name:
                return tensor
        raise OutputNotFoundError(
            f"{self.model_name} has no output {name!r} (outputs: {', '.join(t.name for t in self.outputs)})"
        )

    @classmethod
    def from_json(cls, obj: Any, target: str, attempts: Sequence[Attempt]) -> InferResult:
        """An inference answer: an object with a non-empty `outputs` list of V2 tensors (KServe V2 "Inference
        Response JSON Object"); `model_name`, `model_version`, `id` strings when present, `parameters` an object."""
        if not isinstance(obj, Mapping):
            raise InvalidRequestError(f"the answer is {_json_kind(obj)}, not a V2 inference response object")
        outputs = obj.get("outputs")
        if not isinstance(outputs, list) or not outputs:
            raise InvalidRequestError(f"the answer's outputs is {_json_kind(outputs)}, not a non-empty list of tensors")
        tensors = []
        for i, output in enumerate(outputs):
            try:
                tensors.append(Tensor.from_json(output))
            except InvalidRequestError as error:
                raise InvalidRequestError(f"outputs[{i}]: {error}") from None
        return cls(
            model_name=_optional_str(obj, "model_name") or "",
            model_version=_optional_str(obj, "model_version"),
            id=_optional_str(obj, "id"),
            outputs=tuple(tensors),
            parameters=_parameters(obj),
            target=target,
            attempts=tuple(attempts),
        )


def _json_kind(value: Any) -> str:
    if value is None:
        return "missing (or null)"
    kind = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(type(value))
    return kind or ("a number" if isinstance(value, (int, float)) else type(value).__name__)


def _optional_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidRequestError(f"the answer's {key} is {_json_kind(value)}, not a string")
    return value


def _parameters(obj: Mapping[str, Any]) -> dict[str, Any]:
    value = obj.get("parameters")
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidRequestError(f"the answer's parameters is {_json_kind(value)}, not an object")
    return dict(value)


@dataclass(frozen=True)
class TensorMetadata:
    name: str
    datatype: str
    shape: tuple[int, ...]  # -1 for a dimension of variable size


@dataclass(frozen=True)
class ModelMetadata:
    """A model's V2 metadata as one target reported it."""

    name: str
    versions: tuple[str, ...]
    platform: str
    inputs: tuple[TensorMetadata, ...]
    outputs: tuple[TensorMetadata, ...]
    target: str

    @classmethod
    def from_json(cls, obj: Any, target: str) -> ModelMetadata:
        """A metadata answer (KServe V2 "Model Metadata Response JSON Object"): `name` is required; `versions`,
        `platform`, `inputs` and `outputs` are read when present (servers differ in which they fill)."""
        if not isinstance(obj, Mapping):
            raise InvalidRequestError(f"the answer is {_json_kind(obj)}, not a V2 model metadata object")
        name = obj.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidRequestError(f"the answer's name is {_json_kind(name)}, not a model name")
        versions = obj.get("versions") or []
        if not isinstance(versions, list) or not all(isinstance(v, str) for v in versions):
            raise InvalidRequestError(f"the answer's versions is {_short(versions)}, not a list of strings")
        return cls(
            name=name,
            versions=tuple(versions),
            platform=_optional_str(obj, "platform") or "",
            inputs=_metadata_tensors(obj, "inputs"),
            outputs=_metadata_tensors(obj, "outputs"),
            target=target,
        )


def _metadata_tensors(obj: Mapping[str, Any], key: str) -> tuple[TensorMetadata, ...]:
    items = obj.get(key) or []
    if not isinstance(items, list):
        raise InvalidRequestError(f"the answer's {key} is {_json_kind(items)}, not a list")
    tensors = []
    for i, item in enumerate(items):
        where = f"the answer's {key}[{i}]"
        if not isinstance(item, Mapping):
            raise InvalidRequestError(f"{where} is {_json_kind(item)}, not an object {{name, datatype, shape}}")
        name, datatype, shape = item.get("name"), item.get("datatype"), item.get("shape")
        if not isinstance(name, str) or not name or not isinstance(datatype, str) or not datatype:
            raise InvalidRequestError(f"{where} has no name or no datatype")
        if not isinstance(shape, list) or any(isinstance(d, bool) or not isinstance(d, int) or d < -1 for d in shape):
            raise InvalidRequestError(f"{where} ({name}): shape {_short(shape)} is not a list of integers >= -1")
        tensors.append(TensorMetadata(name, datatype, tuple(shape)))
    return tuple(tensors)
