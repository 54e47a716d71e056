"""Text from the server never drives the terminal: control characters (C0 with ESC, DEL, C1)
in track titles, usernames, error messages and reason phrases are shown escaped (``\\x1b``) in
everything the ``soundcloud`` command prints for people, so an OSC 52 sequence cannot write
the clipboard nor a CSI one rewrite the screen; JSON output keeps the data exactly and escapes
them too (``\\u001b``, ``\\u009b``); and audio is never written to a terminal. Each run is a real
process against the fake SoundCloud or a purpose-built server."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from soundcloud.testing import FakeSoundCloud

from support.request_server import FaultContext, RequestServer

# OSC 52 (set the clipboard to "hacked"), a CSI clear screen (7- and 8-bit), BEL, DEL, NEL.
HOSTILE = "\x1b]52;c;aGFja2Vk\x07\x1b[2J\x9b2J\x7f\x85\x00"
# Any control character but the newline that ends a line and the tab between fields.
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture
def sc() -> Iterator[FakeSoundCloud]:
    with FakeSoundCloud(loopback_any_port=True, user={"username": "me" + HOSTILE}) as server:
        server.add_user(id=4242, username="someone" + HOSTILE)
        server.add_track(id=4343, user_id=4242, title="zqxtone " + HOSTILE + " end")
        yield server


def assert_shown_safely(text: str) -> None:
    assert not CONTROLS.search(text), repr(text)
    assert "\\x1b]52;c;aGFja2Vk\\x07" in text  # readable: the sequence shown, not run


def test_search_lines_escape_control_characters(sc: FakeSoundCloud, cli: Any) -> None:
    result = cli.run("search", "zqxtone", env=cli.env(sc))
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    urn, title, user = line.split("\t")
    assert urn == "soundcloud:tracks:4343"
    assert title.startswith("zqxtone ") and title.endswith(" end") and user.startswith("someone")
    assert_shown_safely(result.stdout)


def test_json_output_keeps_the_data_and_escapes_control_characters(sc: FakeSoundCloud, cli: Any) -> None:
    for args in (["search", "zqxtone", "--json"], ["get", "/tracks/4343"], ["get", "/tracks/4343", "--raw"]):
        result = cli.run(*args, env=cli.env(sc))
        assert result.returncode == 0, result.stderr
        assert not CONTROLS.search(result.stdout), (args, result.stdout)
        data = json.loads(result.stdout)
        track = data[0] if isinstance(data, list) else data
        assert track["title"] == "zqxtone " + HOSTILE + " end"
        assert track["user"]["username"] == "someone" + HOSTILE
        assert "\\u001b" in result.stdout and "\\u009b" in result.stdout


class HostileAPI(RequestServer):
    """Every answer a 418 whose reason phrase and JSON error carry control characters."""

    kind = "api"

    def answer(self, ctx: FaultContext) -> bool:
        body = json.dumps({"errors": [{"error_message": "bad " + HOSTILE + " request"}]}).encode()
        return ctx.respond(
            418, body, [("Content-Type", "application/json")], keep_alive=False,
            reason="I'm a \x1b]52;c;aGFja2Vk\x07 teapot",
        )  # fmt: skip


def test_error_reports_escape_control_characters(cli: Any) -> None:
    with HostileAPI() as api:
        env = cli.env(SOUNDCLOUD_API_URL=api.url, SOUNDCLOUD_CLIENT_ID="an-id")
        result = cli.run("get", "/tracks/1", env=env)
        assert api.count() == 1
    assert result.returncode == 4 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("soundcloud: error: 418 I'm a ") and "teapot" in line and "bad " in line
    assert_shown_safely(result.stderr)


def test_the_login_greeting_escapes_the_username(sc: FakeSoundCloud, cli: Any, tmp_path: Path) -> None:
    # The user's browser, a real process started by webbrowser ($BROWSER): it opens the
    # authorize URL and follows the redirect back to the command's callback server.
    browser = tmp_path / "browser"
    browser.write_text(
        f"#!{sys.executable}\n"
        "import sys, urllib.request\n"
        "opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))\n"
        "opener.open(sys.argv[1], timeout=30).read()\n"
    )
    browser.chmod(0o700)
    env = cli.env(sc, SOUNDCLOUD_CLIENT_SECRET=sc.client_secret, BROWSER=str(browser))
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    result = cli.run("login", "--wait", "30", env=env)
    assert result.returncode == 0, result.stderr
    greeting = result.stderr.splitlines()[-1]
    assert greeting.startswith("Logged in as me") and greeting.endswith("token.json")
    assert_shown_safely(result.stderr)


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
def test_audio_is_never_written_to_a_terminal(sc: FakeSoundCloud, cli: Any) -> None:
    import pty

    master, slave = pty.openpty()
    output = b""
    try:
        with subprocess.Popen(
            [sys.executable, "-m", "soundcloud", "download", "293", "-o", "-"], env=cli.env(sc),
            cwd=str(cli.cwd), stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE,
        ) as process:  # fmt: skip
            os.close(slave)
            slave = -1
            while True:  # read the terminal until the process closes its end
                if not select.select([master], [], [], 60)[0]:
                    process.kill()
                    raise AssertionError("no output and no exit within the timeout: %r" % output[:200])
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: no writer left
                    break
                if not chunk:
                    break
                output += chunk
            _, stderr = process.communicate(timeout=60)
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    assert process.returncode == 1, stderr
    assert output == b""
    assert stderr.decode().startswith("soundcloud: error: refusing to write audio to a terminal")
    assert [r for r in sc.requests if r.path.startswith("/tracks")] == []
