"""The config file's shape: `gateway` settings plus a Claude-Desktop-compatible `mcpServers` block."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

DEFAULT_PORT = 8765


class ClientKey(BaseModel):
    """A named per-client API key. Only its SHA-256 is kept; the key itself is shown once at creation."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    servers: list[str] | None = None  # None: every server
    tools: list[str] | None = None  # published names (server__tool); None: every tool of the allowed servers


class GatewaySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)
    allow_non_loopback: bool = False  # binding anything but loopback must be asked for explicitly
    allowed_origins: list[str] = Field(default_factory=list)  # extra browser origins, besides localhost ones
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    activity_size: int = Field(default=1000, ge=10, le=1_000_000)  # tool calls kept in memory for the panel
    client_keys: list[ClientKey] = Field(default_factory=list)

    @model_validator(mode="after")
    def _loopback_unless_asked(self) -> GatewaySettings:
        if not self.allow_non_loopback and self.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"host {self.host!r} is not loopback; set gateway.allow_non_loopback to true to expose it")
        return self


class _ChildBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    type: str | None = None  # accepted for compatibility with pasted client configs ("stdio", "http", "sse")


class StdioServer(_ChildBase):
    command: str = Field(min_length=1)
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None

    @property
    def kind(self) -> Literal["stdio"]:
        return "stdio"


class RemoteServer(_ChildBase):
    url: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    transport: Literal["streamable-http", "sse"] | None = None  # None: try Streamable HTTP, fall back to SSE

    @property
    def kind(self) -> Literal["remote"]:
        return "remote"

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _transport_from_type(self) -> RemoteServer:
        if self.transport is None and self.type == "sse":
            self.transport = "sse"
        return self


def _child_kind(value: object) -> str | None:
    if isinstance(value, dict):
        if "command" in value:
            return "stdio"
        if "url" in value:
            return "remote"
    return None


ChildConfig = StdioServer | RemoteServer
# Tagged by which key is present, so an error names the field of the right kind, not of both.
_TaggedChild = Annotated[
    Annotated[StdioServer, Tag("stdio")] | Annotated[RemoteServer, Tag("remote")],
    Discriminator(
        _child_kind,
        custom_error_type="server_kind",
        custom_error_message="needs either `command` (a local server) or `url` (a remote server)",
    ),
]


class Config(BaseModel):
    """The whole file. Unknown top-level keys are ignored so a pasted Claude Desktop file loads as is."""

    model_config = ConfigDict(extra="ignore")
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    mcpServers: dict[str, _TaggedChild] = Field(default_factory=dict)

    @field_validator("mcpServers", mode="before")
    @classmethod
    def _entries_are_servers(cls, value: object) -> object:
        if isinstance(value, dict):
            for name in value:
                if not name or len(name) > 64:
                    raise ValueError(f"{name!r}: a server name must be 1 to 64 characters")
        return value

    def enabled_children(self) -> dict[str, ChildConfig]:
        return {name: child for name, child in self.mcpServers.items() if child.enabled}
