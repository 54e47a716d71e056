"""Files that must never be left half-written: atomic replacement, directory fsync, private files,
and a lock shared by threads and processes.

Used by the token store (private, atomic, locked), ``StreamResponse.save`` (atomic) and
downloads (a ``.part`` file moved into place). Lowest layer: imports nothing from the package.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import threading
from typing import Callable, Dict, Final, Iterable, List

__all__ = [
    "FileLock",
    "atomic_write",
    "fsync_directory",
    "make_private_dirs",
    "remove_stale_temporaries",
    "replace_durably",
]

PRIVATE_FILE_MODE: Final = 0o600
PRIVATE_DIR_MODE: Final = 0o700

# atomic_write's temporary files: "." + name + "." + 8 random characters + ".tmp", the random
# part drawn by tempfile.mkstemp from this alphabet (tempfile._RandomNameSequence).
TEMPORARY_SUFFIX: Final = ".tmp"
TEMPORARY_RANDOM_LENGTH: Final = 8
TEMPORARY_RANDOM_CHARACTERS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def fsync_directory(directory: str) -> None:
    """Make a rename inside ``directory`` durable (POSIX); best effort, silent where impossible."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def make_private_dirs(directory: str) -> None:
    """Create ``directory`` and its missing parents with mode 0700 (existing ones are left alone)."""
    missing: List[str] = []
    current = directory
    while current and not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for path in reversed(missing):
        try:
            os.mkdir(path, PRIVATE_DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(path, PRIVATE_DIR_MODE)


def replace_durably(source: str, target: str, *, sync_source: bool = False) -> None:
    """Rename ``source`` over ``target`` and fsync the directory (``source`` first, if asked)."""
    if sync_source:
        with open(source, "rb+") as existing:
            os.fsync(existing.fileno())
    os.replace(source, target)
    fsync_directory(os.path.dirname(os.path.abspath(target)))


def atomic_write(
    path: str,
    chunks: Iterable[bytes],
    *,
    private: bool = False,
    write: Callable[[int, bytes], int] = os.write,
) -> int:
    """Write ``chunks`` to ``path`` all or nothing; return the number of bytes written.

    The bytes go to a temporary file beside ``path`` (created exclusively, mode 0600 whatever
    the umask), which is fsynced and renamed over ``path``; on any error it is removed and
    ``path`` is untouched. ``private`` also creates missing parent directories with mode 0700
    and keeps the result at 0600. ``write`` is the low-level write call (injectable for tests).
    """
    import tempfile

    directory, name = os.path.split(os.path.abspath(path))
    if private:
        make_private_dirs(directory)
    fd, temporary = tempfile.mkstemp(prefix="." + name + ".", suffix=TEMPORARY_SUFFIX, dir=directory)
    written = 0
    try:
        try:
            if private:
                os.chmod(temporary, PRIVATE_FILE_MODE)
            for chunk in chunks:
                written += len(chunk)
                while chunk:
                    # A short write is rare: only then is the rest of the chunk copied.
                    chunk = chunk[write(fd, chunk):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    fsync_directory(directory)
    return written


def remove_stale_temporaries(path: str) -> int:
    """Remove the temporary files that :func:`atomic_write` of ``path`` left when its process died.

    A crash between creating the temporary file and renaming it leaves
    ``.<name>.<8 random characters>.tmp`` beside ``path``. Only call this while no other writer
    of ``path`` runs (under its :class:`FileLock`): it cannot tell a live write from a dead one.
    Only regular files with exactly that name are removed; returns how many were.
    """
    directory, name = os.path.split(os.path.abspath(path))
    prefix = "." + name + "."
    try:
        entries = os.listdir(directory)
    except OSError:
        return 0
    removed = 0
    for entry in entries:
        if not entry.startswith(prefix) or not entry.endswith(TEMPORARY_SUFFIX):
            continue
        middle = entry[len(prefix) : len(entry) - len(TEMPORARY_SUFFIX)]
        if len(middle) != TEMPORARY_RANDOM_LENGTH or not TEMPORARY_RANDOM_CHARACTERS.issuperset(middle):
            continue
        candidate = os.path.join(directory, entry)
        try:
            if stat.S_ISREG(os.lstat(candidate).st_mode):
                os.unlink(candidate)
                removed += 1
        except OSError:
            continue  # gone already, or not ours to remove
    return removed


# --------------------------------------------------------------------------- FileLock


class _HeldLock:
    """This process's hold on one lock file: the thread lock in front of it, the depth, the fd."""

    __slots__ = ("mutex", "depth", "fd")

    def __init__(self) -> None:
        self.mutex = threading.RLock()
        self.depth = 0
        self.fd = -1


# One entry per lock file per process, whichever FileLock objects name it: flock(2) locks
# belong to an open file description, so two descriptors of one process would exclude each
# other (a thread re-entering through a second store object would wait for itself forever).
_HELD: Final[Dict[str, _HeldLock]] = {}
# Guards _HELD; replaced in a forked child (a thread of the parent may have held it).
_held_guard = threading.Lock()


class FileLock:
    """An exclusive lock on the file ``path``, shared by the threads and processes that use it.

    A context manager, reentrant in the thread that holds it. The lock file is created (mode
    0600, missing parent directories 0700) and never removed: removing it would let two
    processes hold locks on two different files of the same name. Across processes it is an
    advisory lock: ``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows; where neither
    exists (WASI, say) it only orders the threads of this process. Waits as long as the holder
    holds it. Raises OSError when the lock file cannot be opened or is not a regular file.
    """

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path: str = os.path.abspath(path)

    def __enter__(self) -> FileLock:
        with _held_guard:
            held = _HELD.get(self.path)
            if held is None:
                held = _HeldLock()
                _HELD[self.path] = held
        held.mutex.acquire()
        try:
            if held.depth == 0:
                held.fd = _lock_file(self.path)
            held.depth += 1
        except BaseException:
            held.mutex.release()
            raise
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        held = _HELD.get(self.path)
        if held is None:
            return  # forked while held: the child let the inherited lock go at the fork
        held.depth -= 1
        try:
            if held.depth == 0:
                fd = held.fd
                held.fd = -1
                _unlock_file(fd)
        finally:
            held.mutex.release()


def _lock_file(path: str) -> int:
    """Open (creating it private) and lock the lock file; return its descriptor."""
    make_private_dirs(os.path.dirname(path))
    # O_NOFOLLOW: never create or lock a file a planted symbolic link points at; O_NONBLOCK:
    # never wait in open() for a FIFO put at the path (it is refused below).
    flags = (
        os.O_RDWR
        | os.O_CREAT
        | getattr(os, "O_NOFOLLOW", 0)
        | getattr(os, "O_NONBLOCK", 0)
        | getattr(os, "O_BINARY", 0)
    )
    fd = os.open(path, flags, PRIVATE_FILE_MODE)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "the lock file is not a regular file", path)
        _platform_lock(fd)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _platform_lock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                return
            except OSError as exc:
                # LK_LOCK gives up after ten tries a second apart (EDEADLOCK): wait on, as
                # flock does, for the holder is renewing a token with a bounded timeout.
                if exc.errno != errno.EDEADLOCK:
                    raise
    try:
        import fcntl
    except ImportError:
        return  # no advisory locks on this platform: the thread lock alone (documented)
    fcntl.flock(fd, fcntl.LOCK_EX)


def _unlock_file(fd: int) -> None:
    try:
        if sys.platform == "win32":
            import msvcrt

            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    finally:
        os.close(fd)  # releases the flock (this was the description's only descriptor)


def _forget_locks_after_fork() -> None:
    global _held_guard
    # A child forked while a thread of its parent held a lock inherits the locked descriptor
    # (which would keep the lock held as long as the child lives) and a thread lock that no
    # thread of the child will release: close the one, forget the other.
    for held in _HELD.values():
        if held.fd >= 0:
            try:
                os.close(held.fd)
            except OSError:
                pass
    _HELD.clear()
    _held_guard = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_locks_after_fork)
