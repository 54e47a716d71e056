"""Servers that misbehave on purpose, or play a script, for the transport's tests.

- :class:`FaultServer`: a :class:`~support.request_server.RequestServer` whose paths each
  produce one protocol fault (resets, truncated bodies, broken chunking, stalls, drips,
  retryable statuses, garbage, oversize answers) next to a well-behaved keep-alive JSON
  answer; ``FAULT_SCENARIOS`` names them.
- :class:`KeepAliveServer`: a :class:`~support.request_server.RequestServer` numbering its
  keep-alive answers, and :class:`ScriptedServer`: plays a ``script(conn, stop)`` on each
  raw connection (with :func:`read_head`), for misbehaving proxies and TLS peers. Both for
  ``tests/transport/``, whose client-side helpers are in :mod:`support.transport_calls`.
"""

from __future__ import annotations

import socket
import threading
from collections import deque
from typing import Any, Callable, Deque, Dict, Iterator, List, Mapping, Optional, Tuple, Union

from .base import SocketServer
from .request_server import FaultContext, RequestServer, Scenario
from .wire import CHUNK, MAX_LINE, Pairs, _head_bytes, _json_bytes, _reason

__all__ = [
    "FAULT_SCENARIOS",
    "FaultServer",
    "KeepAliveServer",
    "Script",
    "ScriptedServer",
    "read_head",
]


def _fault_server(ctx: FaultContext) -> "FaultServer":
    """The FaultServer a fault scenario runs on (its stall and drip settings, its names)."""
    server = ctx.server
    assert isinstance(server, FaultServer), "fault scenarios run on a FaultServer"
    return server


def _ok_body(ctx: FaultContext) -> Dict[str, Any]:
    return {"ok": True, "method": ctx.request.method, "path": ctx.request.path, "hit": ctx.hit}


def _scenario_json(ctx: FaultContext) -> bool:
    return ctx.respond_json(200, _ok_body(ctx))


def _scenario_echo(ctx: FaultContext) -> bool:
    request = ctx.request
    return ctx.respond_json(
        200,
        {
            "method": request.method,
            "target": request.target,
            "path": request.path,
            "query": request.query,
            "headers": request.headers,
            "body": request.body.decode("utf-8", "replace"),
        },
    )


def _scenario_status(ctx: FaultContext) -> bool:
    parts = ctx.request.path.split("/")
    try:
        code = int(parts[2])
    except (IndexError, ValueError):
        return ctx.respond_json(400, {"error": "use /status/<code>"})
    headers: Pairs = []
    if "retry_after" in ctx.request.query:
        headers.append(("Retry-After", ctx.param("retry_after", "1")))
    if "location" in ctx.request.query:
        headers.append(("Location", ctx.param("location", "/")))
    if code < 200 or code in (204, 304):
        ctx.send(_head_bytes(code, headers))
        return ctx.client_keeps_alive
    message = "%d - %s" % (code, _reason(code))
    return ctx.respond_json(code, {"code": code, "message": message, "status": message}, headers)


def _scenario_redirect(ctx: FaultContext) -> bool:
    status = ctx.int_param("status", 302, 300, 399)
    return ctx.respond(status, b"", [("Location", ctx.param("to", "/json"))])


def _scenario_reset_before_headers(ctx: FaultContext) -> bool:
    return ctx.reset()


def _scenario_reset_before_body(ctx: FaultContext) -> bool:
    # Reset as soon as the request head is in: an upload is cut off mid-body.
    return ctx.reset()


def _scenario_reset_after_headers(ctx: FaultContext) -> bool:
    ctx.send(_head_bytes(200, [("Content-Type", "application/json"), ("Content-Length", "100")]))
    return ctx.reset()


def _scenario_close_mid_body(ctx: FaultContext) -> bool:
    head = _head_bytes(200, [("Content-Type", "application/json"), ("Content-Length", "100")])
    ctx.send(head + b'{"ok": tru')  # 10 of the 100 promised bytes, then a FIN
    return False


def _scenario_broken_chunked(ctx: FaultContext) -> bool:
    head = _head_bytes(200, [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")])
    ctx.send(head + b'5\r\n{"ok"\r\nnot-a-chunk-size\r\n')
    return False


def _scenario_stall(ctx: FaultContext) -> bool:
    ctx.wait_released(_fault_server(ctx).stall_timeout)
    return False


def _scenario_stall_after_headers(ctx: FaultContext) -> bool:
    ctx.send(_head_bytes(200, [("Content-Type", "application/json"), ("Content-Length", "11")]) + b'{"o')
    ctx.wait_released(_fault_server(ctx).stall_timeout)
    return False


def _drip_body(size: int) -> bytes:
    return b'{"drip":"' + b"x" * (size - 11) + b'"}'


def _drip(ctx: FaultContext, data: bytes, delay: float) -> bool:
    # A bounded loop: len(data) sends with ``delay`` between them, cut short by stop().
    for index in range(len(data)):
        ctx.send(data[index : index + 1])
        if index + 1 < len(data) and ctx.pause(delay):
            return False
    return ctx.client_keeps_alive


def _scenario_drip(ctx: FaultContext) -> bool:
    size = ctx.int_param("bytes", 40, 11, 10_000)
    delay = ctx.float_param("delay", _fault_server(ctx).drip_delay, 0.0, 1.0)
    body = _drip_body(size)
    keep = ctx.client_keeps_alive
    ctx.send(
        _head_bytes(
            200,
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Connection", "keep-alive" if keep else "close"),
            ],
        )
    )
    return _drip(ctx, body, delay) and keep


def _scenario_drip_headers(ctx: FaultContext) -> bool:
    size = ctx.int_param("bytes", 11, 11, 10_000)
    delay = ctx.float_param("delay", _fault_server(ctx).drip_delay, 0.0, 1.0)
    body = _drip_body(size)
    head = _head_bytes(
        200, [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Connection", "close")]
    )
    _drip(ctx, head + body, delay)
    return False


def _scenario_429_then_200(ctx: FaultContext) -> bool:
    if ctx.hit <= ctx.int_param("times", 1, 0, 1000):
        body = {
            "code": 429,
            "message": "429 - Too Many Requests",
            "errors": [{"error_message": "rate limit exceeded"}],
        }
        return ctx.respond_json(429, body, [("Retry-After", ctx.param("retry_after", "1"))])
    return ctx.respond_json(200, _ok_body(ctx))


def _scenario_503_twice_then_200(ctx: FaultContext) -> bool:
    if ctx.hit <= ctx.int_param("times", 2, 0, 1000):
        return ctx.respond_json(503, {"code": 503, "message": "503 - Service Unavailable"})
    return ctx.respond_json(200, _ok_body(ctx))


def _scenario_close_after_response(ctx: FaultContext) -> bool:
    # Advertise keep-alive, then close: the client's pooled connection is dead on reuse.
    ctx.respond_json(200, _ok_body(ctx), [("Keep-Alive", "timeout=60, max=100")])
    return False


def _scenario_close_delimited(ctx: FaultContext) -> bool:
    # No Content-Length, no chunking: the body ends when the connection does (RFC 9112 6.3).
    head = _head_bytes(200, [("Content-Type", "application/json"), ("Connection", "close")])
    ctx.send(head + _json_bytes(_ok_body(ctx)))
    return False


def _scenario_garbage(ctx: FaultContext) -> bool:
    ctx.send(b"SSH-2.0-OpenSSH_9.6\r\n")
    return False


def _scenario_huge_headers(ctx: FaultContext) -> bool:
    count = ctx.int_param("count", 2000, 1, 100_000)
    size = ctx.int_param("size", 100, 1, MAX_LINE - 100)
    filler = "v" * size
    headers = [("X-Filler-%d" % index, filler) for index in range(count)]
    headers += [("Content-Type", "application/json"), ("Content-Length", "2"), ("Connection", "close")]
    ctx.send(_head_bytes(200, headers) + b"{}")
    return False


#: Default size of the huge-json body: above any sane response cap.
HUGE_JSON_SIZE = 16 * 1024 * 1024 + 1


def _huge_json_pieces(size: int) -> Iterator[bytes]:
    """``{"data":"xxx…"}`` of exactly ``size`` bytes, in pieces of at most CHUNK."""
    yield b'{"data":"'
    remaining = size - 11
    while remaining > 0:
        take = min(CHUNK, remaining)
        yield b"x" * take
        remaining -= take
    yield b'"}'


def _scenario_huge_json(ctx: FaultContext) -> bool:
    size = ctx.int_param("size", HUGE_JSON_SIZE, 11, 1 << 30)
    chunked = ctx.param("chunked", "0") not in ("", "0", "false")
    framing = ("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(size))
    ctx.send(_head_bytes(200, [("Content-Type", "application/json"), framing, ("Connection", "close")]))
    if ctx.request.method == "HEAD":
        return False
    for piece in _huge_json_pieces(size):
        if ctx.server.stopping.is_set():
            return False
        ctx.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
    if chunked:
        ctx.send(b"0\r\n\r\n")
    return False


def _scenario_unknown(ctx: FaultContext) -> bool:
    return ctx.respond_json(
        404, {"error": "unknown scenario", "path": ctx.request.path, "scenarios": sorted(_fault_server(ctx).scenarios)}
    )


#: Scenario name -> behaviour; a request picks one by its first path segment.
FAULT_SCENARIOS: Dict[str, Scenario] = {
    "json": _scenario_json,
    "echo": _scenario_echo,
    "status": _scenario_status,
    "redirect": _scenario_redirect,
    "reset-before-headers": _scenario_reset_before_headers,
    "reset-before-body": _scenario_reset_before_body,
    "reset-after-headers": _scenario_reset_after_headers,
    "close-mid-body": _scenario_close_mid_body,
    "broken-chunked": _scenario_broken_chunked,
    "stall": _scenario_stall,
    "stall-after-headers": _scenario_stall_after_headers,
    "drip": _scenario_drip,
    "drip-headers": _scenario_drip_headers,
    "429-then-200": _scenario_429_then_200,
    "503-twice-then-200": _scenario_503_twice_then_200,
    "close-after-response": _scenario_close_after_response,
    "close-delimited": _scenario_close_delimited,
    "garbage": _scenario_garbage,
    "huge-headers": _scenario_huge_headers,
    "huge-json": _scenario_huge_json,
}

#: Scenarios that run as soon as the request head is read (the body is not read).
_HEAD_ONLY_SCENARIOS = frozenset({"reset-before-body"})


class FaultServer(RequestServer):
    """A raw-socket HTTP/1.1 server whose paths are scripted faults.

    The first path segment names the scenario (``/stall``, ``/close-mid-body/tracks?x=1``;
    ``/`` is ``json``), so a client can be pointed at ``server.url + "/<scenario>"`` as its
    base URL. ``enqueue(*names_or_callables)`` overrides the path for the next requests,
    one queued behaviour per request, in arrival order. Every request is recorded (body
    included, except for ``reset-before-body``) before its scenario runs. See
    ``FAULT_SCENARIOS`` for the names.
    """

    kind = "fault"
    SCENARIOS = tuple(FAULT_SCENARIOS)
    head_only = _HEAD_ONLY_SCENARIOS

    def __init__(
        self,
        *,
        scenarios: Optional[Mapping[str, Scenario]] = None,
        stall_timeout: float = 30.0,
        drip_delay: float = 0.05,
    ) -> None:
        super().__init__()
        self.scenarios: Dict[str, Scenario] = dict(FAULT_SCENARIOS)
        self.scenarios.update(scenarios or {})
        #: Longest a stalled scenario waits when neither release() nor stop() comes.
        self.stall_timeout = stall_timeout
        #: Default gap between bytes of the drip scenarios (``?delay=`` overrides).
        self.drip_delay = drip_delay
        self._queue: Deque[Tuple[str, Scenario]] = deque()

    def scenario_count(self, name: str) -> int:
        """Requests a scenario answered (or began to answer)."""
        with self._lock:
            return self._hits.get(name, 0)

    def enqueue(self, *behaviours: Union[str, Scenario]) -> None:
        """Answer the next requests with these scenarios, whatever their path."""
        resolved: List[Tuple[str, Scenario]] = []
        for behaviour in behaviours:
            if isinstance(behaviour, str):
                if behaviour not in self.scenarios:
                    raise ValueError("unknown scenario %r" % behaviour)
                resolved.append((behaviour, self.scenarios[behaviour]))
            else:
                resolved.append((getattr(behaviour, "__name__", "custom"), behaviour))
        with self._lock:
            self._queue.extend(resolved)

    def clear(self) -> None:
        """Forget recorded requests, scenario hit counts and the queue."""
        super().clear()
        with self._lock:
            self._queue.clear()

    def _choose(self, path: str) -> Tuple[str, Scenario]:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        name = path.split("/")[1] if path.startswith("/") else ""
        name = name or "json"
        return name, self.scenarios.get(name, _scenario_unknown)


class KeepAliveServer(RequestServer):
    """HTTP/1.1 keep-alive: every request gets ``200 {"n": <request number>}``.

    The base server observes the rest: ``connections`` accepted, and ``closed_by_client``
    (the client closed a connection: the server read its FIN), so tests see ``close()``
    without sleeping.
    """

    def answer(self, ctx: FaultContext) -> bool:
        return ctx.respond(200, b'{"n": %d}' % ctx.hit, [("Content-Type", "application/json")])


#: ``script(conn, stop)`` plays one connection; it may return the socket it wrapped (TLS)
#: for the server to close, and ``stop`` is set at teardown so scripted delays end early.
Script = Callable[[socket.socket, threading.Event], Optional[socket.socket]]


class ScriptedServer(SocketServer):
    """Runs ``script(conn, stop)`` for each connection on 127.0.0.1, in its thread.

    The base server counts connections and closes each one when its script returns (or
    leaves it to a script that closed it itself, e.g. with a reset).
    """

    kind = "scripted"

    def __init__(self, script: Script) -> None:
        super().__init__()
        self.script = script

    def handle(self, conn: socket.socket, number: int) -> None:
        wrapped = self.script(conn, self.stopping)
        if wrapped is not None:
            self._upgrade(number, wrapped)


def read_head(conn: socket.socket) -> bytes:
    """Read from ``conn`` (in a script) until a whole message head, or the end; return it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data
