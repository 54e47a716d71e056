"""The package's shape, checked from its source: layers, cycles, sizes, lazy imports, public names.

These read the code as text (``ast``), so they hold for the pure and the compiled build alike;
the import-time test runs a fresh interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest

import soundcloud
from soundcloud._compiled import COMPILED_MODULES

PACKAGE_DIR = Path(soundcloud.__file__).resolve().parent
HAS_SOURCES = (PACKAGE_DIR / "client.py").is_file()

# Layers, bottom (0) to top. A module may import its own layer's modules and lower ones only.
# Within a layer, the cycle test keeps imports one-way.
LAYERS: Dict[str, int] = {
    "_compiled": 0,
    "_version": 0,
    "_redact": 0,
    "_json": 0,
    "_origins": 0,
    # The operation table, one way up: the types, the generated data, the lookup.
    "_spec_types": 0,
    "_operations": 0,
    "_spec": 0,
    "_models": 1,
    "_fs": 1,
    "_log": 1,
    "errors": 2,
    "encoding": 3,
    "resources": 3,
    # The typed models: the base and its field readers, then the generated classes on it.
    "_model": 3,
    "models": 3,
    "_urls": 3,
    "transport": 4,
    "auth": 5,
    "media": 6,
    # The typed API: pages (and the generated methods' helpers), then the generated namespaces.
    "pages": 6,
    "namespaces": 6,
    "client": 7,
    "__init__": 8,
    "cli": 9,
    "__main__": 10,
    "testing": 9,
}

# Function-level imports allowed in the package, each for a measured reason: they keep
# ``from soundcloud import Client`` near ``import urllib.request`` (make bench, "import" rows;
# ``import soundcloud`` itself loads none of the package: tests/unit/test_lazy_package.py). Any
# other import belongs at the top of its module.
LAZY_IMPORTS: Dict[str, str] = {
    "json": "decoding JSON bodies only when one arrives (json pulls in re-compiled scanners)",
    "ssl": "TLS only for https origins (ssl is the largest import of all)",
    "http.client": "the first connection only: http.client loads ssl and the email package",
    "random": "backoff jitter only when a retry waits (random loads hashlib and bisect)",
    "secrets": "PKCE verifiers and state only at login (secrets imports random, hmac, base64)",
    "hmac": "constant-time state check only at the callback",
    "logging": "only once the application has imported logging itself",
    "tempfile": "temporary files only when a file is written (tempfile imports random, shutil)",
    "copy": "copying an error only when a token renewal failed",
    "heapq": "the watchdog's timer heap only once a total deadline is used",
    "mimetypes": "guessing a Content-Type only for an upload without one",
    "email.utils": "HTTP dates only in a Retry-After that is not a number",
    "fcntl": "the token store's lock across processes, only on POSIX (the module exists only there)",
    "msvcrt": "the token store's lock across processes, only on Windows (the module exists only there)",
    "zlib": "decoding a compressed answer only when one arrives (0.4 ms when site has not loaded it)",
    "sqlite3": "SQLiteTokenStore only once a store is used (2 ms: _sqlite3, sqlite3.dbapi2 and datetime)",
    "importlib.machinery": "soundcloud.__compiled__ only when read (0.7 ms without site: importlib, warnings)",
    "importlib.util": "soundcloud.__compiled__ only when read (5 ms without site: contextlib, collections, functools)",
}

# The loopback login and the media downloads are imported by the client when first used:
# they bring http.server, webbrowser, concurrent.futures, hashlib and patterns of their
# own. The transport's response reader derives from http.client's classes: it comes with
# the first connection, as http.client does.
LAZY_PACKAGE_IMPORTS: Set[str] = {
    "soundcloud.auth.loopback",
    "soundcloud.media.batch",
    "soundcloud.media.track",
    "soundcloud.testing",
    "soundcloud.transport.reader",
}

NOT_ON_IMPORT = ("json", "ssl", "secrets", "logging", "http.server", "email.parser", "sqlite3")

MAX_MODULE_LINES = 800

PUBLIC_NAMES = [
    "AccessDeniedError",
    "BadRequestError",
    "Client",
    "ConnectError",
    "DecodeError",
    "DownloadError",
    "FileTokenStore",
    "ForbiddenError",
    "HTTPError",
    "HTTPTransport",
    "Headers",
    "InsecureRedirectError",
    "InvalidClientError",
    "InvalidGrantError",
    "InvalidRequestError",
    "InvalidScopeError",
    "MissingFieldError",
    "NotFoundError",
    "OAuthError",
    "ProtocolError",
    "RateLimit",
    "RateLimitedTokenError",
    "RedirectError",
    "Request",
    "Resource",
    "ResourceList",
    "ResponseTooLargeError",
    "SQLiteTokenStore",
    "ServerError",
    "SoundCloudError",
    "StateMismatchError",
    "StreamResponse",
    "Timeout",
    "TimeoutError",
    "Token",
    "TokenStore",
    "TokenStoreError",
    "TooManyRedirectsError",
    "TooManyRequestsError",
    "Transport",
    "TransportError",
    "USE_CLIENT_DEFAULT",
    "UnauthorizedClientError",
    "UnauthorizedError",
    "UnprocessableEntityError",
    "UnsupportedGrantTypeError",
    "UploadInterruptedError",
    "__compiled__",
    "__version__",
    "to_urn",
]

needs_sources = pytest.mark.skipif(not HAS_SOURCES, reason="the package's .py sources are not installed")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(["soundcloud", *parts])


def _sources() -> Iterator[Tuple[str, Path]]:
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        yield _module_name(path), path


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> List[str]:
    """The module an ``import``/``from`` statement names (absolute, dotted) and, for the
    package's own imports, the names imported from it that may be modules themselves
    (``from . import client``, ``from .auth import loopback``)."""
    if node.level == 0:
        base = node.module or ""
    else:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([node.module] if node.module else []))
    names = [base]
    if base.split(".")[0] == "soundcloud":
        names.extend(f"{base}.{alias.name}" for alias in node.names)
    return names


def _imports(module: str, path: Path) -> Iterator[Tuple[str, int, bool, bool]]:
    """(imported name, line, is lazy, is typing-only) for each import in one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only: Set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in ast.walk(node):
                typing_only.add(id(inner))
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        lazy = id(node) not in top_level and id(node) not in typing_only
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, lazy, id(node) in typing_only
        elif isinstance(node, ast.ImportFrom):
            for name in _resolve(module, path, node):
                yield name, node.lineno, lazy, id(node) in typing_only


def _package_graph() -> Dict[str, Set[str]]:
    modules = {name for name, _ in _sources()}
    graph: Dict[str, Set[str]] = {}
    for module, path in _sources():
        edges = graph.setdefault(module, set())
        for name, _, _, typing_only in _imports(module, path):
            if name in modules and name != module and not typing_only:
                edges.add(name)
    return graph


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS[parts[1] if len(parts) > 1 else "__init__"]


@needs_sources
def test_no_import_cycles_lazy_imports_included() -> None:
    graph = _package_graph()
    cycles: List[List[str]] = []
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(node: str) -> None:  # depth bounded by the number of modules
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


@needs_sources
def test_lower_layers_never_import_higher_ones() -> None:
    modules = {name for name, _ in _sources()}
    assert {name.split(".")[1] for name in modules if "." in name} <= set(LAYERS), "a new module needs a layer"
    upward = []
    for module, path in _sources():
        for name, line, _, _ in _imports(module, path):
            if name in modules and _layer(name) > _layer(module):
                upward.append(f"{module}:{line} imports {name}")
    assert upward == []


# The pytest plugin is where the fake and the client meet, as in a user's test: its
# soundcloud_client fixture builds a Client from the package's public names.
BRIDGE_MODULES = {"soundcloud.testing.pytest_plugin"}


@needs_sources
def test_the_fake_shares_no_code_with_the_client() -> None:
    modules = {name for name, _ in _sources()}
    shared = [
        f"{module}:{line} imports {name}"
        for module, path in _sources()
        if module.startswith("soundcloud.testing") and module not in BRIDGE_MODULES
        for name, line, _, _ in _imports(module, path)
        if name in modules and not name.startswith("soundcloud.testing")
    ]
    assert shared == []


@needs_sources
def test_no_hand_written_module_is_too_long() -> None:
    long = []
    for module, path in _sources():
        text = path.read_text(encoding="utf-8")
        head = "\n".join(text.splitlines()[:3]).lower()
        if text.count("\n") > MAX_MODULE_LINES and "generated" not in head:
            long.append(f"{module}: {text.count(chr(10))} lines")
    assert long == []


@needs_sources
def test_every_lazy_import_has_a_measured_reason() -> None:
    modules = {name for name, _ in _sources()}
    unexplained = []
    used: Set[str] = set()
    for module, path in _sources():
        if module.startswith(("soundcloud.cli", "soundcloud.testing")):
            continue  # never imported by `import soundcloud`
        for name, line, lazy, _ in _imports(module, path):
            if not lazy or name == "__future__":
                continue
            used.add(name)
            if name in modules or name.startswith("soundcloud."):
                if name not in LAZY_PACKAGE_IMPORTS and not any(
                    name.startswith(allowed + ".") for allowed in LAZY_PACKAGE_IMPORTS
                ):
                    unexplained.append(f"{module}:{line} imports {name} lazily")
            elif name not in LAZY_IMPORTS:
                unexplained.append(f"{module}:{line} imports {name} lazily")
    assert unexplained == []
    assert sorted(set(LAZY_IMPORTS) - used) == [], "reasons for lazy imports that no longer exist"


def test_compiled_module_list_names_real_modules() -> None:
    assert list(COMPILED_MODULES) == sorted(set(COMPILED_MODULES))
    for name in COMPILED_MODULES:
        module = __import__(f"soundcloud.{name}", fromlist=["_"])
        assert module.__name__ == f"soundcloud.{name}"
        assert not name.endswith("__init__") and name.split(".")[0] not in ("cli", "testing")


# Prints with repr, not json: the script must not load what it measures. `import soundcloud`
# alone loads none of the package (tests/unit/test_lazy_package.py), so this asks for every
# public name, as the package's eager __init__ once imported them: a program ready to use the
# client, its errors and its token stores.
IMPORT_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
before = set(sys.modules)
from soundcloud import *
print(repr(sorted(set(sys.modules) - before)))
"""


def test_the_public_names_load_none_of_the_heavy_modules() -> None:
    result = subprocess.run(
        [sys.executable, "-I", "-c", IMPORT_SCRIPT, str(PACKAGE_DIR.parent)],
        capture_output=True, text=True, timeout=60, check=True,
        cwd=str(PACKAGE_DIR.parent),
    )  # fmt: skip
    loaded = set(ast.literal_eval(result.stdout.strip().splitlines()[-1]))
    assert "soundcloud.client" in loaded
    assert sorted(name for name in NOT_ON_IMPORT if name in loaded) == []
    never = ("soundcloud.cli", "soundcloud.testing", "soundcloud.auth.loopback")
    assert [name for name in loaded if name in never or name.startswith(tuple(n + "." for n in never))] == []


def test_public_names_are_pinned() -> None:
    assert list(soundcloud.__all__) == PUBLIC_NAMES
    assert [name for name in PUBLIC_NAMES if not hasattr(soundcloud, name)] == []


def test_transport_classes_are_the_public_ones() -> None:
    from soundcloud.transport import HTTPTransport, Transport

    assert soundcloud.Transport is Transport
    assert soundcloud.HTTPTransport is HTTPTransport
    assert issubclass(HTTPTransport, Transport)


README = PACKAGE_DIR.parent / "README.rst"


@pytest.mark.skipif(not README.is_file(), reason="the README is not beside the package")
def test_every_import_the_readme_shows_works() -> None:
    import importlib
    import re

    text = README.read_text(encoding="utf-8")
    statements = re.findall(r"^\s+((?:import soundcloud|from soundcloud)[\w.]* ?.*)$", text, re.MULTILINE)
    dotted = re.findall(r"``(soundcloud(?:\.\w+)+)``", text)
    assert statements and dotted
    for statement in statements:
        exec(statement, {})  # noqa: S102 - the README's own import lines
    for name in dotted:
        module, _, attribute = name.rpartition(".")
        try:
            importlib.import_module(name)
        except ImportError:
            assert hasattr(importlib.import_module(module), attribute), name
