"""API handlers for tracks: search, uploads, edits, streams and downloads, likes and reposts.

``GET /tracks`` searches (``q``, ``genres``, ``ids``, ``urns``); ``POST /tracks`` is a
multipart upload (``track[title]`` and a ``track[asset_data]`` file part required; the
file becomes the track's original, kept with its Content-Type and in
``FakeSoundCloud.uploads``; a ``track[artwork_data]`` part becomes its cover on the CDN);
``PUT/DELETE /tracks/{id}`` edit the caller's own tracks. ``POST/DELETE /likes/tracks/{id}``
and ``/reposts/tracks/{id}`` toggle; a DELETE of a like or repost that is not there is
idempotent (200), 404 only for a track that does not exist.

Audio, as served since 15 November 2025 (SOUNDCLOUD_API.md, "Audio today"):

- ``GET /tracks/{id}/streams`` lists ``hls_aac_160_url`` and ``hls_aac_96_url`` (signed
  CDN URLs of the media playlists, or of the master playlist for a track set so; only the
  renditions the track's stream shape has) and ``preview_mp3_128_url``. A track with
  ``access: "preview"`` lists the preview alone. The retired ``http_mp3_128_url``,
  ``hls_mp3_128_url`` and ``hls_opus_64_url`` are never sent.
- A track with ``access: "blocked"``, or not ``streamable``, has no stream at all:
  ``/streams`` and ``/stream`` answer 404 "track is not streamable". The doc says nothing
  of blocked tracks; 404 is what the spec documents for ``/streams`` besides 200 and 401,
  and what ``/preview`` answers for them.
- ``GET /tracks/{id}/stream`` (the legacy endpoint) answers 302 to the 30-second preview.
- ``GET /tracks/{id}/download``, for ``downloadable`` tracks only, answers 302 to the
  original on the CDN (``/media/{id}.{ext}``).

Redirects carry the body ``{"status": "302 - Found", "location": ...}``.
"""

from __future__ import annotations

from typing import Dict, Final, FrozenSet, List, Mapping

from .api_base import _ApiBase
from .forms import _nested, _parse_form
from .http import _api_error, _Call, _Fail, _json, _ok, _redirect, _Response
from .store import JsonDict, Upload, _now_stamp, _slug

__all__ = ["_TrackHandlers"]

_TRACK_FIELDS: Final[FrozenSet[str]] = frozenset(
    {
        "title",
        "permalink",
        "sharing",
        "embeddable_by",
        "purchase_url",
        "purchase_title",
        "description",
        "genre",
        "tag_list",
        "label_name",
        "release",
        "release_date",
        "streamable",
        "downloadable",
        "license",
        "commentable",
        "reveal_stats",
        "reveal_comments",
        "isrc",
        "bpm",
        "key_signature",
    }
)
_BOOL_FIELDS: Final[FrozenSet[str]] = frozenset(
    {"streamable", "downloadable", "commentable", "reveal_stats", "reveal_comments"}
)
_LICENSES: Final[FrozenSet[str]] = frozenset(
    {
        "no-rights-reserved",
        "all-rights-reserved",
        "cc-by",
        "cc-by-nc",
        "cc-by-nd",
        "cc-by-sa",
        "cc-by-nc-nd",
        "cc-by-nc-sa",
    }
)


class _TrackHandlers(_ApiBase):
    """``/tracks``, ``/likes/tracks`` and ``/reposts/tracks``."""

    # -- tracks ---------------------------------------------------------------

    def get_track(self, call: _Call) -> _Response:
        return _json(200, self.store.render_track(self.track(call), call.caller))

    def apply_track_fields(self, track: JsonDict, fields: Mapping[str, str]) -> None:
        changes = _nested(fields, "track")
        for name, value in changes.items():
            if name not in _TRACK_FIELDS:
                continue
            if name == "sharing" and value not in ("public", "private"):
                raise _Fail(_api_error(422, "track[sharing] must be public or private"))
            if name == "license" and value not in _LICENSES:
                raise _Fail(_api_error(422, f"unknown license {value!r}"))
            if name in ("title", "permalink") and not value.strip():
                raise _Fail(_api_error(422, f"track[{name}] must not be empty"))
            if name == "embeddable_by" and value not in ("all", "me", "none"):
                # SoundCloud's values; the spec types the field as a string that is never null.
                raise _Fail(_api_error(422, "track[embeddable_by] must be all, me or none"))
            if name in _BOOL_FIELDS:
                track[name] = value.lower() in ("1", "true", "yes", "on")
            elif name == "bpm":
                try:
                    track[name] = float(value) if value else None
                except ValueError:
                    raise _Fail(_api_error(422, "track[bpm] must be a number")) from None
            else:
                track[name] = value if value != "" or name in ("description", "tag_list", "genre") else None
        if "title" in changes and "permalink" not in changes:
            track["permalink"] = _slug(changes["title"])
        track["last_modified"] = _now_stamp(self.store.clock)

    def upload_track(self, call: _Call) -> _Response:
        fields, files = _parse_form(call.request)
        title = fields.get("track[title]", "").strip()
        if not title:
            raise _Fail(_api_error(422, "track[title] is required"))
        asset = files.get("track[asset_data]")
        if asset is None:
            raise _Fail(_api_error(422, "track[asset_data] is required (a file part)"))
        for upload in files.values():
            if upload.filename is not None and len(upload.filename) > 255:
                raise _Fail(_api_error(422, "file names are limited to 255 characters"))
        assert call.caller.user_id is not None
        owner = self.store.users[call.caller.user_id]
        duration = len(asset.data) * 8 // 128  # milliseconds of 128 kbit/s audio
        track = self.store.add_track(user_id=owner["id"], title=title, duration=duration, streamable=True)
        try:
            self.apply_track_fields(track, fields)
        except _Fail:
            del self.store.tracks[track["id"]]
            raise
        artwork = files.get("track[artwork_data]")
        if artwork is not None:
            self.store.set_uploaded_artwork(track["id"], artwork.data)
        owner["upload_seconds_left"] = max(0, int(owner["upload_seconds_left"]) - duration // 1000)
        self.store.media[track["id"]] = asset.data
        self.store.remember_original(track["id"], asset.content_type, asset.filename)
        self.store.uploads.append(Upload(track["id"], dict(fields), dict(files)))
        return _json(201, self.store.render_track(track, call.caller))

    def update_track(self, call: _Call) -> _Response:
        track = self.track(call)
        self.owned(track, call)
        fields, files = _parse_form(call.request)
        self.apply_track_fields(track, fields)
        if "track[asset_data]" in files:
            raise _Fail(_api_error(422, "track[asset_data] cannot be replaced"))
        return _json(200, self.store.render_track(track, call.caller))

    def delete_track(self, call: _Call) -> _Response:
        track = self.track(call)
        self.owned(track, call)
        del self.store.tracks[track["id"]]
        self.store.media.pop(track["id"], None)
        return _ok()

    def streamable(self, call: _Call) -> JsonDict:
        track = self.track(call)
        if not track["streamable"] or track.get("access") == "blocked":
            raise _Fail(_api_error(404, "track is not streamable"))
        return track

    def stream_track(self, call: _Call) -> _Response:
        track = self.streamable(call)
        track["playback_count"] = int(track["playback_count"]) + 1
        return _redirect(302, self.store.cdn_link("preview", track["id"], ".mp3"))  # 30 s only

    def download_track(self, call: _Call) -> _Response:
        track = self.track(call)
        if not track["downloadable"]:
            raise _Fail(_api_error(404, "track is not downloadable"))
        track["download_count"] = int(track["download_count"]) + 1
        extension = self.store.original(track["id"])[1]
        return _redirect(302, self.store.cdn_link("media", track["id"], f".{extension}"))

    def track_streams(self, call: _Call) -> _Response:
        track = self.streamable(call)
        tid = track["id"]
        streams: JsonDict = {}
        if track.get("access") != "preview":
            for rendition in self.store.stream_shape(tid).renditions:
                streams[f"hls_{rendition}_url"] = self.store.sign_url(self.store.stream_path(tid, rendition))
        streams["preview_mp3_128_url"] = self.store.cdn_link("preview", tid, ".mp3")
        return _json(200, streams)

    def track_favoriters(self, call: _Call) -> _Response:
        tid = self.track(call)["id"]
        return self.user_page(call, [u for u, liked in self.store.likes.items() if tid in liked])

    # -- likes and reposts ----------------------------------------------------------

    def toggle(self, table: Dict[int, List[int]], call: _Call, created: int) -> _Response:
        assert call.caller.user_id is not None
        tid = self.track(call)["id"]
        mine = table.setdefault(call.caller.user_id, [])
        if call.request.method == "DELETE":
            if tid in mine:  # idempotent: 404 only for a track that does not exist
                mine.remove(tid)
            return _ok(200)
        if tid not in mine:
            mine.append(tid)
        return _ok(created)

    def like_track(self, call: _Call) -> _Response:
        return self.toggle(self.store.likes, call, 200)

    def repost_track(self, call: _Call) -> _Response:
        return self.toggle(self.store.reposts, call, 201)
