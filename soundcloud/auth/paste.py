"""Lines a user pastes while a login waits: the headless login's second way in.

Over SSH or in a container the browser runs on another machine, and its redirect to the
loopback callback never arrives: the user copies the address the browser ended on and pastes
it. :class:`PastedLines` reads those lines in a daemon thread while the login waits on, and
hands each to the login, which decides whether it is this login's redirect.

Reading must not get in the way: the login may end by the callback, the timeout or an error
while nothing was pasted. On POSIX the stream's file descriptor is watched with ``select()``
and read with ``os.read()`` into a buffer of our own, so the thread stops promptly and leaves
whatever was typed after the login unread (a blocked ``readline()`` would swallow the next
line of a REPL or a shell script). A stream without a usable descriptor (``io.StringIO``, a
Windows console, where ``select()`` takes sockets only) is read with ``readline()`` in the
thread instead, which cannot be interrupted: it is left behind, a daemon, when the login ends.

A line is bounded (:data:`MAX_PASTED_LINE` bytes): anything longer is not a login redirect,
and is refused whole without ending the login. Imported only when a login reads a paste (by
:mod:`soundcloud.auth.loopback`) and, like it, left uncompiled.
"""

from __future__ import annotations

import os
import select
import threading
from typing import IO, Any, Callable, Final, Optional

from .. import _log

__all__ = ["MAX_PASTED_LINE", "PastedLines"]

# A login redirect is a few hundred bytes at most (a code and a state are tens of characters);
# a longer line is refused, and never buffered past this.
MAX_PASTED_LINE: Final = 8192
# How often the reading thread looks at its stop flag while nothing arrives.
PASTE_POLL: Final = 0.05
READ_CHUNK: Final = 4096
# The name of the thread that reads what is pasted.
PASTE_THREAD: Final = "soundcloud-login-paste"


def _select_fd(stream: Any) -> Optional[int]:
    """The file descriptor ``select()`` can watch for ``stream``, or None (read lines in a thread)."""
    if os.name == "nt":
        return None  # select() takes sockets only on Windows
    try:
        fd = int(stream.fileno())
        select.select([fd], [], [], 0)
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return None
    return fd


class PastedLines:
    """Reads lines pasted on ``stream`` in a daemon thread, until stopped or the end of input.

    Each line, without its line break, goes to ``on_line``, which returns True when it was the
    one awaited (reading stops); a line over :data:`MAX_PASTED_LINE` bytes is dropped whole
    and reported to ``on_too_long``. Neither is called once :meth:`stop` has returned.
    """

    def __init__(self, stream: IO[Any], on_line: Callable[[str], bool], on_too_long: Callable[[], None]) -> None:
        self._stream = stream
        self._on_line = on_line
        self._on_too_long = on_too_long
        self._stop = threading.Event()
        # Held while a handler runs and by stop(): after stop() no handler runs.
        self._lock = threading.Lock()
        self._fd = _select_fd(stream)
        target = self._read_fd if self._fd is not None else self._read_lines
        self._thread = threading.Thread(target=target, name=PASTE_THREAD, daemon=True)

    @property
    def selects(self) -> bool:
        """Whether the stream is watched with ``select()`` (else read in a thread that cannot be stopped)."""
        return self._fd is not None

    def start(self) -> None:
        """Start reading."""
        self._thread.start()

    def stop(self) -> None:
        """Stop reading: no handler runs after this returns; a ``select()`` reader is joined."""
        with self._lock:
            self._stop.set()
        if self._fd is not None and self._thread.ident is not None:
            self._thread.join()

    def _handle(self, raw: str) -> bool:
        """Hand one line to the login; True when reading should end."""
        line = raw.rstrip("\r\n")
        with self._lock:
            if self._stop.is_set():
                return True
            if len(line.encode("utf-8", "surrogatepass")) > MAX_PASTED_LINE:
                self._on_too_long()
                return False
            return self._on_line(line)

    def _too_long(self) -> None:
        with self._lock:
            if not self._stop.is_set():
                self._on_too_long()

    def _read_fd(self) -> None:
        fd = self._fd
        assert fd is not None
        buffer = bytearray()
        dropping = False  # inside a line that was too long: dropped up to its line break
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([fd], [], [], PASTE_POLL)
                if not ready:
                    continue
                chunk = os.read(fd, READ_CHUNK)
            except BlockingIOError:
                continue  # a non-blocking descriptor that another reader emptied first
            except OSError as exc:
                _log.debug("login: stopped reading the pasted input (%s)", type(exc).__name__)
                return
            if not chunk:
                # The end of input: a last line without a line break still counts.
                if buffer and not dropping:
                    self._handle(buffer.decode("utf-8", "replace"))
                _log.debug("login: the pasted input ended; waiting for the callback only")
                return
            buffer += chunk
            while True:
                newline = buffer.find(b"\n")
                if newline < 0:
                    break
                line = bytes(buffer[:newline])
                del buffer[: newline + 1]
                if dropping:
                    dropping = False
                elif self._handle(line.decode("utf-8", "replace")):
                    return
            if len(buffer) > MAX_PASTED_LINE:
                if not dropping:
                    self._too_long()
                dropping = True
                buffer.clear()

    def _read_lines(self) -> None:
        dropping = False
        while not self._stop.is_set():
            try:
                line: Any = self._stream.readline(MAX_PASTED_LINE + 2)
            except (OSError, ValueError) as exc:  # closed meanwhile, say
                _log.debug("login: stopped reading the pasted input (%s)", type(exc).__name__)
                return
            if not line:
                _log.debug("login: the pasted input ended; waiting for the callback only")
                return
            text = line.decode("utf-8", "replace") if isinstance(line, bytes) else str(line)
            complete = text.endswith("\n")
            if dropping:
                dropping = not complete
            elif not complete and len(text) > MAX_PASTED_LINE:
                self._too_long()
                dropping = True
            elif self._handle(text):
                return
