"""Fault injection through the public client: a loopback server resets, truncates, stalls,
drips, throttles, closes idle connections and sends garbage. Each case ends in the
documented exception or a correct result, within its timeout, and nothing that must not be
sent twice is (the server's request counts say so). Backoff waits go to an injected sleep:
no test here waits for a real one."""

from __future__ import annotations

import socket
import time
from typing import Any, Callable, Iterator, List, Optional

import pytest

import soundcloud
from soundcloud._models import Timeout
from soundcloud.transport import HTTPTransport

from servers import SERVER, FaultServer, wait_until

TOKEN = "fault-token-d0n0tl0g"


class Waits(List[float]):
    """An injected ``sleep`` that records instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def client_factory(fault_server: FaultServer, waits: Waits) -> Iterator[Callable[..., soundcloud.Client]]:
    made: List[soundcloud.Client] = []

    def make(*, max_retries: int = 3, timeout: Any = Timeout(5), **kwargs: Any) -> soundcloud.Client:
        transport = HTTPTransport(proxies={}, max_retries=max_retries, sleep=waits, random=lambda: 0.5)
        kwargs.setdefault("access_token", TOKEN)
        client = soundcloud.Client(api_url=fault_server.url, transport=transport, timeout=timeout, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(client_factory: Callable[..., soundcloud.Client]) -> soundcloud.Client:
    return client_factory()


def elapsed_since(started: float) -> float:
    return time.monotonic() - started


def no_token_in(error: BaseException) -> None:
    assert TOKEN not in str(error) and TOKEN not in repr(error)


# -- resets ---------------------------------------------------------------------------------


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


def test_reset_after_headers_is_a_protocol_error_and_not_retried(
    client: soundcloud.Client, fault_server: FaultServer, waits: Waits
) -> None:
    with pytest.raises(soundcloud.ProtocolError, match="reset"):
        client.get("/reset-after-headers")
    assert fault_server.count() == 1 and waits == []


# -- broken bodies --------------------------------------------------------------------------


def test_close_mid_body(client: soundcloud.Client, fault_server: FaultServer) -> None:
    with pytest.raises(soundcloud.ProtocolError, match="after 10 bytes of the body, 90 more were expected"):
        client.get("/close-mid-body")
    assert fault_server.count() == 1


def test_broken_chunked_encoding(client: soundcloud.Client, fault_server: FaultServer) -> None:
    with pytest.raises(soundcloud.ProtocolError):
        client.get("/broken-chunked")
    assert fault_server.count() == 1


def test_close_delimited_body_is_read_to_the_end(client: soundcloud.Client, fault_server: FaultServer) -> None:
    assert client.get("/close-delimited").ok is True
    assert client.get("/json").ok is True
    assert fault_server.connections == 2  # the close-delimited one could not be reused


def test_garbage_instead_of_http(client: soundcloud.Client, fault_server: FaultServer, waits: Waits) -> None:
    with pytest.raises(soundcloud.ProtocolError, match="malformed HTTP response"):
        client.get("/garbage")
    assert fault_server.count() == 1 and waits == []


# -- stalls and drips -------------------------------------------------------------------------


def test_stall_before_the_answer_is_a_read_timeout(
    client: soundcloud.Client, fault_server: FaultServer, waits: Waits
) -> None:
    started = time.monotonic()
    with pytest.raises(soundcloud.TimeoutError, match="read timeout of 0.5 s") as caught:
        client.get("/stall", timeout=Timeout(connect=5, read=0.5))
    assert 0.4 < elapsed_since(started) < 3
    assert isinstance(caught.value, TimeoutError)
    assert isinstance(caught.value, soundcloud.TransportError)
    assert fault_server.count() == 1 and waits == []  # read timeouts are not retried


def test_stall_in_the_body(client: soundcloud.Client, fault_server: FaultServer) -> None:
    started = time.monotonic()
    with pytest.raises(soundcloud.TimeoutError, match="body stalled"):
        client.get("/stall-after-headers", timeout=Timeout(connect=5, read=0.5))
    assert elapsed_since(started) < 3


def test_drip_defeats_the_read_timeout_alone(client: soundcloud.Client) -> None:
    # 30 bytes 20 ms apart: no single wait reaches the 0.2 s read timeout, the whole takes 0.6 s.
    started = time.monotonic()
    result = client.get("/drip?bytes=30&delay=0.02", timeout=Timeout(connect=5, read=0.2))
    assert result.drip == "x" * 19
    assert elapsed_since(started) > 0.5


def test_total_deadline_stops_a_dripping_body(client: soundcloud.Client, fault_server: FaultServer) -> None:
    started = time.monotonic()
    with pytest.raises(soundcloud.TimeoutError, match="total deadline of 0.6 s"):
        client.get("/drip?bytes=1000&delay=0.02", timeout=Timeout(read=5, total=0.6))
    assert 0.5 < elapsed_since(started) < 2
    assert client.get("/json").ok is True  # and the client goes on


def test_total_deadline_stops_dripping_headers(client: soundcloud.Client, waits: Waits) -> None:
    started = time.monotonic()
    with pytest.raises(soundcloud.TimeoutError, match="total deadline of 0.6 s") as caught:
        client.get("/drip-headers?bytes=200&delay=0.02", timeout=Timeout(read=5, total=0.6))
    assert 0.5 < elapsed_since(started) < 2
    assert waits == []
    no_token_in(caught.value)


def test_client_timeout_default_applies(client_factory: Callable[..., soundcloud.Client]) -> None:
    client = client_factory(timeout=Timeout(read=5, total=0.5))
    started = time.monotonic()
    with pytest.raises(soundcloud.TimeoutError, match="total deadline of 0.5 s"):
        client.get("/stall")
    assert elapsed_since(started) < 2


# -- throttling and flaky servers ------------------------------------------------------------


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


def test_503_twice_then_200(client: soundcloud.Client, fault_server: FaultServer, waits: Waits) -> None:
    result = client.get("/503-twice-then-200")
    assert result.ok is True and result.hit == 3
    assert waits == [0.375, 0.75]
    assert fault_server.count() == 3 and fault_server.connections == 1


def test_503_to_a_post_is_raised_without_a_retry(
    client: soundcloud.Client, fault_server: FaultServer, waits: Waits
) -> None:
    with pytest.raises(soundcloud.ServerError) as caught:
        client.post("/503-twice-then-200", title="x")
    assert caught.value.status_code == 503
    assert fault_server.count() == 1 and waits == []


def test_503_beyond_the_retries_raises_server_error(
    client_factory: Callable[..., soundcloud.Client], fault_server: FaultServer, waits: Waits
) -> None:
    client = client_factory(max_retries=2)
    with pytest.raises(soundcloud.ServerError):
        client.get("/503-twice-then-200", times="5")
    assert fault_server.count() == 3 and len(waits) == 2


def test_max_retries_zero(client_factory: Callable[..., soundcloud.Client], fault_server: FaultServer, waits: Waits) -> None:
    client = client_factory(max_retries=0)
    with pytest.raises(soundcloud.ServerError):
        client.get("/503-twice-then-200")
    with pytest.raises(soundcloud.TooManyRequestsError):
        client.get("/429-then-200")
    assert fault_server.count() == 2 and waits == []


# -- idle keep-alive connections the server closes --------------------------------------------


def wait_for_fin(fault_server: FaultServer) -> None:
    """Block until the server closed the connection of its last answer and the client's TCP
    acknowledged the FIN: from then on the client's idle pooled connection shows the close."""
    number = fault_server.requests[-1].connection
    wait_until(lambda: fault_server.closed_by(number) == SERVER, message="the FIN of connection %d got through" % number)


def test_server_closing_idle_keepalive_connections(
    client: soundcloud.Client, fault_server: FaultServer, waits: Waits
) -> None:
    for round_ in range(3):
        # An idempotent request may meet the dead connection: it is sent again on a new one.
        assert client.get("/close-after-response").ok is True
        assert client.put("/echo", title="put-%d" % round_).method == "PUT"
        # A POST must not: the idle check sees the server's FIN and skips that connection.
        assert client.get("/close-after-response").ok is True
        wait_for_fin(fault_server)
        assert client.post("/echo", title="post-%d" % round_).method == "POST"
    # Every request arrived exactly once, whatever connection it went on.
    assert fault_server.bodies("/echo") == [
        b"title=put-0", b"title=post-0", b"title=put-1", b"title=post-1", b"title=put-2", b"title=post-2"
    ]
    assert fault_server.count("/close-after-response") == 6
    assert waits == []


# -- limits ---------------------------------------------------------------------------------


def test_absurd_headers(client: soundcloud.Client, fault_server: FaultServer) -> None:
    with pytest.raises(soundcloud.ResponseTooLargeError, match="headers are too large"):
        client.get("/huge-headers")
    with pytest.raises(soundcloud.ResponseTooLargeError, match="headers are too large"):
        client.get("/huge-headers", count="1", size="100000")
    assert client.get("/json").ok is True


def test_oversize_json_is_refused_before_it_is_read(client: soundcloud.Client) -> None:
    # Default max_body_size is 64 MiB; 80 MiB announced: refused at once, nothing buffered.
    started = time.monotonic()
    with pytest.raises(soundcloud.ResponseTooLargeError, match="83886080 bytes, over the limit of 67108864"):
        client.get("/huge-json", size=str(80 * 1024 * 1024))
    assert elapsed_since(started) < 2


def test_oversize_chunked_json_stops_at_the_limit(client_factory: Callable[..., soundcloud.Client]) -> None:
    client = client_factory(max_body_size=1024 * 1024)
    with pytest.raises(soundcloud.ResponseTooLargeError, match="over the limit of 1048576 bytes"):
        client.get("/huge-json", size=str(32 * 1024 * 1024), chunked="1")
    small = client.get("/huge-json", size="1000", chunked="1")
    assert len(small.data) == 989


# -- connecting -----------------------------------------------------------------------------


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


# -- the pool survives every fault -------------------------------------------------------------


@pytest.mark.parametrize(
    "path, error",
    [
        ("/reset-before-headers", soundcloud.ProtocolError),
        ("/reset-after-headers", soundcloud.ProtocolError),
        ("/close-mid-body", soundcloud.ProtocolError),
        ("/broken-chunked", soundcloud.ProtocolError),
        ("/garbage", soundcloud.ProtocolError),
        ("/huge-headers", soundcloud.ResponseTooLargeError),
        ("/stall", soundcloud.TimeoutError),
        ("/stall-after-headers", soundcloud.TimeoutError),
        ("/drip-headers?bytes=400&delay=0.01", soundcloud.TimeoutError),
        (None, None),
    ],
)
def test_client_keeps_working_after_a_fault(
    client_factory: Callable[..., soundcloud.Client],
    fault_server: FaultServer,
    path: Optional[str],
    error: Optional[type],
) -> None:
    client = client_factory(max_retries=0, timeout=Timeout(connect=5, read=0.5, total=1.5))
    assert client.get("/json").hit == 1
    if path is not None and error is not None:
        with pytest.raises(error):
            client.get(path)
    for _ in range(3):
        assert client.get("/json").ok is True
    assert fault_server.count("/json") == 4
