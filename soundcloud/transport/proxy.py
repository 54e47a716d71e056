"""Forward proxies: explicit ones, the ``*_PROXY`` environment variables and ``NO_PROXY``.

Plain HTTP goes to the proxy in absolute form (RFC 9112 section 3.2.2); HTTPS goes through
a CONNECT tunnel (:func:`~soundcloud.transport.connection._open_tunnel`). Credentials in a
proxy URL become a ``Proxy-Authorization: Basic`` header and never appear in ``Proxy.url``.

- **Only http:// proxies.** The connection to the proxy itself is plain TCP. An
  ``https://`` proxy URL asks for TLS to the proxy, which is not spoken here (to an https
  origin it would take TLS inside TLS); using it as plain TCP would send the proxy password
  and, for http origins, the token in clear. So it is refused before anything connects: a
  ``ValueError`` from ``proxies=``, and one naming the variable when it came from the
  environment.
- **httpoxy** (CVE-2016-5385): under CGI (``REQUEST_METHOD`` set) a client's ``Proxy:``
  request header reaches the script as ``HTTP_PROXY``, so the upper-case variable is ignored
  there, as CPython's urllib does; the lower-case ``http_proxy`` still applies.
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
        if parts.scheme == "https":
            raise ValueError(
                f"{redact_url(url)!r}: https:// proxies are not supported (TLS to the proxy is not"
                " spoken, and plain TCP would send the proxy password in clear); use the proxy's"
                " http:// URL (https requests still go through it in an encrypted CONNECT tunnel)"
            )
        if parts.scheme != "http":
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
        self.port = port if port is not None else 8080
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
    """The proxies and NO_PROXY entries of the environment (lower-case names first).

    A proxy URL that cannot be used raises a ValueError naming its variable.
    """
    # httpoxy: under CGI, HTTP_PROXY may come from the client's "Proxy:" header; only a
    # variable named in lower case counts there (os.environ folds case on Windows, where
    # its keys list in upper case, so none does).
    cgi = "REQUEST_METHOD" in os.environ
    result: Dict[str, Proxy] = {}
    for scheme in ("http", "https", "all"):
        name = f"{scheme}_proxy"
        if cgi and scheme == "http":
            value = os.environ.get(name) if name in list(os.environ) else None
        else:
            value = os.environ.get(name)
            if not value:
                name = name.upper()
                value = os.environ.get(name)
        if value:
            try:
                result[scheme] = Proxy(value)
            except ValueError as exc:
                raise ValueError(f"{name} in the environment: {exc}") from None
    no_proxy = os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or ""
    return result, [h.strip().lower() for h in no_proxy.split(",") if h.strip()]


def _bypassed(host: str, no_proxy: List[str]) -> bool:
    host = host.lower()
    for entry in no_proxy:
        if entry == "*":
            return True
        entry = entry.lstrip(".")
        if host == entry or host.endswith("." + entry):
            return True
    return False
