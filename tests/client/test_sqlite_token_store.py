"""SQLiteTokenStore: tokens in one SQLite database shared by processes and threads, one row per key.

Against real processes, threads and a fake SoundCloud on loopback: six processes started
together on an expired token make one refresh between them, and so do threads of one process
with clients of their own; keys in one file are independent; a database another connection
keeps busy is waited for and, past the timeout, is a clear error; a token saved under the lock
survives an exception on the way out. On disk: WAL mode, mode 0600 for the database and its
``-wal`` and ``-shm`` files, 0700 for a directory it creates, and a directory every user may
write to, a path that is not a database and a row that holds no token refused with
TokenStoreError that names the file and the key, never the token.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

import soundcloud
from soundcloud import SQLiteTokenStore, Token, TokenStoreError

from support.clients import make_client, token_requests
from support.wire import wait_until
from support.workers import WORKER_RUN, assert_one_refresh, run_together

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes, pipes and fork")

# How long a thread or process of these tests may take to do its part before the test fails.
BOUND = 60.0

SAMPLE = Token("access-SECRET", "refresh-SECRET", 3599, 1_700_003_599.0, "", "bearer", "authorization_code")
OTHER = Token("other-access-SECRET", "other-refresh-SECRET", 3599, 1_700_007_199.0, "", "bearer", "authorization_code")


def mode_of(path: Any) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def expired_token(fake: Any) -> Token:
    """A token the fake issued, its refresh token live, its access token expired 10 minutes ago."""
    issued = fake.issue_token_response()
    return Token(issued["access_token"], issued["refresh_token"], 3600, time.time() - 600,
                 grant_type="authorization_code")  # fmt: skip


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "tokens.db"


class WriteLockHolder:
    """Another connection (a thread of its own) holding the database's write lock until released."""

    def __init__(self, path: Path, begin: str = "BEGIN IMMEDIATE") -> None:
        self.path = path
        self.begin = begin
        self.holding = threading.Event()
        self.release = threading.Event()
        self.errors: List[BaseException] = []
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        try:
            connection = sqlite3.connect(str(self.path), isolation_level=None)
            try:
                connection.execute(self.begin)
                self.holding.set()
                self.release.wait(BOUND)
                connection.execute("COMMIT")
            finally:
                connection.close()
        except BaseException as exc:  # reported by the test
            self.errors.append(exc)
            self.holding.set()

    def __enter__(self) -> WriteLockHolder:
        self.thread.start()
        assert self.holding.wait(BOUND) and not self.errors, self.errors
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.thread.join(BOUND)
        assert not self.thread.is_alive() and not self.errors, self.errors


def descriptors_on(path: Path) -> int:
    """How many of this process's file descriptors are open on ``path`` (Linux), else 0."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        return 0
    count = 0
    for entry in list(fds.iterdir()):
        try:
            if os.readlink(entry) == str(path):
                count += 1
        except OSError:
            continue  # closed meanwhile
    return count


def in_thread(work: Callable[[], Any]) -> Dict[str, Any]:
    """Run ``work`` in a thread; the dict gets 'result' or 'error', and 'thread'."""
    outcome: Dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except BaseException as exc:  # reported by the test
            outcome["error"] = exc

    outcome["thread"] = threading.Thread(target=run, daemon=True)
    outcome["thread"].start()
    return outcome


# -- the store on its own ------------------------------------------------------------------


def test_keys_in_one_file_are_independent(db: Path) -> None:
    alice, bob = SQLiteTokenStore(db, key="alice"), SQLiteTokenStore(str(db), "bob")
    assert alice.load() is None and not db.exists()  # loading nothing makes no database
    alice.clear()
    assert not db.exists()
    alice.save(SAMPLE)
    assert bob.load() is None
    bob.save(OTHER)
    assert alice.load() == SAMPLE and bob.load() == OTHER
    alice.save(OTHER)
    alice.clear()
    assert alice.load() is None and bob.load() == OTHER
    alice.clear()  # clearing nothing is fine
    assert SQLiteTokenStore(db, "bob").load() == OTHER


def test_path_key_and_timeout_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for bad in (":memory:", ""):
        with pytest.raises(ValueError, match="each connection would see"):
            SQLiteTokenStore(bad)
    for key in ("", None, 7):
        with pytest.raises(ValueError, match="non-empty string"):
            SQLiteTokenStore(tmp_path / "t.db", key)  # type: ignore[arg-type]
    for timeout in (0, -1, float("nan"), float("inf"), True):
        with pytest.raises(ValueError, match="timeout"):
            SQLiteTokenStore(tmp_path / "t.db", timeout=timeout)
    with pytest.raises(TypeError):
        SQLiteTokenStore(b"/tmp/t.db")  # type: ignore[arg-type]
    monkeypatch.setenv("HOME", str(tmp_path))
    store = SQLiteTokenStore("~/tokens.db", "alice")
    assert store.path == str(tmp_path / "tokens.db")
    monkeypatch.chdir(tmp_path)
    assert SQLiteTokenStore("relative.db").path == str(tmp_path / "relative.db")
    store.save(SAMPLE)
    assert repr(store) == f"SQLiteTokenStore({str(tmp_path / 'tokens.db')!r}, key='alice')"
    assert "SECRET" not in repr(store)


def test_the_database_is_in_wal_mode(db: Path) -> None:
    SQLiteTokenStore(db).save(SAMPLE)
    connection = sqlite3.connect(str(db))
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert [row[0] for row in connection.execute("SELECT key FROM soundcloud_tokens")] == ["default"]
    finally:
        connection.close()


@posix_only
def test_the_database_its_journal_files_and_directory_are_private(tmp_path: Path) -> None:
    path = tmp_path / "state" / "app" / "tokens.db"
    store = SQLiteTokenStore(path)
    previous = os.umask(0)
    try:
        with store.locked():
            store.save(SAMPLE)
            # While a connection is open the WAL files exist: SQLite gave them the database's mode.
            modes = {name: mode_of(path.parent / name) for name in os.listdir(path.parent)}
    finally:
        os.umask(previous)
    assert modes == {"tokens.db": 0o600, "tokens.db-wal": 0o600, "tokens.db-shm": 0o600}
    assert mode_of(path.parent) == 0o700 and mode_of(path.parent.parent) == 0o700
    assert store.load() == SAMPLE


@posix_only
def test_a_looser_existing_database_is_tightened(db: Path) -> None:
    db.touch()
    os.chmod(db, 0o644)
    SQLiteTokenStore(db).save(SAMPLE)
    assert mode_of(db) == 0o600 and SQLiteTokenStore(db).load() == SAMPLE


@posix_only
@pytest.mark.parametrize("mode", [0o777, 0o1777])
def test_a_directory_every_user_may_write_to_is_refused(tmp_path: Path, mode: int) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, mode)
    store = SQLiteTokenStore(shared / "tokens.db")
    actions: List[Callable[[], Any]] = [store.load, lambda: store.save(SAMPLE), store.locked().__enter__]
    for action in actions:
        with pytest.raises(TokenStoreError, match="writable by every user") as info:
            action()
        assert str(shared) in str(info.value) and "SECRET" not in str(info.value)
    assert os.listdir(shared) == []  # nothing was made there


def test_a_path_that_is_not_a_database_is_refused(tmp_path: Path, db: Path) -> None:
    garbage = b"this is not an SQLite database, it is a text file\n" * 100
    db.write_bytes(garbage)
    store = SQLiteTokenStore(db, "alice")
    actions: List[Callable[[], Any]] = [store.load, lambda: store.save(SAMPLE), store.clear]
    for action in actions:
        with pytest.raises(TokenStoreError, match="is not an SQLite database") as info:
            action()
        assert str(db) in str(info.value)
    assert db.read_bytes() == garbage  # untouched
    directory = SQLiteTokenStore(tmp_path)
    for action in (directory.load, lambda: directory.save(SAMPLE)):
        with pytest.raises(TokenStoreError, match="is a directory"):
            action()


@pytest.mark.parametrize(
    "value, problem",
    [
        pytest.param("{not json", "is corrupt", id="not-json"),
        pytest.param(b"\xff\xfe\x00", "is corrupt", id="not-text"),
        pytest.param("[]", "does not hold a saved token", id="a-list"),
        pytest.param('{"refresh_token": "planted-SECRET"}', "does not hold a saved token", id="no-access-token"),
        pytest.param(12345, "does not hold a saved token", id="a-number"),
        pytest.param(b"x" * (1024 * 1024 + 1), "too large", id="over-1-MiB"),
    ],
)
def test_a_row_that_holds_no_token_is_refused(db: Path, value: object, problem: str) -> None:
    store = SQLiteTokenStore(db, "alice")
    store.save(SAMPLE)
    SQLiteTokenStore(db, "bob").save(OTHER)
    connection = sqlite3.connect(str(db), isolation_level=None)
    try:
        connection.execute("UPDATE soundcloud_tokens SET token = ? WHERE key = 'alice'", (value,))
    finally:
        connection.close()
    with pytest.raises(TokenStoreError, match=problem) as info:
        store.load()
    message = str(info.value)
    assert str(db) in message and "'alice'" in message and "store.clear()" in message
    assert "SECRET" not in message and "not json" not in message
    assert isinstance(info.value, ValueError)
    assert SQLiteTokenStore(db, "bob").load() == OTHER  # the other key is fine
    store.clear()
    assert store.load() is None


def test_a_token_too_large_to_load_is_not_saved(db: Path) -> None:
    store = SQLiteTokenStore(db)
    store.save(SAMPLE)
    huge = Token("access-SECRET", scope="x" * (1024 * 1024))
    with pytest.raises(TokenStoreError, match="too large") as info:
        store.save(huge)
    assert "SECRET" not in str(info.value)
    assert store.load() == SAMPLE


def test_import_soundcloud_does_not_import_sqlite3() -> None:
    script = (
        "import sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import soundcloud\n"
        "store = soundcloud.SQLiteTokenStore('unused.db')\n"
        "print('sqlite3' in sys.modules)\n"
    )
    package_root = str(Path(soundcloud.__file__).resolve().parents[1])
    result = subprocess.run([sys.executable, "-I", "-c", script, package_root], capture_output=True, text=True,
                            timeout=BOUND, check=True)  # fmt: skip
    assert result.stdout.split() == ["False"]


# -- the lock ------------------------------------------------------------------------------


def test_the_lock_is_reentrant_and_shared_by_the_threads_stores_of_one_file(db: Path) -> None:
    # Short timeouts: a thread that waited for its own lock would fail in a second.
    alice = SQLiteTokenStore(db, "alice", timeout=1)
    bob = SQLiteTokenStore(db, "bob", timeout=1)
    with alice.locked():
        with alice.locked():
            alice.save(SAMPLE)
        assert alice.load() == SAMPLE
        bob.save(OTHER)  # another store of the same file: the same transaction
        with bob.locked():
            bob.clear()
        bob.save(OTHER)
    assert alice.load() == SAMPLE and bob.load() == OTHER


def test_the_lock_keeps_other_threads_out_until_it_is_left(db: Path) -> None:
    store = SQLiteTokenStore(db)
    with store.locked():
        store.save(SAMPLE)
        other = in_thread(lambda: SQLiteTokenStore(db, timeout=0.2).save(OTHER))
        other["thread"].join(BOUND)
        assert isinstance(other.get("error"), TokenStoreError), other
        assert "stayed busy" in str(other["error"])
    assert store.load() == SAMPLE
    SQLiteTokenStore(db, timeout=0.2).save(OTHER)  # free again
    assert store.load() == OTHER


def test_a_token_saved_under_the_lock_survives_an_exception(db: Path) -> None:
    store = SQLiteTokenStore(db)
    store.save(SAMPLE)
    with pytest.raises(RuntimeError, match="on_token failed"):
        with store.locked():
            store.save(OTHER)
            raise RuntimeError("on_token failed")
    assert SQLiteTokenStore(db).load() == OTHER  # committed, not rolled back
    with store.locked():
        pass  # and the lock was let go


@pytest.mark.parametrize(
    "begin",
    [
        # A writer on a database in WAL mode.
        "BEGIN IMMEDIATE",
        # A new database in rollback-journal mode, locked whole: the switch to WAL waits too.
        "BEGIN EXCLUSIVE",
    ],
)
def test_a_busy_database_is_waited_for(db: Path, begin: str) -> None:
    store = SQLiteTokenStore(db, "alice")
    if begin == "BEGIN IMMEDIATE":
        store.save(SAMPLE)
    else:
        sqlite3.connect(str(db)).close()  # an empty database, not in WAL mode
    with WriteLockHolder(db, begin) as holder:
        before = descriptors_on(db)
        saving = in_thread(lambda: (store.save(OTHER), holder.release.is_set())[1])
        if before:  # Linux: the save has its own connection open on the file, and waits
            wait_until(lambda: descriptors_on(db) > before or not saving["thread"].is_alive(),
                       timeout=BOUND, message="the save opened the database")  # fmt: skip
        assert saving["thread"].is_alive(), saving  # waiting for the lock
    saving["thread"].join(BOUND)
    assert saving.get("result") is True, saving  # returned after the release, and succeeded
    assert store.load() == OTHER


def test_a_database_busy_past_the_timeout_is_a_clear_error(db: Path) -> None:
    store = SQLiteTokenStore(db, "alice", timeout=0.3)
    store.save(SAMPLE)
    with WriteLockHolder(db):
        started = time.monotonic()
        with pytest.raises(TokenStoreError) as info:
            store.save(OTHER)
        waited = time.monotonic() - started
        with pytest.raises(TokenStoreError, match="stayed busy"):
            store.locked().__enter__()
        assert store.load() == SAMPLE  # readers never wait in WAL mode
    message = str(info.value)
    assert "stayed busy" in message and str(db) in message and "'alice'" in message
    assert "timeout=" in message and "SECRET" not in message
    assert 0.3 <= waited < BOUND / 2
    assert store.load() == SAMPLE


# -- clients sharing a store ---------------------------------------------------------------


def test_threads_of_one_process_sharing_a_store_refresh_once(fake: Any, db: Path) -> None:
    expired = expired_token(fake)
    store = SQLiteTokenStore(db)
    store.save(expired)
    clients = [make_client(fake, token_store=store) for _ in range(8)]
    assert all(client.token == expired for client in clients)
    start = threading.Barrier(len(clients), timeout=BOUND)
    runs = [in_thread(lambda client=client: (start.wait(), client.get("/me").id)[1]) for client in clients]
    for run in runs:
        run["thread"].join(BOUND)
    assert [run.get("result") for run in runs] == [fake.user_id] * len(clients), runs
    assert len(token_requests(fake)) == 1 and fake.grant_counts == {"refresh_token": 1}
    stored = store.load()
    assert stored is not None and stored.access_token != expired.access_token
    assert {client.token.access_token for client in clients} == {stored.access_token}
    assert len(fake.requests_to("api")) == len(clients)


def test_a_client_whose_on_token_fails_keeps_the_token_in_the_store(fake: Any, db: Path) -> None:
    expired = expired_token(fake)
    SQLiteTokenStore(db).save(expired)

    def on_token(token: Token) -> None:
        raise RuntimeError("the application's on_token failed")

    client = make_client(fake, token_store=SQLiteTokenStore(db), on_token=on_token)
    with pytest.raises(RuntimeError, match="on_token failed"):
        client.get("/me")
    stored = SQLiteTokenStore(db).load()
    assert stored is not None and stored.access_token != expired.access_token  # not rolled back
    later = make_client(fake, token_store=SQLiteTokenStore(db))  # another worker
    assert later.get("/me").id == fake.user_id
    assert fake.grant_counts == {"refresh_token": 1}  # the spent refresh token was not needed again


# A worker in its own process: loads the shared store (an expired token), waits until all six
# are ready, then calls the API, which needs a refresh first.
WORKER = r"""
import sys
import soundcloud

path, client_id, api_url, auth_url = sys.argv[1:5]
client = soundcloud.Client(client_id=client_id, api_url=api_url, auth_url=auth_url, timeout=30,
                           token_store=soundcloud.SQLiteTokenStore(path, key='fleet'))
assert client.token is not None and client.token.refresh_token, "the store was not loaded"
""" + WORKER_RUN


@posix_only
def test_six_processes_sharing_a_database_refresh_once(fake: Any, db: Path) -> None:
    expired = expired_token(fake)
    SQLiteTokenStore(db, key="fleet").save(expired)
    SQLiteTokenStore(db, key="bystander").save(SAMPLE)
    arguments = [[str(db), fake.client_id, fake.api_url, fake.auth_url]] * 6
    results = run_together(WORKER, arguments, timeout=BOUND)
    stored = SQLiteTokenStore(db, key="fleet").load()
    assert stored is not None and stored.access_token != expired.access_token
    assert_one_refresh(fake, results, stored.access_token)
    assert SQLiteTokenStore(db, key="bystander").load() == SAMPLE


# A pre-forking server: the store is used, then the process forks and parent and child both
# use it (in a fresh interpreter: forking pytest's threads is unsafe, and Python 3.12 warns).
# Nothing of the parent's is open at the fork, so the child's connections are its own.
FORK = r"""
import os
import sys

path, package_root = sys.argv[1:3]
sys.path.insert(0, package_root)
from soundcloud import SQLiteTokenStore, Token

store = SQLiteTokenStore(path, timeout=60)
store.save(Token("first-access", "first-refresh"))
assert store.load() == Token("first-access", "first-refresh")
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    try:
        os.close(read)
        with store.locked():
            seen = store.load()
            store.save(Token("child-access"))
        os.write(write, seen.access_token.encode())
    finally:
        os._exit(0)
os.close(write)
answer = os.read(read, 100).decode()
_, status = os.waitpid(pid, 0)
with store.locked():
    print(answer, status, store.load().access_token)
"""


@posix_only
def test_a_store_used_before_a_fork_works_in_parent_and_child(db: Path) -> None:
    if not hasattr(os, "fork"):
        pytest.skip("no fork() on this platform")
    package_root = str(Path(soundcloud.__file__).resolve().parent.parent)
    result = subprocess.run([sys.executable, "-I", "-c", FORK, str(db), package_root], capture_output=True,
                            text=True, timeout=BOUND)  # fmt: skip
    assert result.stdout.split() == ["first-access", "0", "child-access"], result.stdout + result.stderr
