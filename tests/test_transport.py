"""HTTPTransport on its own, against real servers on 127.0.0.1: connection reuse and release,
stale keep-alive connections, retries and backoff (with an injected sleep and random source,
so nothing here waits for a real backoff), timeouts and the total deadline, size limits,
error mapping and logging."""

from __future__ import annotations

import email.utils
import http.client
import logging
import socket
import ssl
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

import soundcloud
from soundcloud import errors
from soundcloud._models import DEFAULT_TIMEOUT, Request, Timeout, as_timeout
from soundcloud.transport import HTTPTransport, Response
from soundcloud.transport import base as transport_base
from soundcloud.transport import connection as transport_connection
from soundcloud.transport import http as transport_http
from soundcloud.transport import retry as transport_retry
from soundcloud.transport import watchdog as transport_watchdog
from soundcloud.transport.exceptions import map_exception
from soundcloud.transport.proxy import normalize_proxies

from servers import SERVER, FaultContext, FaultServer, RequestServer, wait_until

TIMEOUT = Timeout(5)


# -- helpers ------------------------------------------------------------------------------


class Waits:
    """An injected ``sleep``: records the waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: List[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def make_transport() -> Iterator[Callable[..., Tuple[HTTPTransport, Waits]]]:
    """Build transports with a recording sleep and a fixed jitter; closed after the test."""
    made: List[HTTPTransport] = []

    def make(**kwargs: Any) -> Tuple[HTTPTransport, Waits]:
        waits = Waits()
        kwargs.setdefault("sleep", waits)
        kwargs.setdefault("random", lambda: 0.5)
        kwargs.setdefault("proxies", {})
        transport = HTTPTransport(**kwargs)
        made.append(transport)
        return transport, waits

    yield make
    for transport in made:
        transport.close()


def send(
    transport: HTTPTransport,
    method: str,
    url: str,
    body: Any = None,
    *,
    headers: Optional[Dict[str, str]] = None,
    timeout: Timeout = TIMEOUT,
    retry: Optional[bool] = None,
    replayable: bool = True,
) -> Response:
    headers = dict(headers or {})
    if isinstance(body, bytes):
        headers.setdefault("Content-Length", str(len(body)))
    request = Request(method, url, headers, body, timeout, replayable)
    request.retry = retry
    return transport.handle_request(request)


def fetch(transport: HTTPTransport, method: str, url: str, body: Any = None, **kwargs: Any) -> Tuple[int, bytes, int]:
    """Status, whole body and retry count."""
    response = send(transport, method, url, body, **kwargs)
    return response.status_code, response.read_all(), response.retries


def closed_port() -> int:
    """A port on 127.0.0.1 that was bound and closed: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def deadline_threads() -> List[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "soundcloud-deadline" and t.is_alive()]


class KeepAliveServer(RequestServer):
    """HTTP/1.1 keep-alive: every request gets ``200 {"n": <request number>}``.

    The base server observes the rest: ``connections`` accepted, and ``closed_by_client``
    (the client closed a connection: the server read its FIN), so tests see ``close()``
    without sleeping.
    """

    def answer(self, ctx: FaultContext) -> bool:
        return ctx.respond(200, b'{"n": %d}' % ctx.hit, [("Content-Type", "application/json")])


@pytest.fixture
def keepalive_server() -> Iterator[KeepAliveServer]:
    with KeepAliveServer() as server:
        yield server


def wait_closed_by_client(server: KeepAliveServer, count: int) -> None:
    wait_until(lambda: server.closed_by_client >= count, message="the client closed %d connection(s)" % count)


# -- Timeout and Request --------------------------------------------------------------------


def test_timeout_forms() -> None:
    assert (Timeout(10).connect, Timeout(10).read, Timeout(10).total) == (10.0, 10.0, None)
    assert (DEFAULT_TIMEOUT.connect, DEFAULT_TIMEOUT.read, DEFAULT_TIMEOUT.total) == (10.0, 30.0, None)
    split = Timeout(connect=1, read=2, total=3)
    assert (split.connect, split.read, split.total) == (1.0, 2.0, 3.0)
    assert Timeout(5, total=7) == Timeout(connect=5, read=5, total=7)
    assert as_timeout(None) is DEFAULT_TIMEOUT and as_timeout(2.5) == Timeout(2.5) and as_timeout(split) is split
    for bad in (0, -1):
        with pytest.raises(ValueError, match="positive"):
            Timeout(bad)
    with pytest.raises(ValueError, match="total"):
        Timeout(total=0)
    with pytest.raises(TypeError):
        as_timeout("5")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        as_timeout(True)


def test_constructor_checks() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        HTTPTransport(max_retries=-1)
    with pytest.raises(ValueError, match="pool_size"):
        HTTPTransport(pool_size=0)
    with pytest.raises(ValueError, match="backoff"):
        HTTPTransport(max_backoff=-1)
    with pytest.raises(ValueError, match="CA bundle"):
        HTTPTransport(verify="/nonexistent/ca.pem")
    with pytest.raises(TypeError):
        HTTPTransport(verify=1)  # type: ignore[arg-type]


def test_bad_urls_are_value_errors_and_send_nothing(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    for url in ("ftp://example.com/x", "http:///path", "http://127.0.0.1:99999/x", "nonsense"):
        with pytest.raises(ValueError):
            send(transport, "GET", url)
    with pytest.raises(ValueError, match="cannot send"):
        send(transport, "GET", fault_server.url + "/json?a b")  # a space in the target
    with pytest.raises(ValueError, match="cannot send"):
        send(transport, "GET", fault_server.url + "/json", headers={"X-Evil": "a\r\nInjected: yes"})
    with pytest.raises(ValueError, match="cannot send"):
        send(transport, "GET", fault_server.url + "/json", headers={"X-Name": "\u2603"})
    assert fault_server.count() == 0
    # The connection those requests opened was dropped, not pooled half-written.
    assert fetch(transport, "GET", fault_server.url + "/json")[0] == 200


def test_split_url() -> None:
    split = transport_connection._split_url
    assert split("http://h:1/a/b?x=1#frag") == ("http://h:1", "/a/b?x=1")
    assert split("https://h") == ("https://h", "/")
    assert split("http://h?x=1") == ("", "")
    assert split("relative/path") == ("", "")


# -- connection reuse -----------------------------------------------------------------------


def test_sequential_requests_share_one_connection(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    for _ in range(5):
        status, body, retries = fetch(transport, "GET", fault_server.url + "/json")
        assert (status, retries) == (200, 0) and b'"ok":true' in body
    assert fault_server.connections == 1
    assert {r.connection for r in fault_server.requests} == {1}


def test_reuse_across_methods_and_bodies(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    url = fault_server.url + "/echo"
    assert fetch(transport, "POST", url, b"a=1")[0] == 200
    assert fetch(transport, "PUT", url, iter([b"chunk1", b"chunk2"]), headers={"Content-Length": "12"})[0] == 200
    assert fetch(transport, "DELETE", url)[0] == 200
    assert fetch(transport, "HEAD", url)[0] == 200
    assert fetch(transport, "GET", fault_server.url + "/status/204")[0] == 204
    assert fetch(transport, "GET", url)[0] == 200
    assert fault_server.connections == 1
    assert fault_server.bodies() == [b"a=1", b"chunk1chunk2", b"", b"", b"", b""]


def test_body_framing_is_added_when_missing(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    url = fault_server.url + "/echo"
    fetch(transport, "POST", url)  # no body: Content-Length: 0 (RFC 9110 section 8.6)
    request = Request("PUT", url, {}, b"abc", TIMEOUT)  # bytes without a length
    assert transport.handle_request(request).read_all()
    request = Request("POST", url, {}, iter([b"ab", b"", b"cd"]), TIMEOUT, False)  # a stream, no length
    assert transport.handle_request(request).read_all()
    fetch(transport, "GET", url)
    first, second, third, fourth = fault_server.requests
    assert first.headers["content-length"] == "0" and first.body == b""
    assert second.headers["content-length"] == "3" and second.body == b"abc"
    assert third.headers["transfer-encoding"] == "chunked" and third.body == b"abcd"
    assert "content-length" not in fourth.headers and "transfer-encoding" not in fourth.headers
    assert fault_server.connections == 1


def test_host_header_and_origin_form(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    fetch(transport, "GET", fault_server.url + "/echo/x?q=1#fragment")
    request = fault_server.requests[-1]
    assert request.target == "/echo/x?q=1"
    assert request.headers["host"] == fault_server.host_port
    assert "accept-encoding" not in request.headers


def test_closing_early_drains_small_bodies_and_drops_large_ones(
    make_transport: Any, fault_server: FaultServer
) -> None:
    transport, _ = make_transport()
    send(transport, "GET", fault_server.url + "/json").close()  # small: read out, reused
    send(transport, "GET", fault_server.url + "/json").close()
    assert fault_server.connections == 1
    big = send(transport, "GET", fault_server.url + "/drip?bytes=5000&delay=0")
    assert big.read(10) == b'{"drip":"x'
    big.close()  # 4990 bytes left but they are all there: still drained
    assert fault_server.connections == 1
    huge = send(transport, "GET", fault_server.url + "/huge-json?size=1000000")
    huge.close()  # over the drain limit: the connection goes
    assert fetch(transport, "GET", fault_server.url + "/json")[0] == 200
    assert fault_server.connections == 2


def test_transport_close_releases_connections(make_transport: Any, keepalive_server: KeepAliveServer) -> None:
    transport, _ = make_transport()
    assert fetch(transport, "GET", keepalive_server.url + "/a")[:2] == (200, b'{"n": 1}')
    assert fetch(transport, "GET", keepalive_server.url + "/b")[:2] == (200, b'{"n": 2}')
    assert keepalive_server.connections == 1
    transport.close()
    wait_closed_by_client(keepalive_server, 1)
    # Still usable: it reconnects.
    assert fetch(transport, "GET", keepalive_server.url + "/c")[:2] == (200, b'{"n": 3}')
    assert keepalive_server.connections == 2


def test_response_in_flight_during_close_is_not_pooled(make_transport: Any, keepalive_server: KeepAliveServer) -> None:
    transport, _ = make_transport()
    response = send(transport, "GET", keepalive_server.url + "/a")
    transport.close()
    assert response.read_all() == b'{"n": 1}'
    wait_closed_by_client(keepalive_server, 1)


def test_client_context_manager_and_close_release_connections(keepalive_server: KeepAliveServer) -> None:
    with soundcloud.Client(client_id="id", api_url=keepalive_server.url, proxies={}) as client:
        assert client.get("/x").n == 1
        assert client.get("/y").n == 2
    assert keepalive_server.connections == 1
    wait_closed_by_client(keepalive_server, 1)
    client = soundcloud.Client(client_id="id", api_url=keepalive_server.url, proxies={})
    assert client.get("/z").n == 3
    client.close()
    wait_closed_by_client(keepalive_server, 2)


def test_pool_keeps_at_most_pool_size_idle(make_transport: Any, keepalive_server: KeepAliveServer) -> None:
    transport, _ = make_transport(pool_size=2)
    responses = [send(transport, "GET", keepalive_server.url + "/%d" % i) for i in range(4)]
    for response in responses:
        response.read_all()
    assert keepalive_server.connections == 4
    wait_closed_by_client(keepalive_server, 2)  # two were closed on release
    for i in range(2):
        fetch(transport, "GET", keepalive_server.url + "/again")
    assert keepalive_server.connections == 4
    assert keepalive_server.closed_by_client == 2  # the two kept idle were reused, not closed


# -- stale keep-alive connections ---------------------------------------------------------


def _drop(ctx: FaultContext) -> bool:
    """Read the request, then close without answering (what a closing keep-alive peer does)."""
    return False


def test_get_on_a_connection_the_server_closed_is_replayed(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport(max_retries=0)
    assert fetch(transport, "GET", fault_server.url + "/close-after-response")[0] == 200
    status, _, retries = fetch(transport, "GET", fault_server.url + "/json")
    assert (status, retries) == (200, 0)
    assert fault_server.count("/json") == 1 and fault_server.connections == 2
    assert waits.waits == []


def wait_for_fin(server: FaultServer, number: int) -> None:
    """Block until the server closed connection ``number`` and the client's TCP acknowledged
    its FIN: from then on the client's idle socket shows the close."""
    wait_until(lambda: server.closed_by(number) == SERVER, message="the FIN of connection %d got through" % number)


def test_post_never_goes_out_on_a_connection_the_server_closed(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    assert fetch(transport, "GET", fault_server.url + "/close-after-response")[0] == 200
    # Wait for the server's FIN to reach the pooled connection (the condition itself).
    wait_for_fin(fault_server, fault_server.requests[-1].connection)
    # The idle check sees it, so the POST takes a fresh connection and goes out once.
    status, _, _ = fetch(transport, "POST", fault_server.url + "/echo", b"x=1")
    assert status == 200
    assert fault_server.bodies("/echo") == [b"x=1"]
    assert fault_server.connections == 2


@pytest.mark.parametrize(
    "method, retry, replayed",
    [
        ("GET", None, True),
        ("PUT", None, True),
        ("DELETE", None, True),
        ("POST", None, False),
        ("POST", True, True),
        ("GET", False, False),
    ],
)
def test_dropped_reused_connection_is_replayed_only_when_safe(
    make_transport: Any, fault_server: FaultServer, method: str, retry: Optional[bool], replayed: bool
) -> None:
    transport, waits = make_transport(max_retries=0)
    assert fetch(transport, "GET", fault_server.url + "/json")[0] == 200
    fault_server.enqueue(_drop)  # the next request arrives, then the connection closes
    body = b"payload" if method in ("POST", "PUT") else None
    if replayed:
        status, _, retries = fetch(transport, method, fault_server.url + "/echo", body, retry=retry)
        assert (status, retries) == (200, 0)
        assert fault_server.count("/echo") == 2  # the dropped one and the replay
    else:
        with pytest.raises(soundcloud.ProtocolError, match="closed the connection"):
            send(transport, method, fault_server.url + "/echo", body, retry=retry)
        assert fault_server.count("/echo") == 1  # never sent twice
    assert waits.waits == []


# -- retries --------------------------------------------------------------------------------


def test_503_twice_then_200_backs_off_exponentially(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport()
    status, body, retries = fetch(transport, "GET", fault_server.url + "/503-twice-then-200")
    assert (status, retries) == (200, 2) and b'"hit":3' in body
    # min(30, 0.5 * 2**n) * (0.5 + 0.5 / 2) for n = 0, 1
    assert waits.waits == [0.375, 0.75]
    assert fault_server.count() == 3 and fault_server.connections == 1  # bodies drained, reused


def test_backoff_jitter_bounds_and_cap(make_transport: Any, fault_server: FaultServer) -> None:
    low, low_waits = make_transport(max_retries=6, random=lambda: 0.0, max_backoff=4)
    response = send(low, "GET", fault_server.url + "/503-twice-then-200?times=10")
    assert response.status_code == 503 and response.retries == 6
    response.close()
    assert low_waits.waits == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    high, high_waits = make_transport(max_retries=3, random=lambda: 0.999999, backoff_factor=1)
    send(high, "GET", fault_server.url + "/status/502").close()
    assert [round(w, 3) for w in high_waits.waits] == [1.0, 2.0, 4.0]


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retried_statuses(make_transport: Any, fault_server: FaultServer, status: int) -> None:
    transport, waits = make_transport(max_retries=2)
    response = send(transport, "GET", fault_server.url + "/status/%d" % status)
    assert response.status_code == status and response.retries == 2
    response.close()
    assert fault_server.count() == 3 and len(waits.waits) == 2


@pytest.mark.parametrize("status", [400, 401, 404, 500, 501])
def test_other_statuses_are_not_retried(make_transport: Any, fault_server: FaultServer, status: int) -> None:
    transport, waits = make_transport()
    response = send(transport, "GET", fault_server.url + "/status/%d" % status)
    assert response.status_code == status and response.retries == 0
    response.close()
    assert fault_server.count() == 1 and waits.waits == []


def test_retry_after_seconds_is_honoured(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport()
    status, _, retries = fetch(transport, "GET", fault_server.url + "/429-then-200?retry_after=7")
    assert (status, retries) == (200, 1)
    assert waits.waits == [7.0]


def _http_date_429(ctx: FaultContext) -> bool:
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    return ctx.respond_json(429, {"code": 429}, [("Retry-After", when)])


def _ratelimit_reset_429(ctx: FaultContext) -> bool:
    return ctx.respond_json(429, {"code": 429}, [("x-ratelimit-reset", str(int(time.time()) + 12))])


def test_retry_after_http_date_and_ratelimit_reset(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport()
    fault_server.enqueue(_http_date_429, "json", _ratelimit_reset_429, "json")
    assert fetch(transport, "GET", fault_server.url + "/x")[:3:2] == (200, 1)
    assert fetch(transport, "GET", fault_server.url + "/y")[:3:2] == (200, 1)
    date_wait, reset_wait = waits.waits
    assert 17 <= date_wait <= 20
    assert 9 <= reset_wait <= 12


def _ratelimit_reset_503(ctx: FaultContext) -> bool:
    return ctx.respond_json(503, {"code": 503}, [("x-ratelimit-reset", str(int(time.time()) + 3600))])


def test_ratelimit_reset_counts_only_for_429(make_transport: Any, fault_server: FaultServer) -> None:
    # On a 503 the quota's reset time says nothing about recovery: ordinary backoff.
    transport, waits = make_transport()
    fault_server.enqueue(_ratelimit_reset_503, "json")
    assert fetch(transport, "GET", fault_server.url + "/x")[:3:2] == (200, 1)
    assert waits.waits == [0.375]


def test_retry_after_longer_than_the_cap_returns_at_once(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport(max_backoff=30)
    response = send(transport, "GET", fault_server.url + "/429-then-200?retry_after=120")
    assert response.status_code == 429 and response.retries == 0
    response.close()
    assert waits.waits == [] and fault_server.count() == 1


def test_retry_after_past_the_total_deadline_returns_at_once(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport()
    response = send(
        transport, "GET", fault_server.url + "/429-then-200?retry_after=5", timeout=Timeout(5, total=2)
    )
    assert response.status_code == 429 and response.retries == 0
    assert b"rate limit" in response.read_all()
    assert waits.waits == []


def test_exhausted_retries_return_the_last_answer(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport(max_retries=3)
    response = send(transport, "GET", fault_server.url + "/503-twice-then-200?times=100")
    assert response.status_code == 503 and response.retries == 3
    assert b"503" in response.read_all()
    assert fault_server.count() == 4 and len(waits.waits) == 3


def test_max_retries_zero_turns_retries_off(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport(max_retries=0)
    response = send(transport, "GET", fault_server.url + "/503-twice-then-200")
    assert response.status_code == 503 and response.retries == 0
    response.close()
    with pytest.raises(soundcloud.ConnectError):
        send(transport, "GET", "http://127.0.0.1:%d/" % closed_port())
    assert waits.waits == [] and fault_server.count() == 1


@pytest.mark.parametrize(
    "method, retry, retried",
    [
        ("GET", None, True),
        ("HEAD", None, True),
        ("PUT", None, True),
        ("DELETE", None, True),
        ("OPTIONS", None, True),
        ("POST", None, False),
        ("PATCH", None, False),
        ("POST", True, True),
        ("PATCH", True, True),
        ("GET", False, False),
        ("PUT", False, False),
    ],
)
def test_which_requests_are_retried(
    make_transport: Any, fault_server: FaultServer, method: str, retry: Optional[bool], retried: bool
) -> None:
    transport, waits = make_transport()
    body = b"a=1" if method in ("POST", "PUT", "PATCH") else None
    response = send(transport, method, fault_server.url + "/503-twice-then-200", body, retry=retry)
    response.close()
    if retried:
        assert response.status_code == 200 and response.retries == 2
        assert fault_server.count() == 3
    else:
        assert response.status_code == 503 and response.retries == 0
        assert fault_server.count() == 1 and waits.waits == []


def test_streamed_body_is_never_sent_twice(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport()
    response = send(
        transport,
        "PUT",
        fault_server.url + "/503-twice-then-200",
        iter([b"part1", b"part2"]),
        headers={"Content-Length": "10"},
        retry=True,
        replayable=False,
    )
    assert response.status_code == 503 and response.retries == 0
    response.close()
    assert fault_server.bodies() == [b"part1part2"] and waits.waits == []


def test_reset_before_any_answer_is_retried_for_get(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport()
    fault_server.enqueue("reset-before-headers", "reset-before-headers")
    status, _, retries = fetch(transport, "GET", fault_server.url + "/json")
    assert (status, retries) == (200, 2)
    assert fault_server.count() == 3 and waits.waits == [0.375, 0.75]


def test_reset_after_the_post_arrived_is_not_retried(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport()
    with pytest.raises(soundcloud.ProtocolError, match="reset"):
        send(transport, "POST", fault_server.url + "/reset-before-headers", b"x=1")
    assert fault_server.bodies() == [b"x=1"] and waits.waits == []


def test_connection_refused_is_retried_then_raised(make_transport: Any) -> None:
    transport, waits = make_transport(max_retries=2)
    url = "http://127.0.0.1:%d/x" % closed_port()
    with pytest.raises(soundcloud.ConnectError, match="refused") as caught:
        send(transport, "GET", url)
    assert waits.waits == [0.375, 0.75]
    assert isinstance(caught.value.cause, ConnectionRefusedError)
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)
    assert caught.value.__context__ is None or caught.value.__context__ is caught.value.__cause__
    waits.waits.clear()
    with pytest.raises(soundcloud.ConnectError):
        send(transport, "POST", url, b"")  # a POST is not retried, even here
    assert waits.waits == []


def test_garbage_and_read_timeouts_are_not_retried(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport()
    with pytest.raises(soundcloud.ProtocolError, match="malformed"):
        send(transport, "GET", fault_server.url + "/garbage")
    with pytest.raises(soundcloud.TimeoutError, match="read timeout of 0.3 s"):
        send(transport, "GET", fault_server.url + "/stall", timeout=Timeout(connect=5, read=0.3))
    assert fault_server.count() == 2 and waits.waits == []


def test_default_random_and_sleep_are_the_real_ones(fault_server: FaultServer) -> None:
    transport = HTTPTransport(proxies={}, max_retries=1, backoff_factor=0.01)
    try:
        started = time.monotonic()
        response = send(transport, "GET", fault_server.url + "/503-twice-then-200?times=1")
        assert response.status_code == 200 and response.retries == 1
        response.close()
        assert time.monotonic() - started < 2
    finally:
        transport.close()


def test_client_max_retries_reaches_the_transport() -> None:
    client = soundcloud.Client(client_id="x", max_retries=0, proxies={})
    assert isinstance(client.transport, HTTPTransport) and client.transport.max_retries == 0
    client.close()


# -- timeouts and the total deadline -------------------------------------------------------


def test_read_timeout_names_itself(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    started = time.monotonic()
    with pytest.raises(soundcloud.TimeoutError) as caught:
        send(transport, "GET", fault_server.url + "/stall", timeout=Timeout(connect=5, read=0.5))
    assert 0.4 < time.monotonic() - started < 3
    assert "read timeout of 0.5 s" in str(caught.value)
    assert isinstance(caught.value, TimeoutError)  # the builtin, too


def test_body_read_timeout(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    response = send(transport, "GET", fault_server.url + "/stall-after-headers", timeout=Timeout(connect=5, read=0.5))
    with pytest.raises(soundcloud.TimeoutError, match="body stalled for the read timeout of 0.5 s"):
        response.read_all()


def test_connect_timeout_names_itself(make_transport: Any) -> None:
    # A listener whose accept queue is full: the kernel drops further SYNs, so connect hangs.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    try:
        address = listener.getsockname()
        for _ in range(8):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(address)
            fillers.append(filler)
        transport, waits = make_transport(max_retries=1)
        started = time.monotonic()
        with pytest.raises(soundcloud.TimeoutError, match="connect timeout of 0.3 s"):
            send(transport, "GET", "http://%s:%d/" % address, timeout=Timeout(connect=0.3, read=5))
        assert time.monotonic() - started < 3
        assert len(waits.waits) == 1  # a connect timeout is retried
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_total_deadline_beats_a_dripping_body(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    started = time.monotonic()
    response = send(
        transport, "GET", fault_server.url + "/drip?bytes=400&delay=0.02", timeout=Timeout(read=5, total=0.6)
    )
    with pytest.raises(soundcloud.TimeoutError, match="total deadline of 0.6 s") as caught:
        response.read_all()
    elapsed = time.monotonic() - started
    assert 0.5 < elapsed < 2.0
    assert isinstance(caught.value, TimeoutError)
    # The connection the deadline cut is gone; the next request gets a fresh one.
    assert fetch(transport, "GET", fault_server.url + "/json")[0] == 200
    assert fault_server.connections == 2


def test_total_deadline_beats_dripping_headers(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport()
    started = time.monotonic()
    with pytest.raises(soundcloud.TimeoutError, match="total deadline of 0.5 s"):
        send(transport, "GET", fault_server.url + "/drip-headers?delay=0.02&bytes=200", timeout=Timeout(read=5, total=0.5))
    assert 0.4 < time.monotonic() - started < 2.0
    assert waits.waits == []  # a passed deadline is never retried


def test_total_deadline_covers_stalls_shorter_than_the_read_timeout(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    started = time.monotonic()
    with pytest.raises(soundcloud.TimeoutError, match="total deadline"):
        send(transport, "GET", fault_server.url + "/stall", timeout=Timeout(read=30, total=0.4))
    assert time.monotonic() - started < 2.0


def test_streamed_body_leaves_the_deadline_at_its_first_read(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    response = send(
        transport, "GET", fault_server.url + "/drip?bytes=40&delay=0.03", timeout=Timeout(read=5, total=0.5)
    )
    started = time.monotonic()
    data = b""
    while True:
        chunk = response.read(8)
        if not chunk:
            break
        data += chunk
    assert time.monotonic() - started > 0.6  # past the total: per-chunk read timeout only
    assert data == b'{"drip":"' + b"x" * 29 + b'"}'


def test_requests_without_a_total_start_no_thread(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    watchdog = transport._watchdog
    for _ in range(3):
        fetch(transport, "GET", fault_server.url + "/json")
    assert watchdog._worker is None
    assert fetch(transport, "GET", fault_server.url + "/json", timeout=Timeout(5, total=5))[0] == 200
    thread = watchdog._worker
    assert thread is not None and thread.is_alive() and thread.daemon
    transport.close()  # nothing left to watch: the thread exits
    thread.join(5)
    assert not thread.is_alive()
    # A later deadline starts a new one.
    assert fetch(transport, "GET", fault_server.url + "/json", timeout=Timeout(5, total=5))[0] == 200
    assert watchdog._worker is not None and watchdog._worker is not thread


def test_deadline_never_touches_a_connection_back_in_the_pool(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    # Each request is done well before its deadline, and its connection goes back to the
    # pool: the deadlines passing afterwards must not shut that connection down.
    for _ in range(5):
        assert fetch(transport, "GET", fault_server.url + "/json", timeout=Timeout(5, total=0.2))[0] == 200
    time.sleep(0.4)  # letting the deadlines pass is the point here, not synchronisation
    assert fetch(transport, "GET", fault_server.url + "/json")[0] == 200
    assert fault_server.connections == 1
    assert not transport._watchdog._heap  # the passed deadlines were dropped


# -- limits ---------------------------------------------------------------------------------


def test_announced_body_over_the_limit_is_refused_unread(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    response = send(transport, "GET", fault_server.url + "/huge-json?size=200000000")
    started = time.monotonic()
    with pytest.raises(soundcloud.ResponseTooLargeError, match="200000000 bytes, over the limit of 1000"):
        response.read_all(1000)
    assert time.monotonic() - started < 1


def test_chunked_body_over_the_limit(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    response = send(transport, "GET", fault_server.url + "/huge-json?size=300000&chunked=1")
    with pytest.raises(soundcloud.ResponseTooLargeError, match="over the limit of 100000"):
        response.read_all(100000)
    response = send(transport, "GET", fault_server.url + "/huge-json?size=3000&chunked=1")
    assert len(response.read_all(100000)) == 3000


@pytest.mark.parametrize("query", ["count=2000&size=10", "count=1&size=70000"])
def test_absurd_headers(make_transport: Any, fault_server: FaultServer, query: str) -> None:
    transport, waits = make_transport()
    with pytest.raises(soundcloud.ResponseTooLargeError, match="headers are too large"):
        send(transport, "GET", fault_server.url + "/huge-headers?" + query)
    assert waits.waits == []


# -- request bodies -------------------------------------------------------------------------


def test_body_iterator_errors_propagate_unchanged(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()

    def body() -> Iterator[bytes]:
        yield b"first"
        raise OSError("the file went away")

    with pytest.raises(OSError, match="the file went away") as caught:
        send(transport, "POST", fault_server.url + "/echo", body(), headers={"Content-Length": "100"}, replayable=False)
    assert not isinstance(caught.value, soundcloud.SoundCloudError)
    assert fetch(transport, "GET", fault_server.url + "/json")[0] == 200


def test_upload_cut_off_is_an_upload_interrupted_error(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport()
    size = 64 * 1024 * 1024

    def body() -> Iterator[bytes]:
        chunk = b"x" * (1024 * 1024)
        for _ in range(64):
            yield chunk

    # The server resets once the head is in; the body is still going out.
    with pytest.raises(soundcloud.UploadInterruptedError, match="not retried"):
        send(
            transport, "POST", fault_server.url + "/reset-before-body", body(),
            headers={"Content-Length": str(size)}, replayable=False, retry=True,
        )
    assert fault_server.count() == 1 and waits.waits == []


# -- error mapping --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc, stage, expected, text",
    [
        (ConnectionRefusedError(111, "refused"), "connect", soundcloud.ConnectError, "refused"),
        (socket.gaierror(-2, "Name or service not known"), "connect", soundcloud.ConnectError, "resolved"),
        (OSError("Tunnel connection failed: 407 Proxy Authentication Required"), "connect", soundcloud.ConnectError, "tunnel"),
        (OSError(101, "Network is unreachable"), "connect", soundcloud.ConnectError, "connection failed"),
        (socket.timeout("timed out"), "connect", soundcloud.TimeoutError, "connect timeout of 10 s"),
        (socket.timeout("timed out"), "send", soundcloud.TimeoutError, "read timeout of 30 s"),
        (socket.timeout("timed out"), "response", soundcloud.TimeoutError, "no response within the read timeout"),
        (socket.timeout("timed out"), "body", soundcloud.TimeoutError, "body stalled"),
        (http.client.RemoteDisconnected("closed"), "response", soundcloud.ProtocolError, "without answering"),
        (ConnectionResetError(104, "reset"), "response", soundcloud.ProtocolError, "reset"),
        (BrokenPipeError(32, "pipe"), "send", soundcloud.ProtocolError, "reset"),
        (http.client.BadStatusLine("SSH-2.0"), "response", soundcloud.ProtocolError, "malformed"),
        (http.client.IncompleteRead(b"abc", 7), "body", soundcloud.ProtocolError, "after 3 bytes of the body, 7 more"),
        (http.client.LineTooLong("header line"), "response", soundcloud.ResponseTooLargeError, "too large"),
        (http.client.HTTPException("got more than 100 headers"), "response", soundcloud.ResponseTooLargeError, "too large"),
        (http.client.InvalidURL("control characters"), "send", ValueError, "cannot send"),
        (ValueError("Invalid header value"), "send", ValueError, "cannot send"),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), "connect", soundcloud.ConnectError, "verif"),
        (ssl.SSLError(1, "wrong version number"), "connect", soundcloud.ConnectError, "handshake"),
        (ssl.SSLEOFError(8, "EOF"), "body", soundcloud.ProtocolError, "TLS"),
        (RuntimeError("odd"), "response", soundcloud.TransportError, "failed"),
    ],
)
def test_map_exception(exc: BaseException, stage: str, expected: type, text: str) -> None:
    mapped = map_exception(exc, "GET", "https://api.example/x?access_token=SECRET", stage=stage, timeout=DEFAULT_TIMEOUT)
    assert type(mapped) is expected
    assert text in str(mapped)
    assert "SECRET" not in str(mapped)


def test_map_exception_deadline_and_body_started() -> None:
    mapped = map_exception(ConnectionResetError(), "GET", "http://h/", timeout=Timeout(5, total=2), deadline_passed=True)
    assert type(mapped) is soundcloud.TimeoutError and "total deadline of 2 s" in str(mapped)
    mapped = map_exception(ConnectionResetError(), "POST", "http://h/", body_started=True, stage="send")
    assert type(mapped) is soundcloud.UploadInterruptedError
    already = soundcloud.ProtocolError("x")
    assert map_exception(already, "GET", "http://h/") is already


# -- logging ------------------------------------------------------------------------------


def test_debug_logging_never_shows_the_token(fault_server: FaultServer, caplog: pytest.LogCaptureFixture) -> None:
    token = "SECRET-TOKEN-1234567890"
    waits = Waits()
    transport = HTTPTransport(proxies={}, sleep=waits, random=lambda: 0.5)
    client = soundcloud.Client(access_token=token, api_url=fault_server.url, transport=transport)
    try:
        with caplog.at_level(logging.DEBUG, logger="soundcloud"):
            assert client.get("/429-then-200", retry_after="2").ok is True
            client.get("/echo", access_token=token)  # even a token put in the query
            with pytest.raises(soundcloud.ServerError):
                client.post("/status/503", x=1)
    finally:
        client.close()
    text = caplog.text
    assert token not in text
    lines = [r.getMessage() for r in caplog.records if r.name == "soundcloud"]
    assert any("GET " in line and "/429-then-200" in line and "-> 200" in line and "retries: 1" in line for line in lines)
    assert any("status 429; retry 1 of 3 in 2.00 s" in line for line in lines)
    assert any(line.startswith("POST ") and "-> 503" in line and "retries: 0" in line for line in lines)
    assert fault_server.requests[1].headers["authorization"] == "OAuth " + token  # it was sent, just never logged
    assert waits.waits == [2.0]


# -- proxies --------------------------------------------------------------------------------


def test_normalize_proxies() -> None:
    proxies = normalize_proxies({"http": "proxy:3128", "https": "http://user:p%40ss@proxy2:8080", "all": ""})
    assert set(proxies) == {"http", "https"}
    assert (proxies["http"].host, proxies["http"].port, proxies["http"].authorization) == ("proxy", 3128, None)
    assert proxies["https"].authorization == "Basic dXNlcjpwQHNz"  # user:p@ss
    assert "p%40ss" not in proxies["https"].url
    assert normalize_proxies(None) == {}
    with pytest.raises(ValueError, match="keys"):
        normalize_proxies({"ftp": "proxy:1"})
    with pytest.raises(ValueError, match="scheme"):
        normalize_proxies({"http": "socks5://proxy:1"})
    with pytest.raises(ValueError, match="port"):
        normalize_proxies({"http": "proxy:notaport"})


def test_environment_proxies_and_no_proxy(monkeypatch: pytest.MonkeyPatch, fault_server: FaultServer) -> None:
    # An unreachable proxy in the environment: used unless NO_PROXY names the host.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:%d" % closed_port())
    transport = HTTPTransport(max_retries=0)
    try:
        with pytest.raises(soundcloud.ConnectError):
            send(transport, "GET", fault_server.url + "/json")
    finally:
        transport.close()
    monkeypatch.setenv("NO_PROXY", "example.com, 127.0.0.1")
    transport = HTTPTransport(max_retries=0)
    try:
        assert fetch(transport, "GET", fault_server.url + "/json")[0] == 200
    finally:
        transport.close()
    # proxies={} ignores the environment entirely.
    monkeypatch.delenv("NO_PROXY")
    transport = HTTPTransport(max_retries=0, proxies={})
    try:
        assert fetch(transport, "GET", fault_server.url + "/json")[0] == 200
    finally:
        transport.close()


# -- corners ------------------------------------------------------------------------------


def test_timeout_repr_and_equality() -> None:
    assert repr(Timeout(connect=1, read=2, total=3)) == "Timeout(connect=1.0, read=2.0, total=3.0)"
    assert Timeout(1) != "Timeout(1)"
    assert Timeout(1) != Timeout(2)


def test_transport_base_class() -> None:
    base = transport_base.Transport()
    with pytest.raises(NotImplementedError):
        base.handle_request(Request("GET", "http://h/", {}))
    base.close()


def test_status_retry_under_a_total_deadline(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport()
    status, _, retries = fetch(transport, "GET", fault_server.url + "/503-twice-then-200", timeout=Timeout(5, total=30))
    assert (status, retries) == (200, 2) and len(waits.waits) == 2
    assert fault_server.connections == 1  # the deadline let go of the connection between attempts
    assert not transport._watchdog._live


def test_retry_after_zero_retries_without_sleeping(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport()
    assert fetch(transport, "GET", fault_server.url + "/429-then-200?retry_after=0")[:3:2] == (200, 1)
    assert waits.waits == []


def test_an_interrupted_backoff_wait_propagates(make_transport: Any, fault_server: FaultServer) -> None:
    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    transport, _ = make_transport(sleep=interrupted)
    with pytest.raises(KeyboardInterrupt):
        send(transport, "GET", fault_server.url + "/503-twice-then-200", timeout=Timeout(5, total=30))
    assert transport._watchdog._live == 0  # its deadline was let go


def test_an_interrupted_upload_propagates_and_drops_the_connection(
    make_transport: Any, fault_server: FaultServer
) -> None:
    transport, _ = make_transport()
    assert fetch(transport, "GET", fault_server.url + "/json")[0] == 200

    def body() -> Iterator[bytes]:
        yield b"half"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        send(transport, "PUT", fault_server.url + "/echo", body(), headers={"Content-Length": "8"},
             timeout=Timeout(5, total=30))
    assert transport._watchdog._live == 0
    assert fetch(transport, "GET", fault_server.url + "/json")[0] == 200
    assert fault_server.connections == 2


def test_closing_a_stalled_body_gives_up_quickly(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    response = send(transport, "GET", fault_server.url + "/stall-after-headers")
    started = time.monotonic()
    response.close()  # 8 of the 11 bytes never come: the drain gives up, the connection goes
    assert time.monotonic() - started < 2
    assert fetch(transport, "GET", fault_server.url + "/json")[0] == 200
    assert fault_server.connections == 2
    response.close()  # closing twice is harmless


def test_closing_a_truncated_body_drops_the_connection(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    send(transport, "GET", fault_server.url + "/close-mid-body").close()
    send(transport, "GET", fault_server.url + "/close-delimited").close()
    assert fetch(transport, "GET", fault_server.url + "/json")[0] == 200
    assert fault_server.connections == 3


def test_stream_read_after_the_deadline(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    response = send(transport, "GET", fault_server.url + "/json", timeout=Timeout(5, total=0.2))
    time.sleep(0.4)  # let the deadline pass before the first read: that is the case under test
    with pytest.raises(soundcloud.TimeoutError, match="total deadline of 0.2 s"):
        response.read(10)


def test_watchdog_units() -> None:
    watchdog = transport_watchdog._Watchdog()
    a, b = socket.socketpair()
    try:
        early = watchdog.arm(0.05)  # fires with no socket attached
        time.sleep(0.3)  # let it pass
        assert watchdog.cancel(early) is True
        assert watchdog.cancel(early) is True  # idempotent
        # A connection attached after its deadline fired is shut down at once.
        late = watchdog.arm(30)
        late.fired = True
        watchdog.attach(late, a)
        assert b.recv(10) == b""
        watchdog.cancel(late)
        # Many cancelled deadlines never pile up.
        for _ in range(1000):
            watchdog.cancel(watchdog.arm(60))
        assert len(watchdog._heap) <= 130
    finally:
        watchdog.close()
        a.close()
        b.close()
    transport_watchdog._shutdown(a)  # a closed socket: nothing happens


def test_route_cache_is_bounded_and_shares_pools(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    host_port = fault_server.host_port
    # Twice as many route keys (one per userinfo) as the cache holds: it is emptied on the
    # way, and every request still goes on the one pooled connection to the one origin.
    routes = 2 * transport_http.MAX_ROUTES + 5
    for i in range(routes):
        assert fetch(transport, "GET", "http://user%d@%s/json" % (i, host_port))[0] == 200
    assert fault_server.connections == 1  # one origin, one pool, whatever the route cache did
    assert {r.connection for r in fault_server.requests} == {1} and fault_server.count() == routes
    assert fetch(transport, "GET", "http://%s?x=1" % host_port)[0] == 200  # no path: not cached
    assert fault_server.requests[-1].target == "/?x=1"


def test_unreadable_ca_bundle_is_a_connect_error(make_transport: Any, tmp_path: Any) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a certificate")
    transport, waits = make_transport(verify=str(bundle))
    with pytest.raises(soundcloud.ConnectError):
        send(transport, "GET", "https://127.0.0.1:%d/" % closed_port())
    assert waits.waits == []


def test_retry_classification() -> None:
    retryable = transport_retry._is_retryable_error
    assert retryable(ConnectionRefusedError(), "connect")
    assert retryable(socket.timeout(), "connect")
    assert not retryable(socket.gaierror(-2, "unknown"), "connect")
    assert not retryable(OSError("Tunnel connection failed: 403 Forbidden"), "connect")
    assert not retryable(ssl.SSLCertVerificationError(1, "bad"), "connect")
    assert retryable(http.client.RemoteDisconnected("x"), "response")
    assert retryable(BrokenPipeError(), "send")
    assert not retryable(socket.timeout(), "response")
    assert not retryable(http.client.BadStatusLine("garbage"), "response")


def test_more_mappings() -> None:
    mapped = map_exception(ValueError("odd"), "GET", "http://h/", stage="body")
    assert type(mapped) is soundcloud.ProtocolError and "malformed body" in str(mapped)
    mapped = map_exception(OSError(100, "Network is down"), "GET", "http://h/", stage="response")
    assert type(mapped) is soundcloud.ProtocolError
    mapped = map_exception(socket.timeout(), "GET", "http://h/")
    assert type(mapped) is soundcloud.TimeoutError and "timed out" in str(mapped)
    mapped = map_exception(OSError(), "GET", "http://h/", deadline_passed=True)
    assert "the total deadline passed" in str(mapped)


def test_proxy_corner_cases(monkeypatch: pytest.MonkeyPatch, fault_server: FaultServer) -> None:
    with pytest.raises(ValueError, match="no host"):
        normalize_proxies({"http": "http://:8080"})
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:%d" % closed_port())
    monkeypatch.setenv("NO_PROXY", "*")
    transport = HTTPTransport(max_retries=0)
    try:
        assert fetch(transport, "GET", fault_server.url + "/json")[0] == 200
    finally:
        transport.close()


def test_no_retry_wait_runs_past_the_total_deadline(make_transport: Any) -> None:
    transport, waits = make_transport(backoff_factor=1.0)
    started = time.monotonic()
    with pytest.raises(soundcloud.ConnectError, match="refused"):
        send(transport, "GET", "http://127.0.0.1:%d/" % closed_port(), timeout=Timeout(5, total=0.5))
    assert waits.waits == []  # a 0.75 s wait would end past the deadline
    assert time.monotonic() - started < 0.5
