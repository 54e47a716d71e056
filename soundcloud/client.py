"""The SoundCloud client: verbs, URL building, credentials, redirects, and the typed API's
namespaces (``client.tracks.get(293) -> Track``: :mod:`soundcloud.namespaces`, pages in :mod:`soundcloud.pages`).

    >>> client = soundcloud.Client(client_id=YOUR_CLIENT_ID)
    >>> tracks = client.get('/tracks', limit=10)
    >>> for track in tracks.collection:
    ...     print(track.title)

The request path is ``_request`` (the operation table, auth and the one replay after a
401) → ``_send_handling_redirects`` → ``transport.handle_request``. The operation table
(:func:`soundcloud.encoding.spec_route`) makes the generic verbs send what SoundCloud's spec
defines: URNs in URN-only paths, comma-separated query lists, JSON where only JSON is taken.
"""

from __future__ import annotations

import os
import sys
import time
from typing import IO, TYPE_CHECKING, Any, Callable, Dict, Final, Iterator, Mapping, Optional, Tuple, Union
from urllib.parse import quote

from ._log import get_logger
from ._version import __version__
from .auth import Authenticator, Token
from .auth.oauth import password_grant_removed
from .encoding import encode_body, encode_params, encode_query, spec_route, urlencode
from ._models import Request, Timeout, as_timeout
from ._json import loads
from ._origins import merge_headers, origin_of, server_url, strip_credentials
from ._redact import redact_url
from ._urls import check_base_url
from ._spec import Operation
from .errors import (
    DecodeError,
    InsecureRedirectError,
    RedirectError,
    SoundCloudError,
    TooManyRedirectsError,
    error_for_status,
)
from .namespaces import LikesAPI, MeAPI, PlaylistsAPI, RepostsAPI, TracksAPI, UsersAPI
from .pages import paginate, resolve as _resolve
from .resources import Resource, ResourceList, ResponseInfo, StreamResponse, wrap_json
from .transport import (
    DEFAULT_MAX_BODY_SIZE,
    HTTPTransport,
    Response,
    Transport,
)

if TYPE_CHECKING:
    from .media.batch import DownloadSummary
    from .auth import TokenStore
    from .models import Playlist, Track, User

__all__ = ["Client", "USE_CLIENT_DEFAULT"]

DEFAULT_API_URL: Final = "https://api.soundcloud.com"
DEFAULT_AUTH_URL: Final = "https://secure.soundcloud.com"
MAX_REDIRECTS: Final = 10
REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
# Followed, method and body kept, for these methods (RFC 9110 sections 15.4.2-15.4.9): not
# POST or PATCH, which a 301/302 may turn into a body-less GET (browsers do). 303 See Other
# (section 15.4.4, "GET the answer there") only for GET and HEAD; PUT and DELETE get it back.
REPEATED_REDIRECTS: Final = frozenset({301, 302, 307, 308})
FOLLOWED_METHODS: Final = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# Error bodies are read for their message, never more than this.
MAX_ERROR_BODY: Final = 1024 * 1024

Result = Union[Resource, ResourceList, StreamResponse]


class _UseClientDefault:
    """The type of :data:`USE_CLIENT_DEFAULT`."""

    def __repr__(self) -> str:
        return "USE_CLIENT_DEFAULT"


# Per-call options default to this, meaning "whatever the client was built with", because
# None can be meaningful (httpx's USE_CLIENT_DEFAULT).
USE_CLIENT_DEFAULT: Final = _UseClientDefault()

TimeoutArg = Union[None, float, Timeout, _UseClientDefault]


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json") or media == "text/javascript"


def _default_user_agent() -> str:
    return f"soundcloud/{__version__} Python/{sys.version_info[0]}.{sys.version_info[1]}"


class Client:
    """A SoundCloud API client.

    Build it with a ``client_id`` (public reads), an ``access_token``, or the OAuth
    settings of your app; then call :meth:`get`, :meth:`post`, :meth:`put`,
    :meth:`patch`, :meth:`delete` or :meth:`head` with a path and parameters::

        client = soundcloud.Client(access_token=TOKEN)
        client.put('/me', user={'description': 'a new description'})

    Use it as a context manager (or call :meth:`close`) to release its connections.
    """

    def __init__(
        self,
        *,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        redirect_uri: Optional[str] = None,
        scope: Optional[str] = None,
        access_token: Optional[str] = None,
        refresh_token: Optional[str] = None,
        username: Optional[str] = None,
        password: Optional[str] = None,
        token: Union[None, Token, Mapping[str, Any]] = None,
        code_verifier: Optional[str] = None,
        state: Optional[str] = None,
        on_token: Optional[Callable[[Token], None]] = None,
        token_store: Optional[TokenStore] = None,
        api_url: Optional[str] = None,
        auth_url: Optional[str] = None,
        host: Optional[str] = None,
        use_ssl: bool = True,
        proxies: Optional[Mapping[str, str]] = None,
        verify_ssl: Union[bool, str] = True,
        timeout: Union[None, float, Timeout] = None,
        user_agent: Optional[str] = None,
        max_retries: int = 3,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        transport: Optional[Transport] = None,
        clock: Optional[Callable[[], float]] = None,
    ) -> None:
        if username is not None or password is not None:
            raise password_grant_removed()
        if host is not None and api_url is not None:
            raise TypeError("pass either api_url or host (with use_ssl), not both")
        if host is not None:
            if "://" in host or "/" in host:
                raise ValueError(f"host must be a bare host name like 'api.example.com', not {host!r}")
            api_url = ("https://" if use_ssl else "http://") + host
        self.api_url = check_base_url(api_url or DEFAULT_API_URL, "api_url")
        self.auth_url = check_base_url(auth_url or DEFAULT_AUTH_URL, "auth_url")
        self._api_origin = origin_of(self.api_url)
        # What every URL on the API starts with: the rest is the path the table knows.
        self._api_prefix = self.api_url + "/"
        if isinstance(token, Mapping):
            token = Token.from_dict(dict(token))
        if token is None and access_token is not None:
            token = Token(access_token, refresh_token)
        if (
            client_id is None
            and token is None
            and refresh_token is None
            and token_store is None
            and access_token is None
        ):
            raise TypeError(
                "Client needs credentials: pass client_id=YOUR_CLIENT_ID (with client_secret and"
                " redirect_uri for OAuth), or access_token=..., or token=... (a saved Token)"
            )
        if max_body_size <= 0:
            raise ValueError(f"max_body_size must be a positive number of bytes, not {max_body_size}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be 0 (off) or more, not {max_retries}")
        self.timeout = as_timeout(timeout)
        self.user_agent = user_agent or _default_user_agent()
        self.max_body_size = max_body_size
        self.max_retries = max_retries
        self._owns_transport = transport is None
        self.transport: Transport = (
            transport
            if transport is not None
            else HTTPTransport(proxies=proxies, verify=verify_ssl, max_retries=max_retries)
        )
        self._auth = Authenticator(
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=redirect_uri,
            scope=scope,
            token=token,
            refresh_token=refresh_token if token is None or token.refresh_token is None else None,
            code_verifier=code_verifier,
            state=state,
            auth_url=self.auth_url,
            send=self._send_auth_request,
            on_token=on_token,
            token_store=token_store,
            clock=clock or time.time,
        )
        # What a client_id-only client appends to API URLs, quoted once.
        self._client_id_query = "client_id=" + _quote(client_id) if client_id else ""
        # Headers every API request carries; copied per request, never mutated after this.
        self._base_headers: Dict[str, str] = {
            "Accept": "application/json",
            "User-Agent": self.user_agent,
        }
        # The typed API's namespaces (soundcloud.namespaces), each made on first use.
        self._me: Optional[MeAPI] = None
        self._tracks: Optional[TracksAPI] = None
        self._playlists: Optional[PlaylistsAPI] = None
        self._users: Optional[UsersAPI] = None
        self._likes: Optional[LikesAPI] = None
        self._reposts: Optional[RepostsAPI] = None
        try:
            self._auth.prepare()
        except BaseException:
            if self._owns_transport:
                self.transport.close()
            raise

    # -- credentials ---------------------------------------------------------------------

    @property
    def client_id(self) -> Optional[str]:
        """The app's client id."""
        return self._auth.client_id

    @property
    def token(self) -> Optional[Token]:
        """The current OAuth token, or None."""
        return self._auth.token

    @property
    def access_token(self) -> Optional[str]:
        """The current access token, or None."""
        token = self._auth.token
        return token.access_token if token is not None else None

    @property
    def state(self) -> str:
        """The OAuth ``state`` sent by :meth:`authorize_url` (keep it in the user's session)."""
        return self._auth.state

    @property
    def code_verifier(self) -> str:
        """The PKCE verifier of this login (keep it in the user's session until the callback)."""
        return self._auth.code_verifier

    def authorize_url(self, *, state: Optional[str] = None, scope: Optional[str] = None) -> str:
        """The URL to send the user to for the Authorization Code flow with PKCE (S256)."""
        return self._auth.authorize_url(state=state, scope=scope)

    def exchange_token(self, code: str, state: Optional[str] = None) -> Token:
        """Exchange the authorization ``code`` from the callback for a Token, and use it.

        When ``state`` (from the callback) is given it must equal :attr:`state`.
        """
        return self._auth.exchange_token(code, state=state)

    def refresh(self) -> Token:
        """Refresh the access token now with the (single-use, rotating) refresh token."""
        return self._auth.refresh()

    def sign_out(self) -> None:
        """Revoke the session at SoundCloud and forget the tokens."""
        self._auth.sign_out()

    def complete_login(self, callback_url: str) -> Token:
        """Finish the login from the address the browser ended on (pasted: a headless login).

        Its ``state`` must be :attr:`state`; its code is exchanged with the login's redirect
        URI. Takes the whole address, the address without ``http://``, or its query alone.
        """
        return self._auth.complete_login(callback_url)

    def login(
        self,
        *,
        port: int = 0,
        open_browser: Union[None, bool, Callable[[str], Any]] = True,
        timeout: float = 300.0,
        input_stream: Optional[IO[Any]] = None,
        output_stream: Optional[IO[str]] = None,
    ) -> Token:
        """Log in from a script or CLI (RFC 8252): loopback redirect, browser, code exchange.

        ``open_browser=False`` (over SSH, in a container): print the URL on ``output_stream``
        (stderr) and take the address the browser ended on pasted on ``input_stream`` (stdin)
        too. See :func:`soundcloud.auth.loopback.loopback_login`.
        """
        from .auth.loopback import loopback_login

        return loopback_login(
            self._auth, port=port, open_browser=open_browser, timeout=timeout,
            input_stream=input_stream, output_stream=output_stream,
        )  # fmt: skip

    # -- verbs ---------------------------------------------------------------------------
    # The path is a parameter named ``__url``: positional-only by convention (and mangled),
    # so that an API parameter called ``url`` (``/resolve`` takes one) lands in **params.
    # A ``/`` marker would say the same, but mypyc's compiled argument parsing ignores it.

    def get(
        self,
        __url: str,
        *,
        allow_redirects: bool = True,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
        headers: Optional[Mapping[str, str]] = None,
        json: Any = None,
        retry: Optional[bool] = None,
        **params: Any,
    ) -> Any:
        """GET ``url`` (a path like ``'/tracks'`` or an absolute URL); params go in the query."""
        return self._request("GET", __url, params, json, allow_redirects, timeout, headers, retry, None, None)

    def head(
        self,
        __url: str,
        *,
        allow_redirects: bool = True,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
        headers: Optional[Mapping[str, str]] = None,
        json: Any = None,
        retry: Optional[bool] = None,
        **params: Any,
    ) -> Any:
        """HEAD ``url``; params go in the query."""
        return self._request("HEAD", __url, params, json, allow_redirects, timeout, headers, retry, None, None)

    def delete(
        self,
        __url: str,
        *,
        allow_redirects: bool = True,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
        headers: Optional[Mapping[str, str]] = None,
        json: Any = None,
        retry: Optional[bool] = None,
        **params: Any,
    ) -> Any:
        """DELETE ``url``; params go in the query."""
        return self._request("DELETE", __url, params, json, allow_redirects, timeout, headers, retry, None, None)

    def post(
        self,
        __url: str,
        *,
        allow_redirects: bool = True,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
        headers: Optional[Mapping[str, str]] = None,
        json: Any = None,
        data: Optional[Mapping[str, Any]] = None,
        progress: Optional[Callable[[int, int], None]] = None,
        retry: Optional[bool] = None,
        **params: Any,
    ) -> Any:
        """POST to ``url``: params as a form body, multipart when a file is among them, or
        as a JSON body where the operation takes only JSON (a comment, say).

        ``json=`` sends that JSON body, ``data=`` that form (or multipart) body, whatever
        the operation table says. ``progress(sent, total)`` follows an upload.
        """
        return self._request(
            "POST", __url, params, json, allow_redirects, timeout, headers, retry, progress, data
        )

    def put(
        self,
        __url: str,
        *,
        allow_redirects: bool = True,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
        headers: Optional[Mapping[str, str]] = None,
        json: Any = None,
        data: Optional[Mapping[str, Any]] = None,
        progress: Optional[Callable[[int, int], None]] = None,
        retry: Optional[bool] = None,
        **params: Any,
    ) -> Any:
        """PUT to ``url``: params as a form body (multipart with files), or as a JSON body
        where the operation takes only JSON (a playlist); ``json=`` or ``data=`` force either."""
        return self._request(
            "PUT", __url, params, json, allow_redirects, timeout, headers, retry, progress, data
        )

    def patch(
        self,
        __url: str,
        *,
        allow_redirects: bool = True,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
        headers: Optional[Mapping[str, str]] = None,
        json: Any = None,
        data: Optional[Mapping[str, Any]] = None,
        progress: Optional[Callable[[int, int], None]] = None,
        retry: Optional[bool] = None,
        **params: Any,
    ) -> Any:
        """PATCH ``url``: params as a form body (multipart with files), or as a JSON body
        where the operation takes only JSON; ``json=`` or ``data=`` force either."""
        return self._request(
            "PATCH", __url, params, json, allow_redirects, timeout, headers, retry, progress, data
        )

    # -- request path ----------------------------------------------------------------------

    def resolve_url(self, url: str) -> str:
        """The absolute URL for a path (``'tracks'``, ``'/tracks/'``) or an absolute URL as is."""
        if url.startswith("https://") or url.startswith("http://"):
            return url
        if not isinstance(url, str):
            raise TypeError(f"the URL must be a str path or URL, not {type(url).__name__}")
        scheme, separator, _ = url.partition("://")
        if separator and scheme.isalnum():
            raise ValueError(f"only http and https URLs can be requested, not {redact_url(url)!r}")
        return self.api_url + "/" + url.strip("/")

    def _request(
        self,
        method: str,
        url: str,
        params: Dict[str, Any],
        json_body: Any,
        allow_redirects: bool,
        timeout: TimeoutArg,
        headers: Optional[Mapping[str, str]],
        retry: Optional[bool],
        progress: Optional[Callable[[int, int], None]],
        data: Optional[Mapping[str, Any]],
    ) -> Any:
        target = self.resolve_url(url)
        # A path always resolves against the API; only an absolute URL needs its origin checked.
        on_api = target is not url or origin_of(target) == self._api_origin
        operation: Optional[Operation] = None
        styles: Optional[Dict[str, str]] = None
        prefix = self._api_prefix
        if on_api and target.startswith(prefix):
            path, mark, query = target[len(prefix):].partition("?")
            operation, sent_path, styles = spec_route(method, path)
            if sent_path is not None:
                target = prefix + sent_path + mark + query
        request_timeout = self.timeout if isinstance(timeout, _UseClientDefault) else as_timeout(timeout)
        request_headers = dict(self._base_headers)
        if headers:
            merge_headers(request_headers, headers)

        body: Any = None
        replayable = True
        if method in ("GET", "HEAD", "DELETE", "OPTIONS"):
            if json_body is not None:
                raise TypeError(f"json= is for POST, PUT and PATCH, not {method}")
            if progress is not None:
                raise TypeError(f"progress= is for requests that send a body, not {method}")
            if params:
                query = urlencode(encode_params(params)) if styles is None else encode_query(params, styles)
                if query:
                    target += ("&" if "?" in target else "?") + query
        else:
            json_only = operation is not None and operation.json_only
            json_not_form = operation is not None and operation.json_not_form
            body, replayable = encode_body(
                params, json_body, data, json_only, json_not_form, progress, request_headers
            )

        request = Request(method, target, request_headers, body, request_timeout, replayable)
        if retry is not None:
            request.retry = retry
        return self._send_handling_auth(request, allow_redirects, on_api)

    def _apply_credentials(self, request: Request) -> Optional[str]:
        """Attach credentials to a request for the API origin; returns the Authorization sent."""
        authorization = self._auth.authorization()
        if authorization is not None:
            request.headers["Authorization"] = authorization
            return authorization
        query = self._client_id_query
        if query and "client_id=" not in request.url:
            request.url += ("&" if "?" in request.url else "?") + query
        return None

    def _send_handling_auth(self, request: Request, allow_redirects: bool, on_api: bool) -> Any:
        if on_api:
            sent = self._apply_credentials(request)
        else:
            sent = None
        response, credentialed = self._send_handling_redirects(request, allow_redirects, on_api)
        # Only a 401 to credentials we sent says the token is stale (not one from a CDN).
        if response.status_code == 401 and credentialed and (request.replayable or request.body is None):
            try:
                replay = self._auth.handle_unauthorized(sent)
            except BaseException:
                response.close()
                raise
            if replay:
                # One refresh, one replay (never a loop): the token expired between our check
                # and the server's, or was revoked and the refresh token still works.
                response.close()
                request.headers.pop("Authorization", None)
                self._apply_credentials(request)
                response, _ = self._send_handling_redirects(request, allow_redirects, on_api)
        return self._build_result(response)

    def _send_handling_redirects(
        self, request: Request, allow_redirects: bool, credentialed: bool
    ) -> Tuple[Response, bool]:
        """Send ``request``, following redirects (:data:`FOLLOWED_METHODS`); returns the last
        response and whether its request carried the client's credentials.

        Credentials go only to the API origin, and only while every hop so far stayed on it
        (``credentialed`` says whether the caller addressed the API): a redirect that left
        the API (to a CDN, say) never earns them back by leading to the API again, as a
        URL on another origin could otherwise send the client, token and all, to any API
        endpoint. /resolve's own redirect stays on the API, so it keeps them.
        """
        response = self._send_single_request(request)
        method = request.method
        if not allow_redirects or method not in FOLLOWED_METHODS:
            return response, credentialed
        # GET and HEAD follow 303 too; a body that cannot be sent again (a streamed upload)
        # is never replayed: the redirect comes back with .location.
        followed = REDIRECT_STATUSES if method in ("GET", "HEAD") else REPEATED_REDIRECTS
        if request.body is not None and not request.replayable:
            return response, credentialed
        visited = [request.url]
        while response.status_code in followed:
            location = response.headers.get_value("location")
            if not location:
                return response, credentialed
            response.close()
            next_url, invalid = server_url(response.url, location, "latin-1")
            if invalid:
                raise RedirectError(
                    f"{request.method} {redact_url(response.url)} redirected to an invalid URL"
                    f" ({invalid}): {redact_url(next_url)!r}; not followed"
                )
            next_origin = origin_of(next_url)
            previous_origin = origin_of(response.url)
            if next_origin[0] not in ("http", "https"):
                raise InsecureRedirectError(
                    f"{request.method} {redact_url(response.url)} redirected to an unsupported URL"
                    f" scheme {next_origin[0]!r}; not followed"
                )
            if previous_origin[0] == "https" and next_origin[0] == "http":
                raise InsecureRedirectError(
                    f"{request.method} {redact_url(response.url)} redirected from https to plain http"
                    f" ({redact_url(next_url)}); refusing to downgrade"
                )
            if next_url in visited:
                raise TooManyRedirectsError(
                    f"{request.method} {redact_url(visited[0])}: redirect loop "
                    + " -> ".join(redact_url(u) for u in visited + [next_url])
                )
            if len(visited) > MAX_REDIRECTS:
                raise TooManyRedirectsError(
                    f"{request.method} {redact_url(visited[0])}: more than {MAX_REDIRECTS} redirects"
                    f" (last: {redact_url(next_url)})"
                )
            visited.append(next_url)
            headers = dict(request.headers)
            if next_origin != previous_origin:
                # Credentials never follow a redirect to another origin (stream URLs lead to a
                # CDN), whoever set them and however their names are spelled.
                strip_credentials(headers)
            credentialed = credentialed and next_origin == self._api_origin
            # The same method, and the same (replayable) body with its Content-Type and
            # Content-Length: RFC 9110 sections 15.4.8 and 15.4.9 for 307 and 308.
            retry = request.retry
            request = Request(method, next_url, headers, request.body, request.timeout, True)
            request.retry = retry
            if credentialed and "Authorization" not in headers:
                # Still on the API (as /resolve answers): a client_id-only client needs its id there.
                self._apply_credentials(request)
            response = self._send_single_request(request)
        return response, credentialed

    def _send_single_request(self, request: Request) -> Response:
        logger = get_logger()
        if logger is None or not logger.isEnabledFor(10):  # logging.DEBUG
            return self.transport.handle_request(request)
        started = time.perf_counter()
        response = self.transport.handle_request(request)
        logger.debug(
            "%s %s -> %d in %.1f ms (retries: %d)",
            request.method,
            redact_url(request.url),
            response.status_code,
            (time.perf_counter() - started) * 1000.0,
            response.retries,
        )
        return response

    def _send_auth_request(self, request: Request) -> Response:
        """Send a request of the Authenticator (token endpoint, sign-out) as the client's own:
        with the client's User-Agent and timeout (the Authenticator sets neither), logged
        like any request, and never with the client's credentials or retries."""
        request.headers.setdefault("User-Agent", self.user_agent)
        request.timeout = self.timeout
        return self._send_single_request(request)

    def _build_result(self, response: Response) -> Any:
        status = response.status_code
        request = response.request
        if status >= 400:
            body = _read_error_body(response)
            raise error_for_status(
                status,
                method=request.method,
                url=response.url,
                headers=response.headers,
                body=body,
                reason=response.reason,
            )
        headers = response.headers
        location = headers.get_value("location") if status in REDIRECT_STATUSES else None
        info = ResponseInfo(status, response.reason, response.url, headers, location)
        content_type = headers.get_value("content-type") or ""
        if request.method == "HEAD" or status == 204 or status == 304:
            response.close()
            return Resource({}, info)
        if not _is_json(content_type):
            if status in REDIRECT_STATUSES or headers.get_value("content-length") == "0":
                response.read_all(MAX_ERROR_BODY)
                return Resource({}, info)
            return StreamResponse(response, info)
        body = response.read_all(self.max_body_size)
        if not body.strip():
            return Resource({}, info)
        try:
            # json's own C scanner, nothing per byte in Python; nesting deeper than the
            # interpreter's recursion limit is a ValueError here, not a RecursionError.
            data = loads(body)
        except ValueError as exc:
            raise DecodeError(
                f"the response claims to be JSON ({content_type}) but is not: {exc}",
                method=request.method,
                url=response.url,
                body=body,
            ) from None
        return wrap_json(data, info)

    # -- the typed API: soundcloud.namespaces, generated from the spec ----------------------

    @property
    def me(self) -> MeAPI:
        """``/me``: ``client.me.get() -> Me``, followings, likes, activities (typed)."""
        if self._me is None:
            self._me = MeAPI(self)
        return self._me

    @property
    def tracks(self) -> TracksAPI:
        """``/tracks``: ``client.tracks.get(track) -> Track``, search, comments, streams (typed)."""
        if self._tracks is None:
            self._tracks = TracksAPI(self)
        return self._tracks

    @property
    def playlists(self) -> PlaylistsAPI:
        """``/playlists``: ``client.playlists.get(playlist) -> Playlist``, create, update (typed)."""
        if self._playlists is None:
            self._playlists = PlaylistsAPI(self)
        return self._playlists

    @property
    def users(self) -> UsersAPI:
        """``/users``: ``client.users.get(user) -> User``, followers, tracks, likes (typed)."""
        if self._users is None:
            self._users = UsersAPI(self)
        return self._users

    @property
    def likes(self) -> LikesAPI:
        """``/likes``: ``client.likes.add_track(track)``, ``remove_track``, playlists (typed)."""
        if self._likes is None:
            self._likes = LikesAPI(self)
        return self._likes

    @property
    def reposts(self) -> RepostsAPI:
        """``/reposts``: ``client.reposts.add_track(track)``, ``remove_track``, playlists (typed)."""
        if self._reposts is None:
            self._reposts = RepostsAPI(self)
        return self._reposts

    def resolve(self, url: str) -> Union[Track, User, Playlist]:
        """The Track, User or Playlist a soundcloud.com ``url`` names (``GET /resolve``, followed)."""
        return _resolve(self, url)

    # -- pagination and downloads --------------------------------------------------------

    def paginate(
        self,
        __url: str,
        *,
        max_items: Optional[int] = None,
        timeout: TimeoutArg = USE_CLIENT_DEFAULT,
        headers: Optional[Mapping[str, str]] = None,
        retry: Optional[bool] = None,
        **params: Any,
    ) -> Iterator[Any]:
        """Iterate over the items of a collection across pages, following ``next_href``.

        ``limit`` is the page size (at most 200); ``max_items`` caps the total; ``timeout``,
        ``headers`` and ``retry`` apply to every page::

            for track in client.paginate('/tracks', q='ambient', limit=200, max_items=1000):
                print(track.title)
        """
        return paginate(self, __url, params, max_items, timeout, headers, retry)

    def download(
        self,
        source: object,
        target: Union[str, "os.PathLike[str]", Any],
        *,
        progress: Optional[Callable[[int, Optional[int]], None]] = None,
        resume: bool = True,
        allow_preview: bool = False,
        quality: str = "best",
        concurrency: int = 4,
    ) -> int:
        """Save a track's whole audio to a path, a directory or a binary file; return its size.

        ``source`` is a track (Resource), an id, a URN, a soundcloud.com URL, or a plain media
        URL. A downloadable track gives its original file; any other its AAC stream, fetched
        ``concurrency`` segments at a time and saved as a tagged M4A (``quality``: ``'best'``,
        ``'stream'``, ``'original'``, ``'aac_160'``, ``'aac_96'``); a 30-second preview only
        with ``allow_preview=True``. A path gets the whole file or nothing, and an interrupted
        download resumes on the next call (``resume=False`` starts over); a directory gets a
        file named after the title. See :mod:`soundcloud.media.track`.
        """
        # On first use: the media modules bring concurrent.futures, hashlib and patterns of
        # their own, which only downloads need.
        from .media.track import download_track

        return download_track(
            self, source, target, progress=progress, resume=resume, allow_preview=allow_preview,
            quality=quality, concurrency=concurrency,
        ).size

    def download_all(
        self,
        source: object,
        directory: Union[str, "os.PathLike[str]"],
        *,
        likes: bool = False,
        workers: int = 2,
        allow_preview: bool = False,
        quality: str = "best",
        concurrency: int = 4,
        max_items: Optional[int] = None,
    ) -> DownloadSummary:
        """Download a playlist's tracks, a user's tracks, or (``likes=True``, or a
        ``soundcloud.com/<user>/likes`` URL) a user's likes into ``directory``, ``workers``
        tracks at a time; tracks already there are skipped. See :mod:`soundcloud.media.batch`.
        """
        from .media.batch import download_all

        return download_all(
            self, source, directory, likes=likes, workers=workers, allow_preview=allow_preview,
            quality=quality, concurrency=concurrency, max_items=max_items,
        )

    # -- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        """Release pooled connections (the client can still be used; it reconnects)."""
        self.transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        auth = "token" if self._auth.token is not None else (
            f"client_id={self._auth.client_id!r}" if self._auth.client_id else "no credentials"
        )
        return f"<soundcloud.Client {self.api_url} ({auth})>"


def _read_error_body(response: Response) -> bytes:
    try:
        return response.read_all(MAX_ERROR_BODY)
    except SoundCloudError:
        return b""


def _quote(value: str) -> str:
    return quote(value, safe="")
