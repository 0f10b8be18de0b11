"""Writing Switchboard into AI clients' config files, and reading their servers out: one writer per client.

    from app.platform.clients import CLIENTS, Entry, Where, get
    change = get("cursor").connect(Where(), Entry("switchboard", url=URL, headers={"Authorization": "Bearer " + key}))

No Qt, no gateway: the CLI verbs and the panel tab call this. Every edit keeps the rest of the file
byte for byte, is written atomically, keeps a backup of the original on the first write, and refuses
(ClientFileError, one sentence) to touch a file it cannot parse.
"""

from __future__ import annotations

import json

from .claude_code import ClaudeCode
from .claude_desktop import ClaudeDesktop
from .cline import Cline
from .codex import Codex
from .cursor import Cursor
from .gemini import Gemini
from .lm_studio import LmStudio
from .model import Change, ClientError, ClientFileError, Entry, EntryError, UnknownClientError, Where
from .vscode import VsCode
from .windsurf import Windsurf
from .writer import ClientWriter, Status
from .zed import Zed

__all__ = [
    "CLIENTS",
    "Change",
    "ClientError",
    "ClientFileError",
    "ClientWriter",
    "Entry",
    "EntryError",
    "Status",
    "UnknownClientError",
    "Where",
    "get",
    "snippet",
]

CLIENTS: dict[str, ClientWriter] = {
    writer.id: writer
    for writer in (
        ClaudeDesktop(),
        ClaudeCode(),
        Cursor(),
        VsCode(),
        Windsurf(),
        Zed(),
        Codex(),
        Gemini(),
        LmStudio(),
        Cline(),
    )
}


def get(client_id: str) -> ClientWriter:
    try:
        return CLIENTS[client_id]
    except KeyError:
        known = ", ".join(CLIENTS)
        raise UnknownClientError(f"There is no client called {client_id!r}; the known ones are: {known}.") from None


def snippet(writer: ClientWriter | None, entry: Entry) -> str:
    """The text a user pastes by hand; for a client Switchboard does not know, the common `mcpServers` JSON."""
    if writer is not None:
        return writer.snippet(entry)
    if entry.url:
        generic: dict[str, object] = {"url": entry.url}
        if entry.headers:
            generic["headers"] = dict(entry.headers)
    elif entry.command:
        generic = {"command": entry.command, "args": list(entry.args)}
    else:
        raise EntryError(f"The entry {entry.name!r} has neither a URL nor a command; give it one of them.")
    return json.dumps({"mcpServers": {entry.name: generic}}, indent=2) + "\n"
