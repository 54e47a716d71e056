"""Decoding untrusted JSON without RecursionError escaping, and the nesting bound every walk obeys.

Bodies and token files come from the network or the disk, so a document may be nested
200,000 levels deep. json's scanner recurses once per level: CPython's C scanner (and the
pure-Python fallback) stop at the interpreter's recursion limit with RecursionError,
which :func:`loads` turns into a ValueError like any other undecodable document.

Decoded data is read lazily (soundcloud.resources), so the documents that do decode are
never walked whole on the request path. The few walks of decoded data (redacting a repr)
are bounded by :data:`MAX_NESTING` explicitly: compiled (mypyc) code cannot raise
RecursionError, a deep enough recursion there crashes the interpreter (the reason
tomli bounds its own recursion with MAX_INLINE_NESTING).

Lowest layer: imports nothing from the package; json itself is imported on first use
(``import soundcloud`` must not load it).
"""

from __future__ import annotations

from typing import Any, Final, Union

__all__ = ["MAX_NESTING", "loads"]

# How deep a walk of decoded JSON goes before it stops. SoundCloud's answers nest about 5
# levels (collection > track > user > ...); 64 leaves room and keeps any walk far from both
# the interpreter's recursion limit and the C stack.
MAX_NESTING: Final = 64


def loads(data: Union[bytes, bytearray, str]) -> Any:
    """Decode one JSON document (bytes in UTF-8, -16 or -32, or str).

    Raises ValueError for anything that is not JSON, including a document nested deeper
    than the decoder can follow (never RecursionError). The message names what is wrong,
    never the document's content (it may hold a token).
    """
    import json

    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply to decode") from None
    except UnicodeDecodeError as exc:  # before JSONDecodeError, which passes through as it is
        # The default message quotes the undecodable bytes: say where, not what.
        raise ValueError(f"JSON is not valid {exc.encoding} (at byte {exc.start})") from None
