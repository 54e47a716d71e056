"""A forward proxy for the test suite, loopback only.

- :class:`ForwardProxy`: a forward proxy for absolute-form HTTP requests and ``CONNECT``
  tunnels. It only ever connects to loopback targets and answers 403 to anything else, so
  no test traffic can leave the machine. It records each request line it sees as a
  :class:`ProxyRequest`; ``PROXY_CREDENTIALS`` are those the ``auth_proxy`` fixture requires.
"""

from __future__ import annotations

import base64
import ipaddress
import selectors
import socket
from typing import Dict, List, Mapping, NamedTuple, Optional, Tuple
from urllib.parse import quote, urlsplit

from .base import SocketServer
from .wire import (
    CHUNK,
    IO_TIMEOUT,
    LOOPBACK,
    Pairs,
    _BadMessage,
    _close,
    _head_bytes,
    _header_dict,
    _json_bytes,
    _read_body,
    _read_head,
    _Reader,
    _simple_response,
    _tokens,
)

__all__ = ["ForwardProxy", "PROXY_CREDENTIALS", "ProxyRequest"]


class ProxyRequest(NamedTuple):
    """One request line a :class:`ForwardProxy` saw (CONNECT or absolute-form)."""

    method: str
    target: str
    headers: Dict[str, str]  # lower-cased names, Proxy-Authorization included


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
