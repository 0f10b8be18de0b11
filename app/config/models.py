"""The config file's shape: `gateway` settings plus a Claude-Desktop-compatible `mcpServers` block.

Every setting users may write has its name here, validated; unknown keys inside `gateway` and inside a
server entry are refused (a typo must not be silently ignored), unknown top-level keys are kept and
ignored so a pasted Claude Desktop file loads as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

DEFAULT_PORT = 8765
LOOPBACK = ("127.0.0.1", "localhost", "::1")
MiB = 1024 * 1024


class ClientKey(BaseModel):
    """A named per-client API key. Only its SHA-256 is kept; the key itself is shown once at creation."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    servers: list[str] | None = None  # None: every server
    tools: list[str] | None = None  # published names (server__tool); None: every tool of the allowed servers
    # With `tools` set: also see the prompts and resources of those tools' servers (False: tools only).
    tool_servers_content: bool = True


class GatewaySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)
    allow_non_loopback: bool = False  # binding anything but loopback must be asked for explicitly
    allowed_hosts: list[str] = Field(default_factory=list)  # Host names accepted besides loopback (LAN address, ...)
    allowed_origins: list[str] = Field(default_factory=list)  # extra browser origins, besides localhost ones
    max_body_bytes: int = Field(default=4 * MiB, ge=1024)  # largest request body a client may send
    max_message_bytes: int = Field(default=64 * MiB, ge=64 * 1024)  # largest line a stdio child may print
    call_timeout_s: float = Field(default=120.0, gt=0)  # a call with no answer by then is cancelled
    startup_wait_s: float = Field(default=10.0, ge=0)  # a first list/call waits this long for servers starting up
    session_idle_s: float = Field(default=600.0, ge=1)  # Streamable HTTP sessions idle this long are closed
    read_timeout_s: float = Field(default=30.0, gt=0)  # headers and body of a request must arrive within this
    max_connections_per_client: int = Field(default=256, ge=1)  # open HTTP connections per client address
    activity_size: int = Field(default=1000, ge=10, le=1_000_000)  # tool calls kept in memory for the panel
    # The call history (SQLite in the state dir): on/off and its path are read at start; the limits apply live.
    history: bool = True
    history_max_age_days: float = Field(default=30.0, gt=0)  # older calls and events are deleted
    history_max_mb: int = Field(default=200, ge=1)  # the file (with its WAL) is kept under this size
    history_value_bytes: int = Field(default=4096, ge=256, le=MiB)  # arguments and results are stored cut to this
    event_replay: int = Field(default=1000, ge=0, le=100_000)  # /api/v1/events kept for Last-Event-ID replay
    metrics_public: bool = False  # /metrics without the API key, from this machine only (a local scraper)
    log_format: Literal["text", "json"] = "text"  # json: one object per line in the log file and on stderr
    # OpenTelemetry: spans exported over OTLP/HTTP to this URL (".../v1/traces"); needs the `otel` extra.
    otel_endpoint: str | None = None
    otel_service_name: str = Field(default="switchboard", min_length=1)
    client_keys: list[ClientKey] = Field(default_factory=list)

    @field_validator("otel_endpoint")
    @classmethod
    def _otlp_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL, e.g. http://127.0.0.1:4318/v1/traces")
        return value

    @model_validator(mode="after")
    def _loopback_unless_asked(self) -> GatewaySettings:
        if not self.allow_non_loopback and self.host not in LOOPBACK:
            raise ValueError(f"host {self.host!r} is not loopback; set gateway.allow_non_loopback to true to expose it")
        return self

    def accepted_hosts(self) -> list[str]:
        """Host names requests may be addressed to besides loopback (only when binding beyond it)."""
        if not self.allow_non_loopback:
            return []
        extra = [] if self.host in ("0.0.0.0", "::", *LOOPBACK) else [self.host]
        return [*extra, *self.allowed_hosts]


class _ChildBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    type: str | None = None  # accepted for compatibility with pasted client configs ("stdio", "http", "sse")
    timeout_s: float | None = Field(default=None, gt=0)  # overrides gateway.call_timeout_s for this server
    # Roots this server gets when it asks outside any client's call (the filesystem server asks at start).
    roots: list[str] = Field(default_factory=list)


class StdioServer(_ChildBase):
    command: str = Field(min_length=1)
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None

    @property
    def kind(self) -> Literal["stdio"]:
        return "stdio"


class OAuthClient(BaseModel):
    """How to sign in to a remote server that asks for OAuth, where the defaults do not do: a client
    registered ahead of time (for an authorization server that offers neither Client ID Metadata
    Documents nor dynamic registration), the scopes to ask for, the loopback port it was registered with."""

    model_config = ConfigDict(extra="forbid")
    client_id: str | None = Field(default=None, min_length=1)
    client_secret: str | None = Field(default=None, min_length=1)  # write it as ${VAR}: the file is no secret store
    scopes: list[str] | None = None  # None: the scopes the server asks for
    redirect_port: int | None = Field(default=None, ge=1, le=65535)  # None: a free port (or the one registered)
    # An https URL where a Client ID Metadata Document for Switchboard is published; used as the client id
    # by authorization servers that support such documents, instead of registering.
    client_metadata_url: str | None = None

    @field_validator("client_metadata_url")
    @classmethod
    def _https_document(cls, value: str | None) -> str | None:
        if value is not None and (not value.startswith("https://") or value.rstrip("/").count("/") < 3):
            raise ValueError("must be an https:// URL with a path, e.g. https://example.com/switchboard.json")
        return value

    @model_validator(mode="after")
    def _secret_needs_id(self) -> OAuthClient:
        if self.client_secret is not None and self.client_id is None:
            raise ValueError("client_secret needs client_id (the id the secret belongs to)")
        return self


class RemoteServer(_ChildBase):
    url: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    transport: Literal["streamable-http", "sse"] | None = None  # None: try Streamable HTTP, fall back to SSE
    # Signing in when the server asks for OAuth (tokens are kept in the keyring, never here). Without an
    # `Authorization` header, a server that answers 401 is signed in to with the defaults.
    oauth: OAuthClient | None = None

    @property
    def kind(self) -> Literal["remote"]:
        return "remote"

    @property
    def signs_in(self) -> bool:
        """OAuth applies: no `Authorization` header of the user's own (their token, their business)."""
        return not any(name.lower() == "authorization" for name in self.headers)

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
TaggedChild = Annotated[
    Annotated[StdioServer, Tag("stdio")] | Annotated[RemoteServer, Tag("remote")],
    Discriminator(
        _child_kind,
        custom_error_type="server_kind",
        custom_error_message="needs either `command` (a local server) or `url` (a remote server)",
    ),
]


class Config(BaseModel):
    """The whole file, resolved. `invalid` holds the servers whose entry cannot be used, each with the
    sentence that says why; they are shown as failed while every other server runs."""

    model_config = ConfigDict(extra="ignore")
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    mcpServers: dict[str, ChildConfig] = Field(default_factory=dict)
    invalid: dict[str, str] = Field(default_factory=dict)

    def enabled_children(self) -> dict[str, ChildConfig]:
        return {name: child for name, child in self.mcpServers.items() if child.enabled}


class ConfigError(Exception):
    """A config that cannot be used. `str()` is a message for the user: one line per problem, no traceback."""

    def __init__(self, path: Path | None, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        where = f"{path}: " if path else ""
        super().__init__(where + "invalid config\n" + "\n".join(f"  {p}" for p in problems))

    def sentence(self) -> str:
        """One line for a banner or a status field."""
        where = f"{self.path}" if self.path else "The config"
        first = self.problems[0] if self.problems else "invalid"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"{where} cannot be used: {first}{more}. The last good config keeps running."


@dataclass(frozen=True)
class LoadedConfig:
    """`raw` is the file as written (with `${VAR}` references, saved back as is); `config` is resolved."""

    path: Path
    raw: dict[str, Any]
    config: Config


@dataclass(frozen=True)
class ConfigChanged:
    """The file changed. `loaded` is what is in force now (the last good config when the file is broken);
    `error` says what is wrong with the file on disk, None once it is fixed."""

    loaded: LoadedConfig
    error: ConfigError | None
    external: bool = True  # noticed on disk (a hand edit, another process); False: written by this store
