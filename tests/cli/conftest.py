"""Fixtures of the command line's newer tests: ``cli`` runs ``python -m soundcloud`` in a
subprocess, importing this tree's package, with HOME and XDG_CONFIG_HOME inside the test's
temporary directory, no proxy or SOUNDCLOUD_* variable from the host, and a timeout."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Dict, Optional

import pytest

from support.cli_runs import cli_env, run_cli


class CLI:
    """Runs the ``soundcloud`` command against a server started by the test."""

    def __init__(self, tmp_path: Path) -> None:
        self.cwd = tmp_path
        self.home = tmp_path / "cli-home"
        (self.home / "config").mkdir(parents=True)

    def env(self, server: Optional[Any] = None, **extra: str) -> Dict[str, str]:
        """The subprocess's environment; ``server`` (a FakeSoundCloud) sets the URLs and client id."""
        return cli_env(self.home, server, **extra)

    def run(self, *args: str, env: Dict[str, str], **kwargs: Any) -> "subprocess.CompletedProcess[str]":
        """``python -m soundcloud ARGS``: stdout and stderr as text (UTF-8)."""
        return run_cli(args, env, self.cwd, **kwargs)


@pytest.fixture
def cli(tmp_path: Path) -> CLI:
    return CLI(tmp_path)
