"""Each fast path gives exactly the answer of the slower reference it stands in for.

- auditor.fastschema's yes/no check against jsonschema's Draft 2020-12 validator, on every schema
  the loaders use, for the shipped examples and thousands of mutations of them;
- the reading policy's transcript_hint against the TRANSCRIPT_HINT regular expression.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from auditor.classify.reading import (
    TRANSCRIPT_HINT,
    ReadingPolicy,
    named_after,
    named_after_any,
    stem,
    transcript_hint,
)
from auditor.fastschema import Unsupported, compile_schema
from auditor.yamlsource import FORMATS, load_schema, load_yaml_checked

ROOT = Path(__file__).resolve().parent.parent

IGNORE_FILE = """\
version: 1
suppressions:
  - rule: recording-unencrypted
    location: '**/*_supervision.wav'
    reason: Encrypted volume migration ticket SEC-42
    expires: 2026-11-22
  - fingerprint: 0123456789abcdef0123456789abcdef
    reason: accepted by the privacy officer
  - location: '**/waiting-room/*.mp3'
    not_a_session_recording: true
    reason: the waiting room's music, not a session
    expires: 2027-06-30
"""
S3_SECTION = {
    "endpoint_url": "http://127.0.0.1:9000",
    "role_arns": ["arn:aws:iam::123456789012:role/auditor"],
    "region": "eu-west-1",
}


def _seeds(tmp_path: Path) -> dict[str, list[Any]]:
    ignore = tmp_path / "ignore.yaml"
    ignore.write_text(IGNORE_FILE)
    loaded = {
        "config": [ROOT / "examples" / "auditor.yaml"],
        "consent": [ROOT / "examples" / "consent.yaml"],
        "rulepack": sorted((ROOT / "rules").glob("*.yaml")),
        "ignore": [ignore],
    }
    seeds: dict[str, list[Any]] = {}
    for name, paths in loaded.items():
        seeds[name] = []
        for path in paths:
            value, _, errors = load_yaml_checked(path, name)
            assert errors == [], errors  # the seeds themselves are valid
            seeds[name].append(value)
    seeds["source-s3"] = [S3_SECTION]
    seeds["config"].append(
        {
            "version": 1,
            "owners": [
                {"path": "Clinic", "owner": "Dr Lee", "due_days": 30},
                {"bucket": "practice-recordings", "owner": "IT", "due": "2027-01-31"},
            ],
        }
    )
    return seeds


def _reference(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=FormatChecker(formats=list(FORMATS)))


def _names_in(schema: Any) -> set[str]:
    """Every property name a schema mentions: mutations use them so that they reach deep."""
    names: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in ("properties", "$defs") and isinstance(value, dict):
                names |= set(value)
            names |= _names_in(value)
    elif isinstance(schema, list):
        for item in schema:
            names |= _names_in(item)
    return names


SCHEMAS = ["config", "consent", "rulepack", "ignore", "source-s3"]
INTERESTING_TEXT = [
    "", " ", "x", "1", "2026-09-01", "2026-02-30", "2026-9-1", "20260901", "2026-09-01\n", "high",
    "critical", "low", "none", "supervision", "training", "sse-kms", "confirmed", "declined",
    "(?P<client>C-\\d+)_(?P<date>\\d{4}-\\d{2}-\\d{2})", "(", "[a-", "C-1001", "CONS-1",
    "0123456789abcdef0123456789abcdef", "0123456789ABCDEF0123456789ABCDEF", "**/*.wav", "/var/www",
    "http://x", "arn:aws:iam::123456789012:role/r", "recording-unencrypted", "nope-rule",
]  # fmt: skip


def _values(names: list[str]) -> st.SearchStrategy[Any]:
    leaves = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-3, max_value=40_000)
        | st.sampled_from([0, 1, 2, 1.0, 1.5, -0.0, 36525, 36526, 65536, 65535, 2**31])
        | st.floats(allow_nan=False)
        | st.sampled_from(INTERESTING_TEXT)
        | st.text(max_size=6)
    )
    keys = st.sampled_from(names) | st.text(max_size=5)
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
        max_leaves=6,
    )


def _paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [here]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*here, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*here, index))
    return found


def _bounds_in(schema: Any) -> set[int | float]:
    """The numbers a schema's minimum and maximum name, and their neighbours."""
    found: set[int | float] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in ("minimum", "maximum") and isinstance(value, int | float):
                found |= {value - 1, value, value + 1, value + 0.5}
            found |= _bounds_in(value)
    elif isinstance(schema, list):
        for item in schema:
            found |= _bounds_in(item)
    return found


def _nudged(value: Any, bounds: list[int | float]) -> st.SearchStrategy[Any]:
    if isinstance(value, bool):
        return st.sampled_from([not value, int(value), None])
    if isinstance(value, int):
        return st.sampled_from([*bounds, value + 1, -value, float(value), str(value)])
    if isinstance(value, str):
        return st.sampled_from(["", value[:-1], value + "x", value.upper(), value + "\n", " " + value])
    if isinstance(value, list):
        return st.sampled_from([[], value[:-1], value + value[-1:], [value]])
    return st.just(None)


@st.composite
def _mutated(draw: st.DrawFn, seed: Any, names: list[str], bounds: list[int | float]) -> Any:
    """`seed` with one to three changes: a value replaced, a key removed or added, an item repeated."""
    value = copy.deepcopy(seed)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(_paths(value)))
        if not path:
            value = draw(_values(names))
            continue
        parent = value
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        action = draw(st.sampled_from(["replace", "nudge", "nudge", "remove", "add", "repeat"]))
        if action == "replace":
            parent[last] = draw(_values(names))
        elif action == "nudge":  # a near miss of the same type: a bound, a length, a date, a pattern
            parent[last] = draw(_nudged(parent[last], bounds))
        elif action == "remove":
            del parent[last]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(names) | st.text(max_size=5))] = draw(_values(names))
        elif action == "repeat" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
        elif isinstance(parent, list):
            parent.insert(last, draw(_values(names)))
    return value


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Any]]:
    return _seeds(tmp_path_factory.mktemp("seeds"))


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_shipped_schema_compiles_and_the_examples_pass(name: str, seeds: dict[str, list[Any]]) -> None:
    check = compile_schema(load_schema(name), FORMATS)
    for value in seeds[name]:
        assert check(value)


@pytest.mark.parametrize("name", SCHEMAS)
def test_the_quick_check_agrees_with_jsonschema_on_mutated_documents(
    name: str, seeds: dict[str, list[Any]]
) -> None:
    schema = load_schema(name)
    check = compile_schema(schema, FORMATS)
    reference = _reference(schema)
    names = sorted(_names_in(schema))
    bounds = sorted(_bounds_in(schema))
    seen = {True: 0, False: 0}

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def agree(data: st.DataObject) -> None:
        value = data.draw(_mutated(data.draw(st.sampled_from(seeds[name])), names, bounds))
        valid = reference.is_valid(value)
        assert check(value) is valid, json.dumps(value, default=repr)
        seen[valid] += 1

    agree()
    assert seen[True] and seen[False]  # both answers were exercised


@pytest.mark.parametrize(
    ("schema", "valid", "invalid"),
    [
        ({"enum": [1, "a"]}, [1, 1.0, "a"], [True, "1", None]),
        ({"const": 1}, [1, 1.0], [True, [1]]),
        ({"const": False}, [False], [0, 0.0, None]),
        ({"const": [1, {"a": True}]}, [[1, {"a": True}], [1.0, {"a": True}]], [[True, {"a": 1}], [1]]),
        ({"type": "integer"}, [3, 3.0, -0.0], [True, 3.5, "3", float("inf")]),
        ({"type": "number", "minimum": 1, "maximum": 2}, [1, 2, 1.5], [0, 3, False, "1"]),
        ({"minimum": 1}, ["0", None, True, [0]], [0, -1.0]),  # not a number: not its business
        ({"type": ["string", "null"], "minLength": 2}, ["ab", None], ["a", 1]),
        ({"uniqueItems": True}, [[1, True], [0, False], ["a", "b"]], [[1, 1.0], ["a", "a"]]),
        ({"format": "date"}, ["2024-02-29", 7], ["2023-02-29", "2024-2-29", "2024-02-29\n"]),
        ({"format": "regex"}, ["a+", None], ["(", "[a-"]),
        ({"format": "email"}, ["not an email"], []),  # a format not asked for is an annotation
        ({"pattern": "^a"}, ["ab", 1], ["ba"]),
        ({"required": ["a"], "properties": {"a": {"type": "string"}}}, [{"a": "x"}, []], [{}, {"a": 1}]),
        (
            {"additionalProperties": False, "patternProperties": {"^x-": {"type": "integer"}}},
            [{}, {"x-a": 1}],
            [{"y": 1}, {"x-a": "1"}],
        ),
        ({"propertyNames": {"pattern": "^[a-z]+$"}}, [{"ab": 1}], [{"aB": 1}]),
        ({"dependentRequired": {"a": ["b"]}}, [{}, {"b": 1}, {"a": 1, "b": 2}], [{"a": 1}]),
        ({"anyOf": [{"required": ["a"]}, {"required": ["b"]}]}, [{"a": 1}, {"b": 1}], [{}]),
        ({"not": {"required": ["a"]}}, [{}], [{"a": 1}]),
        (
            {"if": {"required": ["a"]}, "then": {"required": ["b"]}, "else": {"required": ["c"]}},
            [{"a": 1, "b": 1}, {"c": 1}, 3],
            [{"a": 1}, {}, {"a": 1, "c": 1}],
        ),
        ({"then": False}, [1], []),  # without "if", "then" means nothing
        ({"oneOf": [{"required": ["a"]}, {"required": ["b"]}]}, [{"a": 1}, {"b": 1}], [{}, {"a": 1, "b": 2}]),
        (
            {"$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}}, "$ref": "#/$defs/n"},
            [[], [[], [[]]]],
            [[1], [[], [2]]],
        ),
        ({"items": {"type": "string"}, "minItems": 1}, [["a"], "x"], [[], [1]]),
    ],
)
def test_keywords_mean_what_jsonschema_makes_of_them(
    schema: dict[str, Any], valid: list[Any], invalid: list[Any]
) -> None:
    check = compile_schema(schema, FORMATS)
    reference = _reference(schema)
    for value in valid:
        assert reference.is_valid(value) and check(value), value
    for value in invalid:
        assert not reference.is_valid(value) and not check(value), value


@pytest.mark.parametrize(
    "schema",
    [
        {"contains": {}},  # not implemented: jsonschema decides
        {"then": {"type": "strng"}},
        {"maxLength": 3},
        {"$ref": "other.json#/x"},
        {"type": "strng"},
        {"type": ["string", "string"]},  # jsonschema's check_schema refuses these: so must we
        {"required": ["a", "a"]},
        {"minLength": -1},
        {"pattern": "("},
        {"properties": {"a": 1}},
        {"$defs": {"unused": {"maximum": "x"}}},
        {"properties": {"a": {"$defs": {}}}},
        {"title": 3},
    ],
)
def test_what_the_quick_check_cannot_judge_is_left_to_jsonschema(schema: dict[str, Any]) -> None:
    with pytest.raises(Unsupported):
        compile_schema(schema, FORMATS)


HINT_PIECES = [
    "transcri", "TRANSCRIPT", "Caption", "subtitle", "otter", "Whisper", "dictat", "scribe", "cc", "CC",
    "acc", "cc1", "_cc_", "/cc/", ".cc.", "occ", "x", "/", ".", "-", "_", "0", "ſ", "ı", "K",
]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(HINT_PIECES) | st.text(max_size=4), max_size=6).map("".join))
def test_transcript_hint_is_the_regular_expression(text: str) -> None:
    assert transcript_hint(text) is (TRANSCRIPT_HINT.search(text) is not None)


def test_transcript_hint_keeps_unicode_case_folding() -> None:
    assert re.search("s", "ſ", re.IGNORECASE)  # the reason non-ASCII text goes to the regex
    assert transcript_hint("tranſcript.txt")
    assert transcript_hint("Meeting_CC.txt") and not transcript_hint("accent.txt")


_SEGMENT = st.lists(st.sampled_from(HINT_PIECES) | st.text(max_size=3), max_size=4).map("".join)


_NAME = _SEGMENT.filter(lambda n: bool(n) and os.sep not in n and "\0" not in n)


@settings(max_examples=500, deadline=None)
@given(target=_SEGMENT, folders=st.lists(_SEGMENT, max_size=3), names=st.lists(_NAME, max_size=5))
def test_the_folder_hint_and_the_names_asked_once_give_by_names_answer(
    target: str, folders: list[str], names: list[str]
) -> None:
    """examine_folder asks rule 2 once per folder (folder_hint), then once for all its text-like
    names (by_name_among): for each name, the answer by_name gives for the whole relative path,
    with and without a client/date pattern."""
    prefix = "".join(f + os.sep for f in folders if f and os.sep not in f)
    for patterns in ([], [re.compile(r"C-\d{4}|cc/x")]):
        policy = ReadingPolicy(patterns)
        hinted = policy.folder_hint(target, prefix)
        among = policy.by_name_among(prefix, names)
        for name in names:
            assert (hinted or name in among) is policy.by_name(target, prefix + name), name


@pytest.mark.parametrize(
    ("names", "read"),
    [
        (["cc.txt", "x.txt"], {"cc.txt"}),
        (["notes.txt", "cc"], {"cc"}),  # joined without a separator, "cc" would lose its boundary
        (["tran", "script.txt"], set()),  # nor may two names make a hint word together
        (["a.txt", "b.json"], set()),
        (["Meeting_CC.docx", "accent.txt", "otter-export.json"], {"Meeting_CC.docx", "otter-export.json"}),
    ],
)
def test_the_names_asked_once_are_asked_each_on_its_own(names: list[str], read: set[str]) -> None:
    assert ReadingPolicy().by_name_among("folder" + os.sep, names) == read


_STEM_PIECES = [
    "Session", "session", "ses", "se", "x", ".", ".wav", ".json", ".txt", ".m4a", " ", "İ", "ß", "K",
]  # fmt: skip
_STEMMED = st.lists(st.sampled_from(_STEM_PIECES) | st.text(max_size=3), max_size=5).map("".join)


@settings(max_examples=500, deadline=None)
@given(names=st.lists(_STEMMED, max_size=5), recordings=st.lists(_STEMMED, max_size=3))
def test_named_after_any_is_named_after_for_each(names: list[str], recordings: list[str]) -> None:
    """The folder-at-once test (with its three-character pre-filter) agrees with named_after, case
    folding that changes a name's length ("İ") included."""
    stems = [stem(r) for r in recordings]
    assert named_after_any(names, stems) == {n for n in names if named_after(n, stems)}
