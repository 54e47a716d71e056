"""The API origin (like https://api.soundcloud.com): one route table, authentication, resolve.

Credentials: ``Authorization: OAuth <token>`` (``Bearer`` accepted too). Public reads
(GET/HEAD) also accept the deprecated ``?client_id=<client_id>``. Anything else answers
401. Endpoints about the resource owner (``/me`` and below, including
``PUT/DELETE /me/followings/{id}``) answer 401 to an app token from the
client-credentials grant, since such a token has no user; other writes (uploads,
track/playlist edits, likes, reposts) answer 403 to an app token. Editing or deleting
someone else's track or playlist answers 403. Private tracks are visible to their owner
only (404 for anyone else).

Endpoints: ``GET /tracks``, ``GET /users``, ``GET /playlists`` (searches with every
filter the spec gives them: ``api_search``),
``POST /tracks`` (multipart upload), ``GET/PUT/DELETE /tracks/{id}``,
``GET /tracks/{id}/stream`` and ``/download`` (302 to the CDN),
``GET /tracks/{id}/streams``, ``GET /tracks/{id}/favoriters``, ``GET /users``,
``GET /users/{id}`` and its ``/tracks``, ``/playlists``, ``/followings``,
``/followers``, ``/likes/tracks``; ``GET/PUT /me``, ``GET /me/tracks``,
``/me/playlists``, ``/me/followings``, ``/me/followers``, ``/me/likes/tracks``,
``PUT/DELETE /me/followings/{id}``; the activities, feed, plays, followers, reposts
and playlist likes under ``/me`` (``api_me``); ``GET/POST /playlists``,
``GET/PUT/DELETE /playlists/{id}``, ``GET /playlists/{id}/tracks``;
``POST/DELETE /likes/tracks/{id}``, ``POST/DELETE /reposts/tracks/{id}``;
``GET /apps/{id}``; ``GET /resolve?url=...``; comments, playlist likes and reposts,
reposters, related tracks and users, web profiles, a user's likes, reposts and
followings, ``/tracks/{id}/preview`` and ``/storefront`` (``api_social``): every
operation of the spec. Removed endpoints
(``/me/connections``, ``/me/favorites``, the retired ``/oauth2/token``) answer 405;
a known path with another method - any method, ``BREW`` too - answers 405 with
``Allow``. DELETE of a
following, like or repost that is not there is idempotent (200); 404 only for
a user or track that does not exist. Write bodies may be form-encoded,
multipart or JSON (``{"track": {...}}``) where the spec lists them; they land in
the same fields. Each write route is wrapped in ``api_query._taking`` with its
operation's media types: another type, or JSON that does not parse, answers 422
("Could not parse JSON request body.", the live API's answer) before the handler runs.
No input answers 5xx (a non-ASCII or huge id is a 404 or 422).
``/resolve`` and ``/tracks/{id}/stream`` answer 302 with ``Location`` and the
JSON body ``{"status": "302 - Found", "location": ...}``; the Location is the
bare resource URL (no ``client_id`` added: the client re-adds credentials).

Ids in paths and collections (bare arrays, or ``linked_partitioning`` pages with an
absolute ``next_href``): see ``api_base``.

Errors are SoundCloud error JSON (``code``, ``message``, ``link``, ``status``,
``errors``, ``error``) with ``Content-Type: application/json; charset=utf-8``.

The handlers live by resource in ``api_tracks`` (tracks, uploads, streams, likes,
reposts), ``api_users`` (users, ``/me``, playlists), ``api_me`` (the caller's social
views), ``api_search`` (the searches), ``api_social`` (comments, reposts, playlist
likes, related items, previews, storefronts) and ``api_hooks`` (``/_test/...``);
``_ApiApp`` combines them and keeps the one route table, the authentication of every
route, and ``/apps``, ``/resolve`` and the removed endpoints.
"""

from __future__ import annotations

from typing import Optional
from urllib.parse import unquote, urlsplit

from .api_hooks import _TestHooks
from .api_me import _MeHandlers
from .api_query import BODY_FORM, BODY_JSON, BODY_MULTIPART, _taking
from .api_search import _SearchHandlers
from .api_social import _SocialHandlers
from .api_tracks import _TrackHandlers
from .api_users import _UserHandlers
from .http import (
    BLOCKING,
    ME,
    NONE,
    PUBLIC,
    WRITE,
    _api_error,
    _Call,
    _Events,
    _Fail,
    _json,
    _redirect,
    _Response,
    _Route,
    _routes,
)
from .store import _Caller, _Settings, _Store

__all__ = ["_ApiApp"]


class _ApiApp(_TrackHandlers, _UserHandlers, _TestHooks, _MeHandlers, _SearchHandlers, _SocialHandlers):
    name = "api"

    def __init__(self, store: _Store, owner: _Settings, events: _Events) -> None:
        super().__init__(store, owner, events)
        self.routes = _routes(
            [
                ("GET", "/tracks", self.find_tracks, PUBLIC),
                ("POST", "/tracks", _taking((BODY_MULTIPART, BODY_FORM), self.upload_track), WRITE),
                ("GET", "/tracks/{id}", self.get_track, PUBLIC),
                ("PUT", "/tracks/{id}", _taking((BODY_JSON, BODY_MULTIPART, BODY_FORM), self.update_track), WRITE),
                ("DELETE", "/tracks/{id}", self.delete_track, WRITE),
                ("GET", "/tracks/{id}/stream", self.stream_track, PUBLIC),
                ("GET", "/tracks/{id}/download", self.download_track, PUBLIC),
                ("GET", "/tracks/{id}/streams", self.track_streams, PUBLIC),
                ("GET", "/tracks/{id}/favoriters", self.track_favoriters, PUBLIC),
                # -- comments, reposts, related, preview, storefront, users' lists (api_social) --
                ("GET", "/tracks/{id}/comments", self.track_comments, PUBLIC),
                ("POST", "/tracks/{id}/comments", _taking((BODY_JSON,), self.post_comment), WRITE),
                ("GET", "/tracks/{id}/reposters", self.track_reposters, PUBLIC),
                ("GET", "/tracks/{id}/related", self.related_tracks, PUBLIC),
                ("GET", "/tracks/{id}/preview", self.preview_track, PUBLIC),
                ("PUT", "/tracks/{id}/storefront", _taking((BODY_JSON,), self.put_storefront), WRITE),
                ("GET", "/users/{id}/related", self.related_users, PUBLIC),
                ("GET", "/users/{id}/web-profiles", self.web_profiles, PUBLIC),
                ("GET", "/users/{id}/followings/{id}", self.user_following, PUBLIC),
                ("GET", "/users/{id}/favorites", self.user_likes, PUBLIC),  # deprecated: /likes/tracks
                ("GET", "/users/{id}/likes/playlists", self.user_liked_playlists, PUBLIC),
                ("GET", "/users/{id}/reposts/tracks", self.user_reposted_tracks, PUBLIC),
                ("GET", "/users/{id}/reposts/playlists", self.user_reposted_playlists, PUBLIC),
                ("GET", "/playlists/{id}/reposters", self.playlist_reposters, PUBLIC),
                ("POST DELETE", "/likes/playlists/{id}", self.like_playlist, WRITE),
                ("POST DELETE", "/reposts/playlists/{id}", self.repost_playlist, WRITE),
                # -- end of api_social routes --
                ("GET", "/users", self.find_users, PUBLIC),
                ("GET", "/users/{id}", self.get_user, PUBLIC),
                ("GET", "/users/{id}/tracks", self.user_tracks, PUBLIC),
                ("GET", "/users/{id}/playlists", self.user_playlists, PUBLIC),
                ("GET", "/users/{id}/followings", self.as_collection(self.user_followings), PUBLIC),  # spec: Users
                ("GET", "/users/{id}/followers", self.as_collection(self.user_followers), PUBLIC),  # spec: Users
                ("GET", "/users/{id}/likes/tracks", self.user_likes, PUBLIC),
                ("GET", "/me", self.get_me, ME),
                ("PUT", "/me", _taking((BODY_JSON, BODY_MULTIPART, BODY_FORM), self.update_me), ME),
                ("GET", "/me/tracks", self.me_list(self.user_tracks), ME),
                ("GET", "/me/playlists", self.me_list(self.user_playlists), ME),
                ("GET", "/me/followings", self.me_followings, ME),  # api_me: always a Users page
                ("GET", "/me/followers", self.me_followers, ME),  # api_me: always a Users page
                ("GET", "/me/likes/tracks", self.me_list(self.user_likes), ME),
                ("PUT DELETE", "/me/followings/{id}", self.follow, ME),
                # -- /me activities, plays, followers, reposts, playlist likes (api_me) --
                ("GET", "/me/activities", self.me_activities("feed", tracks_only=False), ME),
                ("GET", "/me/activities/tracks", self.me_activities("feed", tracks_only=True), ME),
                ("GET", "/me/activities/all/own", self.me_activities("own", tracks_only=False), ME),
                ("GET", "/me/feed", self.me_activities("feed", tracks_only=False), ME),
                ("GET", "/me/feed/tracks", self.me_activities("feed", tracks_only=True), ME),
                ("GET", "/me/recently-played/tracks", self.me_recently_played, ME),
                ("GET", "/me/followings/tracks", self.me_followings_tracks, ME),  # before {id}
                ("GET", "/me/followings/{id}", self.me_following, ME),
                ("GET", "/me/followers/{id}", self.me_follower, ME),
                ("GET", "/me/reposts/tracks", self.me_reposted_tracks, ME),
                ("GET", "/me/reposts/playlists", self.me_reposted_playlists, ME),
                ("GET", "/me/likes/playlists", self.me_liked_playlists, ME),
                # -- end of api_me routes --
                ("GET", "/playlists", self.find_playlists, PUBLIC),
                ("POST", "/playlists", _taking((BODY_JSON, BODY_MULTIPART), self.create_playlist), WRITE),
                ("GET", "/playlists/{id}", self.get_playlist, PUBLIC),
                ("PUT", "/playlists/{id}", _taking((BODY_JSON,), self.update_playlist), WRITE),
                ("DELETE", "/playlists/{id}", self.delete_playlist, WRITE),
                ("GET", "/playlists/{id}/tracks", self.playlist_tracks, PUBLIC),
                ("POST DELETE", "/likes/tracks/{id}", self.like_track, WRITE),
                ("POST DELETE", "/reposts/tracks/{id}", self.repost_track, WRITE),
                ("GET", "/apps/{id}", self.get_app, PUBLIC),
                ("GET", "/resolve", self.resolve, PUBLIC),
                ("ANY", "/me/connections(?:/.*)?", self.removed, NONE),
                ("ANY", "/me/favorites(?:/.*)?", self.removed, NONE),
                ("ANY", "/oauth2/token", self.removed, NONE),
                ("ANY", "/_test/status/{code}", self.hook_status, NONE),
                ("ANY", "/_test/html403", self.hook_html403, NONE),
                ("ANY", "/_test/badjson", self.hook_badjson, NONE),
                ("ANY", "/_test/redirect", self.hook_redirect, NONE),
                ("ANY", "/_test/loop", self.hook_loop, NONE),
                ("ANY", "/_test/echo", self.hook_echo, NONE),
                ("ANY", "/_test/stall", self.hook_stall, BLOCKING),
                ("ANY", "/_test/flaky", self.hook_flaky, NONE),
                ("ANY", "/_test/drop", self.hook_drop, NONE),
                ("ANY", "/_test/truncate", self.hook_truncate, NONE),
                ("ANY", "/_test/bytes", self.hook_bytes, NONE),
            ]
        )

    # -- authentication -------------------------------------------------------

    def invoke(self, route: _Route, call: _Call) -> _Response:
        if route.access in (PUBLIC, ME, WRITE):
            call.caller = self.authenticate(call, route.access)
        return route.handler(call)

    def authenticate(self, call: _Call, access: str) -> _Caller:
        request = call.request
        header = request.header("authorization")
        if header is not None:
            scheme, _, value = header.strip().partition(" ")
            if scheme.lower() not in ("oauth", "bearer") or not value.strip():
                raise _Fail(_api_error(401, "unsupported Authorization scheme"))
            caller = self.store.caller_for(value.strip())
            if caller is None:
                raise _Fail(_api_error(401, "invalid, expired or revoked access token"))
        elif call.param("client_id") is not None:
            # The deprecated client_id parameter still opens public reads, nothing else.
            if access != PUBLIC or request.method not in ("GET", "HEAD"):
                raise _Fail(_api_error(401, "this endpoint needs an access token"))
            if call.param("client_id") != self.owner.client_id:
                raise _Fail(_api_error(401, "unknown client_id"))
            caller = _Caller("anonymous")
        else:
            raise _Fail(_api_error(401, "no credentials: send Authorization: OAuth <token>"))
        if access == ME and caller.kind != "user":
            raise _Fail(_api_error(401, "this endpoint needs a user token, not an app token"))
        if access == WRITE and caller.kind != "user":
            raise _Fail(_api_error(403, "an app token cannot act for a user"))
        return caller

    # -- apps, resolve, removed endpoints ------------------------------------------

    def get_app(self, call: _Call) -> _Response:
        app = self.store.apps.get(self.parse_id(call.args[0], "apps"))
        if app is None:
            raise _Fail(_api_error(404, "app not found"))
        out = dict(app)
        out["uri"] = f"{self.store.api_url}/apps/{app['id']}"
        return _json(200, out)

    def resolve(self, call: _Call) -> _Response:
        url = call.param("url")
        if not url:
            raise _Fail(_api_error(400, "the url parameter is required"))
        location = self.resolve_url(url, call.caller)
        if location is None:
            raise _Fail(_api_error(404, f"could not resolve {url}"))
        return _redirect(302, location)

    def resolve_url(self, url: str, caller: _Caller) -> Optional[str]:
        try:
            parts = urlsplit(url.strip())
        except ValueError:  # e.g. "http://[::1": an unclosed IPv6 literal is no SoundCloud URL
            return None
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or host not in ("soundcloud.com", "www.soundcloud.com", "m.soundcloud.com"):
            return None
        segments = [unquote(s).lower() for s in parts.path.split("/") if s]
        api = self.store.api_url
        owners = [u for u in self.store.users.values() if segments and u["permalink"].lower() == segments[0]]
        if not owners:
            return None
        owner = owners[0]
        if len(segments) == 1:
            return f"{api}/users/{owner['id']}"
        if len(segments) == 2:
            for track in self.store.tracks.values():
                if track["user_id"] == owner["id"] and track["permalink"].lower() == segments[1]:
                    return f"{api}/tracks/{track['id']}" if self.visible(track, caller) else None
        if len(segments) == 3 and segments[1] == "sets":
            for playlist in self.store.playlists.values():
                if playlist["user_id"] == owner["id"] and playlist["permalink"].lower() == segments[2]:
                    return f"{api}/playlists/{playlist['id']}"
        return None

    def removed(self, call: _Call) -> _Response:
        return _api_error(405, "this endpoint has been removed")
