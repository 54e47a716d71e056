"""The socket-server base of the test servers, and how a connection ended.

- :class:`SocketServer`: the one base every hand-made server derives from. It listens on
  an ephemeral port of 127.0.0.1, runs a daemon thread per connection (``handle(conn,
  number)``), counts connections and records requests on the server side, observes how
  each connection ended (``closed_by``: the client's FIN, the server's acknowledged FIN,
  a reset, or ``stop()``), can close or reset an idle connection on demand, and stops
  promptly within a bound. It is a context manager.
- :data:`CLIENT`, :data:`SERVER`, :data:`RESET`, :data:`STOPPED`: how a connection ended,
  as ``closed_by(n)`` reports it.
"""

from __future__ import annotations

import select
import selectors
import socket
import threading
import time
from typing import Any, Dict, List, Optional, Set, TypeVar

from .wire import (
    IO_TIMEOUT,
    LOOPBACK,
    WAIT_TIMEOUT,
    _BadMessage,
    _close,
    _reset,
    _shutdown,
    wait_until,
)

__all__ = ["CLIENT", "RESET", "SERVER", "STOPPED", "SocketServer"]

#: How long ``start()`` waits for the accept loop, in seconds.
START_TIMEOUT = 5.0
#: How long ``stop()`` waits for all of a server's threads together, in seconds.
JOIN_TIMEOUT = 5.0
#: How long closing a connection waits for the client's TCP to acknowledge the FIN.
FIN_TIMEOUT = 2.0

_S = TypeVar("_S", bound="SocketServer")

#: How a connection ended, as the server saw it (:meth:`SocketServer.closed_by`).
CLIENT = "client"  # the server read the client's FIN where a request could begin
SERVER = "server"  # the server closed first, and the client's TCP acknowledged its FIN
RESET = "reset"  # the server aborted it with a TCP RST (or closed with unread data)
STOPPED = "stopped"  # stop() cut it

# Linux TCP states (include/net/tcp_states.h) in which a FIN we sent is not acknowledged yet.
_FIN_UNACKNOWLEDGED = frozenset({4, 9, 11})  # FIN_WAIT1, LAST_ACK, CLOSING


def _fin_unacknowledged(sock: socket.socket) -> bool:
    """Whether our FIN on ``sock`` still waits for the peer's ACK (False when unknowable)."""
    tcp_info = getattr(socket, "TCP_INFO", None)
    if tcp_info is None:  # pragma: no cover - not Linux: closing does not wait for the ACK
        return False
    try:
        state = sock.getsockopt(socket.IPPROTO_TCP, tcp_info, 8)[0]
    except OSError:
        return False
    return state in _FIN_UNACKNOWLEDGED


def _peek(sock: socket.socket) -> Optional[bytes]:
    """A received byte still unread on ``sock`` (closing then resets), b"" when there is
    none (closing sends a FIN), None when the peer already reset the connection."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return b""
        return socket.socket.recv(sock, 1, socket.MSG_PEEK)  # b"": only the client's FIN
    except (OSError, ValueError):
        return None


class SocketServer:
    """The base of every hand-made test server: a listening socket on 127.0.0.1, an accept
    thread, one daemon thread per connection running :meth:`handle`, and a prompt stop.

    What it observes, server side, for the tests to assert on:

    - ``connections``: connections accepted (each gets a 1-based number, in order);
    - ``requests``: whatever the subclass records with ``_record`` (``WireRequest`` for
      HTTP servers), and ``clear()`` to forget them;
    - ``closed_by(n)``: how connection ``n`` ended: :data:`CLIENT` (the client's FIN came
      where a request could begin), :data:`SERVER` (the server closed first and the
      client's TCP acknowledged the FIN, so the client can see the close), :data:`RESET`,
      :data:`STOPPED`, or ``""`` while it is open; ``closed_by_client`` and
      ``closed_by_server`` count them;
    - ``close_connection(n, reset=False)``: the server closes (or resets) its end of an
      idle connection now, the way a server ends a keep-alive connection.

    Subclasses write ``handle(conn, number)``; returning closes the connection (with a
    FIN, after which the server waits up to ``FIN_TIMEOUT`` for the client's ACK). They
    call ``_client_closed(number)`` when they read the client's FIN between requests,
    ``_abort(number)`` to reset, and ``_upgrade(number, sock)`` when they wrap the socket
    (TLS). ``ready`` is set once the accept loop runs; ``start()`` waits for it.
    """

    kind = "server"

    def __init__(self) -> None:
        self.host = LOOPBACK
        self.port = 0
        #: Unexpected exceptions raised in server threads (peer resets are not recorded).
        self.errors: List[BaseException] = []
        #: Set once the accept loop runs (``start()`` returns after it).
        self.ready = threading.Event()
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._stop_event = threading.Event()
        self._started = False
        self._stopped = False
        self._connections = 0
        self._threads: List[threading.Thread] = []
        self._live: Set[socket.socket] = set()
        self._sockets: Dict[int, socket.socket] = {}  # connection number -> its socket now
        self._closing: Dict[int, str] = {}  # close_connection() asked for SERVER or RESET
        self._closed: Dict[int, str] = {}  # connection number -> how it ended
        self._requests: List[Any] = []
        self._listener: Optional[socket.socket] = None
        self._wake_r: Optional[socket.socket] = None
        self._wake_w: Optional[socket.socket] = None
        self._accept_thread: Optional[threading.Thread] = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self: _S) -> _S:
        """Bind 127.0.0.1:0, listen, and return once the accept loop is running."""
        with self._lock:
            if self._started:
                raise RuntimeError("%s already started" % self.kind)
            self._started = True
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind((self.host, 0))
            listener.listen(128)
            listener.setblocking(False)
        except BaseException:
            listener.close()
            raise
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._wake_r, self._wake_w = socket.socketpair()
        thread = threading.Thread(
            target=self._accept_loop, name="%s-accept-%d" % (self.kind, self.port), daemon=True
        )
        self._accept_thread = thread
        thread.start()
        if not self.ready.wait(START_TIMEOUT) or not thread.is_alive():
            self.stop()
            raise RuntimeError("%s did not start listening" % self.kind)
        return self

    def stop(self) -> None:
        """Stop accepting, wake and close every connection, join threads (bounded)."""
        with self._cond:
            if self._stopped:
                return
            self._stopped = True
            self._stop_event.set()
            self._cond.notify_all()
            live = list(self._live)
        if self._wake_w is not None:
            try:
                self._wake_w.send(b"x")
            except OSError:
                pass
        for sock in live:
            _shutdown(sock)
        deadline = time.monotonic() + JOIN_TIMEOUT
        threads = [self._accept_thread] if self._accept_thread is not None else []
        with self._lock:
            threads += self._threads
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            leftover = list(self._live)
            self._live.clear()
            self._sockets.clear()
        for sock in leftover:  # only a thread that missed the join deadline leaves these
            _close(sock)
        for owned in (self._listener, self._wake_r, self._wake_w):
            if owned is not None:
                _close(owned)
        self._cleanup()

    def _cleanup(self) -> None:
        """Hook for subclasses: release files once threads are gone."""

    def __enter__(self: _S) -> _S:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- state -----------------------------------------------------------------------

    def _require_port(self) -> int:
        if not self.port:
            raise RuntimeError("%s is not started" % self.kind)
        return self.port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return "http://%s:%d" % (LOOPBACK, self._require_port())

    @property
    def host_port(self) -> str:
        """``127.0.0.1:<port>``."""
        return "%s:%d" % (LOOPBACK, self._require_port())

    @property
    def connections(self) -> int:
        """Connections accepted so far."""
        with self._lock:
            return self._connections

    @property
    def active_connections(self) -> int:
        """Sockets currently open in server threads (client and, for a proxy, upstream)."""
        with self._lock:
            return len(self._live)

    @property
    def threads_alive(self) -> int:
        """Server threads still running (0 after a clean ``stop()``)."""
        with self._lock:
            threads = list(self._threads)
        if self._accept_thread is not None:
            threads.append(self._accept_thread)
        return sum(1 for thread in threads if thread.is_alive())

    @property
    def stopping(self) -> threading.Event:
        """Set once ``stop()`` began."""
        return self._stop_event

    @property
    def requests(self) -> List[Any]:
        """What the server recorded, in arrival order."""
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        """Forget recorded requests (connection counts and closes stay)."""
        with self._lock:
            self._requests.clear()

    def closed_by(self, number: int) -> str:
        """How connection ``number`` ended: CLIENT, SERVER, RESET, STOPPED, or "" if open."""
        with self._lock:
            return self._closed.get(number, "")

    @property
    def closed_connections(self) -> int:
        """Connections that ended, whoever ended them."""
        with self._lock:
            return len(self._closed)

    @property
    def closed_by_client(self) -> int:
        """Connections whose client closed them first (the server read its FIN)."""
        with self._lock:
            return sum(1 for how in self._closed.values() if how == CLIENT)

    @property
    def closed_by_server(self) -> int:
        """Connections the server closed or reset first (``stop()`` not counted)."""
        with self._lock:
            return sum(1 for how in self._closed.values() if how in (SERVER, RESET))

    def close_connection(self, number: int, *, reset: bool = False, timeout: float = WAIT_TIMEOUT) -> str:
        """Close (FIN) or reset (RST) the server's end of idle connection ``number`` now.

        For a connection waiting for its next request. Returns once it is closed and, for
        a FIN, acknowledged by the client's TCP: the client can see the close.
        """
        with self._lock:
            sock = self._sockets.get(number)
            if sock is None or number in self._closed:
                raise ValueError("connection %d is not open" % number)
            self._closing[number] = RESET if reset else SERVER
        try:  # wake the connection's thread in recv(); _finish() then ends it as asked
            socket.socket.shutdown(sock, socket.SHUT_RD)
        except OSError:
            pass
        return wait_until(lambda: self.closed_by(number), timeout, "connection %d closed" % number)

    # -- for subclasses --------------------------------------------------------------

    def _record(self, item: Any) -> None:
        with self._cond:
            self._requests.append(item)
            self._cond.notify_all()

    def _track(self, sock: socket.socket) -> None:
        """Register a socket ``stop()`` must wake; shut it at once when already stopping."""
        with self._lock:
            self._live.add(sock)
            stopping = self._stop_event.is_set()
        if stopping:
            _shutdown(sock)

    def _untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._live.discard(sock)

    def _upgrade(self, number: int, sock: socket.socket) -> None:
        """Connection ``number`` goes on over ``sock`` now (e.g. the TLS socket wrapping it)."""
        with self._lock:
            old = self._sockets.get(number)
            if old is not None:
                self._live.discard(old)
            self._sockets[number] = sock
            self._live.add(sock)
            stopping = self._stop_event.is_set()
        if stopping:
            _shutdown(sock)

    def _note_closed(self, number: int, how: str) -> None:
        with self._cond:
            if number not in self._closed:  # the first end seen is how it ended
                self._closed[number] = how
                self._cond.notify_all()

    def _client_closed(self, number: int) -> None:
        """The handler of ``number`` read the client's FIN where a request could begin."""
        with self._lock:
            ignore = self._stop_event.is_set() or number in self._closing
        if not ignore:
            self._note_closed(number, CLIENT)

    def _abort(self, number: int) -> None:
        """Reset connection ``number`` (SO_LINGER 0: a RST, no FIN)."""
        with self._lock:
            sock = self._sockets.pop(number, None)
            if sock is not None:
                self._live.discard(sock)
        if sock is not None:
            _reset(sock)
            self._note_closed(number, RESET)

    def _finish(self, number: int) -> None:
        """End connection ``number`` once its handler returned: FIN, wait for the ACK, close."""
        with self._lock:
            sock = self._sockets.pop(number, None)
            if sock is not None:
                self._live.discard(sock)
            asked = self._closing.pop(number, SERVER)
        if sock is None:
            return
        if sock.fileno() < 0:  # the handler closed it itself (a scripted raw server may)
            return
        if self._stop_event.is_set():
            _close(sock)
            self._note_closed(number, STOPPED)
            return
        unread = _peek(sock)
        if unread is None:  # the client reset it (e.g. it gave up on an answer)
            _close(sock)
            self._note_closed(number, CLIENT)
            return
        if asked == RESET or unread:
            _reset(sock)  # closing with unread bytes resets anyway: say so
            self._note_closed(number, RESET)
            return
        try:
            socket.socket.shutdown(sock, socket.SHUT_WR)  # the FIN goes now
        except OSError:  # the client reset it meanwhile
            _close(sock)
            self._note_closed(number, CLIENT)
            return
        deadline = time.monotonic() + FIN_TIMEOUT
        while _fin_unacknowledged(sock) and time.monotonic() < deadline:
            if self._stop_event.wait(0.001):
                break
        _close(sock)
        self._note_closed(number, SERVER)

    # -- threads ---------------------------------------------------------------------

    def _accept_loop(self) -> None:
        listener, wake = self._listener, self._wake_r
        assert listener is not None and wake is not None
        selector = selectors.DefaultSelector()
        try:
            selector.register(listener, selectors.EVENT_READ)
            selector.register(wake, selectors.EVENT_READ)
            self.ready.set()
            while not self._stop_event.is_set():
                for key, _ in selector.select():
                    if key.fileobj is wake:
                        return
                    try:
                        conn, _addr = listener.accept()
                    except (BlockingIOError, InterruptedError):
                        continue
                    self._spawn(conn)
        except Exception as exc:  # pragma: no cover - the listener broke, or a bug here
            if not self._stop_event.is_set():
                with self._lock:
                    self.errors.append(exc)
        finally:
            selector.close()
            self.ready.set()

    def _spawn(self, conn: socket.socket) -> None:
        with self._lock:
            if self._stop_event.is_set():
                _close(conn)
                return
            self._connections += 1
            number = self._connections
            self._live.add(conn)
            self._sockets[number] = conn
            self._threads = [t for t in self._threads if t.is_alive()]
            thread = threading.Thread(
                target=self._run_connection,
                args=(conn, number),
                name="%s-conn-%d" % (self.kind, number),
                daemon=True,
            )
            self._threads.append(thread)
        thread.start()

    def _run_connection(self, conn: socket.socket, number: int) -> None:
        try:
            conn.settimeout(IO_TIMEOUT)
            # Small writes (a head, then a body) must not wait for the peer's delayed ACK.
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.handle(conn, number)
        except (OSError, _BadMessage):
            pass  # resets, timeouts, TLS failures, broken peers: the faults are the point
        except Exception as exc:  # pragma: no cover - a bug in this file or a custom route
            with self._lock:
                self.errors.append(exc)
        finally:
            try:
                self._finish(number)
            finally:
                self._untrack(conn)
                _close(conn)

    def handle(self, conn: socket.socket, number: int) -> None:
        """Serve connection ``number`` (1-based) on ``conn``; return to close it."""
        raise NotImplementedError

