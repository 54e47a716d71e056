"""The user's browser in login tests, played with urllib (no proxy).

- :func:`landing`: the browser on another machine (SSH, a container): it opens the authorize
  URL and ends on the fake's redirect, whose ``Location`` is the address a user would paste;
  the redirect is not followed.
- :func:`browse`: the browser on this machine: it opens a URL and follows the redirects (to
  the loopback callback, for an authorize URL), giving the status and page it ends on.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any, Tuple

__all__ = ["BROWSER_TIMEOUT", "browse", "landing"]

#: Bound on each page load, in seconds.
BROWSER_TIMEOUT = 5.0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_FOLLOWING = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_NOT_FOLLOWING = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def landing(authorize_url: str) -> str:
    """The address the browser ends on after /authorize: the redirect's Location, not followed."""
    try:
        with _NOT_FOLLOWING.open(authorize_url, timeout=BROWSER_TIMEOUT) as response:
            raise AssertionError(f"/authorize answered {response.status}, not a redirect")
    except urllib.error.HTTPError as redirect:
        with redirect:
            assert redirect.code == 302, redirect.read()
            return str(redirect.headers["Location"])


def browse(url: str) -> Tuple[int, str]:
    """GET ``url`` following redirects: (status, page) of where the browser ends."""
    try:
        with _FOLLOWING.open(url, timeout=BROWSER_TIMEOUT) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()
