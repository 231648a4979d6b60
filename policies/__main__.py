"""The mlplatform policy pack: spot GPU pools, required tags, a security baseline, cost guardrails."""

from pulumi_policy import PolicyPack

from rules import cost, security, spot, tagging

PolicyPack(
    name="mlplatform",
    policies=[*spot.POLICIES, *tagging.POLICIES, *security.POLICIES, *cost.POLICIES],
)
