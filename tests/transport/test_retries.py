"""Which requests, statuses and errors are retried, and how: exponential backoff with
jitter under a cap, Retry-After (seconds or a date) and x-ratelimit-reset, ``max_retries``,
waits that would run past the total deadline, resets and refused connections, and POSTs
and streamed bodies that are never sent twice; through the transport and through the
client. Backoff waits go to an injected sleep: no test here waits for a real one."""

from __future__ import annotations

import email.utils
import socket
import time
from typing import Any, Callable, Optional

import pytest

import soundcloud
from soundcloud._models import Timeout
from soundcloud.transport import HTTPTransport

from support.faults import FaultServer
from support.request_server import FaultContext
from support.transport_calls import FAULT_TOKEN as TOKEN
from support.transport_calls import Waits, closed_port, elapsed_since, fetch, no_token_in, send


# -- statuses and backoff -------------------------------------------------------------------


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


def test_exhausted_retries_return_the_last_answer(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport(max_retries=3)
    response = send(transport, "GET", fault_server.url + "/503-twice-then-200?times=100")
    assert response.status_code == 503 and response.retries == 3
    assert b"503" in response.read_all()
    assert fault_server.count() == 4 and len(waits.waits) == 3


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


def test_an_interrupted_backoff_wait_propagates(make_transport: Any, fault_server: FaultServer) -> None:
    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    transport, _ = make_transport(sleep=interrupted)
    with pytest.raises(KeyboardInterrupt):
        send(transport, "GET", fault_server.url + "/503-twice-then-200", timeout=Timeout(5, total=30))
    assert transport._watchdog._live == 0  # its deadline was let go


def test_503_twice_then_200(client: soundcloud.Client, fault_server: FaultServer, waits: Waits) -> None:
    result = client.get("/503-twice-then-200")
    assert result.ok is True and result.hit == 3
    assert waits == [0.375, 0.75]
    assert fault_server.count() == 3 and fault_server.connections == 1


def test_503_beyond_the_retries_raises_server_error(
    client_factory: Callable[..., soundcloud.Client], fault_server: FaultServer, waits: Waits
) -> None:
    client = client_factory(max_retries=2)
    with pytest.raises(soundcloud.ServerError):
        client.get("/503-twice-then-200", times="5")
    assert fault_server.count() == 3 and len(waits) == 2


# -- Retry-After and rate limits ------------------------------------------------------------


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


def test_retry_after_zero_retries_without_sleeping(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport()
    assert fetch(transport, "GET", fault_server.url + "/429-then-200?retry_after=0")[:3:2] == (200, 1)
    assert waits.waits == []


def test_429_with_retry_after_then_200(client: soundcloud.Client, fault_server: FaultServer, waits: Waits) -> None:
    result = client.get("/429-then-200")
    assert result.ok is True and result.hit == 2
    assert waits == [1.0]
    assert fault_server.count() == 2


def test_429_with_a_long_retry_after_raises_at_once(
    client: soundcloud.Client, fault_server: FaultServer, waits: Waits
) -> None:
    with pytest.raises(soundcloud.TooManyRequestsError) as caught:
        client.get("/429-then-200", retry_after="3600")
    assert caught.value.retry_after == 3600.0
    assert caught.value.status_code == 429 and "rate limit exceeded" in str(caught.value)
    assert waits == [] and fault_server.count() == 1


# -- max_retries and the total deadline -----------------------------------------------------


def test_max_retries_zero_turns_retries_off(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport(max_retries=0)
    response = send(transport, "GET", fault_server.url + "/503-twice-then-200")
    assert response.status_code == 503 and response.retries == 0
    response.close()
    with pytest.raises(soundcloud.ConnectError):
        send(transport, "GET", "http://127.0.0.1:%d/" % closed_port())
    assert waits.waits == [] and fault_server.count() == 1


def test_max_retries_zero(client_factory: Callable[..., soundcloud.Client], fault_server: FaultServer, waits: Waits) -> None:
    client = client_factory(max_retries=0)
    with pytest.raises(soundcloud.ServerError):
        client.get("/503-twice-then-200")
    with pytest.raises(soundcloud.TooManyRequestsError):
        client.get("/429-then-200")
    assert fault_server.count() == 2 and waits == []


def test_retry_after_past_the_total_deadline_returns_at_once(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport()
    response = send(
        transport, "GET", fault_server.url + "/429-then-200?retry_after=5", timeout=Timeout(5, total=2)
    )
    assert response.status_code == 429 and response.retries == 0
    assert b"rate limit" in response.read_all()
    assert waits.waits == []


def test_status_retry_under_a_total_deadline(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport()
    status, _, retries = fetch(transport, "GET", fault_server.url + "/503-twice-then-200", timeout=Timeout(5, total=30))
    assert (status, retries) == (200, 2) and len(waits.waits) == 2
    assert fault_server.connections == 1  # the deadline let go of the connection between attempts
    assert not transport._watchdog._live


def test_no_retry_wait_runs_past_the_total_deadline(make_transport: Any) -> None:
    transport, waits = make_transport(backoff_factor=1.0)
    started = time.monotonic()
    with pytest.raises(soundcloud.ConnectError, match="refused"):
        send(transport, "GET", "http://127.0.0.1:%d/" % closed_port(), timeout=Timeout(5, total=0.5))
    assert waits.waits == []  # a 0.75 s wait would end past the deadline
    assert time.monotonic() - started < 0.5


# -- which requests are retried -------------------------------------------------------------


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


def test_503_to_a_post_is_raised_without_a_retry(
    client: soundcloud.Client, fault_server: FaultServer, waits: Waits
) -> None:
    with pytest.raises(soundcloud.ServerError) as caught:
        client.post("/503-twice-then-200", title="x")
    assert caught.value.status_code == 503
    assert fault_server.count() == 1 and waits == []


# -- which errors are retried ---------------------------------------------------------------


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


def test_get_reset_before_headers_is_retried_to_success(
    client: soundcloud.Client, fault_server: FaultServer, waits: Waits
) -> None:
    fault_server.enqueue("reset-before-headers", "reset-before-headers")
    result = client.get("/json")
    assert result.ok is True and result.hit == 1
    assert fault_server.count() == 3
    assert waits == [0.375, 0.75]


def test_get_reset_every_time_gives_a_protocol_error_after_the_retries(
    client: soundcloud.Client, fault_server: FaultServer, waits: Waits
) -> None:
    with pytest.raises(soundcloud.ProtocolError, match="reset") as caught:
        client.get("/reset-before-headers")
    no_token_in(caught.value)
    assert fault_server.count() == 4  # 1 + max_retries
    assert len(waits) == 3


def test_post_reset_after_its_body_arrived_is_sent_once(
    client: soundcloud.Client, fault_server: FaultServer, waits: Waits
) -> None:
    with pytest.raises(soundcloud.ProtocolError):
        client.post("/reset-before-headers", title="once")
    assert fault_server.bodies() == [b"title=once"]
    assert waits == []


def test_post_opted_in_to_retries_is_retried(
    client: soundcloud.Client, fault_server: FaultServer, waits: Waits
) -> None:
    fault_server.enqueue("reset-before-headers")
    assert client.post("/json", retry=True, title="again").ok is True
    assert fault_server.bodies() == [b"title=again", b"title=again"]
    assert waits == [0.375]


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


def test_connection_refused(waits: Waits) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    transport = HTTPTransport(proxies={}, sleep=waits, random=lambda: 0.5)
    client = soundcloud.Client(access_token=TOKEN, api_url="http://127.0.0.1:%d" % port, transport=transport)
    try:
        started = time.monotonic()
        with pytest.raises(soundcloud.ConnectError, match="refused") as caught:
            client.get("/tracks")
        assert elapsed_since(started) < 2
        assert waits == [0.375, 0.75, 1.5]
        no_token_in(caught.value)
        waits.clear()
        with pytest.raises(soundcloud.ConnectError, match="refused"):
            client.post("/tracks", title="x")
        assert waits == []
    finally:
        client.close()


def test_garbage_and_read_timeouts_are_not_retried(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport()
    with pytest.raises(soundcloud.ProtocolError, match="malformed"):
        send(transport, "GET", fault_server.url + "/garbage")
    with pytest.raises(soundcloud.TimeoutError, match="read timeout of 0.3 s"):
        send(transport, "GET", fault_server.url + "/stall", timeout=Timeout(connect=5, read=0.3))
    assert fault_server.count() == 2 and waits.waits == []
