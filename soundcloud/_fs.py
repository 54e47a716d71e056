"""Files that must never be left half-written: atomic replacement, directory fsync, private files.

Used by the token store (private, atomic), ``StreamResponse.save`` (atomic) and downloads
(a ``.part`` file moved into place). Lowest layer: imports nothing from the package.
"""

from __future__ import annotations

import os
from typing import Callable, Final, Iterable, List

__all__ = ["atomic_write", "fsync_directory", "make_private_dirs", "replace_durably"]

PRIVATE_FILE_MODE: Final = 0o600
PRIVATE_DIR_MODE: Final = 0o700


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
    fd, temporary = tempfile.mkstemp(prefix="." + name + ".", suffix=".tmp", dir=directory)
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
