"""The mlplatform policy pack: spot GPU pools, required tags, a security baseline, cost guardrails."""

from pulumi_policy import PolicyPack

from rules import audit, cold_start, convert_once, cost, gateway_auth, images, security, spot, tagging

convert_once.install()  # each resource's properties converted once, not once per policy (rules/convert_once.py)

PolicyPack(
    name="mlplatform",
    policies=[
        *spot.POLICIES,
        *tagging.POLICIES,
        *security.POLICIES,
        *gateway_auth.POLICIES,
        *audit.POLICIES,
        *images.POLICIES,
        *cost.POLICIES,
        *cold_start.POLICIES,
    ],
)
