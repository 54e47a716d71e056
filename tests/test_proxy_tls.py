"""TLS and proxies with connection reuse: certificates from a CA made at test time (trustme),
a real forward proxy for absolute-form HTTP and CONNECT tunnels, connections counted at the
servers. Nothing leaves 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable, Iterator, List, Optional

import pytest

import soundcloud
from soundcloud._models import Timeout
from soundcloud.transport import HTTPTransport

from conftest import PROXY_CREDENTIALS
from servers import SERVER, FaultServer, ForwardProxy, SocketServer, TLSServer, wait_until

TIMEOUT = Timeout(5)
TOKEN = "tls-proxy-token-never-in-clear"


@pytest.fixture
def clients() -> Iterator[Callable[..., soundcloud.Client]]:
    made: List[soundcloud.Client] = []

    def make(**kwargs: Any) -> soundcloud.Client:
        kwargs.setdefault("timeout", TIMEOUT)
        kwargs.setdefault("access_token", TOKEN)
        client = soundcloud.Client(**kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


class Waits(List[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# -- TLS ------------------------------------------------------------------------------------


def test_https_with_the_ca_bundle_does_one_handshake(
    clients: Callable[..., soundcloud.Client], tls_server: TLSServer
) -> None:
    client = clients(api_url=tls_server.url, verify_ssl=tls_server.ca_path)
    for i in range(6):
        echoed = client.get("/echo", i=str(i))
        assert echoed.query["i"] == [str(i)]
        assert echoed["headers"]["authorization"] == "OAuth " + TOKEN
    assert tls_server.connections == 1  # six requests, one TLS handshake
    assert {r.connection for r in tls_server.requests} == {1}
    assert tls_server.handshake_errors == []


def test_https_post_put_delete_share_the_connection(
    clients: Callable[..., soundcloud.Client], tls_server: TLSServer
) -> None:
    client = clients(api_url=tls_server.url, verify_ssl=tls_server.ca_path)
    assert client.post("/echo", title="a").body == "title=a"
    assert client.put("/echo", title="b").method == "PUT"
    assert client.delete("/echo").method == "DELETE"
    assert client.head("/echo").status_code == 200
    assert client.get("/json").ok is True
    assert tls_server.connections == 1


def test_self_signed_without_the_ca_is_a_connect_error(tls_server: TLSServer) -> None:
    waits = Waits()
    transport = HTTPTransport(verify=True, proxies={}, sleep=waits)
    client = soundcloud.Client(access_token=TOKEN, api_url=tls_server.url, transport=transport, timeout=TIMEOUT)
    try:
        with pytest.raises(soundcloud.ConnectError, match="certificate could not be verified") as caught:
            client.get("/json")
    finally:
        client.close()
    assert "verify_ssl" in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert waits == []  # a certificate failure is not retried
    assert tls_server.connections == 1 and tls_server.requests == []


def test_default_client_verifies_too(clients: Callable[..., soundcloud.Client], tls_server: TLSServer) -> None:
    client = clients(api_url=tls_server.url, max_retries=0)
    with pytest.raises(soundcloud.ConnectError, match="verif"):
        client.get("/json")
    assert tls_server.requests == []


def test_verify_ssl_false_accepts_the_certificate(
    clients: Callable[..., soundcloud.Client], tls_server: TLSServer
) -> None:
    client = clients(api_url=tls_server.ip_url, verify_ssl=False)
    assert client.get("/json").ok is True
    assert client.get("/json").ok is True
    assert tls_server.connections == 1


def test_verify_ssl_with_a_ca_directory(
    clients: Callable[..., soundcloud.Client], tls_server: TLSServer, tmp_path: Any
) -> None:
    import shutil
    import ssl

    # A capath directory is looked up by subject hash: give the CA its hashed name.
    context = ssl.create_default_context(cafile=tls_server.ca_path)
    der = context.get_ca_certs(binary_form=True)[0]
    pem = ssl.DER_cert_to_PEM_cert(der)
    import subprocess

    try:
        digest = subprocess.run(
            ["openssl", "x509", "-noout", "-subject_hash"], input=pem.encode(), capture_output=True, timeout=10
        ).stdout.decode().strip()
    except (OSError, subprocess.SubprocessError):
        pytest.skip("openssl command not available to hash the CA")
    if not digest:
        pytest.skip("openssl could not hash the CA")
    shutil.copy(tls_server.ca_path, tmp_path / (digest + ".0"))
    client = clients(api_url=tls_server.url, verify_ssl=str(tmp_path))
    assert client.get("/json").ok is True


def test_https_to_http_redirect_is_refused(
    clients: Callable[..., soundcloud.Client], tls_server: TLSServer, fault_server: FaultServer
) -> None:
    client = clients(api_url=tls_server.url, verify_ssl=tls_server.ca_path)
    with pytest.raises(soundcloud.InsecureRedirectError, match="https to plain http"):
        client.get("/redirect", to=fault_server.url + "/json")
    assert fault_server.count() == 0  # nothing went out in clear text


def test_https_redirect_within_the_origin_reuses_the_connection(
    clients: Callable[..., soundcloud.Client], tls_server: TLSServer
) -> None:
    client = clients(api_url=tls_server.url, verify_ssl=tls_server.ca_path)
    assert client.get("/redirect", to="/json").ok is True
    assert [r.path for r in tls_server.requests] == ["/redirect", "/json"]
    assert tls_server.connections == 1


# -- plain HTTP through a proxy -------------------------------------------------------------


def test_http_through_the_proxy_in_absolute_form_on_one_connection(
    clients: Callable[..., soundcloud.Client], fake: Any, proxy: ForwardProxy
) -> None:
    token = fake.issue_token()
    client = clients(access_token=token, api_url=fake.api_url, proxies={"http": proxy.host_port})
    for _ in range(5):
        assert client.get("/me").username
    seen = proxy.requests
    assert len(seen) == 5
    for request in seen:
        assert request.method == "GET"
        assert request.target == fake.api_url + "/me"  # absolute form (RFC 9112 3.2.2)
        assert request.headers["host"] == fake.api_url.split("://", 1)[1]
    assert proxy.connections == 1  # five requests, one proxy connection
    assert len(fake.requests_to("api")) == 5


def test_proxy_with_a_scheme_and_the_all_key(
    clients: Callable[..., soundcloud.Client], fault_server: FaultServer, proxy: ForwardProxy
) -> None:
    client = clients(api_url=fault_server.url, proxies={"all": proxy.url})
    assert client.post("/echo", title="via-proxy").body == "title=via-proxy"
    assert client.delete("/echo").method == "DELETE"
    assert [r.method for r in proxy.requests] == ["POST", "DELETE"]
    assert proxy.connections == 1


def test_http_proxy_credentials(
    clients: Callable[..., soundcloud.Client], fault_server: FaultServer, auth_proxy: ForwardProxy
) -> None:
    client = clients(api_url=fault_server.url, proxies={"http": auth_proxy.auth_url})
    assert client.get("/json").ok is True
    assert auth_proxy.requests[-1].headers["proxy-authorization"] == auth_proxy.authorization
    assert client.get("/json").ok is True
    assert auth_proxy.connections == 1
    refused = clients(api_url=fault_server.url, proxies={"http": auth_proxy.url})
    with pytest.raises(soundcloud.HTTPError) as caught:
        refused.get("/json")
    assert caught.value.status_code == 407
    assert PROXY_CREDENTIALS[1] not in str(caught.value)


# -- HTTPS through a CONNECT tunnel ----------------------------------------------------------


def test_https_through_one_connect_tunnel(
    clients: Callable[..., soundcloud.Client], tls_server: TLSServer, proxy: ForwardProxy
) -> None:
    client = clients(api_url=tls_server.url, proxies={"https": proxy.url}, verify_ssl=tls_server.ca_path)
    for i in range(5):
        echoed = client.get("/echo", i=str(i))
        assert echoed["headers"]["authorization"] == "OAuth " + TOKEN
    assert client.post("/echo", title="t").body == "title=t"
    seen = proxy.requests
    assert [(r.method, r.target) for r in seen] == [("CONNECT", tls_server.host_port)]
    assert "authorization" not in seen[0].headers  # the token only travels inside TLS
    assert proxy.tunnels == 1 and proxy.connections == 1
    assert tls_server.connections == 1  # one tunnel, one handshake, six requests
    assert len(tls_server.requests) == 6


def test_connect_tunnel_with_proxy_credentials(
    clients: Callable[..., soundcloud.Client], tls_server: TLSServer, auth_proxy: ForwardProxy
) -> None:
    client = clients(api_url=tls_server.url, proxies={"https": auth_proxy.auth_url}, verify_ssl=tls_server.ca_path)
    assert client.get("/json").ok is True
    assert client.get("/json").ok is True
    (connect,) = auth_proxy.requests
    assert connect.method == "CONNECT"
    assert connect.headers["proxy-authorization"] == auth_proxy.authorization
    assert auth_proxy.tunnels == 1


def test_connect_tunnel_refused_is_a_connect_error(
    clients: Callable[..., soundcloud.Client], tls_server: TLSServer, auth_proxy: ForwardProxy
) -> None:
    client = clients(api_url=tls_server.url, proxies={"https": auth_proxy.url}, verify_ssl=tls_server.ca_path)
    with pytest.raises(soundcloud.ConnectError, match="proxy did not open a tunnel") as caught:
        client.get("/json")
    assert "407" in str(caught.value)
    assert auth_proxy.tunnels == 0 and tls_server.requests == []


def test_proxies_from_the_environment(
    clients: Callable[..., soundcloud.Client],
    tls_server: TLSServer,
    proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.host_port)
    client = clients(api_url=tls_server.url, verify_ssl=tls_server.ca_path)
    assert client.get("/json").ok is True
    assert proxy.tunnels == 1
    monkeypatch.setenv("NO_PROXY", "localhost")
    bypass = clients(api_url=tls_server.url, verify_ssl=tls_server.ca_path)
    assert bypass.get("/json").ok is True
    assert proxy.tunnels == 1 and len(proxy.requests) == 1


# -- misbehaving proxies and TLS peers ---------------------------------------------------------


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


@pytest.fixture
def scripted() -> Iterator[Callable[[Script], ScriptedServer]]:
    servers: List[ScriptedServer] = []

    def make(script: Script) -> ScriptedServer:
        server = ScriptedServer(script).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def read_head(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def drip(conn: socket.socket, data: bytes, delay: float, stop: threading.Event) -> None:
    for index in range(len(data)):
        conn.sendall(data[index : index + 1])
        if stop.wait(delay):
            return


def test_total_deadline_covers_a_dripping_connect_answer(
    clients: Callable[..., soundcloud.Client], scripted: Any, tls_server: TLSServer
) -> None:
    def slow_proxy(conn: socket.socket, stop: threading.Event) -> None:
        read_head(conn)
        drip(conn, b"HTTP/1.1 200 Connection established\r\nX-Slow: " + b"y" * 200 + b"\r\n\r\n", 0.02, stop)

    server = scripted(slow_proxy)
    client = clients(
        api_url=tls_server.url,
        proxies={"https": "127.0.0.1:%d" % server.port},
        verify_ssl=tls_server.ca_path,
        timeout=Timeout(connect=5, read=5, total=0.5),
    )
    started = time.monotonic()
    with pytest.raises(soundcloud.TimeoutError, match="total deadline of 0.5 s"):
        client.get("/json")
    assert 0.4 < time.monotonic() - started < 2
    assert server.connections == 1  # a passed deadline is not retried


def test_total_deadline_covers_a_dripping_tls_handshake(
    clients: Callable[..., soundcloud.Client], scripted: Any
) -> None:
    def slow_handshake(conn: socket.socket, stop: threading.Event) -> None:
        conn.recv(4096)  # the ClientHello
        # A handshake record header announcing 300 bytes, then the bytes, one by one.
        drip(conn, b"\x16\x03\x03\x01\x2c" + b"\x00" * 300, 0.02, stop)

    server = scripted(slow_handshake)
    client = clients(api_url="https://127.0.0.1:%d" % server.port, verify_ssl=False,
                     timeout=Timeout(connect=5, read=5, total=0.5))
    started = time.monotonic()
    with pytest.raises(soundcloud.TimeoutError, match="total deadline of 0.5 s"):
        client.get("/json")
    assert 0.4 < time.monotonic() - started < 2


@pytest.mark.parametrize(
    "answer, message",
    [
        (b"", "connection failed"),
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "proxy did not open a tunnel"),
        (b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n", "502 Bad Gateway"),
        (b"HTTP/1.1 200 OK\r\n" + b"X-Many: 1\r\n" * 101 + b"\r\n", "too large"),
        (b"HTTP/1.1 200 " + b"O" * 70000 + b"\r\n\r\n", "too large"),
        (b"HTTP/1.1 200 OK\r\nX-Long: " + b"v" * 70000 + b"\r\n\r\n", "too large"),
    ],
)
def test_broken_proxy_answers(
    clients: Callable[..., soundcloud.Client], scripted: Any, answer: bytes, message: str
) -> None:
    def proxy_script(conn: socket.socket, stop: threading.Event) -> None:
        read_head(conn)
        if answer:
            conn.sendall(answer)

    server = scripted(proxy_script)
    waits = Waits()
    transport = HTTPTransport(proxies={"https": "127.0.0.1:%d" % server.port}, verify=False, sleep=waits)
    client = clients(api_url="https://api.example.invalid", transport=transport)
    with pytest.raises(soundcloud.SoundCloudError, match=message) as caught:
        client.get("/json")
    assert isinstance(caught.value, (soundcloud.ConnectError, soundcloud.ResponseTooLargeError))
    assert TOKEN not in str(caught.value)
    if answer:
        assert waits == []  # the proxy's refusal is not retried


def test_connect_request_names_the_origin(
    clients: Callable[..., soundcloud.Client], proxy: ForwardProxy, tls_server: TLSServer
) -> None:
    client = clients(api_url=tls_server.url, proxies={"https": proxy.url}, verify_ssl=tls_server.ca_path)
    client.get("/json")
    (connect,) = proxy.requests
    assert connect.target == "localhost:%d" % tls_server.port
    assert connect.headers["host"] == "localhost:%d" % tls_server.port


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
                tls.unwrap()
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
            assert client.post("/json", title="once").ok is True
        assert client.get("/json").ok is True
        client.close()  # the server's last connection ends now, not at its join timeout
    assert served.count(b"POST") + served.count(b"POST (reset)") == 1
    assert waits == []


def test_internationalised_host_names_go_to_the_proxy_in_punycode(
    clients: Callable[..., soundcloud.Client], proxy: ForwardProxy
) -> None:
    client = clients(api_url="https://b\u00fccher.example", proxies={"https": proxy.url}, max_retries=0)
    with pytest.raises(soundcloud.ConnectError, match="403"):
        client.get("/json")  # the test proxy refuses anything but loopback
    assert proxy.refused == ["xn--bcher-kva.example:443"]
