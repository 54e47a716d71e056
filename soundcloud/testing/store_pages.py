"""The fake's page data: comments on tracks, track storefronts, and users' web profiles.

(Read and written by ``api_social``; playlist likes and reposts, and their times, are in
``store_social``.)

``_PagesStore`` is a mixin of ``store._Store`` (its state lives under the same lock). It
adds three tables:

    comments       comment id -> {id, track_id, user_id, body, timestamp, created_at};
                   ``timestamp`` is the position in the track in milliseconds, or None
    storefronts    track id -> the storefront as last PUT (``PUT /tracks/{urn}/storefront``)
    web_profiles   user id -> [{id, service, title, url, username, created_at}, ...]

``add_comment`` also counts the comment in the track's ``comment_count``.

Seed (on top of ``store``'s and ``store_social``'s; only about users and tracks that
exist): Flickermood (293) has two comments, by forss (183) at 4.96 s and by artist-1 (2001)
at 1:20; the configured user has two web profiles (Bandcamp and Instagram) and
forss one (Twitter). No track has a storefront.
"""

from __future__ import annotations

from typing import Any, Dict, Final, List, Optional, Protocol

__all__ = ["_PagesStore"]

_Json = Dict[str, Any]  # the store's JsonDict (store imports this module, not the other way)

_FORSS: Final = 183
_FLICKERMOOD: Final = 293
_ARTIST_1: Final = 2001


class _Catalogue(Protocol):
    """What the seed reads and writes of ``store._Store`` (the mixin's ``self``)."""

    me_id: int
    users: Dict[int, _Json]
    tracks: Dict[int, _Json]
    comments: Dict[int, _Json]
    web_profiles: Dict[int, List[_Json]]

    def add_comment(
        self, track_id: int, user_id: int, body: str, timestamp: Optional[int], created_at: str
    ) -> _Json: ...


class _PagesStore:
    """Comments, storefronts and web profiles (see the module docstring)."""

    comments: Dict[int, _Json]
    storefronts: Dict[int, _Json]
    web_profiles: Dict[int, List[_Json]]
    next_comment_id: int
    tracks: Dict[int, _Json]  # the store's

    def _init_pages(self) -> None:
        self.comments = {}
        self.storefronts = {}
        self.web_profiles = {}
        self.next_comment_id = 1

    def add_comment(
        self, track_id: int, user_id: int, body: str, timestamp: Optional[int], created_at: str
    ) -> _Json:
        """Store a comment on ``track_id`` and count it in the track's ``comment_count``."""
        cid = self.next_comment_id
        self.next_comment_id += 1
        comment: _Json = {
            "id": cid,
            "track_id": track_id,
            "user_id": user_id,
            "body": body,
            "timestamp": timestamp,
            "created_at": created_at,
        }
        self.comments[cid] = comment
        track = self.tracks.get(track_id)
        if track is not None:
            track["comment_count"] = int(track.get("comment_count") or 0) + 1
        return comment

    def _seed_pages(self: _Catalogue) -> None:
        if _FLICKERMOOD in self.tracks and _FORSS in self.users:
            self.add_comment(_FLICKERMOOD, _FORSS, "Still on repeat after all these years.", 4960, "2007/09/23 10:12:44 +0000")
            if _ARTIST_1 in self.users:
                self.add_comment(_FLICKERMOOD, _ARTIST_1, "The drop at 1:20!", 80000, "2012/03/02 18:30:05 +0000")
        self.web_profiles[self.me_id] = [
            _profile(1, "bandcamp", "Bandcamp", "https://test-user.bandcamp.com", "test-user", "2018/01/02 10:00:00 +0000"),
            _profile(2, "instagram", "Instagram", "https://instagram.com/test-user", "test-user", "2018/01/02 10:05:00 +0000"),
        ]  # fmt: skip
        if _FORSS in self.users and _FORSS != self.me_id:
            self.web_profiles[_FORSS] = [
                _profile(3, "twitter", "Twitter", "https://twitter.com/forss", "forss", "2009/05/11 08:00:00 +0000"),
            ]  # fmt: skip


def _profile(pid: int, service: str, title: str, url: str, username: str, created_at: str) -> _Json:
    return {"id": pid, "service": service, "title": title, "url": url, "username": username, "created_at": created_at}
