"""The RFC 8252 login for scripts and command-line tools: a one-shot HTTP server on a
loopback address receives the browser's redirect, and the code is exchanged with PKCE.

It drives an :class:`~soundcloud.auth.Authenticator` through its public methods only
(:meth:`~soundcloud.auth.Authenticator.start_login`, then
:meth:`~soundcloud.auth.Authenticator.exchange_token`). Nothing else in the package imports
this module at import time (``Client.login()`` does, when called; it is left uncompiled), so
``http.server`` and ``webbrowser`` are imported only when a login actually runs.
"""

from __future__ import annotations

import html
import socket
import sys
import threading
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Final, Optional, Tuple, cast
from urllib.parse import parse_qsl, urlsplit

from .. import _log
from .._redact import redact_url
from ..errors import StateMismatchError, TimeoutError
from .authenticator import Authenticator
from .oauth import LOOPBACK_HOSTS, LOOPBACK_PATH, oauth_error_from_redirect, states_equal
from .tokens import Token

__all__ = ["loopback_login"]

# How long the loopback server's threads wait on one browser connection.
LOOPBACK_CONNECTION_TIMEOUT: Final = 10.0
LOOPBACK_POLL: Final = 0.05


class _CallbackResult:
    """What the browser brought back to the loopback redirect URI."""

    def __init__(self) -> None:
        self.params: Optional[Dict[str, str]] = None
        self.event = threading.Event()
        self.lock = threading.Lock()

    def offer(self, params: Dict[str, str]) -> bool:
        """Keep the first callback's parameters; False for any later one."""
        with self.lock:
            if self.params is not None:
                return False
            self.params = params
        return True


class _CallbackServer(ThreadingHTTPServer):
    """A one-shot HTTP server on a loopback address for the OAuth redirect (RFC 8252 7.3)."""

    daemon_threads = True

    def __init__(self, address: Tuple[str, int], path: str, family: int) -> None:
        self.address_family = family
        self.callback_path = path
        self.result = _CallbackResult()
        super().__init__(address, _CallbackHandler)


_DONE_PAGE: Final = (
    "<!doctype html><html><head><meta charset='utf-8'><title>SoundCloud login</title></head>"
    "<body style='font-family: sans-serif; margin: 3em'><h1>{title}</h1><p>{text}</p></body></html>"
)


class _CallbackHandler(BaseHTTPRequestHandler):
    """Answers the browser's redirect and hands the query to the waiting login."""

    timeout = LOOPBACK_CONNECTION_TIMEOUT
    server_version = "soundcloud-login"
    sys_version = ""

    def do_GET(self) -> None:
        server = cast(_CallbackServer, self.server)
        split = urlsplit(self.path)
        if split.path != server.callback_path:
            self._page(404, "Not found", "This is not the login callback.")
            return
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        result = server.result
        if "code" not in params and "error" not in params:
            self._page(400, "Login incomplete", "The redirect carried no authorization code.")
            return
        if not result.offer(params):
            self._page(200, "Already done", "The login was already completed. You can close this window.")
            return
        if "error" in params:
            self._page(200, "Login refused", "SoundCloud did not authorize the application. You can close this window.")
        else:
            self._page(200, "Login complete", "You can close this window and return to the application.")
        result.event.set()

    def _page(self, status: int, title: str, text: str) -> None:
        body = _DONE_PAGE.format(title=html.escape(title), text=html.escape(text)).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # The default writes the request line, code and state included, to stderr.
        _log.debug("login callback: %s %s", self.command, urlsplit(self.path).path)


def _loopback_target(redirect_uri: Optional[str], port: int) -> Tuple[str, str, int, str, int]:
    """(host as written in the URI, bind address, bind port, path, address family)."""
    if port < 0 or port > 65535:
        raise ValueError(f"port must be 0 (any free port) to 65535, not {port}")
    if redirect_uri is None:
        return "127.0.0.1", "127.0.0.1", port, LOOPBACK_PATH, socket.AF_INET
    parts = urlsplit(redirect_uri)
    host = parts.hostname or ""
    if parts.scheme.lower() != "http" or host not in LOOPBACK_HOSTS:
        raise ValueError(
            "login() receives the redirect on this machine: the redirect_uri must be"
            f" http://127.0.0.1:<port>/<path> (or [::1] or localhost), not {redact_url(redirect_uri)!r};"
            " register such a URI for your app, or build the Client without redirect_uri"
        )
    configured = parts.port or 0
    if configured and port and configured != port:
        raise ValueError(f"port={port} differs from the redirect_uri's port {configured}")
    bind_port = configured or port
    path = parts.path or "/"
    if parts.query:
        raise ValueError("a loopback redirect_uri for login() must not carry a query")
    if host == "::1":
        return "[::1]", "::1", bind_port, path, socket.AF_INET6
    # localhost is served on 127.0.0.1 (RFC 8252 8.3 prefers the IP literal).
    return host, "127.0.0.1", bind_port, path, socket.AF_INET


def _open_in_browser(url: str) -> None:
    print(
        "Opening SoundCloud in your browser to log in. If it does not open, visit:\n  " + url,
        file=sys.stderr,
    )
    webbrowser.open(url)


def loopback_login(
    auth: Authenticator,
    *,
    port: int = 0,
    open_browser: Optional[Callable[[str], Any]] = None,
    timeout: float = 300.0,
) -> Token:
    """Log in through the browser with a loopback redirect (RFC 8252) and return the Token.

    Listens on 127.0.0.1 (or the loopback host of the client's ``redirect_uri``): on the
    redirect_uri's port when it has one, else on ``port`` (0: any free port, which SoundCloud
    accepts for loopback URIs registered without one, RFC 8252 7.3). Without a configured
    redirect_uri the URI is ``http://127.0.0.1:<port>/callback``. Opens the authorization
    page with ``open_browser(url)`` (default: :func:`webbrowser.open`, printing the URL too),
    waits up to ``timeout`` seconds for the redirect, checks its ``state``, and exchanges
    the code with a fresh PKCE verifier::

        client = soundcloud.Client(client_id=ID)
        token = client.login()
    """
    if timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    uri_host, bind_host, bind_port, path, family = _loopback_target(auth.redirect_uri, port)
    server = _CallbackServer((bind_host, bind_port), path, family)
    stop = threading.Event()
    thread: Optional[threading.Thread] = None
    try:
        actual_port = int(server.server_address[1])
        redirect_uri = f"http://{uri_host}:{actual_port}{path}"
        # A new login: a fresh verifier and state, whatever happened before.
        url, state = auth.start_login(redirect_uri)
        server.timeout = LOOPBACK_POLL
        thread = threading.Thread(target=_serve, args=(server, stop), name="soundcloud-login", daemon=True)
        thread.start()
        _log.debug("login: waiting for the redirect on %s", redirect_uri)
        (open_browser or _open_in_browser)(url)
        if not server.result.event.wait(timeout):
            raise TimeoutError(
                f"no login redirect arrived at {redirect_uri} within {timeout:g} s: finish the login"
                " in the browser sooner, or pass a longer timeout"
            )
        params = server.result.params or {}
    finally:
        stop.set()
        if thread is not None:
            thread.join(LOOPBACK_CONNECTION_TIMEOUT)
        server.server_close()
    error = params.get("error")
    returned_state = params.get("state")
    # An error redirect may come without a state (RFC 6749 4.1.2.1 echoes it when one was
    # sent); a code never does.
    if (returned_state is not None or error is None) and not states_equal(returned_state or "", state):
        raise StateMismatchError(
            "the state in the login redirect does not match this login's (a forged or stale"
            " redirect): try again"
        )
    if error is not None:
        raise oauth_error_from_redirect(error, params.get("error_description") or "")
    return auth.exchange_token(params.get("code") or "", returned_state, redirect_uri=redirect_uri)


def _serve(server: _CallbackServer, stop: threading.Event) -> None:
    while not stop.is_set():
        server.handle_request()
