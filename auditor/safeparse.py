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
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from auditor.limits import MAX_NUMBER_CHARS, Limits
from auditor.textsafe import fix_lone_surrogates

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the standard library is the fallback
    orjson = None  # type: ignore[assignment]

# libyaml's parser when PyYAML was built with it (it also caps nesting at 1,000 levels itself).
BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_INT_TAG = "tag:yaml.org,2002:int"
_COLLECTION_STARTS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_COLLECTION_ENDS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_RESOLVER = yaml.resolver.Resolver()
_KEY_LEVELS_SHOWN = 4  # a 990-deep key path would bury the message


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


def check_yaml(text: str, limits: Limits, loader: type[yaml.SafeLoader] = BaseLoader) -> None:
    """Refuse YAML that is nested too deep, or whose aliases stand for too many values.

    A streaming pass over the parser's events, before any tree is composed: the values each
    anchor stands for are counted as its collection closes, and every alias adds its anchor's
    count. Raises LimitError with the line and key; YAML syntax errors propagate as yaml.YAMLError.
    """
    parser = loader(text)
    check = _EventCheck(limits)
    try:
        while parser.check_event():
            check.event(parser.get_event())
    except yaml.MarkedYAMLError as exc:
        # libyaml stops at 1,000 levels on its own, scanning ahead of the events we count.
        if "maximum nesting depth" not in str(exc.problem):
            raise
        mark = exc.problem_mark
        raise LimitError(
            f"nested deeper than {limits.max_depth} levels, the limit for a {limits.what}",
            mark.line + 1 if mark is not None else None,
            check.where(),
        ) from exc
    finally:
        parser.dispose()


class _Open:
    """A mapping or list being read: where it started, and which key or item comes next."""

    __slots__ = ("anchor", "at_key", "is_mapping", "key", "opened_at")

    def __init__(self, anchor: str | None, opened_at: int, is_mapping: bool) -> None:
        self.anchor = anchor
        self.opened_at = opened_at  # values counted when it opened
        self.is_mapping = is_mapping
        self.at_key = is_mapping  # a mapping alternates key, value, key, ...
        self.key: str | int = 0  # the current key, or the current item's index


class _EventCheck:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.open: list[_Open] = []
        self.size_of: dict[str, int] = {}  # anchor -> values it stands for
        self.values = 0  # values so far, aliases expanded
        self.by_aliases = 0

    def event(self, event: yaml.Event) -> None:
        if isinstance(event, _COLLECTION_STARTS):
            if len(self.open) >= self.limits.max_depth:
                self.fail(f"nested deeper than {self.limits.max_depth} levels", event)
            self.open.append(_Open(event.anchor, self.values, isinstance(event, yaml.MappingStartEvent)))
            self.values += 1
        elif isinstance(event, _COLLECTION_ENDS):
            closed = self.open.pop()
            if closed.anchor is not None:
                self.size_of[closed.anchor] = self.values - closed.opened_at
            self.node_done(None)
        elif isinstance(event, yaml.ScalarEvent):
            self.check_number(event)
            self.values += 1
            if event.anchor is not None:
                self.size_of[event.anchor] = 1
            self.node_done(event.value)
        elif isinstance(event, yaml.AliasEvent):
            self.alias(event)
            self.node_done(None)

    def alias(self, event: yaml.AliasEvent) -> None:
        if self.limits.max_alias_values == 0:
            raise LimitError(
                f"aliases (*{event.anchor}) are not allowed in a {self.limits.what}",
                _line(event),
                self.where(),
            )
        if any(o.anchor == event.anchor for o in self.open):
            raise LimitError(
                f"alias *{event.anchor} refers to a collection that contains it", _line(event), self.where()
            )
        # An undefined alias is left to the composer, which reports it with its position.
        stands_for = self.size_of.get(event.anchor or "", 0)
        self.by_aliases += stands_for
        self.values += stands_for
        if self.by_aliases > self.limits.max_alias_values:
            self.fail(f"aliases stand for more than {self.limits.max_alias_values:,} values", event)

    def check_number(self, event: yaml.ScalarEvent) -> None:
        if len(event.value) <= MAX_NUMBER_CHARS:
            return
        tag = event.tag
        if tag is None or tag == "!":
            tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _INT_TAG:
            self.fail(f"a number longer than {MAX_NUMBER_CHARS} characters", event)

    def node_done(self, scalar: str | None) -> None:
        """A key, value or item has been read: move its parent on to the next one."""
        if not self.open:
            return
        parent = self.open[-1]
        if not parent.is_mapping:
            assert isinstance(parent.key, int)
            parent.key += 1
        elif parent.at_key:
            parent.key = scalar if scalar is not None else "?"
            parent.at_key = False
        else:
            parent.at_key = True

    def where(self) -> str | None:
        """'retention.by_purpose' for the value being read (its first levels only), None at the top."""
        parts: list[str | int] = []
        for o in self.open:
            if o.is_mapping and o.at_key:
                break
            parts.append(o.key)
        text = ""
        for part in parts[:_KEY_LEVELS_SHOWN]:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
        if len(parts) > _KEY_LEVELS_SHOWN:
            text += "..."
        return text or None

    def fail(self, what: str, event: yaml.Event) -> None:
        raise LimitError(f"{what}, the limit for a {self.limits.what}", _line(event), self.where())


def _line(event: yaml.Event) -> int | None:
    mark = event.start_mark
    return mark.line + 1 if mark is not None else None


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
