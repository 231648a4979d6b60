"""The `mlplatform` console script: each command group has its own module, this only hands the words over.

`mlplatform models ...` -> mlplatform_client.models.cli (the `models` extra); anything else ->
mlplatform_client.jobs.cli (`mlplatform jobs submit`). Each group imports only its own dependencies, so a caller who
installed one extra can run its commands without the other's.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["models"]:
        from mlplatform_client.models.cli import main as models_main

        return models_main(words)
    from mlplatform_client.jobs.cli import main as jobs_main

    return jobs_main(words)


if __name__ == "__main__":
    sys.exit(main())
