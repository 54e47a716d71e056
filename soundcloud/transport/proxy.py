"""Forward proxies: explicit ones, the ``*_PROXY`` environment variables and ``NO_PROXY``.

Plain HTTP goes to the proxy in absolute form (RFC 9112 section 3.2.2); HTTPS goes through
a CONNECT tunnel (:func:`~soundcloud.transport.connection._open_tunnel`). Credentials in a
proxy URL become a ``Proxy-Authorization: Basic`` header and never appear in ``Proxy.url``.
"""

from __future__ import annotations

import base64
import os
from typing import Dict, List, Mapping, Optional, Tuple
from urllib.parse import unquote, urlsplit

from .._redact import redact_url

__all__ = ["Proxy", "_bypassed", "_environment_proxies", "normalize_proxies"]


class Proxy:
    """A forward proxy: plain HTTP goes to it in absolute form, HTTPS through a CONNECT tunnel."""

    __slots__ = ("url", "host", "port", "authorization")

    def __init__(self, url: str) -> None:
        if "://" not in url:
            url = "http://" + url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(
                f"unsupported proxy scheme {parts.scheme!r} in {redact_url(url)!r}: use an http:// proxy"
            )
        if not parts.hostname:
            raise ValueError(f"the proxy URL {redact_url(url)!r} has no host")
        self.host = parts.hostname
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"the proxy URL {redact_url(url)!r} has an invalid port") from None
        self.port = port if port is not None else (443 if parts.scheme == "https" else 8080)
        self.authorization: Optional[str] = None
        if parts.username is not None:
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self.authorization = "Basic " + base64.b64encode(credentials.encode()).decode("ascii")
        # The URL without credentials: used as a pool key and shown in messages.
        self.url = f"http://{self.host}:{self.port}"


def normalize_proxies(proxies: Optional[Mapping[str, str]]) -> Dict[str, Proxy]:
    """Parse ``{'http': 'host:port', 'https': 'http://user:pw@proxy:3128'}`` (scheme optional)."""
    result: Dict[str, Proxy] = {}
    if not proxies:
        return result
    for scheme, url in proxies.items():
        if scheme not in ("http", "https", "all"):
            raise ValueError(f"proxies keys are 'http', 'https' or 'all', not {scheme!r}")
        if url:
            result[scheme] = Proxy(url)
    return result


def _environment_proxies() -> Tuple[Dict[str, Proxy], List[str]]:
    found: Dict[str, str] = {}
    for scheme in ("http", "https", "all"):
        value = os.environ.get(f"{scheme}_proxy") or os.environ.get(f"{scheme.upper()}_PROXY")
        if value:
            found[scheme] = value
    no_proxy = os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or ""
    return normalize_proxies(found), [h.strip().lower() for h in no_proxy.split(",") if h.strip()]


def _bypassed(host: str, no_proxy: List[str]) -> bool:
    host = host.lower()
    for entry in no_proxy:
        if entry == "*":
            return True
        entry = entry.lstrip(".")
        if host == entry or host.endswith("." + entry):
            return True
    return False
