"""How a component picks its implementation for a target's cloud: one way, in every component.

Each component lists its per-cloud modules by name in a table (`{"aws": "components.registry.aws", ...}`) and
imports the one a target needs on first use. The table names every cloud it supports in one place; importing
on use means a module (and its cloud's SDK) is loaded only by a stack that has a target there, so nothing here
stands in the way of a stack that loads one SDK only.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType

from components.target import Cloud


def implementation(component: str, modules: Mapping[Cloud, str], cloud: Cloud) -> ModuleType:
    """The module implementing `component` on `cloud`, imported now if it is not yet."""
    if cloud not in modules:
        raise ValueError(f"{component}: no implementation for cloud {cloud!r} (has: {', '.join(modules)})")
    return importlib.import_module(modules[cloud])
