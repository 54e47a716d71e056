"""iTunes-style tags for the plain M4A: ``moov/udta/meta/ilst``, and the box builders.

The layout players and tag readers expect (Apple's QuickTime metadata as iTunes writes it;
the containers are ISO BMFF boxes, ISO/IEC 14496-12 8.10 ``udta`` and 8.11 ``meta``)::

    udta
      meta          FullBox, version 0, flags 0
        hdlr        handler_type 'mdir', the first reserved word 'appl', an empty name
        ilst
          ©nam      one box per item (the first byte of the type is 0xA9)
            data    type indicator (4 bytes: 1 = UTF-8, 13 = JPEG, 14 = PNG), locale 0,
                    then the value

Items: ``©nam`` title, ``©ART`` artist, ``©alb`` album, ``©day`` date, ``©gen`` genre,
``©cmt`` comment (the track's permalink) and ``covr`` the cover.

**Values come from SoundCloud's users**, so they are cleaned before they are written:

- control characters (U+0000-U+001F, U+007F-U+009F) are dropped, except tab and newline
  in the comment; leading and trailing white space is trimmed; a value left empty is not
  written;
- text is capped at :data:`MAX_TEXT_CHARS` characters (the comment at
  :data:`MAX_COMMENT_CHARS`), and encoded as UTF-8 with lone surrogates replaced;
- the cover is written only when it is a JPEG (starts FF D8 FF) or a PNG (starts
  89 50 4E 47) of at most :data:`MAX_COVER_BYTES`; anything else (WebP, GIF, an HTML error
  page, something larger) is skipped rather than mislabelled, since ``covr`` has no type
  for it.
"""

from __future__ import annotations

import struct
from typing import Dict, Final, List, NamedTuple, Optional, Tuple

__all__ = [
    "MAX_COMMENT_CHARS",
    "MAX_COVER_BYTES",
    "MAX_TEXT_CHARS",
    "Tags",
    "box",
    "build_udta",
    "clean_text",
    "cover_type",
    "full_box",
    "ilst_items",
]

MAX_TEXT_CHARS: Final = 1000
MAX_COMMENT_CHARS: Final = 4000
MAX_COVER_BYTES: Final = 10 * 1024 * 1024

# ilst "data" type indicators (Apple's well-known types).
TYPE_UTF8: Final = 1
TYPE_JPEG: Final = 13
TYPE_PNG: Final = 14

_JPEG_MAGIC: Final = b"\xff\xd8\xff"
_PNG_MAGIC: Final = b"\x89PNG"

# str.translate tables: C0 and C1 control characters (and DEL) to nothing.
_CONTROLS: Final[Dict[int, None]] = {code: None for code in [*range(0x00, 0x20), *range(0x7F, 0xA0)]}
_CONTROLS_BUT_LINES: Final[Dict[int, None]] = {code: None for code in _CONTROLS if code not in (0x09, 0x0A)}


class Tags(NamedTuple):
    """What goes into the M4A's ``ilst``: each field optional, ``cover`` a JPEG or PNG::

        Tags(title="Intro", artist="someone", comment="https://soundcloud.com/someone/intro")
    """

    title: Optional[str] = None
    artist: Optional[str] = None
    album: Optional[str] = None
    date: Optional[str] = None
    genre: Optional[str] = None
    comment: Optional[str] = None
    cover: Optional[bytes] = None


def box(kind: bytes, *parts: bytes) -> bytes:
    """An ISO BMFF box: 32-bit size, type, then the parts as payload."""
    payload = b"".join(parts)
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def full_box(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    """An ISO BMFF FullBox: a box whose payload starts with version (8 bits) and flags (24)."""
    return box(kind, struct.pack(">I", (version << 24) | flags), *parts)


def clean_text(value: str, limit: int, *, multiline: bool = False) -> str:
    """``value`` without control characters (tab and newline kept when ``multiline``),
    trimmed and cut to ``limit`` characters."""
    table = _CONTROLS_BUT_LINES if multiline else _CONTROLS
    return value.translate(table).strip()[:limit].strip()


def cover_type(data: bytes) -> Optional[int]:
    """The ``data`` type for a cover image: 13 for JPEG, 14 for PNG, None for anything else
    (or an image over :data:`MAX_COVER_BYTES`)."""
    if len(data) > MAX_COVER_BYTES:
        return None
    if data.startswith(_JPEG_MAGIC):
        return TYPE_JPEG
    if data.startswith(_PNG_MAGIC):
        return TYPE_PNG
    return None


def ilst_items(tags: Tags) -> List[Tuple[bytes, int, bytes]]:
    """The items to write, in order: (item type, data type, value bytes)."""
    texts: List[Tuple[bytes, Optional[str], int]] = [
        (b"\xa9nam", tags.title, MAX_TEXT_CHARS),
        (b"\xa9ART", tags.artist, MAX_TEXT_CHARS),
        (b"\xa9alb", tags.album, MAX_TEXT_CHARS),
        (b"\xa9day", tags.date, MAX_TEXT_CHARS),
        (b"\xa9gen", tags.genre, MAX_TEXT_CHARS),
        (b"\xa9cmt", tags.comment, MAX_COMMENT_CHARS),
    ]
    items: List[Tuple[bytes, int, bytes]] = []
    for kind, value, limit in texts:
        if value is None:
            continue
        text = clean_text(value, limit, multiline=kind == b"\xa9cmt")
        if text:
            items.append((kind, TYPE_UTF8, text.encode("utf-8", "replace")))
    if tags.cover is not None:
        kind_of_image = cover_type(tags.cover)
        if kind_of_image is not None:
            items.append((b"covr", kind_of_image, tags.cover))
    return items


def build_udta(tags: Tags) -> bytes:
    """The ``udta`` box holding ``meta``/``hdlr``/``ilst``; empty bytes when no item is left."""
    items = ilst_items(tags)
    if not items:
        return b""
    # each item: a box named after it holding one 'data' box (type indicator, locale 0, value)
    ilst = box(b"ilst", *(box(kind, box(b"data", struct.pack(">II", type_, 0), value)) for kind, type_, value in items))
    # hdlr (ISO BMFF 8.4.3): pre_defined 0, handler_type 'mdir', three reserved words of
    # which iTunes sets the first to 'appl', then an empty null-terminated name.
    hdlr = full_box(b"hdlr", 0, 0, struct.pack(">I4s4sII", 0, b"mdir", b"appl", 0, 0), b"\x00")
    return box(b"udta", full_box(b"meta", 0, 0, hdlr, ilst))
