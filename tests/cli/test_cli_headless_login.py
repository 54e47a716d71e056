"""``soundcloud login --no-browser`` over SSH or in a container, as real processes against the
fake SoundCloud: the URL on stderr, and either the address the browser ended on pasted on stdin
or the loopback callback completes the login and saves the token (0600) for the next command;
a wrong paste is explained and the login waits on; no code, state or token in any output.

The user is played by the test: it reads the child's stderr a line at a time (each read is
bounded by the child's ``--wait``, after which it exits and closes the pipe), fetches the
fake's /authorize without following its redirect (``support.browser.landing``: the browser on
another machine, whose address bar shows the ``Location``) and writes to the child's stdin."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from typing import IO, Any, Iterator, List, Tuple
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from soundcloud.testing import FakeSoundCloud

from support.browser import browse, landing
from support.cli_runs import CLI_TIMEOUT

# How long the child waits for the login: the bound on every read of its stderr below.
WAIT = "30"


@pytest.fixture
def sc() -> Iterator[FakeSoundCloud]:
    with FakeSoundCloud(loopback_any_port=True) as server:
        yield server


class Login:
    """``soundcloud login --no-browser`` running, with its stdin and stderr in the test's hands."""

    def __init__(self, cli: Any, sc: FakeSoundCloud) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "soundcloud", "login", "--no-browser", "--wait", WAIT],
            env=cli.env(sc, SOUNDCLOUD_CLIENT_SECRET=sc.client_secret), cwd=str(cli.cwd),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8",
        )  # fmt: skip
        self.stderr: List[str] = []

    def read_until(self, fragment: str) -> str:
        """The next stderr line holding ``fragment`` (each read ends by the child's --wait at the latest)."""
        stream: IO[str] = self.process.stderr  # type: ignore[assignment]
        while True:
            line = stream.readline()
            if not line:
                raise AssertionError(f"stderr ended before a line with {fragment!r}: {''.join(self.stderr)!r}")
            self.stderr.append(line)
            if fragment in line:
                return line.strip()

    def paste(self, text: str) -> None:
        stdin: IO[str] = self.process.stdin  # type: ignore[assignment]
        stdin.write(text + "\n")
        stdin.flush()

    def finish(self) -> Tuple[int, str, str]:
        """(exit status, stdout, all of stderr) once the child is done; stdin stays open until then."""
        stdout, rest = self.process.communicate(timeout=CLI_TIMEOUT)
        return self.process.returncode, stdout, "".join(self.stderr) + rest

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate(timeout=CLI_TIMEOUT)


@pytest.fixture
def login(cli: Any, sc: FakeSoundCloud) -> Iterator[Login]:
    running = Login(cli, sc)
    yield running
    running.close()


def assert_logged_in(cli: Any, sc: FakeSoundCloud, status: int, stdout: str, stderr: str, address: str) -> None:
    """Exit 0 with the greeting, the token saved (0600) and working, nothing secret shown."""
    assert status == 0, stderr
    assert "Logged in as test-user" in stderr
    path = cli.home / "config" / "soundcloud" / "token.json"
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())
    secrets = [value for name, value in parse_qsl(urlsplit(address).query) if name in ("code", "state")]
    secrets += [saved["access_token"], saved["refresh_token"]]
    # The authorize URL carries the state it sends; no other line may.
    shown = "\n".join(line for line in (stdout + stderr).splitlines() if "/authorize?" not in line)
    assert [secret for secret in secrets if secret in shown] == []
    me = cli.run("me", env=cli.env(sc))
    assert me.returncode == 0, me.stderr
    assert json.loads(me.stdout)["username"] == sc.user["username"]
    assert saved["access_token"] not in me.stdout + me.stderr


def test_a_pasted_address_logs_in(cli: Any, sc: FakeSoundCloud, login: Login) -> None:
    url = login.read_until(sc.auth_url + "/authorize?")
    assert login.stderr[0].startswith("Open this URL in a browser")
    login.read_until("paste it here and press Enter")
    address = landing(url)
    login.paste(address)
    status, stdout, stderr = login.finish()
    assert_logged_in(cli, sc, status, stdout, stderr, address)
    assert sc.grant_counts.get("authorization_code") == 1


def test_the_loopback_callback_still_logs_in(cli: Any, sc: FakeSoundCloud, login: Login) -> None:
    address = landing(login.read_until(sc.auth_url + "/authorize?"))
    assert address.startswith("http://127.0.0.1:")
    status, page = browse(address)  # the browser on this machine after all: the loopback callback
    assert status == 200 and "You can close this window" in page
    status, stdout, stderr = login.finish()  # done while stdin is still open: nothing waits on it
    assert_logged_in(cli, sc, status, stdout, stderr, address)


def test_a_wrong_paste_is_explained_and_the_login_waits_on(cli: Any, sc: FakeSoundCloud, login: Login) -> None:
    url = login.read_until(sc.auth_url + "/authorize?")
    address = landing(url)
    login.paste(url)
    assert "paste the address the browser ended on" in login.read_until("That is the login page's address")
    code = dict(parse_qsl(urlsplit(address).query))["code"]
    login.paste(address.split("?")[0] + "?" + urlencode({"code": code, "state": "forged"}))
    login.read_until("That address is not from this login")
    login.paste(address)
    status, stdout, stderr = login.finish()
    assert_logged_in(cli, sc, status, stdout, stderr, address)
    assert sc.grant_counts.get("authorization_code") == 1
