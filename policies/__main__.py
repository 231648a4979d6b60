"""The mlplatform policy pack: spot GPU pools, required tags, a security baseline, cost guardrails."""

from pulumi_policy import PolicyPack

from rules import audit, cold_start, cost, gateway_auth, images, security, spot, tagging

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
