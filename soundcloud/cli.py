"""The ``soundcloud`` command: the API from a shell, built on :class:`soundcloud.Client`.

    $ soundcloud login                       # once: browser login, token kept in ~/.config
    $ soundcloud me
    $ soundcloud get /tracks q=ambient limit=2
    $ soundcloud upload tone.wav --title "A tone" --private
    $ soundcloud download https://soundcloud.com/forss/flickermood -o flickermood.mp3
    $ soundcloud demo                        # the whole tour against a built-in fake server

Run ``soundcloud --help`` (or ``python -m soundcloud --help``) for every command. This
module is never compiled with mypyc and is not imported by ``import soundcloud``.
"""

from __future__ import annotations

import argparse
import http
import json
import os
import platform
import sys
import time
from typing import (
    IO,
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Final,
    List,
    Mapping,
    Optional,
    Sequence,
    TextIO,
    Tuple,
)
from urllib.parse import urlsplit

import soundcloud

from ._redact import redact_text
from .errors import (
    HTTPError,
    OAuthError,
    SoundCloudError,
    TokenStoreError,
    TransportError,
    UnauthorizedError,
)

if TYPE_CHECKING:
    from .auth import Token
    from .client import Client

__all__ = [
    "EXIT_AUTH",
    "EXIT_ERROR",
    "EXIT_HTTP",
    "EXIT_INTERRUPTED",
    "EXIT_NETWORK",
    "EXIT_OK",
    "EXIT_USAGE",
    "ProgressBar",
    "build_parser",
    "default_token_path",
    "main",
    "parse_params",
]

PROG: Final = "soundcloud"

# Exit statuses. 2 is argparse's own for usage errors, so everything else stays clear of it.
EXIT_OK: Final = 0
EXIT_ERROR: Final = 1  # anything else: a local file, a bad response body, a redirect loop
EXIT_USAGE: Final = 2
EXIT_NETWORK: Final = 3  # no usable HTTP response: refused, timed out, cut off
EXIT_HTTP: Final = 4  # the API answered 4xx/5xx (other than 401)
EXIT_AUTH: Final = 5  # no credentials, a 401, the authorization server refused, login unfinished
EXIT_INTERRUPTED: Final = 130  # Ctrl-C, as shells report SIGINT

ENV_CLIENT_ID: Final = "SOUNDCLOUD_CLIENT_ID"
ENV_CLIENT_SECRET: Final = "SOUNDCLOUD_CLIENT_SECRET"
ENV_API_URL: Final = "SOUNDCLOUD_API_URL"
ENV_AUTH_URL: Final = "SOUNDCLOUD_AUTH_URL"
ENV_REDIRECT_URI: Final = "SOUNDCLOUD_REDIRECT_URI"
ENV_TOKEN_FILE: Final = "SOUNDCLOUD_TOKEN_FILE"

# soundcloud.com web pages (permalinks) that `download` resolves to an API track first.
PERMALINK_HOSTS: Final = frozenset(
    {"soundcloud.com", "www.soundcloud.com", "m.soundcloud.com", "on.soundcloud.com"}
)
# The largest page SoundCloud serves; `search --limit N` asks for min(N, this) per page.
MAX_PAGE_SIZE: Final = 200

EPILOG: Final = """\
credentials (first that applies):
  1. the token saved by `soundcloud login` ($XDG_CONFIG_HOME/soundcloud/token.json,
     default ~/.config/soundcloud/token.json, or --token-file); the client id and
     secret are used to refresh it, and the file is rewritten when the refresh token
     rotates;
  2. else, with a client id and a client secret: an app token (client credentials),
     cached beside it in app-token-*.json (SoundCloud rate-limits new app tokens);
  3. else, with a client id only: the client_id query parameter (public reads).
  --client-id/--client-secret default to $SOUNDCLOUD_CLIENT_ID/$SOUNDCLOUD_CLIENT_SECRET,
  --api-url/--auth-url to $SOUNDCLOUD_API_URL/$SOUNDCLOUD_AUTH_URL.

parameters (get, post, put, delete):
  name=value         a parameter, sent as given: track[title]=x stays track[title]
  a.b=value          nested: track.title=x is {"track": {"title": "x"}} (sent track[title]=x)
  name[]=v ...       repeated: ids[]=1 ids[]=2 is a list
  name@path          (post, put) a file, sent as multipart: track.asset_data@tone.wav

exit status:
  0 success    1 other error (local file, bad response)    2 usage
  3 network error (refused, timeout, cut off)    4 HTTP error from the API (4xx, 5xx)
  5 authentication (no credentials, 401, OAuth refused, login not completed)
  130 interrupted

Errors are one line on stderr ("soundcloud: error: 404 Not Found: ..."); no token or
secret is ever printed. Progress bars go to stderr, only when it is a terminal.
"""


class CLIError(Exception):
    """An error the CLI reports as one line with a chosen exit status."""

    def __init__(self, message: str, status: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# -- configuration ---------------------------------------------------------------------------


def config_dir(environ: Optional[Mapping[str, str]] = None) -> str:
    """``$XDG_CONFIG_HOME/soundcloud`` (an absolute XDG_CONFIG_HOME only), else ``~/.config/soundcloud``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME", "")
    # The XDG base directory spec says relative paths are invalid and must be ignored.
    if not base or not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "soundcloud")


def default_token_path(environ: Optional[Mapping[str, str]] = None) -> str:
    """Where ``soundcloud login`` keeps the token (``$SOUNDCLOUD_TOKEN_FILE`` overrides)."""
    env = os.environ if environ is None else environ
    override = env.get(ENV_TOKEN_FILE, "")
    if override:
        return override
    return os.path.join(config_dir(env), "token.json")


def _option(args: argparse.Namespace, name: str, env: Optional[str] = None) -> Optional[str]:
    """An option's value, else the environment variable's (empty counts as unset)."""
    value = getattr(args, name, None)
    if value:
        return str(value)
    if env is not None:
        from_env = os.environ.get(env, "")
        if from_env:
            return from_env
    return None


def _token_path(args: argparse.Namespace) -> str:
    return _option(args, "token_file") or default_token_path()


# Values never allowed in output: filled in as credentials are read (see _redact).
_secrets: List[str] = []


def _remember_secret(value: Optional[str]) -> None:
    if value and len(value) >= 4 and value not in _secrets:
        _secrets.append(value)


def _remember_token(token: Optional[Token]) -> None:
    if token is not None:
        _remember_secret(token.access_token)
        _remember_secret(token.refresh_token)


def _redact(text: str) -> str:
    return redact_text(text, _secrets)


def _client_settings(args: argparse.Namespace) -> Dict[str, Any]:
    settings: Dict[str, Any] = {
        "client_id": _option(args, "client_id", ENV_CLIENT_ID),
        "client_secret": _option(args, "client_secret", ENV_CLIENT_SECRET),
        "api_url": _option(args, "api_url", ENV_API_URL),
        "auth_url": _option(args, "auth_url", ENV_AUTH_URL),
    }
    timeout = getattr(args, "timeout", None)
    if timeout is not None:
        settings["timeout"] = timeout
    _remember_secret(settings["client_secret"])
    return settings


def app_token_path(token_path: str, client_id: str, auth_url: Optional[str]) -> str:
    """Where the app token (client credentials) of one app on one server is cached."""
    import hashlib

    # One file per app and authorization server: a token is only good with the app that got it.
    key = hashlib.sha256(f"{auth_url or ''}\n{client_id}".encode("utf-8")).hexdigest()[:16]
    return os.path.join(os.path.dirname(os.path.abspath(token_path)), f"app-token-{key}.json")


def _build_client(**kwargs: Any) -> Client:
    try:
        client = soundcloud.Client(on_token=_remember_token, **kwargs)
    except TokenStoreError as exc:
        raise CLIError(f"{exc}", EXIT_AUTH) from None
    except SoundCloudError:
        raise
    except ValueError as exc:  # a bad --api-url, --redirect-uri...: the user's settings
        raise CLIError(str(exc), EXIT_USAGE) from None
    _remember_token(client.token)
    return client


def open_client(args: argparse.Namespace) -> Client:
    """The Client a command uses: stored login token, else client credentials, else client id."""
    settings = _client_settings(args)
    path = _token_path(args)
    if os.path.exists(path):
        # The login's token; token_store: a refresh (single-use, rotating refresh tokens)
        # rewrites the file at once, so the next run starts from the live refresh token.
        return _build_client(token_store=soundcloud.FileTokenStore(path), **settings)
    client_id = settings["client_id"]
    if client_id is None:
        raise CLIError(
            "no credentials: run `soundcloud login`, or pass --client-id (and --client-secret)"
            f" or set {ENV_CLIENT_ID} (and {ENV_CLIENT_SECRET})",
            EXIT_AUTH,
        )
    if settings["client_secret"] is not None:
        # App tokens are rate limited (50 per 12 h per app, 30 per hour per IP): cache the
        # one we get instead of fetching one per run.
        store = soundcloud.FileTokenStore(app_token_path(path, client_id, settings["auth_url"]))
        return _build_client(token_store=store, **settings)
    return _build_client(**settings)


# -- parameters ------------------------------------------------------------------------------

# One parsed command-line parameter: (name, value, is_file).
Param = Tuple[str, str, bool]


def param_type(text: str) -> Param:
    """argparse type of a ``name=value`` or ``name@path`` argument."""
    equals = text.find("=")
    at = text.find("@")
    if at > 0 and (equals < 0 or at < equals):
        return (text[:at], text[at + 1 :], True)
    if equals > 0:
        return (text[:equals], text[equals + 1 :], False)
    raise argparse.ArgumentTypeError(f"expected name=value (or name@file), not {text!r}")


def parse_params(params: Sequence[Param], opener: Optional[Callable[[str], Any]] = None) -> Dict[str, Any]:
    """Build request parameters from parsed arguments; ValueError explains a conflict.

    ``a.b=x`` nests (``{'a': {'b': 'x'}}``), ``a[]=x a[]=y`` makes a list, any other name
    (``track[title]``) is kept as given. ``opener(path)`` opens files (``name@path``).
    """
    result: Dict[str, Any] = {}
    for name, value, is_file in params:
        parts = name.split(".")
        if any(not part for part in parts):
            raise ValueError(f"bad parameter name {name!r}")
        node = result
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"{name!r}: {part!r} is given both as a value and as an object")
            node = child
        last = parts[-1]
        item: Any = value
        if is_file:
            if opener is None:
                raise ValueError(f"{name}@{value}: files can only be sent with post and put")
            item = opener(value)
        if last.endswith("[]") and len(last) > 2:
            values = node.setdefault(last[:-2], [])
            if not isinstance(values, list):
                raise ValueError(f"{name!r}: {last[:-2]!r} is given both as a list and otherwise")
            values.append(item)
        elif last in node:
            raise ValueError(f"parameter {name!r} is given more than once (use {last}[]=... for a list)")
        else:
            node[last] = item
    return result


# -- output ----------------------------------------------------------------------------------


def _jsonable(result: Any) -> Any:
    if isinstance(result, soundcloud.Resource):
        return result.fields()
    if isinstance(result, soundcloud.ResourceList):
        return result.items()
    return result


def print_json(data: Any, raw: bool, stream: Optional[TextIO] = None) -> None:
    """Pretty JSON (or compact with ``raw``) and a newline."""
    out = stream if stream is not None else sys.stdout
    indent = None if raw else 2
    separators = (",", ":") if raw else (",", ": ")
    try:
        out.write(json.dumps(data, indent=indent, separators=separators, ensure_ascii=False) + "\n")
    except UnicodeEncodeError:
        # A terminal that cannot show the text: \u escapes are the same JSON.
        out.write(json.dumps(data, indent=indent, separators=separators) + "\n")
    out.flush()


def _print_result(result: Any, args: argparse.Namespace) -> None:
    if isinstance(result, soundcloud.StreamResponse):
        with result:
            if sys.stdout.isatty():
                raise CLIError(
                    f"the answer is binary ({result.content_type or 'unknown type'}); redirect stdout"
                    " to a file, or use `soundcloud download ... -o FILE`"
                )
            sys.stdout.flush()
            for chunk in result.iter_bytes():
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
        return
    print_json(_jsonable(result), bool(getattr(args, "raw", False)))


class ProgressBar:
    """A one-line progress display: ``label [=====     ] 42.0%  1.2/3.0 MB  2.50 MB/s  ETA 0:01``.

    Call it as ``progress(done, total)`` (total None when unknown); :meth:`finish` ends the line.
    """

    def __init__(
        self,
        label: str,
        stream: TextIO,
        *,
        clock: Callable[[], float] = time.monotonic,
        width: int = 24,
        interval: float = 0.1,
    ) -> None:
        self.label = label
        self.stream = stream
        self.clock = clock
        self.width = width
        self.interval = interval
        self.started = clock()
        self.last_draw = -1.0
        self.drawn = False
        self.done = 0
        self.total: Optional[int] = None
        # Bytes already there when the bar started (a resumed download): not part of the speed.
        self.baseline = 0

    def __call__(self, done: int, total: Optional[int] = None) -> None:
        self.done = done
        self.total = total
        now = self.clock()
        finished = total is not None and done >= total
        if self.drawn and not finished and now - self.last_draw < self.interval:
            return
        self.last_draw = now
        self.drawn = True
        self.stream.write("\r" + self.render(now) + "\x1b[K")
        self.stream.flush()

    def render(self, now: float) -> str:
        """The current line, without control characters."""
        done, total = self.done, self.total
        elapsed = max(now - self.started, 0.0)
        rate = max(done - self.baseline, 0) / elapsed if elapsed > 0 else 0.0
        speed = f"{rate / 1e6:6.2f} MB/s"
        if total:
            fraction = min(max(done / total, 0.0), 1.0)
            filled = int(fraction * self.width)
            bar = "=" * filled + (">" if filled < self.width else "") + " " * (self.width - filled - 1)
            eta = _clock_time((total - done) / rate) if rate > 0 else "--:--"
            return (
                f"{self.label} [{bar[: self.width]}] {fraction * 100:5.1f}%"
                f"  {_amount(done, total)}  {speed}  ETA {eta}"
            )
        return f"{self.label} {_amount(done, None)}  {speed}"

    def finish(self) -> None:
        """End the line (nothing when nothing was drawn)."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False


def _amount(done: int, total: Optional[int]) -> str:
    """``'340/900 kB'``, ``'1.5/8.0 MB'``, ``'1.20 GB'``: the unit picked by the larger number."""
    scale = max(done, total or 0)
    if scale < 1_000_000:
        divisor, unit, digits = 1e3, "kB", 0
    elif scale < 1_000_000_000:
        divisor, unit, digits = 1e6, "MB", 1
    else:
        divisor, unit, digits = 1e9, "GB", 2
    text = f"{done / divisor:.{digits}f}"
    if total is not None:
        text += f"/{total / divisor:.{digits}f}"
    return f"{text} {unit}"


def _clock_time(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


def make_progress(
    args: argparse.Namespace, label: str, stream: Optional[TextIO] = None
) -> Optional[ProgressBar]:
    """A progress bar on stderr when it is a terminal and -q was not given, else None."""
    out = stream if stream is not None else sys.stderr
    if getattr(args, "quiet", False) or not _isatty(out):
        return None
    try:
        columns = os.get_terminal_size(out.fileno()).columns
    except (OSError, ValueError, AttributeError):
        columns = 80
    # What is not the bar takes about 50 columns: keep the line from wrapping.
    return ProgressBar(label, out, width=max(10, min(40, columns - len(label) - 50)))


def _isatty(stream: IO[Any]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _info(args: argparse.Namespace, message: str) -> None:
    """A status line on stderr (silenced by -q)."""
    if not getattr(args, "quiet", False):
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


# -- commands --------------------------------------------------------------------------------


def cmd_request(args: argparse.Namespace) -> int:
    """get / post / put / delete PATH [params]."""
    method: str = args.command
    opener: Optional[Callable[[str], Any]] = None
    opened: List[IO[bytes]] = []
    if method in ("post", "put"):

        def opener(path: str) -> IO[bytes]:
            try:
                handle = open(path, "rb")
            except OSError as exc:
                raise CLIError(f"cannot open {path}: {exc.strerror or exc}") from None
            opened.append(handle)
            return handle

    try:
        try:
            params = parse_params(args.params, opener)
        except ValueError as exc:
            args.parser.error(str(exc))
        json_body: Any = None
        json_text: Optional[str] = getattr(args, "json", None)
        if json_text is not None:
            if params:
                args.parser.error("--json cannot be combined with name=value parameters")
            json_body = _load_json_option(json_text, args.parser)
        with open_client(args) as client:
            if method == "get":
                result = client.get(args.path, allow_redirects=not args.no_follow, **params)
            elif method == "delete":
                result = client.delete(args.path, **params)
            else:
                verb = client.post if method == "post" else client.put
                progress = make_progress(args, "uploading") if opened else None
                try:
                    if json_body is not None:
                        result = verb(args.path, json=json_body)
                    else:
                        result = verb(args.path, progress=progress, **params)
                finally:
                    if progress is not None:
                        progress.finish()
            _print_result(result, args)
    finally:
        for handle in opened:
            handle.close()
    return EXIT_OK


def _load_json_option(text: str, parser: argparse.ArgumentParser) -> Any:
    source = "--json"
    if text.startswith("@"):
        source = text[1:]
        try:
            with open(source, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise CLIError(f"cannot read {source}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        parser.error(f"{source} is not valid JSON: {exc}")


def cmd_me(args: argparse.Namespace) -> int:
    """me: the logged-in user."""
    with open_client(args) as client:
        _print_result(client.get("/me"), args)
    return EXIT_OK


def cmd_resolve(args: argparse.Namespace) -> int:
    """resolve URL: the API resource behind a soundcloud.com URL."""
    with open_client(args) as client:
        _print_result(client.get("/resolve", url=args.url), args)
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    """search QUERY: tracks, one per line (or a JSON array with --json)."""
    limit: int = args.limit
    with open_client(args) as client:
        found = client.paginate("/tracks", q=args.query, limit=min(limit, MAX_PAGE_SIZE), max_items=limit)
        if args.json:
            print_json([_jsonable(track) for track in found], bool(getattr(args, "raw", False)))
            return EXIT_OK
        for track in found:
            data = _jsonable(track)
            if not isinstance(data, dict):
                continue
            ident = data.get("urn") or data.get("id") or ""
            user = data.get("user")
            username = user.get("username") if isinstance(user, dict) else None
            line = f"{ident}\t{_one_line(data.get('title'))}"
            if username:
                line += f"\t{_one_line(username)}"
            sys.stdout.write(line + "\n")
        sys.stdout.flush()
    return EXIT_OK


def _one_line(value: Any) -> str:
    return " ".join(str(value if value is not None else "").split())


def cmd_upload(args: argparse.Namespace) -> int:
    """upload FILE: POST /tracks, multipart, with a progress bar."""
    path: str = args.file
    title: str = args.title or os.path.splitext(os.path.basename(path))[0]
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise CLIError(f"cannot open {path}: {exc.strerror or exc}") from None
    with handle, open_client(args) as client:
        track: Dict[str, Any] = {
            "title": title,
            "sharing": "private" if args.private else "public",
            "asset_data": handle,
        }
        if args.description is not None:
            track["description"] = args.description
        if args.genre is not None:
            track["genre"] = args.genre
        if args.tags is not None:
            track["tag_list"] = args.tags
        progress = make_progress(args, "uploading")
        try:
            result = client.post("/tracks", track=track, progress=progress)
        finally:
            if progress is not None:
                progress.finish()
        _print_result(result, args)
    return EXIT_OK


def _download_source(client: Client, source: str) -> Any:
    if source.isdigit():
        return int(source)
    parts = urlsplit(source)
    if parts.scheme in ("http", "https") and (parts.hostname or "").lower() in PERMALINK_HOSTS:
        # A web page, not media: /resolve finds the track it shows.
        return client.get("/resolve", url=source)
    return source


def cmd_download(args: argparse.Namespace) -> int:
    """download URL_OR_ID -o FILE: a track's audio to a file (never a partial one)."""
    output: str = args.output
    with open_client(args) as client:
        source = _download_source(client, args.source)
        progress = make_progress(args, "downloading")
        if progress is not None and output != "-":
            from .download import part_path

            try:
                progress.baseline = os.path.getsize(part_path(output))
            except OSError:
                pass
        try:
            if output == "-":
                sys.stdout.flush()
                written = client.download(source, sys.stdout.buffer, progress=progress)
                sys.stdout.buffer.flush()
            else:
                written = client.download(source, output, progress=progress)
        except SoundCloudError as exc:
            from .download import part_path

            part = part_path(output)
            if output != "-" and os.path.exists(part):
                # The server takes ranges: the next run continues where this one stopped.
                raise CLIError(
                    f"{_describe(exc)}; {os.path.getsize(part)} bytes kept in {part}: run the"
                    " same command again to resume",
                    _status_of(exc),
                ) from None
            raise
        finally:
            if progress is not None:
                progress.finish()
    if output != "-":
        _info(args, f"saved {written} bytes to {output}")
    return EXIT_OK


class _SaveOnlyStore:
    """The login's token store: saves every new token to the file, never reads the old one."""

    def __init__(self, path: str) -> None:
        self.store = soundcloud.FileTokenStore(path)

    def load(self) -> Optional[Token]:
        return None

    def save(self, token: Token) -> None:
        self.store.save(token)

    def clear(self) -> None:
        self.store.clear()


def cmd_login(args: argparse.Namespace) -> int:
    """login: browser login (PKCE, loopback redirect); the token is saved for later commands."""
    settings = _client_settings(args)
    if settings["client_id"] is None:
        raise CLIError(
            f"login needs your app's client id: pass --client-id or set {ENV_CLIENT_ID}", EXIT_AUTH
        )
    redirect_uri = _option(args, "redirect_uri", ENV_REDIRECT_URI)
    path = _token_path(args)
    no_browser: bool = args.no_browser

    def open_browser(url: str) -> None:
        # The URL carries no secret (PKCE sends only the challenge), so it may be shown.
        if no_browser:
            sys.stderr.write(f"Open this URL in a browser to log in:\n{url}\n")
            sys.stderr.flush()
            return
        sys.stderr.write(f"Opening the browser to log in. If it does not open, visit:\n{url}\n")
        sys.stderr.flush()
        import webbrowser

        webbrowser.open(url)

    # Saved as soon as it is issued (FileTokenStore: 0600, atomic), and again on any refresh.
    with _build_client(redirect_uri=redirect_uri, token_store=_SaveOnlyStore(path), **settings) as client:
        try:
            client.login(port=args.port, open_browser=open_browser, timeout=args.wait)
        except soundcloud.TimeoutError as exc:
            if exc.url:
                raise  # an HTTP request timed out: a network error
            # Nobody came back from the browser in time: the login, not the network, failed.
            raise CLIError(f"login not completed: {exc}", EXIT_AUTH) from None
        except SoundCloudError:
            raise
        except ValueError as exc:  # --port against --redirect-uri, a non-loopback redirect URI
            raise CLIError(str(exc), EXIT_USAGE) from None
        _remember_token(client.token)
        who = ""
        try:
            username = client.get("/me").get("username")
            if isinstance(username, str):
                who = f" as {username}"
        except SoundCloudError:
            pass  # logged in all the same; /me is only for the greeting
    _info(args, f"Logged in{who}; token saved to {path}")
    return EXIT_OK


def cmd_logout(args: argparse.Namespace) -> int:
    """logout: sign out at SoundCloud and delete the saved token."""
    path = _token_path(args)
    if not os.path.exists(path):
        _info(args, f"Not logged in (no token at {path})")
        return EXIT_OK
    failure: Optional[BaseException] = None
    try:
        with open_client(args) as client:
            client.sign_out()
    except (SoundCloudError, CLIError) as exc:
        failure = exc
    finally:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass  # sign_out cleared the store itself
    if failure is not None:
        sys.stderr.write(
            f"{PROG}: warning: could not sign out at SoundCloud ({_describe(failure)});"
            f" the saved token was deleted\n"
        )
        return _status_of(failure)
    _info(args, f"Logged out; deleted {path}")
    return EXIT_OK


# -- errors ----------------------------------------------------------------------------------


def _status_of(exc: BaseException) -> int:
    if isinstance(exc, CLIError):
        return exc.status
    if isinstance(exc, (OAuthError, UnauthorizedError, TokenStoreError)):
        return EXIT_AUTH
    if isinstance(exc, HTTPError):
        return EXIT_HTTP
    if isinstance(exc, TransportError):
        return EXIT_NETWORK
    return EXIT_ERROR


def _describe(exc: BaseException) -> str:
    if isinstance(exc, CLIError):
        text = exc.message
    elif isinstance(exc, HTTPError):
        reason = exc.reason
        if not reason:
            try:
                reason = http.HTTPStatus(exc.status_code).phrase
            except ValueError:
                reason = ""
        text = f"{exc.status_code} {reason}".rstrip()
        if exc.message:
            text += f": {exc.message}"
        if exc.url:
            text += f" ({exc.method} {_without_client_id(exc.url)})".replace("( ", "(")
        if isinstance(exc, UnauthorizedError):
            text += "; run `soundcloud login` (or check the client id and secret)"
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, (int, float)):
            text += f"; retry after {retry_after:.0f} s"
    elif isinstance(exc, TransportError):
        text = f"network error: {exc}"
    elif isinstance(exc, OAuthError):
        text = f"authorization failed: {exc}"
    elif isinstance(exc, OSError):
        text = f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
    else:
        text = str(exc) or type(exc).__name__
    # One line, and never a credential (the library redacts; this is the second lock).
    return _redact(" ".join(text.split()))


def _without_client_id(url: str) -> str:
    """The URL minus the client_id query parameter (not a secret, only noise in a message)."""
    from urllib.parse import parse_qsl, urlencode, urlunsplit

    parts = urlsplit(url)
    if "client_id=" not in parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = [(key, value) for key, value in pairs if key != "client_id"]
    return urlunsplit(parts._replace(query=urlencode(query, safe="[]:/")))


def report(exc: BaseException) -> int:
    """Print ``soundcloud: error: ...`` (one line) on stderr; return the exit status."""
    try:
        sys.stderr.write(f"{PROG}: error: {_describe(exc)}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return _status_of(exc)


# -- the parser ------------------------------------------------------------------------------


def version_text() -> str:
    """What ``--version`` prints."""
    compiled = "compiled with mypyc" if soundcloud.__compiled__ else "pure Python"
    return (
        f"{PROG} {soundcloud.__version__} ({compiled})\n"
        f"Python {platform.python_version()} ({platform.python_implementation()})"
        f" on {platform.system() or 'unknown'}"
    )


def _common_options(defaults: bool) -> argparse.ArgumentParser:
    """Options valid before and after the command name (so `soundcloud get --raw /me` works)."""
    # SUPPRESS on the subcommand copy keeps a value given before the command from being reset.
    default: Any = None if defaults else argparse.SUPPRESS
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("common options")
    group.add_argument("--client-id", metavar="ID", default=default, help=f"app client id (${ENV_CLIENT_ID})")
    group.add_argument(
        "--client-secret", metavar="SECRET", default=default, help=f"app client secret (${ENV_CLIENT_SECRET})"
    )
    group.add_argument("--api-url", metavar="URL", default=default, help=f"API base URL (${ENV_API_URL})")
    group.add_argument(
        "--auth-url", metavar="URL", default=default, help=f"authorization server URL (${ENV_AUTH_URL})"
    )
    group.add_argument(
        "--token-file",
        metavar="PATH",
        default=default,
        help=f"where the login token is kept (${ENV_TOKEN_FILE};"
        f" default {_display_path(default_token_path())})",
    )
    group.add_argument(
        "--timeout", metavar="SECONDS", type=_positive_float, default=default,
        help="network timeout per request",
    )
    group.add_argument("--raw", action="store_true", default=default, help="compact JSON instead of pretty")
    group.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="no progress bars or status messages"
    )
    return common


def _display_path(path: str) -> str:
    home = os.path.expanduser("~")
    if home and path.startswith(home + os.sep):
        return "~" + path[len(home) :]
    return path


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {text}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, not {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``soundcloud`` command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Use the SoundCloud API from the command line.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_common_options(True)],
    )
    parser.add_argument("--version", action="version", version=version_text())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    commands.required = True
    common = _common_options(False)

    def add(
        name: str, handler: Callable[[argparse.Namespace], int], help_text: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            parents=[common],
            epilog="Run `soundcloud --help` for credentials, parameters and exit statuses.",
        )
        sub.set_defaults(handler=handler, parser=sub)
        return sub

    sub = add("login", cmd_login, "log in with a browser (OAuth 2.1 + PKCE) and save the token")
    sub.add_argument(
        "--redirect-uri",
        metavar="URI",
        help="the app's registered loopback redirect URI, e.g. http://127.0.0.1:8080/callback"
        f" (${ENV_REDIRECT_URI}; default http://127.0.0.1:PORT/callback)",
    )
    sub.add_argument(
        "--port", type=_port, default=0, help="port of the local callback server (default: any free one)"
    )
    sub.add_argument(
        "--no-browser", action="store_true", help="print the login URL instead of opening a browser"
    )
    sub.add_argument(
        "--wait", metavar="SECONDS", type=_positive_float, default=300.0,
        help="how long to wait for the browser (300)",
    )

    add("logout", cmd_logout, "sign out at SoundCloud and delete the saved token")
    add("me", cmd_me, "show the logged-in user (GET /me)")

    for verb in ("get", "post", "put", "delete"):
        sub = add(verb, cmd_request, f"{verb.upper()} an API path and print the JSON answer")
        sub.add_argument("path", metavar="PATH", help="an API path like /tracks, or a full URL")
        sub.add_argument(
            "params",
            metavar="name=value",
            nargs="*",
            default=[],
            type=param_type,
            help="parameters (a.b=x nests; name[]=x repeats"
            + ("; name@path sends a file)" if verb in ("post", "put") else ")"),
        )
        if verb == "get":
            sub.add_argument(
                "--no-follow", action="store_true",
                help="do not follow redirects; print the 302 answer (its location)",
            )
        if verb in ("post", "put"):
            sub.add_argument(
                "--json", metavar="JSON", help="send this JSON body (or @file) instead of form parameters"
            )

    sub = add("resolve", cmd_resolve, "show the API resource for a soundcloud.com URL")
    sub.add_argument("url", metavar="URL")

    sub = add("search", cmd_search, "search tracks; prints URN, title and user, one track per line")
    sub.add_argument("query", metavar="QUERY")
    sub.add_argument(
        "--limit", type=_positive_int, default=10, metavar="N", help="how many tracks (default 10)"
    )
    sub.add_argument("--json", action="store_true", help="print the tracks as a JSON array instead")

    sub = add("upload", cmd_upload, "upload an audio file as a new track")
    sub.add_argument("file", metavar="FILE")
    sub.add_argument("--title", help="the track's title (default: the file name)")
    sub.add_argument("--private", action="store_true", help="share privately (default public)")
    sub.add_argument("--description")
    sub.add_argument("--genre")
    sub.add_argument("--tags", help="tag list, space separated (quote multi-word tags)")

    sub = add(
        "download", cmd_download, "download a track's audio (a soundcloud.com URL, id, URN or media URL)"
    )
    sub.add_argument("source", metavar="URL_OR_ID")
    sub.add_argument("-o", "--output", required=True, metavar="FILE", help="where to save it (- for stdout)")

    add("demo", cmd_demo, "a tour of the library against a built-in fake SoundCloud (no account, no network)")
    return parser


def cmd_demo(args: argparse.Namespace) -> int:
    """demo: the README tour against soundcloud.testing.FakeSoundCloud."""
    return run_demo(args)


# -- demo ------------------------------------------------------------------------------------


class _Tour:
    """Prints the demo: numbered headings, the Python calls made, and what came back."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.number = 0

    def heading(self, title: str) -> None:
        self.number += 1
        self.stream.write(f"\n{self.number}. {title}\n")
        self.stream.flush()

    def code(self, text: str) -> None:
        lines = text.splitlines()
        self.stream.write("    >>> " + lines[0] + "\n")
        for line in lines[1:]:
            self.stream.write("    ... " + line + "\n")
        self.stream.flush()

    def said(self, text: str) -> None:
        self.stream.write("    " + text + "\n")
        self.stream.flush()


def write_tone(path: str, *, seconds: float = 1.0, frequency: float = 440.0, rate: int = 44100) -> int:
    """Write a mono 16-bit WAV of a sine tone (stdlib ``wave``); returns its size in bytes."""
    import math
    import struct
    import wave

    frames = int(seconds * rate)
    samples = (int(12000 * math.sin(2 * math.pi * frequency * n / rate)) for n in range(frames))
    with wave.open(path, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(struct.pack(f"<{frames}h", *samples))
    return os.path.getsize(path)


def _loopback_browser(errors: List[str]) -> Callable[[str], None]:
    """A stand-in for the user's browser: fetch the authorize URL and follow it home.

    It runs in a thread because the login's callback server answers only after
    open_browser returns; proxies are bypassed since everything is on 127.0.0.1.
    """
    import threading
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def visit(url: str) -> None:
        try:
            with opener.open(url, timeout=10) as page:
                page.read()
        except (urllib.error.URLError, OSError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    def open_browser(url: str) -> None:
        threading.Thread(target=visit, args=(url,), name="demo-browser", daemon=True).start()

    return open_browser


def run_demo(args: argparse.Namespace, stream: Optional[TextIO] = None) -> int:
    """The README tour, start to end, against a fake SoundCloud on 127.0.0.1.

    Everything it writes (token store, WAV, download) lives in a temporary directory
    removed at the end; nothing goes to the network or the user's config.
    """
    import stat
    import tempfile

    from .testing import FakeSoundCloud

    out = stream if stream is not None else sys.stdout
    tour = _Tour(out)
    started = time.monotonic()
    quiet = bool(getattr(args, "quiet", False))
    out.write("A tour of soundcloud-python against the built-in fake SoundCloud: no account, no network.\n")
    with tempfile.TemporaryDirectory(prefix="soundcloud-demo-") as tmp, FakeSoundCloud(
        loopback_any_port=True
    ) as sc:
        tour.heading("Start a fake SoundCloud (API, authorization server and CDN on 127.0.0.1)")
        tour.code("sc = soundcloud.testing.FakeSoundCloud(loopback_any_port=True).start()")
        tour.said(f"API {sc.api_url}   auth {sc.auth_url}   CDN {sc.cdn_url}")

        tour.heading("Log in: OAuth 2.1 authorization code with PKCE, loopback redirect (RFC 8252)")
        token_path = os.path.join(tmp, "token.json")
        tour.code(
            "client = soundcloud.Client(\n"
            f"    client_id={sc.client_id!r}, client_secret='...',\n"
            f"    token_store=soundcloud.FileTokenStore({token_path!r}),\n"
            f"    api_url={sc.api_url!r}, auth_url={sc.auth_url!r})"
        )
        store = soundcloud.FileTokenStore(token_path)
        client = soundcloud.Client(
            client_id=sc.client_id,
            client_secret=sc.client_secret,
            token_store=store,
            api_url=sc.api_url,
            auth_url=sc.auth_url,
        )
        with client:
            tour.code("token = client.login(open_browser=browser)  # the 'browser' here is urllib")
            browser_errors: List[str] = []
            token = client.login(open_browser=_loopback_browser(browser_errors), timeout=15.0)
            if browser_errors:
                raise CLIError("the demo browser failed: " + browser_errors[0])
            mode = stat.S_IMODE(os.stat(token_path).st_mode) if os.path.exists(token_path) else None
            tour.said(f"logged in: {token!r}")
            if mode is not None:
                tour.said(f"saved to {token_path} (mode {mode:o}); rewritten when the refresh token rotates")

            tour.heading("Who am I?")
            tour.code("me = client.get('/me')")
            tour.code("print(me.username, me.city)")
            me = client.get("/me")
            tour.said(f"{me.username} {me.get('city')}")

            tour.heading("Refresh: refresh tokens are single-use, so each refresh rotates it")
            tour.code("client.refresh()")
            before_refresh = store.load()
            client.refresh()
            after_refresh = store.load()
            rotated = (
                before_refresh is not None
                and after_refresh is not None
                and before_refresh.refresh_token != after_refresh.refresh_token
            )
            if not rotated:
                raise CLIError("the refresh did not rotate the saved refresh token")
            tour.said("new access and refresh tokens; the token store was rewritten at once")

            tour.heading("Search, following next_href page by page")
            before = len(sc.requests_to("api"))
            tour.code(
                "for track in client.paginate('/tracks', q='ambient', limit=2, max_items=5):\n"
                "    print(track.id, track.title)"
            )
            for track in client.paginate("/tracks", q="ambient", limit=2, max_items=5):
                tour.said(f"{track.id} {track.title}")
            pages = len(sc.requests_to("api")) - before
            tour.said(f"({pages} requests of 2 tracks: linked_partitioning=true, then each next_href)")

            tour.heading("Upload a track (a second of a 440 Hz tone, made with the wave module)")
            wav = os.path.join(tmp, "tone.wav")
            size = write_tone(wav)
            tour.code(
                "with open('tone.wav', 'rb') as audio:\n"
                "    track = client.post('/tracks', track={'title': 'A demo tone', 'sharing': 'private',\n"
                "                                          'asset_data': audio}, progress=bar)"
            )
            bar = None if quiet or not _isatty(sys.stderr) else ProgressBar("    uploading", sys.stderr)
            try:
                with open(wav, "rb") as audio:
                    track = client.post(
                        "/tracks",
                        track={"title": "A demo tone", "sharing": "private", "asset_data": audio},
                        progress=bar,
                    )
            finally:
                if bar is not None:
                    bar.finish()
            tour.said(
                f"{track.status_code} {track.reason}: track {track.id} {track.title!r}, {track.sharing},"
                f" {size} bytes sent"
            )

            tour.heading("Resolve a soundcloud.com URL to its API resource")
            tour.code("flickermood = client.get('/resolve', url='http://soundcloud.com/forss/flickermood')")
            flickermood = client.get("/resolve", url="http://soundcloud.com/forss/flickermood")
            tour.said(
                f"{flickermood.id} {flickermood.title!r} by {flickermood.user.username} ({flickermood.url})"
            )

            tour.heading("The stream redirect, then a download")
            tour.code(f"stream = client.get('/tracks/{track.id}/stream', allow_redirects=False)")
            tour.code("print(stream.status_code, stream.location)")
            redirect = client.get(f"/tracks/{track.id}/stream", allow_redirects=False)
            tour.said(f"{redirect.status_code} {redirect.location}")
            copy = os.path.join(tmp, "tone-copy.wav")
            tour.code("client.download(stream.location, 'tone-copy.wav', progress=bar)")
            bar = None if quiet or not _isatty(sys.stderr) else ProgressBar("    downloading", sys.stderr)
            try:
                written = client.download(redirect.location, copy, progress=bar)
            finally:
                if bar is not None:
                    bar.finish()
            with open(wav, "rb") as first, open(copy, "rb") as second:
                same = first.read() == second.read()
            if not same:
                raise CLIError("the downloaded copy differs from the upload")
            if sc.cdn_authorization_seen:
                raise CLIError("the access token was sent to the CDN")
            tour.said(f"{written} bytes, the same as uploaded; the CDN never saw the token")

            tour.heading("Errors are exceptions with SoundCloud's own message")
            tour.code(
                "try:\n    client.get('/tracks/999999999')\n"
                "except soundcloud.NotFoundError as error:\n    print(error.status_code, error)"
            )
            try:
                client.get("/tracks/999999999")
            except soundcloud.NotFoundError as error:
                tour.said(f"{error.status_code} {error}")
            else:
                raise CLIError("the demo expected a 404")

            tour.heading("Sign out (revokes the tokens and clears the token store)")
            tour.code("client.sign_out()")
            client.sign_out()
            tour.said(f"token file {'still there' if os.path.exists(token_path) else 'removed'}")

        requests = len(sc.requests)
    out.write(
        f"\nDone in {time.monotonic() - started:.1f} s: {requests} HTTP requests, all to 127.0.0.1.\n"
        "The same from a shell, against SoundCloud: soundcloud login, soundcloud me,"
        " soundcloud search QUERY,\nsoundcloud upload FILE --title T, soundcloud resolve URL,"
        " soundcloud download URL -o FILE (soundcloud --help).\n"
    )
    out.flush()
    return EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status (the console script exits with it)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        sys.stderr.write(f"\n{PROG}: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `soundcloud search x | head -1`: the reader left; stay quiet (no traceback at exit).
        _silence_stdout()
        return EXIT_ERROR
    except (SoundCloudError, CLIError, OSError) as exc:
        return report(exc)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
