"""Credits a stack declares for itself, read by the program (which marks the resource) and by `preflight cost`.

GKE's free tier pays $74.40 a month of cluster management fees per billing account, for zonal and Autopilot
clusters only (cloud.google.com/kubernetes-engine/pricing, "Free tier", read 2026-12). The bill applies it by
itself; a stack that knows no other zonal cluster of its billing account uses it declares it
(mlplatform:costSavings.gkeFreeTier), and the cluster carries this label so the plan can be priced with it.
"""

from __future__ import annotations

GKE_FREE_TIER_LABEL = ("mlplatform-cost-credit", "gke-free-tier")
