"""A ``pytester`` project where the package is installed: the inner pytest loads the plugin
``soundcloud.testing.pytest_plugin`` as users get it, through its ``pytest11`` entry point.

When the package under test is an installed wheel, that wheel's entry point does it. In the
source tree nothing declares it, so :func:`installed_plugin_project` writes the metadata of an
installed distribution declaring the same entry point into the project, on ``sys.path``.
Either way ``-p no:soundcloud`` works as for users, and the plugin is never registered twice.

A test module using it declares ``pytest_plugins = ["pytester"]`` and imports
``soundcloud.client``, ``soundcloud.testing.fake`` and ``soundcloud.testing.pytest_plugin`` at
its top: pytester forgets the modules an inner run imported first, while ``soundcloud`` keeps
the names it handed out, so a later import would bring second copies of their classes. (The
client must be named: ``import soundcloud`` is lazy and imports none of it.)
"""

from __future__ import annotations

import importlib.metadata
from typing import Final, Tuple

import pytest

__all__ = ["ENTRY_POINT", "PLUGIN", "STRICT", "entry_point_installed", "installed_plugin_project"]

PLUGIN: Final = "soundcloud.testing.pytest_plugin"
ENTRY_POINT: Final = "soundcloud"
# Flags of every inner run: a warning or an unregistered marker fails it, as in a strict project.
STRICT: Final[Tuple[str, ...]] = ("-W", "error", "--strict-markers", "-p", "no:cacheprovider")


def entry_point_installed() -> bool:
    """Whether an installed distribution declares the plugin: pytest then loads it by itself."""
    return any(
        ep.group == "pytest11" and ep.value == PLUGIN
        for dist in importlib.metadata.distributions()
        for ep in dist.entry_points
    )


def installed_plugin_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """``pytester``, made a project where the package is installed (for a fixture to return)."""
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    if not entry_point_installed():  # the source tree: declare the wheel's entry point
        dist_info = pytester.mkdir("soundcloud_source_tree-0.dist-info")
        (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: soundcloud-source-tree\nVersion: 0\n")
        (dist_info / "entry_points.txt").write_text(f"[pytest11]\n{ENTRY_POINT} = {PLUGIN}\n")
        pytester.syspathinsert()
    return pytester
