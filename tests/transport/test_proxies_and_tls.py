"""TLS and proxies with connection reuse: certificates from a CA made at test time (trustme),
a real forward proxy for absolute-form HTTP and CONNECT tunnels, proxies from the
environment and NO_PROXY, an unreadable CA bundle, and misbehaving proxies and TLS peers;
connections counted at the servers. Nothing leaves 127.0.0.1. (A TLS connection the server
closed is in test_keepalive.py, with the other stale keep-alive tests.)"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable

import pytest

import soundcloud
from soundcloud._models import Timeout
from soundcloud.transport import HTTPTransport
from soundcloud.transport.proxy import normalize_proxies

from support.faults import FaultServer, read_head
from support.proxy import PROXY_CREDENTIALS, ForwardProxy
from support.tls import TLSServer
from support.transport_calls import TIMEOUT, Waits, closed_port, fetch, send
from support.transport_calls import TLS_TOKEN as TOKEN


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


def test_unreadable_ca_bundle_is_a_connect_error(make_transport: Any, tmp_path: Any) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a certificate")
    transport, waits = make_transport(verify=str(bundle))
    with pytest.raises(soundcloud.ConnectError):
        send(transport, "GET", "https://127.0.0.1:%d/" % closed_port())
    assert waits.waits == []


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


# -- HTTPS through a CONNECT tunnel ---------------------------------------------------------


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


# -- proxies from the environment -----------------------------------------------------------


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


# -- misbehaving proxies and TLS peers ------------------------------------------------------


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


def test_internationalised_host_names_go_to_the_proxy_in_punycode(
    clients: Callable[..., soundcloud.Client], proxy: ForwardProxy
) -> None:
    client = clients(api_url="https://b\u00fccher.example", proxies={"https": proxy.url}, max_retries=0)
    with pytest.raises(soundcloud.ConnectError, match="403"):
        client.get("/json")  # the test proxy refuses anything but loopback
    assert proxy.refused == ["xn--bcher-kva.example:443"]
