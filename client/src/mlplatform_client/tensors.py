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

# V2 datatypes and the numpy dtype names that carry them (KServe V2 protocol, "Tensor Data Types").
NUMPY_TO_V2: Mapping[str, str] = {
    "bool": "BOOL", "uint8": "UINT8", "uint16": "UINT16", "uint32": "UINT32", "uint64": "UINT64",
    "int8": "INT8", "int16": "INT16", "int32": "INT32", "int64": "INT64",
    "float16": "FP16", "float32": "FP32", "float64": "FP64",
}  # fmt: skip
V2_TO_NUMPY: Mapping[str, str] = {v2: np for np, v2 in NUMPY_TO_V2.items()}
DATATYPES = frozenset({*V2_TO_NUMPY, "BYTES"})


@dataclass(frozen=True)
class Tensor:
    """A named V2 tensor: shape, datatype and the data, flattened row-major."""

    name: str
    shape: tuple[int, ...]
    datatype: str
    data: tuple[Any, ...]
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.datatype not in DATATYPES:
            raise ValueError(f"tensor {self.name}: unknown V2 datatype {self.datatype!r}")
        if math.prod(self.shape) != len(self.data):
            raise ValueError(f"tensor {self.name}: shape {list(self.shape)} needs {math.prod(self.shape)} values, "
                             f"got {len(self.data)}")  # fmt: skip

    @classmethod
    def of(cls, name: str, value: Any, datatype: str | None = None) -> Tensor:
        """A tensor from a numpy array or nested lists; Python floats become FP32, ints INT64, str BYTES."""
        if hasattr(value, "dtype") and hasattr(value, "shape") and hasattr(value, "ravel"):
            kind = str(value.dtype)
            inferred = NUMPY_TO_V2.get(kind, "BYTES" if value.dtype.kind in "OUS" else "")
            if not inferred and datatype is None:
                raise ValueError(f"tensor {name}: no V2 datatype for numpy dtype {kind}")
            return cls(name, tuple(int(d) for d in value.shape), datatype or inferred, tuple(value.ravel().tolist()))
        shape, flat = _flatten(name, value)
        return cls(name, shape, datatype or _datatype_of(name, flat), tuple(flat))

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Tensor:
        shape = tuple(int(d) for d in obj.get("shape", ()))
        _, flat = _flatten(str(obj.get("name")), obj.get("data", []))
        return cls(str(obj["name"]), shape, str(obj["datatype"]), tuple(flat), dict(obj.get("parameters") or {}))

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "shape": list(self.shape), "datatype": self.datatype}
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        body["data"] = list(self.data)
        return body

    def to_numpy(self) -> Any:
        """The data as a numpy array of the tensor's shape (needs numpy)."""
        np = importlib.import_module("numpy")  # optional: the client does not depend on numpy
        dtype = V2_TO_NUMPY.get(self.datatype, "object")
        return np.asarray(self.data, dtype=dtype).reshape(self.shape)


def _flatten(name: str, value: Any) -> tuple[tuple[int, ...], list[Any]]:
    """Shape and row-major values of nested lists; ragged lists are refused rather than guessed."""
    if not isinstance(value, (list, tuple)):
        return (), [value]
    if not value or not isinstance(value[0], (list, tuple)):
        return (len(value),), list(value)
    parts = [_flatten(name, item) for item in value]
    inner = parts[0][0]
    if any(shape != inner for shape, _ in parts):
        raise ValueError(f"tensor {name}: ragged nested lists, rows have different shapes")
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
    raise ValueError(f"tensor {name}: cannot tell the datatype of mixed values; pass datatype=")


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
        raise KeyError(f"{self.model_name} has no output {name!r} (outputs: {', '.join(t.name for t in self.outputs)})")

    @classmethod
    def from_json(cls, obj: Mapping[str, Any], target: str, attempts: Sequence[Attempt]) -> InferResult:
        return cls(
            model_name=str(obj.get("model_name", "")),
            model_version=obj.get("model_version"),
            id=obj.get("id"),
            outputs=tuple(Tensor.from_json(o) for o in obj.get("outputs", ())),
            parameters=dict(obj.get("parameters") or {}),
            target=target,
            attempts=tuple(attempts),
        )


@dataclass(frozen=True)
class TensorMetadata:
    name: str
    datatype: str
    shape: tuple[int, ...]


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
    def from_json(cls, obj: Mapping[str, Any], target: str) -> ModelMetadata:
        def tensors(key: str) -> tuple[TensorMetadata, ...]:
            return tuple(
                TensorMetadata(str(t["name"]), str(t["datatype"]), tuple(int(d) for d in t.get("shape", ())))
                for t in obj.get(key) or ()
            )

        return cls(
            name=str(obj.get("name", "")),
            versions=tuple(str(v) for v in obj.get("versions") or ()),
            platform=str(obj.get("platform", "")),
            inputs=tensors("inputs"),
            outputs=tensors("outputs"),
            target=target,
        )
