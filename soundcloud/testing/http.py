"""HTTP plumbing shared by the three origins: servers, request records, answers, routing.

Each origin is a ``_Server`` (a ``ThreadingHTTPServer`` on an ephemeral port) whose
``_RequestHandler`` reads one request of any method (Content-Length or chunked body; a
cut-short body is never acted on; what http.server refuses itself - a malformed request
line, a method that is not a token, oversized headers - answers SoundCloud error JSON
too, never its HTML page), records it as a ``RecordedRequest``, hands it to the origin's
``_App`` and writes the ``_Response`` back over HTTP/1.1 keep-alive. The ``drop`` and
``truncate`` actions break the connection on purpose, for the test hooks.

``_App.dispatch`` matches the path against the origin's route table (``_routes``:
``{name}`` is one path segment), answers 405 with ``Allow`` for a known path with
another method and 404 for an unknown one, and runs the handler under the store lock
unless the route is ``BLOCKING``. A handler answers by returning a ``_Response`` or by
raising ``_Fail``. The access levels (``PUBLIC``, ``ME``, ``WRITE``, ``NONE``,
``BLOCKING``) are enforced by the API origin; the auth and CDN origins use ``NONE``.

Errors default to SoundCloud error JSON (``_api_error``: ``code``, ``message``,
``link``, ``status``, ``errors``, ``error``, with
``Content-Type: application/json; charset=utf-8``); statuses are written the way
SoundCloud writes them (``"404 - Not Found"``).

``_Events`` coordinates ``/_test/stall``: held requests wait until a test releases them
or ``stop()`` does, never longer than ``STALL_LIMIT``; ``_Server.cut_connections`` lets
``stop()`` end open keep-alive connections at once. The servers never log anything.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
import traceback
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import (
    Any,
    Callable,
    Dict,
    Final,
    FrozenSet,
    Iterable,
    List,
    Optional,
    Pattern,
    Sequence,
    Tuple,
)
from urllib.parse import parse_qs, unquote, urlsplit

from .store import _Caller, _Store

__all__ = [
    "BLOCKING",
    "ERROR_LINK",
    "ME",
    "NONE",
    "PUBLIC",
    "RecordedRequest",
    "STALL_LIMIT",
    "WRITE",
    "_App",
    "_Call",
    "_Events",
    "_Fail",
    "_Handler",
    "_Response",
    "_Route",
    "_Server",
    "_api_error",
    "_json",
    "_media_type",
    "_ok",
    "_redirect",
    "_routes",
    "_status_line",
]

ERROR_LINK: Final = "https://developers.soundcloud.com/docs/api/explorer/open-api"
STALL_LIMIT: Final = 60.0  # /_test/stall never holds a thread longer than this

# RFC 9110 5.6.2: tchar, the characters of a token (a method is one).
_TOKEN_RE: Final[Pattern[str]] = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")

# What http.server refuses before the request reaches an origin (RequestHandler.send_error).
_REFUSALS: Final[Dict[int, str]] = {
    400: "malformed request line or header",
    408: "the request did not arrive in time",
    414: "request line too long",
    431: "request header fields too large",
    505: "HTTP version not supported: send HTTP/1.1",
}

# SoundCloud writes statuses as "404 - Not Found"; spelled out here because
# http.HTTPStatus renamed some phrases in Python 3.13 (422, 413).
_PHRASES: Final[Dict[int, str]] = {
    200: "OK",
    201: "Created",
    204: "No Content",
    206: "Partial Content",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    304: "Not Modified",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    416: "Requested Range Not Satisfiable",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _status_line(code: int) -> str:
    phrase = _PHRASES.get(code)
    if phrase is None:
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Unknown"
    return f"{code} - {phrase}"


def _reason(code: int) -> str:
    return _status_line(code).split(" - ", 1)[1]


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class RecordedRequest:
    """One request as it arrived at a fake origin (``server`` is api, auth or cdn)."""

    server: str
    method: str
    path: str  # as sent, without the query, still percent-encoded
    query: Dict[str, List[str]]
    headers: Dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes

    def header(self, name: str) -> Optional[str]:
        """Return the value of header ``name`` (any case), or None."""
        return self.headers.get(name.lower())


@dataclass
class _Response:
    status: int
    body: bytes = b""
    headers: List[Tuple[str, str]] = field(default_factory=list)
    # "drop": close without answering; "truncate": send a short body then close.
    action: Optional[str] = None


class _Fail(Exception):
    """Raised by a handler to answer at once with ``response``."""

    def __init__(self, response: _Response) -> None:
        super().__init__(response.status)
        self.response = response


@dataclass
class _Call:
    request: RecordedRequest
    args: Tuple[str, ...] = ()
    caller: _Caller = field(default_factory=lambda: _Caller("anonymous"))

    def param(self, name: str) -> Optional[str]:
        values = self.request.query.get(name)
        return values[0] if values else None


# --------------------------------------------------------------------------- responses


def _json(status: int, payload: Any, headers: Iterable[Tuple[str, str]] = ()) -> _Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    hdrs = [("Content-Type", "application/json; charset=utf-8")]
    hdrs.extend(headers)
    return _Response(status, body, hdrs)


def _api_error(
    code: int, detail: Optional[str] = None, headers: Iterable[Tuple[str, str]] = ()
) -> _Response:
    """The SoundCloud API error body, as the live API sends it."""
    status = _status_line(code)
    payload = {
        "code": code,
        "message": status,
        "link": ERROR_LINK,
        "status": status,
        "errors": [{"error_message": detail or status}],
        "error": None,
    }
    return _json(code, payload, headers)


def _redirect(status: int, location: str) -> _Response:
    return _json(status, {"status": _status_line(status), "location": location}, [("Location", location)])


def _ok(status: int = 200) -> _Response:
    return _json(status, {"status": _status_line(status)})


def _media_type(request: RecordedRequest) -> str:
    return (request.header("content-type") or "").split(";", 1)[0].strip().lower()


# --------------------------------------------------------------------------- routing

PUBLIC: Final = "public"  # any token, or client_id on GET/HEAD
ME: Final = "me"  # a user token; app tokens answer 401 (no resource owner)
WRITE: Final = "write"  # a user token; app tokens answer 403 (authenticated, not allowed)
NONE: Final = "none"  # test hooks and the auth/CDN origins
BLOCKING: Final = "blocking"  # a test hook that waits: no credentials, and never under the store lock

_Handler = Callable[[_Call], _Response]


@dataclass(frozen=True)
class _Route:
    methods: FrozenSet[str]
    pattern: Pattern[str]
    handler: _Handler
    access: str = PUBLIC
    locked: bool = True  # run under the store lock (everything but BLOCKING hooks)


def _routes(table: Sequence[Tuple[str, str, _Handler, str]]) -> List[_Route]:
    """Compile ``(methods, path regex, handler, access)`` rows; ``{name}`` is one path segment."""
    compiled = []
    for methods, path, handler, access in table:
        regex = re.compile(re.sub(r"\{\w+\}", "([^/]+?)", path))
        compiled.append(_Route(frozenset(methods.split()), regex, handler, access, access != BLOCKING))
    return compiled


class _App:
    """One origin: a routing table over the shared store."""

    name = ""
    routes: List[_Route]

    def __init__(self, store: _Store) -> None:
        self.store = store

    def dispatch(self, request: RecordedRequest) -> _Response:
        path = request.path.rstrip("/") or "/"
        allowed: List[str] = []
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            method = "GET" if request.method == "HEAD" and "HEAD" not in route.methods else request.method
            if method not in route.methods and "ANY" not in route.methods:
                allowed.extend(sorted(route.methods))
                continue
            call = _Call(request, tuple(unquote(group) for group in match.groups()))
            try:
                if not route.locked:
                    return self.invoke(route, call)
                with self.store.lock:
                    return self.invoke(route, call)
            except _Fail as failure:
                return failure.response
        if allowed:
            return self.error(405, "method not allowed", [("Allow", ", ".join(sorted(set(allowed))))])
        return self.error(404, f"no such resource: {request.path}")

    def invoke(self, route: _Route, call: _Call) -> _Response:
        """Run the route's handler (the API origin authenticates the caller first)."""
        return route.handler(call)

    def error(self, code: int, detail: str, headers: Iterable[Tuple[str, str]] = ()) -> _Response:
        return _api_error(code, detail, headers)


# --------------------------------------------------------------------------- HTTP plumbing


class _Events:
    """Coordination for /_test/stall: held requests, released by a test or by stop()."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.generation = 0
        self.stalled = 0
        self.stopping = False

    def stall(self) -> bool:
        """Block until released (True) or stopping (False); bounded by STALL_LIMIT."""
        with self.condition:
            generation = self.generation
            self.stalled += 1
            self.condition.notify_all()
            self.condition.wait_for(lambda: self.stopping or self.generation != generation, timeout=STALL_LIMIT)
            return not self.stopping

    def release(self) -> None:
        with self.condition:
            self.generation += 1
            self.condition.notify_all()

    def stop(self) -> None:
        with self.condition:
            self.stopping = True
            self.condition.notify_all()

    def wait_stalled(self, count: int, timeout: float) -> bool:
        with self.condition:
            return self.condition.wait_for(lambda: self.stalled >= count, timeout=timeout)


class _Server(ThreadingHTTPServer):
    """One origin's listening socket; remembers its open connections so stop() can cut them."""

    daemon_threads = True
    block_on_close = False  # stop() joins handler threads itself, with a deadline
    request_queue_size = 128  # many client threads connect at once; socketserver's 5 drops some

    def __init__(self, host: str, app: _App, recorder: Callable[[RecordedRequest], None]) -> None:
        self.app = app
        self.recorder = recorder
        self.connections: Dict[socket.socket, threading.Thread] = {}
        self.connections_lock = threading.Lock()
        self.closing = False
        super().__init__((host, 0), _RequestHandler)

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def register(self, connection: socket.socket) -> None:
        with self.connections_lock:
            self.connections[connection] = threading.current_thread()
            if self.closing:
                _shutdown(connection)

    def unregister(self, connection: socket.socket) -> None:
        with self.connections_lock:
            self.connections.pop(connection, None)

    def cut_connections(self) -> List[threading.Thread]:
        with self.connections_lock:
            self.closing = True
            for connection in self.connections:
                _shutdown(connection)
            return list(self.connections.values())

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up, or stop() cutting a connection, is not an error worth a traceback.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


def _shutdown(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client reuses connections
    server_version = "FakeSoundCloud/1.0"
    sys_version = ""
    timeout = 30  # an idle keep-alive connection is closed after this long
    # Headers and body go out in two writes; without TCP_NODELAY the second waits
    # for the peer's delayed ACK (~40 ms per keep-alive request).
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.register(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.unregister(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay silent: test output must not fill with request lines (or secrets)."""

    def handle_one_request(self) -> None:
        # http.server looks for a do_<METHOD> and answers any other method with an HTML 501.
        # Methods are extensible (RFC 9110 9.1), and the API answers every one itself: a
        # known path with a method it does not take is 405 with Allow (RFC 9110 15.5.6), in
        # SoundCloud's error JSON. So every request that parses goes to serve().
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.requestline = self.request_version = self.command = ""
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return  # parse_request has answered (send_error)
            if _TOKEN_RE.fullmatch(self.command) is None:
                self.send_error(HTTPStatus.BAD_REQUEST)  # RFC 9110 9.1: a method is a token
                return
            self.serve()
            self.wfile.flush()
        except socket.timeout:  # an idle keep-alive connection: drop it, as http.server does
            self.close_connection = True

    def send_error(self, code: int, message: Optional[str] = None, explain: Optional[str] = None) -> None:
        """http.server's own refusals (request line, headers, version) in the API's error JSON.

        The detail is fixed per status: http.server's message quotes the request line,
        which may carry a secret in its query.
        """
        self.close_connection = True
        if self.request_version == "HTTP/0.9":
            # parse_request gave up before it read a version: http.server would then answer
            # as HTTP/0.9, a body without a status line, which no HTTP/1.x client can read.
            self.request_version = "HTTP/1.1"
        self.send(_api_error(code, _REFUSALS.get(code)))

    def read_body(self) -> Optional[bytes]:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: List[bytes] = []
            while True:
                line = self.rfile.readline(65537)
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    return None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not length.strip().isdigit():
            return None
        expected = int(length)
        data = self.rfile.read(expected)
        if len(data) < expected:
            # The client went away mid-body: never act on a cut-short request.
            return None
        return data

    def serve(self) -> None:
        body = self.read_body()
        split = urlsplit(self.path)
        headers: Dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        request = RecordedRequest(
            server=self.server.app.name,
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=headers,
            body=body or b"",
        )
        self.server.recorder(request)
        if body is None:
            self.close_connection = True
            response = _api_error(400, "malformed request body framing")
        else:
            try:
                response = self.server.app.dispatch(request)
            except Exception:  # a bug in the fake: say so loudly, answer 500
                traceback.print_exc()
                response = _api_error(500, "the fake server failed; see the test output")
        self.send(response)

    def send(self, response: _Response) -> None:
        if response.action == "drop":
            self.close_connection = True
            _shutdown(self.connection)
            return
        self.send_response(response.status, _reason(response.status))
        for name, value in response.headers:
            self.send_header(name, value)
        length = len(response.body)
        if response.action == "truncate":
            length += 90  # promise more than will come
            self.close_connection = True
        if response.status not in (204, 304):
            self.send_header("Content-Length", str(length))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)
        self.wfile.flush()
