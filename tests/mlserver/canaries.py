"""Canary versions of the test model that misbehave, as MLServer custom runtimes (loaded from the model's folder,
which MLServer puts on sys.path while it loads the model's `implementation`): the same scikit-learn model, but every
third request fails with 503, or every request takes SLOW_SECONDS. Used by tests/test_models_promotion_prometheus.py.
"""

from __future__ import annotations

import asyncio

from mlserver.errors import MLServerError
from mlserver.types import InferenceRequest, InferenceResponse
from mlserver_sklearn import SKLearnModel

__all__ = ["FailingModel", "SlowModel"]  # named by model-settings.json, not imported

SLOW_SECONDS = 1.2  # above the promotion test's 1 s p99 bound


class FailingModel(SKLearnModel):
    """A third of its answers are 503 (MLServerError carries the status MLServer answers with)."""

    calls = 0

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        FailingModel.calls += 1
        if FailingModel.calls % 3 == 0:
            raise MLServerError("this canary fails every third request", status_code=503)
        return await super().predict(payload)


class SlowModel(SKLearnModel):
    """Right answers, each after SLOW_SECONDS."""

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        await asyncio.sleep(SLOW_SECONDS)
        return await super().predict(payload)
