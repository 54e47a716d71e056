"""Reading fragmented MP4 (CMAF) as SoundCloud's AAC HLS serves it: ISO/IEC 14496-12 boxes.

An HLS rendition of today's SoundCloud (``hls_aac_160_url``, ``hls_aac_96_url``) is an init
segment (``ftyp`` + ``moov`` whose ``mvex`` announces fragments) and media segments, each
one or more ``moof`` + ``mdat`` pairs, sometimes after a ``styp``. This module reads both
with :mod:`struct` alone and hands the writer (:mod:`.m4a`) what a plain file needs:

- :func:`parse_init` / :func:`parse_movie`: the one ``soun`` track of the ``moov``, as an
  :class:`InitInfo` (timescales, language, the ``hdlr``/``stsd``/``smhd``/``dinf`` boxes
  verbatim, the edit list, the ``trex`` defaults, the sample entry's rate and channels).
- :func:`iter_fragments`: walks the top-level boxes of a byte source and yields one
  :class:`SampleRun` per ``trun`` (absolute offset, sample sizes, durations, composition
  offsets). :func:`parse_fragments` and :func:`check_segment` are the same walk over one
  segment's bytes; the fetcher calls :func:`check_segment` on each segment as it arrives.

**Untrusted input.** The bytes come from a CDN, so every reader is bounded:

- A ``moov`` or ``moof`` is read whole only up to :data:`MAX_BOX_BYTES` (16 MiB); ``mdat``
  payloads are never read here, only located. Nesting is walked by fixed code per box
  type (moov/trak/mdia/minf/stbl/stsd, moof/traf), never by generic recursion, so depth
  is bounded by the code itself.
- Every count is checked against the bytes actually present before anything is allocated
  (``trun`` sample_count x entry size, ``elst`` entries, ``stsd`` entries). A ``trun`` with
  no per-sample fields is bounded by its ``mdat``: its samples use the default size, which
  must be non-zero, and must fit. Zero-size samples are refused, so the number of samples
  is bounded by the audio bytes, and the whole walk stops at :data:`MAX_SAMPLES`.
- Every sample must lie inside the ``mdat`` that follows its ``moof``.
- Size 1 means a 64-bit largesize; size 0 ("to the end of the file") is accepted only for
  a top-level ``mdat`` whose samples then reach the end exactly: in a file of segments
  concatenated, an open-ended box in the middle would swallow the segments after it.
  :func:`check_segment` refuses size 0 outright, since its segment will be concatenated.

**Data offsets (ISO BMFF 8.8.7.1, 8.8.8.1).** CMAF sets default-base-is-moof in ``tfhd``:
a ``trun`` data_offset counts from the first byte of the ``moof``. Without that flag and
without an explicit base-data-offset, the first ``traf`` also counts from the ``moof`` and
each later ``traf`` from the end of the previous one's data. An explicit base-data-offset
(an absolute file position, meaningless once segments are cut out of a file) is refused.
A ``trun`` without data_offset continues right after the previous run of its ``traf``.

**Defaults (8.8.3, 8.8.7, 8.8.8).** A sample's duration and size come from its ``trun``
entry, else the ``tfhd`` default, else the ``trex`` default; a default of 0 counts as none,
and a sample without a duration is an error.

**Refused with a reason** (:class:`Mp4Error`, naming the box path and offset): not exactly
one ``soun`` track, no ``mvex`` or no ``trex`` for the track, a ``traf`` for another track,
sample description index other than 1, and encryption (``enca`` sample entries, ``sinf``,
``pssh``, ``senc``/``saiz``/``saio``, PIFF sample encryption): that is DRM, which this
client does not break.
"""

from __future__ import annotations

import struct
import sys
from array import array
from typing import Callable, Final, Iterator, List, NamedTuple, Optional, Tuple

from ..errors import DownloadError

__all__ = [
    "Box",
    "Edit",
    "InitInfo",
    "MAX_BOX_BYTES",
    "MAX_SAMPLES",
    "Mp4Error",
    "ReadAt",
    "SampleRun",
    "TrackDefaults",
    "check_segment",
    "iter_fragments",
    "parse_fragments",
    "parse_init",
    "parse_movie",
    "read_box",
]

#: The largest ``moov`` or ``moof`` read into memory (ISO BMFF sets no limit; a real audio
#: fragment's ``moof`` is a few hundred bytes, an init's ``moov`` under a kilobyte).
MAX_BOX_BYTES: Final = 16 * 1024 * 1024
#: The most samples one walk accepts: about 13 days of 44.1 kHz AAC (1024 samples a frame).
MAX_SAMPLES: Final = 50_000_000

#: ``read(offset, count)`` of a byte source: at most ``count`` bytes from ``offset``.
ReadAt = Callable[[int, int], bytes]

_LITTLE: Final = sys.byteorder == "little"

# tfhd flags (ISO BMFF 8.8.7.1)
_TFHD_BASE_DATA_OFFSET: Final = 0x000001
_TFHD_DESCRIPTION_INDEX: Final = 0x000002
_TFHD_DURATION: Final = 0x000008
_TFHD_SIZE: Final = 0x000010
_TFHD_FLAGS: Final = 0x000020
_TFHD_BASE_IS_MOOF: Final = 0x020000
# trun flags (8.8.8.1)
_TRUN_DATA_OFFSET: Final = 0x000001
_TRUN_FIRST_FLAGS: Final = 0x000004
_TRUN_DURATION: Final = 0x000100
_TRUN_SIZE: Final = 0x000200
_TRUN_FLAGS: Final = 0x000400
_TRUN_CTS: Final = 0x000800
_TRUN_FIELDS: Final = (_TRUN_DURATION, _TRUN_SIZE, _TRUN_FLAGS, _TRUN_CTS)  # per-sample, in this order

# Boxes that only encrypted (DRM) content carries: ISO/IEC 23001-7 (Common Encryption).
_DRM_BOXES: Final = (b"pssh", b"senc", b"saiz", b"saio", b"sinf")
# PIFF 1.1 SampleEncryptionBox, carried as a uuid box inside traf.
_PIFF_SENC: Final = bytes.fromhex("a2394f525a9b4f14a2446c427c648df4")
_NO_DRM: Final = ", which this client does not decrypt"


class Mp4Error(DownloadError):
    """The MP4 (init segment or fragments) is malformed, truncated, encrypted or of a shape
    this reader does not support; the message says what and where (box path, offset)."""


class Box(NamedTuple):
    """One box: its type, where it lies (offsets in its buffer or source) and its path."""

    kind: bytes
    start: int  # first byte of the header
    payload: int  # first byte after the header
    end: int  # one past the last byte
    open_ended: bool  # size 0: it extends to the end of its source
    path: str  # e.g. "moof/traf/trun", for messages


class Edit(NamedTuple):
    """One ``elst`` entry (ISO BMFF 8.6.6): duration in the movie timescale, start in the
    media timescale (-1 for an empty edit), rate as 16.16 fixed point."""

    segment_duration: int
    media_time: int
    media_rate: int


class TrackDefaults(NamedTuple):
    """A ``trex`` box's defaults for the track's fragments (ISO BMFF 8.8.3)."""

    sample_description_index: int
    sample_duration: int
    sample_size: int
    sample_flags: int


class InitInfo(NamedTuple):
    """The parsed init segment: the one audio track and what the writer copies from it."""

    track_id: int
    movie_timescale: int  # mvhd
    timescale: int  # mdhd: the media's timescale, in which sample durations count
    language: int  # mdhd's packed ISO-639-2/T code (three 5-bit letters)
    alternate_group: int  # tkhd
    handler: bytes  # the whole hdlr box
    stsd: bytes  # the whole stsd box (sample entries, e.g. mp4a with its esds)
    smhd: Optional[bytes]  # the whole smhd box, if the init has one
    dinf: Optional[bytes]  # the whole dinf box, if the init has one
    edits: Optional[Tuple[Edit, ...]]  # None when the track has no edts/elst
    defaults: TrackDefaults
    codec: str  # the first sample entry's type, e.g. "mp4a"
    sample_rate: int
    channels: int

    @property
    def language_code(self) -> str:
        """The mdhd language as three letters (``"und"`` when unset)."""
        letters = [(self.language >> shift) & 0x1F for shift in (10, 5, 0)]
        if not all(1 <= letter <= 26 for letter in letters):
            return "und"
        return "".join(chr(0x60 + letter) for letter in letters)


class SampleRun(NamedTuple):
    """One ``trun``'s samples: stored back to back from ``offset`` (absolute in the source)."""

    offset: int
    sizes: "array[int]"
    durations: "array[int]"
    composition: Optional["array[int]"]  # None when the trun carries no composition offsets

    @property
    def size(self) -> int:
        """Bytes of sample data in the run."""
        return sum(self.sizes)


class _Trun(NamedTuple):
    samples: int
    flags: int
    version: int
    data_offset: Optional[int]
    entries: bytes  # sample_count entries of the fields the flags announce
    where: str


class _Traf(NamedTuple):
    base_is_moof: bool
    duration: int  # resolved default (tfhd, else trex); 0 = none
    size: int  # likewise
    truns: List[_Trun]


def _name(kind: bytes) -> str:
    return kind.decode("latin-1").encode("unicode_escape").decode("ascii")


def _parse_header(head: bytes, start: int, limit: int, parent: str, *, top_level: bool, origin: int = 0) -> Box:
    """The box whose header is ``head`` (the bytes at ``start``), inside ``[start, limit)``;
    ``origin`` is where the buffer begins in its source (messages give source offsets)."""
    at = origin + start
    if len(head) < 8:
        where = f"({parent or 'top level'} at offset {at})"
        raise Mp4Error(f"truncated box header: {len(head)} bytes where 8 are needed {where}")
    size, kind = struct.unpack_from(">I4s", head)
    path = f"{parent}/{_name(kind)}" if parent else _name(kind)
    where = f"({path} at offset {at})"
    header = 8
    if size == 1:  # a 64-bit largesize follows the type
        if len(head) < 16:
            raise Mp4Error(f"truncated 64-bit box header {where}")
        size = struct.unpack_from(">Q", head, 8)[0]
        header = 16
    elif size == 0:
        if not top_level:
            raise Mp4Error(f"box size 0 inside another box: size 0 is allowed only for the last top-level box {where}")
        return Box(kind, start, start + header, limit, True, path)
    if size < header:
        raise Mp4Error(f"box size {size} is smaller than its header {where}")
    if kind in (b"moov", b"moof") and size > MAX_BOX_BYTES:
        raise Mp4Error(f"{_name(kind)} of {size} bytes exceeds the {MAX_BOX_BYTES}-byte limit {where}")
    if start + size > limit:
        raise Mp4Error(f"truncated: the box declares {size} bytes, only {limit - start} remain {where}")
    return Box(kind, start, start + header, start + size, False, path)


def read_box(read: ReadAt, offset: int, end: int) -> Box:
    """The top-level box at ``offset`` of a source that ends at ``end`` (its header read
    through ``read``). Size 0 gives an open-ended box reaching ``end``."""
    return _parse_header(read(offset, min(16, end - offset)), offset, end, "", top_level=True)


class _Buffer:
    """A box read whole (a ``moov`` or a ``moof``) and where it begins in its source; the
    helpers check lengths before reading and name the box path and source offset on error."""

    def __init__(self, data: bytes, origin: int) -> None:
        self.data = data
        self.origin = origin

    def where(self, box: Box) -> str:
        return f"{box.path} at offset {self.origin + box.start}"

    def fail(self, message: str, box: Box) -> Mp4Error:
        return Mp4Error(f"{message} ({self.where(box)})")

    def root(self, kind: bytes) -> Box:
        box = _parse_header(self.data[:16], 0, len(self.data), "", top_level=False, origin=self.origin)
        if box.kind != kind or box.end != len(self.data):
            raise self.fail(f"not a whole {_name(kind)} box", box)
        return box

    def children(self, parent: Box, skip: int = 0) -> List[Box]:
        """The boxes inside ``parent`` after ``skip`` payload bytes (each at least 8 bytes)."""
        boxes: List[Box] = []
        offset = parent.payload + skip
        while offset < parent.end:
            head = self.data[offset : min(offset + 16, parent.end)]
            box = _parse_header(head, offset, parent.end, parent.path, top_level=False, origin=self.origin)
            boxes.append(box)
            offset = box.end
        return boxes

    def one(self, parent: Box, boxes: List[Box], kind: bytes) -> Box:
        found = [box for box in boxes if box.kind == kind]
        if len(found) != 1:
            raise self.fail(f"{len(found) or 'no'} {_name(kind)} box where one is required", parent)
        return found[0]

    def need(self, box: Box, count: int) -> None:
        if box.end - box.payload < count:
            raise self.fail(f"{_name(box.kind)} too short: {box.end - box.payload} bytes, {count} needed", box)

    def version(self, box: Box, v0: int, v1: int) -> int:
        """A FullBox's version, once its payload is known to hold ``v0``/``v1`` bytes."""
        self.need(box, 4)
        version = self.data[box.payload]
        self.need(box, v1 if version == 1 else v0)
        return version

    def u32(self, at: int) -> int:
        value: int = struct.unpack_from(">I", self.data, at)[0]
        return value

    def raw(self, box: Box) -> bytes:
        return self.data[box.start : box.end]

    def refuse_drm(self, boxes: List[Box]) -> None:
        for box in boxes:
            if box.kind in _DRM_BOXES:
                raise self.fail(f"the stream is encrypted ({_name(box.kind)} box: DRM){_NO_DRM}", box)


def _optional(boxes: List[Box], kind: bytes) -> Optional[Box]:
    for box in boxes:
        if box.kind == kind:
            return box
    return None


# --------------------------------------------------------------------------- the init


def parse_init(data: bytes) -> InitInfo:
    """Parse an init segment (``ftyp`` + ``moov``; other top-level boxes are skipped)."""
    offset = 0
    moov: Optional[Box] = None
    while offset < len(data):
        box = _parse_header(data[offset : offset + 16], offset, len(data), "", top_level=True)
        if box.kind == b"moov":
            if moov is not None:
                raise Mp4Error(f"a second moov in the init segment (moov at offset {offset})")
            moov = box
        elif box.kind in (b"moof", b"mdat"):
            raise Mp4Error(f"the init segment carries media ({box.path} at offset {offset})")
        offset = box.end
    if moov is None:
        raise Mp4Error("the init segment has no moov box")
    return parse_movie(data[moov.start : moov.end], moov.start)


def parse_movie(moov: bytes, origin: int = 0) -> InitInfo:
    """Parse a whole ``moov`` box (``origin``: its offset in the source, for messages)."""
    buf = _Buffer(moov, origin)
    root = buf.root(b"moov")
    boxes = buf.children(root)
    buf.refuse_drm(boxes)
    mvhd = buf.one(root, boxes, b"mvhd")
    version = buf.version(mvhd, 20, 32)
    movie_timescale = buf.u32(mvhd.payload + (20 if version == 1 else 12))
    if movie_timescale == 0:
        raise buf.fail("mvhd timescale is 0", mvhd)
    audio = [trak for trak in boxes if trak.kind == b"trak" and _handler_type(buf, trak) == b"soun"]
    if len(audio) != 1:
        raise buf.fail(f"the init has {len(audio)} audio (soun) tracks; exactly one is supported", root)
    mvex = _optional(boxes, b"mvex")
    if mvex is None:
        raise buf.fail("the moov has no mvex: this is not a fragmented MP4 init segment", root)
    return _parse_track(buf, audio[0], mvex, movie_timescale)


def _handler_type(buf: _Buffer, trak: Box) -> bytes:
    mdia = buf.one(trak, buf.children(trak), b"mdia")
    hdlr = buf.one(mdia, buf.children(mdia), b"hdlr")
    buf.need(hdlr, 12)  # version/flags, pre_defined, handler_type (ISO BMFF 8.4.3)
    return buf.data[hdlr.payload + 8 : hdlr.payload + 12]


def _parse_track(buf: _Buffer, trak: Box, mvex: Box, movie_timescale: int) -> InitInfo:
    data = buf.data
    boxes = buf.children(trak)
    tkhd = buf.one(trak, boxes, b"tkhd")
    version = buf.version(tkhd, 84, 96)
    id_at = tkhd.payload + (20 if version == 1 else 12)
    track_id = buf.u32(id_at)
    alternate_group: int = struct.unpack_from(">h", data, id_at + (26 if version == 1 else 22))[0]
    mdia = buf.one(trak, boxes, b"mdia")
    mdia_boxes = buf.children(mdia)
    mdhd = buf.one(mdia, mdia_boxes, b"mdhd")
    version = buf.version(mdhd, 24, 36)
    timescale = buf.u32(mdhd.payload + (20 if version == 1 else 12))
    if timescale == 0:
        raise buf.fail("mdhd timescale is 0", mdhd)
    language: int = struct.unpack_from(">H", data, mdhd.payload + (32 if version == 1 else 20))[0] & 0x7FFF
    minf = buf.one(mdia, mdia_boxes, b"minf")
    minf_boxes = buf.children(minf)
    stbl = buf.one(minf, minf_boxes, b"stbl")
    stsd = buf.one(stbl, buf.children(stbl), b"stsd")
    codec, sample_rate, channels = _parse_stsd(buf, stsd)
    smhd, dinf = _optional(minf_boxes, b"smhd"), _optional(minf_boxes, b"dinf")
    return InitInfo(
        track_id=track_id,
        movie_timescale=movie_timescale,
        timescale=timescale,
        language=language,
        alternate_group=alternate_group,
        handler=buf.raw(buf.one(mdia, mdia_boxes, b"hdlr")),
        stsd=buf.raw(stsd),
        smhd=None if smhd is None else buf.raw(smhd),
        dinf=None if dinf is None else buf.raw(dinf),
        edits=_parse_edits(buf, boxes),
        defaults=_parse_trex(buf, mvex, track_id),
        codec=codec,
        sample_rate=sample_rate,
        channels=channels,
    )


def _parse_edits(buf: _Buffer, trak_boxes: List[Box]) -> Optional[Tuple[Edit, ...]]:
    edts = _optional(trak_boxes, b"edts")
    elst = None if edts is None else _optional(buf.children(edts), b"elst")
    if elst is None:
        return None
    version = buf.version(elst, 8, 8)
    count = buf.u32(elst.payload + 4)
    entry = 20 if version == 1 else 12
    if count * entry > elst.end - elst.payload - 8:
        raise buf.fail(f"elst claims {count} entries, its box holds fewer", elst)
    layout = struct.Struct(">QqI" if version == 1 else ">IiI")
    edits: List[Edit] = []
    for at in range(elst.payload + 8, elst.payload + 8 + count * entry, entry):
        duration, media_time, rate = layout.unpack_from(buf.data, at)
        edits.append(Edit(duration, media_time, rate))
    return tuple(edits) if edits else None


def _parse_stsd(buf: _Buffer, stsd: Box) -> Tuple[str, int, int]:
    """The first sample entry's type, sample rate and channels; refuses encrypted entries."""
    buf.version(stsd, 8, 8)
    count = buf.u32(stsd.payload + 4)
    entries = buf.children(stsd, skip=8)
    if count == 0 or count > len(entries):
        raise buf.fail(f"stsd declares {count} sample entries and holds {len(entries)}", stsd)
    for entry in entries[:count]:
        if entry.kind == b"enca":
            raise buf.fail(f"the stream is encrypted (enca sample entry: DRM){_NO_DRM}", entry)
        # AudioSampleEntry (ISO BMFF 12.2.3): 6 reserved, data_reference_index, then 8 bytes
        # whose first two are the QuickTime sound version, channelcount, samplesize,
        # pre_defined, reserved, samplerate (16.16); version 1 adds 16 bytes of QuickTime fields.
        buf.need(entry, 28)
        sound_version = struct.unpack_from(">H", buf.data, entry.payload + 8)[0]
        if sound_version not in (0, 1):
            raise buf.fail(f"unsupported sound sample entry version {sound_version}", entry)
        fixed = 28 if sound_version == 0 else 44
        buf.need(entry, fixed)
        buf.refuse_drm(buf.children(entry, skip=fixed))
    first = entries[0]
    channels: int = struct.unpack_from(">H", buf.data, first.payload + 16)[0]
    return first.kind.decode("latin-1"), buf.u32(first.payload + 24) >> 16, channels


def _parse_trex(buf: _Buffer, mvex: Box, track_id: int) -> TrackDefaults:
    for trex in buf.children(mvex):
        if trex.kind == b"trex":
            buf.version(trex, 24, 24)
            if buf.u32(trex.payload + 4) == track_id:
                index, duration, size, flags = struct.unpack_from(">IIII", buf.data, trex.payload + 8)
                return TrackDefaults(index, duration, size, flags)
    raise buf.fail(f"mvex has no trex for track {track_id}", mvex)


# --------------------------------------------------------------------------- fragments


def _parse_moof(moof: bytes, origin: int, init: InitInfo) -> List[_Traf]:
    buf = _Buffer(moof, origin)
    boxes = buf.children(buf.root(b"moof"))
    buf.refuse_drm(boxes)
    return [_parse_traf(buf, traf, init) for traf in boxes if traf.kind == b"traf"]


def _parse_traf(buf: _Buffer, traf: Box, init: InitInfo) -> _Traf:
    boxes = buf.children(traf)
    buf.refuse_drm(boxes)
    for box in boxes:
        if box.kind == b"uuid" and buf.data[box.payload : box.payload + 16] == _PIFF_SENC:
            raise buf.fail(f"the stream is encrypted (PIFF sample encryption: DRM){_NO_DRM}", box)
    tfhd = buf.one(traf, boxes, b"tfhd")
    buf.version(tfhd, 8, 8)
    flags = buf.u32(tfhd.payload) & 0xFFFFFF
    track_id = buf.u32(tfhd.payload + 4)
    if track_id != init.track_id:
        raise buf.fail(f"a fragment of track {track_id}; the init's audio track is {init.track_id}", tfhd)
    if flags & _TFHD_BASE_DATA_OFFSET:
        raise buf.fail("explicit base-data-offset in tfhd is not supported (CMAF uses default-base-is-moof)", tfhd)
    fields = [bit for bit in (_TFHD_DESCRIPTION_INDEX, _TFHD_DURATION, _TFHD_SIZE, _TFHD_FLAGS) if flags & bit]
    buf.need(tfhd, 8 + 4 * len(fields))
    values = dict(zip(fields, struct.unpack_from(f">{len(fields)}I", buf.data, tfhd.payload + 8)))
    index = values.get(_TFHD_DESCRIPTION_INDEX, init.defaults.sample_description_index)
    if index != 1:
        raise buf.fail(f"sample description index {index}: only the init's first sample entry is supported", tfhd)
    duration = values.get(_TFHD_DURATION, init.defaults.sample_duration)
    size = values.get(_TFHD_SIZE, init.defaults.sample_size)
    truns = [_parse_trun(buf, box) for box in boxes if box.kind == b"trun"]
    return _Traf(bool(flags & _TFHD_BASE_IS_MOOF), duration, size, truns)


def _parse_trun(buf: _Buffer, trun: Box) -> _Trun:
    version = buf.version(trun, 8, 8)
    flags = buf.u32(trun.payload) & 0xFFFFFF
    count = buf.u32(trun.payload + 4)
    at = trun.payload + 8
    data_offset: Optional[int] = None
    if flags & _TRUN_DATA_OFFSET:
        buf.need(trun, 12)
        data_offset = struct.unpack_from(">i", buf.data, at)[0]
        at += 4
    if flags & _TRUN_FIRST_FLAGS:
        at += 4
    entry = 4 * sum(1 for bit in _TRUN_FIELDS if flags & bit)
    room = max(0, trun.end - at)
    if count * entry > room or at > trun.end:
        raise buf.fail(f"trun claims {count} samples of {entry} bytes each; the box holds {room} bytes", trun)
    return _Trun(count, flags, version, data_offset, buf.data[at : at + count * entry], buf.where(trun))


def _column(table: "array[int]", index: int, stride: int) -> "array[int]":
    return table if stride == 1 else table[index::stride]


def _expand(trun: _Trun, traf: _Traf, position: int, mdat: Box) -> SampleRun:
    """The samples of one trun stored from ``position``; checked against ``mdat``."""
    fields = [bit for bit in _TRUN_FIELDS if trun.flags & bit]
    stride = len(fields)
    room = mdat.end - position
    if not trun.flags & _TRUN_SIZE:
        if traf.size == 0:
            raise Mp4Error(f"zero-size samples: no size in the trun, tfhd or trex ({trun.where})")
        if position < mdat.payload or trun.samples * traf.size > room:
            what = f"trun's {trun.samples} samples of {traf.size} bytes"
            raise Mp4Error(f"{what} lie outside the mdat at offset {mdat.start} ({trun.where})")
    table: "array[int]" = array("I")
    table.frombytes(trun.entries)
    if _LITTLE:
        table.byteswap()
    if trun.flags & _TRUN_SIZE:
        sizes = _column(table, fields.index(_TRUN_SIZE), stride)
        if min(sizes) == 0:
            raise Mp4Error(f"a sample of size 0 in trun ({trun.where})")
    else:
        sizes = array("I", [traf.size]) * trun.samples
    if trun.flags & _TRUN_DURATION:
        durations = _column(table, fields.index(_TRUN_DURATION), stride)
    elif traf.duration:
        durations = array("I", [traf.duration]) * trun.samples
    else:
        raise Mp4Error(f"no sample duration: none in the trun, the tfhd or the trex ({trun.where})")
    composition: Optional["array[int]"] = None
    if trun.flags & _TRUN_CTS:
        composition = _column(table, fields.index(_TRUN_CTS), stride)
        if trun.version == 1:  # signed offsets (ISO BMFF 8.8.8.2, version 1)
            signed: "array[int]" = array("i")
            signed.frombytes(composition.tobytes())
            composition = signed
    total = sum(sizes)
    if position < mdat.payload or total > room:
        raise Mp4Error(
            f"trun's samples ({total} bytes at offset {position}) lie outside the mdat "
            f"at offset {mdat.start} ({mdat.end - mdat.payload} bytes) ({trun.where})"
        )
    return SampleRun(position, sizes, durations, composition)


def _refuse_without_mdat(moof: Box, trafs: List[_Traf]) -> None:
    for traf in trafs:
        for trun in traf.truns:
            if trun.samples:
                raise Mp4Error(f"moof at offset {moof.start} has samples and no mdat follows it ({trun.where})")


def _runs(trafs: List[_Traf], moof: Box, mdat: Box, budget: int, limit: int) -> Iterator[SampleRun]:
    base_end = moof.start  # where the previous traf's data ended (8.8.7.1)
    for traf in trafs:
        base = moof.start if traf.base_is_moof else base_end
        position = base
        for trun in traf.truns:
            if trun.samples == 0:
                continue
            if trun.samples > budget:
                raise Mp4Error(f"more than {limit} samples: refusing the stream ({trun.where})")
            budget -= trun.samples
            if trun.data_offset is not None:
                position = base + trun.data_offset
            run = _expand(trun, traf, position, mdat)
            position += run.size
            yield run
        base_end = position


def iter_fragments(
    read: ReadAt, start: int, end: int, init: InitInfo, *, open_end: bool = True, max_samples: int = MAX_SAMPLES
) -> Iterator[SampleRun]:
    """Yield the sample runs of the top-level boxes in ``[start, end)`` of a source.

    ``moof`` boxes are read whole (bounded by :data:`MAX_BOX_BYTES`); ``mdat`` payloads
    are located, never read; ``styp``, ``sidx``, ``prft``, ``emsg``, ``free``, ``skip`` and
    unknown boxes are skipped. ``open_end=False`` refuses size 0 boxes.
    """
    offset = start
    pending: Optional[Tuple[Box, List[_Traf]]] = None
    budget = max_samples
    while offset < end:
        box = read_box(read, offset, end)
        name = f"{box.path} at offset {offset}"
        if box.open_ended and (not open_end or box.kind != b"mdat"):
            raise Mp4Error(f"box size 0 (to the end of the file) where more may follow: not supported ({name})")
        if box.kind == b"moov":
            raise Mp4Error(f"a moov among the media segments ({name})")
        if box.kind == b"moof":
            if pending is not None:
                _refuse_without_mdat(*pending)
            data = read(box.start, box.end - box.start)
            if len(data) != box.end - box.start:
                raise Mp4Error(f"the source ended inside the moof ({name})")
            pending = (box, _parse_moof(data, box.start, init))
        elif box.kind == b"mdat" and pending is not None:
            last = box.payload
            for run in _runs(pending[1], pending[0], box, budget, max_samples):
                budget -= len(run.sizes)
                last = max(last, run.offset + run.size)
                yield run
            pending = None
            if box.open_ended and last != box.end:
                raise Mp4Error(
                    f"mdat of size 0 (to the end of the file) is followed by {box.end - last} bytes no sample uses: "
                    f"size 0 is allowed only for the last box ({name})"
                )
        offset = box.end
    if pending is not None:
        _refuse_without_mdat(*pending)


def _read_bytes(data: bytes) -> ReadAt:
    def read(offset: int, count: int) -> bytes:
        return data[offset : offset + count]

    return read


def parse_fragments(data: bytes, base: int, init: InitInfo) -> List[SampleRun]:
    """The sample runs of all ``moof``/``mdat`` pairs in one segment's bytes; run offsets
    are ``base`` + their position in ``data``."""
    runs = list(iter_fragments(_read_bytes(data), 0, len(data), init))
    return [run._replace(offset=run.offset + base) for run in runs]


def check_segment(data: bytes, init: InitInfo) -> None:
    """Refuse a media segment this module could not remux (the fetcher calls this on each
    segment as it arrives, before it joins the ``.part`` file). A segment must hold at
    least one sample and no size 0 box: segments are stored concatenated."""
    runs = list(iter_fragments(_read_bytes(data), 0, len(data), init, open_end=False))
    if not runs:
        raise Mp4Error(f"a media segment of {len(data)} bytes without any sample (no moof/mdat with samples)")
