"""Model lifecycle from a laptop or CI: `mlplatform models publish` and `mlplatform models status`.

Installed with `pip install 'mlplatform-client[models]'` (Triton's model-config protobuf, rclone's release binary,
`cryptography` for signing); needs no Pulumi when the stack's outputs are given as a file. Modules, one concept each:
`errors` (the one-line refusal), `repository` (is DIR a Triton model repository), `stack` (what the stack outputs
say: targets, buckets, the primary, the served models), `storage` (the buckets through rclone), `publish`, `status`,
`cli` (the `mlplatform` console script).
"""
