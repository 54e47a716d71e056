"""What the transport puts on the wire and how it lets connections go: bad URLs and header
values refused before anything is sent, body framing (Content-Length or chunked) and the
Host header with an origin-form target, responses closed early (drained and reused, or
dropped), ``close()`` on the transport and on the client, and debug logging that never
shows a token."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

import soundcloud
from soundcloud._models import Request
from soundcloud.transport import HTTPTransport

from support.faults import FaultServer, KeepAliveServer
from support.transport_calls import TIMEOUT, Waits, fetch, send, wait_closed_by_client


# -- requests -------------------------------------------------------------------------------


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
    # Answers read whole may come compressed (never http.client's own "identity").
    assert request.headers["accept-encoding"] == "gzip, deflate"


# -- closing responses, the transport and the client ----------------------------------------


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


# -- logging --------------------------------------------------------------------------------


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
