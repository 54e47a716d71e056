"""The fake's social data: who follows the user, playlist likes and reposts, when, and plays.

(``api_me`` reads these tables; ``api_social`` writes playlist likes and reposts into them.)

``_SocialStore`` is a mixin of ``store._Store`` (its state lives under the same lock). It
adds four tables to the store's ``followings`` (user id -> followed ids), ``likes`` and
``reposts`` (user id -> track ids), each list in the order the events happened:

    playlist_likes     user id -> playlist ids the user likes
    playlist_reposts   user id -> playlist ids the user reposted
    repost_times       ("track" | "playlist", user id, item id) -> when (seconds since the epoch)
    plays              user id -> [(when, track id), ...], oldest first

The activity endpoints (``api_me``) order reposts by ``repost_times``. A write handler that
reposts calls ``note_repost`` and one that plays a track ``note_play``; a repost the store
holds without a time gets one when the activities are next read (``settle_repost_times``),
so a repost made by any code path still shows up, at about the time it happened.

Seed (on top of ``store``'s; deterministic, and only about users, tracks and playlists that
exist, so ``user=`` and ``tracks=`` keep working). The catalogue itself is untouched (tests
count its tracks), so the followed artists post no tracks of their own:

- followers both ways: forss (183) and the first ``MUTUAL_FOLLOWERS`` followed artists
  (2001-2030) follow the configured user; 2031-2060 do not follow back; 123 neither.
- the artists 2001-2004 each post a playlist of three catalogue tracks ("Picks of
  artist-N", created 2019/12/01-04); playlist ids follow on from the user's playlist 1.
- each mutual follower reposts one catalogue track, and artists 2005-2006 repost the
  user's playlist 1 (all stamped from 2020/02/01 on, an hour apart): the user's feed.
- the configured user reposts Flickermood (293) and the playlist of artist-2, likes the
  playlists of artist-1 and artist-3, and played 40 tracks (``SEED_PLAYS``, some twice,
  Flickermood last). The user's track likes start empty: tests count them from zero.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Dict, Final, List, Mapping, Protocol, Tuple

__all__ = ["MUTUAL_FOLLOWERS", "SEED_PLAYS", "_SocialStore", "_stamp_of", "_time_of"]

_Json = Dict[str, Any]  # the store's JsonDict (store imports this module, not the other way)

MUTUAL_FOLLOWERS: Final = 30  # followed artists who follow the configured user back
SEED_PLAYS: Final = 40  # plays in the configured user's seeded history
_FORSS: Final = 183
_FLICKERMOOD: Final = 293
_REPOSTS_FROM: Final = datetime(2020, 2, 1, tzinfo=timezone.utc)
_PLAYS_FROM: Final = datetime(2020, 3, 1, tzinfo=timezone.utc)
_STAMP: Final = "%Y/%m/%d %H:%M:%S +0000"


def _stamp_of(when: float) -> str:
    """A time as SoundCloud writes ``created_at``: ``2020/02/01 10:00:00 +0000``."""
    return datetime.fromtimestamp(when, timezone.utc).strftime(_STAMP)


def _time_of(stamp: Any) -> float:
    """Seconds since the epoch of a ``created_at``; 0 for one that is not a time."""
    try:
        return datetime.strptime(str(stamp), "%Y/%m/%d %H:%M:%S %z").timestamp()
    except ValueError:
        return 0.0


class _Catalogue(Protocol):
    """What the seed reads and writes of ``store._Store`` (the mixin's ``self``)."""

    me_id: int
    users: Dict[int, _Json]
    tracks: Dict[int, _Json]
    playlists: Dict[int, _Json]
    followings: Dict[int, List[int]]
    reposts: Dict[int, List[int]]
    playlist_likes: Dict[int, List[int]]
    playlist_reposts: Dict[int, List[int]]
    repost_times: Dict[Tuple[str, int, int], float]
    plays: Dict[int, List[Tuple[float, int]]]

    def add_playlist(self, owner: int, fields: Mapping[str, str], track_ids: List[int]) -> _Json: ...

    def forget_stale_reposts(self) -> None: ...


class _SocialStore:
    """Followers, playlist likes and reposts, repost times and plays (see the module docstring)."""

    playlist_likes: Dict[int, List[int]]
    playlist_reposts: Dict[int, List[int]]
    repost_times: Dict[Tuple[str, int, int], float]
    plays: Dict[int, List[Tuple[float, int]]]
    clock: Callable[[], float]  # the store's

    def _init_social(self) -> None:
        self.playlist_likes = {}
        self.playlist_reposts = {}
        self.repost_times = {}
        self.plays = {}

    # -- events -----------------------------------------------------------------

    def note_repost(self, kind: str, user_id: int, item_id: int) -> None:
        """Record that ``user_id`` reposted track or playlist (``kind``) ``item_id`` now."""
        self.repost_times[(kind, user_id, item_id)] = float(self.clock())

    def forget_stale_reposts(self: _Catalogue) -> None:
        """Drop the times of reposts since undone, so that a repost made again is new again."""
        live = {("track", u, t) for u, ids in self.reposts.items() for t in ids}
        live |= {("playlist", u, p) for u, ids in self.playlist_reposts.items() for p in ids}
        for key in [k for k in self.repost_times if k not in live]:
            del self.repost_times[key]

    def settle_repost_times(self: _Catalogue, now: float) -> None:
        """Forget undone reposts; stamp the ones the store holds without a time with ``now``.

        The activity views call this before they read ``repost_times``: a repost made by a
        handler that did not call ``note_repost`` gets the time it was first seen.
        """
        self.forget_stale_reposts()
        for user, track_ids in self.reposts.items():
            for track_id in track_ids:
                self.repost_times.setdefault(("track", user, track_id), now)
        for user, playlist_ids in self.playlist_reposts.items():
            for playlist_id in playlist_ids:
                self.repost_times.setdefault(("playlist", user, playlist_id), now)

    def note_play(self, user_id: int, track_id: int) -> None:
        """Record that ``user_id`` played ``track_id`` now (``/me/recently-played/tracks``)."""
        self.plays.setdefault(user_id, []).append((float(self.clock()), track_id))

    # -- seed -------------------------------------------------------------------

    def _seed_social(self: _Catalogue) -> None:
        me = self.me_id
        followed = [u for u in self.followings.get(me, []) if u in self.users and u != me]
        mutual = followed[:MUTUAL_FOLLOWERS]
        for fan in ([_FORSS] if _FORSS in self.users and _FORSS != me else []) + mutual:
            self.followings.setdefault(fan, []).append(me)
        catalogue = [t for t, track in self.tracks.items() if track["sharing"] == "public"]
        if not catalogue:
            return
        picks: List[int] = []
        for n, artist in enumerate(followed[:4]):
            chosen = [catalogue[(n * 11 + k * 5) % len(catalogue)] for k in range(3)]
            name = self.users[artist]["username"]
            playlist = self.add_playlist(artist, {"title": f"Picks of {name}"}, list(dict.fromkeys(chosen)))
            playlist["created_at"] = playlist["last_modified"] = f"2019/12/0{n + 1} 18:00:00 +0000"
            picks.append(playlist["id"])
        when = _REPOSTS_FROM.timestamp()
        for n, fan in enumerate(mutual):
            track_id = catalogue[(n * 37 + 3) % len(catalogue)]
            self.reposts.setdefault(fan, []).append(track_id)
            self.repost_times[("track", fan, track_id)] = when + 3600 * n
        own = [p for p, playlist in self.playlists.items() if playlist["user_id"] == me][:1]
        for n, fan in enumerate(followed[4:6]):
            for playlist_id in own:
                self.playlist_reposts.setdefault(fan, []).append(playlist_id)
                self.repost_times[("playlist", fan, playlist_id)] = when + 3600 * (len(mutual) + n)
        last = when + 3600 * (len(mutual) + 2)
        if _FLICKERMOOD in self.tracks and self.tracks[_FLICKERMOOD]["user_id"] != me:
            self.reposts.setdefault(me, []).append(_FLICKERMOOD)
            self.repost_times[("track", me, _FLICKERMOOD)] = last
        if len(picks) > 1:
            self.playlist_reposts.setdefault(me, []).append(picks[1])
            self.repost_times[("playlist", me, picks[1])] = last + 3600
        self.playlist_likes[me] = picks[0:1] + picks[2:3]
        start = _PLAYS_FROM.timestamp()
        window = catalogue[: min(len(catalogue), 31)]
        history = [(start + 600 * n, window[(n * 7) % len(window)]) for n in range(SEED_PLAYS - 1)]
        history.append((start + 600 * SEED_PLAYS, _FLICKERMOOD if _FLICKERMOOD in self.tracks else window[0]))
        self.plays[me] = history
