"""Is a directory a Triton model repository the platform can serve? Checked on the laptop, before any upload.

The layout (Triton docs, user_guide/model_repository.md, "Repository Layout", read 2026-12): the repository holds one
directory per model; a model's directory holds `config.pbtxt` and at least one numeric version directory, each with
the file its backend loads. The model directory's name must equal the config's `name` when the config sets one.
`config.pbtxt` is parsed with Triton's own protobuf (`tritonclient.grpc.model_config_pb2.ModelConfig`, the
`tritonclient[grpc]` wheel) in protobuf's text format, so a file Triton would refuse to parse is refused here.

What is refused beyond Triton's own rules, because the clusters refuse it later and a publish should fail first:
- any model but `--model` in the directory (each version's repository is loaded whole, with strict readiness);
- a shared library anywhere (the same rule as the clusters' verify step, components/model_signature.py: Triton would
  load it as a backend);
- symbolic links (rclone does not follow them, so the bucket would lack what the manifest lists).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlplatform_client.models.errors import ModelsError

CONFIG = "config.pbtxt"

# platform -> backend (Triton docs, user_guide/model_configuration.md, "Platform and Backend"; not re-read 2026-12).
PLATFORM_BACKENDS = {
    "tensorrt_plan": "tensorrt",
    "onnxruntime_onnx": "onnxruntime",
    "pytorch_libtorch": "pytorch",
    "tensorflow_savedmodel": "tensorflow",
    "tensorflow_graphdef": "tensorflow",
}

# backend -> the file (or directory) a version loads when the config names no `default_model_filename`
# (Triton docs, user_guide/model_repository.md, "Model Files": the layout and model.plan / model.graphdef read in its
# example, docs.nvidia.com/deeplearning/triton-inference-server/archives/triton-inference-server-2310/user-guide/docs/
# user_guide/model_repository.html, 2026-12; the other names from the backends' docs, not re-read).
DEFAULT_FILES = {
    "tensorrt": "model.plan",
    "onnxruntime": "model.onnx",
    "pytorch": "model.pt",
    "openvino": "model.xml",
    "python": "model.py",
}
TENSORFLOW_FILES = {"tensorflow_savedmodel": "model.savedmodel", "tensorflow_graphdef": "model.graphdef"}


@dataclass(frozen=True)
class ModelRepository:
    """A checked repository: where it is, the model, its backend, and the version directories Triton may load."""

    root: Path
    model: str
    backend: str
    versions: tuple[int, ...]


def _model_config(path: Path) -> object:
    try:
        from google.protobuf import text_format
        from tritonclient.grpc import model_config_pb2  # type: ignore[import-untyped]
    except ImportError:
        raise ModelsError(
            "checking config.pbtxt needs Triton's model config: pip install 'mlplatform-client[models]'"
        ) from None
    config = model_config_pb2.ModelConfig()
    try:
        text_format.Parse(path.read_text(), config)
    except (text_format.ParseError, UnicodeDecodeError) as error:
        raise ModelsError(f"{path}: does not parse as a Triton model config: {str(error).splitlines()[0]}") from None
    return config


def _shared_library(root: Path) -> Path | None:
    """The first shared library under root: the clusters' rule (components/model_signature.py, shipped_library)."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and (path.name.endswith(".so") or ".so." in path.name):
            return path
    return None


def check(root: Path, model: str) -> ModelRepository:
    """The repository at `root` serving `model`, or ModelsError naming the first thing wrong."""
    if not root.is_dir():
        raise ModelsError(f"{root}: not a directory (a Triton model repository: {model}/{CONFIG}, {model}/1/...)")
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            raise ModelsError(f"{path}: a symbolic link; copy the file in (the upload does not follow links)")
    entries = sorted(p.name for p in root.iterdir())
    if entries != [model]:
        found = ", ".join(entries) or "nothing"
        raise ModelsError(f"{root}: a model repository for {model} holds the directory {model}/ only, found: {found}")
    model_dir = root / model
    config_path = model_dir / CONFIG
    if not model_dir.is_dir() or not config_path.is_file():
        raise ModelsError(f"{root}: not a Triton model repository: {model}/{CONFIG} is missing")
    config = _model_config(config_path)
    name = str(getattr(config, "name", ""))
    if name and name != model:
        raise ModelsError(f"{config_path}: name is {name!r}, the model directory is {model!r}: they must match")
    platform, backend = str(getattr(config, "platform", "")), str(getattr(config, "backend", ""))
    if not backend:
        backend = PLATFORM_BACKENDS.get(platform, "")
    if not backend:
        what = f"platform {platform!r} is not one Triton knows" if platform else "it names no backend or platform"
        raise ModelsError(f"{config_path}: {what} (backend: onnxruntime, tensorrt, ...)")
    if backend == "python" or platform == "ensemble":
        raise ModelsError(f"{config_path}: backend {backend or platform!r} runs code from the bucket; not published")
    wanted = str(getattr(config, "default_model_filename", "")) or (
        TENSORFLOW_FILES.get(platform) or DEFAULT_FILES.get(backend, "")
    )
    versions = sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())
    if not versions:
        raise ModelsError(f"{model_dir}: no numeric version directory (such as {model}/1/)")
    for version in versions:
        folder = model_dir / str(version)
        if wanted and not (folder / wanted).exists():
            raise ModelsError(f"{folder}: has no {wanted}, the file backend {backend} loads")
        if not any(p.is_file() for p in folder.rglob("*")):
            raise ModelsError(f"{folder}: is empty")
    library = _shared_library(root)
    if library is not None:
        raise ModelsError(f"{library}: a shared library, which Triton would load as a backend; the clusters refuse it")
    return ModelRepository(root, model, backend, tuple(versions))
