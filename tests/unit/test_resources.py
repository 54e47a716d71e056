"""Resource, ResourceList, Headers and StreamResponse, without a network."""

from __future__ import annotations

import copy
import io
import os
import pickle
from typing import Any, List, Optional, Tuple

import pytest

from soundcloud import Headers, Resource, ResourceList, StreamResponse
from soundcloud.resources import ResponseInfo, wrap_json

TRACK = {
    "id": 293,
    "title": "Flickermood",
    "user": {"id": 1, "username": "forss", "avatar": {"url": "a.jpg"}},
    "tags": ["ambient", {"name": "drone"}],
    "keys": "clashes with a method",
    "url": "clashes with a property",
}


def make_info(status: int = 200, location: Optional[str] = None) -> ResponseInfo:
    headers = Headers([("Content-Type", "application/json"), ("X-Ratelimit-Remaining", "9")])
    return ResponseInfo(status, "OK", "https://api.example/tracks/293", headers, location)


def test_attribute_and_item_access() -> None:
    track = Resource(TRACK, make_info())
    assert track.title == "Flickermood"
    assert track["title"] == "Flickermood"
    assert track.user.username == "forss"
    assert track.user.avatar.url == "a.jpg"
    assert track["user"]["avatar"]["url"] == "a.jpg"
    assert "title" in track and "nope" not in track
    assert track.get("nope", 5) == 5
    assert track.get("user").id == 1


def test_nested_lists_are_wrapped() -> None:
    track = Resource(TRACK)
    assert isinstance(track.tags, ResourceList)
    assert track.tags[0] == "ambient"
    assert track.tags[1].name == "drone"


def test_clashing_keys_stay_reachable_by_item() -> None:
    track = Resource(TRACK, make_info())
    assert callable(track.keys)
    assert track["keys"] == "clashes with a method"
    assert track.url == "https://api.example/tracks/293"
    assert track["url"] == "clashes with a property"
    assert sorted(track.keys()) == sorted(TRACK)


def test_missing_attribute_names_the_key() -> None:
    track = Resource({"title": "x"})
    with pytest.raises(AttributeError, match="'genre'"):
        track.genre  # noqa: B018
    with pytest.raises(KeyError):
        track["genre"]
    assert not hasattr(track, "genre")


def test_fields_is_the_dict_and_metadata_is_carried() -> None:
    data = dict(TRACK)
    track = Resource(data, make_info())
    assert track.fields() is data
    assert track.status_code == 200
    assert track.reason == "OK"
    assert track.headers["content-type"] == "application/json"
    assert track.headers["X-RATELIMIT-REMAINING"] == "9"
    assert track.location is None
    nested = track.user
    assert nested.status_code == 0


def test_location_prefers_header_then_body() -> None:
    assert Resource({"location": "https://body"}, make_info(302, "https://hdr")).location == "https://hdr"
    assert Resource({"location": "https://body"}, make_info(302)).location == "https://body"


def test_collection_and_next_href() -> None:
    page = Resource({"collection": [{"title": "a"}, {"title": "b"}], "next_href": "https://n"})
    assert [t.title for t in page.collection] == ["a", "b"]
    assert isinstance(page.collection, ResourceList)
    assert page.next_href == "https://n"
    assert Resource({"collection": [], "next_href": None}).next_href is None
    with pytest.raises(AttributeError, match="collection"):
        Resource({}).collection  # noqa: B018


def test_resource_list_is_a_sequence() -> None:
    items = ResourceList([{"id": 1}, {"id": 2}, {"id": 3}], make_info())
    assert len(items) == 3
    assert items[0].id == 1
    assert items[-1].id == 3
    assert [i.id for i in items[1:]] == [2, 3]
    assert isinstance(items[1:], ResourceList)
    assert [i.id for i in items] == [1, 2, 3]
    assert items.status_code == 200
    assert Resource({"id": 2}) in items
    with pytest.raises(IndexError):
        items[3]


def test_equality() -> None:
    assert Resource({"a": 1}) == Resource({"a": 1}, make_info())
    assert Resource({"a": 1}) == {"a": 1}
    assert Resource({"a": 1}) != Resource({"a": 2})
    assert ResourceList([1, 2]) == [1, 2]
    with pytest.raises(TypeError):
        hash(Resource({"a": 1}))


def test_pickle_and_copy_keep_data_and_metadata() -> None:
    track = Resource(TRACK, make_info(302, "https://loc"))
    for clone in (pickle.loads(pickle.dumps(track)), copy.copy(track), copy.deepcopy(track)):
        assert clone == track
        assert clone.status_code == 302
        assert clone.location == "https://loc"
        assert clone.headers["content-type"] == "application/json"
    deep = copy.deepcopy(track)
    deep.fields()["title"] = "changed"
    assert track.title == "Flickermood"
    items = ResourceList([{"a": 1}], make_info())
    assert pickle.loads(pickle.dumps(items)) == items


def test_repr_is_readable_and_hides_secrets() -> None:
    token_like = Resource({"access_token": "s3cr3t-token", "refresh_token": "r3fr3sh", "scope": ""})
    text = repr(token_like)
    assert "s3cr3t-token" not in text and "r3fr3sh" not in text
    assert "scope" in text
    assert "Flickermood" in repr(Resource(TRACK))
    headers = Headers([("Authorization", "OAuth s3cr3t"), ("Accept", "x")])
    assert "s3cr3t" not in repr(headers)


def test_wrap_json_shapes() -> None:
    info = make_info()
    assert isinstance(wrap_json({"a": 1}, info), Resource)
    assert isinstance(wrap_json([1], info), ResourceList)
    assert wrap_json(None, info) == {}
    assert wrap_json(5, info)["value"] == 5


def test_headers_mapping() -> None:
    headers = Headers([("Set-Thing", "a"), ("set-thing", "b"), ("X", "1")])
    assert headers["SET-THING"] == "a, b"
    assert len(headers) == 2
    assert list(headers) == ["Set-Thing", "X"]
    assert "x" in headers and 5 not in headers
    assert headers == {"x": "1", "set-thing": "a, b"}
    assert headers.get_value("missing") is None
    assert headers.raw_items()[1] == ("set-thing", "b")


class Body:
    """An in-memory body that can fail after some bytes."""

    def __init__(self, data: bytes, fail_after: Optional[int] = None) -> None:
        self._data = io.BytesIO(data)
        self._fail_after = fail_after
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        if self._fail_after is not None and self._data.tell() >= self._fail_after:
            raise ConnectionResetError("peer went away")
        return self._data.read(size)

    def close(self) -> None:
        self.closed = True


def stream(data: bytes, fail_after: Optional[int] = None) -> Tuple[StreamResponse, Body]:
    body = Body(data, fail_after)
    headers = Headers([("Content-Type", "audio/mpeg"), ("Content-Length", str(len(data)))])
    return StreamResponse(body, ResponseInfo(200, "OK", "https://cdn/x.mp3", headers)), body


def test_stream_response_reads_in_chunks_and_closes() -> None:
    data = bytes(range(256)) * 1000
    response, body = stream(data)
    assert response.content_type == "audio/mpeg"
    assert response.content_length == len(data)
    chunks: List[bytes] = list(response.iter_bytes(1000))
    assert b"".join(chunks) == data
    assert max(len(c) for c in chunks) == 1000
    assert body.closed and response.closed
    with pytest.raises(ValueError, match="closed"):
        response.read()


def test_stream_response_context_manager() -> None:
    response, body = stream(b"abc")
    with response as r:
        assert r.read(2) == b"ab"
    assert body.closed


def test_stream_save_is_atomic(tmp_path: Any) -> None:
    data = b"x" * 300_000
    response, _ = stream(data)
    seen: List[Tuple[int, Optional[int]]] = []
    target = tmp_path / "song.mp3"
    assert response.save(target, progress=lambda done, total: seen.append((done, total))) == len(data)
    assert target.read_bytes() == data
    assert seen[-1] == (len(data), len(data))
    assert os.listdir(tmp_path) == ["song.mp3"]


def test_stream_save_failure_leaves_no_file(tmp_path: Any) -> None:
    response, _ = stream(b"y" * 300_000, fail_after=100_000)
    target = tmp_path / "song.mp3"
    with pytest.raises(ConnectionResetError):
        response.save(target)
    assert os.listdir(tmp_path) == []


def test_stream_iter_bytes_rejects_bad_chunk_size() -> None:
    response, _ = stream(b"abc")
    with pytest.raises(ValueError, match="chunk_size"):
        next(response.iter_bytes(0))


def test_collection_reads_the_same_on_a_bare_array() -> None:
    items = ResourceList([{"title": "a"}])
    assert items.collection is items
    assert [t.title for t in items.collection] == ["a"]
    assert items.next_href is None
