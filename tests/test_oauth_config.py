"""The `oauth` block of a remote server's entry: each mistake names the field and the fix, marks only that
server unusable, and the others run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.config import ConfigStore


@pytest.mark.parametrize(("oauth", "sentence"), [
    ({"client_secret": "s3cret"},
     "mcpServers.docs.oauth: client_secret needs client_id: add the client id the provider gave you with the secret, "
     "or remove client_secret"),
    ({"redirect_port": 0}, "mcpServers.docs.oauth.redirect_port: Input should be greater than or equal to 1"),
    ({"clientid": "x"}, "mcpServers.docs.oauth.clientid: unknown field (remove it)"),
    ({"client_metadata_url": "http://example.com/c.json"},
     "mcpServers.docs.oauth.client_metadata_url: must be an https:// URL with a path, e.g. "
     "https://example.com/switchboard.json"),
])
def test_a_bad_oauth_block_names_the_field_and_the_fix(tmp_path: Path, oauth: dict, sentence: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"mcpServers": {"docs": {"url": "https://example.com/mcp", "oauth": oauth},
                                               "other": {"url": "https://example.com/other"}}}))
    config = ConfigStore(path).open().config
    assert config.invalid == {"docs": sentence}
    assert "other" in config.mcpServers


def test_a_good_oauth_block_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCS_SECRET", "from-the-environment")
    path = tmp_path / "config.json"
    entry = {"url": "https://example.com/mcp", "oauth": {"client_id": "abc", "client_secret": "${DOCS_SECRET}",
                                                        "redirect_port": 33418, "scopes": ["read"]}}
    path.write_text(json.dumps({"mcpServers": {"docs": entry}}))
    docs = ConfigStore(path).open().config.mcpServers["docs"]
    assert docs.oauth.client_id == "abc" and docs.oauth.client_secret == "from-the-environment"  # type: ignore[union-attr]
    assert docs.oauth.redirect_port == 33418 and docs.oauth.scopes == ["read"]  # type: ignore[union-attr]
