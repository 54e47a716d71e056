"""The HTTP transport: persistent ``http.client`` connections, proxies, TLS, timeouts, retries.

The boundary is narrow: :meth:`HTTPTransport.handle_request` takes a :class:`Request` and
returns a :class:`Response` whose body is still on the wire. Redirects and authentication
belong to the client; sockets, keep-alive, proxies, TLS, timeouts and retries belong here.
Every ``OSError``, ``ssl.SSLError`` and ``http.client`` exception is translated into the
package's errors in :func:`map_exception`, and nowhere else.

Choices made here (where RFCs and SoundCloud leave room):

- **Connection reuse.** One small pool of idle keep-alive connections per origin (scheme,
  host, port and proxy); a thread takes the most recently used idle connection, or opens a
  new one, so a pool never blocks. At most ``pool_size`` idle connections are kept.
- **A kept-alive connection the server closed** (RFC 9112 section 9.3.1) is found out when
  the request fails on it before any answer; the request then goes once more on a fresh
  connection, but only when that cannot duplicate it: an idempotent method (or
  ``request.retry is True``), ``request.retry`` not False, and a body that is bytes or not
  yet started. Requests that could not be replayed (a POST, a streamed upload) check the
  idle connection first with a zero-timeout ``select`` and skip it when the server has
  closed it; the others save that system call and rely on the replay.
  That replay is not counted as a retry and also happens with ``max_retries=0``.
- **Retries** (``max_retries``, default 3; 0 turns them off) for 429, 502, 503 and 504
  answers and for connection failures (refused, reset, dropped before any answer, connect
  timeouts), for GET, HEAD, PUT, DELETE and OPTIONS; a POST or PATCH only with
  ``request.retry is True``; never with ``request.retry is False``; never once a streamed
  (non-replayable) body has begun to go out. Not retried: read timeouts (a slow server
  rarely gets faster, and retrying would multiply the caller's wait), TLS certificate and
  handshake failures, unknown hosts, a proxy refusing the tunnel, malformed answers, and
  failures while the caller reads the body. The wait is the server's ``Retry-After``
  (seconds or HTTP date) or, on a 429, ``x-ratelimit-reset`` when present (SoundCloud sends
  it instead of ``Retry-After``, an epoch time or seconds), else exponential backoff
  with jitter: ``min(max_backoff, backoff_factor * 2 ** n) * (0.5 + random() / 2)`` before
  retry ``n + 1``. A server-requested wait longer than ``max_backoff`` (30 s) is not waited
  out: the 429/503 answer is returned at once, so the client raises its error (with
  ``retry_after``) and the caller decides. Retries never run past the total deadline.
  Exhausted retries return the last answer or raise the last error; ``Response.retries``
  says how many were made. ``sleep`` and ``random`` are constructor parameters.
- **Timeouts.** ``Timeout.connect`` bounds making the connection (the TCP connect, the
  proxy's CONNECT answer and the TLS handshake each wait at most that long); ``Timeout.read``
  bounds every wait for the server afterwards (sending, the answer, each body read).
  ``Timeout.total`` is a deadline for the whole call, retries and their waits included,
  that covers connect, tunnel, TLS handshake, send, the answer and a body read with
  ``read_all``: a per-transport watchdog thread shuts the socket down at the deadline, so
  a server or proxy that drips bytes cannot hold the caller past it (a per-read timeout
  cannot: each byte restarts it). The watchdog starts with the first request that has a
  total and exits when idle: requests without a total cost nothing, those with one about
  3 µs of CPU (CPython 3.11), and there is never a thread per request. The TCP connect
  itself waits ``min(connect, time left)``. A body streamed with :meth:`Response.read`
  (``StreamResponse``, downloads) leaves the deadline at its first read: from there each
  chunk gets the read timeout. The error says which limit passed.
- **Limits.** ``read_all(limit)`` refuses a body over ``limit`` bytes before reading it when
  the length is announced, or as soon as the count passes it; http.client refuses more
  than 100 header lines or a line over 64 KiB. Both raise ``ResponseTooLargeError``.
- **Closing a response early** reads up to 64 KiB of a body of announced length if it comes
  within 0.5 s (redirect and error bodies are small), so the connection can be reused;
  anything else closes the connection.
"""

from __future__ import annotations

import base64
import builtins
import http.client
import os
import select
import socket
import threading
import time
from typing import (
    TYPE_CHECKING,
    Callable,
    Dict,
    Final,
    Iterable,
    List,
    Mapping,
    Optional,
    Tuple,
    Union,
)
from urllib.parse import unquote, urlsplit

from . import _log
from .errors import (
    ConnectError,
    ProtocolError,
    ResponseTooLargeError,
    SoundCloudError,
    TimeoutError,
    TransportError,
    UploadInterruptedError,
)
from ._models import DEFAULT_TIMEOUT, Body, Headers, Request, Timeout, as_timeout, retry_after_seconds
from ._redact import redact_url

if TYPE_CHECKING:
    import ssl

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "DEFAULT_TIMEOUT",
    "HTTPTransport",
    "Request",
    "Response",
    "Timeout",
    "Transport",
    "map_exception",
    "normalize_proxies",
]

DEFAULT_MAX_BODY_SIZE: Final = 64 * 1024 * 1024
DEFAULT_MAX_RETRIES: Final = 3
DEFAULT_BACKOFF_FACTOR: Final = 0.5
DEFAULT_MAX_BACKOFF: Final = 30.0
# RFC 9110 section 9.2.2 (TRACE left out: nothing here sends it).
IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})
# Methods whose requests carry a body: without one they say ``Content-Length: 0``.
BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})
# Idle connections kept per origin; more may be open at once, the extra ones are closed on release.
DEFAULT_POOL_SIZE: Final = 10
READ_CHUNK: Final = 64 * 1024
# A body of announced length up to this size is read out on close() to keep the connection...
DRAIN_LIMIT: Final = 64 * 1024
# ...if it arrives within this many seconds.
DRAIN_TIMEOUT: Final = 0.5
# The deadline watchdog thread exits after this long without a deadline to watch.
WATCHDOG_IDLE: Final = 30.0
HAS_POLL: Final = hasattr(select, "poll")
# http.client's limits, applied to a proxy's CONNECT answer too.
MAX_LINE: Final = 65536
MAX_HEADERS: Final = 100
# Route cache entries (one per scheme://host:port seen) before the cache starts over.
MAX_ROUTES: Final = 256

# Where a request was when it failed: names the timeout that applied.
STAGE_CONNECT: Final = "connect"
STAGE_SEND: Final = "send"
STAGE_RESPONSE: Final = "response"
STAGE_BODY: Final = "body"

class Transport:
    """What a client needs from a transport (subclass it to inject another one)."""

    def handle_request(self, request: Request) -> Response:
        """Send ``request`` and return the response with its body unread."""
        raise NotImplementedError

    def close(self) -> None:
        """Release every connection."""


# -- the total deadline ---------------------------------------------------------------------


def _shutdown(sock: socket.socket) -> None:
    # socket.socket.shutdown on the descriptor, also for an SSLSocket: it wakes a thread
    # blocked in recv()/send() without touching the TLS object that thread is using. A
    # closed socket object has no descriptor any more (-1), so this can never reach a
    # descriptor number the system has since given to another socket.
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class _Watch:
    """One request's total deadline and the socket to shut down when it passes."""

    __slots__ = ("deadline", "total", "watchdog", "sock", "fired", "done")

    def __init__(self, deadline: float, total: float, watchdog: _Watchdog) -> None:
        self.deadline = deadline
        self.total = total
        self.watchdog = watchdog
        self.sock: Optional[socket.socket] = None
        self.fired = False
        self.done = False


class _Watchdog:
    """One thread per transport that enforces total deadlines by shutting sockets down.

    No thread runs until a request has a total deadline; it exits after WATCHDOG_IDLE
    seconds without one, or when the transport is closed and nothing is left to watch.
    Every change to a watch happens under the lock, so once :meth:`cancel` or
    ``attach(watch, None)`` returned, the watchdog will never touch that socket again.
    """

    def __init__(self) -> None:
        # The hot paths (arm, attach, cancel) take the plain lock: a Condition's own
        # __enter__/__exit__ are Python-level calls. Only the thread waits on the Condition.
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._heap: List[Tuple[float, int, _Watch]] = []
        self._sequence = 0
        self._live = 0
        # Not named _thread: mypyc would emit the C field ``__thread``, a GCC keyword.
        self._worker: Optional[threading.Thread] = None
        self._closing = False

    def arm(self, total: float) -> _Watch:
        """Start watching a deadline ``total`` seconds from now."""
        import heapq
        deadline = time.monotonic() + total
        watch = _Watch(deadline, total, self)
        with self._lock:
            self._sequence += 1
            heapq.heappush(self._heap, (deadline, self._sequence, watch))
            self._live += 1
            self._closing = False
            if self._worker is None:
                thread = threading.Thread(target=self._run, name="soundcloud-deadline", daemon=True)
                self._worker = thread
                thread.start()
            elif self._heap[0][2] is watch:
                self._cond.notify()
        return watch

    def attach(self, watch: _Watch, sock: Optional[socket.socket]) -> None:
        """Point ``watch`` at the socket now carrying its request (None: at no socket)."""
        with self._lock:
            if not watch.fired:
                watch.sock = sock
            elif sock is not None:
                _shutdown(sock)

    def cancel(self, watch: _Watch) -> bool:
        """Stop watching; True when the deadline had already passed."""
        import heapq
        with self._lock:
            if not watch.done:
                watch.done = True
                watch.sock = None
                self._live -= 1
                heap = self._heap
                # Cancelled entries stay in the heap until they reach its top; compact it
                # when they outnumber the live ones, so it never grows without bound.
                if len(heap) > 64 and self._live * 2 < len(heap):
                    heap = [entry for entry in heap if not entry[2].done]
                    heapq.heapify(heap)
                    self._heap = heap
            return watch.fired

    def close(self) -> None:
        """Let the thread exit once no deadline is left to watch."""
        with self._lock:
            self._closing = True
            self._cond.notify()

    def _run(self) -> None:
        import heapq
        cond = self._cond
        with cond:
            while True:
                heap = self._heap
                while heap and heap[0][2].done:
                    heapq.heappop(heap)
                if not heap:
                    if self._closing or (not cond.wait(WATCHDOG_IDLE) and not self._heap):
                        self._worker = None
                        return
                    continue
                deadline, _, watch = heap[0]
                delay = deadline - time.monotonic()
                if delay > 0:
                    cond.wait(delay)
                    continue
                heapq.heappop(heap)
                watch.fired = True
                watch.done = True
                self._live -= 1
                sock = watch.sock
                watch.sock = None
                if sock is not None:
                    _shutdown(sock)


# -- responses ------------------------------------------------------------------------------


class Response:
    """A response whose headers have arrived; the body is read on demand.

    Reading the body to its end returns the connection to the pool; closing it early
    closes the connection (unless what is left is small and arrives at once).
    ``retries`` counts the retries :class:`HTTPTransport` made before this answer.
    """

    def __init__(
        self,
        request: Request,
        raw: http.client.HTTPResponse,
        connection: Optional[http.client.HTTPConnection],
        pool: Optional[ConnectionPool],
        watch: Optional[_Watch] = None,
    ) -> None:
        self.request = request
        self.url = request.url
        self.status_code: int = raw.status
        self.reason: str = raw.reason
        # raw_items(): the header lines as parsed, without a per-header policy round trip.
        self.headers = Headers(list(raw.msg.raw_items()))
        self.retries = 0
        self._raw = raw
        self._connection = connection
        self._pool = pool
        self._watch = watch

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes of the body (all of it when negative).

        This is the streaming path: the total deadline, if any, ends here and each read
        is bounded by the read timeout alone.
        """
        watch = self._watch
        if watch is not None:
            self._watch = None
            if watch.watchdog.cancel(watch):
                self._finish(False)
                raise self._deadline_error(None)
        return self._read(size)

    def read_all(self, limit: int = DEFAULT_MAX_BODY_SIZE) -> bytes:
        """The whole body, refusing one larger than ``limit`` bytes before reading it."""
        raw = self._raw
        length = raw.length
        if length is not None:
            if length > limit:
                self._finish(False)
                raise ResponseTooLargeError(
                    f"{self.request.method} {redact_url(self.url)}: the response body is {length}"
                    f" bytes, over the limit of {limit} (raise max_body_size to accept it)"
                )
            return self._read(-1)
        chunks: List[bytes] = []
        received = 0
        while True:
            chunk = self._read(READ_CHUNK)
            if not chunk:
                break
            received += len(chunk)
            if received > limit:
                self._finish(False)
                raise ResponseTooLargeError(
                    f"{self.request.method} {redact_url(self.url)}: the response body is over the"
                    f" limit of {limit} bytes (raise max_body_size to accept it)"
                )
            chunks.append(chunk)
        if self._connection is not None or self._watch is not None:  # pragma: no cover
            # Defensive: http.client closes a response it has read to its end.
            if self._finish(True):
                raise self._deadline_error(None)
        return b"".join(chunks)

    def close(self) -> None:
        """Stop reading: the connection is reused if the body was (or can quickly be) read."""
        if self._connection is None and self._watch is None:
            self._raw.close()
            return
        self._finish(self._drain())

    def _read(self, size: int) -> bytes:
        raw = self._raw
        try:
            data = raw.read() if size < 0 else raw.read(size)
        except BaseException as exc:
            fired = self._finish(False)
            if isinstance(exc, Exception):
                if fired:
                    raise _chained(self._deadline_error(exc), exc)
                request = self.request
                error = map_exception(exc, request.method, self.url, stage=STAGE_BODY, timeout=request.timeout)
                raise _chained(error, exc)
            raise
        if raw.isclosed() and self._finish(True):
            # The deadline shut the socket down; what was read may be cut short.
            raise self._deadline_error(None)
        return data

    def _drain(self) -> bool:
        """Read out a small remainder that arrives at once; True when the body is complete."""
        raw = self._raw
        if raw.isclosed():
            return True
        length = raw.length
        connection = self._connection
        if length is None or length > DRAIN_LIMIT or raw.will_close or connection is None:
            return False
        sock = connection.sock
        if sock is None:
            return False
        give_up = time.monotonic() + DRAIN_TIMEOUT
        try:
            while length:
                left = give_up - time.monotonic()
                if left <= 0:
                    return False
                sock.settimeout(left)
                if not raw.read1(length):
                    return False
                length = raw.length or 0
            raw.read()  # nothing left: marks the response complete
        except Exception:
            return False
        return raw.isclosed()

    def _finish(self, reusable: bool, cancel: bool = True) -> bool:
        """Done with the connection: pooled when ``reusable``, else closed.

        Ends the total deadline (``cancel``) or only detaches it from this connection.
        Returns True when the deadline had passed (the connection is closed then).
        """
        fired = False
        watch = self._watch
        if watch is not None:
            if cancel:
                self._watch = None
                fired = watch.watchdog.cancel(watch)
            else:
                watch.watchdog.attach(watch, None)
                fired = watch.fired
        connection = self._connection
        if connection is not None:
            self._connection = None
            pool = self._pool
            if reusable and not fired and pool is not None and not self._raw.will_close:
                pool.release(connection)
            else:
                self._raw.close()
                connection.close()
        elif not reusable:
            self._raw.close()
        return fired

    def _deadline_error(self, cause: Optional[BaseException]) -> Exception:
        request = self.request
        return _deadline_error(request.method, self.url, request.timeout, cause)


# -- errors ---------------------------------------------------------------------------------


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _timeout_message(stage: str, timeout: Optional[Timeout]) -> str:
    if timeout is None:
        return "timed out waiting for the server"
    if stage == STAGE_CONNECT:
        return f"could not connect within the connect timeout of {_seconds(timeout.connect)}"
    if stage == STAGE_SEND:
        return f"the server took no request data for the read timeout of {_seconds(timeout.read)}"
    if stage == STAGE_BODY:
        return f"the response body stalled for the read timeout of {_seconds(timeout.read)}"
    return f"no response within the read timeout of {_seconds(timeout.read)}"


def _deadline_error(
    method: str, url: str, timeout: Optional[Timeout], cause: Optional[BaseException]
) -> TimeoutError:
    total = timeout.total if timeout is not None else None
    limit = f"the total deadline of {_seconds(total)}" if total is not None else "the total deadline"
    return TimeoutError(f"{limit} passed", method=method, url=url, cause=cause)


def map_exception(
    exc: BaseException,
    method: str,
    url: str,
    *,
    body_started: bool = False,
    stage: str = STAGE_RESPONSE,
    timeout: Optional[Timeout] = None,
    deadline_passed: bool = False,
) -> Exception:
    """Translate a socket, TLS or http.client failure into the package's error for it.

    ``stage`` (connect, send, response or body) says where the request was, ``timeout``
    what applied there; ``deadline_passed`` makes any failure the total deadline's. A
    request that could not be written at all (a URL with spaces or control characters, a
    header with a line break or outside Latin-1) gives a plain ``ValueError``.
    """
    if isinstance(exc, SoundCloudError):
        return exc
    if deadline_passed:
        return _deadline_error(method, url, timeout, exc)
    if isinstance(exc, (socket.timeout, builtins.TimeoutError)):
        return TimeoutError(_timeout_message(stage, timeout), method=method, url=url, cause=exc)
    is_ssl = type(exc).__module__ == "ssl"
    if isinstance(exc, http.client.InvalidURL) or (
        stage == STAGE_SEND and not body_started and isinstance(exc, ValueError) and not is_ssl
    ):
        return ValueError(f"cannot send {method} {redact_url(url)}: {exc}")
    if body_started:
        return UploadInterruptedError(
            "the connection failed while the request body was being sent; it was not retried"
            " because the server may have received part of it",
            method=method,
            url=url,
            cause=exc,
        )
    if isinstance(exc, http.client.LineTooLong) or (
        isinstance(exc, http.client.HTTPException) and str(exc).startswith("got more than")
    ):
        return ResponseTooLargeError(
            f"{method} {redact_url(url)}: the response headers are too large ({exc})"
        )
    if is_ssl:
        import ssl

        if isinstance(exc, ssl.SSLCertVerificationError):
            return ConnectError(
                "the server's TLS certificate could not be verified (pass verify_ssl=<CA bundle"
                " path> for a private CA)",
                method=method,
                url=url,
                cause=exc,
            )
        if stage == STAGE_CONNECT:
            return ConnectError("the TLS handshake failed", method=method, url=url, cause=exc)
        return ProtocolError("the TLS connection broke", method=method, url=url, cause=exc)
    if stage == STAGE_CONNECT:
        if isinstance(exc, ConnectionRefusedError):
            return ConnectError("the connection was refused", method=method, url=url, cause=exc)
        if isinstance(exc, socket.gaierror):
            return ConnectError("the host name could not be resolved", method=method, url=url, cause=exc)
        if isinstance(exc, OSError) and str(exc).startswith("Tunnel connection failed"):
            return ConnectError("the proxy did not open a tunnel", method=method, url=url, cause=exc)
        if isinstance(exc, (OSError, http.client.HTTPException)):
            return ConnectError("the connection failed", method=method, url=url, cause=exc)
    if isinstance(exc, http.client.IncompleteRead):
        return ProtocolError(
            f"the connection closed after {len(exc.partial)} bytes of the body"
            + (f", {exc.expected} more were expected" if exc.expected is not None else ""),
            method=method,
            url=url,
            cause=exc,
        )
    if isinstance(exc, http.client.RemoteDisconnected):
        return ProtocolError(
            "the server closed the connection without answering", method=method, url=url, cause=exc
        )
    if isinstance(exc, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return ProtocolError("the connection was reset", method=method, url=url, cause=exc)
    if isinstance(exc, http.client.HTTPException):
        return ProtocolError("the server sent a malformed HTTP response", method=method, url=url, cause=exc)
    if isinstance(exc, ValueError) and stage == STAGE_BODY:
        return ProtocolError("the server sent a malformed body", method=method, url=url, cause=exc)
    if isinstance(exc, OSError):
        return ProtocolError("the connection failed", method=method, url=url, cause=exc)
    return TransportError("the request failed", method=method, url=url, cause=exc)


def _is_retryable_error(exc: BaseException, stage: str) -> bool:
    """Whether an attempt that failed this way may be sent again (if the request allows it)."""
    if type(exc).__module__ == "ssl":
        return False  # certificate and handshake failures repeat
    if stage == STAGE_CONNECT:
        if isinstance(exc, socket.gaierror):
            return False
        if str(exc).startswith("Tunnel connection failed"):
            return False
        return isinstance(exc, OSError)  # refused, unreachable, reset, connect timeout
    return _is_dropped_connection(exc)


def _is_dropped_connection(exc: BaseException) -> bool:
    # The peer went away before answering: what a closed keep-alive connection looks like.
    return isinstance(
        exc,
        (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError),
    ) or (isinstance(exc, http.client.BadStatusLine) and not str(exc).strip("'\""))


def _chained(error: Exception, cause: Optional[BaseException]) -> Exception:
    # What ``raise error from cause`` does; spelled out because mypyc-compiled code drops
    # the ``from`` clause. Setting __cause__ also sets __suppress_context__.
    if cause is not None and cause is not error:
        error.__cause__ = cause
    return error


class _Failure(Exception):
    """An attempt failed: the error to raise, and whether another attempt may follow."""

    def __init__(
        self, error: Exception, cause: Optional[BaseException], retryable: bool, body_started: bool
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.cause = cause
        self.retryable = retryable
        self.body_started = body_started


# -- proxies --------------------------------------------------------------------------------


class Proxy:
    """A forward proxy: plain HTTP goes to it in absolute form, HTTPS through a CONNECT tunnel."""

    __slots__ = ("url", "host", "port", "authorization")

    def __init__(self, url: str) -> None:
        if "://" not in url:
            url = "http://" + url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(
                f"unsupported proxy scheme {parts.scheme!r} in {redact_url(url)!r}: use an http:// proxy"
            )
        if not parts.hostname:
            raise ValueError(f"the proxy URL {redact_url(url)!r} has no host")
        self.host = parts.hostname
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"the proxy URL {redact_url(url)!r} has an invalid port") from None
        self.port = port if port is not None else (443 if parts.scheme == "https" else 8080)
        self.authorization: Optional[str] = None
        if parts.username is not None:
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self.authorization = "Basic " + base64.b64encode(credentials.encode()).decode("ascii")
        # The URL without credentials: used as a pool key and shown in messages.
        self.url = f"http://{self.host}:{self.port}"


def normalize_proxies(proxies: Optional[Mapping[str, str]]) -> Dict[str, Proxy]:
    """Parse ``{'http': 'host:port', 'https': 'http://user:pw@proxy:3128'}`` (scheme optional)."""
    result: Dict[str, Proxy] = {}
    if not proxies:
        return result
    for scheme, url in proxies.items():
        if scheme not in ("http", "https", "all"):
            raise ValueError(f"proxies keys are 'http', 'https' or 'all', not {scheme!r}")
        if url:
            result[scheme] = Proxy(url)
    return result


def _environment_proxies() -> Tuple[Dict[str, Proxy], List[str]]:
    found: Dict[str, str] = {}
    for scheme in ("http", "https", "all"):
        value = os.environ.get(f"{scheme}_proxy") or os.environ.get(f"{scheme.upper()}_PROXY")
        if value:
            found[scheme] = value
    no_proxy = os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or ""
    return normalize_proxies(found), [h.strip().lower() for h in no_proxy.split(",") if h.strip()]


def _bypassed(host: str, no_proxy: List[str]) -> bool:
    host = host.lower()
    for entry in no_proxy:
        if entry == "*":
            return True
        entry = entry.lstrip(".")
        if host == entry or host.endswith("." + entry):
            return True
    return False


# -- pools and routes -----------------------------------------------------------------------


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


class _Route:
    """How to reach one ``scheme://host:port``: its pool, Host header and proxy."""

    __slots__ = ("scheme", "host", "port", "proxy", "pool", "host_header", "prefix", "proxy_authorization")

    def __init__(
        self, scheme: str, host: str, port: int, proxy: Optional[Proxy], pool: ConnectionPool, host_header: str
    ) -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.proxy = proxy
        self.pool = pool
        self.host_header = host_header
        # Plain HTTP through a proxy sends the absolute URL (RFC 9112 section 3.2.2).
        self.prefix: Optional[str] = None
        self.proxy_authorization: Optional[str] = None
        if proxy is not None and scheme == "http":
            self.prefix = f"http://{host_header}"
            self.proxy_authorization = proxy.authorization


def _split_url(url: str) -> Tuple[str, str]:
    """``(scheme://netloc, path?query)`` of a plain absolute URL; ``('', '')`` for anything else."""
    start = url.find("://")
    if start <= 0:
        return "", ""
    slash = url.find("/", start + 3)
    if slash < 0:
        key = url
        target = "/"
    else:
        key = url[:slash]
        target = url[slash:]
    if "?" in key or "#" in key:
        return "", ""
    if "#" in target:
        target = target[: target.index("#")]
    return key, target


# -- the transport --------------------------------------------------------------------------


class HTTPTransport(Transport):
    """Sends requests over pooled, persistent ``http.client`` connections, with retries.

    ``proxies`` maps 'http'/'https'/'all' to proxy URLs (``'host:port'`` works); None reads
    ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` from the environment. ``verify`` is True
    (system CA store), False (no verification: unsafe) or the path of a CA bundle or
    directory. ``max_retries``, ``backoff_factor`` and ``max_backoff`` shape retries;
    ``sleep(seconds)`` and ``random() -> [0, 1)`` are what the backoff waits with and
    draws its jitter from (inject them to test without waiting). The module docstring
    lists what is retried, how timeouts and the total deadline work, and why.

        transport = HTTPTransport(max_retries=5, sleep=waits.append, random=lambda: 0.5)
    """

    def __init__(
        self,
        *,
        proxies: Optional[Mapping[str, str]] = None,
        verify: Union[bool, str] = True,
        pool_size: int = DEFAULT_POOL_SIZE,
        ssl_context: Optional[ssl.SSLContext] = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_factor: float = DEFAULT_BACKOFF_FACTOR,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
        sleep: Callable[[float], None] = time.sleep,
        random: Optional[Callable[[], float]] = None,
    ) -> None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be 0 (off) or more, not {max_retries!r}")
        if not backoff_factor >= 0 or not max_backoff >= 0:
            raise ValueError("backoff_factor and max_backoff must be 0 or more seconds")
        if pool_size < 1:
            raise ValueError(f"pool_size must be 1 or more, not {pool_size!r}")
        self.max_retries = max_retries
        self.backoff_factor = float(backoff_factor)
        self.max_backoff = float(max_backoff)
        self._sleep = sleep
        self._random = random
        self._no_proxy: List[str] = []
        if proxies is None:
            self._proxies, self._no_proxy = _environment_proxies()
        else:
            self._proxies = normalize_proxies(proxies)
        if not isinstance(verify, (bool, str)):
            raise TypeError(f"verify_ssl must be True, False or a CA bundle path, not {verify!r}")
        if isinstance(verify, str) and not os.path.exists(verify):
            raise ValueError(f"verify_ssl={verify!r}: no CA bundle file or directory at that path")
        self._verify = verify
        self._ssl_context = ssl_context
        self._pools: Dict[Tuple[str, str, int, str], ConnectionPool] = {}
        self._routes: Dict[str, _Route] = {}
        self._lock = threading.Lock()
        self._pool_size = pool_size
        self._watchdog = _Watchdog()

    # -- connections -------------------------------------------------------------------

    def _context(self) -> ssl.SSLContext:
        context = self._ssl_context
        if context is None:
            with self._lock:
                context = self._ssl_context
                if context is None:  # pragma: no branch - another thread may have made it
                    context = make_ssl_context(self._verify)
                    self._ssl_context = context
        return context

    def _resolve(self, url: str, key: str) -> Tuple[_Route, str]:
        """The route for ``url`` (cached under ``key`` when given) and its request target."""
        try:
            parts = urlsplit(url)
            port: Optional[int] = parts.port
        except ValueError as exc:
            raise ValueError(f"cannot send to {redact_url(url)}: {exc}") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"cannot send to {redact_url(url)}: only http and https URLs")
        host = parts.hostname
        if not host:
            raise ValueError(f"the URL {redact_url(url)} has no host")
        host_header = host if ":" not in host else f"[{host}]"
        if port is not None:
            host_header += f":{port}"
        if port is None:
            port = 443 if scheme == "https" else 80
        proxy: Optional[Proxy] = None
        if self._proxies and not _bypassed(host, self._no_proxy):
            proxy = self._proxies.get(scheme) or self._proxies.get("all")
        origin = (scheme, host, port, proxy.url if proxy is not None else "")
        with self._lock:
            pool = self._pools.get(origin)
            if pool is None:
                pool = ConnectionPool(self._pool_size)
                self._pools[origin] = pool
            route = _Route(scheme, host, port, proxy, pool, host_header)
            if key:
                if len(self._routes) >= MAX_ROUTES:
                    self._routes = {}
                self._routes[key] = route
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        if route.prefix is not None:
            target = route.prefix + target
        return route, target

    def _connect(
        self, request: Request, route: _Route, watch: Optional[_Watch]
    ) -> http.client.HTTPConnection:
        """A new connection: TCP, then the proxy's CONNECT tunnel and TLS as the route needs.

        The socket is opened here rather than by http.client so that the total deadline's
        watchdog holds it from the first byte: a proxy or TLS server that drips its answer
        is cut off too. (It also avoids http.client's tunnel code, which before Python 3.11
        leaks the socket when the proxy refuses.)
        """
        timeout = request.timeout
        connect_timeout = timeout.connect
        if watch is not None:
            left = watch.deadline - time.monotonic()
            if left <= 0:
                error: Exception = _deadline_error(request.method, request.url, timeout, None)
                raise _Failure(error, None, False, False)
            connect_timeout = min(connect_timeout, left)
        proxy = route.proxy
        context: Optional[ssl.SSLContext] = None
        if route.scheme == "https":
            try:
                context = self._context()
            except Exception as exc:  # an unreadable CA bundle: not worth a retry
                error = map_exception(exc, request.method, request.url, stage=STAGE_CONNECT, timeout=timeout)
                raise _Failure(error, exc, False, False)
        sock: Optional[socket.socket] = None
        try:
            if proxy is not None:
                sock = socket.create_connection((proxy.host, proxy.port), connect_timeout)
            else:
                sock = socket.create_connection((route.host, route.port), connect_timeout)
            # Small requests go out at once: no Nagle delay waiting for the peer's ACK.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if watch is not None:
                watch.watchdog.attach(watch, sock)
            if context is not None:
                if proxy is not None:
                    _open_tunnel(sock, route, proxy)
                tls = context.wrap_socket(sock, server_hostname=route.host, do_handshake_on_connect=False)
                sock = tls
                if watch is not None:
                    watch.watchdog.attach(watch, tls)
                tls.do_handshake()
            sock.settimeout(timeout.read)
        except BaseException as exc:
            if sock is not None:
                sock.close()
            if not isinstance(exc, Exception):
                raise
            passed = watch is not None and (watch.fired or time.monotonic() >= watch.deadline)
            error = map_exception(
                exc, request.method, request.url, stage=STAGE_CONNECT, timeout=timeout, deadline_passed=passed
            )
            raise _Failure(error, exc, not passed and _is_retryable_error(exc, STAGE_CONNECT), False)
        connection = http.client.HTTPConnection(route.host, route.port)
        # Never let http.client reconnect on its own (it would skip the proxy, TLS and the
        # timeouts above): a closed connection fails, and the pool drops it.
        connection.auto_open = 0
        connection.sock = sock
        return connection

    # -- requests ----------------------------------------------------------------------

    def handle_request(self, request: Request) -> Response:
        """Send ``request`` on a pooled connection and return once the headers arrived.

        Retries as the module docstring describes; ``Response.retries`` says how many.
        """
        key, target = _split_url(request.url)
        route = self._routes.get(key) if key else None
        if route is None:
            route, target = self._resolve(request.url, key)
        elif route.prefix is not None:
            target = route.prefix + target
        retry = request.retry
        replay_safe = retry is not False and (retry is True or request.method in IDEMPOTENT_METHODS)
        total = request.timeout.total
        watch = self._watchdog.arm(total) if total is not None else None
        attempt = 0
        while True:
            failure: Optional[_Failure] = None
            try:
                response = self._exchange(request, route, target, replay_safe, watch)
            except _Failure as caught:
                failure = caught
            except BaseException:
                if watch is not None:
                    watch.watchdog.cancel(watch)
                raise
            if failure is not None:
                # Handled out here, not in the except clause: the error raised below then
                # carries its cause and no "during handling of _Failure" context.
                wait = self._failure_wait(request, failure, attempt, replay_safe, watch)
                if wait < 0:
                    if watch is not None:
                        watch.watchdog.cancel(watch)
                    raise _chained(failure.error, failure.cause)
                self._wait(request, wait, attempt, f"{type(failure.cause).__name__}: {failure.cause}", watch)
                attempt += 1
                continue
            if response.status_code in RETRY_STATUSES and replay_safe and attempt < self.max_retries:
                wait = self._status_wait(request, response, attempt, watch)
                if wait >= 0:
                    response._finish(response._drain(), cancel=False)
                    self._wait(request, wait, attempt, f"status {response.status_code}", watch)
                    attempt += 1
                    continue
            response.retries = attempt
            return response

    def _exchange(
        self, request: Request, route: _Route, target: str, replay_safe: bool, watch: Optional[_Watch]
    ) -> Response:
        """One attempt: a connection, the request out, the response head in."""
        pool = route.pool
        timeout = request.timeout
        connection = pool.acquire(not (replay_safe and request.replayable))
        reused = connection is not None
        while True:
            if connection is None:
                connection = self._connect(request, route, watch)
            else:
                sock = connection.sock
                if sock is not None:  # pragma: no branch - acquire() returns open connections only
                    if sock.gettimeout() != timeout.read:
                        sock.settimeout(timeout.read)
                    if watch is not None:
                        watch.watchdog.attach(watch, sock)
            stage = STAGE_SEND
            body_started = False
            local_error: Optional[Exception] = None
            try:
                connection.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
                connection.putheader("Host", route.host_header)
                if route.proxy_authorization is not None:
                    connection.putheader("Proxy-Authorization", route.proxy_authorization)
                for name, value in request.headers.items():
                    connection.putheader(name, value)
                body = request.body
                if body is None:
                    if request.method in BODY_METHODS and not _has_length(request.headers):
                        connection.putheader("Content-Length", "0")  # RFC 9110 section 8.6
                    connection.endheaders()
                elif isinstance(body, bytes):
                    if not _has_length(request.headers):
                        connection.putheader("Content-Length", str(len(body)))
                    connection.endheaders(body)
                else:
                    chunked = not _has_length(request.headers)
                    if chunked:
                        connection.putheader("Transfer-Encoding", "chunked")
                    connection.endheaders()
                    body_started = True
                    local_error = _send_body(connection, body, chunked)
                if local_error is None:
                    stage = STAGE_RESPONSE
                    raw = connection.getresponse()
            except BaseException as exc:
                connection.close()
                if not isinstance(exc, Exception):
                    raise
                passed = watch is not None and (watch.fired or time.monotonic() >= watch.deadline)
                if reused and replay_safe and not body_started and not passed and _is_dropped_connection(exc):
                    # The server closed the kept-alive connection as we reused it.
                    connection = None
                    reused = False
                    continue
                error = map_exception(
                    exc, request.method, request.url, body_started=body_started, stage=stage,
                    timeout=timeout, deadline_passed=passed,
                )
                retryable = not passed and _is_retryable_error(exc, stage)
                raise _Failure(error, exc, retryable, body_started)
            if local_error is not None:
                # The caller's body iterator failed (a file that went away): its error, as is.
                connection.close()
                raise local_error
            if watch is not None and watch.fired:
                # The deadline cut the head short: http.client takes an end of stream
                # inside the header block for its end, so what parsed cannot be trusted.
                raw.close()
                connection.close()
                error = _deadline_error(request.method, request.url, timeout, None)
                raise _Failure(error, None, False, body_started)
            return Response(request, raw, connection, pool, watch)

    def _failure_wait(
        self, request: Request, failure: _Failure, attempt: int, replay_safe: bool, watch: Optional[_Watch]
    ) -> float:
        """Seconds to wait before retrying after ``failure``; negative: do not retry."""
        if not replay_safe or not failure.retryable or attempt >= self.max_retries:
            return -1.0
        if failure.body_started and not request.replayable:
            return -1.0
        wait = self._backoff(attempt)
        if watch is not None and time.monotonic() + wait >= watch.deadline:
            return -1.0
        return wait

    def _status_wait(
        self, request: Request, response: Response, attempt: int, watch: Optional[_Watch]
    ) -> float:
        """Seconds to wait before retrying after a 429/5xx answer; negative: return it."""
        if not request.replayable:
            return -1.0
        headers = response.headers
        if response.status_code == 429:
            wait = retry_after_seconds(headers)  # Retry-After, else x-ratelimit-reset
        else:
            # A rate-limit reset says when the quota refills, not when a 5xx server recovers.
            value = headers.get_value("retry-after")
            wait = retry_after_seconds({"Retry-After": value}) if value is not None else None
        if wait is None:
            wait = self._backoff(attempt)
        elif wait > self.max_backoff:
            # Not worth blocking the caller for: the error carries retry_after instead.
            return -1.0
        if watch is not None and time.monotonic() + wait >= watch.deadline:
            return -1.0
        return wait

    def _backoff(self, attempt: int) -> float:
        base = min(self.max_backoff, self.backoff_factor * (1 << min(attempt, 62)))
        random = self._random
        if random is None:
            import random as random_module

            random = random_module.random
            self._random = random
        return base * (0.5 + random() / 2)

    def _wait(self, request: Request, wait: float, attempt: int, why: str, watch: Optional[_Watch]) -> None:
        _log.debug(
            "%s %s: %s; retry %d of %d in %.2f s",
            request.method,
            redact_url(request.url),
            why,
            attempt + 1,
            self.max_retries,
            wait,
        )
        try:
            if wait > 0:
                self._sleep(wait)
        except BaseException:
            if watch is not None:
                watch.watchdog.cancel(watch)
            raise

    def close(self) -> None:
        """Close every pooled connection (the transport stays usable: it reconnects)."""
        with self._lock:
            pools = list(self._pools.values())
            self._pools = {}
            self._routes = {}
        for pool in pools:
            pool.close()
        self._watchdog.close()


def _has_length(headers: Dict[str, str]) -> bool:
    if "Content-Length" in headers or "Transfer-Encoding" in headers:
        return True
    return any(name.lower() in ("content-length", "transfer-encoding") for name in headers)


def _send_body(
    connection: http.client.HTTPConnection, body: Iterable[bytes], chunked: bool
) -> Optional[Exception]:
    """Send a streamed body; an error of the caller's iterator is returned, not raised.

    That error is the caller's (a file that went away), so it must reach them as it is:
    never mapped to a transport error, never retried.
    """
    iterator = iter(body)
    while True:
        try:
            chunk = next(iterator, None)
        except Exception as exc:
            return exc
        if chunk is None:
            break
        if not chunk:
            continue
        if chunked:
            connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        else:
            connection.send(chunk)
    if chunked:
        connection.send(b"0\r\n\r\n")
    return None


def _open_tunnel(sock: socket.socket, route: _Route, proxy: Proxy) -> None:
    """Ask the proxy for a tunnel to the route's origin (RFC 9110 section 9.3.6)."""
    host = route.host if ":" not in route.host else f"[{route.host}]"
    try:
        host.encode("ascii")
    except UnicodeEncodeError:
        host = host.encode("idna").decode("ascii")
    authority = f"{host}:{route.port}"
    head = f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n"
    if proxy.authorization is not None:
        head += f"Proxy-Authorization: {proxy.authorization}\r\n"
    sock.sendall((head + "\r\n").encode("latin-1"))
    reader = sock.makefile("rb")
    try:
        line = reader.readline(MAX_LINE + 1)
        if not line:
            raise http.client.RemoteDisconnected("the proxy closed the connection without answering CONNECT")
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("proxy status line")
        parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise OSError(f"Tunnel connection failed: the proxy answered {line[:100]!r}")
        status = int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        for _ in range(MAX_HEADERS + 1):
            line = reader.readline(MAX_LINE + 1)
            if len(line) > MAX_LINE:
                raise http.client.LineTooLong("proxy header line")
            if line in (b"\r\n", b"\n", b""):
                break
        else:
            raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers from the proxy")
        if not 200 <= status < 300:
            raise OSError(f"Tunnel connection failed: {status} {reason}".rstrip())
    finally:
        reader.close()  # the socket stays open: it carries the tunnel


def make_ssl_context(verify: Union[bool, str]) -> ssl.SSLContext:
    """A client TLS context: the system store, a CA bundle path, or (``False``) no verification."""
    import ssl

    if verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif isinstance(verify, str):
        if os.path.isdir(verify):
            context = ssl.create_default_context(capath=verify)
        else:
            context = ssl.create_default_context(cafile=verify)
    else:
        context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    return context
