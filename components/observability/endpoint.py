"""The central remote-write endpoint, stack-wide: one token per sending target, its DNS name, and the Secret each
sender holds.

Stack-wide so that no edge joins two targets: each token is a RandomPassword that waits on nothing; a sender reads
its own (its Secret), the central footprint's AuthorizationPolicy reads them all, and the URL every sender is given
is a plain string known at plan time, https://<record>.<zone>/api/v1/write. The record is a CNAME to the central
target's own name under the zone (`<target>.<zone>`, made by GlobalDns from its gateway address), so it reads
GlobalDns and nothing in any target. docs/ARCHITECTURE.md, "Edges between clouds", lists the token edge.

Per target, so a token leaked from one cluster writes as that cluster only and is replaced alone (its sender's entry
leaves the policy when the target leaves the stack). Rotation: each RandomPassword's `keepers` hold the stack's
`observability.remoteWriteTokenGeneration`; changing that number replaces every token in one `pulumi up`, which
rewrites each sender's Secret and the central policy together (a sender's Prometheus reads its Secret again when
the operator reloads its config: a few failed writes at most, which remote write retries).
"""

from __future__ import annotations

from collections.abc import Sequence

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
    """The tokens now (every footprint needs its own), the DNS record once GlobalDns has the zone (`publish`)."""

    tokens: dict[str, pulumi.Output[str]]
    host: str

    def __init__(
        self,
        name: str,
        host: str,
        senders: Sequence[str],
        generation: int = 1,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`senders`: the targets that write through the gateway (every target but the central one)."""
        super().__init__("mlplatform:observability:CentralEndpoint", name, None, opts)
        self.host = host
        self._resource_name = name
        self.tokens = {}
        for sender in senders:
            password = random.RandomPassword(
                f"{name}-token-{sender}",
                length=TOKEN_LENGTH,
                special=False,
                keepers={"generation": str(generation)},  # a new generation replaces the token
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.tokens[sender] = pulumi.Output.secret(password.result)
        self.register_outputs({"host": host, "url": write_url(host), "senders": list(senders)})

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
