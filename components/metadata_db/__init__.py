"""MetadataDB: private, encrypted PostgreSQL per target, its password a secret everywhere."""

from __future__ import annotations

from collections.abc import Callable

import pulumi

from components.metadata_db.contract import DatabaseOutputs, MetadataDbArgs
from components.per_cloud import implementation
from components.target import Cloud

__all__ = ["MetadataDb", "MetadataDbArgs"]

Build = Callable[[pulumi.ComponentResource, str, MetadataDbArgs], DatabaseOutputs]
IMPLEMENTATIONS: dict[Cloud, str] = {
    "aws": "components.metadata_db.aws",
    "gcp": "components.metadata_db.gcp",
    "azure": "components.metadata_db.azure",
}


class MetadataDb(pulumi.ComponentResource):
    """One database server per target; the cloud is chosen by ``args.target``."""

    host: pulumi.Output[str]
    port: pulumi.Output[int]
    database: pulumi.Output[str]
    connection_string: pulumi.Output[str]
    ca_bundle: pulumi.Output[str]

    def __init__(self, name: str, args: MetadataDbArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplatform:database:MetadataDb", name, None, opts)
        build: Build = implementation("MetadataDb", IMPLEMENTATIONS, args.target.cloud).build
        outputs = build(self, name, args)
        self.host = outputs.host
        self.port = outputs.port
        self.database = outputs.database
        self.connection_string = pulumi.Output.secret(outputs.connection_string)
        self.ca_bundle = outputs.ca_bundle
        self.register_outputs(
            {
                "host": self.host,
                "port": self.port,
                "database": self.database,
                "connectionString": self.connection_string,
                "caBundle": self.ca_bundle,
            }
        )
