"""An HTTPS test server.

- :class:`TLSServer`: HTTPS (the stdlib ``http.server`` handler over ``ssl``) with a
  certificate authority made at test time by trustme; a small JSON API and redirects.
  It can be held to one TLS version, can refuse to resume sessions, and records each
  handshake (:class:`Handshake`: the version and whether the client's session resumed).
"""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import ssl
import tempfile
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple
from urllib.parse import parse_qs, urlsplit

from .base import SocketServer
from .wire import (
    IO_TIMEOUT,
    LOOPBACK,
    HeadersLike,
    Pairs,
    WireRequest,
    _BadMessage,
    _header_dict,
    _json_bytes,
    _pairs,
    _read_body,
    make_client_context,
)

if TYPE_CHECKING:
    import trustme

__all__ = ["Handshake", "TLSServer"]

Route = Callable[[WireRequest], Tuple[int, HeadersLike, bytes]]


class Handshake(NamedTuple):
    """A completed server-side handshake: which connection, which TLS version, resumed or full."""

    connection: int
    version: str  # "TLSv1.2", "TLSv1.3"
    resumed: bool  # SSLSocket.session_reused on the accepted socket


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
    that take precedence. Keep-alive (HTTP/1.1) is supported. ``handshakes`` lists each
    completed handshake (:class:`Handshake`: its connection, TLS version, resumed or full).
    """

    kind = "tls"

    def __init__(
        self,
        *,
        ca: Optional["trustme.CA"] = None,
        hostnames: Sequence[str] = ("localhost", LOOPBACK),
        routes: Optional[Mapping[str, Route]] = None,
        version: Optional[ssl.TLSVersion] = None,
        resumption: bool = True,
        keys_of: Optional["TLSServer"] = None,
    ) -> None:
        """``version`` holds the server to one TLS version (default: what both sides allow).

        ``resumption=False``: a server that never resumes a session (no tickets, and each
        connection handshakes with a context of its own, so no session cache either).
        ``keys_of=other``: share ``other``'s CA, certificate and TLS context, hence its
        session cache and ticket keys: a session of ``other`` would resume here too.
        """
        super().__init__()
        import trustme  # test-only dependency, imported late so conftest loads without it

        self.routes: Dict[str, Route] = dict(routes or {})
        #: TLS handshakes that failed on the server side (e.g. the client rejected the cert).
        self.handshake_errors: List[BaseException] = []
        self._handshakes: List[Handshake] = []
        self._version = version
        self._resumption = resumption
        self._directory = tempfile.mkdtemp(prefix="soundcloud-tests-tls-")
        self.ca_path = os.path.join(self._directory, "ca.pem")
        self.ca: trustme.CA
        self.hostnames: Tuple[str, ...]
        self.cert: trustme.LeafCert
        self._context: ssl.SSLContext
        if keys_of is not None:
            if ca is not None or not resumption or version is not None:
                raise ValueError("keys_of= shares the other server's CA and TLS settings too")
            self.ca = keys_of.ca
            self.hostnames = keys_of.hostnames
            self.cert = keys_of.cert
            self._version = keys_of._version
            with keys_of._lock:
                self._context = keys_of._context  # its TLS context as it is now
        else:
            self.ca = ca if ca is not None else trustme.CA()
            self.hostnames = tuple(hostnames)
            self.cert = self.ca.issue_cert(*self.hostnames)
            self._context = self._new_context()
        self.ca.cert_pem.write_to_path(self.ca_path)

    def _new_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.cert.configure_cert(context)
        context.set_alpn_protocols(["http/1.1"])
        if self._version is not None:
            context.minimum_version = context.maximum_version = self._version
        if not self._resumption:
            context.options |= ssl.OP_NO_TICKET  # TLS 1.2: no tickets, session IDs only
            context.num_tickets = 0  # TLS 1.3: no tickets at all
        return context

    @property
    def handshakes(self) -> List[Handshake]:
        """Completed handshakes, in the order they completed."""
        with self._lock:
            return list(self._handshakes)

    def forget_sessions(self) -> None:
        """Start over with a new TLS context: sessions and tickets issued so far no longer resume
        (as after a restart, or a rotation of the ticket keys)."""
        context = self._new_context()
        with self._lock:
            self._context = context

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
        if self._resumption:
            with self._lock:
                context = self._context
        else:
            context = self._new_context()  # an empty session cache every time
        tls = context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        # wrap_socket detached ``conn``: from here on the connection is the TLS socket.
        self._upgrade(number, tls)
        try:
            tls.do_handshake()
        except OSError as exc:  # ssl.SSLError is an OSError
            with self._lock:
                self.handshake_errors.append(exc)
            return
        with self._lock:
            self._handshakes.append(Handshake(number, tls.version() or "", tls.session_reused is True))
        _TLSHandler(tls, (LOOPBACK, 0), self, number)
