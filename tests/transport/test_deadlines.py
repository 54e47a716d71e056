"""Timeouts and the total deadline against real servers: connect and read timeouts name
themselves, a stalled answer or body is a read timeout, a dripping head or body that beats
the read timeout is cut at the total deadline (and the client goes on), a streamed body
leaves the deadline at its first read, and the watchdog runs a thread only while a
deadline is armed and never touches a connection back in the pool."""

from __future__ import annotations

import socket
import time
from typing import Any, Callable

import pytest

import soundcloud
from soundcloud._models import Timeout
from soundcloud.transport import watchdog as transport_watchdog

from support.faults import FaultServer
from support.transport_calls import Waits, elapsed_since, fetch, no_token_in, send


# -- connect and read timeouts --------------------------------------------------------------


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


# -- the total deadline ---------------------------------------------------------------------


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


def test_stream_read_after_the_deadline(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    response = send(transport, "GET", fault_server.url + "/json", timeout=Timeout(5, total=0.2))
    time.sleep(0.4)  # let the deadline pass before the first read: that is the case under test
    with pytest.raises(soundcloud.TimeoutError, match="total deadline of 0.2 s"):
        response.read(10)


# -- the watchdog ---------------------------------------------------------------------------


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
