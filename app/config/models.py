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
# What may happen to a tool call: run it, refuse it, or pause it until someone approves it.
Policy = Literal["allow", "deny", "ask"]
# The default for tools no setting names: ask before destructive ones (destructiveHint), allow everything; or
# "strict": ask also before every tool that does not say it is read-only (readOnlyHint).
DefaultPolicy = Literal["ask-destructive", "allow", "strict"]


class RateLimit(BaseModel):
    """A token bucket: `per_minute` calls on average, up to `burst` at once (default: ten seconds' worth)."""

    model_config = ConfigDict(extra="forbid")
    per_minute: float = Field(gt=0, le=1_000_000)
    burst: int | None = Field(default=None, ge=1, le=1_000_000)

    @property
    def capacity(self) -> int:
        return self.burst if self.burst is not None else max(1, round(self.per_minute / 6))

    def describe(self) -> str:
        return f"{self.per_minute:g} calls/min, burst {self.capacity}"


class ToolSettings(BaseModel):
    """Settings for the tools a glob in a server's `tools` map matches (the server's own tool names).
    Unset fields fall back to the server's entry, then to the gateway's defaults."""

    model_config = ConfigDict(extra="forbid")
    cache_ttl_s: float | None = Field(default=None, ge=0)  # listing a tool here with a TTL makes it cacheable
    timeout_s: float | None = Field(default=None, gt=0)
    max_concurrency: int | None = Field(default=None, ge=1)  # in flight at once for the tools this glob matches
    queue_size: int | None = Field(default=None, ge=0)
    rate_limit: RateLimit | None = None
    policy: Policy | None = None
    pinned: bool = False  # in tool search mode, still listed as itself


def _tool_globs(value: dict[str, ToolSettings]) -> dict[str, ToolSettings]:
    for glob in value:
        if not glob.strip():
            raise ValueError("a tool glob must not be empty (use \"*\" for every tool)")
    return value


def _policy_globs(value: dict[str, Policy]) -> dict[str, Policy]:
    for glob in value:
        if not glob.strip():
            raise ValueError("a tool glob must not be empty (use \"*\" for every tool)")
    return value


class ClientKey(BaseModel):
    """A named per-client API key. Only its SHA-256 is kept; the key itself is shown once at creation."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    servers: list[str] | None = None  # None: every server
    tools: list[str] | None = None  # published names (server__tool); None: every tool of the allowed servers
    # With `tools` set: also see the prompts and resources of those tools' servers (False: tools only).
    tool_servers_content: bool = True
    tool_search: bool | None = None  # None: gateway.tool_search decides
    rate_limit: RateLimit | None = None  # every call this key makes, across servers
    # GLOB (of published names, server__tool) -> policy; for this key's calls it comes before the servers' own.
    policy: dict[str, Policy] = Field(default_factory=dict)

    _globs = field_validator("policy")(_policy_globs)


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
    # Tool search mode for every key that does not say otherwise: clients see a few gateway tools
    # (search, get a schema, call) instead of every tool.
    tool_search: bool = False
    default_policy: DefaultPolicy = "ask-destructive"
    approval_timeout_s: float = Field(default=60.0, gt=0, le=86400)  # an unanswered approval is refused then
    cache_max_mb: float = Field(default=64.0, gt=0)  # the response cache's size, all servers together
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
    # Call policy, applied without restarting the server (app/gateway/policy). Unset: the gateway's defaults.
    cache_ttl_s: float | None = Field(default=None, ge=0)  # results of its read-only tools are kept this long
    max_concurrency: int | None = Field(default=None, ge=1)  # calls in flight at once (default 8 stdio, 32 remote)
    queue_size: int | None = Field(default=None, ge=0)  # calls waiting for a free slot (default 128)
    rate_limit: RateLimit | None = None
    policy: Policy | None = None  # every tool of this server, unless its `tools` entry says otherwise
    tools: dict[str, ToolSettings] = Field(default_factory=dict)  # GLOB of the server's own tool names -> settings

    _globs = field_validator("tools")(_tool_globs)


# The entry's fields that only change how calls are handled: changing them never restarts the server.
POLICY_FIELDS = frozenset(
    {"timeout_s", "cache_ttl_s", "max_concurrency", "queue_size", "rate_limit", "policy", "tools"}
)


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
            raise ValueError("client_secret needs client_id: add the client id the provider gave you with the secret, "
                             "or remove client_secret")
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
