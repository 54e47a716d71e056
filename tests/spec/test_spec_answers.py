"""The fake's answers against SoundCloud's OpenAPI spec (with spec/errata.json applied).

One test per operation of the spec: it asks the fake (a real server on 127.0.0.1) with a token
from a client logged in the README way, with ids of things the fake holds, and checks the raw
answer with openapi-core: the status is one the operation documents, and a success, and the
body matches that status's schema. List operations are asked twice, with
``linked_partitioning=true`` (a page) and without (a bare array is allowed there: see the
errata). An operation the fake has no route for yet is an expected failure, named as such.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Callable, Dict, List, NamedTuple, Optional

import pytest

from support.spec import (
    API_SERVER,
    AUTH_SERVER,
    SpecAnswer,
    SpecRequest,
    answer_problems,
    checked_spec,
    fetch,
    operation_params,
    operations,
    require_spec,
    route_served,
)

require_spec()

if TYPE_CHECKING:
    from conftest import Seeds

    from soundcloud.testing import FakeSoundCloud


class Ask(NamedTuple):
    """One request: the target (path and query) and, for writes, the body and its type."""

    target: str
    body: bytes = b""
    content_type: Optional[str] = None


def as_json(value: object) -> Dict[str, object]:
    return {"body": json.dumps(value).encode(), "content_type": "application/json"}


def multipart(fields: Dict[str, str], files: Dict[str, bytes]) -> Dict[str, object]:
    boundary = uuid.uuid4().hex
    parts: List[bytes] = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, data in files.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="take.mp3"\r\n'
        parts.append(head.encode() + b"Content-Type: audio/mpeg\r\n\r\n" + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return {"body": b"".join(parts), "content_type": f"multipart/form-data; boundary={boundary}"}


#: "METHOD /template" -> the request that exercises it, from the seeds (tests/spec/conftest.py).
ASKS: Dict[str, Callable[..., Ask]] = {
    "GET /me": lambda s: Ask("/me"),
    "GET /me/activities": lambda s: Ask("/me/activities?limit=2"),
    "GET /me/activities/all/own": lambda s: Ask("/me/activities/all/own?limit=2"),
    "GET /me/activities/tracks": lambda s: Ask("/me/activities/tracks?limit=2"),
    "GET /me/feed": lambda s: Ask("/me/feed?limit=2"),
    "GET /me/feed/tracks": lambda s: Ask("/me/feed/tracks?limit=2"),
    "GET /me/recently-played/tracks": lambda s: Ask("/me/recently-played/tracks"),
    "GET /me/likes/tracks": lambda s: Ask("/me/likes/tracks?limit=2"),
    "GET /me/likes/playlists": lambda s: Ask("/me/likes/playlists?limit=2"),
    "GET /me/followings": lambda s: Ask("/me/followings?limit=2"),
    "GET /me/followings/tracks": lambda s: Ask("/me/followings/tracks?limit=2"),
    "GET /me/followings/{user_urn}": lambda s: Ask(f"/me/followings/{s.followed}"),
    "PUT /me/followings/{user_urn}": lambda s: Ask(f"/me/followings/{s.unfollowed}"),
    "DELETE /me/followings/{user_urn}": lambda s: Ask(f"/me/followings/{s.followed}"),
    "GET /me/followers": lambda s: Ask("/me/followers?limit=2"),
    "GET /me/followers/{follower_urn}": lambda s: Ask(f"/me/followers/{s.follower}"),
    "GET /me/playlists": lambda s: Ask("/me/playlists?limit=2"),
    "GET /me/tracks": lambda s: Ask("/me/tracks?limit=2"),
    "GET /me/reposts/tracks": lambda s: Ask("/me/reposts/tracks?limit=2"),
    "GET /me/reposts/playlists": lambda s: Ask("/me/reposts/playlists?limit=2"),
    "GET /tracks": lambda s: Ask(f"/tracks?q=a&access=playable,preview&urns={s.my_track},{s.other_track}&limit=2"),
    "POST /tracks": lambda s: Ask(
        "/tracks",
        **multipart(
            {"track[title]": "Spec take", "track[sharing]": "public"}, {"track[asset_data]": b"ID3" + bytes(61)}
        ),
    ),
    "GET /playlists": lambda s: Ask("/playlists?q=test&limit=2"),
    "POST /playlists": lambda s: Ask(
        "/playlists",
        **as_json({"playlist": {"title": "Spec set", "sharing": "public", "tracks": [{"urn": s.my_track}]}}),
    ),
    "GET /users": lambda s: Ask(f"/users?q=a&urns={s.user},{s.other_track_owner}&limit=2"),
    "GET /playlists/{playlist_urn}": lambda s: Ask(f"/playlists/{s.playlist}"),
    "PUT /playlists/{playlist_urn}": lambda s: Ask(
        f"/playlists/{s.playlist}", **as_json({"playlist": {"title": "Renamed", "tracks": [{"urn": s.my_track}]}})
    ),
    "DELETE /playlists/{playlist_urn}": lambda s: Ask(f"/playlists/{s.playlist}"),
    "GET /playlists/{playlist_urn}/tracks": lambda s: Ask(f"/playlists/{s.playlist}/tracks"),
    "GET /playlists/{playlist_urn}/reposters": lambda s: Ask(f"/playlists/{s.playlist}/reposters?limit=2"),
    "GET /tracks/{track_urn}": lambda s: Ask(f"/tracks/{s.my_track}"),
    "PUT /tracks/{track_urn}": lambda s: Ask(f"/tracks/{s.my_track}", **as_json({"track": {"title": "Renamed take"}})),
    "DELETE /tracks/{track_urn}": lambda s: Ask(f"/tracks/{s.my_track}"),
    "PUT /tracks/{track_urn}/storefront": lambda s: Ask(
        f"/tracks/{s.my_track}/storefront",
        **as_json({"title": "Download now", "type": "digital", "link": "https://example.com/take"}),
    ),
    "GET /tracks/{track_urn}/preview": lambda s: Ask(f"/tracks/{s.my_track}/preview"),
    "GET /tracks/{track_urn}/streams": lambda s: Ask(f"/tracks/{s.my_track}/streams"),
    "GET /tracks/{track_urn}/comments": lambda s: Ask(f"/tracks/{s.other_track}/comments?limit=2"),
    "POST /tracks/{track_urn}/comments": lambda s: Ask(
        f"/tracks/{s.other_track}/comments", **as_json({"comment": {"body": "Nice take", "timestamp": 1500}})
    ),
    "GET /tracks/{track_urn}/favoriters": lambda s: Ask(f"/tracks/{s.other_track}/favoriters?limit=2"),
    "GET /tracks/{track_urn}/reposters": lambda s: Ask(f"/tracks/{s.other_track}/reposters?limit=2"),
    "GET /tracks/{track_urn}/related": lambda s: Ask(f"/tracks/{s.other_track}/related?limit=2"),
    "GET /resolve": lambda s: Ask(f"/resolve?url=https://soundcloud.com/{s.permalink}"),
    "GET /users/{user_urn}": lambda s: Ask(f"/users/{s.other_track_owner}"),
    "GET /users/{user_urn}/related": lambda s: Ask(f"/users/{s.other_track_owner}/related?limit=2"),
    "GET /users/{user_urn}/favorites": lambda s: Ask(f"/users/{s.user}/favorites?limit=2"),
    "GET /users/{user_urn}/followers": lambda s: Ask(f"/users/{s.followed}/followers?limit=2"),
    "GET /users/{user_urn}/followings": lambda s: Ask(f"/users/{s.user}/followings?limit=2"),
    "GET /users/{user_urn}/followings/{following_urn}": lambda s: Ask(f"/users/{s.user}/followings/{s.followed}"),
    "GET /users/{user_urn}/playlists": lambda s: Ask(f"/users/{s.user}/playlists?limit=2"),
    "GET /users/{user_urn}/tracks": lambda s: Ask(f"/users/{s.user}/tracks?limit=2"),
    "GET /users/{user_urn}/web-profiles": lambda s: Ask(f"/users/{s.user}/web-profiles"),
    "GET /users/{user_urn}/likes/tracks": lambda s: Ask(f"/users/{s.user}/likes/tracks?limit=2"),
    "GET /users/{user_urn}/likes/playlists": lambda s: Ask(f"/users/{s.user}/likes/playlists?limit=2"),
    "GET /users/{user_urn}/reposts/tracks": lambda s: Ask(f"/users/{s.user}/reposts/tracks?limit=2"),
    "GET /users/{user_urn}/reposts/playlists": lambda s: Ask(f"/users/{s.user}/reposts/playlists?limit=2"),
    "POST /likes/tracks/{track_urn}": lambda s: Ask(f"/likes/tracks/{s.other_track}"),
    "DELETE /likes/tracks/{track_urn}": lambda s: Ask(f"/likes/tracks/{s.other_track}"),
    "POST /likes/playlists/{playlist_urn}": lambda s: Ask(f"/likes/playlists/{s.playlist}"),
    "DELETE /likes/playlists/{playlist_urn}": lambda s: Ask(f"/likes/playlists/{s.playlist}"),
    "POST /reposts/tracks/{track_urn}": lambda s: Ask(f"/reposts/tracks/{s.other_track}"),
    "DELETE /reposts/tracks/{track_urn}": lambda s: Ask(f"/reposts/tracks/{s.other_track}"),
    "POST /reposts/playlists/{playlist_urn}": lambda s: Ask(f"/reposts/playlists/{s.playlist}"),
    "DELETE /reposts/playlists/{playlist_urn}": lambda s: Ask(f"/reposts/playlists/{s.playlist}"),
    "POST /sign-out": lambda s: Ask("/sign-out", **as_json({"access_token": s.token})),
}

OPERATIONS = operations()
NOT_SERVED = "not served by the fake yet"


def test_every_operation_of_the_spec_is_asked() -> None:
    # A new operation in the spec (or a renamed path) must get a request here, not be skipped.
    assert sorted(ASKS) == sorted(OPERATIONS)


def _declares(operation: str, name: str) -> bool:
    method, path = operation.split(" ", 1)
    spec = checked_spec()
    raw = spec["paths"][path][method.lower()].get("parameters", [])
    names = set()
    for parameter in raw:
        if "$ref" in parameter:
            parameter = spec["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        names.add(parameter["name"])
    return name in names


def _server(operation: str) -> str:
    method, path = operation.split(" ", 1)
    servers = checked_spec()["paths"][path][method.lower()].get("servers") or [{"url": ""}]
    return str(servers[0]["url"])


@pytest.mark.parametrize("operation", operation_params())
def test_answer_matches_the_spec(operation: str, seeds: Seeds, fake: FakeSoundCloud) -> None:
    method = operation.split(" ", 1)[0]
    ask = ASKS[operation](seeds)
    targets = [ask.target]
    if method == "GET" and _declares(operation, "linked_partitioning"):
        # The recommended page first, then the deprecated bare form (its own errata apply).
        separator = "&" if "?" in ask.target else "?"
        targets = [ask.target + separator + "linked_partitioning=true", ask.target]
    on_auth = _server(operation) == AUTH_SERVER
    origin = fake.auth_url if on_auth else fake.api_url
    headers = {"Authorization": "OAuth " + seeds.token, "Accept": "application/json"}
    if ask.content_type:
        headers["Content-Type"] = ask.content_type
    for target in targets:
        status, answer_headers, data = fetch(origin + target, method, headers, ask.body)
        if not route_served(status, data):
            pytest.xfail(NOT_SERVED)
        request = SpecRequest.from_url(method, target, headers, ask.body, AUTH_SERVER if on_auth else API_SERVER)
        problems = answer_problems(request, SpecAnswer(status, answer_headers, data))
        assert 200 <= status < 400, f"{method} {target} answered {status}: {data[:300]!r}"
        assert not problems, f"{method} {target} answered {status}, which the spec does not allow:\n" + "\n".join(
            problems
        )
