"""Tokens and where they are kept: :class:`Token`, :func:`token_from_response`,
the :class:`TokenStore` protocol and :class:`FileTokenStore`.

A :class:`Token` is the token endpoint's answer with its absolute expiry; its ``repr``
hides its secrets. A store keeps one Token between runs (and between processes sharing it).
"""

from __future__ import annotations

import os
import stat
import time
from typing import Any, Callable, Dict, Final, List, Mapping, Optional, Protocol, Tuple, TypeVar, Union, cast

from .. import _log
from .._fs import FileLock, atomic_write, remove_stale_temporaries
from .._json import loads
from ..errors import OAuthError, TokenStoreError
from .oauth import CLIENT_CREDENTIALS

__all__ = ["FileTokenStore", "Token", "TokenStore", "token_from_response"]


_C = TypeVar("_C")

MAX_STORE_SIZE: Final = 1024 * 1024
LOCK_SUFFIX: Final = ".lock"

# A token's lifetime in whole seconds, up to 100 years: SoundCloud's tokens live an hour, and
# anything larger (Infinity and 1e400 decode to inf) is a broken answer, not a lifetime.
MAX_EXPIRES_IN: Final = 100 * 365 * 24 * 3600
# The last second datetime can show (9999-12-31T23:59:59Z): a later expires_at is no date.
MAX_EXPIRES_AT: Final = 253_402_300_799.0


# --------------------------------------------------------------------------- checks


def token_text_error(value: str, what: str) -> Optional[str]:
    """Why ``value`` cannot be an access or refresh token (``what`` names it), or None when it can.

    RFC 6749 A.12 and A.17: both are VSCHAR, printable ASCII (%x20-7E). A line break (a token
    read from a file with its newline), another control character or a non-ASCII character
    would break the ``Authorization`` header, or be sent as something else. The message never
    shows the value.
    """
    if not isinstance(cast(object, value), str):
        return f"the {what} must be a string, not {type(value).__name__}"
    if not value:
        return f"the {what} is empty"
    if not (value.isascii() and value.isprintable()):
        return (
            f"the {what} contains a line break, another control character or a character outside"
            " printable ASCII (RFC 6749 A.12)"
        )
    return None


# Added where a token comes from the application, which may have read it from a file.
STRIP_HINT: Final = ": a token read from a file keeps its newline, strip it (token.strip())"


def _expires_in_error(value: object, *, strings: bool) -> Tuple[Optional[int], Optional[str]]:
    """``value`` as a lifetime in whole seconds, or the reason it is not one (None stays None)."""
    if value is None:
        return None, None
    if strings and isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        value = int(value)  # RFC 6749 5.1 says a number; some servers send "3600"
    # bool is an int; NaN fails every comparison; inf and huge ints fail the upper bound.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_EXPIRES_IN:
        return None, f"'expires_in' must be a number of seconds from 0 to {MAX_EXPIRES_IN}"
    return int(value), None


def _expires_at_error(value: object) -> Tuple[Optional[float], Optional[str]]:
    """``value`` as a finite timestamp, or the reason it is not one (None stays None)."""
    if value is None:
        return None, None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_EXPIRES_AT:
        return None, "'expires_at' must be a finite timestamp (seconds since the epoch) or null"
    return float(value), None


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
        problem = token_text_error(access_token, "access token")
        if problem is None and refresh_token:  # "" is taken as None, as it always was
            problem = token_text_error(refresh_token, "refresh token")
        if problem is None:
            problem = _expires_in_error(expires_in, strings=False)[1] or _expires_at_error(expires_at)[1]
        if problem is not None:
            raise ValueError(problem + STRIP_HINT if "line break" in problem else problem)
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
        problem = token_text_error(access_token, "access token")
        if problem is None and refresh_token:
            problem = token_text_error(refresh_token, "refresh token")
        if problem is not None:
            raise ValueError("in the saved token, " + problem)
        expires_in, problem = _expires_in_error(data.get("expires_in"), strings=False)
        if problem is None:
            expires_at, problem = _expires_at_error(data.get("expires_at"))
        if problem is not None:
            raise ValueError("the saved token's " + problem)
        scope = data.get("scope")
        token_type = data.get("token_type")
        grant_type = data.get("grant_type")
        if grant_type is not None and not isinstance(grant_type, str):
            raise ValueError("the saved token's 'grant_type' must be a string or null")
        return cls(
            access_token,
            refresh_token or None,
            expires_in,
            expires_at,
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

    def __reduce__(self) -> Tuple[Any, ...]:
        # mypyc's native classes do not unpickle or copy through copyreg (their __new__ runs
        # __init__ without arguments): rebuilt through the constructor, which checks the values.
        return (type(self), self._fields())


def token_from_response(
    data: Any,
    *,
    now: float,
    grant_type: str,
    previous: Optional[Token] = None,
) -> Token:
    """Build a Token from a token endpoint's JSON (RFC 6749 5.1), stamping ``expires_at``.

    A refresh response without a new refresh token keeps ``previous``'s (RFC 6749 6).
    Raises OAuthError (never echoing the body) when the response is not a usable token: no
    access token, a token that is not printable ASCII, an ``expires_in`` that is not a
    number of seconds (Infinity, NaN, negative, a boolean, ``"²"``).
    """
    if not isinstance(data, dict):
        raise OAuthError("the token endpoint answered with JSON that is not a token response", error="invalid_response")
    access_token = data.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise OAuthError("the token endpoint's response has no access_token", error="invalid_response")
    refresh_token = data.get("refresh_token")
    if not isinstance(refresh_token, str) or not refresh_token:
        refresh_token = previous.refresh_token if previous is not None else None
    problem = token_text_error(access_token, "access token")
    if problem is None and refresh_token is not None:
        problem = token_text_error(refresh_token, "refresh token")
    expires_in: Optional[int] = None
    if problem is None:
        expires_in, problem = _expires_in_error(data.get("expires_in"), strings=True)
    if problem is not None:
        # Refused whole: a token that cannot be sent, or whose expiry is unknowable, is not
        # one (RFC 6749 5.1). Never echoed: the message names the field only.
        raise OAuthError("the token endpoint's response is not a usable token: " + problem, error="invalid_response")
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


def token_to_json(token: Token) -> str:
    """``token`` as the JSON text the package's stores keep (:meth:`Token.to_dict`, sorted keys)."""
    import json

    return json.dumps(token.to_dict(), indent=2, sort_keys=True, allow_nan=False) + "\n"


def token_from_json(data: Union[str, bytes]) -> Token:
    """The Token a store kept as :func:`token_to_json` text.

    ValueError when it is not one, its message a predicate for the store's own subject
    ("is corrupt (not JSON)", "does not hold a saved token (...)"), never showing the data.
    """
    try:
        # soundcloud._json: a value nested 200,000 deep is a ValueError, not a RecursionError.
        parsed = loads(data)
    except ValueError:
        raise ValueError("is corrupt (not JSON)") from None
    try:
        return Token.from_dict(parsed)
    except ValueError as exc:
        raise ValueError(f"does not hold a saved token ({exc})") from None


def refuse_shared_directory(path: str) -> None:
    """TokenStoreError when the directory of the store at ``path`` is writable by every user (POSIX).

    Anyone could plant a token there: even with the sticky bit (/tmp), another user can
    create the store's file first (or its lock file), and the store would load their token.
    A missing directory passes: the store creates it private (0700) when it first writes.
    """
    if os.name != "posix":
        return
    directory = os.path.dirname(path)
    try:
        mode = os.stat(directory).st_mode
    except OSError:
        return
    if mode & stat.S_IWOTH:
        raise TokenStoreError(
            f"the directory {directory} of the token store {os.path.basename(path)} is writable by every"
            f" user, so anyone could plant a token there: keep the token in a private directory (or"
            f" chmod o-w {directory})"
        )


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
    and :class:`~soundcloud.SQLiteTokenStore` are ready-made; a store shared by several processes gives each the tokens the
    others saved, since the client looks in it again before every renewal::

        class RedisTokenStore(soundcloud.TokenStore):
            def load(self): ...
            def save(self, token): ...
            def clear(self): ...

    Optional: a ``locked()`` method returning a context manager. The client holds it around
    each renewal (read the store again, refresh, save), so that processes sharing the store
    spend a single-use refresh token once; :meth:`FileTokenStore.locked` locks a file,
    :meth:`SQLiteTokenStore.locked` a database.
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

    Processes sharing the file take turns: :meth:`locked` holds a lock on ``<path>.lock``
    (mode 0600, left in place) across processes (``fcntl.flock`` on POSIX, ``msvcrt.locking``
    on Windows; where neither exists, across this process's threads only). The client holds
    it around a renewal's read, refresh and write, so a single-use refresh token is spent
    once; every save and clear holds it too. A save removes the temporary files a crashed save
    left. A path that is not a regular file (a directory, a FIFO) and, on POSIX, a directory
    that every user may write to (anyone could plant a token there) raise TokenStoreError.
    """

    def __init__(
        self,
        path: Union[str, "os.PathLike[str]"],
        *,
        write: Callable[[int, bytes], int] = os.write,
    ) -> None:
        self.path: str = os.path.abspath(os.path.expanduser(os.fspath(path)))
        self._write = write

    def locked(self) -> _StoreLock:
        """A context manager holding the store's lock, across processes; reentrant per thread."""
        return _StoreLock(self)

    def load(self) -> Optional[Token]:
        """The saved Token, None when there is no file.

        TokenStoreError when the file is corrupt or holds no usable token, is not a regular
        file, or sits in a directory every user may write to.
        """
        refuse_shared_directory(self.path)
        data = self._read()
        if data is None:
            return None
        try:
            token = token_from_json(data)
        except ValueError as exc:
            raise TokenStoreError(
                f"the token file {self.path} {exc}: delete it, or call store.clear(), and log in again"
            ) from None
        _log.debug("loaded a token from %s", self.path)
        return token

    def save(self, token: Token) -> None:
        """Write ``token`` atomically (temporary file, fsync, rename), mode 0600, under the lock."""
        payload = token_to_json(token).encode("utf-8")
        with self.locked():
            # No other save runs now: a temporary file is what a crashed one left.
            remove_stale_temporaries(self.path)
            self._check_target()
            atomic_write(self.path, (payload,), private=True, write=self._write)
        _log.debug("saved a token to %s", self.path)

    def clear(self) -> None:
        """Delete the file (nothing happens when there is none)."""
        if not os.path.lexists(self.path):
            return  # nothing to clear: no directory or lock file is made for it
        with self.locked():
            if self._check_target():
                try:
                    os.unlink(self.path)
                except FileNotFoundError:
                    pass

    def _error(self, problem: str) -> TokenStoreError:
        return TokenStoreError(f"the token file {self.path} {problem}")

    def _check_target(self) -> bool:
        """True when the path is a file (or a link) to replace or delete; False when missing."""
        try:
            mode = os.lstat(self.path).st_mode
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise self._error(f"cannot be inspected ({exc.strerror})") from None
        if stat.S_ISLNK(mode):
            try:
                mode = os.stat(self.path).st_mode
            except OSError:
                return True  # a dangling link: replaced or deleted like a file
        if not stat.S_ISREG(mode):
            raise self._error("is not a regular file (a directory, FIFO or device): remove it or use another path")
        return True

    def _read(self) -> Optional[bytes]:
        # O_NONBLOCK: opening a FIFO put at the path would wait for a writer forever.
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(self.path, flags)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._error(f"cannot be read ({exc.strerror})") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise self._error("is not a regular file (a directory, FIFO or device): remove it or use another path")
            chunks: List[bytes] = []
            size = 0
            while size <= MAX_STORE_SIZE:
                chunk = os.read(fd, MAX_STORE_SIZE + 1 - size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except OSError as exc:
            raise self._error(f"cannot be read ({exc.strerror})") from None
        finally:
            os.close(fd)
        if size > MAX_STORE_SIZE:
            raise self._error("is too large to be a saved token")
        return b"".join(chunks)

    def __repr__(self) -> str:
        return f"FileTokenStore({self.path!r})"


class _StoreLock:
    """What :meth:`FileTokenStore.locked` returns: the store's :class:`~soundcloud._fs.FileLock`,
    entered only after the directory passed its check, with OSError as TokenStoreError."""

    __slots__ = ("_store", "_lock")

    def __init__(self, store: FileTokenStore) -> None:
        self._store = store
        self._lock = FileLock(store.path + LOCK_SUFFIX)

    def __enter__(self) -> None:
        refuse_shared_directory(self._store.path)
        try:
            self._lock.__enter__()
        except OSError as exc:
            # A directory this process cannot write to included: it could not save a renewed
            # token there either, and the refresh token it spent would be lost with it.
            raise self._store._error(f"cannot be locked ({exc.strerror or exc}: {self._lock.path})") from None

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        self._lock.__exit__(exc_type, exc, traceback)
