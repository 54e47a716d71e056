"""The batch download's progress block: one bar per track in progress, then an overall line,
redrawn in place; driven from several threads."""

from __future__ import annotations

import io
import re
import threading
from typing import List

from soundcloud.cli.progress import MultiProgress

CONTROL = re.compile(r"\x1b\[\d*[FK]")


def screen(text: str) -> List[str]:
    """What a terminal shows after ``text``: ``ESC[nF`` moves up n lines to their start,
    ``ESC[K`` clears from the cursor to the end of the line, text overwrites."""
    lines: List[str] = []
    row, column = 0, 0
    for token in re.split(r"(\x1b\[\d*F|\x1b\[K|\n)", text):
        if not token:
            continue
        while len(lines) <= row:
            lines.append("")
        if token.startswith("\x1b[") and token.endswith("F"):
            row, column = max(row - int(token[2:-1] or 1), 0), 0
        elif token == "\x1b[K":
            lines[row] = lines[row][:column]
        elif token == "\n":
            row, column = row + 1, 0
        else:
            lines[row] = lines[row][:column] + token + lines[row][column + len(token):]
            column += len(token)
    return [line for line in lines if line]


def test_a_line_per_track_and_an_overall_line() -> None:
    out = io.StringIO()
    now = [0.0]
    board = MultiProgress(out, 3, clock=lambda: now[0], width=10, label_width=8)
    first = board.track("a", "First track with a long title")
    second = board.track("b", "Second")
    first(500_000, 1_000_000)
    now[0] = 1.0
    second(100_000, None)
    shown = screen(out.getvalue())
    assert len(shown) == 3
    assert shown[0].startswith("First t~ [") and "50.0%" in shown[0]
    assert shown[1].startswith("Second  ") and "100 kB" in shown[1]
    assert shown[2].startswith("0/3 tra") and "0 done, 0 skipped, 0 failed" in shown[2]
    board.finished("a", "done")
    board.finished("x", "skipped")  # a skipped track never had a line
    shown = screen(out.getvalue())
    assert len(shown) == 2 and shown[0].startswith("Second")
    assert shown[1].startswith("2/3 tra") and "1 done, 1 skipped, 0 failed" in shown[1]
    board.finished("b", "failed")
    board.finish()
    shown = screen(out.getvalue())
    assert len(shown) == 1
    assert shown[0].startswith("3/3 tra") and shown[0].endswith("1 done, 1 skipped, 1 failed")
    assert not CONTROL.sub("", out.getvalue()).count("\x1b")


def test_callbacks_from_many_threads() -> None:
    out = io.StringIO()
    board = MultiProgress(out, 8, interval=0.0)
    callbacks = [board.track(str(n), f"t{n}") for n in range(8)]

    def work(n: int) -> None:
        for done in range(0, 100_001, 10_000):
            callbacks[n](done, 100_000)
        board.finished(str(n), "done")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads)
    board.finish()
    assert board.counts == {"done": 8, "skipped": 0, "failed": 0}
    final = screen(out.getvalue())
    assert len(final) == 1 and final[0].startswith("8/8 tracks") and "8 done" in final[0]
