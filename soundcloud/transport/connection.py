"""Opening a connection and writing to it: routes, TCP, the proxy tunnel, TLS, bodies.

A :class:`_Route` says how to reach one ``scheme://host:port`` (its pool, Host header and
proxy). :func:`open_connection` makes the socket itself rather than letting http.client do
it, so that the total deadline's watchdog holds it from the first byte; ``Timeout.connect``
bounds each step (the TCP connect, the proxy's CONNECT answer, the TLS handshake) and the
TCP connect waits at most the time left before the deadline. Streamed request bodies go
out through :func:`_send_body`, chunked when their length is not announced.
"""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING, Callable, Dict, Final, Iterable, Optional, Tuple


from .._models import Request
from .eyeballs import connect_tcp
from .exceptions import STAGE_CONNECT, _deadline_error, _Failure, map_exception
from .pool import ConnectionPool
from .proxy import Proxy
from .watchdog import _Watch

if TYPE_CHECKING:
    import http.client
    import ssl

__all__ = ["_Route", "_check_header", "_has_length", "_refusal", "_send_body", "_split_url", "open_connection"]

# RFC 9110 section 5.6.2: the characters of a token (a header name).
TOKEN_CHARACTERS: Final = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


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


def open_connection(
    request: Request,
    route: _Route,
    watch: Optional[_Watch],
    tls_context: Callable[[], ssl.SSLContext],
) -> http.client.HTTPConnection:
    """A new connection: TCP, then the proxy's CONNECT tunnel and TLS as the route needs.

    The socket is opened here rather than by http.client so that the total deadline's
    watchdog holds it from the first byte: a proxy or TLS server that drips its answer
    is cut off too. (It also avoids http.client's tunnel code, which before Python 3.11
    leaks the socket when the proxy refuses.) ``tls_context()`` gives the TLS context,
    asked for only for https. Failures are raised as :class:`_Failure`.
    """
    timeout = request.timeout
    connect_timeout = timeout.connect
    if watch is not None:
        left = watch.deadline - time.monotonic()
        if left <= 0:
            error: Exception = _deadline_error(request.method, request.url, timeout, None)
            raise _Failure(error, None, False, False, STAGE_CONNECT)
        connect_timeout = min(connect_timeout, left)
    proxy = route.proxy
    context: Optional[ssl.SSLContext] = None
    if route.scheme == "https":
        try:
            context = tls_context()
        except Exception as exc:  # an unreadable CA bundle: not worth a retry
            error = map_exception(exc, request.method, request.url, stage=STAGE_CONNECT, timeout=timeout)
            raise _Failure(error, exc, False, False, STAGE_CONNECT)
    sock: Optional[socket.socket] = None
    try:
        if proxy is not None:
            sock = connect_tcp(proxy.host, proxy.port, connect_timeout)
        else:
            sock = connect_tcp(route.host, route.port, connect_timeout)
        # Small requests go out at once: no Nagle delay waiting for the peer's ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if watch is not None:
            watch.watchdog.attach(watch, sock)
        if context is not None:
            if proxy is not None:
                _open_tunnel(sock, route, proxy)
            # The origin's last session, if any: the server may resume it (see the tls module).
            session = route.pool.tls_session(context)
            tls = context.wrap_socket(
                sock, server_hostname=route.host, do_handshake_on_connect=False, session=session
            )
            sock = tls
            if watch is not None:
                watch.watchdog.attach(watch, tls)
            tls.do_handshake()
            route.pool.handshake_done(context, tls)
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
        # Whether the failure is worth a retry is the retry policy's to judge.
        raise _Failure(error, exc, not passed, False, STAGE_CONNECT)
    # http.client is imported on first use, with the reader built on it: it loads ssl and
    # the email package, the largest part of `import soundcloud` otherwise
    # (tests/unit/test_layout.py pins that neither is loaded).
    from .reader import StrictConnection

    connection = StrictConnection(route.host, route.port)
    # Never let http.client reconnect on its own (it would skip the proxy, TLS and the
    # timeouts above): a closed connection fails, and the pool drops it.
    connection.auto_open = 0
    connection.sock = sock
    return connection


def _header_problem(name: str, value: str) -> str:
    """What makes a header unsendable, naming it but never quoting its value; "" if nothing."""
    if not name or not all(character in TOKEN_CHARACTERS for character in name):
        return "a header name is not an HTTP token (RFC 9110 section 5.1)"
    if "\r" in value or "\n" in value:
        return f"the value of header {name!r} has a line break"
    if "\x00" in value:
        return f"the value of header {name!r} has a NUL"
    if any(ord(character) > 255 for character in value):
        return f"the value of header {name!r} has a character outside Latin-1"
    if any((character < " " and character != "\t") or character == "\x7f" for character in value):
        return f"the value of header {name!r} has a control character"
    return ""


def _check_header(name: str, value: str) -> None:
    """Raise ValueError for a header that cannot be sent (RFC 9110 section 5.5: no CR, LF or
    NUL in a value). Called for names and values that are not plainly printable only."""
    problem = _header_problem(name, value)
    if problem:
        raise ValueError(problem)


def _refusal(request: Request, target: str) -> str:
    """What in ``request`` could not be written, said without quoting any of it.

    Called once writing failed with a ValueError. http.client's messages quote the request
    target and header values, which may hold secrets (``?access_token=``, ``OAuth <token>``).
    """
    method = request.method
    if not method or not all(character in TOKEN_CHARACTERS for character in method):
        return "the method is not an HTTP token"
    if any(character <= " " or character == "\x7f" for character in target):
        return "the URL has a space or a control character (percent-encode it)"
    if not target.isascii():
        return "the URL has a character outside ASCII (percent-encode it)"
    for name, value in request.headers.items():
        problem = _header_problem(name, value)
        if problem:
            return problem
    return "http.client could not write the request line or a header"


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
    import http.client  # see open_connection

    from .reader import StrictResponse

    # The answer's head is read like any other: strictly, 1xx skipped, and as a whole
    # within the socket's timeout (the connect timeout here), however the proxy drips it.
    answer = StrictResponse(sock, method="CONNECT")
    try:
        try:
            answer.begin()
        except http.client.RemoteDisconnected:
            raise http.client.RemoteDisconnected("the proxy closed the connection without answering CONNECT") from None
        except http.client.BadStatusLine as exc:
            raise OSError(f"Tunnel connection failed: the proxy answered {str(exc)[:100]!r}") from None
        if not 200 <= answer.status < 300:
            raise OSError(f"Tunnel connection failed: {answer.status} {answer.reason}".rstrip())
    finally:
        answer.close()  # its reader only: the socket stays open, it carries the tunnel
