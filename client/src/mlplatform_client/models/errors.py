"""The one error the `mlplatform` command prints as one line and exits 2 on: bad input, nothing written."""

from __future__ import annotations


class ModelsError(Exception):
    """A refusal the user can act on: the message names what is wrong (a path, a key, a target) and what to do."""
