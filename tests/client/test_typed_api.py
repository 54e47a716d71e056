"""The typed API (client.tracks, .users, .me, .playlists, .likes, .reposts, client.resolve) on
the fake SoundCloud: each namespace's methods on real answers, what went on the wire, pages
across next_href, and the generic verbs and Resource still there beside them."""

from __future__ import annotations

import io
import json
import math
from typing import TYPE_CHECKING, Iterator, List
from urllib.parse import parse_qsl

import pytest

import soundcloud
from soundcloud.models import Activity, Comment, Found, Me, Playlist, Streams, Track, User, WebProfile
from soundcloud.pages import Pages, path_id

from support.clients import TIMEOUT, opened
from support.request_server import FaultContext, RequestServer

if TYPE_CHECKING:
    from soundcloud.testing import FakeSoundCloud, RecordedRequest

FLICKERMOOD = 293
FORSS = 183
UNFOLLOWED = 123
MP3 = b"ID3" + bytes(61)


@pytest.fixture
def client(fake: "FakeSoundCloud") -> Iterator[soundcloud.Client]:
    with soundcloud.Client(access_token=fake.issue_token(), api_url=fake.api_url, timeout=TIMEOUT) as made:
        yield made


def api_calls(fake: "FakeSoundCloud", method: str = "GET") -> List["RecordedRequest"]:
    return [r for r in fake.requests if r.server == "api" and r.method == method]


def public_track_ids(fake: "FakeSoundCloud") -> List[int]:
    return [tid for tid in fake.track_ids if (fake.get_track(tid) or {}).get("sharing") == "public"]


def own_track_id(fake: "FakeSoundCloud") -> int:
    return next(tid for tid in fake.track_ids if (fake.get_track(tid) or {}).get("user_id") == fake.user_id)


# -- tracks ------------------------------------------------------------------------------------


def test_tracks_get_takes_an_id_a_urn_or_a_track(fake: "FakeSoundCloud", client: soundcloud.Client) -> None:
    track = client.tracks.get(FLICKERMOOD)
    assert type(track) is Track
    assert (track.title, track.urn, track.user.username) == ("Flickermood", "soundcloud:tracks:293", "forss")
    assert type(track.user) is User
    assert client.tracks.get("soundcloud:tracks:293") == track
    assert client.tracks.get(track) == track
    assert client.tracks.get("293") == track
    # Every way goes out as the URN the path takes.
    assert [r.path for r in api_calls(fake)] == ["/tracks/soundcloud:tracks:293"] * 4


def test_tracks_search_follows_next_href_with_page_size_and_max_items(
    fake: "FakeSoundCloud", client: soundcloud.Client
) -> None:
    expected = public_track_ids(fake)
    pages = client.tracks.search(page_size=50, max_items=120)
    assert isinstance(pages, Pages) and fake.requests == []  # nothing fetched before the first next()
    tracks = list(pages)
    assert [track.to_dict()["id"] for track in tracks] == expected[:120]
    assert all(type(track) is Track and isinstance(track.title, str) for track in tracks)
    requests = api_calls(fake)
    assert len(requests) == 3  # no page beyond the one holding item 120
    assert requests[0].query["linked_partitioning"] == ["true"] and requests[0].query["limit"] == ["50"]
    assert "offset" not in requests[0].query
    assert all("cursor" in r.query and r.query["page_size"] == ["50"] for r in requests[1:])
    assert pages.count == 120 and pages.next_href is not None and pages.next_href.startswith(fake.api_url)

    fake.clear_requests()
    everything = client.tracks.search(page_size=200)
    assert len(list(everything)) == len(expected) > 400
    assert len(api_calls(fake)) == math.ceil(len(expected) / 200)
    assert everything.next_href is None and everything.future_href is None


def test_tracks_search_sends_the_filters_as_the_spec_defines(fake: "FakeSoundCloud", client: soundcloud.Client) -> None:
    flickermood = client.tracks.get(FLICKERMOOD)
    fake.clear_requests()
    found = client.tracks.search(
        q="flickermood",
        urns=[flickermood, 1, "soundcloud:tracks:2"],
        genres=["Electronic", "Pop"],
        tags="flickermood",
        duration=(None, 300_000),
        created_at=("2000-01-01 00:00:00", "2030-01-01 00:00:00"),
        access=["playable", "preview"],
        max_items=5,
    )
    assert [track.title for track in found] == ["Flickermood"]
    (request,) = api_calls(fake)
    assert request.query == {
        "q": ["flickermood"],
        "urns": ["soundcloud:tracks:293,soundcloud:tracks:1,soundcloud:tracks:2"],
        "genres": ["Electronic,Pop"],
        "tags": ["flickermood"],
        "duration[to]": ["300000"],
        "created_at[from]": ["2000-01-01 00:00:00"],
        "created_at[to]": ["2030-01-01 00:00:00"],
        "access": ["playable,preview"],
        "linked_partitioning": ["true"],
    }
    fake.clear_requests()
    assert all(track.bpm >= 100 for track in client.tracks.search(bpm=(100, None), tags=("a", "b c"), max_items=3))
    (request,) = api_calls(fake)
    assert request.query == {"tags": ["a,b c"], "bpm[from]": ["100"], "linked_partitioning": ["true"]}


def test_tracks_streams_and_preview(fake: "FakeSoundCloud", client: soundcloud.Client) -> None:
    streams = client.tracks.streams(FLICKERMOOD)
    assert type(streams) is Streams
    assert streams.hls_aac_160_url.startswith(fake.cdn_url)
    preview = client.tracks.preview(FLICKERMOOD)
    assert type(preview) is Found
    assert preview.location.startswith(fake.cdn_url)  # the redirect is reported, not followed
    assert [r.server for r in fake.requests] == ["api", "api"]


def test_tracks_comment_and_comments(fake: "FakeSoundCloud", client: soundcloud.Client) -> None:
    before = [comment.urn for comment in client.tracks.comments(FLICKERMOOD)]
    assert len(before) >= 2  # the seeded ones
    comment = client.tracks.comment(FLICKERMOOD, "nice", timestamp=1200)
    assert type(comment) is Comment and comment.body == "nice"
    plain = client.tracks.comment(client.tracks.get(FLICKERMOOD), "plain")
    assert plain.body == "plain"
    posts = api_calls(fake, "POST")
    assert [r.path for r in posts] == ["/tracks/soundcloud:tracks:293/comments"] * 2
    assert posts[0].header("content-type") == "application/json"
    assert json.loads(posts[0].body) == {"comment": {"body": "nice", "timestamp": 1200}}
    assert json.loads(posts[1].body) == {"comment": {"body": "plain"}}  # None is left out
    after = list(client.tracks.comments(FLICKERMOOD, page_size=1))
    assert all(type(item) is Comment for item in after)
    assert {comment.urn, plain.urn} | set(before) == {item.urn for item in after}


def test_tracks_update_sends_the_track_fields(fake: "FakeSoundCloud", client: soundcloud.Client) -> None:
    own = own_track_id(fake)
    updated = client.tracks.update(own, title="A new title", sharing="private", downloadable=False)
    assert type(updated) is Track and updated.title == "A new title" and updated.sharing == "private"
    (put,) = api_calls(fake, "PUT")
    assert put.path == f"/tracks/soundcloud:tracks:{own}"
    assert parse_qsl(put.body.decode()) == [
        ("track[title]", "A new title"), ("track[sharing]", "private"), ("track[downloadable]", "false"),
    ]  # fmt: skip
    assert client.tracks.get(own).title == "A new title"


def test_tracks_favoriters_and_related(fake: "FakeSoundCloud", client: soundcloud.Client) -> None:
    assert client.likes.add_track(FLICKERMOOD) is None
    favoriters = list(client.tracks.favoriters(FLICKERMOOD))
    assert all(type(user) is User for user in favoriters)
    assert fake.user_id in [user.to_dict()["id"] for user in favoriters]
    genre = client.tracks.get(FLICKERMOOD).genre
    related = list(client.tracks.related(FLICKERMOOD, page_size=10, max_items=15))
    assert 0 < len(related) <= 15
    assert all(type(track) is Track and track.genre == genre for track in related)


def test_tracks_create_uploads(fake: "FakeSoundCloud", client: soundcloud.Client) -> None:
    track = client.tracks.create("A tone", io.BytesIO(MP3), sharing="private", tag_list="test")
    assert type(track) is Track and track.title == "A tone" and track.sharing == "private"
    (post,) = api_calls(fake, "POST")
    assert (post.header("content-type") or "").startswith("multipart/form-data")
    assert b'name="track[asset_data]"' in post.body and b'name="track[title]"' in post.body
    assert fake.uploads[-1].fields["track[title]"] == "A tone"
    with pytest.raises(TypeError, match="asset_data is a file"):
        client.tracks.create("A tone", "tone.mp3")  # type: ignore[arg-type]  # a str is text, not a path
    assert len(api_calls(fake, "POST")) == 1


# -- users -------------------------------------------------------------------------------------


def test_users_get_takes_an_int_a_urn_and_a_user(fake: "FakeSoundCloud", client: soundcloud.Client) -> None:
    forss = client.users.get(FORSS)
    assert type(forss) is User and forss.username == "forss"
    assert client.users.get("soundcloud:users:183") == forss
    assert client.users.get(forss) == forss
    me = client.me.get()
    assert client.users.get(me).username == me.username  # a Me names a user too
    assert [r.path for r in api_calls(fake) if r.path.startswith("/users")] == [
        "/users/soundcloud:users:183"
    ] * 3 + [f"/users/soundcloud:users:{fake.user_id}"]


def test_users_followers_followings_and_web_profiles(fake: "FakeSoundCloud", client: soundcloud.Client) -> None:
    me = fake.user_id
    followings = list(client.users.followings(me, page_size=25))
    assert len(followings) > 50 and all(type(user) is User for user in followings)
    assert all(fake.is_following(user.to_dict()["id"]) for user in followings)
    assert len([r for r in api_calls(fake) if r.path.endswith("/followings")]) == math.ceil(len(followings) / 25)
    followers = list(client.users.followers(me, max_items=3))
    assert len(followers) <= 3 and all(type(user) is User for user in followers)
    first = followings[0]
    assert client.users.following(me, first) == client.users.get(first)
    profiles = client.users.web_profiles(me)
    listed = list(profiles)  # a bare JSON array: one page
    assert [type(p) for p in listed] == [WebProfile, WebProfile]
    assert [p.service for p in listed] == ["bandcamp", "instagram"]
    assert profiles.next_href is None


def test_users_likes_tracks(fake: "FakeSoundCloud", client: soundcloud.Client) -> None:
    client.likes.add_track(FLICKERMOOD)
    liked = list(client.users.likes_tracks(fake.user_id, access=["playable", "preview", "blocked"]))
    assert FLICKERMOOD in [track.to_dict()["id"] for track in liked]
    assert all(type(track) is Track for track in liked)


# -- me, likes, reposts -------------------------------------------------------------------------


def test_me_get_and_activities_with_future_href(fake: "FakeSoundCloud", client: soundcloud.Client) -> None:
    me = client.me.get()
    assert type(me) is Me and me.username == fake.user["username"]
    activities = client.me.activities(page_size=2)
    assert activities.future_href is None  # nothing read yet
    first = next(activities)
    assert type(first) is Activity and isinstance(first.type, str)
    assert type(first.origin) in (Track, Playlist)
    assert activities.future_href is not None and activities.future_href.startswith(fake.api_url)
    (request,) = api_calls(fake)[1:]
    assert request.path == "/me/activities" and request.query["limit"] == ["2"]


def test_me_add_and_remove_following(fake: "FakeSoundCloud", client: soundcloud.Client) -> None:
    assert not fake.is_following(UNFOLLOWED)
    followed = client.me.add_following(UNFOLLOWED)
    assert type(followed) is User and followed.to_dict()["id"] == UNFOLLOWED
    assert fake.is_following(UNFOLLOWED)
    assert client.me.following(followed) == followed
    assert client.me.remove_following(followed) is None
    assert not fake.is_following(UNFOLLOWED)
    assert [(r.method, r.path) for r in fake.requests if r.method != "GET"] == [
        ("PUT", "/me/followings/soundcloud:users:123"), ("DELETE", "/me/followings/soundcloud:users:123"),
    ]  # fmt: skip


def test_likes_and_reposts(fake: "FakeSoundCloud", client: soundcloud.Client) -> None:
    track = client.tracks.get(FLICKERMOOD)
    assert client.likes.add_track(track) is None
    assert FLICKERMOOD in fake.likes()
    assert client.likes.remove_track("soundcloud:tracks:293") is None
    assert FLICKERMOOD not in fake.likes()
    assert client.reposts.add_track(track) is None
    assert FLICKERMOOD in [t.to_dict()["id"] for t in client.me.reposts_tracks()]
    assert client.reposts.remove_track(track) is None
    assert FLICKERMOOD not in [t.to_dict()["id"] for t in client.me.reposts_tracks()]


# -- playlists ---------------------------------------------------------------------------------


def test_playlists_create_get_tracks_update_delete(fake: "FakeSoundCloud", client: soundcloud.Client) -> None:
    first, second, third = (t for t in fake.track_ids[:3])
    created = client.playlists.create(
        title="A mix", sharing="private", tracks=[first, f"soundcloud:tracks:{second}", client.tracks.get(third)]
    )
    assert type(created) is Playlist and created.title == "A mix"
    post = api_calls(fake, "POST")[0]
    assert post.header("content-type") == "application/json"
    assert json.loads(post.body) == {
        "playlist": {
            "title": "A mix",
            "sharing": "private",
            "tracks": [{"urn": f"soundcloud:tracks:{n}"} for n in (first, second, third)],
        }
    }
    assert client.playlists.get(created) == client.playlists.get(created.urn)
    listed = list(client.playlists.tracks(created))
    assert [t.to_dict()["id"] for t in listed] == [first, second, third] and all(type(t) is Track for t in listed)

    updated = client.playlists.update(created, title="Renamed", tracks=[third])
    assert type(updated) is Playlist and updated.title == "Renamed"
    assert [t.to_dict()["id"] for t in client.playlists.tracks(created)] == [third]
    assert client.playlists.delete(created) is None
    with pytest.raises(soundcloud.NotFoundError):
        client.playlists.get(created)


# -- resolve -----------------------------------------------------------------------------------


def test_resolve_gives_a_track_a_user_or_a_playlist(fake: "FakeSoundCloud", client: soundcloud.Client) -> None:
    track = client.resolve("https://soundcloud.com/forss/flickermood")
    assert type(track) is Track and track.title == "Flickermood"
    user = client.resolve("https://soundcloud.com/forss")
    assert type(user) is User and user.username == "forss"
    playlist = client.playlists.get(1)
    found = client.resolve(f"https://soundcloud.com/{fake.user['permalink']}/sets/{playlist.permalink}")
    assert type(found) is Playlist and found.urn == playlist.urn
    assert [r.path for r in api_calls(fake) if r.path == "/resolve"] == ["/resolve"] * 3
    with pytest.raises(soundcloud.NotFoundError):
        client.resolve("https://soundcloud.com/nobody-here-at-all")


# -- arguments and pages, checked before or without the fake -----------------------------------


@pytest.mark.parametrize("value", [True, -1, "", "..", 2.5, None])
def test_a_path_argument_that_names_nothing_is_refused(
    fake: "FakeSoundCloud", client: soundcloud.Client, value: object
) -> None:
    with pytest.raises((TypeError, ValueError)):
        client.tracks.get(value)  # type: ignore[arg-type]
    assert fake.requests == []


def test_a_model_is_named_by_its_urn_else_its_id() -> None:
    assert path_id(User({"urn": "soundcloud:users:5", "id": 6})) == "soundcloud:users:5"
    assert path_id(User({"id": 6})) == "6"
    assert path_id(Track({"urn": "soundcloud:tracks:1/x"})) == "soundcloud:tracks:1%2Fx"
    with pytest.raises(ValueError, match="this User has no urn or id"):
        path_id(User({"username": "nobody"}))


def test_a_path_argument_stays_one_segment(fake: "FakeSoundCloud", client: soundcloud.Client) -> None:
    with pytest.raises(soundcloud.NotFoundError):
        client.users.get("183/tracks")
    (request,) = api_calls(fake)
    assert request.path == "/users/183%2Ftracks"


@pytest.mark.parametrize("page_size", [0, 201, True])
def test_page_size_is_checked_before_sending(
    fake: "FakeSoundCloud", client: soundcloud.Client, page_size: int
) -> None:
    with pytest.raises(ValueError, match="page_size is the page size, from 1 to 200"):
        client.tracks.search(page_size=page_size)
    with pytest.raises(ValueError, match="max_items must be 0 or more"):
        client.me.followings(max_items=-1)
    assert list(client.users.search(max_items=0)) == []
    assert fake.requests == []


def _client_of(server: RequestServer) -> soundcloud.Client:
    return opened(soundcloud.Client(access_token="t0ken", api_url=server.url, timeout=TIMEOUT))


def test_pages_refuse_items_that_are_no_objects_and_pages_that_loop() -> None:
    with RequestServer(lambda ctx: ctx.respond_json(200, [{"urn": "soundcloud:users:1"}, 7])) as server:
        users = _client_of(server).users.search(q="x")
        assert next(users).urn == "soundcloud:users:1"
        with pytest.raises(soundcloud.DecodeError, match="an item of the collection is a JSON int"):
            next(users)

    def looping(ctx: FaultContext) -> bool:
        url = ctx.server.url + "/users?cursor=same"
        return ctx.respond_json(200, {"collection": [{"urn": f"soundcloud:users:{ctx.hit}"}], "next_href": url})

    with RequestServer(looping) as server:
        with pytest.raises(soundcloud.SoundCloudError, match="pagination loop"):
            list(_client_of(server).users.search())
        assert server.count() == 2


def test_an_answer_that_is_no_object_is_a_decode_error() -> None:
    with RequestServer(lambda ctx: ctx.respond_json(200, [1, 2])) as server:
        with pytest.raises(soundcloud.DecodeError, match="expected a JSON object, got a JSON array"):
            _client_of(server).me.get()


# -- the generic verbs and Resource stay ---------------------------------------------------------


def test_generic_verbs_and_resources_are_unchanged(fake: "FakeSoundCloud", client: soundcloud.Client) -> None:
    resource = client.get("/tracks/293")
    assert isinstance(resource, soundcloud.Resource) and resource.title == "Flickermood"
    assert resource.fields() == client.tracks.get(FLICKERMOOD).to_dict()
    items = list(client.paginate("/tracks", limit=50, max_items=60))
    assert len(items) == 60 and all(isinstance(item, soundcloud.Resource) for item in items)
    page = client.get("/me/followings", limit=5, linked_partitioning=True)
    assert isinstance(page.collection, soundcloud.ResourceList) and len(page.collection) == 5
    # Namespaces are made on first use and kept.
    assert client.tracks is client.tracks and client.me is client.me
    assert repr(client.users) == "<soundcloud.namespaces.UsersAPI>"
