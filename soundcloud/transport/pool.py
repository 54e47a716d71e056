"""Per-origin pools of idle keep-alive connections.

- **Connection reuse.** One small pool of idle keep-alive connections per origin (scheme,
  host, port and proxy); a thread takes the most recently used idle connection, or opens a
  new one, so a pool never blocks. At most ``pool_size`` idle connections are kept.

A connection the server closed while it sat idle is found out by the transport when the
request fails on it (and replayed, see :mod:`soundcloud.transport.http`), or, for requests
that could not be replayed, up front by :func:`_is_alive`.
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

    def acquire(self, check: bool) -> Optional[http.client.HTTPConnection]:
        """An idle connection, or None; with ``check``, only one the server has not closed."""
        while True:
            with self._lock:
                if not self._idle:
                    return None
                connection = self._idle.pop()
            if connection.sock is not None and (not check or _is_alive(connection)):
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
    # An idle keep-alive socket that is readable has been closed by the server (or it sent
    # something unasked, like a 408): either way it cannot carry a request. One system call;
    # made only for requests that could not be replayed on a fresh connection.
    sock = connection.sock
    if sock is None:  # pragma: no cover - acquire() drops these first
        return False
    try:
        if HAS_POLL:  # poll: select() cannot take descriptors past FD_SETSIZE (1024)
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return not poller.poll(0)
        readable, _, _ = select.select([sock], [], [], 0)  # pragma: no cover - Windows
    except (OSError, ValueError):
        return False
    return not readable
