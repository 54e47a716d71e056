"""How the fake SoundCloud reads requests, on every route, over real sockets: any method
reaches the routing (405 with Allow and a JSON body on a known path, never http.server's
HTML 501), http.server's own refusals answer JSON too, the searches' comma-separated and
deepObject filters work and unknown parameters are ignored, write bodies are taken only in
the media types the spec lists (422 otherwise), and no garbage input - non-ASCII or huge
ids, broken query values, broken bodies - ever gets a 5xx.
"""

from __future__ import annotations

import json
import re
import socket
from typing import Any, Dict, Iterator, List, Tuple
from urllib.parse import quote, urlsplit

import pytest

from support.fake_calls import CALL_TIMEOUT, assert_api_error, call

from soundcloud.testing import FakeSoundCloud

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def raw_exchange(url: str, head: bytes) -> Tuple[int, Dict[str, str], bytes]:
    """Send ``head`` as it is (request line and headers) and read one answer to the close."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=CALL_TIMEOUT) as sock:
        sock.sendall(head)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    top, _, body = data.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def ids(items: List[Dict[str, Any]]) -> List[int]:
    return [item["id"] for item in items]


# --------------------------------------------------------------------------- methods


@pytest.mark.parametrize("method", ["BREW", "PROPFIND", "TRACE", "CONNECT", "PATCH", "OPTIONS"])
def test_any_method_on_a_known_path_is_405_with_allow_and_json(fake: FakeSoundCloud, token: str, method: str) -> None:
    reply = call(f"{fake.api_url}/tracks/293", method, token=token)
    assert_api_error(reply, 405, "405 - Method Not Allowed")
    assert set(reply.headers["allow"].split(", ")) == {"DELETE", "GET", "PUT"}
    comments = call(f"{fake.api_url}/tracks/293/comments", method, token=token)
    assert comments.status == 405 and set(comments.headers["allow"].split(", ")) == {"GET", "POST"}


def test_unknown_method_on_other_origins_and_unknown_paths(fake: FakeSoundCloud, token: str) -> None:
    assert_api_error(call(f"{fake.api_url}/no/such/thing", "BREW", token=token), 404, "404 - Not Found")
    sign_out = call(f"{fake.auth_url}/sign-out", "BREW")
    assert sign_out.status == 405 and sign_out.headers["allow"] == "POST"
    assert sign_out.headers["content-type"] == "application/json; charset=utf-8"


def test_http_server_refusals_are_json_without_the_request_line(fake: FakeSoundCloud) -> None:
    secret = "s3cr3t-token-value"
    for head, status in [
        (f"G(T /tracks?oauth_token={secret} HTTP/1.1\r\nHost: x\r\n\r\n", 400),  # a method is a token
        (f"GET /tracks?oauth_token={secret} HTTP/1.x\r\nHost: x\r\n\r\n", 400),  # no such version
        ("GET /" + "a" * 70000 + f"?oauth_token={secret} HTTP/1.1\r\n\r\n", 414),
    ]:
        code, headers, body = raw_exchange(fake.api_url, head.encode())
        assert code == status and headers["content-type"] == "application/json; charset=utf-8"
        payload = json.loads(body)
        assert payload["code"] == status and payload["error"] is None
        assert secret not in body.decode() and "G(T" not in body.decode()


# --------------------------------------------------------------------------- garbage never 5xx


GARBAGE_IDS = ["caf\u00e9", "\u00b2", "\u2460", "\u0661\u0662", "9" * 5000, "soundcloud:tracks:\u00b2",
               "soundcloud:tracks:" + "9" * 5000, "soundcloud:users:1:2", "%00", "..", "-1", "1e3"]  # fmt: skip


def test_non_ascii_and_oversized_ids_are_4xx_everywhere(fake: FakeSoundCloud, token: str) -> None:
    templates = ["/tracks/{}", "/tracks/{}/comments", "/tracks/{}/related", "/tracks/{}/preview", "/users/{}",
                 "/users/{}/web-profiles", "/users/1/followings/{}", "/playlists/{}/reposters", "/apps/{}",
                 "/me/followings/{}", "/likes/playlists/{}", "/reposts/tracks/{}"]  # fmt: skip
    for template in templates:
        for raw in GARBAGE_IDS:
            url = fake.api_url + template.format(quote(raw, safe=":"))
            for method in ("GET", "POST", "DELETE"):
                reply = call(url, method, token=token)
                assert 400 <= reply.status < 500, (method, url[:120], reply.status, reply.body[:200])
    assert call(f"{fake.api_url}/tracks/{'9' * 5000}", token=token).status == 422  # an id to send as URN
    raw = f"GET /tracks/\u00b2 HTTP/1.1\r\nAuthorization: OAuth {token}\r\nConnection: close\r\n\r\n"
    assert raw_exchange(fake.api_url, raw.encode("utf-8"))[0] == 404  # raw UTF-8 in the path


def test_garbage_query_values_are_4xx_or_ignored(fake: FakeSoundCloud, token: str) -> None:
    values = ["\u00b2", "9" * 5000, "-1", "", "%ff", "\x00", "nan", "[]", "1,2", "soundcloud:tracks:\u00b2"]
    paths = ["/tracks", "/users", "/playlists", "/tracks/1/comments", "/tracks/1/related", "/users/1/tracks",
             "/users/1/followings", "/users/1/related", "/tracks/293/reposters", "/me/likes/tracks", "/_test/bytes",
             "/_test/redirect", "/resolve"]  # fmt: skip
    names = ["limit", "offset", "cursor", "page_size", "linked_partitioning", "access", "urns", "ids", "genres",
             "tags", "bpm[from]", "duration[to]", "created_at[from]", "show_tracks", "sort", "n", "code", "fail",
             "url", "q"]  # fmt: skip
    for path in paths:
        for name in names:
            for value in values:
                url = f"{fake.api_url}{path}?{quote(name)}={quote(value)}"
                reply = call(url, token=token)
                assert reply.status < 500, (url[:150], reply.status, reply.body[:200])
    for target in ["http://[::1", "https://soundcloud.com/\u00b2", "x" * 5000, "https://soundcloud.com/forss/" + "x" * 5000]:
        assert call(f"{fake.api_url}/resolve?url={quote(target)}", token=token).status == 404


def bodies() -> Iterator[Tuple[str, bytes]]:
    nested = b"[" * 5000 + b"]" * 5000
    yield "application/json", b'{"broken": '
    yield "application/json", nested
    yield "application/json", b'{"a":' * 60 + b"1" + b"}" * 60
    yield "application/json", b'{"comment": {"body": "x", "timestamp": NaN}}'
    yield "application/json", b'{"comment": {"body": "x", "timestamp": 1e999}}'
    yield "application/json", b'{"comment": {"body": "x", "timestamp": ' + b"9" * 5000 + b"}}"
    yield "application/json", b'{"playlist": {"title": "x", "tracks": [{"urn": "soundcloud:tracks:\\u00b2"}]}}'
    yield "application/json", b'{"track": {"bpm": "fast", "title": "\\ud800"}}'
    yield "application/json", b"\xff\xfe"
    yield "application/json", b'"just a string"'
    yield "application/x-www-form-urlencoded", b"\xff=\xfe&playlist[tracks][][urn]=\xc2\xb2"
    yield "multipart/form-data; boundary=x", b"--x\r\nno headers\r\n--x--"
    yield "multipart/form-data", b"no boundary at all"
    yield "text/plain", b"hello"
    yield "", b"\x00\x01"


def test_garbage_bodies_are_4xx_on_every_write(fake: FakeSoundCloud, token: str) -> None:
    writes = [("POST", "/tracks"), ("PUT", "/tracks/1"), ("POST", "/tracks/1/comments"), ("PUT", "/tracks/1/storefront"),
              ("POST", "/playlists"), ("PUT", "/playlists/1"), ("PUT", "/me"), ("PUT", "/me/followings/2001")]  # fmt: skip
    for method, path in writes:
        for ctype, body in bodies():
            headers = {"Content-Type": ctype} if ctype else {}
            reply = call(fake.api_url + path, method, token=token, headers=headers, body=body)
            assert reply.status < 500, (method, path, ctype, body[:40], reply.status, reply.body[:200])
            if path == "/tracks/1/comments":  # none of them is a comment
                assert reply.status == 422, (method, path, ctype, body[:40], reply.status)


# --------------------------------------------------------------------------- write bodies


def test_json_only_operations_refuse_form_and_multipart_with_422(fake: FakeSoundCloud, token: str) -> None:
    for path, form in [("/playlists/1", b"playlist[title]=x"), ("/tracks/1/storefront", b"title=x")]:
        reply = call(fake.api_url + path, "PUT", token=token, headers=FORM, body=form)
        assert assert_api_error(reply, 422, "422 - Unprocessable Entity")["errors"][0]["error_message"] == (
            "Could not parse JSON request body."
        )
    assert call(f"{fake.api_url}/playlists/1", token=token).json()["title"] == "Test Playlist"  # unchanged
    # POST /playlists takes JSON or multipart, not the form encoding.
    form_post = call(f"{fake.api_url}/playlists", "POST", token=token, headers=FORM, body=b"playlist[title]=x")
    assert form_post.status == 422
    json_post = call(
        f"{fake.api_url}/playlists", "POST", token=token, headers=JSON, body=b'{"playlist": {"title": "x"}}'
    )
    assert json_post.status == 201


def test_track_writes_take_the_media_types_the_spec_lists(fake: FakeSoundCloud, token: str) -> None:
    url = f"{fake.api_url}/tracks/1"
    assert call(url, "PUT", token=token, headers=FORM, body=b"track[title]=Form").json()["title"] == "Form"
    assert call(url, "PUT", token=token, headers=JSON, body=b'{"track": {"title": "Json"}}').json()["title"] == "Json"
    assert call(url, "PUT", token=token, headers={"Content-Type": "text/plain"}, body=b"x").status == 422
    # POST /tracks: multipart or form, never JSON (a file cannot travel in it).
    upload = call(f"{fake.api_url}/tracks", "POST", token=token, headers=JSON, body=b'{"track": {"title": "x"}}')
    assert "multipart/form-data" in assert_api_error(upload, 422, "422 - Unprocessable Entity")["errors"][0]["error_message"]


def test_missing_required_values(fake: FakeSoundCloud, token: str) -> None:
    assert_api_error(call(f"{fake.api_url}/resolve", token=token), 400, "400 - Bad Request")
    empty = call(f"{fake.api_url}/tracks/1/comments", "POST", token=token, headers=JSON)
    assert empty.json()["errors"][0]["error_message"] == "Parameter comment is missing."


# --------------------------------------------------------------------------- filters


def test_comma_separated_filters(fake: FakeSoundCloud, token: str) -> None:
    urns = call(f"{fake.api_url}/tracks?urns=soundcloud:tracks:293,soundcloud:tracks:2", token=token).json()
    assert ids(urns) == [2, 293]
    assert ids(call(f"{fake.api_url}/tracks?ids=3,soundcloud:tracks:4", token=token).json()) == [3, 4]
    genres = call(f"{fake.api_url}/tracks?genres=Techno,jazz%20%26%20blues&limit=200", token=token).json()
    assert {t["genre"] for t in genres} == {"Techno", "Jazz & Blues"}
    tagged = call(f"{fake.api_url}/tracks?tags=echoes,flickermood&limit=200", token=token).json()
    assert 293 in ids(tagged) and all({"echoes", "flickermood"} & set(t["tag_list"].split()) for t in tagged)
    users = call(f"{fake.api_url}/users?urns=soundcloud:users:183,soundcloud:users:123", token=token).json()
    assert sorted(ids(users)) == [123, 183]
    assert call(f"{fake.api_url}/tracks?urns=soundcloud:users:1", token=token).status == 400  # not a track


def test_quoted_tags_match_as_one(fake: FakeSoundCloud, token: str) -> None:
    track = fake.add_track(title="Tagged", tag_list='"Hip Hop" boom-bap')
    assert ids(call(f"{fake.api_url}/tracks?tags=hip%20hop", token=token).json()) == [track["id"]]
    assert call(f"{fake.api_url}/tracks?tags=hip", token=token).json() == []


def test_unknown_and_repeated_parameters_are_ignored(fake: FakeSoundCloud, token: str) -> None:
    everything = ids(call(f"{fake.api_url}/tracks?limit=200", token=token).json())
    for query in ["urns[]=soundcloud:tracks:1", "urns=soundcloud:tracks:1&urns=soundcloud:tracks:2",
                  "genres[]=Techno", "bpm=120", "colour=blue", "urns%5B%5D=soundcloud:tracks:1"]:  # fmt: skip
        assert ids(call(f"{fake.api_url}/tracks?limit=200&{query}", token=token).json()) == everything, query
    assert len(call(f"{fake.api_url}/users?urns[]=soundcloud:users:183&limit=200", token=token).json()) > 1


def test_deep_object_ranges(fake: FakeSoundCloud, token: str) -> None:
    tracks = call(f"{fake.api_url}/tracks?bpm[from]=100&bpm[to]=102&limit=200", token=token).json()
    assert tracks and all(100 <= t["bpm"] <= 102 for t in tracks)
    assert 293 not in ids(tracks)  # no bpm: outside every bpm range
    short = call(f"{fake.api_url}/tracks?duration%5Bto%5D=70000&limit=200", token=token).json()
    assert short and all(t["duration"] <= 70000 for t in short)
    day = call(
        f"{fake.api_url}/tracks?created_at[from]=2019-01-02%2000:00:00&created_at[to]=2019-01-03&limit=200", token=token
    ).json()
    assert day and all(t["created_at"].startswith("2019/01/02") for t in day)
    assert len(day) == 3  # the seed posts a track every 7 hours: 04:00, 11:00, 18:00
    for bad in ["bpm[from]=fast", "bpm[to]=%C2%B2", "duration[from]=" + "9" * 5000, "created_at[from]=yesterday"]:
        reply = call(f"{fake.api_url}/tracks?{bad}", token=token)
        assert re.search(r"(bpm|duration|created_at)\[(from|to)\]", assert_api_error(reply, 400, "400 - Bad Request")[
            "errors"][0]["error_message"])  # fmt: skip


def test_access_filter(fake: FakeSoundCloud, token: str) -> None:
    blocked = fake.add_track(title="Blocked", access="blocked")
    preview = fake.add_track(title="Preview", access="preview")
    default = ids(call(f"{fake.api_url}/tracks?limit=200&q=blocked%20preview", token=token).json())
    listed = ids(call(f"{fake.api_url}/tracks?q=preview", token=token).json())
    assert preview["id"] in listed and blocked["id"] not in ids(call(f"{fake.api_url}/tracks?q=blocked", token=token).json())
    assert default == []
    only_blocked = call(f"{fake.api_url}/tracks?access=blocked&limit=200", token=token).json()
    assert ids(only_blocked) == [blocked["id"]]
    assert ids(call(f"{fake.api_url}/tracks?access=playable&q=preview", token=token).json()) == []
    # Values that are not access levels are ignored; naming none at all is the default.
    assert preview["id"] in ids(call(f"{fake.api_url}/tracks?access=bogus&q=preview", token=token).json())
    playlist = call(f"{fake.api_url}/playlists?q=test&access=blocked", token=token).json()
    assert playlist[0]["tracks"] == [] and playlist[0]["track_count"] == 5



def test_track_updates_keep_fields_the_spec_never_nulls(fake: FakeSoundCloud, token: str) -> None:
    # Found by the fuzzer: an empty track[embeddable_by] was stored as null, which the Track
    # schema does not allow (the field is a string: all, me or none).
    url = f"{fake.api_url}/tracks/soundcloud:tracks:1"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for field in ("track[embeddable_by]=", "track[embeddable_by]=anyone", "track[permalink]=+"):
        reply = call(url, "PUT", headers=headers, body=field.encode(), token=token)
        assert_api_error(reply, 422, "422 - Unprocessable Entity")
    reply = call(url, "PUT", headers=headers, body=b"track[embeddable_by]=me", token=token)
    assert reply.status == 200 and reply.json()["embeddable_by"] == "me"
