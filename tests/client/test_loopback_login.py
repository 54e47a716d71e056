"""The loopback login (RFC 8252) against the fake SoundCloud, a urllib browser playing the user:
end to end on any free port (stray browser requests ignored, nothing secret logged, a second
login getting a new verifier), a configured port, the user denying, a clean timeout that leaves
nothing listening, a forged state refused, the loopback redirect URI required, and IPv6."""

from __future__ import annotations

import logging
import socket
import urllib.error
import urllib.request
from typing import Any, List, Optional, Tuple
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest

import soundcloud
from soundcloud.testing import FakeSoundCloud

from support.clients import TIMEOUT, form_of, make_client, token_requests


class Browser:
    """Plays the user's browser: opens the authorize URL with urllib and follows the fake's
    redirect to the loopback callback, keeping each page it was shown."""

    def __init__(self, before: Optional[List[str]] = None) -> None:
        self.pages: List[Tuple[int, str]] = []
        self.before = before or []
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def fetch(self, url: str) -> None:
        try:
            with self.opener.open(url, timeout=TIMEOUT) as response:
                self.pages.append((response.status, response.read().decode()))
        except urllib.error.HTTPError as error:
            with error:
                self.pages.append((error.code, error.read().decode()))

    def __call__(self, url: str) -> None:
        callback = dict(parse_qsl(urlsplit(url).query))["redirect_uri"]
        for path in self.before:  # what else a browser may ask the loopback server first
            self.fetch(urljoin(callback, path))
        self.fetch(url)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- loopback login (RFC 8252) -------------------------------------------------------------


def test_loopback_login_end_to_end(caplog: pytest.LogCaptureFixture) -> None:
    with FakeSoundCloud(loopback_any_port=True) as fake:  # registered: http://127.0.0.1:8765/callback
        client = make_client(fake)  # no redirect_uri: http://127.0.0.1:<free port>/callback
        browser = Browser(before=["/favicon.ico", "/callback"])
        caplog.set_level(logging.DEBUG, logger="soundcloud")
        token = client.login(open_browser=browser, timeout=TIMEOUT)
        assert token is client.token and token.grant_type == "authorization_code"
        assert client.get("/me").username == fake.user["username"]
        favicon, empty, done = browser.pages
        assert favicon[0] == 404 and empty[0] == 400  # neither ends the login
        assert done[0] == 200 and "You can close this window" in done[1]
        (exchange,) = token_requests(fake)
        redirect_uri = form_of(exchange)["redirect_uri"]
        parts = urlsplit(redirect_uri)
        assert (parts.scheme, parts.hostname, parts.path) == ("http", "127.0.0.1", "/callback")
        assert parts.port not in (None, 0, 8765)
        assert token.access_token not in done[1]
        logged = "\n".join(record.getMessage() for record in caplog.records)
        assert "/callback" in logged  # the callback is logged, without its query
        for secret in (form_of(exchange)["code"], form_of(exchange)["code_verifier"], token.access_token):
            assert secret not in logged
        # A second login on the same client: a new verifier, a new state, a new token.
        verifier = client.code_verifier
        again = client.login(open_browser=Browser(), timeout=TIMEOUT)
        assert again.access_token != token.access_token and client.code_verifier != verifier


def test_loopback_login_listens_on_the_configured_port() -> None:
    port = free_port()
    redirect_uri = f"http://127.0.0.1:{port}/oauth/cb"
    with FakeSoundCloud(redirect_uri=redirect_uri) as fake:  # strict: exactly this URI
        client = make_client(fake, client_secret=fake.client_secret, redirect_uri=redirect_uri)
        with pytest.raises(ValueError, match="differs"):
            client.login(port=port + 1 if port < 65535 else port - 1, open_browser=Browser(), timeout=TIMEOUT)
        token = client.login(port=port, open_browser=Browser(), timeout=TIMEOUT)
        assert client.get("/me").id == fake.user_id and token.refresh_token
        assert form_of(token_requests(fake)[-1])["redirect_uri"] == redirect_uri


def test_loopback_login_user_denies() -> None:
    with FakeSoundCloud(loopback_any_port=True) as fake:
        fake.approve_authorizations = False
        client = make_client(fake)
        browser = Browser()
        with pytest.raises(soundcloud.errors.AccessDeniedError) as info:
            client.login(open_browser=browser, timeout=TIMEOUT)
        assert isinstance(info.value, soundcloud.OAuthError) and info.value.error == "access_denied"
        assert "denied" in str(info.value) and info.value.error_description == "the user denied the request"
        assert "Login refused" in browser.pages[-1][1]
        assert token_requests(fake) == [] and client.token is None


def test_loopback_login_times_out_cleanly() -> None:
    with FakeSoundCloud(loopback_any_port=True) as fake:
        client = make_client(fake)
        urls: List[str] = []
        with pytest.raises(soundcloud.TimeoutError) as info:
            client.login(open_browser=urls.append, timeout=0.2)
        assert isinstance(info.value, TimeoutError) and "0.2 s" in str(info.value)
        assert len(urls) == 1 and fake.requests == []
        # The one-shot server is gone: nothing listens on its port any more.
        callback = urlsplit(dict(parse_qsl(urlsplit(urls[0]).query))["redirect_uri"])
        with socket.socket() as sock:
            sock.settimeout(TIMEOUT)
            assert sock.connect_ex(("127.0.0.1", int(callback.port or 0))) != 0


def test_loopback_login_refuses_a_forged_state() -> None:
    with FakeSoundCloud(loopback_any_port=True) as fake:
        client = make_client(fake)
        forger = Browser()

        def forge(url: str) -> None:
            callback = dict(parse_qsl(urlsplit(url).query))["redirect_uri"]
            forger.fetch(callback + "?" + urlencode({"code": "attacker-code", "state": "forged"}))

        # Refused with a 400, and the login waits on for the real redirect (until its timeout).
        with pytest.raises(soundcloud.TimeoutError):
            client.login(open_browser=forge, timeout=0.5)
        assert forger.pages[0][0] == 400
        assert token_requests(fake) == [] and "attacker-code" not in forger.pages[0][1]


def test_loopback_login_needs_a_loopback_redirect_uri(fake: Any) -> None:
    client = make_client(fake, redirect_uri="https://yourapp.com/callback")
    opened: List[str] = []
    with pytest.raises(ValueError, match="loopback|127.0.0.1"):
        client.login(open_browser=opened.append, timeout=TIMEOUT)
    assert opened == [] and fake.requests == []
    with pytest.raises(ValueError):
        make_client(fake).login(port=70000, open_browser=opened.append, timeout=TIMEOUT)
    with pytest.raises(ValueError):
        make_client(fake).login(open_browser=opened.append, timeout=0)


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6")
def test_loopback_login_on_ipv6() -> None:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("::1 is not available")
    with FakeSoundCloud(redirect_uri="http://[::1]/callback", loopback_any_port=True) as fake:
        client = make_client(fake, redirect_uri="http://[::1]/callback")
        client.login(open_browser=Browser(), timeout=TIMEOUT)
        redirect_uri = form_of(token_requests(fake)[-1])["redirect_uri"]
        assert redirect_uri.startswith("http://[::1]:") and client.get("/me").id == fake.user_id
