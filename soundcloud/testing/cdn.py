"""The CDN origin (like https://cf-media.sndcdn.com): signed, expiring audio URLs.

``/media/{id}.mp3?expires=..&sig=..`` (full audio), ``/preview/{id}.mp3?..`` (first
``PREVIEW_SIZE`` bytes), ``/hls/{id}/{aac_160|mp3_128}.m3u8?..`` (a one segment
playlist). URLs are HMAC-signed (``_Store.sign``) and expire ``CDN_URL_LIFETIME``
seconds after they were handed out (403 with an XML body otherwise, like CloudFront).
Audio is ``audio/mpeg`` with ``Accept-Ranges: bytes``; ``Range: bytes=N-``,
``bytes=N-M`` and ``bytes=-N`` give 206 with ``Content-Range``, 416 when unsatisfiable.
Like S3 and CloudFront, every audio answer carries validators: a strong ``ETag`` (the MD5 of
the bytes) and ``Last-Modified`` (the track's ``created_at``: its audio never changes after),
and ``If-Range`` is honoured (RFC 9110 13.1.5, evaluated before Range as 13.2.2 orders): the
Range is served only when the If-Range ETag or date matches exactly, else the whole object
comes back with 200.
Bytes are ``media_bytes(id)``: generated from the id, or the uploaded file for uploaded
tracks. ``cdn_authorization_seen`` tells whether an ``Authorization`` header ever
reached the CDN (it must not).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Final, Iterable, Optional, Pattern, Tuple

from .http import NONE, RecordedRequest, _App, _Call, _Fail, _Response, _routes
from .store import _Store

__all__ = ["PREVIEW_SIZE", "_CdnApp"]

PREVIEW_SIZE: Final = 64 * 1024
_RANGE_RE: Final[Pattern[str]] = re.compile(r"bytes=(\d*)-(\d*)")


class _CdnApp(_App):
    name = "cdn"

    def __init__(self, store: _Store) -> None:
        super().__init__(store)
        self.routes = _routes(
            [
                ("GET", r"/media/{id}\.mp3", self.media, NONE),
                ("GET", r"/preview/{id}\.mp3", self.preview, NONE),
                ("GET", r"/hls/{id}/{name}\.m3u8", self.hls, NONE),
            ]
        )

    def dispatch(self, request: RecordedRequest) -> _Response:
        if "authorization" in request.headers:
            with self.store.lock:
                self.store.cdn_authorization_seen = True
        return super().dispatch(request)

    def error(self, code: int, detail: str, headers: Iterable[Tuple[str, str]] = ()) -> _Response:
        # The CDN is not the API: it answers like CloudFront/S3, in XML.
        name = {403: "AccessDenied", 404: "NoSuchKey", 405: "MethodNotAllowed"}.get(code, "InvalidRequest")
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{name}</Code>"
            f"<Message>{detail}</Message></Error>"
        ).encode()
        return _Response(code, body, [("Content-Type", "text/xml")] + list(headers))

    def verified_id(self, call: _Call) -> int:
        if not call.args[0].isdigit():
            raise _Fail(self.error(404, "no such object"))
        track_id = int(call.args[0])
        expires_text = call.param("expires") or ""
        sig = call.param("sig") or ""
        if not expires_text.isdigit() or not sig:
            raise _Fail(self.error(403, "missing signature"))
        expires = int(expires_text)
        path = call.request.path
        if not hmac.compare_digest(sig, self.store.sign(path, expires)):
            raise _Fail(self.error(403, "invalid signature"))
        if self.store.clock() > expires:
            raise _Fail(self.error(403, "request has expired"))
        if track_id not in self.store.tracks:
            raise _Fail(self.error(404, "no such object"))
        return track_id

    def media(self, call: _Call) -> _Response:
        track_id = self.verified_id(call)
        return self.audio(call, self.store.media_bytes(track_id), self.last_modified(track_id))

    def preview(self, call: _Call) -> _Response:
        track_id = self.verified_id(call)
        return self.audio(call, self.store.media_bytes(track_id)[:PREVIEW_SIZE], self.last_modified(track_id))

    def last_modified(self, track_id: int) -> Optional[str]:
        with self.store.lock:
            created = self.store.tracks[track_id].get("created_at")
        return _http_date(created) if isinstance(created, str) else None

    def audio(self, call: _Call, data: bytes, modified: Optional[str]) -> _Response:
        size = len(data)
        etag = '"' + hashlib.md5(data).hexdigest() + '"'  # noqa: S324 - an ETag, not security
        headers = [("Content-Type", "audio/mpeg"), ("Accept-Ranges", "bytes"), ("ETag", etag)]
        if modified is not None:
            headers.append(("Last-Modified", modified))
        header = call.request.header("range")
        match = _RANGE_RE.fullmatch(header.strip()) if header else None
        if match is None or (not match.group(1) and not match.group(2)):
            return _Response(200, data, headers)  # no Range, or one we may ignore (RFC 9110 14.2)
        condition = call.request.header("if-range")
        if condition is not None and not _if_range_holds(condition.strip(), etag, modified):
            return _Response(200, data, headers)  # the client's copy is stale: all of it (13.1.5)
        first, last = match.group(1), match.group(2)
        if first:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
            if last and int(last) < start:
                return _Response(200, data, headers)  # syntactically invalid: ignore it
        else:
            suffix = int(last)
            start, end = max(size - suffix, 0), size - 1
            if suffix == 0:
                start = size  # "bytes=-0" can never be satisfied
        if start >= size:
            headers.append(("Content-Range", f"bytes */{size}"))
            return _Response(416, b"", headers)
        headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
        return _Response(206, data[start : end + 1], headers)

    def hls(self, call: _Call) -> _Response:
        track_id = self.verified_id(call)
        if call.args[1] not in ("aac_160", "mp3_128"):
            raise _Fail(self.error(404, "no such rendition"))
        seconds = max(1, int(self.store.tracks[track_id]["duration"]) // 1000)
        segment = self.store.cdn_link("media", track_id, ".mp3")
        text = (
            "#EXTM3U\n#EXT-X-VERSION:3\n"
            f"#EXT-X-TARGETDURATION:{seconds}\n#EXT-X-MEDIA-SEQUENCE:0\n"
            f"#EXTINF:{seconds}.0,\n{segment}\n#EXT-X-ENDLIST\n"
        )
        return _Response(200, text.encode(), [("Content-Type", "application/vnd.apple.mpegurl")])


def _http_date(stamp: str) -> Optional[str]:
    """``2020/01/03 12:08:25 +0000`` (the API's format) as an IMF-fixdate (RFC 9110 5.6.7)."""
    try:
        moment = datetime.strptime(stamp, "%Y/%m/%d %H:%M:%S %z")
    except ValueError:
        return None
    return format_datetime(moment.astimezone(timezone.utc), usegmt=True)


def _if_range_holds(condition: str, etag: str, modified: Optional[str]) -> bool:
    # RFC 9110 13.1.5: an entity tag starts with a DQUOTE and is compared strongly (a weak
    # tag, W/"...", never matches); anything else is a date that must equal Last-Modified.
    if condition.startswith('"'):
        return condition == etag
    if condition.startswith("W/"):
        return False
    return modified is not None and condition == modified
