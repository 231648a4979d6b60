"""The policy pack's node-pool reader, reused so that the spot rules and the prices read pools alike.

The pack stays self-contained (its own venv under the Pulumi CLI), so preflight reaches its
`rules` package through the pack's directory rather than the other way round.
"""

from __future__ import annotations

import sys
from pathlib import Path

_PACK_DIR = str(Path(__file__).resolve().parent.parent / "policies")
if _PACK_DIR not in sys.path:
    sys.path.append(_PACK_DIR)

from rules.node_pools import NodePool, pools_of  # noqa: E402

__all__ = ["NodePool", "pools_of"]
