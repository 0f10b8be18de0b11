"""Who is calling, and what they may see: the identity an API key grants (by name, never by value)."""

from __future__ import annotations

from dataclasses import dataclass

SCOPE_KEY = "switchboard.identity"  # where the auth middleware leaves the identity in the ASGI scope


@dataclass(frozen=True, slots=True)
class KeyIdentity:
    name: str  # "main" for the main key, else the per-client key's name
    servers: frozenset[str] | None = None  # None: every server
    tools: frozenset[str] | None = None  # published names (server__tool); None: every tool of allowed servers
    # With `tools` set: may it also see the prompts and resources of those tools' servers? (The router
    # knows which servers those are: it has the catalog.)
    tool_servers_content: bool = True

    def allows_server(self, server: str) -> bool:
        return self.servers is None or server in self.servers

    def allows_tool(self, server: str, published: str) -> bool:
        return self.allows_server(server) and (self.tools is None or published in self.tools)


MAIN = KeyIdentity("main")
NOBODY = KeyIdentity("nobody", servers=frozenset(), tools=frozenset())  # no key checked: sees nothing
