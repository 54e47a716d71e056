"""Size limits on answers: a body announced over the limit is refused before it is read, a
chunked body stops at the limit, and absurd headers (too many, or too long) are refused
without a retry; through the transport and through the client's ``max_body_size``. (The
client-level absurd-headers test is in test_transport_faults.py: the two share a name.)"""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest

import soundcloud

from support.faults import FaultServer
from support.transport_calls import elapsed_since, send


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
