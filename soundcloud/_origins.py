"""Where requests go and what they carry there: origins, URLs a server gave, header names.

The client decides from these which requests get credentials (only the API origin's) and
which URLs from a server it follows (a Location, a next_href). Lowest layer: imports
nothing from the package.
"""

from __future__ import annotations

from typing import Dict, Final, Mapping, Tuple
from urllib.parse import quote, urljoin, urlsplit

__all__ = [
    "CANONICAL_HEADERS",
    "CREDENTIAL_HEADERS",
    "URL_SAFE",
    "merge_headers",
    "origin_of",
    "server_url",
    "strip_credentials",
]

# The spelling the client uses for the headers it sets itself (lower-case name -> name).
# Header names are case-insensitive (RFC 9110 section 5.1): a caller's ``authorization`` or
# ``content-type`` is stored under this spelling, so the client's own value replaces it
# instead of going out beside it.
CANONICAL_HEADERS: Final[Dict[str, str]] = {
    "accept": "Accept",
    "authorization": "Authorization",
    "content-length": "Content-Length",
    "content-type": "Content-Type",
    "cookie": "Cookie",
    "proxy-authorization": "Proxy-Authorization",
    "transfer-encoding": "Transfer-Encoding",
    "user-agent": "User-Agent",
}
# Request headers that are credentials (lower-case): never sent on to another origin.
CREDENTIAL_HEADERS: Final = frozenset({"authorization", "cookie", "proxy-authorization"})
# What may stand unescaped in a URL sent on: printable ASCII. A Location or next_href with
# spaces or non-ASCII text is percent-encoded (as browsers do); C0 controls and DEL are
# refused (no valid URL has them, and they are what a hostile server would send).
URL_SAFE: Final = "".join(chr(code) for code in range(0x21, 0x7F))


def origin_of(url: str) -> Tuple[str, str, int]:
    """(scheme, host, port) of ``url``, lower-case, the port filled in (RFC 6454 section 4).

    ValueError for a URL that does not parse (a bad port, an unclosed IPv6 literal).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return (scheme, (parts.hostname or "").lower(), port)


def merge_headers(headers: Dict[str, str], extra: Mapping[str, str]) -> None:
    """Add the caller's ``extra`` to ``headers``, replacing any spelling of the same name."""
    for name, value in extra.items():
        lower = name.lower()
        canonical = CANONICAL_HEADERS.get(lower)
        if canonical is None:
            for key in [key for key in headers if key.lower() == lower]:
                del headers[key]
            headers[name] = value
        else:
            headers[canonical] = value


def strip_credentials(headers: Dict[str, str]) -> None:
    """Remove every credential header from ``headers``, however its name is spelled."""
    for key in [key for key in headers if key.lower() in CREDENTIAL_HEADERS]:
        del headers[key]


def server_url(base: str, reference: str, encoding: str) -> Tuple[str, str]:
    """Resolve a URL a server gave (a Location, a next_href) against ``base`` (RFC 3986
    section 5); returns the absolute URL and, when it is unusable, why ('' when usable).
    The scheme is not checked: see :func:`origin_of`.

    ``encoding`` is how non-ASCII text becomes bytes for percent-encoding: latin-1 for a
    header (http.client decoded its bytes as latin-1, so this restores them), UTF-8 for JSON.
    """
    reference = reference.strip()
    if not reference.isprintable() and any(char < " " or char == "\x7f" for char in reference):
        return reference, "it contains control characters"
    try:
        if not reference.isascii() or " " in reference:
            reference = quote(reference, safe=URL_SAFE, encoding=encoding, errors="strict")
        url = urljoin(base, reference)
        parts = urlsplit(url)
        parts.port  # raises ValueError for a port that is not a number from 0 to 65535
    except (ValueError, UnicodeError) as exc:
        return reference, str(exc) or type(exc).__name__
    # Other schemes are for the caller to refuse (a redirect to one is insecure, a next_href
    # to one undecodable); an http(s) URL needs a host.
    if parts.scheme in ("http", "https") and not parts.hostname:
        return url, "it names no host"
    return url, ""
