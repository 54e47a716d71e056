"""iTunes-style tags in the remuxed M4A (soundcloud.media.m4a_tags): mutagen reads every
field and the cover back; SoundCloud's user-supplied text is cleaned and capped; covers
other than JPEG and PNG, or too large, are left out rather than mislabelled.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import List, Optional

import pytest

from soundcloud.media.m4a import remux
from soundcloud.media.m4a_tags import (
    MAX_COMMENT_CHARS,
    MAX_COVER_BYTES,
    MAX_TEXT_CHARS,
    Tags,
    build_udta,
    clean_text,
    cover_type,
)
from support.audio import Node, decodable_samples, decode, find, find_all, parse_boxes, part_bytes, read_tags, tiny_png, top_level

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200) + b"\xff\xd9"

FULL = Tags(
    title="Nachtflug \U0001f680 — Ünïcödé",
    artist="DJ 東京",
    album="Mixes 2025 🎧",
    date="2025-11-15T10:00:00Z",
    genre="Drum & Bass",
    comment="https://soundcloud.com/someone/nachtflug",
    cover=JPEG,
)


def remux_with(tmp_path: Path, tags: Optional[Tags], **options: int) -> Path:
    path = tmp_path / "tagged.m4a"
    with path.open("wb") as out:
        remux(io.BytesIO(part_bytes("aac_160", 4)), out, tags, **options)
    return path


def moov(path: Path) -> List[Node]:
    _, offset, size = top_level(path)[1]
    with path.open("rb") as handle:
        handle.seek(offset)
        return parse_boxes(handle.read(size))


@pytest.mark.parametrize("co64", [False, True])
def test_mutagen_reads_every_tag_and_the_cover(tmp_path: Path, co64: bool) -> None:
    pytest.importorskip("mutagen")
    from mutagen.mp4 import MP4Cover

    path = remux_with(tmp_path, FULL, co64_threshold=1 if co64 else 2**32)
    read = read_tags(path)
    assert read.tags["\xa9nam"] == [FULL.title]
    assert read.tags["\xa9ART"] == [FULL.artist]
    assert read.tags["\xa9alb"] == [FULL.album]
    assert read.tags["\xa9day"] == [FULL.date]
    assert read.tags["\xa9gen"] == [FULL.genre]
    assert read.tags["\xa9cmt"] == [FULL.comment]
    [cover] = read.tags["covr"]
    assert bytes(cover) == JPEG and cover.imageformat == MP4Cover.FORMAT_JPEG
    assert read.length == pytest.approx(4.0232, abs=0.001)
    assert [kind for kind, _, _ in top_level(path)] == [b"ftyp", b"moov", b"mdat"]
    pytest.importorskip("av")
    assert decode(path).samples in decodable_samples("aac_160", 4)


def test_a_png_cover(tmp_path: Path) -> None:
    pytest.importorskip("mutagen")
    from mutagen.mp4 import MP4Cover

    png = tiny_png()
    [cover] = read_tags(remux_with(tmp_path, Tags(cover=png))).tags["covr"]
    assert bytes(cover) == png and cover.imageformat == MP4Cover.FORMAT_PNG


def test_the_meta_box_layout(tmp_path: Path) -> None:
    nodes = moov(remux_with(tmp_path, Tags(title="x")))
    [meta] = find_all(nodes, "moov/udta/meta")
    assert meta.payload[:4] == bytes(4)  # a FullBox: version 0, flags 0
    hdlr, ilst = parse_boxes(meta.payload[4:])
    assert hdlr.kind == b"hdlr" and hdlr.payload == bytes(8) + b"mdirappl" + bytes(8) + b"\x00"
    assert ilst.kind == b"ilst"
    [item] = parse_boxes(ilst.payload)
    assert item.kind == b"\xa9nam" and item.payload == struct.pack(">I4sII", 17, b"data", 1, 0) + b"x"
    # the udta follows the trak inside the moov
    assert [node.kind for node in find(nodes, "moov").children or []] == [b"mvhd", b"trak", b"udta"]


@pytest.mark.parametrize("tags", [None, Tags(), Tags(title="  \x00\x1b ", cover=b"GIF89a...")])
def test_no_tags_no_udta(tmp_path: Path, tags: Optional[Tags]) -> None:
    pytest.importorskip("mutagen")
    path = remux_with(tmp_path, tags)
    assert not find_all(moov(path), "moov/udta")
    assert read_tags(path).tags == {}


def test_text_is_cleaned_and_capped(tmp_path: Path) -> None:
    pytest.importorskip("mutagen")
    tags = Tags(
        title="\x1b[31mred\x1b[0m\x00 title\u0085\n",
        artist="a" * 5000,
        comment="line one\n\tline two\r\n" + "c" * 9000,
        genre="broken \ud800 surrogate",
    )
    read = read_tags(remux_with(tmp_path, tags)).tags
    assert read["\xa9nam"] == ["[31mred[0m title"]
    assert read["\xa9ART"] == ["a" * MAX_TEXT_CHARS]
    [comment] = read["\xa9cmt"]
    assert comment.startswith("line one\n\tline two\n") and len(comment) == MAX_COMMENT_CHARS
    assert read["\xa9gen"] == ["broken ? surrogate"]


def test_clean_text() -> None:
    assert clean_text("a\tb\nc\x7fd\x9fe", 100) == "abcde"
    assert clean_text("a\tb\nc", 100, multiline=True) == "a\tb\nc"
    assert clean_text("  🎵 x  ", 3) == "🎵 x"
    assert clean_text("abc   def", 5) == "abc"


def test_cover_type() -> None:
    assert cover_type(JPEG) == 13
    assert cover_type(tiny_png()) == 14
    assert cover_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") is None
    assert cover_type(b"<html>403</html>") is None
    assert cover_type(b"") is None
    assert cover_type(b"\xff\xd8\xff" + bytes(MAX_COVER_BYTES - 3)) == 13
    assert cover_type(b"\xff\xd8\xff" + bytes(MAX_COVER_BYTES - 2)) is None


def test_an_oversized_or_unknown_cover_is_skipped_and_the_rest_written() -> None:
    for cover in (b"\x89PNG" + bytes(MAX_COVER_BYTES), b"GIF89a" + bytes(100)):
        udta = build_udta(Tags(title="t", cover=cover))
        assert b"covr" not in udta and b"\xa9nam" in udta
        assert len(udta) < 200
