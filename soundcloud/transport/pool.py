"""Per-origin pools of idle keep-alive connections.

- **Connection reuse.** One small pool of idle keep-alive connections per origin (scheme,
  host, port and proxy); a thread takes the most recently used idle connection, or opens a
  new one, so a pool never blocks. At most ``pool_size`` idle connections are kept.

- **Checked before reuse.** An idle connection is taken only if nothing is waiting to be
  read on it (:func:`_is_alive`: one zero-timeout ``poll``, and for TLS the bytes the TLS
  layer holds). Readable data there is bytes the server sent unasked: a late body after a
  HEAD, bytes past ``Content-Length``, a 408 or its FIN. Read as the next request's answer
  they would put the connection out of step (RFC 9112 section 6.3: a client "MUST NOT
  process ... such extra data as a separate response"), so such a connection is closed,
  never reused. A server that closes a connection just as a request goes out on it is
  still found out when the request fails (and replayed when safe, see
  :mod:`soundcloud.transport.http`).
"""

from __future__ import annotations

import select
import threading
from typing import TYPE_CHECKING, Final, List, Optional

if TYPE_CHECKING:
    import http.client

__all__ = ["DEFAULT_POOL_SIZE", "ConnectionPool"]

# Idle connections kept per origin; more may be open at once, the extra ones are closed on release.
DEFAULT_POOL_SIZE: Final = 10
HAS_POLL: Final = hasattr(select, "poll")


class ConnectionPool:
    """Idle keep-alive connections to one origin, shared by threads (last used, first out)."""

    def __init__(self, maxsize: int) -> None:
        self._idle: List[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._maxsize = maxsize
        self._closed = False

    def acquire(self) -> Optional[http.client.HTTPConnection]:
        """An idle connection with nothing waiting to be read on it, or None."""
        while True:
            with self._lock:
                if not self._idle:
                    return None
                connection = self._idle.pop()
            if connection.sock is not None and _is_alive(connection):
                return connection
            connection.close()

    def release(self, connection: http.client.HTTPConnection) -> None:
        """Keep ``connection`` for reuse, or close it when the pool is full or closed."""
        with self._lock:
            if not self._closed and len(self._idle) < self._maxsize:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        """Close every idle connection; connections in use are closed when released."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


def _is_alive(connection: http.client.HTTPConnection) -> bool:
    # An idle keep-alive socket that is readable holds bytes nobody asked for, or the
    # server's FIN: either way it cannot carry a request in step. One system call.
    sock = connection.sock
    if sock is None:  # pragma: no cover - acquire() drops these first
        return False
    try:
        if HAS_POLL:  # poll: select() cannot take descriptors past FD_SETSIZE (1024)
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            if poller.poll(0):
                return False
        else:  # pragma: no cover - Windows
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                return False
        # TLS: bytes already decrypted into the TLS layer's buffer are not on the socket.
        pending = getattr(sock, "pending", None)
        return pending is None or not pending()
    except (OSError, ValueError):
        return False
