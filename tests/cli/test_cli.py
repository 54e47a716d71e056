"""The ``soundcloud`` command end to end: each test runs ``python -m soundcloud`` in a
subprocess against a fake SoundCloud (or a purpose-built server) started in this process.

The subprocess (support.cli_runs) imports the same ``soundcloud`` package as this process (PYTHONPATH), runs
in a temporary directory with ``XDG_CONFIG_HOME`` and ``HOME`` inside ``tmp_path``, and
every call has a timeout. Every error path also checks that no token or secret leaked.
"""

from __future__ import annotations

import io
import json
import os
import platform
import select
import socket
import stat
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

import soundcloud
from soundcloud.cli.config import config_dir, default_token_path
from soundcloud.cli.params import param_type, parse_params
from soundcloud.cli.progress import ProgressBar
from soundcloud.testing import FakeSoundCloud

from support.cli_runs import cli_env
from support.cli_runs import run_cli as run
from support.faults import FaultServer
from support.request_server import FaultContext
from support.wire import wait_until

# Generous bounds for a loaded CI machine; a healthy run takes well under a second each.
TIMEOUT = 60.0


@pytest.fixture
def sc() -> Iterator[FakeSoundCloud]:
    """A fake SoundCloud whose authorization server accepts any loopback port (RFC 8252)."""
    with FakeSoundCloud(loopback_any_port=True) as server:
        yield server


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The subprocess's HOME and XDG_CONFIG_HOME live here."""
    path = tmp_path / "home"
    (path / "config").mkdir(parents=True)
    return path


def token_path(home: Path) -> Path:
    return home / "config" / "soundcloud" / "token.json"


def assert_no_secrets(result: "subprocess.CompletedProcess[str]", *secrets: Optional[str]) -> None:
    for secret in secrets:
        if secret:
            assert secret not in result.stdout
            assert secret not in result.stderr


def assert_one_line_error(result: "subprocess.CompletedProcess[str]", status: int, start: str) -> None:
    assert result.returncode == status, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("soundcloud: error: " + start), lines[0]
    assert "Traceback" not in result.stderr


def save_token(home: Path, access_token: str, refresh_token: Optional[str] = None) -> Path:
    path = token_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundcloud.FileTokenStore(str(path)).save(soundcloud.Token(access_token, refresh_token))
    return path


# -- version, help, usage ----------------------------------------------------------------


def test_version(home: Path, tmp_path: Path) -> None:
    result = run(["--version"], cli_env(home), tmp_path)
    assert result.returncode == 0
    assert f"soundcloud {soundcloud.__version__}" in result.stdout
    assert f"Python {platform.python_version()}" in result.stdout
    assert ("(compiled with mypyc)" if soundcloud.__compiled__ else "(pure Python)") in result.stdout


def test_help_documents_exit_statuses_and_credentials(home: Path, tmp_path: Path) -> None:
    result = run(["--help"], cli_env(home), tmp_path)
    assert result.returncode == 0
    for text in ("exit status", "3 network error", "4 HTTP error", "5 authentication", "credentials"):
        assert text in result.stdout
    commands = "login logout get post put delete resolve upload download search me demo".split()
    for command in commands:
        assert f"    {command} " in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["frobnicate"],
        ["get"],
        ["get", "/tracks", "not-a-parameter"],
        ["get", "/tracks", "a=1", "a=2"],
        ["get", "/tracks", "a=1", "a.b=2"],
        ["get", "/tracks", "track.asset_data@file.wav"],
        ["search", "ambient", "--limit", "0"],
        ["download", "293"],
        ["--timeout", "soon", "me"],
        ["post", "/tracks", "--json", "{not json"],
    ],
)
def test_bad_arguments_exit_2_with_usage(args: List[str], home: Path, tmp_path: Path) -> None:
    result = run(args, cli_env(home), tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: soundcloud")
    assert "error:" in result.stderr
    assert result.stdout == ""


def test_no_credentials_is_an_auth_error(home: Path, tmp_path: Path) -> None:
    result = run(["me"], cli_env(home), tmp_path)
    assert_one_line_error(result, 5, "no credentials")


def test_import_soundcloud_does_not_import_the_cli(home: Path, tmp_path: Path) -> None:
    code = (
        "import sys, soundcloud;"
        " print('soundcloud.cli' in sys.modules, 'soundcloud.__main__' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=cli_env(home), cwd=str(tmp_path),
        capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


# -- requests --------------------------------------------------------------------------------


def test_get_prints_pretty_json(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    result = run(["get", "/tracks", "limit=2"], cli_env(home, sc), tmp_path)
    assert result.returncode == 0, result.stderr
    tracks = json.loads(result.stdout)
    assert [track["id"] for track in tracks] == sc.track_ids[:2]
    assert result.stdout.startswith("[\n  {\n    ")
    assert result.stderr == ""


def test_get_raw_prints_compact_json(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    # --raw is accepted before and after the command name.
    for args in (["--raw", "get", "/tracks", "limit=2"], ["get", "/tracks", "limit=2", "--raw"]):
        result = run(args, cli_env(home, sc), tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.count("\n") == 1
        assert '": ' not in result.stdout
        assert [track["id"] for track in json.loads(result.stdout)] == sc.track_ids[:2]


def test_non_ascii_output(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    result = run(["get", "/tracks", "q=café"], cli_env(home, sc), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "café ♫" in result.stdout
    assert all("café" in track["title"] for track in json.loads(result.stdout))


def test_parameters_nest_repeat_and_pass_through(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    args = ["get", "/_test/echo", "track.title=A = B", "track[genre]=Jazz", "ids[]=1", "ids[]=2",
            "url=https://x/?a=b"]  # fmt: skip
    result = run(args, cli_env(home, sc), tmp_path)
    assert result.returncode == 0, result.stderr
    query = json.loads(result.stdout)["query"]
    assert query["track[title]"] == ["A = B"]
    assert query["track[genre]"] == ["Jazz"]
    assert query["ids[]"] == ["1", "2"]
    assert query["url"] == ["https://x/?a=b"]


def test_post_form_and_json_bodies(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    result = run(["post", "/_test/echo", "user.description=hi there"], cli_env(home, sc), tmp_path)
    assert result.returncode == 0, result.stderr
    echo = json.loads(result.stdout)
    assert echo["method"] == "POST"
    assert echo["body"] == "user%5Bdescription%5D=hi%20there"

    result = run(["put", "/_test/echo", "--json", '{"track": {"title": "x"}}'], cli_env(home, sc), tmp_path)
    assert result.returncode == 0, result.stderr
    echo = json.loads(result.stdout)
    assert echo["method"] == "PUT"
    assert json.loads(echo["body"]) == {"track": {"title": "x"}}
    assert echo["headers"]["content-type"] == "application/json"


def test_get_no_follow_shows_the_redirect(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    args = ["get", "/resolve", "url=http://soundcloud.com/forss/flickermood", "--no-follow"]
    result = run(args, cli_env(home, sc), tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["location"] == f"{sc.api_url}/tracks/293"


def test_resolve(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    result = run(["resolve", "http://soundcloud.com/forss/flickermood"], cli_env(home, sc), tmp_path)
    assert result.returncode == 0, result.stderr
    track = json.loads(result.stdout)
    assert (track["id"], track["title"]) == (293, "Flickermood")


def test_search_prints_limit_tracks(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    result = run(["search", "ambient", "--limit", "5"], cli_env(home, sc), tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    for line in lines:
        urn, title, user = line.split("\t")
        assert urn.startswith("soundcloud:tracks:")
        assert title and user

    result = run(["search", "ambient", "--limit", "7", "--json"], cli_env(home, sc), tmp_path)
    assert result.returncode == 0, result.stderr
    tracks = json.loads(result.stdout)
    assert len(tracks) == 7
    assert all(track["genre"] == "Ambient" for track in tracks)
    searches = [r for r in sc.requests_to("api") if r.path == "/tracks"]
    assert searches[-1].query["linked_partitioning"] == ["true"]


def test_search_follows_pages(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    # 450 tracks; --limit 250 takes two pages of 200 (the largest page SoundCloud serves).
    result = run(["search", "", "--limit", "250"], cli_env(home, sc), tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 250
    assert len([r for r in sc.requests_to("api") if r.path == "/tracks"]) == 2


# -- errors ----------------------------------------------------------------------------------


def test_404_is_exit_4_one_line(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    result = run(["get", "/tracks/999999999"], cli_env(home, sc), tmp_path)
    assert_one_line_error(result, 4, "404 Not Found: ")
    assert "/tracks/soundcloud:tracks:999999999" in result.stderr


def test_http_error_with_a_user_token_never_prints_it(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    response = sc.issue_token_response()
    save_token(home, response["access_token"], response["refresh_token"])
    for path, status, start in (("/tracks/999999999", 4, "404 Not Found"), ("/_test/status/500", 4, "500 "),
                                ("/_test/status/422", 4, "422 ")):  # fmt: skip
        result = run(["get", path], cli_env(home, sc), tmp_path)
        assert_one_line_error(result, status, start)
        assert_no_secrets(result, response["access_token"], response["refresh_token"], sc.client_secret)


def test_429_says_when_to_retry(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    env = cli_env(home, sc)
    result = run(["--timeout", "10", "get", "/_test/status/429", "retry_after=0"], env, tmp_path)
    assert_one_line_error(result, 4, "429 Too Many Requests")
    assert "retry after 0 s" in result.stderr


def test_401_is_an_auth_error_and_hides_the_token(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    bogus = "bogus-access-token-that-must-not-be-printed"
    save_token(home, bogus)
    result = run(["me"], cli_env(home, sc), tmp_path)
    assert_one_line_error(result, 5, "401 Unauthorized")
    assert "soundcloud login" in result.stderr
    assert_no_secrets(result, bogus)


def test_network_error_is_exit_3(home: Path, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = cli_env(home, SOUNDCLOUD_API_URL=f"http://127.0.0.1:{port}", SOUNDCLOUD_CLIENT_ID="an-id")
    result = run(["get", "/tracks"], env, tmp_path)
    assert_one_line_error(result, 3, "network error")


def test_client_secret_never_printed(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    secret = "a-client-secret-nobody-may-see"
    result = run(["--client-secret", secret, "get", "/tracks/999999999"], cli_env(home, sc), tmp_path)
    assert result.returncode in (4, 5)
    assert_no_secrets(result, secret)


# -- stored token, login, logout ---------------------------------------------------------


def test_me_with_a_stored_token(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    token = sc.issue_token()
    save_token(home, token)
    result = run(["me"], cli_env(home, sc), tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["username"] == sc.user["username"]
    me = [r for r in sc.requests_to("api") if r.path == "/me"][-1]
    assert me.header("authorization") == f"OAuth {token}"
    assert "client_id" not in me.query
    assert_no_secrets(result, token)


def test_stored_token_is_refreshed_and_the_file_rewritten(
    sc: FakeSoundCloud, home: Path, tmp_path: Path
) -> None:
    response = sc.issue_token_response()
    path = save_token(home, response["access_token"], response["refresh_token"])
    sc.expire_tokens()
    env = cli_env(home, sc, SOUNDCLOUD_CLIENT_SECRET=sc.client_secret)
    result = run(["me"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert sc.refresh_tokens_used == 1
    saved = json.loads(path.read_text())
    assert response["refresh_token"] not in path.read_text()  # rotated: the old one is dead
    assert json.dumps(saved)  # still a JSON token file
    # The rotated token works in the next process without another refresh.
    result = run(["me"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert sc.refresh_tokens_used == 1


class StderrLines:
    """Lines of a subprocess's stderr, read by a thread; ``wait_for`` waits (bounded) for one."""

    def __init__(self, stream: io.TextIOBase) -> None:
        self.seen: List[str] = []
        self._lock = threading.Lock()
        self._closed = False
        self._next = 0  # lines before this one were looked at by an earlier wait_for()
        self.thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self.thread.start()

    def _pump(self, stream: io.TextIOBase) -> None:
        for line in stream:
            with self._lock:
                self.seen.append(line)
        with self._lock:
            self._closed = True

    def wait_for(self, prefix: str, timeout: float = TIMEOUT) -> str:
        def found() -> Optional[str]:
            with self._lock:
                for index in range(self._next, len(self.seen)):
                    if self.seen[index].startswith(prefix):
                        self._next = index + 1
                        return self.seen[index].strip()
                self._next = len(self.seen)
                if self._closed:
                    raise AssertionError("stderr closed before a line starting with %r: %r" % (prefix, self.seen))
            return None

        return wait_until(found, timeout, "stderr shows a line starting with %r" % prefix)

    def rest(self) -> str:
        self.thread.join(TIMEOUT)
        with self._lock:
            return "".join(self.seen)


def login(sc: FakeSoundCloud, home: Path, tmp_path: Path, *extra: str) -> "subprocess.CompletedProcess[str]":
    """Run `soundcloud login --no-browser`, acting as the browser with urllib."""
    env = cli_env(home, sc, SOUNDCLOUD_CLIENT_SECRET=sc.client_secret)
    args = [sys.executable, "-m", "soundcloud", "login", "--no-browser", *extra]
    with subprocess.Popen(
        args, env=env, cwd=str(tmp_path), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
    ) as process:  # fmt: skip
        assert process.stderr is not None and process.stdout is not None
        lines = StderrLines(process.stderr)  # type: ignore[arg-type]
        try:
            url = lines.wait_for(sc.auth_url + "/authorize?")
            browser = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with browser.open(url, timeout=TIMEOUT) as page:  # follows the redirect to the CLI
                assert page.geturl().startswith("http://127.0.0.1:")
                page.read()
            stdout = process.stdout.read()
            returncode = process.wait(timeout=TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(TIMEOUT)
            stderr = lines.rest()  # the reader thread is done before the pipes are closed
        return subprocess.CompletedProcess(args, returncode, stdout, stderr)


def test_login_saves_the_token_0600_and_logout_removes_it(
    sc: FakeSoundCloud, home: Path, tmp_path: Path
) -> None:
    result = login(sc, home, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Logged in as test-user" in result.stderr
    path = token_path(home)
    assert path.is_file()
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sc.grant_counts.get("authorization_code") == 1
    saved = path.read_text()
    assert_no_secrets(result, sc.client_secret)
    for value in json.loads(saved).values():
        if isinstance(value, str) and len(value) > 16:
            assert value not in result.stdout + result.stderr

    env = cli_env(home, sc, SOUNDCLOUD_CLIENT_SECRET=sc.client_secret)
    result = run(["me"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["username"] == sc.user["username"]

    result = run(["logout"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert not path.exists()
    assert [r.path for r in sc.requests_to("auth")][-1] == "/sign-out"
    result = run(["me"], cli_env(home, sc), tmp_path)  # back to the client id alone
    assert result.returncode == 5  # /me needs a user


def test_login_refused_by_the_user_is_exit_5(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    sc.approve_authorizations = False
    result = login(sc, home, tmp_path)
    assert result.returncode == 5
    assert result.stderr.splitlines()[-1].startswith("soundcloud: error: authorization failed: ")
    assert "access_denied" in result.stderr
    assert not token_path(home).exists()


def test_login_times_out_when_nobody_comes_back(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    env = cli_env(home, sc)
    result = run(["login", "--no-browser", "--wait", "0.5"], env, tmp_path)
    assert result.returncode == 5
    assert "/authorize?" in result.stderr  # the URL was printed for the user
    last = result.stderr.splitlines()[-1]
    assert last.startswith("soundcloud: error: login not completed: no login redirect")
    assert not token_path(home).exists()


def test_login_port_conflicting_with_the_redirect_uri_is_a_usage_error(home: Path, tmp_path: Path) -> None:
    args = ["--client-id", "an-id", "login", "--no-browser",
            "--redirect-uri", "http://127.0.0.1:8765/callback", "--port", "9999"]  # fmt: skip
    result = run(args, cli_env(home), tmp_path)
    assert_one_line_error(result, 2, "port=9999 differs")


def test_login_rejects_a_non_loopback_redirect_uri(home: Path, tmp_path: Path) -> None:
    args = ["--client-id", "an-id", "login", "--no-browser", "--redirect-uri", "https://example.com/callback"]
    result = run(args, cli_env(home), tmp_path)
    assert result.returncode == 2
    assert "redirect_uri must be http://127.0.0.1" in result.stderr


def test_corrupt_token_file_is_an_auth_error(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    path = token_path(home)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    result = run(["me"], cli_env(home, sc), tmp_path)
    assert_one_line_error(result, 5, "the token file")
    assert "log in again" in result.stderr
    result = run(["logout"], cli_env(home, sc), tmp_path)  # logout still cleans up
    assert result.returncode == 5
    assert "the saved token was deleted" in result.stderr
    assert not path.exists()


def test_client_credentials_token_is_cached_between_runs(
    sc: FakeSoundCloud, home: Path, tmp_path: Path
) -> None:
    env = cli_env(home, sc, SOUNDCLOUD_CLIENT_SECRET=sc.client_secret)
    for _ in range(3):
        result = run(["get", "/tracks", "limit=1"], env, tmp_path)
        assert result.returncode == 0, result.stderr
    assert sc.grant_counts == {"client_credentials": 1}  # SoundCloud rate-limits new app tokens
    request = [r for r in sc.requests_to("api") if r.path == "/tracks"][-1]
    assert (request.header("authorization") or "").startswith("OAuth ")
    assert "client_id" not in request.query
    cached = list((home / "config" / "soundcloud").glob("app-token-*.json"))
    assert len(cached) == 1
    if os.name == "posix":
        assert stat.S_IMODE(cached[0].stat().st_mode) == 0o600
    assert not token_path(home).exists()  # an app token is not a login


def test_client_id_only_goes_in_the_query(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    result = run(["get", "/tracks", "limit=1"], cli_env(home, sc), tmp_path)
    assert result.returncode == 0, result.stderr
    request = [r for r in sc.requests_to("api") if r.path == "/tracks"][-1]
    assert request.query["client_id"] == [sc.client_id]
    assert request.header("authorization") is None
    assert sc.grant_counts == {}


def test_bad_api_url_is_a_usage_error(home: Path, tmp_path: Path) -> None:
    args = ["--client-id", "x", "--api-url", "ftp://nowhere", "get", "/tracks"]
    result = run(args, cli_env(home), tmp_path)
    assert_one_line_error(result, 2, "api_url must be")


def test_login_needs_a_client_id(home: Path, tmp_path: Path) -> None:
    result = run(["login", "--no-browser"], cli_env(home), tmp_path)
    assert_one_line_error(result, 5, "login needs")


def test_logout_when_not_logged_in(home: Path, tmp_path: Path) -> None:
    result = run(["logout"], cli_env(home), tmp_path)
    assert result.returncode == 0
    assert "Not logged in" in result.stderr


# -- upload and download -------------------------------------------------------------------


def test_upload_sends_the_file(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    save_token(home, sc.issue_token())
    audio = tmp_path / "song.wav"
    data = os.urandom(300_000)
    audio.write_bytes(data)
    args = ["upload", str(audio), "--title", "My Song", "--private", "--genre", "Ambient"]
    result = run(args, cli_env(home, sc), tmp_path)
    assert result.returncode == 0, result.stderr
    track = json.loads(result.stdout)
    assert (track["title"], track["sharing"], track["genre"]) == ("My Song", "private", "Ambient")
    upload = sc.uploads[-1]
    assert upload.track_id == track["id"]
    assert upload.files["track[asset_data]"].data == data
    assert upload.files["track[asset_data]"].filename == "song.wav"
    assert upload.fields["track[sharing]"] == "private"
    assert result.stderr == ""  # stderr is not a terminal: no progress bar


def test_upload_title_defaults_to_the_file_name(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    save_token(home, sc.issue_token())
    (tmp_path / "night drive.mp3").write_bytes(b"ID3" + b"\0" * 1000)
    result = run(["--raw", "upload", "night drive.mp3"], cli_env(home, sc), tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["title"] == "night drive"
    assert sc.uploads[-1].fields["track[sharing]"] == "public"


def test_post_with_a_file_parameter(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    save_token(home, sc.issue_token())
    (tmp_path / "a.wav").write_bytes(b"RIFF1234")
    args = ["post", "/tracks", "track.title=Via post", "track.asset_data@a.wav"]
    result = run(args, cli_env(home, sc), tmp_path)
    assert result.returncode == 0, result.stderr
    assert sc.uploads[-1].files["track[asset_data]"].data == b"RIFF1234"


def test_upload_missing_file(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    save_token(home, sc.issue_token())
    result = run(["upload", "nope.wav"], cli_env(home, sc), tmp_path)
    assert_one_line_error(result, 1, "cannot open nope.wav")
    assert sc.uploads == []


def stream_m4a(sc: FakeSoundCloud, source: object) -> bytes:
    """The M4A ``client.download`` makes of a track's AAC stream (test_track_downloads.py
    checks it with PyAV and mutagen): what the command must write too."""
    buffer = io.BytesIO()
    with soundcloud.Client(access_token=sc.issue_token(), api_url=sc.api_url, timeout=TIMEOUT) as client:
        client.download(source, buffer)
    assert buffer.getvalue()[4:8] == b"ftyp"
    return buffer.getvalue()


def test_download_by_id_url_and_permalink(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    # Track 293 is not downloadable: its whole audio is its AAC stream, saved as an M4A
    # whatever -o is called. /streams takes an OAuth token.
    save_token(home, sc.issue_token())
    m4a = stream_m4a(sc, 293)
    original = sc.add_track(title="Stems", downloadable=True)
    sources = [
        ("293", m4a, "the stream"),
        ("soundcloud:tracks:293", m4a, "the stream"),
        ("https://soundcloud.com/forss/flickermood", m4a, "the stream"),
        (str(original["id"]), sc.media_bytes(original["id"]), "the original file"),
        (sc.media_url(293), sc.media_bytes(293), "media"),
    ]
    for source, expected, what in sources:
        target = tmp_path / "out.mp3"
        result = run(["download", source, "-o", str(target)], cli_env(home, sc), tmp_path)
        assert result.returncode == 0, (source, result.stderr)
        assert target.read_bytes() == expected, source
        assert result.stdout == ""
        assert result.stderr == "saved %d bytes (%s) to %s\n" % (len(expected), what, target), source
        target.unlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]
    assert not sc.cdn_authorization_seen


def test_download_refuses_the_legacy_stream_path_and_previews(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    save_token(home, sc.issue_token())
    result = run(["download", "/tracks/soundcloud:tracks:293/stream", "-o", "p.mp3"], cli_env(home, sc), tmp_path)
    assert_one_line_error(result, 1, "/tracks/soundcloud:tracks:293/stream gives a 30-second preview")
    assert "allow_preview" in result.stderr
    preview_only = sc.add_track(title="Go plus", access="preview")
    result = run(["download", preview_only["urn"], "-o", "p.mp3"], cli_env(home, sc), tmp_path)
    assert_one_line_error(result, 1, "track %s ('Go plus') offers only a 30-second preview" % preview_only["urn"])
    assert "--allow-preview" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]
    result = run(["download", preview_only["urn"], "-o", "p.mp3", "--allow-preview"], cli_env(home, sc), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "(a 30-second preview)" in result.stderr
    preview = io.BytesIO()
    with soundcloud.Client(client_id=sc.client_id, api_url=sc.api_url, timeout=TIMEOUT) as client:
        client.download(sc.preview_url(preview_only["id"]), preview)
    assert (tmp_path / "p.mp3").read_bytes() == preview.getvalue()


def test_download_to_stdout(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    save_token(home, sc.issue_token())
    original = sc.add_track(title="Stems", downloadable=True)
    for source, expected in (("293", stream_m4a(sc, 293)), (original["urn"], sc.media_bytes(original["id"]))):
        result = subprocess.run(
            [sys.executable, "-m", "soundcloud", "download", source, "-o", "-"], env=cli_env(home, sc),
            cwd=str(tmp_path), capture_output=True, timeout=TIMEOUT,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stdout == expected, source
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


def test_upload_then_download_round_trip(sc: FakeSoundCloud, home: Path, tmp_path: Path) -> None:
    save_token(home, sc.issue_token())
    data = os.urandom(200_000)
    (tmp_path / "in.wav").write_bytes(data)
    result = run(["upload", "in.wav", "--title", "Round trip"], cli_env(home, sc), tmp_path)
    assert result.returncode == 0, result.stderr
    track = json.loads(result.stdout)
    urn = track["urn"]
    assert track["downloadable"] is False
    # Not downloadable: the track's audio is its stream (an M4A), not the uploaded file.
    result = run(["download", urn, "-o", "stream.m4a"], cli_env(home, sc), tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "stream.m4a").read_bytes() == stream_m4a(sc, urn)
    # Made downloadable, it gives back the uploaded file.
    result = run(["put", "/tracks/" + urn, "track.downloadable=true"], cli_env(home, sc), tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["downloadable"] is True
    result = run(["download", urn, "-o", "back.wav"], cli_env(home, sc), tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "back.wav").read_bytes() == data


def _cut_audio(ctx: FaultContext) -> bool:
    """200 OK promising 200 kB of audio, 50 kB sent, then the connection closes."""
    ctx.send(
        b"HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nContent-Length: 200000\r\n"
        b"Accept-Ranges: none\r\n\r\n" + b"\xff" * 50_000
    )
    return False


def test_interrupted_download_leaves_no_file(home: Path, tmp_path: Path) -> None:
    with FaultServer(scenarios={"cut": _cut_audio}) as server:
        target = tmp_path / "cut.mp3"
        env = cli_env(home, SOUNDCLOUD_CLIENT_ID="an-id")
        result = run(["download", server.url + "/cut/track.mp3", "-o", str(target)], env, tmp_path)
        assert server.count() >= 1
    assert_one_line_error(result, 3, "network error")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == [home]  # no .part either: that server takes no ranges


MEDIA = bytes(range(256)) * 800


def _cut_then_resume(ctx: FaultContext) -> bool:
    """First request: 50 kB of MEDIA then a close; later ones honour ``Range: bytes=N-``."""
    if ctx.hit == 1:
        ctx.send(
            b"HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nAccept-Ranges: bytes\r\nETag: \"v1\"\r\n"
            b"Content-Length: %d\r\n\r\n" % len(MEDIA) + MEDIA[:50_000]
        )
        return False
    start = int(ctx.request.headers["range"].split("=")[1].rstrip("-"))
    content_range = "bytes %d-%d/%d" % (start, len(MEDIA) - 1, len(MEDIA))
    return ctx.respond(
        206, MEDIA[start:], [("Content-Type", "audio/mpeg"), ("Content-Range", content_range), ("ETag", '"v1"')]
    )


def test_interrupted_download_resumes_on_the_next_run(home: Path, tmp_path: Path) -> None:
    with FaultServer(scenarios={"media": _cut_then_resume}) as server:
        env = cli_env(home, SOUNDCLOUD_CLIENT_ID="an-id")
        args = ["download", server.url + "/media/track.mp3", "-o", "track.mp3"]
        result = run(args, env, tmp_path)
        assert_one_line_error(result, 3, "network error")
        assert "run the same command again to resume" in result.stderr
        assert not (tmp_path / "track.mp3").exists()
        assert (tmp_path / "track.mp3.part").stat().st_size == 50_000

        result = run(args, env, tmp_path)
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "track.mp3").read_bytes() == MEDIA
        assert not (tmp_path / "track.mp3.part").exists()
        assert server.requests[-1].headers["range"] == "bytes=50000-"


# -- progress bars -------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
@pytest.mark.parametrize("quiet", [False, True])
def test_progress_bar_only_on_a_terminal(sc: FakeSoundCloud, home: Path, tmp_path: Path, quiet: bool) -> None:
    import pty

    save_token(home, sc.issue_token())
    (tmp_path / "big.wav").write_bytes(os.urandom(2_000_000))
    master, slave = pty.openpty()
    args = [sys.executable, "-m", "soundcloud", "upload", "big.wav"] + (["-q"] if quiet else [])
    output = b""
    try:
        with subprocess.Popen(
            args, env=cli_env(home, sc), cwd=str(tmp_path), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=slave,
        ) as process:  # fmt: skip
            os.close(slave)
            slave = -1
            while True:  # read until the process closes its end of the terminal
                if not select.select([master], [], [], TIMEOUT)[0]:
                    process.kill()
                    raise AssertionError("no output and no exit within the timeout: %r" % output)
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: no writer left
                    break
                if not chunk:
                    break
                output += chunk
            stdout, _ = process.communicate(timeout=TIMEOUT)
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    assert process.returncode == 0, output
    assert json.loads(stdout)["title"] == "big"
    text = output.decode("utf-8", "replace")
    if quiet:
        assert text == ""
    else:
        assert "uploading" in text and "100.0%" in text and "MB/s" in text and "ETA" in text


def test_progress_bar_rendering() -> None:
    now = [100.0]
    out = io.StringIO()
    bar = ProgressBar("downloading", out, clock=lambda: now[0], width=10)
    now[0] = 102.0
    bar(2_000_000, 8_000_000)
    assert bar.render(now[0]) == "downloading [==>       ]  25.0%  2.0/8.0 MB    1.00 MB/s  ETA 0:06"
    now[0] = 102.01
    bar(3_000_000, 8_000_000)  # too soon: not redrawn
    assert out.getvalue().count("\r") == 1
    bar(8_000_000, 8_000_000)  # the end is always drawn
    bar.finish()
    assert out.getvalue().count("\r") == 2 and out.getvalue().endswith("\n")
    unknown = ProgressBar("uploading", io.StringIO(), clock=lambda: 1.0)
    unknown.done = 1_500_000
    assert unknown.render(2.0) == "uploading 1.5 MB    1.50 MB/s"
    small = ProgressBar("up", io.StringIO(), clock=lambda: 0.0, width=4)
    small(340_000, 900_000)
    assert small.render(1.0) == "up [=>  ]  37.8%  340/900 kB    0.34 MB/s  ETA 0:02"
    resumed = ProgressBar("down", io.StringIO(), clock=lambda: 0.0, width=4)
    resumed.baseline = 1_000_000_000  # bytes from an earlier run do not count as speed
    resumed(1_500_000_000, 2_000_000_000)
    assert resumed.render(10.0) == "down [===>]  75.0%  1.50/2.00 GB   50.00 MB/s  ETA 0:10"


def test_parse_params() -> None:
    params = [param_type(text) for text in ("a.b.c=1", "a.b.d=2", "x[y]=3", "l[]=4", "l[]=5", "e=")]
    expected = {"a": {"b": {"c": "1", "d": "2"}}, "x[y]": "3", "l": ["4", "5"], "e": ""}
    assert parse_params(params) == expected
    assert param_type("f@path=with=equals") == ("f", "path=with=equals", True)
    assert param_type("k=v@x") == ("k", "v@x", False)
    conflicts = [
        [("a", "1", False), ("a", "2", False)],
        [("a", "1", False), ("a.b", "2", False)],
        [("a..b", "1", False)],
        [("f", "x.wav", True)],  # no opener: files only with post and put
    ]
    for bad in conflicts:
        with pytest.raises(ValueError):
            parse_params(bad)


def test_config_dir_follows_xdg() -> None:
    expected = os.path.join("/x/conf", "soundcloud", "token.json")
    assert default_token_path({"XDG_CONFIG_HOME": "/x/conf"}) == expected
    relative = config_dir({"XDG_CONFIG_HOME": "relative/conf"})  # invalid per the XDG spec: ignored
    assert relative == os.path.join(os.path.expanduser("~"), ".config", "soundcloud")
    assert default_token_path({"SOUNDCLOUD_TOKEN_FILE": "/t.json"}) == "/t.json"


# -- demo ----------------------------------------------------------------------------------


def test_demo_runs_offline_and_writes_nothing_outside_a_temp_dir(home: Path, tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = cli_env(home, TMPDIR=str(scratch), TEMP=str(scratch), TMP=str(scratch))
    result = run(["demo"], env, tmp_path, timeout=TIMEOUT)
    assert result.returncode == 0, result.stdout + result.stderr
    for text in ("client.login(", "client.get('/me')", "client.paginate(", "client.post('/tracks'",
                 "client.get('/resolve'", "client.download(flickermood, 'flickermood.m4a'", "remuxed into one M4A",
                 "track={'downloadable': True}", "the same as uploaded", "NotFoundError",
                 "404", "Done in"):  # fmt: skip
        assert text in result.stdout, text
    assert list(scratch.iterdir()) == []  # its temporary directory is gone
    assert list((home / "config").iterdir()) == []  # the user's config untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "tmp"]
