"""Connecting AI clients to Switchboard in one step, on top of the client config writers (app.platform.clients).

    connector = Connector(store, lambda: find_gateway(store, paths.state_dir()), bridge=paths.self_command())
    done = connector.connect("cursor")            # URL entry + a per-client key named "cursor"
    connector.disconnect("cursor")                # our entry out, that key revoked
    connector.import_servers(["cursor"])          # Cursor's own servers into Switchboard's mcpServers
    connector.overview()                          # every known client: installed, connected, file, restart

No Qt: the CLI verbs (app/cli/clients.py) and the panel's Connect tab both call this. Everything here does
blocking file I/O (and `find_gateway` an HTTP request): call it off any event loop. Errors are ClientError
subclasses whose str() is one sentence with the fix.
"""

from app.connect.gateway_view import GatewayView, find_gateway, settings_url
from app.connect.importing import ENTRY_NAME, ClientImport, ImportReport
from app.connect.links import ConnectError, Connector, default_key_name, presented_key
from app.connect.overview import ClientState
from app.connect.results import Connected, Disconnected
from app.connect.tool_cap import cap_note

__all__ = [
    "ENTRY_NAME",
    "ClientImport",
    "ClientState",
    "ConnectError",
    "Connected",
    "Connector",
    "Disconnected",
    "GatewayView",
    "ImportReport",
    "cap_note",
    "default_key_name",
    "find_gateway",
    "presented_key",
    "settings_url",
]
