"""The fake SoundCloud's social endpoints over real sockets, without the client library:
comments (JSON-only posts, the live API's 422s), playlist likes and reposts, reposters,
a user's likes, reposts and followings, related tracks and users, web profiles, the
preview redirect and track storefronts (owner and creator plan only).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from support.fake_calls import Reply, assert_api_error, call

from soundcloud.testing import FakeSoundCloud

JSON = {"Content-Type": "application/json"}


def send_json(url: str, method: str, payload: Any, token: str) -> Reply:
    return call(url, method, token=token, headers=JSON, body=json.dumps(payload).encode())


def ids(items: List[Dict[str, Any]]) -> List[int]:
    return [item["id"] for item in items]


# --------------------------------------------------------------------------- comments


def test_comments_list_newest_first_and_post_json(fake: FakeSoundCloud, token: str) -> None:
    url = f"{fake.api_url}/tracks/soundcloud:tracks:293/comments"
    seeded = call(url, token=token).json()
    assert [c["body"] for c in seeded] == ["The drop at 1:20!", "Still on repeat after all these years."]
    assert seeded[1]["user"]["username"] == "forss" and seeded[1]["timestamp"] == 4960
    posted = send_json(url, "POST", {"comment": {"body": "Lovely", "timestamp": "61000.5"}}, token)
    assert posted.status == 201
    comment = posted.json()
    assert comment["kind"] == "comment" and comment["body"] == "Lovely" and comment["timestamp"] == 61000
    assert comment["urn"] == f"soundcloud:comments:{comment['id']}"
    assert comment["track_urn"] == "soundcloud:tracks:293"
    assert comment["user_urn"] == f"soundcloud:users:{fake.user_id}" and comment["user"]["id"] == fake.user_id
    page = call(url + "?linked_partitioning=true&limit=2", token=token).json()
    assert ids(page["collection"]) == [comment["id"], seeded[0]["id"]] and page["next_href"]
    assert call(page["next_href"], token=token).json() == {"collection": [seeded[1]], "next_href": None}
    assert call(f"{fake.api_url}/tracks/293", token=token).json()["comment_count"] == 3
    untimed = send_json(url, "POST", {"comment": {"body": "No position"}}, token)
    assert untimed.status == 201 and untimed.json()["timestamp"] is None


def test_comment_bodies_other_than_json_get_the_live_apis_422(fake: FakeSoundCloud, token: str) -> None:
    url = f"{fake.api_url}/tracks/soundcloud:tracks:293/comments"
    form = call(
        url, "POST", token=token, body=b"comment[body]=Sick!",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert assert_api_error(form, 422, "422 - Unprocessable Entity")["errors"][0]["error_message"] == (
        "Could not parse JSON request body."
    )
    broken = call(url, "POST", token=token, headers=JSON, body=b'{"comment": {"body": "x"')
    assert broken.json()["errors"][0]["error_message"] == "Could not parse JSON request body."
    # soundcloud/api issue 50: the old query-string form finds no comment at all.
    in_query = call(url + "?comment[body]=Sick!", "POST", token=token)
    assert assert_api_error(in_query, 422, "422 - Unprocessable Entity")["errors"][0]["error_message"] == (
        "Parameter comment is missing."
    )
    for bad in ({"body": "x"}, {"comment": {"body": "  "}}, {"comment": {"body": "x", "timestamp": -1}},
                {"comment": {"body": "x", "timestamp": 10**9}}, {"comment": {"body": "x", "timestamp": "soon"}},
                {"comment": {"body": "x", "timestamp": True}}):  # fmt: skip
        assert send_json(url, "POST", bad, token).status == 422, bad
    assert len(call(url, token=token).json()) == 2  # nothing was stored


def test_comments_need_a_user_token_and_a_commentable_visible_track(fake: FakeSoundCloud, token: str) -> None:
    body = {"comment": {"body": "hi"}}
    app = fake.issue_token(user=False)
    assert_api_error(send_json(f"{fake.api_url}/tracks/293/comments", "POST", body, app), 403, "403 - Forbidden")
    assert send_json(f"{fake.api_url}/tracks/99999/comments", "POST", body, token).status == 404
    quiet = fake.add_track(user_id=183, title="Quiet", commentable=False, reveal_comments=False)
    assert send_json(f"{fake.api_url}/tracks/{quiet['id']}/comments", "POST", body, token).status == 422
    hidden = fake.add_track(user_id=183, title="Secret", sharing="private")
    assert call(f"{fake.api_url}/tracks/{hidden['id']}/comments", token=token).status == 404


def test_quiet_mode_hides_comments_from_all_but_the_owner(fake: FakeSoundCloud, token: str) -> None:
    theirs = fake.add_track(user_id=183, title="Theirs, quiet", reveal_comments=False)
    mine = fake.add_track(title="Mine, quiet", reveal_comments=False)
    for track in (theirs, mine):
        url = f"{fake.api_url}/tracks/{track['id']}/comments"
        assert send_json(url, "POST", {"comment": {"body": "psst"}}, token).status == 201
    assert call(f"{fake.api_url}/tracks/{theirs['id']}/comments", token=token).json() == []
    assert [c["body"] for c in call(f"{fake.api_url}/tracks/{mine['id']}/comments", token=token).json()] == ["psst"]


# --------------------------------------------------------------------------- likes, reposts, reposters


def test_playlist_likes_and_reposts(fake: FakeSoundCloud, token: str) -> None:
    me = f"soundcloud:users:{fake.user_id}"
    before = ids(call(f"{fake.api_url}/users/{me}/likes/playlists", token=token).json())
    liked = call(f"{fake.api_url}/likes/playlists/soundcloud:playlists:1", "POST", token=token)
    assert liked.status == 200 and liked.json() == {"status": "200 - OK"}
    assert ids(call(f"{fake.api_url}/users/{me}/likes/playlists", token=token).json()) == before + [1]
    assert call(f"{fake.api_url}/likes/playlists/1", "DELETE", token=token).json() == {"status": "200 - OK"}
    assert call(f"{fake.api_url}/likes/playlists/1", "DELETE", token=token).status == 200  # idempotent
    assert ids(call(f"{fake.api_url}/users/{me}/likes/playlists", token=token).json()) == before
    reposted = call(f"{fake.api_url}/reposts/playlists/soundcloud:playlists:1", "POST", token=token)
    assert reposted.status == 201 and reposted.json() == {"status": "201 - Created"}
    reposters = call(f"{fake.api_url}/playlists/soundcloud:playlists:1/reposters", token=token).json()
    assert fake.user_id in ids(reposters["collection"]) and reposters["next_href"] is None
    assert 1 in ids(call(f"{fake.api_url}/users/{me}/reposts/playlists", token=token).json())
    assert call(f"{fake.api_url}/reposts/playlists/1", "DELETE", token=token).status == 200
    assert 1 not in ids(call(f"{fake.api_url}/users/{me}/reposts/playlists", token=token).json())
    assert call(f"{fake.api_url}/likes/playlists/soundcloud:playlists:99999", "POST", token=token).status == 404
    app = fake.issue_token(user=False)
    assert_api_error(call(f"{fake.api_url}/reposts/playlists/1", "POST", token=app), 403, "403 - Forbidden")


def test_reposters_are_always_a_collection(fake: FakeSoundCloud, token: str) -> None:
    assert call(f"{fake.api_url}/reposts/tracks/293", "POST", token=token).status == 201
    first = call(f"{fake.api_url}/tracks/soundcloud:tracks:293/reposters?limit=1", token=token).json()
    assert len(first["collection"]) == 1 and first["next_href"]
    everyone: List[int] = ids(first["collection"])
    href: Optional[str] = first["next_href"]
    while href:
        page = call(href, token=token).json()
        everyone += ids(page["collection"])
        href = page["next_href"]
    assert fake.user_id in everyone and len(everyone) == len(set(everyone))
    assert call(f"{fake.api_url}/tracks/99999/reposters", token=token).status == 404


def test_user_reposted_tracks_honour_access(fake: FakeSoundCloud, token: str) -> None:
    blocked = fake.add_track(user_id=183, title="Blocked here", access="blocked")
    assert call(f"{fake.api_url}/reposts/tracks/{blocked['id']}", "POST", token=token).status == 201
    url = f"{fake.api_url}/users/soundcloud:users:{fake.user_id}/reposts/tracks"
    assert blocked["id"] not in ids(call(url, token=token).json())  # default playable,preview
    assert blocked["id"] in ids(call(url + "?access=playable,preview,blocked", token=token).json())
    assert ids(call(url + "?access=blocked", token=token).json()) == [blocked["id"]]


def test_user_following_is_the_user_or_404(fake: FakeSoundCloud, token: str) -> None:
    me = f"soundcloud:users:{fake.user_id}"
    followed = call(f"{fake.api_url}/users/{me}/followings/soundcloud:users:2001", token=token)
    assert followed.status == 200 and followed.json()["username"] == "artist-1"
    assert_api_error(call(f"{fake.api_url}/users/{me}/followings/soundcloud:users:123", token=token), 404, "404 - Not Found")
    assert call(f"{fake.api_url}/users/{me}/followings/soundcloud:users:99999", token=token).status == 404


def test_user_followers_and_followings_are_collections(fake: FakeSoundCloud, token: str) -> None:
    # The spec's Users, and neither operation takes linked_partitioning: no bare-array form.
    followings = call(f"{fake.api_url}/users/{fake.user_id}/followings?limit=50", token=token).json()
    assert len(followings["collection"]) == 50 and followings["next_href"]
    rest = call(followings["next_href"], token=token).json()
    assert len(rest["collection"]) == 10 and rest["next_href"] is None
    followers = call(f"{fake.api_url}/users/2001/followers", token=token).json()
    assert fake.user_id in ids(followers["collection"])


# --------------------------------------------------------------------------- related, web profiles, preview


def test_related_tracks_share_the_genre(fake: FakeSoundCloud, token: str) -> None:
    genre = call(f"{fake.api_url}/tracks/1", token=token).json()["genre"]
    related = call(f"{fake.api_url}/tracks/soundcloud:tracks:1/related?limit=200", token=token).json()
    assert related and 1 not in ids(related) and all(t["genre"] == genre for t in related)
    page = call(f"{fake.api_url}/tracks/soundcloud:tracks:1/related?linked_partitioning=true&limit=5", token=token).json()
    assert ids(page["collection"]) == ids(related)[:5] and page["next_href"]


def test_related_users_are_co_followed_then_genre_peers(fake: FakeSoundCloud, token: str) -> None:
    related = call(f"{fake.api_url}/users/soundcloud:users:2001/related?limit=200", token=token).json()
    assert 2001 not in ids(related) and 2002 in ids(related)  # both followed by the test user
    page = call(f"{fake.api_url}/users/2001/related?linked_partitioning=true&limit=3", token=token).json()
    assert ids(page["collection"]) == ids(related)[:3]
    peers = call(f"{fake.api_url}/users/soundcloud:users:183/related", token=token).json()
    assert fake.user_id in ids(peers)  # posts Electronic tracks, as forss does


def test_web_profiles(fake: FakeSoundCloud, token: str) -> None:
    profiles = call(f"{fake.api_url}/users/soundcloud:users:{fake.user_id}/web-profiles", token=token).json()
    assert [(p["kind"], p["service"]) for p in profiles] == [("web-profile", "bandcamp"), ("web-profile", "instagram")]
    assert all(p["urn"] == f"soundcloud:web-profiles:{p['id']}" and p["url"].startswith("https://") for p in profiles)
    limited = call(f"{fake.api_url}/users/{fake.user_id}/web-profiles?limit=1&linked_partitioning=true", token=token)
    assert len(limited.json()) == 1  # WebProfiles is an array, paged or not
    assert call(f"{fake.api_url}/users/123/web-profiles", token=token).json() == []
    assert call(f"{fake.api_url}/users/99999/web-profiles", token=token).status == 404


def test_preview_redirects_to_the_cdn_preview(fake: FakeSoundCloud, token: str) -> None:
    reply = call(f"{fake.api_url}/tracks/soundcloud:tracks:1/preview", token=token)
    assert reply.status == 302 and reply.json() == {"status": "302 - Found", "location": reply.headers["location"]}
    assert reply.headers["location"].startswith(f"{fake.cdn_url}/preview/1.mp3?")
    assert call(reply.headers["location"]).status == 200
    blocked = fake.add_track(title="Not here", access="blocked")
    assert call(f"{fake.api_url}/tracks/{blocked['id']}/preview", token=token).status == 404


def test_users_favorites_is_the_deprecated_likes_list(fake: FakeSoundCloud, token: str) -> None:
    assert call(f"{fake.api_url}/likes/tracks/293", "POST", token=token).status == 200
    favorites = call(f"{fake.api_url}/users/soundcloud:users:{fake.user_id}/favorites", token=token).json()
    assert ids(favorites) == [293]


# --------------------------------------------------------------------------- storefront


def test_storefront_replaces_the_whole_storefront() -> None:
    with FakeSoundCloud(user={"plan": "Artist Pro"}, tracks=3) as sc:
        token = sc.issue_token()
        url = f"{sc.api_url}/tracks/soundcloud:tracks:1/storefront"
        full = {"title": "Get it", "type": "vinyl", "link": "https://shop.example/1", "link_title": "Buy",
                "description": "180 g", "price": "25 EUR"}  # fmt: skip
        reply = send_json(url, "PUT", full, token)
        assert reply.status == 200
        assert reply.json() == dict(full, track_urn="soundcloud:tracks:1", image_url=None)
        lean = send_json(url, "PUT", {"title": "Free", "type": "digital", "link": "http://x.example"}, token)
        assert lean.json()["link_title"] is None and lean.json()["price"] is None  # left out: cleared
        for bad in ({"type": "digital", "link": "https://x.example"}, dict(full, type="car"),
                    dict(full, link="ftp://x.example"), dict(full, link="http://[::1"), dict(full, title="x" * 101),
                    dict(full, price=5), ["not", "an", "object"]):  # fmt: skip
            assert_api_error(send_json(url, "PUT", bad, token), 400, "400 - Bad Request")
        form = call(url, "PUT", token=token, headers={"Content-Type": "application/x-www-form-urlencoded"}, body=b"title=x")
        assert form.status == 422
        assert send_json(f"{sc.api_url}/tracks/293/storefront", "PUT", full, token).status == 403  # forss's


def test_storefront_needs_a_creator_plan(fake: FakeSoundCloud, token: str) -> None:
    body = {"title": "Get it", "type": "digital", "link": "https://shop.example/1"}
    reply = send_json(f"{fake.api_url}/tracks/1/storefront", "PUT", body, token)
    assert assert_api_error(reply, 403, "403 - Forbidden")["errors"][0]["error_message"].startswith("a storefront needs")
