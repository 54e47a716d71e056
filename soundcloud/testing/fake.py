"""``FakeSoundCloud``: the three origins started, stopped and inspected as one object.

It owns the store and the three servers (API, auth, CDN) and gives tests their handles:
the origins' URLs, the recorded requests, tokens minted without the OAuth dance, the
data as the API shows it, and the ``/_test/stall`` controls. ``fixture()`` is the same
as a pytest fixture, without importing pytest.

Audio controls (the CDN's behaviour is described in ``cdn``): ``set_stream`` chooses the
shape of a track's HLS (segments, master playlist, byte ranges, relative URIs, DRM,
``styp``, renditions), ``expire_stream_urls`` expires every CDN URL handed out so far,
``break_segment`` makes the next requests of a segment fail, ``set_artwork`` gives a track
a PNG cover or none, and ``stream_requests`` / ``segment_fetches`` tell what the CDN saw.
``hls_fixture()`` has the fixture's facts (``soundcloud.testing.hls``) for predicting
what a download decodes to.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any, Dict, Final, Iterator, List, Mapping, Optional, Sequence, Tuple, Type, Union

from .api import _ApiApp
from .cdn import _CdnApp
from .hls import RENDITIONS, HlsFixture, StreamShape, artwork_bytes, hls_fixture, stream_bytes
from .http import RecordedRequest, _App, _Events, _Server
from .oauth import _AuthApp
from .store import MEDIA_SIZE, Clock, Upload, _Caller, _Store
from .store_cdn import _SegmentFault

__all__ = ["FakeSoundCloud", "fixture"]

POLL_INTERVAL: Final = 0.02  # how often serve_forever checks for stop(): bounds stop() latency


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
        """A track's original, as the CDN serves it: the uploaded file, or generated bytes."""
        return self._store.media_bytes(track_id)

    def media_url(self, track_id: int) -> str:
        """A signed CDN URL for a track's original, as ``/tracks/{id}/download`` redirects to."""
        self._url("cdn")
        with self._store.lock:
            return self._store.cdn_link("media", track_id, "." + self._store.original(track_id)[1])

    def preview_url(self, track_id: int) -> str:
        """A signed CDN URL for a track's 30-second preview, as ``/tracks/{id}/stream`` redirects to."""
        self._url("cdn")
        with self._store.lock:
            return self._store.cdn_link("preview", track_id, ".mp3")

    def hls_url(self, track_id: int, rendition: str = "aac_160") -> str:
        """A signed CDN URL of a track's playlist, as ``/streams`` lists it (``hls_<rendition>_url``)."""
        self._url("cdn")
        with self._store.lock:
            return self._store.sign_url(self._store.stream_path(self._track(track_id), rendition))

    def _track(self, track_id: int) -> int:
        if track_id not in self._store.tracks:
            raise KeyError(f"no track with id {track_id}")
        return track_id

    # -- audio controls ---------------------------------------------------------------

    def set_stream(
        self,
        track_id: int,
        *,
        segments: int = 4,
        master: bool = False,
        byteranges: bool = False,
        range_offsets: bool = True,
        absolute_uris: bool = True,
        encrypted: bool = False,
        styp: bool = False,
        renditions: Sequence[str] = RENDITIONS,
    ) -> None:
        """Choose how the CDN serves a track's HLS from now on (the default is the call without options).

        ``segments``: how many media segments (1 to ``hls.MAX_STREAM_SEGMENTS``; the fixture's
        four fragments repeat). ``master``: ``/streams`` lists a master playlist naming the
        renditions (BANDWIDTH, ``CODECS="mp4a.40.2"``). ``byteranges``: one ``stream.mp4``
        holds the init segment and every segment, addressed with ``EXT-X-MAP:...,BYTERANGE``
        and ``EXT-X-BYTERANGE``; ``range_offsets=False`` then writes ``@offset`` on the first
        range only. ``absolute_uris=False``: playlists give URIs relative to themselves (each
        with its signed query). ``encrypted``: ``#EXT-X-KEY:METHOD=SAMPLE-AES`` (DRM).
        ``styp``: each segment starts with a ``styp`` box. ``renditions``: which of
        ``aac_160`` and ``aac_96`` exist (``/streams`` lists only those).
        """
        shape = StreamShape(
            segments=segments,
            master=master,
            byteranges=byteranges,
            range_offsets=range_offsets,
            absolute_uris=absolute_uris,
            encrypted=encrypted,
            styp=styp,
            renditions=tuple(renditions),
        )
        with self._store.lock:
            self._store.streams[self._track(track_id)] = shape

    def expire_stream_urls(self) -> None:
        """Make every CDN URL handed out so far answer 403 as expired; URLs signed later work."""
        with self._store.lock:
            self._store.expire_all()

    def break_segment(
        self,
        track_id: int,
        index: int,
        *,
        status: int = 500,
        times: int = 1,
        rendition: Optional[str] = None,
        truncate: bool = False,
    ) -> None:
        """Make the next ``times`` requests of a segment fail (after their signature is checked).

        ``index`` is the segment's 0-based position in the playlist; ``rendition`` None means
        whichever rendition is asked for. The CDN answers ``status`` (403 and 410 with the
        XML body of an expired URL, as CloudFront does), or with ``truncate`` announces a
        Content-Length larger than the body it sends and closes the connection. Planned
        faults of one segment are used in the order they were planned.
        """
        if times < 1 or index < 0 or not 400 <= status <= 599:
            raise ValueError("break_segment needs index >= 0, times >= 1 and a 4xx or 5xx status")
        if rendition is not None and rendition not in RENDITIONS:
            raise ValueError(f"no rendition {rendition!r}: one of {', '.join(RENDITIONS)}")
        with self._store.lock:
            fault = _SegmentFault(index, rendition, status, times, truncate)
            self._store.faults.setdefault(self._track(track_id), []).append(fault)

    def set_artwork(self, track_id: int, kind: Optional[str] = "jpeg") -> None:
        """Give a track the JPEG (``"jpeg"``) or PNG (``"png"``) cover fixture, or none (None:
        ``artwork_url`` becomes null)."""
        if kind not in ("jpeg", "png", None):
            raise ValueError(f"artwork kind must be 'jpeg', 'png' or None, not {kind!r}")
        with self._store.lock:
            content_type = None if kind is None else f"image/{kind}"
            self._store.set_artwork(self._track(track_id), content_type, artwork_bytes(kind or "jpeg"))

    def stream_requests(self, track_id: int) -> List[RecordedRequest]:
        """The CDN requests for a track's HLS (playlists, init, segments), in arrival order."""
        prefix = f"/hls/{track_id}/"
        return [r for r in self.requests_to("cdn") if r.path.startswith(prefix)]

    def segment_fetches(self, track_id: int, rendition: Optional[str] = None) -> Dict[int, int]:
        """How many times each segment was asked for (0-based index -> requests, failed ones too).

        In the byte-range shape a request of ``stream.mp4`` counts for the segment its Range
        starts at. ``rendition`` None counts every rendition.
        """
        with self._store.lock:
            shape = self._store.stream_shape(track_id)
        counts: Dict[int, int] = {}
        for request in self.stream_requests(track_id):
            parts = request.path.split("/")  # "", "hls", id, rendition, file
            if len(parts) != 5 or (rendition is not None and parts[3] != rendition):
                continue
            index = self._segment_index(parts[3], parts[4], request, shape)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        return counts

    @staticmethod
    def _segment_index(rendition: str, name: str, request: RecordedRequest, shape: StreamShape) -> Optional[int]:
        if name.startswith("seg-") and name.endswith(".m4s") and name[4:-4].isdigit():
            return int(name[4:-4]) - 1
        if name != "stream.mp4" or rendition not in RENDITIONS:
            return None
        first = (request.header("range") or "").partition("=")[2].partition("-")[0]
        starts: Tuple[int, ...] = tuple(offset for offset, _ in stream_bytes(rendition, shape.segments, shape.styp)[1])
        return starts.index(int(first)) if first.isdigit() and int(first) in starts else None

    @staticmethod
    def hls_fixture(rendition: str = "aac_160") -> HlsFixture:
        """The fixture's facts: sample rate, channels, each segment's duration and samples."""
        return hls_fixture(rendition)

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
