"""Connection reuse and the keep-alive pool, against servers that count connections:
sequential requests, every method and body, and every route to one origin share a pooled
connection, and the pool keeps at most ``pool_size`` idle. Then every stale keep-alive
test: a pooled connection the server has closed (plain HTTP; TLS ended by close_notify,
FIN or reset; through the transport, the client, and eight threads at once) is replayed
only for a request that is safe to send twice, and a POST never goes out twice."""

from __future__ import annotations

import socket
import threading
from typing import Any, Callable, List, Optional

import pytest

import soundcloud
from soundcloud._models import Timeout
from soundcloud.transport import HTTPTransport
from soundcloud.transport import http as transport_http

from support.base import SERVER
from support.faults import FaultServer, KeepAliveServer, read_head
from support.request_server import FaultContext
from support.transport_calls import Waits, fetch, run_threads, send, wait_closed_by_client
from support.wire import wait_until


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


# -- stale keep-alive connections -----------------------------------------------------------


def _drop(ctx: FaultContext) -> bool:
    """Read the request, then close without answering (what a closing keep-alive peer does)."""
    return False


def wait_for_fin(server: FaultServer, number: Optional[int] = None) -> None:
    """Block until the server closed connection ``number`` (by default the one its last
    request came on) and the client's TCP acknowledged its FIN: from then on the client's
    idle pooled connection shows the close."""
    connection = server.requests[-1].connection if number is None else number
    wait_until(
        lambda: server.closed_by(connection) == SERVER, message="the FIN of connection %d got through" % connection
    )


def test_get_on_a_connection_the_server_closed_is_replayed(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport(max_retries=0)
    assert fetch(transport, "GET", fault_server.url + "/close-after-response")[0] == 200
    status, _, retries = fetch(transport, "GET", fault_server.url + "/json")
    assert (status, retries) == (200, 0)
    assert fault_server.count("/json") == 1 and fault_server.connections == 2
    assert waits.waits == []


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


@pytest.mark.parametrize("how", ["close_notify", "fin", "reset"])
def test_tls_connection_the_server_closed_is_replayed(
    clients: Callable[..., soundcloud.Client], scripted: Any, tls_ca: Any, how: str
) -> None:
    # Each connection answers one request with keep-alive promised, then goes away: at
    # once with a TLS close_notify or a bare FIN, or with a reset when the next request
    # comes. A GET that meets the dead connection goes again on a new one; a POST is never
    # sent twice (it sees a close coming first; a reset it cannot see, and raises).
    import ssl
    import struct

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    served: List[bytes] = []
    notified: List[int] = []  # one entry per connection whose close_notify has been sent

    def one_request_then_close(conn: socket.socket, stop: threading.Event) -> Optional[socket.socket]:
        tls = context.wrap_socket(conn, server_side=True)
        try:
            head = read_head(tls)
            served.append(head.split(b" ", 1)[0])
            # Read the body too: closing with unread data would send a reset, losing the answer.
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            received = len(head.partition(b"\r\n\r\n")[2])
            while received < length:
                received += len(tls.recv(65536) or b"x" * length)
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}")
            if how == "close_notify":
                # Send the close_notify; unwrap() then waits for the client's, which it sends
                # only when it next reads: bound that wait, the notify is out either way.
                tls.settimeout(0.5)
                try:
                    tls.unwrap()
                except OSError:
                    pass
                notified.append(1)
            elif how == "reset":
                served.append(read_head(tls).split(b" ", 1)[0] + b" (reset)")
                tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                tls.close()
                return None
        except BaseException:
            tls.close()
            raise
        return tls  # the server closes it: a FIN, and it sees the client's TCP acknowledge it

    server = scripted(one_request_then_close)
    waits = Waits()
    with tls_ca.cert_pem.tempfile() as ca_file:
        transport = HTTPTransport(proxies={}, verify=ca_file, max_retries=0, sleep=waits)
        client = clients(api_url="https://localhost:%d" % server.port, transport=transport)
        for _ in range(3):
            assert client.get("/json").ok is True
        if how == "reset":
            with pytest.raises(soundcloud.ProtocolError):
                client.post("/json", title="once")
        else:
            if how == "fin":  # wait for the FIN of the last connection to reach the client
                last = server.connections
                wait_until(lambda: server.closed_by(last) == SERVER, message="the FIN of connection %d got through" % last)
            else:  # and for its close_notify to be out: a POST sent before it would race it
                last = server.connections
                wait_until(lambda: len(notified) >= last, message="the close_notify of connection %d was sent" % last)
            assert client.post("/json", title="once").ok is True
        assert client.get("/json").ok is True
        client.close()  # the server's last connection ends now, not at its join timeout
    assert served.count(b"POST") + served.count(b"POST (reset)") == 1
    assert waits == []


def test_stale_connections_under_contention(fault_server: FaultServer) -> None:
    # Every answer closes its connection after promising keep-alive: each reused one is
    # dead, and each GET is replayed on a fresh connection, never failing.
    transport = HTTPTransport(proxies={}, max_retries=0)
    client = soundcloud.Client(client_id="threads", api_url=fault_server.url, transport=transport, timeout=Timeout(5))

    def work(index: int) -> None:
        for _ in range(20):
            assert client.get("/close-after-response").ok is True

    try:
        run_threads(8, work)
    finally:
        client.close()
    assert fault_server.count("/close-after-response") == 160
