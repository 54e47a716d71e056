"""API handlers for the searches: ``GET /tracks``, ``GET /users`` and ``GET /playlists``.

Every filter the spec gives each search, read as ``api_query`` says (comma lists,
deepObject ranges, unknown parameters ignored); filters combine (AND), and a list
filter matches any of its items (OR):

``GET /tracks``
    ``q`` (title, genre, tags, description or the owner's username, case-insensitive),
    ``urns`` (``soundcloud:tracks:<id>``) or the deprecated ``ids`` (numeric ids or
    URNs), ``genres`` (case-insensitive), ``tags`` (a track's ``tag_list`` is
    space-separated, ``"multi word"`` tags quoted, as SoundCloud writes it),
    ``bpm[from|to]``, ``duration[from|to]`` (milliseconds), ``created_at[from|to]``
    (UTC, ``yyyy-mm-dd hh:mm:ss``), ``access`` (default ``playable,preview``: blocked
    tracks are listed only when asked for). A track without a bpm is outside every bpm
    range. An item of ``urns`` or ``ids`` that is not a track id answers 400.
``GET /users``
    ``q`` (username or full name), ``urns`` (``soundcloud:users:<id>``).
``GET /playlists``
    ``q`` (title), ``access`` (filters the tracks listed in each playlist; ``track_count``
    still counts them all), ``show_tracks``. Private playlists are never listed.

Answers are ``api_base`` lists: a bare array, or ``{"collection", "next_href"}`` with
``linked_partitioning``.
"""

from __future__ import annotations

import re
from typing import Callable, Final, FrozenSet, Iterable, List, Optional, Pattern, Set

from .api_base import _ApiBase, _is_number, _truthy
from .api_query import _access, _comma_list, _int_range, _time_range, _track_time
from .http import _api_error, _Call, _Fail, _Response
from .store import JsonDict

__all__ = ["_SearchHandlers"]

# A tag_list as SoundCloud writes it: words, and "quoted phrases" for tags with spaces.
_TAG_RE: Final[Pattern[str]] = re.compile(r'"([^"]*)"|(\S+)')


def _tags(tag_list: object) -> Set[str]:
    return {(quoted or word).lower() for quoted, word in _TAG_RE.findall(str(tag_list or "")) if quoted or word}


def _within(value: object, low: Optional[float], high: Optional[float]) -> bool:
    if low is None and high is None:
        return True
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False  # no value: outside every range
    return (low is None or value >= low) and (high is None or value <= high)


class _SearchHandlers(_ApiBase):
    """``GET /tracks``, ``GET /users`` and ``GET /playlists`` with the spec's filters."""

    def ids_filter(self, call: _Call, name: str, kind: str) -> Optional[FrozenSet[int]]:
        """The ids a ``urns``/``ids`` filter names; None when the filter is absent or ignored."""
        items = _comma_list(call, name)
        if items is None:
            return None
        chosen = set()
        prefix = f"soundcloud:{kind}:"
        for item in items:
            number = item[len(prefix) :] if item.startswith(prefix) else item if name == "ids" else ""
            if not _is_number(number):
                raise _Fail(_api_error(400, f"{name} must list {prefix}<id> URNs, comma-separated"))
            chosen.add(int(number))
        return frozenset(chosen)

    def find_tracks(self, call: _Call) -> _Response:
        tests: List[Callable[[JsonDict], bool]] = []
        query = (call.param("q") or "").strip().lower()
        if query:
            users = self.store.users

            def matches(t: JsonDict) -> bool:
                text = " ".join(str(t[k] or "") for k in ("title", "genre", "tag_list", "description"))
                return query in text.lower() or query in str(users[t["user_id"]]["username"]).lower()

            tests.append(matches)
        chosen = self.ids_filter(call, "urns", "tracks")
        if chosen is None:
            chosen = self.ids_filter(call, "ids", "tracks")
        if chosen is not None:
            tests.append(lambda t: t["id"] in chosen)
        genres = {g.lower() for g in _comma_list(call, "genres") or ()}
        if genres:
            tests.append(lambda t: str(t["genre"] or "").lower() in genres)
        tags = {t.lower() for t in _comma_list(call, "tags") or ()}
        if tags:
            tests.append(lambda t: not tags.isdisjoint(_tags(t["tag_list"])))
        bpm_low, bpm_high = _int_range(call, "bpm")
        tests.append(lambda t: _within(t["bpm"], bpm_low, bpm_high))
        shortest, longest = _int_range(call, "duration")
        tests.append(lambda t: _within(t["duration"], shortest, longest))
        since, until = _time_range(call, "created_at")
        if since is not None or until is not None:

            def created_within(t: JsonDict) -> bool:
                created = _track_time(t["created_at"])
                return created is not None and (since is None or created >= since) and (until is None or created <= until)

            tests.append(created_within)
        levels = _access(call)
        tests.append(lambda t: str(t.get("access") or "playable") in levels)
        found: Iterable[JsonDict] = [t for t in self.store.tracks.values() if all(test(t) for test in tests)]
        return self.track_page(call, found)

    def find_users(self, call: _Call) -> _Response:
        query = (call.param("q") or "").strip().lower()
        chosen = self.ids_filter(call, "urns", "users")
        users = [
            u
            for u in self.store.users.values()
            if query in f"{u['username']} {u['full_name']}".lower() and (chosen is None or u["id"] in chosen)
        ]
        return self.page(call, users, self.store.render_user)

    def find_playlists(self, call: _Call) -> _Response:
        query = (call.param("q") or "").strip().lower()
        show = call.param("show_tracks") is None or _truthy(call.param("show_tracks"))
        levels = _access(call)
        found = [
            p for p in self.store.playlists.values() if p["sharing"] == "public" and query in str(p["title"]).lower()
        ]

        def render(playlist: JsonDict) -> JsonDict:
            out = self.store.render_playlist(playlist, call.caller, show_tracks=show)
            if show:
                out["tracks"] = [t for t in out["tracks"] if str(t.get("access") or "playable") in levels]
            return out

        return self.page(call, found, render)
