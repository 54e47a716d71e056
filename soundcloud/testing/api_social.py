"""API handlers for what people do with tracks, playlists and users: comments, reposts, playlist
likes, related items, web profiles, previews and storefronts.

Comments
    ``GET /tracks/{urn}/comments`` lists a track's comments, newest first (a bare array
    without ``linked_partitioning``: spec/errata.json
    ``bare-array-without-linked-partitioning``); a track in quiet mode (``reveal_comments`` false) shows its comments to its owner only.
    ``POST /tracks/{urn}/comments`` takes JSON only, ``{"comment": {"body": "...",
    "timestamp": ms}}`` (``timestamp``, the position in the track, a number or a string
    holding one, is optional) and answers 201 with the Comment. A form or multipart body,
    or JSON that does not parse, answers 422 "Could not parse JSON request body." and a
    body without ``comment`` 422 "Parameter comment is missing.", the live API's words
    (soundcloud/api issues 154 and 50). An empty ``body``, a timestamp that is not a
    number from 0 to the track's duration, or a track that is not ``commentable``
    answer 422 too (the only client error the spec lists for this operation).
Reposts and playlist likes
    ``POST/DELETE /likes/playlists/{urn}`` (200 ``{"status": "200 - OK"}`` both ways) and
    ``POST/DELETE /reposts/playlists/{urn}`` (201, then 200), in ``store_social``'s
    tables; a DELETE of what is not there is idempotent (200), 404 only for a playlist
    that does not exist (or is someone else's private one). ``GET /tracks/{urn}/reposters``
    and ``GET /playlists/{urn}/reposters`` list the users who reposted, always as
    ``{"collection", "next_href"}``: they take no ``linked_partitioning``, and the live
    API pages them with ``next_href`` when it is not sent (soundcloud/api issue 368).
A user's lists
    ``GET /users/{urn}/likes/playlists``, ``/reposts/tracks`` (``access``, default
    ``playable,preview``) and ``/reposts/playlists``, in the order they happened; private
    playlists and tracks only for their owner. ``GET /users/{urn}/followings/{urn}``
    answers the followed user, or 404 when the first does not follow the second.
    ``GET /users/{urn}/followers`` and ``/followings`` (``api_users``) are served through
    ``as_collection``: always ``{"collection", "next_href"}``, as reposters are.
    ``GET /users/{urn}/web-profiles`` is a JSON array of the user's profile links
    (``kind`` ``web-profile``), at most ``limit``.
Related
    ``GET /tracks/{urn}/related``: the other public tracks of the same genre, by id
    (``access``, default ``playable,preview``). ``GET /users/{urn}/related``: the users
    followed by the user's followers, most shared first, then the owners of public
    tracks in the user's genres (a bare array without ``linked_partitioning``, as the
    errata say).
Preview and storefront
    ``GET /tracks/{urn}/preview`` answers 302 to the track's signed 30-second preview on
    the CDN (404 for a ``blocked`` track). ``PUT /tracks/{urn}/storefront`` takes JSON
    only (StorefrontUpdateRequest: ``title``, ``type`` and an http(s) ``link`` required;
    ``link_title``, ``description`` and ``price`` cleared when left out) and answers 200
    with the Storefront. Someone else's track answers 403, and so does a user on the
    ``Free`` plan (the spec: it "fails with 403 ... when the user does not hold a creator
    subscription"; any other ``plan`` of the configured user counts as one). A missing or
    malformed field answers 400.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any, Callable, Dict, Final, FrozenSet, List, Optional, Sequence
from urllib.parse import urlsplit

from .api_base import _ApiBase
from .api_query import _access
from .http import _api_error, _Call, _Fail, _Handler, _json, _ok, _redirect, _Response
from .store import JsonDict, _now_stamp

__all__ = ["_SocialHandlers"]

_STOREFRONT_TYPES: Final[FrozenSet[str]] = frozenset(
    {
        "digital",
        "vinyl",
        "cd",
        "cassette",
        "apparel",
        "sample_pack",
        "subscription",
        "live_event",
        "live_stream",
        "other",
    }
)
# StorefrontUpdateRequest: field -> maxLength (title, type and link are required; type has
# no maxLength, it is one of _STOREFRONT_TYPES, checked after the lengths).
_STOREFRONT_LENGTHS: Final[Dict[str, int]] = {
    "title": 100,
    "type": 20,
    "link": 255,
    "link_title": 50,
    "description": 500,
    "price": 20,
}
_FREE_PLAN: Final = "Free"


def _with_query(call: _Call, name: str, value: Optional[str]) -> _Call:
    """``call`` with query parameter ``name`` set to ``value`` (None: removed)."""
    query = {k: v for k, v in call.request.query.items() if k != name}
    if value is not None:
        query[name] = [value]
    return _Call(replace(call.request, query=query), call.args, call.caller)


def _timestamp(value: Any, duration: int) -> Optional[int]:
    """A comment's position in milliseconds: a number, or a string holding one (the spec)."""
    if value is None:
        return None
    number: Optional[float] = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and value.strip():
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or not 0 <= number <= duration:
        raise _Fail(_api_error(422, f"comment[timestamp] must be a position in the track, 0 to {duration} ms"))
    return int(number)


class _SocialHandlers(_ApiBase):
    """Comments, reposts, playlist likes, related items, web profiles, previews, storefronts."""

    def collection(self, call: _Call, items: Sequence[Any], render: Callable[[Any], JsonDict]) -> _Response:
        """A list that is always ``{"collection", "next_href"}``, with or without linked_partitioning."""
        return self.page(_with_query(call, "linked_partitioning", "true"), items, render)

    def as_collection(self, handler: _Handler) -> _Handler:
        """``handler``'s list always as ``{"collection", "next_href"}`` (for lists that take no
        ``linked_partitioning``: the spec gives them no bare-array form)."""

        def serve(call: _Call) -> _Response:
            return handler(_with_query(call, "linked_partitioning", "true"))

        return serve

    def users_of(self, user_ids: Sequence[int]) -> List[JsonDict]:
        return [self.store.users[u] for u in user_ids if u in self.store.users]

    def playlist_listed(self, playlist: JsonDict, call: _Call) -> bool:
        return bool(playlist["sharing"] == "public" or playlist["user_id"] == call.caller.user_id)

    # -- comments -------------------------------------------------------------------

    def render_comment(self, comment: JsonDict) -> JsonDict:
        cid, tid, uid = comment["id"], comment["track_id"], comment["user_id"]
        return {
            "kind": "comment",
            "id": cid,
            "urn": f"soundcloud:comments:{cid}",
            "body": comment["body"],
            "created_at": comment["created_at"],
            "timestamp": comment["timestamp"],
            "track_id": tid,
            "track_urn": f"soundcloud:tracks:{tid}",
            "user_id": uid,
            "user_urn": f"soundcloud:users:{uid}",
            "uri": f"{self.store.api_url}/comments/{cid}",
            "user": self.store.render_user(self.store.users[uid], compact=True),
        }

    def track_comments(self, call: _Call) -> _Response:
        track = self.track(call)
        comments: List[JsonDict] = []
        if track["reveal_comments"] or track["user_id"] == call.caller.user_id:
            comments = [
                c for c in self.store.comments.values() if c["track_id"] == track["id"] and c["user_id"] in self.store.users
            ]
            comments.reverse()  # newest first
        return self.page(call, comments, self.render_comment)

    def post_comment(self, call: _Call) -> _Response:
        track = self.track(call)
        data = json.loads(call.request.body.decode("utf-8")) if call.request.body else None  # _taking checked it
        comment = data.get("comment") if isinstance(data, dict) else None
        if not isinstance(comment, dict):
            raise _Fail(_api_error(422, "Parameter comment is missing."))
        body = comment.get("body")
        if not isinstance(body, str) or not body.strip():
            raise _Fail(_api_error(422, "Parameter comment[body] is missing."))
        timestamp = _timestamp(comment.get("timestamp"), int(track["duration"]))
        if not track["commentable"]:
            raise _Fail(_api_error(422, "comments are disabled on this track"))
        assert call.caller.user_id is not None
        created = self.store.add_comment(track["id"], call.caller.user_id, body, timestamp, _now_stamp(self.store.clock))
        return _json(201, self.render_comment(created))

    # -- reposts and playlist likes -------------------------------------------------------

    def toggle_playlist(self, table: Dict[int, List[int]], call: _Call, created: int, kind: str) -> _Response:
        assert call.caller.user_id is not None
        pid = self.playlist(call)["id"]
        mine = table.setdefault(call.caller.user_id, [])
        if call.request.method == "DELETE":
            if pid in mine:  # idempotent: 404 only for a playlist that does not exist
                mine.remove(pid)  # store_social forgets the time of an undone repost itself
            return _ok(200)
        if pid not in mine:
            mine.append(pid)
            if kind == "repost":  # its time orders the reposters' feeds (store_social, api_me)
                self.store.note_repost("playlist", call.caller.user_id, pid)
        return _ok(created)

    def like_playlist(self, call: _Call) -> _Response:
        return self.toggle_playlist(self.store.playlist_likes, call, 200, "like")

    def repost_playlist(self, call: _Call) -> _Response:
        return self.toggle_playlist(self.store.playlist_reposts, call, 201, "repost")

    def track_reposters(self, call: _Call) -> _Response:
        tid = self.track(call)["id"]
        reposters = [u for u, reposted in self.store.reposts.items() if tid in reposted]
        return self.collection(call, self.users_of(reposters), self.store.render_user)

    def playlist_reposters(self, call: _Call) -> _Response:
        pid = self.playlist(call)["id"]
        reposters = [u for u, reposted in self.store.playlist_reposts.items() if pid in reposted]
        return self.collection(call, self.users_of(reposters), self.store.render_user)

    # -- a user's lists -------------------------------------------------------------------

    def playlist_list(self, call: _Call, table: Dict[int, List[int]]) -> _Response:
        ids = table.get(self.user(call)["id"], [])
        found = [self.store.playlists[p] for p in ids if p in self.store.playlists]
        listed = [p for p in found if self.playlist_listed(p, call)]
        return self.page(call, listed, lambda p: self.store.render_playlist(p, call.caller))

    def user_liked_playlists(self, call: _Call) -> _Response:
        return self.playlist_list(call, self.store.playlist_likes)

    def user_reposted_playlists(self, call: _Call) -> _Response:
        return self.playlist_list(call, self.store.playlist_reposts)

    def user_reposted_tracks(self, call: _Call) -> _Response:
        levels = _access(call)
        ids = self.store.reposts.get(self.user(call)["id"], [])
        tracks = [self.store.tracks[t] for t in ids if t in self.store.tracks]
        return self.track_page(call, [t for t in tracks if str(t.get("access") or "playable") in levels])

    def user_following(self, call: _Call) -> _Response:
        user = self.user(call)
        followed = self.user(call, 1)
        if followed["id"] not in self.store.followings.get(user["id"], []):
            raise _Fail(_api_error(404, f"user {user['id']} does not follow user {followed['id']}"))
        return _json(200, self.store.render_user(followed))

    def web_profiles(self, call: _Call) -> _Response:
        uid = self.user(call)["id"]

        def render(profile: JsonDict) -> JsonDict:
            out = {"kind": "web-profile", "urn": f"soundcloud:web-profiles:{profile['id']}"}
            out.update(profile)
            return out

        # The spec's WebProfiles is an array: linked_partitioning does not change that.
        profiles = self.store.web_profiles.get(uid, [])
        return self.page(_with_query(call, "linked_partitioning", None), profiles, render)

    # -- related ----------------------------------------------------------------------------

    def related_tracks(self, call: _Call) -> _Response:
        track = self.track(call)
        levels = _access(call)
        genre = str(track["genre"] or "").lower()
        related = [
            t
            for t in self.store.tracks.values()
            if t["id"] != track["id"]
            and t["sharing"] == "public"
            and genre
            and str(t["genre"] or "").lower() == genre
            and str(t.get("access") or "playable") in levels
        ]
        return self.track_page(call, related)

    def related_users(self, call: _Call) -> _Response:
        uid = self.user(call)["id"]
        followings = self.store.followings
        shared: Dict[int, int] = {}
        for fan, followed in followings.items():
            if uid in followed:
                for other in followed:
                    if other != uid:
                        shared[other] = shared.get(other, 0) + 1
        ranked = sorted(shared, key=lambda other: (-shared[other], other))
        public = [t for t in self.store.tracks.values() if t["sharing"] == "public"]
        genres = {str(t["genre"]).lower() for t in public if t["user_id"] == uid and t["genre"]}
        peers = sorted(
            {t["user_id"] for t in public if t["user_id"] != uid and str(t["genre"]).lower() in genres} - set(ranked)
        )
        return self.page(call, self.users_of(ranked + peers), self.store.render_user)

    # -- preview and storefront ---------------------------------------------------------------

    def preview_track(self, call: _Call) -> _Response:
        track = self.track(call)
        if track.get("access") == "blocked":
            raise _Fail(_api_error(404, "this track has no preview"))
        return _redirect(302, self.store.cdn_link("preview", track["id"], ".mp3"))

    def put_storefront(self, call: _Call) -> _Response:
        track = self.track(call)
        self.owned(track, call)
        assert call.caller.user_id is not None
        if self.store.users[call.caller.user_id].get("plan", _FREE_PLAN) == _FREE_PLAN:
            raise _Fail(_api_error(403, "a storefront needs a creator subscription with external purchase options"))
        data = json.loads(call.request.body.decode("utf-8")) if call.request.body else {}  # _taking checked it
        if not isinstance(data, dict):
            raise _Fail(_api_error(400, "the storefront must be a JSON object"))
        values: Dict[str, Optional[str]] = {}
        for name, longest in _STOREFRONT_LENGTHS.items():
            value = data.get(name)
            if value is None and name not in ("title", "type", "link"):
                values[name] = None  # the request replaces the whole storefront: left out is cleared
                continue
            if not isinstance(value, str) or not value.strip() or len(value) > longest:
                raise _Fail(_api_error(400, f"{name} must be a non-empty string of at most {longest} characters"))
            values[name] = value
        if values["type"] not in _STOREFRONT_TYPES:
            raise _Fail(_api_error(400, f"type must be one of {', '.join(sorted(_STOREFRONT_TYPES))}"))
        try:
            link = urlsplit(str(values["link"]))
            host = link.hostname
        except ValueError:  # e.g. "http://[::1": an unclosed IPv6 literal
            host = None
        if host is None or link.scheme not in ("http", "https"):
            raise _Fail(_api_error(400, "link must be an http(s) URL"))
        storefront: JsonDict = {"track_urn": f"soundcloud:tracks:{track['id']}", "image_url": None}
        storefront.update(values)
        self.store.storefronts[track["id"]] = storefront
        return _json(200, storefront)
