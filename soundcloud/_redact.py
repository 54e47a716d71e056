"""The one secrets policy: which names are secret, and how URLs, text and JSON are redacted.

Errors, log lines, reprs and the command line all go through these functions, so one list
decides what is never shown. Lowest layer: imports nothing from the package.
"""

from __future__ import annotations

from typing import Any, Final, Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "SECRET_HEADERS",
    "SECRET_NAMES",
    "redact_json",
    "redact_text",
    "redact_url",
]

REDACTED: Final = "[redacted]"

# Query parameters, form fields and JSON keys whose values are credentials. ``code`` is the
# single-use authorization code (RFC 6749 4.1.2); ``oauth_token`` is the name SoundCloud's
# first API used for the access token in query strings.
SECRET_NAMES: Final = frozenset(
    {
        "access_token",
        "oauth_token",
        "refresh_token",
        "client_secret",
        "code",
        "code_verifier",
        "password",
    }
)

# Header names (lower-case) whose values are credentials.
SECRET_HEADERS: Final = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


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


def redact_json(data: Any) -> Any:
    """A copy of decoded JSON with the string values of secret keys replaced (for reprs).

    Only strings are secrets: SoundCloud's error bodies carry a numeric ``code`` (the HTTP
    status), which stays visible, while an authorization ``code`` is a string.
    """
    if isinstance(data, dict):
        return {
            key: (REDACTED if key in SECRET_NAMES and isinstance(value, str) and value else redact_json(value))
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [redact_json(item) for item in data]
    return data
