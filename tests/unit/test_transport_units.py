"""The transport's pure parts, without a socket: Timeout forms, repr and equality, URL
splitting, the error mapping (``map_exception``), proxy normalisation, which errors the
retry policy counts as retryable, constructor checks (HTTPTransport's own, and the
client's ``max_retries`` reaching its transport) and the Transport base class."""

from __future__ import annotations

import http.client
import socket
import ssl

import pytest

import soundcloud
from soundcloud._models import DEFAULT_TIMEOUT, Request, Timeout, as_timeout
from soundcloud.transport import HTTPTransport
from soundcloud.transport import base as transport_base
from soundcloud.transport import connection as transport_connection
from soundcloud.transport import retry as transport_retry
from soundcloud.transport.exceptions import map_exception
from soundcloud.transport.proxy import normalize_proxies


# -- Timeout and the constructors -----------------------------------------------------------


def test_timeout_forms() -> None:
    assert (Timeout(10).connect, Timeout(10).read, Timeout(10).total) == (10.0, 10.0, None)
    assert (DEFAULT_TIMEOUT.connect, DEFAULT_TIMEOUT.read, DEFAULT_TIMEOUT.total) == (10.0, 30.0, None)
    split = Timeout(connect=1, read=2, total=3)
    assert (split.connect, split.read, split.total) == (1.0, 2.0, 3.0)
    assert Timeout(5, total=7) == Timeout(connect=5, read=5, total=7)
    assert as_timeout(None) is DEFAULT_TIMEOUT and as_timeout(2.5) == Timeout(2.5) and as_timeout(split) is split
    for bad in (0, -1):
        with pytest.raises(ValueError, match="positive"):
            Timeout(bad)
    with pytest.raises(ValueError, match="total"):
        Timeout(total=0)
    with pytest.raises(TypeError):
        as_timeout("5")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        as_timeout(True)


def test_timeout_repr_and_equality() -> None:
    assert repr(Timeout(connect=1, read=2, total=3)) == "Timeout(connect=1.0, read=2.0, total=3.0)"
    assert Timeout(1) != "Timeout(1)"
    assert Timeout(1) != Timeout(2)


def test_constructor_checks() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        HTTPTransport(max_retries=-1)
    with pytest.raises(ValueError, match="pool_size"):
        HTTPTransport(pool_size=0)
    with pytest.raises(ValueError, match="backoff"):
        HTTPTransport(max_backoff=-1)
    with pytest.raises(ValueError, match="CA bundle"):
        HTTPTransport(verify="/nonexistent/ca.pem")
    with pytest.raises(TypeError):
        HTTPTransport(verify=1)  # type: ignore[arg-type]


def test_client_max_retries_reaches_the_transport() -> None:
    client = soundcloud.Client(client_id="x", max_retries=0, proxies={})
    assert isinstance(client.transport, HTTPTransport) and client.transport.max_retries == 0
    client.close()


def test_transport_base_class() -> None:
    base = transport_base.Transport()
    with pytest.raises(NotImplementedError):
        base.handle_request(Request("GET", "http://h/", {}))
    base.close()


# -- URLs and proxies -----------------------------------------------------------------------


def test_split_url() -> None:
    split = transport_connection._split_url
    assert split("http://h:1/a/b?x=1#frag") == ("http://h:1", "/a/b?x=1")
    assert split("https://h") == ("https://h", "/")
    assert split("http://h?x=1") == ("", "")
    assert split("relative/path") == ("", "")


def test_normalize_proxies() -> None:
    proxies = normalize_proxies({"http": "proxy:3128", "https": "http://user:p%40ss@proxy2:8080", "all": ""})
    assert set(proxies) == {"http", "https"}
    assert (proxies["http"].host, proxies["http"].port, proxies["http"].authorization) == ("proxy", 3128, None)
    assert proxies["https"].authorization == "Basic dXNlcjpwQHNz"  # user:p@ss
    assert "p%40ss" not in proxies["https"].url
    assert normalize_proxies(None) == {}
    with pytest.raises(ValueError, match="keys"):
        normalize_proxies({"ftp": "proxy:1"})
    with pytest.raises(ValueError, match="scheme"):
        normalize_proxies({"http": "socks5://proxy:1"})
    with pytest.raises(ValueError, match="port"):
        normalize_proxies({"http": "proxy:notaport"})


# -- error mapping and retry classification -------------------------------------------------


@pytest.mark.parametrize(
    "exc, stage, expected, text",
    [
        (ConnectionRefusedError(111, "refused"), "connect", soundcloud.ConnectError, "refused"),
        (socket.gaierror(-2, "Name or service not known"), "connect", soundcloud.ConnectError, "resolved"),
        (OSError("Tunnel connection failed: 407 Proxy Authentication Required"), "connect", soundcloud.ConnectError, "tunnel"),
        (OSError(101, "Network is unreachable"), "connect", soundcloud.ConnectError, "connection failed"),
        (socket.timeout("timed out"), "connect", soundcloud.TimeoutError, "connect timeout of 10 s"),
        (socket.timeout("timed out"), "send", soundcloud.TimeoutError, "read timeout of 30 s"),
        (socket.timeout("timed out"), "response", soundcloud.TimeoutError, "no response within the read timeout"),
        (socket.timeout("timed out"), "body", soundcloud.TimeoutError, "body stalled"),
        (http.client.RemoteDisconnected("closed"), "response", soundcloud.ProtocolError, "without answering"),
        (ConnectionResetError(104, "reset"), "response", soundcloud.ProtocolError, "reset"),
        (BrokenPipeError(32, "pipe"), "send", soundcloud.ProtocolError, "reset"),
        (http.client.BadStatusLine("SSH-2.0"), "response", soundcloud.ProtocolError, "malformed"),
        (http.client.IncompleteRead(b"abc", 7), "body", soundcloud.ProtocolError, "after 3 bytes of the body, 7 more"),
        (http.client.LineTooLong("header line"), "response", soundcloud.ResponseTooLargeError, "too large"),
        (http.client.HTTPException("got more than 100 headers"), "response", soundcloud.ResponseTooLargeError, "too large"),
        (http.client.InvalidURL("control characters"), "send", ValueError, "cannot send"),
        (ValueError("Invalid header value"), "send", ValueError, "cannot send"),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), "connect", soundcloud.ConnectError, "verif"),
        (ssl.SSLError(1, "wrong version number"), "connect", soundcloud.ConnectError, "handshake"),
        (ssl.SSLEOFError(8, "EOF"), "body", soundcloud.ProtocolError, "TLS"),
        (RuntimeError("odd"), "response", soundcloud.TransportError, "failed"),
    ],
)
def test_map_exception(exc: BaseException, stage: str, expected: type, text: str) -> None:
    mapped = map_exception(exc, "GET", "https://api.example/x?access_token=SECRET", stage=stage, timeout=DEFAULT_TIMEOUT)
    assert type(mapped) is expected
    assert text in str(mapped)
    assert "SECRET" not in str(mapped)


def test_map_exception_deadline_and_body_started() -> None:
    mapped = map_exception(ConnectionResetError(), "GET", "http://h/", timeout=Timeout(5, total=2), deadline_passed=True)
    assert type(mapped) is soundcloud.TimeoutError and "total deadline of 2 s" in str(mapped)
    mapped = map_exception(ConnectionResetError(), "POST", "http://h/", body_started=True, stage="send")
    assert type(mapped) is soundcloud.UploadInterruptedError
    already = soundcloud.ProtocolError("x")
    assert map_exception(already, "GET", "http://h/") is already


def test_more_mappings() -> None:
    mapped = map_exception(ValueError("odd"), "GET", "http://h/", stage="body")
    assert type(mapped) is soundcloud.ProtocolError and "malformed body" in str(mapped)
    mapped = map_exception(OSError(100, "Network is down"), "GET", "http://h/", stage="response")
    assert type(mapped) is soundcloud.ProtocolError
    mapped = map_exception(socket.timeout(), "GET", "http://h/")
    assert type(mapped) is soundcloud.TimeoutError and "timed out" in str(mapped)
    mapped = map_exception(OSError(), "GET", "http://h/", deadline_passed=True)
    assert "the total deadline passed" in str(mapped)


def test_retry_classification() -> None:
    retryable = transport_retry._is_retryable_error
    assert retryable(ConnectionRefusedError(), "connect")
    assert retryable(socket.timeout(), "connect")
    assert not retryable(socket.gaierror(-2, "unknown"), "connect")
    assert not retryable(OSError("Tunnel connection failed: 403 Forbidden"), "connect")
    assert not retryable(ssl.SSLCertVerificationError(1, "bad"), "connect")
    assert retryable(http.client.RemoteDisconnected("x"), "response")
    assert retryable(BrokenPipeError(), "send")
    assert not retryable(socket.timeout(), "response")
    assert not retryable(http.client.BadStatusLine("garbage"), "response")
