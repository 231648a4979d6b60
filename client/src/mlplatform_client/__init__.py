"""mlplatform-client: one predict() across every cloud target of an mlplatform stack.

    client = MultiCloudClient.from_stack_outputs("outputs.json", strategy="latency")
    result = client.predict("fraud-detection", [Tensor.of("x", [[0.1, 0.2, 0.3, 0.4]])])

Speaks the KServe V2 inference protocol (what Triton serves) over HTTP/JSON; routes by a strategy;
probes every target; opens a circuit breaker on a failing one; retries a failed request on the next
target within one deadline; hedges if asked; counts everything per target.
"""

from mlplatform_client.aio import AsyncMultiCloudClient
from mlplatform_client.attempts import Attempt, Outcome
from mlplatform_client.auth import CallableToken, ClientCredentials, StaticToken, TokenProvider
from mlplatform_client.breaker import BreakerState
from mlplatform_client.client import MultiCloudClient
from mlplatform_client.endpoints import Endpoint, endpoints_from_outputs
from mlplatform_client.errors import (
    AllTargetsFailedError,
    ClientClosedError,
    ConfigError,
    DeadlineExceededError,
    InvalidRequestError,
    MalformedAnswerError,
    ModelNotFoundError,
    MultiCloudError,
    NoHealthyTargetError,
    NotAuthorizedError,
    OutputNotFoundError,
    RateLimitedError,
    RequestRejectedError,
    TokenError,
)
from mlplatform_client.metrics import ClientStats, HistogramSnapshot, TargetStats
from mlplatform_client.options import ClientOptions
from mlplatform_client.strategies import (
    STRATEGIES,
    Failover,
    Geo,
    Latency,
    RoundRobin,
    Strategy,
    TargetView,
    Weighted,
)
from mlplatform_client.tensors import InferResult, ModelMetadata, Tensor, TensorMetadata

__all__ = [
    "STRATEGIES",
    "AllTargetsFailedError",
    "AsyncMultiCloudClient",
    "Attempt",
    "BreakerState",
    "CallableToken",
    "ClientClosedError",
    "ClientCredentials",
    "ClientOptions",
    "ClientStats",
    "ConfigError",
    "DeadlineExceededError",
    "Endpoint",
    "Failover",
    "Geo",
    "HistogramSnapshot",
    "InferResult",
    "InvalidRequestError",
    "Latency",
    "MalformedAnswerError",
    "ModelMetadata",
    "ModelNotFoundError",
    "MultiCloudClient",
    "MultiCloudError",
    "NoHealthyTargetError",
    "NotAuthorizedError",
    "Outcome",
    "OutputNotFoundError",
    "RateLimitedError",
    "RequestRejectedError",
    "RoundRobin",
    "StaticToken",
    "Strategy",
    "TargetStats",
    "TargetView",
    "Tensor",
    "TensorMetadata",
    "TokenError",
    "TokenProvider",
    "Weighted",
    "endpoints_from_outputs",
]
