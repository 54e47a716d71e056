"""Worker processes started together, for the tests of token stores that processes share.

:func:`run_together` starts one Python process per worker script invocation, waits until each
says it is ready, releases them all at once (a pipe the test closes: no sleep), and returns
what each printed; :func:`assert_one_refresh` checks that a fake SoundCloud saw them make one
refresh between them and that every worker used its token. POSIX only (``pass_fds``).
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, List, Sequence, Tuple

from .clients import token_requests

__all__ = ["WORKER_RUN", "assert_one_refresh", "run_together"]

#: The end of a worker script, once it has built ``client``: it says it is ready, waits at
#: the barrier (the last two arguments are its descriptors; ``os.read`` returns, at end of
#: file, when the test closes the other end), calls the API and prints
#: ``ok <user id> <access token>`` (exit status 1 and the error when the call fails).
WORKER_RUN = r"""
import os
import sys

os.write(int(sys.argv[-2]), b"r")
os.read(int(sys.argv[-1]), 1)
try:
    me = client.get("/me")
except Exception as exc:
    print("failed:", type(exc).__name__, exc, flush=True)
    sys.exit(1)
print("ok", me.id, client.token.access_token, flush=True)
"""


def run_together(script: str, arguments: Sequence[Sequence[str]], *, timeout: float = 60.0) -> List[Tuple[int, str]]:
    """Run ``python -c script`` once per item of ``arguments`` (``script`` ends with
    :data:`WORKER_RUN`), releasing them together once all are ready; return each worker's
    exit status and output (stdout, then stderr)."""
    import soundcloud

    package_root = str(Path(soundcloud.__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=package_root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    ready_read, ready_write = os.pipe()
    go_read, go_write = os.pipe()
    children: List["subprocess.Popen[bytes]"] = []
    try:
        for argv in arguments:
            children.append(subprocess.Popen(
                [sys.executable, "-c", script, *argv, str(ready_write), str(go_read)],
                pass_fds=(ready_write, go_read), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            ))  # fmt: skip
        os.close(ready_write)
        os.close(go_read)
        ready_write = go_read = -1
        _wait_ready(ready_read, len(children), children, timeout)
        os.close(go_write)  # the barrier: every worker's read ends at once
        go_write = -1
        results = [child.communicate(timeout=timeout) for child in children]
    finally:
        for fd in (ready_read, ready_write, go_read, go_write):
            if fd >= 0:
                os.close(fd)
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate()
    return [(child.returncode, out.decode() + err.decode()) for child, (out, err) in zip(children, results)]


def _wait_ready(ready: int, count: int, children: List["subprocess.Popen[bytes]"], timeout: float) -> None:
    """Wait for ``count`` bytes on the pipe ``ready``, failing fast when a worker dies."""
    received = 0
    deadline = time.monotonic() + timeout
    while received < count:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"{received} of {count} workers were ready in time"
        readable, _, _ = select.select([ready], [], [], min(remaining, 1.0))
        if readable:
            received += len(os.read(ready, count - received))
        dead = [child.communicate()[1].decode() for child in children if child.poll() is not None]
        assert not dead, f"a worker died before the start: {dead}"


def assert_one_refresh(fake: Any, results: List[Tuple[int, str]], access_token: str) -> None:
    """Every worker printed ``ok <user id> <its access token>`` with ``access_token``, the
    fake's token endpoint made one refresh, and the API answered each worker once."""
    assert [status for status, _ in results] == [0] * len(results), [output for _, output in results]
    assert len(token_requests(fake)) == 1, f"more than one refresh for {len(results)} processes"
    assert fake.grant_counts == {"refresh_token": 1}
    assert {output.split()[2] for _, output in results} == {access_token}
    assert len(fake.requests_to("api")) == len(results)
