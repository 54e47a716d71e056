"""What else reaches the loopback login's callback server while it waits (RFC 8252), against
the fake SoundCloud and real sockets and processes: forged redirects (a wrong state, an
``error`` without this login's state) are answered 400 and ignored until the real redirect
comes; garbage (not HTTP, bad request lines, huge headers, wrong paths and methods, resets)
gets a plain 4xx and never a traceback on stderr; a ``localhost`` redirect URI holds the port
on both 127.0.0.1 and ::1, so no other program can listen where the browser may connect."""

from __future__ import annotations

import errno
import socket
import struct
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from http import HTTPStatus
from typing import List, Optional, Tuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from soundcloud.testing import FakeSoundCloud

from support.browser import browse as fetch
from support.clients import TIMEOUT, form_of, make_client, token_requests
from support.wire import wait_until

def callback_of(authorize_url: str) -> str:
    return dict(parse_qsl(urlsplit(authorize_url).query))["redirect_uri"]


def has_ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


# -- forged redirects -------------------------------------------------------------------------


def test_forged_callbacks_before_the_real_one_do_not_end_the_login() -> None:
    with FakeSoundCloud(loopback_any_port=True) as fake:
        client = make_client(fake)
        pages: List[Tuple[int, str]] = []

        def forge_then_log_in(url: str) -> None:
            callback = callback_of(url)
            for query in (
                {"code": "attacker-code", "state": "forged"},  # a wrong state
                {"code": "attacker-code"},  # no state at all
                {"error": "access_denied"},  # an error without this login's state
                {"error": "access_denied", "state": "forged"},
            ):
                pages.append(fetch(callback + "?" + urlencode(query)))
            pages.append(fetch(url))  # the user logs in: the fake redirects with the real state

        token = client.login(open_browser=forge_then_log_in, timeout=TIMEOUT)
        assert [status for status, _ in pages] == [400, 400, 400, 400, 200]
        assert "You can close this window" in pages[-1][1]
        assert all("attacker-code" not in page for _, page in pages)
        (exchange,) = token_requests(fake)
        assert form_of(exchange)["code"] != "attacker-code"
        assert token is client.token and client.get("/me").id == fake.user_id


def test_an_error_with_this_logins_state_is_still_honoured() -> None:
    with FakeSoundCloud(loopback_any_port=True) as fake:
        fake.approve_authorizations = False  # the fake redirects error=access_denied&state=<ours>
        client = make_client(fake)
        pages: List[Tuple[int, str]] = []

        def forge_then_deny(url: str) -> None:
            pages.append(fetch(callback_of(url) + "?" + urlencode({"error": "server_error"})))
            pages.append(fetch(url))

        import soundcloud

        with pytest.raises(soundcloud.errors.AccessDeniedError):
            client.login(open_browser=forge_then_deny, timeout=TIMEOUT)
        assert [status for status, _ in pages] == [400, 200] and "Login refused" in pages[1][1]
        assert token_requests(fake) == []


# -- garbage ----------------------------------------------------------------------------------


def exchange_raw(port: int, data: bytes, *, reset: bool = False) -> bytes:
    """Send ``data`` on a new connection to 127.0.0.1:``port`` and read until the server closes
    (after our FIN: the server sees the end of what we sent); ``reset`` aborts with a RST instead."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        if data:
            sock.sendall(data)
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return b""
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:  # the server closed with our unread bytes pending
                break
            if not chunk:
                break
            answer += chunk
        return answer


GARBAGE: List[Tuple[str, bytes, Optional[int]]] = [
    ("a TLS ClientHello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)), 400),
    ("one word", b"GARBAGE\r\n\r\n", 400),
    ("control characters as the method", b"\x1b]52;c;aGk=\x07 /callback HTTP/1.1\r\n\r\n", 405),
    ("a bad version", b"GET /callback HTTP/x.y\r\n\r\n", 400),
    ("HTTP/2.0", b"GET /callback HTTP/2.0\r\n\r\n", 505),
    ("HTTP/0.9 POST", b"POST /callback\r\n", 400),
    ("a request line of 70000 bytes", b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
    ("a header line of 70000 bytes", b"GET /callback HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    ("200 headers", b"GET /callback HTTP/1.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n", 431),
    ("a wrong path", b"GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    ("an unparsable path", b"GET //[::1 HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    ("absolute-form", b"GET http://[bad/callback HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    ("POST", b"POST /callback?code=x&state=y HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 405),
    ("HEAD", b"HEAD /callback HTTP/1.1\r\n\r\n", 405),
    ("an unknown method", b"BREW /callback HTTP/1.1\r\n\r\n", 405),
    ("nothing", b"", None),
]


def test_garbage_on_the_callback_port_gets_a_quiet_4xx(capfd: pytest.CaptureFixture[str]) -> None:
    answers: List[Tuple[str, bytes]] = []
    with FakeSoundCloud(loopback_any_port=True) as fake:
        client = make_client(fake)

        def garbage_then_log_in(url: str) -> None:
            port = int(urlsplit(callback_of(url)).port or 0)
            exchange_raw(port, b"GET /callback HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half", reset=True)
            for name, data, _ in GARBAGE:
                answers.append((name, exchange_raw(port, data)))
            assert fetch(url)[0] == 200

        client.login(open_browser=garbage_then_log_in, timeout=TIMEOUT)
        assert client.get("/me").id == fake.user_id
    # Every connection's thread is done before stderr is read (the reset one included).
    wait_until(
        lambda: not any(t.name == "soundcloud-login-callback" for t in threading.enumerate()),
        TIMEOUT,
        "the callback server's connection threads end",
    )
    for (name, _, status), (_, answer) in zip(GARBAGE, answers):
        if status is None:
            assert answer == b"", name
            continue
        head, _, body = answer.partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n")[0]
        # The standard phrase only: nothing of what was sent is repeated.
        expected = b"HTTP/1.0 %d %s" % (status, HTTPStatus(status).phrase.encode())
        assert status_line == expected, (name, answer[:200])
        assert b"Traceback" not in answer and b"\x1b" not in answer and b"aaaa" not in answer, name
        assert b"Connection: close" in head, name
        if status == 405:
            assert b"\r\nAllow: GET\r\n" in head, name
    out, err = capfd.readouterr()
    assert err == "" and out == ""


# -- localhost: both loopback families ----------------------------------------------------------

# Another program trying to listen on a port: binds and listens with SO_REUSEADDR (and
# SO_REUSEPORT where there is one), as a squatter would; exit 0 when it got the port.
SQUAT = """
import socket, sys
family = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
sock = socket.socket(family)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if hasattr(socket, "SO_REUSEPORT"):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
try:
    sock.bind((sys.argv[2], int(sys.argv[3])))
    sock.listen()
except OSError as exc:
    print(exc.errno)
    sys.exit(3)
print("listening")
"""


def squat(family: str, host: str, port: int) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, "-c", SQUAT, family, host, str(port)],
        capture_output=True, text=True, timeout=TIMEOUT * 4, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback")
def test_a_localhost_login_holds_the_port_on_both_families() -> None:
    with FakeSoundCloud(redirect_uri="http://localhost/callback", loopback_any_port=True) as fake:
        client = make_client(fake, redirect_uri="http://localhost/callback")
        squatters: List["subprocess.CompletedProcess[str]"] = []

        def squat_then_log_in_over_ipv6(url: str) -> None:
            port = int(urlsplit(callback_of(url)).port or 0)
            squatters.append(squat("6", "::1", port))
            squatters.append(squat("4", "127.0.0.1", port))
            # The user's browser resolves localhost to ::1: the redirect arrives there.
            no_redirects = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect())
            try:
                no_redirects.open(url, timeout=TIMEOUT).close()
                raise AssertionError("the fake did not redirect")
            except urllib.error.HTTPError as redirect:
                with redirect:
                    location = urlsplit(redirect.headers["Location"])
            assert location.hostname == "localhost"
            status, page = fetch(urlunsplit(location._replace(netloc=f"[::1]:{port}")))
            assert status == 200, page

        client.login(open_browser=squat_then_log_in_over_ipv6, timeout=TIMEOUT)
        for result in squatters:
            assert result.returncode == 3, result.stdout + result.stderr
            assert result.stdout.strip() == str(errno.EADDRINUSE)
        assert form_of(token_requests(fake)[-1])["redirect_uri"].startswith("http://localhost:")
        assert client.get("/me").id == fake.user_id


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def ipv6_port_free_on_ipv4() -> Tuple[socket.socket, socket.socket]:
    """A socket bound on [::1] and one bound (not listening) on 127.0.0.1, on the same port.

    The second holds the port while the fake starts, so none of the fake's own ephemeral ports
    on 127.0.0.1 can be it; the test releases it before the login binds there.
    """
    for _ in range(20):
        squatter = socket.socket(socket.AF_INET6)
        placeholder = socket.socket()
        try:
            squatter.bind(("::1", 0))
            placeholder.bind(("127.0.0.1", squatter.getsockname()[1]))
            return squatter, placeholder
        except OSError:
            squatter.close()
            placeholder.close()
    raise AssertionError("found no port free on both ::1 and 127.0.0.1 in 20 tries")


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback")
def test_a_localhost_login_refuses_a_port_taken_on_ipv6() -> None:
    squatter, placeholder = ipv6_port_free_on_ipv4()
    with squatter, placeholder:
        squatter.listen()
        port = squatter.getsockname()[1]
        redirect_uri = f"http://localhost:{port}/callback"
        with FakeSoundCloud(redirect_uri=redirect_uri) as fake:
            client = make_client(fake, redirect_uri=redirect_uri)
            placeholder.close()
            opened: List[str] = []
            with pytest.raises(OSError) as info:
                client.login(open_browser=opened.append, timeout=TIMEOUT)
            assert info.value.errno == errno.EADDRINUSE
            assert f"[::1]:{port}" in str(info.value) and "another program" in str(info.value)
            assert opened == [] and fake.requests == []
        # Nothing was left listening on 127.0.0.1 either.
        with socket.socket() as probe:
            probe.settimeout(TIMEOUT)
            assert probe.connect_ex(("127.0.0.1", port)) != 0
