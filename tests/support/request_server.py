"""HTTP/1.1 on the socket-server base, and what its answers get.

- :class:`RequestServer`: HTTP/1.1 with keep-alive on that base: it parses and records
  each request as a :class:`~support.wire.WireRequest` (with the number of the connection
  it came on) and lets ``answer(ctx)`` respond through a :class:`FaultContext`.
- :class:`FaultContext`: what an answer gets (the connection, the parsed request, how
  many requests it answered) and its helpers to respond, reset, stall or pause.
"""

from __future__ import annotations

import socket
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

from .base import SocketServer
from .wire import (
    WireRequest,
    _BadMessage,
    _head_bytes,
    _header_dict,
    _json_bytes,
    _read_body,
    _read_head,
    _Reader,
    _simple_response,
    _tokens,
)

__all__ = ["FaultContext", "RequestServer", "Scenario"]

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
