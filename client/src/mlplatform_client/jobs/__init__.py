"""Training jobs: `mlplatform jobs submit` places a GPU job on the cheapest target that may run it.

The stack output `trainingOffers` carries each target's training pools with their spot and on-demand prices per
GPU-hour (from the program's sourced price table), so the client ships no price table of its own. Placement
(placement.py) is pure; the Job it renders (manifest.py) is queued by Kueue in the chosen cluster.
"""
