"""The pack's table of taggable types stays in step with the pinned SDKs and covers every planned type.

The pack cannot import the cloud SDKs (they would cost seconds a run), so it ships the
answer as data; this test is what keeps that data true.
"""

from __future__ import annotations

import json

from components.tags import tag_input_name
from preflight.plan import Plan
from tests.policy_helpers import PACK_DIR

TABLE = json.loads((PACK_DIR / "rules" / "taggable_types.json").read_text())["types"]
CLOUDS = ("aws:", "gcp:", "azure-native:")


def test_every_entry_matches_the_sdk_constructor() -> None:
    wrong = {t: (listed, tag_input_name(t)) for t, listed in TABLE.items() if tag_input_name(t) != listed}
    assert not wrong, f"taggable_types.json disagrees with the SDKs (listed, SDK): {wrong}"


def test_every_cloud_type_the_stack_plans_is_listed(stack_plan: Plan) -> None:
    planned = {r.type for r in stack_plan.resources if r.custom and r.type.startswith(CLOUDS)}
    missing = {t: tag_input_name(t) for t in sorted(planned - set(TABLE))}
    assert not missing, f"add to policies/rules/taggable_types.json: {json.dumps(missing)}"
