"""The packaging contract: the package stands alone, can be vendored, and builds from source.

The same file runs in three settings, and each proves something of its own:

* ``make test`` / ``make test-all`` run it against the source tree. The build tests
  (marked ``slow``) then build the sdist and a wheel from a copy of the tree and install
  them into fresh virtual environments.
* ``make test-wheels`` runs it against an installed wheel, from a copy of ``tests/``
  outside the repository, with ``SOUNDCLOUD_EXPECT_COMPILED`` saying whether that wheel
  is the mypyc-compiled one. The build tests skip there (no source tree beside them); the
  installed-distribution tests run instead.

Every child interpreter is started with ``-I`` (isolated: no ``PYTHONPATH``, no user
site, no script directory on ``sys.path``), so it sees only the paths a test gives it.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

import pytest

import soundcloud
from soundcloud._compiled import COMPILED_MODULES

if TYPE_CHECKING:
    from soundcloud.testing import FakeSoundCloud

SOURCE_ROOT = Path(__file__).resolve().parents[2]
# The build tests need the project itself, not only a copy of tests/.
HAS_SOURCE = all(
    (SOURCE_ROOT / name).is_file()
    for name in ("setup.py", "pyproject.toml", "build_backend/soundcloud_build.py", "soundcloud/__init__.py")
)
needs_source = pytest.mark.skipif(not HAS_SOURCE, reason="needs the source tree beside tests/")

PACKAGE_DIR = Path(soundcloud.__file__).resolve().parent
EXPECT_COMPILED = os.environ.get("SOUNDCLOUD_EXPECT_COMPILED") == "1"
EXTENSION_SUFFIXES = tuple(importlib.machinery.EXTENSION_SUFFIXES)
# What mypyc compiles: the one list setup.py reads too.
ALWAYS_COMPILED = tuple(f"soundcloud.{name}" for name in COMPILED_MODULES)
NEVER_COMPILED = ("soundcloud.__main__", "soundcloud.cli", "soundcloud.testing")
# A compiled wheel keeps all its compiled code in the package: one group library.
MYPYC_SHARED_LIBRARY = "_mypyc__mypyc"

# Bounds for child processes: an import takes well under a second, a build seconds.
IMPORT_TIMEOUT = 60
BUILD_TIMEOUT = 600


def is_extension(path: Optional[str]) -> bool:
    return bool(path) and str(path).endswith(EXTENSION_SUFFIXES)


def child_env(**extra: str) -> Dict[str, str]:
    """The environment for child processes: no build switches, no stray interpreter settings."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PYTHON", "SOUNDCLOUD_", "PIP_REQUIRE_VIRTUALENV"))
        and name not in ("VIRTUAL_ENV", "__PYVENV_LAUNCHER__")
    }
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def run(
    args: Sequence[str], *, cwd: Path, timeout: float, env: Optional[Dict[str, str]] = None
) -> subprocess.CompletedProcess[str]:
    """Run a child process; fail the test with its output if it fails."""
    result = subprocess.run(
        [str(arg) for arg in args],
        cwd=str(cwd),
        env=child_env() if env is None else env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited {result.returncode}\n"
            f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
        )
    return result


def last_json_line(output: str) -> Any:
    """The JSON report a child script prints as its last line."""
    return json.loads(output.strip().splitlines()[-1])


def installed_distribution() -> Optional[importlib.metadata.Distribution]:
    """The installed distribution that owns the imported package, or None (source tree)."""
    try:
        dist = importlib.metadata.distribution("soundcloud")
    except importlib.metadata.PackageNotFoundError:
        return None
    if dist.read_text("RECORD") is None:
        return None  # an egg-info left in the source tree by a build, not an installation
    for file in dist.files or ():
        if file.as_posix() == "soundcloud/__init__.py":
            located = Path(str(dist.locate_file(file))).resolve()
            return dist if located == Path(soundcloud.__file__).resolve() else None
    return None


def package_submodules() -> List[str]:
    """Every module of the imported package, except the CLI entry point, the pytest plugin (it
    imports pytest, the package's one import outside the standard library, loaded by pytest
    only: tests/unit/test_pytest_import_boundary.py) and mypyc's library."""
    names = []
    for info in pkgutil.walk_packages([str(PACKAGE_DIR)], prefix="soundcloud."):
        if info.name in ("soundcloud.__main__", "soundcloud.testing.pytest_plugin") or info.name.endswith("__mypyc"):
            continue
        names.append(info.name)
    return sorted(names)


# --- the public namespace ------------------------------------------------------------


def test_all_is_sorted_unique_and_resolves() -> None:
    names = list(soundcloud.__all__)
    assert names == sorted(names), "soundcloud.__all__ must be in sorted() order"
    assert len(names) == len(set(names))
    missing = [name for name in names if not hasattr(soundcloud, name)]
    assert missing == []


def test_version_is_the_single_source() -> None:
    from soundcloud import _version

    assert soundcloud.__version__ == _version.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?(?:\.post\d+)?(?:\.dev\d+)?", soundcloud.__version__)


# --- compiled or pure, as installed ----------------------------------------------------


def test_compiled_flag_matches_the_installation() -> None:
    """``soundcloud.__compiled__`` tells the truth, and it is what the runner expected."""
    assert type(soundcloud.__compiled__) is bool
    assert soundcloud.__compiled__ is EXPECT_COMPILED
    for name in ALWAYS_COMPILED:
        module = importlib.import_module(name)
        assert is_extension(module.__file__) is EXPECT_COMPILED, module.__file__


def test_cli_and_fake_server_are_never_compiled() -> None:
    found = {}
    for name in NEVER_COMPILED:
        spec = importlib.util.find_spec(name)  # finds without running __main__
        if spec is not None:
            found[name] = spec.origin
    assert "soundcloud.testing" in found, "the fake server module is part of the package"
    assert {name: origin for name, origin in found.items() if not str(origin).endswith(".py")} == {}


@pytest.mark.skipif(not EXPECT_COMPILED, reason="only a compiled installation has extension modules")
def test_compiled_layout_stays_inside_the_package() -> None:
    """One in-package group library, each compiled module with its source beside it, and
    no reference to a package outside the standard library in the machine code."""
    extensions = sorted(path for path in PACKAGE_DIR.rglob("*") if is_extension(str(path)))
    libraries = [path for path in extensions if path.name.startswith(MYPYC_SHARED_LIBRARY + ".")]
    assert [path.parent for path in libraries] == [PACKAGE_DIR], extensions
    compiled = {
        ".".join(path.relative_to(PACKAGE_DIR).parent.parts + (path.name.split(".")[0],))
        for path in extensions
        if path not in libraries
    }
    assert compiled == set(COMPILED_MODULES)
    for path in extensions:
        if path in libraries:
            continue
        module = path.name.split(".")[0]
        # Tracebacks and the vendoring fallback (see below) use the .py beside the .so.
        assert (path.parent / f"{module}.py").is_file(), f"{path.name} has no {module}.py beside it"
    for path in extensions:
        data = path.read_bytes()
        # mypyc only imports these when the code uses mypy_extensions / librt features,
        # which would make the wheel depend on another distribution at run time.
        for needle in (b"mypy_extensions", b"librt"):
            assert needle not in data, f"{path.name} refers to {needle.decode()}"


def test_installed_distribution_declares_nothing_and_owns_only_its_files() -> None:
    dist = installed_distribution()
    if dist is None:
        pytest.skip("the package under test is the source tree, not an installed distribution")
    assert dist.version == soundcloud.__version__
    assert not dist.requires, f"Requires-Dist: {dist.requires}"
    assert dist.metadata["Requires-Python"] == ">=3.9"
    scripts = [ep for ep in dist.entry_points if ep.group == "console_scripts"]
    assert [(ep.name, ep.value) for ep in scripts] == [("soundcloud", "soundcloud.cli:main")]
    plugins = [(ep.name, ep.value) for ep in dist.entry_points if ep.group == "pytest11"]
    assert plugins == [("soundcloud", "soundcloud.testing.pytest_plugin")]
    strays = []
    for file in dist.files or ():
        path = file.as_posix()
        top = path.split("/")[0]
        if top == "soundcloud" or top.endswith(".dist-info") or path.endswith("/bin/soundcloud"):
            continue
        strays.append(path)
    # In particular no hash-named mypyc library at the top of site-packages.
    assert strays == []


# --- stdlib only, vendorable -----------------------------------------------------------

# Imports the package and every submodule in a fresh interpreter and lists the modules that
# came from outside the standard library. sys.stdlib_module_names is 3.10+; on 3.9 a module
# counts as stdlib when it is built in or lives in the stdlib directories, not site-packages.
STDLIB_ONLY_SCRIPT = """
import json, os, sys, sysconfig
package_parent, modules = sys.argv[1], sys.argv[2:]
sys.path.insert(0, package_parent)
before = set(sys.modules)
import importlib
for name in modules:
    importlib.import_module(name)
loaded = sorted(set(sys.modules) - before)
stdlib_dirs = {os.path.realpath(sysconfig.get_paths()[key]) for key in ("stdlib", "platstdlib")}
def is_stdlib(name):
    top = name.partition(".")[0]
    names = getattr(sys, "stdlib_module_names", None)
    if names is not None:
        return top in names
    if top in sys.builtin_module_names:
        return True
    path = getattr(sys.modules.get(top), "__file__", None)
    if path is None:
        return True
    path = os.path.realpath(path)
    return "site-packages" not in path and any(path.startswith(d + os.sep) for d in stdlib_dirs)
print(json.dumps({
    "file": sys.modules["soundcloud"].__file__,
    "outside": [m for m in loaded if m.partition(".")[0] != "soundcloud" and not is_stdlib(m)],
    "ours": [m for m in loaded if m.partition(".")[0] == "soundcloud"],
}))
"""


def test_import_loads_only_the_standard_library(tmp_path: Path) -> None:
    modules = ["soundcloud", *package_submodules()]
    result = run(
        [sys.executable, "-I", "-c", STDLIB_ONLY_SCRIPT, PACKAGE_DIR.parent, *modules],
        cwd=tmp_path,
        timeout=IMPORT_TIMEOUT,
    )
    report = last_json_line(result.stdout)
    assert Path(report["file"]).resolve() == Path(soundcloud.__file__).resolve()
    assert set(modules) <= set(report["ours"])
    assert report["outside"] == []


# Runs in `python -I -S`: no site-packages at all, only the standard library and the
# application directory. The vendored package must work from there under its new name.
VENDORED_SCRIPT = """
import json, sys
app_dir, client_id, api_url = sys.argv[1:4]
sys.path.insert(0, app_dir)
from myapp._vendor import soundcloud
client = soundcloud.Client(client_id=client_id, api_url=api_url)
tracks = client.get("/tracks", limit=2)
print(json.dumps({
    "type": type(tracks).__name__,
    "ids": [track["id"] for track in tracks],
    "file": soundcloud.__file__,
    "compiled": soundcloud.__compiled__,
    "top_level": sorted(m for m in sys.modules if m.partition(".")[0] == "soundcloud"),
    "vendored": sorted(m for m in sys.modules if m.startswith("myapp._vendor.soundcloud")),
}))
"""


def test_vendored_copy_works_without_a_top_level_soundcloud(tmp_path: Path, fake: FakeSoundCloud) -> None:
    """Copy the imported package to ``myapp/_vendor/soundcloud`` and use it from there.

    A compiled installation is vendored through its Python sources, which the compiled
    wheel ships beside the extension modules: mypyc's modules cannot be renamed. Each shim
    loads the group library by its absolute name (``soundcloud._mypyc__mypyc``), so a
    copied ``.so`` either fails to import (no top-level ``soundcloud``) or, worse, loads a
    second, top-level copy of the package when one happens to be installed.
    """
    vendor = tmp_path / "myapp" / "_vendor"
    vendor.mkdir(parents=True)
    (tmp_path / "myapp" / "__init__.py").write_text("")
    (vendor / "__init__.py").write_text("")

    def ignore(directory: str, names: List[str]) -> List[str]:
        return [n for n in names if n == "__pycache__" or n.endswith((".pyc", *EXTENSION_SUFFIXES))]

    shutil.copytree(PACKAGE_DIR, vendor / "soundcloud", ignore=ignore)

    result = run(
        [sys.executable, "-I", "-S", "-c", VENDORED_SCRIPT, tmp_path, fake.client_id, fake.api_url],
        cwd=tmp_path,
        timeout=IMPORT_TIMEOUT,
    )
    report = last_json_line(result.stdout)
    assert report["type"] == "ResourceList"
    assert len(report["ids"]) == 2
    assert Path(report["file"]).resolve() == (vendor / "soundcloud" / "__init__.py").resolve()
    assert report["compiled"] is False
    assert report["top_level"] == [], "the vendored copy imported a top-level soundcloud"
    assert "myapp._vendor.soundcloud.client" in report["vendored"]
    sent = [r for r in fake.requests if r.server == "api" and r.path == "/tracks"]
    assert len(sent) == 1
    assert sent[0].query.get("limit") == ["2"]
    assert sent[0].query.get("client_id") == [fake.client_id]


# --- building from source (slow: seconds each) -------------------------------------------

COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", ".venvs", "venv", "build", "dist", "wheelhouse", "*.egg-info",
    "__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache", "*.so", "*.pyd",
)  # fmt: skip


@pytest.fixture(scope="module")
def source_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project as a checkout would have it, so builds never write into the work tree."""
    target = tmp_path_factory.mktemp("source") / "soundcloud-src"
    shutil.copytree(SOURCE_ROOT, target, ignore=COPY_IGNORE)
    return target


@pytest.fixture(scope="module")
def sdist(source_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist, built with the installed setuptools (no network, no build isolation)."""
    pytest.importorskip("build", reason="requirements.txt installs build")
    out = tmp_path_factory.mktemp("sdist")
    run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", out, source_copy],
        cwd=source_copy, timeout=BUILD_TIMEOUT)  # fmt: skip
    (path,) = out.glob("soundcloud-*.tar.gz")
    return path


def make_venv(path: Path, *, with_pip: bool) -> Path:
    venv.EnvBuilder(with_pip=with_pip, clear=True).create(str(path))
    python = path / "bin" / "python"
    assert python.exists(), f"no interpreter in {path}"
    return python


def venv_distributions(python: Path, cwd: Path) -> List[str]:
    code = "import importlib.metadata as m, json; print(json.dumps(sorted(d.metadata['Name'] for d in m.distributions())))"
    names: List[str] = last_json_line(run([python, "-I", "-c", code], cwd=cwd, timeout=IMPORT_TIMEOUT).stdout)
    return names


PROBE_SCRIPT = """
import importlib.util, json, pathlib, sys
import soundcloud
package = pathlib.Path(soundcloud.__file__).parent
print(json.dumps({
    "prefix": sys.prefix,
    "file": soundcloud.__file__,
    "compiled": soundcloud.__compiled__,
    "extensions": sorted(p.name for p in package.iterdir() if p.suffix in (".so", ".pyd")),
    "mypy": importlib.util.find_spec("mypy") is not None,
}))
"""


@needs_source
def test_build_backend_adds_mypy_only_when_asked(source_copy: Path) -> None:
    hook = (
        "import json, sys; sys.path.insert(0, 'build_backend'); import soundcloud_build as b; "
        "print(json.dumps(b.get_requires_for_build_wheel()))"
    )
    pytest.importorskip("setuptools")
    default = last_json_line(run([sys.executable, "-I", "-c", hook], cwd=source_copy, timeout=BUILD_TIMEOUT).stdout)
    assert not [req for req in default if req.startswith("mypy")]
    compiled = last_json_line(
        run([sys.executable, "-I", "-c", hook], cwd=source_copy, timeout=BUILD_TIMEOUT,
            env=child_env(SOUNDCLOUD_USE_MYPYC="1")).stdout  # fmt: skip
    )
    assert [req for req in compiled if req.startswith("mypy")] == ["mypy>=1.17"]
    typo = subprocess.run(
        [sys.executable, "-I", "-c", hook], cwd=str(source_copy), env=child_env(SOUNDCLOUD_USE_MYPYC="maybe"),
        capture_output=True, text=True, timeout=BUILD_TIMEOUT,
    )  # fmt: skip
    assert typo.returncode != 0
    assert "SOUNDCLOUD_USE_MYPYC='maybe'" in typo.stderr


@needs_source
@pytest.mark.slow
def test_compiled_build_without_mypyc_fails_loudly(source_copy: Path, tmp_path: Path) -> None:
    """With the switch on and no mypyc to be had, the build stops: never a quiet pure wheel."""
    if importlib.util.find_spec("mypyc") is not None:
        pytest.skip("mypyc is installed here; this runs where it is not (the 3.9 venv)")
    pytest.importorskip("setuptools")
    out = tmp_path / "wheels"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--wheel-dir", str(out), str(source_copy)],
        cwd=str(tmp_path), env=child_env(SOUNDCLOUD_USE_MYPYC="1"),
        capture_output=True, text=True, timeout=BUILD_TIMEOUT,
    )  # fmt: skip
    assert result.returncode != 0
    assert "mypyc cannot be imported" in result.stdout + result.stderr
    assert list(out.glob("*.whl")) == []


@needs_source
@pytest.mark.slow
def test_sdist_carries_the_build_helpers(sdist: Path, source_copy: Path) -> None:
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
        root = names[0].split("/")[0]
        members = {name[len(root) + 1 :] for name in names if name.startswith(root + "/")}
        pkg_info = archive.extractfile(f"{root}/PKG-INFO")
        assert pkg_info is not None
        metadata = pkg_info.read().decode("utf-8")
    assert root == f"soundcloud-{soundcloud.__version__}"
    for required in ("setup.py", "pyproject.toml", "MANIFEST.in", "build_backend/soundcloud_build.py"):
        assert required in members, f"{required} missing from the sdist"
    sources = {f"soundcloud/{path.name}" for path in (source_copy / "soundcloud").glob("*.py")}
    assert sources <= members
    junk = [m for m in members if m.endswith((".so", ".pyd", ".pyc", ".c")) or "__pycache__" in m]
    assert junk == []
    assert "Requires-Dist" not in metadata


@needs_source
@pytest.mark.slow
def test_pure_wheel_installs_alone(sdist: Path, tmp_path: Path) -> None:
    """The wheel built from the sdist is pure, declares nothing, and a venv holding it
    holds nothing else: pip resolves it with no index, so any dependency would fail."""
    wheels = tmp_path / "wheels"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--wheel-dir", wheels, sdist], cwd=tmp_path, timeout=BUILD_TIMEOUT)  # fmt: skip
    (wheel,) = wheels.glob("soundcloud-*.whl")
    assert wheel.name == f"soundcloud-{soundcloud.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"soundcloud-{soundcloud.__version__}.dist-info/METADATA").decode()
        entry_points = archive.read(f"soundcloud-{soundcloud.__version__}.dist-info/entry_points.txt").decode()
    assert "[pytest11]\nsoundcloud = soundcloud.testing.pytest_plugin" in entry_points
    assert [n for n in names if n.split("/")[0] not in ("soundcloud", f"soundcloud-{soundcloud.__version__}.dist-info")] == []
    assert [n for n in names if n.endswith((".so", ".pyd"))] == []
    assert "Requires-Dist" not in metadata
    assert "Requires-Python: >=3.9" in metadata
    assert "License-Expression: BSD-2-Clause" in metadata

    python = make_venv(tmp_path / "venv", with_pip=False)
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-index", "--find-links", wheels,
         "soundcloud"], cwd=tmp_path, timeout=BUILD_TIMEOUT)  # fmt: skip
    assert venv_distributions(python, tmp_path) == ["soundcloud"]
    probe = last_json_line(run([python, "-I", "-c", PROBE_SCRIPT], cwd=tmp_path, timeout=IMPORT_TIMEOUT).stdout)
    assert (tmp_path / "venv").resolve() in Path(probe["file"]).resolve().parents
    assert probe["compiled"] is False
    assert probe["extensions"] == []
    script = tmp_path / "venv" / "bin" / "soundcloud"
    assert "soundcloud.cli" in script.read_text()


@needs_source
@pytest.mark.slow
def test_sdist_installs_pure_without_mypy(sdist: Path, tmp_path: Path) -> None:
    """``pip install --no-binary :all:`` of the sdist, with pip's own build isolation (it
    fetches setuptools from the index): the default build needs no mypy and no compiler."""
    python = make_venv(tmp_path / "venv", with_pip=True)
    run([python, "-m", "pip", "install", "--no-binary", ":all:", sdist], cwd=tmp_path, timeout=BUILD_TIMEOUT)
    probe = last_json_line(run([python, "-I", "-c", PROBE_SCRIPT], cwd=tmp_path, timeout=IMPORT_TIMEOUT).stdout)
    assert probe["compiled"] is False
    assert probe["extensions"] == []
    assert probe["mypy"] is False
    assert Path(probe["prefix"]).resolve() == (tmp_path / "venv").resolve()
