"""The total deadline: one watchdog thread per transport that shuts sockets down in time.

- **Timeouts.** ``Timeout.connect`` bounds making the connection (the TCP connect, the
  proxy's CONNECT answer and the TLS handshake each wait at most that long); ``Timeout.read``
  bounds every wait for the server afterwards (sending, each body read) and the whole
  response head, interim answers included (:mod:`~soundcloud.transport.reader` gives each
  wait for the head only the time left, no thread needed).
  ``Timeout.total`` is a deadline for the whole call, retries and their waits included,
  that covers connect, tunnel, TLS handshake, send, the answer and a body read with
  ``read_all``: a per-transport watchdog thread shuts the socket down at the deadline, so
  a server or proxy that drips bytes cannot hold the caller past it (a per-read timeout
  cannot: each byte restarts it). The watchdog starts with the first request that has a
  total and exits when idle: requests without a total cost nothing, those with one about
  3 µs of CPU (CPython 3.11), and there is never a thread per request. The TCP connect
  itself waits ``min(connect, time left)``. A body streamed with
  :meth:`~soundcloud.transport.response.Response.read` (``StreamResponse``, downloads)
  leaves the deadline at its first read: from there each chunk gets the read timeout.
  The error says which limit passed.

The transport arms a :class:`_Watch` per request, points it at whichever socket carries
the request at the moment (:meth:`_Watchdog.attach`) and cancels it when done.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Final, List, Optional, Tuple

__all__ = ["_Watch", "_Watchdog", "_shutdown"]

# The deadline watchdog thread exits after this long without a deadline to watch.
WATCHDOG_IDLE: Final = 30.0


def _shutdown(sock: socket.socket) -> None:
    # socket.socket.shutdown on the descriptor, also for an SSLSocket: it wakes a thread
    # blocked in recv()/send() without touching the TLS object that thread is using. A
    # closed socket object has no descriptor any more (-1), so this can never reach a
    # descriptor number the system has since given to another socket.
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class _Watch:
    """One request's total deadline and the socket to shut down when it passes."""

    __slots__ = ("deadline", "total", "watchdog", "sock", "fired", "done")

    def __init__(self, deadline: float, total: float, watchdog: _Watchdog) -> None:
        self.deadline = deadline
        self.total = total
        self.watchdog = watchdog
        self.sock: Optional[socket.socket] = None
        self.fired = False
        self.done = False


class _Watchdog:
    """One thread per transport that enforces total deadlines by shutting sockets down.

    No thread runs until a request has a total deadline; it exits after WATCHDOG_IDLE
    seconds without one, or when the transport is closed and nothing is left to watch.
    Every change to a watch happens under the lock, so once :meth:`cancel` or
    ``attach(watch, None)`` returned, the watchdog will never touch that socket again.
    """

    def __init__(self) -> None:
        # The hot paths (arm, attach, cancel) take the plain lock: a Condition's own
        # __enter__/__exit__ are Python-level calls. Only the thread waits on the Condition.
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._heap: List[Tuple[float, int, _Watch]] = []
        self._sequence = 0
        self._live = 0
        # Not named _thread: mypyc would emit the C field ``__thread``, a GCC keyword.
        self._worker: Optional[threading.Thread] = None
        self._closing = False

    def arm(self, total: float) -> _Watch:
        """Start watching a deadline ``total`` seconds from now."""
        import heapq
        deadline = time.monotonic() + total
        watch = _Watch(deadline, total, self)
        with self._lock:
            self._sequence += 1
            heapq.heappush(self._heap, (deadline, self._sequence, watch))
            self._live += 1
            self._closing = False
            if self._worker is None:
                thread = threading.Thread(target=self._run, name="soundcloud-deadline", daemon=True)
                self._worker = thread
                thread.start()
            elif self._heap[0][2] is watch:
                self._cond.notify()
        return watch

    def attach(self, watch: _Watch, sock: Optional[socket.socket]) -> None:
        """Point ``watch`` at the socket now carrying its request (None: at no socket)."""
        with self._lock:
            if not watch.fired:
                watch.sock = sock
            elif sock is not None:
                _shutdown(sock)

    def cancel(self, watch: _Watch) -> bool:
        """Stop watching; True when the deadline had already passed."""
        import heapq
        with self._lock:
            if not watch.done:
                watch.done = True
                watch.sock = None
                self._live -= 1
                heap = self._heap
                # Cancelled entries stay in the heap until they reach its top; compact it
                # when they outnumber the live ones, so it never grows without bound.
                if len(heap) > 64 and self._live * 2 < len(heap):
                    heap = [entry for entry in heap if not entry[2].done]
                    heapq.heapify(heap)
                    self._heap = heap
            return watch.fired

    def close(self) -> None:
        """Let the thread exit once no deadline is left to watch."""
        with self._lock:
            self._closing = True
            self._cond.notify()

    def _run(self) -> None:
        import heapq
        cond = self._cond
        with cond:
            while True:
                heap = self._heap
                while heap and heap[0][2].done:
                    heapq.heappop(heap)
                if not heap:
                    if self._closing or (not cond.wait(WATCHDOG_IDLE) and not self._heap):
                        self._worker = None
                        return
                    continue
                deadline, _, watch = heap[0]
                delay = deadline - time.monotonic()
                if delay > 0:
                    cond.wait(delay)
                    continue
                heapq.heappop(heap)
                watch.fired = True
                watch.done = True
                self._live -= 1
                sock = watch.sock
                watch.sock = None
                if sock is not None:
                    _shutdown(sock)
