"""The caller's gateway token for the models commands, read from the environment the same way everywhere:
$MLPLATFORM_TOKEN, or OAuth2 client credentials as a machine caller of the inference client uses them."""

from __future__ import annotations

import os

from mlplatform_client.auth import ClientCredentials, StaticToken, TokenProvider
from mlplatform_client.errors import ConfigError
from mlplatform_client.models.errors import ModelsError

TOKEN_ENV = "MLPLATFORM_TOKEN"
CLIENT_ENV = ("MLPLATFORM_TOKEN_URL", "MLPLATFORM_CLIENT_ID", "MLPLATFORM_CLIENT_SECRET")
SCOPE_ENV = "MLPLATFORM_TOKEN_SCOPE"  # optional, with the client credentials


def gateway_token() -> TokenProvider | None:
    """The token the environment names; None where it names none."""
    try:
        if os.environ.get(TOKEN_ENV):
            return StaticToken(os.environ[TOKEN_ENV])
        url, client, secret = (os.environ.get(name, "") for name in CLIENT_ENV)
        if url and client and secret:
            return ClientCredentials(url, client, secret, scope=os.environ.get(SCOPE_ENV) or None)
    except ConfigError as error:
        raise ModelsError(f"gateway token: {error}") from None
    return None
