"""The generic verbs send what SoundCloud's operation table defines, seen on the wire of a
loopback server that records every request: comma-separated query lists (``urns=a,b``, not
``urns[]=a&urns[]=b``, which SoundCloud ignores), deepObject ranges, ``key[]`` kept for form
bodies and for parameters the table does not know, a JSON body where the operation takes
only JSON (comments, playlist updates) with ``json=`` and ``data=`` forcing either body, and
numeric ids turned into URNs where the path takes only URNs."""

from __future__ import annotations

import io
import json
from typing import Iterator, List
from urllib.parse import parse_qsl

import pytest

import soundcloud

from support.clients import TIMEOUT, opened
from support.request_server import FaultContext, RequestServer
from support.wire import WireRequest

URN_1 = "soundcloud:tracks:1"
URN_2 = "soundcloud:tracks:2"


@pytest.fixture
def api() -> Iterator[RequestServer]:
    """An API that answers every request 200 ``{"ok": true}`` and records what came."""
    with RequestServer(lambda ctx: ctx.respond_json(200, {"ok": True})) as server:
        yield server


def client_of(server: RequestServer) -> soundcloud.Client:
    return opened(soundcloud.Client(access_token="t0ken", api_url=server.url, timeout=TIMEOUT))


def query_of(request: WireRequest) -> str:
    return request.target.partition("?")[2]


def only(server: RequestServer) -> WireRequest:
    requests = server.requests
    assert len(requests) == 1, [r.target for r in requests]
    return requests[0]


# -- query lists and ranges ------------------------------------------------------------------


def test_urns_go_comma_separated(api: RequestServer) -> None:
    client_of(api).get("/tracks", urns=[URN_1, URN_2])
    # Each item percent-encoded, the comma literal (OpenAPI style form, explode false).
    assert query_of(only(api)) == "urns=soundcloud%3Atracks%3A1,soundcloud%3Atracks%3A2"
    assert only(api).query == {"urns": [URN_1 + "," + URN_2]}


def test_every_comma_list_of_the_table(api: RequestServer) -> None:
    client = client_of(api)
    client.get("/tracks", genres=("Pop", "House"), tags=["a b", "c,d", True], access=["playable", "preview"])
    assert query_of(api.requests[0]) == "genres=Pop,House&tags=a%20b,c%2Cd,true&access=playable,preview"
    client.get("/users", urns=["soundcloud:users:1", None, 2])  # None dropped, ints as text
    assert api.requests[1].query == {"urns": ["soundcloud:users:1,2"]}
    client.get("/me/likes/tracks", access=["blocked"], limit=5)
    assert query_of(api.requests[2]) == "access=blocked&limit=5"
    client.head("/tracks", urns=[URN_1, URN_2])
    assert api.requests[3].query == {"urns": [URN_1 + "," + URN_2]}


def test_an_empty_comma_list_sends_nothing(api: RequestServer) -> None:
    client_of(api).get("/tracks", q="x", urns=[], genres=[None])
    assert query_of(only(api)) == "q=x"


def test_a_comma_list_keeps_the_callers_order(api: RequestServer) -> None:
    client_of(api).get("/tracks", q="a", urns=[URN_1], limit=3, bpm={"from": 1})
    assert [name for name, _ in parse_qsl(query_of(only(api)))] == ["q", "urns", "limit", "bpm[from]"]


def test_a_comma_list_refuses_nested_items(api: RequestServer) -> None:
    with pytest.raises(TypeError, match="'urns' is sent comma-separated"):
        client_of(api).get("/tracks", urns=[[URN_1]])
    assert api.requests == []


def test_deep_object_ranges(api: RequestServer) -> None:
    client_of(api).get("/tracks", bpm={"from": 100, "to": 120}, duration={"from": 1000},
                       created_at={"from": "2020-12-24 00:00:00"})
    assert parse_qsl(query_of(only(api))) == [
        ("bpm[from]", "100"), ("bpm[to]", "120"), ("duration[from]", "1000"),
        ("created_at[from]", "2020-12-24 00:00:00"),
    ]


def test_lists_the_table_does_not_know_keep_brackets(api: RequestServer) -> None:
    client = client_of(api)
    client.get("/tracks", ids=[1, 2])  # not a parameter of GET /tracks in the table
    client.get("/somewhere/unknown", urns=[URN_1, URN_2])  # not a path of the table
    assert parse_qsl(query_of(api.requests[0])) == [("ids[]", "1"), ("ids[]", "2")]
    assert parse_qsl(query_of(api.requests[1])) == [("urns[]", URN_1), ("urns[]", URN_2)]


def test_a_comma_list_on_an_absolute_api_url(api: RequestServer) -> None:
    client_of(api).get(api.url + "/tracks?q=x", urns=[URN_1, URN_2])
    assert query_of(only(api)) == "q=x&urns=soundcloud%3Atracks%3A1,soundcloud%3Atracks%3A2"


# -- bodies ----------------------------------------------------------------------------------


def test_a_comment_goes_as_json(api: RequestServer) -> None:
    client_of(api).post("/tracks/soundcloud:tracks:123/comments", comment={"body": "nice", "timestamp": 1200})
    request = only(api)
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == {"comment": {"body": "nice", "timestamp": 1200}}
    assert request.headers["content-length"] == str(len(request.body))


def test_a_playlist_update_goes_as_json(api: RequestServer) -> None:
    playlist = {"title": "t", "tracks": [{"urn": URN_1}, {"urn": URN_2}], "description": None, "public": True}
    client_of(api).put("/playlists/soundcloud:playlists:1", playlist=playlist)
    request = only(api)
    assert request.method == "PUT" and request.headers["content-type"] == "application/json"
    # The same values a form body would carry: None dropped, booleans as JSON booleans.
    assert json.loads(request.body) == {
        "playlist": {"title": "t", "tracks": [{"urn": URN_1}, {"urn": URN_2}], "public": True}
    }


def test_json_only_refuses_a_file_and_names_data(api: RequestServer) -> None:
    with pytest.raises(TypeError, match="data="):
        client_of(api).put("/playlists/1", playlist={"artwork_data": io.BytesIO(b"png")})
    assert api.requests == []


def test_data_forces_a_form_body(api: RequestServer) -> None:
    client_of(api).post("/tracks/1/comments", data={"comment": {"body": "nice", "timestamp": 1200}})
    request = only(api)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qsl(request.body.decode()) == [("comment[body]", "nice"), ("comment[timestamp]", "1200")]


def test_data_with_a_file_is_multipart(api: RequestServer) -> None:
    client_of(api).put("/playlists/1", data={"playlist": {"title": "t", "artwork_data": ("a.png", b"PNG")}})
    request = only(api)
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="playlist[artwork_data]"; filename="a.png"' in request.body


def test_json_forces_a_json_body_where_a_form_is_the_default(api: RequestServer) -> None:
    client_of(api).put("/tracks/1", json={"track": {"title": "x"}})
    assert json.loads(only(api).body) == {"track": {"title": "x"}}


def test_json_where_no_plain_form_is_taken_and_forms_keep_nested_brackets(api: RequestServer) -> None:
    # POST /playlists takes JSON or multipart, no plain form: without a file the parameters go as JSON.
    playlist = {"title": "t", "tracks": [{"urn": URN_1}, {"urn": URN_2}]}
    client_of(api).post("/playlists", playlist=playlist)
    request = only(api)
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == {"playlist": playlist}
    # A form forced with data= keeps the nested key[] names SoundCloud's forms use.
    api.clear()
    client_of(api).post("/playlists", data={"playlist": playlist})
    request = only(api)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qsl(request.body.decode()) == [
        ("playlist[title]", "t"), ("playlist[tracks][][urn]", URN_1), ("playlist[tracks][][urn]", URN_2),
    ]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda c: c.post("/tracks/1/comments", data={"a": 1}, comment={"body": "x"}), "data= or form"),
        (lambda c: c.post("/tracks/1/comments", data={"a": 1}, json={"a": 1}), "json= or form"),
        (lambda c: c.put("/me", data="user[description]=x"), "mapping"),
    ],
)
def test_body_options_refuse_ambiguity(api: RequestServer, call: object, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        call(client_of(api))  # type: ignore[operator]
    assert api.requests == []


# -- URNs in paths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path, sent",
    [
        ("GET", "/tracks/123", "/tracks/soundcloud:tracks:123"),
        ("POST", "/tracks/123/comments", "/tracks/soundcloud:tracks:123/comments"),
        ("GET", "tracks/123/comments/", "/tracks/soundcloud:tracks:123/comments"),
        ("PUT", "/me/followings/7", "/me/followings/soundcloud:users:7"),
        ("GET", "/me/followers/7", "/me/followers/soundcloud:users:7"),
        ("GET", "/users/5/followings/6", "/users/soundcloud:users:5/followings/soundcloud:users:6"),
        ("DELETE", "/likes/playlists/9", "/likes/playlists/soundcloud:playlists:9"),
        ("HEAD", "/playlists/9", "/playlists/soundcloud:playlists:9"),  # HEAD is GET's operation
        ("GET", "/tracks/4294967296", "/tracks/soundcloud:tracks:4294967296"),  # above 2**31
        ("GET", "/tracks/soundcloud:tracks:1", "/tracks/soundcloud:tracks:1"),  # already a URN
        ("GET", "/me/followings/tracks", "/me/followings/tracks"),  # a literal, not a user
        ("GET", "/tracks/293/stream", "/tracks/293/stream"),  # not in the table
        ("GET", "/apps/124", "/apps/124"),  # not in the table
    ],
)
def test_numeric_ids_become_urns(api: RequestServer, method: str, path: str, sent: str) -> None:
    client = client_of(api)
    getattr(client, method.lower())(path)
    assert only(api).path == sent and only(api).method == method


def test_urn_path_with_a_query_and_params(api: RequestServer) -> None:
    client_of(api).get("/tracks/12/related?limit=2", access=["playable"])
    assert only(api).target == "/tracks/soundcloud:tracks:12/related?limit=2&access=playable"


def test_urns_only_on_the_api(api: RequestServer) -> None:
    with RequestServer(lambda ctx: ctx.respond_json(200, {})) as elsewhere:
        client_of(api).get(elsewhere.url + "/tracks/12", urns=[URN_1, URN_2])
        request = only(elsewhere)
    # Another origin has no operation table: the path and the list go out as given.
    assert request.path == "/tracks/12"
    assert parse_qsl(query_of(request)) == [("urns[]", URN_1), ("urns[]", URN_2)]


def test_api_url_with_a_path_prefix() -> None:
    seen: List[str] = []

    def answer(ctx: FaultContext) -> bool:
        seen.append(ctx.request.target)
        return ctx.respond_json(200, {})

    with RequestServer(answer) as server:
        client = opened(soundcloud.Client(access_token="t", api_url=server.url + "/v1", timeout=TIMEOUT))
        client.get("/tracks/3/related", access=["preview", "blocked"])
    assert seen == ["/v1/tracks/soundcloud:tracks:3/related?access=preview,blocked"]
