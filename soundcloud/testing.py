"""A fake SoundCloud for tests: three real HTTP servers on 127.0.0.1.

``FakeSoundCloud`` starts three threaded stdlib servers on ephemeral ports, one per
origin the real service has, so that a client under test crosses origins exactly as
it does in production::

    api_url   like https://api.soundcloud.com      the REST API
    auth_url  like https://secure.soundcloud.com   OAuth 2.1 authorization server
    cdn_url   like https://cf-media.sndcdn.com     signed, expiring audio URLs

Example::

    with FakeSoundCloud() as sc:
        token = sc.issue_token()
        client = soundcloud.Client(access_token=token, api_url=sc.api_url,
                                   auth_url=sc.auth_url)
        assert client.get("/me").username == sc.user["username"]

or, in a ``conftest.py``: ``sc = pytest.fixture(soundcloud.testing.fixture)``.

The behaviour follows ``SOUNDCLOUD_API.md`` (the project's record of how the live
service behaves) and the shapes of the official OpenAPI spec.

Seed data
    The configured user (``DEFAULT_USER``, id 1 unless ``user=`` says otherwise) owns
    ``DEFAULT_TRACK_COUNT`` generated tracks with ids 1, 2, 3, ... (about 1 KB of JSON
    each, a few with non-ASCII titles) and playlist 1 (its first five tracks), and
    follows 60 users (ids 2001-2060). User 183 is forss, who owns track 293
    "Flickermood" (``http://soundcloud.com/forss/flickermood``); user 123 exists and
    is not followed; app 124 exists. Listings come in id order.

API origin
    Credentials: ``Authorization: OAuth <token>`` (``Bearer`` accepted too). Public
    reads (GET/HEAD) also accept the deprecated ``?client_id=<client_id>``. Anything
    else answers 401. Endpoints about the resource owner (``/me`` and below,
    including ``PUT/DELETE /me/followings/{id}``) answer 401 to an app token from
    the client-credentials grant, since such a token has no user; other writes
    (uploads, track/playlist edits, likes, reposts) answer 403 to an app token.
    Editing or deleting someone else's track or playlist answers 403. Private
    tracks are visible to their owner only (404 for anyone else).

    Ids in paths: numeric (``/tracks/293``) or URN (``/tracks/soundcloud:tracks:293``,
    also percent-encoded). A numeric id above 2**31 - 1 answers 422, as the live API
    does for track ids that must be sent as URNs.

    Endpoints: ``GET /tracks`` (search: ``q``, ``genres``, ``ids``, ``urns``),
    ``POST /tracks`` (multipart upload), ``GET/PUT/DELETE /tracks/{id}``,
    ``GET /tracks/{id}/stream`` and ``/download`` (302 to the CDN),
    ``GET /tracks/{id}/streams``, ``GET /tracks/{id}/favoriters``, ``GET /users``,
    ``GET /users/{id}`` and its ``/tracks``, ``/playlists``, ``/followings``,
    ``/followers``, ``/likes/tracks``; ``GET/PUT /me``, ``GET /me/tracks``,
    ``/me/playlists``, ``/me/followings``, ``/me/followers``, ``/me/likes/tracks``,
    ``PUT/DELETE /me/followings/{id}``; ``GET/POST /playlists``,
    ``GET/PUT/DELETE /playlists/{id}``, ``GET /playlists/{id}/tracks``;
    ``POST/DELETE /likes/tracks/{id}``, ``POST/DELETE /reposts/tracks/{id}``;
    ``GET /apps/{id}``; ``GET /resolve?url=...``. Removed endpoints
    (``/me/connections``, ``/me/favorites``, the retired ``/oauth2/token``) answer 405;
    a known path with another method answers 405 with ``Allow``. DELETE of a
    following, like or repost that is not there is idempotent (200); 404 only for
    a user or track that does not exist. Write bodies may be form-encoded,
    multipart or JSON (``{"track": {...}}``); they land in the same fields.
    ``/resolve`` and ``/tracks/{id}/stream`` answer 302 with ``Location`` and the
    JSON body ``{"status": "302 - Found", "location": ...}``; the Location is the
    bare resource URL (no ``client_id`` added: the client re-adds credentials).

    Collections: without ``linked_partitioning`` a bare JSON array of at most
    ``limit`` items (default 50, clamped to 1..200; deprecated ``offset`` honoured).
    With ``linked_partitioning=true``: ``{"collection": [...], "next_href": ...}``
    where ``next_href`` is an absolute URL carrying an opaque ``cursor`` and
    ``page_size`` (as the live API writes it), and ``null`` on the last page.

    Errors are SoundCloud error JSON (``code``, ``message``, ``link``, ``status``,
    ``errors``, ``error``) with ``Content-Type: application/json; charset=utf-8``.

Test hooks on the API origin (no credentials needed; every method unless noted)
    ``/_test/status/{code}[?retry_after=S&message=M]``  that status, SoundCloud error
        body (``errors[0].meta.rate_limit`` and ``x-ratelimit-*`` headers on 429;
        ``Retry-After`` only when asked, since SoundCloud does not document one).
    ``/_test/html403``  403 with a ``text/html`` body, like CloudFront in front of the API.
    ``/_test/badjson``  200 ``application/json`` whose body is not JSON.
    ``/_test/redirect?to=URL[&code=302]``  a redirect (301/302/303/307/308) to ``to``.
    ``/_test/loop``  a 302 to itself.
    ``/_test/echo``  JSON echo of method, path, query, headers and body (as text).
    ``/_test/stall``  holds the response until ``release_stalled()`` or ``stop()``
        (bounded by ``STALL_LIMIT`` seconds); ``wait_for_stalled()`` tells a test the
        request has arrived. Use it with a short client timeout: no sleeps needed.
    ``/_test/flaky?key=K&fail=N[&code=503&retry_after=S]``  the first N calls with
        that key answer ``code``, later ones 200 ``{"attempt": n}``.
    ``/_test/drop``  closes the connection without answering.
    ``/_test/truncate``  announces 100 bytes, sends 10, closes.
    ``/_test/bytes?n=N``  N deterministic bytes, ``application/octet-stream``.

CDN origin
    ``/media/{id}.mp3?expires=..&sig=..`` (full audio), ``/preview/{id}.mp3?..``
    (first ``PREVIEW_SIZE`` bytes), ``/hls/{id}/{aac_160|mp3_128}.m3u8?..`` (a one
    segment playlist). URLs are HMAC-signed and expire ``CDN_URL_LIFETIME`` seconds
    after they were handed out (403 with an XML body otherwise, like CloudFront).
    Audio is ``audio/mpeg`` with ``Accept-Ranges: bytes``; ``Range: bytes=N-``,
    ``bytes=N-M`` and ``bytes=-N`` give 206 with ``Content-Range``, 416 when
    unsatisfiable. Bytes are ``media_bytes(id)``: generated from the id, or the
    uploaded file for uploaded tracks. ``cdn_authorization_seen`` tells whether an
    ``Authorization`` header ever reached the CDN (it must not).

Auth origin (OAuth 2.1, RFC 6749 + RFC 7636 PKCE, strict like secure.soundcloud.com)
    ``GET /authorize`` auto-approves the configured user (set
    ``approve_authorizations = False`` to have the user deny). Unknown or missing
    ``client_id``, or a ``redirect_uri`` other than the registered one, answer 400
    with OAuth error JSON and no redirect (RFC 6749 4.1.2.1); every other problem
    (``response_type`` not ``code``, missing or malformed ``code_challenge``,
    ``code_challenge_method`` missing or not ``S256``) redirects with ``error``,
    ``error_description`` and ``state``.
    ``POST /oauth/token`` takes ``application/x-www-form-urlencoded`` only:
    ``authorization_code`` (single use, ``code_lifetime`` seconds, PKCE S256
    verified, redirect_uri and client_id must match; reusing a code revokes what it
    issued, RFC 6749 4.1.2), ``refresh_token`` (rotated, single use; reuse answers
    400 invalid_grant), ``client_credentials`` (client authentication only by HTTP
    Basic; credentials in the body answer 401 invalid_client; ``token_rate_limit``
    tokens per 12 hours, then 429 ``{"error": "rate_limit_exceeded"}``). ``password``
    and unknown grants answer 400 unsupported_grant_type.
    Client credentials for the other grants go in the body (as SoundCloud documents)
    or in HTTP Basic, never both (RFC 6749 2.3). A ``client_secret``, when sent, must
    be right; leaving it out is allowed (a public client, like SoundCloud's own CLI)
    unless ``require_secret=True``. A wrong or unknown client answers 401
    invalid_client with ``WWW-Authenticate: Basic``; repeated parameters and
    secrets in the URL answer 400 invalid_request.
    The client-credentials grant returns a refresh token too, as SoundCloud's token
    response does; refreshing it yields another app token and does not count
    against the token rate limit.
    ``POST /sign-out`` with JSON ``{"access_token": ...}`` revokes that token and the
    refresh token issued with it; 200 ``{}`` (also for unknown tokens, RFC 7009 2.2).
    Token responses carry the scope asked for at /authorize (``""`` by default, as
    SoundCloud's apps should ask) and ``Cache-Control: no-store``. A refreshed
    access token's predecessor stays valid until it expires.

Every request to any origin is recorded in ``requests`` (``RecordedRequest``).
Tokens are ``secrets.token_urlsafe`` values; the servers never log anything.
"""

from __future__ import annotations

import base64
import binascii
import email.message
import email.parser
import email.policy
import email.utils
import functools
import hashlib
import hmac
import json
import re
import secrets
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import (
    Any,
    Callable,
    Dict,
    FrozenSet,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Pattern,
    Sequence,
    Tuple,
    Type,
    Union,
)
from urllib.parse import parse_qs, parse_qsl, unquote, unquote_plus, urlencode, urlsplit

__all__ = [
    "CDN_URL_LIFETIME",
    "DEFAULT_TRACK_COUNT",
    "DEFAULT_USER",
    "ERROR_LINK",
    "FakeSoundCloud",
    "MEDIA_SIZE",
    "PREVIEW_SIZE",
    "RecordedRequest",
    "STALL_LIMIT",
    "Upload",
    "UploadedFile",
    "fixture",
    "s256_challenge",
]

JsonDict = Dict[str, Any]  # JSON objects at the wire boundary
Clock = Callable[[], float]

ERROR_LINK = "https://developers.soundcloud.com/docs/api/explorer/open-api"
DEFAULT_TRACK_COUNT = 450  # enough for ten pages of 50 on GET /tracks
MEDIA_SIZE = 1 << 20  # bytes of generated audio per track
PREVIEW_SIZE = 64 * 1024
CDN_URL_LIFETIME = 300  # the live CDN URLs expire within minutes
STALL_LIMIT = 60.0  # /_test/stall never holds a thread longer than this
POLL_INTERVAL = 0.02  # how often serve_forever checks for stop(): bounds stop() latency
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
MAX_INT_ID = 2**31 - 1  # larger numeric ids must be sent as URNs (422)
RATE_WINDOW = 12 * 3600  # SoundCloud: 50 client-credentials tokens per 12 h per app

DEFAULT_USER: Dict[str, Any] = {
    "id": 1,
    "username": "test-user",
    "permalink": "test-user",
    "full_name": "Test User",
    "first_name": "Test",
    "last_name": "User",
    "city": "Berlin",
    "country": "Germany",
    "description": "A user of the fake SoundCloud.",
    "website": None,
    "website_title": None,
    "discogs_name": None,
    "plan": "Free",
    "created_at": "2018/01/01 12:08:25 +0000",
    "last_modified": "2020/01/03 12:08:25 +0000",
}

# SoundCloud writes statuses as "404 - Not Found"; spelled out here because
# http.HTTPStatus renamed some phrases in Python 3.13 (422, 413).
_PHRASES: Dict[int, str] = {
    200: "OK",
    201: "Created",
    204: "No Content",
    206: "Partial Content",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    304: "Not Modified",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    416: "Requested Range Not Satisfiable",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

_TRACK_FIELDS: FrozenSet[str] = frozenset(
    {
        "title",
        "permalink",
        "sharing",
        "embeddable_by",
        "purchase_url",
        "purchase_title",
        "description",
        "genre",
        "tag_list",
        "label_name",
        "release",
        "release_date",
        "streamable",
        "downloadable",
        "license",
        "commentable",
        "reveal_stats",
        "reveal_comments",
        "isrc",
        "bpm",
        "key_signature",
    }
)
_BOOL_FIELDS: FrozenSet[str] = frozenset(
    {"streamable", "downloadable", "commentable", "reveal_stats", "reveal_comments"}
)
_LICENSES: FrozenSet[str] = frozenset(
    {
        "no-rights-reserved",
        "all-rights-reserved",
        "cc-by",
        "cc-by-nc",
        "cc-by-nd",
        "cc-by-sa",
        "cc-by-nc-nd",
        "cc-by-nc-sa",
    }
)
_USER_FIELDS: FrozenSet[str] = frozenset(
    {
        "username",
        "permalink",
        "full_name",
        "first_name",
        "last_name",
        "city",
        "country",
        "description",
        "website",
        "website_title",
        "discogs_name",
    }
)
_PLAYLIST_FIELDS: FrozenSet[str] = frozenset(
    {
        "title",
        "description",
        "sharing",
        "genre",
        "label_name",
        "license",
        "permalink",
        "purchase_title",
        "purchase_url",
        "release",
        "release_date",
        "set_type",
        "tag_list",
        "ean",
    }
)

_ADJECTIVES: Tuple[str, ...] = (
    "Midnight", "Golden", "Electric", "Quiet", "Neon", "Broken",
    "Endless", "Paper", "Velvet", "Hidden", "Northern", "Silver",
)  # fmt: skip
_NOUNS: Tuple[str, ...] = (
    "Echoes", "Harbor", "Signals", "Gardens", "Static", "Tides",
    "Satellites", "Rooms", "Lanterns", "Fields", "Circuits", "Horizons",
)  # fmt: skip
_GENRES: Tuple[str, ...] = (
    "Electronic", "Ambient", "Hip-hop & Rap", "Techno", "House",
    "Indie", "Jazz & Blues", "Classical", "Drum & Bass", "Pop",
)  # fmt: skip

_SEED_EPOCH = datetime(2019, 1, 1, tzinfo=timezone.utc)
_VERIFIER_RE: Pattern[str] = re.compile(r"[A-Za-z0-9._~-]{43,128}")
_CHALLENGE_RE: Pattern[str] = re.compile(r"[A-Za-z0-9_-]{43}")  # S256: 32 bytes, base64url
_RANGE_RE: Pattern[str] = re.compile(r"bytes=(\d*)-(\d*)")
_SLUG_RE: Pattern[str] = re.compile(r"[^a-z0-9]+")


def s256_challenge(verifier: str) -> str:
    """Return the PKCE S256 code challenge of ``verifier`` (RFC 7636 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _status_line(code: int) -> str:
    phrase = _PHRASES.get(code)
    if phrase is None:
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Unknown"
    return f"{code} - {phrase}"


def _reason(code: int) -> str:
    return _status_line(code).split(" - ", 1)[1]


def _now_stamp(clock: Clock) -> str:
    return datetime.fromtimestamp(clock(), timezone.utc).strftime("%Y/%m/%d %H:%M:%S +0000")


def _slug(text: str) -> str:
    return _SLUG_RE.sub("-", text.lower()).strip("-") or "untitled"


def _truthy(value: Optional[str]) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes", "on")


@functools.lru_cache(maxsize=8)
def _generated_media(track_id: int, size: int) -> bytes:
    # An ID3 tag header then SHAKE-256 output: deterministic, incompressible,
    # and different for every id, so a test can tell one track's bytes from another's.
    header = b"ID3\x04\x00\x00\x00\x00\x00\x00"
    if size <= len(header):
        return header[:size]
    body = hashlib.shake_256(f"fake-soundcloud-media:{track_id}".encode()).digest(size - len(header))
    return header + body


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class RecordedRequest:
    """One request as it arrived at a fake origin (``server`` is api, auth or cdn)."""

    server: str
    method: str
    path: str  # as sent, without the query, still percent-encoded
    query: Dict[str, List[str]]
    headers: Dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes

    def header(self, name: str) -> Optional[str]:
        """Return the value of header ``name`` (any case), or None."""
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    name: str  # the form field, e.g. "track[asset_data]"
    filename: Optional[str]
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Upload:
    """A ``POST /tracks`` that created a track: its text fields and its files."""

    track_id: int
    fields: Dict[str, str]
    files: Dict[str, UploadedFile]


@dataclass
class _Response:
    status: int
    body: bytes = b""
    headers: List[Tuple[str, str]] = field(default_factory=list)
    # "drop": close without answering; "truncate": send a short body then close.
    action: Optional[str] = None


class _Fail(Exception):
    """Raised by a handler to answer at once with ``response``."""

    def __init__(self, response: _Response) -> None:
        super().__init__(response.status)
        self.response = response


@dataclass
class _Caller:
    kind: str  # "user", "app" or "anonymous" (client_id only)
    user_id: Optional[int] = None


@dataclass
class _Call:
    request: RecordedRequest
    args: Tuple[str, ...] = ()
    caller: _Caller = field(default_factory=lambda: _Caller("anonymous"))

    def param(self, name: str) -> Optional[str]:
        values = self.request.query.get(name)
        return values[0] if values else None


@dataclass
class _AccessToken:
    kind: str  # "user" or "app"
    user_id: Optional[int]
    expires_at: float
    revoked: bool = False
    refresh_token: Optional[str] = None


@dataclass
class _RefreshToken:
    client_id: str
    kind: str
    user_id: Optional[int]
    scope: str
    used: bool = False
    revoked: bool = False
    access_token: Optional[str] = None


@dataclass
class _AuthCode:
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    user_id: int
    issued_at: float
    used: bool = False
    issued: List[str] = field(default_factory=list)  # tokens minted from this code


# --------------------------------------------------------------------------- responses


def _json(status: int, payload: Any, headers: Iterable[Tuple[str, str]] = ()) -> _Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    hdrs = [("Content-Type", "application/json; charset=utf-8")]
    hdrs.extend(headers)
    return _Response(status, body, hdrs)


def _api_error(
    code: int, detail: Optional[str] = None, headers: Iterable[Tuple[str, str]] = ()
) -> _Response:
    """The SoundCloud API error body, as the live API sends it."""
    status = _status_line(code)
    payload = {
        "code": code,
        "message": status,
        "link": ERROR_LINK,
        "status": status,
        "errors": [{"error_message": detail or status}],
        "error": None,
    }
    return _json(code, payload, headers)


def _oauth_error(
    code: int, error: str, description: Optional[str], headers: Iterable[Tuple[str, str]] = ()
) -> _Response:
    """An RFC 6749 5.2 error body; token responses are never cached (5.1)."""
    payload: JsonDict = {"error": error}
    if description is not None:
        payload["error_description"] = description
    hdrs = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
    hdrs.extend(headers)
    return _json(code, payload, hdrs)


def _redirect(status: int, location: str) -> _Response:
    return _json(status, {"status": _status_line(status), "location": location}, [("Location", location)])


def _ok(status: int = 200) -> _Response:
    return _json(status, {"status": _status_line(status)})


# --------------------------------------------------------------------------- body parsing


def _media_type(request: RecordedRequest) -> str:
    return (request.header("content-type") or "").split(";", 1)[0].strip().lower()


def _parse_multipart(content_type: str, body: bytes) -> Tuple[Dict[str, str], Dict[str, UploadedFile]]:
    # email.parser understands multipart/form-data once it sees the Content-Type
    # header (with its boundary) in front of the body; payloads come back byte-exact.
    raw = b"Content-Type: " + content_type.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n" + body
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    if not message.is_multipart() or message.get_boundary() is None:
        raise _Fail(_api_error(400, "malformed multipart body"))
    fields: Dict[str, str] = {}
    files: Dict[str, UploadedFile] = {}
    for part in message.get_payload():
        assert isinstance(part, email.message.Message)
        raw_name = part.get_param("name", header="content-disposition")
        if raw_name is None:
            raise _Fail(_api_error(400, "multipart part without a name"))
        name = email.utils.collapse_rfc2231_value(raw_name)
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        # RFC 7578: a part is a file when it names one, or declares a non-text type.
        if filename is not None or ("content-type" in part and part.get_content_type() != "text/plain"):
            files[name] = UploadedFile(name, filename, part.get_content_type(), data)
        else:
            fields[name] = data.decode("utf-8", "replace")
    return fields, files


def _flatten(prefix: str, value: Any, out: Dict[str, str]) -> None:
    # JSON bodies ({"track": {"title": ...}}) become the form names the API also
    # accepts (track[title]), so handlers read one shape.
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}[{key}]" if prefix else str(key), item, out)
    elif isinstance(value, list):
        if not value:
            out[f"{prefix}[]"] = ""  # an explicit empty list, e.g. a playlist emptied
        for item in value:
            if isinstance(item, dict) and set(item) <= {"urn", "id"}:
                for key, sub in item.items():
                    name = f"{prefix}[][{key}]"
                    out[name] = f"{out[name]},{sub}" if name in out else str(sub)
            else:
                out[f"{prefix}[]"] = str(item)
    elif isinstance(value, bool):
        out[prefix] = "true" if value else "false"
    elif value is None:
        out[prefix] = ""
    else:
        out[prefix] = str(value)


def _parse_form(request: RecordedRequest) -> Tuple[Dict[str, str], Dict[str, UploadedFile]]:
    """Read a write body: form-encoded, multipart or JSON, as flat form fields."""
    media = _media_type(request)
    if not request.body and media != "multipart/form-data":
        return {}, {}
    if media == "application/x-www-form-urlencoded":
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise _Fail(_api_error(400, "form body is not UTF-8")) from None
        fields: Dict[str, str] = {}
        for key, value in parse_qsl(text, keep_blank_values=True):
            # Repeated keys (playlist[tracks][][urn]=..&...) become a comma list.
            fields[key] = f"{fields[key]},{value}" if key in fields else value
        return fields, {}
    if media == "multipart/form-data":
        return _parse_multipart(request.header("content-type") or "", request.body)
    if media == "application/json":
        try:
            data = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise _Fail(_api_error(400, "body is not valid JSON")) from None
        if not isinstance(data, dict):
            raise _Fail(_api_error(400, "JSON body must be an object"))
        flat: Dict[str, str] = {}
        _flatten("", data, flat)
        return flat, {}
    raise _Fail(_api_error(400, f"unsupported Content-Type {media or '(none)'}"))


def _nested(fields: Mapping[str, str], prefix: str) -> Dict[str, str]:
    """Pick ``prefix[name]`` fields out of a form, keyed by ``name``."""
    out: Dict[str, str] = {}
    start = prefix + "["
    for key, value in fields.items():
        if key.startswith(start) and key.endswith("]") and "[" not in key[len(start) : -1]:
            out[key[len(start) : -1]] = value
    return out


# --------------------------------------------------------------------------- store


class _Store:
    """All mutable state of the fake, shared by the three origins under one lock."""

    def __init__(
        self,
        *,
        clock: Clock,
        user: Mapping[str, Any],
        tracks: Union[None, int, Sequence[Mapping[str, Any]]],
        expires_in: int,
        media_size: int,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.expires_in = expires_in
        self.media_size = media_size
        self.api_url = ""
        self.cdn_url = ""
        self.cdn_key = secrets.token_bytes(32)
        self.users: Dict[int, JsonDict] = {}
        self.tracks: Dict[int, JsonDict] = {}
        self.playlists: Dict[int, JsonDict] = {}
        self.apps: Dict[int, JsonDict] = {}
        self.followings: Dict[int, List[int]] = {}
        self.likes: Dict[int, List[int]] = {}
        self.reposts: Dict[int, List[int]] = {}
        self.media: Dict[int, bytes] = {}
        self.uploads: List[Upload] = []
        self.access_tokens: Dict[str, _AccessToken] = {}
        self.refresh_tokens: Dict[str, _RefreshToken] = {}
        self.codes: Dict[str, _AuthCode] = {}
        self.app_token_times: List[float] = []
        self.flaky: Dict[str, int] = {}
        self.grant_counts: Dict[str, int] = {}
        self.refreshes = 0
        self.cdn_authorization_seen = False
        self.next_track_id = 1
        self.next_playlist_id = 2
        self.me_id = int(user.get("id", DEFAULT_USER["id"]))
        self._seed(user, tracks)

    # -- seeding ------------------------------------------------------------

    def _seed(self, user: Mapping[str, Any], tracks: Union[None, int, Sequence[Mapping[str, Any]]]) -> None:
        me = dict(DEFAULT_USER)
        me.update(user)
        me["id"] = self.me_id
        me.setdefault("upload_seconds_left", 10800)
        self.users[self.me_id] = me
        if self.me_id != 183:
            self.add_user(
                id=183, username="forss", permalink="forss", full_name="Eric Wahlforss",
                city="Berlin", country="Germany", created_at="2007/09/05 11:42:20 +0000",
            )  # fmt: skip
        # The classic example of the SoundCloud docs and the old README.
        self.add_track(
            id=293, user_id=183, title="Flickermood", permalink="flickermood",
            genre="Electronic", duration=213886, created_at="2007/09/22 14:45:36 +0000",
            description="From the Dub Playlist", tag_list="electronic flickermood",
        )  # fmt: skip
        if self.me_id != 123:
            self.add_user(id=123, username="readme-user", full_name="The README's user 123")
        # Sixty followings: two pages at the default limit of 50.
        artists = [2001 + n for n in range(60) if 2001 + n != self.me_id]
        followed = [self.add_user(id=uid, username=f"artist-{uid - 2000}")["id"] for uid in artists]
        self.followings[self.me_id] = list(followed)
        # Generated tracks take ids 1, 2, 3, ... (skipping 293), so /tracks/1 exists.
        if tracks is None or isinstance(tracks, int):
            count = DEFAULT_TRACK_COUNT if tracks is None else tracks
            for index in range(count):
                self.add_track(**self._generated_track(index))
        else:
            for spec in tracks:
                self.add_track(**dict(spec))
        self.tracks = dict(sorted(self.tracks.items()))  # listings come in id order
        mine = [tid for tid, t in self.tracks.items() if t["user_id"] == self.me_id][:5]
        self.playlists[1] = self._new_playlist(
            1, self.me_id, {"title": "Test Playlist", "description": "Seeded by the fake."}, mine
        )
        self.apps[124] = {
            "kind": "app",
            "id": 124,
            "urn": "soundcloud:apps:124",
            "name": "SoundCloud Python API Wrapper",
            "permalink_url": "http://soundcloud.com/apps/python-api-wrapper",
            "external_url": "https://github.com/soundcloud/soundcloud-python",
            "creator": "soundcloud",
        }

    def _generated_track(self, index: int) -> JsonDict:
        adjective = _ADJECTIVES[index % len(_ADJECTIVES)]
        noun = _NOUNS[(index // len(_ADJECTIVES)) % len(_NOUNS)]
        title = f"{adjective} {noun} No. {index + 1}"
        if index % 50 == 7:
            title += " \u2014 caf\u00e9 \u266b"  # a few non-ASCII titles for encoding tests
        created = _SEED_EPOCH + timedelta(hours=7 * index)
        return {
            "title": title,
            "genre": _GENRES[index % len(_GENRES)],
            "duration": 60000 + (index * 7919) % 240000,
            "created_at": created.strftime("%Y/%m/%d %H:%M:%S +0000"),
            "tag_list": f"{noun.lower()} {_GENRES[index % len(_GENRES)].split()[0].lower()} fake",
            "bpm": 80 + index % 90,
            "playback_count": (index * 7727) % 100000,
            "description": f"Track {index + 1} of the fake SoundCloud catalogue.",
        }

    # -- users, tracks, playlists ---------------------------------------------

    def add_user(self, **fields: Any) -> JsonDict:
        with self.lock:
            uid = int(fields.pop("id", max(self.users, default=0) + 1))
            username = str(fields.pop("username", f"user-{uid}"))
            user: JsonDict = {
                "id": uid,
                "username": username,
                "permalink": _slug(username),
                "full_name": username.replace("-", " ").title(),
                "first_name": None,
                "last_name": None,
                "city": None,
                "country": None,
                "description": None,
                "website": None,
                "website_title": None,
                "discogs_name": None,
                "plan": "Free",
                "created_at": "2018/01/01 12:08:25 +0000",
                "last_modified": "2020/01/03 12:08:25 +0000",
                "upload_seconds_left": 10800,
            }
            user.update(fields)
            self.users[uid] = user
            return user

    def add_track(self, **fields: Any) -> JsonDict:
        with self.lock:
            if "id" in fields:
                tid = int(fields.pop("id"))  # explicit ids leave the numbering alone
            else:
                tid = self.next_track_id
                while tid in self.tracks:
                    tid += 1
                self.next_track_id = tid + 1
            user_id = int(fields.pop("user_id", self.me_id))
            if user_id not in self.users:
                raise ValueError(f"no user with id {user_id}")
            title = str(fields.pop("title", f"Untitled track {tid}"))
            created = fields.pop("created_at", None) or _now_stamp(self.clock)
            track: JsonDict = {
                "id": tid,
                "user_id": user_id,
                "title": title,
                "permalink": _slug(title),
                "created_at": created,
                "last_modified": created,
                "description": None,
                "genre": "",
                "tag_list": "",
                "duration": 180000,
                "bpm": None,
                "key_signature": None,
                "label_name": None,
                "license": "all-rights-reserved",
                "sharing": "public",
                "embeddable_by": "all",
                "streamable": True,
                "downloadable": False,
                "commentable": True,
                "reveal_stats": True,
                "reveal_comments": True,
                "purchase_title": None,
                "purchase_url": None,
                "release": None,
                "release_date": None,
                "isrc": None,
                "artwork_url": f"https://i1.sndcdn.com/artworks-{tid:012d}-large.jpg",
                "waveform_url": f"https://wave.sndcdn.com/fake{tid}_m.png",
                "playback_count": 0,
                "download_count": 0,
                "comment_count": 0,
                "reposts_count": 0,
                "access": "playable",
            }
            track.update(fields)
            self.tracks[tid] = track
            return track

    def _new_playlist(self, pid: int, owner: int, fields: Mapping[str, str], track_ids: List[int]) -> JsonDict:
        title = fields.get("title") or f"Playlist {pid}"
        now = _now_stamp(self.clock)
        playlist: JsonDict = {
            "id": pid,
            "user_id": owner,
            "title": title,
            "permalink": fields.get("permalink") or _slug(title),
            "description": fields.get("description") or None,
            "sharing": fields.get("sharing") or "public",
            "genre": fields.get("genre") or "",
            "tag_list": fields.get("tag_list") or "",
            "label_name": fields.get("label_name") or None,
            "license": fields.get("license") or "all-rights-reserved",
            "set_type": fields.get("set_type") or "playlist",
            "ean": fields.get("ean") or None,
            "purchase_title": fields.get("purchase_title") or None,
            "purchase_url": fields.get("purchase_url") or None,
            "release": fields.get("release") or None,
            "release_date": fields.get("release_date") or None,
            "created_at": now,
            "last_modified": now,
            "track_ids": list(track_ids),
        }
        return playlist

    def add_playlist(self, owner: int, fields: Mapping[str, str], track_ids: List[int]) -> JsonDict:
        with self.lock:
            pid = self.next_playlist_id
            self.next_playlist_id += 1
            self.playlists[pid] = self._new_playlist(pid, owner, fields, track_ids)
            return self.playlists[pid]

    def media_bytes(self, track_id: int) -> bytes:
        with self.lock:
            uploaded = self.media.get(track_id)
        return uploaded if uploaded is not None else _generated_media(track_id, self.media_size)

    # -- rendering: what the API sends ----------------------------------------

    def render_user(self, user: JsonDict, *, compact: bool = False) -> JsonDict:
        uid = user["id"]
        base = {
            "kind": "user",
            "id": uid,
            "urn": f"soundcloud:users:{uid}",
            "username": user["username"],
            "permalink": user["permalink"],
            "permalink_url": f"https://soundcloud.com/{user['permalink']}",
            "uri": f"{self.api_url}/users/{uid}",
            "avatar_url": f"https://i1.sndcdn.com/avatars-{uid:012d}-large.jpg",
            "last_modified": user["last_modified"],
            "followers_count": sum(1 for f in self.followings.values() if uid in f),
            "followings_count": len(self.followings.get(uid, ())),
            "reposts_count": len(self.reposts.get(uid, ())),
        }
        if compact:
            return base
        public = [t for t in self.tracks.values() if t["user_id"] == uid and t["sharing"] == "public"]
        base.update(
            {
                "full_name": user["full_name"],
                "first_name": user["first_name"],
                "last_name": user["last_name"],
                "city": user["city"],
                "country": user["country"],
                "description": user["description"],
                "discogs_name": user["discogs_name"],
                "website": user["website"],
                "website_title": user["website_title"],
                "created_at": user["created_at"],
                "plan": user["plan"],
                "track_count": len(public),
                "playlist_count": sum(1 for p in self.playlists.values() if p["user_id"] == uid),
                "public_favorites_count": len(self.likes.get(uid, ())),
                "subscriptions": [],
                "upload_seconds_left": user["upload_seconds_left"],
            }
        )
        return base

    def render_me(self, user: JsonDict) -> JsonDict:
        out = self.render_user(user)
        uid = user["id"]
        private = sum(1 for t in self.tracks.values() if t["user_id"] == uid and t["sharing"] == "private")
        out.update(
            {
                "comments_count": 0,
                "likes_count": len(self.likes.get(uid, ())),
                "locale": "",
                "online": False,
                "primary_email_confirmed": True,
                "private_playlists_count": 0,
                "private_tracks_count": private,
                "quota": {
                    "unlimited_upload_quota": False,
                    "upload_seconds_used": 10800 - int(user["upload_seconds_left"]),
                    "upload_seconds_left": user["upload_seconds_left"],
                },
            }
        )
        return out

    def render_track(self, track: JsonDict, caller: Optional[_Caller] = None) -> JsonDict:
        tid = track["id"]
        owner = self.users[track["user_id"]]
        out = {key: value for key, value in track.items() if key != "user_id"}
        created = track["created_at"]
        out.update(
            {
                "kind": "track",
                "urn": f"soundcloud:tracks:{tid}",
                "uri": f"{self.api_url}/tracks/{tid}",
                "stream_url": f"{self.api_url}/tracks/{tid}/stream",
                "download_url": f"{self.api_url}/tracks/{tid}/download" if track["downloadable"] else None,
                "permalink_url": f"https://soundcloud.com/{owner['permalink']}/{track['permalink']}",
                "secret_uri": None,
                "favoritings_count": sum(1 for liked in self.likes.values() if tid in liked),
                "user_favorite": bool(caller and caller.user_id and tid in self.likes.get(caller.user_id, ())),
                "user_playback_count": 0,
                "available_country_codes": None,
                "release_year": int(created[0:4]),
                "release_month": int(created[5:7]),
                "release_day": int(created[8:10]),
                "user_id": owner["id"],
                "user": self.render_user(owner, compact=True),
            }
        )
        return out

    def render_playlist(self, playlist: JsonDict, caller: _Caller, *, show_tracks: bool = True) -> JsonDict:
        pid = playlist["id"]
        owner = self.users[playlist["user_id"]]
        tracks = [self.tracks[t] for t in playlist["track_ids"] if t in self.tracks]
        out = {key: value for key, value in playlist.items() if key not in ("track_ids", "user_id")}
        out.update(
            {
                "kind": "playlist",
                "urn": f"soundcloud:playlists:{pid}",
                "uri": f"{self.api_url}/playlists/{pid}",
                "tracks_uri": f"{self.api_url}/playlists/{pid}/tracks",
                "permalink_url": f"https://soundcloud.com/{owner['permalink']}/sets/{playlist['permalink']}",
                "artwork_url": None,
                "downloadable": True,
                "streamable": True,
                "embeddable_by": "all",
                "duration": sum(int(t["duration"]) for t in tracks),
                "track_count": len(tracks),
                "likes_count": 0,
                "playlist_type": playlist["set_type"],
                "type": playlist["set_type"],
                "tags": playlist["tag_list"],
                "label": None,
                "label_id": None,
                "user_id": owner["id"],
                "user_urn": f"soundcloud:users:{owner['id']}",
                "user": self.render_user(owner, compact=True),
            }
        )
        if show_tracks:
            out["tracks"] = [self.render_track(t, caller) for t in tracks]
        return out

    def cdn_link(self, kind: str, track_id: int, suffix: str) -> str:
        """A signed CDN URL valid for ``CDN_URL_LIFETIME`` seconds."""
        path = f"/{kind}/{track_id}{suffix}"
        expires = int(self.clock()) + CDN_URL_LIFETIME
        return f"{self.cdn_url}{path}?expires={expires}&sig={self.sign(path, expires)}"

    def sign(self, path: str, expires: int) -> str:
        message = f"{path}|{expires}".encode()
        return hmac.new(self.cdn_key, message, hashlib.sha256).hexdigest()[:32]

    # -- tokens -------------------------------------------------------------

    def mint(
        self,
        *,
        kind: str,
        client_id: str,
        user_id: Optional[int],
        scope: str = "",
        expires_in: Optional[int] = None,
        with_refresh: bool = True,
    ) -> JsonDict:
        """Create an access token (and refresh token); return the token response."""
        lifetime = self.expires_in if expires_in is None else expires_in
        access = secrets.token_urlsafe(32)
        refresh = secrets.token_urlsafe(32) if with_refresh else None
        with self.lock:
            self.access_tokens[access] = _AccessToken(kind, user_id, self.clock() + lifetime, refresh_token=refresh)
            if refresh is not None:
                self.refresh_tokens[refresh] = _RefreshToken(client_id, kind, user_id, scope, access_token=access)
        response: JsonDict = {"access_token": access, "expires_in": lifetime}
        if refresh is not None:
            response["refresh_token"] = refresh
        response.update({"scope": scope, "token_type": "bearer"})
        return response

    def revoke(self, access: Optional[str], refresh: Optional[str]) -> None:
        with self.lock:
            token = self.access_tokens.get(access or "")
            if token is not None:
                token.revoked = True
                refresh = refresh or token.refresh_token
            record = self.refresh_tokens.get(refresh or "")
            if record is not None:
                record.revoked = True
                other = self.access_tokens.get(record.access_token or "")
                if other is not None:
                    other.revoked = True

    def caller_for(self, value: str) -> Optional[_Caller]:
        with self.lock:
            token = self.access_tokens.get(value)
            if token is None or token.revoked or self.clock() >= token.expires_at:
                return None
            return _Caller(token.kind, token.user_id)


# --------------------------------------------------------------------------- routing

PUBLIC = "public"  # any token, or client_id on GET/HEAD
ME = "me"  # a user token; app tokens answer 401 (no resource owner)
WRITE = "write"  # a user token; app tokens answer 403 (authenticated, not allowed)
NONE = "none"  # test hooks and the auth/CDN origins
BLOCKING = "blocking"  # a test hook that waits: no credentials, and never under the store lock

_Handler = Callable[[_Call], _Response]


@dataclass(frozen=True)
class _Route:
    methods: FrozenSet[str]
    pattern: Pattern[str]
    handler: _Handler
    access: str = PUBLIC
    locked: bool = True  # run under the store lock (everything but BLOCKING hooks)


def _routes(table: Sequence[Tuple[str, str, _Handler, str]]) -> List[_Route]:
    """Compile ``(methods, path regex, handler, access)`` rows; ``{name}`` is one path segment."""
    compiled = []
    for methods, path, handler, access in table:
        regex = re.compile(re.sub(r"\{\w+\}", "([^/]+?)", path))
        compiled.append(_Route(frozenset(methods.split()), regex, handler, access, access != BLOCKING))
    return compiled


class _App:
    """One origin: a routing table over the shared store."""

    name = ""
    routes: List[_Route]

    def __init__(self, store: _Store) -> None:
        self.store = store

    def dispatch(self, request: RecordedRequest) -> _Response:
        path = request.path.rstrip("/") or "/"
        allowed: List[str] = []
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            method = "GET" if request.method == "HEAD" and "HEAD" not in route.methods else request.method
            if method not in route.methods and "ANY" not in route.methods:
                allowed.extend(sorted(route.methods))
                continue
            call = _Call(request, tuple(unquote(group) for group in match.groups()))
            try:
                if not route.locked:
                    return self.invoke(route, call)
                with self.store.lock:
                    return self.invoke(route, call)
            except _Fail as failure:
                return failure.response
        if allowed:
            return self.error(405, "method not allowed", [("Allow", ", ".join(sorted(set(allowed))))])
        return self.error(404, f"no such resource: {request.path}")

    def invoke(self, route: _Route, call: _Call) -> _Response:
        """Run the route's handler (the API origin authenticates the caller first)."""
        return route.handler(call)

    def error(self, code: int, detail: str, headers: Iterable[Tuple[str, str]] = ()) -> _Response:
        return _api_error(code, detail, headers)


# --------------------------------------------------------------------------- API origin


class _ApiApp(_App):
    name = "api"

    def __init__(self, store: _Store, owner: FakeSoundCloud, events: _Events) -> None:
        super().__init__(store)
        self.owner = owner
        self.events = events
        self.routes = _routes(
            [
                ("GET", "/tracks", self.search_tracks, PUBLIC),
                ("POST", "/tracks", self.upload_track, WRITE),
                ("GET", "/tracks/{id}", self.get_track, PUBLIC),
                ("PUT", "/tracks/{id}", self.update_track, WRITE),
                ("DELETE", "/tracks/{id}", self.delete_track, WRITE),
                ("GET", "/tracks/{id}/stream", self.stream_track, PUBLIC),
                ("GET", "/tracks/{id}/download", self.download_track, PUBLIC),
                ("GET", "/tracks/{id}/streams", self.track_streams, PUBLIC),
                ("GET", "/tracks/{id}/favoriters", self.track_favoriters, PUBLIC),
                ("GET", "/users", self.search_users, PUBLIC),
                ("GET", "/users/{id}", self.get_user, PUBLIC),
                ("GET", "/users/{id}/tracks", self.user_tracks, PUBLIC),
                ("GET", "/users/{id}/playlists", self.user_playlists, PUBLIC),
                ("GET", "/users/{id}/followings", self.user_followings, PUBLIC),
                ("GET", "/users/{id}/followers", self.user_followers, PUBLIC),
                ("GET", "/users/{id}/likes/tracks", self.user_likes, PUBLIC),
                ("GET", "/me", self.get_me, ME),
                ("PUT", "/me", self.update_me, ME),
                ("GET", "/me/tracks", self.me_list(self.user_tracks), ME),
                ("GET", "/me/playlists", self.me_list(self.user_playlists), ME),
                ("GET", "/me/followings", self.me_list(self.user_followings), ME),
                ("GET", "/me/followers", self.me_list(self.user_followers), ME),
                ("GET", "/me/likes/tracks", self.me_list(self.user_likes), ME),
                ("PUT DELETE", "/me/followings/{id}", self.follow, ME),
                ("GET", "/playlists", self.search_playlists, PUBLIC),
                ("POST", "/playlists", self.create_playlist, WRITE),
                ("GET", "/playlists/{id}", self.get_playlist, PUBLIC),
                ("PUT", "/playlists/{id}", self.update_playlist, WRITE),
                ("DELETE", "/playlists/{id}", self.delete_playlist, WRITE),
                ("GET", "/playlists/{id}/tracks", self.playlist_tracks, PUBLIC),
                ("POST DELETE", "/likes/tracks/{id}", self.like_track, WRITE),
                ("POST DELETE", "/reposts/tracks/{id}", self.repost_track, WRITE),
                ("GET", "/apps/{id}", self.get_app, PUBLIC),
                ("GET", "/resolve", self.resolve, PUBLIC),
                ("ANY", "/me/connections(?:/.*)?", self.removed, NONE),
                ("ANY", "/me/favorites(?:/.*)?", self.removed, NONE),
                ("ANY", "/oauth2/token", self.removed, NONE),
                ("ANY", "/_test/status/{code}", self.hook_status, NONE),
                ("ANY", "/_test/html403", self.hook_html403, NONE),
                ("ANY", "/_test/badjson", self.hook_badjson, NONE),
                ("ANY", "/_test/redirect", self.hook_redirect, NONE),
                ("ANY", "/_test/loop", self.hook_loop, NONE),
                ("ANY", "/_test/echo", self.hook_echo, NONE),
                ("ANY", "/_test/stall", self.hook_stall, BLOCKING),
                ("ANY", "/_test/flaky", self.hook_flaky, NONE),
                ("ANY", "/_test/drop", self.hook_drop, NONE),
                ("ANY", "/_test/truncate", self.hook_truncate, NONE),
                ("ANY", "/_test/bytes", self.hook_bytes, NONE),
            ]
        )

    # -- authentication -------------------------------------------------------

    def invoke(self, route: _Route, call: _Call) -> _Response:
        if route.access in (PUBLIC, ME, WRITE):
            call.caller = self.authenticate(call, route.access)
        return route.handler(call)

    def authenticate(self, call: _Call, access: str) -> _Caller:
        request = call.request
        header = request.header("authorization")
        if header is not None:
            scheme, _, value = header.strip().partition(" ")
            if scheme.lower() not in ("oauth", "bearer") or not value.strip():
                raise _Fail(_api_error(401, "unsupported Authorization scheme"))
            caller = self.store.caller_for(value.strip())
            if caller is None:
                raise _Fail(_api_error(401, "invalid, expired or revoked access token"))
        elif call.param("client_id") is not None:
            # The deprecated client_id parameter still opens public reads, nothing else.
            if access != PUBLIC or request.method not in ("GET", "HEAD"):
                raise _Fail(_api_error(401, "this endpoint needs an access token"))
            if call.param("client_id") != self.owner.client_id:
                raise _Fail(_api_error(401, "unknown client_id"))
            caller = _Caller("anonymous")
        else:
            raise _Fail(_api_error(401, "no credentials: send Authorization: OAuth <token>"))
        if access == ME and caller.kind != "user":
            raise _Fail(_api_error(401, "this endpoint needs a user token, not an app token"))
        if access == WRITE and caller.kind != "user":
            raise _Fail(_api_error(403, "an app token cannot act for a user"))
        return caller

    # -- lookups --------------------------------------------------------------

    def parse_id(self, raw: str, kind: str) -> int:
        """Accept ``123`` or ``soundcloud:<kind>:123``; anything else is unknown (404)."""
        text = raw
        if ":" in raw:
            parts = raw.split(":")
            if len(parts) != 3 or parts[0] != "soundcloud" or parts[1] != kind or not parts[2].isdigit():
                raise _Fail(_api_error(404, f"no such {kind[:-1]}: {raw}"))
            return int(parts[2])
        if not text.isdigit():
            raise _Fail(_api_error(404, f"no such {kind[:-1]}: {raw}"))
        number = int(text)
        if number > MAX_INT_ID:
            raise _Fail(_api_error(422, f"numeric ids above {MAX_INT_ID} must be sent as URNs"))
        return number

    def visible(self, track: JsonDict, caller: _Caller) -> bool:
        return bool(track["sharing"] == "public" or track["user_id"] == caller.user_id)

    def track(self, call: _Call, index: int = 0) -> JsonDict:
        track = self.store.tracks.get(self.parse_id(call.args[index], "tracks"))
        if track is None or not self.visible(track, call.caller):
            raise _Fail(_api_error(404, "track not found"))
        return track

    def user(self, call: _Call, index: int = 0) -> JsonDict:
        user = self.store.users.get(self.parse_id(call.args[index], "users"))
        if user is None:
            raise _Fail(_api_error(404, "user not found"))
        return user

    def playlist(self, call: _Call) -> JsonDict:
        playlist = self.store.playlists.get(self.parse_id(call.args[0], "playlists"))
        if playlist is None or (playlist["sharing"] != "public" and playlist["user_id"] != call.caller.user_id):
            raise _Fail(_api_error(404, "playlist not found"))
        return playlist

    def owned(self, item: JsonDict, call: _Call) -> None:
        if item["user_id"] != call.caller.user_id:
            raise _Fail(_api_error(403, "you do not own this resource"))

    # -- pagination -----------------------------------------------------------

    def page(self, call: _Call, items: Sequence[Any], render: Callable[[Any], JsonDict]) -> _Response:
        """A list endpoint: bare array, or a linked-partitioning page with next_href."""
        raw_limit = call.param("limit") or call.param("page_size")
        try:
            limit = DEFAULT_LIMIT if raw_limit is None else int(raw_limit)
        except ValueError:
            raise _Fail(_api_error(400, "limit must be an integer")) from None
        limit = min(max(limit, 1), MAX_LIMIT)  # the live API clamps instead of failing
        if not _truthy(call.param("linked_partitioning")):
            offset = self.int_param(call, "offset", 0)
            return _json(200, [render(item) for item in items[offset : offset + limit]])
        offset = self.decode_cursor(call.param("cursor"))
        chunk = [render(item) for item in items[offset : offset + limit]]
        next_href = None
        if offset + limit < len(items):
            next_href = self.next_href(call.request, limit, offset + limit)
        return _json(200, {"collection": chunk, "next_href": next_href})

    def int_param(self, call: _Call, name: str, default: int) -> int:
        raw = call.param(name)
        if raw is None:
            return default
        if not raw.isdigit():
            raise _Fail(_api_error(400, f"{name} must be a non-negative integer"))
        return int(raw)

    def next_href(self, request: RecordedRequest, limit: int, offset: int) -> str:
        # Like the live API: an absolute URL with an opaque cursor and page_size.
        dropped = {"cursor", "limit", "page_size", "offset", "linked_partitioning"}
        pairs = [(k, v) for k, values in request.query.items() if k not in dropped for v in values]
        pairs += [("page_size", str(limit)), ("linked_partitioning", "true"), ("cursor", self.encode_cursor(offset))]
        return f"{self.store.api_url}{request.path}?{urlencode(pairs)}"

    @staticmethod
    def encode_cursor(offset: int) -> str:
        return base64.urlsafe_b64encode(f"fake:{offset}".encode()).rstrip(b"=").decode()

    @staticmethod
    def decode_cursor(cursor: Optional[str]) -> int:
        if cursor is None:
            return 0
        try:
            text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            prefix, _, number = text.partition(":")
            if prefix == "fake" and number.isdigit():
                return int(number)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            pass
        raise _Fail(_api_error(400, "invalid cursor"))

    def track_page(self, call: _Call, tracks: Iterable[JsonDict]) -> _Response:
        listed = [t for t in tracks if self.visible(t, call.caller)]
        return self.page(call, listed, lambda t: self.store.render_track(t, call.caller))

    def user_page(self, call: _Call, user_ids: Iterable[int]) -> _Response:
        users = [self.store.users[u] for u in user_ids if u in self.store.users]
        return self.page(call, users, self.store.render_user)

    # -- tracks ---------------------------------------------------------------

    def search_tracks(self, call: _Call) -> _Response:
        tracks: Iterable[JsonDict] = self.store.tracks.values()
        query = (call.param("q") or "").strip().lower()
        if query:
            users = self.store.users
            tracks = [
                t
                for t in tracks
                if query in " ".join(
                    str(t[k] or "") for k in ("title", "genre", "tag_list", "description")
                ).lower()
                or query in users[t["user_id"]]["username"].lower()
            ]
        genres = call.param("genres")
        if genres:
            wanted = {g.strip().lower() for g in genres.split(",")}
            tracks = [t for t in tracks if str(t["genre"]).lower() in wanted]
        ids = call.param("urns") or call.param("ids")
        if ids:
            chosen = {self.parse_id(raw.strip(), "tracks") for raw in ids.split(",") if raw.strip()}
            tracks = [t for t in tracks if t["id"] in chosen]
        return self.track_page(call, tracks)

    def get_track(self, call: _Call) -> _Response:
        return _json(200, self.store.render_track(self.track(call), call.caller))

    def apply_track_fields(self, track: JsonDict, fields: Mapping[str, str]) -> None:
        changes = _nested(fields, "track")
        for name, value in changes.items():
            if name not in _TRACK_FIELDS:
                continue
            if name == "sharing" and value not in ("public", "private"):
                raise _Fail(_api_error(422, "track[sharing] must be public or private"))
            if name == "license" and value not in _LICENSES:
                raise _Fail(_api_error(422, f"unknown license {value!r}"))
            if name == "title" and not value.strip():
                raise _Fail(_api_error(422, "track[title] must not be empty"))
            if name in _BOOL_FIELDS:
                track[name] = value.lower() in ("1", "true", "yes", "on")
            elif name == "bpm":
                try:
                    track[name] = float(value) if value else None
                except ValueError:
                    raise _Fail(_api_error(422, "track[bpm] must be a number")) from None
            else:
                track[name] = value if value != "" or name in ("description", "tag_list", "genre") else None
        if "title" in changes and "permalink" not in changes:
            track["permalink"] = _slug(changes["title"])
        track["last_modified"] = _now_stamp(self.store.clock)

    def upload_track(self, call: _Call) -> _Response:
        fields, files = _parse_form(call.request)
        title = fields.get("track[title]", "").strip()
        if not title:
            raise _Fail(_api_error(422, "track[title] is required"))
        asset = files.get("track[asset_data]")
        if asset is None:
            raise _Fail(_api_error(422, "track[asset_data] is required (a file part)"))
        for upload in files.values():
            if upload.filename is not None and len(upload.filename) > 255:
                raise _Fail(_api_error(422, "file names are limited to 255 characters"))
        assert call.caller.user_id is not None
        owner = self.store.users[call.caller.user_id]
        duration = len(asset.data) * 8 // 128  # milliseconds of 128 kbit/s audio
        track = self.store.add_track(user_id=owner["id"], title=title, duration=duration, streamable=True)
        try:
            self.apply_track_fields(track, fields)
        except _Fail:
            del self.store.tracks[track["id"]]
            raise
        if "track[artwork_data]" in files:
            track["artwork_url"] = f"https://i1.sndcdn.com/artworks-{track['id']:012d}-upload-large.jpg"
        owner["upload_seconds_left"] = max(0, int(owner["upload_seconds_left"]) - duration // 1000)
        self.store.media[track["id"]] = asset.data
        self.store.uploads.append(Upload(track["id"], dict(fields), dict(files)))
        return _json(201, self.store.render_track(track, call.caller))

    def update_track(self, call: _Call) -> _Response:
        track = self.track(call)
        self.owned(track, call)
        fields, files = _parse_form(call.request)
        self.apply_track_fields(track, fields)
        if "track[asset_data]" in files:
            raise _Fail(_api_error(422, "track[asset_data] cannot be replaced"))
        return _json(200, self.store.render_track(track, call.caller))

    def delete_track(self, call: _Call) -> _Response:
        track = self.track(call)
        self.owned(track, call)
        del self.store.tracks[track["id"]]
        self.store.media.pop(track["id"], None)
        return _ok()

    def stream_track(self, call: _Call) -> _Response:
        track = self.track(call)
        if not track["streamable"]:
            raise _Fail(_api_error(404, "track is not streamable"))
        track["playback_count"] = int(track["playback_count"]) + 1
        return _redirect(302, self.store.cdn_link("media", track["id"], ".mp3"))

    def download_track(self, call: _Call) -> _Response:
        track = self.track(call)
        if not track["downloadable"]:
            raise _Fail(_api_error(404, "track is not downloadable"))
        track["download_count"] = int(track["download_count"]) + 1
        return _redirect(302, self.store.cdn_link("media", track["id"], ".mp3"))

    def track_streams(self, call: _Call) -> _Response:
        tid = self.track(call)["id"]
        link = self.store.cdn_link
        return _json(
            200,
            {
                "hls_aac_160_url": link("hls", tid, "/aac_160.m3u8"),
                "hls_mp3_128_url": link("hls", tid, "/mp3_128.m3u8"),
                "http_mp3_128_url": link("media", tid, ".mp3"),
                "preview_mp3_128_url": link("preview", tid, ".mp3"),
            },
        )

    def track_favoriters(self, call: _Call) -> _Response:
        tid = self.track(call)["id"]
        return self.user_page(call, [u for u, liked in self.store.likes.items() if tid in liked])

    # -- users and /me ----------------------------------------------------------

    def search_users(self, call: _Call) -> _Response:
        query = (call.param("q") or "").lower()
        users = [u for u in self.store.users.values() if query in (u["username"] + " " + u["full_name"]).lower()]
        return self.page(call, users, self.store.render_user)

    def get_user(self, call: _Call) -> _Response:
        return _json(200, self.store.render_user(self.user(call)))

    def user_tracks(self, call: _Call) -> _Response:
        uid = self.user(call)["id"]
        tracks = [t for t in self.store.tracks.values() if t["user_id"] == uid]
        if (call.param("sort") or "desc") != "asc":
            tracks.reverse()  # newest upload first, the documented default
        return self.track_page(call, tracks)

    def user_playlists(self, call: _Call) -> _Response:
        uid = self.user(call)["id"]
        show = call.param("show_tracks") is None or _truthy(call.param("show_tracks"))
        playlists = [
            p
            for p in self.store.playlists.values()
            if p["user_id"] == uid and (p["sharing"] == "public" or uid == call.caller.user_id)
        ]
        return self.page(call, playlists, lambda p: self.store.render_playlist(p, call.caller, show_tracks=show))

    def user_followings(self, call: _Call) -> _Response:
        return self.user_page(call, self.store.followings.get(self.user(call)["id"], []))

    def user_followers(self, call: _Call) -> _Response:
        uid = self.user(call)["id"]
        return self.user_page(call, [u for u, followed in self.store.followings.items() if uid in followed])

    def user_likes(self, call: _Call) -> _Response:
        liked = self.store.likes.get(self.user(call)["id"], [])
        return self.track_page(call, [self.store.tracks[t] for t in liked if t in self.store.tracks])

    def me_list(self, handler: _Handler) -> _Handler:
        """Serve ``/me/<x>`` as ``/users/<caller>/<x>``."""

        def serve(call: _Call) -> _Response:
            call.args = (str(call.caller.user_id),) + call.args
            return handler(call)

        return serve

    def get_me(self, call: _Call) -> _Response:
        assert call.caller.user_id is not None
        return _json(200, self.store.render_me(self.store.users[call.caller.user_id]))

    def update_me(self, call: _Call) -> _Response:
        assert call.caller.user_id is not None
        user = self.store.users[call.caller.user_id]
        fields, _ = _parse_form(call.request)
        for name, value in _nested(fields, "user").items():
            if name in _USER_FIELDS:
                user[name] = value
        user["last_modified"] = _now_stamp(self.store.clock)
        return _json(200, self.store.render_me(user))

    def follow(self, call: _Call) -> _Response:
        assert call.caller.user_id is not None
        target = self.user(call)
        followed = self.store.followings.setdefault(call.caller.user_id, [])
        if call.request.method == "DELETE":
            # Idempotent, like DELETE should be: 404 only for a user that does not exist.
            if target["id"] in followed:
                followed.remove(target["id"])
            return _json(200, {"status": "Status(200) - OK"})
        if target["id"] == call.caller.user_id:
            raise _Fail(_api_error(422, "you cannot follow yourself"))
        if target["id"] not in followed:
            followed.append(target["id"])
        return _json(200, self.store.render_user(target))

    # -- playlists ----------------------------------------------------------------

    def search_playlists(self, call: _Call) -> _Response:
        query = (call.param("q") or "").lower()
        found = [
            p for p in self.store.playlists.values() if p["sharing"] == "public" and query in p["title"].lower()
        ]
        return self.page(call, found, lambda p: self.store.render_playlist(p, call.caller, show_tracks=False))

    def playlist_track_ids(self, fields: Mapping[str, str]) -> Optional[List[int]]:
        raw = ",".join(
            v for k, v in fields.items() if k in ("playlist[tracks][][urn]", "playlist[tracks][][id]") and v
        )
        if not raw and "playlist[tracks][]" not in fields and "playlist[tracks]" not in fields:
            return None
        ids = [self.parse_id(part.strip(), "tracks") for part in raw.split(",") if part.strip()]
        unknown = [i for i in ids if i not in self.store.tracks]
        if unknown:
            raise _Fail(_api_error(422, f"unknown tracks: {unknown}"))
        return ids

    def create_playlist(self, call: _Call) -> _Response:
        fields, _ = _parse_form(call.request)
        values = _nested(fields, "playlist")
        if not values.get("title", "").strip():
            raise _Fail(_api_error(422, "playlist[title] is required"))
        if values.get("sharing", "public") not in ("public", "private"):
            raise _Fail(_api_error(422, "playlist[sharing] must be public or private"))
        assert call.caller.user_id is not None
        ids = self.playlist_track_ids(fields) or []
        clean = {k: v for k, v in values.items() if k in _PLAYLIST_FIELDS}
        playlist = self.store.add_playlist(call.caller.user_id, clean, ids)
        return _json(201, self.store.render_playlist(playlist, call.caller))

    def get_playlist(self, call: _Call) -> _Response:
        show = call.param("show_tracks") is None or _truthy(call.param("show_tracks"))
        return _json(200, self.store.render_playlist(self.playlist(call), call.caller, show_tracks=show))

    def update_playlist(self, call: _Call) -> _Response:
        playlist = self.playlist(call)
        self.owned(playlist, call)
        fields, _ = _parse_form(call.request)
        for name, value in _nested(fields, "playlist").items():
            if name in _PLAYLIST_FIELDS:
                playlist[name] = value
        ids = self.playlist_track_ids(fields)
        if ids is not None:
            playlist["track_ids"] = ids
        playlist["last_modified"] = _now_stamp(self.store.clock)
        return _json(200, self.store.render_playlist(playlist, call.caller))

    def delete_playlist(self, call: _Call) -> _Response:
        playlist = self.playlist(call)
        self.owned(playlist, call)
        del self.store.playlists[playlist["id"]]
        return _ok()

    def playlist_tracks(self, call: _Call) -> _Response:
        ids = self.playlist(call)["track_ids"]
        return self.track_page(call, [self.store.tracks[t] for t in ids if t in self.store.tracks])

    # -- likes, reposts, apps, resolve ----------------------------------------------

    def toggle(self, table: Dict[int, List[int]], call: _Call, created: int) -> _Response:
        assert call.caller.user_id is not None
        tid = self.track(call)["id"]
        mine = table.setdefault(call.caller.user_id, [])
        if call.request.method == "DELETE":
            if tid in mine:  # idempotent: 404 only for a track that does not exist
                mine.remove(tid)
            return _ok(200)
        if tid not in mine:
            mine.append(tid)
        return _ok(created)

    def like_track(self, call: _Call) -> _Response:
        return self.toggle(self.store.likes, call, 200)

    def repost_track(self, call: _Call) -> _Response:
        return self.toggle(self.store.reposts, call, 201)

    def get_app(self, call: _Call) -> _Response:
        app = self.store.apps.get(self.parse_id(call.args[0], "apps"))
        if app is None:
            raise _Fail(_api_error(404, "app not found"))
        out = dict(app)
        out["uri"] = f"{self.store.api_url}/apps/{app['id']}"
        return _json(200, out)

    def resolve(self, call: _Call) -> _Response:
        url = call.param("url")
        if not url:
            raise _Fail(_api_error(400, "the url parameter is required"))
        location = self.resolve_url(url, call.caller)
        if location is None:
            raise _Fail(_api_error(404, f"could not resolve {url}"))
        return _redirect(302, location)

    def resolve_url(self, url: str, caller: _Caller) -> Optional[str]:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or host not in ("soundcloud.com", "www.soundcloud.com", "m.soundcloud.com"):
            return None
        segments = [unquote(s).lower() for s in parts.path.split("/") if s]
        api = self.store.api_url
        owners = [u for u in self.store.users.values() if segments and u["permalink"].lower() == segments[0]]
        if not owners:
            return None
        owner = owners[0]
        if len(segments) == 1:
            return f"{api}/users/{owner['id']}"
        if len(segments) == 2:
            for track in self.store.tracks.values():
                if track["user_id"] == owner["id"] and track["permalink"].lower() == segments[1]:
                    return f"{api}/tracks/{track['id']}" if self.visible(track, caller) else None
        if len(segments) == 3 and segments[1] == "sets":
            for playlist in self.store.playlists.values():
                if playlist["user_id"] == owner["id"] and playlist["permalink"].lower() == segments[2]:
                    return f"{api}/playlists/{playlist['id']}"
        return None

    def removed(self, call: _Call) -> _Response:
        return _api_error(405, "this endpoint has been removed")

    # -- test hooks -------------------------------------------------------------

    def hook_status(self, call: _Call) -> _Response:
        try:
            code = int(call.args[0])
        except ValueError:
            code = 0
        if not 200 <= code <= 599:
            raise _Fail(_api_error(400, "status must be 200..599"))
        headers: List[Tuple[str, str]] = []
        if call.param("retry_after") is not None:
            headers.append(("Retry-After", call.param("retry_after") or ""))
        if code in (204, 304):
            return _Response(code, b"", headers)
        response = _api_error(code, call.param("message"), headers)
        if code == 429:
            reset = datetime.fromtimestamp(self.store.clock() + 60, timezone.utc)
            payload = json.loads(response.body)
            payload["errors"][0]["meta"] = {
                "rate_limit": {
                    "bucket": "by-client",
                    "max_nr_of_requests": 15000,
                    "time_window": "PT24H",
                    "name": "plays",
                    "reset_time": reset.strftime("%Y/%m/%d %H:%M:%S +0000"),
                },
                "remaining_requests": 0,
            }
            response = _json(429, payload, headers)
            response.headers += [
                ("x-ratelimit-limit", "15000"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", str(int(reset.timestamp()))),
            ]
        return response

    def hook_html403(self, call: _Call) -> _Response:
        body = (
            b"<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\">\n"
            b"<HTML><HEAD><TITLE>ERROR: The request could not be satisfied</TITLE></HEAD>"
            b"<BODY><H1>403 ERROR</H1><H2>The request could not be satisfied.</H2>"
            b"Request blocked. Generated by cloudfront (CloudFront)</BODY></HTML>"
        )
        return _Response(403, body, [("Content-Type", "text/html"), ("X-Cache", "Error from cloudfront")])

    def hook_badjson(self, call: _Call) -> _Response:
        return _Response(200, b'{"collection": [{"id": 1,', [("Content-Type", "application/json; charset=utf-8")])

    def hook_redirect(self, call: _Call) -> _Response:
        target = call.param("to")
        code = self.int_param(call, "code", 302)
        if not target or code not in (301, 302, 303, 307, 308):
            raise _Fail(_api_error(400, "needs to=<url> and code in 301, 302, 303, 307, 308"))
        return _redirect(code, target)

    def hook_loop(self, call: _Call) -> _Response:
        return _redirect(302, f"{self.store.api_url}/_test/loop")

    def hook_echo(self, call: _Call) -> _Response:
        request = call.request
        return _json(
            200,
            {
                "method": request.method,
                "path": request.path,
                "query": request.query,
                "headers": request.headers,
                "body": request.body.decode("utf-8", "replace"),
                "body_length": len(request.body),
            },
        )

    def hook_stall(self, call: _Call) -> _Response:
        released = self.events.stall()
        if not released:
            return _Response(503, action="drop")  # the server is stopping
        return _json(200, {"status": "released"})

    def hook_flaky(self, call: _Call) -> _Response:
        key = call.param("key") or "default"
        failures = self.int_param(call, "fail", 1)
        code = self.int_param(call, "code", 503)
        attempt = self.store.flaky.get(key, 0) + 1
        self.store.flaky[key] = attempt
        if attempt <= failures:
            headers = []
            if call.param("retry_after") is not None:
                headers.append(("Retry-After", call.param("retry_after") or ""))
            return _api_error(code, f"flaky failure {attempt} of {failures}", headers)
        return _json(200, {"status": _status_line(200), "attempt": attempt})

    def hook_drop(self, call: _Call) -> _Response:
        return _Response(200, action="drop")

    def hook_truncate(self, call: _Call) -> _Response:
        return _Response(200, b'{"collecti', [("Content-Type", "application/json; charset=utf-8")], action="truncate")

    def hook_bytes(self, call: _Call) -> _Response:
        size = min(self.int_param(call, "n", 1024), 64 << 20)
        data = hashlib.shake_256(b"fake-soundcloud-bytes").digest(size) if size else b""
        return _Response(200, data, [("Content-Type", "application/octet-stream")])


# --------------------------------------------------------------------------- auth origin


class _AuthApp(_App):
    name = "auth"

    def __init__(self, store: _Store, owner: FakeSoundCloud) -> None:
        super().__init__(store)
        self.owner = owner
        self.routes = _routes(
            [
                ("GET", "/authorize", self.authorize, NONE),
                ("POST", "/oauth/token", self.token, NONE),
                ("POST", "/sign-out", self.sign_out, NONE),
            ]
        )

    def error(self, code: int, detail: str, headers: Iterable[Tuple[str, str]] = ()) -> _Response:
        return _oauth_error(code, "invalid_request" if code < 500 else "server_error", detail, headers)

    # -- /authorize ------------------------------------------------------------

    def redirect_uri_ok(self, uri: str) -> bool:
        registered = self.owner.redirect_uri
        if uri == registered:
            return True
        if not self.owner.loopback_any_port:
            return False
        # RFC 8252 7.3: loopback redirect URIs may use any port.
        a, b = urlsplit(uri), urlsplit(registered)
        return (
            a.scheme == b.scheme == "http"
            and a.hostname == b.hostname
            and a.hostname in ("127.0.0.1", "::1", "localhost")
            and (a.path, a.query) == (b.path, b.query)
        )

    def authorize(self, call: _Call) -> _Response:
        client_id = call.param("client_id")
        redirect_uri = call.param("redirect_uri")
        # RFC 6749 4.1.2.1: without a trustworthy client and redirect URI, never redirect.
        if not client_id:
            return _oauth_error(400, "invalid_request", "client_id is required")
        if client_id != self.owner.client_id:
            return _oauth_error(400, "invalid_client", "unknown client_id")
        if not redirect_uri:
            return _oauth_error(400, "invalid_request", "redirect_uri is required")
        if not self.redirect_uri_ok(redirect_uri):
            return _oauth_error(400, "invalid_request", "redirect_uri does not match the registered one")
        state = call.param("state")

        def refuse(error: str, description: str) -> _Response:
            params = [("error", error), ("error_description", description)]
            if state is not None:
                params.append(("state", state))
            return self.back_to_client(redirect_uri or "", params)

        if call.param("response_type") != "code":
            return refuse("unsupported_response_type", "response_type must be code")
        challenge = call.param("code_challenge")
        if not challenge:
            return refuse("invalid_request", "code_challenge is required (PKCE)")
        method = call.param("code_challenge_method")
        if method != "S256":
            # RFC 7636 4.4.1; OAuth 2.1 drops "plain", SoundCloud demands S256.
            return refuse("invalid_request", "code_challenge_method must be S256")
        if not _CHALLENGE_RE.fullmatch(challenge):
            return refuse("invalid_request", "code_challenge is not a BASE64URL SHA-256 value")
        if not self.owner.approve_authorizations:
            return refuse("access_denied", "the user denied the request")
        code = secrets.token_urlsafe(32)
        self.store.codes[code] = _AuthCode(
            client_id=client_id,
            redirect_uri=redirect_uri,
            challenge=challenge,
            scope=call.param("scope") or "",
            user_id=self.store.me_id,
            issued_at=self.store.clock(),
        )
        params = [("code", code)]
        if state is not None:
            params.append(("state", state))
        return self.back_to_client(redirect_uri, params)

    @staticmethod
    def back_to_client(redirect_uri: str, params: List[Tuple[str, str]]) -> _Response:
        # RFC 6749 3.1.2: keep the redirect URI's own query component.
        separator = "&" if urlsplit(redirect_uri).query else "?"
        location = redirect_uri + separator + urlencode(params)
        return _Response(302, b"", [("Location", location), ("Cache-Control", "no-store")])

    # -- /oauth/token ------------------------------------------------------------

    def token(self, call: _Call) -> _Response:
        try:
            form = self.read_form(call.request)
            grant = form.get("grant_type")
            if not grant:
                return _oauth_error(400, "invalid_request", "grant_type is required")
            if grant == "password":
                return _oauth_error(400, "unsupported_grant_type", "the password grant has been removed")
            handlers = {
                "authorization_code": self.grant_code,
                "refresh_token": self.grant_refresh,
                "client_credentials": self.grant_client_credentials,
            }
            if grant not in handlers:
                return _oauth_error(400, "unsupported_grant_type", f"unsupported grant_type {grant!r}")
            response = handlers[grant](call, form)
        except _Fail as failure:
            return failure.response
        self.store.grant_counts[grant] = self.store.grant_counts.get(grant, 0) + 1
        return _json(200, response, [("Cache-Control", "no-store"), ("Pragma", "no-cache")])

    def read_form(self, request: RecordedRequest) -> Dict[str, str]:
        if _media_type(request) != "application/x-www-form-urlencoded":
            raise _Fail(_oauth_error(400, "invalid_request", "body must be application/x-www-form-urlencoded"))
        if any(name in request.query for name in ("client_secret", "code_verifier", "refresh_token", "code")):
            raise _Fail(_oauth_error(400, "invalid_request", "credentials must not be sent in the URL"))
        try:
            pairs = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise _Fail(_oauth_error(400, "invalid_request", "body is not UTF-8")) from None
        form: Dict[str, str] = {}
        for key, value in pairs:
            if key in form:  # RFC 6749 3.2: parameters MUST NOT be repeated
                raise _Fail(_oauth_error(400, "invalid_request", f"repeated parameter {key}"))
            form[key] = value
        return form

    def basic_credentials(self, request: RecordedRequest) -> Optional[Tuple[str, str]]:
        header = request.header("authorization")
        if header is None:
            return None
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "basic":
            return None  # e.g. a stray "OAuth <token>": not client authentication at all
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _Fail(self.invalid_client("malformed Basic credentials")) from None
        user, colon, password = decoded.partition(":")
        if not colon:
            raise _Fail(self.invalid_client("malformed Basic credentials"))
        # RFC 6749 2.3.1: both parts are form-urlencoded before base64.
        return unquote_plus(user), unquote_plus(password)

    @staticmethod
    def invalid_client(description: str) -> _Response:
        # RFC 6749 5.2: 401 with WWW-Authenticate when the client tried HTTP auth.
        return _oauth_error(401, "invalid_client", description, [("WWW-Authenticate", 'Basic realm="SoundCloud"')])

    def authenticate_client(self, call: _Call, form: Mapping[str, str], *, require_secret: bool) -> str:
        """Client authentication for code and refresh grants: body or Basic, not both."""
        basic = self.basic_credentials(call.request)
        if basic is not None and ("client_secret" in form or form.get("client_id", basic[0]) != basic[0]):
            raise _Fail(_oauth_error(400, "invalid_request", "use one client authentication method (RFC 6749 2.3)"))
        client_id, secret = basic if basic is not None else (form.get("client_id", ""), form.get("client_secret"))
        if not client_id:
            raise _Fail(self.invalid_client("client_id is required"))
        if client_id != self.owner.client_id:
            raise _Fail(self.invalid_client("unknown client"))
        if secret is None or secret == "":
            if require_secret:
                raise _Fail(self.invalid_client("client_secret is required"))
        elif not hmac.compare_digest(secret, self.owner.client_secret):
            raise _Fail(self.invalid_client("wrong client_secret"))
        return client_id

    def grant_code(self, call: _Call, form: Mapping[str, str]) -> JsonDict:
        client_id = self.authenticate_client(call, form, require_secret=self.owner.require_secret)
        code = form.get("code")
        if not code:
            raise _Fail(_oauth_error(400, "invalid_request", "code is required"))
        record = self.store.codes.get(code)
        if record is None:
            raise _Fail(_oauth_error(400, "invalid_grant", "unknown authorization code"))
        if record.used:
            # RFC 6749 4.1.2: a replayed code revokes what it had issued.
            for token in record.issued:
                self.store.revoke(token, token)
            raise _Fail(_oauth_error(400, "invalid_grant", "authorization code already used"))
        record.used = True  # single use, even when this attempt fails below
        if self.store.clock() > record.issued_at + self.owner.code_lifetime:
            raise _Fail(_oauth_error(400, "invalid_grant", "authorization code expired"))
        if record.client_id != client_id:
            raise _Fail(_oauth_error(400, "invalid_grant", "code was issued to another client"))
        redirect_uri = form.get("redirect_uri")
        if not redirect_uri:
            raise _Fail(_oauth_error(400, "invalid_request", "redirect_uri is required"))
        if redirect_uri != record.redirect_uri:
            raise _Fail(_oauth_error(400, "invalid_grant", "redirect_uri differs from the authorization request"))
        verifier = form.get("code_verifier")
        if not verifier:
            raise _Fail(_oauth_error(400, "invalid_request", "code_verifier is required (PKCE)"))
        if not _VERIFIER_RE.fullmatch(verifier):
            raise _Fail(_oauth_error(400, "invalid_request", "code_verifier must be 43-128 unreserved characters"))
        if not hmac.compare_digest(s256_challenge(verifier), record.challenge):
            raise _Fail(_oauth_error(400, "invalid_grant", "code_verifier does not match code_challenge"))
        response = self.store.mint(kind="user", client_id=client_id, user_id=record.user_id, scope=record.scope)
        record.issued += [response["access_token"], response["refresh_token"]]
        return response

    def grant_refresh(self, call: _Call, form: Mapping[str, str]) -> JsonDict:
        client_id = self.authenticate_client(call, form, require_secret=self.owner.require_secret)
        value = form.get("refresh_token")
        if not value:
            raise _Fail(_oauth_error(400, "invalid_request", "refresh_token is required"))
        record = self.store.refresh_tokens.get(value)
        if record is None or record.revoked:
            raise _Fail(_oauth_error(400, "invalid_grant", "unknown or revoked refresh token"))
        if record.used:
            raise _Fail(_oauth_error(400, "invalid_grant", "refresh token already used (they are single-use)"))
        if record.client_id != client_id:
            raise _Fail(_oauth_error(400, "invalid_grant", "refresh token was issued to another client"))
        record.used = True  # rotation: the old refresh token dies, its access token lives on
        self.store.refreshes += 1
        return self.store.mint(kind=record.kind, client_id=client_id, user_id=record.user_id, scope=record.scope)

    def grant_client_credentials(self, call: _Call, form: Mapping[str, str]) -> JsonDict:
        if "client_id" in form or "client_secret" in form:
            raise _Fail(self.invalid_client("client credentials must be sent with HTTP Basic only"))
        basic = self.basic_credentials(call.request)
        if basic is None:
            raise _Fail(self.invalid_client("HTTP Basic client authentication is required"))
        client_id, secret = basic
        if client_id != self.owner.client_id or not hmac.compare_digest(secret, self.owner.client_secret):
            raise _Fail(self.invalid_client("wrong client credentials"))
        limit = self.owner.token_rate_limit
        now = self.store.clock()
        recent = [t for t in self.store.app_token_times if t > now - RATE_WINDOW]
        if limit is not None and len(recent) >= limit:
            raise _Fail(_json(429, {"error": "rate_limit_exceeded"}, [("Cache-Control", "no-store")]))
        recent.append(now)
        self.store.app_token_times = recent
        return self.store.mint(kind="app", client_id=client_id, user_id=None)

    # -- /sign-out ---------------------------------------------------------------

    def sign_out(self, call: _Call) -> _Response:
        try:
            payload = json.loads(call.request.body.decode("utf-8") or "null")
        except (UnicodeDecodeError, ValueError):
            payload = None
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            return _oauth_error(400, "invalid_request", 'body must be JSON {"access_token": "..."}')
        self.store.revoke(token, None)
        return _json(200, {})


# --------------------------------------------------------------------------- CDN origin


class _CdnApp(_App):
    name = "cdn"

    def __init__(self, store: _Store) -> None:
        super().__init__(store)
        self.routes = _routes(
            [
                ("GET", r"/media/{id}\.mp3", self.media, NONE),
                ("GET", r"/preview/{id}\.mp3", self.preview, NONE),
                ("GET", r"/hls/{id}/{name}\.m3u8", self.hls, NONE),
            ]
        )

    def dispatch(self, request: RecordedRequest) -> _Response:
        if "authorization" in request.headers:
            with self.store.lock:
                self.store.cdn_authorization_seen = True
        return super().dispatch(request)

    def error(self, code: int, detail: str, headers: Iterable[Tuple[str, str]] = ()) -> _Response:
        # The CDN is not the API: it answers like CloudFront/S3, in XML.
        name = {403: "AccessDenied", 404: "NoSuchKey", 405: "MethodNotAllowed"}.get(code, "InvalidRequest")
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{name}</Code>"
            f"<Message>{detail}</Message></Error>"
        ).encode()
        return _Response(code, body, [("Content-Type", "text/xml")] + list(headers))

    def verified_id(self, call: _Call) -> int:
        if not call.args[0].isdigit():
            raise _Fail(self.error(404, "no such object"))
        track_id = int(call.args[0])
        expires_text = call.param("expires") or ""
        sig = call.param("sig") or ""
        if not expires_text.isdigit() or not sig:
            raise _Fail(self.error(403, "missing signature"))
        expires = int(expires_text)
        path = call.request.path
        if not hmac.compare_digest(sig, self.store.sign(path, expires)):
            raise _Fail(self.error(403, "invalid signature"))
        if self.store.clock() > expires:
            raise _Fail(self.error(403, "request has expired"))
        if track_id not in self.store.tracks:
            raise _Fail(self.error(404, "no such object"))
        return track_id

    def media(self, call: _Call) -> _Response:
        return self.audio(call, self.store.media_bytes(self.verified_id(call)))

    def preview(self, call: _Call) -> _Response:
        return self.audio(call, self.store.media_bytes(self.verified_id(call))[:PREVIEW_SIZE])

    def audio(self, call: _Call, data: bytes) -> _Response:
        size = len(data)
        etag = '"' + hashlib.md5(data).hexdigest() + '"'  # noqa: S324 - an ETag, not security
        headers = [("Content-Type", "audio/mpeg"), ("Accept-Ranges", "bytes"), ("ETag", etag)]
        header = call.request.header("range")
        match = _RANGE_RE.fullmatch(header.strip()) if header else None
        if match is None or (not match.group(1) and not match.group(2)):
            return _Response(200, data, headers)  # no Range, or one we may ignore (RFC 9110 14.2)
        first, last = match.group(1), match.group(2)
        if first:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
            if last and int(last) < start:
                return _Response(200, data, headers)  # syntactically invalid: ignore it
        else:
            suffix = int(last)
            start, end = max(size - suffix, 0), size - 1
            if suffix == 0:
                start = size  # "bytes=-0" can never be satisfied
        if start >= size:
            headers.append(("Content-Range", f"bytes */{size}"))
            return _Response(416, b"", headers)
        headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
        return _Response(206, data[start : end + 1], headers)

    def hls(self, call: _Call) -> _Response:
        track_id = self.verified_id(call)
        if call.args[1] not in ("aac_160", "mp3_128"):
            raise _Fail(self.error(404, "no such rendition"))
        seconds = max(1, int(self.store.tracks[track_id]["duration"]) // 1000)
        segment = self.store.cdn_link("media", track_id, ".mp3")
        text = (
            "#EXTM3U\n#EXT-X-VERSION:3\n"
            f"#EXT-X-TARGETDURATION:{seconds}\n#EXT-X-MEDIA-SEQUENCE:0\n"
            f"#EXTINF:{seconds}.0,\n{segment}\n#EXT-X-ENDLIST\n"
        )
        return _Response(200, text.encode(), [("Content-Type", "application/vnd.apple.mpegurl")])


# --------------------------------------------------------------------------- HTTP plumbing


class _Events:
    """Coordination for /_test/stall: held requests, released by a test or by stop()."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.generation = 0
        self.stalled = 0
        self.stopping = False

    def stall(self) -> bool:
        """Block until released (True) or stopping (False); bounded by STALL_LIMIT."""
        with self.condition:
            generation = self.generation
            self.stalled += 1
            self.condition.notify_all()
            self.condition.wait_for(lambda: self.stopping or self.generation != generation, timeout=STALL_LIMIT)
            return not self.stopping

    def release(self) -> None:
        with self.condition:
            self.generation += 1
            self.condition.notify_all()

    def stop(self) -> None:
        with self.condition:
            self.stopping = True
            self.condition.notify_all()

    def wait_stalled(self, count: int, timeout: float) -> bool:
        with self.condition:
            return self.condition.wait_for(lambda: self.stalled >= count, timeout=timeout)


class _Server(ThreadingHTTPServer):
    """One origin's listening socket; remembers its open connections so stop() can cut them."""

    daemon_threads = True
    block_on_close = False  # stop() joins handler threads itself, with a deadline
    request_queue_size = 128  # many client threads connect at once; socketserver's 5 drops some

    def __init__(self, host: str, app: _App, recorder: Callable[[RecordedRequest], None]) -> None:
        self.app = app
        self.recorder = recorder
        self.connections: Dict[socket.socket, threading.Thread] = {}
        self.connections_lock = threading.Lock()
        self.closing = False
        super().__init__((host, 0), _RequestHandler)

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def register(self, connection: socket.socket) -> None:
        with self.connections_lock:
            self.connections[connection] = threading.current_thread()
            if self.closing:
                _shutdown(connection)

    def unregister(self, connection: socket.socket) -> None:
        with self.connections_lock:
            self.connections.pop(connection, None)

    def cut_connections(self) -> List[threading.Thread]:
        with self.connections_lock:
            self.closing = True
            for connection in self.connections:
                _shutdown(connection)
            return list(self.connections.values())

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up, or stop() cutting a connection, is not an error worth a traceback.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


def _shutdown(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client reuses connections
    server_version = "FakeSoundCloud/1.0"
    sys_version = ""
    timeout = 30  # an idle keep-alive connection is closed after this long
    # Headers and body go out in two writes; without TCP_NODELAY the second waits
    # for the peer's delayed ACK (~40 ms per keep-alive request).
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.register(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.unregister(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay silent: test output must not fill with request lines (or secrets)."""

    def do_GET(self) -> None:
        self.serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def read_body(self) -> Optional[bytes]:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: List[bytes] = []
            while True:
                line = self.rfile.readline(65537)
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    return None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not length.strip().isdigit():
            return None
        expected = int(length)
        data = self.rfile.read(expected)
        if len(data) < expected:
            # The client went away mid-body: never act on a cut-short request.
            return None
        return data

    def serve(self) -> None:
        body = self.read_body()
        split = urlsplit(self.path)
        headers: Dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        request = RecordedRequest(
            server=self.server.app.name,
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=headers,
            body=body or b"",
        )
        self.server.recorder(request)
        if body is None:
            self.close_connection = True
            response = _api_error(400, "malformed request body framing")
        else:
            try:
                response = self.server.app.dispatch(request)
            except Exception:  # a bug in the fake: say so loudly, answer 500
                traceback.print_exc()
                response = _api_error(500, "the fake server failed; see the test output")
        self.send(response)

    def send(self, response: _Response) -> None:
        if response.action == "drop":
            self.close_connection = True
            _shutdown(self.connection)
            return
        self.send_response(response.status, _reason(response.status))
        for name, value in response.headers:
            self.send_header(name, value)
        length = len(response.body)
        if response.action == "truncate":
            length += 90  # promise more than will come
            self.close_connection = True
        if response.status not in (204, 304):
            self.send_header("Content-Length", str(length))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)
        self.wfile.flush()


# --------------------------------------------------------------------------- public API


class FakeSoundCloud:
    """A fake SoundCloud: API, auth and CDN origins on 127.0.0.1, for tests.

    ``client_id``, ``client_secret`` and ``redirect_uri`` are the one registered app.
    ``user`` overrides fields of the user who owns the seeded tracks and who
    approves authorizations (see ``DEFAULT_USER``); ``tracks`` is how many tracks
    to generate (default ``DEFAULT_TRACK_COUNT``) or a list of field dicts. The
    track "Flickermood" (id 293, by forss) is always there.
    ``expires_in`` is the access token lifetime, ``code_lifetime`` that of an
    authorization code, both in seconds of ``clock`` (which also expires CDN URLs).
    ``token_rate_limit`` caps client-credentials tokens per 12 hours (None: no cap).
    ``require_secret`` makes code and refresh grants demand the client secret;
    ``loopback_any_port`` accepts any port on a loopback redirect URI (RFC 8252 7.3).
    ``media_size`` is the length of generated audio; ``host`` the address to bind.
    Settings may be changed on a running instance; they apply to the next request.
    """

    def __init__(
        self,
        *,
        client_id: str = "test-client-id",
        client_secret: str = "test-client-secret",
        redirect_uri: str = "http://127.0.0.1:8765/callback",
        user: Optional[Mapping[str, Any]] = None,
        expires_in: int = 3600,
        code_lifetime: int = 60,
        token_rate_limit: Optional[int] = None,
        clock: Clock = time.time,
        tracks: Union[None, int, Sequence[Mapping[str, Any]]] = None,
        require_secret: bool = False,
        loopback_any_port: bool = False,
        media_size: int = MEDIA_SIZE,
        host: str = "127.0.0.1",
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.code_lifetime = code_lifetime
        self.token_rate_limit = token_rate_limit
        self.require_secret = require_secret
        self.loopback_any_port = loopback_any_port
        self.approve_authorizations = True
        """Set to False to have the user deny at /authorize (error=access_denied)."""
        self.clock = clock
        self.host = host
        self._store = _Store(
            clock=clock, user=user or {}, tracks=tracks, expires_in=expires_in, media_size=media_size
        )
        self._events = _Events()
        self._requests: List[RecordedRequest] = []
        self._requests_lock = threading.Lock()
        self._servers: Dict[str, _Server] = {}
        self._threads: List[threading.Thread] = []
        self._started = False
        self._stopped = False

    @property
    def expires_in(self) -> int:
        """Lifetime in seconds of the access tokens issued from now on."""
        with self._store.lock:
            return self._store.expires_in

    @expires_in.setter
    def expires_in(self, seconds: int) -> None:
        with self._store.lock:
            self._store.expires_in = seconds

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> FakeSoundCloud:
        """Bind the three origins to free ports and serve them in daemon threads."""
        if self._started:
            raise RuntimeError("FakeSoundCloud already started")
        self._started = True
        apps: List[_App] = [
            _ApiApp(self._store, self, self._events),
            _AuthApp(self._store, self),
            _CdnApp(self._store),
        ]
        try:
            for app in apps:
                self._servers[app.name] = _Server(self.host, app, self._record)
        except OSError:
            for server in self._servers.values():
                server.server_close()
            raise
        with self._store.lock:
            self._store.api_url = self._servers["api"].url
            self._store.cdn_url = self._servers["cdn"].url
        for name, server in self._servers.items():
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL}, name=f"fake-soundcloud-{name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving: release stalled requests, cut open connections, join threads."""
        if not self._started or self._stopped:
            return
        self._stopped = True
        self._events.stop()
        deadline = time.monotonic() + timeout
        # shutdown() waits up to one poll interval per server: ask all three at once.
        stoppers = [threading.Thread(target=server.shutdown) for server in self._servers.values()]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join(max(0.0, deadline - time.monotonic()))
        handlers: List[threading.Thread] = []
        for server in self._servers.values():
            server.server_close()
            handlers += server.cut_connections()
        for thread in self._threads + handlers:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        """Same as ``stop()``."""
        self.stop()

    def __enter__(self) -> FakeSoundCloud:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()

    def _url(self, name: str) -> str:
        server = self._servers.get(name)
        if server is None:
            raise RuntimeError("FakeSoundCloud is not started")
        return server.url

    @property
    def api_url(self) -> str:
        """Base URL of the API origin, like ``https://api.soundcloud.com``."""
        return self._url("api")

    @property
    def auth_url(self) -> str:
        """Base URL of the authorization server, like ``https://secure.soundcloud.com``."""
        return self._url("auth")

    @property
    def cdn_url(self) -> str:
        """Base URL of the media CDN, like ``https://cf-media.sndcdn.com``."""
        return self._url("cdn")

    # -- recorded requests --------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._requests_lock:
            self._requests.append(request)

    @property
    def requests(self) -> List[RecordedRequest]:
        """A snapshot of every request received so far, all origins, in arrival order."""
        with self._requests_lock:
            return list(self._requests)

    def requests_to(self, server: str) -> List[RecordedRequest]:
        """The recorded requests of one origin: ``"api"``, ``"auth"`` or ``"cdn"``."""
        return [r for r in self.requests if r.server == server]

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._requests_lock:
            self._requests.clear()

    @property
    def cdn_authorization_seen(self) -> bool:
        """True if any request to the CDN carried an Authorization header."""
        with self._store.lock:
            return self._store.cdn_authorization_seen

    # -- tokens -----------------------------------------------------------------

    def issue_token(self, *, user: bool = True, expires_in: Optional[int] = None) -> str:
        """Mint an access token valid on the API: a user token, or an app token."""
        return str(self.issue_token_response(user=user, expires_in=expires_in)["access_token"])

    def issue_token_response(self, *, user: bool = True, expires_in: Optional[int] = None) -> Dict[str, Any]:
        """Mint tokens as ``/oauth/token`` would and return its JSON (with a refresh token).

        Not counted in ``tokens_issued``, which counts the token endpoint only.
        """
        return self._store.mint(
            kind="user" if user else "app",
            client_id=self.client_id,
            user_id=self._store.me_id if user else None,
            expires_in=expires_in,
        )

    def expire_tokens(self) -> None:
        """Make every access token issued so far expired (the API answers 401)."""
        with self._store.lock:
            past = self.clock() - 1
            for token in self._store.access_tokens.values():
                token.expires_at = min(token.expires_at, past)

    def revoke_tokens(self) -> None:
        """Revoke every access and refresh token issued so far."""
        with self._store.lock:
            for token in self._store.access_tokens.values():
                token.revoked = True
            for refresh in self._store.refresh_tokens.values():
                refresh.revoked = True

    @property
    def tokens_issued(self) -> int:
        """Access tokens issued by ``POST /oauth/token`` (all grants)."""
        with self._store.lock:
            return sum(self._store.grant_counts.values())

    @property
    def grant_counts(self) -> Dict[str, int]:
        """Successful ``POST /oauth/token`` calls per ``grant_type``."""
        with self._store.lock:
            return dict(self._store.grant_counts)

    @property
    def refresh_tokens_used(self) -> int:
        """Successful refresh-token grants."""
        with self._store.lock:
            return self._store.refreshes

    # -- data -------------------------------------------------------------------

    @property
    def user(self) -> Dict[str, Any]:
        """The configured user (the resource owner of user tokens), as ``GET /me`` shows it."""
        with self._store.lock:
            return self._store.render_me(self._store.users[self._store.me_id])

    @property
    def user_id(self) -> int:
        """Id of the configured user."""
        return self._store.me_id

    def add_track(self, **fields: Any) -> Dict[str, Any]:
        """Add a track (``id``, ``user_id``, ``title``, any Track field); return it as the API shows it."""
        with self._store.lock:
            track = self._store.add_track(**fields)
            return self._store.render_track(track)

    def add_user(self, **fields: Any) -> Dict[str, Any]:
        """Add a user (``id``, ``username``, any User field); return it as the API shows it."""
        with self._store.lock:
            return self._store.render_user(self._store.add_user(**fields))

    def get_track(self, track_id: int) -> Optional[Dict[str, Any]]:
        """The track with that id as the API shows it (to its owner), or None."""
        with self._store.lock:
            track = self._store.tracks.get(track_id)
            if track is None:
                return None
            return self._store.render_track(track, _Caller("user", track["user_id"]))

    @property
    def track_ids(self) -> List[int]:
        """Ids of all tracks, in the order ``GET /tracks`` lists them."""
        with self._store.lock:
            return list(self._store.tracks)

    def is_following(self, user_id: int) -> bool:
        """Whether the configured user follows ``user_id``."""
        with self._store.lock:
            return user_id in self._store.followings.get(self._store.me_id, [])

    def likes(self) -> List[int]:
        """Track ids the configured user likes."""
        with self._store.lock:
            return list(self._store.likes.get(self._store.me_id, []))

    @property
    def uploads(self) -> List[Upload]:
        """Every successful ``POST /tracks``, with its fields and file parts."""
        with self._store.lock:
            return list(self._store.uploads)

    def media_bytes(self, track_id: int) -> bytes:
        """The audio the CDN serves for a track."""
        return self._store.media_bytes(track_id)

    def media_url(self, track_id: int) -> str:
        """A signed CDN URL for a track's audio, as ``/tracks/{id}/stream`` redirects to."""
        self._url("cdn")
        with self._store.lock:
            return self._store.cdn_link("media", track_id, ".mp3")

    # -- stalls -----------------------------------------------------------------

    def wait_for_stalled(self, count: int = 1, timeout: float = 5.0) -> bool:
        """Wait until ``count`` requests in all have reached ``/_test/stall``."""
        return self._events.wait_stalled(count, timeout)

    def release_stalled(self) -> None:
        """Let every request held at ``/_test/stall`` answer 200."""
        self._events.release()


def fixture() -> Iterator[FakeSoundCloud]:
    """A running ``FakeSoundCloud``, stopped afterwards.

    Usable as a pytest fixture without importing pytest here::

        sc = pytest.fixture(soundcloud.testing.fixture)
    """
    with FakeSoundCloud() as server:
        yield server
