"""The client side: helpers of the client's tests (``tests/client/``, ``tests/unit/``).

- :class:`ScriptedAuthServer`, the ``TIMEOUT`` and ``UNRESERVED`` constants and the
  client-side helpers (:func:`make_client`, :func:`logged_in`, :func:`authorize`,
  :func:`client_for`, ...) with the fixtures a test module imports along with them
  (:func:`close_opened` closes what they opened; ``tests/client/conftest.py`` calls it after
  each test), shared by the client's tests (``tests/client/``).

They import ``soundcloud`` when called, never at module level. A test module imports the
fixtures it needs from here with the helpers (pytest registers a fixture in the module that
imports it): :func:`close_opened` closes, after each test, what :func:`make_client` /
:func:`client_for` and their kin opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Tuple
from urllib.parse import parse_qsl, urlsplit

from .browser import landing
from .request_server import FaultContext, RequestServer

if TYPE_CHECKING:
    import soundcloud
    from soundcloud.transport import HTTPTransport

__all__ = [
    "ScriptedAuthServer",
    "TIMEOUT",
    "UNRESERVED",
    "authorize",
    "client_for",
    "close_opened",
    "form_of",
    "last",
    "logged_in",
    "make_client",
    "opened",
    "token_requests",
    "transport",
    "user_client",
]

#: The client timeout of the client's tests, in seconds.
TIMEOUT = 5.0

#: RFC 3986 unreserved characters: all a PKCE code verifier or a state may contain.
UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

#: Clients and transports made by :func:`make_client` and :func:`transport`.
_open: List[Any] = []

#: Clients made by :func:`client_for` and :func:`opened`.
_open_clients: List[soundcloud.Client] = []


def close_opened() -> None:
    """Close every client and transport the helpers below opened (after each client test)."""
    while _open:
        _open.pop().close()
    while _open_clients:
        _open_clients.pop().close()


class ScriptedAuthServer(RequestServer):
    """An authorization server that answers every request with one fixed response, then
    closes the connection. ``requests`` records what it received."""

    kind = "auth"

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        super().__init__()
        self.status = status
        self.body = body
        self.content_type = content_type

    def answer(self, ctx: FaultContext) -> bool:
        return ctx.respond(self.status, self.body, [("Content-Type", self.content_type)], keep_alive=False)


def transport() -> HTTPTransport:
    from soundcloud.transport import HTTPTransport

    made = HTTPTransport()
    _open.append(made)
    return made


def make_client(fake: Any, **kwargs: Any) -> soundcloud.Client:
    """A client of ``fake``, closed after the test (its transport too, even when it fails)."""
    import soundcloud

    kwargs.setdefault("client_id", fake.client_id)
    kwargs.setdefault("api_url", fake.api_url)
    kwargs.setdefault("auth_url", fake.auth_url)
    kwargs.setdefault("timeout", TIMEOUT)
    kwargs.setdefault("transport", transport())
    client = soundcloud.Client(**kwargs)
    _open.append(client)
    return client


def authorize(url: str) -> Tuple[str, str]:
    """Play the browser at the fake's /authorize; return the code and state it redirects with."""
    query = dict(parse_qsl(urlsplit(landing(url)).query))
    assert "error" not in query, query
    return query["code"], query["state"]


def logged_in(fake: Any, **kwargs: Any) -> soundcloud.Client:
    """A client that went through authorize and exchange (the README flow)."""
    kwargs.setdefault("redirect_uri", fake.redirect_uri)
    client = make_client(fake, **kwargs)
    code, state = authorize(client.authorize_url())
    client.exchange_token(code, state=state)
    return client


def form_of(request: Any) -> Dict[str, str]:
    return dict(parse_qsl(request.body.decode("ascii"), keep_blank_values=True))


def token_requests(fake: Any) -> List[Any]:
    return [r for r in fake.requests_to("auth") if r.path == "/oauth/token"]


def client_for(fake: Any, **kwargs: Any) -> soundcloud.Client:
    import soundcloud

    kwargs.setdefault("api_url", fake.api_url)
    kwargs.setdefault("auth_url", fake.auth_url)
    kwargs.setdefault("timeout", TIMEOUT)
    return opened(soundcloud.Client(**kwargs))


def opened(client: soundcloud.Client) -> soundcloud.Client:
    """Close ``client`` after the test (its pooled sockets would warn otherwise)."""
    _open_clients.append(client)
    return client


def user_client(fake: Any, **kwargs: Any) -> soundcloud.Client:
    return client_for(fake, access_token=fake.issue_token(), **kwargs)


def last(fake: Any, server: str = "api") -> Any:
    return [r for r in fake.requests if r.server == server][-1]
