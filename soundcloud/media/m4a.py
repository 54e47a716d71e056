"""Remuxing fragmented MP4 (an HLS init segment and its fragments) into a plain M4A.

What :func:`remux` writes (ISO/IEC 14496-12 boxes; ``moov`` before ``mdat``, so a player
knows the duration and can seek before it has read the audio)::

    ftyp   major 'M4A ', minor 0, compatible 'M4A ' 'mp42' 'isom'
    moov
      mvhd                      the init's movie timescale; version 1 only when a duration
                                overflows 32 bits (likewise tkhd, mdhd, elst)
      trak
        tkhd                    flags enabled|in_movie, the init's track_ID, volume 1.0
        edts/elst               only when the init has one (rule below)
        mdia
          mdhd                  the init's media timescale and language, the total duration
          hdlr                  copied from the init
          minf
            smhd, dinf          copied from the init (built when it has none: a dref with
                                one self-contained 'url ' entry)
            stbl
              stsd              copied verbatim from the init (mp4a + esds)
              stts              sample durations, run-length coded
              ctts              only when a composition offset is non-zero (version 1 when
                                one is negative); AAC has none
              stsc              one chunk per trun, run-length coded over chunks
              stsz              one size for all samples when they are equal, else a table
              stco | co64       co64 when a chunk offset reaches ``co64_threshold``
      udta/meta/ilst            the tags (:mod:`.m4a_tags`), when any is given
    mdat                        32-bit size, or size 1 and a 64-bit largesize past 4 GiB

The init's ``mvex`` (and its own ``udta``) are dropped: the result is not fragmented.

**The edit list.** A CMAF init's ``elst`` usually has one edit with segment_duration 0:
ISO BMFF 8.6.6 lets an empty initial movie of a fragmented file say "the offset from media
time to presentation time, for the whole of the fragments" that way, its length unknown
when the init was written. A plain file states the length: such an edit (duration 0,
media_time >= 0) becomes the media's total duration minus media_time, converted to the
movie timescale; media_time (the priming samples to skip) and the rate are kept. Other
edits are copied as they are.

**Streaming.** ``source`` is read in two passes and never whole: first the top-level
boxes (each ``moof`` read whole, bounded by :data:`.fmp4.MAX_BOX_BYTES`; ``mdat`` payloads
only seeked over) to build the sample tables in compact arrays (4 bytes per sample for
stsz, a run-length coded stts, and three numbers per trun), then, once ``ftyp`` and
``moov`` are written, each run's bytes copied in blocks of at most :data:`COPY_BLOCK`
into one reused buffer. Memory follows the number of samples, not the audio bytes: a
two-hour track at 44.1 kHz is about 310,000 AAC frames, some 1.2 MB of tables. ``out`` is
written strictly in order, never seeked: the ``moov`` size is computed first, and the
chunk offsets follow from it (mdat payload start plus the sizes of the runs before).
"""

from __future__ import annotations

import io
import struct
import sys
from array import array
from typing import IO, Final, List, NamedTuple, Optional, Tuple, Union

from .fmp4 import MAX_BOX_BYTES, Edit, InitInfo, Mp4Error, ReadAt, SampleRun, iter_fragments, parse_movie, read_box
from .m4a_tags import Tags, box, build_udta, full_box

__all__ = ["COPY_BLOCK", "RemuxResult", "remux"]

#: The largest block of sample data read and written at once.
COPY_BLOCK: Final = 1024 * 1024

_LITTLE: Final = sys.byteorder == "little"
_U32_MAX: Final = 0xFFFFFFFF
_TABLE_BLOCK: Final = 65536  # table entries converted and written at a time
# The unity transformation matrix of mvhd and tkhd (ISO BMFF 8.2.2, 8.3.2).
_MATRIX: Final = struct.pack(">9i", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
_FTYP: Final = box(b"ftyp", b"M4A ", struct.pack(">I", 0), b"M4A ", b"mp42", b"isom")
_TKHD_ENABLED_IN_MOVIE: Final = 0x000003
_DREF_SELF_CONTAINED: Final = 0x000001


class RemuxResult(NamedTuple):
    """What :func:`remux` wrote: bytes, samples, seconds, codec (fourcc), rate, channels."""

    size: int
    samples: int
    duration: float
    codec: str
    sample_rate: int
    channels: int

    @property
    def duration_seconds(self) -> float:
        """The same as ``duration``: the presentation's length in seconds."""
        return self.duration


def _rle(table: "array[int]", count: int, value: int) -> None:
    """Add ``count`` samples of ``value`` to a (count, value) run-length table."""
    if len(table) >= 2 and table[-1] == value and table[-2] + count <= _U32_MAX:
        table[-2] += count
    else:
        table.append(count)
        table.append(value)


class _Tables:
    """The sample tables, built run by run (about 4 bytes a sample, 20 bytes a run)."""

    def __init__(self) -> None:
        self.sizes: "array[int]" = array("I")
        self.stts: "array[int]" = array("I")  # (count, delta) pairs
        self.ctts: "array[int]" = array("I")  # (count, offset as 32-bit two's complement) pairs
        self.ctts_used = False
        self.ctts_negative = False
        self.run_offsets: "array[int]" = array("Q")
        self.run_counts: "array[int]" = array("I")
        self.run_bytes: "array[int]" = array("Q")
        self.duration = 0  # media timescale
        self.payload = 0  # bytes of sample data

    def add(self, run: SampleRun) -> None:
        count = len(run.sizes)
        self.sizes.extend(run.sizes)
        durations = run.durations
        if min(durations) == max(durations):
            _rle(self.stts, count, durations[0])
        else:
            for duration in durations:
                _rle(self.stts, 1, duration)
        self.duration += sum(durations)
        if run.composition is None:
            _rle(self.ctts, count, 0)
        else:
            for offset in run.composition:
                self.ctts_used = self.ctts_used or offset != 0
                self.ctts_negative = self.ctts_negative or offset < 0
                _rle(self.ctts, 1, offset & _U32_MAX)
        size = sum(run.sizes)
        self.run_offsets.append(run.offset)
        self.run_counts.append(count)
        self.run_bytes.append(size)
        self.payload += size


class _Out:
    """``out`` with a count of the bytes written; accepts bytes, memoryviews and arrays."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.written = 0

    def write(self, data: Union[bytes, bytearray, memoryview, "array[int]"]) -> None:
        view = memoryview(data).cast("B")
        while len(view):
            count = self.out.write(view)
            if count <= 0:
                raise Mp4Error("the output accepted no bytes")
            self.written += count
            view = view[count:]


def _header(kind: bytes, size: int) -> bytes:
    if size > _U32_MAX:
        raise Mp4Error(f"the {kind.decode('latin-1')} box would be {size} bytes, over the 32-bit box size")
    return struct.pack(">I4s", size, kind)


def _rescale(value: int, source: int, target: int) -> int:
    """``value`` in timescale ``source`` expressed in ``target``, rounded to nearest."""
    return (value * target + source // 2) // source


def _edits(init: InitInfo, media_duration: int) -> Optional[List[Edit]]:
    if init.edits is None:
        return None
    edits: List[Edit] = []
    for edit in init.edits:
        if edit.segment_duration == 0 and edit.media_time >= 0:
            remaining = max(0, media_duration - edit.media_time)
            edit = edit._replace(segment_duration=_rescale(remaining, init.timescale, init.movie_timescale))
        edits.append(edit)
    return edits


def _edts(edits: List[Edit]) -> bytes:
    wide = any(e.segment_duration > _U32_MAX or not -(2**31) <= e.media_time < 2**31 for e in edits)
    layout = struct.Struct(">QqI" if wide else ">IiI")
    entries = b"".join(layout.pack(e.segment_duration, e.media_time, e.media_rate & _U32_MAX) for e in edits)
    return box(b"edts", full_box(b"elst", 1 if wide else 0, 0, struct.pack(">I", len(edits)), entries))


def _mvhd(timescale: int, duration: int, next_track_id: int) -> bytes:
    if duration > _U32_MAX:
        version, times = 1, struct.pack(">QQIQ", 0, 0, timescale, duration)
    else:
        version, times = 0, struct.pack(">IIII", 0, 0, timescale, duration)
    # rate 1.0, volume 1.0, 10 reserved bytes, matrix, 24 bytes pre_defined, next_track_ID
    rest = struct.pack(">iH10x", 0x00010000, 0x0100) + _MATRIX + bytes(24) + struct.pack(">I", next_track_id)
    return full_box(b"mvhd", version, 0, times, rest)


def _tkhd(init: InitInfo, duration: int) -> bytes:
    if duration > _U32_MAX:
        version, times = 1, struct.pack(">QQIIQ", 0, 0, init.track_id, 0, duration)
    else:
        version, times = 0, struct.pack(">IIIII", 0, 0, init.track_id, 0, duration)
    # 8 reserved bytes, layer 0, alternate_group, volume 1.0 (an audio track), reserved,
    # matrix, width and height 0
    rest = struct.pack(">8xhhH2x", 0, init.alternate_group, 0x0100) + _MATRIX + struct.pack(">II", 0, 0)
    return full_box(b"tkhd", version, _TKHD_ENABLED_IN_MOVIE, times, rest)


def _mdhd(init: InitInfo, duration: int) -> bytes:
    if duration > _U32_MAX:
        version, times = 1, struct.pack(">QQIQ", 0, 0, init.timescale, duration)
    else:
        version, times = 0, struct.pack(">IIII", 0, 0, init.timescale, duration)
    return full_box(b"mdhd", version, 0, times, struct.pack(">HH", init.language & 0x7FFF, 0))


def _stsc(run_counts: "array[int]") -> bytes:
    """stsc (ISO BMFF 8.7.4): a new entry only where the samples per chunk change."""
    entries: List[Tuple[int, int]] = []
    for chunk, count in enumerate(run_counts, start=1):
        if not entries or entries[-1][1] != count:
            entries.append((chunk, count))
    body = b"".join(struct.pack(">III", first, count, 1) for first, count in entries)
    return full_box(b"stsc", 0, 0, struct.pack(">I", len(entries)), body)


def _write_table(out: _Out, table: "array[int]") -> None:
    """An array of 32-bit values, big-endian, a block at a time."""
    for start in range(0, len(table), _TABLE_BLOCK):
        block = table[start : start + _TABLE_BLOCK]
        if _LITTLE:
            block.byteswap()
        out.write(block)


def _write_offsets(out: _Out, run_bytes: "array[int]", first: int, wide: bool) -> None:
    """stco/co64 entries: each chunk's offset in the output, a block at a time."""
    position = first
    for start in range(0, len(run_bytes), _TABLE_BLOCK):
        block: "array[int]" = array("Q" if wide else "I")
        for size in run_bytes[start : start + _TABLE_BLOCK]:
            block.append(position)
            position += size
        if _LITTLE:
            block.byteswap()
        out.write(block)


class _Layout(NamedTuple):
    moov: int
    trak: int
    mdia: int
    minf: int
    stbl: int
    stco: int


class _Plan:
    """Every box of the ``moov`` that is not a big table, and the sizes of the ones that are."""

    def __init__(self, init: InitInfo, tables: _Tables, tags: Optional[Tags]) -> None:
        edits = _edits(init, tables.duration)
        if edits is None:
            self.movie_duration = _rescale(tables.duration, init.timescale, init.movie_timescale)
            self.seconds = tables.duration / init.timescale
        else:
            self.movie_duration = sum(e.segment_duration for e in edits)
            self.seconds = self.movie_duration / init.movie_timescale
        self.mvhd = _mvhd(init.movie_timescale, self.movie_duration, init.track_id + 1)
        self.tkhd = _tkhd(init, self.movie_duration)
        self.edts = b"" if edits is None else _edts(edits)
        self.mdhd = _mdhd(init, tables.duration)
        self.hdlr = init.handler
        self.smhd = init.smhd if init.smhd is not None else full_box(b"smhd", 0, 0, struct.pack(">hH", 0, 0))
        dref = full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, _DREF_SELF_CONTAINED))
        self.dinf = init.dinf if init.dinf is not None else box(b"dinf", dref)
        self.stsd = init.stsd
        self.stsc = _stsc(tables.run_counts)
        self.udta = b"" if tags is None else build_udta(tags)
        samples = len(tables.sizes)
        self.constant_size = min(tables.sizes) == max(tables.sizes)
        self.stts_size = 16 + 4 * len(tables.stts)
        self.ctts_size = 16 + 4 * len(tables.ctts) if tables.ctts_used else 0
        self.stsz_size = 20 + (0 if self.constant_size else 4 * samples)
        self.chunks = len(tables.run_counts)

    def layout(self, wide: bool) -> _Layout:
        stco = 16 + (8 if wide else 4) * self.chunks
        stbl = 8 + len(self.stsd) + self.stts_size + self.ctts_size + len(self.stsc) + self.stsz_size + stco
        minf = 8 + len(self.smhd) + len(self.dinf) + stbl
        mdia = 8 + len(self.mdhd) + len(self.hdlr) + minf
        trak = 8 + len(self.tkhd) + len(self.edts) + mdia
        moov = 8 + len(self.mvhd) + trak + len(self.udta)
        return _Layout(moov, trak, mdia, minf, stbl, stco)


def _read_init(read: ReadAt, end: int) -> Tuple[InitInfo, int]:
    """The init's ``moov`` at the start of the source, and where the media begins."""
    offset = 0
    while offset < end:
        found = read_box(read, offset, end)
        if found.kind == b"moov":
            size = found.end - found.start
            if found.open_ended and size > MAX_BOX_BYTES:
                raise Mp4Error(f"moov of size 0 at offset {offset} reaches past the {MAX_BOX_BYTES}-byte limit")
            data = read(found.start, size)
            if len(data) != size:
                raise Mp4Error(f"the source ended inside the moov at offset {offset}")
            return parse_movie(data, found.start), found.end
        if found.kind in (b"moof", b"mdat"):
            where = f"{found.path} at offset {offset}"
            raise Mp4Error(f"{where} before any moov: the source must start with the init segment")
        offset = found.end
    raise Mp4Error("no moov box: the source does not start with an init segment")


def _copy(source: IO[bytes], out: _Out, tables: _Tables) -> None:
    buffer = bytearray(COPY_BLOCK)
    view = memoryview(buffer)
    position = -1
    for offset, size in zip(tables.run_offsets, tables.run_bytes):
        if offset != position:
            source.seek(offset)
        remaining = size
        while remaining:
            want = min(remaining, COPY_BLOCK)
            chunk: Union[bytes, memoryview]
            if isinstance(source, (io.BufferedIOBase, io.RawIOBase)):
                chunk = view[: source.readinto(view[:want]) or 0]
            else:  # any other binary file object
                chunk = source.read(want)
            if not chunk:
                at = offset + size - remaining
                raise Mp4Error(f"the source ended while copying the samples at offset {at} (changed during the remux?)")
            out.write(chunk)
            remaining -= len(chunk)
        position = offset + size


def remux(
    source: IO[bytes], out: IO[bytes], tags: Optional[Tags] = None, *, co64_threshold: int = 2**32
) -> RemuxResult:
    """Write a plain M4A to ``out`` from ``source``: a seekable binary file holding an init
    segment followed by its media segments (as fetched, concatenated).

    ``out`` is written from its current position, in order, never seeked. ``co64_threshold``
    is the chunk offset from which ``co64`` replaces ``stco`` (tests make it small).
    Raises :class:`.fmp4.Mp4Error` (a :class:`~soundcloud.errors.DownloadError`) for input
    it cannot or will not remux.
    """
    end = source.seek(0, io.SEEK_END)

    def read(offset: int, count: int) -> bytes:
        source.seek(offset)
        return source.read(count)

    init, media = _read_init(read, end)
    tables = _Tables()
    for run in iter_fragments(read, media, end, init):
        tables.add(run)
    if not tables.sizes:
        raise Mp4Error("the stream holds no audio samples")
    plan = _Plan(init, tables, tags)
    mdat_header = 8 if tables.payload + 8 < 2**32 else 16
    wide = False
    layout = plan.layout(wide)
    last_chunk = len(_FTYP) + layout.moov + mdat_header + tables.payload - tables.run_bytes[-1]
    if last_chunk >= min(co64_threshold, 2**32):
        wide = True
        layout = plan.layout(wide)
    first = len(_FTYP) + layout.moov + mdat_header

    sink = _Out(out)
    sink.write(_FTYP)
    sink.write(_header(b"moov", layout.moov) + plan.mvhd + _header(b"trak", layout.trak) + plan.tkhd + plan.edts)
    sink.write(_header(b"mdia", layout.mdia) + plan.mdhd + plan.hdlr)
    sink.write(_header(b"minf", layout.minf) + plan.smhd + plan.dinf)
    sink.write(_header(b"stbl", layout.stbl) + plan.stsd)
    sink.write(_header(b"stts", plan.stts_size) + struct.pack(">II", 0, len(tables.stts) // 2))
    _write_table(sink, tables.stts)
    if tables.ctts_used:
        version = 1 if tables.ctts_negative else 0  # version 1: signed offsets (ISO BMFF 8.6.1.3)
        sink.write(_header(b"ctts", plan.ctts_size) + struct.pack(">II", version << 24, len(tables.ctts) // 2))
        _write_table(sink, tables.ctts)
    sink.write(plan.stsc)
    samples = len(tables.sizes)
    constant = tables.sizes[0] if plan.constant_size else 0  # stsz sample_size: 0 means a table follows
    sink.write(_header(b"stsz", plan.stsz_size) + struct.pack(">III", 0, constant, samples))
    if not plan.constant_size:
        _write_table(sink, tables.sizes)
    sink.write(_header(b"co64" if wide else b"stco", layout.stco) + struct.pack(">II", 0, plan.chunks))
    _write_offsets(sink, tables.run_bytes, first, wide)
    sink.write(plan.udta)
    if mdat_header == 8:
        sink.write(struct.pack(">I4s", 8 + tables.payload, b"mdat"))
    else:  # size 1: a 64-bit largesize follows (ISO BMFF 4.2)
        sink.write(struct.pack(">I4sQ", 1, b"mdat", 16 + tables.payload))
    if sink.written != first:
        raise Mp4Error(f"internal error: the moov took {sink.written} bytes, {first} were planned")  # pragma: no cover
    _copy(source, sink, tables)
    return RemuxResult(sink.written, samples, plan.seconds, init.codec, init.sample_rate, init.channels)
