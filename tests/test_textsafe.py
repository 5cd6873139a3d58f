"""auditor.textsafe: the one representation of lone surrogates, and the one terminal escaping."""

from __future__ import annotations

import json
import os

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.textsafe import (
    for_terminal,
    from_lossless,
    json_for_terminal,
    lossless,
    terminal_lines,
    without_lone_surrogates,
)

# Any Python text, lone surrogates included, with the characters that matter made likely.
texts = st.text(
    alphabet=st.one_of(
        st.characters(codec=None),  # every code point, surrogates included
        st.sampled_from(["\\", "x", "u", "d", "8", "f", "\udcff", "\ud800", "\x1b", "\n"]),
    ),
    max_size=40,
)


@settings(max_examples=500, deadline=None)
@given(texts)
def test_lossless_is_strict_unicode_and_gives_the_original_back(text: str) -> None:
    shown = lossless(text)
    shown.encode("utf-8")  # strict: no lone surrogate is left
    assert from_lossless(shown) == text


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=30))
def test_any_file_name_bytes_survive_the_round_trip(raw: bytes) -> None:
    assert os.fsencode(from_lossless(lossless(os.fsdecode(raw)))) == raw


def test_ordinary_names_and_windows_paths_are_unchanged() -> None:
    for text in ["Sitzung März.wav", r"C:\Users\therapist\x.wav", r"\\server\share\rec.m4a", "a\\b"]:
        assert lossless(text) == text


def test_the_documented_forms() -> None:
    assert lossless(os.fsdecode(b"ca\xffse")) == r"ca\xffse"  # a byte that is not UTF-8
    assert lossless("\ud800") == r"\ud800"  # a lone surrogate from a JSON escape
    assert lossless(r"lit\xff") == r"lit\\xff"  # text that looks like an escape: backslash doubled
    assert lossless("\\" + os.fsdecode(b"\xff")) == "\\\\\\xff"  # a backslash, then the byte


@settings(max_examples=500, deadline=None)
@given(texts)
def test_for_terminal_lets_no_control_character_or_surrogate_through(text: str) -> None:
    shown = for_terminal(text)
    shown.encode("utf-8")
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in shown)
    assert not any(c in shown for c in "\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def test_for_terminal_shows_escapes_visibly() -> None:
    assert for_terminal("\x1b]0;pwned\x07") == r"\x1b]0;pwned\x07"
    assert for_terminal("\x1b[2J") == r"\x1b[2J"
    assert for_terminal("a\nb\tc\x9b\u202e") == r"a\nb\tc\u009b\u202e"
    assert for_terminal(os.fsdecode(b"\xfe.wav")) == r"\xfe.wav"


def test_terminal_lines_keeps_only_the_line_breaks_between_lines() -> None:
    assert terminal_lines("first \x1b[2J\nsecond\x07") == "first \\x1b[2J\nsecond\\x07"


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), st.lists(texts, max_size=3)))
def test_json_for_terminal_is_the_same_json_with_nothing_unsafe_raw(value: dict[str, list[str]]) -> None:
    text = json.dumps(value, indent=2, ensure_ascii=False)
    shown = json_for_terminal(text)
    assert json.loads(shown) == json.loads(text)
    assert not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F for c in shown)
    assert not any(c in shown for c in "\u200b\u202e\u2066\ufeff")
    shown.encode("utf-8")  # lone surrogates are JSON escapes now, so it prints


def test_a_lone_surrogate_deep_in_a_long_list_is_still_found_and_fixed() -> None:
    """The quick check encodes a result's long lists a slice at a time (a million-file result is
    never one 70 MB string): a lone surrogate in any slice, and a key, still sends it to the walk."""
    findings = [{"location": f"/p/{i}.m4a", "evidence": {"n": i}} for i in range(5000)]
    findings[4321]["location"] = "/p/\udcff.m4a"
    result = {"summary": {}, "findings": findings, "recordings": []}
    fixed = without_lone_surrogates(result)
    assert fixed["findings"][4321]["location"] == lossless("/p/\udcff.m4a")
    assert fixed["findings"][4320]["location"] == "/p/4320.m4a"
    json.dumps(fixed, ensure_ascii=False).encode("utf-8")  # strict UTF-8 now
    clean = {"findings": [{"location": f"/p/{i}"} for i in range(5000)], "summary": {"\udcffkey": 1}}
    assert "\udcffkey" not in without_lone_surrogates(clean)["summary"]
    untouched = {"findings": [{"location": f"/p/{i}"} for i in range(5000)]}
    assert without_lone_surrogates(untouched) is untouched
