"""The HTTP transport: persistent ``http.client`` connections, proxies and TLS.

The boundary is narrow: :meth:`HTTPTransport.handle_request` takes a :class:`Request`
and returns a :class:`Response` whose body is still on the wire. Redirects and
authentication belong to the client; sockets, keep-alive, proxies and TLS belong here.
Every ``OSError``, ``ssl.SSLError`` and ``http.client`` exception is translated into the
package's errors in :func:`map_exception`, and nowhere else.
"""

from __future__ import annotations

import base64
import builtins
import http.client
import os
import select
import socket
import threading
from typing import (
    TYPE_CHECKING,
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

from .errors import (
    ConnectError,
    ProtocolError,
    ResponseTooLargeError,
    SoundCloudError,
    TimeoutError,
    TransportError,
    UploadInterruptedError,
)
from .resources import Headers, RawStream

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
IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
# Idle connections kept per origin; more may be open at once, the extra ones are closed on release.
DEFAULT_POOL_SIZE: Final = 10
READ_CHUNK: Final = 64 * 1024

Body = Union[None, bytes, Iterable[bytes]]


class Timeout:
    """Connect and read timeouts in seconds, and an optional total deadline per request.

    ``Timeout(10)`` sets both connect and read to 10 s; ``Timeout(connect=3, read=30, total=60)``
    sets them apart.
    """

    __slots__ = ("connect", "read", "total")

    def __init__(
        self,
        timeout: Optional[float] = None,
        *,
        connect: Optional[float] = None,
        read: Optional[float] = None,
        total: Optional[float] = None,
    ) -> None:
        default = 30.0 if timeout is None else float(timeout)
        self.connect = float(connect) if connect is not None else (
            min(default, 10.0) if timeout is None else default
        )
        self.read = float(read) if read is not None else default
        self.total = float(total) if total is not None else None
        for name, value in (("connect", self.connect), ("read", self.read), ("total", self.total)):
            if value is not None and not value > 0:
                raise ValueError(f"timeout {name} must be a positive number of seconds, not {value!r}")

    def __repr__(self) -> str:
        return f"Timeout(connect={self.connect}, read={self.read}, total={self.total})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Timeout):
            return NotImplemented
        return (self.connect, self.read, self.total) == (other.connect, other.read, other.total)


DEFAULT_TIMEOUT: Final = Timeout()


def as_timeout(value: Union[None, float, Timeout]) -> Timeout:
    """Accept seconds (int or float) or a Timeout."""
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, Timeout):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"timeout must be a number of seconds or a Timeout, not {value!r}")
    return Timeout(value)


class Request:
    """One HTTP request as the transport sends it."""

    __slots__ = ("method", "url", "headers", "body", "timeout", "replayable", "retry")

    def __init__(
        self,
        method: str,
        url: str,
        headers: Dict[str, str],
        body: Body = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        replayable: bool = True,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        # False for streamed bodies: once iteration starts they cannot be sent again.
        self.replayable = replayable
        # None: retry idempotent methods only; True: retry this request even if it is a POST;
        # False: never retry it.
        self.retry: Optional[bool] = None


class Transport:
    """What a client needs from a transport (subclass it to inject another one)."""

    def handle_request(self, request: Request) -> Response:
        """Send ``request`` and return the response with its body unread."""
        raise NotImplementedError

    def close(self) -> None:
        """Release every connection."""


class Response(RawStream):
    """A response whose headers have arrived; the body is read on demand.

    Reading the body to its end returns the connection to the pool; closing it early
    closes the connection.
    """

    def __init__(
        self,
        request: Request,
        raw: http.client.HTTPResponse,
        connection: Optional[http.client.HTTPConnection],
        pool: Optional[ConnectionPool],
    ) -> None:
        self.request = request
        self.url = request.url
        self.status_code: int = raw.status
        self.reason: str = raw.reason
        self.headers = Headers(raw.getheaders())
        self._raw = raw
        self._connection = connection
        self._pool = pool

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes of the body (all of it when negative)."""
        raw = self._raw
        try:
            data = raw.read() if size < 0 else raw.read(size)
        except Exception as exc:
            self._discard()
            raise map_exception(exc, self.request.method, self.url) from exc
        if raw.isclosed():
            self._release()
        return data

    def read_all(self, limit: int = DEFAULT_MAX_BODY_SIZE) -> bytes:
        """The whole body, refusing one larger than ``limit`` bytes before reading it."""
        length = self._raw.length
        if length is not None and length > limit:
            self._discard()
            raise ResponseTooLargeError(
                f"{self.request.method} {_safe(self.url)}: the response body is {length} bytes,"
                f" over the limit of {limit} (raise max_body_size to accept it)"
            )
        if length is not None:
            return self.read()
        chunks: List[bytes] = []
        received = 0
        while True:
            chunk = self.read(READ_CHUNK)
            if not chunk:
                break
            received += len(chunk)
            if received > limit:
                self._discard()
                raise ResponseTooLargeError(
                    f"{self.request.method} {_safe(self.url)}: the response body is over the limit"
                    f" of {limit} bytes (raise max_body_size to accept it)"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        """Stop reading: the connection is reused if the body was complete, else closed."""
        if self._raw.isclosed():
            self._release()
        else:
            self._discard()

    def _release(self) -> None:
        connection = self._connection
        if connection is not None:
            self._connection = None
            if self._pool is not None and not self._raw.will_close:
                self._pool.release(connection)
            else:
                connection.close()

    def _discard(self) -> None:
        connection = self._connection
        self._raw.close()
        if connection is not None:
            self._connection = None
            connection.close()


def _safe(url: str) -> str:
    from .errors import redact_url

    return redact_url(url)


def map_exception(exc: BaseException, method: str, url: str, *, body_started: bool = False) -> SoundCloudError:
    """Translate a socket, TLS or http.client failure into the package's error for it."""
    if isinstance(exc, SoundCloudError):
        return exc
    if isinstance(exc, (socket.timeout, builtins.TimeoutError)):
        return TimeoutError("timed out waiting for the server", method=method, url=url, cause=exc)
    if body_started:
        return UploadInterruptedError(
            "the connection failed while the request body was being sent; it was not retried"
            " because the server may have received part of it",
            method=method,
            url=url,
            cause=exc,
        )
    if isinstance(exc, (http.client.LineTooLong,)) or (
        isinstance(exc, http.client.HTTPException) and "more than" in str(exc) and "headers" in str(exc)
    ):
        return ResponseTooLargeError(f"{method} {_safe(url)}: the response headers are too large ({exc})")
    if isinstance(exc, http.client.IncompleteRead):
        return ProtocolError(
            f"the connection closed after {len(exc.partial)} bytes of the body"
            + (f", {exc.expected} more were expected" if exc.expected is not None else ""),
            method=method,
            url=url,
            cause=exc,
        )
    if isinstance(exc, http.client.RemoteDisconnected):
        return ProtocolError("the server closed the connection without answering", method=method, url=url, cause=exc)
    if isinstance(exc, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return ProtocolError("the connection was reset", method=method, url=url, cause=exc)
    if isinstance(exc, http.client.HTTPException):
        return ProtocolError("the server sent a malformed HTTP response", method=method, url=url, cause=exc)
    if isinstance(exc, ConnectionRefusedError):
        return ConnectError("the connection was refused", method=method, url=url, cause=exc)
    if isinstance(exc, socket.gaierror):
        return ConnectError("the host name could not be resolved", method=method, url=url, cause=exc)
    import ssl

    if isinstance(exc, ssl.SSLCertVerificationError):
        return ConnectError(
            "the server's TLS certificate could not be verified (pass verify_ssl=<CA bundle path>"
            " for a private CA)",
            method=method,
            url=url,
            cause=exc,
        )
    if isinstance(exc, ssl.SSLError):
        return ConnectError("the TLS handshake failed", method=method, url=url, cause=exc)
    if isinstance(exc, OSError):
        return ConnectError("the connection failed", method=method, url=url, cause=exc)
    return TransportError("the request failed", method=method, url=url, cause=exc)


class Origin:
    """Where a connection goes: the target origin and, when proxied, the proxy."""

    __slots__ = ("scheme", "host", "port", "proxy", "key")

    def __init__(self, scheme: str, host: str, port: int, proxy: Optional[Proxy]) -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.proxy = proxy
        self.key: Tuple[str, str, int, str] = (scheme, host, port, proxy.url if proxy is not None else "")


class Proxy:
    """A forward proxy: plain HTTP goes to it in absolute form, HTTPS through a CONNECT tunnel."""

    __slots__ = ("url", "host", "port", "authorization")

    def __init__(self, url: str) -> None:
        if "://" not in url:
            url = "http://" + url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"unsupported proxy scheme {parts.scheme!r} in {url!r}: use an http:// proxy")
        if not parts.hostname:
            raise ValueError(f"the proxy URL {url!r} has no host")
        self.host = parts.hostname
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"the proxy URL {url!r} has an invalid port") from None
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


class ConnectionPool:
    """Idle keep-alive connections to one origin, shared by threads."""

    def __init__(self, origin: Origin, transport: HTTPTransport, maxsize: int) -> None:
        self.origin = origin
        self._transport = transport
        self._idle: List[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._maxsize = maxsize
        self._closed = False

    def acquire(self) -> Optional[http.client.HTTPConnection]:
        """An idle connection that still looks alive, or None."""
        while True:
            with self._lock:
                if not self._idle:
                    return None
                connection = self._idle.pop()
            if _is_alive(connection):
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
    # something unasked): either way it cannot carry a request. This is what lets a POST
    # avoid a dead connection without ever being replayed.
    sock = connection.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


class HTTPTransport(Transport):
    """Sends requests over pooled, persistent ``http.client`` connections.

    ``proxies`` maps 'http'/'https'/'all' to proxy URLs (``'host:port'`` works); None reads
    ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` from the environment. ``verify`` is True (system
    CA store), False (no verification: unsafe) or the path of a CA bundle or directory.
    """

    def __init__(
        self,
        *,
        proxies: Optional[Mapping[str, str]] = None,
        verify: Union[bool, str] = True,
        pool_size: int = DEFAULT_POOL_SIZE,
        ssl_context: Optional[ssl.SSLContext] = None,
        max_retries: int = 3,
    ) -> None:
        self.max_retries = max_retries
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
        self._lock = threading.Lock()
        self._pool_size = pool_size

    # -- connections -------------------------------------------------------------------

    def _context(self) -> ssl.SSLContext:
        context = self._ssl_context
        if context is None:
            with self._lock:
                context = self._ssl_context
                if context is None:
                    context = make_ssl_context(self._verify)
                    self._ssl_context = context
        return context

    def _origin(self, scheme: str, host: str, port: int) -> Origin:
        proxy: Optional[Proxy] = None
        if self._proxies and not _bypassed(host, self._no_proxy):
            proxy = self._proxies.get(scheme) or self._proxies.get("all")
        return Origin(scheme, host, port, proxy)

    def _pool(self, origin: Origin) -> ConnectionPool:
        pool = self._pools.get(origin.key)
        if pool is None:
            with self._lock:
                pool = self._pools.get(origin.key)
                if pool is None:
                    pool = ConnectionPool(origin, self, self._pool_size)
                    self._pools[origin.key] = pool
        return pool

    def _new_connection(self, origin: Origin, timeout: Timeout) -> http.client.HTTPConnection:
        proxy = origin.proxy
        connection: http.client.HTTPConnection
        if origin.scheme == "https":
            context = self._context()
            if proxy is not None:
                connection = http.client.HTTPSConnection(
                    proxy.host, proxy.port, timeout=timeout.connect, context=context
                )
                tunnel_headers: Dict[str, str] = {}
                if proxy.authorization is not None:
                    tunnel_headers["Proxy-Authorization"] = proxy.authorization
                connection.set_tunnel(origin.host, origin.port, headers=tunnel_headers)
            else:
                connection = http.client.HTTPSConnection(
                    origin.host, origin.port, timeout=timeout.connect, context=context
                )
        elif proxy is not None:
            connection = http.client.HTTPConnection(proxy.host, proxy.port, timeout=timeout.connect)
        else:
            connection = http.client.HTTPConnection(origin.host, origin.port, timeout=timeout.connect)
        connection.connect()
        sock = connection.sock
        if sock is not None:
            sock.settimeout(timeout.read)
            # Small requests go out in one segment; no Nagle delay on the request line.
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # pragma: no cover - not every socket family supports it
                pass
        return connection

    # -- requests ----------------------------------------------------------------------

    def handle_request(self, request: Request) -> Response:
        """Send ``request`` on a pooled connection and return once the headers arrived.

        A reused connection that turns out dead is replaced and the request sent once more,
        but only when that cannot duplicate it (idempotent method, replayable body).
        """
        parts = urlsplit(request.url)
        scheme = parts.scheme
        if scheme not in ("http", "https"):
            raise ValueError(f"cannot send {request.method} to {_safe(request.url)}: only http and https URLs")
        host = parts.hostname
        if not host:
            raise ValueError(f"the URL {_safe(request.url)} has no host")
        port = parts.port or (443 if scheme == "https" else 80)
        origin = self._origin(scheme, host, port)
        pool = self._pool(origin)
        if origin.proxy is not None and scheme == "http":
            target = request.url.split("#", 1)[0]
        else:
            target = parts.path or "/"
            if parts.query:
                target += "?" + parts.query
        host_header = host if ":" not in host else f"[{host}]"
        if parts.port is not None:
            host_header += f":{parts.port}"

        connection = pool.acquire()
        reused = connection is not None
        while True:
            if connection is None:
                try:
                    connection = self._new_connection(origin, request.timeout)
                except Exception as exc:
                    raise map_exception(exc, request.method, request.url) from exc
            else:
                sock = connection.sock
                if sock is not None:
                    sock.settimeout(request.timeout.read)
            body_started = False
            try:
                connection.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
                connection.putheader("Host", host_header)
                if origin.proxy is not None and scheme == "http" and origin.proxy.authorization:
                    connection.putheader("Proxy-Authorization", origin.proxy.authorization)
                for name, value in request.headers.items():
                    connection.putheader(name, value)
                body = request.body
                if body is None:
                    connection.endheaders()
                elif isinstance(body, bytes):
                    connection.endheaders(body)
                else:
                    connection.endheaders()
                    body_started = True
                    for chunk in body:
                        connection.send(chunk)
                raw = connection.getresponse()
            except Exception as exc:
                connection.close()
                if (
                    reused
                    and not body_started
                    and request.replayable
                    and request.method in IDEMPOTENT_METHODS
                    and _is_stale_connection_error(exc)
                ):
                    # The server closed a kept-alive connection as we reused it (RFC 9112 9.3.1).
                    connection = None
                    reused = False
                    continue
                raise map_exception(exc, request.method, request.url, body_started=body_started) from exc
            return Response(request, raw, connection, pool)

    def close(self) -> None:
        """Close every pooled connection."""
        with self._lock:
            pools = list(self._pools.values())
            self._pools = {}
        for pool in pools:
            pool.close()


def _is_stale_connection_error(exc: BaseException) -> bool:
    return isinstance(
        exc,
        (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError),
    ) or (isinstance(exc, http.client.BadStatusLine) and not str(exc).strip("'\""))


def make_ssl_context(verify: Union[bool, str]) -> ssl.SSLContext:
    """A client TLS context: the system store, a CA bundle path, or (``False``) no verification."""
    import ssl

    if verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if isinstance(verify, str):
        if os.path.isdir(verify):
            return ssl.create_default_context(capath=verify)
        return ssl.create_default_context(cafile=verify)
    return ssl.create_default_context()
