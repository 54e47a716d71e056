"""FileTokenStore at the edges of the file system (real files, no socket): a FIFO at the path is
a TokenStoreError at once instead of a hang, a directory too; a directory that every user may
write to is refused (anyone could plant a token there); the lock file beside the store is
private; a temporary file left by a crash in the middle of a save is removed by the next save,
and nothing else is."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path
from typing import Any, List

import pytest

import soundcloud
from soundcloud.auth import FileTokenStore, Token

TokenStoreError = soundcloud.errors.TokenStoreError

SAMPLE = Token("access-SECRET", "refresh-SECRET", 3599, 1_700_003_599.0, "", "bearer", "authorization_code")
JOIN_TIMEOUT = 5.0

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file types and modes")


def run_bounded(action: Any, unblock: Any) -> BaseException:
    """Run ``action`` in a thread; it must raise within JOIN_TIMEOUT. ``unblock`` frees a hung one."""
    raised: List[BaseException] = []

    def target() -> None:
        try:
            action()
        except BaseException as exc:  # reported below
            raised.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(JOIN_TIMEOUT)
    if thread.is_alive():
        unblock()
        thread.join(JOIN_TIMEOUT)
        raise AssertionError("the store hung on the path")
    assert raised, "the store accepted the path"
    return raised[0]


@posix_only
def test_a_fifo_at_the_path_is_an_error_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    os.mkfifo(path, 0o600)

    def unblock() -> None:  # a writer lets a reader blocked in open() go on
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)

    error = run_bounded(FileTokenStore(path).load, unblock)
    assert isinstance(error, TokenStoreError), error
    assert str(path) in str(error) and "not a regular file" in str(error)
    for action in (lambda: FileTokenStore(path).save(SAMPLE), FileTokenStore(path).clear):
        error = run_bounded(action, unblock)
        assert isinstance(error, TokenStoreError) and "not a regular file" in str(error), error
    assert stat.S_ISFIFO(os.lstat(path).st_mode)  # left as it was


def test_a_directory_at_the_path_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    path.mkdir()
    (path / "inside").write_text("kept")
    store = FileTokenStore(path)
    for action in (store.load, lambda: store.save(SAMPLE), store.clear):
        with pytest.raises(TokenStoreError) as info:
            action()
        assert str(path) in str(info.value)
    assert (path / "inside").read_text() == "kept"


@posix_only
@pytest.mark.parametrize("mode", [0o777, 0o1777, 0o773])
def test_a_directory_writable_by_every_user_is_refused(tmp_path: Path, mode: int) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    path = shared / "token.json"
    path.write_text('{"access_token": "planted-by-someone-else"}')
    os.chmod(shared, mode)
    store = FileTokenStore(path)
    for action in (store.load, lambda: store.save(SAMPLE)):
        with pytest.raises(TokenStoreError, match="writable by every user") as info:
            action()
        assert str(shared) in str(info.value) and "planted" not in str(info.value)
    assert path.read_text() == '{"access_token": "planted-by-someone-else"}'
    assert sorted(os.listdir(shared)) == ["token.json"]  # no lock or temporary file made there
    os.chmod(shared, 0o755)  # group and others may read, not write: fine
    assert store.load() == Token("planted-by-someone-else")


@posix_only
def test_the_lock_file_beside_the_store_is_private(tmp_path: Path) -> None:
    path = tmp_path / "config" / "token.json"
    previous = os.umask(0)
    try:
        FileTokenStore(path).save(SAMPLE)
    finally:
        os.umask(previous)
    lock = path.parent / "token.json.lock"
    assert stat.S_IMODE(os.stat(lock).st_mode) == 0o600 and lock.read_bytes() == b""
    assert sorted(os.listdir(path.parent)) == ["token.json", "token.json.lock"]


def test_a_temporary_file_left_by_a_crash_is_removed_by_the_next_save(tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    FileTokenStore(path).save(SAMPLE)
    # What soundcloud._fs.atomic_write leaves when the process dies between mkstemp and rename.
    crashed = tmp_path / ".token.json.k2j4_9xq.tmp"
    crashed.write_text('{"access_token": "half')
    others = [".token.json.k2j4_9xq.tmp.keep", ".other.json.k2j4_9xq.tmp", ".token.json.longer-name.tmp",
              "token.json.k2j4_9xq.tmp", ".token.jsonk2j4_9xq1.tmp"]
    for name in others:
        (tmp_path / name).write_text("not ours")
    newer = Token("newer-access", "newer-refresh", 3599, 1_700_007_199.0)
    FileTokenStore(path).save(newer)
    assert not crashed.exists()
    assert sorted(os.listdir(tmp_path)) == sorted(["token.json", "token.json.lock"] + others)
    assert FileTokenStore(path).load() == newer


@posix_only
@pytest.mark.parametrize("kind", ["directory", "fifo", "symlink"])
def test_something_else_at_the_lock_path_is_a_clear_error(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "token.json"
    lock = tmp_path / "token.json.lock"
    target = tmp_path / "elsewhere"
    if kind == "directory":
        lock.mkdir()
    elif kind == "fifo":
        os.mkfifo(lock, 0o600)
    else:
        os.symlink(target, lock)  # never followed: nothing is created at its target

    def unblock() -> None:
        fd = os.open(lock, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)

    error = run_bounded(lambda: FileTokenStore(path).save(SAMPLE), unblock)
    assert isinstance(error, TokenStoreError) and "cannot be locked" in str(error), error
    assert not path.exists() and not target.exists()
