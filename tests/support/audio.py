"""The AAC HLS fixture and the tools the media tests check MP4 files with.

- **The fixture** (``soundcloud/testing/fixtures``, made by ``tools/make_hls_fixture.py``):
  :func:`init_bytes`, :func:`segment_bytes` (1..4), :func:`fixture_info`;
  :func:`part_bytes` / :func:`write_part` build a ``.part``-style stream, the init then
  ``count`` segments cycling seg-1..seg-4 (optionally each after a ``styp``);
  :func:`expected_samples` and :func:`expected_seconds` say what a decoder must find in it.
- **Boxes, written here** (not with the package, whose reader and writer are under test):
  :func:`parse_boxes` / :func:`serialize` (a small tree of :class:`Node`), :func:`find`,
  :func:`top_level` (kind, offset, size of each top-level box), :func:`trun_rows` /
  :func:`set_trun_rows` and :func:`fix_data_offset` to edit fragments, :func:`box`.
- **Independent readers:** :func:`decode` (PyAV decodes the whole file) and
  :func:`read_tags` (mutagen); call them only from tests that did
  ``pytest.importorskip("av")`` / ``("mutagen")``.

This module imports nothing of the package but its location.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, Dict, Iterator, List, NamedTuple, Optional, Tuple, Union

import soundcloud

__all__ = [
    "CONTAINERS",
    "Decoded",
    "FIXTURES",
    "Node",
    "ReadTags",
    "STYP",
    "box",
    "cycle",
    "decode",
    "decodable_samples",
    "expected_samples",
    "expected_seconds",
    "find",
    "find_all",
    "fix_data_offset",
    "fixture_info",
    "init_bytes",
    "parse_boxes",
    "part_bytes",
    "read_tags",
    "segment_bytes",
    "serialize",
    "set_trun_rows",
    "tiny_png",
    "top_level",
    "trun_rows",
    "write_part",
]

FIXTURES = Path(soundcloud.__file__).resolve().parent / "testing" / "fixtures"
FRAME = 1024  # AAC-LC samples per frame

# Boxes whose payload is only boxes (ISO/IEC 14496-12); everything else stays raw bytes.
CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"mvex", b"moof", b"traf", b"edts", b"dinf", b"udta"}


def box(kind: bytes, *parts: bytes) -> bytes:
    """A box with a 32-bit size."""
    payload = b"".join(parts)
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


STYP = box(b"styp", b"msdh", b"\x00\x00\x00\x00", b"msdh", b"msix")


# --------------------------------------------------------------------------- the fixture


@lru_cache(maxsize=None)
def fixture_info(rendition: str = "aac_160") -> Dict[str, Any]:
    """fixture.json's entry for a rendition (sample_rate, channels, segments, samples)."""
    info: Dict[str, Any] = json.loads((FIXTURES / "fixture.json").read_text(encoding="utf-8"))[rendition]
    return info


@lru_cache(maxsize=None)
def init_bytes(rendition: str = "aac_160") -> bytes:
    return (FIXTURES / rendition / "init.mp4").read_bytes()


@lru_cache(maxsize=None)
def segment_bytes(rendition: str = "aac_160", number: int = 1) -> bytes:
    return (FIXTURES / rendition / f"seg-{number}.m4s").read_bytes()


def cycle(count: int) -> Iterator[int]:
    """Segment numbers 1, 2, 3, 4, 1, 2... (``count`` of them)."""
    for index in range(count):
        yield index % 4 + 1


def part_bytes(rendition: str = "aac_160", count: int = 4, *, styp: bool = False) -> bytes:
    """The init then ``count`` segments (cycling), as the fetcher stores them."""
    prefix = STYP if styp else b""
    return init_bytes(rendition) + b"".join(prefix + segment_bytes(rendition, n) for n in cycle(count))


def write_part(path: Path, rendition: str = "aac_160", count: int = 4) -> int:
    """Like :func:`part_bytes`, streamed to ``path``; returns its size."""
    with path.open("wb") as out:
        out.write(init_bytes(rendition))
        for number in cycle(count):
            out.write(segment_bytes(rendition, number))
        return out.tell()


def expected_samples(rendition: str, count: int) -> int:
    """Decoded PCM samples per channel: whole AAC frames, from fixture.json's durations."""
    info = fixture_info(rendition)
    frames = [round(seconds * info["sample_rate"] / FRAME) for seconds in info["segments"]]
    assert sum(frames) * FRAME == info["samples"]
    return sum(frames[n - 1] for n in cycle(count)) * FRAME


def decodable_samples(rendition: str, count: int, skipped: int = 0) -> Tuple[int, ...]:
    """What a decoder may count for ``count`` segments (``skipped``: samples an edit list
    drops at the start). Whole frames; or, when the stream ends with the fourth fragment,
    whole frames less its ``end_trim``: newer FFmpeg (PyAV 19) ends a plain MP4 where the
    last sample's duration (stts) says, older FFmpeg decodes the last frame whole."""
    full = expected_samples(rendition, count) - skipped
    ends_trimmed = (count - 1) % 4 == 3
    return (full, full - int(fixture_info(rendition)["end_trim"])) if ends_trimmed else (full,)


def _segment_ticks(rendition: str) -> Tuple[int, ...]:
    """Each fragment's media duration in samples, as the fixture tool recorded it from the
    encoder (fixture.json: whole frames, less ``end_trim`` for the fourth fragment, whose
    last frame the encoder cut short). Not read back with PyAV: how a demuxer reports packet
    durations around the encoder's priming and trim changed between FFmpeg versions."""
    info = fixture_info(rendition)
    ticks = list(info["segment_samples"])
    ticks[-1] -= int(info["end_trim"])
    return tuple(ticks)


def expected_seconds(rendition: str, count: int) -> float:
    """The presentation's length for ``count`` segments, from the fixture's facts."""
    ticks = _segment_ticks(rendition)
    return sum(ticks[n - 1] for n in cycle(count)) / fixture_info(rendition)["sample_rate"]


def tiny_png() -> bytes:
    """A real 1x1 PNG (signature, IHDR, IDAT, IEND)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")


# --------------------------------------------------------------------------- boxes


class Node:
    """A box: its type and either raw payload bytes or child nodes."""

    def __init__(self, kind: bytes, payload: bytes = b"", children: Optional[List["Node"]] = None) -> None:
        self.kind = kind
        self.payload = payload
        self.children = children

    def __repr__(self) -> str:
        return f"Node({self.kind!r}, {len(self.payload)} bytes, {self.children!r})"


def _spans(data: bytes) -> Iterator[Tuple[bytes, int, int, int]]:
    """(kind, start, header size, end) of each box in ``data``; size 1 and 0 understood."""
    offset = 0
    while offset < len(data):
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            size = struct.unpack_from(">Q", data, offset + 8)[0]
            header = 16
        elif size == 0:
            size = len(data) - offset
        assert size >= header and offset + size <= len(data), (kind, offset, size)
        yield kind, offset, header, offset + size
        offset += size


def parse_boxes(data: bytes) -> List[Node]:
    """The box tree of ``data`` (containers in :data:`CONTAINERS` opened)."""
    nodes = []
    for kind, start, header, end in _spans(data):
        payload = data[start + header : end]
        if kind in CONTAINERS:
            nodes.append(Node(kind, children=parse_boxes(payload)))
        else:
            nodes.append(Node(kind, payload))
    return nodes


def serialize(nodes: List[Node]) -> bytes:
    """The bytes of a box tree, every size recomputed (32-bit)."""
    return b"".join(box(node.kind, serialize(node.children) if node.children is not None else node.payload) for node in nodes)


def find_all(nodes: List[Node], path: str) -> List[Node]:
    """Every node at ``path`` (``"moof/traf/trun"``; ``©`` may be written as ``\\xa9``)."""
    first, _, rest = path.partition("/")
    kind = first.encode("latin-1")
    found = []
    for node in nodes:
        if node.kind == kind:
            if not rest:
                found.append(node)
            elif node.children is not None:
                found.extend(find_all(node.children, rest))
    return found


def find(nodes: List[Node], path: str) -> Node:
    """The one node at ``path``."""
    found = find_all(nodes, path)
    assert len(found) == 1, (path, len(found))
    return found[0]


def top_level(source: Union[bytes, Path]) -> List[Tuple[bytes, int, int]]:
    """(kind, offset, size) of each top-level box of a file or bytes, reading only headers."""
    boxes = []
    handle: BinaryIO
    with (io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")) as handle:
        end = handle.seek(0, io.SEEK_END)
        offset = 0
        while offset < end:
            handle.seek(offset)
            size, kind = struct.unpack(">I4s", handle.read(8))
            if size == 1:
                size = struct.unpack(">Q", handle.read(8))[0]
            elif size == 0:
                size = end - offset
            boxes.append((kind, offset, size))
            offset += size
    return boxes


class Trun(NamedTuple):
    version: int
    flags: int
    data_offset: Optional[int]
    rows: List[Tuple[int, ...]]  # per sample: the fields the flags announce, in order
    count: Optional[int] = None  # sample_count when the rows carry no fields (so no length)


def trun_rows(node: Node) -> Trun:
    """A trun's fields (ISO BMFF 8.8.8): per-sample rows of duration/size/flags/cto."""
    version = node.payload[0]
    flags = struct.unpack(">I", node.payload[:4])[0] & 0xFFFFFF
    count = struct.unpack_from(">I", node.payload, 4)[0]
    at = 8
    data_offset = None
    if flags & 0x1:
        data_offset = struct.unpack_from(">i", node.payload, at)[0]
        at += 4
    if flags & 0x4:
        at += 4
    width = sum(1 for bit in (0x100, 0x200, 0x400, 0x800) if flags & bit)
    if width:  # rows as far as the payload holds them (a test may have lied in sample_count)
        count = min(count, (len(node.payload) - at) // (4 * width))
    rows = [struct.unpack_from(f">{width}I", node.payload, at + 4 * width * i) for i in range(count if width else 0)]
    return Trun(version, flags, data_offset, rows, None if width else count)


def set_trun_rows(node: Node, trun: Trun, *, signed_cto: bool = False, count: Optional[int] = None) -> None:
    """Rewrite a trun's payload (``count`` overrides the stored sample_count)."""
    width = sum(1 for bit in (0x100, 0x200, 0x400, 0x800) if trun.flags & bit)
    if count is None:
        count = len(trun.rows) if trun.count is None or trun.rows else trun.count
    parts = [struct.pack(">II", (trun.version << 24) | trun.flags, count)]
    if trun.flags & 0x1:
        parts.append(struct.pack(">i", trun.data_offset or 0))
    if trun.flags & 0x4:
        parts.append(b"\x02\x00\x00\x00")
    layout = ">" + "I" * (width - 1) + ("i" if signed_cto else "I") if width else ">"
    parts.extend(struct.pack(layout, *row) for row in trun.rows)
    node.payload = b"".join(parts)


def fix_data_offset(nodes: List[Node], extra: int = 0) -> None:
    """Point the first trun of a one-moof segment at the first byte of the mdat payload
    (``extra`` more bytes in, e.g. 8 for a 64-bit mdat header)."""
    trun_node = find_all(nodes, "moof/traf/trun")[0]
    trun = trun_rows(trun_node)
    assert trun.flags & 0x1, "the trun has no data_offset field"
    set_trun_rows(trun_node, trun._replace(data_offset=len(serialize([find(nodes, "moof")])) + 8 + extra))


# --------------------------------------------------------------------------- independent readers


class Decoded(NamedTuple):
    codec: str
    sample_rate: int
    channels: int
    samples: int  # decoded PCM samples per channel
    duration: float  # the container's duration, seconds


def decode(path: Path) -> Decoded:
    """Decode every frame of the file's audio with PyAV (FFmpeg), independently of the package."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        duration = (container.duration or 0) / 1_000_000
        return Decoded(stream.codec_context.name, stream.codec_context.sample_rate, stream.codec_context.channels, samples, duration)


class ReadTags(NamedTuple):
    tags: Dict[str, List[Any]]
    length: float


def read_tags(path: Path) -> ReadTags:
    """The iTunes tags and the length mutagen reads (``{}`` without tags)."""
    from mutagen.mp4 import MP4

    file = MP4(str(path))
    return ReadTags({key: list(value) for key, value in (file.tags or {}).items()}, file.info.length)
