"""Text that leaves the tool, made safe for where it goes: one place, one set of rules.

Names and sidecars come from the scanned tree, so they are whatever an attacker wrote:

- **Lone surrogates.** A file name that is not UTF-8 reaches Python as "surrogate escapes"
  (os.fsdecode), and a JSON sidecar may spell `"\\ud800"`. Neither can be written as UTF-8, so
  strict JSON encoders fail and Chromium aborts on them. `lossless` gives them one documented
  representation, the same in every format (docs/limits.md):
  a byte that is not UTF-8 becomes `\\xNN` (lowercase hex), any other lone surrogate `\\udNNN`,
  and backslashes just before such an escape (or before text that looks like one) are
  doubled, so `from_lossless` always gives the original back.
- **Terminals.** ANSI and OSC escapes in a name (`\\x1b]0;pwned\\x07` retitles the terminal,
  `\\x1b[2J` clears it) must never reach a terminal raw. `for_terminal` shows every control
  character, and the bidirectional overrides that reorder what is shown, as an escape.
"""

from __future__ import annotations

import re
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the walk below is the fallback
    orjson = None  # type: ignore[assignment]

# What an escape looks like once written: \xNN for a byte 0x80-0xff, \udNNN for a lone surrogate.
_ESCAPE_SHAPE = r"(?:[xX][89a-fA-F][0-9a-fA-F]|[uU][dD][89a-fA-F][0-9a-fA-F]{2})"
_SURROGATE = "[\ud800-\udfff]"
# A lone surrogate, or a run of backslashes that an escape (or escape-like text) follows.
_TO_ESCAPE = re.compile(rf"{_SURROGATE}|\\+(?={_ESCAPE_SHAPE}|{_SURROGATE})")
_ESCAPED = re.compile(rf"(\\+)({_ESCAPE_SHAPE})")
_NEEDS_LOSSLESS = re.compile(rf"{_SURROGATE}|\\")


def lossless(text: str) -> str:
    """`text` as valid Unicode that `from_lossless` turns back into exactly `text`.

    Unchanged unless it holds a lone surrogate or a backslash before escape-like text, so
    ordinary names, Windows paths and UNC shares (`\\\\server\\share`) read as they are.
    """
    if _NEEDS_LOSSLESS.search(text) is None:
        return text
    return _TO_ESCAPE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    found = match.group()
    if found[0] == "\\":
        return found * 2  # a run of n backslashes before an escape: 2n, so the run's parity tells
    code = ord(found)
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for the byte code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def from_lossless(text: str) -> str:
    """The inverse of `lossless`: for tools that read a result back and need the exact name."""
    return _ESCAPED.sub(_unescape, text)


def _unescape(match: re.Match[str]) -> str:
    run, shape = match.groups()
    literal = "\\" * (len(run) // 2)
    if len(run) % 2 == 0:
        return literal + shape  # escape-like text after doubled backslashes
    value = int(shape[1:], 16)
    return literal + chr(0xDC00 + value if shape[0] in "xX" else value)


_HAS_SURROGATE = re.compile(_SURROGATE)


def _fixed(text: str) -> str:
    return lossless(text) if _HAS_SURROGATE.search(text) else text


def fix_lone_surrogates(value: Any) -> Any:
    """`value` (e.g. a result dict) with every string holding a lone surrogate, keys included, in
    the `lossless` form; changed in place, without recursion. Other strings are left exactly as
    they are, so a text reads the same whatever else the result holds. Names need no fixing (the
    sources write them with `lossless` already); this is the guard for every other text."""
    if isinstance(value, str):
        return _fixed(value)
    if not isinstance(value, dict | list):
        return value
    root: list[Any] = [value]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        parent, slot = stack.pop()
        item = parent[slot]
        if isinstance(item, str):
            if _HAS_SURROGATE.search(item):
                parent[slot] = lossless(item)
        elif isinstance(item, list):
            stack.extend((item, index) for index in range(len(item)))
        elif isinstance(item, dict):
            if any(isinstance(key, str) and _HAS_SURROGATE.search(key) for key in item):
                fixed = {_fixed(k) if isinstance(k, str) else k: v for k, v in item.items()}
                item.clear()
                item.update(fixed)
            stack.extend((item, key) for key in item)
    return root[0]


def without_lone_surrogates(value: Any) -> Any:
    """`fix_lone_surrogates`, after a quick strict encode has said it is needed (almost never):
    the walk costs ten times an orjson encode of a large result."""
    if orjson is not None:
        try:
            _strict_encode_check(value)
            return value
        except (orjson.JSONEncodeError, TypeError):
            pass  # a lone surrogate, or something else orjson refuses: the walk decides
    return fix_lone_surrogates(value)


_CHECK_SLICE = 2048  # list items encoded at a time


def _strict_encode_check(value: Any) -> None:
    """Raise as orjson.dumps(value) would, encoding a result's long lists a slice at a time: the
    whole of a million-file result as one bytes object (70 MB) was the scan's peak memory."""
    if not isinstance(value, dict):
        orjson.dumps(value, default=str)
        return
    for key, item in value.items():
        if isinstance(item, list) and len(item) > _CHECK_SLICE:
            orjson.dumps({key: None})
            for start in range(0, len(item), _CHECK_SLICE):
                orjson.dumps(item[start : start + _CHECK_SLICE], default=str)
        else:
            orjson.dumps({key: item}, default=str)


# C0 controls, DEL, C1 controls (0x9b is a one-character CSI on some terminals), the line and
# paragraph separators, the bidirectional marks, embeddings, overrides and isolates ("Trojan
# Source"), and the zero-width characters and BOM that make two different names look the same.
_TERMINAL_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def for_terminal(text: str) -> str:
    """One line of text safe to show: no escape sequence, control character, invisible character
    or lone surrogate reaches the terminal (or the report's names) raw; each is shown as an
    escape (`\\x1b`, `\\n`, `\\u202e`, `\\xff`)."""
    text = _fixed(text)  # text already in the lossless form (a result's location) stays as it is
    if _TERMINAL_UNSAFE.search(text) is None:
        return text
    return _TERMINAL_UNSAFE.sub(_terminal_escape, text)


def _terminal_escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"


# In JSON text these can only sit inside strings (JSON escapes C0 itself; line breaks and
# spaces outside strings are its layout), so each can become a \\uNNNN escape: same data.
_JSON_TERMINAL_UNSAFE = re.compile("[\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")


def json_for_terminal(text: str) -> str:
    """JSON text (e.g. `--json` output) safe to print and still exactly the same JSON: the
    characters `for_terminal` would escape are written as JSON escapes instead."""
    return _JSON_TERMINAL_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def terminal_lines(text: str) -> str:
    """A message of several lines (e.g. every problem in a config file), each made safe by
    `for_terminal`; only the line breaks between them are kept."""
    return "\n".join(for_terminal(line) for line in text.split("\n"))
