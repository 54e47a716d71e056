"""``import soundcloud`` is lazy: it loads none of the package's modules, and each public name
imports the module that defines it on first use (PEP 562 ``__getattr__``).

pytest imports the plugin ``soundcloud.testing.pytest_plugin`` at start-up in every project
where the package is installed, and with it its parents, ``soundcloud`` and
``soundcloud.testing``: both must cost nothing until a test asks for a fixture. What an
import loads is seen in fresh interpreters (``python -I``, the package's parent first on
``sys.path``), so these hold for the source tree and for each installed wheel, pure and
compiled. Type checkers see the same names through imports under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

import soundcloud

PACKAGE_DIR = Path(soundcloud.__file__).resolve().parent
EXPECT_COMPILED = os.environ.get("SOUNDCLOUD_EXPECT_COMPILED") == "1"
# What `import soundcloud` may load besides itself: the module behind its
# `from __future__ import annotations` (0.2 ms; the interpreter may have it already).
TINY_MODULES = {"__future__"}
CHILD_TIMEOUT = 60

# Every child script starts so; it prints one Python literal (repr, not json: json is not
# loaded by the package, and the scripts must not load what they look for).
PRELUDE = "import sys\nsys.path.insert(0, sys.argv[1])\n"


def run_child(script: str, *args: str) -> Any:
    """The last line ``script`` prints in a fresh interpreter, as a Python value."""
    result = subprocess.run(
        [sys.executable, "-I", "-c", PRELUDE + script, str(PACKAGE_DIR.parent), *args],
        capture_output=True, text=True, timeout=CHILD_TIMEOUT, cwd=str(PACKAGE_DIR.parent),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return ast.literal_eval(result.stdout.strip().splitlines()[-1])


# --- what an import loads ------------------------------------------------------------------


def test_import_soundcloud_loads_no_module_of_the_package() -> None:
    loaded, after_dir = run_child(
        "before = set(sys.modules)\n"
        "import soundcloud\n"
        "loaded = sorted(set(sys.modules) - before)\n"
        "names = dir(soundcloud)\n"  # lists the public names without importing them
        "print(repr((loaded, sorted(set(sys.modules) - before))))\n"
    )
    assert [name for name in loaded if name.startswith("soundcloud")] == ["soundcloud"]
    assert set(loaded) - {"soundcloud"} <= TINY_MODULES
    assert after_dir == loaded


def test_importing_the_plugin_after_pytest_adds_only_the_plugin_and_its_lazy_parents() -> None:
    # As pytest does at start-up: pytest is imported, then the plugin its entry point names.
    added = run_child(
        "import pytest\n"
        "before = set(sys.modules)\n"
        "import soundcloud.testing.pytest_plugin\n"
        "print(repr(sorted(set(sys.modules) - before)))\n"
    )
    assert [name for name in added if name not in TINY_MODULES] == [
        "soundcloud",
        "soundcloud.testing",
        "soundcloud.testing.pytest_plugin",
    ]


def test_each_name_imports_what_defines_it_when_first_used() -> None:
    steps = run_child(
        "import soundcloud\n"
        "steps = []\n"
        "for name in sys.argv[2:]:\n"
        "    before = set(sys.modules)\n"
        "    getattr(soundcloud, name)\n"
        "    steps.append(sorted(m for m in set(sys.modules) - before if m.startswith('soundcloud')))\n"
        "print(repr(steps))\n",
        "__version__", "__compiled__", "NotFoundError", "Client", "Token",
    )  # fmt: skip
    version, compiled, error, client, token = steps
    assert version == ["soundcloud._version"]
    assert compiled == []  # found, not imported: see the test of __compiled__ below
    assert "soundcloud.errors" in error and "soundcloud.client" not in error
    assert "soundcloud.client" in client
    assert token == []  # the client brought its auth layer


# --- the names ---------------------------------------------------------------------------------

# In a fresh interpreter: `from soundcloud import *`, then, for every public name, the object the
# star import bound, the package's attribute, the re-exporting module's and the one of the module
# that defines it (classes and functions: their __module__) must be one object.
IDENTITY_SCRIPT = """
import importlib
namespace = {}
exec("from soundcloud import *", namespace)
import soundcloud
mismatched = []
for name in soundcloud.__all__:
    value = namespace[name]
    owners = [soundcloud]
    if name != "__compiled__":
        owners.append(importlib.import_module("soundcloud." + soundcloud._MODULE_OF[name]))
    defined_in = getattr(value, "__module__", None)
    if defined_in and callable(value):
        owners.append(sys.modules[defined_in])
    if any(getattr(owner, name) is not value for owner in owners):
        mismatched.append(name)
print(repr((sorted(k for k in namespace if k != "__builtins__"), mismatched)))
"""


def test_every_public_name_is_the_object_its_defining_module_has() -> None:
    bound, mismatched = run_child(IDENTITY_SCRIPT)
    assert bound == sorted(soundcloud.__all__)
    assert mismatched == []


def test_the_table_and_the_type_checkers_imports_name_the_same_modules() -> None:
    """``__all__``, the run-time table and the imports under ``TYPE_CHECKING`` agree, so a type
    checker sees each name where ``__getattr__`` finds it."""
    tree = ast.parse((PACKAGE_DIR / "__init__.py").read_text(encoding="utf-8"))
    (block,) = [node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"]
    seen: Dict[str, str] = {}
    annotated: List[str] = []
    for node in block.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            seen.update((alias.name, node.module) for alias in node.names)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            annotated.append(f"{node.target.id}: {ast.unparse(node.annotation)}")
    assert seen == soundcloud._MODULE_OF
    assert annotated == ["__compiled__: bool"]
    assert set(soundcloud.__all__) == set(soundcloud._MODULE_OF) | {"__compiled__"}
    assert set(soundcloud.__all__) <= set(dir(soundcloud))


def test_a_misspelt_name_is_an_error_and_submodules_still_import() -> None:
    with pytest.raises(AttributeError, match="^module 'soundcloud' has no attribute 'Clinet'$"):
        getattr(soundcloud, "Clinet")  # noqa: B009 - mypy would refuse the misspelling
    with pytest.raises(ImportError, match="cannot import name 'Clinet'"):
        exec("from soundcloud import Clinet", {})  # noqa: S102
    # `from . import _log` in the package's modules: __getattr__ declines, the import system
    # then imports the submodule.
    namespace: Dict[str, Any] = {}
    exec("from soundcloud import _log", namespace)  # noqa: S102
    assert namespace["_log"] is sys.modules["soundcloud._log"]


# Pickles name the defining module (soundcloud.errors, soundcloud.auth.tokens): a fresh
# interpreter loads it, and the package around it, to unpickle.
UNPICKLE_SCRIPT = """
import pickle
value = pickle.loads(bytes.fromhex(sys.argv[2]))
fields = [getattr(value, name) for name in sys.argv[3:]]
print(repr((type(value).__module__, type(value).__name__, fields, "soundcloud.client" in sys.modules)))
"""


def pickled_in_a_fresh_interpreter(expression: str) -> str:
    return str(run_child(f"import pickle, soundcloud\nprint(repr(pickle.dumps({expression}).hex()))\n"))


def test_an_error_pickled_in_one_interpreter_loads_in_another() -> None:
    pickled = pickled_in_a_fresh_interpreter(
        "soundcloud.NotFoundError(404, method='GET', url='https://api.soundcloud.com/tracks/1')"
    )
    module, name, fields, client_loaded = run_child(UNPICKLE_SCRIPT, pickled, "status_code", "method", "url")
    assert (module, name) == ("soundcloud.errors", "NotFoundError")
    assert fields == [404, "GET", "https://api.soundcloud.com/tracks/1"]
    assert client_loaded is False  # an error needs its module only, not the client


def test_a_token_pickled_in_one_interpreter_loads_in_another() -> None:
    pickled = pickled_in_a_fresh_interpreter("soundcloud.Token('access-1', 'refresh-1', 3600, 1700003600.0, 'x')")
    module, name, fields, _ = run_child(
        UNPICKLE_SCRIPT, pickled, "access_token", "refresh_token", "expires_in", "expires_at", "scope"
    )
    assert (module, name) == ("soundcloud.auth.tokens", "Token")
    assert fields == ["access-1", "refresh-1", 3600, 1700003600.0, "x"]


def test_compiled_flag_is_the_clients_kind_and_found_without_importing_it() -> None:
    compiled, client_loaded, client_file = run_child(
        "import soundcloud\n"
        "compiled = soundcloud.__compiled__\n"
        "loaded = 'soundcloud.client' in sys.modules\n"
        "import soundcloud.client\n"
        "print(repr((compiled, loaded, soundcloud.client.__file__)))\n"
    )
    assert type(compiled) is bool and client_loaded is False
    assert compiled is client_file.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    assert compiled is EXPECT_COMPILED
    assert soundcloud.__compiled__ is compiled
