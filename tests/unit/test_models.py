"""The typed models (soundcloud.models, on soundcloud._model): read on the fake's real answers, and
their contract: unknown fields kept, to_dict() the JSON itself, MissingFieldError and DecodeError,
read-only, equality, repr, pickling, from_json.

These need only the package and the fake, so they run against the installed wheels too: the same
assertions hold compiled (mypyc) and pure. The generated file's currency and its nullability
against the spec are tests/spec/test_models_generated.py.
"""

from __future__ import annotations

import json
import keyword
import pickle
import re
import urllib.request
from typing import Any, Dict, List, Optional, Tuple, Type

import pytest

import soundcloud
from soundcloud import DecodeError, MissingFieldError, SoundCloudError, models
from soundcloud._model import Model
from soundcloud.testing import FakeSoundCloud

JSON_SCALARS = (str, int, float, bool)


def fetch(fake: FakeSoundCloud, token: str, path: str, method: str = "GET", body: Any = None) -> Any:
    """The fake's answer to one request, decoded (with the user's token)."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(fake.api_url + path, data=data, method=method)
    request.add_header("Authorization", "OAuth " + token)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - the fake on 127.0.0.1
        return json.loads(answer.read())


def attribute(key: str) -> str:
    """The property name of a JSON key, by the generator's documented rule (tools/gen_models.py)."""
    name = re.sub(r"[^0-9A-Za-z_]+", "_", key).strip("_")
    if name[0].isdigit():
        name = "field_" + name
    return name + "_" if keyword.iskeyword(name) or name in ("get", "keys", "extra", "to_dict") else name


def walk(model: Model, problems: List[str], missing: List[str], where: str) -> int:
    """Read every spec field of ``model`` and of every model it holds; return how many were read.

    A field present in the JSON must read as its value (nested objects as models wrapping the
    very same dict); an absent one must read as None (Optional) or raise MissingFieldError, noted
    in ``missing`` as ``where:Class.key``. Anything else goes to ``problems``.
    """
    read = 0
    for key in sorted(type(model)._FIELDS):
        name = attribute(key)
        label = f"{where}.{name}"
        try:
            value = getattr(model, name)
        except MissingFieldError as error:
            assert key not in model and (error.model, error.field) == (type(model).__name__, key)
            missing.append(f"{where}:{type(model).__name__}.{key}")
            continue
        except SoundCloudError as error:
            problems.append(f"{label}: {type(error).__name__}: {error}")
            continue
        read += 1
        raw = model.get(key)
        if value is None:
            if raw is not None:
                problems.append(f"{label}: {raw!r} read as None")
        elif isinstance(value, Model):
            assert value.to_dict() is raw, label  # wrapped, not copied
            read += walk(value, problems, missing, label)
        elif isinstance(value, list):
            assert len(value) == len(raw), label
            for index, item in enumerate(value):
                if isinstance(item, Model):
                    assert item.to_dict() is raw[index], label
                    read += walk(item, problems, missing, f"{label}[{index}]")
                else:
                    problems.append(f"{label}[{index}]: {item!r} is not a model")
        elif isinstance(value, dict):
            assert value is raw, label
        elif not isinstance(value, JSON_SCALARS) or value != raw:
            problems.append(f"{label}: {raw!r} read as {value!r}")
    return read


# The compact user the API embeds in tracks and playlists leaves these out; a full User (GET
# /users/{urn}) has them all. MissingFieldError is what reading them there gives, by design.
COMPACT_USER_LEAVES_OUT = {
    "User.created_at",
    "User.plan",
    "User.playlist_count",
    "User.public_favorites_count",
    "User.subscriptions",
    "User.track_count",
}


def embedded_user_gaps(missing: List[str]) -> List[str]:
    """What of ``missing`` is not a field a compact user (``....user:``) leaves out."""
    return [item for item in missing if not (item.split(":")[0].endswith(".user") and
                                             item.split(":")[1] in COMPACT_USER_LEAVES_OUT)]


@pytest.mark.parametrize(
    ("path", "cls"),
    [
        ("/tracks/293", models.Track),
        ("/users/183", models.User),
        ("/me", models.Me),
        ("/playlists/1", models.Playlist),
        ("/tracks/293/comments?linked_partitioning=true", models.Comments),
        ("/tracks/1/streams", models.Streams),
        ("/me/activities?limit=20", models.Activities),
        ("/tracks?linked_partitioning=true&limit=3", models.Tracks),
        ("/users?linked_partitioning=true&limit=3", models.Users),
        ("/playlists?linked_partitioning=true&limit=3", models.Playlists),
    ],
)
def test_every_field_of_the_fakes_answers_reads(fake: FakeSoundCloud, token: str, path: str, cls: Type[Model]) -> None:
    model = cls(fetch(fake, token, path))
    problems: List[str] = []
    missing: List[str] = []
    read = walk(model, problems, missing, cls.__name__)
    assert problems == []
    # Every field not Optional is in the answer itself; only the users embedded in tracks and
    # playlists are compact (the fake sends them as the service does).
    assert embedded_user_gaps(missing) == []
    assert read > len(cls._FIELDS) // 2


def test_every_field_reads_on_collections_items(fake: FakeSoundCloud, token: str) -> None:
    comments = [models.Comment(item) for item in fetch(fake, token, "/tracks/293/comments")]
    profiles = [models.WebProfile(item) for item in fetch(fake, token, "/users/183/web-profiles")]
    activities = models.Activities(fetch(fake, token, "/me/activities?limit=50")).collection
    assert comments and profiles and activities
    problems: List[str] = []
    missing: List[str] = []
    for item in [*comments, *profiles, *activities]:
        walk(item, problems, missing, type(item).__name__)
    assert (problems, embedded_user_gaps(missing)) == ([], [])
    assert comments[0].user.username and comments[0].body
    assert profiles[0].service == "twitter" and profiles[0].url.startswith("https://")
    kinds = {type(activity.origin) for activity in activities}
    assert kinds == {models.Track, models.Playlist}
    assert all(activity.origin.urn == activity.origin["urn"] for activity in activities)


def test_a_storefront_reads() -> None:
    with FakeSoundCloud(user={"plan": "Pro Unlimited"}) as fake:
        token = fake.issue_token()
        body = {"title": "Get it", "type": "vinyl", "link": "https://shop.example/1", "price": "25 EUR"}
        storefront = models.Storefront(fetch(fake, token, "/tracks/1/storefront", "PUT", body))
    problems: List[str] = []
    missing: List[str] = []
    assert walk(storefront, problems, missing, "Storefront") == len(models.Storefront._FIELDS)
    assert (problems, missing) == ([], [])
    assert (storefront.track_urn, storefront.price, storefront.link_title) == ("soundcloud:tracks:1", "25 EUR", None)


def test_the_typed_fields_of_a_track(fake: FakeSoundCloud, token: str) -> None:
    data = fetch(fake, token, "/tracks/293")
    track = models.Track(data)
    assert track.title == "Flickermood" and track.urn == "soundcloud:tracks:293"
    assert track.user.username == "forss" and isinstance(track.user, models.User)
    assert isinstance(track.duration, int) and track.duration == data["duration"]
    assert track.secret_uri is None  # nullable (an erratum): null on a public track
    assert isinstance(track.bpm, float) or track.bpm is None


# --- unknown fields and the JSON itself ------------------------------------------------------


def test_unknown_fields_stay_reachable_and_to_dict_is_the_json(fake: FakeSoundCloud, token: str) -> None:
    data = fetch(fake, token, "/tracks/293")
    track = models.Track(data)
    assert track.to_dict() is data
    assert track.user.to_dict() is data["user"]
    assert track["id"] == 293 and track.get("id") == 293 and "id" in track
    assert track.get("no such field", "default") == "default" and "no such field" not in track
    with pytest.raises(KeyError):
        track["no such field"]
    assert track.keys() == list(data) and list(track) == list(data)
    assert track.extra == {key: value for key, value in data.items() if key not in models.Track._FIELDS}
    assert {"id", "user_id", "permalink"} <= set(track.extra) and "title" not in track.extra
    assert track["user"] is data["user"]  # items are the JSON as it came, not wrapped


def test_an_undocumented_field_an_erratum_names_is_a_field() -> None:
    streams = models.Streams({"hls_aac_160_url": "a", "hls_aac_96_url": "b", "preview_mp3_128_url": "c"})
    assert (streams.hls_aac_160_url, streams.hls_aac_96_url, streams.preview_mp3_128_url) == ("a", "b", "c")
    assert streams.http_mp3_128_url is None  # removed (an erratum): Optional
    assert streams.extra == {}
    assert models.Streams({"hls_aac_160_url": "a"}).hls_aac_96_url is None


def test_a_derived_schema_keeps_its_base() -> None:
    limited = models.TooManyRequests({"code": 429, "message": "slow down", "spam_warning_urn": "soundcloud:x:1", "k": 1})
    assert isinstance(limited, models.Error)
    assert (limited.code, limited.message, limited.spam_warning_urn) == (429, "slow down", "soundcloud:x:1")
    assert limited.extra == {"k": 1}
    assert models.Error(limited.to_dict()).extra == {"spam_warning_urn": "soundcloud:x:1", "k": 1}


def test_array_schemas_are_aliases() -> None:
    assert models.TracksList == List[models.Track]
    assert models.PlaylistsArray == List[models.Playlist]
    assert models.WebProfiles == List[models.WebProfile]


# --- absent fields and wrong types -----------------------------------------------------------


def test_an_absent_field_raises_missing_field_error_naming_model_and_field() -> None:
    track = models.Track({"urn": "soundcloud:tracks:1"})
    with pytest.raises(MissingFieldError) as caught:
        track.title
    error = caught.value
    assert isinstance(error, AttributeError) and isinstance(error, SoundCloudError)
    assert (error.model, error.field) == ("Track", "title")
    assert "Track.title" in str(error)
    assert soundcloud.MissingFieldError is MissingFieldError
    assert getattr(track, "title", "fallback") == "fallback" and not hasattr(track, "user")
    assert track.bpm is None and track.artwork_url is None  # Optional: absent is None
    copied = pickle.loads(pickle.dumps(error))
    assert (type(copied), copied.model, copied.field, str(copied)) == (MissingFieldError, "Track", "title", str(error))


@pytest.mark.parametrize(
    ("cls", "data", "field", "message"),
    [
        (models.Track, {"title": 5}, "title", "Track.title: expected string, got integer"),
        (models.Track, {"title": None}, "title", "Track.title: expected string, got null"),
        (models.Track, {"duration": True}, "duration", "Track.duration: expected integer, got boolean"),
        (models.Track, {"duration": 1.5}, "duration", "Track.duration: expected integer, got number"),
        (models.Track, {"duration": "10"}, "duration", "Track.duration: expected integer, got string"),
        (models.Track, {"bpm": "120"}, "bpm", "Track.bpm: expected number or null, got string"),
        (models.Track, {"bpm": False}, "bpm", "Track.bpm: expected number or null, got boolean"),
        (models.Track, {"streamable": 1}, "streamable", "Track.streamable: expected boolean, got integer"),
        (models.Track, {"user": "forss"}, "user", "Track.user: expected object, got string"),
        (models.Track, {"user": None}, "user", "Track.user: expected object, got null"),
        (models.Playlist, {"tracks": {}}, "tracks", "Playlist.tracks: expected array of objects, got object"),
        (models.Playlist, {"tracks": [{}, 7]}, "tracks", "Playlist.tracks[1]: expected object, got integer"),
        (models.Playlist, {"label": []}, "label", "Playlist.label: expected object or null, got array"),
        (models.Comment, {"timestamp": True}, "timestamp", "Comment.timestamp: expected string, integer or null"),
        (models.Activity, {"origin": {"kind": "user"}}, "origin", "expected an object of kind track or playlist"),
        (models.Activity, {"origin": {}}, "origin", "got kind null"),
    ],
)
def test_a_value_of_another_json_type_raises_decode_error(
    cls: Type[Model], data: Dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(DecodeError) as caught:
        getattr(cls(data), field)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError) and not isinstance(caught.value, AttributeError)


def test_numbers_and_unions_read_as_the_spec_types_them() -> None:
    assert models.Track({"bpm": 120}).bpm == 120.0 and isinstance(models.Track({"bpm": 120}).bpm, float)
    assert models.Track({"bpm": 95.5}).bpm == 95.5
    assert models.Track({"duration": 2**40}).duration == 2**40
    assert models.Track({"bpm": None}).bpm is None
    assert models.Comment({"timestamp": 80000}).timestamp == 80000  # string or integer (an erratum)
    assert models.Comment({"timestamp": "80000"}).timestamp == "80000"
    assert models.Comment({"timestamp": None}).timestamp is None
    assert models.Playlist({"label": None}).label is None  # the spec's own nullable allOf part
    label = models.Playlist({"label": {"username": "label"}}).label
    assert isinstance(label, models.User) and label.username == "label"
    assert models.Playlist({"tracks": []}).tracks == []


# --- the Model contract ------------------------------------------------------------------------


@pytest.mark.parametrize("statement", ["track.title = 'x'", "track.novel = 1", "track._data = {}", "del track.title",
                                       "del track._data"])
def test_models_are_read_only(statement: str) -> None:
    track = models.Track({"title": "Flickermood"})
    with pytest.raises(AttributeError):
        exec(statement, {"track": track})  # noqa: S102 - the statements above
    assert track.title == "Flickermood" and track.to_dict() == {"title": "Flickermood"}


def test_equality_is_same_class_and_equal_json() -> None:
    data = {"urn": "soundcloud:users:1", "username": "forss"}
    assert models.User(data) == models.User(dict(data))
    assert models.User(data) != models.User({**data, "username": "other"})
    assert models.User(data) != models.Me(data)
    assert models.User(data) != data
    assert not (models.User(data) == data)
    with pytest.raises(TypeError):
        hash(models.User(data))  # the JSON inside can change: no hash, as for a dict


def test_pickling_keeps_class_and_json(fake: FakeSoundCloud, token: str) -> None:
    track = models.Track(fetch(fake, token, "/tracks/293"))
    copied = pickle.loads(pickle.dumps(track))
    assert type(copied) is models.Track and copied == track and copied.to_dict() == track.to_dict()
    assert copied.user.username == "forss"
    limited = pickle.loads(pickle.dumps(models.TooManyRequests({"code": 429})))
    assert type(limited) is models.TooManyRequests and limited.code == 429


def test_repr_names_the_object_and_never_a_secret() -> None:
    track = models.Track({"urn": "soundcloud:tracks:293", "id": 293, "title": "Flickermood", "description": "long"})
    assert repr(track) == "Track(urn='soundcloud:tracks:293', title='Flickermood')"
    assert repr(models.User({"id": 183, "username": "forss"})) == "User(id=183, username='forss')"
    token = models.OAuthToken({"grant_type": "refresh_token", "client_secret": "s3cret", "refresh_token": "r3fresh"})
    assert "s3cret" not in repr(token) and "r3fresh" not in repr(token) and repr(token) == "OAuthToken()"
    hostile = repr(models.Track({"title": "\x1b]52;c;evil\x07\u202e" + "x" * 100}))
    assert "\x1b" not in hostile and "\u202e" not in hostile and len(hostile) < 100


def test_from_json_picks_the_model_by_kind() -> None:
    for kind, cls in (("track", models.Track), ("user", models.User), ("playlist", models.Playlist)):
        data = {"kind": kind, "urn": f"soundcloud:{kind}s:1"}
        model = models.from_json(data)
        assert type(model) is cls and model.to_dict() is data
    other = models.from_json({"kind": "comment", "body": "hi"})
    assert type(other) is Model and other["body"] == "hi" and other.extra == {"kind": "comment", "body": "hi"}
    for wrong in ([], "track", None):
        with pytest.raises(DecodeError, match="expected a JSON object"):
            models.from_json(wrong)


def test_nested_models_are_built_on_each_read() -> None:
    data = {"user": {"username": "forss"}, "tracks": [{"title": "a"}]}
    track = models.Track(data)
    assert track.user == track.user and track.user.to_dict() is data["user"]
    data["user"] = {"username": "changed"}  # the dict is the state: nothing is cached
    assert track.user.username == "changed"
    assert [t.title for t in models.Playlist(data).tracks] == ["a"]


def test_inline_objects_have_their_classes() -> None:
    me = models.Me({"quota": {"unlimited_upload_quota": False, "upload_seconds_left": None, "upload_seconds_used": 5},
                    "subscriptions": [{"product": {"id": "creator", "name": "Next Pro"}, "recurring": True}]})
    assert isinstance(me.quota, models.Quota) and me.quota.upload_seconds_left is None and me.quota.upload_seconds_used == 5
    assert me.subscriptions[0].product.name == "Next Pro" and me.subscriptions[0].recurring is True
    assert isinstance(me.subscriptions[0], models.Subscription)
    assert isinstance(models.Error({"errors": [{"error_message": "x"}]}).errors[0], models.ErrorDetail)
    assert isinstance(models.Comment({"user": {"username": "u"}}).user, models.CommentUser)
    request = models.CreateUpdatePlaylistRequest({"playlist": {"tracks": [{"urn": "soundcloud:tracks:1"}]}})
    assert request.playlist.tracks[0].urn == "soundcloud:tracks:1"
    assert isinstance(request.playlist, models.PlaylistMetadata)
    assert isinstance(request.playlist.tracks[0], models.TrackReference)
    form = models.CreateUpdatePlaylistFormRequest({"playlist[tracks][][urn]": "soundcloud:tracks:1"})
    assert form.playlist_tracks_urn == "soundcloud:tracks:1"  # the naming rule: brackets to "_"


def test_every_model_class_is_exported_and_a_model() -> None:
    classes: List[Tuple[str, Optional[type]]] = [(name, getattr(models, name, None)) for name in models.__all__]
    assert [name for name, value in classes if value is None] == []
    for name, value in classes:
        if isinstance(value, type):
            assert issubclass(value, Model) and value.__name__ == name
    assert "Model" not in models.__all__ and "soundcloud.models" not in soundcloud.__all__
