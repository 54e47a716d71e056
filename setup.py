"""Build script: a pure wheel by default, a mypyc-compiled one with SOUNDCLOUD_USE_MYPYC=1.

All metadata lives in pyproject.toml. This file only decides which extension
modules exist; ``build_backend/soundcloud_build.py`` puts mypy among the build
requirements when (and only when) the compiled build is asked for.

A compiled build that cannot compile fails: it never falls back to a pure wheel.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path
from typing import Any, Dict, List

from setuptools import setup

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "build_backend"))

from soundcloud_build import PHASE_ENV, USE_MYPYC_ENV, mypyc_requested  # noqa: E402

# The modules mypyc compiles: one list, in the package, which the tests read too.
MYPYC_MODULES = runpy.run_path(str(HERE / "soundcloud" / "_compiled.py"))["COMPILED_MODULES"]

# One shared library for all compiled modules, named and placed inside the
# package (soundcloud/_mypyc__mypyc.<abi>.so) instead of mypyc's default
# hash-named module at the top of site-packages.
MYPYC_GROUP = "soundcloud._mypyc"


def readme() -> Dict[str, str]:
    """The long description from whichever README the project has."""
    for name, content_type in (("README.rst", "text/x-rst"), ("README.md", "text/markdown")):
        path = HERE / name
        if path.is_file():
            return {
                "long_description": path.read_text(encoding="utf-8"),
                "long_description_content_type": content_type,
            }
    # pyproject.toml declares the readme dynamic, so something must be given.
    return {"long_description": "soundcloud", "long_description_content_type": "text/plain"}


def mypyc_extensions() -> List[Any]:
    """Extension modules for the compiled build: loud failure if mypyc is missing."""
    try:
        from mypyc.build import mypycify
    except ImportError as exc:
        raise SystemExit(
            f"error: {USE_MYPYC_ENV} is set, but mypyc cannot be imported ({exc}). "
            "Build through the PEP 517 backend (python -m build, pip wheel), which "
            "installs mypy, or install mypy yourself; unset the variable for a pure wheel."
        ) from exc
    paths = [os.path.join("soundcloud", *name.split(".")) + ".py" for name in MYPYC_MODULES]
    missing = [path for path in paths if not (HERE / path).is_file()]
    if missing:
        raise SystemExit(f"error: MYPYC_MODULES names files that do not exist: {missing}")
    print(f"soundcloud: compiling with mypyc: {', '.join(paths)}", file=sys.stderr)
    return list(mypycify(paths, opt_level="3", debug_level="0", group_name=MYPYC_GROUP))


def ext_modules() -> List[Any]:
    """Empty for a pure build, and while a hook only computes metadata or the sdist."""
    if not mypyc_requested() or os.environ.get(PHASE_ENV) == "metadata":
        return []
    # mypycify takes paths relative to the working directory and writes its C
    # output under ./build; setuptools runs this script from the project root.
    os.chdir(HERE)
    return mypyc_extensions()


setup(ext_modules=ext_modules(), **readme())
