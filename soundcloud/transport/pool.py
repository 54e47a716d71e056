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

- **The origin's TLS session.** A pool is one origin's (its proxy included), so it also
  keeps that origin's last resumable TLS session, for the next handshake to offer
  (:mod:`soundcloud.transport.tls` says why and when). It is taken after a full TLS 1.2
  handshake, and for TLS 1.3, whose tickets arrive after the handshake, when a new
  connection first comes back with its answer read. The most recent one wins;
  ``close()`` forgets it.
"""

from __future__ import annotations

import select
import threading
import weakref
from typing import TYPE_CHECKING, Final, List, Optional, Tuple, cast

from .tls import _resumable_session, _verifies

if TYPE_CHECKING:
    import http.client
    import ssl

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
        # This origin's last resumable TLS session, with the context it was made with (a
        # session offered through another context is refused by the ssl module).
        self._tls_session: Optional[Tuple[ssl.SSLContext, ssl.SSLSession]] = None
        # New TLS 1.3 connections whose tickets are still to be read, with their context
        # (weakly held: a connection closed before its first answer is simply forgotten).
        self._awaiting: weakref.WeakKeyDictionary[ssl.SSLSocket, ssl.SSLContext] = weakref.WeakKeyDictionary()

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
        if self._awaiting:  # empty but for new TLS 1.3 connections: one test per release
            self._take_ticket(connection)
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
            self._tls_session = None
            self._awaiting.clear()
        for connection in idle:
            connection.close()

    def tls_session(self, context: ssl.SSLContext) -> Optional[ssl.SSLSession]:
        """The last resumable session of this origin made with ``context``, or None."""
        kept = self._tls_session  # one read: the pair is replaced whole, never changed
        if kept is not None and kept[0] is context:
            return kept[1]
        return None

    def handshake_done(self, context: ssl.SSLContext, sock: ssl.SSLSocket) -> None:
        """Note a new connection's TLS handshake: keep its session if ``context`` verifies.

        Reading ``sock.session`` costs about as much as parsing the certificate chain again
        (the ssl module copies the session through its serialized form), so it is read at
        most once per connection: here after a full TLS 1.2 handshake (a resumed one has the
        session that was offered), and for TLS 1.3 once its first answer has been read.
        """
        if not _verifies(context):
            return
        if sock.version() == "TLSv1.3":
            # Tickets come after the handshake (RFC 8446 section 4.6.1), and a resumed
            # connection gets fresh ones: a ticket is best offered once (appendix C.4).
            with self._lock:
                self._awaiting[sock] = context
        elif not sock.session_reused:
            self._keep_session(context, sock)

    def _take_ticket(self, connection: http.client.HTTPConnection) -> None:
        # Only TLS sockets are awaited; the cast tells mypy so, it checks nothing.
        sock = cast("Optional[ssl.SSLSocket]", connection.sock)
        if sock is None:  # pragma: no cover - a released connection is open
            return
        with self._lock:
            context = self._awaiting.pop(sock, None)
        if context is not None:
            self._keep_session(context, sock)

    def _keep_session(self, context: ssl.SSLContext, sock: ssl.SSLSocket) -> None:
        session = _resumable_session(sock)
        if session is not None:
            with self._lock:
                self._tls_session = (context, session)  # the latest wins


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
