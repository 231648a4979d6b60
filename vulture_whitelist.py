"""What `make lint`'s dead-code check (vulture) cannot see used: names a framework calls or reads, and the client's API.

Vulture reads this file with the code it checks (pyproject.toml, [tool.vulture]); nothing runs it. A name vulture
reports that is not here is dead: use it or remove it. Add a name here only with the caller that needs it.
"""

# ruff: noqa: B018 (each line names what it keeps alive, as vulture's own whitelists do)

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mlplatform_client.tensors import InferResult, Tensor
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceServicer
from prometheus_client.registry import Collector
from pulumi.runtime.mocks import MockMonitor, Mocks
from ruamel.yaml import YAML

from tests import test_gpu_cluster_aws

# Pulumi's mock mode (pulumi.runtime.set_mocks) calls these on the mocks and monitor it is given: preflight's
# recorder, the synthesis benchmark's bare monitor and tests/test_sdk_internals.py subclass them.
Mocks.new_resource
MockMonitor.RegisterResource
MockMonitor.ReadResource

# prometheus_client calls a registered collector's collect() at every scrape (the client's PrometheusCollector).
Collector.collect

# http.server calls a request handler's do_<METHOD>() and log_message() and reads its protocol_version and
# disable_nagle_algorithm, and the server's daemon_threads (tests/client_fixed_server.py's fixed-answer server).
BaseHTTPRequestHandler.do_GET
BaseHTTPRequestHandler.do_POST
BaseHTTPRequestHandler.log_message
BaseHTTPRequestHandler.protocol_version
BaseHTTPRequestHandler.disable_nagle_algorithm
ThreadingHTTPServer.daemon_threads

# pytest reads a test module's marks from its `pytestmark` global.
test_gpu_cluster_aws.pytestmark

# The client package's public API (client/README.md, tensors.py): its users call and read these; the project
# itself does not.
Tensor.to_numpy
InferResult.model_version

# gRPC calls a servicer's methods by the service's method names (tests/test_client_tracing.py's OTLP receiver).
TraceServiceServicer.Export

# ruamel.yaml reads it when it loads a document (mlplatform_client/models/stackfile.py keeps a stack file's quotes).
YAML.preserve_quotes
