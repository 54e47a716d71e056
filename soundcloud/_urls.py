"""The URL checks of the client: base URLs given to it, and the ``next_href`` of a page.

Below the client (layer 3): imports only errors and the lowest layers.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ._origins import origin_of, server_url
from ._redact import redact_url
from .errors import DecodeError, InsecureRedirectError

__all__ = ["check_base_url", "next_page_url"]


def next_page_url(page_url: str, next_href: str) -> str:
    """The absolute URL of a page's ``next_href``: DecodeError when it is not a usable URL,
    InsecureRedirectError when an https page points to plain http (refused as a redirect
    would be: the next page would carry the token in the clear)."""
    next_url, invalid = server_url(page_url, next_href, "utf-8")
    if not invalid and origin_of(next_url)[0] not in ("http", "https"):
        invalid = "not an http or https URL"
    if invalid:
        raise DecodeError(
            f"the page's next_href is not a usable URL ({invalid}): {redact_url(next_url)!r}",
            method="GET",
            url=page_url,
        )
    if origin_of(page_url)[0] == "https" and origin_of(next_url)[0] == "http":
        raise InsecureRedirectError(
            f"the next_href of {redact_url(page_url)} leads from https to plain http"
            f" ({redact_url(next_url)}); refusing to downgrade"
        )
    return next_url


def check_base_url(url: str, name: str) -> str:
    """``url`` without a trailing slash, once it is known to be a bare http(s) base URL."""
    if not isinstance(url, str):
        raise TypeError(f"{name} must be a str URL, not {type(url).__name__}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{name} must be an http(s) URL like 'https://api.soundcloud.com', not {url!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"{name} must not carry a query or fragment: {redact_url(url)!r}")
    return url.rstrip("/")
