"""MetadataDB: private, encrypted PostgreSQL per target, its password a secret everywhere."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pulumi

from components.metadata_db.contract import DatabaseOutputs, MetadataDbArgs

__all__ = ["MetadataDb", "MetadataDbArgs"]

Build = Callable[[pulumi.ComponentResource, str, MetadataDbArgs], DatabaseOutputs]


class MetadataDb(pulumi.ComponentResource):
    """One database server per target; the cloud is chosen by ``args.target``."""

    host: pulumi.Output[str]
    port: pulumi.Output[int]
    database: pulumi.Output[str]
    connection_string: pulumi.Output[str]

    def __init__(self, name: str, args: MetadataDbArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplatform:database:MetadataDb", name, None, opts)
        build: Build = importlib.import_module(f"components.metadata_db.{args.target.cloud}").build
        outputs = build(self, name, args)
        self.host = outputs.host
        self.port = outputs.port
        self.database = outputs.database
        self.connection_string = pulumi.Output.secret(outputs.connection_string)
        self.register_outputs(
            {
                "host": self.host,
                "port": self.port,
                "database": self.database,
                "connectionString": self.connection_string,
            }
        )
