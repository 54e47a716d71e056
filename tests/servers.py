"""Purpose-built servers for the test suite: real sockets on 127.0.0.1, nothing mocked.

- :class:`SocketServer`: the one base every hand-made server derives from. It listens on
  an ephemeral port of 127.0.0.1, runs a daemon thread per connection (``handle(conn,
  number)``), counts connections and records requests on the server side, observes how
  each connection ended (``closed_by``: the client's FIN, the server's acknowledged FIN,
  a reset, or ``stop()``), can close or reset an idle connection on demand, and stops
  promptly within a bound. It is a context manager.
- :class:`RequestServer`: HTTP/1.1 with keep-alive on that base: it parses and records
  each request as a :class:`WireRequest` (with the number of the connection it came on)
  and lets ``answer(ctx)`` respond through a :class:`FaultContext`.
- :class:`TLSServer`: HTTPS (the stdlib ``http.server`` handler over ``ssl``) with a
  certificate authority made at test time by trustme; a small JSON API and redirects.
- :class:`ForwardProxy`: a forward proxy for absolute-form HTTP requests and ``CONNECT``
  tunnels. It only ever connects to loopback targets and answers 403 to anything else, so
  no test traffic can leave the machine.
- :class:`FaultServer`: a :class:`RequestServer` whose paths each produce one protocol
  fault (resets, truncated bodies, broken chunking, stalls, drips, retryable statuses,
  garbage, oversize answers) next to a well-behaved keep-alive JSON answer.
- :class:`KeepAliveServer`: a :class:`RequestServer` numbering its keep-alive answers, and
  :class:`ScriptedServer`: plays a ``script(conn, stop)`` on each raw connection (with
  :func:`read_head`), for misbehaving proxies and TLS peers. Both for ``tests/transport/``,
  whose client-side helpers are in transport_helpers.py.
- :func:`wait_until`: the one way a test waits for a condition (bounded, polling).
- :func:`call` (and :func:`form`), :class:`Reply`, :func:`assert_api_error` and
  :class:`Clock`: one plain ``http.client`` exchange per call and an injectable clock,
  for the fake SoundCloud's own tests (``tests/fake/``), which pin the fake down byte by
  byte without the client library.
- :class:`ScriptedAuthServer`, the ``TIMEOUT`` and ``UNRESERVED`` constants and the
  client-side helpers at the end (:func:`make_client`, :func:`logged_in`, :func:`authorize`,
  :func:`client_for`, ...) with the fixtures a test module imports along with them
  (:func:`close_opened` closes what they opened; ``tests/client/conftest.py`` calls it after
  each test), shared by the client's tests (``tests/client/``).

Like urllib3's dummyserver: every server listens on an ephemeral port of 127.0.0.1,
``start()`` returns only once the accept loop runs, every thread is a daemon, every
blocking socket operation in a server thread has a timeout, and ``stop()`` wakes blocked
threads (it shuts their sockets down and notifies waiters) and joins them within
``JOIN_TIMEOUT``. All of them are context managers::

    with FaultServer() as server:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
        conn.request("GET", "/close-mid-body")
        conn.getresponse().read()   # raises http.client.IncompleteRead

Tests observe a client's connection handling from here, never from the client's private
state: ``server.connections`` (accepted), ``WireRequest.connection`` (which connection a
request came on), ``server.closed_by(n)`` / ``closed_by_client`` / ``closed_by_server``.

The servers never touch the ``soundcloud`` package: they are the peers it is tested against.
Only the client-side helpers at the end use it, and they import it when called (conftest
imports this module before any test runs, whatever state the package is in).
"""

from __future__ import annotations

import base64
import http
import http.client
import http.server
import ipaddress
import json
import os
import select
import selectors
import shutil
import socket
import ssl
import struct
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Deque,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Protocol,
    Sequence,
    Set,
    Tuple,
    TypeVar,
    Union,
)
from urllib.parse import parse_qs, parse_qsl, quote, urlencode, urlsplit

if TYPE_CHECKING:
    import trustme

    import soundcloud
    from soundcloud.transport import HTTPTransport

__all__ = [
    "CALL_TIMEOUT",
    "CLIENT",
    "Clock",
    "FAULT_SCENARIOS",
    "FaultContext",
    "FaultServer",
    "ForwardProxy",
    "KeepAliveServer",
    "PROXY_CREDENTIALS",
    "ProxyRequest",
    "RESET",
    "Reply",
    "RequestServer",
    "SERVER",
    "STOPPED",
    "Script",
    "ScriptedAuthServer",
    "ScriptedServer",
    "SocketServer",
    "TIMEOUT",
    "TLSServer",
    "UNRESERVED",
    "WireRequest",
    "assert_api_error",
    "authorize",
    "call",
    "client_for",
    "close_opened",
    "form",
    "form_of",
    "last",
    "logged_in",
    "make_client",
    "make_client_context",
    "opened",
    "read_head",
    "token_requests",
    "transport",
    "user_client",
    "wait_until",
]

LOOPBACK = "127.0.0.1"
#: Bound on each blocking socket operation inside a server thread, in seconds.
IO_TIMEOUT = 10.0
#: How long ``start()`` waits for the accept loop, in seconds.
START_TIMEOUT = 5.0
#: How long ``stop()`` waits for all of a server's threads together, in seconds.
JOIN_TIMEOUT = 5.0
#: How long closing a connection waits for the client's TCP to acknowledge the FIN.
FIN_TIMEOUT = 2.0
#: Default bound of :func:`wait_until`, in seconds.
WAIT_TIMEOUT = 5.0
#: Longest line a server parses (the huge-headers scenario stays far below it).
MAX_LINE = 1 << 20
#: Largest request or response head a server parses.
MAX_HEAD = 4 << 20
#: Largest body a server keeps in memory.
MAX_BODY = 256 << 20
CHUNK = 64 * 1024

Pairs = List[Tuple[str, str]]
HeadersLike = Union[Mapping[str, str], Iterable[Tuple[str, str]]]
_T = TypeVar("_T")
_S = TypeVar("_S", bound="SocketServer")

#: How a connection ended, as the server saw it (:meth:`SocketServer.closed_by`).
CLIENT = "client"  # the server read the client's FIN where a request could begin
SERVER = "server"  # the server closed first, and the client's TCP acknowledged its FIN
RESET = "reset"  # the server aborted it with a TCP RST (or closed with unread data)
STOPPED = "stopped"  # stop() cut it


class _BadMessage(Exception):
    """The peer broke HTTP/1.1 framing; the connection cannot go on."""


class _LineReader(Protocol):
    def readline(self, limit: int = ..., /) -> bytes: ...

    def read(self, size: int = ..., /) -> bytes: ...


# --------------------------------------------------------------------------------------
# Waiting for a condition


def wait_until(
    predicate: Callable[[], _T],
    timeout: float = WAIT_TIMEOUT,
    message: str = "",
    *,
    interval: float = 0.005,
) -> _T:
    """Poll ``predicate`` until it returns something true, and return that.

    The one way tests wait for a condition (a request arrived, a connection closed, a FIN
    got through): bounded by ``timeout`` seconds, after which it raises AssertionError
    naming ``message``. Polling keeps it independent of who makes the condition true.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(
                "gave up after %.1f s waiting until %s" % (timeout, message or "the condition held")
            )
        time.sleep(min(interval, remaining))


# --------------------------------------------------------------------------------------
# Small HTTP/1.1 helpers shared by the servers (RFC 9112).


@dataclass(frozen=True)
class WireRequest:
    """One request a test server received, as it arrived on the wire.

    Not ``soundcloud.testing.RecordedRequest``: that one describes a request to the fake
    SoundCloud (which origin, no connection); this one says which connection it came on,
    its target as sent and its header fields in order, which tests of connection reuse
    and framing need.
    """

    method: str
    target: str  # request-target as sent: origin-form with query
    path: str  # target without the query
    query: Dict[str, List[str]]
    headers: Dict[str, str]  # lower-cased names; repeated fields joined with ", "
    raw_headers: Pairs  # names as sent, in order
    body: bytes  # de-chunked
    connection: int  # 1-based number of the connection it came on
    scenario: str = ""  # FaultServer: the behaviour that answered it


class ProxyRequest(NamedTuple):
    """One request line a :class:`ForwardProxy` saw (CONNECT or absolute-form)."""

    method: str
    target: str
    headers: Dict[str, str]  # lower-cased names, Proxy-Authorization included


def _header_dict(pairs: Iterable[Tuple[str, str]]) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        out[key] = out[key] + ", " + value if key in out else value
    return out


def _pairs(headers: HeadersLike) -> Pairs:
    if isinstance(headers, Mapping):
        return [(str(k), str(v)) for k, v in headers.items()]
    return [(str(k), str(v)) for k, v in headers]


def _tokens(value: str) -> Set[str]:
    return {token.strip().lower() for token in value.split(",") if token.strip()}


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _head_bytes(status: int, headers: Iterable[Tuple[str, str]], reason: Optional[str] = None) -> bytes:
    lines = ["HTTP/1.1 %d %s" % (status, _reason(status) if reason is None else reason)]
    lines.extend("%s: %s" % (name, value) for name, value in headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _simple_response(status: int, body: bytes = b"", headers: Iterable[Tuple[str, str]] = ()) -> bytes:
    all_headers = list(headers) + [("Content-Length", str(len(body)))]
    return _head_bytes(status, all_headers) + body


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def _shutdown(sock: socket.socket) -> None:
    # socket.socket.shutdown on the raw descriptor, also for an SSLSocket: it wakes a thread
    # blocked in recv() without touching the TLS object that thread is using.
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass


def _reset(sock: socket.socket) -> None:
    """Close with a TCP RST instead of a FIN: SO_LINGER on with a zero timeout."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    _close(sock)


class _Reader:
    """Buffered reads from a socket that can hand back what it buffered (for CONNECT)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = bytearray()

    def _fill(self) -> bool:
        data = self._sock.recv(CHUNK)
        if not data:
            return False
        self._buf += data
        return True

    def _take(self, size: int) -> bytes:
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data

    def readline(self, limit: int = MAX_LINE, /) -> bytes:
        """One line with its terminator; what is left (maybe b"") at end of stream."""
        searched = 0
        while True:
            end = self._buf.find(b"\n", searched)
            if end >= 0:
                return self._take(end + 1)
            if len(self._buf) > limit:
                raise _BadMessage("line longer than %d bytes" % limit)
            searched = len(self._buf)
            if not self._fill():
                return self._take(len(self._buf))

    def read(self, size: int = CHUNK, /) -> bytes:
        """``size`` bytes, fewer only at end of stream."""
        while len(self._buf) < size and self._fill():
            pass
        return self._take(min(size, len(self._buf)))

    def read_available(self) -> bytes:
        """Whatever is buffered, else one recv(); b"" at end of stream."""
        if not self._buf:
            self._fill()
        return self._take(len(self._buf))

    def take_buffered(self) -> bytes:
        return self._take(len(self._buf))


def _read_head(reader: _LineReader, limit: int = MAX_HEAD) -> Optional[Tuple[str, Pairs]]:
    """Start line and header fields; None when the peer closed before sending anything."""
    line = reader.readline(MAX_LINE)
    # RFC 9112 section 2.2: ignore at least one empty line before the request-line.
    while line in (b"\r\n", b"\n"):
        line = reader.readline(MAX_LINE)
    if not line:
        return None
    if not line.endswith(b"\n"):
        raise _BadMessage("connection closed inside the start line")
    size = len(line)
    pairs: Pairs = []
    while True:
        raw = reader.readline(MAX_LINE)
        size += len(raw)
        if size > limit:
            raise _BadMessage("header block larger than %d bytes" % limit)
        if not raw.endswith(b"\n"):
            raise _BadMessage("connection closed inside the header block")
        if raw in (b"\r\n", b"\n"):
            break
        text = raw.decode("latin-1").rstrip("\r\n")
        if text[:1] in (" ", "\t") and pairs:  # obsolete line folding, RFC 9112 section 5.2
            name, value = pairs[-1]
            pairs[-1] = (name, value + " " + text.strip())
            continue
        name, sep, value = text.partition(":")
        if not sep or not name or name != name.strip():
            raise _BadMessage("malformed header line %r" % text)
        pairs.append((name, value.strip()))
    return line.decode("latin-1").rstrip("\r\n"), pairs


def _read_body(
    reader: _LineReader,
    headers: Mapping[str, str],
    relay: Optional[Callable[[bytes], Any]] = None,
    keep: bool = True,
) -> bytes:
    """A body framed by chunked coding or Content-Length (RFC 9112 section 6.3).

    ``relay`` receives the bytes exactly as they arrived (chunk framing included), which
    is how the proxy forwards bodies without re-encoding them; the return value is the
    decoded body when ``keep``.
    """
    parts: List[bytes] = []
    total = 0

    def take(data: bytes) -> None:
        nonlocal total
        total += len(data)
        if total > MAX_BODY:
            raise _BadMessage("body larger than %d bytes" % MAX_BODY)
        if keep:
            parts.append(data)

    def pass_on(data: bytes) -> None:
        if relay is not None:
            relay(data)

    def copy(remaining: int) -> None:
        while remaining:
            piece = reader.read(min(CHUNK, remaining))
            if not piece:
                raise _BadMessage("connection closed inside the body")
            pass_on(piece)
            take(piece)
            remaining -= len(piece)

    if "chunked" in _tokens(headers.get("transfer-encoding", "")):
        while True:
            line = reader.readline(MAX_LINE)
            if not line.endswith(b"\n"):
                raise _BadMessage("connection closed inside a chunk size line")
            pass_on(line)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadMessage("bad chunk size line %r" % line) from None
            if size < 0:
                raise _BadMessage("bad chunk size line %r" % line)
            if size == 0:
                break
            copy(size)
            end = reader.readline(MAX_LINE)
            if end not in (b"\r\n", b"\n"):
                raise _BadMessage("chunk data not followed by CRLF")
            pass_on(end)
        while True:  # trailer section, up to the empty line
            line = reader.readline(MAX_LINE)
            if not line.endswith(b"\n"):
                raise _BadMessage("connection closed inside the trailer section")
            pass_on(line)
            if line in (b"\r\n", b"\n"):
                break
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError:
            raise _BadMessage("bad Content-Length %r" % headers["content-length"]) from None
        if length < 0:
            raise _BadMessage("bad Content-Length %r" % headers["content-length"])
        copy(length)
    return b"".join(parts)


def make_client_context(ca_path: str) -> ssl.SSLContext:
    """A verifying client SSLContext that trusts only the CA in ``ca_path``."""
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_path)


# --------------------------------------------------------------------------------------
# The one server base: accept loop, lifecycle, connection bookkeeping, prompt stop.

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


# --------------------------------------------------------------------------------------
# TLSServer


Route = Callable[[WireRequest], Tuple[int, HeadersLike, bytes]]


class _TLSHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "soundcloud-tests-tls/1.0"
    timeout = IO_TIMEOUT

    def __init__(self, request: Any, client_address: Any, server: Any, number: int) -> None:
        self.tls_server: TLSServer = server
        self.connection_number = number
        super().__init__(request, client_address, server)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def handle_one_request(self) -> None:
        self.raw_requestline = b"-"  # stays unless a line (or the end of the stream) is read
        super().handle_one_request()
        if self.raw_requestline == b"":  # the client closed between requests
            self.tls_server._client_closed(self.connection_number)

    def _dispatch(self) -> None:
        try:
            body = _read_body(self.rfile, _header_dict(self.headers.items()))
        except _BadMessage:
            self.close_connection = True
            self.send_error(400)
            return
        url = urlsplit(self.path)
        request = WireRequest(
            method=self.command,
            target=self.path,
            path=url.path,
            query=parse_qs(url.query, keep_blank_values=True),
            headers=_header_dict(self.headers.items()),
            raw_headers=list(self.headers.items()),
            body=body,
            connection=self.connection_number,
        )
        self.tls_server._record(request)
        status, headers, payload = self.tls_server._route(request)
        self.send_response(status)
        for name, value in _pairs(headers):
            self.send_header(name, value)
        if status >= 200 and status not in (204, 304):
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch


def _json_route(status: int, obj: Any) -> Tuple[int, Pairs, bytes]:
    return status, [("Content-Type", "application/json")], _json_bytes(obj)


class TLSServer(SocketServer):
    """HTTPS on 127.0.0.1 with a certificate from a CA made at test time (trustme).

    Routes: ``/json`` -> ``{"ok": true}``; ``/echo`` -> JSON of method, path, target,
    query, headers (lower-cased) and body; ``/redirect?to=URL&status=302`` -> redirect;
    ``/status/<code>`` -> that status with ``{"status": code}``; anything else 404.
    ``routes`` adds exact-path handlers ``f(WireRequest) -> (status, headers, body)``
    that take precedence. Keep-alive (HTTP/1.1) is supported.
    """

    kind = "tls"

    def __init__(
        self,
        *,
        ca: Optional["trustme.CA"] = None,
        hostnames: Sequence[str] = ("localhost", LOOPBACK),
        routes: Optional[Mapping[str, Route]] = None,
    ) -> None:
        super().__init__()
        import trustme  # test-only dependency, imported late so conftest loads without it

        self.ca: trustme.CA = ca if ca is not None else trustme.CA()
        self.hostnames = tuple(hostnames)
        self.cert = self.ca.issue_cert(*self.hostnames)
        self.routes: Dict[str, Route] = dict(routes or {})
        #: TLS handshakes that failed on the server side (e.g. the client rejected the cert).
        self.handshake_errors: List[BaseException] = []
        self._directory = tempfile.mkdtemp(prefix="soundcloud-tests-tls-")
        self.ca_path = os.path.join(self._directory, "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_path)
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.cert.configure_cert(self._context)
        self._context.set_alpn_protocols(["http/1.1"])

    @property
    def url(self) -> str:
        """``https://localhost:<port>`` (the certificate also names 127.0.0.1)."""
        return "https://localhost:%d" % self._require_port()

    @property
    def ip_url(self) -> str:
        """``https://127.0.0.1:<port>``."""
        return "https://%s:%d" % (LOOPBACK, self._require_port())

    @property
    def host_port(self) -> str:
        """``localhost:<port>``."""
        return "localhost:%d" % self._require_port()

    def client_context(self) -> ssl.SSLContext:
        """A verifying client SSLContext that trusts this server's CA only."""
        return make_client_context(self.ca_path)

    def _cleanup(self) -> None:
        shutil.rmtree(self._directory, ignore_errors=True)

    def _route(self, request: WireRequest) -> Tuple[int, HeadersLike, bytes]:
        custom = self.routes.get(request.path)
        if custom is not None:
            return custom(request)
        if request.path == "/json":
            return _json_route(200, {"ok": True})
        if request.path == "/echo":
            return _json_route(
                200,
                {
                    "method": request.method,
                    "path": request.path,
                    "target": request.target,
                    "query": request.query,
                    "headers": request.headers,
                    "body": request.body.decode("utf-8", "replace"),
                },
            )
        try:
            if request.path == "/redirect":
                status = int(request.query.get("status", ["302"])[0])
                return status, [("Location", request.query.get("to", ["/json"])[0])], b""
            if request.path.startswith("/status/"):
                code = int(request.path.split("/")[2])
                if code < 200 or code in (204, 304):
                    return code, [], b""
                return _json_route(code, {"status": code})
        except ValueError:
            return _json_route(400, {"error": "bad number"})
        return _json_route(404, {"error": "not found", "path": request.path})

    def handle(self, conn: socket.socket, number: int) -> None:
        tls = self._context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        # wrap_socket detached ``conn``: from here on the connection is the TLS socket.
        self._upgrade(number, tls)
        try:
            tls.do_handshake()
        except OSError as exc:  # ssl.SSLError is an OSError
            with self._lock:
                self.handshake_errors.append(exc)
            return
        _TLSHandler(tls, (LOOPBACK, 0), self, number)


# --------------------------------------------------------------------------------------
# ForwardProxy

# Hop-by-hop fields (RFC 9110 section 7.6.1) a proxy must not forward.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer", "upgrade"}
)


def _loopback_address(host: str) -> Optional[str]:
    """The address to connect to for ``host``, or None unless it is loopback.

    Workplace rule: test traffic never leaves loopback, so the proxy resolves nothing:
    ``localhost`` means 127.0.0.1, an IP literal must be in 127.0.0.0/8 or ::1.
    """
    host = host.strip("[]")
    if host.lower() == "localhost":
        return LOOPBACK
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return str(address) if address.is_loopback else None


#: Credentials the ``auth_proxy`` fixture (conftest.py) requires.
PROXY_CREDENTIALS = ("proxy-user", "proxy-pass")


class ForwardProxy(SocketServer):
    """A forward HTTP proxy: absolute-form requests and CONNECT tunnels, loopback only.

    ``credentials=("user", "pass")`` makes it answer 407 (with ``Proxy-Authenticate:
    Basic``) to requests lacking the matching ``Proxy-Authorization: Basic``. Targets
    that are not loopback get 403 before any connection is attempted; unreachable ones
    get 502. Client connections are kept alive across absolute-form requests; each
    upstream request goes on a fresh connection with ``Connection: close``.
    """

    kind = "proxy"

    def __init__(self, *, credentials: Optional[Tuple[str, str]] = None) -> None:
        super().__init__()
        self.credentials = credentials
        #: Targets refused with 403 because they are not loopback.
        self.refused: List[str] = []
        self._tunnels = 0

    @property
    def auth_url(self) -> str:
        """``http://user:pass@127.0.0.1:<port>`` (same as ``url`` without credentials)."""
        if self.credentials is None:
            return self.url
        user, password = self.credentials
        return "http://%s:%s@%s:%d" % (
            quote(user, safe=""),
            quote(password, safe=""),
            LOOPBACK,
            self._require_port(),
        )

    @property
    def authorization(self) -> Optional[str]:
        """The ``Proxy-Authorization`` value this proxy accepts, if it requires one."""
        if self.credentials is None:
            return None
        token = base64.b64encode(("%s:%s" % self.credentials).encode("utf-8")).decode("ascii")
        return "Basic " + token

    @property
    def tunnels(self) -> int:
        """CONNECT tunnels established."""
        with self._lock:
            return self._tunnels

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        expected = self.authorization
        if expected is None:
            return True
        scheme, _, token = headers.get("proxy-authorization", "").partition(" ")
        return scheme.lower() == "basic" and token.strip() == expected.split(" ", 1)[1]

    def _refuse(self, conn: socket.socket, target: str) -> None:
        with self._lock:
            self.refused.append(target)
        body = _json_bytes({"error": "proxy refuses non-loopback target", "target": target})
        conn.sendall(_simple_response(403, body, [("Content-Type", "application/json"), ("Connection", "close")]))

    def handle(self, conn: socket.socket, number: int) -> None:
        reader = _Reader(conn)
        while not self._stop_event.is_set():
            try:
                head = _read_head(reader)
            except _BadMessage:
                conn.sendall(_simple_response(400, headers=[("Connection", "close")]))
                return
            if head is None:
                self._client_closed(number)
                return
            start, pairs = head
            parts = start.split(" ")
            if len(parts) != 3 or not parts[2].startswith("HTTP/"):
                conn.sendall(_simple_response(400, headers=[("Connection", "close")]))
                return
            method, target, version = parts
            headers = _header_dict(pairs)
            self._record(ProxyRequest(method, target, headers))
            connection = _tokens(headers.get("connection", "")) | _tokens(headers.get("proxy-connection", ""))
            client_close = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
            if not self._authorized(headers):
                if method != "CONNECT":
                    _read_body(reader, headers, keep=False)
                extra = [("Connection", "close")] if client_close else []
                conn.sendall(
                    _simple_response(407, headers=[("Proxy-Authenticate", 'Basic realm="test-proxy"')] + extra)
                )
                if client_close:
                    return
                continue
            if method == "CONNECT":
                self._tunnel(conn, reader, target)
                return
            if not self._forward(conn, reader, method, target, pairs, headers) or client_close:
                return

    def _tunnel(self, conn: socket.socket, reader: _Reader, target: str) -> None:
        host, sep, port = target.rpartition(":")
        if not sep or not port.isdigit() or not host:
            conn.sendall(_simple_response(400, headers=[("Connection", "close")]))
            return
        address = _loopback_address(host)
        if address is None:
            self._refuse(conn, target)
            return
        try:
            upstream = socket.create_connection((address, int(port)), timeout=IO_TIMEOUT)
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            conn.sendall(_simple_response(502, headers=[("Connection", "close")]))
            return
        self._track(upstream)
        try:
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            with self._lock:
                self._tunnels += 1
            pending = reader.take_buffered()
            if pending:
                upstream.sendall(pending)
            _relay(conn, upstream)
        finally:
            self._untrack(upstream)
            _close(upstream)

    def _forward(
        self,
        conn: socket.socket,
        reader: _Reader,
        method: str,
        target: str,
        pairs: Pairs,
        headers: Mapping[str, str],
    ) -> bool:
        """Relay one absolute-form request; True when the client connection stays usable."""
        url = urlsplit(target)
        try:
            port = url.port or 80
        except ValueError:
            port = -1
        if url.scheme.lower() != "http" or not url.hostname or port < 0:
            _read_body(reader, headers, keep=False)
            conn.sendall(_simple_response(400, headers=[("Connection", "close")]))
            return False
        address = _loopback_address(url.hostname)
        if address is None:
            _read_body(reader, headers, keep=False)
            self._refuse(conn, target)
            return False
        dropped = _HOP_BY_HOP | _tokens(headers.get("connection", ""))
        if "100-continue" in _tokens(headers.get("expect", "")):
            # Answer the client's expectation here: the body is read before the origin replies.
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            dropped = dropped | {"expect"}
        origin_target = (url.path or "/") + ("?" + url.query if url.query else "")
        lines = ["%s %s HTTP/1.1" % (method, origin_target)]
        lines += ["%s: %s" % (n, v) for n, v in pairs if n.lower() not in dropped]
        lines.append("Connection: close")
        upstream_head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            upstream = socket.create_connection((address, port), timeout=IO_TIMEOUT)
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            _read_body(reader, headers, keep=False)
            conn.sendall(_simple_response(502, headers=[("Connection", "close")]))
            return False
        self._track(upstream)
        answered = False
        try:
            try:
                upstream.sendall(upstream_head)
                _read_body(reader, headers, relay=upstream.sendall, keep=False)
                upstream_reader = _Reader(upstream)
                while True:
                    response = _read_head(upstream_reader)
                    if response is None:
                        raise _BadMessage("origin closed without answering")
                    status_line, response_pairs = response
                    status = int(status_line.split(" ")[1])
                    reason = status_line.split(" ", 2)[2] if status_line.count(" ") >= 2 else ""
                    if 100 <= status < 200 and status != 101:
                        conn.sendall(_head_bytes(status, response_pairs, reason))
                        continue
                    break
            except (OSError, _BadMessage, ValueError, IndexError):
                conn.sendall(_simple_response(502, headers=[("Connection", "close")]))
                return False
            response_headers = _header_dict(response_pairs)
            no_body = method == "HEAD" or status in (204, 304) or status < 200
            chunked = "chunked" in _tokens(response_headers.get("transfer-encoding", ""))
            until_eof = not no_body and not chunked and "content-length" not in response_headers
            keep = not until_eof and not self._stop_event.is_set()
            out = [(n, v) for n, v in response_pairs if n.lower() not in ("connection", "keep-alive")]
            out.append(("Connection", "keep-alive" if keep else "close"))
            conn.sendall(_head_bytes(status, out, reason))
            answered = True
            if until_eof:
                data = upstream_reader.read_available()
                while data:
                    conn.sendall(data)
                    data = upstream_reader.read_available()
            elif not no_body:
                _read_body(upstream_reader, response_headers, relay=conn.sendall, keep=False)
            return keep
        except _BadMessage:
            if not answered:  # pragma: no cover - only the client's request can fail here
                conn.sendall(_simple_response(400, headers=[("Connection", "close")]))
            return False  # a broken origin body: drop the client so it sees the truncation
        finally:
            self._untrack(upstream)
            _close(upstream)


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes or errs (stop() shuts both down)."""
    selector = selectors.DefaultSelector()
    try:
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        while True:
            for key, _ in selector.select():
                source: socket.socket = key.fileobj  # type: ignore[assignment]
                data = source.recv(CHUNK)
                if not data:
                    return
                key.data.sendall(data)
    finally:
        selector.close()


# --------------------------------------------------------------------------------------
# RequestServer and FaultServer

Scenario = Callable[["FaultContext"], bool]


class FaultContext:
    """What an answer (a fault scenario) gets: the connection, the parsed request, helpers.

    An answer returns True to keep the connection for the next request, False to have
    it closed (a FIN; ``reset()`` sends a RST instead).
    """

    def __init__(self, server: "RequestServer", sock: socket.socket, request: WireRequest, hit: int) -> None:
        self.server = server
        self.sock = sock
        self.request = request
        #: How many requests this scenario has answered, this one included (1-based).
        self.hit = hit

    @property
    def client_keeps_alive(self) -> bool:
        return "close" not in _tokens(self.request.headers.get("connection", ""))

    def param(self, name: str, default: str) -> str:
        return self.request.query.get(name, [default])[0]

    def int_param(self, name: str, default: int, low: int, high: int) -> int:
        try:
            value = int(self.param(name, str(default)))
        except ValueError:
            value = default
        return max(low, min(high, value))

    def float_param(self, name: str, default: float, low: float, high: float) -> float:
        try:
            value = float(self.param(name, str(default)))
        except ValueError:
            value = default
        return max(low, min(high, value))

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def respond(
        self,
        status: int,
        body: bytes = b"",
        headers: Iterable[Tuple[str, str]] = (),
        *,
        keep_alive: bool = True,
        reason: Optional[str] = None,
    ) -> bool:
        """A complete response with Content-Length; returns whether the connection stays."""
        keep = keep_alive and self.client_keeps_alive
        all_headers = list(headers) + [
            ("Content-Length", str(len(body))),
            ("Connection", "keep-alive" if keep else "close"),
        ]
        payload = b"" if self.request.method == "HEAD" else body
        self.send(_head_bytes(status, all_headers, reason) + payload)
        return keep

    def respond_json(
        self, status: int, obj: Any, headers: Iterable[Tuple[str, str]] = (), *, keep_alive: bool = True
    ) -> bool:
        all_headers = [("Content-Type", "application/json")] + list(headers)
        return self.respond(status, _json_bytes(obj), all_headers, keep_alive=keep_alive)

    def reset(self) -> bool:
        """Abort the connection with a TCP RST."""
        self.server._abort(self.request.connection)
        return False

    def wait_released(self, timeout: float) -> bool:
        """Wait until ``server.release()`` or ``stop()``; False when ``timeout`` passed."""
        return self.server._wait_released(timeout)

    def pause(self, seconds: float) -> bool:
        """A fixed delay that ``stop()`` cuts short; True when stopping."""
        return self.server.stopping.wait(seconds)


def _fault_server(ctx: FaultContext) -> "FaultServer":
    """The FaultServer a fault scenario runs on (its stall and drip settings, its names)."""
    server = ctx.server
    assert isinstance(server, FaultServer), "fault scenarios run on a FaultServer"
    return server


def _ok_body(ctx: FaultContext) -> Dict[str, Any]:
    return {"ok": True, "method": ctx.request.method, "path": ctx.request.path, "hit": ctx.hit}


def _scenario_json(ctx: FaultContext) -> bool:
    return ctx.respond_json(200, _ok_body(ctx))


def _scenario_echo(ctx: FaultContext) -> bool:
    request = ctx.request
    return ctx.respond_json(
        200,
        {
            "method": request.method,
            "target": request.target,
            "path": request.path,
            "query": request.query,
            "headers": request.headers,
            "body": request.body.decode("utf-8", "replace"),
        },
    )


def _scenario_status(ctx: FaultContext) -> bool:
    parts = ctx.request.path.split("/")
    try:
        code = int(parts[2])
    except (IndexError, ValueError):
        return ctx.respond_json(400, {"error": "use /status/<code>"})
    headers: Pairs = []
    if "retry_after" in ctx.request.query:
        headers.append(("Retry-After", ctx.param("retry_after", "1")))
    if "location" in ctx.request.query:
        headers.append(("Location", ctx.param("location", "/")))
    if code < 200 or code in (204, 304):
        ctx.send(_head_bytes(code, headers))
        return ctx.client_keeps_alive
    message = "%d - %s" % (code, _reason(code))
    return ctx.respond_json(code, {"code": code, "message": message, "status": message}, headers)


def _scenario_redirect(ctx: FaultContext) -> bool:
    status = ctx.int_param("status", 302, 300, 399)
    return ctx.respond(status, b"", [("Location", ctx.param("to", "/json"))])


def _scenario_reset_before_headers(ctx: FaultContext) -> bool:
    return ctx.reset()


def _scenario_reset_before_body(ctx: FaultContext) -> bool:
    # Reset as soon as the request head is in: an upload is cut off mid-body.
    return ctx.reset()


def _scenario_reset_after_headers(ctx: FaultContext) -> bool:
    ctx.send(_head_bytes(200, [("Content-Type", "application/json"), ("Content-Length", "100")]))
    return ctx.reset()


def _scenario_close_mid_body(ctx: FaultContext) -> bool:
    head = _head_bytes(200, [("Content-Type", "application/json"), ("Content-Length", "100")])
    ctx.send(head + b'{"ok": tru')  # 10 of the 100 promised bytes, then a FIN
    return False


def _scenario_broken_chunked(ctx: FaultContext) -> bool:
    head = _head_bytes(200, [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")])
    ctx.send(head + b'5\r\n{"ok"\r\nnot-a-chunk-size\r\n')
    return False


def _scenario_stall(ctx: FaultContext) -> bool:
    ctx.wait_released(_fault_server(ctx).stall_timeout)
    return False


def _scenario_stall_after_headers(ctx: FaultContext) -> bool:
    ctx.send(_head_bytes(200, [("Content-Type", "application/json"), ("Content-Length", "11")]) + b'{"o')
    ctx.wait_released(_fault_server(ctx).stall_timeout)
    return False


def _drip_body(size: int) -> bytes:
    return b'{"drip":"' + b"x" * (size - 11) + b'"}'


def _drip(ctx: FaultContext, data: bytes, delay: float) -> bool:
    # A bounded loop: len(data) sends with ``delay`` between them, cut short by stop().
    for index in range(len(data)):
        ctx.send(data[index : index + 1])
        if index + 1 < len(data) and ctx.pause(delay):
            return False
    return ctx.client_keeps_alive


def _scenario_drip(ctx: FaultContext) -> bool:
    size = ctx.int_param("bytes", 40, 11, 10_000)
    delay = ctx.float_param("delay", _fault_server(ctx).drip_delay, 0.0, 1.0)
    body = _drip_body(size)
    keep = ctx.client_keeps_alive
    ctx.send(
        _head_bytes(
            200,
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Connection", "keep-alive" if keep else "close"),
            ],
        )
    )
    return _drip(ctx, body, delay) and keep


def _scenario_drip_headers(ctx: FaultContext) -> bool:
    size = ctx.int_param("bytes", 11, 11, 10_000)
    delay = ctx.float_param("delay", _fault_server(ctx).drip_delay, 0.0, 1.0)
    body = _drip_body(size)
    head = _head_bytes(
        200, [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Connection", "close")]
    )
    _drip(ctx, head + body, delay)
    return False


def _scenario_429_then_200(ctx: FaultContext) -> bool:
    if ctx.hit <= ctx.int_param("times", 1, 0, 1000):
        body = {
            "code": 429,
            "message": "429 - Too Many Requests",
            "errors": [{"error_message": "rate limit exceeded"}],
        }
        return ctx.respond_json(429, body, [("Retry-After", ctx.param("retry_after", "1"))])
    return ctx.respond_json(200, _ok_body(ctx))


def _scenario_503_twice_then_200(ctx: FaultContext) -> bool:
    if ctx.hit <= ctx.int_param("times", 2, 0, 1000):
        return ctx.respond_json(503, {"code": 503, "message": "503 - Service Unavailable"})
    return ctx.respond_json(200, _ok_body(ctx))


def _scenario_close_after_response(ctx: FaultContext) -> bool:
    # Advertise keep-alive, then close: the client's pooled connection is dead on reuse.
    ctx.respond_json(200, _ok_body(ctx), [("Keep-Alive", "timeout=60, max=100")])
    return False


def _scenario_close_delimited(ctx: FaultContext) -> bool:
    # No Content-Length, no chunking: the body ends when the connection does (RFC 9112 6.3).
    head = _head_bytes(200, [("Content-Type", "application/json"), ("Connection", "close")])
    ctx.send(head + _json_bytes(_ok_body(ctx)))
    return False


def _scenario_garbage(ctx: FaultContext) -> bool:
    ctx.send(b"SSH-2.0-OpenSSH_9.6\r\n")
    return False


def _scenario_huge_headers(ctx: FaultContext) -> bool:
    count = ctx.int_param("count", 2000, 1, 100_000)
    size = ctx.int_param("size", 100, 1, MAX_LINE - 100)
    filler = "v" * size
    headers = [("X-Filler-%d" % index, filler) for index in range(count)]
    headers += [("Content-Type", "application/json"), ("Content-Length", "2"), ("Connection", "close")]
    ctx.send(_head_bytes(200, headers) + b"{}")
    return False


#: Default size of the huge-json body: above any sane response cap.
HUGE_JSON_SIZE = 16 * 1024 * 1024 + 1


def _huge_json_pieces(size: int) -> Iterator[bytes]:
    """``{"data":"xxx…"}`` of exactly ``size`` bytes, in pieces of at most CHUNK."""
    yield b'{"data":"'
    remaining = size - 11
    while remaining > 0:
        take = min(CHUNK, remaining)
        yield b"x" * take
        remaining -= take
    yield b'"}'


def _scenario_huge_json(ctx: FaultContext) -> bool:
    size = ctx.int_param("size", HUGE_JSON_SIZE, 11, 1 << 30)
    chunked = ctx.param("chunked", "0") not in ("", "0", "false")
    framing = ("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(size))
    ctx.send(_head_bytes(200, [("Content-Type", "application/json"), framing, ("Connection", "close")]))
    if ctx.request.method == "HEAD":
        return False
    for piece in _huge_json_pieces(size):
        if ctx.server.stopping.is_set():
            return False
        ctx.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
    if chunked:
        ctx.send(b"0\r\n\r\n")
    return False


def _scenario_unknown(ctx: FaultContext) -> bool:
    return ctx.respond_json(
        404, {"error": "unknown scenario", "path": ctx.request.path, "scenarios": sorted(_fault_server(ctx).scenarios)}
    )


#: Scenario name -> behaviour; a request picks one by its first path segment.
FAULT_SCENARIOS: Dict[str, Scenario] = {
    "json": _scenario_json,
    "echo": _scenario_echo,
    "status": _scenario_status,
    "redirect": _scenario_redirect,
    "reset-before-headers": _scenario_reset_before_headers,
    "reset-before-body": _scenario_reset_before_body,
    "reset-after-headers": _scenario_reset_after_headers,
    "close-mid-body": _scenario_close_mid_body,
    "broken-chunked": _scenario_broken_chunked,
    "stall": _scenario_stall,
    "stall-after-headers": _scenario_stall_after_headers,
    "drip": _scenario_drip,
    "drip-headers": _scenario_drip_headers,
    "429-then-200": _scenario_429_then_200,
    "503-twice-then-200": _scenario_503_twice_then_200,
    "close-after-response": _scenario_close_after_response,
    "close-delimited": _scenario_close_delimited,
    "garbage": _scenario_garbage,
    "huge-headers": _scenario_huge_headers,
    "huge-json": _scenario_huge_json,
}

#: Scenarios that run as soon as the request head is read (the body is not read).
_HEAD_ONLY_SCENARIOS = frozenset({"reset-before-body"})


class RequestServer(SocketServer):
    """HTTP/1.1 on the base server: keep-alive, every request parsed and recorded.

    Each request is recorded as a :class:`WireRequest` (body included) before it is
    answered by ``answer(ctx)``, the callable given (or a subclass's method), which
    responds through the :class:`FaultContext` and returns whether the connection stays
    open. ``ctx.hit`` counts the requests answered so far, this one included.
    """

    kind = "http"
    #: Answers that run as soon as the request head is read (the body is not read).
    head_only: frozenset[str] = frozenset()

    def __init__(self, answer: Optional[Scenario] = None) -> None:
        super().__init__()
        self._answer = answer
        self._hits: Dict[str, int] = {}
        self._released = False

    def answer(self, ctx: FaultContext) -> bool:
        """Respond to ``ctx.request``; True keeps the connection for the next request."""
        if self._answer is None:
            raise NotImplementedError("give RequestServer an answer or override answer()")
        return self._answer(ctx)

    @property
    def requests(self) -> List[WireRequest]:
        with self._lock:
            return list(self._requests)

    def count(self, path: Optional[str] = None) -> int:
        """Requests received, all or those whose path (query excluded) equals ``path``."""
        with self._lock:
            return sum(1 for r in self._requests if path is None or r.path == path)

    def bodies(self, path: Optional[str] = None) -> List[bytes]:
        """Request bodies received, in order, optionally for one path."""
        with self._lock:
            return [r.body for r in self._requests if path is None or r.path == path]

    def release(self) -> None:
        """Let answers waiting in ``ctx.wait_released()`` (stalls) go on."""
        with self._cond:
            self._released = True
            self._cond.notify_all()

    def clear(self) -> None:
        """Forget recorded requests and hit counts (connection counts and closes stay)."""
        with self._lock:
            self._requests.clear()
            self._hits.clear()
            self._released = False

    def _wait_released(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._released or self._stop_event.is_set(), timeout)

    def _choose(self, path: str) -> Tuple[str, Scenario]:
        """The name (for ``WireRequest.scenario`` and hit counts) and the answer to use."""
        return "", self.answer

    def handle(self, conn: socket.socket, number: int) -> None:
        reader = _Reader(conn)
        while not self._stop_event.is_set():
            try:
                head = _read_head(reader)
                if head is None:
                    self._client_closed(number)
                    return
                start, pairs = head
                parts = start.split(" ")
                if len(parts) != 3 or not parts[2].startswith("HTTP/"):
                    raise _BadMessage("bad request line %r" % start)
                method, target, version = parts
                headers = _header_dict(pairs)
                url = urlsplit(target)
                path = url.path or "/"
                name, answer = self._choose(path)
                if name in self.head_only:
                    body = b""  # the answer acts before the body has arrived
                else:
                    if "100-continue" in _tokens(headers.get("expect", "")):
                        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                    body = _read_body(reader, headers)
            except _BadMessage:
                conn.sendall(_simple_response(400, headers=[("Connection", "close")]))
                return
            request = WireRequest(
                method=method,
                target=target,
                path=path,
                query=parse_qs(url.query, keep_blank_values=True),
                headers=headers,
                raw_headers=pairs,
                body=body,
                connection=number,
                scenario=name,
            )
            with self._cond:
                hit = self._hits[name] = self._hits.get(name, 0) + 1
                self._requests.append(request)
                self._cond.notify_all()
            if not answer(FaultContext(self, conn, request, hit)) or version == "HTTP/1.0":
                return


class FaultServer(RequestServer):
    """A raw-socket HTTP/1.1 server whose paths are scripted faults.

    The first path segment names the scenario (``/stall``, ``/close-mid-body/tracks?x=1``;
    ``/`` is ``json``), so a client can be pointed at ``server.url + "/<scenario>"`` as its
    base URL. ``enqueue(*names_or_callables)`` overrides the path for the next requests,
    one queued behaviour per request, in arrival order. Every request is recorded (body
    included, except for ``reset-before-body``) before its scenario runs. See
    ``FAULT_SCENARIOS`` for the names.
    """

    kind = "fault"
    SCENARIOS = tuple(FAULT_SCENARIOS)
    head_only = _HEAD_ONLY_SCENARIOS

    def __init__(
        self,
        *,
        scenarios: Optional[Mapping[str, Scenario]] = None,
        stall_timeout: float = 30.0,
        drip_delay: float = 0.05,
    ) -> None:
        super().__init__()
        self.scenarios: Dict[str, Scenario] = dict(FAULT_SCENARIOS)
        self.scenarios.update(scenarios or {})
        #: Longest a stalled scenario waits when neither release() nor stop() comes.
        self.stall_timeout = stall_timeout
        #: Default gap between bytes of the drip scenarios (``?delay=`` overrides).
        self.drip_delay = drip_delay
        self._queue: Deque[Tuple[str, Scenario]] = deque()

    def scenario_count(self, name: str) -> int:
        """Requests a scenario answered (or began to answer)."""
        with self._lock:
            return self._hits.get(name, 0)

    def enqueue(self, *behaviours: Union[str, Scenario]) -> None:
        """Answer the next requests with these scenarios, whatever their path."""
        resolved: List[Tuple[str, Scenario]] = []
        for behaviour in behaviours:
            if isinstance(behaviour, str):
                if behaviour not in self.scenarios:
                    raise ValueError("unknown scenario %r" % behaviour)
                resolved.append((behaviour, self.scenarios[behaviour]))
            else:
                resolved.append((getattr(behaviour, "__name__", "custom"), behaviour))
        with self._lock:
            self._queue.extend(resolved)

    def clear(self) -> None:
        """Forget recorded requests, scenario hit counts and the queue."""
        super().clear()
        with self._lock:
            self._queue.clear()

    def _choose(self, path: str) -> Tuple[str, Scenario]:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        name = path.split("/")[1] if path.startswith("/") else ""
        name = name or "json"
        return name, self.scenarios.get(name, _scenario_unknown)


class KeepAliveServer(RequestServer):
    """HTTP/1.1 keep-alive: every request gets ``200 {"n": <request number>}``.

    The base server observes the rest: ``connections`` accepted, and ``closed_by_client``
    (the client closed a connection: the server read its FIN), so tests see ``close()``
    without sleeping.
    """

    def answer(self, ctx: FaultContext) -> bool:
        return ctx.respond(200, b'{"n": %d}' % ctx.hit, [("Content-Type", "application/json")])


#: ``script(conn, stop)`` plays one connection; it may return the socket it wrapped (TLS)
#: for the server to close, and ``stop`` is set at teardown so scripted delays end early.
Script = Callable[[socket.socket, threading.Event], Optional[socket.socket]]


class ScriptedServer(SocketServer):
    """Runs ``script(conn, stop)`` for each connection on 127.0.0.1, in its thread.

    The base server counts connections and closes each one when its script returns (or
    leaves it to a script that closed it itself, e.g. with a reset).
    """

    kind = "scripted"

    def __init__(self, script: Script) -> None:
        super().__init__()
        self.script = script

    def handle(self, conn: socket.socket, number: int) -> None:
        wrapped = self.script(conn, self.stopping)
        if wrapped is not None:
            self._upgrade(number, wrapped)


def read_head(conn: socket.socket) -> bytes:
    """Read from ``conn`` (in a script) until a whole message head, or the end; return it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


# --------------------------------------------------------------------------------------
# Plain HTTP exchanges for the fake SoundCloud's own tests (tests/fake/).

#: Socket timeout of the connections :func:`call` opens, in seconds.
CALL_TIMEOUT = 5.0


class Clock:
    """An injectable clock that tests move by hand, shared by a fake SoundCloud and the client
    under test."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Reply:
    status: int
    headers: Dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


def call(
    url: str,
    method: str = "GET",
    *,
    headers: Optional[Mapping[str, str]] = None,
    body: Optional[bytes] = None,
    token: Optional[str] = None,
    conn: Optional[http.client.HTTPConnection] = None,
) -> Reply:
    """One HTTP exchange; a fresh connection unless ``conn`` is given."""
    parts = urlsplit(url)
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"OAuth {token}"
    own = conn is None
    connection = conn or http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=CALL_TIMEOUT)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, target, body=body, headers=sent)
        response = connection.getresponse()
        data = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        if own:
            connection.close()


def form(url: str, fields: Mapping[str, str], **kwargs: Any) -> Reply:
    headers = dict(kwargs.pop("headers", {}))
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return call(url, "POST", headers=headers, body=urlencode(fields).encode(), **kwargs)


def assert_api_error(reply: Reply, code: int, status: str) -> Dict[str, Any]:
    assert reply.status == code
    assert reply.headers["content-type"] == "application/json; charset=utf-8"
    payload: Dict[str, Any] = reply.json()
    assert payload["code"] == code
    assert payload["message"] == status
    assert payload["status"] == status
    assert payload["link"] == "https://developers.soundcloud.com/docs/api/explorer/open-api"
    assert payload["error"] is None
    assert isinstance(payload["errors"][0]["error_message"], str)
    return payload


# --------------------------------------------------------------------------------------
# The client side: helpers of the client's tests (tests/client/, tests/unit/).
#
# They import ``soundcloud`` when called, never at module level. A test module imports the
# fixtures it needs from here with the helpers (pytest registers a fixture in the module that
# imports it): :func:`close_opened` closes, after each test, what :func:`make_client` /
# :func:`client_for` and their kin opened.

#: The client timeout of the client's tests, in seconds.
TIMEOUT = 5.0

#: RFC 3986 unreserved characters: all a PKCE code verifier or a state may contain.
UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

#: Clients and transports made by :func:`make_client` and :func:`transport`.
_open: List[Any] = []

#: Clients made by :func:`client_for` and :func:`opened`.
_open_clients: List[soundcloud.Client] = []


def close_opened() -> None:
    """Close every client and transport the helpers below opened (after each client test)."""
    while _open:
        _open.pop().close()
    while _open_clients:
        _open_clients.pop().close()


class ScriptedAuthServer(RequestServer):
    """An authorization server that answers every request with one fixed response, then
    closes the connection. ``requests`` records what it received."""

    kind = "auth"

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        super().__init__()
        self.status = status
        self.body = body
        self.content_type = content_type

    def answer(self, ctx: FaultContext) -> bool:
        return ctx.respond(self.status, self.body, [("Content-Type", self.content_type)], keep_alive=False)


def transport() -> HTTPTransport:
    from soundcloud.transport import HTTPTransport

    made = HTTPTransport()
    _open.append(made)
    return made


def make_client(fake: Any, **kwargs: Any) -> soundcloud.Client:
    """A client of ``fake``, closed after the test (its transport too, even when it fails)."""
    import soundcloud

    kwargs.setdefault("client_id", fake.client_id)
    kwargs.setdefault("api_url", fake.api_url)
    kwargs.setdefault("auth_url", fake.auth_url)
    kwargs.setdefault("timeout", TIMEOUT)
    kwargs.setdefault("transport", transport())
    client = soundcloud.Client(**kwargs)
    _open.append(client)
    return client


def authorize(url: str) -> Tuple[str, str]:
    """Play the browser at the fake's /authorize; return the code and state it redirects with."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect)
    try:
        with opener.open(url, timeout=TIMEOUT) as response:
            raise AssertionError(f"/authorize answered {response.status}, not a redirect")
    except urllib.error.HTTPError as redirect:
        with redirect:
            assert redirect.code == 302, redirect.read()
            location = redirect.headers["Location"]
    query = dict(parse_qsl(urlsplit(location).query))
    assert "error" not in query, query
    return query["code"], query["state"]


def logged_in(fake: Any, **kwargs: Any) -> soundcloud.Client:
    """A client that went through authorize and exchange (the README flow)."""
    kwargs.setdefault("redirect_uri", fake.redirect_uri)
    client = make_client(fake, **kwargs)
    code, state = authorize(client.authorize_url())
    client.exchange_token(code, state=state)
    return client


def form_of(request: Any) -> Dict[str, str]:
    return dict(parse_qsl(request.body.decode("ascii"), keep_blank_values=True))


def token_requests(fake: Any) -> List[Any]:
    return [r for r in fake.requests_to("auth") if r.path == "/oauth/token"]


def client_for(fake: Any, **kwargs: Any) -> soundcloud.Client:
    import soundcloud

    kwargs.setdefault("api_url", fake.api_url)
    kwargs.setdefault("auth_url", fake.auth_url)
    kwargs.setdefault("timeout", TIMEOUT)
    return opened(soundcloud.Client(**kwargs))


def opened(client: soundcloud.Client) -> soundcloud.Client:
    """Close ``client`` after the test (its pooled sockets would warn otherwise)."""
    _open_clients.append(client)
    return client


def user_client(fake: Any, **kwargs: Any) -> soundcloud.Client:
    return client_for(fake, access_token=fake.issue_token(), **kwargs)


def last(fake: Any, server: str = "api") -> Any:
    return [r for r in fake.requests if r.server == server][-1]
