"""A friendly, standard-library-only client for the SoundCloud API.

The public names are the ones in ``__all__``; everything else is reached through them.
To send requests another way, subclass :class:`Transport` (``handle_request(Request)``) and
pass it as ``Client(transport=...)``.

    >>> import soundcloud
    >>> client = soundcloud.Client(client_id=YOUR_CLIENT_ID)
    >>> track = client.get('/resolve', url='https://soundcloud.com/forss/flickermood')
    >>> print(track.title)

``import soundcloud`` imports none of the package's modules: each public name imports the
module that defines it when first used (PEP 562 ``__getattr__``), so ``soundcloud.Client``
loads the client, and ``soundcloud.NotFoundError`` only the errors. The package is imported
whenever one of its modules is, above all by pytest, which imports the plugin
``soundcloud.testing.pytest_plugin`` at start-up in every project where the package is
installed (and rewrites the asserts of every ``soundcloud`` module it then imports): there,
the client must not come along until a test asks for it.
"""

from __future__ import annotations

# Not typing.TYPE_CHECKING: importing typing costs ~9 ms (python -S -X importtime), ten times
# the rest of this module. Type checkers treat any name TYPE_CHECKING as true (mypy, pyright).
TYPE_CHECKING = False
if TYPE_CHECKING:  # the same names, for type checkers: at run time __getattr__ imports them
    from typing import Dict, Final, List

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

    __compiled__: bool

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

# Each public name and the module that defines it (re-exports it, for a subpackage),
# imported on first use.
_MODULE_OF: Final[Dict[str, str]] = {
    "AccessDeniedError": "errors",
    "BadRequestError": "errors",
    "Client": "client",
    "ConnectError": "errors",
    "DecodeError": "errors",
    "DownloadError": "errors",
    "FileTokenStore": "auth",
    "ForbiddenError": "errors",
    "HTTPError": "errors",
    "HTTPTransport": "transport",
    "Headers": "_models",
    "InsecureRedirectError": "errors",
    "InvalidClientError": "errors",
    "InvalidGrantError": "errors",
    "InvalidRequestError": "errors",
    "InvalidScopeError": "errors",
    "MissingFieldError": "errors",
    "NotFoundError": "errors",
    "OAuthError": "errors",
    "ProtocolError": "errors",
    "RateLimit": "_models",
    "RateLimitedTokenError": "errors",
    "RedirectError": "errors",
    "Request": "_models",
    "Resource": "resources",
    "ResourceList": "resources",
    "ResponseTooLargeError": "errors",
    "SQLiteTokenStore": "auth",
    "ServerError": "errors",
    "SoundCloudError": "errors",
    "StateMismatchError": "errors",
    "StreamResponse": "resources",
    "Timeout": "_models",
    "TimeoutError": "errors",
    "Token": "auth",
    "TokenStore": "auth",
    "TokenStoreError": "errors",
    "TooManyRedirectsError": "errors",
    "TooManyRequestsError": "errors",
    "Transport": "transport",
    "TransportError": "errors",
    "USE_CLIENT_DEFAULT": "client",
    "UnauthorizedClientError": "errors",
    "UnauthorizedError": "errors",
    "UnprocessableEntityError": "errors",
    "UnsupportedGrantTypeError": "errors",
    "UploadInterruptedError": "errors",
    "__version__": "_version",
    "to_urn": "encoding",
}


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))


# Not named _compiled: importing the submodule soundcloud._compiled sets that attribute.
def _is_compiled() -> bool:
    """Whether the client is a mypyc-compiled extension module (a compiled wheel), without
    importing it: where the import system finds it (or found it) is where it loads from."""
    from importlib.machinery import EXTENSION_SUFFIXES
    from importlib.util import find_spec

    spec = find_spec(f"{__name__}.client")  # __name__: a vendored copy has another
    return spec is not None and (spec.origin or "").endswith(tuple(EXTENSION_SUFFIXES))


# Hidden from type checkers: they see the imports above, and a module __getattr__ would make
# every misspelt name an `object` to them instead of an error. This module is never compiled
# (soundcloud/_compiled.py), so the conditional definition costs nothing.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        if name == "__compiled__":
            value: object = _is_compiled()
        else:
            module = _MODULE_OF.get(name)
            if module is None:
                raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
            # `from .module import name`, as the compiler writes it: importlib.import_module
            # would cost `import importlib` (0.4 ms without site) on every start-up.
            value = getattr(__import__(module, globals(), None, (name,), 1), name)
        globals()[name] = value  # the next lookup is an ordinary one
        return value
