"""What soundcloud.Client sends, against SoundCloud's OpenAPI spec (with spec/errata.json applied).

One test per operation of the spec: the generic verbs are called the way the README shows
(plain Python values: lists, dicts for ranges, numeric ids in paths, nested dicts for
bodies) against the fake, which records every request as it arrived; openapi-core then
checks that recorded request against the operation, and tests/support/spec.py adds what
openapi-core does not check: no undeclared query parameters (``urns[]=``), no repeated key
where one comma-separated value is meant, URNs in URN paths. So lists must go as
``urns=a,b``, ranges as ``bpm[from]=..&bpm[to]=..`` (deepObject), JSON where an operation
takes only JSON, and ``/tracks/soundcloud:tracks:1`` for ``/tracks/1``. The fake's answer
does not matter here (an operation it does not serve yet still shows what was sent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict

import pytest

from support.spec import SpecRequest, operations, request_problems, require_spec

require_spec()

import soundcloud  # noqa: E402  (after the skip: a tree without the spec never needs it here)

if TYPE_CHECKING:
    from conftest import Seeds

ACCESS = ["playable", "preview"]
ALL_ACCESS = ["playable", "preview", "blocked"]
MP3 = b"ID3" + bytes(61)


def _n(urn: str) -> int:
    return int(urn.rsplit(":", 1)[1])


#: "METHOD /template" -> a call of the generic verbs (client, seeds). Numeric ids go in the
#: paths on purpose: the client must send them as URNs.
CALLS: Dict[str, Callable[[Any, Any], Any]] = {
    "GET /me": lambda c, s: c.get("/me"),
    "GET /me/activities": lambda c, s: c.get("/me/activities", access=ACCESS, limit=2),
    "GET /me/activities/all/own": lambda c, s: c.get("/me/activities/all/own", access=ACCESS, limit=2),
    "GET /me/activities/tracks": lambda c, s: c.get("/me/activities/tracks", access=ACCESS, limit=2),
    "GET /me/feed": lambda c, s: c.get("/me/feed", access=ACCESS, limit=2),
    "GET /me/feed/tracks": lambda c, s: c.get("/me/feed/tracks", access=ACCESS, limit=2),
    "GET /me/recently-played/tracks": lambda c, s: c.get("/me/recently-played/tracks", access=ALL_ACCESS),
    "GET /me/likes/tracks": lambda c, s: c.get(
        "/me/likes/tracks", limit=2, access=ALL_ACCESS, linked_partitioning=True
    ),
    "GET /me/likes/playlists": lambda c, s: c.get("/me/likes/playlists", limit=2, linked_partitioning=True),
    "GET /me/followings": lambda c, s: c.get("/me/followings", limit=2, offset=0),
    "GET /me/followings/tracks": lambda c, s: c.get("/me/followings/tracks", access=ACCESS, limit=2, offset=0),
    "GET /me/followings/{user_urn}": lambda c, s: c.get(f"/me/followings/{_n(s.followed)}"),
    "PUT /me/followings/{user_urn}": lambda c, s: c.put(f"/me/followings/{_n(s.unfollowed)}"),
    "DELETE /me/followings/{user_urn}": lambda c, s: c.delete(f"/me/followings/{_n(s.followed)}"),
    "GET /me/followers": lambda c, s: c.get("/me/followers", limit=2),
    "GET /me/followers/{follower_urn}": lambda c, s: c.get(f"/me/followers/{_n(s.follower)}"),
    "GET /me/playlists": lambda c, s: c.get("/me/playlists", show_tracks=False, linked_partitioning=True, limit=2),
    "GET /me/tracks": lambda c, s: c.get("/me/tracks", limit=2, sort="asc", linked_partitioning=True),
    "GET /me/reposts/tracks": lambda c, s: c.get(
        "/me/reposts/tracks", limit=2, access=ALL_ACCESS, linked_partitioning=True
    ),
    "GET /me/reposts/playlists": lambda c, s: c.get("/me/reposts/playlists", limit=2, linked_partitioning=True),
    "GET /tracks": lambda c, s: c.get(
        "/tracks",
        q="echoes",
        urns=[s.my_track, s.other_track],
        genres=["Pop", "House"],
        tags=["chill", "night"],
        bpm={"from": 100, "to": 120},
        duration={"from": 60000, "to": 300000},
        created_at={"from": "2020-12-24 00:00:00", "to": "2020-12-26 00:00:00"},
        access=ACCESS,
        limit=2,
        linked_partitioning=True,
    ),
    "POST /tracks": lambda c, s: c.post(
        "/tracks", track={"title": "Spec take", "sharing": "private", "asset_data": ("take.mp3", MP3)}
    ),
    "GET /playlists": lambda c, s: c.get(
        "/playlists", q="test", access=ACCESS, show_tracks=True, limit=2, linked_partitioning=True
    ),
    "POST /playlists": lambda c, s: c.post(
        "/playlists", playlist={"title": "Spec set", "sharing": "public", "tracks": [{"urn": s.my_track}]}
    ),
    "GET /users": lambda c, s: c.get(
        "/users", q="a", urns=[s.user, s.other_track_owner], limit=2, linked_partitioning=True
    ),
    "GET /playlists/{playlist_urn}": lambda c, s: c.get(
        f"/playlists/{_n(s.playlist)}", access=ACCESS, show_tracks=True
    ),
    "PUT /playlists/{playlist_urn}": lambda c, s: c.put(
        f"/playlists/{_n(s.playlist)}", playlist={"title": "Renamed", "tracks": [{"urn": s.my_track}]}
    ),
    "DELETE /playlists/{playlist_urn}": lambda c, s: c.delete(f"/playlists/{_n(s.playlist)}"),
    "GET /playlists/{playlist_urn}/tracks": lambda c, s: c.get(
        f"/playlists/{_n(s.playlist)}/tracks", access=ACCESS, linked_partitioning=True
    ),
    "GET /playlists/{playlist_urn}/reposters": lambda c, s: c.get(f"/playlists/{_n(s.playlist)}/reposters", limit=2),
    "GET /tracks/{track_urn}": lambda c, s: c.get(f"/tracks/{s.my_track_id}"),
    "PUT /tracks/{track_urn}": lambda c, s: c.put(
        f"/tracks/{s.my_track_id}", track={"title": "Renamed take", "downloadable": False}
    ),
    "DELETE /tracks/{track_urn}": lambda c, s: c.delete(f"/tracks/{s.my_track_id}"),
    "PUT /tracks/{track_urn}/storefront": lambda c, s: c.put(
        f"/tracks/{s.my_track_id}/storefront", title="Download now", type="digital", link="https://example.com/take"
    ),
    "GET /tracks/{track_urn}/preview": lambda c, s: c.get(f"/tracks/{s.my_track_id}/preview", allow_redirects=False),
    "GET /tracks/{track_urn}/streams": lambda c, s: c.get(f"/tracks/{s.my_track_id}/streams"),
    "GET /tracks/{track_urn}/comments": lambda c, s: c.get(
        f"/tracks/{s.other_track_id}/comments", limit=2, offset=0, linked_partitioning=True
    ),
    "POST /tracks/{track_urn}/comments": lambda c, s: c.post(
        f"/tracks/{s.other_track_id}/comments", comment={"body": "Nice take", "timestamp": 1500}
    ),
    "GET /tracks/{track_urn}/favoriters": lambda c, s: c.get(
        f"/tracks/{s.other_track_id}/favoriters", limit=2, linked_partitioning=True
    ),
    "GET /tracks/{track_urn}/reposters": lambda c, s: c.get(f"/tracks/{s.other_track_id}/reposters", limit=2),
    "GET /tracks/{track_urn}/related": lambda c, s: c.get(
        f"/tracks/{s.other_track_id}/related", access=ACCESS, limit=2, offset=0, linked_partitioning=True
    ),
    "GET /resolve": lambda c, s: c.get("/resolve", url=f"https://soundcloud.com/{s.permalink}", allow_redirects=False),
    "GET /users/{user_urn}": lambda c, s: c.get(f"/users/{_n(s.other_track_owner)}"),
    "GET /users/{user_urn}/related": lambda c, s: c.get(
        f"/users/{_n(s.other_track_owner)}/related", limit=2, linked_partitioning=True
    ),
    "GET /users/{user_urn}/favorites": lambda c, s: c.get(
        f"/users/{s.me}/favorites", limit=2, linked_partitioning=True
    ),
    "GET /users/{user_urn}/followers": lambda c, s: c.get(f"/users/{_n(s.followed)}/followers", limit=2),
    "GET /users/{user_urn}/followings": lambda c, s: c.get(f"/users/{s.me}/followings", limit=2),
    "GET /users/{user_urn}/followings/{following_urn}": lambda c, s: c.get(
        f"/users/{s.me}/followings/{_n(s.followed)}"
    ),
    "GET /users/{user_urn}/playlists": lambda c, s: c.get(
        f"/users/{s.me}/playlists", access=ACCESS, show_tracks=False, limit=2, linked_partitioning=True
    ),
    "GET /users/{user_urn}/tracks": lambda c, s: c.get(
        f"/users/{s.me}/tracks", access=ACCESS, limit=2, sort="desc", linked_partitioning=True
    ),
    "GET /users/{user_urn}/web-profiles": lambda c, s: c.get(f"/users/{s.me}/web-profiles", limit=2),
    "GET /users/{user_urn}/likes/tracks": lambda c, s: c.get(
        f"/users/{s.me}/likes/tracks", access=ACCESS, limit=2, linked_partitioning=True
    ),
    "GET /users/{user_urn}/likes/playlists": lambda c, s: c.get(
        f"/users/{s.me}/likes/playlists", limit=2, linked_partitioning=True
    ),
    "GET /users/{user_urn}/reposts/tracks": lambda c, s: c.get(
        f"/users/{s.me}/reposts/tracks", access=ACCESS, limit=2, linked_partitioning=True
    ),
    "GET /users/{user_urn}/reposts/playlists": lambda c, s: c.get(
        f"/users/{s.me}/reposts/playlists", limit=2, linked_partitioning=True
    ),
    "POST /likes/tracks/{track_urn}": lambda c, s: c.post(f"/likes/tracks/{s.other_track_id}"),
    "DELETE /likes/tracks/{track_urn}": lambda c, s: c.delete(f"/likes/tracks/{s.other_track_id}"),
    "POST /likes/playlists/{playlist_urn}": lambda c, s: c.post(f"/likes/playlists/{_n(s.playlist)}"),
    "DELETE /likes/playlists/{playlist_urn}": lambda c, s: c.delete(f"/likes/playlists/{_n(s.playlist)}"),
    "POST /reposts/tracks/{track_urn}": lambda c, s: c.post(f"/reposts/tracks/{s.other_track_id}"),
    "DELETE /reposts/tracks/{track_urn}": lambda c, s: c.delete(f"/reposts/tracks/{s.other_track_id}"),
    "POST /reposts/playlists/{playlist_urn}": lambda c, s: c.post(f"/reposts/playlists/{_n(s.playlist)}"),
    "DELETE /reposts/playlists/{playlist_urn}": lambda c, s: c.delete(f"/reposts/playlists/{_n(s.playlist)}"),
    "POST /sign-out": lambda c, s: c.sign_out(),
}


def test_every_operation_of_the_spec_is_called() -> None:
    assert sorted(CALLS) == sorted(operations())


@pytest.mark.parametrize("operation", operations())
def test_request_matches_the_spec(operation: str, seeds: Seeds) -> None:
    method = operation.split(" ", 1)[0]
    fake = seeds.fake
    fake.clear_requests()
    try:
        CALLS[operation](seeds.client, seeds)
    except soundcloud.HTTPError:
        pass  # the answer does not matter here: the request is what is checked
    origin = "auth" if operation == "POST /sign-out" else "api"
    sent = [r for r in fake.requests if r.server == origin and r.method == method]
    assert sent, f"{operation}: the client sent no {method} to the {origin} origin"
    request = SpecRequest.from_recorded(sent[0])
    problems = request_problems(request)
    assert not problems, f"{operation}: the client sent {sent[0].method} {sent[0].path} {sent[0].query}:\n" + "\n".join(
        problems
    )


def test_the_checks_catch_what_the_client_must_not_send() -> None:
    # The checks themselves: a request the spec refuses must be reported, or the tests
    # above would pass whatever the client sent.
    bad = {
        "/tracks?urns[]=soundcloud:tracks:1&urns[]=soundcloud:tracks:2": "takes no brackets",
        "/tracks?urns=soundcloud:tracks:1&urns=soundcloud:tracks:2": "sent 2 times",
        "/tracks?bpm=100": "deepObject",
        "/tracks?access=everything": "Invalid query parameter: access",
        "/tracks?sort=up": "not one the operation takes",
        "/tracks/293": "not a URN",
        "/users/soundcloud:tracks:293": "not a URN",
    }
    for target, expected in bad.items():
        problems = "\n".join(request_problems(SpecRequest.from_url("GET", target, {"Authorization": "OAuth x"})))
        assert expected in problems, f"{target}: {problems or 'no problem found'}"
    json_only = SpecRequest.from_url(
        "PUT",
        "/playlists/soundcloud:playlists:1",
        {"Authorization": "OAuth x", "Content-Type": "application/x-www-form-urlencoded"},
        b"playlist[title]=x",
    )
    assert "mimetype not found" in "\n".join(request_problems(json_only))
    good = SpecRequest.from_url(
        "GET",
        "/tracks?urns=soundcloud:tracks:1,soundcloud:tracks:2&bpm[from]=1&bpm[to]=2&access=playable,preview",
        {"Authorization": "OAuth x"},
    )
    assert request_problems(good) == []
