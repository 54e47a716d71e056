"""The headless login against the fake SoundCloud, real pipes and sockets: ``complete_login``
with the address the browser ended on (the whole URL, without its scheme, the query alone; the
state always checked, nothing sent on a mismatch; the login page's address and other addresses
refused with what to paste), and ``login(open_browser=False)``, which prints the URL and takes
either the pasted address or the loopback callback, whichever comes first: wrong pastes and
oversized lines explained while it waits on, the end of input not ending it, a callback stopping
the reading and leaving later input unread, the timeout, and a stream without a descriptor.

The fake's /authorize approves at once and redirects with the code and the state: its
``Location``, read without following it, is "the address the browser ended on"."""

from __future__ import annotations

import io
import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Callable, Iterator, List, Optional
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

import soundcloud
from soundcloud.auth.paste import MAX_PASTED_LINE, PASTE_THREAD
from soundcloud.testing import FakeSoundCloud

from support.browser import browse, landing
from support.clients import TIMEOUT, form_of, make_client, token_requests
from support.wire import wait_until


def secrets_of(address: str) -> List[str]:
    query = dict(parse_qsl(urlsplit(address).query))
    return [value for name, value in query.items() if name in ("code", "state")]


def assert_shows_none(text: str, secrets: List[str]) -> None:
    """None of ``secrets`` in ``text``, the authorize URL aside (it carries the state it sends)."""
    shown = "\n".join(line for line in text.splitlines() if "/authorize?" not in line)
    for secret in secrets:
        assert secret not in shown


# -- complete_login ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [
        lambda address: address,
        lambda address: address.partition("://")[2],  # no scheme
        lambda address: "?" + urlsplit(address).query,
        lambda address: urlsplit(address).query,
        lambda address: f' "<{address}>"\n',
    ],
    ids=["whole URL", "no scheme", "?query", "query", "wrapped"],
)
def test_complete_login_takes_what_a_user_pastes(fake: FakeSoundCloud, shape: Callable[[str], str]) -> None:
    client = make_client(fake, redirect_uri=fake.redirect_uri)
    address = landing(client.authorize_url())
    token = client.complete_login(shape(address))
    assert token is client.token and token.grant_type == "authorization_code"
    (exchange,) = token_requests(fake)
    sent = form_of(exchange)
    assert sent["redirect_uri"] == fake.redirect_uri and sent["code"] == dict(parse_qsl(urlsplit(address).query))["code"]
    assert client.get("/me").id == fake.user_id


@pytest.mark.parametrize("state", ["forged", "", None], ids=["wrong", "empty", "missing"])
def test_complete_login_always_checks_the_state(fake: FakeSoundCloud, state: Optional[str]) -> None:
    client = make_client(fake, redirect_uri=fake.redirect_uri)
    address = landing(client.authorize_url())
    code = dict(parse_qsl(urlsplit(address).query))["code"]
    query = {"code": code} if state is None else {"code": code, "state": state}
    with pytest.raises(soundcloud.StateMismatchError) as info:
        client.complete_login(fake.redirect_uri + "?" + urlencode(query))
    assert_shows_none(str(info.value), secrets_of(address))
    assert token_requests(fake) == [] and client.token is None
    assert client.complete_login(address).access_token  # nothing was spent


def test_complete_login_raises_the_error_the_redirect_brought(fake: FakeSoundCloud) -> None:
    fake.approve_authorizations = False  # the fake redirects error=access_denied&state=<ours>
    client = make_client(fake, redirect_uri=fake.redirect_uri)
    address = landing(client.authorize_url())
    forged = fake.redirect_uri + "?" + urlencode({"error": "server_error", "state": "forged"})
    with pytest.raises(soundcloud.StateMismatchError):
        client.complete_login(forged)  # an error counts only with this login's state
    with pytest.raises(soundcloud.AccessDeniedError) as info:
        client.complete_login(address)
    assert info.value.error == "access_denied" and info.value.error_description == "the user denied the request"
    assert_shows_none(str(info.value), secrets_of(address))
    assert token_requests(fake) == []


@pytest.mark.parametrize(
    "elsewhere",
    [
        lambda address: address.replace("/callback", "/other", 1),
        lambda address: address.replace("://127.0.0.1", "://localhost", 1),
    ],
    ids=["another path", "another host"],
)
def test_complete_login_refuses_another_address(fake: FakeSoundCloud, elsewhere: Callable[[str], str]) -> None:
    client = make_client(fake, redirect_uri=fake.redirect_uri)
    address = landing(client.authorize_url())
    with pytest.raises(ValueError) as info:
        client.complete_login(elsewhere(address))
    assert not isinstance(info.value, soundcloud.OAuthError)
    assert "not this login's redirect" in str(info.value) and fake.redirect_uri in str(info.value)
    assert_shows_none(str(info.value), secrets_of(address))
    assert token_requests(fake) == []


def test_complete_login_explains_a_pasted_login_page(fake: FakeSoundCloud) -> None:
    client = make_client(fake, redirect_uri=fake.redirect_uri)
    url = client.authorize_url()
    with pytest.raises(ValueError) as info:
        client.complete_login(url)
    assert "that is the login page's address; paste the address the browser ended on after you approved" in str(
        info.value
    )
    assert client.state not in str(info.value) and fake.requests == []


def test_complete_login_spends_the_verifier_once(fake: FakeSoundCloud) -> None:
    client = make_client(fake, redirect_uri=fake.redirect_uri)
    address = landing(client.authorize_url())
    first = client.complete_login(address)
    with pytest.raises(soundcloud.OAuthError) as info:
        client.complete_login(address)
    assert info.value.error == "code_verifier_used"
    assert_shows_none(str(info.value), secrets_of(address))
    assert len(token_requests(fake)) == 1 and client.token is first


def test_complete_login_in_a_web_apps_second_request(fake: FakeSoundCloud) -> None:
    # The callback request builds a new Client from the session: the client's redirect URI.
    first = make_client(fake, redirect_uri=fake.redirect_uri)
    address = landing(first.authorize_url())
    second = make_client(fake, redirect_uri=fake.redirect_uri, state=first.state, code_verifier=first.code_verifier)
    assert second.complete_login(address).access_token
    assert form_of(token_requests(fake)[0])["redirect_uri"] == fake.redirect_uri


def test_complete_login_needs_a_login(fake: FakeSoundCloud) -> None:
    with pytest.raises(ValueError, match="start one with authorize_url"):
        make_client(fake).complete_login(fake.redirect_uri + "?code=x&state=y")
    assert fake.requests == []


# -- login(open_browser=False) ----------------------------------------------------------------


class Terminal(io.StringIO):
    """The output stream of a login: keeps what was written; :meth:`wait_for` waits (bounded) for a line."""

    def __init__(self, on_write: Optional[Callable[[str], None]] = None) -> None:
        super().__init__()
        self._changed = threading.Condition()
        self._seen = 0  # lines before this one were matched by an earlier wait_for()
        self._on_write = on_write

    @property
    def text(self) -> str:
        with self._changed:
            return self.getvalue()

    def write(self, text: str) -> int:
        with self._changed:
            written = super().write(text)
            self._changed.notify_all()
        if self._on_write is not None:
            self._on_write(text)
        return written

    def wait_for(self, fragment: str) -> str:
        def line() -> Optional[str]:
            lines = self.getvalue().splitlines()
            for index in range(self._seen, len(lines)):
                if fragment in lines[index]:
                    self._seen = index + 1
                    return lines[index]
            return None

        with self._changed:
            found = self._changed.wait_for(line, TIMEOUT)
        assert found is not None, f"no line with {fragment!r} in {self.text!r}"
        return found


def paste_reader_running() -> bool:
    return any(thread.name == PASTE_THREAD for thread in threading.enumerate())


class Headless:
    """A headless login of a fresh client in the background, reading an os.pipe, while the test
    plays the user: reads the terminal, pastes (writes the pipe), plays the browser."""

    def __init__(self, fake: FakeSoundCloud, pool: ThreadPoolExecutor) -> None:
        self.fake = fake
        self.client = make_client(fake)
        self.terminal = Terminal()
        read_fd, self.write_fd = os.pipe()
        self.reader = open(read_fd, "rb", buffering=0)
        self.login: "Future[soundcloud.Token]" = pool.submit(
            self.client.login, open_browser=False, timeout=TIMEOUT * 2,
            input_stream=self.reader, output_stream=self.terminal,
        )  # fmt: skip
        self.url = self.terminal.wait_for(fake.auth_url + "/authorize?").strip()

    def paste(self, data: bytes) -> None:
        os.write(self.write_fd, data)

    def close_input(self) -> None:
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1

    def completed(self) -> soundcloud.Token:
        """The login's token, once it returned (bounded); it is the client's."""
        token: soundcloud.Token = self.login.result(TIMEOUT)
        assert self.client.token is token
        return token


@pytest.fixture
def headless() -> Iterator[Callable[[], Headless]]:
    """Starts headless logins against a fake that takes any loopback port; closes their pipes."""
    started: List[Headless] = []
    with FakeSoundCloud(loopback_any_port=True) as fake, ThreadPoolExecutor(max_workers=1) as pool:

        def start() -> Headless:
            started.append(Headless(fake, pool))
            return started[-1]

        try:
            yield start
        finally:
            for login in started:
                login.close_input()  # a login a failed test left waiting ends by its timeout
                wait([login.login], TIMEOUT * 3)
                login.reader.close()


def test_a_pasted_address_completes_the_login(
    headless: Callable[[], Headless], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="soundcloud")
    login = headless()
    assert login.terminal.text.splitlines()[0].startswith("Open this URL in a browser")
    assert "paste it here and press Enter" in login.terminal.text
    address = landing(login.url)  # the browser is on another machine: its redirect goes nowhere
    login.paste(address.encode() + b"\n")
    token = login.completed()
    assert login.client.get("/me").id == login.fake.user_id
    (exchange,) = token_requests(login.fake)
    assert address.startswith(form_of(exchange)["redirect_uri"] + "?")
    assert not paste_reader_running()
    logged = [record.getMessage() for record in caplog.records]
    assert not [line for line in logged if line.startswith("login callback:")]  # the server saw nothing
    assert_shows_none(login.terminal.text + "\n".join(logged), secrets_of(address) + [token.access_token])


def test_a_wrong_paste_is_explained_and_the_login_waits_on(headless: Callable[[], Headless]) -> None:
    login = headless()
    address = landing(login.url)
    code = dict(parse_qsl(urlsplit(address).query))["code"]
    login.paste(login.url.encode() + b"\n")
    assert login.terminal.wait_for("That is the login page's address; paste the address the browser ended on")
    login.paste(b"\n" + address.replace("/callback", "/elsewhere").encode() + b"\n")
    assert "not this login's redirect" in login.terminal.wait_for("That address")
    forged = address.split("?")[0] + "?" + urlencode({"code": code, "state": "forged"})
    login.paste(forged.encode() + b"\n")
    assert "not from this login" in login.terminal.wait_for("That address")
    login.paste(b"  <" + address.encode() + b">\r\n")  # the right one, as a terminal may wrap it
    login.completed()
    (exchange,) = token_requests(login.fake)
    assert form_of(exchange)["code"] == code
    assert len(login.terminal.text.splitlines()) == 6  # the instructions (3 lines), one line per wrong paste
    assert_shows_none(login.terminal.text, secrets_of(address))


def test_an_oversized_line_is_refused_and_the_login_waits_on(headless: Callable[[], Headless]) -> None:
    login = headless()
    address = landing(login.url)
    # Over the limit in two writes, and its end: one refusal, none of it taken for an address.
    login.paste(b"x" * MAX_PASTED_LINE)
    login.paste(b"y" * 100 + b"?code=z&state=z\n")
    assert login.terminal.wait_for(f"That line is over {MAX_PASTED_LINE} bytes")
    login.paste(address.encode() + b"\n")
    login.completed()
    assert login.terminal.text.count("That ") == 1 and len(token_requests(login.fake)) == 1


def test_the_end_of_input_leaves_the_callback(headless: Callable[[], Headless]) -> None:
    login = headless()
    login.close_input()
    wait_until(lambda: not paste_reader_running(), TIMEOUT, "the paste reader sees the end of input")
    assert not login.login.done()
    status, page = browse(login.url)  # the browser on this machine after all: the callback arrives
    assert status == 200 and "You can close this window" in page
    login.completed()
    assert login.client.get("/me").id == login.fake.user_id


def test_the_callback_stops_the_reading_and_leaves_later_input(headless: Callable[[], Headless]) -> None:
    login = headless()
    assert browse(login.url)[0] == 200
    login.completed()
    assert not paste_reader_running()
    # What is typed after the login is for whoever reads next (a REPL, a shell script).
    login.paste(b"the next command\n")
    assert login.reader.read(100) == b"the next command\n"


def test_a_headless_login_times_out(fake: FakeSoundCloud) -> None:
    fake.loopback_any_port = True
    client = make_client(fake)
    read_fd, write_fd = os.pipe()
    with open(read_fd, "rb", buffering=0) as reader, open(write_fd, "wb", buffering=0):
        with pytest.raises(soundcloud.TimeoutError) as info:
            client.login(open_browser=False, timeout=0.2, input_stream=reader, output_stream=Terminal())
    assert "no address of it was pasted" in str(info.value) and "0.2 s" in str(info.value)
    assert not paste_reader_running() and fake.requests == []


def test_a_stream_without_a_descriptor_is_read_in_a_thread(fake: FakeSoundCloud) -> None:
    fake.loopback_any_port = True
    client = make_client(fake)
    typed = io.StringIO()

    def user(text: str) -> None:
        # The user reads the URL and pastes a wrong address, then the right one: both are in
        # the stream before the login reads it.
        if text.startswith(fake.auth_url):
            address = landing(text.strip())
            typed.write("not an address\n" + address + "\n")
            typed.seek(0)

    terminal = Terminal(on_write=user)
    token = client.login(open_browser=False, timeout=TIMEOUT, input_stream=typed, output_stream=terminal)
    assert token is client.token and len(token_requests(fake)) == 1
    assert "That address carries no code" in terminal.text
    wait_until(lambda: not paste_reader_running(), TIMEOUT, "the reading thread ends after the right line")


def test_open_browser_must_be_a_bool_or_a_callable(fake: FakeSoundCloud) -> None:
    with pytest.raises(TypeError, match="open_browser must be True, False or a callable"):
        make_client(fake).login(open_browser="no", timeout=TIMEOUT)  # type: ignore[arg-type]
    assert fake.requests == []
