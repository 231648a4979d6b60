"""Tagging: every taggable cloud resource carries the required tags or labels, with values.

Tags may come from the resource itself or from its provider's default tags (AWS) or
default labels (GCP); the analyzer request carries the provider, so both are seen. Labels in
a nested input (Cloud SQL's settings.userLabels) must be the resource's own: provider default
labels do not reach them.
Components (pulumi-eks's included) are not checked: their cloud resources are, under the
engine, with the provider they are created through.
"""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from rules.props import cloud_of, items
from rules.tags import DEFAULT_REQUIRED_TAGS, effective_tags, label_key


def _check_tags(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    cloud = cloud_of(args.resource_type)
    if cloud is None or args.resource_type.startswith(("eks:", "pulumi:")):
        return
    tags = effective_tags(args.resource_type, args.props, args.provider)
    if tags is None:
        return
    required = [str(key) for key in items(args.get_config().get("requiredTags"))] or list(DEFAULT_REQUIRED_TAGS)
    if cloud == "gcp":
        missing = [key for key in required if not tags.get(label_key(key), "").strip()]
        noun = "labels"
    else:
        missing = [key for key in required if not tags.get(key, "").strip()]
        noun = "tags"
    if missing:
        report_violation(
            f"missing or empty required {noun}: {', '.join(missing)} "
            f"(set them on the resource or as the provider's default {noun}).",
            None,
        )


required_tags = ResourceValidationPolicy(
    name="required-tags",
    description="Taggable cloud resources carry the required tags or labels with non-empty values.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_check_tags,
    config_schema=PolicyConfigSchema(
        properties={
            "requiredTags": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "minItems": 1,
                "uniqueItems": True,
                "default": list(DEFAULT_REQUIRED_TAGS),
                "description": "Tag keys every taggable resource must carry (GCP: as label keys).",
            },
        }
    ),
)

POLICIES = [required_tags]
