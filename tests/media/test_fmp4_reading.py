"""Reading fragmented MP4 (soundcloud.media.fmp4): the fixture's init and fragments, and the
refusal of every malformed, oversized or encrypted shape a CDN could send, each with a
message that says what and where.

Inputs are built from the fixture with tests/support/audio.py's own box helpers, never with
the package's writer.
"""

from __future__ import annotations

import struct
from typing import Callable, List, Tuple

import pytest

from soundcloud.errors import DownloadError
from soundcloud.media.fmp4 import (
    MAX_BOX_BYTES,
    MAX_SAMPLES,
    Mp4Error,
    check_segment,
    iter_fragments,
    parse_fragments,
    parse_init,
)
from support.audio import (
    STYP,
    Node,
    box,
    find,
    fix_data_offset,
    init_bytes,
    parse_boxes,
    segment_bytes,
    serialize,
    set_trun_rows,
    top_level,
    trun_rows,
)

INIT = parse_init(init_bytes())


def edited_segment(edit: Callable[[List[Node]], None], number: int = 1, *, fix_offset: bool = True) -> bytes:
    """Segment ``number`` with ``edit`` applied to its box tree (data_offset repaired)."""
    nodes = parse_boxes(segment_bytes("aac_160", number))
    edit(nodes)
    if fix_offset:
        fix_data_offset(nodes)
    return serialize(nodes)


def edited_init(edit: Callable[[List[Node]], None]) -> bytes:
    nodes = parse_boxes(init_bytes())
    edit(nodes)
    return serialize(nodes)


def set_tfhd(nodes: List[Node], flags: int, fields: List[int], track_id: int = 1) -> None:
    tfhd = find(nodes, "moof/traf/tfhd")
    tfhd.payload = struct.pack(">II", flags, track_id) + b"".join(struct.pack(">Q" if i == 0 and flags & 1 else ">I", f) for i, f in enumerate(fields))


# --------------------------------------------------------------------------- the fixture


def test_the_init_segment_describes_one_aac_track() -> None:
    assert INIT.track_id == 1
    assert (INIT.movie_timescale, INIT.timescale) == (1000, 44100)
    assert (INIT.codec, INIT.sample_rate, INIT.channels) == ("mp4a", 44100, 2)
    assert INIT.language_code == "und"
    assert INIT.edits is None
    assert INIT.stsd[4:8] == b"stsd" and b"esds" in INIT.stsd
    assert INIT.handler[4:8] == b"hdlr" and INIT.handler[16:20] == b"soun"
    assert INIT.smhd is not None and INIT.smhd[4:8] == b"smhd"
    assert INIT.dinf is not None and INIT.dinf[4:8] == b"dinf"
    assert INIT.defaults.sample_description_index == 1


@pytest.mark.parametrize("rendition", ["aac_160", "aac_96"])
@pytest.mark.parametrize("number,frames", [(1, 44), (2, 44), (3, 44), (4, 42)])
def test_each_segment_gives_its_samples_inside_its_mdat(rendition: str, number: int, frames: int) -> None:
    data = segment_bytes(rendition, number)
    runs = parse_fragments(data, 1000, parse_init(init_bytes(rendition)))
    assert len(runs) == 1 and len(runs[0].sizes) == frames and len(runs[0].durations) == frames
    assert runs[0].composition is None
    (_, _, _), (kind, offset, size) = top_level(data)
    assert kind == b"mdat"
    # the samples fill the mdat payload exactly, and offsets are base + position
    assert runs[0].offset == 1000 + offset + 8 and runs[0].size == size - 8
    assert set(runs[0].durations[:-1]) == {1024}
    check_segment(data, parse_init(init_bytes(rendition)))


def test_a_leading_styp_and_other_boxes_are_skipped() -> None:
    data = STYP + box(b"sidx", bytes(24)) + box(b"prft", bytes(20)) + box(b"emsg", bytes(30)) + segment_bytes() + box(b"free", b"x")
    runs = parse_fragments(data, 0, INIT)
    assert [len(run.sizes) for run in runs] == [44]
    assert runs[0].offset == len(STYP) + 32 + 28 + 38 + top_level(segment_bytes())[1][1] + 8
    check_segment(data, INIT)


def test_a_64_bit_mdat_header_is_read() -> None:
    nodes = parse_boxes(segment_bytes())
    fix_data_offset(nodes, extra=8)
    mdat = find(nodes, "mdat")
    data = serialize(nodes[:-1]) + struct.pack(">I4sQ", 1, b"mdat", 16 + len(mdat.payload)) + mdat.payload
    runs = parse_fragments(data, 0, INIT)
    assert runs[0].offset == len(data) - len(mdat.payload) and runs[0].size == len(mdat.payload)


def test_without_default_base_is_moof_the_first_traf_counts_from_the_moof() -> None:
    # ISO BMFF 8.8.7.1: no base-data-offset and no default-base-is-moof: the moof's first byte
    data = edited_segment(lambda nodes: set_tfhd(nodes, 0x38, [1024, 324, 0x02000000]))
    runs = parse_fragments(data, 0, INIT)
    assert runs[0].offset == top_level(data)[1][1] + 8


def test_two_truns_without_data_offset_continue_one_after_the_other() -> None:
    def split(nodes: List[Node]) -> None:
        node = find(nodes, "moof/traf/trun")
        trun = trun_rows(node)
        second = Node(b"trun")
        set_trun_rows(second, trun._replace(flags=trun.flags & ~0x1, rows=trun.rows[10:], data_offset=None))
        set_trun_rows(node, trun._replace(rows=trun.rows[:10]))
        traf = find(nodes, "moof/traf")
        assert traf.children is not None
        traf.children.append(second)

    runs = parse_fragments(edited_segment(split), 0, INIT)
    assert [len(run.sizes) for run in runs] == [10, 34]
    assert runs[1].offset == runs[0].offset + runs[0].size


def test_sample_durations_fall_back_to_the_tfhd_then_the_trex() -> None:
    init = parse_init(edited_init(lambda nodes: setattr(find(nodes, "moov/mvex/trex"), "payload", struct.pack(">IIIIII", 0, 1, 1, 512, 0, 0))))
    no_tfhd_duration = edited_segment(lambda nodes: set_tfhd(nodes, 0x020030, [324, 0x02000000]))
    assert set(parse_fragments(no_tfhd_duration, 0, init)[0].durations) == {512}
    assert set(parse_fragments(segment_bytes(), 0, init)[0].durations[:5]) == {1024}


def test_signed_composition_offsets_are_read() -> None:
    def with_cto(nodes: List[Node]) -> None:
        node = find(nodes, "moof/traf/trun")
        trun = trun_rows(node)
        rows = [row + ((-5 if i % 2 else 7),) for i, row in enumerate(trun.rows)]
        set_trun_rows(node, trun._replace(version=1, flags=trun.flags | 0x800, rows=rows), signed_cto=True)

    runs = parse_fragments(edited_segment(with_cto), 0, INIT)
    assert runs[0].composition is not None and list(runs[0].composition[:4]) == [7, -5, 7, -5]


# --------------------------------------------------------------------------- refusals


def refused(data: bytes, match: str, init: bytes = b"") -> Mp4Error:
    with pytest.raises(Mp4Error, match=match) as caught:
        parse_fragments(data, 0, parse_init(init) if init else INIT)
    assert isinstance(caught.value, DownloadError)
    return caught.value


def test_a_truncated_moof_is_refused_with_where() -> None:
    error = refused(segment_bytes()[:200], r"truncated: the box declares 276 bytes, only 200 remain \(moof at offset 0\)")
    assert "moof" in str(error)


def test_a_truncated_mdat_is_refused() -> None:
    refused(segment_bytes()[:-1], r"truncated.*mdat at offset 276")


def test_a_trun_claiming_more_samples_than_its_bytes_is_refused() -> None:
    def more(nodes: List[Node]) -> None:
        node = find(nodes, "moof/traf/trun")
        set_trun_rows(node, trun_rows(node), count=45)

    refused(edited_segment(more, fix_offset=False), r"trun claims 45 samples of 4 bytes each; the box holds 176 bytes \(moof/traf/trun at offset 80\)")


def test_a_sample_outside_the_mdat_is_refused() -> None:
    def bigger(nodes: List[Node]) -> None:
        node = find(nodes, "moof/traf/trun")
        trun = trun_rows(node)
        set_trun_rows(node, trun._replace(rows=[(trun.rows[0][0] + 10_000,)] + trun.rows[1:]))

    refused(edited_segment(bigger), r"lie outside the mdat at offset 276")
    refused(_shifted_offset(-300), r"samples \(20235 bytes at offset -16\) lie outside the mdat")
    refused(_shifted_offset(+1), r"samples \(20235 bytes at offset 285\) lie outside the mdat")


def _shifted_offset(delta: int) -> bytes:
    nodes = parse_boxes(segment_bytes())
    node = find(nodes, "moof/traf/trun")
    trun = trun_rows(node)
    set_trun_rows(node, trun._replace(data_offset=(trun.data_offset or 0) + delta))
    return serialize(nodes)


def test_a_zero_size_sample_is_refused() -> None:
    def zero(nodes: List[Node]) -> None:
        node = find(nodes, "moof/traf/trun")
        trun = trun_rows(node)
        set_trun_rows(node, trun._replace(rows=[(0,)] + trun.rows[1:]))

    refused(edited_segment(zero), r"a sample of size 0")


def test_a_trun_without_per_sample_fields_is_bounded_by_its_mdat() -> None:
    def defaults_only(count: int) -> Callable[[List[Node]], None]:
        def edit(nodes: List[Node]) -> None:
            node = find(nodes, "moof/traf/trun")
            set_trun_rows(node, trun_rows(node)._replace(flags=0x1, rows=[]), count=count)

        return edit

    # 1000 samples of the tfhd's default 324 bytes do not fit in the 20 KB mdat
    refused(edited_segment(defaults_only(1000)), r"1000 samples of 324 bytes lie outside the mdat")
    refused(edited_segment(defaults_only(MAX_SAMPLES + 1)), rf"more than {MAX_SAMPLES} samples")
    assert [len(run.sizes) for run in parse_fragments(edited_segment(defaults_only(3)), 0, INIT)] == [3]


def test_the_sample_cap_counts_across_fragments() -> None:
    data = segment_bytes(number=1) + segment_bytes(number=2)

    def read(offset: int, count: int) -> bytes:
        return data[offset : offset + count]

    assert sum(len(run.sizes) for run in iter_fragments(read, 0, len(data), INIT, max_samples=88)) == 88
    with pytest.raises(Mp4Error, match="more than"):
        list(iter_fragments(read, 0, len(data), INIT, max_samples=87))


def test_box_size_zero_inside_a_box_is_refused() -> None:
    data = bytearray(segment_bytes())
    data[60:64] = b"\x00\x00\x00\x00"  # the tfdt inside moof/traf
    refused(bytes(data), r"box size 0 inside another box.*moof/traf/tfdt at offset 60")


def test_box_size_zero_must_end_the_data() -> None:
    mdat_at = top_level(segment_bytes())[1][1]
    open_mdat = bytearray(segment_bytes())
    open_mdat[mdat_at : mdat_at + 4] = b"\x00\x00\x00\x00"
    # the last box: it extends to the end, where its samples end too
    assert [len(run.sizes) for run in parse_fragments(bytes(open_mdat), 0, INIT)] == [44]
    # in the middle, it would swallow the next segment
    refused(bytes(open_mdat) + segment_bytes(number=2), r"mdat of size 0 .* is followed by 20672 bytes no sample uses")
    # and a fetched segment may not have one at all: segments are concatenated
    with pytest.raises(Mp4Error, match=r"box size 0 .*\(mdat at offset 276\)"):
        check_segment(bytes(open_mdat), INIT)
    refused(segment_bytes() + b"\x00\x00\x00\x00free", r"box size 0 .*\(free at offset 20519\)")


def test_an_oversized_moof_is_refused_before_it_is_read() -> None:
    def padded(nodes: List[Node]) -> None:
        moof = find(nodes, "moof")
        assert moof.children is not None
        moof.children.append(Node(b"free", bytes(MAX_BOX_BYTES)))

    refused(edited_segment(padded), rf"moof of {MAX_BOX_BYTES + 276 + 8} bytes exceeds the {MAX_BOX_BYTES}-byte limit \(moof at offset 0\)")


def test_an_explicit_base_data_offset_is_refused() -> None:
    data = edited_segment(lambda nodes: set_tfhd(nodes, 0x39, [0, 1024, 324, 0x02000000]))
    refused(data, r"explicit base-data-offset in tfhd is not supported .*moof/traf/tfhd at offset 32")


def test_a_fragment_of_another_track_is_refused() -> None:
    refused(edited_segment(lambda nodes: set_tfhd(nodes, 0x020038, [1024, 324, 0x02000000], track_id=2)), r"a fragment of track 2; the init's audio track is 1")


def test_a_second_sample_description_is_refused() -> None:
    refused(edited_segment(lambda nodes: set_tfhd(nodes, 0x02003A, [2, 1024, 324, 0x02000000])), r"sample description index 2")


def test_a_missing_duration_is_refused() -> None:
    # the fixture's trex default duration is 0: without the tfhd default there is none
    refused(edited_segment(lambda nodes: set_tfhd(nodes, 0x020030, [324, 0x02000000])), r"no sample duration: none in the trun, the tfhd or the trex")


def test_a_moof_without_its_mdat_is_refused() -> None:
    moof_only = segment_bytes()[:276]
    refused(moof_only, r"moof at offset 0 has samples and no mdat follows it")
    refused(moof_only + segment_bytes(number=2), r"moof at offset 0 has samples and no mdat follows it")


@pytest.mark.parametrize("kind", [b"senc", b"saiz", b"saio"])
def test_encrypted_fragments_are_refused(kind: bytes) -> None:
    def encrypted(nodes: List[Node]) -> None:
        traf = find(nodes, "moof/traf")
        assert traf.children is not None
        traf.children.append(Node(kind, bytes(8)))

    refused(edited_segment(encrypted), rf"encrypted \({kind.decode()} box: DRM\)")


def test_an_encrypted_sample_entry_is_refused() -> None:
    data = init_bytes()
    assert data.count(b"mp4a") == 1
    with pytest.raises(Mp4Error, match=r"encrypted \(enca sample entry: DRM\).*stsd/enca at offset 413"):
        parse_init(data.replace(b"mp4a", b"enca"))


def test_a_sinf_in_the_sample_entry_is_refused() -> None:
    def protect(nodes: List[Node]) -> None:
        stsd = find(nodes, "moov/trak/mdia/minf/stbl/stsd")
        entry = parse_boxes(stsd.payload[8:])[0]
        entry.payload += box(b"sinf", box(b"frma", b"mp4a"))
        stsd.payload = stsd.payload[:8] + serialize([entry])

    with pytest.raises(Mp4Error, match=r"encrypted \(sinf box: DRM\)"):
        parse_init(edited_init(protect))


def test_an_init_without_mvex_is_refused() -> None:
    def drop(nodes: List[Node]) -> None:
        moov = find(nodes, "moov")
        assert moov.children is not None
        moov.children = [node for node in moov.children if node.kind != b"mvex"]

    with pytest.raises(Mp4Error, match=r"the moov has no mvex: this is not a fragmented MP4 init segment"):
        parse_init(edited_init(drop))


def test_an_init_with_two_audio_tracks_or_none_is_refused() -> None:
    def double(nodes: List[Node]) -> None:
        moov = find(nodes, "moov")
        assert moov.children is not None
        moov.children.insert(2, find(nodes, "moov/trak"))

    with pytest.raises(Mp4Error, match=r"the init has 2 audio \(soun\) tracks; exactly one is supported"):
        parse_init(edited_init(double))
    with pytest.raises(Mp4Error, match=r"the init has 0 audio"):
        parse_init(init_bytes().replace(b"soun", b"vide"))


def test_an_init_without_moov_or_with_media_is_refused() -> None:
    with pytest.raises(Mp4Error, match="no moov"):
        parse_init(init_bytes()[:28])
    with pytest.raises(Mp4Error, match="carries media"):
        parse_init(init_bytes() + segment_bytes())
    with pytest.raises(Mp4Error, match=r"a moov among the media segments"):
        parse_fragments(init_bytes()[28:] + segment_bytes(), 0, INIT)


def test_a_box_smaller_than_its_header_is_refused() -> None:
    with pytest.raises(Mp4Error, match=r"box size 4 is smaller than its header \(moov/mvhd at offset 36\)"):
        parse_init(init_bytes()[:36] + b"\x00\x00\x00\x04" + init_bytes()[40:])


def test_garbage_is_refused_not_crashed_on() -> None:
    # single-byte changes at every position of the init and of the first fragment's moof
    # (sizes shrunk to 0, 1, 8, 12 or 16 bytes, counts and flags changed): each either
    # parses or raises Mp4Error, never IndexError, struct.error, MemoryError...
    outcomes = {"parsed": 0, "refused": 0}
    cases: List[Tuple[bytes, Callable[[bytes], object]]] = [
        (init_bytes(), parse_init),
        (segment_bytes(), lambda data: parse_fragments(data, 0, INIT)),
    ]
    for data, parse in cases:
        for at in range(min(len(data), 800)):  # the whole init; the moof and the mdat header
            for value in (0x00, 0xFF, 0x01, 0x08, 0x0C, 0x10):
                mutated = bytearray(data)
                mutated[at] = value
                try:
                    parse(bytes(mutated))
                    outcomes["parsed"] += 1
                except Mp4Error:
                    outcomes["refused"] += 1
    assert outcomes["parsed"] > 100 and outcomes["refused"] > 100
