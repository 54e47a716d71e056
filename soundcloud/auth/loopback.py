"""The RFC 8252 login for scripts and command-line tools: a one-shot HTTP server on a
loopback address receives the browser's redirect, and the code is exchanged with PKCE.

It drives an :class:`~soundcloud.auth.Authenticator` through its public methods only
(:meth:`~soundcloud.auth.Authenticator.start_login`, then
:meth:`~soundcloud.auth.Authenticator.exchange_token`). Nothing else in the package imports
this module at import time (``Client.login()`` does, when called; it is left uncompiled), so
``http.server`` and ``webbrowser`` are imported only when a login actually runs.

Anything on this machine can connect to the callback port while the login waits: a page
in the browser, another program. So the server trusts nothing but a redirect carrying this
login's ``state``: other redirects get a 400 and the login keeps waiting (a forged one can
neither end it nor slip in its own code), garbage gets a plain 4xx and never a traceback,
and a ``localhost`` redirect URI holds the port on both loopback families.

Headless (``open_browser=False``: over SSH, in a container), the browser may run on another
machine and its redirect never reach this one. The login then prints the URL, keeps
listening, and also reads the address the browser ended on, pasted by the user
(:mod:`soundcloud.auth.paste`): whichever brings this login's ``state`` first completes it.
A pasted line gets the same distrust as a callback: anything but this login's redirect is
explained in one line and the login waits on.
"""

from __future__ import annotations

import errno
import html
import os
import socket
import sys
import threading
import webbrowser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any, Callable, Dict, Final, List, Optional, Sequence, Tuple, Union, cast
from urllib.parse import parse_qsl, urlsplit

from .. import _log
from .._redact import redact_url
from ..errors import StateMismatchError, TimeoutError
from .authenticator import Authenticator
from .oauth import LOOPBACK_HOSTS, LOOPBACK_PATH, oauth_error_from_redirect, parse_callback_url, states_equal
from .paste import MAX_PASTED_LINE, PastedLines
from .tokens import Token

__all__ = ["loopback_login"]

# How long the loopback server's threads wait on one browser connection.
LOOPBACK_CONNECTION_TIMEOUT: Final = 10.0
LOOPBACK_POLL: Final = 0.05
# Free ports tried for a localhost login whose port is taken on ::1 by another program.
BIND_ATTEMPTS: Final = 16
# The name of the threads that answer the callback server's connections.
CONNECTION_THREAD: Final = "soundcloud-login-callback"
# Binding ::1 fails with these where the machine has no IPv6 loopback; then no program can
# listen there, and no browser connect there, either.
NO_IPV6_LOOPBACK: Final = frozenset({errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT})


class _Callback:
    """This login's callback: its path and state, and what the browser brought back."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.state = ""  # set before the server starts answering; "" matches nothing
        self.params: Optional[Dict[str, str]] = None
        self.event = threading.Event()
        self.lock = threading.Lock()

    def offer(self, params: Dict[str, str]) -> bool:
        """Keep the first matching callback's parameters; False for any later one."""
        with self.lock:
            if self.params is not None:
                return False
            self.params = params
        return True


class _CallbackServer(ThreadingHTTPServer):
    """A one-shot HTTP server on a loopback address for the OAuth redirect (RFC 8252 7.3)."""

    daemon_threads = True
    # On POSIX, SO_REUSEADDR lets a fixed port be bound again while an earlier login's
    # connection is in TIME_WAIT and never lets a second socket listen on it; on Windows it
    # lets any program bind the port over ours, so there SO_EXCLUSIVEADDRUSE instead.
    allow_reuse_address = os.name != "nt"

    def __init__(self, address: Tuple[str, int], callback: _Callback, family: int) -> None:
        self.address_family = family
        self.callback = callback
        super().__init__(address, _CallbackHandler)

    def server_bind(self) -> None:
        exclusive = getattr(socket, "SO_EXCLUSIVEADDRUSE", None)
        if exclusive is not None:
            self.socket.setsockopt(socket.SOL_SOCKET, exclusive, 1)
        super().server_bind()

    def process_request(self, request: Any, client_address: Any) -> None:
        # ThreadingMixIn's, with the threads named: daemons, never joined (a browser may
        # keep an idle connection open; the login does not wait for it).
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=CONNECTION_THREAD,
            daemon=True,
        )
        thread.start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback on stderr: a client that resets or sends garbage
        # is not the user's problem.
        error = sys.exc_info()[1]
        _log.debug("login callback: connection failed: %s", type(error).__name__)


_DONE_PAGE: Final = (
    "<!doctype html><html><head><meta charset='utf-8'><title>SoundCloud login</title></head>"
    "<body style='font-family: sans-serif; margin: 3em'><h1>{title}</h1><p>{text}</p></body></html>"
)
_NOT_FOR_US: Final = (
    "This is the login callback of a program on this computer; it only takes the login redirect."
)
_CLOSE: Final = "You can close this window."


class _CallbackHandler(BaseHTTPRequestHandler):
    """Answers the browser's redirect and hands the query to the waiting login."""

    timeout = LOOPBACK_CONNECTION_TIMEOUT
    server_version = "soundcloud-login"
    # Every answer has a status line and headers: nothing speaks HTTP/0.9 to a login
    # callback, and a bare body would be an answer no client can read as an error.
    default_request_version = "HTTP/1.0"

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if self.command != "GET":
            # The redirect is a GET (RFC 6749 4.1.2); anything else is not the browser's.
            self._page(HTTPStatus.METHOD_NOT_ALLOWED, "Method not allowed", _NOT_FOR_US, (("Allow", "GET"),))
            return False
        return True

    def do_GET(self) -> None:
        callback = cast(_CallbackServer, self.server).callback
        # The request target of a redirect is origin-form, path?query (RFC 9112 3.2.1); it
        # is split by hand because urlsplit raises on garbage such as "//[".
        target = self.path.partition("#")[0]
        path, _, query = target.partition("?")
        if path != callback.path:
            self._page(HTTPStatus.NOT_FOUND, "Not found", "This is not the login callback.")
            return
        params = dict(parse_qsl(query, keep_blank_values=True))
        if "code" not in params and "error" not in params:
            self._page(HTTPStatus.BAD_REQUEST, "Login incomplete", "The redirect carried no code.")
            return
        # Only a redirect with this login's state answers it (RFC 6749 10.12): any page or
        # program on this machine can send one with a code of its own, or an error to end
        # the login, before the user is done. Those are refused and the login waits on; an
        # error counts only with the state too (SoundCloud echoes it, RFC 6749 4.1.2.1).
        if not states_equal(params.get("state", ""), callback.state):
            self._page(HTTPStatus.BAD_REQUEST, "Not this login", "This redirect is not the login's.")
            return
        if not callback.offer(params):
            self._page(HTTPStatus.OK, "Already done", "The login was already completed. " + _CLOSE)
            return
        if "error" in params:
            refused = "SoundCloud did not authorize the application. "
            self._page(HTTPStatus.OK, "Login refused", refused + _CLOSE)
        else:
            self._page(HTTPStatus.OK, "Login complete", _CLOSE + " Return to the application.")
        callback.event.set()

    def send_error(self, code: int, message: Optional[str] = None, explain: Optional[str] = None) -> None:
        # The default repeats the bad request line in the status line and the page: only
        # the standard phrase here.
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        self._page(code, phrase, _NOT_FOR_US)

    def _page(self, status: int, title: str, text: str, headers: Sequence[Tuple[str, str]] = ()) -> None:
        body = _DONE_PAGE.format(title=html.escape(title), text=html.escape(text)).encode("utf-8")
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # The default writes the request line, code and state included, to stderr. Called
        # for bad requests too, before the method or path are known.
        path = str(getattr(self, "path", "")).partition("?")[0]
        _log.debug("login callback: %s %r", getattr(self, "command", None) or "-", path[:200])


# Where a login listens: (address, family) pairs, all on the same port.
_Binds = Tuple[Tuple[str, int], ...]
_IPV4: Final = ("127.0.0.1", socket.AF_INET)
_IPV6: Final = ("::1", socket.AF_INET6)


def _loopback_target(redirect_uri: Optional[str], port: int) -> Tuple[str, _Binds, int, str]:
    """(host as written in the URI, where to listen, the port, the path)."""
    if port < 0 or port > 65535:
        raise ValueError(f"port must be 0 (any free port) to 65535, not {port}")
    if redirect_uri is None:
        return "127.0.0.1", (_IPV4,), port, LOOPBACK_PATH
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
        return "[::1]", (_IPV6,), bind_port, path
    if host == "localhost":
        # The browser may resolve localhost to either address (RFC 8252 8.3): listening on
        # one only would let another program take the other and receive the code.
        return host, (_IPV4, _IPV6), bind_port, path
    return host, (_IPV4,), bind_port, path


def _listen(binds: _Binds, port: int, callback: _Callback) -> List[_CallbackServer]:
    """One server per address, all on one port: ``port``, or for 0 a port free on all."""
    for _ in range(BIND_ATTEMPTS):
        servers: List[_CallbackServer] = []
        try:
            for host, family in binds:
                chosen = int(servers[0].server_address[1]) if servers else port
                try:
                    servers.append(_CallbackServer((host, chosen), callback, family))
                except OSError as exc:
                    if servers and exc.errno in NO_IPV6_LOOPBACK:
                        continue  # no ::1 here: localhost can only be 127.0.0.1
                    if servers and port == 0 and exc.errno == errno.EADDRINUSE:
                        break  # the free port of 127.0.0.1 is taken on ::1: try another
                    shown = f"[{host}]" if family == socket.AF_INET6 else host
                    raise OSError(
                        exc.errno,
                        f"cannot listen on {shown}:{chosen} for the login redirect ({exc.strerror or exc}):"
                        " another program may hold that port; close it, or choose another port",
                    ) from None
            else:
                return servers
        except BaseException:
            for server in servers:
                server.server_close()
            raise
        for server in servers:
            server.server_close()
    raise OSError(errno.EADDRINUSE, f"found no port free on both 127.0.0.1 and ::1 in {BIND_ATTEMPTS} tries")


class _Say:
    """Prints the login's lines for the user on ``stream`` (nowhere when it is None)."""

    def __init__(self, stream: Optional[IO[str]]) -> None:
        self.stream = stream

    def __call__(self, text: str) -> None:
        if self.stream is None:
            return  # pythonw: no stderr
        self.stream.write(text + "\n")
        self.stream.flush()


class _PasteCheck:
    """Decides, for each pasted line, whether it is this login's redirect; explains when not."""

    def __init__(self, callback: _Callback, redirect_uri: str, say: _Say) -> None:
        self.callback = callback
        self.redirect_uri = redirect_uri
        self.say = say

    def line(self, line: str) -> bool:
        text = line.strip()
        if not text:
            return False  # Enter pressed on its own
        try:
            params = parse_callback_url(text, self.redirect_uri)
        except ValueError as exc:
            message = str(exc)  # says what to paste; never shows what was pasted
            self.say(message[:1].upper() + message[1:] + ".")
            return False
        # The same distrust as a callback (RFC 6749 10.12): only this login's state answers,
        # an error redirect too; anything else is explained and the login waits on.
        if not states_equal(params.get("state", ""), self.callback.state):
            self.say(
                "That address is not from this login (its state is missing or different): paste"
                " the address the browser ended on after the URL above."
            )
            return False
        if self.callback.offer(params):
            self.callback.event.set()
        return True

    def too_long(self) -> None:
        self.say(
            f"That line is over {MAX_PASTED_LINE} bytes, too long for a login redirect, and was"
            " ignored: paste the address the browser ended on after you approved."
        )


def _open_in_browser(url: str, say: _Say) -> None:
    say("Opening SoundCloud in your browser to log in. If it does not open, visit:\n  " + url)
    webbrowser.open(url)


def _print_paste_instructions(url: str, redirect_uri: str, say: _Say) -> None:
    # The URL carries no secret (PKCE sends only the challenge): it may be shown. On a line
    # of its own, to copy it whole.
    say("Open this URL in a browser to log in (on this machine or any other):")
    say(url)
    say(
        f"After you approve, the browser goes to {redirect_uri}?code=... If that page does not"
        " load (the browser runs on another machine), copy the address from the browser's"
        " address bar, paste it here and press Enter."
    )


def loopback_login(
    auth: Authenticator,
    *,
    port: int = 0,
    open_browser: Union[None, bool, Callable[[str], Any]] = True,
    timeout: float = 300.0,
    input_stream: Optional[IO[Any]] = None,
    output_stream: Optional[IO[str]] = None,
) -> Token:
    """Log in through the browser with a loopback redirect (RFC 8252) and return the Token.

    Listens on 127.0.0.1 (or the loopback host of the client's ``redirect_uri``; for
    ``localhost``, on both 127.0.0.1 and ::1): on the redirect_uri's port when it has one,
    else on ``port`` (0: any free port, which SoundCloud accepts for loopback URIs
    registered without one, RFC 8252 7.3). Without a configured redirect_uri the URI is
    ``http://127.0.0.1:<port>/callback``. Opens the authorization page with
    ``open_browser(url)`` (True or None: :func:`webbrowser.open`, printing the URL too), waits
    up to ``timeout`` seconds for a redirect carrying this login's ``state`` (others are
    answered 400 and ignored), and exchanges the code with a fresh PKCE verifier::

        client = soundcloud.Client(client_id=ID)
        token = client.login()

    With ``open_browser=False`` (over SSH, in a container) it prints the URL and what to do
    on ``output_stream`` (default ``sys.stderr``) instead, and reads, besides the callback,
    the address the browser ended on pasted on ``input_stream`` (default ``sys.stdin``; one
    address a line). Whichever brings this login's state first completes the login; a line
    that is not this login's redirect is explained and the login waits on; the end of the
    input only stops the reading. Output of the login's own goes to ``output_stream`` too.

    Raises OSError when the port is taken (on either address, for ``localhost``).
    """
    if timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    if not (open_browser is None or isinstance(open_browser, bool) or callable(open_browser)):
        raise TypeError(
            f"open_browser must be True, False or a callable taking the URL, not {type(open_browser).__name__}"
        )
    say = _Say(output_stream if output_stream is not None else sys.stderr)
    uri_host, binds, bind_port, path = _loopback_target(auth.redirect_uri, port)
    callback = _Callback(path)
    servers = _listen(binds, bind_port, callback)
    stop = threading.Event()
    threads: List[threading.Thread] = []
    pasted: Optional[PastedLines] = None
    try:
        actual_port = int(servers[0].server_address[1])
        redirect_uri = f"http://{uri_host}:{actual_port}{path}"
        # A new login: a fresh verifier and state, whatever happened before.
        url, state = auth.start_login(redirect_uri)
        callback.state = state
        for server in servers:
            server.timeout = LOOPBACK_POLL
            thread = threading.Thread(
                target=_serve, args=(server, stop), name="soundcloud-login", daemon=True
            )
            thread.start()
            threads.append(thread)
        _log.debug("login: waiting for the redirect on %s", redirect_uri)
        if open_browser is False:
            _print_paste_instructions(url, redirect_uri, say)
            source = input_stream if input_stream is not None else sys.stdin
            if source is not None:  # pythonw has no stdin: the callback only
                check = _PasteCheck(callback, redirect_uri, say)
                pasted = PastedLines(source, check.line, check.too_long)
                pasted.start()
        elif open_browser is None or open_browser is True:
            _open_in_browser(url, say)
        else:
            open_browser(url)
        if not callback.event.wait(timeout):
            pasted_too = ", and no address of it was pasted," if pasted is not None else ""
            raise TimeoutError(
                f"no login redirect arrived at {redirect_uri}{pasted_too} within {timeout:g} s:"
                " finish the login in the browser sooner, or pass a longer timeout"
            )
        params = callback.params or {}
    finally:
        if pasted is not None:
            pasted.stop()
        stop.set()
        for thread in threads:
            thread.join(LOOPBACK_CONNECTION_TIMEOUT)
        for server in servers:
            server.server_close()
    # The server took only a redirect with this state; checked again here, in constant time.
    if not states_equal(params.get("state") or "", state):
        raise StateMismatchError(
            "the state in the login redirect does not match this login's (a forged or stale"
            " redirect): try again"
        )
    error = params.get("error")
    if error is not None:
        raise oauth_error_from_redirect(error, params.get("error_description") or "")
    return auth.exchange_token(params.get("code") or "", params.get("state"), redirect_uri=redirect_uri)


def _serve(server: _CallbackServer, stop: threading.Event) -> None:
    while not stop.is_set():
        server.handle_request()
