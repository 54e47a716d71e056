"""The fake SoundCloud's API origin, over real sockets with http.client: which credentials
open which endpoints (OAuth/Bearer tokens, app tokens, ``client_id``, expiry), the track
resources (shape, ids and URNs, lists, linked partitioning, search, multipart uploads,
updates, deletes), and users, ``/me``, followings, apps, ``/resolve``, playlists, likes,
reposts and the 404/405 answers, pinned down byte by byte without the client library.
"""

from __future__ import annotations

import json
import secrets
from typing import List, Mapping, Optional, Tuple
from urllib.parse import urlencode

from support.fake_calls import Clock, Reply, assert_api_error, call

from soundcloud.testing import FakeSoundCloud


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


def test_secondary_lists_and_searches(fake: FakeSoundCloud, token: str) -> None:
    call(f"{fake.api_url}/likes/tracks/1", "POST", token=token)
    favoriters = call(f"{fake.api_url}/tracks/1/favoriters", token=token).json()
    assert [u["id"] for u in favoriters] == [fake.user_id]
    followers = call(f"{fake.api_url}/users/2001/followers", token=token).json()["collection"]
    assert [u["id"] for u in followers] == [fake.user_id]
    mine_f = call(f"{fake.api_url}/me/followers?limit=200", token=token).json()["collection"]
    assert sorted(u["id"] for u in mine_f) == [183] + list(range(2001, 2031))  # store_social seed
    assert len(call(f"{fake.api_url}/me/followings?limit=200", token=token).json()["collection"]) == 60
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


def test_removed_endpoint_and_wrong_method_are_405(fake: FakeSoundCloud, token: str) -> None:
    assert_api_error(call(f"{fake.api_url}/me/connections", token=token), 405, "405 - Method Not Allowed")
    patched = call(f"{fake.api_url}/tracks/293", "PATCH", token=token)
    assert patched.status == 405 and set(patched.headers["allow"].split(", ")) == {"DELETE", "GET", "PUT"}
    assert_api_error(call(f"{fake.api_url}/no/such/thing", token=token), 404, "404 - Not Found")
