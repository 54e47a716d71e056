"""What every API handler shares: id parsing, visibility and ownership checks, pagination.

Ids in paths: numeric (``/tracks/293``) or URN (``/tracks/soundcloud:tracks:293``, also
percent-encoded). A numeric id above ``MAX_INT_ID`` (2**31 - 1) answers 422, as the
live API does for track ids that must be sent as URNs. Private tracks and playlists
are visible to their owner only (404 for anyone else); editing or deleting someone
else's answers 403.

Collections: without ``linked_partitioning`` a bare JSON array of at most ``limit``
items (default ``DEFAULT_LIMIT``, clamped to 1..``MAX_LIMIT``; deprecated ``offset``
honoured). With ``linked_partitioning=true``: ``{"collection": [...], "next_href": ...}``
where ``next_href`` is an absolute URL carrying an opaque ``cursor`` and ``page_size``
(as the live API writes it), and ``null`` on the last page.

The handler groups (``api_tracks``, ``api_users``, ``api_hooks``) subclass ``_ApiBase``;
``api._ApiApp`` combines them under one route table.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Callable, Final, Iterable, Optional, Sequence
from urllib.parse import urlencode

from .http import RecordedRequest, _api_error, _App, _Call, _Events, _Fail, _json, _Response
from .store import JsonDict, _Caller, _Settings, _Store

__all__ = ["_ApiBase", "_is_number", "_truthy"]

MAX_LIMIT: Final = 200
DEFAULT_LIMIT: Final = 50
MAX_INT_ID: Final = 2**31 - 1  # larger numeric ids must be sent as URNs (422)


def _truthy(value: Optional[str]) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes", "on")


def _is_number(text: str) -> bool:
    """ASCII digits, at most 20 (a 64-bit id): ``str.isdigit()`` alone also accepts "²" and
    "①", and ``int()`` refuses those and more than 4300 digits - a 500 instead of a 4xx."""
    return 0 < len(text) <= 20 and text.isascii() and text.isdigit()


class _ApiBase(_App):
    """The API origin's shared lookups and pagination; handlers live in the subclasses."""

    def __init__(self, store: _Store, owner: _Settings, events: _Events) -> None:
        super().__init__(store)
        self.owner = owner
        self.events = events

    # -- lookups --------------------------------------------------------------

    def parse_id(self, raw: str, kind: str) -> int:
        """Accept ``123`` or ``soundcloud:<kind>:123``; anything else is unknown (404)."""
        text = raw
        if ":" in raw:
            parts = raw.split(":")
            if len(parts) != 3 or parts[0] != "soundcloud" or parts[1] != kind or not _is_number(parts[2]):
                raise _Fail(_api_error(404, f"no such {kind[:-1]}: {raw}"))
            return int(parts[2])
        if not (text.isascii() and text.isdigit()):
            raise _Fail(_api_error(404, f"no such {kind[:-1]}: {raw}"))
        if len(text.lstrip("0")) > 10 or int(text) > MAX_INT_ID:  # the length first: int() refuses > 4300 digits
            raise _Fail(_api_error(422, f"numeric ids above {MAX_INT_ID} must be sent as URNs"))
        return int(text)

    def visible(self, track: JsonDict, caller: _Caller) -> bool:
        return bool(track["sharing"] == "public" or track["user_id"] == caller.user_id)

    def track(self, call: _Call, index: int = 0) -> JsonDict:
        track = self.store.tracks.get(self.parse_id(call.args[index], "tracks"))
        if track is None or not self.visible(track, call.caller):
            raise _Fail(_api_error(404, "track not found"))
        return track

    def user(self, call: _Call, index: int = 0) -> JsonDict:
        user = self.store.users.get(self.parse_id(call.args[index], "users"))
        if user is None:
            raise _Fail(_api_error(404, "user not found"))
        return user

    def playlist(self, call: _Call) -> JsonDict:
        playlist = self.store.playlists.get(self.parse_id(call.args[0], "playlists"))
        if playlist is None or (playlist["sharing"] != "public" and playlist["user_id"] != call.caller.user_id):
            raise _Fail(_api_error(404, "playlist not found"))
        return playlist

    def owned(self, item: JsonDict, call: _Call) -> None:
        if item["user_id"] != call.caller.user_id:
            raise _Fail(_api_error(403, "you do not own this resource"))

    # -- pagination -----------------------------------------------------------

    def page(self, call: _Call, items: Sequence[Any], render: Callable[[Any], JsonDict]) -> _Response:
        """A list endpoint: bare array, or a linked-partitioning page with next_href."""
        raw_limit = call.param("limit") or call.param("page_size")
        try:
            limit = DEFAULT_LIMIT if raw_limit is None else int(raw_limit)
        except ValueError:
            raise _Fail(_api_error(400, "limit must be an integer")) from None
        limit = min(max(limit, 1), MAX_LIMIT)  # the live API clamps instead of failing
        if not _truthy(call.param("linked_partitioning")):
            offset = self.int_param(call, "offset", 0)
            return _json(200, [render(item) for item in items[offset : offset + limit]])
        offset = self.decode_cursor(call.param("cursor"))
        chunk = [render(item) for item in items[offset : offset + limit]]
        next_href = None
        if offset + limit < len(items):
            next_href = self.next_href(call.request, limit, offset + limit)
        return _json(200, {"collection": chunk, "next_href": next_href})

    def int_param(self, call: _Call, name: str, default: int) -> int:
        raw = call.param(name)
        if raw is None:
            return default
        if not _is_number(raw):
            raise _Fail(_api_error(400, f"{name} must be a non-negative integer"))
        return int(raw)

    def next_href(self, request: RecordedRequest, limit: int, offset: int) -> str:
        # Like the live API: an absolute URL with an opaque cursor and page_size.
        dropped = {"cursor", "limit", "page_size", "offset", "linked_partitioning"}
        pairs = [(k, v) for k, values in request.query.items() if k not in dropped for v in values]
        pairs += [("page_size", str(limit)), ("linked_partitioning", "true"), ("cursor", self.encode_cursor(offset))]
        return f"{self.store.api_url}{request.path}?{urlencode(pairs)}"

    @staticmethod
    def encode_cursor(offset: int) -> str:
        return base64.urlsafe_b64encode(f"fake:{offset}".encode()).rstrip(b"=").decode()

    @staticmethod
    def decode_cursor(cursor: Optional[str]) -> int:
        if cursor is None:
            return 0
        try:
            text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            prefix, _, number = text.partition(":")
            if prefix == "fake" and number.isdigit():
                return int(number)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            pass
        raise _Fail(_api_error(400, "invalid cursor"))

    def track_page(self, call: _Call, tracks: Iterable[JsonDict]) -> _Response:
        listed = [t for t in tracks if self.visible(t, call.caller)]
        return self.page(call, listed, lambda t: self.store.render_track(t, call.caller))

    def user_page(self, call: _Call, user_ids: Iterable[int]) -> _Response:
        users = [self.store.users[u] for u in user_ids if u in self.store.users]
        return self.page(call, users, self.store.render_user)
