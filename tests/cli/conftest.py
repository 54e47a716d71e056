"""Fixtures of the command line's newer tests: ``cli`` runs ``python -m soundcloud`` in a
subprocess, importing this tree's package, with HOME and XDG_CONFIG_HOME inside the test's
temporary directory, no proxy or SOUNDCLOUD_* variable from the host, and a timeout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Optional

import pytest

import soundcloud

#: Generous bound for a loaded machine; a healthy run takes well under a second.
CLI_TIMEOUT = 60.0
PACKAGE_ROOT = str(Path(soundcloud.__file__).resolve().parent.parent)


class CLI:
    """Runs the ``soundcloud`` command against a server started by the test."""

    def __init__(self, tmp_path: Path) -> None:
        self.cwd = tmp_path
        self.home = tmp_path / "cli-home"
        (self.home / "config").mkdir(parents=True)

    def env(self, server: Optional[Any] = None, **extra: str) -> Dict[str, str]:
        """The subprocess's environment; ``server`` (a FakeSoundCloud) sets the URLs and client id."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.upper().startswith(("SOUNDCLOUD_", "BROWSER")) and not key.upper().endswith("_PROXY")
        }
        env.update(
            PYTHONPATH=PACKAGE_ROOT,
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / "config"),
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

    def run(self, *args: str, env: Dict[str, str], **kwargs: Any) -> "subprocess.CompletedProcess[str]":
        """``python -m soundcloud ARGS``: stdout and stderr as text (UTF-8)."""
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run(
            [sys.executable, "-m", "soundcloud", *args],
            env=env, cwd=str(self.cwd), capture_output=True, text=True, encoding="utf-8",
            timeout=CLI_TIMEOUT, **kwargs,
        )  # fmt: skip


@pytest.fixture
def cli(tmp_path: Path) -> CLI:
    return CLI(tmp_path)
