"""Answers that test how a client reads a response's framing (RFC 9112 sections 4 to 6).

Each helper makes a :data:`~support.request_server.Scenario` for
:meth:`~support.faults.FaultServer.enqueue`, so a test queues the exact bytes the next
request gets:

- :func:`raw_answer`: bytes as written, whatever they are (interim 1xx answers before the
  final one, odd ``Content-Length`` values, header fields a strict reader refuses).
- :class:`LateBytes`: an answer, then, once the test calls ``server.release()``, more bytes
  on the same connection (a HEAD answered with a late body, bytes past ``Content-Length``):
  ``sent`` is set when they went out.
- :func:`interim_flood`: 1xx answers one after another, ``delay`` apart, and never a final
  one (bounded by ``count`` and cut short by ``stop()``).
- :func:`head`: a response head from a status line and header lines, as bytes.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from typing import Iterable

from .request_server import FaultContext, Scenario
from .wire import IO_TIMEOUT

try:  # Linux: bytes the peer has not acknowledged yet (SIOCOUTQ is TIOCOUTQ)
    import fcntl
    import termios

    _OUTQ = getattr(termios, "TIOCOUTQ", None)
except ImportError:  # pragma: no cover - not POSIX
    _OUTQ = None

__all__ = ["LateBytes", "head", "interim_flood", "raw_answer"]


def head(status_line: str, *lines: str) -> bytes:
    """``status_line``, the header ``lines`` and the empty line, CRLF-terminated, as Latin-1."""
    return ("\r\n".join((status_line,) + lines) + "\r\n\r\n").encode("latin-1")


def raw_answer(*pieces: bytes, pause: float = 0.0, keep_alive: bool = True) -> Scenario:
    """Answer with ``pieces`` exactly, ``pause`` seconds apart (each its own send); keep the
    connection unless ``keep_alive`` is False."""

    def raw(ctx: FaultContext) -> bool:
        for index, piece in enumerate(pieces):
            if index and pause and ctx.pause(pause):
                return False
            ctx.send(piece)
        return keep_alive and ctx.client_keeps_alive

    return raw


class LateBytes:
    """A scenario: send ``answer``, wait for ``server.release()``, then send ``late`` on the
    same connection and keep it open for the next request. ``sent`` is set once ``late``
    went out (on loopback it is then in the client's receive queue)."""

    def __init__(self, answer: bytes, late: bytes) -> None:
        self.answer = answer
        self.late = late
        self.sent = threading.Event()
        self.__name__ = "late-bytes"

    def __call__(self, ctx: FaultContext) -> bool:
        ctx.send(self.answer)
        if not ctx.wait_released(IO_TIMEOUT):
            return False
        ctx.send(self.late)
        _wait_acknowledged(ctx.sock, ctx.server.stopping)
        self.sent.set()
        return True


def _wait_acknowledged(sock: socket.socket, stop: threading.Event) -> None:
    """Until the peer's TCP acknowledged everything sent on ``sock`` (it is then in the
    client's receive queue), bounded by IO_TIMEOUT; at once where that cannot be known."""
    if _OUTQ is None:  # pragma: no cover - not Linux
        return
    deadline = time.monotonic() + IO_TIMEOUT
    while time.monotonic() < deadline:
        try:
            queued = struct.unpack("i", fcntl.ioctl(sock.fileno(), _OUTQ, b"\0\0\0\0"))[0]
        except OSError:
            return
        if queued == 0 or stop.wait(0.001):
            return


def interim_flood(delay: float, count: int = 1000, lines: Iterable[str] = ("Link: </a.css>; rel=preload",)) -> Scenario:
    """Send ``count`` ``103 Early Hints`` answers ``delay`` seconds apart, and no final answer."""
    interim = head("HTTP/1.1 103 Early Hints", *lines)

    def flood(ctx: FaultContext) -> bool:
        for _ in range(count):
            ctx.send(interim)
            if ctx.pause(delay):
                break
        return False

    return flood
