"""Tokens and where they are kept: :class:`Token`, :func:`token_from_response`,
the :class:`TokenStore` protocol and :class:`FileTokenStore`.

A :class:`Token` is the token endpoint's answer with its absolute expiry; its ``repr``
hides its secrets. A store keeps one Token between runs (and between processes sharing it).
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Dict, Final, Mapping, Optional, Protocol, Tuple, TypeVar, Union, cast

from .. import _log
from .._fs import atomic_write
from ..errors import OAuthError, TokenStoreError
from .oauth import CLIENT_CREDENTIALS

__all__ = ["FileTokenStore", "Token", "TokenStore", "token_from_response"]


_C = TypeVar("_C")

MAX_STORE_SIZE: Final = 1024 * 1024


# --------------------------------------------------------------------------- Token


class Token:
    """An OAuth token as issued by SoundCloud; ``repr`` and ``str`` never show its secrets.

    ``expires_at`` is the absolute expiry (seconds since the epoch, by the clock of the client
    that received it), or None when unknown. ``grant_type`` is the grant that issued it
    (``'client_credentials'`` marks an app token, which is renewed without a user). Save it
    with :meth:`to_dict` and restore it with :meth:`from_dict` or ``Client(token=...)``::

        json.dump(client.token.to_dict(), file)
        client = soundcloud.Client(client_id=ID, client_secret=SECRET, token=json.load(file))
    """

    __slots__ = ("access_token", "refresh_token", "expires_in", "expires_at", "scope", "token_type", "grant_type")

    def __init__(
        self,
        access_token: str,
        refresh_token: Optional[str] = None,
        expires_in: Optional[int] = None,
        expires_at: Optional[float] = None,
        scope: str = "",
        token_type: str = "bearer",
        grant_type: Optional[str] = None,
    ) -> None:
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.expires_in = expires_in
        self.expires_at = expires_at
        self.scope = scope
        self.token_type = token_type
        self.grant_type = grant_type

    @property
    def is_app_token(self) -> bool:
        """True for a token of the client-credentials grant (no user behind it)."""
        return self.grant_type == CLIENT_CREDENTIALS

    def expires_within(self, seconds: float, now: Optional[float] = None) -> bool:
        """True when the token expires within ``seconds`` from ``now`` (False when unknown)."""
        if self.expires_at is None:
            return False
        current = time.time() if now is None else now
        return current >= self.expires_at - seconds

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` restores it."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_in": self.expires_in,
            "expires_at": self.expires_at,
            "scope": self.scope,
            "token_type": self.token_type,
            "grant_type": self.grant_type,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Token:
        """Rebuild a Token saved with :meth:`to_dict`; ValueError when it is not one."""
        if not isinstance(cast(object, data), Mapping):
            raise ValueError(f"a saved token is a dict (from Token.to_dict()), not {type(data).__name__}")
        access_token = data.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise ValueError("a saved token needs a non-empty 'access_token' string")
        refresh_token = data.get("refresh_token")
        if refresh_token is not None and not isinstance(refresh_token, str):
            raise ValueError("the saved token's 'refresh_token' must be a string or null")
        expires_in = data.get("expires_in")
        if expires_in is not None and (isinstance(expires_in, bool) or not isinstance(expires_in, (int, float))):
            raise ValueError("the saved token's 'expires_in' must be a number of seconds or null")
        expires_at = data.get("expires_at")
        if expires_at is not None and (isinstance(expires_at, bool) or not isinstance(expires_at, (int, float))):
            raise ValueError("the saved token's 'expires_at' must be a timestamp or null")
        scope = data.get("scope")
        token_type = data.get("token_type")
        grant_type = data.get("grant_type")
        if grant_type is not None and not isinstance(grant_type, str):
            raise ValueError("the saved token's 'grant_type' must be a string or null")
        return cls(
            access_token,
            refresh_token or None,
            int(expires_in) if expires_in is not None else None,
            float(expires_at) if expires_at is not None else None,
            scope if isinstance(scope, str) else "",
            token_type if isinstance(token_type, str) and token_type else "bearer",
            grant_type or None,
        )

    def _fields(self) -> Tuple[object, ...]:
        return (
            self.access_token,
            self.refresh_token,
            self.expires_in,
            self.expires_at,
            self.scope,
            self.token_type,
            self.grant_type,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Token):
            return NotImplemented
        return self._fields() == other._fields()

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, Token):
            return NotImplemented
        return self._fields() != other._fields()

    def __repr__(self) -> str:
        refresh = "'***'" if self.refresh_token else "None"
        return (
            f"Token(access_token='***', refresh_token={refresh}, expires_at={self.expires_at!r},"
            f" scope={self.scope!r}, token_type={self.token_type!r}, grant_type={self.grant_type!r})"
        )

    def __str__(self) -> str:
        return self.__repr__()


def token_from_response(
    data: Any,
    *,
    now: float,
    grant_type: str,
    previous: Optional[Token] = None,
) -> Token:
    """Build a Token from a token endpoint's JSON (RFC 6749 5.1), stamping ``expires_at``.

    A refresh response without a new refresh token keeps ``previous``'s (RFC 6749 6).
    Raises OAuthError (never echoing the body) when the response is not a token.
    """
    if not isinstance(data, dict):
        raise OAuthError("the token endpoint answered with JSON that is not a token response", error="invalid_response")
    access_token = data.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise OAuthError("the token endpoint's response has no access_token", error="invalid_response")
    refresh_token = data.get("refresh_token")
    if not isinstance(refresh_token, str) or not refresh_token:
        refresh_token = previous.refresh_token if previous is not None else None
    expires_in: Optional[int] = None
    raw_expires = data.get("expires_in")
    if isinstance(raw_expires, (int, float)) and not isinstance(raw_expires, bool):
        expires_in = int(raw_expires)
    elif isinstance(raw_expires, str) and raw_expires.strip().isdigit():
        expires_in = int(raw_expires.strip())
    scope = data.get("scope")
    if not isinstance(scope, str):
        scope = previous.scope if previous is not None else ""
    token_type = data.get("token_type")
    return Token(
        access_token,
        refresh_token,
        expires_in,
        now + expires_in if expires_in is not None else None,
        scope,
        token_type if isinstance(token_type, str) and token_type else "bearer",
        grant_type,
    )


# --------------------------------------------------------------------------- token stores


def _python_class(cls: _C) -> _C:
    """Leave a class an ordinary Python class when mypyc compiles this module.

    mypyc compiles a class with a decorator it does not know as a regular class; here that
    lets applications subclass :class:`TokenStore` (interpreted code cannot subclass a
    compiled Protocol, which mypyc makes a trait).
    """
    return cls


@_python_class
class TokenStore(Protocol):
    """Where a Token is kept between runs: ``load``, ``save`` and ``clear``.

    Any object with these three methods will do (it is a Protocol; subclassing it is
    optional). The client loads from it at start when it has no token, saves every new
    token, and clears it on :meth:`~soundcloud.Client.sign_out`. :class:`FileTokenStore`
    is the ready-made one; a store shared by several processes gives each the tokens the
    others saved, since the client looks in it again before every renewal::

        class RedisTokenStore(soundcloud.TokenStore):
            def load(self): ...
            def save(self, token): ...
            def clear(self): ...
    """

    def load(self) -> Optional[Token]:
        """The saved Token, or None when nothing is saved."""
        ...

    def save(self, token: Token) -> None:
        """Save ``token``, replacing what was saved."""
        ...

    def clear(self) -> None:
        """Forget the saved token."""
        ...


class FileTokenStore:
    """A token kept in a JSON file that only its owner can read (mode 0600).

    Every save writes a temporary file beside the target (mode 0600 whatever the umask),
    fsyncs it and renames it over the target, so a crash or a full disk leaves the old token
    intact and an existing file with looser permissions ends up 0600. A missing parent
    directory is created with mode 0700. Loading a corrupt file raises TokenStoreError
    (naming the file, never its contents): delete it, or call :meth:`clear`, and log in
    again. ``write`` is the low-level write call (``os.write``), injectable for tests::

        store = soundcloud.FileTokenStore('~/.config/myapp/soundcloud-token.json')
        client = soundcloud.Client(client_id=ID, client_secret=SECRET, token_store=store)
    """

    def __init__(
        self,
        path: Union[str, "os.PathLike[str]"],
        *,
        write: Callable[[int, bytes], int] = os.write,
    ) -> None:
        self.path: str = os.path.abspath(os.path.expanduser(os.fspath(path)))
        self._write = write

    def load(self) -> Optional[Token]:
        """The saved Token, None when there is no file; TokenStoreError when it is corrupt."""
        import json
        try:
            with open(self.path, "rb") as file:
                data = file.read(MAX_STORE_SIZE + 1)
        except FileNotFoundError:
            return None
        if len(data) > MAX_STORE_SIZE:
            raise TokenStoreError(f"the token file {self.path} is too large to be a saved token")
        try:
            parsed = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise TokenStoreError(
                f"the token file {self.path} is corrupt (not JSON): delete it, or call"
                " store.clear(), and log in again"
            ) from None
        try:
            token = Token.from_dict(parsed)
        except ValueError as exc:
            raise TokenStoreError(
                f"the token file {self.path} does not hold a saved token ({exc}): delete it, or"
                " call store.clear(), and log in again"
            ) from None
        _log.debug("loaded a token from %s", self.path)
        return token

    def save(self, token: Token) -> None:
        """Write ``token`` atomically (temporary file, fsync, rename), mode 0600."""
        import json
        payload = (json.dumps(token.to_dict(), indent=2, sort_keys=True) + "\n").encode("utf-8")
        atomic_write(self.path, (payload,), private=True, write=self._write)
        _log.debug("saved a token to %s", self.path)

    def clear(self) -> None:
        """Delete the file (nothing happens when there is none)."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def __repr__(self) -> str:
        return f"FileTokenStore({self.path!r})"
