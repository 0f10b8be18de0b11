"""Writing a client's file so that a crash, a full disk or a dotfiles symlink never costs the user their config."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from .model import ClientFileError

BACKUP_SUFFIX = ".switchboard-backup"
NEW_FILE_MODE = 0o600  # a new client file holds our API key: readable by its owner only


def read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ClientFileError(f"{path} is a folder, not a file; move it aside and try again.") from None
    except OSError as exc:  # permission denied, a file where a folder should be, ...
        raise ClientFileError(
            f"{path} cannot be read ({exc.strerror or exc}); fix that and try again. Nothing was changed."
        ) from None


def decode(path: Path, data: bytes | None) -> str:
    if data is None:
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ClientFileError(
            f"{path} is not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8 and try again."
        ) from None


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one step: a temp file in the same folder, then os.replace.

    The file keeps its mode. A symlinked file (dotfiles) keeps its link: the target is replaced.
    """
    target = path.resolve() if path.is_symlink() else path
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".switchboard-tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def backup_paths(path: Path) -> list[Path]:
    """The backups of `path`, oldest first: NAME.switchboard-backup, then NAME.switchboard-backup-2, ..."""
    first = path.with_name(path.name + BACKUP_SUFFIX)
    found = [first] if first.exists() else []
    n = 2
    while (extra := path.with_name(f"{path.name}{BACKUP_SUFFIX}-{n}")).exists():
        found.append(extra)
        n += 1
    return found


def write_backup(path: Path, original: bytes) -> Path:
    """Keep `original` in the next free backup name beside `path`; an existing backup is never overwritten."""
    existing = backup_paths(path)
    if not existing:
        backup = path.with_name(path.name + BACKUP_SUFFIX)
    else:
        backup = path.with_name(f"{path.name}{BACKUP_SUFFIX}-{len(existing) + 1}")
    source = path.resolve() if path.is_symlink() else path
    try:
        mode = stat.S_IMODE(source.stat().st_mode)
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    write_atomically(backup, original)
    os.chmod(backup, mode)  # the backup is as private as the file it copies
    return backup
