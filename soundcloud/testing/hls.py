"""The AAC HLS fixture the fake CDN serves, and the playlists it writes around it.

SoundCloud serves a track's audio as HLS (RFC 8216) of fragmented MP4 (CMAF): a media
playlist per rendition (``aac_160``, ``aac_96``) naming an init segment (``EXT-X-MAP``:
``ftyp`` + ``moov`` with an ``mp4a`` AAC-LC sample entry and ``mvex``) and media
segments (``moof`` + ``mdat``, ISO/IEC 14496-12 8.8), each behind a signed, expiring URL.

The fixture (``fixtures/``, made by ``tools/make_hls_fixture.py`` with PyAV and checked
in) is four real AAC fragments per rendition plus ``fixture.json``, which records what an
independent decoder must find: the sample rate, the channels, and each fragment's
duration in seconds and in samples. A track of N segments plays fragment
``(n - 1) % 4 + 1`` as its segment n (1-based), so a test can ask for one segment or a
thousand. Repeated fragments are made to read as one continuous stream: segment n gets
``mfhd.sequence_number`` n (ISO/IEC 14496-12 8.8.5: increasing) and a ``tfdt``
``baseMediaDecodeTime`` equal to the media time of all segments before it (8.8.12; the
init's ``mdhd`` timescale is the sample rate, which the tool checks): an independent
demuxer then reads N segments as one stream. Otherwise the bytes are the fixture's, so
every fourth segment ends on the frame the encoder trimmed (a ``trun`` sample duration
short of 1024 by ``end_trim``), and its ``EXTINF`` is that much shorter. ``styp`` prefixes
a segment with a segment type box (8.16.2), as DASH/CMAF packagers may.

``hls_fixture()`` gives those facts to tests: ``HlsFixture.samples(n)``, the samples N
segments decode to; ``media_samples(n)`` and ``duration(n)``, the timeline (what a correct
remux's ``stts`` adds up to, and the ``EXTINF`` sum); ``segment_seconds(i)``, each
``EXTINF``.

The playlist writers are pure text: ``media_playlist`` and ``master_playlist`` take the
URIs already signed (the store signs, this module never sees a key). They write ``#EXT-X-VERSION:7`` (EXT-X-MAP in a media
playlist needs 6, RFC 8216 7), ``EXT-X-TARGETDURATION`` as the largest ``EXTINF`` rounded
to the nearest integer (4.3.3.1), ``EXTINF`` as decimal seconds (4.3.2.1), and for the
byte-range shape ``EXT-X-BYTERANGE:<n>[@<o>]`` (4.3.2.2: without ``@o`` a range starts
right after the previous segment's) and ``EXT-X-MAP:...,BYTERANGE="<n>@<o>"`` (4.3.2.5).

Fixture files are read once (``importlib.resources``: they ship in the wheel as package
data). This module imports nothing from the package: the fake shares no code with the
client, whose own HLS and MP4 readers are what the fixture tests.
"""

from __future__ import annotations

import functools
import json
import struct
from dataclasses import dataclass
from importlib import resources
from typing import Dict, Final, List, Optional, Sequence, Tuple

__all__ = [
    "AAC_LC_CODECS",
    "HlsFixture",
    "MAX_STREAM_SEGMENTS",
    "PREVIEW_SECONDS",
    "RENDITIONS",
    "STYP",
    "StreamShape",
    "artwork_bytes",
    "fixture_bytes",
    "hls_fixture",
    "init_bytes",
    "master_playlist",
    "media_playlist",
    "rendition_bandwidth",
    "segment_bytes",
    "stream_bytes",
]

#: The renditions SoundCloud lists today, best first (``hls_aac_160_url``, ``hls_aac_96_url``).
RENDITIONS: Final[Tuple[str, ...]] = ("aac_160", "aac_96")
#: Length of the preview MP3 (``preview_mp3_128_url``, ``/tracks/{id}/stream``).
PREVIEW_SECONDS: Final = 30.0
#: RFC 6381 codec of every rendition: MPEG-4 audio, object type 2 (AAC-LC).
AAC_LC_CODECS: Final = "mp4a.40.2"
#: A segment type box (ISO/IEC 14496-12 8.16.2): major brand msdh, compatible msdh and msix
#: (ISO/IEC 23009-1 6.3.4.2, the brands of a DASH media segment).
STYP: Final = struct.pack(">I4s4sI4s4s", 24, b"styp", b"msdh", 0, b"msdh", b"msix")

#: The most segments ``FakeSoundCloud.set_stream`` takes (about 28 hours of audio).
MAX_STREAM_SEGMENTS: Final = 100_000

_FRAGMENTS: Final = 4  # fragments per rendition in the fixture
_MAX_BOXES: Final = 64  # the fixture's boxes are few; bounds every walk over them



@dataclass(frozen=True)
class HlsFixture:
    """What the fixture holds: enough to predict what a stream of N segments decodes to.

    The segment at 0-based position ``i`` is fragment ``i % 4``. ``segment_samples`` are
    the samples (per channel) each fragment decodes to: whole AAC frames.
    ``segment_ticks`` are their media durations in samples (the ``trun`` sample durations):
    the same, but for the fourth, whose last frame the encoder trimmed (``end_trim``
    samples of padding). Each repetition of the fourth fragment keeps that trim.
    """

    sample_rate: int
    channels: int
    codec: str
    timescale: int
    segment_samples: Tuple[int, ...]
    segment_ticks: Tuple[int, ...]
    end_trim: int
    preview_seconds: float
    preview_sample_rate: int

    def samples(self, segments: int) -> int:
        """Decoded samples of a stream of ``segments`` segments (what PyAV counts, per channel)."""
        return _cycled(self.segment_samples, segments)

    def media_samples(self, segments: int) -> int:
        """The media timeline of ``segments`` segments, in samples: what the ``stts`` of a
        correct remux adds up to (``samples`` less ``end_trim`` per fourth fragment)."""
        return _cycled(self.segment_ticks, segments)

    def duration(self, segments: int) -> float:
        """Seconds of a stream of ``segments`` segments: its timeline, and its ``EXTINF`` sum."""
        return self.media_samples(segments) / self.sample_rate

    def segment_seconds(self, index: int) -> float:
        """The ``EXTINF`` of the segment at 0-based ``index``: its media duration."""
        return self.segment_ticks[index % len(self.segment_ticks)] / self.sample_rate


def _cycled(values: Tuple[int, ...], count: int) -> int:
    cycles, rest = divmod(count, len(values))
    return cycles * sum(values) + sum(values[:rest])


@dataclass(frozen=True)
class StreamShape:
    """How the fake CDN serves one track's HLS (``FakeSoundCloud.set_stream`` documents each)."""

    segments: int = 4
    master: bool = False
    byteranges: bool = False
    range_offsets: bool = True
    absolute_uris: bool = True
    encrypted: bool = False
    styp: bool = False
    renditions: Tuple[str, ...] = RENDITIONS

    def __post_init__(self) -> None:
        if not 1 <= self.segments <= MAX_STREAM_SEGMENTS:
            raise ValueError(f"segments must be 1 to {MAX_STREAM_SEGMENTS}, not {self.segments}")
        unknown = [r for r in self.renditions if r not in RENDITIONS]
        if unknown or not self.renditions or len(set(self.renditions)) != len(self.renditions):
            raise ValueError(f"renditions must be distinct, some of {RENDITIONS}, not {self.renditions!r}")


# --------------------------------------------------------------------------- fixture files


@functools.lru_cache(maxsize=None)
def fixture_bytes(name: str) -> bytes:
    """A file of ``soundcloud/testing/fixtures`` (``"aac_160/seg-1.m4s"``, ``"preview.mp3"``)."""
    node = resources.files(__package__ or "soundcloud.testing").joinpath("fixtures")
    for part in name.split("/"):
        node = node.joinpath(part)
    return node.read_bytes()


@functools.lru_cache(maxsize=None)
def _facts() -> Dict[str, Dict[str, object]]:
    data = json.loads(fixture_bytes("fixture.json").decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError("fixtures/fixture.json is not a JSON object")
    return data


@functools.lru_cache(maxsize=None)
def hls_fixture(rendition: str = "aac_160") -> HlsFixture:
    """The facts of one rendition of the fixture (both renditions have the same timing).

    Example: ``hls_fixture().samples(3)`` is what three segments decode to, per channel.
    """
    if rendition not in RENDITIONS:
        raise ValueError(f"no rendition {rendition!r}: one of {', '.join(RENDITIONS)}")
    facts = _facts()
    meta = facts[rendition]
    preview = facts["preview"]
    samples = meta["segment_samples"]
    assert isinstance(samples, list) and len(samples) == _FRAGMENTS
    end_trim = int(str(meta["end_trim"]))
    ticks = [int(s) for s in samples[:-1]] + [int(samples[-1]) - end_trim]
    return HlsFixture(
        sample_rate=int(str(meta["sample_rate"])),
        channels=int(str(meta["channels"])),
        codec=str(meta["codec"]),
        timescale=int(str(meta["timescale"])),
        segment_samples=tuple(int(s) for s in samples),
        segment_ticks=tuple(ticks),
        end_trim=end_trim,
        preview_seconds=float(str(preview["seconds"])),
        preview_sample_rate=int(str(preview["sample_rate"])),
    )


def init_bytes(rendition: str) -> bytes:
    """The init segment of a rendition (``ftyp`` + ``moov``)."""
    return fixture_bytes(f"{rendition}/init.mp4")


def artwork_bytes(kind: str) -> bytes:
    """The cover art fixture: ``"jpeg"`` (16x16 JPEG) or ``"png"``."""
    return fixture_bytes("artwork.png" if kind == "png" else "artwork.jpg")


# --------------------------------------------------------------------------- segments


def _boxes(data: bytes, start: int, end: int) -> List[Tuple[bytes, int, int]]:
    """(type, offset, size) of the boxes in ``data[start:end]`` (the fixture's: 32-bit sizes)."""
    found: List[Tuple[bytes, int, int]] = []
    offset = start
    while offset + 8 <= end and len(found) < _MAX_BOXES:
        size, kind = struct.unpack_from(">I4s", data, offset)
        if size < 8 or offset + size > end:
            raise ValueError(f"fixture box {kind!r} at {offset} has a bad size {size}")
        found.append((kind, offset, size))
        offset += size
    return found


def _child(data: bytes, start: int, end: int, kind: bytes) -> Tuple[int, int]:
    for found, offset, size in _boxes(data, start, end):
        if found == kind:
            return offset, size
    raise ValueError(f"fixture has no {kind.decode()} box")


def _renumbered(fragment: bytes, sequence: int, decode_time: int) -> bytes:
    """The fragment with ``mfhd.sequence_number`` and ``tfdt.baseMediaDecodeTime`` replaced."""
    out = bytearray(fragment)
    moof, moof_size = _child(fragment, 0, len(fragment), b"moof")
    mfhd, _ = _child(fragment, moof + 8, moof + moof_size, b"mfhd")
    struct.pack_into(">I", out, mfhd + 12, sequence)  # FullBox header, then sequence_number
    traf, traf_size = _child(fragment, moof + 8, moof + moof_size, b"traf")
    tfdt, _ = _child(fragment, traf + 8, traf + traf_size, b"tfdt")
    if fragment[tfdt + 8] == 1:  # version 1: a 64-bit baseMediaDecodeTime
        struct.pack_into(">Q", out, tfdt + 12, decode_time)
    else:
        struct.pack_into(">I", out, tfdt + 12, decode_time & 0xFFFFFFFF)
    return bytes(out)


@functools.lru_cache(maxsize=64)
def segment_bytes(rendition: str, index: int, styp: bool = False) -> bytes:
    """The media segment at 0-based position ``index`` of a rendition's stream.

    Fragment ``index % 4 + 1`` of the fixture, renumbered so that the stream stays
    continuous: ``mfhd`` sequence ``index + 1``, ``tfdt`` the media time of the segments
    before it (in the ``mdhd`` timescale). With ``styp``, a ``styp`` box first.
    """
    facts = hls_fixture(rendition)
    fragment = fixture_bytes(f"{rendition}/seg-{index % _FRAGMENTS + 1}.m4s")
    decode_time = facts.media_samples(index) * facts.timescale // facts.sample_rate
    body = _renumbered(fragment, index + 1, decode_time)
    return STYP + body if styp else body


@functools.lru_cache(maxsize=8)
def stream_bytes(rendition: str, segments: int, styp: bool = False) -> Tuple[bytes, Tuple[Tuple[int, int], ...]]:
    """One resource holding the init segment then every segment (the byte-range shape).

    Returns the bytes and the (offset, length) of each segment in them; the init
    segment is ``(0, len(init_bytes(rendition)))``.
    """
    parts = [init_bytes(rendition)]
    ranges: List[Tuple[int, int]] = []
    offset = len(parts[0])
    for index in range(segments):
        data = segment_bytes(rendition, index, styp)
        ranges.append((offset, len(data)))
        parts.append(data)
        offset += len(data)
    return b"".join(parts), tuple(ranges)


@functools.lru_cache(maxsize=None)
def rendition_bandwidth(rendition: str) -> int:
    """BANDWIDTH of a rendition (RFC 8216 4.3.4.2): its peak segment bit rate, bits/s."""
    facts = hls_fixture(rendition)
    peak = 0.0
    for index in range(_FRAGMENTS):
        size = len(fixture_bytes(f"{rendition}/seg-{index + 1}.m4s"))
        peak = max(peak, size * 8 / facts.segment_seconds(index))
    return int(peak) + 1


# --------------------------------------------------------------------------- playlists


def _extinf(seconds: float) -> str:
    return f"{seconds:.6f}".rstrip("0").rstrip(".") if seconds else "0"


def media_playlist(
    *,
    durations: Sequence[float],
    uris: Sequence[str],
    init_uri: str,
    init_range: Optional[Tuple[int, int]] = None,
    ranges: Optional[Sequence[Tuple[int, int]]] = None,
    range_offsets: bool = True,
    key_uri: Optional[str] = None,
) -> str:
    """An RFC 8216 media playlist of fMP4 segments (VOD: ``EXT-X-ENDLIST``).

    ``uris`` are the segments' URIs as written (absolute or relative, already signed);
    ``init_uri`` the ``EXT-X-MAP``. For the byte-range shape ``init_range`` and
    ``ranges`` are (offset, length) pairs; ``range_offsets=False`` leaves ``@offset``
    out of every ``EXT-X-BYTERANGE`` but the first (4.3.2.2 allows it: each range then
    follows the previous one). ``key_uri`` adds ``EXT-X-KEY`` with METHOD=SAMPLE-AES
    (4.3.2.4), a FairPlay key: what a DRM-protected track looks like.
    """
    if len(uris) != len(durations) or (ranges is not None and len(ranges) != len(uris)):
        raise ValueError("one URI, one duration (and one range) per segment")
    target = max([int(d + 0.5) for d in durations] + [1])  # 4.3.3.1: rounded to nearest
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", f"#EXT-X-TARGETDURATION:{target}", "#EXT-X-MEDIA-SEQUENCE:0"]
    lines.append("#EXT-X-PLAYLIST-TYPE:VOD")
    if key_uri is not None:
        lines.append(
            f'#EXT-X-KEY:METHOD=SAMPLE-AES,URI="{key_uri}",'
            'KEYFORMAT="com.apple.streamingkeydelivery",KEYFORMATVERSIONS="1"'
        )
    if init_range is None:
        lines.append(f'#EXT-X-MAP:URI="{init_uri}"')
    else:
        lines.append(f'#EXT-X-MAP:URI="{init_uri}",BYTERANGE="{init_range[1]}@{init_range[0]}"')
    for index, (duration, uri) in enumerate(zip(durations, uris)):
        lines.append(f"#EXTINF:{_extinf(duration)},")
        if ranges is not None:
            offset, length = ranges[index]
            at = f"@{offset}" if range_offsets or index == 0 else ""
            lines.append(f"#EXT-X-BYTERANGE:{length}{at}")
        lines.append(uri)
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def master_playlist(variants: Sequence[Tuple[str, int]]) -> str:
    """An RFC 8216 master playlist: one ``EXT-X-STREAM-INF`` per (URI, BANDWIDTH), AAC-LC.

    4.3.4.2: BANDWIDTH is required; CODECS should be given (RFC 6381 ``mp4a.40.2``).
    """
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for uri, bandwidth in variants:
        lines.append(f'#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},CODECS="{AAC_LC_CODECS}"')
        lines.append(uri)
    return "\n".join(lines) + "\n"
