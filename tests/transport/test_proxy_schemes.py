"""Which proxy URLs are used, against real listeners that count connections: an ``https://``
proxy (TLS to the proxy is not spoken) is refused before anything connects, from
``proxies=`` with a ValueError and from ``HTTPS_PROXY`` and friends with an error naming
the variable, never showing the proxy password; and under CGI (``REQUEST_METHOD`` set) the
upper-case ``HTTP_PROXY``, which a client's ``Proxy:`` header can set ("httpoxy"), is
ignored while the administrator's lower-case ``http_proxy`` still applies."""

from __future__ import annotations

from typing import Any

import pytest

import soundcloud
from soundcloud.transport import HTTPTransport

from support.faults import FaultServer, ScriptedServer
from support.proxy import ForwardProxy
from support.transport_calls import fetch

PASSWORD = "pr0xy-pa55word"


@pytest.fixture
def listener(scripted: Any) -> ScriptedServer:
    """A listener that would take the proxy connection: it only counts it."""
    return scripted(lambda conn, stop: None)


@pytest.mark.parametrize("key", ["http", "https", "all"])
def test_an_https_proxy_url_is_refused_before_connecting(listener: ScriptedServer, key: str) -> None:
    url = "https://user:%s@127.0.0.1:%d" % (PASSWORD, listener.port)
    with pytest.raises(ValueError, match="https:// proxies are not supported") as caught:
        HTTPTransport(proxies={key: url})
    assert PASSWORD not in str(caught.value)
    with pytest.raises(ValueError, match="https:// proxies are not supported"):
        soundcloud.Client(client_id="x", proxies={key: url})
    assert listener.connections == 0


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "ALL_PROXY", "all_proxy"])
def test_an_https_proxy_from_the_environment_is_refused_naming_the_variable(
    listener: ScriptedServer, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "https://user:%s@127.0.0.1:%d" % (PASSWORD, listener.port))
    with pytest.raises(ValueError, match=variable + " in the environment: ") as caught:
        HTTPTransport()
    assert "https:// proxies are not supported" in str(caught.value)
    assert PASSWORD not in str(caught.value)
    assert listener.connections == 0


def test_an_unsupported_proxy_scheme_from_the_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "socks5://user:%s@127.0.0.1:1080" % PASSWORD)
    with pytest.raises(ValueError, match="HTTPS_PROXY in the environment: unsupported proxy scheme") as caught:
        HTTPTransport()
    assert PASSWORD not in str(caught.value)


def test_http_proxy_is_ignored_under_cgi(
    monkeypatch: pytest.MonkeyPatch, fault_server: FaultServer, proxy: ForwardProxy
) -> None:
    monkeypatch.setenv("REQUEST_METHOD", "GET")
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    transport = HTTPTransport(max_retries=0)
    try:
        assert fetch(transport, "GET", fault_server.url + "/json")[0] == 200
    finally:
        transport.close()
    assert proxy.connections == 0 and fault_server.count() == 1
    # The lower-case variable cannot come from a request header: it still applies.
    monkeypatch.delenv("HTTP_PROXY")
    monkeypatch.setenv("http_proxy", proxy.url)
    transport = HTTPTransport(max_retries=0)
    try:
        assert fetch(transport, "GET", fault_server.url + "/json")[0] == 200
    finally:
        transport.close()
    assert [r.target for r in proxy.requests] == [fault_server.url + "/json"]


def test_http_proxy_applies_outside_cgi(
    monkeypatch: pytest.MonkeyPatch, fault_server: FaultServer, proxy: ForwardProxy
) -> None:
    monkeypatch.delenv("REQUEST_METHOD", raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    transport = HTTPTransport(max_retries=0)
    try:
        assert fetch(transport, "GET", fault_server.url + "/json")[0] == 200
    finally:
        transport.close()
    assert [r.target for r in proxy.requests] == [fault_server.url + "/json"]
