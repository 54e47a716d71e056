"""The README's commands are the ones CI runs: the Quick start and the Development blocks.

README.rst marks its literal blocks of commands with ``.. ci-block: NAME`` comment lines;
``tools/readme_blocks.py`` prints a block's commands; ``.ci/run`` runs the ``development``
block as its test step and ``.ci/quick-start`` runs the ``quick-start`` block in a fresh
clone with a clean environment. These tests hold that chain together, and hold the
README's install advice to the registry as it is: there, ``soundcloud`` 0.5.0 (2015) is a
different library, so no command the README gives may resolve to it.

They need the source tree (README.rst, tools/, .ci/) beside tests/, and skip in a run
against an installed wheel, whose tests/ is a copy on its own.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Dict, List, Tuple

import pytest

import soundcloud

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.rst"
TOOL = ROOT / "tools" / "readme_blocks.py"
CI_RUN = ROOT / ".ci" / "run"
QUICK_START = ROOT / ".ci" / "quick-start"
MAKEFILE = ROOT / "Makefile"

pytestmark = pytest.mark.skipif(
    not (README.is_file() and TOOL.is_file()),
    reason="needs README.rst and tools/ beside tests/ (an installed wheel's run has neither)",
)
needs_ci = pytest.mark.skipif(not CI_RUN.is_file(), reason="no .ci/ beside tests/ (an sdist leaves it out)")

# Every release the registry has under the name today, the last first: none of them is this
# library, so no install command of the README may resolve to one.
OLD_RELEASES = ("0.5.0", "0.4.2", "0.4.0", "0.3.9", "0.3", "0.2", "0.1")
CHILD_TIMEOUT = 60


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    """tools/readme_blocks.py, loaded as a module."""
    spec = importlib.util.spec_from_file_location("readme_blocks", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def readme_blocks(tool: ModuleType) -> Dict[str, str]:
    found: Dict[str, str] = tool.blocks(README.read_text(encoding="utf-8"))
    return found


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", str(TOOL), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
    )


# --- a tiny PEP 440 subset: release numbers, comparison clauses ---------------------------

CLAUSE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+)*)\s*$")


def release(version: str) -> Tuple[int, ...]:
    match = re.match(r"\d+(?:\.\d+)*", version)
    assert match, version
    numbers = [int(part) for part in match.group().split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def admits(specifier: str, version: str) -> bool:
    """Whether pip would take ``version`` for ``specifier`` (comma-separated clauses of
    release numbers), pre-releases excluded as pip excludes them without ``--pre``."""
    if re.search(r"(a|b|rc|\.dev)\d+", version):
        return False
    have = release(version)
    for clause in specifier.split(","):
        match = CLAUSE.match(clause)
        assert match, f"{clause!r}: only >=, >, <=, <, == and != with release numbers are understood"
        operator, want = match.group(1), release(match.group(2))
        holds = {
            ">=": have >= want,
            ">": have > want,
            "<=": have <= want,
            "<": have < want,
            "==": have == want,
            "!=": have != want,
        }[operator]
        if not holds:
            return False
    return True


def registry_requirements(command: str) -> List[str]:
    """The specifiers of the ``soundcloud`` requirements a ``pip install`` line takes from the
    registry ("" for a bare name); paths, URLs and options are not from the registry."""
    words = shlex.split(command)
    assert words[:2] == ["pip", "install"], command
    specifiers = []
    for word in words[2:]:
        match = re.fullmatch(r"soundcloud(?:\[[\w,]+\])?\s*([<>=!~].*)?", word)
        if match and not word.startswith("-"):
            specifiers.append((match.group(1) or "").strip())
    return specifiers


def test_the_version_compare_reads_pip_s_way() -> None:
    assert admits(">=1", "1.0.0") and admits(">=1", "1.2.3") and admits(">1,<2", "1.5")
    assert not admits(">=1", "0.5.0") and not admits("<1", "1.0.0") and not admits("!=1.0", "1.0.0")
    assert not admits(">=1", "1.1.0rc1")
    assert registry_requirements('pip install --no-deps "soundcloud>=1" .') == [">=1"]
    assert registry_requirements("pip install soundcloud") == [""]
    assert registry_requirements("pip install . soundcloud-1.0.0-py3-none-any.whl 'soundcloud @ git+URL'") == []


# --- the blocks ----------------------------------------------------------------------------


def test_the_readme_marks_a_quick_start_and_a_development_block(readme_blocks: Dict[str, str]) -> None:
    assert {"quick-start", "development", "install-from-registry"} <= set(readme_blocks)
    for name, commands in readme_blocks.items():
        assert commands.endswith("\n") and commands.strip(), name
        assert not any(line != line.lstrip() for line in commands.splitlines()), f"{name}: not dedented"


def test_the_quick_start_installs_the_checkout_in_a_venv_and_runs_the_demo(
    readme_blocks: Dict[str, str],
) -> None:
    lines = readme_blocks["quick-start"].splitlines()
    assert "pip install ." in lines
    assert lines[-1] == "soundcloud demo"
    venv = next(i for i, line in enumerate(lines) if re.fullmatch(r"python3 -m venv (\S+)", line))
    directory = lines[venv].split()[-1]
    activate = lines.index(f". {directory}/bin/activate")
    assert venv < activate < lines.index("pip install .") < len(lines) - 1
    installs = [line for line in lines if line.startswith("pip install")]
    assert [spec for line in installs for spec in registry_requirements(line)] == [], (
        "the quick start installs from the registry, where `soundcloud` is the 2015 library"
    )
    bash = shutil.which("bash")
    if bash is not None:
        checked = subprocess.run([bash, "-n", "-c", readme_blocks["quick-start"]], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr


def test_no_command_in_the_readme_installs_the_2015_release() -> None:
    text = README.read_text(encoding="utf-8")
    # Commands stand indented in literal blocks; inline ``pip install soundcloud`` in prose
    # (saying what that does today) is not a command to type.
    commands = re.findall(r"^\s+(pip install .*)$", text, re.MULTILINE)
    assert commands
    for command in commands:
        for specifier in registry_requirements(command):
            assert specifier, f"{command!r} resolves to 0.5.0 (2015) on the registry today"
            assert not any(admits(specifier, old) for old in OLD_RELEASES), command


def test_the_registry_advice_excludes_0_5_0_and_admits_this_release(readme_blocks: Dict[str, str]) -> None:
    commands = readme_blocks["install-from-registry"].splitlines()
    specifiers = [spec for command in commands for spec in registry_requirements(command)]
    assert specifiers, "the install-from-registry block names no soundcloud requirement"
    for specifier in specifiers:
        assert not any(admits(specifier, old) for old in OLD_RELEASES), specifier
        assert admits(specifier, soundcloud.__version__), (
            f"soundcloud{specifier} would not install this release, {soundcloud.__version__}"
        )


def test_wheel_names_in_the_readme_carry_this_version() -> None:
    names = re.findall(r"soundcloud-([^-\s`]+)-py3-none-any\.whl", README.read_text(encoding="utf-8"))
    assert names
    assert set(names) == {soundcloud.__version__}


def test_the_development_block_runs_make_targets_the_makefile_has(readme_blocks: Dict[str, str]) -> None:
    targets = set(re.findall(r"^([\w-]+):", MAKEFILE.read_text(encoding="utf-8"), re.MULTILINE))
    lines = readme_blocks["development"].splitlines()
    assert any(line.split()[1:] == ["test"] for line in lines)
    for line in lines:
        words = line.split()
        assert words[0] == "make", line
        assert [word for word in words[1:] if not word.startswith("-") and word not in targets] == [], line


# --- CI runs them ----------------------------------------------------------------------------


def command_lines(script: str) -> List[str]:
    """A shell script's lines other than comments and blank ones, stripped."""
    return [line.strip() for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def make_words(command: str) -> List[str]:
    """A command's words, ``make --no-print-directory test`` read as ``make test``."""
    return [word for word in command.split() if word != "--no-print-directory"]


@needs_ci
def test_ci_runs_the_development_block_through_the_script(readme_blocks: Dict[str, str]) -> None:
    lines = command_lines(CI_RUN.read_text(encoding="utf-8"))
    reads = [
        match.group(1)
        for line in lines
        for match in [re.fullmatch(r'(\w+)=\$\(python3 tools/readme_blocks\.py development\)', line)]
        if match
    ]
    assert len(reads) == 1, ".ci/run must read the development block with tools/readme_blocks.py"
    assert f'bash -eux -o pipefail -c "${reads[0]}"' in lines
    # ... and does not write the command itself: no line runs what the block says.
    block = [make_words(line) for line in readme_blocks["development"].splitlines()]
    assert [line for line in lines if make_words(line) in block] == []
    assert "bash .ci/quick-start" in lines


def test_the_tool_prints_a_block_and_lists_them(readme_blocks: Dict[str, str]) -> None:
    printed = run_tool("development")
    assert (printed.returncode, printed.stdout, printed.stderr) == (0, readme_blocks["development"], "")
    listed = run_tool("--list")
    assert listed.returncode == 0 and listed.stdout.splitlines() == list(readme_blocks)


def test_the_tool_errors_clearly_on_a_missing_block(tmp_path: Path) -> None:
    readme = tmp_path / "README.rst"
    readme.write_text(".. ci-block: development\n\n::\n\n    make test\n", encoding="utf-8")
    result = run_tool("quick-start", "--readme", str(readme))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (
        f"readme_blocks: error: {readme} has no block marked '.. ci-block: quick-start' "
        "(marked blocks: development)\n"
    )
    missing = run_tool("quick-start", "--readme", str(tmp_path / "nowhere.rst"))
    assert missing.returncode == 1 and "nowhere.rst" in missing.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (".. ci-block: a\n\nJust prose.\n\nMore prose.\n", "is not followed by a paragraph ending in '::'"),
        (".. ci-block: a\n\n::\n\nNot indented.\n", "is followed by '::' but no indented literal block"),
        (".. ci-block: a\n\n::\n\n    one\n\n.. ci-block: a\n\n::\n\n    two\n", "marks a second block of that name"),
    ],
)
def test_the_tool_refuses_a_marker_it_cannot_read(tool: ModuleType, text: str, message: str) -> None:
    with pytest.raises(tool.BlockError, match=re.escape(message)):
        tool.blocks(text, source="X.rst")


def test_a_block_ends_where_its_indentation_does(tool: ModuleType) -> None:
    text = (
        "Intro\n\n"
        "* In a list, from the clone::\n\n"
        "      cd dir\n"
        "      for x in a b; do\n"
        "          echo $x\n\n"
        "      done\n\n"
        "  Still the list item, not the block.\n\n"
        ".. ci-block: other\n\n"
        "::\n\n"
        "    true\n"
    )
    marked = text.replace("* In a list", ".. ci-block: nested\n\n* In a list")
    assert tool.blocks(marked) == {
        "nested": "cd dir\nfor x in a b; do\n    echo $x\n\ndone\n",
        "other": "true\n",
    }
    assert tool.block(marked, "other") == "true\n"


# --- the quick start runs in a fresh clone, with nothing of the caller's -------------------

PROBE = """\
import json, os, shutil, sys
json.dump({{
    "cwd": os.getcwd(),
    "files": sorted(os.listdir(".")),
    "env": sorted(os.environ),
    "home": sorted(os.listdir(os.environ["HOME"])),
    "soundcloud": shutil.which("soundcloud"),
    "executable": sys.executable,
    "path": sys.path,
}}, open({report!r}, "w"))
"""


def make_repo(path: Path, block: str) -> None:
    """A git repository holding a README whose quick-start block is ``block``, and the tool."""
    (path / "tools").mkdir(parents=True)
    shutil.copy(TOOL, path / "tools" / "readme_blocks.py")
    indented = "".join(f"    {line}\n" for line in block.splitlines())
    (path / "README.rst").write_text(f"Quick start\n\n.. ci-block: quick-start\n\n::\n\n{indented}", encoding="utf-8")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-C", str(path)]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "quick start"]):
        subprocess.run(git + args, check=True, capture_output=True, timeout=CHILD_TIMEOUT)
    (path / "uncommitted.txt").write_text("not in a clone\n", encoding="utf-8")


def dirty_environment(tmp_path: Path) -> Dict[str, str]:
    """The caller's environment at its worst: an activated venv whose bin has a `soundcloud`
    and a broken `python3`, PYTHONPATH, and the package's switches and credentials."""
    venv = tmp_path / "callers-venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /nowhere\n", encoding="utf-8")
    for name in ("soundcloud", "python3"):
        (venv / "bin" / name).write_text("#!/bin/sh\nexit 99\n", encoding="utf-8")
        (venv / "bin" / name).chmod(0o755)
    env = dict(os.environ)
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        PYTHONPATH=str(tmp_path / "callers-pythonpath"),
        SOUNDCLOUD_USE_MYPYC="1",
        SOUNDCLOUD_CLIENT_SECRET="caller-secret",
    )
    return env


def quick_start_of(tmp_path: Path, block: str) -> subprocess.CompletedProcess[str]:
    """``.ci/quick-start`` run on a repository whose quick-start block is ``block``, from the
    dirtiest environment a caller could have."""
    repo = tmp_path / "repo"
    make_repo(repo, block)
    return subprocess.run(
        ["bash", str(QUICK_START), str(repo)],
        env=dirty_environment(tmp_path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
    )


needs_quick_start = pytest.mark.skipif(
    not QUICK_START.is_file() or shutil.which("git") is None or shutil.which("bash") is None,
    reason="needs .ci/quick-start, git and bash",
)


@needs_quick_start
def test_the_quick_start_runs_in_a_fresh_clone_with_nothing_of_the_callers(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    probe = PROBE.format(report=str(report))
    result = quick_start_of(tmp_path, f"python3 -c {shlex.quote(probe)}")
    assert result.returncode == 0, result.stderr
    assert re.search(r"^quick start: passed in \d+s$", result.stdout, re.MULTILINE), result.stdout
    seen = json.loads(report.read_text(encoding="utf-8"))
    clone = Path(seen["cwd"])
    assert clone.name == "clone" and clone != tmp_path / "repo"
    assert "README.rst" in seen["files"] and "uncommitted.txt" not in seen["files"]
    assert not clone.exists(), "the clone outlived the run"
    leaked = [name for name in seen["env"] if name.startswith(("PYTHON", "SOUNDCLOUD_")) or name == "VIRTUAL_ENV"]
    assert leaked == []
    assert "PIP_REQUIRE_VIRTUALENV" in seen["env"]
    assert seen["home"] == [] and seen["soundcloud"] is None
    assert not seen["executable"].startswith(str(tmp_path))
    assert str(tmp_path / "callers-pythonpath") not in seen["path"]


@needs_quick_start
@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("true\n(exit 7)\necho never", "quick start: the README block failed with exit status 7"),
        # What pip checks before anything else: no venv, PIP_REQUIRE_VIRTUALENV set -> refused.
        (
            "python3 -m pip install --no-index --dry-run nothing-at-all\necho never",
            "Could not find an activated virtualenv (required).",
        ),
    ],
)
def test_the_quick_start_fails_with_the_block(tmp_path: Path, block: str, message: str) -> None:
    result = quick_start_of(tmp_path, block)
    assert result.returncode == 1
    assert message in result.stderr
    assert "never" not in result.stdout
