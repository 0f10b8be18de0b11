"""What a connect or a disconnect did, and the sentences that say so (the CLI prints them, the panel shows them)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Literal

from app.platform.clients import Change, ClientWriter, Where

Via = Literal["http", "stdio"]


@dataclass(frozen=True)
class Connected:
    writer: ClientWriter
    change: Change
    via: Via
    url: str | None  # what the entry points at (None for the bridge)
    command: tuple[str, ...]  # what the entry runs (empty for a URL entry)
    key_name: str | None  # the per-client key in the entry; None for the bridge
    key_made: bool
    revoked: str | None  # a key our old entry held that the new one does not: revoked
    notes: tuple[str, ...]
    limited_to: tuple[str, ...] | None = None  # the kept key's servers were changed to these

    def lines(self, where: Where) -> list[str]:
        title, path = self.writer.title, where.show(self.change.path)
        if not self.change.changed and not self.key_made:
            out = [f"{title} is already connected ({path}); nothing changed."]
            if self.limited_to is not None:
                out = [
                    f"{title} is already connected ({path}); its key '{self.key_name}' may now use only the "
                    f"servers {', '.join(self.limited_to)}."
                ]
        elif self.via == "stdio":
            out = [
                f"Connected {title}: {path} now starts Switchboard's bridge ({shlex.join(self.command)}); "
                "no key is written in the file."
            ]
        elif self.key_made:
            out = [f"Connected {title}: {path} now points at {self.url}, with its own key '{self.key_name}'."]
        else:
            out = [f"Connected {title}: {path} now points at {self.url}; it keeps its key '{self.key_name}'."]
        if self.change.removed:
            out.append(
                f"Took {title}'s own servers out of the file ({', '.join(self.change.removed)}); "
                f"the originals are kept in {where.show(self.change.backup) if self.change.backup else 'a backup'}."
            )
        elif self.change.changed and self.change.backup is not None:
            backup = where.show(self.change.backup)
            out.append(f"The file as it was before Switchboard first changed it is kept in {backup}.")
        if self.revoked:
            out.append(f"Revoked the key '{self.revoked}' the old entry used.")
        if self.change.changed and self.writer.restart_note:
            out.append(self.writer.restart_note)
        return out + list(self.notes)


@dataclass(frozen=True)
class Disconnected:
    writer: ClientWriter
    change: Change
    revoked: str | None
    in_backup: tuple[str, ...] = ()  # servers the backup holds that the file no longer has (taken by --replace)

    def lines(self, where: Where) -> list[str]:
        title, path = self.writer.title, where.show(self.change.path)
        if not self.change.changed:
            return [f"{title} was not connected ({path}); nothing changed."]
        out = [f"Disconnected {title}: took Switchboard's entry out of {path}."]
        if self.revoked:
            out.append(f"Revoked its key '{self.revoked}': it no longer works, on a running gateway too.")
        if self.in_backup and self.change.backup is not None:
            out.append(
                f"{title}'s own servers that --replace took out ({', '.join(self.in_backup)}) are still in "
                f"{where.show(self.change.backup)}; copy them back from there to have them in {title} again."
            )
        if self.writer.restart_note:
            out.append(self.writer.restart_note)
        return out
