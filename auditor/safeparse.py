"""Bounded reading of YAML and JSON: size, nesting depth and alias expansion are checked first.

PyYAML and the json module have no limits of their own. YAML aliases share one node, so a
500-byte "billion laughs" file builds quickly and then stands for billions of values in any
code that walks it (key positions, schema validation, rules); a 990-deep list overflows every
recursive walker. So:

- a file is read only up to its size limit;
- YAML gets one streaming pass over libyaml's events (no tree is built, no recursion) that
  measures the depth and the values aliases stand for, and refuses an alias to a collection
  that contains it (a cycle) or any alias where aliases are not allowed;
- JSON goes to orjson, which is strict (no NaN, no lone surrogates, no number past a double)
  and stops at 1,024 levels in C; the depth limit is then checked without recursion.

The limits for each kind of file live in auditor/limits.py and are listed in docs/limits.md.
The YAML pass is in auditor/safeyaml.py, so that a scan that reads no YAML never imports PyYAML.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from auditor.limits import Limits
from auditor.textsafe import fix_lone_surrogates

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the standard library is the fallback
    orjson = None  # type: ignore[assignment]


class ParseError(ValueError):
    """A file that is not valid YAML or JSON, or breaks a limit; `line` is 1-based where known."""

    def __init__(self, message: str, line: int | None = None, key: str | None = None) -> None:
        super().__init__(f"{key}: {message}" if key else message)
        self.message = message
        self.line = line
        self.key = key  # e.g. 'retention.by_purpose', where the file says it


class LimitError(ParseError):
    """A file over one of its limits; the message names the limit."""


def read_bounded(path: str | Path, limits: Limits) -> bytes:
    """The file's bytes, refusing it past `limits.max_bytes` (only that much + 1 is ever read)."""
    with open(path, "rb") as handle:
        check_size(os.fstat(handle.fileno()).st_size, limits)  # refuse a huge file without reading it
        data = handle.read(limits.max_bytes + 1)  # and one whose size lied (a pipe, /proc)
    check_size(len(data), limits)
    return data


def check_size(size: int, limits: Limits) -> None:
    if size > limits.max_bytes:
        hint = f"; {limits.too_big_hint}" if limits.too_big_hint else ""
        raise LimitError(f"larger than {limits.size_text()}, the limit for a {limits.what}{hint}")


def load_json(data: bytes | str, limits: Limits, *, lone_surrogates: bool = False) -> Any:
    """Parse JSON within `limits`; raises ParseError (LimitError for a limit) with the line.

    With `lone_surrogates`, `"\\udcff"` escapes (which earlier versions wrote for names that
    are not UTF-8) are accepted and turned into auditor.textsafe's lossless form, so the value
    holds valid text only.
    """
    check_size(len(data), limits)
    if orjson is None:  # pragma: no cover - exercised only without orjson
        value = _stdlib_load(data, limits)
    else:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            if "depth limit" in exc.msg or "recursion" in exc.msg:
                raise _too_deep(limits, exc.lineno) from exc
            if not (lone_surrogates and "surrogate" in exc.msg):
                raise ParseError(f"not valid JSON: {exc.msg}", exc.lineno) from exc
            value = _stdlib_load(data, limits)
            check_depth(value, limits)
            return fix_lone_surrogates(value)
    check_depth(value, limits)
    return value


def _stdlib_load(data: bytes | str, limits: Limits) -> Any:
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise _too_deep(limits, None) from exc
    except json.JSONDecodeError as exc:
        raise ParseError(f"not valid JSON: {exc.msg}", exc.lineno) from exc
    except ValueError as exc:  # e.g. an integer past Python's digit limit
        raise ParseError(f"not valid JSON: {exc}") from exc


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _too_deep(limits: Limits, line: int | None) -> LimitError:
    return LimitError(f"nested deeper than {limits.max_depth} levels, the limit for a {limits.what}", line)


def check_depth(value: Any, limits: Limits) -> None:
    """Refuse a parsed value nested deeper than the limit; iterative, so depth cannot hurt it."""
    if not isinstance(value, dict | list):
        return
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limits.max_depth:
            raise _too_deep(limits, None)
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def decode_text(data: bytes) -> str:
    """UTF-8 text (a byte-order mark is dropped); ParseError says where it is not."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ParseError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", line) from exc
