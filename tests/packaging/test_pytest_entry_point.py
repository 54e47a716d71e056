"""The pytest plugin ships as an entry point: ``[pytest11] soundcloud = soundcloud.testing.pytest_plugin``.

Against the source tree, the wheel's metadata is made the way pip makes it before building
(the PEP 517 hook ``prepare_metadata_for_build_wheel``, a fraction of a second, no wheel).
Against an installed wheel (``make test-wheels``), the installed distribution declares the
entry point, and the pytest running this very test has loaded the plugin from it.
"""

from __future__ import annotations

import configparser
import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

import pytest

import soundcloud

SOURCE_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_FILE = Path(soundcloud.__file__).resolve()
PLUGIN = "soundcloud.testing.pytest_plugin"
EXPECTED: Dict[str, str] = {"soundcloud": PLUGIN}

METADATA_SCRIPT = """
import sys
sys.path.insert(0, "build_backend")
import soundcloud_build
print(soundcloud_build.prepare_metadata_for_build_wheel(sys.argv[1]))
"""


def pytest11_of(entry_points_txt: str) -> Dict[str, str]:
    parser = configparser.ConfigParser(delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment, method-assign]  # names are case-sensitive
    parser.read_string(entry_points_txt)
    return dict(parser["pytest11"]) if parser.has_section("pytest11") else {}


@pytest.mark.skipif(
    not (SOURCE_ROOT / "build_backend" / "soundcloud_build.py").is_file(), reason="needs the source tree beside tests/"
)
def test_the_wheel_metadata_declares_the_pytest_plugin(tmp_path: Path) -> None:
    pytest.importorskip("setuptools", minversion="77", reason="the build needs setuptools>=77 (requirements.txt)")
    # What the build reads, copied: the hook writes an egg-info beside setup.py.
    project, metadata = tmp_path / "project", tmp_path / "metadata"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.pyd")
    for name in ("build_backend", "soundcloud"):
        shutil.copytree(SOURCE_ROOT / name, project / name, ignore=ignore)
    for name in ("pyproject.toml", "setup.py", "README.rst", "LICENSE"):
        if (SOURCE_ROOT / name).is_file():
            shutil.copy2(SOURCE_ROOT / name, project / name)
    metadata.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "SOUNDCLOUD_"))}
    result = subprocess.run(
        [sys.executable, "-I", "-c", METADATA_SCRIPT, str(metadata)],
        cwd=str(project), env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    dist_info = metadata / result.stdout.strip().splitlines()[-1]
    entry_points = (dist_info / "entry_points.txt").read_text(encoding="utf-8")
    assert pytest11_of(entry_points) == EXPECTED
    assert "soundcloud = soundcloud.cli:main" in entry_points  # the console script is still there


def installed_distribution() -> Optional[importlib.metadata.Distribution]:
    """The installed distribution whose files are the imported package, or None (source tree)."""
    try:
        dist = importlib.metadata.distribution("soundcloud")
    except importlib.metadata.PackageNotFoundError:
        return None
    located = Path(str(dist.locate_file("soundcloud/__init__.py"))).resolve()
    return dist if dist.read_text("RECORD") is not None and located == PACKAGE_FILE else None


def test_an_installed_wheel_is_loaded_by_pytest_at_start_up(request: pytest.FixtureRequest) -> None:
    dist = installed_distribution()
    if dist is None:
        pytest.skip("the package under test is the source tree, not an installed distribution")
    declared = {ep.name: ep.value for ep in dist.entry_points if ep.group == "pytest11"}
    assert declared == EXPECTED
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        pytest.skip("PYTEST_DISABLE_PLUGIN_AUTOLOAD is set: pytest loads no entry point")
    loaded = request.config.pluginmanager.get_plugin("soundcloud")
    assert loaded is not None and loaded.__name__ == PLUGIN
    fake = request.getfixturevalue("soundcloud_fake")  # the plugin's fixture, in this session
    assert fake.api_url.startswith("http://127.0.0.1:")
