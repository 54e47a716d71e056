"""Progress bars of uploads and downloads, on stderr, only when it is a terminal.

``label [=====     ] 42.0%  1.2/3.0 MB  2.50 MB/s  ETA 0:01``: :class:`ProgressBar` is the
``progress(done, total)`` callback the client calls; :func:`make_progress` gives one only
when it would be seen (stderr a terminal, no ``-q``), sized to the terminal.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from typing import IO, Any, Callable, Dict, List, Optional, TextIO

__all__ = ["MultiProgress", "ProgressBar", "isatty", "make_progress"]


class ProgressBar:
    """A one-line progress display: ``label [=====     ] 42.0%  1.2/3.0 MB  2.50 MB/s  ETA 0:01``.

    Call it as ``progress(done, total)`` (total None when unknown); :meth:`finish` ends the line.
    """

    def __init__(
        self,
        label: str,
        stream: TextIO,
        *,
        clock: Callable[[], float] = time.monotonic,
        width: int = 24,
        interval: float = 0.1,
    ) -> None:
        self.label = label
        self.stream = stream
        self.clock = clock
        self.width = width
        self.interval = interval
        self.started = clock()
        self.last_draw = -1.0
        self.drawn = False
        self.done = 0
        self.total: Optional[int] = None
        # Bytes already there when the bar started (a resumed download): not part of the speed.
        self.baseline = 0

    def __call__(self, done: int, total: Optional[int] = None) -> None:
        self.done = done
        self.total = total
        now = self.clock()
        finished = total is not None and done >= total
        if self.drawn and not finished and now - self.last_draw < self.interval:
            return
        self.last_draw = now
        self.drawn = True
        self.stream.write("\r" + self.render(now) + "\x1b[K")
        self.stream.flush()

    def render(self, now: float) -> str:
        """The current line, without control characters."""
        done, total = self.done, self.total
        elapsed = max(now - self.started, 0.0)
        rate = max(done - self.baseline, 0) / elapsed if elapsed > 0 else 0.0
        speed = f"{rate / 1e6:6.2f} MB/s"
        if total:
            fraction = min(max(done / total, 0.0), 1.0)
            filled = int(fraction * self.width)
            bar = "=" * filled + (">" if filled < self.width else "") + " " * (self.width - filled - 1)
            eta = _clock_time((total - done) / rate) if rate > 0 else "--:--"
            return (
                f"{self.label} [{bar[: self.width]}] {fraction * 100:5.1f}%"
                f"  {_amount(done, total)}  {speed}  ETA {eta}"
            )
        return f"{self.label} {_amount(done, None)}  {speed}"

    def finish(self) -> None:
        """End the line (nothing when nothing was drawn)."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False


class MultiProgress:
    """Progress of many downloads: one bar per track in progress, then an overall line.

    ``track(key, label)`` gives the ``progress(done, total)`` callback of one track;
    ``finished(key, status)`` ends its line and counts it (``'done'``, ``'skipped'``,
    ``'failed'``). Callbacks may come from several threads. The block of lines is redrawn in
    place (cursor up, then each line cleared), at most every ``interval`` seconds.
    """

    def __init__(
        self,
        stream: TextIO,
        total: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        width: int = 24,
        label_width: int = 24,
        interval: float = 0.1,
    ) -> None:
        self.stream = stream
        self.total = total
        self.clock = clock
        self.width = width
        self.label_width = label_width
        self.interval = interval
        self.bars: Dict[str, ProgressBar] = {}
        self.counts: Dict[str, int] = {"done": 0, "skipped": 0, "failed": 0}
        self.lines_drawn = 0
        self.last_draw = -1.0
        self.lock = threading.Lock()

    def track(self, key: str, label: str) -> Callable[[int, Optional[int]], None]:
        """Start a line for one track; return its progress callback."""
        shown = label if len(label) <= self.label_width else label[: self.label_width - 1] + "~"
        bar = ProgressBar(shown.ljust(self.label_width), self.stream, clock=self.clock, width=self.width)
        with self.lock:
            self.bars[key] = bar

        def update(done: int, total: Optional[int] = None) -> None:
            bar.done, bar.total = done, total
            self.draw()

        return update

    def finished(self, key: str, status: str) -> None:
        """End a track's line and count it as ``status``."""
        with self.lock:
            self.bars.pop(key, None)
            self.counts[status] = self.counts.get(status, 0) + 1
        self.draw(force=True)

    def render(self, now: float) -> List[str]:
        """The lines of the block, without control characters."""
        with self.lock:
            bars = list(self.bars.values())
            counts = dict(self.counts)
        finished = sum(counts.values())
        fraction = finished / self.total if self.total else 1.0
        filled = int(fraction * self.width)
        overall = "=" * filled + " " * (self.width - filled)
        lines = [bar.render(now) for bar in bars]
        lines.append(
            f"{f'{finished}/{self.total} tracks'.ljust(self.label_width)} [{overall}]"
            f"  {counts['done']} done, {counts['skipped']} skipped, {counts['failed']} failed"
        )
        return lines

    def draw(self, force: bool = False) -> None:
        """Redraw the block (throttled unless ``force``)."""
        now = self.clock()
        with self.lock:
            if not force and self.lines_drawn and now - self.last_draw < self.interval:
                return
            self.last_draw = now
        lines = self.render(now)
        with self.lock:
            # Up to the block's first line, then every line rewritten and cleared to its end;
            # lines left over from a longer block are cleared too.
            up = f"\x1b[{self.lines_drawn}F" if self.lines_drawn else ""
            extra = max(self.lines_drawn - len(lines), 0)
            text = up + "".join(line + "\x1b[K\n" for line in lines) + "\x1b[K\n" * extra
            if extra:
                text += f"\x1b[{extra}F"
            self.stream.write(text)
            self.stream.flush()
            self.lines_drawn = len(lines)

    def finish(self) -> None:
        """Draw the final state (the block stays on the screen)."""
        self.draw(force=True)


def _amount(done: int, total: Optional[int]) -> str:
    """``'340/900 kB'``, ``'1.5/8.0 MB'``, ``'1.20 GB'``: the unit picked by the larger number."""
    scale = max(done, total or 0)
    if scale < 1_000_000:
        divisor, unit, digits = 1e3, "kB", 0
    elif scale < 1_000_000_000:
        divisor, unit, digits = 1e6, "MB", 1
    else:
        divisor, unit, digits = 1e9, "GB", 2
    text = f"{done / divisor:.{digits}f}"
    if total is not None:
        text += f"/{total / divisor:.{digits}f}"
    return f"{text} {unit}"


def _clock_time(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


def make_progress(
    args: argparse.Namespace, label: str, stream: Optional[TextIO] = None
) -> Optional[ProgressBar]:
    """A progress bar on stderr when it is a terminal and -q was not given, else None."""
    out = stream if stream is not None else sys.stderr
    if getattr(args, "quiet", False) or not isatty(out):
        return None
    try:
        columns = os.get_terminal_size(out.fileno()).columns
    except (OSError, ValueError, AttributeError):
        columns = 80
    # What is not the bar takes about 50 columns: keep the line from wrapping.
    return ProgressBar(label, out, width=max(10, min(40, columns - len(label) - 50)))


def isatty(stream: IO[Any]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
