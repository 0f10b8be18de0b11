"""API keys: the main key's storage (keyring or a 0600 file) and the named per-client keys in the config;
remote servers' sign-ins (OAuth tokens), kept the same way."""

from app.paths import config_dir
from app.secrets.client_keys import ClientKeyError, digest
from app.secrets.keystore import KeyLocation, KeyStore, KeyStoreError
from app.secrets.oauth_tokens import OAuthTokenStore, TokenStoreError


def default_store() -> KeyStore:
    """The store beside the default config file."""
    return KeyStore(config_dir())


__all__ = [
    "ClientKeyError",
    "KeyLocation",
    "KeyStore",
    "KeyStoreError",
    "OAuthTokenStore",
    "TokenStoreError",
    "default_store",
    "digest",
]
