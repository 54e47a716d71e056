"""pytest stays in one module of the package: ``soundcloud/testing/pytest_plugin.py``.

The package depends on nothing but the standard library; the pytest plugin is the one
exception, loaded by pytest itself (the ``pytest11`` entry point). Read from the source
(``ast``): every ``import`` and ``from ... import`` at any depth, under ``TYPE_CHECKING`` too,
and ``__import__`` / ``importlib.import_module`` calls with a literal name.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import pytest

import soundcloud

PACKAGE_DIR = Path(soundcloud.__file__).resolve().parent
PLUGIN_FILE = "testing/pytest_plugin.py"
# pytest, its implementation package and its hook library.
PYTEST_PACKAGES = ("pytest", "_pytest", "pluggy")


def _literal_import(node: ast.Call) -> Optional[str]:
    """The module name of ``__import__("x")`` or ``importlib.import_module("x")``, else None."""
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    if name not in ("__import__", "import_module") or not node.args:
        return None
    first = node.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def imported_modules(source: str) -> Iterator[Tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``; relative ones are skipped."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.Call):
            name = _literal_import(node)
            if name is not None:
                yield node.lineno, name


def pytest_imports() -> List[str]:
    found = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        for line, name in imported_modules(path.read_text(encoding="utf-8")):
            if name.split(".")[0] in PYTEST_PACKAGES:
                found.append(f"{path.relative_to(PACKAGE_DIR).as_posix()}:{line} imports {name}")
    return found


@pytest.mark.skipif(not (PACKAGE_DIR / PLUGIN_FILE).is_file(), reason="the package's .py sources are not installed")
def test_only_the_pytest_plugin_imports_pytest() -> None:
    found = pytest_imports()
    assert [entry for entry in found if not entry.startswith(PLUGIN_FILE + ":")] == []
    # Even the plugin imports pytest's public package only: pluggy and _pytest are pytest's
    # internals, and no other distribution is ever imported by the package (types included).
    assert [entry for entry in found if not entry.endswith(" imports pytest")] == []
    # The scan sees the plugin's own import, so it would see one anywhere else.
    assert any(entry.endswith(" imports pytest") for entry in found)


@pytest.mark.parametrize(
    "source",
    [
        "import pytest",
        "import _pytest.fixtures as f",
        "from pluggy import HookimplMarker",
        "def later():\n    from pytest import fixture",
        "if TYPE_CHECKING:\n    import pytest",
        "__import__('pytest')",
        "importlib.import_module('_pytest.config')",
    ],
)
def test_the_scan_sees_every_way_of_importing_pytest(source: str) -> None:
    assert [name.split(".")[0] in PYTEST_PACKAGES for _, name in imported_modules(source)] == [True]


def test_the_scan_ignores_names_that_only_look_alike() -> None:
    source = "import pytest_like\nfrom . import pytest_plugin\nfrom .pytest import x\nimport_module(name)"
    assert [name for _, name in imported_modules(source) if name.split(".")[0] in PYTEST_PACKAGES] == []
