"""In-tree PEP 517 build backend: setuptools, plus mypy when a compiled wheel is asked for.

``pyproject.toml`` names this module with ``backend-path = ["build_backend"]``.
Every hook is setuptools' own (``setuptools.build_meta``) with three changes:

* With ``SOUNDCLOUD_USE_MYPYC=1`` in the environment, ``get_requires_for_build_wheel``
  (and its editable twin) add mypy to the build requirements, so a default build
  never needs it, nor a compiler.
* The hooks that only compute requirements, metadata or the sdist tell ``setup.py``
  so (through ``SOUNDCLOUD_SETUP_PHASE``): it then skips running mypyc, which would
  otherwise type-check and generate C once per hook, or fail before mypy is installed.
* ``build_wheel`` refuses to return a pure wheel when a compiled one was asked for,
  and a wheel holding extension modules when a pure one was (stale ``build/`` output).

``setup.py`` imports :func:`mypyc_requested` from here, so the variable is read
the same way in both places.
"""

from __future__ import annotations

import contextlib
import os
import zipfile
from typing import Dict, Iterator, List, Optional, Union

from setuptools import build_meta as _setuptools

__all__ = [
    "build_editable",
    "build_sdist",
    "build_wheel",
    "get_requires_for_build_editable",
    "get_requires_for_build_sdist",
    "get_requires_for_build_wheel",
    "prepare_metadata_for_build_editable",
    "prepare_metadata_for_build_wheel",
]

USE_MYPYC_ENV = "SOUNDCLOUD_USE_MYPYC"
PHASE_ENV = "SOUNDCLOUD_SETUP_PHASE"
# group_name (a predictable, in-package shared library name) appeared in mypy 1.17.
MYPY_REQUIREMENT = "mypy>=1.17"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})

ConfigSettings = Optional[Dict[str, Union[str, List[str], None]]]


def mypyc_requested() -> bool:
    """Whether ``SOUNDCLOUD_USE_MYPYC`` asks for a compiled build; a typo is an error."""
    value = os.environ.get(USE_MYPYC_ENV, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(
        f"{USE_MYPYC_ENV}={os.environ[USE_MYPYC_ENV]!r} is neither true (1, true, yes, on) "
        "nor false (0, false, no, off, empty)"
    )


@contextlib.contextmanager
def _metadata_phase() -> Iterator[None]:
    """Tell setup.py that this hook builds no extension modules."""
    previous = os.environ.get(PHASE_ENV)
    os.environ[PHASE_ENV] = "metadata"
    try:
        yield
    finally:
        if previous is None:
            del os.environ[PHASE_ENV]
        else:
            os.environ[PHASE_ENV] = previous


def _with_mypy(requires: List[str]) -> List[str]:
    return [*requires, MYPY_REQUIREMENT] if mypyc_requested() else list(requires)


def get_requires_for_build_wheel(config_settings: ConfigSettings = None) -> List[str]:
    with _metadata_phase():
        return _with_mypy(_setuptools.get_requires_for_build_wheel(config_settings))


def get_requires_for_build_editable(config_settings: ConfigSettings = None) -> List[str]:
    with _metadata_phase():
        return _with_mypy(_setuptools.get_requires_for_build_editable(config_settings))


def get_requires_for_build_sdist(config_settings: ConfigSettings = None) -> List[str]:
    with _metadata_phase():
        return list(_setuptools.get_requires_for_build_sdist(config_settings))


def prepare_metadata_for_build_wheel(
    metadata_directory: str, config_settings: ConfigSettings = None
) -> str:
    with _metadata_phase():
        return _setuptools.prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def prepare_metadata_for_build_editable(
    metadata_directory: str, config_settings: ConfigSettings = None
) -> str:
    with _metadata_phase():
        return _setuptools.prepare_metadata_for_build_editable(
            metadata_directory, config_settings
        )


def build_sdist(sdist_directory: str, config_settings: ConfigSettings = None) -> str:
    with _metadata_phase():
        return _setuptools.build_sdist(sdist_directory, config_settings)


def build_wheel(
    wheel_directory: str,
    config_settings: ConfigSettings = None,
    metadata_directory: Optional[str] = None,
) -> str:
    name = _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)
    _check_wheel(os.path.join(wheel_directory, name), compiled=mypyc_requested())
    return name


def build_editable(
    wheel_directory: str,
    config_settings: ConfigSettings = None,
    metadata_directory: Optional[str] = None,
) -> str:
    return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)


def _check_wheel(path: str, *, compiled: bool) -> None:
    """Fail the build unless the wheel is what was asked for, compiled or pure."""
    with zipfile.ZipFile(path) as wheel:
        extensions = [name for name in wheel.namelist() if name.endswith((".so", ".pyd"))]
    problems = []
    if compiled:
        if path.endswith("-none-any.whl"):
            problems.append("it is tagged none-any")
        if not any(name.startswith("soundcloud/") for name in extensions):
            problems.append("it holds no extension module")
        outside = [name for name in extensions if not name.startswith("soundcloud/")]
        if outside:
            problems.append(f"extension modules outside the package: {outside}")
    elif extensions:
        # setuptools copies whatever an earlier compiled build left in build/lib.
        problems.append(f"extension modules in a pure build (stale build/ directory?): {extensions}")
    if problems:
        os.remove(path)
        kind = "compiled" if compiled else "pure"
        raise RuntimeError(
            f"{USE_MYPYC_ENV}={os.environ.get(USE_MYPYC_ENV, '')!r} asks for a {kind} wheel, but "
            f"{os.path.basename(path)} is not one: {'; '.join(problems)}"
        )
