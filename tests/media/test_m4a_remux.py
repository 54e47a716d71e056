"""Remuxing the AAC HLS fixture into a plain M4A (soundcloud.media.m4a), checked by
independent readers: PyAV (FFmpeg) decodes every output fully, mutagen reads its length,
and the top-level box order is read here. Shapes: 1, 4, 7 and 1000 segments, a leading
styp, the 96k rendition, co64, a 1 MiB+ fragment, an edit list, composition offsets, a
pipe as output; refusals leave the output untouched.
"""

from __future__ import annotations

import io
import os
import struct
import threading
import tracemalloc
from pathlib import Path
from typing import Callable, List, Tuple

import pytest

from soundcloud.media.fmp4 import MAX_BOX_BYTES, Mp4Error
from soundcloud.media.m4a import COPY_BLOCK, RemuxResult, remux
from support.audio import (
    Node,
    cycle,
    decode,
    decodable_samples,
    expected_samples,
    expected_seconds,
    find,
    find_all,
    fix_data_offset,
    init_bytes,
    parse_boxes,
    part_bytes,
    read_tags,
    segment_bytes,
    serialize,
    set_trun_rows,
    top_level,
    trun_rows,
    write_part,
)

av = pytest.importorskip("av")
mutagen = pytest.importorskip("mutagen")

FRAME_SECONDS = 1024 / 44100


def remux_bytes(source: bytes, path: Path, **options: int) -> RemuxResult:
    with path.open("wb") as out:
        result = remux(io.BytesIO(source), out, **options)  # type: ignore[arg-type]
    assert result.size == path.stat().st_size
    return result


def assert_plain_m4a(path: Path) -> List[Tuple[bytes, int, int]]:
    boxes = top_level(path)
    assert [kind for kind, _, _ in boxes] == [b"ftyp", b"moov", b"mdat"], "moov must come before mdat"
    with path.open("rb") as handle:
        assert handle.read(28)[8:] == b"M4A \x00\x00\x00\x00M4A mp42isom"
    return boxes


def moov_of(path: Path) -> List[Node]:
    kind, offset, size = top_level(path)[1]
    with path.open("rb") as handle:
        handle.seek(offset)
        return parse_boxes(handle.read(size))


def stbl(path: Path) -> List[Node]:
    node = find(moov_of(path), "moov/trak/mdia/minf/stbl")
    assert node.children is not None
    return node.children


@pytest.mark.parametrize(
    "rendition,count,styp",
    [("aac_160", 1, False), ("aac_160", 4, False), ("aac_160", 7, False), ("aac_160", 4, True), ("aac_96", 4, False)],
)
def test_the_remuxed_file_decodes_fully(tmp_path: Path, rendition: str, count: int, styp: bool) -> None:
    path = tmp_path / "out.m4a"
    result = remux_bytes(part_bytes(rendition, count, styp=styp), path)
    assert_plain_m4a(path)
    decoded = decode(path)
    assert (decoded.codec, decoded.sample_rate, decoded.channels) == ("aac", 44100, 2)
    assert decoded.samples in decodable_samples(rendition, count)
    assert decoded.duration == pytest.approx(expected_seconds(rendition, count), abs=0.001)
    assert read_tags(path).length == pytest.approx(expected_seconds(rendition, count), abs=0.001)
    assert result.samples * 1024 == expected_samples(rendition, count)
    assert result.duration == pytest.approx(expected_seconds(rendition, count), abs=1e-6)
    assert (result.codec, result.sample_rate, result.channels) == ("mp4a", 44100, 2)
    assert result.duration_seconds == result.duration


def test_the_sample_tables(tmp_path: Path) -> None:
    path = tmp_path / "out.m4a"
    remux_bytes(part_bytes("aac_160", 4), path)
    tables = stbl(path)
    assert [node.kind for node in tables] == [b"stsd", b"stts", b"stsc", b"stsz", b"stco"]
    assert find(tables, "stsd").payload == find(parse_boxes(init_bytes()), "moov/trak/mdia/minf/stbl/stsd").payload
    # stts: 173 frames of 1024, then the encoder's trimmed last frame
    assert struct.unpack(">IIIIII", find(tables, "stts").payload) == (0, 2, 173, 1024, 1, 272)
    # stsc: one chunk per fragment, a new entry where the count changes (44, 44, 44, 42)
    assert struct.unpack(">II" + "III" * 2, find(tables, "stsc").payload) == (0, 2, 1, 44, 1, 4, 42, 1)
    offsets = struct.unpack(">II4I", find(tables, "stco").payload)[2:]
    mdat = top_level(path)[2]
    assert offsets[0] == mdat[1] + 8
    sizes = struct.unpack(">III174I", find(tables, "stsz").payload)
    assert sizes[:3] == (0, 0, 174) and sum(sizes[3:]) == mdat[2] - 8
    assert [offsets[i + 1] - offsets[i] for i in range(3)] == [sum(sizes[3 + a : 3 + b]) for a, b in ((0, 44), (44, 88), (88, 132))]
    mdhd = find(moov_of(path), "moov/trak/mdia/mdhd").payload
    assert struct.unpack(">IIIII", mdhd[:20])[3:] == (44100, 173 * 1024 + 272)
    tkhd = find(moov_of(path), "moov/trak/tkhd").payload
    assert tkhd[:4] == b"\x00\x00\x00\x03" and struct.unpack(">I", tkhd[12:16])[0] == 1
    assert not find_all(moov_of(path), "moov/mvex") and not find_all(moov_of(path), "moov/udta")


def test_a_thousand_segments_in_bounded_memory(tmp_path: Path) -> None:
    source, target = tmp_path / "in.part", tmp_path / "out.m4a"
    size = write_part(source, "aac_160", 1000)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        with source.open("rb") as handle, target.open("wb") as out:
            result = remux(handle, out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"\nremux of 1000 segments: input {size} bytes, peak traced memory {peak} bytes")
    assert size > 20_000_000
    # the copy buffer (1 MiB) plus tables of about 4 bytes a sample (43,500 samples)
    assert peak < 2 * 1024 * 1024 and peak < size // 10
    assert result.samples == 1000 // 4 * 174
    assert_plain_m4a(target)
    decoded = decode(target)
    assert decoded.samples in decodable_samples("aac_160", 1000)
    assert decoded.duration == pytest.approx(expected_seconds("aac_160", 1000), abs=0.001)
    assert read_tags(target).length == pytest.approx(expected_seconds("aac_160", 1000), abs=0.001)


def test_co64_when_a_chunk_offset_reaches_the_threshold(tmp_path: Path) -> None:
    path = tmp_path / "out.m4a"
    remux_bytes(part_bytes("aac_160", 4), path, co64_threshold=1)
    tables = stbl(path)
    assert not find_all(tables, "stco")
    offsets = struct.unpack(">II4Q", find(tables, "co64").payload)
    assert offsets[:2] == (0, 4) and offsets[2] == top_level(path)[2][1] + 8
    decoded = decode(path)
    assert decoded.samples in decodable_samples("aac_160", 4)
    assert read_tags(path).length == pytest.approx(expected_seconds("aac_160", 4), abs=0.001)
    # the threshold is compared with the last chunk's offset as stco would place it
    remux_bytes(part_bytes("aac_160", 4), path)
    last = struct.unpack(">II4I", find(stbl(path), "stco").payload)[-1]
    remux_bytes(part_bytes("aac_160", 4), path, co64_threshold=last + 1)
    assert find_all(stbl(path), "stco") and not find_all(stbl(path), "co64")
    remux_bytes(part_bytes("aac_160", 4), path, co64_threshold=last)
    assert find_all(stbl(path), "co64") and not find_all(stbl(path), "stco")
    assert struct.unpack(">II4Q", find(stbl(path), "co64").payload)[-1] == last + 4 * 4


def big_fragment(copies: int) -> bytes:
    """seg-1's samples ``copies`` times over in one moof/mdat (a run over 1 MiB)."""
    nodes = parse_boxes(segment_bytes("aac_160", 1))
    node = find(nodes, "moof/traf/trun")
    trun = trun_rows(node)
    set_trun_rows(node, trun._replace(rows=trun.rows * copies))
    mdat = find(nodes, "mdat")
    mdat.payload *= copies
    fix_data_offset(nodes)
    return serialize(nodes)


class RecordingRaw(io.RawIOBase):
    """A raw, seekable binary source over bytes that records the size of every read."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0
        self.reads: List[int] = []

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.position = offset if whence == io.SEEK_SET else len(self.data) + offset
        return self.position

    def readinto(self, buffer: "memoryview") -> int:  # type: ignore[override]
        chunk = self.data[self.position : self.position + len(buffer)]
        buffer[: len(chunk)] = chunk
        self.position += len(chunk)
        self.reads.append(len(buffer))
        return len(chunk)


class PlainReader:
    """Neither RawIOBase nor BufferedIOBase: only read and seek."""

    def __init__(self, data: bytes) -> None:
        self.file = io.BytesIO(data)
        self.reads: List[int] = []

    def read(self, count: int = -1) -> bytes:
        self.reads.append(count)
        return self.file.read(count)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.file.seek(offset, whence)


@pytest.mark.parametrize("make", [RecordingRaw, PlainReader])
def test_sample_data_is_copied_in_blocks_of_at_most_a_mebibyte(tmp_path: Path, make: Callable[[bytes], RecordingRaw]) -> None:
    fragment = big_fragment(60)
    assert len(fragment) > 1.1 * COPY_BLOCK
    source = make(init_bytes() + fragment + segment_bytes("aac_160", 2))
    path = tmp_path / "out.m4a"
    with path.open("wb") as out:
        remux(source, out)  # type: ignore[arg-type]
    assert max(source.reads) == COPY_BLOCK
    assert decode(path).samples == (60 * 44 + 44) * 1024
    assert_plain_m4a(path)


def test_the_output_is_written_in_order_so_a_pipe_works(tmp_path: Path) -> None:
    expected = tmp_path / "file.m4a"
    remux_bytes(part_bytes("aac_160", 4), expected)
    read_end, write_end = os.pipe()
    received: List[bytes] = []

    def drain() -> None:
        with os.fdopen(read_end, "rb") as pipe:
            received.append(pipe.read())

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    with os.fdopen(write_end, "wb") as pipe:
        result = remux(io.BytesIO(part_bytes("aac_160", 4)), pipe)
    reader.join(timeout=30)
    assert not reader.is_alive()
    assert received == [expected.read_bytes()] and result.size == len(received[0])


def with_edit(media_time: int, duration: int = 0) -> bytes:
    nodes = parse_boxes(init_bytes())
    trak = find(nodes, "moov/trak")
    assert trak.children is not None
    trak.children.insert(1, Node(b"edts", children=[Node(b"elst", struct.pack(">IIIiI", 0, 1, duration, media_time, 0x00010000))]))
    return serialize(nodes)


def test_an_open_edit_list_is_closed_with_the_whole_duration(tmp_path: Path) -> None:
    # A CMAF init's edit: segment_duration 0, media_time = the encoder's priming (1024)
    source = with_edit(1024) + b"".join(segment_bytes("aac_160", n) for n in cycle(4))
    path = tmp_path / "out.m4a"
    result = remux_bytes(source, path)
    media = 173 * 1024 + 272
    milliseconds = round((media - 1024) * 1000 / 44100)
    elst = find(moov_of(path), "moov/trak/edts/elst").payload
    assert struct.unpack(">IIIiI", elst) == (0, 1, milliseconds, 1024, 0x00010000)
    assert struct.unpack(">I", find(moov_of(path), "moov/mvhd").payload[16:20])[0] == milliseconds
    assert struct.unpack(">I", find(moov_of(path), "moov/trak/tkhd").payload[20:24])[0] == milliseconds
    assert result.duration == milliseconds / 1000
    # FFmpeg applies the edit: the priming frame is skipped, as in the fragmented source
    decoded = decode(path)
    with av.open(io.BytesIO(source)) as fragmented:
        reference = sum(frame.samples for frame in fragmented.decode(audio=0))
    assert reference == expected_samples("aac_160", 4) - 1024
    assert decoded.samples in decodable_samples("aac_160", 4, skipped=1024)
    assert decoded.duration == pytest.approx((media - 1024) / 44100, abs=0.001)


def test_other_edits_are_copied(tmp_path: Path) -> None:
    path = tmp_path / "out.m4a"
    remux_bytes(with_edit(0, duration=3000) + segment_bytes("aac_160", 1), path)
    assert struct.unpack(">IIIiI", find(moov_of(path), "moov/trak/edts/elst").payload) == (0, 1, 3000, 0, 0x00010000)


@pytest.mark.parametrize("negative,version", [(False, 0), (True, 1)])
def test_composition_offsets_give_a_ctts(tmp_path: Path, negative: bool, version: int) -> None:
    segments = []
    for number in cycle(4):
        nodes = parse_boxes(segment_bytes("aac_160", number))
        node = find(nodes, "moof/traf/trun")
        trun = trun_rows(node)
        first = -1 if negative else 2
        rows = [row + (first if i == 0 else 0,) for i, row in enumerate(trun.rows)]
        set_trun_rows(node, trun._replace(version=version, flags=trun.flags | 0x800, rows=rows), signed_cto=negative)
        fix_data_offset(nodes)
        segments.append(serialize(nodes))
    path = tmp_path / "out.m4a"
    remux_bytes(init_bytes() + b"".join(segments), path)
    tables = stbl(path)
    assert [node.kind for node in tables] == [b"stsd", b"stts", b"ctts", b"stsc", b"stsz", b"stco"]
    ctts = find(tables, "ctts").payload
    count = struct.unpack(">I", ctts[4:8])[0]
    entries = [struct.unpack_from(">Ii", ctts, 8 + 8 * i) for i in range(count)]
    assert ctts[0] == version
    assert sum(n for n, _ in entries) == 174
    assert entries[:3] == [(1, -1 if negative else 2), (43, 0), (1, -1 if negative else 2)]
    assert decode(path).channels == 2


def test_all_offsets_zero_write_no_ctts(tmp_path: Path) -> None:
    nodes = parse_boxes(segment_bytes("aac_160", 1))
    node = find(nodes, "moof/traf/trun")
    trun = trun_rows(node)
    set_trun_rows(node, trun._replace(flags=trun.flags | 0x800, rows=[row + (0,) for row in trun.rows]))
    fix_data_offset(nodes)
    path = tmp_path / "out.m4a"
    remux_bytes(init_bytes() + serialize(nodes), path)
    assert not find_all(stbl(path), "ctts")


def test_equal_sample_sizes_give_one_stsz_size(tmp_path: Path) -> None:
    # a trun without sizes: every sample has the tfhd's default size (324 bytes here)
    nodes = parse_boxes(segment_bytes("aac_160", 1))
    node = find(nodes, "moof/traf/trun")
    trun = trun_rows(node)
    set_trun_rows(node, trun._replace(flags=0x1, rows=[]), count=10)
    find(nodes, "mdat").payload = bytes(3240)
    fix_data_offset(nodes)
    path = tmp_path / "out.m4a"
    remux_bytes(init_bytes() + serialize(nodes), path)
    assert find(stbl(path), "stsz").payload == struct.pack(">III", 0, 324, 10)
    assert top_level(path)[2][2] == 8 + 3240


def refusal_sources() -> List[Tuple[str, bytes, str]]:
    truncated = part_bytes("aac_160", 2) + segment_bytes("aac_160", 3)[:100]
    open_mdat = bytearray(segment_bytes("aac_160", 1))
    open_mdat[276:280] = bytes(4)
    oversized = parse_boxes(segment_bytes("aac_160", 1))
    moof = find(oversized, "moof")
    assert moof.children is not None
    moof.children.append(Node(b"free", bytes(MAX_BOX_BYTES)))
    no_mvex = parse_boxes(init_bytes())
    moov = find(no_mvex, "moov")
    assert moov.children is not None
    moov.children = [node for node in moov.children if node.kind != b"mvex"]
    return [
        ("truncated moof", truncated, r"truncated: the box declares 276 bytes, only 100 remain \(moof at offset 41920\)"),
        ("size 0 mid-stream", init_bytes() + bytes(open_mdat) + segment_bytes("aac_160", 2), r"mdat of size 0 .* followed by 20672 bytes"),
        ("oversized moof", init_bytes() + serialize(oversized), r"moof of \d+ bytes exceeds the 16777216-byte limit \(moof at offset 729\)"),
        ("encrypted", init_bytes().replace(b"mp4a", b"enca") + segment_bytes(), r"encrypted \(enca sample entry: DRM\)"),
        ("no mvex", serialize(no_mvex) + segment_bytes(), r"no mvex"),
        ("no moov", segment_bytes(), r"moof at offset 0 before any moov"),
        ("init only", init_bytes(), r"the stream holds no audio samples"),
        ("empty", b"", r"no moov box"),
        ("second moov", init_bytes() + segment_bytes() + init_bytes()[28:], r"a moov among the media segments \(moov at offset 21248\)"),
    ]


@pytest.mark.parametrize("name,source,match", refusal_sources(), ids=[case[0] for case in refusal_sources()])
def test_refused_sources_write_nothing(name: str, source: bytes, match: str) -> None:
    out = io.BytesIO()
    with pytest.raises(Mp4Error, match=match):
        remux(io.BytesIO(source), out)
    assert out.getvalue() == b""


def test_a_source_that_shrinks_during_the_copy_is_refused() -> None:
    class Shrinking(PlainReader):
        def read(self, count: int = -1) -> bytes:
            if count > 4096:  # the copy phase (the moov and moofs are smaller): the tail is gone
                return b""
            return super().read(count)

    out = io.BytesIO()
    with pytest.raises(Mp4Error, match=r"the source ended while copying the samples at offset 1013"):
        remux(Shrinking(part_bytes("aac_160", 1)), out)  # type: ignore[arg-type]


def test_a_64_bit_mdat_in_the_input_is_read(tmp_path: Path) -> None:
    # mdat with a 64-bit largesize in the input, a plain one in the output
    nodes = parse_boxes(segment_bytes("aac_160", 1))
    fix_data_offset(nodes, extra=8)
    mdat = find(nodes, "mdat")
    source = init_bytes() + serialize(nodes[:-1]) + struct.pack(">I4sQ", 1, b"mdat", 16 + len(mdat.payload)) + mdat.payload
    path = tmp_path / "out.m4a"
    remux_bytes(source, path)
    _, offset, size = top_level(path)[2]
    with path.open("rb") as handle:
        handle.seek(offset)
        assert struct.unpack(">I4s", handle.read(8)) == (size, b"mdat")
    assert decode(path).samples == 44 * 1024
