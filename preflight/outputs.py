"""What preflight writes: output files checked before any work, written whole, and JSON that is JSON.

A command that writes a file checks first that it can (`check_writable`), so a bad path costs no
synthesis; writes go to a temporary file beside the target and are renamed over it, so a reader never
sees half a file. JSON is written with allow_nan=False: NaN and Infinity are not JSON, and a reader
(jq, JSON.parse) would refuse the whole document.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from preflight.errors import InputError


class NotJsonError(Exception):
    """A report holds a number JSON cannot carry: a bug (inputs are checked finite), never printed as NaN."""


def json_text(document: Any) -> str:
    try:
        return json.dumps(document, indent=2, sort_keys=True, allow_nan=False)
    except ValueError as error:
        raise NotJsonError(f"the report holds a number JSON cannot carry ({error}); please report this") from None


def print_json(document: Any) -> None:
    sys.stdout.write(json_text(document) + "\n")


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")


def check_writable(path: Path, what: str) -> None:
    """Refuse, before any work, an output path that cannot be written: by trying, as the write itself will."""
    if path.is_dir():
        raise InputError(f"{path}: cannot write {what} (it is a directory)")
    if not path.parent.is_dir():
        raise InputError(f"{path}: cannot write {what} ({path.parent} is not a directory)")
    probe = _temporary(path)
    try:
        probe.open("xb").close()
    except FileExistsError:
        pass  # left by an interrupted run; the write replaces it
    except OSError as error:
        raise InputError(f"{path}: cannot write {what} ({error.strerror})") from None
    with contextlib.suppress(OSError):
        probe.unlink()


def write_whole(path: Path, data: bytes, what: str) -> None:
    """Write whole or not at all: a half-written plan or picture would mislead whoever reads it."""
    temporary = _temporary(path)
    try:
        temporary.write_bytes(data)
        temporary.replace(path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write {what} ({error.strerror})") from None
