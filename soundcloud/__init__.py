"""A friendly, standard-library-only client for the SoundCloud API.

The public names are the ones in ``__all__``; everything else is reached through them.
To send requests another way, subclass :class:`Transport` (``handle_request(Request)``) and
pass it as ``Client(transport=...)``.

    >>> import soundcloud
    >>> client = soundcloud.Client(client_id=YOUR_CLIENT_ID)
    >>> track = client.get('/resolve', url='https://soundcloud.com/forss/flickermood')
    >>> print(track.title)
"""

from __future__ import annotations

from importlib.machinery import EXTENSION_SUFFIXES

from . import client as _client_module
from ._models import Headers, RateLimit, Request, Timeout
from ._version import __version__
from .auth import FileTokenStore, SQLiteTokenStore, Token, TokenStore
from .client import USE_CLIENT_DEFAULT, Client
from .encoding import to_urn
from .errors import (
    AccessDeniedError,
    BadRequestError,
    ConnectError,
    DecodeError,
    DownloadError,
    ForbiddenError,
    HTTPError,
    InsecureRedirectError,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    MissingFieldError,
    NotFoundError,
    OAuthError,
    ProtocolError,
    RateLimitedTokenError,
    RedirectError,
    ResponseTooLargeError,
    ServerError,
    SoundCloudError,
    StateMismatchError,
    TimeoutError,
    TokenStoreError,
    TooManyRedirectsError,
    TooManyRequestsError,
    TransportError,
    UnauthorizedClientError,
    UnauthorizedError,
    UnprocessableEntityError,
    UnsupportedGrantTypeError,
    UploadInterruptedError,
)
from .resources import Resource, ResourceList, StreamResponse
from .transport import HTTPTransport, Transport

__all__ = [
    "AccessDeniedError",
    "BadRequestError",
    "Client",
    "ConnectError",
    "DecodeError",
    "DownloadError",
    "FileTokenStore",
    "ForbiddenError",
    "HTTPError",
    "HTTPTransport",
    "Headers",
    "InsecureRedirectError",
    "InvalidClientError",
    "InvalidGrantError",
    "InvalidRequestError",
    "InvalidScopeError",
    "MissingFieldError",
    "NotFoundError",
    "OAuthError",
    "ProtocolError",
    "RateLimit",
    "RateLimitedTokenError",
    "RedirectError",
    "Request",
    "Resource",
    "ResourceList",
    "ResponseTooLargeError",
    "SQLiteTokenStore",
    "ServerError",
    "SoundCloudError",
    "StateMismatchError",
    "StreamResponse",
    "Timeout",
    "TimeoutError",
    "Token",
    "TokenStore",
    "TokenStoreError",
    "TooManyRedirectsError",
    "TooManyRequestsError",
    "Transport",
    "TransportError",
    "USE_CLIENT_DEFAULT",
    "UnauthorizedClientError",
    "UnauthorizedError",
    "UnprocessableEntityError",
    "UnsupportedGrantTypeError",
    "UploadInterruptedError",
    "__compiled__",
    "__version__",
    "to_urn",
]

# True when the mypyc-compiled modules are in use (a compiled wheel), False for pure Python.
__compiled__: bool = (_client_module.__file__ or "").endswith(tuple(EXTENSION_SUFFIXES))
