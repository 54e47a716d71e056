"""A TCP relay that makes a loopback connection behave like a slower, longer link.

Clients connect to the relay; for each connection it opens one to the upstream server and
carries bytes both ways. In each direction it models a link of ``mbit`` Mbit/s with a one-way
delay of ``delay_ms``: bytes are serialized one after another at the link's rate (a chunk
that arrives while the link is still busy waits for it), and each piece is delivered
``delay_ms`` after its last byte was serialized. Pieces are about one millisecond of link
time (at least one 1448-byte TCP segment), so a large answer arrives as a paced stream, not
in one lump at the end.

It counts the bytes it carries in each direction (TCP payload: HTTP heads and bodies; TCP/IP
headers are not counted), and the connections it accepted, which ``run.py`` reads before and
after each timed run to get bytes on the wire per request.

What it does not model: packet loss, TCP slow start and receive windows between the ends
(the relay reads from each side as fast as that side sends and queues without limit, like a
link with an unbounded buffer), or the TCP handshake (a connection to the relay completes
at once; the benchmark measures kept-alive connections, after warm-up).

Run as a script it relays in the foreground, prints ``PORT <n>``, and answers each ``stats``
line on stdin with one JSON line of counters; EOF or ``quit`` stops it::

    python benchmarks/bench_relay.py --upstream 127.0.0.1:8080 --delay-ms 20 --mbit 20
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from bench_report import link_label as describe

__all__ = ["Link", "Relay", "RelayProcess", "schedule"]

SEGMENT = 1448  # a TCP segment's payload on a 1500-byte MTU with timestamps
PIECE_S = 0.001  # about this much link time per delivered piece
RECV = 256 * 1024


def schedule(free_at: float, now: float, size: int, bytes_per_s: float, delay_s: float,
             piece: int) -> Tuple[List[Tuple[int, float]], float]:
    """When the pieces of a ``size``-byte chunk that arrived at ``now`` are delivered.

    The link is busy until ``free_at``; it serializes the chunk from ``max(now, free_at)`` at
    ``bytes_per_s``, in pieces of ``piece`` bytes, each delivered ``delay_s`` after its last
    byte left. Returns ``[(piece_size, deliver_at), ...]`` and when the link is free again.
    """
    start = max(now, free_at)
    out: List[Tuple[int, float]] = []
    sent = 0
    while sent < size:
        n = min(piece, size - sent)
        sent += n
        out.append((n, start + sent / bytes_per_s + delay_s))
    return out, start + size / bytes_per_s


class Link:
    """One direction of the link: its rate, its delay and when it is next free."""

    def __init__(self, delay_ms: float, mbit: float) -> None:
        self.delay_s = delay_ms / 1000.0
        self.bytes_per_s = mbit * 1e6 / 8.0
        self.piece = max(SEGMENT, int(self.bytes_per_s * PIECE_S))
        self.free_at = 0.0

    def pieces(self, size: int, now: float) -> List[Tuple[int, float]]:
        out, self.free_at = schedule(self.free_at, now, size, self.bytes_per_s, self.delay_s, self.piece)
        return out


class _Direction:
    """Bytes from ``src`` to ``dst`` through a :class:`Link`: a reader thread stamps each chunk
    with its delivery times, a writer thread sends each piece when it is due."""

    def __init__(self, src: socket.socket, dst: socket.socket, link: Link, on_exit: Callable[[bool], None]) -> None:
        self.src = src
        self.dst = dst
        self.link = link
        self.bytes = 0  # written by the reader thread only
        self.q: "queue.SimpleQueue[Optional[Tuple[bytes, float]]]" = queue.SimpleQueue()
        self.on_exit = on_exit  # called once by the writer: True after an orderly end
        self.threads = [threading.Thread(target=self._read, daemon=True),
                        threading.Thread(target=self._write, daemon=True)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def _read(self) -> None:
        try:
            while True:
                data = self.src.recv(RECV)
                if not data:
                    break
                self.bytes += len(data)
                off = 0
                for n, due in self.link.pieces(len(data), time.monotonic()):
                    self.q.put((data[off:off + n], due))
                    off += n
        except OSError:
            pass
        self.q.put(None)

    def _write(self) -> None:
        q = self.q
        held: List[Optional[Tuple[bytes, float]]] = []  # taken from the queue, not yet due
        clean = False
        try:
            while True:
                item = held.pop() if held else q.get()
                if item is None:
                    self.dst.shutdown(socket.SHUT_WR)
                    clean = True
                    return
                data, due = item
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                parts = [data]  # and whatever else is due by now, in the same write
                while True:
                    try:
                        nxt = q.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None or nxt[1] > time.monotonic():
                        held.append(nxt)
                        break
                    parts.append(nxt[0])
                self.dst.sendall(parts[0] if len(parts) == 1 else b"".join(parts))
        except OSError:
            pass
        finally:
            self.on_exit(clean)


class _Connection:
    def __init__(self, client: socket.socket, upstream: socket.socket, delay_ms: float, mbit: float) -> None:
        self.socks = (client, upstream)
        self.lock = threading.Lock()
        self.ended = 0
        self.up = _Direction(client, upstream, Link(delay_ms, mbit), self._ended)
        self.down = _Direction(upstream, client, Link(delay_ms, mbit), self._ended)

    def _ended(self, clean: bool) -> None:
        # both directions done, or one failed (then the other's reader must stop too)
        with self.lock:
            self.ended += 1
            last = self.ended == 2
        if last or not clean:
            self.close()

    def start(self) -> None:
        self.up.start()
        self.down.start()

    def close(self) -> None:
        for s in self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class Relay:
    """The relay, in this process: ``start()``, then ``url``, ``stats()``, ``stop()``."""

    def __init__(self, upstream: Tuple[str, int], delay_ms: float, mbit: float, host: str = "127.0.0.1") -> None:
        if delay_ms < 0 or mbit <= 0:
            raise ValueError("delay_ms must be >= 0 and mbit > 0")
        self.upstream = upstream
        self.delay_ms = delay_ms
        self.mbit = mbit
        self.host = host
        self.port = 0
        self.conns: List[_Connection] = []
        self.lock = threading.Lock()
        self.lsock: Optional[socket.socket] = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def describe(self) -> str:
        return describe(self.delay_ms, self.mbit)

    def start(self) -> "Relay":
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((self.host, 0))
        ls.listen(128)
        self.lsock = ls
        self.port = int(ls.getsockname()[1])
        threading.Thread(target=self._accept, args=(ls,), daemon=True).start()
        return self

    def _accept(self, ls: socket.socket) -> None:
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                c.close()
                continue
            u.settimeout(None)
            for s in (c, u):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Connection(c, u, self.delay_ms, self.mbit)
            with self.lock:
                self.conns.append(conn)
            conn.start()

    def stats(self) -> Dict[str, int]:
        """Bytes carried client→server (``up``) and server→client (``down``), connections accepted."""
        with self.lock:
            conns = list(self.conns)
        return {
            "up": sum(c.up.bytes for c in conns),
            "down": sum(c.down.bytes for c in conns),
            "connections": len(conns),
        }

    def stop(self) -> None:
        if self.lsock is not None:
            self.lsock.close()
            self.lsock = None
        with self.lock:
            conns, self.conns = self.conns, []
        for c in conns:
            c.close()

    def __enter__(self) -> "Relay":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RelayProcess:
    """The relay in its own process (pinned to ``cpus`` if given), driven over a pipe."""

    def __init__(self, upstream: Tuple[str, int], delay_ms: float, mbit: float,
                 cpus: Optional[Sequence[int]] = None, python: str = sys.executable) -> None:
        self.upstream = upstream
        self.delay_ms = delay_ms
        self.mbit = mbit
        self.cpus = cpus
        self.python = python
        self.proc: Optional["subprocess.Popen[str]"] = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def describe(self) -> str:
        return describe(self.delay_ms, self.mbit)

    def start(self) -> "RelayProcess":
        cpus = self.cpus

        def pin() -> None:
            if cpus:
                os.sched_setaffinity(0, set(cpus))

        host, port = self.upstream
        self.proc = subprocess.Popen(
            [self.python, os.path.abspath(__file__), "--upstream", f"{host}:{port}",
             "--delay-ms", repr(self.delay_ms), "--mbit", repr(self.mbit)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, preexec_fn=pin,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks until the relay listens
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"relay failed to start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def stats(self) -> Dict[str, int]:
        p = self.proc
        if p is None or p.stdin is None or p.stdout is None:
            raise RuntimeError("relay not running")
        p.stdin.write("stats\n")
        p.stdin.flush()
        line = p.stdout.readline()
        if not line:
            raise RuntimeError(f"relay exited with status {p.poll()}")
        return dict(json.loads(line))

    def stop(self) -> None:
        p = self.proc
        self.proc = None
        if p is None:
            return
        try:
            if p.poll() is None and p.stdin is not None:
                p.stdin.write("quit\n")
                p.stdin.flush()
            p.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            p.kill()
            p.wait(timeout=10)
        for f in (p.stdin, p.stdout):
            if f:
                f.close()

    def __enter__(self) -> "RelayProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: Optional[List[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream", required=True, help="HOST:PORT of the server")
    ap.add_argument("--delay-ms", type=float, required=True, help="one-way delay, each direction")
    ap.add_argument("--mbit", type=float, required=True, help="bandwidth cap, each direction")
    args = ap.parse_args(argv)
    host, _, port = args.upstream.rpartition(":")
    relay = Relay((host, int(port)), args.delay_ms, args.mbit).start()
    print(f"PORT {relay.port}", flush=True)
    try:
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "quit":
                break
            if cmd == "stats":
                print(json.dumps(relay.stats()), flush=True)
    finally:
        relay.stop()


if __name__ == "__main__":
    main()
