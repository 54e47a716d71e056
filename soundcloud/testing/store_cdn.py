"""The fake's CDN state: URL signing, stream shapes, injected segment faults, originals, artwork.

``_CdnStore`` is a mixin of ``store._Store`` (its state lives under the same lock).

Signed URLs
    Like CloudFront signed URLs with a custom policy, every audio URL the API hands out
    carries ``Policy=<policy>&Signature=<signature>&Key-Pair-Id=<id>``. The policy is JSON,
    ``{"Statement": [{"Resource": <the URL without its query>, "Condition":
    {"DateLessThan": {"AWS:EpochTime": <expiry>}}}], "Generation": <n>}``, in CloudFront's
    URL-safe base64 (``+`` as ``-``, ``=`` as ``_``, ``/`` as ``~``); the signature is an
    HMAC-SHA256 of the encoded policy under the store's random key (CloudFront signs with
    RSA; the fake needs only a keyed check), encoded the same way. A URL expires
    ``CDN_URL_LIFETIME`` seconds of the store's clock after it was signed. ``Generation``
    is the fake's own: ``expire_all`` raises the store's, and a URL of an older generation
    is refused as expired, so a test can expire every URL handed out so far without
    moving the clock, while URLs signed afterwards work.

Streams
    ``streams`` maps a track id to its ``hls.StreamShape`` (the default shape when absent);
    ``faults`` holds what ``FakeSoundCloud.break_segment`` asked for, consumed by
    ``take_fault`` one request at a time.

Originals and artwork
    ``original`` says what ``/tracks/{id}/download`` leads to: the uploaded file with its
    Content-Type and extension (from the part's type, else its file name), or the generated
    bytes as ``audio/mpeg`` / ``.mp3`` (they begin with an ID3 tag). ``artwork`` maps a
    track id to its cover (Content-Type, bytes); a track absent from it shows the JPEG
    fixture. Its ``artwork_url`` points at the fake CDN (``/artworks/artworks-<12-digit
    id>-large.jpg``, unsigned, like i1.sndcdn.com), stored as a path and made absolute
    when rendered (the CDN's port is known only once it is started).

This module imports only ``hls`` from the package.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import mimetypes
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, Final, List, Mapping, Optional, Pattern, Tuple

from .hls import StreamShape

__all__ = ["ARTWORK_SIZES", "CDN_KEY_PAIR_ID", "CDN_URL_LIFETIME", "_CdnStore", "_SegmentFault", "_artwork_path"]

CDN_URL_LIFETIME: Final = 300  # the live CDN URLs expire within minutes
CDN_KEY_PAIR_ID: Final = "APKAFAKESOUNDCLOUD01"  # CloudFront key pair ids look like APKA...

#: The cover sizes SoundCloud's image CDN serves (the word before ``.jpg`` in an artwork URL).
ARTWORK_SIZES: Final = frozenset(
    {"original", "t500x500", "crop", "t300x300", "large", "t67x67", "badge", "small", "tiny", "mini"}
)

# Content types of originals, and the extension each gets when the upload's file name has none.
_AUDIO_EXTENSIONS: Final[Dict[str, str]] = {
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
    "audio/aiff": "aiff",
    "audio/x-aiff": "aiff",
    "audio/mp4": "m4a",
    "audio/x-m4a": "m4a",
    "audio/aac": "aac",
    "audio/ogg": "ogg",
    "audio/opus": "opus",
}
_GENERIC_TYPES: Final = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_EXTENSION_RE: Final[Pattern[str]] = re.compile(r"[a-z0-9]{1,5}")
_PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"
_B64_TO_CLOUDFRONT: Final = bytes.maketrans(b"+=/", b"-_~")
_CLOUDFRONT_TO_B64: Final = bytes.maketrans(b"-_~", b"+=/")


@dataclass
class _SegmentFault:
    index: int  # 0-based position in the playlist
    rendition: Optional[str]  # None: any rendition
    status: int
    times: int
    truncate: bool


def _artwork_path(track_id: int, extension: str = "jpg") -> str:
    return f"/artworks/artworks-{track_id:012d}-large.{extension}"


def _cloudfront_b64(data: bytes) -> str:
    return base64.b64encode(data).translate(_B64_TO_CLOUDFRONT).decode("ascii")


class _CdnStore:
    """Signing, stream shapes, segment faults, originals and artwork (see the module docstring)."""

    cdn_url: str
    cdn_key: bytes
    cdn_generation: int
    streams: Dict[int, StreamShape]
    faults: Dict[int, List[_SegmentFault]]
    artwork: Dict[int, Tuple[str, bytes]]
    tracks: Dict[int, Dict[str, Any]]  # the store's
    media: Dict[int, bytes]  # the store's
    originals: Dict[int, Tuple[str, str]]
    clock: Callable[[], float]  # the store's

    def _init_cdn(self) -> None:
        self.cdn_generation = 0
        self.streams = {}
        self.faults = {}
        self.artwork = {}
        self.originals = {}

    # -- signing ------------------------------------------------------------------

    def sign_query(self, path: str) -> str:
        """The ``Policy``/``Signature``/``Key-Pair-Id`` query for the CDN path ``path``."""
        expires = int(self.clock()) + CDN_URL_LIFETIME
        statement = {"Resource": self.cdn_url + path, "Condition": {"DateLessThan": {"AWS:EpochTime": expires}}}
        policy = json.dumps({"Statement": [statement], "Generation": self.cdn_generation}, separators=(",", ":"))
        encoded = _cloudfront_b64(policy.encode("utf-8"))
        return f"Policy={encoded}&Signature={self._signature(encoded)}&Key-Pair-Id={CDN_KEY_PAIR_ID}"

    def sign_url(self, path: str) -> str:
        """A signed CDN URL for ``path``, valid for ``CDN_URL_LIFETIME`` seconds."""
        return f"{self.cdn_url}{path}?{self.sign_query(path)}"

    def cdn_link(self, kind: str, track_id: int, suffix: str) -> str:
        """A signed CDN URL for ``/{kind}/{track_id}{suffix}``."""
        return self.sign_url(f"/{kind}/{track_id}{suffix}")

    def _signature(self, encoded_policy: str) -> str:
        return _cloudfront_b64(hmac.new(self.cdn_key, encoded_policy.encode("ascii"), hashlib.sha256).digest())

    def refusal(self, path: str, query: Mapping[str, List[str]]) -> Optional[str]:
        """Why the CDN refuses a request for ``path`` with ``query`` (None: it is signed and current)."""
        policy = (query.get("Policy") or [""])[0]
        signature = (query.get("Signature") or [""])[0]
        key_pair = (query.get("Key-Pair-Id") or [""])[0]
        if not policy or not signature or not key_pair:
            return "Missing Key-Pair-Id, Policy or Signature query parameter"
        if key_pair != CDN_KEY_PAIR_ID:
            return "Unknown Key-Pair-Id"
        if not hmac.compare_digest(signature, self._signature(policy)):
            return "Invalid signature"
        try:
            document = json.loads(base64.b64decode(policy.encode("ascii").translate(_CLOUDFRONT_TO_B64)))
            statement = document["Statement"][0]
            resource = statement["Resource"]
            expires = int(statement["Condition"]["DateLessThan"]["AWS:EpochTime"])
            generation = int(document["Generation"])
        except (ValueError, KeyError, IndexError, TypeError):
            return "Malformed policy"
        if resource != self.cdn_url + path:
            return "Invalid signature: the policy is for another resource"
        if self.clock() > expires or generation < self.cdn_generation:
            return "Request has expired"
        return None

    def expire_all(self) -> None:
        """Every URL signed so far is refused from now on as expired."""
        self.cdn_generation += 1

    # -- streams ------------------------------------------------------------------

    def stream_shape(self, track_id: int) -> StreamShape:
        """How the track's HLS is served."""
        return self.streams.get(track_id) or StreamShape()

    def stream_path(self, track_id: int, rendition: str) -> str:
        """The CDN path ``/streams`` lists for a rendition: the media playlist, or the master."""
        if self.stream_shape(track_id).master:
            return f"/hls/{track_id}/master.m3u8"
        return f"/hls/{track_id}/{rendition}/playlist.m3u8"

    def take_fault(self, track_id: int, rendition: str, index: int) -> Optional[_SegmentFault]:
        """The fault planned for this request of a segment, if any (one of its ``times`` used)."""
        planned = self.faults.get(track_id, [])
        for fault in planned:
            if fault.index == index and fault.rendition in (None, rendition) and fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    planned.remove(fault)
                return fault
        return None

    # -- originals and artwork ----------------------------------------------------

    def remember_original(self, track_id: int, content_type: str, filename: Optional[str]) -> None:
        """Record the uploaded file's type and extension (its bytes are in ``media``)."""
        media_type = content_type.split(";", 1)[0].strip().lower()
        extension = ""
        if filename and "." in filename:
            extension = filename.rsplit(".", 1)[1].lower()
            extension = extension if _EXTENSION_RE.fullmatch(extension) else ""
        if media_type in _GENERIC_TYPES and filename:
            media_type = (mimetypes.guess_type(filename)[0] or "application/octet-stream").lower()
        if not extension:
            extension = _AUDIO_EXTENSIONS.get(media_type, "bin")
        self.originals[track_id] = (media_type, extension)

    def original(self, track_id: int) -> Tuple[str, str]:
        """(Content-Type, extension) of what ``/tracks/{id}/download`` leads to."""
        return self.originals.get(track_id) or ("audio/mpeg", "mp3")

    def set_artwork(self, track_id: int, content_type: Optional[str], data: bytes) -> None:
        """Give a track a cover (``image/jpeg`` or ``image/png``), or none (``content_type`` None)."""
        track = self.tracks[track_id]
        if content_type is None:
            self.artwork.pop(track_id, None)
            track["artwork_url"] = None
            return
        self.artwork[track_id] = (content_type, data)
        track["artwork_url"] = _artwork_path(track_id, "png" if content_type == "image/png" else "jpg")

    def set_uploaded_artwork(self, track_id: int, data: bytes) -> None:
        """The cover uploaded as ``track[artwork_data]``: a PNG by its magic number, else a JPEG."""
        self.set_artwork(track_id, "image/png" if data.startswith(_PNG_MAGIC) else "image/jpeg", data)

    def absolute_artwork(self, url: Any) -> Any:
        """A stored artwork URL as the API shows it (CDN paths made absolute)."""
        if isinstance(url, str) and url.startswith("/artworks/"):
            return self.cdn_url + url
        return url
