"""The central remote-write endpoint, stack-wide: its bearer token and its DNS name, and the Secret each sender holds.

Stack-wide so that no edge joins two targets: the token is a RandomPassword that waits on nothing, every target
reads it (its Secret, and the central footprint's AuthorizationPolicy), and the URL every sender is given is a
plain string known at plan time, https://<record>.<zone>/api/v1/write. The record is a CNAME to the central
target's own name under the zone (`<target>.<zone>`, made by GlobalDns from its gateway address), so it reads
GlobalDns and nothing in any target. docs/ARCHITECTURE.md, "Edges between clouds", lists the token edge.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.observability.contract import REMOTE_WRITE_PATH, TOKEN_KEY, TOKEN_SECRET

TOKEN_LENGTH = 48  # letters and digits: about 285 bits, and nothing a header needs escaped
LABELS = {"app.kubernetes.io/part-of": "mlplatform", "app.kubernetes.io/component": "observability"}


def write_url(host: str) -> str:
    return f"https://{host}{REMOTE_WRITE_PATH}"


class CentralEndpoint(pulumi.ComponentResource):
    """The token now (every footprint needs it), the DNS record once GlobalDns has the zone (`publish`)."""

    token: pulumi.Output[str]
    host: str

    def __init__(self, name: str, host: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplatform:observability:CentralEndpoint", name, None, opts)
        self.host = host
        self._resource_name = name
        password = random.RandomPassword(
            f"{name}-token", length=TOKEN_LENGTH, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        self.token = pulumi.Output.secret(password.result)
        self.register_outputs({"host": host, "url": write_url(host)})

    def publish(
        self,
        provider: pulumi.ProviderResource,
        zone_id: pulumi.Input[str],
        central_host: pulumi.Input[str],
        ttl: int,
    ) -> aws.route53.Record:
        """`<host>` CNAME `<central target>.<zone>`: moving the central footprint moves every sender with it."""
        return aws.route53.Record(
            f"{self._resource_name}-record",
            zone_id=zone_id,
            name=self.host,
            type="CNAME",
            ttl=ttl,
            records=[central_host],
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        )


def token_secret(
    resource_name: str, namespace: str, token: pulumi.Output[str], opts: pulumi.ResourceOptions
) -> k8s.core.v1.Secret:
    """What prometheusSpec.remoteWrite[].authorization.credentials names, beside the Prometheus that sends it."""
    return k8s.core.v1.Secret(
        resource_name,
        metadata={"name": TOKEN_SECRET, "namespace": namespace, "labels": dict(LABELS)},
        type="Opaque",
        string_data={TOKEN_KEY: token},
        opts=opts,
    )
