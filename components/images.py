"""The platform's container images, from one sourced table (components/data/images.yaml).

Neutral on purpose: the serving stack, the model sync and the observability stack take the images they name
themselves from here, and every Helm chart's images are listed at the chart's pinned version, so one file says what
the platform runs, by tag and (where a public source gives it) by digest. Read strictly: a typo in the table fails
the first plan, not a pull on a node.

Mirroring: `mirrors` maps an upstream registry host (docker.io, quay.io, ...) to the prefix of a pull-through cache
in the platform's own registry (components/registry/); `ref_via` and `chart_values` rewrite an image to be pulled
through it. An upstream without a mirror stays direct.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
import yaml

IMAGES_FILE = Path(__file__).resolve().parent / "data" / "images.yaml"
DOCKER_HUB = "docker.io"

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
_IMAGE_KEYS = {"repository", "tag", "digest", "source", "read", "values"}
_VALUES_KEYS = {"registry", "repository", "hub", "digest", "digestForm"}
_CHART_KEYS = {"chart", "version", "images"}

Mirrors = Mapping[str, pulumi.Input[str]]
"""Upstream registry host -> the prefix its images are pulled through (no trailing slash)."""


def _join(prefix: pulumi.Input[str], path: str) -> pulumi.Input[str]:
    """`prefix/path`; plain text when the prefix is (config, tests), an Output when it is a resource's."""
    return f"{prefix}/{path}" if isinstance(prefix, str) else pulumi.Output.concat(prefix, "/", path)


@dataclass(frozen=True)
class ChartValues:
    """Where a chart takes one image's settings (dotted values keys); None where it has none."""

    registry: str | None = None
    repository: str | None = None
    hub: str | None = None
    digest: str | None = None
    digest_hex: bool = False  # the chart writes "@sha256:" itself and takes the hex alone


@dataclass(frozen=True)
class Image:
    key: str
    repository: str
    tag: str
    digest: str | None
    source: str
    read: str
    values: ChartValues | None = None

    @property
    def registry(self) -> str:
        """The registry host; a repository whose first part is no host is on Docker Hub (Docker's own rule)."""
        first, _, rest = self.repository.partition("/")
        return first if rest and ("." in first or ":" in first or first == "localhost") else DOCKER_HUB

    @property
    def path(self) -> str:
        """The repository below its registry (Docker Hub's official images under library/)."""
        if self.registry != DOCKER_HUB or self.repository.startswith(f"{DOCKER_HUB}/"):
            return self.repository.partition("/")[2]
        return self.repository if "/" in self.repository else f"library/{self.repository}"

    @property
    def pin(self) -> str:
        """What follows the repository: `:tag@digest`, or `:tag` where no digest is known."""
        return f":{self.tag}@{self.digest}" if self.digest else f":{self.tag}"

    @property
    def ref(self) -> str:
        return f"{self.repository}{self.pin}"

    def ref_via(self, mirrors: Mirrors) -> pulumi.Input[str]:
        """The reference to pull: through the mirror of its registry when there is one, else direct."""
        prefix = mirrors.get(self.registry)
        if prefix is None:
            return self.ref
        return _join(prefix, self.path + self.pin)


@dataclass(frozen=True)
class ChartImages:
    chart: str
    version: str
    images: tuple[Image, ...]


@dataclass(frozen=True)
class Table:
    images: Mapping[str, Image]
    charts: tuple[ChartImages, ...]


def _fail(where: str, problem: str) -> ValueError:
    return ValueError(f"{IMAGES_FILE.name}: {where}: {problem}")


def _text(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"expected a non-empty string, got {value!r}")
    return value.strip()


def _values(where: str, raw: Any) -> ChartValues | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - _VALUES_KEYS:
        raise _fail(where, f"values takes only {sorted(_VALUES_KEYS)}, got {raw!r}")
    form = raw.get("digestForm", "sha256")
    if form not in ("sha256", "hex"):
        raise _fail(where, f"digestForm is sha256 or hex, got {form!r}")
    names = ("registry", "repository", "hub", "digest")
    keys = {name: _text(f"{where}.{name}", raw[name]) for name in names if name in raw}
    return ChartValues(**keys, digest_hex=form == "hex")


def _image(key: str, raw: Any) -> Image:
    where = f"images.{key}"
    if not isinstance(raw, dict) or set(raw) - _IMAGE_KEYS or not {"repository", "tag", "source", "read"} <= set(raw):
        raise _fail(where, f"needs repository, tag, digest, source, read (and values for chart images), got {raw!r}")
    digest = raw.get("digest")
    if digest is not None and not _DIGEST.match(str(digest)):
        raise _fail(f"{where}.digest", f"expected sha256:<64 hex> or null, got {digest!r}")
    read = str(raw["read"])
    if not _MONTH.match(read):
        raise _fail(f"{where}.read", f"expected YYYY-MM, got {read!r}")
    image = Image(
        key=key,
        repository=_text(f"{where}.repository", raw["repository"]),
        tag=_text(f"{where}.tag", str(raw["tag"])),
        digest=digest,
        source=_text(f"{where}.source", raw["source"]),
        read=read,
        values=_values(f"{where}.values", raw.get("values")),
    )
    if image.digest and image.values is not None and image.values.digest is None:
        raise _fail(where, "a digest for a chart image needs the chart's digest values key (values.digest)")
    return image


def load(path: Path) -> Table:
    """Read and check a table; any problem is one line naming the entry."""
    raw = yaml.safe_load(path.read_text()) or {}
    images = {str(key): _image(str(key), value) for key, value in (raw.get("images") or {}).items()}
    charts = []
    for index, entry in enumerate(raw.get("charts") or ()):
        where = f"charts[{index}]"
        if not isinstance(entry, dict) or set(entry) != _CHART_KEYS:
            raise _fail(where, f"needs exactly {sorted(_CHART_KEYS)}, got {entry!r}")
        unknown = [key for key in entry["images"] if key not in images]
        if unknown:
            raise _fail(where, f"images not in the table: {unknown}")
        listed = tuple(images[key] for key in entry["images"])
        charts.append(ChartImages(str(entry["chart"]), str(entry["version"]), listed))
    return Table(images=images, charts=tuple(charts))


@cache
def table() -> Table:
    """The platform's table, read once."""
    return load(IMAGES_FILE)


def image(key: str) -> Image:
    try:
        return table().images[key]
    except KeyError:
        raise _fail("images", f"no image {key!r}") from None


def chart_images(chart: str, version: str) -> tuple[Image, ...]:
    for entry in table().charts:
        if entry.chart == chart and entry.version == version:
            return entry.images
    raise _fail("charts", f"no entry for chart {chart} {version}: list its images at that version")


def upstreams() -> tuple[str, ...]:
    """Every registry host the platform's images come from: what mirroring would cache."""
    return tuple(sorted({img.registry for img in table().images.values()}))


def _put(values: dict[str, Any], dotted: str, value: Any) -> None:
    node = values
    *parents, leaf = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def chart_values(chart: str, version: str, mirrors: Mirrors) -> dict[str, Any]:
    """The values that pin a chart's images by digest (where known) and pull them through the mirrors (where set).

    Empty when neither applies: the chart then runs its defaults, which the table lists. A chart missing from the
    table is refused only when mirroring asks for its images (tests/test_images.py refuses it always)."""
    if not mirrors and not any(c.chart == chart and c.version == version for c in table().charts):
        return {}
    overlay: dict[str, Any] = {}
    for img in chart_images(chart, version):
        keys = img.values or ChartValues()
        if img.digest and keys.digest:
            _put(overlay, keys.digest, img.digest.removeprefix("sha256:") if keys.digest_hex else img.digest)
        prefix = mirrors.get(img.registry)
        if prefix is None:
            continue
        if keys.hub:
            _put(overlay, keys.hub, _join(prefix, img.path.rpartition("/")[0]))
        elif keys.registry and keys.repository:
            _put(overlay, keys.registry, prefix)
            _put(overlay, keys.repository, img.path)
        elif keys.repository:
            _put(overlay, keys.repository, _join(prefix, img.path))
    return overlay


def merged(values: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with `overlay` laid over it, nested mappings merged key by key."""
    result = dict(values)
    for key, value in overlay.items():
        base = result.get(key)
        result[key] = merged(base, value) if isinstance(base, Mapping) and isinstance(value, Mapping) else value
    return result
