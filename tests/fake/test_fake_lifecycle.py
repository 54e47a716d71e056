"""The fake SoundCloud as a server, over real sockets with http.client: the package's own
``fake`` fixture registered the way the docs say, the three origins, start/stop (prompt
even with idle keep-alive and stalled requests), stalls, keep-alive and HEAD, seeding
options, each origin's own error dialect, the ``/_test/`` hooks (statuses, HTML and bad
JSON, redirects, echo, flaky/drop/truncate/bytes, chunked bodies), and the recording of
every request on every origin, also under concurrent clients.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from typing import List
from urllib.parse import urlencode, urlsplit

import pytest
from support.fake_calls import CALL_TIMEOUT as TIMEOUT, assert_api_error, call, form

import soundcloud.testing
from soundcloud.testing import FakeSoundCloud, RecordedRequest

# The package's own fixture (soundcloud/testing/fake.py), registered the way the docs say
# (pytest.fixture applied here: the soundcloud.testing package never imports pytest).
fake = pytest.fixture(soundcloud.testing.fixture)


# --------------------------------------------------------------------------- lifecycle


def test_three_origins_on_distinct_ports(fake: FakeSoundCloud) -> None:
    urls = [fake.api_url, fake.auth_url, fake.cdn_url]
    assert all(url.startswith("http://127.0.0.1:") for url in urls)
    assert len({urlsplit(url).port for url in urls}) == 3
    assert (fake.client_id, fake.client_secret) == ("test-client-id", "test-client-secret")
    assert fake.redirect_uri == "http://127.0.0.1:8765/callback"


def test_urls_need_a_started_server() -> None:
    sc = FakeSoundCloud(tracks=0)
    with pytest.raises(RuntimeError):
        sc.api_url
    sc.stop()  # harmless before start


def test_start_twice_is_an_error() -> None:
    with FakeSoundCloud(tracks=0) as sc:
        with pytest.raises(RuntimeError):
            sc.start()


def test_stop_is_prompt_with_idle_keepalive_and_stalled_requests() -> None:
    sc = FakeSoundCloud(tracks=0).start()
    idle = http.client.HTTPConnection("127.0.0.1", urlsplit(sc.api_url).port, timeout=TIMEOUT)
    idle.request("GET", "/_test/echo")
    assert idle.getresponse().read()  # connection now idle, kept alive by the server
    errors: List[BaseException] = []

    def stalled() -> None:
        try:
            call(f"{sc.api_url}/_test/stall")
        except (OSError, http.client.HTTPException) as exc:
            errors.append(exc)

    thread = threading.Thread(target=stalled)
    thread.start()
    assert sc.wait_for_stalled(1, timeout=TIMEOUT)
    started = time.monotonic()
    sc.stop()
    elapsed = time.monotonic() - started
    thread.join(TIMEOUT)
    assert elapsed < 1.5
    assert not thread.is_alive()
    assert errors, "the stalled request must fail when the server stops"
    with pytest.raises(OSError):
        call(f"{sc.api_url}/_test/echo")
    idle.close()
    sc.stop()  # idempotent
    sc.close()


def test_release_stalled_answers_held_requests(fake: FakeSoundCloud) -> None:
    results: List[int] = []
    thread = threading.Thread(target=lambda: results.append(call(f"{fake.api_url}/_test/stall").status))
    thread.start()
    assert fake.wait_for_stalled(1, timeout=TIMEOUT)
    fake.release_stalled()
    thread.join(TIMEOUT)
    assert results == [200]


def test_stall_makes_a_client_timeout_without_sleeping(fake: FakeSoundCloud) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(fake.api_url).port, timeout=0.2)
    conn.request("GET", "/_test/stall")
    with pytest.raises(socket.timeout):
        conn.getresponse()
    conn.close()


def test_keep_alive_reuses_one_connection(fake: FakeSoundCloud, token: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(fake.api_url).port, timeout=TIMEOUT)
    first = call(f"{fake.api_url}/tracks/293", token=token, conn=conn)
    sock = conn.sock
    second = call(f"{fake.api_url}/me", token=token, conn=conn)
    third = call(f"{fake.api_url}/tracks/999999", token=token, conn=conn)  # errors keep it alive too
    assert conn.sock is sock is not None
    assert (first.status, second.status, third.status) == (200, 200, 404)
    assert first.headers["content-length"] == str(len(first.body))
    assert first.headers["content-type"] == "application/json; charset=utf-8"
    conn.close()


def test_head_has_length_but_no_body(fake: FakeSoundCloud, token: str) -> None:
    get = call(f"{fake.api_url}/tracks/293", token=token)
    head = call(f"{fake.api_url}/tracks/293", "HEAD", token=token)
    assert head.status == 200 and head.body == b""
    assert head.headers["content-length"] == str(len(get.body))


def test_seeding_options() -> None:
    with FakeSoundCloud(tracks=[{"title": "Only one", "genre": "Folk"}], user={"username": "alice", "id": 77}) as sc:
        token = sc.issue_token()
        me = call(f"{sc.api_url}/me", token=token).json()
        assert (me["id"], me["username"]) == (77, "alice")
        listed = call(f"{sc.api_url}/tracks", token=token).json()
        assert [(t["id"], t["title"]) for t in listed] == [(1, "Only one"), (293, "Flickermood")]
        added = sc.add_track(title="Later", user_id=183)
        assert call(f"{sc.api_url}/tracks/{added['id']}", token=token).json()["user"]["username"] == "forss"


def test_other_origins_answer_in_their_own_dialect(fake: FakeSoundCloud) -> None:
    auth = call(f"{fake.auth_url}/nothing")
    assert auth.status == 404 and auth.json()["error"] == "invalid_request"
    cdn = call(f"{fake.cdn_url}/nothing")
    assert cdn.status == 404 and cdn.body.startswith(b"<?xml")


# --------------------------------------------------------------------------- test hooks


def test_status_hook(fake: FakeSoundCloud) -> None:
    assert_api_error(call(f"{fake.api_url}/_test/status/503"), 503, "503 - Service Unavailable")
    limited = call(f"{fake.api_url}/_test/status/429?retry_after=7")
    payload = assert_api_error(limited, 429, "429 - Too Many Requests")
    assert "reset_time" in payload["errors"][0]["meta"]["rate_limit"]
    assert limited.headers["retry-after"] == "7" and limited.headers["x-ratelimit-remaining"] == "0"
    assert "retry-after" not in call(f"{fake.api_url}/_test/status/500").headers
    assert call(f"{fake.api_url}/_test/status/204").body == b""
    assert call(f"{fake.api_url}/_test/status/99").status == 400


def test_html_and_bad_json_hooks(fake: FakeSoundCloud) -> None:
    html = call(f"{fake.api_url}/_test/html403")
    assert html.status == 403 and html.headers["content-type"] == "text/html" and b"cloudfront" in html.body
    bad = call(f"{fake.api_url}/_test/badjson")
    assert bad.status == 200 and bad.headers["content-type"].startswith("application/json")
    with pytest.raises(ValueError):
        bad.json()


def test_redirect_and_loop_hooks(fake: FakeSoundCloud) -> None:
    target = f"{fake.api_url}/_test/echo"
    moved = call(f"{fake.api_url}/_test/redirect?{urlencode({'to': target, 'code': '307'})}")
    assert moved.status == 307 and moved.headers["location"] == target
    assert call(f"{fake.api_url}/_test/redirect?to=/x&code=200").status == 400
    loop = call(f"{fake.api_url}/_test/loop")
    assert loop.status == 302 and loop.headers["location"] == f"{fake.api_url}/_test/loop"


def test_echo_hook(fake: FakeSoundCloud) -> None:
    echo = call(
        f"{fake.api_url}/_test/echo?a=1&a=2&b=", "PUT",
        headers={"X-Thing": "yes", "Content-Type": "text/plain"}, body="caf\u00e9".encode(),
    ).json()  # fmt: skip
    assert echo["method"] == "PUT" and echo["path"] == "/_test/echo"
    assert echo["query"] == {"a": ["1", "2"], "b": [""]}
    assert echo["headers"]["x-thing"] == "yes" and echo["body"] == "caf\u00e9"


def test_flaky_drop_truncate_bytes_hooks(fake: FakeSoundCloud) -> None:
    url = f"{fake.api_url}/_test/flaky?key=k1&fail=2&code=502"
    assert [call(url).status for _ in range(3)] == [502, 502, 200]
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        call(f"{fake.api_url}/_test/drop")
    with pytest.raises(http.client.IncompleteRead):
        call(f"{fake.api_url}/_test/truncate")
    data = call(f"{fake.api_url}/_test/bytes?n=1000")
    assert len(data.body) == 1000 and data.headers["content-type"] == "application/octet-stream"


def test_chunked_request_body_is_read(fake: FakeSoundCloud) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(fake.api_url).port, timeout=TIMEOUT)
    conn.request("POST", "/_test/echo", body=iter([b"hello ", b"world"]), encode_chunked=True,
                 headers={"Transfer-Encoding": "chunked"})  # fmt: skip
    echo = json.loads(conn.getresponse().read())
    conn.close()
    assert echo["body"] == "hello world"


# --------------------------------------------------------------------------- recording


def test_every_origin_is_recorded(fake: FakeSoundCloud, token: str) -> None:
    call(f"{fake.api_url}/tracks/293?client_id={fake.client_id}", headers={"X-Trace": "1"})
    form(f"{fake.auth_url}/oauth/token", {"grant_type": "password"})
    call(fake.media_url(293), headers={"Range": "bytes=0-1"})
    recorded = fake.requests
    assert [r.server for r in recorded] == ["api", "auth", "cdn"]
    api, auth, cdn = recorded
    assert isinstance(api, RecordedRequest)
    assert (api.method, api.path, api.query) == ("GET", "/tracks/293", {"client_id": [fake.client_id]})
    assert api.headers["x-trace"] == "1" and api.header("X-TRACE") == "1" and api.body == b""
    assert auth.method == "POST" and auth.body == b"grant_type=password"
    assert cdn.path == "/media/293.mp3" and cdn.headers["range"] == "bytes=0-1"
    fake.clear_requests()
    assert fake.requests == []


def test_concurrent_clients_are_all_served_and_recorded(fake: FakeSoundCloud, token: str) -> None:
    statuses: List[int] = []
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", urlsplit(fake.api_url).port, timeout=TIMEOUT)
        try:
            for n in range(20):
                reply = call(f"{fake.api_url}/tracks/{1 + n}", token=token, conn=conn)
                with lock:
                    statuses.append(reply.status)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)
    assert statuses == [200] * 160
    assert len(fake.requests_to("api")) == 160
