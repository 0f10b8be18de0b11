"""Logging for the gateway process: a rotating 0600 file in the log dir, short lines on stderr.

Records are handed to a queue and written by a listener thread, so a log line never makes the
gateway's loop wait for the disk. On stderr, Switchboard's own news (a server started or failed, the
config reloaded) shows at the default level; libraries speak only when something is wrong. Keys are
redacted from every line (by the parameter they came in and by their shape), and the SDK's
tracebacks for other people's bad input become one rate-limited line.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import logging.handlers
import os
import queue
import sys
import time
from pathlib import Path

LOG_NAME = "switchboard.log"
NOISY = ("mcp", "httpx", "httpx2", "httpcore2", "uvicorn.access", "uvicorn.error", "sse_starlette")
_listener: logging.handlers.QueueListener | None = None


class _OursOrWarnings(logging.Filter):
    """stderr: INFO and up from Switchboard's own loggers, WARNING and up from everything else."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.startswith("app.")


class JsonLines(logging.Formatter):
    """One JSON object per line (`--log-format json`): time, level, logger, message, and the traceback
    when there is one. Redaction runs before formatting, as for text lines."""

    def format(self, record: logging.LogRecord) -> str:
        import orjson

        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}" + time.strftime("%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return orjson.dumps(entry, default=str).decode()


FORMATS = ("text", "json")


def setup(log_dir: Path, *, verbose: bool = False, console: bool = True, fmt: str = "text") -> Path:
    """Log to the rotating file in `log_dir` (and stderr); `fmt` "json" writes one JSON object per line to both."""
    from app.gateway.logging_limits import OneLineLibraryErrors
    from app.gateway.security.redact import install_redaction

    global _listener
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / LOG_NAME
    _private(path)
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if _listener is not None:
        _listener.stop()

    file_handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    as_json = fmt == "json"
    file_handler.setFormatter(
        JsonLines() if as_json else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    file_handler.rotator = _rotate_private
    handlers: list[logging.Handler] = [file_handler]
    if console:
        stream = logging.StreamHandler(sys.stderr)
        text = logging.Formatter("%(message)s" if not verbose else "%(levelname)s %(name)s: %(message)s")
        stream.setFormatter(JsonLines() if as_json else text)
        if not verbose:
            stream.addFilter(_OursOrWarnings())
        handlers.append(stream)
    install_redaction(*handlers)  # on the writing side: whatever reaches a file or stderr is redacted

    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    to_queue = logging.handlers.QueueHandler(records)
    install_redaction(to_queue)  # and before queueing, so arguments are formatted redacted
    to_queue.addFilter(OneLineLibraryErrors(only=NOISY))
    root.addHandler(to_queue)
    _listener = logging.handlers.QueueListener(records, *handlers, respect_handler_level=True)
    _listener.start()
    atexit.register(_listener.stop)

    # The SDK and HTTP stack are chatty at INFO (one line per session and request).
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
    return path


def _private(path: Path) -> None:
    """The log file is the user's alone, like the config (it names servers, paths and clients)."""
    fd = os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)
    os.close(fd)
    with contextlib.suppress(OSError):  # a filesystem without modes (FAT) keeps its own
        os.chmod(path, 0o600)


def _rotate_private(source: str, dest: str) -> None:
    os.replace(source, dest)
    _private(Path(source))
