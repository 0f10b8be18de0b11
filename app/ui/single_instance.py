"""One Switchboard per user: the first instance listens on a local socket; a second one asks it to show its panel.

The socket name includes the user and a hash of the state folder, so a test (or portable install)
with its own SWITCHBOARD_HOME never talks to the user's real instance.
"""

from __future__ import annotations

import getpass
import hashlib
from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from app import paths

SHOW = b"show\n"
OK = b"ok\n"
TIMEOUT_MS = 1500


def server_name() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no user name in the environment: the state folder still tells users apart
        user = "user"
    digest = hashlib.sha256(str(paths.state_dir()).encode()).hexdigest()[:10]
    return f"switchboard-{user}-{digest}"


def ask_running_instance(name: str | None = None) -> bool:
    """True if another instance answered and is now showing its panel (this process should exit)."""
    socket = QLocalSocket()
    socket.connectToServer(name or server_name())
    if not socket.waitForConnected(TIMEOUT_MS):
        return False
    socket.write(SHOW)
    socket.flush()
    answered = socket.waitForReadyRead(TIMEOUT_MS) and bytes(socket.readAll().data()).startswith(OK)
    socket.disconnectFromServer()
    return answered


class InstanceServer(QObject):
    """Listens for later launches; `on_show` runs when one asks (non-blocking, from Qt's event loop)."""

    def __init__(self, on_show: Callable[[], None], name: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name or server_name()
        self._on_show = on_show
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)

    def listen(self) -> bool:
        if self._server.listen(self.name):
            return True
        # A socket file left by a crashed instance: nobody answered ask_running_instance, so take it over.
        QLocalServer.removeServer(self.name)
        return self._server.listen(self.name)

    def _accept(self) -> None:
        while self._server.hasPendingConnections():
            socket = self._server.nextPendingConnection()
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(socket.deleteLater)

    def _read(self, socket: QLocalSocket) -> None:
        if bytes(socket.readAll().data()).startswith(SHOW.strip()):
            socket.write(OK)
            socket.flush()
            self._on_show()

    def close(self) -> None:
        self._server.close()
