""":class:`SQLiteTokenStore`: tokens in an SQLite database that many processes and threads share.

One row per key (an account, an app) in the table ``soundcloud_tokens`` of one database file, so
a fleet of workers on one machine keeps several accounts in one place. The database is in WAL
mode (readers never wait for the writer: https://sqlite.org/wal.html), and
:meth:`SQLiteTokenStore.locked` holds its write lock (``BEGIN IMMEDIATE``) around a renewal's
read, refresh and save, so a single-use refresh token is spent once across every process and
thread sharing the file.

Connections are short: each ``load``, ``save`` and ``clear`` outside ``locked()`` opens its own
and closes it, so nothing is shared across ``fork()`` or threads and there is nothing to close.
Inside ``locked()`` the thread's operations run on the locking connection, in its transaction
(another connection would wait for our own lock).

``sqlite3`` is imported when the store is first used, not by ``import soundcloud`` (it costs
milliseconds: see LAZY_IMPORTS in tests/unit/test_layout.py). This module is not compiled:
it is I/O bound, a few statements per renewal.
"""

from __future__ import annotations

import math
import os
import stat
import threading
import time
from typing import TYPE_CHECKING, Callable, Dict, Final, Optional, Tuple, TypeVar, Union

from .. import _log
from .._fs import PRIVATE_FILE_MODE, make_private_dirs
from ..errors import TokenStoreError
from .tokens import MAX_STORE_SIZE, Token, refuse_shared_directory, token_from_json, token_to_json

if TYPE_CHECKING:
    import sqlite3

__all__ = ["DEFAULT_TIMEOUT", "SQLiteTokenStore"]

_T = TypeVar("_T")

# How long an operation waits for a busy database before it gives up, in seconds. The holder
# of the write lock may be renewing a token: one HTTP request, bounded by the client's
# timeouts (10 s to connect and 30 s per read by default), so this leaves room for a slow one.
DEFAULT_TIMEOUT: Final = 120.0
# The pauses between attempts that SQLite refused at once with SQLITE_BUSY, without waiting
# in its busy handler (switching to WAL, recovering a WAL, a snapshot that went stale).
FIRST_PAUSE: Final = 0.005
LONGEST_PAUSE: Final = 0.1

# SQLite's primary result codes (https://sqlite.org/rescode.html).
SQLITE_BUSY: Final = 5
SQLITE_LOCKED: Final = 6
SQLITE_NOTADB: Final = 26

CREATE_TABLE: Final = (
    "CREATE TABLE IF NOT EXISTS soundcloud_tokens (key TEXT PRIMARY KEY NOT NULL, token TEXT NOT NULL)"
)
# The size is read first, so that a row too large to be a token is never loaded.
SELECT_TOKEN: Final = (
    "SELECT length(CAST(token AS BLOB)), CASE WHEN length(CAST(token AS BLOB)) <= ? THEN token END"
    " FROM soundcloud_tokens WHERE key = ?"
)
SAVE_TOKEN: Final = "INSERT OR REPLACE INTO soundcloud_tokens (key, token) VALUES (?, ?)"
DELETE_TOKEN: Final = "DELETE FROM soundcloud_tokens WHERE key = ?"


class SQLiteTokenStore:
    """Tokens in an SQLite database (mode 0600) shared by processes and threads, one per ``key``.

    ::

        store = soundcloud.SQLiteTokenStore('~/.local/state/myapp/tokens.db', key='alice')
        client = soundcloud.Client(client_id=ID, client_secret=SECRET, token_store=store)

    Every worker on the machine passes its own store on the same file: the client holds
    :meth:`locked` (the database's write lock) around each renewal, so a refresh token is
    spent once and the others adopt the token it brought. Stores of other keys in the same
    file are independent. The database is in WAL mode; SQLite's locks need a local file
    system (not NFS or another network file system).

    The file is created mode 0600 (SQLite gives its ``-wal`` and ``-shm`` files the same mode),
    a missing parent directory 0700. ``timeout`` is how long, in seconds, an operation waits
    for a database another connection keeps busy before it raises TokenStoreError. A path that
    is a directory or not an SQLite database, a row that holds no saved token, and on POSIX a
    directory every user may write to raise TokenStoreError (naming the file and the key,
    never the token). ``':memory:'`` and ``''`` are a ValueError: every connection would see
    a database of its own.
    """

    def __init__(
        self,
        path: Union[str, "os.PathLike[str]"],
        key: str = "default",
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        raw = os.fspath(path)
        if not isinstance(raw, str):
            raise TypeError(f"the database path must be a str or os.PathLike[str], not {type(raw).__name__}")
        if raw in ("", ":memory:"):
            # Checked before abspath, which would make them files in the working directory.
            raise ValueError(
                f"SQLiteTokenStore needs a database file, not {raw!r}: each connection would see a"
                " database of its own, and the store opens one per operation"
            )
        if not isinstance(key, str) or not key:
            raise ValueError("the key of an SQLiteTokenStore must be a non-empty string")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf:
            raise ValueError("timeout must be a positive, finite number of seconds")
        self.path: str = os.path.abspath(os.path.expanduser(raw))
        self.key: str = key
        self.timeout: float = float(timeout)

    def locked(self) -> _DatabaseLock:
        """A context manager holding the database's write lock, across processes; reentrant per thread."""
        return _DatabaseLock(self)

    def load(self) -> Optional[Token]:
        """The Token saved under this store's key, or None (no database, or no row).

        TokenStoreError when the row holds no usable token, the file is not an SQLite
        database, or the database stays busy longer than ``timeout``.
        """
        refuse_shared_directory(self.path)
        if _held(self.path) is None and not os.path.lexists(self.path):
            return None  # nothing saved: no database is made for it
        row = self._using_connection("reading the token", self._select)
        if row is None:
            return None
        size, value = row
        if size is not None and size > MAX_STORE_SIZE:
            raise self._row_error("is too large to be a saved token")
        if not isinstance(value, (str, bytes)):
            raise self._row_error("is corrupt (not JSON text)")
        try:
            token = token_from_json(value)
        except ValueError as exc:
            raise self._row_error(str(exc)) from None
        _log.debug("loaded a token from %s (key %r)", self.path, self.key)
        return token

    def save(self, token: Token) -> None:
        """Save ``token`` under this store's key, replacing what was saved there."""
        payload = token_to_json(token)
        if len(payload.encode("utf-8")) > MAX_STORE_SIZE:
            # A load would refuse it: better to say so now than to lose the token later.
            raise self._row_error("would be too large to be a saved token")
        refuse_shared_directory(self.path)
        self._using_connection(
            "saving the token", lambda connection: connection.execute(SAVE_TOKEN, (self.key, payload))
        )
        _log.debug("saved a token to %s (key %r)", self.path, self.key)

    def clear(self) -> None:
        """Delete the row of this store's key (nothing happens when there is none)."""
        if _held(self.path) is None and not os.path.lexists(self.path):
            return  # nothing to clear: no database is made for it
        refuse_shared_directory(self.path)
        self._using_connection("clearing the token", lambda connection: connection.execute(DELETE_TOKEN, (self.key,)))

    def __repr__(self) -> str:
        return f"SQLiteTokenStore({self.path!r}, key={self.key!r})"

    # -- connections -----------------------------------------------------------------------

    def _select(self, connection: sqlite3.Connection) -> Optional[Tuple[Optional[int], object]]:
        row = connection.execute(SELECT_TOKEN, (MAX_STORE_SIZE, self.key)).fetchone()
        return None if row is None else (row[0], row[1])

    def _using_connection(self, doing: str, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        """``operation`` on this thread's locking connection, or on a short one of its own."""
        import sqlite3

        held = _held(self.path)
        if held is not None:
            try:
                return operation(held.connection)
            except sqlite3.Error as exc:
                raise self._sqlite_error(exc, doing) from None

        def once(connection: sqlite3.Connection) -> _T:
            try:
                return operation(connection)
            finally:
                connection.close()

        return self._retrying(doing, once)

    def _retrying(self, doing: str, attempt: Callable[[sqlite3.Connection], _T]) -> _T:
        """``attempt`` on a new connection, again while the database is busy, up to ``timeout``.

        ``attempt`` owns the connection: it closes it, or keeps it when it succeeds.
        """
        import sqlite3

        deadline = time.monotonic() + self.timeout
        pause = FIRST_PAUSE
        while True:
            try:
                return attempt(self._connect(deadline))
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise self._sqlite_error(exc, doing) from None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TokenStoreError(
                        f"the token database {self.path} stayed busy (locked by another connection)"
                        f" for {self.timeout:g} s while {doing} of key {self.key!r}: another process"
                        " may be stuck in a renewal; try again, or give SQLiteTokenStore a longer timeout="
                    ) from None
                time.sleep(min(pause, remaining))
                pause = min(pause * 2, LONGEST_PAUSE)
            except sqlite3.Error as exc:
                raise self._sqlite_error(exc, doing) from None

    def _connect(self, deadline: float) -> sqlite3.Connection:
        """A new connection in autocommit mode, WAL on and the table made, SQLite's busy
        handler waiting until ``deadline``."""
        import sqlite3

        self._create_private_file()
        # isolation_level=None: no implicit BEGIN; the transactions are the ones written here.
        connection = sqlite3.connect(self.path, timeout=max(deadline - time.monotonic(), 0.0), isolation_level=None)
        try:
            # Persistent in the file: a no-op once it is WAL. A database SQLite cannot put in
            # WAL mode keeps its rollback journal, where BEGIN IMMEDIATE locks all the same.
            connection.execute("PRAGMA journal_mode=WAL").fetchone()
            connection.execute(CREATE_TABLE)
        except BaseException:
            connection.close()
            raise
        return connection

    def _create_private_file(self) -> None:
        """Create the database file mode 0600 (and its directory 0700) before SQLite opens it.

        SQLite would create it with the umask's mode (0644, readable by every user); it gives
        the ``-wal`` and ``-shm`` files the mode of the database file.
        """
        try:
            make_private_dirs(os.path.dirname(self.path))
            # O_NONBLOCK: never wait in open() for a FIFO put at the path (refused below).
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
            fd = os.open(self.path, flags, PRIVATE_FILE_MODE)
        except IsADirectoryError:
            raise self._file_error("is a directory: remove it or use another path") from None
        except OSError as exc:
            raise self._file_error(f"cannot be opened ({exc.strerror or exc})") from None
        try:
            status = os.fstat(fd)
            if not stat.S_ISREG(status.st_mode):
                raise self._file_error("is not a regular file (a FIFO or device): remove it or use another path")
            if os.name == "posix" and status.st_mode & 0o077 and status.st_uid == os.getuid():
                # Made by someone else's code with looser permissions: tightened, as
                # FileTokenStore tightens its file, with the journal files SQLite copied it to.
                os.fchmod(fd, PRIVATE_FILE_MODE)
                for suffix in ("-wal", "-shm"):
                    try:
                        os.chmod(self.path + suffix, PRIVATE_FILE_MODE)
                    except OSError:
                        pass  # missing, or not ours
        except OSError as exc:
            raise self._file_error(f"cannot be opened ({exc.strerror or exc})") from None
        finally:
            os.close(fd)

    # -- errors ----------------------------------------------------------------------------

    def _file_error(self, problem: str) -> TokenStoreError:
        return TokenStoreError(f"the token database {self.path} {problem}")

    def _row_error(self, problem: str) -> TokenStoreError:
        return TokenStoreError(
            f"the token of key {self.key!r} in the database {self.path} {problem}: call store.clear()"
            " and log in again"
        )

    def _sqlite_error(self, exc: sqlite3.Error, doing: str) -> TokenStoreError:
        # SQLite's messages are fixed texts ("disk I/O error"): the values are bound
        # parameters, never part of a statement, so no token can appear in them.
        if _result_code(exc) == SQLITE_NOTADB or "not a database" in str(exc):
            return self._file_error(f"is not an SQLite database ({exc}): remove it or use another path")
        return self._file_error(f"failed while {doing} of key {self.key!r} ({exc})")


# --------------------------------------------------------------------------- the lock


class _Transaction:
    """A thread's hold on one database's write lock: its connection, the depth, the process."""

    __slots__ = ("connection", "depth", "pid")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.depth = 1
        self.pid = os.getpid()


# Per thread, per database path, whichever store objects name it (a store of another key in
# the same file included): a second connection of the same thread would wait for its own lock.
_threads: Final = threading.local()


def _transactions() -> Dict[str, _Transaction]:
    table: Optional[Dict[str, _Transaction]] = getattr(_threads, "by_path", None)
    if table is None:
        table = {}
        _threads.by_path = table
    return table


def _held(path: str) -> Optional[_Transaction]:
    """This thread's transaction on the database at ``path``, or None."""
    table = _transactions()
    held = table.get(path)
    if held is not None and held.pid != os.getpid():
        # Forked while this thread held the lock: the connection is the parent's, which
        # SQLite forbids a child to use (https://sqlite.org/howtocorrupt.html 2.6).
        del table[path]
        return None
    return held


class _DatabaseLock:
    """What :meth:`SQLiteTokenStore.locked` returns: ``BEGIN IMMEDIATE`` on entry, ``COMMIT``
    on the way out, reentrant in the thread that holds it."""

    __slots__ = ("_store",)

    def __init__(self, store: SQLiteTokenStore) -> None:
        self._store = store

    def __enter__(self) -> None:
        store = self._store
        held = _held(store.path)
        if held is not None:
            held.depth += 1
            return
        refuse_shared_directory(store.path)

        def begin(connection: sqlite3.Connection) -> sqlite3.Connection:
            try:
                # IMMEDIATE: the write lock now, so that what this holder reads stays true
                # until it saves (a deferred transaction could not upgrade once another wrote).
                connection.execute("BEGIN IMMEDIATE")
            except BaseException:
                connection.close()
                raise
            return connection

        _transactions()[store.path] = _Transaction(store._retrying("locking it for a renewal", begin))

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        import sqlite3

        store = self._store
        held = _held(store.path)
        if held is None:
            return  # forked while held: the parent's transaction is not the child's to end
        held.depth -= 1
        if held.depth > 0:
            return
        del _transactions()[store.path]
        try:
            # With a rollback journal (a file system without WAL) COMMIT waits for readers to
            # finish: it gets the whole timeout, whatever the BEGIN left of it.
            held.connection.execute(f"PRAGMA busy_timeout = {int(store.timeout * 1000)}")
            # COMMIT even when an exception is on its way out (on_token raised, say): a token
            # saved in here was bought with a single-use refresh token, now spent. Rolled back,
            # the store would keep the dead refresh token and every process would fail on it.
            held.connection.execute("COMMIT")
        except sqlite3.Error as error:
            raise store._sqlite_error(error, "committing") from None
        finally:
            held.connection.close()  # rolls back what a failed COMMIT left


def _result_code(exc: BaseException) -> Optional[int]:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    return code & 0xFF if isinstance(code, int) else None


def _is_busy(exc: BaseException) -> bool:
    """Whether SQLite refused because another connection holds a lock (worth another try)."""
    code = _result_code(exc)
    if code is not None:
        return code in (SQLITE_BUSY, SQLITE_LOCKED)
    text = str(exc)
    return "locked" in text or "busy" in text
