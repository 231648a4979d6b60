"""GlobalDns: one host name in front of every target's gateway, health-checked routing on Route 53.

Route 53 is the one DNS service here whatever clouds the targets run on, so unlike the
per-cloud components this one has a single implementation (`route53.py`) and is made with the
AWS provider in `args.provider`. It is where the clouds meet: its records read every footprint's
gateway address, the only edges into it from other targets.
"""

from __future__ import annotations

import pulumi

from components.global_dns import route53
from components.global_dns.contract import DnsEndpoint, DnsOutputs, GlobalDnsArgs, RoutingMode

__all__ = ["DnsEndpoint", "DnsOutputs", "GlobalDns", "GlobalDnsArgs", "RoutingMode"]


class GlobalDns(pulumi.ComponentResource):
    """The zone, a health check and a name per target, and the routing set at `<record_name>.<zone>`."""

    global_host: pulumi.Output[str]
    zone_id: pulumi.Output[str]
    target_hosts: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: GlobalDnsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplatform:dns:GlobalDns", name, None, opts)
        outputs = route53.build(self, name, args)
        self.global_host = outputs.global_host
        self.zone_id = outputs.zone_id
        self.target_hosts = outputs.target_hosts
        self.register_outputs(
            {"globalHost": self.global_host, "zoneId": self.zone_id, "targetHosts": self.target_hosts}
        )
