"""Plausible GCP outputs: generated names, self links."""

from __future__ import annotations

from preflight.mock_tables.context import InvokeTable, MockContext, Outputs, OutputTable


def _gcs_bucket(ctx: MockContext) -> Outputs:
    name = ctx.inputs.get("name") or ctx.auto_name()
    return {"name": name, "url": f"gs://{name}", "selfLink": f"https://www.googleapis.com/storage/v1/b/{name}"}


OUTPUTS: OutputTable = {
    "gcp:storage/bucket:Bucket": _gcs_bucket,
}
INVOKES: InvokeTable = {}
