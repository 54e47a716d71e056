"""The one secrets policy: which names are secret, and how URLs, text and JSON are redacted.

Errors, log lines, reprs and the command line all go through these functions, so one list
decides what is never shown; :func:`printable` decides how server text is shown at all.
Lowest layer: imports nothing from the package but the nesting bound of ``_json``.
"""

from __future__ import annotations

from typing import Any, Dict, Final, Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ._json import MAX_NESTING

__all__ = [
    "REDACTED",
    "SECRET_HEADERS",
    "SECRET_NAMES",
    "TOO_DEEP",
    "printable",
    "redact_json",
    "redact_text",
    "redact_url",
]

REDACTED: Final = "[redacted]"

# Query parameters, form fields and JSON keys whose values are credentials. ``code`` is the
# single-use authorization code (RFC 6749 4.1.2); ``oauth_token`` is the name SoundCloud's
# first API used for the access token in query strings. ``Policy``, ``Signature`` and
# ``Key-Pair-Id`` sign CloudFront URLs, as SoundCloud's stream and segment URLs are: with them a
# URL plays until it expires, so they are not shown either (names as CloudFront spells them).
SECRET_NAMES: Final = frozenset(
    {
        "access_token",
        "oauth_token",
        "refresh_token",
        "client_secret",
        "code",
        "code_verifier",
        "password",
        "Policy",
        "Signature",
        "Key-Pair-Id",
    }
)

# Header names (lower-case) whose values are credentials.
SECRET_HEADERS: Final = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})

# What a redacted copy shows instead of JSON nested deeper than MAX_NESTING.
TOO_DEEP: Final = "..."

# Characters a terminal or a log acts on instead of showing: C0 controls (ESC starts the
# ANSI/OSC sequences that recolour, retitle or, with OSC 52, write the clipboard; CR and LF
# forge lines), DEL, C1 controls (0x9b is a one-byte CSI, 0x85 a line break), the Unicode
# line and paragraph separators, and the bidirectional overrides and isolates that reorder
# what is shown (CVE-2021-42574).
_ESCAPES: Final[Dict[int, str]] = {
    code: (f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")
    for code in [
        *range(0x00, 0x20),
        *range(0x7F, 0xA0),
        0x200E,
        0x200F,
        0x2028,
        0x2029,
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    ]
}


def redact_url(url: str) -> str:
    """Return ``url`` with user info and secret query parameters replaced."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if "@" in netloc:
        netloc = REDACTED + "@" + netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key in SECRET_NAMES for key, _ in pairs):
            query = urlencode(
                [(key, REDACTED if key in SECRET_NAMES else value) for key, value in pairs],
                safe="[]",
            )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """Return ``text`` with every occurrence of each non-empty value in ``secrets`` replaced."""
    for value in secrets:
        if value:
            text = text.replace(value, REDACTED)
    return text


def printable(text: str) -> str:
    """``text`` with every control character escaped (``\\x1b``), safe to print or log.

    Server text (reason phrases, error messages, URLs from a Location) goes through this
    before it reaches a message: it may carry terminal escape sequences.
    """
    if text.isprintable():  # the common case: one C-level scan, no copy
        return text
    return text.translate(_ESCAPES)


def redact_json(data: Any) -> Any:
    """A copy of decoded JSON with the string values of secret keys replaced (for reprs).

    Only strings are secrets: SoundCloud's error bodies carry a numeric ``code`` (the HTTP
    status), which stays visible, while an authorization ``code`` is a string. Objects and
    arrays nested deeper than MAX_NESTING show as ``'...'``: the walk is bounded, as compiled
    code cannot raise RecursionError (it would crash).
    """
    return _redact_json(data, 0)


def _redact_json(data: Any, depth: int) -> Any:
    if isinstance(data, dict):
        if depth >= MAX_NESTING:
            return TOO_DEEP
        return {
            key: (
                REDACTED
                if key in SECRET_NAMES and isinstance(value, str) and value
                else _redact_json(value, depth + 1)
            )
            for key, value in data.items()
        }
    if isinstance(data, list):
        if depth >= MAX_NESTING:
            return TOO_DEEP
        return [_redact_json(item, depth + 1) for item in data]
    return data
