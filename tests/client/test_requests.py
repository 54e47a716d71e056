"""The client's requests against the fake SoundCloud over loopback: the README examples,
construction and its option errors, each verb, parameters in the query or a form or JSON body,
credentials placement (the token in the header, a lone client_id in the query), default headers,
next_href passed straight in, responses wrapped as Resource and ResourceList with metadata,
streams, and errors (status classes, parsed messages, HTML pages, bad JSON, refused
connections, truncated bodies, stalls)."""

from __future__ import annotations

import json
import pickle
import socket
import sys
from typing import Any, Dict
from urllib.parse import parse_qs

import pytest

import soundcloud
from soundcloud import Resource, ResourceList, StreamResponse

from support.clients import TIMEOUT, client_for, last, opened, user_client


# -- the README examples -------------------------------------------------------------------


def test_readme_public_examples(fake: Any) -> None:
    client = client_for(fake, client_id=fake.client_id)
    tracks = client.get("/tracks", limit=10)
    titles = [track.title for track in tracks.collection]
    assert len(titles) == 10 and all(isinstance(t, str) and t for t in titles)
    app = client.get("/apps/124")
    assert app.permalink_url.startswith("http")
    track = client.get("/resolve", url="http://soundcloud.com/forss/flickermood")
    assert isinstance(track.id, int)
    assert track.status_code == 200
    assert "/tracks/" in track.url


def test_readme_user_examples(fake: Any) -> None:
    client = user_client(fake)
    followed = client.put("/me/followings/%d" % 123)
    assert followed.status_code in (200, 201)
    assert last(fake).method == "PUT" and last(fake).path == "/me/followings/soundcloud:users:123"
    client.put("/me", user={"description": "a new description"})
    assert parse_qs(last(fake).body.decode())["user[description]"] == ["a new description"]
    assert client.get("/me").description == "a new description"
    track = client.get("/tracks/293/stream", allow_redirects=False)
    assert track.status_code == 302
    assert track.location.startswith(fake.cdn_url)
    assert not [r for r in fake.requests if r.server == "cdn"]


def test_readme_proxy_example_builds_a_client() -> None:
    client = soundcloud.Client(access_token="...", proxies={"http": "example.com:8000"})
    assert client.api_url == "https://api.soundcloud.com"
    client.close()


# -- construction --------------------------------------------------------------------------


def test_unknown_keyword_is_a_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match="client_idd"):
        soundcloud.Client(client_idd="x")  # type: ignore[call-arg]


def test_credentials_are_required() -> None:
    with pytest.raises(TypeError, match="client_id"):
        soundcloud.Client()


def test_password_flow_raises_deprecation_and_sends_nothing(fake: Any) -> None:
    with pytest.raises(DeprecationWarning, match="Authorization Code"):
        client_for(fake, client_id=fake.client_id, client_secret=fake.client_secret,
                   username="me", password="secret")
    assert fake.requests == []


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({}, "https://api.soundcloud.com"),
        ({"host": "api.example.com", "use_ssl": False}, "http://api.example.com"),
        ({"host": "api.example.com"}, "https://api.example.com"),
        ({"api_url": "http://127.0.0.1:9/"}, "http://127.0.0.1:9"),
    ],
)
def test_api_url_from_options(kwargs: Dict[str, Any], expected: str) -> None:
    client = soundcloud.Client(client_id="x", **kwargs)
    assert client.api_url == expected
    assert client.resolve_url("tracks") == expected + "/tracks"
    assert client.resolve_url("/tracks/") == expected + "/tracks"
    assert client.resolve_url("/tracks/1/comments") == expected + "/tracks/1/comments"
    assert client.resolve_url("https://api.soundcloud.com/x?a=1") == "https://api.soundcloud.com/x?a=1"


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"api_url": "ftp://x"}, ValueError),
        ({"api_url": "https://x", "host": "y"}, TypeError),
        ({"host": "http://x"}, ValueError),
        ({"timeout": -1}, ValueError),
        ({"timeout": "10"}, TypeError),
        ({"max_retries": -1}, ValueError),
        ({"verify_ssl": "/no/such/ca.pem"}, ValueError),
        ({"proxies": {"socks": "x:1"}}, ValueError),
    ],
)
def test_bad_options_are_clear_errors(kwargs: Dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        soundcloud.Client(client_id="x", **kwargs)


def test_client_repr_has_no_token() -> None:
    client = soundcloud.Client(access_token="s3cr3t-token-value")
    assert "s3cr3t" not in repr(client)


# -- verbs, encoding, headers --------------------------------------------------------------


@pytest.mark.parametrize("verb", ["get", "post", "put", "patch", "delete", "head"])
def test_each_verb_sends_its_method(fake: Any, verb: str) -> None:
    client = user_client(fake)
    result = getattr(client, verb)("/_test/echo")
    assert last(fake).method == verb.upper()
    assert result.status_code == 200
    if verb != "head":
        assert result.method == verb.upper()


def test_get_parameters_go_in_the_query(fake: Any) -> None:
    client = user_client(fake)
    client.get(
        "/_test/echo",
        q="Björk & friends",
        ids=[1, 2],
        filter={"genre": "ambient", "bpm": {"from": 90}},
        playlist={"tracks": [{"id": 1}, {"id": 2}]},
        skip=None,
        public=True,
        private=False,
        ratio=0.5,
    )
    request = last(fake)
    assert request.body == b""
    assert request.query == {
        "q": ["Björk & friends"],
        "ids[]": ["1", "2"],
        "filter[genre]": ["ambient"],
        "filter[bpm][from]": ["90"],
        "playlist[tracks][][id]": ["1", "2"],
        "public": ["true"],
        "private": ["false"],
        "ratio": ["0.5"],
    }


def test_post_parameters_go_in_a_form_body(fake: Any) -> None:
    client = user_client(fake)
    client.post("/_test/echo", track={"title": "Ünïcödé", "tags": ["a", "b"]}, empty=None)
    request = last(fake)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.body.decode("ascii")) == {
        "track[title]": ["Ünïcödé"],
        "track[tags][]": ["a", "b"],
    }
    assert request.query == {}


def test_json_body(fake: Any) -> None:
    client = user_client(fake)
    client.put("/_test/echo", json={"track": {"title": "ü"}})
    request = last(fake)
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == {"track": {"title": "ü"}}
    with pytest.raises(TypeError, match="json"):
        client.get("/_test/echo", json={"a": 1})
    with pytest.raises(TypeError, match="json"):
        client.delete("/_test/echo", json={"a": 1})
    with pytest.raises(TypeError, match="not both"):
        client.post("/_test/echo", json={"a": 1}, b=2)


def test_bad_parameters_are_clear_errors_and_send_nothing(fake: Any) -> None:
    client = user_client(fake)
    with pytest.raises(TypeError, match="object"):
        client.get("/_test/echo", thing=object())
    deep: Dict[str, Any] = {}
    node = deep
    for _ in range(100):
        node["x"] = {}
        node = node["x"]
    with pytest.raises(ValueError, match="nested deeper"):
        client.post("/_test/echo", deep=deep)
    assert fake.requests == []


def test_token_goes_in_the_header_never_the_url(fake: Any) -> None:
    token = fake.issue_token()
    client = client_for(fake, access_token=token)
    client.get("/me")
    request = last(fake)
    assert request.headers["authorization"] == "OAuth " + token
    assert token not in request.path and all(token not in v for vs in request.query.values() for v in vs)
    assert "client_id" not in request.query


def test_client_id_only_goes_in_the_query(fake: Any) -> None:
    client = client_for(fake, client_id=fake.client_id)
    client.get("/tracks", limit=1)
    request = last(fake)
    assert request.query["client_id"] == [fake.client_id]
    assert "authorization" not in request.headers


def test_default_headers(fake: Any) -> None:
    client = user_client(fake)
    client.get("/_test/echo", headers={"X-Extra": "1"})
    headers = last(fake).headers
    assert headers["accept"] == "application/json"
    major, minor = sys.version_info[:2]
    assert headers["user-agent"] == f"soundcloud/{soundcloud.__version__} Python/{major}.{minor}"
    assert headers["x-extra"] == "1"
    client = client_for(fake, client_id=fake.client_id, user_agent="myapp/2")
    client.get("/tracks", limit=1)
    assert last(fake).headers["user-agent"] == "myapp/2"


def test_next_href_can_be_passed_straight_in(fake: Any) -> None:
    client = client_for(fake, client_id=fake.client_id)
    page = client.get("/tracks", limit=2, linked_partitioning=True)
    assert page.next_href.startswith(fake.api_url)
    second = client.get(page.next_href)
    assert len(second.collection) == 2
    assert second.collection[0].id != page.collection[0].id
    assert last(fake).query["client_id"] == [fake.client_id]


# -- responses -----------------------------------------------------------------------------


def test_object_and_array_wrapping_with_metadata(fake: Any) -> None:
    client = client_for(fake, client_id=fake.client_id)
    track = client.get("/tracks/293")
    assert isinstance(track, Resource)
    assert track.user.username
    assert track.headers["Content-Type"].startswith("application/json")
    assert track.reason == "OK"
    tracks = client.get("/tracks", limit=3)
    assert isinstance(tracks, ResourceList)
    assert len(tracks) == 3 and isinstance(tracks[0], Resource)
    assert tracks.status_code == 200


def test_empty_and_no_content_bodies(fake: Any) -> None:
    client = user_client(fake)
    result = client.delete("/me/followings/123")
    assert isinstance(result, Resource)
    head = client.head("/tracks/293")
    assert head.fields() == {} and head.status_code == 200


def test_stream_follows_to_the_cdn_without_the_token(fake: Any) -> None:
    token = fake.issue_token()
    client = client_for(fake, access_token=token)
    with client.get("/tracks/293/stream") as audio:
        assert isinstance(audio, StreamResponse)
        assert audio.content_type == "audio/mpeg"
        data = audio.read()
    assert len(data) == audio.content_length
    assert audio.url.startswith(fake.cdn_url)
    cdn = last(fake, "cdn")
    assert "authorization" not in cdn.headers
    assert token not in repr(cdn.headers)


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, cls",
    [
        (400, soundcloud.BadRequestError),
        (401, soundcloud.UnauthorizedError),
        (403, soundcloud.ForbiddenError),
        (404, soundcloud.NotFoundError),
        (405, soundcloud.HTTPError),
        (422, soundcloud.UnprocessableEntityError),
        (429, soundcloud.TooManyRequestsError),
        (500, soundcloud.ServerError),
        (503, soundcloud.ServerError),
    ],
)
def test_error_statuses_raise_their_class(fake: Any, status: int, cls: type) -> None:
    token = fake.issue_token()
    client = client_for(fake, access_token=token, max_retries=0)
    with pytest.raises(cls) as info:
        client.get(f"/_test/status/{status}")
    error = info.value
    assert isinstance(error, soundcloud.HTTPError)
    assert error.status_code == status
    assert error.method == "GET"
    assert error.url.endswith(f"/_test/status/{status}")
    assert error.body
    text = str(error)
    assert "\n" not in text and str(status) in text and "GET" in text
    assert token not in text and token not in repr(error)
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is cls and clone.status_code == status and str(clone) == text


def test_soundcloud_error_message_is_parsed(fake: Any) -> None:
    client = client_for(fake, client_id=fake.client_id)
    with pytest.raises(soundcloud.NotFoundError) as info:
        client.get("/tracks/999999999")
    assert info.value.message
    assert info.value.message in str(info.value)


def test_html_error_page_is_a_clean_http_error(fake: Any) -> None:
    client = client_for(fake, client_id=fake.client_id)
    with pytest.raises(soundcloud.ForbiddenError) as info:
        client.get("/_test/html403")
    assert info.value.status_code == 403
    assert b"<html" in info.value.body.lower()


def test_invalid_json_is_a_decode_error(fake: Any) -> None:
    client = client_for(fake, client_id=fake.client_id)
    with pytest.raises(soundcloud.DecodeError) as info:
        client.get("/_test/badjson")
    assert isinstance(info.value, ValueError)
    assert "JSON" in str(info.value)


def test_connection_refused_is_a_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = opened(soundcloud.Client(access_token="secret-token", api_url=f"http://127.0.0.1:{port}",
                                      max_retries=0, timeout=TIMEOUT))
    with pytest.raises(soundcloud.ConnectError) as info:
        client.get("/tracks")
    assert f"127.0.0.1:{port}" in str(info.value)
    assert info.value.cause is not None
    assert "secret-token" not in str(info.value)


def test_truncated_body_is_a_protocol_error(fake: Any) -> None:
    client = client_for(fake, client_id=fake.client_id, max_retries=0)
    with pytest.raises(soundcloud.ProtocolError) as info:
        client.get("/_test/truncate")
    assert isinstance(info.value, soundcloud.TransportError)
    assert "/_test/truncate" in str(info.value)


def test_stalled_server_is_a_timeout(fake: Any) -> None:
    client = client_for(fake, client_id=fake.client_id, timeout=0.3, max_retries=0)
    with pytest.raises(soundcloud.TimeoutError) as info:
        client.get("/_test/stall")
    assert isinstance(info.value, TimeoutError)
