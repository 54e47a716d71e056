"""Socket and HTTP/1.1 wire helpers shared by the test servers (RFC 9112), and waiting.

- :func:`wait_until`: the one way a test waits for a condition (bounded, polling).
- :class:`WireRequest`: one request a test server received, as it arrived on the wire
  (which connection it came on, its target as sent, its header fields in order).
- :func:`make_client_context`: a verifying client ``SSLContext`` that trusts one CA only.
- The limits every server thread keeps (``IO_TIMEOUT``, ``MAX_LINE``, ``MAX_HEAD``,
  ``MAX_BODY``, ...) and, private to this package, what the servers share to speak
  HTTP/1.1: the message readers (``_Reader``, ``_read_head``, ``_read_body``), the header
  and response byte helpers, and the close/reset helpers of a socket.

This module imports no other module of the package.
"""

from __future__ import annotations

import http
import json
import socket
import ssl
import struct
import time
from dataclasses import dataclass
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Protocol,
    Set,
    Tuple,
    TypeVar,
    Union,
)

__all__ = [
    "CHUNK",
    "HeadersLike",
    "IO_TIMEOUT",
    "LOOPBACK",
    "MAX_LINE",
    "Pairs",
    "WAIT_TIMEOUT",
    "WireRequest",
    "make_client_context",
    "wait_until",
]

LOOPBACK = "127.0.0.1"
#: Bound on each blocking socket operation inside a server thread, in seconds.
IO_TIMEOUT = 10.0
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
