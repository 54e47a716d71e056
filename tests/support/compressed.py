"""Compressed answers for the transport's tests: a server that serves bodies with a
``Content-Encoding``, and the bodies.

- :class:`CompressedServer`: a :class:`~support.request_server.RequestServer` answering
  each path with the :class:`Body` a test put there (its bytes as they go on the wire,
  the ``Content-Encoding`` it claims, and how it is framed: Content-Length, chunked, or
  ended by closing the connection); every request is recorded, so tests assert on the
  ``Accept-Encoding`` that arrived. An unknown path gets a small JSON answer, compressed
  with gzip when the request asked for it, as nginx with ``gzip on`` does.
- :func:`gzip_bytes`, :func:`zlib_bytes`, :func:`raw_deflate`: the three ways of
  compressing a body; :func:`gzip_bomb`: ``mib`` MiB of zeros in about a thousandth of
  that, made without ever holding the zeros (one MiB, compressed once, repeated).

Imports only the modules listed above it in ``support/__init__.py``.
"""

from __future__ import annotations

import json
import struct
import threading
import zlib
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple

from .request_server import FaultContext, RequestServer
from .wire import _head_bytes, _tokens

__all__ = ["Body", "CompressedServer", "gzip_bomb", "gzip_bytes", "raw_deflate", "zlib_bytes"]

MIB = 1024 * 1024
_ZEROS_MIB = bytes(MIB)


def gzip_bytes(data: bytes, level: int = 6) -> bytes:
    """``data`` as one gzip member (RFC 1952)."""
    packer = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


def zlib_bytes(data: bytes) -> bytes:
    """``data`` as a zlib stream (RFC 1950): what ``deflate`` means (RFC 9110 8.4.1.2)."""
    return zlib.compress(data)


def raw_deflate(data: bytes) -> bytes:
    """``data`` as a bare deflate stream (RFC 1951), which some servers call ``deflate``."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


def gzip_bomb(mib: int) -> bytes:
    """A valid gzip member of ``mib`` MiB of zeros, about ``mib`` KiB long.

    One MiB of zeros is deflated once and ended with a full flush, which leaves the
    output byte-aligned and the window empty: the same bytes then deflate every further
    MiB, so the stream is that segment ``mib`` times, an empty final block, and the
    trailer (the CRC-32 of all the zeros, computed a MiB at a time, and the size mod 2^32).
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    segment = packer.compress(_ZEROS_MIB) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(_ZEROS_MIB) + packer.flush(zlib.Z_FULL_FLUSH)
    assert again == segment, "a full flush should make every MiB deflate alike"
    end = packer.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(_ZEROS_MIB, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # deflate, no flags, no time, unknown OS
    trailer = struct.pack("<II", crc, (mib * MIB) & 0xFFFFFFFF)
    return header + segment * mib + end + trailer


@dataclass
class Body:
    """What a path answers: ``data`` as sent, the ``coding`` it claims (None: no
    Content-Encoding), and its framing: ``"length"``, ``"chunked"`` (``chunk``-byte chunks)
    or ``"close"`` (no length: the connection's end is the body's). With ``stall_after``,
    only that many bytes go before the answer waits for ``server.release()`` (or the
    client's close) and then ends the connection."""

    data: bytes
    coding: Optional[str] = "gzip"
    framing: str = "length"
    content_type: str = "application/json"
    status: int = 200
    chunk: int = 16 * 1024
    extra: Tuple[Tuple[str, str], ...] = ()
    stall_after: Optional[int] = None


class CompressedServer(RequestServer):
    """Serves each path's :class:`Body` (``put(path, body)``), recording every request."""

    kind = "compressed"

    def __init__(self) -> None:
        super().__init__()
        self._bodies: Dict[str, Body] = {}
        self._put_lock = threading.Lock()

    @property
    def url(self) -> str:
        return "http://%s:%d" % (self.host, self.port)

    def put(self, path: str, body: Body) -> str:
        """Serve ``body`` at ``path``; returns its URL."""
        with self._put_lock:
            self._bodies[path] = body
        return self.url + path

    def accept_encodings(self) -> List[Optional[str]]:
        """The Accept-Encoding of each request received, in order (None: not sent)."""
        return [request.headers.get("accept-encoding") for request in self.requests]

    def answer(self, ctx: FaultContext) -> bool:
        with self._put_lock:
            body = self._bodies.get(ctx.request.path)
        if body is None:
            return self._default(ctx)
        headers: List[Tuple[str, str]] = [("Content-Type", body.content_type)]
        if body.coding is not None:
            headers.append(("Content-Encoding", body.coding))
        headers.extend(body.extra)
        keep = ctx.client_keeps_alive and body.framing != "close"
        if body.framing == "length":
            headers.append(("Content-Length", str(len(body.data))))
        elif body.framing == "chunked":
            headers.append(("Transfer-Encoding", "chunked"))
        headers.append(("Connection", "keep-alive" if keep else "close"))
        ctx.send(_head_bytes(body.status, headers))
        if ctx.request.method == "HEAD":
            return keep
        if body.stall_after is not None:
            ctx.send(body.data[: body.stall_after])
            ctx.wait_released(10.0)
            return False
        if body.framing == "chunked":
            ctx.send(b"".join(_chunks(body.data, body.chunk)))
        else:
            ctx.send(body.data)
        return keep

    def _default(self, ctx: FaultContext) -> bool:
        """nginx with ``gzip on``: JSON compressed when (and only when) the request asks."""
        data = json.dumps({"path": ctx.request.path, "tracks": [{"id": n, "title": "x" * 40} for n in range(50)]}).encode()
        asked = "gzip" in _tokens(ctx.request.headers.get("accept-encoding", ""))
        headers = [("Content-Type", "application/json"), ("Vary", "Accept-Encoding")]
        if asked:
            data = gzip_bytes(data)
            headers.append(("Content-Encoding", "gzip"))
        return ctx.respond(200, data, headers)


def _chunks(data: bytes, size: int) -> Iterable[bytes]:
    for start in range(0, len(data), size):
        piece = data[start : start + size]
        yield b"%x\r\n%s\r\n" % (len(piece), piece)
    yield b"0\r\n\r\n"
