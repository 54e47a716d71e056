"""The test servers do what they claim, proved with stdlib clients only.

Every client call here has its own timeout: pytest has no per-test timeout in this
project, so a server bug must surface as a failure, never as a hang.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import importlib
import importlib.machinery
import select
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, List, NamedTuple

import pytest
from support.base import CLIENT, RESET, SERVER, STOPPED, SocketServer
from support.faults import FAULT_SCENARIOS, FaultServer
from support.proxy import ForwardProxy, ProxyRequest
from support.request_server import FaultContext, RequestServer
from support.tls import TLSServer
from support.wire import WireRequest, make_client_context, wait_until

if TYPE_CHECKING:
    import trustme

TIMEOUT = 5.0
#: stop() must return well inside this even with stalled connections open.
PROMPT = 2.0


@contextlib.contextmanager
def http_conn(server: SocketServer, timeout: float = TIMEOUT) -> Iterator[http.client.HTTPConnection]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
    try:
        yield conn
    finally:
        conn.close()


class Reply(NamedTuple):
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def get(server: SocketServer, path: str, timeout: float = TIMEOUT) -> Reply:
    """One GET on a fresh connection, read to the end."""
    with http_conn(server, timeout) as conn:
        conn.request("GET", path)
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read())


def raw_exchange(port: int, data: bytes, timeout: float = TIMEOUT) -> bytes:
    """Send raw bytes, read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks: List[bytes] = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def timed_stop(server: SocketServer) -> float:
    start = time.monotonic()
    server.stop()
    return time.monotonic() - start


# --------------------------------------------------------------------------------------
# Lifecycle


def json_answer(ctx: FaultContext) -> bool:
    return ctx.respond_json(200, {"hit": ctx.hit})


class OneLineServer(SocketServer):
    """A raw server on the base: reads one line, answers it upper-cased, closes."""

    def handle(self, conn: socket.socket, number: int) -> None:
        line = conn.recv(100)
        self._record(line)
        conn.sendall(b"%d:%s" % (number, line.upper()))


@pytest.mark.parametrize(
    "factory",
    [FaultServer, ForwardProxy, TLSServer, lambda: RequestServer(json_answer), OneLineServer],
    ids=["fault", "proxy", "tls", "request", "raw"],
)
def test_start_returns_listening_and_stop_is_idempotent(factory: type) -> None:
    server = factory()
    with pytest.raises(RuntimeError):
        server.url  # not started: no port yet
    assert not server.ready.is_set()
    assert server.start() is server
    assert server.ready.is_set()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT):
            pass
        with pytest.raises(RuntimeError):
            server.start()
    finally:
        server.stop()
    server.stop()
    assert server.threads_alive == 0
    assert server.active_connections == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT).close()


def test_stop_without_start_is_harmless() -> None:
    FaultServer().stop()
    TLSServer().stop()
    OneLineServer().stop()


# --------------------------------------------------------------------------------------
# The base server: connections, how they end, requests, waiting


def test_wait_until_returns_the_value_and_gives_up_in_time() -> None:
    assert wait_until(lambda: 42) == 42
    start = time.monotonic()
    with pytest.raises(AssertionError, match="gave up after 0.2 s waiting until pigs fly"):
        wait_until(lambda: None, 0.2, "pigs fly")
    assert 0.2 <= time.monotonic() - start < PROMPT


def test_base_numbers_connections_and_records_on_the_server_side() -> None:
    with OneLineServer() as server:
        for word in (b"a", b"b"):
            assert raw_exchange(server.port, word) == b"%d:%s" % (server.connections, word.upper())
        assert server.connections == 2
        assert server.requests == [b"a", b"b"]
        wait_until(lambda: server.closed_connections == 2, message="both connections ended")
        assert [server.closed_by(n) for n in (1, 2)] == [SERVER, SERVER]
        server.clear()
        assert server.requests == [] and server.connections == 2


def test_base_without_a_handler_records_the_error() -> None:
    with SocketServer() as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
            assert sock.recv(1) == b""  # the connection is closed all the same
        wait_until(lambda: server.errors, message="the error was recorded")
        assert isinstance(server.errors[0], NotImplementedError)


def test_base_tells_who_closed_each_connection() -> None:
    def answer(ctx: FaultContext) -> bool:
        return ctx.respond(200, b"bye", keep_alive=ctx.request.path != "/last")

    with RequestServer(answer) as server:
        with http_conn(server) as conn:  # 1: two requests, then the client closes
            for path in ("/a", "/b"):
                conn.request("GET", path)
                assert conn.getresponse().read() == b"bye"
        wait_until(lambda: server.closed_by(1), message="connection 1 ended")
        assert server.closed_by(1) == CLIENT
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        try:  # 2: the server closes after its answer
            sock.sendall(b"GET /last HTTP/1.1\r\nHost: x\r\n\r\n")
            wait_until(lambda: server.closed_by(2), message="connection 2 ended")
            assert server.closed_by(2) == SERVER
            # SERVER means the client's TCP acknowledged the FIN: the close shows at once.
            assert select.select([sock], [], [], 0)[0]
            assert sock.recv(4096).endswith(b"bye") and sock.recv(1) == b""
        finally:
            sock.close()
        assert [r.connection for r in server.requests] == [1, 1, 2]
        assert [r.scenario for r in server.requests] == ["", "", ""]
        assert (server.closed_by_client, server.closed_by_server) == (1, 1)
        with http_conn(server) as conn:  # 3: open and idle when the server stops
            conn.request("GET", "/c")
            conn.getresponse().read()
            assert server.closed_by(3) == ""
            server.stop()
        assert server.closed_by(3) == STOPPED
        assert (server.closed_connections, server.closed_by_client, server.closed_by_server) == (3, 1, 1)


@pytest.mark.parametrize("reset", [False, True])
def test_base_closes_an_idle_connection_on_demand(reset: bool) -> None:
    with RequestServer(json_answer) as server:
        with http_conn(server) as conn:
            conn.request("GET", "/json")
            assert json.loads(conn.getresponse().read()) == {"hit": 1}
            sock = conn.sock
            assert sock is not None
            assert not select.select([sock], [], [], 0)[0]  # idle, kept alive
            assert server.close_connection(1, reset=reset) == (RESET if reset else SERVER)
            if reset:  # a RST is not acknowledged: the client sees it when it arrives
                assert select.select([sock], [], [], TIMEOUT)[0]
                with pytest.raises(ConnectionResetError):
                    sock.recv(1)
            else:  # an acknowledged FIN is there already
                assert select.select([sock], [], [], 0)[0]
                assert sock.recv(1) == b""
        with pytest.raises(ValueError, match="not open"):
            server.close_connection(1)
        assert server.closed_by_server == 1 and server.closed_by_client == 0


def test_fault_reset_is_seen_as_a_reset(fault_server: FaultServer) -> None:
    with pytest.raises(ConnectionResetError):
        get(fault_server, "/reset-before-headers")
    wait_until(lambda: fault_server.closed_by(1), message="the connection ended")
    assert fault_server.closed_by(1) == RESET


# --------------------------------------------------------------------------------------
# TLSServer


def test_tls_json_verified_with_generated_ca(tls_server: TLSServer) -> None:
    assert tls_server.url == "https://localhost:%d" % tls_server.port
    context = ssl.create_default_context(cafile=tls_server.ca_path)
    with urllib.request.urlopen(tls_server.url + "/json", context=context, timeout=TIMEOUT) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        assert json.loads(response.read()) == {"ok": True}
    assert [r.path for r in tls_server.requests] == ["/json"]


def test_tls_certificate_names_the_ip_too(tls_server: TLSServer) -> None:
    with urllib.request.urlopen(
        tls_server.ip_url + "/json", context=tls_server.client_context(), timeout=TIMEOUT
    ) as response:
        assert json.loads(response.read()) == {"ok": True}


def test_tls_fails_verification_without_the_ca(tls_server: TLSServer) -> None:
    conn = http.client.HTTPSConnection(
        "localhost", tls_server.port, context=ssl.create_default_context(), timeout=TIMEOUT
    )
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            conn.request("GET", "/json")
    finally:
        conn.close()
    tls_server.stop()  # joins the server threads: their record is final
    assert tls_server.requests == []
    assert len(tls_server.handshake_errors) == 1


def test_tls_hostname_mismatch_is_rejected(tls_ca: trustme.CA) -> None:
    with TLSServer(ca=tls_ca, hostnames=["other.invalid"]) as server:
        conn = http.client.HTTPSConnection("localhost", server.port, context=server.client_context(), timeout=TIMEOUT)
        try:
            with pytest.raises(ssl.SSLCertVerificationError, match="[Hh]ostname"):
                conn.request("GET", "/json")
        finally:
            conn.close()


def test_tls_echo_records_and_keeps_alive(tls_server: TLSServer) -> None:
    conn = http.client.HTTPSConnection("localhost", tls_server.port, context=tls_server.client_context(), timeout=TIMEOUT)
    try:
        conn.request("POST", "/echo?a=1&a=2", body=b"x=1", headers={"X-Test": "yes", "Content-Type": "text/plain"})
        echoed = json.loads(conn.getresponse().read())
        conn.request("GET", "/json")
        assert json.loads(conn.getresponse().read()) == {"ok": True}
    finally:
        conn.close()
    assert echoed["method"] == "POST"
    assert echoed["path"] == "/echo"
    assert echoed["query"] == {"a": ["1", "2"]}
    assert echoed["headers"]["x-test"] == "yes"
    assert echoed["body"] == "x=1"
    first, second = tls_server.requests
    assert isinstance(first, WireRequest)
    assert (first.method, first.body, first.headers["content-type"]) == ("POST", b"x=1", "text/plain")
    assert first.connection == second.connection == 1
    assert tls_server.connections == 1


def test_tls_redirect_status_and_custom_routes(tls_ca: trustme.CA) -> None:
    routes = {"/custom": lambda request: (201, {"X-Route": "custom"}, b"made")}
    with TLSServer(ca=tls_ca, routes=routes) as server:
        conn = http.client.HTTPSConnection("localhost", server.port, context=server.client_context(), timeout=TIMEOUT)
        try:
            conn.request("GET", "/redirect?to=/json&status=307")
            response = conn.getresponse()
            response.read()
            assert (response.status, response.headers["Location"]) == (307, "/json")
            conn.request("GET", "/status/418")
            response = conn.getresponse()
            assert (response.status, json.loads(response.read())) == (418, {"status": 418})
            conn.request("GET", "/custom")
            response = conn.getresponse()
            assert (response.status, response.headers["X-Route"], response.read()) == (201, "custom", b"made")
            conn.request("GET", "/nowhere")
            response = conn.getresponse()
            response.read()
            assert response.status == 404
        finally:
            conn.close()


def test_tls_chunked_request_body(tls_server: TLSServer) -> None:
    conn = http.client.HTTPSConnection("localhost", tls_server.port, context=tls_server.client_context(), timeout=TIMEOUT)
    try:
        conn.request("PUT", "/echo", body=iter([b"ab", b"cd"]), encode_chunked=True)
        assert json.loads(conn.getresponse().read())["body"] == "abcd"
    finally:
        conn.close()
    assert tls_server.requests[0].headers["transfer-encoding"] == "chunked"


def test_tls_client_context_helper(tls_server: TLSServer) -> None:
    context = make_client_context(tls_server.ca_path)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    with urllib.request.urlopen(tls_server.url + "/json", context=context, timeout=TIMEOUT) as response:
        assert response.status == 200


def test_tls_ca_file_removed_at_stop(tls_ca: trustme.CA) -> None:
    server = TLSServer(ca=tls_ca)
    with server:
        assert os.path.isfile(server.ca_path)
        with open(server.ca_path) as handle:
            assert "BEGIN CERTIFICATE" in handle.read()
    assert not os.path.exists(server.ca_path)


def test_tls_stop_is_prompt_with_idle_and_silent_connections(tls_ca: trustme.CA) -> None:
    server = TLSServer(ca=tls_ca).start()
    silent = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)  # never handshakes
    idle = http.client.HTTPSConnection("localhost", server.port, context=server.client_context(), timeout=TIMEOUT)
    try:
        idle.request("GET", "/json")
        idle.getresponse().read()  # the connection stays open, idle, kept alive
        assert server.active_connections == 2
        assert timed_stop(server) < PROMPT
        assert server.threads_alive == 0
        assert silent.recv(1) == b""  # the server closed it
    finally:
        silent.close()
        idle.close()


# --------------------------------------------------------------------------------------
# ForwardProxy


def test_proxy_relays_absolute_form_with_keep_alive(proxy: ForwardProxy, fault_server: FaultServer) -> None:
    assert proxy.url == "http://127.0.0.1:%d" % proxy.port
    assert proxy.host_port == "127.0.0.1:%d" % proxy.port
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=TIMEOUT)
    try:
        conn.request("GET", fault_server.url + "/json?x=1", headers={"X-Client": "a"})
        response = conn.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["path"] == "/json"
        conn.request("POST", fault_server.url + "/echo", body=b"payload")
        assert json.loads(conn.getresponse().read())["body"] == "payload"
    finally:
        conn.close()
    assert proxy.connections == 1  # both requests on one client connection
    assert [(r.method, r.target) for r in proxy.requests] == [
        ("GET", fault_server.url + "/json?x=1"),
        ("POST", fault_server.url + "/echo"),
    ]
    assert isinstance(proxy.requests[0], ProxyRequest)
    method, target, headers = proxy.requests[0]
    assert headers["x-client"] == "a"
    first, second = fault_server.requests
    assert first.target == "/json?x=1"  # the origin sees origin-form
    assert first.headers["x-client"] == "a"
    assert first.headers["connection"] == "close"
    assert second.body == b"payload"


def test_proxy_relays_chunked_both_ways(proxy: ForwardProxy, fault_server: FaultServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=TIMEOUT)
    try:
        conn.request("POST", fault_server.url + "/echo", body=iter([b"one", b"two"]), encode_chunked=True)
        assert json.loads(conn.getresponse().read())["body"] == "onetwo"
        conn.request("GET", fault_server.url + "/huge-json?size=200000&chunked=1")
        response = conn.getresponse()
        assert response.headers["Transfer-Encoding"] == "chunked"
        body = response.read()
    finally:
        conn.close()
    assert len(body) == 200000 and json.loads(body)["data"] == "x" * (200000 - 11)
    assert fault_server.bodies("/echo") == [b"onetwo"]


def test_proxy_relays_close_delimited_body_and_closes(proxy: ForwardProxy, fault_server: FaultServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=TIMEOUT)
    try:
        conn.request("GET", fault_server.url + "/close-delimited")
        response = conn.getresponse()
        assert response.headers["Connection"] == "close"
        assert json.loads(response.read())["ok"] is True
    finally:
        conn.close()


def test_proxy_urllib_proxy_handler(proxy: ForwardProxy, fault_server: FaultServer) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy.url}))
    with opener.open(fault_server.url + "/json", timeout=TIMEOUT) as response:
        assert json.loads(response.read())["ok"] is True
    assert proxy.requests[0].target == fault_server.url + "/json"


def test_proxy_connect_tunnels_tls(proxy: ForwardProxy, tls_server: TLSServer) -> None:
    conn = http.client.HTTPSConnection("127.0.0.1", proxy.port, context=tls_server.client_context(), timeout=TIMEOUT)
    conn.set_tunnel("localhost", tls_server.port)
    try:
        conn.request("GET", "/json")
        assert json.loads(conn.getresponse().read()) == {"ok": True}
        conn.request("GET", "/echo")  # second request through the same tunnel
        assert json.loads(conn.getresponse().read())["path"] == "/echo"
    finally:
        conn.close()
    assert [(r.method, r.target) for r in proxy.requests] == [("CONNECT", "localhost:%d" % tls_server.port)]
    assert proxy.tunnels == 1
    assert [r.path for r in tls_server.requests] == ["/json", "/echo"]
    assert tls_server.connections == 1


def test_proxy_connect_with_urllib(proxy: ForwardProxy, tls_server: TLSServer) -> None:
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({"https": proxy.url}),
        urllib.request.HTTPSHandler(context=tls_server.client_context()),
    )
    with opener.open(tls_server.url + "/json", timeout=TIMEOUT) as response:
        assert json.loads(response.read()) == {"ok": True}
    assert proxy.requests[0].method == "CONNECT"


@pytest.mark.parametrize("host", ["example.com", "10.0.0.1", "192.168.1.1", "8.8.8.8", "localhost.example.com"])
def test_proxy_refuses_non_loopback_targets(proxy: ForwardProxy, host: str) -> None:
    request = ("GET http://%s/ HTTP/1.1\r\nHost: %s\r\n\r\n" % (host, host)).encode()
    assert raw_exchange(proxy.port, request).startswith(b"HTTP/1.1 403 ")
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=TIMEOUT)
    conn.set_tunnel(host, 443)
    try:
        with pytest.raises(OSError, match="403"):
            conn.request("GET", "/")
    finally:
        conn.close()
    assert proxy.refused == ["http://%s/" % host, "%s:443" % host]
    assert proxy.tunnels == 0


def test_proxy_accepts_loopback_literals(proxy: ForwardProxy, fault_server: FaultServer) -> None:
    for host in ("127.0.0.1", "localhost", "127.0.0.2"):
        request = "GET http://%s:%d/json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % (host, fault_server.port)
        reply = raw_exchange(proxy.port, request.encode())
        if host == "127.0.0.2":  # loopback but nobody listens there: allowed, unreachable
            assert reply.startswith(b"HTTP/1.1 502 ") or reply.startswith(b"HTTP/1.1 200 ")
        else:
            assert reply.startswith(b"HTTP/1.1 200 ")
    assert proxy.refused == []


def test_proxy_unreachable_origin_is_502(proxy: ForwardProxy) -> None:
    with socket.socket() as reserved:  # bound, not listening: connecting is refused
        reserved.bind(("127.0.0.1", 0))
        port = reserved.getsockname()[1]
        reply = raw_exchange(proxy.port, b"GET http://127.0.0.1:%d/ HTTP/1.1\r\nHost: x\r\n\r\n" % port)
        assert reply.startswith(b"HTTP/1.1 502 ")
        reply = raw_exchange(proxy.port, b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n" % port)
        assert reply.startswith(b"HTTP/1.1 502 ")


def test_proxy_requires_credentials_when_configured(auth_proxy: ForwardProxy, fault_server: FaultServer) -> None:
    assert auth_proxy.authorization is not None
    conn = http.client.HTTPConnection("127.0.0.1", auth_proxy.port, timeout=TIMEOUT)
    try:
        conn.request("GET", fault_server.url + "/json")
        response = conn.getresponse()
        response.read()
        assert response.status == 407
        assert response.headers["Proxy-Authenticate"].startswith("Basic ")
        wrong = "Basic " + base64.b64encode(b"proxy-user:wrong").decode()
        conn.request("GET", fault_server.url + "/json", headers={"Proxy-Authorization": wrong})
        response = conn.getresponse()
        response.read()
        assert response.status == 407
        conn.request("GET", fault_server.url + "/json", headers={"Proxy-Authorization": auth_proxy.authorization})
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["ok"] is True
    finally:
        conn.close()
    assert auth_proxy.connections == 1  # a 407 keeps the connection usable
    assert fault_server.count() == 1  # only the authorised request reached the origin
    assert "proxy-authorization" not in fault_server.requests[0].headers  # hop-by-hop: not forwarded
    assert auth_proxy.auth_url == "http://proxy-user:proxy-pass@127.0.0.1:%d" % auth_proxy.port


def test_proxy_connect_requires_credentials(auth_proxy: ForwardProxy, tls_server: TLSServer) -> None:
    assert auth_proxy.authorization is not None
    conn = http.client.HTTPSConnection("127.0.0.1", auth_proxy.port, context=tls_server.client_context(), timeout=TIMEOUT)
    conn.set_tunnel("localhost", tls_server.port)
    try:
        with pytest.raises(OSError, match="407"):
            conn.request("GET", "/json")
    finally:
        conn.close()
    conn = http.client.HTTPSConnection("127.0.0.1", auth_proxy.port, context=tls_server.client_context(), timeout=TIMEOUT)
    conn.set_tunnel("localhost", tls_server.port, headers={"Proxy-Authorization": auth_proxy.authorization})
    try:
        conn.request("GET", "/json")
        assert json.loads(conn.getresponse().read()) == {"ok": True}
    finally:
        conn.close()
    assert auth_proxy.tunnels == 1
    assert [r.headers.get("proxy-authorization") for r in auth_proxy.requests] == [None, auth_proxy.authorization]


def test_proxy_passes_origin_faults_through(proxy: ForwardProxy, fault_server: FaultServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=TIMEOUT)
    try:
        conn.request("GET", fault_server.url + "/close-mid-body")
        response = conn.getresponse()
        with pytest.raises(http.client.IncompleteRead):
            response.read()
    finally:
        conn.close()


def test_proxy_stop_is_prompt_with_open_tunnel(tls_ca: trustme.CA) -> None:
    with TLSServer(ca=tls_ca) as origin:
        proxy = ForwardProxy().start()
        conn = http.client.HTTPSConnection("127.0.0.1", proxy.port, context=origin.client_context(), timeout=TIMEOUT)
        conn.set_tunnel("localhost", origin.port)
        try:
            conn.request("GET", "/json")
            conn.getresponse().read()  # tunnel open and idle
            assert proxy.active_connections == 2  # client side and upstream side
            assert timed_stop(proxy) < PROMPT
            assert proxy.threads_alive == 0
        finally:
            conn.close()


# --------------------------------------------------------------------------------------
# FaultServer


def test_fault_json_keeps_alive_and_counts(fault_server: FaultServer) -> None:
    with http_conn(fault_server) as conn:
        for _ in range(3):
            conn.request("GET", "/json")
            response = conn.getresponse()
            assert response.status == 200
            assert response.headers["Connection"] == "keep-alive"
            assert json.loads(response.read())["ok"] is True
    assert fault_server.connections == 1
    assert fault_server.count("/json") == 3
    assert fault_server.scenario_count("json") == 3
    assert {r.connection for r in fault_server.requests} == {1}


def test_fault_scenario_from_first_path_segment(fault_server: FaultServer) -> None:
    response = get(fault_server, "/json/tracks/123?limit=5")
    assert json.loads(response.body)["path"] == "/json/tracks/123"
    assert get(fault_server, "/").status == 200
    assert fault_server.requests[0].query == {"limit": ["5"]}
    assert [r.scenario for r in fault_server.requests] == ["json", "json"]


def test_fault_unknown_scenario_is_404(fault_server: FaultServer) -> None:
    response = get(fault_server, "/no-such-thing")
    assert response.status == 404
    assert "stall" in json.loads(response.body)["scenarios"]


def test_fault_reset_before_headers(fault_server: FaultServer) -> None:
    with http_conn(fault_server) as conn:
        conn.request("POST", "/reset-before-headers", body=b"track=1")
        with pytest.raises(ConnectionResetError):
            conn.getresponse()
    assert fault_server.bodies("/reset-before-headers") == [b"track=1"]
    assert fault_server.count() == 1


def test_fault_reset_before_body_interrupts_an_upload(fault_server: FaultServer) -> None:
    with http_conn(fault_server) as conn:
        body = b"x" * (32 * 1024 * 1024)  # far more than socket buffers hold
        with pytest.raises((ConnectionResetError, BrokenPipeError)):
            conn.request("POST", "/reset-before-body", body=body)
            conn.getresponse()
    assert fault_server.count("/reset-before-body") == 1
    assert fault_server.bodies() == [b""]


def test_fault_reset_after_headers(fault_server: FaultServer) -> None:
    with http_conn(fault_server) as conn:
        conn.request("GET", "/reset-after-headers")
        # The RST may overtake the head in the client's receive queue; either way no body.
        with pytest.raises((ConnectionResetError, http.client.IncompleteRead)):
            response = conn.getresponse()
            assert response.status == 200
            assert response.headers["Content-Length"] == "100"
            response.read()


def test_fault_close_mid_body(fault_server: FaultServer) -> None:
    with http_conn(fault_server) as conn:
        conn.request("GET", "/close-mid-body")
        response = conn.getresponse()
        with pytest.raises(http.client.IncompleteRead) as caught:
            response.read()
    assert caught.value.partial == b'{"ok": tru'
    assert caught.value.expected == 90


def test_fault_broken_chunked(fault_server: FaultServer) -> None:
    with http_conn(fault_server) as conn:
        conn.request("GET", "/broken-chunked")
        response = conn.getresponse()
        assert response.headers["Transfer-Encoding"] == "chunked"
        with pytest.raises(http.client.IncompleteRead):
            response.read()


def test_fault_stall_times_out_the_client(fault_server: FaultServer) -> None:
    with http_conn(fault_server, timeout=0.2) as conn:
        conn.request("GET", "/stall")
        with pytest.raises(socket.timeout):
            conn.getresponse()
    assert fault_server.scenario_count("stall") == 1


def test_fault_stall_after_headers(fault_server: FaultServer) -> None:
    with http_conn(fault_server, timeout=0.2) as conn:
        conn.request("GET", "/stall-after-headers")
        response = conn.getresponse()
        assert response.status == 200
        with pytest.raises(socket.timeout):
            response.read()


def test_fault_release_ends_a_stall(fault_server: FaultServer) -> None:
    with http_conn(fault_server) as conn:
        conn.request("GET", "/stall")
        wait_until(lambda: fault_server.count() >= 1, message="the stalled request arrived")
        fault_server.release()
        with pytest.raises(http.client.RemoteDisconnected):
            conn.getresponse()


def test_fault_stop_is_prompt_while_a_client_waits_on_a_stall() -> None:
    server = FaultServer(stall_timeout=60.0).start()
    with http_conn(server) as conn:
        conn.request("GET", "/stall")
        wait_until(lambda: server.count() >= 1, message="the stalled request arrived")
        assert timed_stop(server) < PROMPT
        assert server.threads_alive == 0
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
            conn.getresponse()


def test_fault_stop_is_prompt_with_every_kind_of_open_connection() -> None:
    server = FaultServer(stall_timeout=60.0).start()
    silent = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)  # sends nothing
    clients = [http.client.HTTPConnection(server.host, server.port, timeout=TIMEOUT) for _ in range(5)]
    try:
        for conn, path in zip(
            clients, ["/stall", "/stall-after-headers", "/drip?bytes=10000&delay=1", "/huge-json", "/json"]
        ):
            conn.request("GET", path)
        wait_until(lambda: server.count() >= 5, message="all five requests arrived")
        clients[-1].getresponse().read()  # an idle kept-alive connection
        assert server.active_connections == 6
        assert timed_stop(server) < PROMPT
        assert server.threads_alive == 0
        assert server.active_connections == 0
        assert server.errors == []
    finally:
        silent.close()
        for conn in clients:
            conn.close()


def test_fault_drip_beats_per_read_timeouts(fault_server: FaultServer) -> None:
    size, delay = 30, 0.02
    start = time.monotonic()
    with http_conn(fault_server, timeout=0.5) as conn:  # far above the gap between bytes
        conn.request("GET", "/drip?bytes=%d&delay=%s" % (size, delay))
        response = conn.getresponse()
        body = response.read()
    elapsed = time.monotonic() - start
    assert len(body) == size and json.loads(body)["drip"] == "x" * (size - 11)
    assert elapsed >= 0.8 * (size - 1) * delay  # the server really paced it


def test_fault_drip_headers(fault_server: FaultServer) -> None:
    start = time.monotonic()
    with http_conn(fault_server, timeout=0.5) as conn:
        conn.request("GET", "/drip-headers?delay=0.005")
        response = conn.getresponse()
        head_done = time.monotonic() - start
        assert json.loads(response.read()) == {"drip": ""}
    assert head_done >= 0.8 * 60 * 0.005  # the head alone is well over 60 bytes


def test_fault_429_then_200(fault_server: FaultServer) -> None:
    with http_conn(fault_server) as conn:
        conn.request("GET", "/429-then-200")
        first = conn.getresponse()
        body = json.loads(first.read())
        conn.request("GET", "/429-then-200")
        second = conn.getresponse()
        second.read()
    assert (first.status, first.headers["Retry-After"], body["code"]) == (429, "1", 429)
    assert second.status == 200
    assert fault_server.scenario_count("429-then-200") == 2


def test_fault_503_twice_then_200(fault_server: FaultServer) -> None:
    statuses = [get(fault_server, "/503-twice-then-200").status for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    assert fault_server.connections == 4


def test_fault_close_after_response_kills_the_reused_connection(fault_server: FaultServer) -> None:
    with http_conn(fault_server) as conn:
        conn.request("GET", "/close-after-response")
        response = conn.getresponse()
        assert response.headers["Connection"] == "keep-alive"
        assert response.headers["Keep-Alive"].startswith("timeout=")
        assert json.loads(response.read())["ok"] is True
        sock = conn.sock
        assert sock is not None  # http.client believes the connection reusable...
        readable, _, _ = select.select([sock], [], [], TIMEOUT)
        assert readable and sock.recv(1, socket.MSG_PEEK) == b""  # ...but the server closed it
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
            conn.request("GET", "/close-after-response")
            conn.getresponse()
    assert fault_server.count() == 1
    assert fault_server.connections == 1


def test_fault_garbage(fault_server: FaultServer) -> None:
    with http_conn(fault_server) as conn:
        conn.request("GET", "/garbage")
        with pytest.raises(http.client.BadStatusLine, match="SSH-2.0"):
            conn.getresponse()


def test_fault_huge_headers(fault_server: FaultServer) -> None:
    with http_conn(fault_server) as conn:
        conn.request("GET", "/huge-headers")
        with pytest.raises(http.client.HTTPException, match="more than 100 headers"):
            conn.getresponse()
    reply = raw_exchange(fault_server.port, b"GET /huge-headers?count=50&size=2000 HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert len(head) > 50 * 2000 and body == b"{}"


def test_fault_huge_json(fault_server: FaultServer) -> None:
    with http_conn(fault_server) as conn:
        conn.request("GET", "/huge-json")
        response = conn.getresponse()
        assert int(response.headers["Content-Length"]) > 16 * 1024 * 1024
        assert response.read(9) == b'{"data":"'
    body = get(fault_server, "/huge-json?size=300000").body
    assert len(body) == 300000 and json.loads(body)["data"] == "x" * (300000 - 11)
    body = get(fault_server, "/huge-json?size=300000&chunked=1").body
    assert len(body) == 300000 and json.loads(body)["data"] == "x" * (300000 - 11)


def test_fault_status_echo_and_redirect(fault_server: FaultServer) -> None:
    response = get(fault_server, "/status/404?retry_after=3")
    assert response.status == 404 and response.headers["Retry-After"] == "3"
    assert json.loads(response.body)["message"] == "404 - Not Found"
    response = get(fault_server, "/status/204")
    assert response.status == 204 and response.body == b""
    response = get(fault_server, "/redirect?to=/json&status=301")
    assert (response.status, response.headers["Location"]) == (301, "/json")
    with http_conn(fault_server) as conn:
        conn.request("PATCH", "/echo?q=1", body=b'{"a": 1}', headers={"Content-Type": "application/json"})
        echoed = json.loads(conn.getresponse().read())
    assert (echoed["method"], echoed["query"], echoed["body"]) == ("PATCH", {"q": ["1"]}, '{"a": 1}')
    assert echoed["headers"]["content-type"] == "application/json"


def test_fault_records_bodies_including_chunked_uploads(fault_server: FaultServer) -> None:
    with http_conn(fault_server) as conn:
        conn.request("POST", "/json", body=b"a=1")
        conn.getresponse().read()
        conn.request("POST", "/json", body=iter([b"b=", b"2"]), encode_chunked=True)
        conn.getresponse().read()
    assert fault_server.bodies() == [b"a=1", b"b=2"]
    assert fault_server.bodies("/json") == [b"a=1", b"b=2"]
    assert fault_server.bodies("/other") == []


def test_fault_queue_overrides_the_path(fault_server: FaultServer) -> None:
    def teapot(ctx: FaultContext) -> bool:
        return ctx.respond(418, b"short and stout")

    fault_server.enqueue("garbage", teapot)
    with pytest.raises(ValueError):
        fault_server.enqueue("no-such-scenario")
    with http_conn(fault_server) as conn:
        conn.request("GET", "/json")
        with pytest.raises(http.client.BadStatusLine):
            conn.getresponse()
    response = get(fault_server, "/json")
    assert (response.status, response.body) == (418, b"short and stout")
    assert get(fault_server, "/json").status == 200  # queue empty: the path decides again
    assert [r.scenario for r in fault_server.requests] == ["garbage", "teapot", "json"]


def test_fault_custom_scenarios_and_clear() -> None:
    with FaultServer(scenarios={"hello": lambda ctx: ctx.respond(200, b"hi")}) as server:
        assert get(server, "/hello").body == b"hi"
        assert server.scenario_count("hello") == 1
        server.clear()
        assert server.count() == 0 and server.scenario_count("hello") == 0


def test_fault_rejects_garbage_requests(fault_server: FaultServer) -> None:
    assert raw_exchange(fault_server.port, b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400 ")


def test_every_scenario_is_documented_here() -> None:
    # A new scenario needs a test above; this list is the reminder.
    assert set(FAULT_SCENARIOS) == {
        "json",
        "echo",
        "status",
        "redirect",
        "reset-before-headers",
        "reset-before-body",
        "reset-after-headers",
        "close-mid-body",
        "broken-chunked",
        "stall",
        "stall-after-headers",
        "drip",
        "drip-headers",
        "429-then-200",
        "503-twice-then-200",
        "close-after-response",
        "close-delimited",
        "garbage",
        "huge-headers",
        "huge-json",
    }
    assert FaultServer.SCENARIOS == tuple(FAULT_SCENARIOS)


# --------------------------------------------------------------------------------------
# conftest: environment isolation


def test_environment_is_isolated() -> None:
    for name in ("HTTP_PROXY", "https_proxy", "NO_PROXY", "SSL_CERT_FILE", "SOUNDCLOUD_CLIENT_ID"):
        assert name not in os.environ
    config_home = os.environ["XDG_CONFIG_HOME"]
    assert os.path.isdir(config_home) and os.listdir(config_home) == []


def test_compiled_guard_and_report_header() -> None:
    # Run pytest in a child with SOUNDCLOUD_EXPECT_COMPILED=1: it must refuse a pure-Python
    # build before any test runs, and accept a compiled one. The header names the files.
    names = ("soundcloud.client", "soundcloud.transport.http", "soundcloud.encoding", "soundcloud.resources")
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    compiled = all(str(importlib.import_module(n).__file__).endswith(suffixes) for n in names)
    tests_dir = Path(__file__).resolve().parents[1]
    env = dict(os.environ, SOUNDCLOUD_EXPECT_COMPILED="1")
    command = [sys.executable, "-m", "pytest", str(Path(__file__).resolve()), "-p", "no:cacheprovider"]
    command += ["-k", "test_environment_is_isolated"]
    result = subprocess.run(
        command, cwd=str(tests_dir.parent), env=env, capture_output=True, text=True, timeout=120
    )
    output = result.stdout + result.stderr
    if compiled:
        assert result.returncode == 0, output
        assert "soundcloud.client: compiled" in output
    else:
        assert result.returncode == pytest.ExitCode.USAGE_ERROR, output
        assert "soundcloud.client: pure Python" in output
        assert "is not an extension module" in output
        assert "1 passed" not in output
