"""HLS playlists (RFC 8216): the subset SoundCloud serves, parsed into plain values.

Pure: text in, values out, no I/O. The fetcher reads at most :data:`MAX_PLAYLIST_BYTES`,
decodes them as UTF-8 and hands the text here with the URL it came from (the final URL,
after redirects: relative URIs resolve against it).

- **What SoundCloud sends.** ``/tracks/{urn}/streams`` names media playlists of
  fragmented MP4 (CMAF): one ``#EXT-X-MAP`` init section, ``#EXTINF`` segments whose URIs
  are absolute and signed CloudFront style (``?Policy=...&Signature=...&Key-Pair-Id=...``),
  and ``#EXT-X-ENDLIST``. Master playlists, relative URIs and byte ranges are parsed too,
  so the same code reads any VOD audio playlist of this shape.
- **Lines** (4.1). The first line is ``#EXTM3U`` (a UTF-8 byte order mark before it is
  tolerated although 4.1 forbids it). Lines end in LF or CR LF; a lone CR or the other
  characters :meth:`str.splitlines` breaks on do not end a line. Blank lines are ignored,
  a ``#`` line that does not start with ``#EXT`` is a comment, and tags this module does not
  know are ignored, as 4.1 tells clients to. Tags are case sensitive.
- **Attribute lists** (4.2) are read by a small scanner that knows quoted strings, so
  ``CODECS="mp4a.40.2,mp4a.40.5"`` is one value. A name given twice is refused (4.2: clients
  SHOULD refuse). One lenience: spaces after a comma are skipped.
- **Numbers.** A decimal-integer is 1 to 20 ASCII digits below 2**64 (4.2); an EXTINF
  duration is a decimal-floating-point (digits, at most one dot): ``-1``, ``nan``, ``inf``,
  ``1e3`` and ``1_0`` (which :func:`float` would take) are all refused.
- **Media playlists** (4.3.2, 4.3.3). ``EXT-X-BYTERANGE`` without ``@offset`` continues
  right after the previous segment's sub-range, which must be of the same resource
  (4.3.2.2: otherwise the client MUST fail). ``EXT-X-MAP`` applies to every later segment
  (4.3.2.5); one init section per stream is supported, so a second, different one, or one
  that arrives after segments that had none, is refused. Its ``BYTERANGE`` should carry an
  offset; a missing one is read as 0. ``EXT-X-KEY`` with a METHOD other than NONE means the
  media is encrypted (SoundCloud's DRM tracks): :class:`EncryptedStreamError`, so nothing is
  written. A playlist without ``EXT-X-ENDLIST`` is live or still growing, not a track to
  download, and is refused, as are I-frame-only playlists (4.3.3.6: no whole stream).
- **Master playlists** (4.3.4). Each ``EXT-X-STREAM-INF`` (BANDWIDTH required) is followed
  by its URI line; ``EXT-X-MEDIA`` and ``EXT-X-I-FRAME-STREAM-INF`` are ignored. A playlist
  with tags of both kinds is refused (4.3.3, 4.3.4: clients MUST fail to parse it).
- **URIs** are resolved with :func:`urllib.parse.urljoin` against the playlist's URL, the
  query kept byte for byte (it is the signature) and the fragment dropped (it never goes to
  a server). Only http and https are allowed after resolution: a playlist cannot point the
  fetcher at ``file:`` or ``data:``. URIs with whitespace or control characters are refused.
- **Errors** name the line and what was wrong there. They never quote a signed URL in full:
  URLs are shown without their query (:func:`_shown`), and lines are described, not echoed.
- **Bounds.** One pass over the lines, no recursion; every scanner loop consumes input;
  at most :data:`MAX_SEGMENTS` segments.
"""

from __future__ import annotations

import math
import re
from typing import Dict, Final, List, NamedTuple, Optional, Tuple, Union
from urllib.parse import urljoin, urlsplit, urlunsplit

from .._redact import redact_url
from ..errors import DownloadError

__all__ = [
    "MAX_PLAYLIST_BYTES",
    "MAX_SEGMENTS",
    "ByteRange",
    "EncryptedStreamError",
    "InitSection",
    "MasterPlaylist",
    "MediaPlaylist",
    "PlaylistError",
    "Segment",
    "Variant",
    "best_variant",
    "parse_playlist",
]

# The most the fetcher reads of a playlist. A two-hour SoundCloud mix at 10 s segments is
# about 720 segments of ~600 bytes each (signed URIs): well under 1 MiB.
MAX_PLAYLIST_BYTES: Final = 8 * 1024 * 1024
# The most segments one playlist may list (a day of one-second segments is 86,400).
MAX_SEGMENTS: Final = 200_000

# 4.2: decimal-integer is an unsigned integer in the range 0 to 2**64-1, 1 to 20 digits.
_MAX_DECIMAL_INTEGER: Final = 2**64 - 1
_DECIMAL_INTEGER: Final = re.compile(r"[0-9]{1,20}\Z")
# 4.2: decimal-floating-point, digits and '.', non-negative. The integer part is capped at
# 15 digits (30 million years) so that a sum of MAX_SEGMENTS of them stays finite.
_DURATION: Final = re.compile(r"[0-9]{1,15}(?:\.[0-9]*)?\Z")
# 4.2: AttributeName is made of [A-Z], [0-9] and '-'.
_ATTRIBUTE_NAME: Final = re.compile(r"[A-Z0-9-]+\Z")
# Whitespace and control characters (4.1 forbids C0 and C1 controls in a playlist; RFC 3986
# has no whitespace in a URI): a URI with any of them is refused rather than cleaned up.
_NOT_IN_URI: Final = re.compile(r"[\x00-\x20\x7f-\x9f]")
# How much of a URL an error message shows at most.
_SHOWN_URL: Final = 160

# 4.3.4: tags only a master playlist has; 4.3.2 and 4.3.3: tags only a media playlist has.
# EXT-X-VERSION, EXT-X-INDEPENDENT-SEGMENTS and EXT-X-START may appear in either (4.3.5).
_MASTER_TAGS: Final = frozenset(
    {
        "EXT-X-STREAM-INF",
        "EXT-X-I-FRAME-STREAM-INF",
        "EXT-X-MEDIA",
        "EXT-X-SESSION-DATA",
        "EXT-X-SESSION-KEY",
    }
)
_MEDIA_TAGS: Final = frozenset(
    {
        "EXTINF",
        "EXT-X-BYTERANGE",
        "EXT-X-DISCONTINUITY",
        "EXT-X-KEY",
        "EXT-X-MAP",
        "EXT-X-PROGRAM-DATE-TIME",
        "EXT-X-DATERANGE",
        "EXT-X-TARGETDURATION",
        "EXT-X-MEDIA-SEQUENCE",
        "EXT-X-DISCONTINUITY-SEQUENCE",
        "EXT-X-ENDLIST",
        "EXT-X-PLAYLIST-TYPE",
        "EXT-X-I-FRAMES-ONLY",
    }
)
# Tags whose meaning needs a value after the colon.
_NEEDS_VALUE: Final = frozenset(
    {
        "EXTINF",
        "EXT-X-BYTERANGE",
        "EXT-X-KEY",
        "EXT-X-MAP",
        "EXT-X-TARGETDURATION",
        "EXT-X-MEDIA-SEQUENCE",
        "EXT-X-STREAM-INF",
        "EXT-X-SESSION-KEY",
    }
)


class PlaylistError(DownloadError):
    """An HLS playlist is malformed, or uses what this client does not support."""


class EncryptedStreamError(DownloadError):
    """The stream is encrypted (``EXT-X-KEY`` with a METHOD other than NONE): DRM, no download."""


class ByteRange(NamedTuple):
    """A sub-range of a resource: ``length`` bytes from ``offset`` (RFC 8216 4.3.2.2)."""

    offset: int
    length: int


class InitSection(NamedTuple):
    """The ``EXT-X-MAP`` init section (for fMP4: ftyp + moov), with its sub-range if any."""

    uri: str
    byterange: Optional[ByteRange]


class Segment(NamedTuple):
    """One media segment: its absolute URL, EXTINF duration and sequence number."""

    uri: str  # absolute http(s) URL, resolved against the playlist URL, query intact
    duration: float  # EXTINF seconds
    sequence: int  # EXT-X-MEDIA-SEQUENCE + index (4.3.3.2)
    byterange: Optional[ByteRange]
    init: Optional[InitSection]  # the EXT-X-MAP in force for this segment


class MediaPlaylist:
    """A finished (VOD) media playlist: its segments in order and the one init section."""

    def __init__(
        self,
        segments: List[Segment],
        target_duration: int,
        media_sequence: int,
        ended: bool,
        init: Optional[InitSection],
    ) -> None:
        self.segments = segments
        self.target_duration = target_duration
        self.media_sequence = media_sequence
        # Always True for what parse_playlist returns: it refuses playlists without ENDLIST.
        self.ended = ended
        self.init = init

    @property
    def total_duration(self) -> float:
        """The sum of the segments' EXTINF durations, in seconds."""
        return math.fsum(segment.duration for segment in self.segments)

    def __repr__(self) -> str:
        # No URIs: they carry signatures.
        return (
            f"<MediaPlaylist {len(self.segments)} segments, {self.total_duration:.3f} s,"
            f" init={'yes' if self.init is not None else 'no'}>"
        )


class Variant(NamedTuple):
    """One ``EXT-X-STREAM-INF`` of a master playlist: the media playlist's URL and its rate."""

    uri: str
    bandwidth: int  # bits per second (4.3.4.2)
    codecs: Optional[str]  # RFC 6381 list, such as "mp4a.40.2"; None when not given


class MasterPlaylist:
    """A master playlist: the variant streams it lists, in order."""

    def __init__(self, variants: List[Variant]) -> None:
        self.variants = variants

    def __repr__(self) -> str:
        return f"<MasterPlaylist {len(self.variants)} variants>"


def parse_playlist(text: str, url: str) -> Union[MasterPlaylist, MediaPlaylist]:
    """Parse an HLS playlist fetched from ``url``; raise PlaylistError if it is not usable.

    >>> playlist = parse_playlist(
    ...     "#EXTM3U\\n#EXT-X-TARGETDURATION:10\\n#EXTINF:9.5,\\nseg-1.m4s\\n#EXT-X-ENDLIST\\n",
    ...     "https://cdn.example/aac/playlist.m3u8",
    ... )
    >>> playlist.segments[0].uri
    'https://cdn.example/aac/seg-1.m4s'
    """
    where = f"HLS playlist {_shown(url)}"
    if len(text) > MAX_PLAYLIST_BYTES:
        raise PlaylistError(f"{where}: longer than {MAX_PLAYLIST_BYTES} bytes")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if lines[0].rstrip() != "#EXTM3U":
        raise PlaylistError(f"{where}: not an HLS playlist (the first line is not #EXTM3U)")
    parser = _Parser(url, where)
    for index in range(1, len(lines)):
        parser.line(index + 1, lines[index])
    return parser.finish()


def best_variant(master: MasterPlaylist) -> Variant:
    """The variant with the highest BANDWIDTH whose CODECS, when given, are all AAC (``mp4a``).

    The first one listed wins a tie. PlaylistError when no variant qualifies.
    """
    best: Optional[Variant] = None
    for variant in master.variants:
        if variant.codecs is not None and not _is_aac(variant.codecs):
            continue
        if best is None or variant.bandwidth > best.bandwidth:
            best = variant
    if best is None:
        codecs = sorted({variant.codecs or "" for variant in master.variants})
        raise PlaylistError(
            f"none of the {len(master.variants)} variant streams of the master playlist is AAC"
            f" audio (CODECS: {', '.join(repr(c[:64]) for c in codecs[:8])})"
        )
    return best


def _is_aac(codecs: str) -> bool:
    # RFC 6381 3.3: "mp4a" then the object type, such as mp4a.40.2 (AAC-LC), mp4a.40.5 (HE-AAC).
    names = [name.strip() for name in codecs.split(",")]
    return all(name == "mp4a" or name.startswith("mp4a.") for name in names)


def _shown(url: str) -> str:
    """``url`` as an error may show it: no query (signatures live there), no user info."""
    try:
        parts = urlsplit(url)
        shown = redact_url(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")))
    except ValueError:
        return "(an unparsable URL)"
    if parts.query:
        shown += "?..."
    if len(shown) > _SHOWN_URL:
        shown = shown[: _SHOWN_URL - 3] + "..."
    return shown


def _short(value: str) -> str:
    """A value quoted in an error message: repr'd, at most 40 characters of it."""
    return repr(value[:40] + ("..." if len(value) > 40 else ""))


class _Parser:
    """The state of one pass over a playlist's lines (after ``#EXTM3U``)."""

    def __init__(self, url: str, where: str) -> None:
        self.url = url
        self.where = where
        self.number = 1  # the line being read, for messages
        # Which kind of playlist the tags so far say this is (first line of each kind).
        self.master_line = 0
        self.media_line = 0
        # Media playlist.
        self.segments: List[Segment] = []
        self.target_duration: Optional[int] = None
        self.media_sequence = 0
        self.media_sequence_line = 0
        self.ended = False
        self.init: Optional[InitSection] = None
        self.init_line = 0
        self.duration: Optional[float] = None  # the EXTINF awaiting its URI line
        self.duration_line = 0
        self.byterange: Optional[Tuple[int, Optional[int]]] = None  # EXT-X-BYTERANGE awaiting
        self.byterange_line = 0
        # Master playlist.
        self.variants: List[Variant] = []
        self.stream: Optional[Tuple[int, Optional[str]]] = None  # EXT-X-STREAM-INF awaiting
        self.stream_line = 0

    def error(self, message: str) -> PlaylistError:
        return PlaylistError(f"{self.where}, line {self.number}: {message}")

    def line(self, number: int, raw: str) -> None:
        self.number = number
        line = raw.strip()  # the CR of CR LF, and stray spaces around a line
        if not line or (line.startswith("#") and not line.startswith("#EXT")):
            return  # 4.1: blank lines are ignored; other '#' lines are comments
        if not line.startswith("#"):
            self.uri_line(line)
            return
        name, colon, value = line[1:].partition(":")
        if name in _MASTER_TAGS:
            if self.media_line:
                raise self.error(f"master playlist tag {name} in a media playlist (line {self.media_line})")
            self.master_line = self.master_line or number
        elif name in _MEDIA_TAGS:
            if self.master_line:
                raise self.error(f"media playlist tag {name} in a master playlist (line {self.master_line})")
            self.media_line = self.media_line or number
        if name in _NEEDS_VALUE and not (colon and value):
            raise self.error(f"{name} without a value")
        if name == "EXTINF":
            self.extinf(value)
        elif name == "EXT-X-BYTERANGE":
            if self.byterange is not None:
                raise self.error(f"a second EXT-X-BYTERANGE for one segment (line {self.byterange_line})")
            self.byterange = self.parse_byterange(value, "EXT-X-BYTERANGE")
            self.byterange_line = number
        elif name == "EXT-X-MAP":
            self.ext_map(value)
        elif name == "EXT-X-KEY" or name == "EXT-X-SESSION-KEY":
            self.ext_key(name, value)
        elif name == "EXT-X-TARGETDURATION":
            if self.target_duration is not None:
                raise self.error("a second EXT-X-TARGETDURATION")
            self.target_duration = self.integer(value, name)
        elif name == "EXT-X-MEDIA-SEQUENCE":
            # 4.3.3.2: it MUST appear before the first segment; numbering depends on it.
            if self.segments:
                raise self.error("EXT-X-MEDIA-SEQUENCE after the first segment")
            if self.media_sequence_line:
                raise self.error(f"a second EXT-X-MEDIA-SEQUENCE (line {self.media_sequence_line})")
            self.media_sequence = self.integer(value, name)
            self.media_sequence_line = number
        elif name == "EXT-X-ENDLIST":
            self.ended = True
        elif name == "EXT-X-I-FRAMES-ONLY":
            raise self.error("an I-frames-only playlist (EXT-X-I-FRAMES-ONLY) holds no whole stream")
        elif name == "EXT-X-STREAM-INF":
            self.stream_inf(value)
        # Anything else is accepted without effect: EXT-X-VERSION, EXT-X-DISCONTINUITY (the
        # remux builds its tables from sample durations, not timestamps), EXT-X-PLAYLIST-TYPE
        # (ENDLIST decides), EXT-X-INDEPENDENT-SEGMENTS, EXT-X-MEDIA, EXT-X-PROGRAM-DATE-TIME
        # and tags unknown to RFC 8216, which 4.1 tells clients to ignore.

    def extinf(self, value: str) -> None:
        # 4.3.2.1: #EXTINF:<duration>,[<title>]. A missing comma is tolerated.
        if self.duration is not None:
            raise self.error(f"a second EXTINF for one segment (line {self.duration_line})")
        text = value.partition(",")[0].strip()
        if not _DURATION.match(text):
            raise self.error(f"EXTINF duration {_short(text)} is not a non-negative decimal number")
        duration = float(text)
        if not math.isfinite(duration):  # pragma: no cover - 15 integer digits stay finite
            raise self.error(f"EXTINF duration {_short(text)} is not finite")
        self.duration = duration
        self.duration_line = self.number

    def ext_map(self, value: str) -> None:
        # 4.3.2.5: URI (quoted-string, required), BYTERANGE (quoted-string "n@o", optional).
        attributes = self.attributes(value, "EXT-X-MAP")
        if "URI" not in attributes:
            raise self.error("EXT-X-MAP without a URI")
        uri = self.resolve(attributes["URI"], "EXT-X-MAP URI")
        byterange: Optional[ByteRange] = None
        if "BYTERANGE" in attributes:
            length, offset = self.parse_byterange(attributes["BYTERANGE"], "EXT-X-MAP BYTERANGE")
            byterange = ByteRange(offset or 0, length)  # lenient: 4.3.2.5 requires the offset
        init = InitSection(uri, byterange)
        if self.init is None:
            if self.segments:
                raise self.error(
                    "EXT-X-MAP after segments that have no init section: only one init section"
                    " per stream is supported"
                )
            self.init = init
            self.init_line = self.number
        elif init != self.init:
            raise self.error(
                f"a second EXT-X-MAP, different from line {self.init_line}: only one init"
                " section per stream is supported"
            )

    def ext_key(self, name: str, value: str) -> None:
        # 4.3.2.4: METHOD is NONE, AES-128 or SAMPLE-AES (SoundCloud's DRM uses SAMPLE-AES
        # with FairPlay or Widevine key formats). EXT-X-SESSION-KEY (4.3.4.5) in a master
        # playlist announces the same for its media playlists.
        attributes = self.attributes(value, name)
        method = attributes.get("METHOD")
        if method is None:
            raise self.error(f"{name} without a METHOD")
        if method != "NONE":
            raise EncryptedStreamError(
                f"{self.where}, line {self.number}: the stream is encrypted ({name}"
                f" METHOD={method[:32]}, DRM) and cannot be downloaded"
            )

    def stream_inf(self, value: str) -> None:
        # 4.3.4.2: BANDWIDTH (decimal-integer) is required; CODECS (quoted-string) optional.
        # The URI line that follows names the variant's media playlist.
        if self.stream is not None:
            raise self.error(f"EXT-X-STREAM-INF on line {self.stream_line} has no URI line")
        attributes = self.attributes(value, "EXT-X-STREAM-INF")
        if "BANDWIDTH" not in attributes:
            raise self.error("EXT-X-STREAM-INF without a BANDWIDTH")
        bandwidth = self.integer(attributes["BANDWIDTH"], "EXT-X-STREAM-INF BANDWIDTH")
        self.stream = (bandwidth, attributes.get("CODECS"))
        self.stream_line = self.number

    def uri_line(self, line: str) -> None:
        if self.stream is not None:
            bandwidth, codecs = self.stream
            self.variants.append(Variant(self.resolve(line, "variant URI"), bandwidth, codecs))
            self.stream = None
            return
        if self.duration is None:
            raise self.error("a URI line without an EXTINF (or EXT-X-STREAM-INF) before it")
        if len(self.segments) >= MAX_SEGMENTS:
            raise self.error(f"more than {MAX_SEGMENTS} segments")
        uri = self.resolve(line, "segment URI")
        byterange: Optional[ByteRange] = None
        if self.byterange is not None:
            length, offset = self.byterange
            if offset is None:
                # 4.3.2.2: the sub-range starts right after the previous segment's, which
                # MUST be a sub-range of the same resource, or the client MUST fail.
                previous = self.segments[-1] if self.segments else None
                if previous is None or previous.byterange is None or previous.uri != uri:
                    raise self.error(
                        f"EXT-X-BYTERANGE (line {self.byterange_line}) has no offset and the"
                        " previous segment is not a sub-range of the same resource"
                    )
                offset = previous.byterange.offset + previous.byterange.length
            byterange = ByteRange(offset, length)
        sequence = self.media_sequence + len(self.segments)
        self.segments.append(Segment(uri, self.duration, sequence, byterange, self.init))
        self.duration = None
        self.byterange = None

    def finish(self) -> Union[MasterPlaylist, MediaPlaylist]:
        if self.stream is not None:
            self.number = self.stream_line
            raise self.error("EXT-X-STREAM-INF is not followed by a URI line")
        if self.duration is not None:
            self.number = self.duration_line
            raise self.error("EXTINF is not followed by a segment URI")
        if self.byterange is not None:
            self.number = self.byterange_line
            raise self.error("EXT-X-BYTERANGE is not followed by a segment URI")
        if self.master_line:
            if not self.variants:
                raise PlaylistError(f"{self.where}: a master playlist without EXT-X-STREAM-INF variants")
            return MasterPlaylist(self.variants)
        if not self.segments:
            raise PlaylistError(f"{self.where}: the playlist has no segments")
        if not self.ended:
            raise PlaylistError(
                f"{self.where}: not a finished (VOD) playlist: no EXT-X-ENDLIST, so it is live"
                " or still growing"
            )
        target = self.target_duration
        if target is None:
            # 4.3.3.1 makes the tag REQUIRED; a missing one is recomputed as it defines it:
            # every EXTINF rounded to the nearest integer is at most the target duration.
            target = max(int(segment.duration + 0.5) for segment in self.segments)
        return MediaPlaylist(self.segments, target, self.media_sequence, self.ended, self.init)

    def attributes(self, text: str, tag: str) -> Dict[str, str]:
        """Scan a 4.2 attribute list: NAME=value pairs, values plain or double-quoted."""
        attributes: Dict[str, str] = {}
        size = len(text)
        position = 0
        while position < size:  # every round consumes at least "N=" or ends the loop
            equals = text.find("=", position)
            if equals < 0:
                raise self.malformed(tag, position, "expected NAME=value")
            name = text[position:equals].lstrip(" \t")
            if not _ATTRIBUTE_NAME.match(name):
                raise self.malformed(tag, position, "an attribute name is not [A-Z0-9-]+")
            if name in attributes:
                raise self.malformed(tag, position, f"attribute {name} appears twice")
            position = equals + 1
            if position < size and text[position] == '"':
                close = text.find('"', position + 1)
                if close < 0:
                    raise self.malformed(tag, position, f"the quoted value of {name} is not closed")
                value = text[position + 1 : close]
                position = close + 1
                if position < size and text[position] != ",":
                    raise self.malformed(tag, position, f"expected ',' after the quoted value of {name}")
            else:
                comma = text.find(",", position)
                end = size if comma < 0 else comma
                value = text[position:end].strip()
                if not value or '"' in value:
                    raise self.malformed(tag, position, f"the value of {name} is empty or malformed")
                position = end
            attributes[name] = value
            if position < size:  # at a comma: something must follow it
                position += 1
                if position == size:
                    raise self.malformed(tag, position, "a trailing comma")
        return attributes

    def malformed(self, tag: str, position: int, what: str) -> PlaylistError:
        return self.error(f"malformed attribute list in {tag} at character {position + 1}: {what}")

    def integer(self, text: str, what: str) -> int:
        """A 4.2 decimal-integer."""
        text = text.strip()
        if not _DECIMAL_INTEGER.match(text) or int(text) > _MAX_DECIMAL_INTEGER:
            raise self.error(f"{what} {_short(text)} is not a decimal integer")
        return int(text)

    def parse_byterange(self, text: str, what: str) -> Tuple[int, Optional[int]]:
        """``n[@o]`` (4.3.2.2): the length and the offset, None when absent."""
        length_text, at, offset_text = text.strip().partition("@")
        length = self.integer(length_text, f"{what} length")
        if length == 0:
            raise self.error(f"{what} is empty (length 0)")
        offset = self.integer(offset_text, f"{what} offset") if at else None
        return length, offset

    def resolve(self, reference: str, what: str) -> str:
        """``reference`` made absolute against the playlist URL; only http(s) URLs pass."""
        if not reference:
            raise self.error(f"{what} is empty")
        if _NOT_IN_URI.search(reference):
            raise self.error(f"{what} contains whitespace or control characters")
        try:
            parts = urlsplit(reference)
            # A URI with a scheme is taken as written (RFC 3986 5.2.2, strict): urljoin would
            # re-serialize it, and would read "https:x" as relative to an https base.
            absolute = reference if parts.scheme else urljoin(self.url, reference)
            parts = urlsplit(absolute)
            has_host = bool(parts.hostname) and parts.port != 0  # .port raises ValueError past 65535
        except ValueError:
            raise self.error(f"{what} {_shown(reference)} is not a valid URL") from None
        if parts.scheme not in ("http", "https") or not has_host:
            raise self.error(f"{what} {_shown(absolute)} is not an http(s) URL")
        if parts.fragment:  # never sent to a server (RFC 3986 3.5)
            absolute = absolute.partition("#")[0]
        return absolute
