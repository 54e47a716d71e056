"""The fake SoundCloud's ``/me`` social views, over real sockets with http.client: followers
both ways, the feed and the activities (``next_href`` and ``future_href``), the followed
users' tracks, recently played tracks, reposts and likes of tracks and playlists, and how
these agree with the write endpoints and the ``/users/{urn}/...`` lists; credentials, the
``access`` filter, cursors, limits and ids (never a 5xx); the answers against the spec.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List, Optional, Set
from urllib.parse import quote

import pytest

from support.fake_calls import Clock, assert_api_error, call

from soundcloud._operations import OPERATIONS
from soundcloud.testing import FakeSoundCloud

ME_PATHS = [
    "/me/activities",
    "/me/activities/all/own",
    "/me/activities/tracks",
    "/me/feed",
    "/me/feed/tracks",
    "/me/recently-played/tracks",
    "/me/followings/tracks",
    "/me/followings/soundcloud:users:2001",
    "/me/followers/soundcloud:users:183",
    "/me/followings",
    "/me/followers",
    "/me/reposts/tracks",
    "/me/reposts/playlists",
    "/me/likes/playlists",
]
ACTIVITY_PATHS = ["/me/activities", "/me/activities/all/own", "/me/activities/tracks", "/me/feed", "/me/feed/tracks"]
FOLLOWED = list(range(2001, 2061))
FOLLOWERS = {183} | set(range(2001, 2031))  # forss and the artists who follow back
TYPES = {"track", "playlist", "track:repost", "playlist:repost"}


def get(fake: FakeSoundCloud, token: str, target: str) -> Any:
    reply = call(target if target.startswith("http") else fake.api_url + target, token=token)
    assert reply.status == 200, (target, reply.status, reply.body[:300])
    return reply.json()


def ids(items: List[Dict[str, Any]]) -> List[int]:
    return [int(item["id"]) for item in items]


def when(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y/%m/%d %H:%M:%S %z")


def owner_of(activity: Dict[str, Any]) -> int:
    return int(activity["origin"]["user"]["id"])


def every_page(fake: FakeSoundCloud, token: str, first: str) -> List[Dict[str, Any]]:
    """All items, following next_href; each page must also carry a future_href."""
    items: List[Dict[str, Any]] = []
    target: Optional[str] = first
    pages = 0
    while target is not None:
        page = get(fake, token, target)
        assert isinstance(page["future_href"], str) and page["future_href"].startswith(fake.api_url)
        items += page["collection"]
        target = page["next_href"]
        pages += 1
        assert pages < 100, "next_href never ends"
    return items


# --------------------------------------------------------------------------- coverage, credentials


def test_every_me_operation_of_the_spec_is_served(fake: FakeSoundCloud, token: str) -> None:
    me_gets = [op.path for op in OPERATIONS if op.method == "GET" and op.path.startswith("/me")]
    assert len(me_gets) == 18  # the spec's GET operations under /me
    for template in me_gets:
        path = template.replace("{user_urn}", "soundcloud:users:2001").replace("{follower_urn}", "soundcloud:users:183")
        assert call(fake.api_url + path, token=token).status == 200, path


def test_me_views_need_a_user_token(fake: FakeSoundCloud) -> None:
    app = fake.issue_token(user=False)
    for path in ME_PATHS:
        assert_api_error(call(fake.api_url + path, token=app), 401, "401 - Unauthorized")
        assert_api_error(call(fake.api_url + path), 401, "401 - Unauthorized")
        assert call(f"{fake.api_url}{path}?client_id={fake.client_id}").status == 401


# --------------------------------------------------------------------------- followers, followings


def test_followers_both_ways_agree_with_the_users_lists(fake: FakeSoundCloud, token: str) -> None:
    me = fake.user_id
    followers = get(fake, token, "/me/followers?limit=200")
    assert set(ids(followers["collection"])) == FOLLOWERS and followers["next_href"] is None
    users_view = get(fake, token, f"/users/soundcloud:users:{me}/followers?linked_partitioning=true&limit=200")
    assert ids(users_view["collection"]) == ids(followers["collection"])
    followings = get(fake, token, "/me/followings?limit=200")["collection"]
    assert ids(followings) == FOLLOWED
    assert me in ids(get(fake, token, "/users/183/followings?linked_partitioning=true")["collection"])
    assert me not in ids(get(fake, token, "/users/2031/followings?linked_partitioning=true")["collection"])
    profile = get(fake, token, "/me")
    assert (profile["followers_count"], profile["followings_count"]) == (len(FOLLOWERS), len(FOLLOWED))


def test_one_follower_and_one_following_or_404(fake: FakeSoundCloud, token: str) -> None:
    assert get(fake, token, "/me/followers/soundcloud:users:183")["username"] == "forss"
    assert get(fake, token, "/me/followers/2001")["urn"] == "soundcloud:users:2001"  # numeric ids too
    assert get(fake, token, "/me/followings/soundcloud:users:2031")["id"] == 2031
    # 2031 is followed and does not follow back; forss follows and is not followed; 123 neither.
    assert_api_error(call(f"{fake.api_url}/me/followers/soundcloud:users:2031", token=token), 404, "404 - Not Found")
    assert_api_error(call(f"{fake.api_url}/me/followings/soundcloud:users:183", token=token), 404, "404 - Not Found")
    for path in ("/me/followers/123", "/me/followings/123", "/me/followings/soundcloud:users:424242"):
        assert call(fake.api_url + path, token=token).status == 404
    assert call(f"{fake.api_url}/me/followings/soundcloud:users:183", "PUT", token=token).status == 200
    assert get(fake, token, "/me/followings/soundcloud:users:183")["id"] == 183
    assert call(f"{fake.api_url}/me/followings/soundcloud:users:183", "DELETE", token=token).status == 200
    assert call(f"{fake.api_url}/me/followings/soundcloud:users:183", token=token).status == 404


def test_path_ids_urns_numbers_and_nonsense(fake: FakeSoundCloud, token: str) -> None:
    for base in ("/me/followings/", "/me/followers/"):
        assert call(f"{fake.api_url}{base}{2**31}", token=token).status == 422  # numeric over 2^31
        assert call(f"{fake.api_url}{base}{'9' * 5000}", token=token).status == 422
        for raw in ("soundcloud:tracks:2001", "soundcloud:users:" + "9" * 5000, "%C2%B2", "soundcloud:users:%C2%B2", "-1"):
            assert call(f"{fake.api_url}{base}{raw}", token=token).status == 404, raw


def test_followings_and_followers_are_users_pages_with_or_without_linked_partitioning(
    fake: FakeSoundCloud, token: str
) -> None:
    # The spec answers both with the Users object only; numeric paging by next_href or offset.
    bare = get(fake, token, "/me/followings?limit=25")
    assert set(bare) == {"collection", "next_href"} and len(bare["collection"]) == 25
    seen = ids(bare["collection"])
    target = bare["next_href"]
    while target:
        page = get(fake, token, target)
        seen += ids(page["collection"])
        target = page["next_href"]
    assert seen == FOLLOWED
    assert ids(get(fake, token, "/me/followings?offset=50")["collection"]) == FOLLOWED[50:]
    linked = get(fake, token, "/me/followers?linked_partitioning=true&limit=10")
    assert len(linked["collection"]) == 10 and linked["next_href"].startswith(fake.api_url)


# --------------------------------------------------------------------------- feed and activities


def test_feed_is_what_the_followed_users_posted_and_reposted_newest_first(fake: FakeSoundCloud, token: str) -> None:
    feed = get(fake, token, "/me/feed?limit=200")
    items = feed["collection"]
    assert feed["next_href"] is None and isinstance(feed["future_href"], str)
    assert len(items) == 4 + 30 + 2  # the artists' playlists, their track and playlist reposts
    assert {item["type"] for item in items} == TYPES - {"track"}  # the artists upload nothing
    stamps = [when(item["created_at"]) for item in items]
    assert stamps == sorted(stamps, reverse=True)
    for item in items:
        if item["type"].endswith(":repost"):
            assert int(item["reposter"].rsplit(":", 1)[1]) in FOLLOWED
        else:
            assert "reposter" not in item and owner_of(item) in FOLLOWED
        assert item["origin"]["kind"] == item["type"].split(":")[0]
    assert get(fake, token, "/me/activities?limit=200")["collection"] == items  # the deprecated alias
    tracks = get(fake, token, "/me/feed/tracks?limit=200")["collection"]
    assert tracks == [item for item in items if item["type"].startswith("track")] and len(tracks) == 30
    assert get(fake, token, "/me/activities/tracks?limit=200")["collection"] == tracks


def test_own_activities_are_on_the_users_own_sounds(fake: FakeSoundCloud, token: str) -> None:
    me = fake.user_id
    own = get(fake, token, "/me/activities/all/own?limit=200")["collection"]
    assert all(owner_of(item) == me for item in own)
    reposters = {item["reposter"] for item in own if item["type"] == "playlist:repost"}
    assert reposters == {"soundcloud:users:2005", "soundcloud:users:2006"}  # they reposted playlist 1
    assert not any(item["origin"]["id"] == 293 for item in own)  # the user's repost of forss's track
    everything = every_page(fake, token, "/me/activities/all/own?limit=200")
    counts = {kind: sum(item["type"] == kind for item in everything) for kind in TYPES}
    feed = get(fake, token, "/me/feed/tracks?limit=200")["collection"]
    reposts_of_mine = [item for item in feed if owner_of(item) == me]
    assert counts == {"track": 450, "playlist": 1, "track:repost": len(reposts_of_mine), "playlist:repost": 2}
    assert 20 < len(reposts_of_mine) < 30  # the fans reposted the user's tracks and forss's


def test_next_href_pages_through_the_same_activities(fake: FakeSoundCloud, token: str) -> None:
    for path in ACTIVITY_PATHS:
        whole = get(fake, token, f"{path}?limit=200")["collection"]
        paged = every_page(fake, token, f"{path}?limit=7&access=playable,preview")
        assert paged[:200] == whole[:200] and len(paged) >= len(whole)
    first = get(fake, token, "/me/feed?limit=7&linked_partitioning=true")
    assert "limit=7" in first["next_href"] and "access" not in first["next_href"]
    assert "cursor=" in first["next_href"] and "linked_partitioning=true" in first["next_href"]


def test_future_href_polls_for_what_happens_next(clock: Clock) -> None:
    with FakeSoundCloud(clock=clock, tracks=5) as sc:
        token = sc.issue_token()
        first = get(sc, token, "/me/feed?limit=3")
        poll = get(sc, token, first["future_href"])
        assert poll["collection"] == [] and poll["next_href"] is None
        clock.advance(60)
        fresh = sc.add_track(user_id=2003, title="Fresh from artist 3")
        news = get(sc, token, poll["future_href"])
        assert [(item["type"], item["origin"]["id"]) for item in news["collection"]] == [("track", fresh["id"])]
        assert get(sc, token, news["future_href"])["collection"] == []
        assert get(sc, token, first["next_href"])["collection"][0]["origin"]["id"] != fresh["id"]
        assert get(sc, token, "/me/feed?limit=1")["collection"][0]["origin"]["id"] == fresh["id"]


def test_a_repost_shows_in_own_activities_and_reposts_until_undone(fake: FakeSoundCloud, token: str) -> None:
    assert call(f"{fake.api_url}/reposts/tracks/soundcloud:tracks:5", "POST", token=token).status == 201
    top = get(fake, token, "/me/activities/all/own?limit=1")["collection"][0]
    assert (top["type"], top["origin"]["id"], top["reposter"]) == ("track:repost", 5, f"soundcloud:users:{fake.user_id}")
    assert ids(get(fake, token, "/me/reposts/tracks")) == [293, 5]
    assert call(f"{fake.api_url}/reposts/tracks/soundcloud:tracks:5", "DELETE", token=token).status == 200
    assert ids(get(fake, token, "/me/reposts/tracks")) == [293]
    own = get(fake, token, "/me/activities/all/own?limit=200")["collection"]
    assert not any(item["type"] == "track:repost" and item.get("reposter", "").endswith(f":{fake.user_id}") for item in own)


# --------------------------------------------------------------------------- tracks of followings, plays


def test_followings_tracks_are_the_followed_users_uploads_newest_first(fake: FakeSoundCloud, token: str) -> None:
    assert get(fake, token, "/me/followings/tracks") == []  # the seeded artists upload nothing
    assert call(f"{fake.api_url}/me/followings/soundcloud:users:183", "PUT", token=token).status == 200
    assert ids(get(fake, token, "/me/followings/tracks")) == [293]
    newer = fake.add_track(user_id=2002, title="Newest upload")
    listed = get(fake, token, "/me/followings/tracks?linked_partitioning=true&limit=1")
    assert ids(listed["collection"]) == [newer["id"]] and listed["next_href"]
    assert ids(get(fake, token, listed["next_href"])["collection"]) == [293]
    assert ids(get(fake, token, "/me/followings/tracks?offset=1")) == [293]


def test_access_filters_tracks_in_lists_and_activities(fake: FakeSoundCloud, token: str) -> None:
    blocked = fake.add_track(user_id=2004, title="Blocked here", access="blocked")["id"]
    assert blocked not in ids(get(fake, token, "/me/followings/tracks"))  # default playable,preview
    assert ids(get(fake, token, "/me/followings/tracks?access=blocked")) == [blocked]
    assert blocked in ids(get(fake, token, "/me/followings/tracks?access=playable,preview,blocked"))
    assert blocked not in ids(get(fake, token, "/me/followings/tracks?access=nonsense"))  # unknown: default
    feed = get(fake, token, "/me/feed/tracks?limit=200")["collection"]
    assert blocked not in [item["origin"]["id"] for item in feed]
    with_blocked = get(fake, token, "/me/feed/tracks?limit=200&access=playable,blocked")["collection"]
    assert with_blocked[0]["origin"]["id"] == blocked
    assert get(fake, token, "/me/reposts/tracks?access=blocked") == []  # 293 is playable


def test_recently_played_is_25_distinct_tracks_latest_first(fake: FakeSoundCloud, token: str) -> None:
    played = get(fake, token, "/me/recently-played/tracks")
    assert len(played) == 25 and len(set(ids(played))) == 25 and played[0]["id"] == 293
    assert get(fake, token, "/me/recently-played/tracks?limit=3") == played  # no limit parameter
    linked = get(fake, token, "/me/recently-played/tracks?linked_partitioning=true")
    assert linked == {"collection": played, "next_href": None}
    assert get(fake, token, "/me/recently-played/tracks?access=blocked") == []
    assert get(fake, fake.issue_token(), "/me/recently-played/tracks?access=playable") == played


# --------------------------------------------------------------------------- reposts and likes


def test_reposts_and_likes_of_playlists_agree_with_the_writes(fake: FakeSoundCloud, token: str) -> None:
    me = fake.user_id
    reposted = get(fake, token, "/me/reposts/playlists")
    liked = get(fake, token, "/me/likes/playlists")
    assert [p["title"] for p in reposted] == ["Picks of artist-2"]
    assert [p["title"] for p in liked] == ["Picks of artist-1", "Picks of artist-3"]
    assert all(p["kind"] == "playlist" and p["tracks"] for p in reposted + liked)
    mine = get(fake, token, "/me/playlists")[0]["urn"]
    assert call(f"{fake.api_url}/likes/playlists/{mine}", "POST", token=token).status in (200, 201)
    assert call(f"{fake.api_url}/reposts/playlists/{mine}", "POST", token=token).status in (200, 201)
    assert [p["urn"] for p in get(fake, token, "/me/likes/playlists")][-1] == mine
    assert [p["urn"] for p in get(fake, token, "/me/reposts/playlists")][-1] == mine
    for kind in ("likes", "reposts"):
        ours = get(fake, token, f"/me/{kind}/playlists?linked_partitioning=true")["collection"]
        theirs = get(fake, token, f"/users/soundcloud:users:{me}/{kind}/playlists?linked_partitioning=true")
        assert ids(ours) == ids(theirs["collection"])
    top = get(fake, token, "/me/activities/all/own?limit=1")["collection"][0]
    assert (top["type"], top["origin"]["urn"], top["reposter"]) == ("playlist:repost", mine, f"soundcloud:users:{me}")
    assert call(f"{fake.api_url}/reposts/playlists/{mine}", "DELETE", token=token).status == 200
    assert call(f"{fake.api_url}/likes/playlists/{mine}", "DELETE", token=token).status == 200
    assert [p["title"] for p in get(fake, token, "/me/reposts/playlists")] == ["Picks of artist-2"]
    assert len(get(fake, token, "/me/likes/playlists")) == 2


def test_reposted_tracks_agree_with_the_users_list(fake: FakeSoundCloud, token: str) -> None:
    me = fake.user_id
    assert ids(get(fake, token, "/me/reposts/tracks")) == [293]
    linked = get(fake, token, "/me/reposts/tracks?linked_partitioning=true&limit=1")
    assert ids(linked["collection"]) == [293] and linked["next_href"] is None
    theirs = get(fake, token, f"/users/soundcloud:users:{me}/reposts/tracks?linked_partitioning=true")
    assert ids(theirs["collection"]) == [293]


# --------------------------------------------------------------------------- requests the fake checks


def test_limits_cursors_and_unknown_parameters(fake: FakeSoundCloud, token: str) -> None:
    for path in ACTIVITY_PATHS:
        assert len(get(fake, token, f"{path}?limit=0")["collection"]) == 1  # clamped to 1..200
        assert_api_error(call(f"{fake.api_url}{path}?limit=many", token=token), 400, "400 - Bad Request")
        assert_api_error(call(f"{fake.api_url}{path}?cursor=not-ours", token=token), 400, "400 - Bad Request")
    assert len(get(fake, token, "/me/activities/all/own?limit=1000")["collection"]) == 200
    assert len(get(fake, token, "/me/activities/all/own")["collection"]) == 50  # the default
    plain = get(fake, token, "/me/reposts/playlists")
    assert get(fake, token, "/me/reposts/playlists?urns[]=soundcloud:playlists:1&colour=red") == plain
    assert call(f"{fake.api_url}/me/followings/tracks?offset=%C2%B2", token=token).status == 400


WEIRD = ["", "abc", "-5", "0", "9" * 5000, "%C2%B2", "%FF", "1e3", "soundcloud:tracks:1", "ZmFrZS1hY3Rpdml0aWVzfDEuMi4zfHw"]


@pytest.mark.parametrize("name", ["limit", "offset", "cursor", "access", "linked_partitioning", "page_size"])
def test_no_query_value_makes_a_5xx(fake: FakeSoundCloud, token: str, name: str) -> None:
    failures: Set[str] = set()
    for path in ME_PATHS:
        for value in WEIRD:
            target = f"{fake.api_url}{path}?{name}={quote(value, safe='%')}"
            if name != "limit":
                target += "&limit=2"  # keeps the run short
            if call(target, token=token).status >= 500:
                failures.add(target[:150])
    assert not failures


# --------------------------------------------------------------------------- against the spec

def test_answers_match_the_spec(fake: FakeSoundCloud, token: str) -> None:
    from support.spec import SpecAnswer, SpecRequest, answer_problems, fetch, require_spec

    require_spec()
    assert call(f"{fake.api_url}/me/followings/soundcloud:users:183", "PUT", token=token).status == 200
    headers = {"Authorization": "OAuth " + token, "Accept": "application/json"}
    problems: List[str] = []
    for path in ME_PATHS:
        for query in ("?limit=3", "?limit=3&linked_partitioning=true", "?access=playable,preview,blocked"):
            status, answer_headers, data = fetch(fake.api_url + path + query, headers=headers)
            assert status == 200, (path, query, data[:200])
            request = SpecRequest.from_url("GET", path + query, headers)
            problems.extend(f"{path}{query}: {line}" for line in answer_problems(request, SpecAnswer(status, answer_headers, data)))
    assert not problems, "\n".join(problems[:20])
