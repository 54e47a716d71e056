"""Running the ``soundcloud`` command in a subprocess, isolated from the host.

The child imports the same ``soundcloud`` package as the test process (PYTHONPATH), with
HOME and XDG_CONFIG_HOME inside the test's temporary directory, no proxy, ``BROWSER`` or
``SOUNDCLOUD_*`` variable from the host, no standard input, and a timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Optional, Sequence

import soundcloud

if TYPE_CHECKING:
    from soundcloud.testing import FakeSoundCloud

__all__ = ["CLI_TIMEOUT", "PACKAGE_ROOT", "cli_env", "run_cli"]

#: Generous bound for a loaded machine; a healthy run takes well under a second.
CLI_TIMEOUT = 60.0
PACKAGE_ROOT = str(Path(soundcloud.__file__).resolve().parent.parent)


def cli_env(home: Path, server: Optional["FakeSoundCloud"] = None, **extra: str) -> Dict[str, str]:
    """The child's environment; ``server`` (a FakeSoundCloud) sets the URLs and the client id."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.upper().startswith(("SOUNDCLOUD_", "BROWSER")) and not key.upper().endswith("_PROXY")
    }
    env.update(
        PYTHONPATH=PACKAGE_ROOT,
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        PYTHONIOENCODING="utf-8",
    )
    if server is not None:
        env.update(
            SOUNDCLOUD_API_URL=server.api_url,
            SOUNDCLOUD_AUTH_URL=server.auth_url,
            SOUNDCLOUD_CLIENT_ID=server.client_id,
        )
    env.update(extra)
    return env


def run_cli(
    args: Sequence[str], env: Dict[str, str], cwd: Path, *, timeout: float = CLI_TIMEOUT, **kwargs: Any
) -> "subprocess.CompletedProcess[str]":
    """``python -m soundcloud ARGS``: stdout and stderr as text (UTF-8)."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(
        [sys.executable, "-m", "soundcloud", *args],
        env=env, cwd=str(cwd), capture_output=True, text=True, encoding="utf-8", timeout=timeout, **kwargs,
    )  # fmt: skip
