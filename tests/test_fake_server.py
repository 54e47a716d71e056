"""Tests of soundcloud.testing.FakeSoundCloud, driven over real sockets with http.client.

The client library is not used here on purpose: these tests pin down the behaviour of
the fake itself (the behaviour the client's tests rely on), byte by byte.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

import soundcloud.testing
from soundcloud.testing import FakeSoundCloud, RecordedRequest, s256_challenge

TIMEOUT = 5.0

# The module's own fixture, registered the way the docs say (no pytest import in testing.py).
fake = pytest.fixture(soundcloud.testing.fixture)


class Clock:
    """An injectable clock that tests move by hand."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Reply:
    status: int
    headers: Dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


def call(
    url: str,
    method: str = "GET",
    *,
    headers: Optional[Mapping[str, str]] = None,
    body: Optional[bytes] = None,
    token: Optional[str] = None,
    conn: Optional[http.client.HTTPConnection] = None,
) -> Reply:
    """One HTTP exchange; a fresh connection unless ``conn`` is given."""
    parts = urlsplit(url)
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"OAuth {token}"
    own = conn is None
    connection = conn or http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=TIMEOUT)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, target, body=body, headers=sent)
        response = connection.getresponse()
        data = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        if own:
            connection.close()


def form(url: str, fields: Mapping[str, str], **kwargs: Any) -> Reply:
    headers = dict(kwargs.pop("headers", {}))
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return call(url, "POST", headers=headers, body=urlencode(fields).encode(), **kwargs)


def basic(client_id: str, secret: str) -> Dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def multipart(fields: Mapping[str, str], files: Mapping[str, Tuple[str, str, bytes]]) -> Tuple[str, bytes]:
    boundary = "----fake" + secrets.token_hex(8)
    out = b""
    for name, value in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for name, (filename, ctype, data) in files.items():
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {ctype}\r\n\r\n"
        ).encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", out


def assert_api_error(reply: Reply, code: int, status: str) -> Dict[str, Any]:
    assert reply.status == code
    assert reply.headers["content-type"] == "application/json; charset=utf-8"
    payload: Dict[str, Any] = reply.json()
    assert payload["code"] == code
    assert payload["message"] == status
    assert payload["status"] == status
    assert payload["link"] == "https://developers.soundcloud.com/docs/api/explorer/open-api"
    assert payload["error"] is None
    assert isinstance(payload["errors"][0]["error_message"], str)
    return payload


def pkce_pair() -> Tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize(sc: FakeSoundCloud, **overrides: Optional[str]) -> Reply:
    params: Dict[str, Optional[str]] = {
        "client_id": sc.client_id,
        "redirect_uri": sc.redirect_uri,
        "response_type": "code",
        "code_challenge": pkce_pair()[1],
        "code_challenge_method": "S256",
        "state": "xyz-state",
    }
    params.update(overrides)
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return call(f"{sc.auth_url}/authorize?{query}")


def login(sc: FakeSoundCloud) -> Tuple[str, str, Dict[str, Any]]:
    """Run authorization code + PKCE by hand; return code, verifier and the token JSON."""
    verifier, challenge = pkce_pair()
    reply = authorize(sc, code_challenge=challenge)
    assert reply.status == 302
    code = parse_qs(urlsplit(reply.headers["location"]).query)["code"][0]
    token = exchange(sc, code, verifier)
    assert token.status == 200, token.body
    return code, verifier, token.json()


def exchange(sc: FakeSoundCloud, auth_code: str, verifier: str, **overrides: str) -> Reply:
    """POST an authorization_code grant; ``overrides`` replace fields ("<omit>" drops one)."""
    fields = {
        "grant_type": "authorization_code",
        "client_id": sc.client_id,
        "client_secret": sc.client_secret,
        "redirect_uri": sc.redirect_uri,
        "code": auth_code,
        "code_verifier": verifier,
    }
    fields.update(overrides)
    return form(f"{sc.auth_url}/oauth/token", {k: v for k, v in fields.items() if v != "<omit>"})


def refresh(sc: FakeSoundCloud, refresh_token: str) -> Reply:
    return form(
        f"{sc.auth_url}/oauth/token",
        {
            "grant_type": "refresh_token",
            "client_id": sc.client_id,
            "client_secret": sc.client_secret,
            "refresh_token": refresh_token,
        },
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed(clock: Clock) -> Iterator[FakeSoundCloud]:
    with FakeSoundCloud(clock=clock, tracks=5) as sc:
        yield sc


@pytest.fixture
def token(fake: FakeSoundCloud) -> str:
    return fake.issue_token()


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


# --------------------------------------------------------------------------- API credentials


def test_no_credentials_is_401_with_soundcloud_error_body(fake: FakeSoundCloud) -> None:
    assert_api_error(call(f"{fake.api_url}/tracks/293"), 401, "401 - Unauthorized")


def test_oauth_and_bearer_schemes(fake: FakeSoundCloud, token: str) -> None:
    assert call(f"{fake.api_url}/me", headers={"Authorization": f"OAuth {token}"}).status == 200
    assert call(f"{fake.api_url}/me", headers={"Authorization": f"Bearer {token}"}).status == 200
    assert call(f"{fake.api_url}/me", headers={"Authorization": f"Basic {token}"}).status == 401
    assert call(f"{fake.api_url}/me", headers={"Authorization": "OAuth not-a-token"}).status == 401


def test_client_id_opens_public_reads_only(fake: FakeSoundCloud) -> None:
    ok = call(f"{fake.api_url}/tracks/293?client_id={fake.client_id}")
    assert ok.status == 200 and ok.json()["title"] == "Flickermood"
    assert call(f"{fake.api_url}/tracks/293?client_id=someone-else").status == 401
    assert call(f"{fake.api_url}/me?client_id={fake.client_id}").status == 401
    liked = call(f"{fake.api_url}/likes/tracks/293?client_id={fake.client_id}", "POST")
    assert_api_error(liked, 401, "401 - Unauthorized")


def test_app_token_is_401_on_me_and_403_on_writes(fake: FakeSoundCloud) -> None:
    app = fake.issue_token(user=False)
    assert call(f"{fake.api_url}/tracks/293", token=app).status == 200
    assert_api_error(call(f"{fake.api_url}/me", token=app), 401, "401 - Unauthorized")
    assert call(f"{fake.api_url}/me/followings/183", "PUT", token=app).status == 401
    assert_api_error(call(f"{fake.api_url}/likes/tracks/293", "POST", token=app), 403, "403 - Forbidden")


def test_expired_token_is_401_by_the_injected_clock(timed: FakeSoundCloud, clock: Clock) -> None:
    short = timed.issue_token(expires_in=10)
    assert call(f"{timed.api_url}/me", token=short).status == 200
    clock.now += 10
    assert call(f"{timed.api_url}/me", token=short).status == 401


def test_expire_tokens_makes_every_token_401(fake: FakeSoundCloud, token: str) -> None:
    other = fake.issue_token(user=False)
    fake.expire_tokens()
    assert call(f"{fake.api_url}/me", token=token).status == 401
    assert call(f"{fake.api_url}/tracks/293", token=other).status == 401
    assert call(f"{fake.api_url}/me", token=fake.issue_token()).status == 200


# --------------------------------------------------------------------------- tracks


def test_track_shape_and_ids(fake: FakeSoundCloud, token: str) -> None:
    reply = call(f"{fake.api_url}/tracks/293", token=token)
    track = reply.json()
    assert 700 < len(reply.body) < 3000
    assert track["urn"] == "soundcloud:tracks:293" and track["kind"] == "track"
    assert track["permalink_url"] == "https://soundcloud.com/forss/flickermood"
    assert track["uri"] == f"{fake.api_url}/tracks/293"
    assert track["stream_url"] == f"{fake.api_url}/tracks/293/stream"
    assert track["user"]["username"] == "forss" and track["user"]["urn"] == "soundcloud:users:183"
    for key in ("duration", "genre", "created_at", "title", "sharing", "playback_count"):
        assert key in track
    for path in ("/tracks/soundcloud:tracks:293", "/tracks/soundcloud%3Atracks%3A293", "/tracks/293/"):
        assert call(fake.api_url + path, token=token).json()["id"] == 293


def test_unknown_and_malformed_track_ids(fake: FakeSoundCloud, token: str) -> None:
    assert_api_error(call(f"{fake.api_url}/tracks/999999", token=token), 404, "404 - Not Found")
    assert call(f"{fake.api_url}/tracks/soundcloud:users:293", token=token).status == 404
    assert call(f"{fake.api_url}/tracks/abc", token=token).status == 404
    big = call(f"{fake.api_url}/tracks/{2**31}", token=token)
    assert_api_error(big, 422, "422 - Unprocessable Entity")
    fake.add_track(id=2**31 + 5, title="Big id")
    assert call(f"{fake.api_url}/tracks/soundcloud:tracks:{2**31 + 5}", token=token).json()["title"] == "Big id"
    assert fake.add_track(title="Next")["id"] == 452  # a URN-only id does not move the numbering


def test_list_without_linked_partitioning_is_a_bare_array(fake: FakeSoundCloud, token: str) -> None:
    default = call(f"{fake.api_url}/tracks", token=token).json()
    assert isinstance(default, list) and len(default) == 50
    assert len(call(f"{fake.api_url}/tracks?limit=500", token=token).json()) == 200  # clamped
    assert len(call(f"{fake.api_url}/tracks?limit=3", token=token).json()) == 3
    offset = call(f"{fake.api_url}/tracks?limit=2&offset=1", token=token).json()
    assert offset[0]["id"] == default[1]["id"]
    assert call(f"{fake.api_url}/tracks?limit=lots", token=token).status == 400


def test_linked_partitioning_chain_to_the_end(fake: FakeSoundCloud, token: str) -> None:
    url: Optional[str] = f"{fake.api_url}/tracks?linked_partitioning=true&limit=200"
    seen: List[int] = []
    pages = 0
    while url is not None:
        payload = call(url, token=token).json()
        assert set(payload) == {"collection", "next_href"}
        seen += [track["id"] for track in payload["collection"]]
        pages += 1
        url = payload["next_href"]
        if url is not None:
            assert url.startswith(f"{fake.api_url}/tracks?") and "cursor=" in url
    assert pages == 3  # 451 tracks in pages of 200
    assert len(seen) == len(set(seen)) == len(fake.track_ids) == 451
    assert seen == fake.track_ids


def test_pagination_keeps_query_and_rejects_bad_cursor(fake: FakeSoundCloud, token: str) -> None:
    first = call(f"{fake.api_url}/tracks?q=midnight&linked_partitioning=1&limit=10", token=token).json()
    assert all("midnight" in t["title"].lower() for t in first["collection"])
    following = call(first["next_href"], token=token).json()
    assert all("midnight" in t["title"].lower() for t in following["collection"])
    assert {t["id"] for t in first["collection"]}.isdisjoint(t["id"] for t in following["collection"])
    assert call(f"{fake.api_url}/tracks?linked_partitioning=1&cursor=%%%", token=token).status == 400


def test_search_filters(fake: FakeSoundCloud, token: str) -> None:
    found = call(f"{fake.api_url}/tracks?q=flickermood", token=token).json()
    assert [t["id"] for t in found] == [293]
    techno = call(f"{fake.api_url}/tracks?genres=Techno&limit=200", token=token).json()
    assert techno and all(t["genre"] == "Techno" for t in techno)
    urns = call(f"{fake.api_url}/tracks?urns=soundcloud:tracks:293,soundcloud:tracks:1", token=token).json()
    assert [t["id"] for t in urns] == [1, 293]


def upload(sc: FakeSoundCloud, token: str, data: bytes, **fields: str) -> Reply:
    values = {"track[title]": "Upload Test", "track[sharing]": "private"}
    values.update(fields)
    ctype, body = multipart(values, {"track[asset_data]": ("song.mp3", "audio/mpeg", data)})
    return call(f"{sc.api_url}/tracks", "POST", token=token, headers={"Content-Type": ctype}, body=body)


def test_upload_stores_file_parts_byte_exact(fake: FakeSoundCloud, token: str) -> None:
    data = bytes(range(256)) * 40 + b"\r\n--not-a-boundary\r\n\r" + b"\n\r\n"
    reply = upload(fake, token, data, **{"track[genre]": "Ambient", "track[downloadable]": "true"})
    assert reply.status == 201
    track = reply.json()
    assert (track["title"], track["sharing"], track["genre"], track["downloadable"]) == (
        "Upload Test", "private", "Ambient", True,
    )  # fmt: skip
    last = fake.uploads[-1]
    assert last.track_id == track["id"]
    asset = last.files["track[asset_data]"]
    assert (asset.filename, asset.content_type, asset.data) == ("song.mp3", "audio/mpeg", data)
    assert last.fields["track[title]"] == "Upload Test"
    assert fake.media_bytes(track["id"]) == data
    # private: the owner sees it, anonymous readers do not
    assert call(f"{fake.api_url}/tracks/{track['id']}", token=token).status == 200
    assert call(f"{fake.api_url}/tracks/{track['id']}?client_id={fake.client_id}").status == 404


def test_upload_validation(fake: FakeSoundCloud, token: str) -> None:
    ctype, body = multipart({"track[title]": "No asset"}, {})
    missing_asset = call(f"{fake.api_url}/tracks", "POST", token=token, headers={"Content-Type": ctype}, body=body)
    assert_api_error(missing_asset, 422, "422 - Unprocessable Entity")
    ctype, body = multipart({}, {"track[asset_data]": ("a.mp3", "audio/mpeg", b"x")})
    missing_title = call(f"{fake.api_url}/tracks", "POST", token=token, headers={"Content-Type": ctype}, body=body)
    assert missing_title.status == 422
    ctype, body = multipart({"track[title]": "t"}, {"track[asset_data]": ("a" * 256 + ".mp3", "audio/mpeg", b"x")})
    long_name = call(f"{fake.api_url}/tracks", "POST", token=token, headers={"Content-Type": ctype}, body=body)
    assert long_name.status == 422
    assert upload(fake, token, b"x", **{"track[sharing]": "friends"}).status == 422
    assert upload(fake, fake.issue_token(user=False), b"x").status == 403
    assert fake.uploads == []


def test_update_track_form_and_json(fake: FakeSoundCloud, token: str) -> None:
    url = f"{fake.api_url}/tracks/1"
    reply = call(
        url, "PUT", token=token, headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=urlencode({"track[title]": "Renamed", "track[description]": "new"}).encode(),
    )  # fmt: skip
    assert reply.status == 200 and reply.json()["title"] == "Renamed"
    body = json.dumps({"track": {"genre": "Jazz", "downloadable": True}}).encode()
    reply = call(url, "PUT", token=token, headers={"Content-Type": "application/json"}, body=body)
    assert reply.json()["genre"] == "Jazz" and reply.json()["downloadable"] is True
    assert reply.json()["title"] == "Renamed"
    bad = json.dumps({"track": {"license": "mine-all-mine"}}).encode()
    assert call(url, "PUT", token=token, headers={"Content-Type": "application/json"}, body=bad).status == 422
    others = call(f"{fake.api_url}/tracks/293", "PUT", token=token, headers={"Content-Type": "application/json"}, body=body)
    assert_api_error(others, 403, "403 - Forbidden")


def test_delete_track(fake: FakeSoundCloud, token: str) -> None:
    assert call(f"{fake.api_url}/tracks/2", "DELETE", token=token).json() == {"status": "200 - OK"}
    assert call(f"{fake.api_url}/tracks/2", token=token).status == 404
    assert call(f"{fake.api_url}/tracks/293", "DELETE", token=token).status == 403


# --------------------------------------------------------------------------- streaming and CDN


def test_stream_redirects_to_signed_cdn_url(fake: FakeSoundCloud, token: str) -> None:
    reply = call(f"{fake.api_url}/tracks/1/stream", token=token)
    assert reply.status == 302
    location = reply.headers["location"]
    assert location.startswith(f"{fake.cdn_url}/media/1.mp3?") and "sig=" in location
    assert reply.json() == {"status": "302 - Found", "location": location}
    audio = call(location)
    assert audio.status == 200
    assert audio.headers["content-type"] == "audio/mpeg"
    assert audio.headers["accept-ranges"] == "bytes"
    assert audio.body == fake.media_bytes(1) and len(audio.body) == soundcloud.testing.MEDIA_SIZE
    assert audio.body != fake.media_bytes(2)
    assert not fake.cdn_authorization_seen
    cdn = fake.requests_to("cdn")
    assert len(cdn) == 1 and "authorization" not in cdn[0].headers
    call(location, token=token)
    assert fake.cdn_authorization_seen


def test_cdn_rejects_tampered_and_expired_urls(timed: FakeSoundCloud, clock: Clock) -> None:
    location = timed.media_url(1)
    assert call(location).status == 200
    tampered = location.replace("/media/1.mp3", "/media/2.mp3")
    denied = call(tampered)
    assert denied.status == 403 and denied.headers["content-type"] == "text/xml"
    assert call(f"{timed.cdn_url}/media/1.mp3").status == 403
    clock.now += soundcloud.testing.CDN_URL_LIFETIME + 1
    assert call(location).status == 403


def test_cdn_ranges(fake: FakeSoundCloud) -> None:
    url = fake.media_url(3)
    data = fake.media_bytes(3)
    size = len(data)
    tail = call(url, headers={"Range": "bytes=1000-"})
    assert tail.status == 206 and tail.body == data[1000:]
    assert tail.headers["content-range"] == f"bytes 1000-{size - 1}/{size}"
    middle = call(url, headers={"Range": "bytes=10-19"})
    assert middle.body == data[10:20] and middle.headers["content-range"] == f"bytes 10-19/{size}"
    suffix = call(url, headers={"Range": "bytes=-5"})
    assert suffix.body == data[-5:]
    beyond = call(url, headers={"Range": f"bytes={size}-"})
    assert beyond.status == 416 and beyond.headers["content-range"] == f"bytes */{size}"
    assert call(url, headers={"Range": "items=1-2"}).status == 200  # ignorable Range
    head = call(url, "HEAD")
    assert head.status == 200 and head.headers["content-length"] == str(size) and head.body == b""


def test_streams_and_hls(fake: FakeSoundCloud, token: str) -> None:
    streams = call(f"{fake.api_url}/tracks/soundcloud:tracks:1/streams", token=token).json()
    for key in ("hls_aac_160_url", "hls_mp3_128_url", "preview_mp3_128_url"):
        assert streams[key].startswith(fake.cdn_url)
    playlist = call(streams["hls_aac_160_url"])
    assert playlist.status == 200 and playlist.body.startswith(b"#EXTM3U")
    segment = [line for line in playlist.body.decode().splitlines() if line.startswith("http")][0]
    assert call(segment).body == fake.media_bytes(1)
    preview = call(streams["preview_mp3_128_url"])
    assert preview.body == fake.media_bytes(1)[: soundcloud.testing.PREVIEW_SIZE]


# --------------------------------------------------------------------------- users, me, playlists


def test_users_and_followings(fake: FakeSoundCloud, token: str) -> None:
    user = call(f"{fake.api_url}/users/soundcloud:users:183", token=token).json()
    assert user["username"] == "forss" and user["urn"] == "soundcloud:users:183"
    assert call(f"{fake.api_url}/users/424242", token=token).status == 404
    tracks = call(f"{fake.api_url}/users/183/tracks", token=token).json()
    assert [t["id"] for t in tracks] == [293]
    first = call(f"{fake.api_url}/users/{fake.user_id}/followings?linked_partitioning=1", token=token).json()
    second = call(first["next_href"], token=token).json()
    assert len(first["collection"]) == 50 and len(second["collection"]) == 10
    assert second["next_href"] is None


def test_me_and_update_me(fake: FakeSoundCloud, token: str) -> None:
    me = call(f"{fake.api_url}/me", token=token).json()
    assert me["id"] == fake.user_id and me["username"] == "test-user" and "quota" in me
    body = urlencode({"user[description]": "Hello there", "user[city]": "Hamburg"}).encode()
    reply = call(
        f"{fake.api_url}/me", "PUT", token=token,
        headers={"Content-Type": "application/x-www-form-urlencoded"}, body=body,
    )  # fmt: skip
    assert reply.status == 200 and reply.json()["description"] == "Hello there"
    body = json.dumps({"user": {"website": "https://example.com"}}).encode()
    call(f"{fake.api_url}/me", "PUT", token=token, headers={"Content-Type": "application/json"}, body=body)
    assert fake.user["website"] == "https://example.com" and fake.user["city"] == "Hamburg"
    mine = call(f"{fake.api_url}/me/tracks?limit=5", token=token).json()
    assert len(mine) == 5 and all(t["user"]["id"] == fake.user_id for t in mine)


def test_follow_and_unfollow(fake: FakeSoundCloud, token: str) -> None:
    followed = call(f"{fake.api_url}/me/followings/soundcloud:users:183", "PUT", token=token)
    assert followed.status == 200 and followed.json()["username"] == "forss"
    assert fake.is_following(183)
    assert call(f"{fake.api_url}/me/followings/183", "DELETE", token=token).status == 200
    assert not fake.is_following(183)
    assert call(f"{fake.api_url}/me/followings/183", "DELETE", token=token).status == 200  # idempotent
    assert call(f"{fake.api_url}/me/followings/99999", "DELETE", token=token).status == 404
    assert call(f"{fake.api_url}/me/followings/99999", "PUT", token=token).status == 404


def test_apps_and_resolve(fake: FakeSoundCloud, token: str) -> None:
    app = call(f"{fake.api_url}/apps/124", token=token).json()
    assert app["permalink_url"] == "http://soundcloud.com/apps/python-api-wrapper"
    query = urlencode({"url": "http://soundcloud.com/forss/flickermood"})
    reply = call(f"{fake.api_url}/resolve?{query}", token=token)
    assert reply.status == 302
    assert reply.headers["location"] == f"{fake.api_url}/tracks/293"
    assert reply.json() == {"status": "302 - Found", "location": f"{fake.api_url}/tracks/293"}
    assert call(reply.headers["location"], token=token).json()["title"] == "Flickermood"
    user = call(f"{fake.api_url}/resolve?url=https://soundcloud.com/forss/", token=token)
    assert user.headers["location"] == f"{fake.api_url}/users/183"
    unknown = call(f"{fake.api_url}/resolve?url=https://soundcloud.com/nobody/nothing", token=token)
    assert_api_error(unknown, 404, "404 - Not Found")


def test_playlists(fake: FakeSoundCloud, token: str) -> None:
    seeded = call(f"{fake.api_url}/playlists/1", token=token).json()
    assert seeded["kind"] == "playlist" and seeded["track_count"] == len(seeded["tracks"]) == 5
    body = json.dumps(
        {"playlist": {"title": "Road trip", "sharing": "public", "tracks": [{"urn": "soundcloud:tracks:293"}]}}
    ).encode()
    created = call(f"{fake.api_url}/playlists", "POST", token=token, headers={"Content-Type": "application/json"}, body=body)
    assert created.status == 201
    playlist = created.json()
    assert [t["id"] for t in playlist["tracks"]] == [293]
    ctype, form_body = multipart({"playlist[title]": "Form list", "playlist[tracks][][urn]": "1,2"}, {})
    from_form = call(f"{fake.api_url}/playlists", "POST", token=token, headers={"Content-Type": ctype}, body=form_body)
    assert [t["id"] for t in from_form.json()["tracks"]] == [1, 2]
    tracks = call(f"{fake.api_url}/playlists/{playlist['id']}/tracks", token=token).json()
    assert [t["id"] for t in tracks] == [293]
    ctype, empty = multipart({"playlist[sharing]": "public"}, {})
    assert call(f"{fake.api_url}/playlists", "POST", token=token, headers={"Content-Type": ctype}, body=empty).status == 422
    assert call(f"{fake.api_url}/playlists/{playlist['id']}", "DELETE", token=token).status == 200
    assert call(f"{fake.api_url}/playlists/{playlist['id']}", token=token).status == 404


def test_likes_and_reposts(fake: FakeSoundCloud, token: str) -> None:
    liked = call(f"{fake.api_url}/likes/tracks/soundcloud:tracks:293", "POST", token=token)
    assert liked.status == 200 and fake.likes() == [293]
    assert call(f"{fake.api_url}/tracks/293", token=token).json()["favoritings_count"] == 1
    assert [t["id"] for t in call(f"{fake.api_url}/me/likes/tracks", token=token).json()] == [293]
    assert call(f"{fake.api_url}/likes/tracks/293", "DELETE", token=token).status == 200
    assert fake.likes() == []
    assert call(f"{fake.api_url}/likes/tracks/293", "DELETE", token=token).status == 200  # idempotent
    assert call(f"{fake.api_url}/reposts/tracks/293", "POST", token=token).status == 201
    assert call(f"{fake.api_url}/reposts/tracks/293", "DELETE", token=token).status == 200
    assert call(f"{fake.api_url}/likes/tracks/99999", "POST", token=token).status == 404


def test_removed_endpoint_and_wrong_method_are_405(fake: FakeSoundCloud, token: str) -> None:
    assert_api_error(call(f"{fake.api_url}/me/connections", token=token), 405, "405 - Method Not Allowed")
    patched = call(f"{fake.api_url}/tracks/293", "PATCH", token=token)
    assert patched.status == 405 and set(patched.headers["allow"].split(", ")) == {"DELETE", "GET", "PUT"}
    assert_api_error(call(f"{fake.api_url}/no/such/thing", token=token), 404, "404 - Not Found")


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


# --------------------------------------------------------------------------- OAuth: /authorize


def test_full_pkce_flow_by_hand(fake: FakeSoundCloud) -> None:
    verifier = secrets.token_urlsafe(64)[:64]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert challenge == s256_challenge(verifier)
    reply = authorize(fake, code_challenge=challenge, state="s-123")
    assert reply.status == 302
    location = urlsplit(reply.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == fake.redirect_uri
    params = parse_qs(location.query)
    assert params["state"] == ["s-123"] and len(params["code"][0]) > 20
    token = exchange(fake, params["code"][0], verifier)
    assert token.status == 200
    assert token.headers["cache-control"] == "no-store"
    payload = token.json()
    assert set(payload) == {"access_token", "expires_in", "refresh_token", "scope", "token_type"}
    assert payload["expires_in"] == 3600 and payload["token_type"] == "bearer" and payload["scope"] == ""
    me = call(f"{fake.api_url}/me", token=payload["access_token"])
    assert me.status == 200 and me.json()["id"] == fake.user_id
    assert fake.tokens_issued == 1 and fake.grant_counts == {"authorization_code": 1}


@pytest.mark.parametrize(
    "overrides",
    [{"client_id": "unknown"}, {"client_id": None}, {"redirect_uri": "http://evil.example/cb"}, {"redirect_uri": None}],
    ids=["unknown-client", "no-client", "foreign-redirect", "no-redirect"],
)
def test_authorize_never_redirects_for_bad_client_or_redirect_uri(
    fake: FakeSoundCloud, overrides: Dict[str, Optional[str]]
) -> None:
    reply = authorize(fake, **overrides)
    assert reply.status == 400 and "location" not in reply.headers
    assert reply.json()["error"] in ("invalid_client", "invalid_request")


@pytest.mark.parametrize(
    "overrides, error",
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
    ],
    ids=["token-response", "no-challenge", "plain", "no-method", "malformed-challenge"],
)
def test_authorize_redirects_other_errors_with_state(
    fake: FakeSoundCloud, overrides: Dict[str, Optional[str]], error: str
) -> None:
    reply = authorize(fake, **overrides)
    assert reply.status == 302
    params = parse_qs(urlsplit(reply.headers["location"]).query)
    assert params["error"] == [error] and params["state"] == ["xyz-state"]
    assert params["error_description"][0] and "code" not in params


def test_user_denial_and_kept_redirect_query(fake: FakeSoundCloud) -> None:
    fake.approve_authorizations = False
    params = parse_qs(urlsplit(authorize(fake).headers["location"]).query)
    assert params["error"] == ["access_denied"]


def test_loopback_any_port_is_opt_in() -> None:
    with FakeSoundCloud(tracks=0, redirect_uri="http://127.0.0.1/cb?app=1", loopback_any_port=True) as sc:
        reply = authorize(sc, redirect_uri="http://127.0.0.1:51234/cb?app=1")
        assert reply.status == 302
        assert reply.headers["location"].startswith("http://127.0.0.1:51234/cb?app=1&code=")
        assert authorize(sc, redirect_uri="http://127.0.0.1:51234/other").status == 400


# --------------------------------------------------------------------------- OAuth: /oauth/token


def test_code_is_single_use_and_reuse_revokes(fake: FakeSoundCloud) -> None:
    code, verifier, tokens = login(fake)
    again = exchange(fake, code, verifier)
    assert again.status == 400 and again.json()["error"] == "invalid_grant"
    assert call(f"{fake.api_url}/me", token=tokens["access_token"]).status == 401
    assert refresh(fake, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_code_expires_by_the_injected_clock(timed: FakeSoundCloud, clock: Clock) -> None:
    verifier, challenge = pkce_pair()
    location = authorize(timed, code_challenge=challenge).headers["location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    clock.now += 61
    reply = exchange(timed, code, verifier)
    assert reply.status == 400 and reply.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "overrides, status, error",
    [
        ({"code_verifier": "w" * 43}, 400, "invalid_grant"),
        ({"code_verifier": "<omit>"}, 400, "invalid_request"),
        ({"redirect_uri": "http://127.0.0.1:8765/other"}, 400, "invalid_grant"),
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "someone-else"}, 401, "invalid_client"),
        ({"code": "made-up"}, 400, "invalid_grant"),
    ],
    ids=["wrong-verifier", "no-verifier", "other-redirect", "wrong-secret", "other-client", "unknown-code"],
)
def test_code_exchange_rejections(
    fake: FakeSoundCloud, overrides: Dict[str, str], status: int, error: str
) -> None:
    verifier, challenge = pkce_pair()
    code = parse_qs(urlsplit(authorize(fake, code_challenge=challenge).headers["location"]).query)["code"][0]
    reply = exchange(fake, code, verifier, **overrides)
    assert reply.status == status and reply.json()["error"] == error
    assert reply.json()["error_description"]
    assert fake.tokens_issued == 0


def test_public_client_without_secret_unless_required(fake: FakeSoundCloud) -> None:
    verifier, challenge = pkce_pair()
    code = parse_qs(urlsplit(authorize(fake, code_challenge=challenge).headers["location"]).query)["code"][0]
    assert exchange(fake, code, verifier, client_secret="<omit>").status == 200
    with FakeSoundCloud(tracks=0, require_secret=True) as strict:
        verifier, challenge = pkce_pair()
        location = authorize(strict, code_challenge=challenge).headers["location"]
        code = parse_qs(urlsplit(location).query)["code"][0]
        reply = exchange(strict, code, verifier, client_secret="<omit>")
        assert reply.status == 401 and reply.json()["error"] == "invalid_client"


def test_refresh_rotates_and_old_token_is_dead(fake: FakeSoundCloud) -> None:
    _, _, tokens = login(fake)
    first = refresh(fake, tokens["refresh_token"])
    assert first.status == 200 and first.headers["cache-control"] == "no-store"
    rotated = first.json()
    assert rotated["refresh_token"] != tokens["refresh_token"]
    assert rotated["access_token"] != tokens["access_token"]
    reused = refresh(fake, tokens["refresh_token"])
    assert reused.status == 400
    assert reused.json()["error"] == "invalid_grant" and reused.json()["error_description"]
    assert refresh(fake, rotated["refresh_token"]).status == 200
    assert fake.refresh_tokens_used == 2
    assert call(f"{fake.api_url}/me", token=rotated["access_token"]).status == 200


def test_client_credentials_only_with_basic(fake: FakeSoundCloud) -> None:
    url = f"{fake.auth_url}/oauth/token"
    ok = form(url, {"grant_type": "client_credentials"}, headers=basic(fake.client_id, fake.client_secret))
    assert ok.status == 200 and ok.headers["cache-control"] == "no-store"
    app_token = ok.json()["access_token"]
    assert call(f"{fake.api_url}/tracks/293", token=app_token).status == 200
    assert call(f"{fake.api_url}/me", token=app_token).status == 401
    in_body = form(
        url, {"grant_type": "client_credentials", "client_id": fake.client_id, "client_secret": fake.client_secret}
    )
    assert in_body.status == 401 and in_body.json()["error"] == "invalid_client"
    both = form(
        url, {"grant_type": "client_credentials", "client_id": fake.client_id},
        headers=basic(fake.client_id, fake.client_secret),
    )  # fmt: skip
    assert both.status == 401
    wrong = form(url, {"grant_type": "client_credentials"}, headers=basic(fake.client_id, "nope"))
    assert wrong.status == 401 and "www-authenticate" in wrong.headers
    assert fake.grant_counts == {"client_credentials": 1}


def test_client_credentials_rate_limit_per_window() -> None:
    clock = Clock()
    with FakeSoundCloud(tracks=0, token_rate_limit=2, clock=clock) as sc:
        url = f"{sc.auth_url}/oauth/token"
        auth = basic(sc.client_id, sc.client_secret)
        statuses = [form(url, {"grant_type": "client_credentials"}, headers=auth).status for _ in range(3)]
        assert statuses == [200, 200, 429]
        limited = form(url, {"grant_type": "client_credentials"}, headers=auth)
        assert limited.json() == {"error": "rate_limit_exceeded"}
        assert sc.tokens_issued == 2
        clock.now += 12 * 3600 + 1
        assert form(url, {"grant_type": "client_credentials"}, headers=auth).status == 200


@pytest.mark.parametrize(
    "fields, status, error",
    [
        ({"grant_type": "password", "username": "u", "password": "p"}, 400, "unsupported_grant_type"),
        ({"grant_type": "urn:ietf:params:oauth:grant-type:device_code"}, 400, "unsupported_grant_type"),
        ({}, 400, "invalid_request"),
        ({"grant_type": "refresh_token", "client_id": "nobody", "refresh_token": "x"}, 401, "invalid_client"),
    ],
    ids=["password", "unknown-grant", "no-grant", "unknown-client"],
)
def test_token_endpoint_rejections(fake: FakeSoundCloud, fields: Dict[str, str], status: int, error: str) -> None:
    reply = form(f"{fake.auth_url}/oauth/token", fields)
    assert reply.status == status and reply.json()["error"] == error


def test_token_endpoint_wants_form_encoding_once(fake: FakeSoundCloud) -> None:
    url = f"{fake.auth_url}/oauth/token"
    as_json = call(url, "POST", headers={"Content-Type": "application/json"}, body=b'{"grant_type":"client_credentials"}')
    assert as_json.status == 400 and as_json.json()["error"] == "invalid_request"
    repeated = call(
        url, "POST", headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=b"grant_type=refresh_token&grant_type=refresh_token",
    )  # fmt: skip
    assert repeated.status == 400 and repeated.json()["error"] == "invalid_request"
    assert call(url).status == 405


def test_sign_out_revokes_access_and_refresh(fake: FakeSoundCloud) -> None:
    _, _, tokens = login(fake)
    body = json.dumps({"access_token": tokens["access_token"]}).encode()
    out = call(f"{fake.auth_url}/sign-out", "POST", headers={"Content-Type": "application/json"}, body=body)
    assert out.status == 200
    assert call(f"{fake.api_url}/me", token=tokens["access_token"]).status == 401
    assert refresh(fake, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert call(f"{fake.auth_url}/sign-out", "POST", body=b"nope").status == 400


def test_issue_token_response_refreshes_like_the_endpoint(fake: FakeSoundCloud) -> None:
    tokens = fake.issue_token_response()
    assert call(f"{fake.api_url}/me", token=tokens["access_token"]).status == 200
    assert refresh(fake, tokens["refresh_token"]).status == 200
    assert fake.tokens_issued == 1  # the refresh, not the minting


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


def test_secrets_never_reach_the_output(fake: FakeSoundCloud, capfd: pytest.CaptureFixture[str]) -> None:
    _, _, tokens = login(fake)
    refresh(fake, tokens["refresh_token"])
    call(f"{fake.api_url}/me", token=tokens["access_token"])
    captured = capfd.readouterr()
    for secret in (tokens["access_token"], tokens["refresh_token"], fake.client_secret):
        assert secret not in captured.out and secret not in captured.err


def test_seeding_options() -> None:
    with FakeSoundCloud(tracks=[{"title": "Only one", "genre": "Folk"}], user={"username": "alice", "id": 77}) as sc:
        token = sc.issue_token()
        me = call(f"{sc.api_url}/me", token=token).json()
        assert (me["id"], me["username"]) == (77, "alice")
        listed = call(f"{sc.api_url}/tracks", token=token).json()
        assert [(t["id"], t["title"]) for t in listed] == [(1, "Only one"), (293, "Flickermood")]
        added = sc.add_track(title="Later", user_id=183)
        assert call(f"{sc.api_url}/tracks/{added['id']}", token=token).json()["user"]["username"] == "forss"


def test_secondary_lists_and_searches(fake: FakeSoundCloud, token: str) -> None:
    call(f"{fake.api_url}/likes/tracks/1", "POST", token=token)
    favoriters = call(f"{fake.api_url}/tracks/1/favoriters", token=token).json()
    assert [u["id"] for u in favoriters] == [fake.user_id]
    followers = call(f"{fake.api_url}/users/2001/followers", token=token).json()
    assert [u["id"] for u in followers] == [fake.user_id]
    assert call(f"{fake.api_url}/me/followers", token=token).json() == []
    assert len(call(f"{fake.api_url}/me/followings?limit=200", token=token).json()) == 60
    found = call(f"{fake.api_url}/users?q=forss", token=token).json()
    assert [u["username"] for u in found] == ["forss"]
    mine = call(f"{fake.api_url}/me/playlists", token=token).json()
    assert [p["id"] for p in mine] == [1]
    lean = call(f"{fake.api_url}/users/{fake.user_id}/playlists?show_tracks=false", token=token).json()
    assert "tracks" not in lean[0]
    assert [p["title"] for p in call(f"{fake.api_url}/playlists?q=test", token=token).json()] == ["Test Playlist"]
    oldest = call(f"{fake.api_url}/me/tracks?sort=asc&limit=1", token=token).json()
    newest = call(f"{fake.api_url}/me/tracks?limit=1", token=token).json()
    assert oldest[0]["created_at"] < newest[0]["created_at"]


def test_update_playlist(fake: FakeSoundCloud, token: str) -> None:
    body = json.dumps({"playlist": {"title": "Renamed", "tracks": [{"urn": "soundcloud:tracks:3"}]}}).encode()
    reply = call(f"{fake.api_url}/playlists/1", "PUT", token=token, headers={"Content-Type": "application/json"}, body=body)
    assert reply.status == 200
    assert reply.json()["title"] == "Renamed" and [t["id"] for t in reply.json()["tracks"]] == [3]
    emptied = json.dumps({"playlist": {"tracks": []}}).encode()
    reply = call(f"{fake.api_url}/playlists/1", "PUT", token=token, headers={"Content-Type": "application/json"}, body=emptied)
    assert reply.json()["track_count"] == 0
    unknown = json.dumps({"playlist": {"tracks": [{"urn": "soundcloud:tracks:99999"}]}}).encode()
    bad = call(f"{fake.api_url}/playlists/1", "PUT", token=token, headers={"Content-Type": "application/json"}, body=unknown)
    assert bad.status == 422


def test_download_redirect_only_when_downloadable(fake: FakeSoundCloud, token: str) -> None:
    assert call(f"{fake.api_url}/tracks/1/download", token=token).status == 404
    track = fake.add_track(title="Free download", downloadable=True)
    assert track["download_url"] == f"{fake.api_url}/tracks/{track['id']}/download"
    reply = call(track["download_url"], token=token)
    assert reply.status == 302 and reply.headers["location"].startswith(f"{fake.cdn_url}/media/")


def test_refresh_with_basic_and_mixed_client_authentication(fake: FakeSoundCloud) -> None:
    _, _, tokens = login(fake)
    url = f"{fake.auth_url}/oauth/token"
    auth = basic(fake.client_id, fake.client_secret)
    mixed = form(url, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                       "client_secret": fake.client_secret}, headers=auth)  # fmt: skip
    assert mixed.status == 400 and mixed.json()["error"] == "invalid_request"
    by_basic = form(url, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, headers=auth)
    assert by_basic.status == 200
    # A stray bearer token on the token endpoint is not client authentication; body credentials count.
    stray = {"Authorization": f"OAuth {by_basic.json()['access_token']}"}
    fields = {"grant_type": "refresh_token", "refresh_token": by_basic.json()["refresh_token"],
              "client_id": fake.client_id, "client_secret": fake.client_secret}  # fmt: skip
    assert form(url, fields, headers=stray).status == 200
    app = form(url, {"grant_type": "client_credentials"}, headers=stray)
    assert app.status == 401 and app.json()["error"] == "invalid_client"


def test_secret_in_the_url_is_refused(fake: FakeSoundCloud) -> None:
    reply = form(f"{fake.auth_url}/oauth/token?client_secret={fake.client_secret}", {"grant_type": "client_credentials"})
    assert reply.status == 400 and reply.json()["error"] == "invalid_request"


def test_expect_continue_and_large_upload(fake: FakeSoundCloud, token: str) -> None:
    data = fake.media_bytes(1) * 4  # 4 MiB of binary
    values = {"track[title]": "Big one"}
    ctype, body = multipart(values, {"track[asset_data]": ("big.mp3", "application/octet-stream", data)})
    reply = call(
        f"{fake.api_url}/tracks", "POST", token=token,
        headers={"Content-Type": ctype, "Expect": "100-continue"}, body=body,
    )  # fmt: skip
    assert reply.status == 201
    assert fake.uploads[-1].files["track[asset_data]"].data == data
    assert call(fake.media_url(reply.json()["id"]), headers={"Range": "bytes=-3"}).body == data[-3:]


def test_other_origins_answer_in_their_own_dialect(fake: FakeSoundCloud) -> None:
    auth = call(f"{fake.auth_url}/nothing")
    assert auth.status == 404 and auth.json()["error"] == "invalid_request"
    cdn = call(f"{fake.cdn_url}/nothing")
    assert cdn.status == 404 and cdn.body.startswith(b"<?xml")


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


def test_settings_apply_to_a_running_server(fake: FakeSoundCloud) -> None:
    fake.expires_in = 5
    assert fake.issue_token_response()["expires_in"] == 5
    fake.token_rate_limit = 0
    url = f"{fake.auth_url}/oauth/token"
    assert form(url, {"grant_type": "client_credentials"}, headers=basic(fake.client_id, fake.client_secret)).status == 429
