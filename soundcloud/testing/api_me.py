"""API handlers for the caller's own social views under ``/me``: activities, feed, plays, follows.

Activities (``GET /me/activities``, ``/me/activities/tracks``, ``/me/activities/all/own``,
``/me/feed``, ``/me/feed/tracks``) are built from the store's events, newest first:

    track            a track posted (its ``created_at``) by its owner
    playlist         a playlist posted by its owner
    track:repost     a repost of a track (``store.reposts``), with ``reposter`` (a user URN)
    playlist:repost  a repost of a playlist (``store.playlist_reposts``), with ``reposter``

``/me/feed`` is what the users the caller follows posted and reposted; ``/me/activities``
is the same (the spec gives both the summary "Returns the authenticated user's feed"; the
former replaces the deprecated latter). ``/me/activities/all/own`` is the activity on the
caller's own tracks and playlists (SoundCloud's legacy docs: "Recent activities on the
logged-in user's tracks"): the caller's posts and anyone's reposts of them. The
``/tracks`` variants keep the track events. Tracks the caller may not see are left out,
and so are tracks outside ``access`` (default ``playable,preview``). Every answer is an
Activities object ``{"collection", "next_href", "future_href"}`` whether or not
``linked_partitioning`` is sent (activities have no bare-array form): ``next_href`` pages
to older activities (null on the last page), ``future_href`` asks for the ones newer than
the newest the caller has seen (poll it; it answers an empty collection until something
happens). Both carry an opaque ``cursor`` and the request's other parameters; ``limit``
is 1..200 (clamped, default 50) as everywhere in the fake.

``GET /me/recently-played/tracks`` lists up to 25 tracks the caller played, most recent
first, each once (its latest play), visible ones only, ``access`` default all three; it
takes no ``limit`` and has no next page (``linked_partitioning`` gives a collection
with ``next_href`` null). ``GET /me/followings/tracks``: the tracks of the users the caller
follows, newest first (``access``, ``limit``, ``offset``). ``GET /me/followings/{user_urn}``
and ``GET /me/followers/{follower_urn}`` answer the user, or 404 when the caller does not
follow them, or they do not follow the caller. ``GET /me/followings`` and ``/me/followers``
answer a Users page ``{"collection", "next_href"}`` with or without ``linked_partitioning``
(the spec has no bare-array form for them; ``offset`` is honoured on the first page).
``GET /me/reposts/tracks``, ``/me/reposts/playlists`` and ``/me/likes/playlists`` list
what the caller reposted or liked, in the order it happened (as ``/me/likes/tracks``
does). Lists answer as ``api_base`` says: a bare array, or ``{"collection", "next_href"}``
with ``linked_partitioning`` (for ``/me/followings/tracks`` too, whose spec answer is the
bare TracksList only: a proposed erratum).

Ids in paths are URNs or numeric ids (a numeric id over 2**31 - 1 answers 422); no input
makes these handlers answer 5xx. Unknown query parameters are ignored.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Callable, Final, FrozenSet, List, Optional, Sequence, Set, Tuple
from urllib.parse import urlencode

from .api_base import DEFAULT_LIMIT, MAX_LIMIT, _ApiBase, _truthy
from .http import _api_error, _Call, _Fail, _Handler, _json, _Response
from .store import JsonDict, _Caller
from .store_social import _stamp_of, _time_of

__all__ = ["_MeHandlers"]

RECENTLY_PLAYED: Final = 25  # "Returns the authenticated user's last 25 recently played tracks"
_ACCESS_LEVELS: Final[FrozenSet[str]] = frozenset({"playable", "preview", "blocked"})
_ACCESS_DEFAULT: Final[FrozenSet[str]] = frozenset({"playable", "preview"})  # parameters/access
_CURSOR_PREFIX: Final = "fake-activities"
# Activity types, and their rank in the ordering key: one per (type, item, actor).
_RANKS: Final = {"track": 0, "playlist": 1, "track:repost": 2, "playlist:repost": 3}

_Key = Tuple[int, int, int, int]  # (seconds, type rank, item id, actor id): unique, orders by time


@dataclass(frozen=True)
class _Activity:
    key: _Key
    type: str
    actor: int  # the poster or reposter
    item: int  # the track or playlist
    created_at: str


def _key_text(key: Optional[_Key]) -> str:
    return "" if key is None else ".".join(str(part) for part in key)


def _key_of(text: str) -> Optional[_Key]:
    if not text:
        return None
    parts = [int(part) for part in text.split(".")]  # ValueError: not a cursor of ours
    if len(parts) != 4:
        raise ValueError(text)
    return (parts[0], parts[1], parts[2], parts[3])


class _MeHandlers(_ApiBase):
    """The ``/me`` views of activities, plays, followers, reposts and playlist likes."""

    # -- activities -------------------------------------------------------------

    def me_activities(self, scope: str, tracks_only: bool) -> _Handler:
        """A handler for one activity view: ``scope`` is "feed" or "own"."""

        def serve(call: _Call) -> _Response:
            return self.me_activity_page(call, self.me_timeline(call, scope, tracks_only))

        return serve

    def me_timeline(self, call: _Call, scope: str, tracks_only: bool) -> List[_Activity]:
        store = self.store
        caller = call.caller
        me = caller.user_id
        followed = set(store.followings.get(me or 0, []))
        levels = self.me_access(call, _ACCESS_DEFAULT)
        store.settle_repost_times(float(store.clock()))

        def wanted(actor: int, owner: int) -> bool:
            return actor in followed if scope == "feed" else owner == me

        events: List[_Activity] = []
        for track in store.tracks.values():
            owner = track["user_id"]
            if wanted(owner, owner) and self.me_listable(track, caller, levels):
                when = _time_of(track["created_at"])
                events.append(self.me_event("track", owner, track["id"], when, str(track["created_at"])))
        for actor, track_ids in store.reposts.items():
            for track_id in track_ids:
                reposted = store.tracks.get(track_id)
                if reposted is None or not self.me_listable(reposted, caller, levels):
                    continue
                if wanted(actor, reposted["user_id"]):
                    when = store.repost_times[("track", actor, track_id)]
                    events.append(self.me_event("track:repost", actor, track_id, when, _stamp_of(when)))
        if not tracks_only:
            for playlist in store.playlists.values():
                owner = playlist["user_id"]
                if wanted(owner, owner) and self.me_playlist_visible(playlist, caller):
                    when = _time_of(playlist["created_at"])
                    events.append(self.me_event("playlist", owner, playlist["id"], when, str(playlist["created_at"])))
            for actor, playlist_ids in store.playlist_reposts.items():
                for playlist_id in playlist_ids:
                    found = store.playlists.get(playlist_id)
                    if found is None or not self.me_playlist_visible(found, caller):
                        continue
                    if wanted(actor, found["user_id"]):
                        when = store.repost_times[("playlist", actor, playlist_id)]
                        events.append(self.me_event("playlist:repost", actor, playlist_id, when, _stamp_of(when)))
        events.sort(key=lambda event: event.key, reverse=True)
        return events

    @staticmethod
    def me_event(kind: str, actor: int, item: int, when: float, created_at: str) -> _Activity:
        return _Activity((int(when), _RANKS[kind], item, actor), kind, actor, item, created_at)

    def me_activity_page(self, call: _Call, events: List[_Activity]) -> _Response:
        limit = self.me_limit(call)
        older, newer, top = self.me_decode_cursor(call.param("cursor"))
        window = [e for e in events if (older is None or e.key < older) and (newer is None or e.key > newer)]
        if top is None:  # the first page: what the caller has seen starts here
            top = window[0].key if window else newer
        chunk = window[:limit]
        next_href = None
        if len(window) > limit:
            next_href = self.me_activity_href(call, limit, (chunk[-1].key, newer, top))
        future_href = self.me_activity_href(call, limit, (None, top, None))
        collection = [self.me_render_activity(event, call.caller) for event in chunk]
        return _json(200, {"collection": collection, "next_href": next_href, "future_href": future_href})

    def me_render_activity(self, event: _Activity, caller: _Caller) -> JsonDict:
        if event.type.startswith("track"):
            origin = self.store.render_track(self.store.tracks[event.item], caller)
        else:
            origin = self.store.render_playlist(self.store.playlists[event.item], caller)
        out: JsonDict = {"type": event.type, "created_at": event.created_at, "origin": origin}
        if event.type.endswith(":repost"):
            # "For track:repost and playlist:repost, the API also returns ... reposter" (the spec)
            out["reposter"] = f"soundcloud:users:{event.actor}"
        return out

    def me_activity_href(self, call: _Call, limit: int, bounds: Tuple[Optional[_Key], ...]) -> str:
        text = "|".join([_CURSOR_PREFIX] + [_key_text(key) for key in bounds])
        cursor = base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()
        request = call.request
        dropped = {"cursor", "limit", "page_size"}
        pairs = [(k, v) for k, values in request.query.items() if k not in dropped for v in values]
        pairs += [("limit", str(limit)), ("cursor", cursor)]
        return f"{self.store.api_url}{request.path}?{urlencode(pairs)}"

    @staticmethod
    def me_decode_cursor(cursor: Optional[str]) -> Tuple[Optional[_Key], Optional[_Key], Optional[_Key]]:
        """(older than, newer than, newest seen) from a cursor; 400 for one the fake did not write."""
        if cursor is None:
            return None, None, None
        try:
            text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            prefix, *keys = text.split("|")
            if prefix == _CURSOR_PREFIX and len(keys) == 3:
                return _key_of(keys[0]), _key_of(keys[1]), _key_of(keys[2])
        except (binascii.Error, UnicodeDecodeError, ValueError):
            pass
        raise _Fail(_api_error(400, "invalid cursor"))

    # -- plays, followings' tracks ------------------------------------------------

    def me_recently_played(self, call: _Call) -> _Response:
        caller = call.caller
        levels = self.me_access(call, _ACCESS_LEVELS)
        seen: Set[int] = set()
        tracks: List[JsonDict] = []
        for _, track_id in reversed(self.store.plays.get(caller.user_id or 0, [])):
            track = self.store.tracks.get(track_id)
            if track_id in seen or track is None or not self.me_listable(track, caller, levels):
                continue  # duplicates keep the latest play; unseeable tracks are omitted (the spec)
            seen.add(track_id)
            tracks.append(self.store.render_track(track, caller))
            if len(tracks) == RECENTLY_PLAYED:
                break
        if _truthy(call.param("linked_partitioning")):
            return _json(200, {"collection": tracks, "next_href": None})
        return _json(200, tracks)

    def me_followings_tracks(self, call: _Call) -> _Response:
        followed = set(self.store.followings.get(call.caller.user_id or 0, []))
        levels = self.me_access(call, _ACCESS_DEFAULT)
        tracks = [t for t in self.store.tracks.values() if t["user_id"] in followed]
        tracks = [t for t in tracks if self.me_listable(t, call.caller, levels)]
        tracks.sort(key=lambda t: (_time_of(t["created_at"]), t["id"]), reverse=True)
        return self.me_page(call, tracks, lambda t: self.store.render_track(t, call.caller))

    # -- followings and followers ------------------------------------------------------

    def me_followings(self, call: _Call) -> _Response:
        followed = self.store.followings.get(call.caller.user_id or 0, [])
        return self.me_users(call, followed)

    def me_followers(self, call: _Call) -> _Response:
        me = call.caller.user_id
        return self.me_users(call, [u for u, followed in self.store.followings.items() if me in followed])

    def me_users(self, call: _Call, user_ids: List[int]) -> _Response:
        """A Users page ``{"collection", "next_href"}``, with or without ``linked_partitioning``.

        The spec answers both ``/me/followings`` and ``/me/followers`` with the Users object
        only (no bare-array form, no linked_partitioning parameter; no erratum says otherwise).
        """
        users = [self.store.users[u] for u in user_ids if u in self.store.users]
        limit = self.me_limit(call)
        cursor = call.param("cursor")
        start = self.decode_cursor(cursor) if cursor is not None else self.me_offset(call)
        collection = [self.store.render_user(user) for user in users[start : start + limit]]
        next_href = self.next_href(call.request, limit, start + limit) if start + limit < len(users) else None
        return _json(200, {"collection": collection, "next_href": next_href})

    # -- one following, one follower ------------------------------------------------

    def me_following(self, call: _Call) -> _Response:
        target = self.me_path_user(call)
        if target["id"] not in self.store.followings.get(call.caller.user_id or 0, []):
            raise _Fail(_api_error(404, "you do not follow this user"))
        return _json(200, self.store.render_user(target))

    def me_follower(self, call: _Call) -> _Response:
        target = self.me_path_user(call)
        if call.caller.user_id not in self.store.followings.get(target["id"], []):
            raise _Fail(_api_error(404, "this user does not follow you"))
        return _json(200, self.store.render_user(target))

    # -- reposts and playlist likes ---------------------------------------------------

    def me_reposted_tracks(self, call: _Call) -> _Response:
        levels = self.me_access(call, _ACCESS_LEVELS)
        ids = self.store.reposts.get(call.caller.user_id or 0, [])
        tracks = [self.store.tracks[t] for t in ids if t in self.store.tracks]
        listed = [t for t in tracks if self.me_listable(t, call.caller, levels)]
        return self.me_page(call, listed, lambda t: self.store.render_track(t, call.caller))

    def me_reposted_playlists(self, call: _Call) -> _Response:
        return self.me_playlist_list(call, self.store.playlist_reposts.get(call.caller.user_id or 0, []))

    def me_liked_playlists(self, call: _Call) -> _Response:
        return self.me_playlist_list(call, self.store.playlist_likes.get(call.caller.user_id or 0, []))

    def me_playlist_list(self, call: _Call, ids: List[int]) -> _Response:
        found = [self.store.playlists[p] for p in ids if p in self.store.playlists]
        listed = [p for p in found if self.me_playlist_visible(p, call.caller)]
        return self.me_page(call, listed, lambda p: self.store.render_playlist(p, call.caller))

    # -- checks -------------------------------------------------------------------------

    def me_listable(self, track: JsonDict, caller: _Caller, levels: FrozenSet[str]) -> bool:
        return self.visible(track, caller) and str(track.get("access") or "playable") in levels

    @staticmethod
    def me_playlist_visible(playlist: JsonDict, caller: _Caller) -> bool:
        return bool(playlist["sharing"] == "public" or playlist["user_id"] == caller.user_id)

    @staticmethod
    def me_access(call: _Call, default: FrozenSet[str]) -> FrozenSet[str]:
        """``access=playable,preview`` (comma-separated, the spec's style form, explode false).

        Values other than the three levels are ignored, and so is an ``access`` naming none.
        """
        chosen = frozenset(part.strip() for part in (call.param("access") or "").split(",")) & _ACCESS_LEVELS
        return chosen or default

    @staticmethod
    def me_limit(call: _Call) -> int:
        raw = call.param("limit") or call.param("page_size")
        try:
            limit = DEFAULT_LIMIT if raw is None else int(raw)
        except ValueError:
            raise _Fail(_api_error(400, "limit must be an integer")) from None
        return min(max(limit, 1), MAX_LIMIT)  # clamped, as api_base.page does

    def me_page(self, call: _Call, items: Sequence[JsonDict], render: Callable[[JsonDict], JsonDict]) -> _Response:
        self.me_offset(call)  # api_base.page reads it too, unchecked
        return self.page(call, items, render)

    @staticmethod
    def me_offset(call: _Call) -> int:
        """The deprecated ``offset`` (0 without one); 400 for one that is not a number.

        Checked here: ``int()`` refuses digits that are not ASCII ("²") and more than 4300
        of them, which must answer 400, not 500.
        """
        raw = call.param("offset")
        if raw is None:
            return 0
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 12):
            raise _Fail(_api_error(400, "offset must be a non-negative integer below 10**12"))
        return int(raw)

    def me_path_user(self, call: _Call) -> JsonDict:
        try:
            return self.user(call)
        except ValueError:  # parse_id's int() refused the digits: too many, or not ASCII
            raw = call.args[0]
            if raw.isascii() and raw.isdigit():
                raise _Fail(_api_error(422, "numeric ids above 2147483647 must be sent as URNs")) from None
            raise _Fail(_api_error(404, f"no such user: {raw}")) from None
