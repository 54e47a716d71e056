"""TLS session resumption: once a kept-alive connection to an https origin is gone, the next
handshake offers the origin's last session and the server resumes it, on TLS 1.2 and on
TLS 1.3 (whose tickets arrive after the handshake). The server says whether each handshake
resumed (``SSLSocket.session_reused`` on the accepted socket, see support.tls). A session
never goes to another origin, even one that could resume it; a server that never resumes,
or forgot its sessions, gets a full handshake that works; a context that does not verify
keeps no sessions."""

from __future__ import annotations

import ssl
from typing import Any, Iterator, List

import pytest

from soundcloud.transport import HTTPTransport

from support.proxy import ForwardProxy
from support.tls import TLSServer
from support.transport_calls import fetch, run_threads, send

VERSIONS = [
    pytest.param(ssl.TLSVersion.TLSv1_2, id="TLSv1.2"),
    pytest.param(ssl.TLSVersion.TLSv1_3, id="TLSv1.3"),
]


@pytest.fixture(params=VERSIONS)
def version(request: Any) -> ssl.TLSVersion:
    chosen: ssl.TLSVersion = request.param
    return chosen


@pytest.fixture
def servers() -> Iterator[List[TLSServer]]:
    """Started TLS servers (append), stopped at teardown."""
    made: List[TLSServer] = []
    yield made
    for server in made:
        server.stop()


def serve(servers: List[TLSServer], **kwargs: Any) -> TLSServer:
    server = TLSServer(**kwargs).start()
    servers.append(server)
    return server


def get_json(transport: HTTPTransport, url: str) -> None:
    status, body, _ = fetch(transport, "GET", url + "/json")
    assert (status, body) == (200, b'{"ok":true}')


def version_name(version: ssl.TLSVersion) -> str:
    return "TLSv1.2" if version == ssl.TLSVersion.TLSv1_2 else "TLSv1.3"


def test_a_reconnect_resumes_the_origins_last_session(
    make_transport: Any, servers: List[TLSServer], tls_ca: Any, version: ssl.TLSVersion
) -> None:
    server = serve(servers, ca=tls_ca, version=version)
    transport, _ = make_transport(verify=server.ca_path)
    get_json(transport, server.url)  # the first request: a full handshake, and it works
    for number in (1, 2, 3):
        server.close_connection(number)  # the kept-alive connection is gone
        get_json(transport, server.url)
    assert server.connections == 4
    assert [(h.connection, h.version, h.resumed) for h in server.handshakes] == [
        (1, version_name(version), False),
        (2, version_name(version), True),
        (3, version_name(version), True),
        (4, version_name(version), True),
    ]


def test_new_connections_opened_by_threads_at_once_resume(
    make_transport: Any, servers: List[TLSServer], tls_ca: Any, version: ssl.TLSVersion
) -> None:
    # Eight threads at once need eight connections: one is the pooled one, the seven new
    # ones all offer the session of the first handshake.
    server = serve(servers, ca=tls_ca, version=version)
    transport, _ = make_transport(verify=server.ca_path)
    get_json(transport, server.url)

    def work(_: int) -> None:
        for _ in range(3):
            get_json(transport, server.url)

    run_threads(8, work)
    handshakes = server.handshakes
    assert len(handshakes) == server.connections >= 2
    assert handshakes[0].resumed is False
    assert [h.connection for h in handshakes if not h.resumed] == [1]


def test_a_tls13_session_is_taken_once_its_first_answer_was_read(
    make_transport: Any, servers: List[TLSServer], tls_ca: Any, version: ssl.TLSVersion
) -> None:
    # Two connections side by side. TLS 1.2 keeps the first one's session right after its
    # handshake, so the second resumes it; TLS 1.3 tickets are taken only once the first
    # answer was read and the connection came back, so the second handshake is full. Both
    # connections' later replacements resume.
    server = serve(servers, ca=tls_ca, version=version)
    transport, _ = make_transport(verify=server.ca_path)
    first = send(transport, "GET", server.url + "/json")  # connection 1, its body unread
    second = send(transport, "GET", server.url + "/json")  # connection 2: 1 is busy
    assert first.read_all() == b'{"ok":true}'  # connection 1 back to the pool
    get_json(transport, server.url)  # on connection 1 again, while 2 is still out
    assert second.read_all() == b'{"ok":true}'
    server.close_connection(1)
    server.close_connection(2)
    get_json(transport, server.url)
    assert server.connections == 3
    tls12 = version == ssl.TLSVersion.TLSv1_2
    assert [h.resumed for h in server.handshakes] == [False, tls12, True]


def test_another_origin_never_gets_the_session(
    make_transport: Any, servers: List[TLSServer], tls_ca: Any, version: ssl.TLSVersion
) -> None:
    # The second server shares the first one's session cache and ticket keys: a session of
    # the first offered to it would resume. Its own sessions do.
    first = serve(servers, ca=tls_ca, version=version)
    second = serve(servers, keys_of=first)
    transport, _ = make_transport(verify=first.ca_path)
    get_json(transport, first.url)
    get_json(transport, second.url)  # another port
    first.close_connection(1)
    second.close_connection(1)
    get_json(transport, first.url)
    get_json(transport, second.url)
    assert [h.resumed for h in first.handshakes] == [False, True]
    assert [h.resumed for h in second.handshakes] == [False, True]


def test_another_host_name_at_the_same_address_never_gets_the_session(
    make_transport: Any, servers: List[TLSServer], tls_ca: Any, version: ssl.TLSVersion
) -> None:
    # https://localhost:<port> and https://127.0.0.1:<port> are one server but two origins:
    # a resumed handshake checks no host name, so one's session is not offered to the other.
    server = serve(servers, ca=tls_ca, version=version)
    transport, _ = make_transport(verify=server.ca_path)
    get_json(transport, server.url)
    get_json(transport, server.ip_url)
    server.close_connection(2)
    get_json(transport, server.ip_url)
    assert [(h.connection, h.resumed) for h in server.handshakes] == [(1, False), (2, False), (3, True)]


def test_a_server_that_never_resumes_gets_full_handshakes(
    make_transport: Any, servers: List[TLSServer], tls_ca: Any, version: ssl.TLSVersion
) -> None:
    server = serve(servers, ca=tls_ca, version=version, resumption=False)
    transport, _ = make_transport(verify=server.ca_path)
    get_json(transport, server.url)
    for number in (1, 2):
        server.close_connection(number)
        get_json(transport, server.url)
    assert [(h.version, h.resumed) for h in server.handshakes] == [(version_name(version), False)] * 3
    assert server.handshake_errors == []


def test_a_session_the_server_forgot_is_a_full_handshake_then_the_new_one_resumes(
    make_transport: Any, servers: List[TLSServer], tls_ca: Any, version: ssl.TLSVersion
) -> None:
    # As after a restart or a rotation of the ticket keys: the offered session is refused,
    # the handshake goes on in full, and the session it makes is the one kept next.
    server = serve(servers, ca=tls_ca, version=version)
    transport, _ = make_transport(verify=server.ca_path)
    get_json(transport, server.url)
    server.close_connection(1)
    server.forget_sessions()
    get_json(transport, server.url)
    server.close_connection(2)
    get_json(transport, server.url)
    assert [h.resumed for h in server.handshakes] == [False, False, True]
    assert server.handshake_errors == []


def test_without_verification_no_session_is_kept(
    make_transport: Any, servers: List[TLSServer], tls_ca: Any, version: ssl.TLSVersion
) -> None:
    # A resumed session stands for a verification done when it was made: none was.
    server = serve(servers, ca=tls_ca, version=version)
    transport, _ = make_transport(verify=False)
    get_json(transport, server.url)
    server.close_connection(1)
    get_json(transport, server.url)
    assert [h.resumed for h in server.handshakes] == [False, False]


def test_closing_the_transport_forgets_the_sessions(
    make_transport: Any, servers: List[TLSServer], tls_ca: Any, version: ssl.TLSVersion
) -> None:
    server = serve(servers, ca=tls_ca, version=version)
    transport, _ = make_transport(verify=server.ca_path)
    get_json(transport, server.url)
    server.close_connection(1)
    get_json(transport, server.url)
    transport.close()  # the transport stays usable, and starts over
    get_json(transport, server.url)
    assert [h.resumed for h in server.handshakes] == [False, True, False]


def test_a_reconnect_through_a_connect_tunnel_resumes(
    make_transport: Any, servers: List[TLSServer], tls_ca: Any, proxy: ForwardProxy, version: ssl.TLSVersion
) -> None:
    server = serve(servers, ca=tls_ca, version=version)
    transport, _ = make_transport(verify=server.ca_path, proxies={"https": proxy.url})
    get_json(transport, server.url)
    server.close_connection(1)
    # The proxy relays the close; a request that still meets the old tunnel is replayed.
    get_json(transport, server.url)
    assert proxy.tunnels == 2
    assert [h.resumed for h in server.handshakes] == [False, True]
