"""File names for downloads into a directory: made from a track's title, safe on every system.

A title is the uploader's text, so it may hold anything: path separators, ``..``, control
characters, names Windows reserves (``CON``, ``NUL``, ``COM1``), trailing dots and spaces
(which Windows drops), or a thousand characters. :func:`safe_filename` keeps what it can of
the title and gives a name that is a single path component on POSIX and Windows alike:

- ``/``, ``\\``, ``:``, ``*``, ``?``, ``"``, ``<``, ``>``, ``|`` and control characters become
  ``_`` (``/`` and NUL are the POSIX limits; the rest are Windows');
- leading dots and spaces, and trailing dots and spaces, are removed (no hidden files, no
  ``..``);
- a reserved Windows device name gets a ``_`` appended;
- the name is cut to at most ``MAX_NAME_BYTES`` bytes of UTF-8 (most file systems allow 255
  bytes per component, and the ``.part``/``.part.json``/``.tmp`` files beside the download
  need room for their suffix), never in the middle of a character;
- an empty result falls back to the track's id (``track-123``).

:func:`extension_for` names the extension of an original upload from the CDN's answer.
"""

from __future__ import annotations

import re
from typing import Final, Mapping, Optional

__all__ = ["MAX_NAME_BYTES", "ORIGINAL_EXTENSIONS", "extension_for", "safe_filename", "safe_stem"]

# 255 bytes per component (ext4, APFS, NTFS in UTF-16 units), less room for ".part.json".
MAX_NAME_BYTES: Final = 200
# The stem leaves room for a dot and an extension of up to seven bytes.
_STEM_BYTES: Final = MAX_NAME_BYTES - 8
_UNSAFE: Final = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_RESERVED: Final = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"COM{n}" for n in range(1, 10)] + [f"LPT{n}" for n in range(1, 10)]
)
# What an original upload may be (SoundCloud takes these formats), by media type.
_EXTENSIONS: Final[Mapping[str, str]] = {
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/vnd.wave": "wav",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
    "audio/aiff": "aiff",
    "audio/x-aiff": "aiff",
    "audio/ogg": "ogg",
    "audio/opus": "opus",
    "audio/mp4": "m4a",
    "audio/x-m4a": "m4a",
    "audio/aac": "aac",
    "audio/x-ms-wma": "wma",
    "audio/amr": "amr",
}
ORIGINAL_EXTENSIONS: Final = frozenset(_EXTENSIONS.values()) | {"aif", "mp2", "alac"}
_DISPOSITION_NAME: Final = re.compile(r'filename\*?=(?:UTF-8\'\'|")?([^";]+)', re.IGNORECASE)


def safe_stem(title: object, fallback: str) -> str:
    """``title`` made into a safe file name without extension (``fallback`` if nothing is left).

    >>> safe_stem('AC/DC: Live?', 'track-1')
    'AC_DC_ Live_'
    """
    text = title if isinstance(title, str) else ""
    name = _UNSAFE.sub("_", text).strip(" .")
    if name.split(".", 1)[0].upper() in _RESERVED:
        name += "_"
    encoded = name.encode("utf-8")
    if len(encoded) > _STEM_BYTES:
        # Cut at a character boundary, then tidy the end again (it may now end in a dot).
        name = encoded[:_STEM_BYTES].decode("utf-8", "ignore").rstrip(" .")
    return name or fallback


def safe_filename(title: object, extension: str, fallback: str) -> str:
    """``title`` made into a safe file name with ``.extension``.

    >>> safe_filename('AC/DC: Live?', 'm4a', 'track-1')
    'AC_DC_ Live_.m4a'
    """
    return safe_stem(title, fallback) + "." + extension


def extension_for(content_type: str, disposition: Optional[str]) -> Optional[str]:
    """The extension of an original file: from ``Content-Disposition``'s file name when it is
    a known audio one, else from the media type; None when neither says."""
    if disposition:
        match = _DISPOSITION_NAME.search(disposition)
        if match is not None:
            _, dot, extension = match.group(1).strip().rpartition(".")
            extension = extension.lower()
            if dot and extension in ORIGINAL_EXTENSIONS:
                return extension
    media_type = content_type.split(";", 1)[0].strip().lower()
    return _EXTENSIONS.get(media_type)
