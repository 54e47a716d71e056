"""API handlers for users, ``/me`` and playlists.

``GET /users`` searches; ``GET /users/{id}`` and its ``/tracks`` (newest first unless
``sort=asc``), ``/playlists``, ``/followings``, ``/followers``, ``/likes/tracks``.
``/me`` and below serve the caller's own user (``/me/<x>`` is ``/users/<caller>/<x>``);
``PUT /me`` edits ``user[...]`` fields; ``PUT/DELETE /me/followings/{id}`` follow and
unfollow (DELETE of a following that is not there is idempotent: 200; 404 only for a
user that does not exist). ``GET/POST /playlists``, ``GET/PUT/DELETE /playlists/{id}``
and ``GET /playlists/{id}/tracks``: a playlist's tracks are given as
``playlist[tracks][][urn]`` (or ``[id]``) fields, an empty ``playlist[tracks][]``
empties it.
"""

from __future__ import annotations

from typing import Final, FrozenSet, List, Mapping, Optional

from .api_base import _ApiBase, _truthy
from .forms import _nested, _parse_form
from .http import _api_error, _Call, _Fail, _Handler, _json, _ok, _Response
from .store import _now_stamp

__all__ = ["_UserHandlers"]

_USER_FIELDS: Final[FrozenSet[str]] = frozenset(
    {
        "username",
        "permalink",
        "full_name",
        "first_name",
        "last_name",
        "city",
        "country",
        "description",
        "website",
        "website_title",
        "discogs_name",
    }
)
_PLAYLIST_FIELDS: Final[FrozenSet[str]] = frozenset(
    {
        "title",
        "description",
        "sharing",
        "genre",
        "label_name",
        "license",
        "permalink",
        "purchase_title",
        "purchase_url",
        "release",
        "release_date",
        "set_type",
        "tag_list",
        "ean",
    }
)


class _UserHandlers(_ApiBase):
    """``/users``, ``/me`` and ``/playlists``."""

    # -- users and /me ----------------------------------------------------------

    def get_user(self, call: _Call) -> _Response:
        return _json(200, self.store.render_user(self.user(call)))

    def user_tracks(self, call: _Call) -> _Response:
        uid = self.user(call)["id"]
        tracks = [t for t in self.store.tracks.values() if t["user_id"] == uid]
        if (call.param("sort") or "desc") != "asc":
            tracks.reverse()  # newest upload first, the documented default
        return self.track_page(call, tracks)

    def user_playlists(self, call: _Call) -> _Response:
        uid = self.user(call)["id"]
        show = call.param("show_tracks") is None or _truthy(call.param("show_tracks"))
        playlists = [
            p
            for p in self.store.playlists.values()
            if p["user_id"] == uid and (p["sharing"] == "public" or uid == call.caller.user_id)
        ]
        return self.page(call, playlists, lambda p: self.store.render_playlist(p, call.caller, show_tracks=show))

    def user_followings(self, call: _Call) -> _Response:
        return self.user_page(call, self.store.followings.get(self.user(call)["id"], []))

    def user_followers(self, call: _Call) -> _Response:
        uid = self.user(call)["id"]
        return self.user_page(call, [u for u, followed in self.store.followings.items() if uid in followed])

    def user_likes(self, call: _Call) -> _Response:
        liked = self.store.likes.get(self.user(call)["id"], [])
        return self.track_page(call, [self.store.tracks[t] for t in liked if t in self.store.tracks])

    def me_list(self, handler: _Handler) -> _Handler:
        """Serve ``/me/<x>`` as ``/users/<caller>/<x>``."""

        def serve(call: _Call) -> _Response:
            call.args = (str(call.caller.user_id),) + call.args
            return handler(call)

        return serve

    def get_me(self, call: _Call) -> _Response:
        assert call.caller.user_id is not None
        return _json(200, self.store.render_me(self.store.users[call.caller.user_id]))

    def update_me(self, call: _Call) -> _Response:
        assert call.caller.user_id is not None
        user = self.store.users[call.caller.user_id]
        fields, _ = _parse_form(call.request)
        for name, value in _nested(fields, "user").items():
            if name in _USER_FIELDS:
                user[name] = value
        user["last_modified"] = _now_stamp(self.store.clock)
        return _json(200, self.store.render_me(user))

    def follow(self, call: _Call) -> _Response:
        assert call.caller.user_id is not None
        target = self.user(call)
        followed = self.store.followings.setdefault(call.caller.user_id, [])
        if call.request.method == "DELETE":
            # Idempotent, like DELETE should be: 404 only for a user that does not exist.
            if target["id"] in followed:
                followed.remove(target["id"])
            return _json(200, {"status": "Status(200) - OK"})
        if target["id"] == call.caller.user_id:
            raise _Fail(_api_error(422, "you cannot follow yourself"))
        if target["id"] not in followed:
            followed.append(target["id"])
        return _json(200, self.store.render_user(target))

    # -- playlists ----------------------------------------------------------------

    def playlist_track_ids(self, fields: Mapping[str, str]) -> Optional[List[int]]:
        raw = ",".join(
            v for k, v in fields.items() if k in ("playlist[tracks][][urn]", "playlist[tracks][][id]") and v
        )
        if not raw and "playlist[tracks][]" not in fields and "playlist[tracks]" not in fields:
            return None
        ids = [self.parse_id(part.strip(), "tracks") for part in raw.split(",") if part.strip()]
        unknown = [i for i in ids if i not in self.store.tracks]
        if unknown:
            raise _Fail(_api_error(422, f"unknown tracks: {unknown}"))
        return ids

    def create_playlist(self, call: _Call) -> _Response:
        fields, _ = _parse_form(call.request)
        values = _nested(fields, "playlist")
        if not values.get("title", "").strip():
            raise _Fail(_api_error(422, "playlist[title] is required"))
        if values.get("sharing", "public") not in ("public", "private"):
            raise _Fail(_api_error(422, "playlist[sharing] must be public or private"))
        assert call.caller.user_id is not None
        ids = self.playlist_track_ids(fields) or []
        clean = {k: v for k, v in values.items() if k in _PLAYLIST_FIELDS}
        playlist = self.store.add_playlist(call.caller.user_id, clean, ids)
        return _json(201, self.store.render_playlist(playlist, call.caller))

    def get_playlist(self, call: _Call) -> _Response:
        show = call.param("show_tracks") is None or _truthy(call.param("show_tracks"))
        return _json(200, self.store.render_playlist(self.playlist(call), call.caller, show_tracks=show))

    def update_playlist(self, call: _Call) -> _Response:
        playlist = self.playlist(call)
        self.owned(playlist, call)
        fields, _ = _parse_form(call.request)
        for name, value in _nested(fields, "playlist").items():
            if name in _PLAYLIST_FIELDS:
                playlist[name] = value
        ids = self.playlist_track_ids(fields)
        if ids is not None:
            playlist["track_ids"] = ids
        playlist["last_modified"] = _now_stamp(self.store.clock)
        return _json(200, self.store.render_playlist(playlist, call.caller))

    def delete_playlist(self, call: _Call) -> _Response:
        playlist = self.playlist(call)
        self.owned(playlist, call)
        del self.store.playlists[playlist["id"]]
        return _ok()

    def playlist_tracks(self, call: _Call) -> _Response:
        ids = self.playlist(call)["track_ids"]
        return self.track_page(call, [self.store.tracks[t] for t in ids if t in self.store.tracks])
