"""A fake SoundCloud for tests: three real HTTP servers on 127.0.0.1.

``FakeSoundCloud`` starts three threaded stdlib servers on ephemeral ports, one per
origin the real service has, so that a client under test crosses origins exactly as
it does in production::

    api_url   like https://api.soundcloud.com      the REST API
    auth_url  like https://secure.soundcloud.com   OAuth 2.1 authorization server
    cdn_url   like https://cf-media.sndcdn.com     signed, expiring audio URLs: AAC HLS,
                                                   30 s previews, originals, artwork

Example::

    with FakeSoundCloud() as sc:
        token = sc.issue_token()
        client = soundcloud.Client(access_token=token, api_url=sc.api_url,
                                   auth_url=sc.auth_url)
        assert client.get("/me").username == sc.user["username"]

or, in a ``conftest.py``: ``sc = pytest.fixture(soundcloud.testing.fixture)``.

The behaviour follows ``SOUNDCLOUD_API.md`` (the project's record of how the live
service behaves) and the shapes of the official OpenAPI spec. Each module's docstring
describes its part in detail:

    fake        ``FakeSoundCloud`` and ``fixture()``: start, stop, inspect, mint tokens
    api         the API origin: the route table, credentials, ``/resolve``, ``/apps``
    api_base    what API handlers share: ids, visibility, pagination (``next_href``)
    api_tracks  tracks, uploads, streams and downloads, likes and reposts
    api_users   users, ``/me``, followings, playlists
    api_me      the rest of ``/me``: activities and feed (``future_href``), followers,
                recently played, reposts and playlist likes
    api_social  comments, playlist likes and reposts, reposters, related tracks and users,
                web profiles, preview, storefront, a user's likes and reposts
    api_search  the searches ``GET /tracks``, ``/users``, ``/playlists`` and their filters
    api_query   how query filters (comma lists, deepObject ranges) and write bodies are read
    api_hooks   ``/_test/...``: statuses, broken bodies, redirects, stalls, drops
    oauth       the authorization server: ``/authorize``, ``/oauth/token``, ``/sign-out``
    cdn         the CDN: signed, expiring HLS playlists and segments, previews, originals,
                artwork, Range requests, injected segment faults
    hls         the AAC HLS fixture (``hls_fixture()``: its facts) and the playlist writers
    forms       write bodies (form-encoded, multipart, JSON) as one shape of fields
    http        servers, request handler, ``RecordedRequest``, answers, routing base
    store       all mutable state under one lock, the seed data, token records
    store_social  followers both ways, playlist likes and reposts with their times, plays
    store_pages   comments, storefronts, web profiles
    store_cdn     URL signing (CloudFront style), stream shapes, segment faults, originals,
                  artwork

Layers, bottom to top: ``hls`` < ``store_social``, ``store_pages``, ``store_cdn`` <
``store`` < ``http`` < ``forms`` < ``api_query`` < ``api_base`` < ``api_tracks``,
``api_users``, ``api_me``, ``api_social``, ``api_search``, ``api_hooks`` < ``api``;
``oauth`` and ``cdn`` sit on ``http`` (``cdn`` on ``hls`` too); ``fake`` on all of them. The fake shares no code with the client: it imports only the standard
library, and ``import soundcloud`` never imports it.

Every request to any origin is recorded in ``requests`` (``RecordedRequest``).
Tokens are ``secrets.token_urlsafe`` values; the servers never log anything.

``pytest_plugin`` is not part of the fake: it gives pytest users the fixtures
``soundcloud_fake`` and ``soundcloud_client``, and is the one module here that imports
pytest and the client (its public names, to hand tests a logged-in ``Client``). The
package installs it as a ``pytest11`` plugin, so pytest imports it at start-up in every
project where the package is installed. That is why this package is lazy: ``import
soundcloud.testing`` loads none of the modules above, and each public name imports its
module when first used (PEP 562 ``__getattr__``), so the plugin costs nothing until a test
asks for the fake.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Dict, Final, List

if TYPE_CHECKING:  # the same names, for type checkers: at run time __getattr__ imports them
    from .fake import FakeSoundCloud, fixture
    from .hls import PREVIEW_SECONDS, HlsFixture, hls_fixture
    from .http import ERROR_LINK, STALL_LIMIT, RecordedRequest
    from .oauth import s256_challenge
    from .store import CDN_URL_LIFETIME, DEFAULT_TRACK_COUNT, DEFAULT_USER, MEDIA_SIZE, Upload, UploadedFile

__all__ = [
    "CDN_URL_LIFETIME",
    "DEFAULT_TRACK_COUNT",
    "DEFAULT_USER",
    "ERROR_LINK",
    "FakeSoundCloud",
    "HlsFixture",
    "MEDIA_SIZE",
    "PREVIEW_SECONDS",
    "RecordedRequest",
    "STALL_LIMIT",
    "Upload",
    "UploadedFile",
    "fixture",
    "hls_fixture",
    "s256_challenge",
]

# Each public name and the module that defines it, imported on first use.
_MODULE_OF: Final[Dict[str, str]] = {
    "CDN_URL_LIFETIME": "store",
    "DEFAULT_TRACK_COUNT": "store",
    "DEFAULT_USER": "store",
    "ERROR_LINK": "http",
    "FakeSoundCloud": "fake",
    "HlsFixture": "hls",
    "MEDIA_SIZE": "store",
    "PREVIEW_SECONDS": "hls",
    "RecordedRequest": "http",
    "STALL_LIMIT": "http",
    "Upload": "store",
    "UploadedFile": "store",
    "fixture": "fake",
    "hls_fixture": "hls",
    "s256_challenge": "oauth",
}


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))


# Hidden from type checkers: they see the imports above, and a module __getattr__ would make
# every misspelt name an `object` to them instead of an error. This package is never
# compiled (soundcloud/_compiled.py), so the conditional definition costs nothing.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        module = _MODULE_OF.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", __name__), name)
        globals()[name] = value  # the next lookup is an ordinary one
        return value
