"""The typed API's namespaces (soundcloud/namespaces.py, generated) against the spec: the file and
the README's table are current, and every operation has its method, named by the rule.

The rule is written again here, from its description (soundcloud.namespaces' docstring), and
checked against the package's operation table and classes: this part needs only the package. The
generator tests need ``tools/``, ``spec/`` and PyYAML beside the tests and skip, saying why,
elsewhere (an installed wheel's test run).
"""

from __future__ import annotations

import copy
import inspect
import re
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, List, Tuple, get_type_hints

import pytest
from support.generators import load_generator

import soundcloud
from soundcloud import models, namespaces
from soundcloud._spec import OPERATIONS, Operation
from soundcloud.pages import Pages

ROOT = Path(__file__).resolve().parent.parent.parent
SPEC = ROOT / "spec" / "soundcloud-api.yaml"
GENERATED = ROOT / "soundcloud" / "namespaces.py"
README = ROOT / "README.rst"

NAMESPACES = {
    "me": namespaces.MeAPI,
    "tracks": namespaces.TracksAPI,
    "playlists": namespaces.PlaylistsAPI,
    "users": namespaces.UsersAPI,
    "likes": namespaces.LikesAPI,
    "reposts": namespaces.RepostsAPI,
}
CLIENT_METHODS = {"/resolve": "resolve", "/sign-out": "sign_out"}
# Compiled with mypyc (not today: see soundcloud/_compiled.py), the classes would keep no
# docstrings or annotations to read back.
COMPILED = not (namespaces.__file__ or "").endswith(".py")
needs_annotations = pytest.mark.skipif(COMPILED, reason="mypyc-compiled classes keep no docstrings or annotations")


# --- the rule, written again -------------------------------------------------------------------


def _is_collection(schemas: str) -> bool:
    """An answer is a collection when its schema is an array (an alias such as TracksList) or an
    object with a ``collection`` field."""
    for name in schemas.split("|"):
        model = getattr(models, name, None)
        if model is None:
            return False
        if not isinstance(model, type) or "collection" in vars(model):
            return True
    return False


def _singular(words: str) -> str:
    head, _, last = words.rpartition("_")
    last = last[:-3] + "y" if last.endswith("ies") else last[:-1] if last.endswith("s") else last
    return f"{head}_{last}" if head else last


def expected_name(operation: Operation) -> Tuple[str, str]:
    """(namespace, method) of an operation by the rule."""
    segments = operation.path.strip("/").split("/")
    namespace, rest = segments[0], segments[1:]
    has_x = bool(rest) and rest[0].startswith("{")
    literal = [s for s in rest if not s.startswith("{")]
    has_y = bool(rest) and rest[-1].startswith("{") and bool(literal)
    words = "_".join(s.replace("-", "_") for s in literal)
    method = operation.method
    answer = next(schema for status, schema in operation.responses if status < 400)
    if not words:
        table = {"GET": "search" if _is_collection(answer) else "get", "POST": "create"} if not has_x else {
            "GET": "get", "PUT": "update", "DELETE": "delete"
        }
    elif not has_y:
        table = {"GET": words, "POST": _singular(words), "PUT": "update_" + words}
    else:
        one = _singular(words)
        table = {"GET": one, "PUT": "add_" + one, "POST": "add_" + one, "DELETE": "remove_" + one}
    return namespace, table[method]


def test_every_operation_has_its_method_by_the_rule() -> None:
    served: Dict[str, List[str]] = {}
    for operation in OPERATIONS:
        if operation.path in CLIENT_METHODS:
            assert callable(getattr(soundcloud.Client, CLIENT_METHODS[operation.path]))
            continue
        namespace, name = expected_name(operation)
        cls = NAMESPACES[namespace]
        method = getattr(cls, name, None)
        assert callable(method), f"{operation.method} {operation.path}: no {cls.__name__}.{name}"
        if not COMPILED:
            assert f"``{operation.method} {operation.path}``" in (method.__doc__ or ""), (cls.__name__, name)
        served.setdefault(namespace, []).append(name)
    # Nothing else: each namespace has exactly the methods of its operations, each once.
    for namespace, cls in NAMESPACES.items():
        public = sorted(n for n, v in vars(cls).items() if callable(v) and not n.startswith("_"))
        assert public == sorted(served[namespace]), namespace
        assert len(set(served[namespace])) == len(served[namespace]), namespace
    assert sum(len(names) for names in served.values()) + len(CLIENT_METHODS) == len(OPERATIONS) == 64


@needs_annotations
def test_the_fixed_names() -> None:
    def parameters(function: Any) -> List[Tuple[str, Any]]:
        return [(p.name, p.default) for p in inspect.signature(function).parameters.values()][1:]

    hints = {name: get_type_hints(getattr(namespaces.TracksAPI, name)) for name in ("get", "streams", "comment")}
    assert hints["get"]["return"] is models.Track
    assert hints["streams"]["return"] is models.Streams
    assert hints["comment"]["return"] is models.Comment
    assert parameters(namespaces.TracksAPI.comment) == [
        ("track", inspect.Parameter.empty), ("body", inspect.Parameter.empty), ("timestamp", None)
    ]  # fmt: skip
    assert get_type_hints(namespaces.TracksAPI.search)["return"] == Pages[models.Track]
    assert "page_size" in dict(parameters(namespaces.TracksAPI.search))
    assert {"limit", "offset", "linked_partitioning"}.isdisjoint(dict(parameters(namespaces.TracksAPI.search)))
    assert get_type_hints(namespaces.MeAPI.get)["return"] is models.Me
    assert parameters(namespaces.MeAPI.get) == []
    assert get_type_hints(namespaces.UsersAPI.get)["return"] is models.User
    assert models.User in get_type_hints(namespaces.UsersAPI.get)["user"].__args__
    assert get_type_hints(namespaces.MeAPI.activities)["return"] == Pages[models.Activity]


@needs_annotations
def test_every_method_has_a_docstring_and_a_return_annotation() -> None:
    for cls in NAMESPACES.values():
        assert cls.__doc__ and "rule" in cls.__doc__
        for name, function in vars(cls).items():
            if callable(function) and not name.startswith("_"):
                assert function.__doc__ and function.__doc__.strip(), (cls.__name__, name)
                assert "return" in get_type_hints(function), (cls.__name__, name)
    assert "Names, by one rule over the path" in (namespaces.__doc__ or "")


# --- the generated texts -----------------------------------------------------------------------


def _generator() -> ModuleType:
    return load_generator("gen_namespaces", GENERATED)


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    return _generator()


@pytest.fixture(scope="module")
def document(gen: ModuleType) -> Dict[str, Any]:
    import yaml

    loaded: Dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return loaded


def test_namespaces_py_is_current(gen: ModuleType) -> None:
    text = gen.generate()
    assert text == GENERATED.read_text(encoding="utf-8"), "stale: run python tools/gen_namespaces.py"
    assert text.splitlines()[0].startswith("# Generated by tools/gen_namespaces.py") and "Do not edit" in text
    assert gen.generate() == text  # deterministic


def test_the_readme_table_is_current(gen: ModuleType) -> None:
    found, rows = gen._load()
    table = gen.readme_table(found, rows)
    readme = README.read_text(encoding="utf-8")
    start, end = readme.index(gen.TABLE_START), readme.index(gen.TABLE_END) + len(gen.TABLE_END)
    assert readme[start:end] == table, "stale: run python tools/gen_namespaces.py"
    # Every operation is a row, and the rows name the methods the rule gives.
    listed = re.findall(r"^   \* - ``(\w+) (\S+)``\n     - ``client\.(\w+)\.?(\w*)\(", table, re.MULTILINE)
    assert len(listed) == len(OPERATIONS)
    for (method, path, first, second), operation in zip(listed, OPERATIONS):
        assert (method, path) == (operation.method, operation.path)
        if path in CLIENT_METHODS:
            assert (first, second) == (CLIENT_METHODS[path], "")
        else:
            assert (first, second) == expected_name(operation)
    assert gen.main(["--check"]) == 0


def test_the_generator_refuses_a_name_used_twice(gen: ModuleType, document: Dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    # POST /tracks/{track_urn}/comment would be tracks.comment too.
    changed["paths"]["/tracks/{track_urn}/comment"] = {"post": changed["paths"]["/tracks/{track_urn}/comments"]["post"]}
    rows = gen.build(changed, gen.load_errata(gen.ERRATA))
    with pytest.raises(gen.GenerationError, match="both get tracks.comment"):
        gen.methods(changed, rows)


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("get", "/tracks/{track_urn}/{user_urn}", "shape the naming rule does not cover"),
        ("patch", "/tracks/{track_urn}", "no name for PATCH"),
        ("delete", "/tracks/{track_urn}/comments", "no name for DELETE"),
    ],
)
def test_the_generator_refuses_what_the_rule_does_not_name(gen: ModuleType, method: str, path: str, message: str) -> None:
    with pytest.raises(gen.GenerationError, match=message):
        gen.method_name(method, path, False)


@pytest.mark.parametrize(
    ("method", "path", "collection", "expected"),
    [
        ("get", "/tracks", True, ("tracks", "search")),
        ("get", "/me", False, ("me", "get")),
        ("post", "/playlists", False, ("playlists", "create")),
        ("put", "/tracks/{track_urn}", False, ("tracks", "update")),
        ("get", "/me/activities/all/own", True, ("me", "activities_all_own")),
        ("get", "/me/recently-played/tracks", True, ("me", "recently_played_tracks")),
        ("post", "/tracks/{track_urn}/comments", False, ("tracks", "comment")),
        ("put", "/tracks/{track_urn}/storefront", False, ("tracks", "update_storefront")),
        ("get", "/users/{user_urn}/followings/{following_urn}", False, ("users", "following")),
        ("put", "/me/followings/{user_urn}", False, ("me", "add_following")),
        ("delete", "/likes/playlists/{playlist_urn}", False, ("likes", "remove_playlist")),
        ("get", "/me/activities/{activity_urn}", False, ("me", "activity")),
    ],
)
def test_the_rule_in_the_generator(
    gen: ModuleType, method: str, path: str, collection: bool, expected: Tuple[str, str]
) -> None:
    assert gen.method_name(method, path, collection) == expected
